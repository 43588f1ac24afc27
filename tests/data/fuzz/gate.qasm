OPENQASM 2.0;
qreg q[2];
gate g(t) a, b { rz(t) a; cx a, b; }
g(pi) q[0], q[1];
