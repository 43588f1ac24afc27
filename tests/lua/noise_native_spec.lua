-- Noise per native gate (native = true: circuits decomposed into 1-qubit gates + CX) and readout
-- error (issue 18, Grover noise).
local qnn = require "qnn"

local function near(a, b, tol) return math.abs(a - b) <= (tol or 1e-12) end

describe("native-gate noise and readout error", function()
  it("a readout error flips each measured bit of a Grover outcome", function()
    -- n = 2, one marked state, one iteration: the ideal register is the marked state with certainty
    local p = qnn.grover.probs{n = 2, marked = {3}, iterations = 1, noise = qnn.noise.readout(0.1)}
    assert.is_true(near(p[4], 0.81))
    assert.is_true(near(p[2], 0.09) and near(p[3], 0.09) and near(p[1], 0.01))
    local q = qnn.noise.apply_readout({0, 0, 0, 1}, 0.1)
    for i = 1, 4 do assert.is_true(near(p[i], q[i])) end
  end)

  it("native = true without channels changes nothing; with channels it costs more than one hit per MCX", function()
    local ideal = qnn.grover.probs{n = 3, marked = {5}, iterations = 2, circuit = "paper"}
    local zero = qnn.grover.probs{n = 3, marked = {5}, iterations = 2, circuit = "paper",
      noise = qnn.noise.depolarizing{p1 = 0, p2 = 0, native = true}}
    for i = 1, 8 do assert.is_true(near(ideal[i], zero[i])) end
    local coarse = qnn.grover.probs{n = 3, marked = {5}, iterations = 2, circuit = "paper",
      noise = qnn.noise.depolarizing{p1 = 0.01, p2 = 0.01}}
    local native = qnn.grover.probs{n = 3, marked = {5}, iterations = 2, circuit = "paper",
      noise = qnn.noise.depolarizing{p1 = 0.01, p2 = 0.01, native = true}}
    -- the decomposed MCX has dozens of CX, so the marked state loses more probability
    assert.is_true(native[6] < coarse[6])
    assert.is_true(coarse[6] < ideal[6])
    local s = 0
    for i = 1, 8 do s = s + native[i] end
    assert.is_true(near(s, 1, 1e-12))
  end)

  it("a circuit run with native noise equals the decomposed circuit run gate by gate", function()
    local c = qnn.circuit(3):h(0):mcx({0, 1}, 2):crz(0, 2, 0.3):swap(1, 2)
    local nm = qnn.noise.depolarizing{p1 = 0.02, p2 = 0.03, native = true}
    local a = qnn.density(3)
    c:run(a, {noise = nm})
    local b = qnn.density(3)
    c:decompose():run(b, {noise = qnn.noise.depolarizing{p1 = 0.02, p2 = 0.03}})
    local pa, pb = a:probs(), b:probs()
    for i = 1, 8 do assert.is_true(near(pa[i], pb[i])) end
  end)

  it("refuses bad models and readout on a state run", function()
    assert.error_matches(function() qnn.noise.model{native = 1} end, "'native'.*boolean")
    assert.error_matches(function() qnn.noise.model{readout = 2} end, "readout")
    assert.error_matches(function() qnn.circuit(1):h(0):run(qnn.density(1), {noise = qnn.noise.readout(0.1)}) end,
      "readout error acts on measured bits")
    assert.error_matches(function() qnn.noise.apply_readout({1, 0, 0}, 0.1) end, "power of 2")
    assert.error_matches(function() qnn.noise.apply_readout({1, 0}, -1) end, "'e'")
    assert.error_matches(function() qnn.circuit(2):unitary({0, 1}, {{1,0,0,0},{0,1,0,0},{0,0,0,1},{0,0,1,0}}):decompose() end,
      "no native")
  end)
end)
