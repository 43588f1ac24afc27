// Not supported: loops (the error names the construct and the line).
OPENQASM 3;
include "stdgates.inc";
qubit[2] q;
for int i in [0:1] {
  h q[i];
}
