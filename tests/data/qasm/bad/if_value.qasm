OPENQASM 2.0;
qreg q[1];
creg c[1];
if(c==2) x q[0];
