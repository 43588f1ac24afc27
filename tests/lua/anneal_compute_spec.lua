-- Training compute as the scaling experiments count it (docs/results/anneal.md, experiment 1):
-- spin-flip attempts of the annealing trainer, forward + backward FLOPs of qnn.train.fit, and the
-- run-level (cluster) bootstrap of qnn.stats.loglog_slope.
local qnn = require "qnn"

local function data(n, d, k, seed)
  local rng = qnn.rng(seed)
  local X, y = qnn.tensor.zeros(n, d), {}
  for i = 1, n do
    for j = 1, d do X[i][j] = rng:uniform() < 0.5 and -1 or 1 end
    y[i] = (i % k) + 1
  end
  return {X = X, y = y}
end

describe("training compute", function()
  it("qnn.train.flops follows the documented formula", function()
    local net = qnn.nn.mlp{64, 32, 10, hidden = "tanh", seed = 1}
    local f = qnn.train.flops(net)
    -- forward: dense 2*64*32 + 32, tanh 32, dense 2*32*10 + 10, softmax 3*10
    assert.are.equal(2 * 64 * 32 + 32 + 32 + 2 * 32 * 10 + 10 + 30, f.forward)
    -- backward: first dense without input gradient, tanh 2 per unit, second dense with it, softmax/CE 10
    assert.are.equal(2 * 64 * 32 + 32 + 2 * 32 + (2 * 32 * 10 + 10 + 2 * 32 * 10) + 10, f.backward)
    assert.are.equal(f.forward + f.backward, f.per_sample)
    assert.error_matches(function() qnn.train.flops(42) end, "must be a Net")
  end)

  it("qnn.train.fit reports cumulative FLOPs = samples x per-sample FLOPs", function()
    local net = qnn.nn.mlp{6, 5, 3, hidden = "relu", seed = 2}
    local per = qnn.train.flops(net).per_sample
    local seen = {}
    local h = qnn.train.fit(net, data(20, 6, 3, 1), {epochs = 3, batch = 7, seed = 1, progress = false,
      on_epoch = function(e, rec) seen[e] = rec.flops end})
    for e = 1, 3 do
      assert.are.equal(20 * per * e, h.flops[e])
      assert.are.equal(h.flops[e], seen[e])
    end
  end)

  it("SA training counts reads x sweeps x free spins of every anneal", function()
    -- 4-3-2: the free phase anneals 3 + 2 spins, the strongly nudged phase the 3 hidden spins
    local R, K, N = 3, 7, 10
    local T = qnn.optim.anneal{sizes = {4, 3, 2}, sampler = {sampler = "sa", reads = R, sweeps = K}, eta = 0.05,
      batch = 5, seed = 1}
    local h = T:fit(data(N, 4, 2, 3), {epochs = 2, progress = false})
    assert.are.equal(N * R * K * (5 + 3), h.flip_attempts[1])
    assert.are.equal(2 * N * R * K * (5 + 3), h.flip_attempts[2])
    assert.are.equal(h.flip_attempts[2], T.cost.flip_attempts)
  end)

  it("SQA training counts every slice (and its global moves)", function()
    local R, K, P, N = 2, 5, 4, 6
    local T = qnn.optim.anneal{sizes = {4, 3, 2}, sampler = {sampler = "sqa", reads = R, sweeps = K, slices = P},
      eta = 0.05, batch = 3, seed = 1}
    local h = T:fit(data(N, 4, 2, 5), {epochs = 1, progress = false})
    local spins = N * R * K * (5 + 3)
    assert.are.equal(spins * P + spins, h.flip_attempts[1])
  end)
end)

describe("qnn.stats.loglog_slope with groups", function()
  it("pools the points and resamples whole groups", function()
    -- two runs, exact power laws with exponents 1 and 0.5 over the same x: resampling whole runs
    -- gives only {1,1}, {0.5,0.5} or the pooled {1,0.5}, so the interval is exactly [-1, -0.5]
    local x, y, g = {}, {}, {}
    for i = 1, 8 do
      x[#x + 1], y[#y + 1], g[#g + 1] = i, 2 * i ^ -1, "a"
      x[#x + 1], y[#y + 1], g[#g + 1] = i, 2 * i ^ -0.5, "b"
    end
    local r = qnn.stats.loglog_slope(x, y, {groups = g, seed = 3, resamples = 400})
    assert.is_true(math.abs(r.slope + 0.75) < 1e-12)
    assert.is_true(math.abs(r.lo + 1) < 1e-9 and math.abs(r.hi + 0.5) < 1e-9)
    assert.are.equal(2, r.groups)
    assert.matches("groups", r.method)
    -- without groups the same points give the point bootstrap (a different interval)
    local p = qnn.stats.loglog_slope(x, y, {seed = 3, resamples = 400})
    assert.are.equal(r.slope, p.slope)
    assert.is_nil(p.groups)
    assert.matches("over points", p.method)
  end)

  it("refuses bad groups by name", function()
    assert.error_matches(function() qnn.stats.loglog_slope({1, 2, 3}, {1, 2, 3}, {groups = {1, 1}}) end,
      "one entry per point")
    assert.error_matches(function() qnn.stats.loglog_slope({1, 2, 3}, {1, 2, 3}, {groups = {1, 1, 1}}) end,
      "at least 2 distinct groups")
  end)
end)
