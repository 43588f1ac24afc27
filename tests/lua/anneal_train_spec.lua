-- qnn.optim.ising_net / IsingNet and qnn.optim.anneal (annealing-based training, issue 6).
local qnn = require "qnn"

-- linearly separable 2-D toy set: class 2 iff x1 + 0.5 x2 > 0
local function toy(n, seed)
  local r = qnn.rng(seed)
  local X, y = {}, {}
  for i = 1, n do
    local a, b = r:uniform(-1, 1), r:uniform(-1, 1)
    local m = a + 0.5 * b
    if math.abs(m) < 0.1 then a = a + (m > 0 and 0.2 or -0.2) end
    X[i] = {a, b}
    y[i] = (a + 0.5 * b > 0) and 2 or 1
  end
  return {X = qnn.tensor(X), y = y}
end

local function all_states(n)
  local out = {}
  for k = 0, (1 << n) - 1 do
    local s = {}
    for g = 1, n do s[g] = ((k >> (g - 1)) & 1) == 1 and -1 or 1 end
    out[#out + 1] = s
  end
  return out
end

local function errors(pred, y)
  local bad = 0
  for i = 1, #y do if pred[i] ~= y[i] then bad = bad + 1 end end
  return bad / #y
end

describe("qnn.optim.ising_net", function()
  it("builds a net with the documented layout", function()
    local net = qnn.optim.ising_net{3, 4, 2, seed = 1}
    assert.are.same({3, 4, 2}, net:sizes())
    assert.are.equal(6, net:nspins())
    local np, nj = net:nparams()
    assert.are.equal(3 * 4 + 4 * 2 + 6, np)
    assert.are.equal(20, nj)
    assert.are.same({3, 4}, {net:couplings(1):shape()})
    assert.are.same({5, 6}, {net:layer_spins(3)})
    assert.matches("IsingNet%(3%-4%-2", tostring(net))
    local g = qnn.optim.ising_net{sizes = {3, 4, 2}, init = "gaussian", scale = 0.5, seed = 1}
    assert.are.equal(0, g:fields(2)[1])
    net:close()
    assert.has_error(function() net:nspins() end, "IsingNet is closed")
  end)

  it("energy follows E = sum h s + sum J s s and block models reproduce it", function()
    local net = qnn.optim.ising_net{2, 3, 2, seed = 4}
    net:set_fields(2, {0.1, -0.2, 0.3})
    net:set_fields(3, {0.5, -0.4})
    local x = {0.7, -1.2}
    local J1, J2 = net:couplings(1), net:couplings(2)
    local h = {0.1, -0.2, 0.3, 0.5, -0.4}
    for _, s in ipairs(all_states(5)) do
      local E = 0
      for g = 1, 5 do E = E + h[g] * s[g] end
      for i = 1, 2 do for p = 1, 3 do E = E + J1[i][p] * x[i] * s[p] end end
      for i = 1, 3 do for j = 1, 2 do E = E + J2[i][j] * s[i] * s[3 + j] end end
      assert.is_near(E, net:energy(x, s), 1e-12)
    end
    local s = {1, -1, 1, -1, 1}
    local b = net:block(x, s, {2, 4})
    local m = qnn.ising.model{n = b.n, h = b.h, J = b.J}
    assert.is_near(net:energy(x, s), m:energy({s[2], s[4]}) + b.offset, 1e-12)
  end)

  it("the update lowers E(nudged) - E(free) by eta |c_n - c_f|^2", function()
    local net = qnn.optim.ising_net{2, 3, 2, init = "gaussian", scale = 1.5, seed = 3}
    local x, label = {1, -1}, 2
    local function ground(clamp)
      local best, Eb
      for _, s in ipairs(all_states(5)) do
        if not clamp or (s[4] == (label == 1 and 1 or -1) and s[5] == (label == 2 and 1 or -1)) then
          local E = net:energy(x, s)
          if not Eb or E < Eb then best, Eb = s, E end
        end
      end
      return best, Eb
    end
    local sf, Ef = ground(false)
    local sn, En = ground(true)
    local gap0 = En - Ef
    local st = net:train_batch({x}, {label}, {eta = 0, weighting = "lowest", seed = 1,
      sampler = {sampler = "sa", reads = 8, sweeps = 300}})
    assert.is_near(gap0, st.gap, 1e-9)      -- SA found both ground states
    local eta = 0.01
    net:train_batch({x}, {label}, {eta = eta, weighting = "lowest", seed = 1,
      sampler = {sampler = "sa", reads = 8, sweeps = 300}})
    local gap1 = net:energy(x, sn) - net:energy(x, sf)
    local d2 = 0
    for i = 1, 2 do for p = 1, 3 do d2 = d2 + (x[i] * (sn[p] - sf[p])) ^ 2 end end
    for i = 1, 3 do for j = 4, 5 do d2 = d2 + (sn[i] * sn[j] - sf[i] * sf[j]) ^ 2 end end
    for g = 1, 5 do d2 = d2 + (sn[g] - sf[g]) ^ 2 end
    if d2 > 0 then assert.is_true(gap1 < gap0) end
    assert.is_near(gap0 - eta * d2, gap1, 1e-9)
  end)

  it("active blocks touch only their couplings and fields", function()
    local net = qnn.optim.ising_net{3, 4, 4, 2, init = "gaussian", seed = 2}
    local before = net:params()
    local X = {{1, -1, 1}, {-1, 1, 1}, {1, 1, -1}, {-1, -1, 1}}
    local y = {1, 2, 1, 2}
    net:train_batch(X, y, {eta = 0.2, active = {6, 7}, seed = 5,
      free = {sampler = "exact", steps = 50, T = 5, reads = 4}, nudged = {sampler = "grover"}})
    local after = net:params()
    -- layout: J1 3x4 (1..12), J2 4x4 (13..28), J3 4x2 (29..36), h (37..46); spins 6,7 are
    -- layer-3 units 2,3 (global spins 1..4 layer 2, 5..8 layer 3, 9..10 output)
    local incident = {}
    for i = 0, 3 do for _, p in ipairs({1, 2}) do incident[13 + i * 4 + p] = true end end
    for _, i in ipairs({1, 2}) do for j = 0, 1 do incident[29 + i * 2 + j] = true end end
    incident[36 + 6], incident[36 + 7] = true, true
    local changed = 0
    for k = 1, #before do
      if before[k] ~= after[k] then
        assert.is_true(incident[k] == true, "parameter " .. k .. " outside the block changed")
        changed = changed + 1
      end
    end
    assert.is_true(changed > 0)
  end)
end)

describe("qnn.optim.anneal", function()
  it("a 2-4-2 net learns a linearly separable toy set to >= 90%", function()
    local train, test = toy(80, 5), toy(60, 6)
    local tr = qnn.optim.anneal{sizes = {2, 4, 2}, sweeps = 50, eta = 0.05, batch = 8, seed = 11}
    local h = tr:fit(train, {epochs = 30, test = test, progress = false})
    assert.are.equal(30, h.epochs)
    assert.is_true(h.train_error[30] <= 0.1)
    assert.is_true(h.test_error[30] <= 0.1)
    assert.is_true(tr:evaluate(test, {readout = "anneal"}) <= 0.1)
    assert.is_true(h.sweeps[30] > h.sweeps[1] and h.flip_attempts[30] > 0)
    assert.are.equal(6, h.cost.spins)
    assert.are.equal(16, h.cost.couplings)
    local lab, sc = tr:predict(test.X, {readout = "anneal"})
    assert.are.equal(60, #lab)
    assert.are.same({60, 2}, {sc:shape()})
  end)

  it("gives identical results for a fixed seed", function()
    local d = toy(40, 1)
    local function run()
      local tr = qnn.optim.anneal{sizes = {2, 3, 2}, sampler = "sqa", sweeps = 20, reads = 2,
        eta = function(e) return 0.1 / e end, seed = 7}
      local h = tr:fit(d, {epochs = 3, progress = false})
      return tr.net:params(), h
    end
    local p1, h1 = run()
    local p2, h2 = run()
    for k = 1, #p1 do assert.are.equal(p1[k], p2[k]) end
    assert.are.same(h1.train_error, h2.train_error)
    assert.are.equal(0.1 / 3, h1.eta[3])
  end)

  it("reads one Trotter slice per SQA read unless best_of_slices = true", function()
    local d = toy(30, 3)
    local function run(extra)
      local s = {sampler = "sqa", sweeps = 15, reads = 2}
      for k, v in pairs(extra) do s[k] = v end
      local tr = qnn.optim.anneal{sizes = {2, 3, 2}, sampler = s, eta = 0.1, seed = 5}
      tr:fit(d, {epochs = 2, progress = false})
      return tr.net:params()
    end
    local default, one, best = run{}, run{best_of_slices = false}, run{best_of_slices = true}
    local same, diff = true, false
    for k = 1, #default do
      if default[k] ~= one[k] then same = false end
      if default[k] ~= best[k] then diff = true end
    end
    assert.is_true(same)  -- the default is the hardware-like single slice
    assert.is_true(diff)  -- the best-of-slices read-out trains differently
  end)

  it("adds seeded Gaussian control noise to h and J per anneal", function()
    local d = toy(30, 4)
    local function run(c)
      local tr = qnn.optim.anneal{sizes = {2, 3, 2}, sampler = {sampler = "sa", sweeps = 20, reads = 2,
        control_noise = c}, eta = 0.1, seed = 9}
      tr:fit(d, {epochs = 2, progress = false})
      return tr.net:params()
    end
    local clean, zero, n1, n2 = run(nil), run(0), run(0.5), run(0.5)
    local same0, same_n, differs = true, true, false
    for k = 1, #clean do
      if clean[k] ~= zero[k] then same0 = false end
      if n1[k] ~= n2[k] then same_n = false end
      if n1[k] ~= clean[k] then differs = true end
    end
    assert.is_true(same0)
    assert.is_true(same_n)
    assert.is_true(differs)
    assert.error_matches(function()
      qnn.optim.anneal{sizes = {2, 3, 2}, sampler = {control_noise = -1}, seed = 1}:fit(d, {epochs = 1, progress = false})
    end, "control_noise")
    assert.error_matches(function()
      qnn.optim.anneal{sizes = {2, 3, 2}, sampler = {sampler = "sqa", best_of_slices = "yes"}, seed = 1}:fit(d, {epochs = 1, progress = false})
    end, "best_of_slices must be a boolean")
  end)

  it("trains layer by layer and by exact / grover blocks", function()
    local d = toy(24, 2)
    local tr = qnn.optim.anneal{sizes = {2, 6, 4, 2}, mode = "layers", layers = {{2}, {3}, {4}},
      sweeps = 30, seed = 1}
    local h = tr:fit(d, {epochs = 2, progress = false})
    assert.are.equal(2, h.epochs)
    local ex = qnn.optim.anneal{sizes = {2, 6, 4, 2}, mode = "block", block = 3,
      sampler = {sampler = "exact", steps = 40, T = 5, reads = 4}, nudged = {sampler = "grover"},
      seed = 1, schedule = qnn.anneal.quadratic()}
    assert.are.equal(5, #ex.blocks) -- 6 -> 3+3, 4 -> 2+2, 2 -> 2
    local h2 = ex:fit(d, {epochs = 1, progress = false})
    assert.is_true(h2.queries[1] > 0 and h2.exact_steps[1] > 0)
    local lab = ex:predict(d.X, {readout = "anneal"})
    assert.are.equal(24, #lab)
  end)

  it("block-coordinate phases with one all-spin block equal full annealing (lowest read)", function()
    local d = toy(20, 3)
    local all = {}
    for g = 1, 9 do all[g] = g end
    local a = qnn.optim.ising_net{2, 4, 3, 2, seed = 5}
    local b = a:copy()
    local o = {eta = 0.1, weighting = "lowest", seed = 2, sampler = {sampler = "sa", sweeps = 30}}
    local sa = a:epoch(d.X, d.y, o)
    o.coordinate = {all}
    local sb = b:epoch(d.X, d.y, o)
    local pa, pb = a:params(), b:params()
    for k = 1, #pa do assert.is_near(pa[k], pb[k], 1e-12) end -- tied reads are summed in another order
    assert.is_near(sa.gap, sb.gap, 1e-12)
    -- coordinate trainer: per-layer scales, random straddling blocks, sampled reads, exact blocks
    local tr = qnn.optim.anneal{sizes = {2, 6, 4, 2}, scale = {2, 1, 0.5}, mode = "coordinate", block = 4,
      random_blocks = true, pick = "sample", sampler = {sampler = "exact", steps = 30, T = 4, reads = 3},
      seed = 4}
    assert.are.equal(4, #tr.coordinate) -- 6 -> 3+3, 4 -> 4, 2 -> 2
    local h = tr:fit(d, {epochs = 1, progress = false})
    assert.is_true(h.exact_steps[1] > 0)
    assert.has_error(function() qnn.optim.ising_net{2, 3, 2, scale = {1}} end)
    assert.has_error(function() qnn.optim.anneal{sizes = {2, 3, 2}, mode = "coordinate", pick = "worst"} end)
  end)

  it("rejects bad input with clear errors", function()
    local d = toy(10, 1)
    assert.has_error(function() qnn.optim.ising_net{3} end)
    assert.has_error(function() qnn.optim.ising_net{3, 0, 2} end)
    assert.has_error(function() qnn.optim.ising_net{3, 2, init = "zeros"} end)
    assert.has_error(function() qnn.optim.anneal{sizes = {2, 3, 2}, eta = 0 / 0} end, nil)
    local ok, msg = pcall(qnn.optim.anneal, {sizes = {2, 3, 2}, sampler = "dwave"})
    assert.is_false(ok)
    assert.matches("unknown sampler 'dwave'", msg)
    ok, msg = pcall(qnn.optim.anneal, {sizes = {2, 20, 2}, sampler = "exact"})
    assert.is_false(ok)
    assert.matches("at most 16 spins", msg)
    ok, msg = pcall(qnn.optim.anneal, {sizes = {2, 40, 2}, mode = "block", block = 20, sampler = "grover"})
    assert.is_false(ok)
    assert.matches("at most 16 spins", msg)
    ok, msg = pcall(qnn.optim.anneal, {sizes = {2, 3, 2}, epoch = 3})
    assert.matches("unknown option 'epoch'", msg)
    local tr = qnn.optim.anneal{sizes = {2, 3, 2}, eta = function() return 0 / 0 end}
    ok, msg = pcall(tr.fit, tr, d, {epochs = 1, progress = false})
    assert.matches("eta schedule returned", msg)
    local net = qnn.optim.ising_net{2, 3, 2}
    assert.are.equal(10, net:epoch(d.X, d.y).samples) -- defaults, no option table
    ok, msg = pcall(net.epoch, net, d.X, d.y, {eta = 0 / 0})
    assert.matches("eta", msg)
    ok, msg = pcall(net.epoch, net, qnn.tensor(3, 5), {1, 1, 1})
    assert.matches("input width", msg)
    ok, msg = pcall(net.epoch, net, d.X, {1, 2, 3, 1, 1, 1, 1, 1, 1, 1})
    assert.matches("label", msg)
    ok, msg = pcall(net.train_batch, net, {{1, 0 / 0}}, {1})
    assert.matches("not finite", msg)
    ok, msg = pcall(net.epoch, net, d.X, d.y, {sampler = {sampler = "exact"}, blocks = {{1, 2, 3, 4, 5}}})
    assert.is_true(ok, msg)
    ok, msg = pcall(net.epoch, net, d.X, d.y, {sampler = {sampler = "sa", sweeps = 3, betas = {1, 2}}})
    assert.matches("betas", msg)
    ok, msg = pcall(net.epoch, net, d.X, d.y, {blocks = {{1, 1}}})
    assert.matches("twice", msg)
    ok, msg = pcall(net.epoch, net, d.X, d.y, {blocks = {{9}}})
    assert.matches("spin index", msg)
    ok, msg = pcall(net.energy, net, {1, 1}, {1, 1, 0, 1, 1})
    assert.matches("%-1 or %+1", msg)
    ok, msg = pcall(net.set_couplings, net, 1, qnn.tensor(3, 3))
    assert.matches("2x3", msg)
    ok, msg = pcall(net.predict_anneal, net, d.X, {sampler = "grover", reads = 0})
    assert.is_false(ok)
    ok, msg = pcall(tr.predict, tr, d.X, {readout = "magic"})
    assert.matches("readout", msg)
  end)
end)
