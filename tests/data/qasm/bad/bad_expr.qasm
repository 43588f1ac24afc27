OPENQASM 2.0;
qreg q[1];
rx(pi/) q[0];
