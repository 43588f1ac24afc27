-- Method 2, the papers' open questions (issue 18): glassy landscapes, hardware-like reads and
-- control noise.
--
--   --part=sk      SK spin glasses at n = --n spins (seed = instance): SA time to solution (sweeps
--                  and flips for 99 % success against the exact ground state) and Durr-Hoyer oracle
--                  queries, beside clamped blocks of a trained Digits Ising net of the same size
--                  (the "easy" blocks of the trainer).
--   --part=train   spin-glass diagnostics during training: a 64-H-10 Ising net on sign-encoded
--                  Digits (SA), and after each epoch the free-phase landscape of 8 test inputs
--                  (every hidden and output spin free, input clamped): distinct states within dE of
--                  the best, overlap order parameters <|q|>, <q^2>.
--   --part=noise   training with Gaussian control noise on h and J (--noise=c, relative to the rms
--                  coefficient) or with SQA one-slice vs best-of-slices reads (--sampler=sqa
--                  --best_of_slices=true|false): final test error.
--
-- Every part runs one (configuration, seed) and prints one JSON line of metrics (and writes it to
-- --out/<part>_<config>_s<seed>.json): sweep it with qnn.sweep (docs/results/anneal.md has the
-- commands). --quick shrinks every size.
local qnn = require "qnn"
local report = qnn.report

local M = {}

local function digits(seed)
  local ds = qnn.data.load("digits")
  local n, d = ds.X:shape()
  for i = 1, n do
    for j = 1, d do ds.X[i][j] = ds.X[i][j] >= 8 and 1 or -1 end
  end
  return ds:split{test = 0.25, seed = seed}
end

local function row(X, i)
  local _, d = X:shape()
  local x = {}
  for j = 1, d do x[j] = X[i][j] end
  return x
end

local function errors(pred, y)
  local bad = 0
  for i = 1, #y do if pred[i] ~= y[i] then bad = bad + 1 end end
  return bad / #y
end

-- rms-normalised model of a block {n, h, J} from IsingNet:block
local function normalised(b)
  local ss, cnt = 0, 0
  for _, v in ipairs(b.h) do ss, cnt = ss + v * v, cnt + 1 end
  for _, e in ipairs(b.J) do ss, cnt = ss + e[3] * e[3], cnt + 1 end
  local sc = cnt > 0 and math.sqrt(ss / cnt) or 1
  if sc == 0 then sc = 1 end
  local hh, JJ = {}, {}
  for k, v in ipairs(b.h) do hh[k] = v / sc end
  for k, e in ipairs(b.J) do JJ[k] = {e[1], e[2], e[3] / sc} end
  return qnn.ising.model{n = b.n, h = hh, J = JJ}
end

--- SK instance vs a trained net's clamped block of the same size.
function M.sk(cfg)
  local n, seed = cfg.n, cfg.seed
  local sweeps = cfg.quick and {1, 3, 10, 30, 100} or {1, 3, 10, 30, 100, 300, 1000}
  local reads = cfg.quick and 50 or 200
  local t0 = qnn.clock()
  local m = qnn.spinglass.sk{n = n, seed = seed}
  local target
  if n > 20 then
    -- no enumeration: the reference is the lowest energy of long SA runs (not a proven ground state)
    local ref = qnn.ising.sample(m, {sweeps = cfg.quick and 2000 or 20000, reads = cfg.quick and 10 or 40, seed = seed + 99})
    target = ref[1].energy
  end
  if n > 20 then sweeps[#sweeps + 1] = cfg.quick and 300 or 3000 end
  local sk = qnn.spinglass.tts(m, {sweeps = sweeps, reads = reads, seed = seed, target = target,
    grover_runs = cfg.quick and 2 or 5})
  local diag = qnn.spinglass.diagnostics(qnn.ising.sample(m, {sweeps = 100, reads = reads, seed = seed + 7}),
    {dE = 0.05 * math.abs(sk.ground), ground = sk.ground})
  -- a clamped block of n spins from an Ising net trained 2 epochs on Digits
  local tr, te = digits(seed)
  local T = qnn.optim.anneal{sizes = {64, 32, 10}, sampler = {sampler = "sa", reads = 4, sweeps = 50},
    eta = 0.05, batch = 16, seed = seed}
  T:fit(tr, {epochs = cfg.quick and 1 or 2, progress = false})
  local net = T.net
  local x = row(te.X, 1)
  local _, _, states = net:feedforward({x}, true)
  local blk = {}
  local rng = qnn.rng(seed)
  local H = 32
  local hid = {}
  for g = 1, H do hid[g] = g end
  for k = H, 2, -1 do local j = rng:int(1, k); hid[k], hid[j] = hid[j], hid[k] end
  for k = 1, math.min(n, H) do blk[k] = hid[k] end
  local bm = normalised(net:block(x, states[1], blk))
  local btarget
  if #blk > 20 then
    btarget = qnn.ising.sample(bm, {sweeps = 2000, reads = 20, seed = seed + 98})[1].energy
  end
  local bt = qnn.spinglass.tts(bm, {sweeps = sweeps, reads = reads, seed = seed, grover = false, target = btarget})
  local function finite(v) return v ~= math.huge and v or -1 end
  return {part = "sk", n = n, seed = seed,
    sk_ground = sk.ground, ground_exact = target == nil, sk_tts_sweeps = finite(sk.sa_tts_sweeps), sk_tts_flips = finite(sk.sa_tts_flips),
    sk_p1000 = sk.sa[#sk.sa].p, sk_low_states = diag.low_states, sk_q_abs = diag.q_abs,
    dh_queries = sk.grover and sk.grover.queries_mean or -1, dh_p = sk.grover and sk.grover.p_ground or -1,
    block_n = #blk, block_tts_sweeps = finite(bt.sa_tts_sweeps), block_p1 = bt.sa[1].p,
    wall = qnn.clock() - t0}
end

--- Free-phase landscape diagnostics after each epoch of training.
function M.train(cfg)
  local seed = cfg.seed
  local H = cfg.hidden or 32
  local tr, te = digits(seed)
  local T = qnn.optim.anneal{sizes = {64, H, 10}, sampler = {sampler = "sa", reads = 4, sweeps = 50},
    eta = function(e) return 0.05 / math.sqrt(e) end, batch = 16, seed = seed}
  local probe = cfg.quick and 3 or 8
  local reads = cfg.quick and 32 or 128
  local nspins = T.net:nspins()
  local all = {}
  for g = 1, nspins do all[g] = g end
  local curve = {}
  local function measure(epoch, test_error)
    local low, qa, q2, pg = 0, 0, 0, 0
    for i = 1, probe do
      local x = row(te.X, i)
      local _, _, states = T.net:feedforward({x}, true)
      local m = normalised(T.net:block(x, states[1], all))
      local r = qnn.ising.sample(m, {sampler = "sa", sweeps = 200, reads = reads, seed = seed * 100 + i})
      local best = r[1].energy
      local d = qnn.spinglass.diagnostics(r, {dE = 0.02 * math.abs(best), ground = best})
      low, qa, q2, pg = low + d.low_states, qa + d.q_abs, q2 + d.q2, pg + d.p_ground
    end
    curve[#curve + 1] = {epoch = epoch, low_states = low / probe, q_abs = qa / probe, q2 = q2 / probe,
                         p_best = pg / probe, test_error = test_error}
  end
  local pred = T:predict(te.X)
  measure(0, errors(pred, te.y))
  T:fit(tr, {epochs = cfg.quick and 2 or (cfg.epochs or 10), test = te, progress = false,
    on_epoch = function(e, rec) measure(e, rec.test_error) end})
  local first, last = curve[1], curve[#curve]
  return {part = "train", seed = seed, hidden = H, spins = nspins - 64 >= 0 and (H + 10) or nspins,
    low_states_0 = first.low_states, low_states_end = last.low_states,
    q_abs_0 = first.q_abs, q_abs_end = last.q_abs, q2_0 = first.q2, q2_end = last.q2,
    p_best_0 = first.p_best, p_best_end = last.p_best,
    test_error_0 = first.test_error, test_error_end = last.test_error, curve = curve}
end

--- Training under control noise / SQA read-out.
function M.noise(cfg)
  local seed = cfg.seed
  local tr, te = digits(seed)
  local sampler
  if cfg.sampler == "sqa" then
    sampler = {sampler = "sqa", reads = 2, sweeps = cfg.quick and 10 or 20, slices = 8,
               best_of_slices = cfg.best_of_slices == true, control_noise = cfg.noise or 0}
  else
    sampler = {sampler = "sa", reads = 4, sweeps = 50, control_noise = cfg.noise or 0}
  end
  local t0 = qnn.clock()
  local T = qnn.optim.anneal{sizes = {64, cfg.hidden or 32, 10}, sampler = sampler,
    eta = function(e) return 0.05 / math.sqrt(e) end, batch = 16, seed = seed}
  local last
  T:fit(tr, {epochs = cfg.quick and 2 or (cfg.epochs or 10), test = te, anneal_eval = true, progress = false,
    on_epoch = function(_, rec) last = rec end})
  return {part = "noise", seed = seed, sampler = sampler.sampler, noise = cfg.noise or 0,
    best_of_slices = sampler.best_of_slices or false,
    test_error = last.test_error, test_error_anneal = last.test_error_anneal, wall = qnn.clock() - t0}
end

local function encode(v) return report.json_encode(v, false) end

--- Runs one configuration from flags; returns the metrics.
function M.main(argv)
  local a = report.flags(argv, {part = "sk", seed = 1, n = 12, noise = 0, sampler = "sa",
    best_of_slices = false, hidden = 32, epochs = 10, quick = false, out = "results/anneal_glass"})
  local f = M[a.part]
  if type(f) ~= "function" or a.part == "main" then
    error("anneal_glass: --part must be sk, train or noise, got " .. tostring(a.part), 0)
  end
  local r = f(a)
  local line = encode(r)
  print(line)
  if a.out and a.out ~= "" then
    report.mkdir(a.out)
    local name = ("%s/%s_n%s_noise%s_%s%s_s%d.json"):format(a.out, a.part, tostring(a.n), tostring(a.noise),
      a.sampler, a.best_of_slices and "_best" or "", a.seed)
    report.write(name, line .. "\n")
  end
  return r
end

if ... == nil or (arg and arg[0] and arg[0]:match("anneal_glass%.lua$")) then
  M.main(arg)
end
return M
