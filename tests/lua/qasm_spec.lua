-- OpenQASM 2.0 export (Circuit:qasm) and import (qnn.circuit.from_qasm).
local qnn = require "qnn"

local function max_dev(u, v)
  local m = 0
  for r = 1, #u do
    for c = 1, #u do
      m = math.max(m, math.abs(u[r][c][1] - v[r][c][1]), math.abs(u[r][c][2] - v[r][c][2]))
    end
  end
  return m
end

local function every_gate(n)
  local c = qnn.circuit(n)
  c:h(0):x(1):y(2):z(0):s(1):sdg(2):t(0):tdg(1):sx(2)
  c:rx(0, "a"):ry(1, 0.3):rz(2, {"b", 2}):phase(0, "c"):u3(1, "a", 0.2, "b")
  c:cx(0, 1):cy(1, 2):cz(2, 0):swap(0, 2)
  c:crx(0, 1, "a"):cry(1, 2, 0.5):crz(2, 0, "c"):cphase(0, 1, "b")
  c:rxx(0, 1, 0.7):ryy(1, 2, "a"):rzz(0, 2, "b"):rzy(2, 1, "c")
  c:mcx({0, 1}, 2):mcz({0, 1, 2}):mcx({2}, 0):mcx({}, 1):mcz({1})
  local r = qnn.rng(4)
  local ph = {}
  for i = 1, 2 ^ n do ph[i] = r:uniform(-3, 3) end
  c:diagonal(ph)
  c:unitary({2, 0}, qnn.circuit(2):h(0):cx(0, 1):ry(1, 0.4):cphase(1, 0, 1.1):t(0):unitary())
  c:unitary(1, {{0.6, {0, 0.8}}, {{0, 0.8}, 0.6}})
  if n >= 4 then c:mcx({0, 1, 2}, 3):mcz({3, 0, 2, 1}) end
  c:set{a = 0.4, b = -0.9, c = 1.3}
  return c
end

describe("OpenQASM", function()
  it("writes qelib1 text", function()
    local c = qnn.circuit(2):h(0):cx(0, 1):rz(1, "t"):phase(0, 0.25):cphase(0, 1, 0.5)
    c:set("t", 0.5)
    local q = c:qasm()
    assert.truthy(q:match("^OPENQASM 2%.0;\ninclude \"qelib1%.inc\";\nqreg q%[2%];\n"))
    assert.truthy(q:find("h q[0];", 1, true))
    assert.truthy(q:find("cx q[0],q[1];", 1, true))
    assert.truthy(q:find("rz(0.5) q[1];", 1, true))
    assert.truthy(q:find("u1(0.25) q[0];", 1, true))
    assert.truthy(q:find("cu1(0.5) q[0],q[1];", 1, true))
  end)

  it("round trip preserves the unitary for every gate kind", function()
    for _, n in ipairs({3, 4}) do
      local c = every_gate(n)
      local back = qnn.circuit.from_qasm(c:qasm())
      assert.are.equal(n, back:nqubits())
      assert.truthy(max_dev(c:unitary(), back:unitary()) < 1e-10)
      -- and once more (idempotent up to rounding)
      local again = qnn.circuit.from_qasm(back:qasm())
      assert.truthy(max_dev(c:unitary(), again:unitary()) < 1e-10)
    end
  end)

  it("reads registers, broadcast, comments, barrier, measure and pi expressions", function()
    local text = [[
OPENQASM 2.0;
include "qelib1.inc";
// two registers, concatenated
qreg a[2];
qreg b[1];
creg m[3];
h a;                 // broadcast over a[0], a[1]
rx(-pi/2) b[0];
u2(0, pi) a[1];
crz(2*(pi - 1)/4 + 0.5) a[0], b[0];
barrier a, b;
ccx a[0], a[1], b[0];
rz(sin(pi/6)^2) a[0];
measure a[0] -> m[0];
measure b -> m[2];
]]
    local full = qnn.circuit.from_qasm(text)
    assert.are.equal(10, #full) -- 7 gates, a barrier, two measurements
    assert.are.equal(2, full:count().measure)
    assert.are.equal(1, full:count().barrier)
    local c = qnn.circuit.from_qasm((text:gsub("measure[^\n]*\n", "")))
    assert.are.equal(3, c:nqubits())
    assert.are.equal(8, #c)
    local cnt = c:count()
    assert.are.equal(2, cnt.h)
    assert.are.equal(1, cnt.mcx)
    local ref = qnn.circuit(3):h(0):h(1):rx(2, -math.pi / 2):u3(1, math.pi / 2, 0, math.pi)
      :crz(0, 2, 2 * (math.pi - 1) / 4 + 0.5):mcx({0, 1}, 2):rz(0, 0.25)
    assert.truthy(max_dev(c:unitary(), ref:unitary()) < 1e-12)
  end)

  it("errors name the line number and its text", function()
    local function err_of(text)
      local ok, e = pcall(qnn.circuit.from_qasm, text)
      assert.is_false(ok)
      return tostring(e)
    end
    local e = err_of("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\nfrobnicate q[0];\n")
    assert.truthy(e:find("line 4", 1, true), e)
    assert.truthy(e:find("frobnicate q[0]", 1, true), e)
    assert.truthy(e:find("unknown gate", 1, true), e)
    e = err_of("qreg q[2];\n\nh q[0]\ncx q[0],q[1];\n")
    assert.truthy(e:find("line 4", 1, true) or e:find("line 3", 1, true), e)
    e = err_of("qreg q[2];\nrx(pi/) q[0];\n")
    assert.truthy(e:find("line 2", 1, true), e)
    e = err_of("qreg q[2];\ncx q[0],q[7];\n")
    assert.truthy(e:find("line 2", 1, true) and e:find("out of range", 1, true), e)
    e = err_of("qreg q[2];\ncx q[1],q[1];\n")
    assert.truthy(e:find("line 2", 1, true) and e:find("duplicate", 1, true), e)
    e = err_of("qreg q[2];\nh r[0];\n")
    assert.truthy(e:find("undeclared", 1, true), e)
    e = err_of("qreg q[2];\nrx(1, 2) q[0];\n")
    assert.truthy(e:find("parameter", 1, true), e)
    e = err_of("OPENQASM 4.0;\nqreg q[1];\n")
    assert.truthy(e:find("line 1", 1, true), e)
    e = err_of("qreg q[1];\ngate foo a { h a; q }\n")
    assert.truthy(e:find("line 2", 1, true), e)
    e = err_of("h q[0];\n")
    assert.truthy(e:find("line 1", 1, true), e)
    e = err_of("// nothing\n")
    assert.truthy(e:find("qreg", 1, true), e)
    e = err_of("qreg q[2];\nrx(foo) q[0];\n")
    assert.truthy(e:find("line 2", 1, true), e)
    assert.has_error(function() qnn.circuit.from_qasm(42) end)
    assert.has_error(function() qnn.circuit.from_qasm("qreg q[40];") end)
  end)
end)
