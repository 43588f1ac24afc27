// Gate definitions: parameterised, nested, a gate used by an earlier definition before its
// own definition, barriers in bodies, broadcasting over registers.
OPENQASM 2.0;
include "qelib1.inc";
gate outer(alpha, beta) x, y
{
  inner(alpha / 2 + beta) x;
  cx x, y;
  barrier x, y;
  inner(-2 * beta) y;
}
gate inner(t) z { ry(t) z; rz(t ^ 2) z; }
opaque never_used(a) r;
qreg a[2];
qreg b[2];
creg c[4];
h a;
outer(pi / 3, 0.25) a[0], b[1];
cx a, b;
barrier a, b;
measure a[0] -> c[0];
measure a[1] -> c[1];
measure b[0] -> c[2];
measure b[1] -> c[3];
