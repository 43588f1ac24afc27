OPENQASM 2.0;
qreg q[1];
rx(1e999) q[0];
