-- qnn.ising: models, energies, QUBO, ground states, clamping, samplers, spectra, bad input.
local qnn = require "qnn"

local function all_states(n)
  local k = 0
  return function()
    if k >= (1 << n) then return nil end
    local s = {}
    for q = 1, n do s[q] = ((k >> (q - 1)) & 1) == 1 and -1 or 1 end
    k = k + 1
    return s
  end
end

-- energy straight from the definition (pairs counted once)
local function direct_energy(h, edges, offset, s)
  local e = offset or 0
  for i = 1, #s do e = e + (h[i] or 0) * s[i] end
  for _, ed in ipairs(edges) do e = e + ed[3] * s[ed[1]] * s[ed[2]] end
  return e
end

local function random_instance(n, seed, dens, hs)
  local r = qnn.rng(seed)
  local h, J = {}, {}
  for i = 1, n do h[i] = hs * r:normal() end
  for i = 1, n do
    for j = i + 1, n do
      if r:uniform() < dens then J[#J + 1] = {i, j, r:normal()} end
    end
  end
  return h, J
end

local function brute_min(m)
  local best = math.huge
  for s in all_states(m:n()) do best = math.min(best, m:energy(s)) end
  return best
end

describe("qnn.ising model", function()
  it("builds from an edge list and evaluates the documented energy", function()
    local h, J = {0.5, -0.25, 0, 1}, {{1, 2, 1}, {2, 3, -1}, {3, 4, 0.5}, {1, 4, -2}}
    local m = qnn.ising.model{n = 4, h = h, J = J, offset = 1}
    assert.are.equal("Ising", qnn.type(m))
    assert.are.equal(4, m:n())
    assert.truthy(tostring(m):match("^qnn.Ising"))
    for s in all_states(4) do
      assert.are.equal(direct_energy(h, J, 1, s), m:energy(s))
    end
    assert.are.equal(1, m:offset())
    assert.are.same(h, m:fields())
  end)

  it("accepts a symmetric matrix (table or Tensor) and infers n", function()
    local M = {{0, 1, -2}, {1, 0, 0.5}, {-2, 0.5, 0}}
    local a = qnn.ising.model{J = M}
    local b = qnn.ising.model{J = qnn.tensor(M)}
    local c = qnn.ising.model{n = 3, J = {{1, 2, 1}, {1, 3, -2}, {2, 3, 0.5}}}
    assert.are.equal(3, a:n())
    for s in all_states(3) do
      assert.are.equal(c:energy(s), a:energy(s))
      assert.are.equal(c:energy(s), b:energy(s))
    end
    assert.are.same({{1, 2, 1}, {1, 3, -2}, {2, 3, 0.5}}, a:edges())
  end)

  it("add() sums fields, couplings and whole terms; edges() coalesces", function()
    local m = qnn.ising.model{n = 3}
    assert.are.equal(m, m:add(1, 2, 0.5))
    m:add(2, 1, 0.25):add(3, -1):add{h = {1, 0, 0}, J = {{2, 3, 2}}, offset = 0.5}
    assert.are.same({{1, 2, 0.75}, {2, 3, 2}}, m:edges())
    assert.are.same({1, 0, -1}, m:fields())
    assert.are.equal(0.5, m:offset())
    m:add(1, 2, -0.75)
    assert.are.same({{2, 3, 2}}, m:edges())
  end)

  it("accepts spins as a Tensor", function()
    local m = qnn.ising.model{n = 2, J = {{1, 2, 1}}}
    assert.are.equal(-1, m:energy(qnn.tensor({1, -1})))
  end)

  it("QUBO <-> Ising round trip preserves energies exactly", function()
    local r = qnn.rng(4)
    local n = 5
    local Q = {}
    for i = 1, n do
      Q[i] = {}
      for j = 1, n do Q[i][j] = r:int(-8, 8) end
    end
    local m = qnn.ising.from_qubo(Q, 2.5)
    local Q2, off2 = m:to_qubo()
    local m2 = qnn.ising.from_qubo(Q2, off2)
    for s in all_states(n) do
      local x = {}
      for i = 1, n do x[i] = (1 + s[i]) // 2 end
      local e1, e2 = 2.5, off2
      for i = 1, n do
        for j = 1, n do
          e1 = e1 + Q[i][j] * x[i] * x[j]
          e2 = e2 + Q2[i][j] * x[i] * x[j]
        end
      end
      assert.are.equal(e1, m:energy(s))
      assert.are.equal(e1, e2)
      assert.are.equal(e1, m2:energy(s))
    end
    for i = 2, n do for j = 1, i - 1 do assert.are.equal(0, Q2[i][j]) end end
  end)

  it("ground_state (Gray code) equals brute force", function()
    for n = 1, 9 do
      local h, J = random_instance(n, 10 + n, 0.6, 0.4)
      local m = qnn.ising.model{n = n, h = h, J = J, offset = -1}
      local g = m:ground_state()
      assert.is_true(math.abs(g.energy - brute_min(m)) < 1e-10)
      assert.is_true(math.abs(m:energy(g.spins) - g.energy) < 1e-12)
      assert.are.equal(1, g.degeneracy)
    end
    local sym = qnn.ising.model{n = 3, J = {{1, 2, -1}, {2, 3, -1}}}
    local g = sym:ground_state()
    assert.are.equal(-2, g.energy)
    assert.are.equal(2, g.degeneracy)
  end)

  it("clamp() fixes spins and keeps energies", function()
    local h, J = random_instance(6, 3, 0.7, 0.5)
    local m = qnn.ising.model{n = 6, h = h, J = J, offset = 0.5}
    local c, map = m:clamp({2, 5}, {-1, 1})
    assert.are.equal(4, c:n())
    assert.is_nil(map[2])
    assert.are.equal(1, map[1])
    assert.are.equal(4, map[6])
    for sf in all_states(4) do
      local s = {}
      for i = 1, 6 do if map[i] then s[i] = sf[map[i]] end end
      s[2], s[5] = -1, 1
      assert.is_true(math.abs(m:energy(s) - c:energy(sf)) < 1e-12)
    end
    local all, map2 = m:clamp({1, 2, 3, 4, 5, 6}, {1, 1, 1, 1, 1, 1})
    assert.are.equal(0, all:n())
    assert.are.same({}, map2)
    assert.is_true(math.abs(all:offset() - m:energy{1, 1, 1, 1, 1, 1}) < 1e-12)
  end)

  it("copy() is independent; close() frees", function()
    local m = qnn.ising.model{n = 2, J = {{1, 2, 1}}}
    local c = m:copy()
    c:add(1, 2, 1)
    assert.are.same({{1, 2, 1}}, m:edges())
    assert.are.same({{1, 2, 2}}, c:edges())
    do local x <close> = c end
    assert.has_error(function() c:n() end, "Ising is closed")
    assert.truthy(tostring(c):match("closed"))
  end)
end)

describe("qnn.ising.sample", function()
  local h, J = random_instance(10, 77, 0.5, 0.3)
  local m = qnn.ising.model{n = 10, h = h, J = J}
  local gs = m:ground_state()

  local function check_result(r, reads)
    local total = 0
    for k, st in ipairs(r) do
      total = total + st.count
      assert.is_true(math.abs(m:energy(st.spins) - st.energy) < 1e-12)
      if k > 1 then assert.is_true(r[k - 1].energy <= st.energy) end
    end
    assert.are.equal(reads, total)
    assert.is_number(r.time)
  end

  it("sa: seeded, sorted distinct states, ground state found", function()
    local r = qnn.ising.sample(m, {sampler = "sa", reads = 20, sweeps = 300, seed = 5})
    check_result(r, 20)
    assert.are.equal("sa", r.sampler)
    assert.are.equal(20 * 300 * 10, r.flip_attempts)
    assert.are.equal(300, r.sweeps)
    assert.is_true(math.abs(r[1].energy - gs.energy) < 1e-9)
    local r2 = qnn.ising.sample(m, {reads = 20, sweeps = 300, seed = 5})
    assert.are.same(r[#r].spins, r2[#r2].spins)
    assert.are.equal(#r, #r2)
  end)

  it("sa: schedules as function, :beta table, array, geometric_beta", function()
    local an = qnn.anneal
    local s1 = qnn.ising.sample(m, {reads = 4, sweeps = 50, seed = 1, schedule = function(t) return 0.1 + 3 * t end})
    local s2 = qnn.ising.sample(m, {reads = 4, sweeps = 50, seed = 1, schedule = an.linear_beta(0.1, 3.1)})
    assert.are.same(s1[1].spins, s2[1].spins)
    local arr = {}
    for k = 1, 50 do arr[k] = 0.1 + 3 * (k - 1) / 49 end
    local s3 = qnn.ising.sample(m, {reads = 4, sweeps = 50, seed = 1, schedule = arr})
    assert.are.same(s1[1].spins, s3[1].spins)
    local s4 = qnn.ising.sample(m, {reads = 4, sweeps = 50, seed = 1, schedule = an.geometric_beta(0.1, 5)})
    assert.is_true(math.abs(s4.beta_range[2] - 5) < 1e-12)
    local s5 = qnn.ising.sample(m, {reads = 2, sweeps = 10, beta_range = {0.5, 2}, seed = 2})
    assert.are.equal(0.5, s5.beta_range[1])
  end)

  it("sa: initial_state at zero temperature stays put when it is the ground state", function()
    local r = qnn.ising.sample(m, {reads = 3, sweeps = 5, schedule = {1e6, 1e6, 1e6, 1e6, 1e6}, initial_state = gs.spins, seed = 1})
    assert.are.equal(1, #r)
    assert.are.same(gs.spins, r[1].spins)
    assert.are.equal(3, r[1].count)
  end)

  it("sqa: finds the ground state, reports slices and updates", function()
    local r = qnn.ising.sample(m, {sampler = "sqa", reads = 4, sweeps = 300, slices = 8, seed = 3})
    check_result(r, 4)
    assert.are.equal(8, r.slices)
    assert.are.equal(4 * 300 * 10 * 8, r.flip_attempts)
    assert.is_true(math.abs(r[1].energy - gs.energy) < 1e-9)
    local t = qnn.ising.sample(m, {sampler = "sqa", reads = 2, sweeps = 100, seed = 3, readout = "last",
      schedule = qnn.anneal.tabular{s = {0, 0.5, 1}, A = {2, 0.5, 0}, B = {0.1, 0.5, 1}}, gamma = 1})
    check_result(t, 2)
    assert.are.equal("last", t.readout)
  end)

  it("exact: adiabatic limit and the sudden limit", function()
    local small = qnn.ising.model{n = 4, h = {0.3, 0, -0.2, 0}, J = {{1, 2, 1}, {2, 3, -0.7}, {3, 4, 0.9}, {1, 4, 0.4}}}
    local r = qnn.ising.sample(small, {sampler = "exact", T = 200, steps = 4000})
    assert.is_true(r.p_ground > 0.99)
    assert.are.equal(small:ground_state().energy, r.ground_energy)
    assert.is_true(math.abs(r[1].energy - r.ground_energy) < 1e-12)
    assert.is_true(r[1].prob > 0.99)
    local sudden = qnn.ising.sample(small, {sampler = "exact", T = 0, steps = 10, reads = 1000, seed = 1})
    assert.is_true(math.abs(sudden.p_ground - 1 / 16) < 1e-12)
    local shots = 0
    for _, st in ipairs(sudden) do shots = shots + st.count end
    assert.are.equal(1000, shots)
    assert.are.equal(16, #sudden)
  end)

  it("grover: Durr-Hoyer finds the minimum and counts queries", function()
    local r = qnn.ising.sample(m, {sampler = "grover", reads = 10, seed = 9})
    local total = 0
    for _, st in ipairs(r) do total = total + st.count end
    assert.are.equal(10, total)
    assert.is_true(r.queries > 0)
    assert.is_true(r[1].energy >= gs.energy - 1e-12)
    local hits = 0
    for _, st in ipairs(r) do if math.abs(st.energy - gs.energy) < 1e-9 then hits = hits + st.count end end
    assert.is_true(hits >= 5)
  end)
end)

describe("qnn.ising.spectrum and min_gap", function()
  it("one spin: +-sqrt(A^2 + (B h)^2)", function()
    local m = qnn.ising.model{n = 1, h = {0.8}}
    for _, s in ipairs {0, 0.3, 0.7, 1} do
      local w = qnn.ising.spectrum(m, s, 2)
      local e = math.sqrt((1 - s) ^ 2 + (s * 0.8) ^ 2)
      assert.is_true(math.abs(w[1] + e) < 1e-12 and math.abs(w[2] - e) < 1e-12)
    end
    local w = qnn.ising.spectrum(m, 0.5, 2, {A = 3, B = 0})
    assert.is_true(math.abs(w[1] + 3) < 1e-12)
  end)

  it("s = 1 gives the sorted classical energies, s = 0 the transverse-field levels", function()
    local h, J = random_instance(4, 8, 0.8, 0.5)
    local m = qnn.ising.model{n = 4, h = h, J = J}
    local E = {}
    for s in all_states(4) do E[#E + 1] = m:energy(s) end
    table.sort(E)
    local w = qnn.ising.spectrum(m, 1, 16)
    for i = 1, 16 do assert.is_true(math.abs(w[i] - E[i]) < 1e-10) end
    local w0 = qnn.ising.spectrum(m, 0, 5)
    assert.is_true(math.abs(w0[1] + 4) < 1e-12 and math.abs(w0[5] + 2) < 1e-12)
  end)

  it("min_gap follows the schedule and skips a degenerate ground manifold", function()
    local m = qnn.ising.model{n = 1, h = {1}}
    local g = qnn.ising.min_gap(m, nil, {points = 11})
    -- gap(s) = 2 sqrt((1-s)^2 + s^2), minimal at s = 1/2: sqrt(2)
    assert.is_true(math.abs(g.gap - math.sqrt(2)) < 1e-12)
    assert.is_true(math.abs(g.s - 0.5) < 1e-12)
    assert.are.equal(11, #g.curve)
    -- ferromagnetic pair: at s = 1 the two ground states are degenerate
    local fm = qnn.ising.model{n = 2, J = {{1, 2, -1}}}
    local a = qnn.ising.min_gap(fm, qnn.anneal.linear(), {points = 5})
    local f = qnn.ising.min_gap(fm, nil, {points = 5, levels = "first"})
    assert.is_true(f.gap < 1e-12)
    assert.is_true(a.gap > 0.1)
    assert.is_true(math.abs(a.curve[5].gap - 2) < 1e-12)
  end)
end)

describe("qnn.ising bad input", function()
  local m = qnn.ising.model{n = 3, J = {{1, 2, 1}}}
  local function err(f, pat)
    local ok, e = pcall(f)
    assert.is_false(ok)
    if pat then assert.truthy(tostring(e):find(pat, 1, true), tostring(e)) end
  end

  it("model rejects asymmetric, NaN, diagonal and malformed couplings", function()
    err(function() qnn.ising.model{J = {{0, 1}, {2, 0}}} end, "symmetric")
    err(function() qnn.ising.model{J = {{0, 0 / 0}, {0 / 0, 0}}} end, "finite")
    err(function() qnn.ising.model{J = {{1, 0}, {0, 0}}} end, "diagonal")
    err(function() qnn.ising.model{n = 3, J = {{1, 1, 2}}} end, "itself")
    err(function() qnn.ising.model{n = 3, J = {{1, 4, 2}}} end, "[1, 3]")
    err(function() qnn.ising.model{n = 3, J = {{1, 2, math.huge}}} end, "finite")
    err(function() qnn.ising.model{n = 3, h = {1, 2}} end, "3 entries")
    err(function() qnn.ising.model{n = 3, h = {1, 0 / 0, 2}} end, "finite")
    err(function() qnn.ising.model{J = {{1, 2, 1}}} end, "n=")
    err(function() qnn.ising.model{n = -1} end)
    err(function() qnn.ising.model{n = 2, jj = 1} end, "unknown option")
    err(function() qnn.ising.model(5) end)
    err(function() qnn.ising.model{n = 2, J = qnn.tensor{{0, 1, 0}, {1, 0, 0}}} end, "2x2")
  end)

  it("methods reject bad spins and indices", function()
    err(function() m:energy{1, 0, 1} end, "-1 or +1")
    err(function() m:energy{1, 1} end, "3 spins")
    err(function() m:energy{1, 1, 0.5} end, "-1 or +1")
    err(function() m:energy("x") end)
    err(function() m:add(4, 1) end, "[1, 3]")
    err(function() m:add(1, 1, 1) end, "differ")
    err(function() m:add(1, 2, 0 / 0) end)
    err(function() m:add(1) end)
    err(function() m:clamp({1}, {0}) end, "-1 or +1")
    err(function() m:clamp({4}, {1}) end, "[1, 3]")
    err(function() m:clamp({1, 2}, {1}) end, "as many")
    err(function() m:clamp({1, 1}, {1, -1}) end, "twice")
    err(function() qnn.ising.from_qubo({{1, 2}}) end, "square")
    err(function() qnn.ising.from_qubo({{1, 0 / 0}, {0, 1}}) end)
    err(function() qnn.ising.from_qubo({{1}}, 0 / 0) end)
  end)

  it("sizes beyond the exact methods raise errors", function()
    local big = qnn.ising.model{n = 31}
    err(function() big:ground_state() end, "n <= 30")
    err(function() qnn.ising.spectrum(qnn.ising.model{n = 13}, 0.5, 2) end, "n <= 12")
    err(function() qnn.ising.min_gap(qnn.ising.model{n = 13}) end, "n <= 12")
    err(function() qnn.ising.sample(qnn.ising.model{n = 21}, {sampler = "exact"}) end, "n <= 20")
    err(function() qnn.ising.sample(qnn.ising.model{n = 17}, {sampler = "grover"}) end, "n <= 16")
  end)

  it("sample rejects bad options and out-of-range schedules", function()
    err(function() qnn.ising.sample(m, {sampler = "magic"}) end, "sampler")
    err(function() qnn.ising.sample(m, {reads = 0}) end, "reads")
    err(function() qnn.ising.sample(m, {sweeps = -1}) end, "sweeps")
    err(function() qnn.ising.sample(m, {sweep = 10}) end, "unknown option")
    err(function() qnn.ising.sample(m, {schedule = function() return -1 end, sweeps = 5}) end, ">= 0")
    err(function() qnn.ising.sample(m, {schedule = function() return 0 / 0 end, sweeps = 5}) end, "nan")
    err(function() qnn.ising.sample(m, {schedule = {1, 2}, sweeps = 5}) end, "exactly sweeps")
    err(function() qnn.ising.sample(m, {schedule = {1, -2}, sweeps = 2}) end, ">= 0")
    err(function() qnn.ising.sample(m, {schedule = 5}) end, "schedule must be")
    err(function() qnn.ising.sample(m, {sampler = "sqa", schedule = function(t) return 2 * t end, sweeps = 5}) end, "[0, 1]")
    err(function() qnn.ising.sample(m, {sampler = "sqa", sweeps = 5, schedule = qnn.anneal.schedule{A = function(s) return s - 1 end}}) end, ">= 0")
    err(function() qnn.ising.sample(m, {sampler = "exact", steps = 5, schedule = qnn.anneal.schedule{B = function() return math.huge end}}) end, "finite")
    err(function() qnn.ising.sample(m, {sampler = "sqa", schedule = qnn.anneal.geometric_beta(1, 2)}) end, "beta schedule")
    err(function() qnn.ising.sample(m, {sampler = "sqa", slices = 1}) end, "slices")
    err(function() qnn.ising.sample(m, {sampler = "sqa", readout = "middle"}) end, "readout")
    err(function() qnn.ising.sample(m, {initial_state = {1, 2, 1}}) end, "-1 or +1")
    err(function() qnn.ising.sample(m, {sampler = "exact", T = -1}) end, "T")
    err(function() qnn.ising.sample(m, {beta_range = {1}}) end, "beta_range")
    err(function() qnn.ising.sample("m") end, "Ising model")
    err(function() qnn.ising.spectrum(m, 1.5, 2) end, "[0, 1]")
    err(function() qnn.ising.spectrum(m, 0.5, 9) end, "[1, 8]")
    err(function() qnn.ising.spectrum(m, 0.5, 2, {A = -1}) end, "A")
    err(function() qnn.ising.min_gap(m, nil, {points = 1}) end, "points")
    err(function() qnn.ising.min_gap(m, function() return -0.5 end) end, "[0, 1]")
  end)
end)
