OPENQASM 2.0;
qreg q[1];
gate g a { g a; }
g q[0];
