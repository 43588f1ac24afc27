OPENQASM 3;
qubit[2] q;
ctrl @ x q[0], q[1];
