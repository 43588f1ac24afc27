OPENQASM 3;
qubit[1] q;
input float t;
rx(t * t) q[0];
