-- OpenQASM 2.0 (complete) and the OpenQASM 3 subset; measurement, reset and classical control
-- in the circuit IR (Circuit:measure/reset/if_/sample/probs/distribution); files in
-- tests/data/qasm/ (written for qnnlab).
local qnn = require "qnn"

local root = os.getenv("QNN_ROOT") or "."
local function read(name)
  local f = assert(io.open(root .. "/tests/data/qasm/" .. name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- complex helpers: {re, im}
local function cmul(a, b) return {a[1] * b[1] - a[2] * b[2], a[1] * b[2] + a[2] * b[1]} end
local function cexp(t) return {math.cos(t), math.sin(t)} end
local I2 = {{{1, 0}, {0, 0}}, {{0, 0}, {1, 0}}}

local function u3m(t, p, l)
  local c, s = math.cos(t / 2), math.sin(t / 2)
  return {{{c, 0}, cmul(cexp(l), {-s, 0})}, {cmul(cexp(p), {s, 0}), cmul(cexp(p + l), {c, 0})}}
end

-- identity on n qubits with the 2x2 block `u` acting on target bit t when the control bits
-- (mask) are all 1; phase: optional scalar on that block
local function controlled(n, cmask, t, u)
  local d = 2 ^ n
  local m = {}
  for r = 1, d do
    m[r] = {}
    for c = 1, d do m[r][c] = {r == c and 1 or 0, 0} end
  end
  for x = 0, d - 1 do
    if x & cmask == cmask and (x >> t) & 1 == 0 then
      local y = x | (1 << t)
      m[x + 1][x + 1], m[x + 1][y + 1] = u[1][1], u[1][2]
      m[y + 1][x + 1], m[y + 1][y + 1] = u[2][1], u[2][2]
    end
  end
  return m
end

local function max_dev(u, v)
  local m = 0
  for r = 1, #u do
    for c = 1, #u do
      m = math.max(m, math.abs(u[r][c][1] - v[r][c][1]), math.abs(u[r][c][2] - v[r][c][2]))
    end
  end
  return m
end

local function err_of(text)
  local ok, e = pcall(qnn.circuit.from_qasm, text)
  assert.is_false(ok, "expected an error for: " .. text)
  return tostring(e)
end

local function dist_close(a, b, tol)
  for k, v in pairs(a) do assert.is_true(math.abs(v - (b[k] or 0)) < tol, ("outcome %d: %g vs %g"):format(k, v, b[k] or 0)) end
  for k, v in pairs(b) do assert.is_true(math.abs(v - (a[k] or 0)) < tol, ("outcome %d: %g vs %g"):format(k, v, a[k] or 0)) end
end

local HDR = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'

describe("OpenQASM 2 gates", function()
  local function one(line, n)
    return qnn.circuit.from_qasm(HDR .. ("qreg q[%d];\n"):format(n or 2) .. line .. "\n")
  end

  it("u0, u, p, u2, U and CX are the expected matrices", function()
    assert.is_true(max_dev(one("u0(3) q[0];", 1):unitary(), I2) < 1e-15)
    assert.is_true(max_dev(one("u(0.3, 0.4, 0.5) q[0];", 1):unitary(), u3m(0.3, 0.4, 0.5)) < 1e-14)
    assert.is_true(max_dev(one("U(0.3, 0.4, 0.5) q[0];", 1):unitary(), u3m(0.3, 0.4, 0.5)) < 1e-14)
    assert.is_true(max_dev(one("u2(0.4, 0.5) q[0];", 1):unitary(), u3m(math.pi / 2, 0.4, 0.5)) < 1e-14)
    assert.is_true(max_dev(one("p(0.7) q[0];", 1):unitary(), u3m(0, 0, 0.7)) < 1e-14)
    local x = {{{0, 0}, {1, 0}}, {{1, 0}, {0, 0}}}
    assert.is_true(max_dev(one("CX q[0], q[1];"):unitary(), controlled(2, 1, 1, x)) < 1e-15)
  end)

  it("csx, cu, cu3, ch are exact controlled gates (control first)", function()
    local sx = {{{0.5, 0.5}, {0.5, -0.5}}, {{0.5, -0.5}, {0.5, 0.5}}}
    assert.is_true(max_dev(one("csx q[0], q[1];"):unitary(), controlled(2, 1, 1, sx)) < 1e-14)
    assert.is_true(max_dev(one("csx q[1], q[0];"):unitary(), controlled(2, 2, 0, sx)) < 1e-14)
    local t, p, l, g = 0.3, -0.8, 1.7, 0.45
    local u = u3m(t, p, l)
    local eu = {{cmul(cexp(g), u[1][1]), cmul(cexp(g), u[1][2])},
                {cmul(cexp(g), u[2][1]), cmul(cexp(g), u[2][2])}}
    assert.is_true(max_dev(one(("cu(%g, %g, %g, %g) q[0], q[1];"):format(t, p, l, g)):unitary(),
                           controlled(2, 1, 1, eu)) < 1e-13)
    assert.is_true(max_dev(one(("cu3(%g, %g, %g) q[0], q[1];"):format(t, p, l)):unitary(),
                           controlled(2, 1, 1, u)) < 1e-13)
    local r = 1 / math.sqrt(2)
    local h = {{{r, 0}, {r, 0}}, {{r, 0}, {-r, 0}}}
    assert.is_true(max_dev(one("ch q[0], q[1];"):unitary(), controlled(2, 1, 1, h)) < 1e-14)
  end)

  it("rccx is the Margolus gate: Toffoli with phases (hand-computed)", function()
    -- on controls a=b=1 the target gets Y; |a=1,b=0,c=1> gets -1; everything else is fixed
    local m = one("rccx q[0], q[1], q[2];", 3):unitary()
    local want = {}
    for r = 1, 8 do
      want[r] = {}
      for c = 1, 8 do want[r][c] = {r == c and 1 or 0, 0} end
    end
    want[4][4], want[8][8] = {0, 0}, {0, 0}
    want[8][4] = {0, 1}   -- |110> (index 3) -> i |111>
    want[4][8] = {0, -1}  -- |111> -> -i |110>
    want[6][6] = {-1, 0}  -- |101> (a=1, b=0, c=1) -> -|101>
    assert.is_true(max_dev(m, want) < 1e-14)
  end)

  it("rc3x, c3x, c4x, c3sqrtx act as (relative-phase) multi-controlled gates", function()
    local x = {{{0, 0}, {1, 0}}, {{1, 0}, {0, 0}}}
    assert.is_true(max_dev(one("c3x q[0], q[1], q[2], q[3];", 4):unitary(), controlled(4, 7, 3, x)) < 1e-14)
    assert.is_true(max_dev(one("c4x q[0], q[1], q[2], q[3], q[4];", 5):unitary(), controlled(5, 15, 4, x)) < 1e-14)
    local sx = {{{0.5, 0.5}, {0.5, -0.5}}, {{0.5, -0.5}, {0.5, 0.5}}}
    assert.is_true(max_dev(one("c3sqrtx q[0], q[1], q[2], q[3];", 4):unitary(), controlled(4, 7, 3, sx)) < 1e-14)
    -- rc3x: |abc1> <-> |abc0> flipped when a=b=c=1, up to phases; unit-modulus permutation
    local m = one("rc3x q[0], q[1], q[2], q[3];", 4):unitary()
    for r = 0, 15 do
      local target = r
      if r & 7 == 7 then target = r ~ 8 end
      for c = 0, 15 do
        local a = math.sqrt(m[r + 1][c + 1][1] ^ 2 + m[r + 1][c + 1][2] ^ 2)
        assert.is_true(math.abs(a - (c == target and 1 or 0)) < 1e-12)
      end
    end
  end)

  it("reads every qelib1 gate in one file", function()
    local c = qnn.circuit.from_qasm(read("qelib1_all.qasm"))
    assert.are.equal(5, c:nqubits())
    local u = c:unitary() -- unitary
    assert.are.equal(32, #u)
    -- its export reads back to the same unitary
    assert.is_true(max_dev(qnn.circuit.from_qasm(c:qasm()):unitary(), u) < 1e-10)
    assert.is_true(max_dev(qnn.circuit.from_qasm(c:qasm{version = 3}):unitary(), u) < 1e-10)
  end)
end)

describe("OpenQASM 2 definitions and structure", function()
  it("expands parameterised, nested gate definitions with the expression language", function()
    local c = qnn.circuit.from_qasm(read("gates_defs.qasm"))
    assert.are.equal(4, c:nqubits())
    assert.are.equal(4, c:nbits())
    -- hand-built reference: qubits a[0]=0 a[1]=1 b[0]=2 b[1]=3
    local function inner(r, q, t) r:ry(q, t):rz(q, t ^ 2) end
    local ref = qnn.circuit(4):h(0):h(1)
    local al, be = math.pi / 3, 0.25
    inner(ref, 0, al / 2 + be)
    ref:cx(0, 3)
    inner(ref, 3, -2 * be)
    ref:cx(0, 2):cx(1, 3)
    assert.is_true(max_dev(ref:unitary(), qnn.circuit.from_qasm((read("gates_defs.qasm"):gsub("measure[^\n]*\n", ""))):unitary()) < 1e-13)
    -- the measured distribution equals the reference's probabilities (terminal measurements)
    local p = ref:probs()
    local d = c:distribution()
    local want = {}
    for x = 0, 15 do want[x] = p[x + 1] end
    dist_close(d, want, 1e-12)
    -- barriers are kept: two in the body expansion... one at top level, one from `outer`
    assert.are.equal(2, c:count().barrier)
  end)

  it("broadcasts over registers and concatenates several qreg/creg", function()
    local c = qnn.circuit.from_qasm(HDR .. "qreg a[2];\nqreg b[2];\ncreg x[2];\ncreg y[2];\n" ..
      "x a;\ncx a, b;\nmeasure a -> x;\nmeasure b -> y;\n")
    assert.are.equal(2, #c:cregs())
    assert.are.equal("y", c:cregs()[2].name)
    assert.are.equal(2, c:cregs()[2].offset)
    local d = c:distribution()
    assert.are.equal(1, d[15]) -- all four bits 1
  end)

  it("measure then gates on the same qubit is not dropped (BB84-like)", function()
    local c = qnn.circuit.from_qasm(read("bb84.qasm"))
    -- exact: a and b independent fair bits (h, measure, h, measure)
    dist_close(c:distribution(), {[0] = 0.25, [1] = 0.25, [2] = 0.25, [3] = 0.25}, 1e-14)
    -- qubit probabilities are exact (density), not those of the gates without measurements
    local p = c:probs()
    -- q1 is 1 (x); q0 is 0/1 with 1/2 each: basis 2 and 3
    assert.is_true(math.abs(p[3] - 0.5) < 1e-14 and math.abs(p[4] - 0.5) < 1e-14)
  end)

  it("reset and if(creg==n) (hand-computed)", function()
    local c = qnn.circuit.from_qasm(read("reset_if.qasm"))
    -- q0=1, q1 reset to 0 => c = 1 => h q[2]: d = 0/1 half each; c==3 never
    dist_close(c:distribution(), {[1] = 0.5, [5] = 0.5}, 1e-14)
    -- teleportation: q2 ends in ry(1.2)|0>
    local t = qnn.circuit.from_qasm(read("teleport.qasm"))
    local p = t:probs()
    local p1 = 0
    for x = 0, 7 do if x & 4 ~= 0 then p1 = p1 + p[x + 1] end end
    assert.is_true(math.abs(p1 - math.sin(0.6) ^ 2) < 1e-13)
  end)

  it("opaque gates are declared freely and refused when applied", function()
    local c = qnn.circuit.from_qasm(HDR .. "qreg q[1];\nopaque o(a, b) r;\nh q[0];\n")
    assert.are.equal(1, #c)
    local e = err_of(read("bad/opaque_applied.qasm"))
    assert.truthy(e:find("line 4", 1, true) and e:find("opaque", 1, true) and e:find("magic", 1, true), e)
  end)
end)

describe("OpenQASM errors", function()
  it("every malformed file gives line, column and the offending text", function()
    local cases = {
      {"index_range.qasm", "line 3, column 10", "out of range"},
      {"bad_expr.qasm", "line 3, column 7", "')'"},
      {"recursive.qasm", "line 3", "recursive"},
      {"mutual_recursion.qasm", "line", "recursive"},
      {"measure_size.qasm", "line 4", "measure"},
      {"if_value.qasm", "line 4, column 7", "'2'"},
      {"unterminated_gate.qasm", "line", "'}'"},
      {"not_affine.qasm", "line 4, column 4", "two parameters"},
      {"modifier.qasm", "line 3, column 1", "'ctrl'"},
      {"overflow.qasm", "line 3, column 4", "'1e999'"},
      {"bad_bytes.qasm", "line 3, column 8", "invalid character"},
    }
    for _, k in ipairs(cases) do
      local e = err_of(read("bad/" .. k[1]))
      assert.truthy(e:find(k[2], 1, true), k[1] .. ": " .. e)
      assert.truthy(e:find(k[3], 1, true), k[1] .. ": " .. e)
    end
  end)

  it("deep nesting is refused, not a stack overflow (issue 12 item 3)", function()
    -- 100,000 unary minus signs: a loop, so this is simply rx(1)
    local c = qnn.circuit.from_qasm("OPENQASM 2.0; qreg q[1]; rx(" .. ("-"):rep(100000) .. "1) q[0];")
    assert.are.equal(1, #c)
    local e = err_of("OPENQASM 2.0; qreg q[1]; rx(" .. ("("):rep(100000) .. "1" .. (")"):rep(100000) .. ") q[0];")
    assert.truthy(e:find("nested more than", 1, true) and e:find("column", 1, true), e)
    e = err_of("OPENQASM 2.0; qreg q[1]; rx(2" .. ("^2"):rep(100000) .. ") q[0];")
    assert.truthy(e:find("nested more than", 1, true), e)
    e = err_of("OPENQASM 3; qubit q; bit c;" .. ("if (c == 1) { "):rep(5000) .. ("}"):rep(5000))
    assert.truthy(e:find("nested more than", 1, true), e)
    -- definitions nested 100 deep (each uses the previous one)
    local t = {"OPENQASM 2.0; qreg q[1]; gate g0 a { x a; }"}
    for i = 1, 100 do t[#t + 1] = ("gate g%d a { g%d a; }"):format(i, i - 1) end
    t[#t + 1] = "g100 q[0];"
    e = err_of(table.concat(t, "\n"))
    assert.truthy(e:find("nested more than 64", 1, true), e)
    -- exponential expansion is bounded
    t = {"OPENQASM 2.0; qreg q[1]; gate g0 a { x a; x a; }"}
    for i = 1, 40 do t[#t + 1] = ("gate g%d a { g%d a; g%d a; }"):format(i, i - 1, i - 1) end
    t[#t + 1] = "g40 q[0];"
    e = err_of(table.concat(t, "\n"))
    assert.truthy(e:find("operations", 1, true), e)
  end)

  it("names unsupported OpenQASM 3 constructs and their line", function()
    local e = err_of(read("v3_loop.qasm"))
    assert.truthy(e:find("line 5", 1, true) and e:find("'for'", 1, true), e)
    for _, k in ipairs({"while (true) { }", "def f() { }", "int i = 1;", "delay[10ns] q[0];",
                        "box { h q[0]; }", "gphase(0.1);", "inv @ h q[0];", "let a = q;",
                        "output bit r;", "#pragma foo", "const int n = 2;"}) do
      e = err_of("OPENQASM 3;\nqubit[2] q;\n" .. k .. "\n")
      assert.truthy(e:find("line 3", 1, true) and e:find("unsupported", 1, true), k .. ": " .. e)
    end
    e = err_of("OPENQASM 3;\nqubit[2] q;\nh q[0:1];\n")
    assert.truthy(e:find("line 3", 1, true) and e:find("unsupported", 1, true), e)
  end)

  it("refuses other malformed input with a located error, and survives mutations", function()
    local bad = {
      "qreg q[2]; h q[0]", "qreg q[0];", "qreg q[31];", "creg c[65]; qreg q[1];",
      "qreg q[2]; qreg q[1];", "qreg q[1]; gate g a { h b; } g q[0];",
      "qreg q[1]; gate g(x) a { rx(y) a; } g(1) q[0];", "qreg q[1]; g q[0];",
      "qreg q[2]; cx q;", "qreg q[1]; creg c[1]; if (c == 1 x q[0];",
      "qreg q[1]; measure q[0] -> d[0];", "qreg q[1]; rx() q[0];",
      "qreg q[1]; rx(1/0) q[0];", "qreg q[1]; include \"other.inc\";", "OPENQASM 2.0; OPENQASM 2.0;",
      "qreg q[1]; gate h a { x a; } gate h a { y a; }", "qreg q[1]; else { }",
      "qreg q[1]; \"unterminated", "qreg q[1]; rx(sin) q[0];", "qreg q[2]; barrier r;",
    }
    for _, t in ipairs(bad) do
      local e = err_of(t)
      assert.truthy(e:find("line %d") or e:find("qubits declared"), t .. ": " .. e)
    end
    -- a quick mutation loop over the sample files: every result is a circuit or a Lua error
    local files = {"bb84.qasm", "teleport.qasm", "gates_defs.qasm", "qelib1_all.qasm",
                   "reset_if.qasm", "v3_basic.qasm"}
    local r = qnn.rng(7)
    local alphabet = "();{}[],=<>-+*/^!@#$%&\"'0123456789.eEpiqcxyzhgateifmsur \n\t"
    for i = 1, 600 do
      local s = read(files[i % #files + 1])
      for _ = 1, 1 + r:int(0, 3) do
        local pos = 1 + r:int(0, #s - 1)
        local op = r:int(0, 2)
        local ch = alphabet:sub(1 + r:int(0, #alphabet - 1)):sub(1, 1)
        if op == 0 then s = s:sub(1, pos - 1) .. s:sub(pos + 1)
        elseif op == 1 then s = s:sub(1, pos - 1) .. ch .. s:sub(pos)
        else s = s:sub(1, pos - 1) .. s:sub(pos, pos + r:int(0, 39)):rep(2) .. s:sub(pos + 1) end
      end
      local ok, e = pcall(qnn.circuit.from_qasm, s)
      if not ok then assert.truthy(tostring(e):find("from_qasm:", 1, true), tostring(e)) end
    end
  end)
end)

describe("Measurement and classical control in circuits", function()
  it("a State run samples one trajectory and returns the bits", function()
    local c = qnn.circuit(2):h(0):measure(0):if_(0, 1, function(k) k:x(1) end):measure(1)
    local seen = {}
    for seed = 1, 40 do
      local s, bits = c:run(qnn.state(2), {seed = seed})
      assert.is_true(bits == 0 or bits == 3)
      local p = s:probs()
      assert.are.equal(1, p[bits + 1]) -- collapsed on the recorded outcome
      seen[bits] = true
      local _, again = c:run(qnn.state(2), {seed = seed})
      assert.are.equal(bits, again) -- same seed, same trajectory
    end
    assert.is_true(seen[0] and seen[3])
  end)

  it("the density run is exact and sampling agrees with it (chi-square, fixed seed)", function()
    -- measure then gates: ry, measure, h, cx, ry, measure both
    local c = qnn.circuit(2):creg("c", 3):ry(0, 1.1):measure(0, 0):h(0):cx(0, 1):ry(1, 0.4)
      :measure(0, 1):if_(1, 1, function(k) k:rx(1, 0.9) end):measure(1, 2)
    c:creg("extra", 1)
    local exact = c:distribution()
    -- hand computation: bit0 ~ Bernoulli(sin^2 .55); then q0 = |b0>, h -> bit1 fair,
    -- q1 after cx: |b1>, ry(.4) then (if b1) rx(.9): bit2
    local p0 = math.sin(0.55) ^ 2
    local function p2given(b1)
      local s = qnn.state(1)
      if b1 == 1 then s:x(0) end
      s:ry(0, 0.4)
      if b1 == 1 then s:rx(0, 0.9) end
      return s:probs()[2]
    end
    local want = {}
    for b0 = 0, 1 do for b1 = 0, 1 do for b2 = 0, 1 do
      local pb0 = b0 == 1 and p0 or 1 - p0
      local q2 = p2given(b1)
      want[b0 + 2 * b1 + 4 * b2] = pb0 * 0.5 * (b2 == 1 and q2 or 1 - q2)
    end end end
    dist_close(exact, want, 1e-13)
    local shots = 20000
    local counts = c:sample(shots, {seed = 11})
    local chi2, cells = 0, 0
    for k, p in pairs(exact) do
      local e = p * shots
      chi2 = chi2 + ((counts[k] or 0) - e) ^ 2 / e
      cells = cells + 1
    end
    for k in pairs(counts) do assert.is_true(exact[k] ~= nil) end
    -- 7 degrees of freedom: P(chi2 > 24.3) = 0.001
    assert.is_true(chi2 < 24.3, "chi2 = " .. chi2)
    assert.are.same(counts, c:sample(shots, {seed = 11}))
    -- run on a Density: the output state is the mixture, the distribution comes back too
    local d, dist = c:run(qnn.density(2))
    dist_close(dist, exact, 1e-14)
    assert.is_true(math.abs(d:trace() - 1) < 1e-13)
  end)

  it("terminal measurements are sampled from the final state", function()
    local c = qnn.circuit(3):h(0):cx(0, 1):cx(1, 2):measure(0):measure(1):measure(2)
    local n = c:sample(4000, {seed = 3})
    assert.are.equal(4000, (n[0] or 0) + (n[7] or 0))
    assert.is_true(n[0] > 1800 and n[7] > 1800)
  end)

  it("probs is exact or refused, never silently wrong", function()
    local c = qnn.circuit(1):h(0):measure(0):h(0)
    local p = c:probs()
    assert.is_true(math.abs(p[1] - 0.5) < 1e-15 and math.abs(p[2] - 0.5) < 1e-15)
    local big = qnn.circuit(15):h(0):measure(0):h(0)
    local ok, e = pcall(big.probs, big)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("sample", 1, true), e)
    -- a unitary with terminal measurements: the state vector probabilities
    local t = qnn.circuit(2):ry(0, 0.3):cx(0, 1):measure(0):measure(1)
    assert.is_true(math.abs(t:probs()[4] - math.sin(0.15) ^ 2) < 1e-15)
  end)

  it("gradients, vjp, unitary and inverse refuse mid-circuit measurement", function()
    local c = qnn.circuit(2):ry(0, "a"):measure(0):cx(0, 1)
    for _, f in ipairs({function() return c:gradient("ZI") end,
                        function() return c:vjp({1, 0, 0, 0}) end,
                        function() return c:expect("ZZ") end,
                        function() return c:gradient_shift("ZI") end,
                        function() return c:unitary() end,
                        function() return c:inverse() end}) do
      local ok, e = pcall(f)
      assert.is_false(ok)
      assert.truthy(tostring(e):find("measurement", 1, true), e)
    end
    -- terminal measurements: gradients of Z observables are those of the unitary part
    local t = qnn.circuit(2):ry(0, "a"):cx(0, 1):measure(0):measure(1):set("a", 0.7)
    local u = qnn.circuit(2):ry(0, "a"):cx(0, 1):set("a", 0.7)
    local v1, g1 = t:gradient("ZI")
    local v2, g2 = u:gradient("ZI")
    assert.are.equal(v2, v1)
    assert.are.equal(g2.a, g1.a)
    assert.has_error(function() t:gradient("XI") end)
  end)

  it("builds with measure, reset, barrier, creg, if_ and checks its arguments", function()
    local c = qnn.circuit(3)
    c:creg("m", 2):creg("f", 1)
    c:x(0):measure(0, "m[1]"):reset(0):barrier():barrier({1, 2})
    c:if_("m", 2, function(k) k:x(2) end)
    c:if_("f[0]", 0, function(k) k:if_(1, 1, function(kk) kk:h(1) end) end)
    assert.are.equal(3, c:nbits())
    local d = c:distribution()
    assert.is_true(math.abs(d[2] - 1) < 1e-14)
    local v3 = c:qasm{version = 3}
    assert.truthy(v3:find("if (m == 2) {", 1, true), v3)
    assert.truthy(v3:find("if (f[0] == 0) {", 1, true), v3)
    assert.truthy(v3:find("if (m[1] == 1) {", 1, true), v3)
    dist_close(qnn.circuit.from_qasm(v3):distribution(), d, 1e-14)
    assert.has_error(function() c:qasm() end) -- f[0] and m[1] together: not one register
    local w = qnn.circuit(3):creg("m", 2):x(0):measure(0, "m[1]")
    w:if_("m", 2, function(k) k:x(2) end)
    assert.truthy(w:qasm():find("if(m==2) x q[2];", 1, true))
    -- contradictory nested conditions drop the ops
    local k = qnn.circuit(1):measure(0)
    k:if_(0, 1, function(a) a:if_(0, 0, function(b) b:x(0) end) end)
    assert.are.equal(1, #k)
    -- an error inside the block removes what it added
    local before = #c
    assert.has_error(function() c:if_(0, 1, function(a) a:x(0); error("boom") end) end)
    assert.are.equal(before, #c)
    -- bad arguments
    assert.has_error(function() c:measure(5, 0) end)
    assert.has_error(function() c:measure(0, 9) end)
    assert.has_error(function() c:measure(0, "nope[0]") end)
    assert.has_error(function() c:measure(0, "m[7]") end)
    assert.has_error(function() c:measure(0, "m") end)
    assert.has_error(function() c:if_(0, 2, function() end) end)
    assert.has_error(function() c:if_("m", 4, function() end) end)
    assert.has_error(function() c:if_(0, 1, 42) end)
    assert.has_error(function() c:creg("m", 1) end)
    assert.has_error(function() c:creg("bad name", 1) end)
    assert.has_error(function() c:creg("if", 1) end)
    assert.has_error(function() c:creg("pi", 1) end)
    assert.has_error(function() c:creg("big", 62) end)
    assert.has_error(function() c:reset(-1) end)
    assert.has_error(function() c:barrier({0, 0}) end)
    assert.has_error(function() c:sample(0) end)
    assert.has_error(function() c:sample(2 ^ 31) end)
    local ok, e = pcall(c.sample, c, 2 ^ 30) -- a trajectory per shot: too much work
    assert.is_false(ok)
    assert.truthy(tostring(e):find("at most", 1, true), e)
    assert.has_error(function() c:sample(10, {bogus = 1}) end)
    assert.has_error(function() qnn.circuit(1):h(0):sample(10) end) -- no classical bits
    local closer = qnn.circuit(1):measure(0)
    assert.has_error(function() closer:if_(0, 1, function(a) a:close() end) end)
    -- measure without a register: a register "c" of n bits is declared
    local m = qnn.circuit(2):h(0):measure(0):measure(1)
    assert.are.equal("c", m:cregs()[1].name)
    assert.are.equal(2, m:nbits())
  end)
end)

describe("OpenQASM round trips and version 3", function()
  it("writes measurement, reset, barriers and conditions back (version 2)", function()
    for _, f in ipairs({"bb84.qasm", "teleport.qasm", "reset_if.qasm", "gates_defs.qasm"}) do
      local c = qnn.circuit.from_qasm(read(f))
      local text = c:qasm()
      local back = qnn.circuit.from_qasm(text)
      assert.are.equal(#c, #back)
      assert.are.equal(text, back:qasm())
      dist_close(c:distribution(), back:distribution(), 1e-14)
      local b3 = qnn.circuit.from_qasm(c:qasm{version = 3})
      dist_close(c:distribution(), b3:distribution(), 1e-14)
    end
  end)

  it("Circuit:decompose keeps measurement, reset and conditions", function()
    local c = qnn.circuit(3):h(0):measure(0):if_(0, 1, function(k) k:mcx({0, 1}, 2):cz(0, 2) end)
      :reset(0):barrier():measure(2)
    local d = c:decompose()
    assert.are.equal(c:nbits(), d:nbits())
    dist_close(c:distribution(), d:distribution(), 1e-12)
  end)

  it("writes conditional decomposed gates (mcx, dense unitary, reset) in both versions", function()
    local c = qnn.circuit(4):creg("c", 1):creg("d", 4)
    c:h(0):measure(0, 0)
    c:if_("c", 1, function(k)
      k:h(1):h(2):mcx({1, 2, 0}, 3)
       :unitary({1, 2}, qnn.circuit(2):h(0):cx(0, 1):ry(1, 0.4):unitary()):reset(0)
    end)
    for i = 0, 3 do c:measure(i, 1 + i) end
    local d = c:distribution()
    -- c = 0 half of the time with everything 0
    assert.is_true(math.abs(d[0] - 0.5) < 1e-14)
    dist_close(qnn.circuit.from_qasm(c:qasm()):distribution(), d, 1e-12)
    dist_close(qnn.circuit.from_qasm(c:qasm{version = 3}):distribution(), d, 1e-12)
    -- and with noise the exact and the sampled distributions agree
    local nm = qnn.noise.model{p1 = 0.05, p2 = 0.1}
    local dn = c:distribution{noise = nm}
    local shots = 20000
    local s = c:sample(shots, {seed = 5, noise = nm})
    local chi2, cells = 0, 0
    for key, p in pairs(dn) do
      local e = p * shots
      if e >= 5 then chi2, cells = chi2 + ((s[key] or 0) - e) ^ 2 / e, cells + 1 end
    end
    assert.is_true(cells >= 8)
    -- < 0.001 tail of chi-square with (cells - 1) degrees of freedom (generous bound)
    assert.is_true(chi2 < cells + 6 * math.sqrt(2 * cells), "chi2 " .. chi2 .. " cells " .. cells)
  end)

  it("reads the OpenQASM 3 subset with inputs as named parameters", function()
    local c = qnn.circuit.from_qasm(read("v3_basic.qasm"))
    assert.are.same({"theta", "phi"}, c:param_names())
    c:set{theta = 0.8, phi = -0.3}
    -- hand computation: q0 = rot(0.8)|0> -> P(c0=1) = sin^2(0.4); q1 = rx(2*phi+0.5)|0>
    -- then x (c0=1) or z (c0=0); q2 copies q0 then h if c0=1
    local a = math.sin(0.4) ^ 2
    local r = math.sin((2 * -0.3 + 0.5) / 2) ^ 2 -- P(q1 = 1) before the branch
    local want = {}
    -- c0 = 0: q1 unchanged (z), q2 = 0
    want[0] = (1 - a) * (1 - r)
    want[2] = (1 - a) * r
    -- c0 = 1: q1 flipped, q2 = h|1> -> flag fair
    for flag = 0, 1 do
      want[1 + 4 * flag] = a * r * 0.5
      want[1 + 2 + 4 * flag] = a * (1 - r) * 0.5
    end
    dist_close(c:distribution(), want, 1e-13)
    -- version 3 round trip keeps the parameters symbolic
    local back = qnn.circuit.from_qasm(c:qasm{version = 3})
    assert.are.same({"theta", "phi"}, back:param_names())
    back:set{theta = 0.8, phi = -0.3}
    dist_close(back:distribution(), want, 1e-13)
    back:set{theta = 0.1, phi = 0.2}
    c:set{theta = 0.1, phi = 0.2}
    dist_close(back:distribution(), c:distribution(), 1e-13)
  end)

  it("round-trips parameterised unitaries exactly through version 3", function()
    local c = qnn.circuit(3):h(0):rx(1, "a"):ry(2, {"b", -2, 0.25}):u3(0, "a", 0.1, {"b", 0.5})
      :rxx(0, 1, "a"):ryy(1, 2, {"b", 3}):rzz(0, 2, 0.3):rzy(2, 0, "a"):sxdg(1)
      :crx(0, 1, "b"):cphase(1, 2, {"a", 1, -1}):mcx({0, 1}, 2):mcz({0, 1, 2})
    c:set{a = 0.37, b = -1.2}
    local text = c:qasm{version = 3}
    assert.truthy(text:find("input float[64] a;", 1, true))
    assert.truthy(text:find("-2*b + 0.25", 1, true), text)
    local back = qnn.circuit.from_qasm(text)
    assert.are.same({"a", "b"}, back:param_names())
    for _, v in ipairs({{0.37, -1.2}, {2.1, 0.4}}) do
      c:set{a = v[1], b = v[2]}
      back:set{a = v[1], b = v[2]}
      assert.is_true(max_dev(c:unitary(), back:unitary()) < 1e-12)
    end
    -- gradients flow through the imported parameters
    local _, g1 = c:gradient("ZXY")
    local _, g2 = back:gradient("ZXY")
    assert.is_true(math.abs(g1.a - g2.a) < 1e-10 and math.abs(g1.b - g2.b) < 1e-10)
  end)

  it("version 2 export refuses conditions that are not a whole register", function()
    local c = qnn.circuit(2):measure(0):if_(0, 1, function(k) k:x(1) end)
    local ok, e = pcall(c.qasm, c)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("version 3", 1, true), e)
    assert.truthy(c:qasm{version = 3}:find("if (c[0] == 1) {", 1, true))
    assert.has_error(function() c:qasm{version = 4} end)
  end)
end)
