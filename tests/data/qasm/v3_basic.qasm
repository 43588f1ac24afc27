// OpenQASM 3 subset: inputs, bit registers, assignment measurement, if/else blocks.
OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
input float phi;
gate rot(a) x { ry(a) x; rz(-a / 2) x; }
qubit[3] q;
bit[2] c;
bit flag;
rot(theta) q[0];
rx(2 * phi + 0.5) q[1];
cx q[0], q[2];
c[0] = measure q[0];
if (c[0] == 1) {
  x q[1];
  h q[2];
} else {
  z q[1];
}
c[1] = measure q[1];
flag = measure q[2];
reset q[0];
