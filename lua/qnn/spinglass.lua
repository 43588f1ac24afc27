-- qnn.spinglass: spin-glass instances and diagnostics for the annealing study (issue 18).
--   qnn.spinglass.sk{n=, seed=}                    Sherrington-Kirkpatrick couplings J_ij ~ N(0, 1/n)
--   qnn.spinglass.diagnostics(samples, {dE=})     distinct low-energy states, overlap distribution P(q),
--                                                  order parameters q_EA = <|q|>, <q^2>
--   qnn.spinglass.tts(model, {...})                SA time-to-solution (sweeps for 99 % success) against
--                                                  the exact ground state, and Durr-Hoyer oracle queries
local qnn = require "qnn"
local M = {}
local function doc(fn, name, sig, text) qnn.document(fn, "qnn.spinglass." .. name, sig, text) return fn end
local function fail(fn, msg) error("qnn.spinglass." .. fn .. ": " .. msg, 3) end

local function int_arg(fn, v, name, lo, hi, def)
  if v == nil then return def end
  if math.type(v) ~= "integer" or v < lo or v > hi then
    fail(fn, ("option '%s' must be an integer in [%d, %d], got %s"):format(name, lo, hi, tostring(v)))
  end
  return v
end

local function num_arg(fn, v, name, lo, def)
  if v == nil then return def end
  if type(v) ~= "number" or v ~= v or v < lo or v == math.huge then
    fail(fn, ("option '%s' must be a finite number >= %g, got %s"):format(name, lo, tostring(v)))
  end
  return v
end

local function check_keys(fn, o, allowed)
  if o == nil then return {} end
  if type(o) ~= "table" then fail(fn, "options must be a table, got " .. qnn.type(o)) end
  for k in pairs(o) do
    if not allowed[k] then fail(fn, "unknown option '" .. tostring(k) .. "'") end
  end
  return o
end

--- Sherrington-Kirkpatrick instance.
function M.sk(o)
  o = check_keys("sk", o, {n = true, seed = true, rng = true, J = true, h = true})
  local n = int_arg("sk", o.n, "n", 2, 4096, nil)
  if n == nil then fail("sk", "option 'n' (number of spins, 2..4096) is required") end
  local J0 = num_arg("sk", o.J, "J", 0, 1)
  local h0 = num_arg("sk", o.h, "h", 0, 0)
  local rng = o.rng or qnn.rng(o.seed or 1)
  local sd = J0 / math.sqrt(n)
  local edges = {}
  for i = 1, n - 1 do
    for j = i + 1, n do edges[#edges + 1] = {i, j, sd * rng:normal()} end
  end
  local h = {}
  for i = 1, n do h[i] = h0 > 0 and h0 * rng:normal() or 0 end
  return qnn.ising.model{n = n, h = h, J = edges}
end
doc(M.sk, "sk", "qnn.spinglass.sk{n=, seed=1 | rng=, J=1, h=0} -> Ising",
  "Sherrington-Kirkpatrick spin glass: all-to-all couplings J_ij ~ N(0, J^2/n), optional random fields h_i ~ N(0, h^2); " ..
  "seeded. Its ground state is hard for local search (many nearly degenerate minima).")

--- Diagnostics of a set of reads (the result of qnn.ising.sample).
function M.diagnostics(samples, o)
  o = check_keys("diagnostics", o, {dE = true, bins = true, ground = true})
  if type(samples) ~= "table" or #samples == 0 or type(samples[1]) ~= "table" or samples[1].spins == nil then
    fail("diagnostics", "samples must be the non-empty result of qnn.ising.sample (a list of {energy=, spins=, count=})")
  end
  local dE = num_arg("diagnostics", o.dE, "dE", 0, 1e-9)
  local bins = int_arg("diagnostics", o.bins, "bins", 2, 1000, 21)
  local n = #samples[1].spins
  local best = math.huge
  local reads = 0
  for _, s in ipairs(samples) do
    if s.energy < best then best = s.energy end
    reads = reads + (s.count or 1)
  end
  local low = 0
  for _, s in ipairs(samples) do
    if s.energy <= best + dE then low = low + 1 end
  end
  -- overlap distribution over pairs of distinct reads (count-weighted; identical states pair too)
  local hist = {}
  for b = 1, bins do hist[b] = 0 end
  local wsum, qabs, q2 = 0, 0, 0
  for a = 1, #samples do
    local sa, ca = samples[a].spins, samples[a].count or 1
    for b = a, #samples do
      local sb, cb = samples[b].spins, samples[b].count or 1
      local w = (a == b) and ca * (ca - 1) / 2 or ca * cb
      if w > 0 then
        local q = 0
        for i = 1, n do q = q + sa[i] * sb[i] end
        q = q / n
        wsum = wsum + w
        qabs = qabs + w * math.abs(q)
        q2 = q2 + w * q * q
        local bin = math.floor((q + 1) / 2 * (bins - 1) + 0.5) + 1
        hist[bin] = hist[bin] + w
      end
    end
  end
  local pq = {}
  for b = 1, bins do
    pq[b] = {q = -1 + 2 * (b - 1) / (bins - 1), p = wsum > 0 and hist[b] / wsum or 0}
  end
  local out = {n = n, reads = reads, distinct = #samples, best = best, low_states = low, dE = dE,
               q_abs = wsum > 0 and qabs / wsum or 0 / 0, q2 = wsum > 0 and q2 / wsum or 0 / 0,
               pairs = wsum, P = pq}
  if o.ground ~= nil then
    local ok = 0
    for _, s in ipairs(samples) do
      if s.energy <= o.ground + 1e-9 * math.max(1, math.abs(o.ground)) then ok = ok + (s.count or 1) end
    end
    out.p_ground = ok / reads
  end
  return out
end
doc(M.diagnostics, "diagnostics",
  "qnn.spinglass.diagnostics(samples [, {dE=1e-9, bins=21, ground=E0}]) -> {n, reads, distinct, best, low_states, q_abs, q2, P, pairs [, p_ground]}",
  "Spin-glass diagnostics of the reads of qnn.ising.sample: low_states = distinct states within dE of the best " ..
  "energy; overlap q_ab = (1/n) sum_i s_i^a s_i^b over all pairs of reads (count-weighted); P = histogram " ..
  "{{q=, p=}} on 'bins' points of [-1, 1]; q_abs = <|q|> and q2 = <q^2> (order parameters: near 1 when every read " ..
  "lands in one state or its mirror, small for a glassy landscape of unrelated minima); with ground=E0 also the " ..
  "fraction of reads at the ground energy.")

--- Time to solution: SA sweeps for 99 % success, and Durr-Hoyer queries.
function M.tts(model, o)
  if qnn.type(model) ~= "Ising" then fail("tts", "model must be an Ising model, got " .. qnn.type(model)) end
  o = check_keys("tts", o, {sweeps = true, reads = true, seed = true, grover = true, grover_runs = true, target = true})
  local n = model:n()
  local reads = int_arg("tts", o.reads, "reads", 1, 100000, 100)
  local runs = int_arg("tts", o.grover_runs, "grover_runs", 1, 1000, 5)
  local sweeps = o.sweeps or {10, 30, 100, 300, 1000}
  if type(sweeps) ~= "table" or #sweeps == 0 then fail("tts", "option 'sweeps' must be a non-empty list of integers") end
  local E0 = o.target
  if E0 == nil then
    if n > 24 then fail("tts", "exact ground energy needs n <= 24 spins (give target= for larger models), got " .. n) end
    local gs = model:ground_state()
    E0 = gs.energy
  end
  local tol = 1e-9 * math.max(1, math.abs(E0))
  local seed = o.seed or 1
  local rows = {}
  local best_tts = math.huge
  for _, K in ipairs(sweeps) do
    if math.type(K) ~= "integer" or K < 1 or K > (1 << 24) then
      fail("tts", "sweeps entries must be integers in [1, 2^24], got " .. tostring(K))
    end
    local r = qnn.ising.sample(model, {sampler = "sa", sweeps = K, reads = reads, seed = seed})
    local ok = 0
    for _, s in ipairs(r) do if s.energy <= E0 + tol then ok = ok + s.count end end
    local p = ok / reads
    local tts
    if p >= 1 then tts = K
    elseif p <= 0 then tts = math.huge
    else tts = K * math.log(0.01) / math.log(1 - p) end
    rows[#rows + 1] = {sweeps = K, p = p, tts_sweeps = tts, tts_flips = tts * n}
    if tts < best_tts then best_tts = tts end
  end
  local out = {n = n, ground = E0, sa = rows, sa_tts_sweeps = best_tts, sa_tts_flips = best_tts * n}
  if o.grover ~= false and n <= 16 then
    local g = qnn.ising.sample(model, {sampler = "grover", reads = runs, seed = seed})
    local hit = 0
    for _, s in ipairs(g) do if s.energy <= E0 + tol then hit = hit + s.count end end
    out.grover = {runs = runs, queries_mean = g.queries / runs, p_ground = hit / runs, qubits = n}
  end
  return out
end
doc(M.tts, "tts",
  "qnn.spinglass.tts(model [, {sweeps={10,30,100,300,1000}, reads=100, seed=1, target=E0, grover=true, grover_runs=5}]) -> table",
  "Time to solution on an Ising model: for each SA sweep count, the fraction p of reads at the ground energy " ..
  "(exact by enumeration for n <= 24, or target=) and TTS99 = sweeps * ln(0.01)/ln(1-p) (inf when p = 0); " ..
  "sa_tts_sweeps/flips = the best over the list. For n <= 16 also Durr-Hoyer minimum finding " ..
  "(qnn.grover.minimum on the 2^n energies): mean oracle queries and success rate over grover_runs runs.")

return M
