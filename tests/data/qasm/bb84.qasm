// BB84-style round: Alice prepares a random bit in a random basis, Bob measures in the
// Hadamard basis after a mid-circuit measurement. Written for qnnlab's tests.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg a[1];
creg b[1];
h q[0];            // Alice's random bit
measure q[0] -> a[0];
h q[0];            // gates after a measurement on the same qubit
measure q[0] -> b[0];
x q[1];
