-- qnn.State: gates, read-out, sampling, bad input.
local qnn = require "qnn"

local function near(a, b, tol) return math.abs(a - b) <= (tol or 1e-12) end

local function errmatch(f, pat)
  local ok, err = pcall(f)
  assert.is_false(ok)
  assert.truthy(tostring(err):find(pat, 1, true), "error '" .. tostring(err) .. "' lacks '" .. pat .. "'")
end

describe("qnn.State", function()
  it("starts in |0...0> and reports its size", function()
    local s = qnn.state(3)
    assert.are.equal(3, s:nqubits())
    assert.are.equal(8, #s)
    assert.are.equal("State", qnn.type(s))
    local re, im = s:amp(0)
    assert.are.equal(1, re); assert.are.equal(0, im)
    assert.are.equal(1, s:norm())
  end)

  it("builds Bell and GHZ states (chainable gates)", function()
    local s = qnn.state(3):h(0):cx(0, 1):cx(1, 2)
    local p = s:probs{table = true}
    assert.is_true(near(p[1], 0.5) and near(p[8], 0.5))
    for i = 2, 7 do assert.is_true(near(p[i], 0)) end
    assert.is_true(near(s:prob(7), 0.5))
    assert.is_true(near(s:expect("ZZI"), 1))
    assert.is_true(near(s:expect("XXX"), 1))
    assert.is_true(near(s:expect("YYX"), -1))
    assert.is_true(near(s:expect{{0.5, "ZIZ"}, {2, "XXX"}}, 2.5))
    local m = s:marginal{2, 0}
    assert.is_true(near(m[1], 0.5) and near(m[4], 0.5))
    assert.truthy(tostring(s):find("|000>", 1, true))
    assert.truthy(tostring(s):find("|111>", 1, true))
  end)

  it("probs returns a Tensor with index i+1 <-> basis i", function()
    local s = qnn.state(2):x(0)
    local p = s:probs()
    assert.are.equal("Tensor", qnn.type(p))
    assert.are.equal(1, p[2])
    assert.are.equal(0, p[1])
    local t = s:probs{table = true}
    assert.are.equal(1, t[2])
  end)

  it("rotations match analytic expectation values", function()
    local th = 0.77
    local s = qnn.state(1):ry(0, th)
    assert.is_true(near(s:expect("Z"), math.cos(th)))
    assert.is_true(near(s:expect("X"), math.sin(th)))
    s = qnn.state(1):rx(0, th)
    assert.is_true(near(s:expect("Y"), -math.sin(th)))
    s = qnn.state(1):h(0):rz(0, th)
    assert.is_true(near(s:expect("X"), math.cos(th)))
    s = qnn.state(1):h(0):phase(0, th)
    assert.is_true(near(s:expect("Y"), math.sin(th)))
    s = qnn.state(1):u3(0, th, 0, 0)
    assert.is_true(near(s:expect("Z"), math.cos(th)))
    -- two-qubit rotations
    s = qnn.state(2):rxx(0, 1, th)
    assert.is_true(near(s:expect("ZZ"), 1))
    assert.is_true(near(s:prob(3), math.sin(th / 2) ^ 2))
    s = qnn.state(2):h(0):h(1):rzz(0, 1, th)
    assert.is_true(near(s:expect("XX"), 1))
    s = qnn.state(2):rzy(0, 1, th) -- exp(-i th/2 Z0 Y1) on |00>: rotates qubit 1 about Y
    assert.is_true(near(s:expect("IZ"), math.cos(th)))
    assert.is_true(near(s:expect("IX"), math.sin(th)))
    s = qnn.state(2):x(0):rzy(0, 1, th) -- Z0 = -1 flips the rotation sense
    assert.is_true(near(s:expect("IX"), -math.sin(th)))
    s = qnn.state(2):x(0):cry(0, 1, th)
    assert.is_true(near(s:expect("IZ"), math.cos(th)))
    s = qnn.state(2):cry(0, 1, th)
    assert.is_true(near(s:expect("IZ"), 1))
  end)

  it("every 1- and 2-qubit gate equals unitary() with its matrix", function()
    local r2 = 1 / math.sqrt(2)
    local H = {{r2, r2}, {r2, -r2}}
    local a = qnn.state(3):ry(0, 0.3):rx(1, 1.1):ry(2, -0.4)
    local b = a:copy()
    a:h(1); b:unitary({1}, H)
    assert.is_true(near(a:fidelity(b), 1))
    -- CX with control 2, target 0: matrix index bit0 = qubits[1] = control
    local CX = {{1, 0, 0, 0}, {0, 0, 0, 1}, {0, 0, 1, 0}, {0, 1, 0, 0}}
    a:cx(2, 0); b:unitary({2, 0}, CX)
    assert.is_true(near(a:fidelity(b), 1))
    local I = {0, 1}
    local Y = {{0, {0, -1}}, {{0, 1}, 0}}
    a:y(2); b:unitary(2, Y)
    local re, im = a:inner(b)
    assert.is_true(near(re, 1) and near(im, 0))
  end)

  it("mcx, mcz and diagonal", function()
    local s = qnn.state(4):x(0):x(1):x(2):mcx({0, 1, 2}, 3)
    assert.is_true(near(s:prob(15), 1))
    s:mcx({0, 1}, 2)
    assert.is_true(near(s:prob(11), 1))
    s = qnn.state(1):mcx({}, 0)
    assert.is_true(near(s:prob(1), 1))
    s = qnn.state(3):h(0):h(1):h(2):mcz{0, 1, 2}
    local re = s:amp(7)
    assert.is_true(near(re, -1 / math.sqrt(8)))
    local ph = {}
    for x = 0, 7 do ph[x + 1] = x == 5 and math.pi or 0 end
    local t = qnn.state(3):h(0):h(1):h(2):diagonal(ph)
    assert.is_true(near((t:amp(5)), -1 / math.sqrt(8)))
    assert.is_true(near((t:amp(4)), 1 / math.sqrt(8)))
    -- subset form: phases over qubits {2}
    local u = qnn.state(3):h(2):diagonal({2}, {0, math.pi / 2})
    local ur, ui = u:amp(4)
    assert.is_true(near(ur, 0) and near(ui, 1 / math.sqrt(2)))
  end)

  it("set_amps, normalize, copy, inner", function()
    local s = qnn.state(1):set_amps{3, {0, 4}}
    assert.is_true(near(s:norm(), 5))
    s:normalize()
    local re, im = s:amp(1)
    assert.is_true(near(re, 0) and near(im, 0.8))
    local c = s:copy()
    c:x(0)
    assert.is_true(near(s:prob(0), 0.36))
    assert.is_true(near(c:prob(0), 0.64))
    local ir, ii = s:inner(s)
    assert.is_true(near(ir, 1) and near(ii, 0))
  end)

  it("measure collapses and reset returns to |0>", function()
    local agree = true
    for i = 1, 50 do
      local s = qnn.state(2):h(0):cx(0, 1)
      local a = s:measure(0, {seed = i})
      local b = s:measure(1)
      agree = agree and a == b
    end
    assert.is_true(agree)
    local s = qnn.state(2):h(0):cx(0, 1)
    local self, o = s:reset(0, {seed = 3})
    assert.are.equal(s, self)
    assert.is_true(o == 0 or o == 1)
    assert.is_true(near(s:marginal{0}[1], 1))
  end)

  it("samples with the right frequencies, seeded", function()
    local s = qnn.state(2):ry(0, 1.0):h(1)
    local shots = 20000
    local c = s:sample(shots, {seed = 42})
    local total = 0
    for k, v in pairs(c) do
      assert.is_true(math.type(k) == "integer" and k >= 0 and k <= 3)
      total = total + v
    end
    assert.are.equal(shots, total)
    for x = 0, 3 do
      local p = s:prob(x)
      local f = (c[x] or 0) / shots
      assert.is_true(math.abs(f - p) < 5 * math.sqrt(p * (1 - p) / shots))
    end
    local c2 = s:sample(shots, {seed = 42})
    for x = 0, 3 do assert.are.equal(c[x], c2[x]) end
    local c3 = s:sample(shots, nil, {seed = 42})
    for x = 0, 3 do assert.are.equal(c[x], c3[x]) end
    local m = s:sample(1000, {0}, {seed = 1})
    assert.are.equal(1000, (m[0] or 0) + (m[1] or 0))
    local p1 = math.sin(0.5) ^ 2
    assert.is_true(math.abs((m[1] or 0) / 1000 - p1) < 5 * math.sqrt(p1 * (1 - p1) / 1000))
  end)

  it("__close frees and later use errors", function()
    local s = qnn.state(2)
    do
      local t <close> = qnn.state(2)
      s = t
    end
    errmatch(function() s:h(0) end, "State is closed")
    errmatch(function() return s:norm() end, "State is closed")
    assert.truthy(tostring(s):find("closed"))
    local u = qnn.state(1)
    u:close()
    errmatch(function() u:x(0) end, "State is closed")
  end)

  it("every gate method checks qubits and angles (State)", function()
    local o = qnn.state(3)
    local one = {"h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg", "id"}
    for _, g in ipairs(one) do
      errmatch(function() o[g](o, 3) end, "'q'")
      errmatch(function() o[g](o, -1) end, "[0, 2]")
      errmatch(function() o[g](o, "a") end, "'q'")
      errmatch(function() o[g](o) end, "'q'")
    end
    for _, g in ipairs{"rx", "ry", "rz", "phase"} do
      errmatch(function() o[g](o, 3, 0.1) end, "'q'")
      errmatch(function() o[g](o, 0, 0 / 0) end, "finite")
      errmatch(function() o[g](o, 0, math.huge) end, "finite")
      errmatch(function() o[g](o, 0) end, "got no value")
    end
    errmatch(function() o:u3(0, 1, 0 / 0, 2) end, "'phi'")
    for _, g in ipairs{"cx", "cy", "cz", "swap"} do
      errmatch(function() o[g](o, 0, 0) end, "duplicate")
      errmatch(function() o[g](o, 0, 3) end, "[0, 2]")
      errmatch(function() o[g](o, 9, 0) end, "[0, 2]")
    end
    for _, g in ipairs{"crx", "cry", "crz", "cphase", "rxx", "ryy", "rzz", "rzy"} do
      errmatch(function() o[g](o, 1, 1, 0.5) end, "duplicate")
      errmatch(function() o[g](o, 1, 3, 0.5) end, "[0, 2]")
      errmatch(function() o[g](o, 1, 2, 0 / 0) end, "finite")
      errmatch(function() o[g](o, 1, 2) end, "got no value")
    end
    errmatch(function() o:mcx({0, 1}) end, "'target'")
    errmatch(function() o:mcx("x", 1) end, "'controls'")
    errmatch(function() o:mcz{} end, "'qubits'")
    errmatch(function() o:unitary({}, {}) end, "'qubits'")
    errmatch(function() o:diagonal() end, "'phases'")
    errmatch(function() o:diagonal({0, 1}, {0, 0, 0}) end, "4 entries")
    errmatch(function() o:diagonal({0, 1}, {0, 0, "x", 0}) end, "entry 3")
    -- nothing above changed the object
    assert.is_true(near(o:prob(0), 1))
  end)

  describe("bad input", function()
    local s = qnn.state(3)
    it("size limits", function()
      errmatch(function() qnn.state(0) end, "[1, 30]")
      errmatch(function() qnn.state(31) end, "'n'")
      errmatch(function() qnn.state(2.5) end, "'n'")
      errmatch(function() qnn.state("x") end, "'n'")
    end)
    it("refuses a state over QNN_MAX_BYTES, nothing allocated", function()
      if os.getenv("ASAN_OPTIONS") then return end -- plain lua5.4 cannot load a sanitizer build
      local code = [[local qnn = require "qnn"
        local ok, err = pcall(qnn.state, 10)
        local ok2, err2 = pcall(qnn.density, 5)
        io.write(tostring(ok), "|", tostring(err), "|", tostring(ok2), "|", tostring(err2), "|",
                 tostring(qnn.state(4):nqubits()))]]
      local f = io.popen("QNN_MAX_BYTES=4096 lua5.4 -e '" .. code .. "' 2>&1")
      local out = f:read("a")
      f:close()
      assert.truthy(out:find("^false|"), out)
      assert.truthy(out:find("QNN_MAX_BYTES", 1, true), out)
      assert.truthy(out:find("'n'", 1, true), out)
      assert.truthy(out:find("|4$"), out)
    end)
    it("qubit out of range", function()
      errmatch(function() s:h(3) end, "'q'")
      errmatch(function() s:h(-1) end, "[0, 2]")
      errmatch(function() s:cx(0, 5) end, "'target'")
      errmatch(function() s:rzz(7, 0, 1) end, "'a'")
      errmatch(function() s:mcx({0, 9}, 1) end, "'controls'")
      errmatch(function() s:mcz{0, 3} end, "'qubits'")
      errmatch(function() s:measure(3) end, "'q'")
      errmatch(function() s:reset(-1) end, "'q'")
      errmatch(function() s:marginal{4} end, "'qubits'")
      errmatch(function() s:amp(8) end, "'i'")
      errmatch(function() s:prob(-1) end, "'i'")
    end)
    it("duplicate qubits", function()
      errmatch(function() s:cx(1, 1) end, "duplicate")
      errmatch(function() s:swap(2, 2) end, "duplicate")
      errmatch(function() s:crx(0, 0, 1) end, "duplicate")
      errmatch(function() s:mcx({0, 1}, 1) end, "duplicate")
      errmatch(function() s:mcz{1, 1} end, "duplicate")
      errmatch(function() s:unitary({0, 0}, {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}) end, "duplicate")
      errmatch(function() s:marginal{0, 0} end, "duplicate")
    end)
    it("NaN / inf / missing angles", function()
      errmatch(function() s:rx(0, 0 / 0) end, "'theta'")
      errmatch(function() s:ry(0, math.huge) end, "finite")
      errmatch(function() s:rz(0) end, "'theta'")
      errmatch(function() s:phase(0, -math.huge) end, "'lambda'")
      errmatch(function() s:u3(0, 1, 2) end, "'lambda'")
      errmatch(function() s:crz(0, 1, 0 / 0) end, "'theta'")
      errmatch(function() s:diagonal({0, 0, 0, 0 / 0, 0, 0, 0, 0}) end, "'phases'")
    end)
    it("matrices and tables", function()
      errmatch(function() s:unitary({0}, {{1, 1}, {0, 1}}) end, "unitary")
      errmatch(function() s:unitary({0}, {{1, 0}}) end, "2x2")
      errmatch(function() s:unitary({0}, {{1, 0}, {0}}) end, "row 2")
      errmatch(function() s:unitary({0}, {{1, "a"}, {0, 1}}) end, "entry (1, 2)")
      errmatch(function() s:unitary({0}, 5) end, "'M'")
      errmatch(function() s:diagonal({0, 0}) end, "8 entries")
      errmatch(function() s:set_amps{1, 0} end, "'amps'")
      errmatch(function() s:set_amps{1, 0, 0, 0, 0, 0, 0, "x"} end, "entry 8")
      errmatch(function() s:expect("ZZ") end, "length")
      errmatch(function() s:expect("ZQZ") end, "must be I, X, Y or Z")
      errmatch(function() s:expect{{1}} end, "term 1")
      errmatch(function() s:expect(3) end, "'pauli'")
      errmatch(function() s:inner(qnn.state(2)) end, "same number of qubits")
      errmatch(function() s:fidelity(5) end, "State")
    end)
    it("shots and options", function()
      errmatch(function() s:sample(0) end, "'shots'")
      errmatch(function() s:sample(1.5) end, "'shots'")
      errmatch(function() s:sample(10, {7}) end, "'qubits'")
      errmatch(function() s:sample(10, {seeed = 1}) end, "unknown option")
      errmatch(function() s:measure(0, {seed = "x"}) end, "seed")
      errmatch(function() s:probs{tabel = true} end, "unknown option")
      errmatch(function() s:normalize(); qnn.state(1):set_amps{0, 0}:normalize() end, "norm")
    end)
    it("state unchanged after a rejected call", function()
      local t = qnn.state(2):h(0)
      pcall(t.unitary, t, {0}, {{1, 1}, {0, 1}})
      pcall(t.set_amps, t, {1, 2, 3, "x"})
      assert.is_true(near(t:prob(0), 0.5) and near(t:prob(1), 0.5))
    end)
  end)
end)
