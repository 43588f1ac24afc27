OPENQASM 2.0;
qreg q[1];
gate g(a) x { rx(a) x;
