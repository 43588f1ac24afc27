OPENQASM 2.0;
qreg q[1];
opaque magic(t) a;
magic(0.5) q[0];
