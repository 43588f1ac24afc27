-- Experiment 4 of issue 6: active-block deep-state search by Durr-Hoyer minimum finding (the
-- "Grover variant" of arXiv 2506.05244 in our reading; ideal state-vector engine, oracle
-- queries counted) against annealing (SA and SQA): what it costs to reach the ground state of a
-- block of n spins drawn from a trained 64-32-10 Ising network (Digits), n = 6..16.
--   Durr-Hoyer: success rate of one search (its own stop rule, budget 22.5 sqrt(2^n) queries)
--               and the mean oracle queries per search.
--   SA / SQA:   probability p(K) that one read of K sweeps ends in the ground state, and the
--               time to solution TTS99 = K ln(0.01) / ln(1 - p) in sweeps, minimised over K.
-- The scaling exponents of queries and TTS with N = 2^n are fitted by log-log least squares.
-- Costs are in different units (an oracle query on 2^n amplitudes vs a sweep of n flip
-- attempts); both are reported as they are.
--   qnnlab examples/anneal_grover.lua --quick   (n = 6, 8, 10; 3 blocks; <= 60 s)
--   qnnlab examples/anneal_grover.lua           (n = 6..16; 8 blocks)
--   qnnlab examples/anneal_grover.lua --seed=2 [--blocks=4] [--nmax=14]
--       one run (split, net, blocks from the seed) as qnn.sweep runs it
local qnn = require "qnn"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "anneal_common.lua")
local a = C.args(arg, {seed = 0, blocks = 0, nmax = 0})
local quick = a.quick
-- --seed=s: one run with data split, net initialisation and block draws from s (as qnn.sweep
-- runs it, scripts/sweeps_anneal.lua); metrics through qnn.sweep.result. Without it: split 1,
-- net seed 3 (the published table).
local single = a.seed > 0
local tag = quick and "_quick" or (single and "_run" or "")
local ns = quick and {6, 8, 10} or {6, 8, 10, 12, 14, 16}
if a.nmax > 0 then
  local keep = {}
  for _, n in ipairs(ns) do if n <= a.nmax then keep[#keep + 1] = n end end
  ns = keep
end
local nblk = a.blocks > 0 and a.blocks or (quick and 3 or 8)
local split_seed, net_seed = 1, 3
if single then split_seed, net_seed = a.seed, a.seed end
local reads = quick and 10 or 20
local Ks = {1, 2, 4, 8, 16, 32, 64, 128}

local tr, te = C.digits(split_seed)
if quick then tr = tr:sample(600, 1) end
local T = qnn.optim.anneal{sizes = {64, 32, 10}, sampler = {sampler = "sa", reads = 4, sweeps = 50},
  eta = function(e) return 0.05 / math.sqrt(e) end, seed = net_seed}
T:fit(tr, {epochs = quick and 3 or 10, progress = false})

local function tts(sampler, m, Eg, b)
  local best, bestK, pK = math.huge, nil, {}
  for _, K in ipairs(Ks) do
    local opt = {sampler = sampler, sweeps = K, reads = reads, seed = 1000 * b + K}
    if sampler == "sqa" then opt.slices = 8 end
    local r = qnn.ising.sample(m, opt)
    local hit = 0
    for _, st in ipairs(r) do if st.energy <= Eg + 1e-9 then hit = hit + st.count end end
    local p = hit / reads
    pK[#pK + 1] = p
    local t = p >= 1 and K or (p > 0 and K * math.log(0.01) / math.log(1 - p) or math.huge)
    if t < best then best, bestK = t, K end
  end
  return best, bestK, pK
end

local rows, agg = {}, {}
for _, n in ipairs(ns) do
  local rng = qnn.rng(100 + n + (single and 1000 * a.seed or 0))
  local q, succ, tsa, tsqa, qfirst = {}, {}, {}, {}, {}
  for b = 1, nblk do
    local m = C.block_model(T.net, C.row(te.X, b), te.y[b], n, rng, b)
    local Eg = m:ground_state().energy
    -- energies of all 2^n states (basis index x: spin q = +1 if bit q is 0), then Durr-Hoyer
    local E, s = {}, {}
    for x = 0, (1 << n) - 1 do
      for k = 1, n do s[k] = ((x >> (k - 1)) & 1) == 1 and -1 or 1 end
      E[x + 1] = m:energy(s)
    end
    local runs = quick and 5 or (n >= 16 and 4 or 10)
    local qs, qb, hit = 0, {}, 0
    for rr = 1, runs do
      local res = qnn.grover.minimum{values = E, seed = 1000 * b + rr + (single and 100000 * a.seed or 0)}
      qs = qs + res.queries
      if res.value <= Eg + 1e-9 then
        hit = hit + 1
        qb[#qb + 1] = res.queries_at_best
      end
    end
    q[b], succ[b] = qs / runs, hit / runs
    qfirst[b] = #qb > 0 and (C.mean_std(qb)) or math.huge
    local ts, ks = tts("sa", m, Eg, b)
    local tq, kq = tts("sqa", m, Eg, b)
    tsa[b], tsqa[b] = ts, tq
    rows[#rows + 1] = {n = n, block = b, dh_queries = q[b], dh_queries_first_hit = qfirst[b],
      dh_success = succ[b], sa_tts99 = ts,
      sa_best_sweeps = ks, sqa_tts99 = tq, sqa_best_sweeps = kq}
    print(string.format("n=%2d block %d: Durr-Hoyer %.0f queries/search (ground first hit after %.0f), success %.2f; SA TTS99 %.1f sweeps; SQA TTS99 %.1f sweeps",
      n, b, q[b], qfirst[b], succ[b], ts, tq))
  end
  local function finite_mean(xs)
    local f = {}
    for _, v in ipairs(xs) do if v < math.huge then f[#f + 1] = v end end
    return (C.mean_std(f)), #f
  end
  agg[#agg + 1] = {n = n, N = 1 << n, dh_queries = (C.mean_std(q)), dh_success = (C.mean_std(succ)),
    dh_first_hit = finite_mean(qfirst),
    sa_tts = finite_mean(tsa), sqa_tts = finite_mean(tsqa), sqrtN = math.sqrt(1 << n)}
end
C.csv(a.out .. "/anneal_grover" .. tag .. ".csv",
  {"n", "block", "dh_queries", "dh_queries_first_hit", "dh_success", "sa_tts99", "sa_best_sweeps", "sqa_tts99", "sqa_best_sweeps"}, rows)

local N, Q, QF, S, SQ = {}, {}, {}, {}, {}
for k, r in ipairs(agg) do N[k], Q[k], QF[k], S[k], SQ[k] = r.N, r.dh_queries, r.dh_first_hit, r.sa_tts, r.sqa_tts end
local eq = C.loglog(N, Q)
local eqf = C.loglog(N, QF)
local es = C.loglog(N, S)
local esq = C.loglog(N, SQ)
if single then
  local m = {seed = a.seed, blocks = nblk, exp_dh_queries = eq, exp_dh_first_hit = eqf, exp_sa_tts = es, exp_sqa_tts = esq}
  for _, r in ipairs(agg) do
    local p = "n" .. r.n .. "_"
    m[p .. "dh_queries"], m[p .. "dh_first_hit"], m[p .. "dh_success"] = r.dh_queries, r.dh_first_hit, r.dh_success
    m[p .. "sa_tts"], m[p .. "sqa_tts"] = r.sa_tts, r.sqa_tts
  end
  print(C.json(m))
  qnn.sweep.result(m)
  return
end
print("\n| n | N = 2^n | Durr-Hoyer queries/search (budget-bound) | DH queries to first hit the ground state | DH success | sqrt(N) | SA TTS99 (sweeps) | SQA TTS99 (sweeps) |")
print("|---|---|---|---|---|---|---|---|")
for _, r in ipairs(agg) do
  print(string.format("| %d | %d | %.0f | %.0f | %.2f | %.0f | %.1f | %.1f |", r.n, r.N, r.dh_queries, r.dh_first_hit,
    r.dh_success, r.sqrtN, r.sa_tts, r.sqa_tts))
end
print(string.format("\nscaling with N: Durr-Hoyer queries ~ N^%.2f (first hit N^%.2f), SA TTS ~ N^%.2f, SQA TTS ~ N^%.2f",
  eq, eqf, es, esq))
C.write(a.out .. "/anneal_grover" .. tag .. ".json", C.json({
  command = "qnnlab examples/anneal_grover.lua" .. (quick and " --quick" or ""),
  blocks_per_n = nblk, reads = reads, sweeps_tried = Ks, per_n = agg,
  exponents = {dh_queries = eq, dh_first_hit = eqf, sa_tts = es, sqa_tts = esq}}))
