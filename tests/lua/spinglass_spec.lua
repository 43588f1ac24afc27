-- qnn.spinglass: SK instances, overlap diagnostics, time to solution (issue 18).
local qnn = require "qnn"
local G = qnn.spinglass

describe("qnn.spinglass", function()
  it("builds seeded SK couplings with variance 1/n", function()
    local a, b = G.sk{n = 40, seed = 3}, G.sk{n = 40, seed = 3}
    local ea, eb = a:edges(), b:edges()
    assert.are.equal(40 * 39 / 2, #ea)
    local s2 = 0
    for k = 1, #ea do
      assert.are.equal(ea[k][3], eb[k][3])
      s2 = s2 + ea[k][3] ^ 2
    end
    -- mean square of 780 N(0, 1/40) draws: 0.025 +- ~0.0013
    assert.is_true(math.abs(s2 / #ea - 1 / 40) < 0.006)
  end)

  it("computes overlaps by hand", function()
    -- two states, mirror images, 3 reads of the first and 1 of the second
    local samples = {{energy = -1, spins = {1, 1, -1, -1}, count = 3}, {energy = -1, spins = {-1, -1, 1, 1}, count = 1}}
    local d = G.diagnostics(samples, {bins = 3, ground = -1})
    -- pairs: 3 within the first (q = 1), 3 across (q = -1)
    assert.are.equal(6, d.pairs)
    assert.are.equal(1, d.q_abs)
    assert.are.equal(1, d.q2)
    assert.are.equal(0.5, d.P[1].p)  -- q = -1
    assert.are.equal(0.5, d.P[3].p)  -- q = +1
    assert.are.equal(2, d.low_states)
    assert.are.equal(1, d.p_ground)
    local e = G.diagnostics({{energy = 0, spins = {1, 1}, count = 1}, {energy = 0.5, spins = {1, -1}, count = 1}}, {dE = 0.1})
    assert.are.equal(0, e.q_abs) -- q = 0 for the one pair
    assert.are.equal(1, e.low_states)
  end)

  it("measures SA time to solution against the exact ground state and counts Durr-Hoyer queries", function()
    local m = qnn.ising.model{n = 2, h = {0, 0}, J = {{1, 2, -1}}}
    local t = G.tts(m, {sweeps = {5}, reads = 20, grover_runs = 3})
    assert.are.equal(-1, t.ground)
    assert.are.equal(1, t.sa[1].p) -- two aligned spins: SA never misses
    assert.are.equal(5, t.sa_tts_sweeps)
    assert.are.equal(3, t.grover.runs)
    assert.is_true(t.grover.queries_mean > 0)
  end)

  it("refuses bad input by name", function()
    assert.error_matches(function() G.sk{} end, "'n'")
    assert.error_matches(function() G.sk{n = 1} end, "'n' must be an integer in %[2, 4096%]")
    assert.error_matches(function() G.sk{n = 4, bogus = 1} end, "unknown option 'bogus'")
    assert.error_matches(function() G.diagnostics({}) end, "samples must be")
    assert.error_matches(function() G.diagnostics({{energy = 0, spins = {1}}}, {dE = -1}) end, "'dE'")
    assert.error_matches(function() G.tts(3) end, "model must be an Ising")
    assert.error_matches(function() G.tts(G.sk{n = 3}, {sweeps = {0}}) end, "sweeps entries")
  end)
end)
