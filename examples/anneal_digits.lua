-- Experiment 1 of issue 6 (arXiv 2506.05244, our reading): Digits with a 64-H-10 Ising network
-- trained by annealing (equilibrium propagation, strong nudge; SA and SQA samplers) against
-- backpropagation on the same architecture (tanh MLP, Adam and SGD). Test error vs training
-- effort (epochs; training compute: spin-flip attempts of every training anneal for SA/SQA,
-- forward + backward FLOPs for backprop, qnn.train.flops), power-law exponent of error vs
-- compute by log-log least squares per seed, compared with the paper's 1.01 (annealer) vs 0.78
-- (backprop).
--   qnnlab examples/anneal_digits.lua --quick      (1 seed, H = 32, <= 60 s)
--   qnnlab examples/anneal_digits.lua              (5 seeds, H = 64, plus an H sweep)
--   qnnlab examples/anneal_digits.lua --method=anneal_sa --seed=3 [--hidden=64] [--epochs=30]
--       one (method, seed) run, as qnn.sweep runs it (scripts/sweeps_anneal.lua): per-epoch CSV
--       <out>/anneal_digits_run.csv and the metrics through qnn.sweep.result
-- Inputs: sign-encoded binarised pixels, x = +1 if pixel >= 8 (of 0..16) else -1.
-- Compute is training compute only (test-set evaluation and read-outs are not counted); with fixed
-- sampler settings it grows linearly with epochs, so the exponent against compute equals the
-- exponent against epochs; what compute adds is the common axis of the two methods.
local qnn = require "qnn"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "anneal_common.lua")
local a = C.args(arg, {seed = 0, method = "all", hidden = 0})
local quick = a.quick
local single = a.seed > 0
local seeds = a.seeds or (quick and 1 or 5)
local H = a.hidden > 0 and a.hidden or (quick and 32 or 64)
local E = a.epochs or (quick and 10 or 30)
local tag = quick and "_quick" or ""

local methods = {
  {name = "anneal_sa", kind = "anneal", epochs = E,
   sampler = {sampler = "sa", reads = 4, sweeps = 50}},
  {name = "anneal_sqa", kind = "anneal", epochs = a.epochs or (quick and 3 or math.min(E, 15)),
   sampler = {sampler = "sqa", reads = 2, sweeps = 20, slices = 8}},
  {name = "backprop_adam", kind = "bp", epochs = E, opt = function() return qnn.optim.adam{lr = 1e-3} end},
  {name = "backprop_sgd", kind = "bp", epochs = E, opt = function() return qnn.optim.sgd{lr = 0.05, momentum = 0.9} end},
}
local extra = {}
if not quick and not single then
  for _, h in ipairs({32, 128}) do
    extra[#extra + 1] = {name = "anneal_sa_H" .. h, kind = "anneal", epochs = E, H = h,
      sampler = {sampler = "sa", reads = 4, sweeps = 50}, seeds = 1}
    extra[#extra + 1] = {name = "backprop_adam_H" .. h, kind = "bp", epochs = E, H = h,
      opt = function() return qnn.optim.adam{lr = 1e-3} end, seeds = 1}
  end
end
for _, m in ipairs(extra) do methods[#methods + 1] = m end
if a.method ~= "all" then
  local keep = {}
  for _, m in ipairs(methods) do if m.name == a.method then keep[1] = m end end
  if #keep == 0 then error("anneal_digits: --method must be anneal_sa, anneal_sqa, backprop_adam or backprop_sgd, got " .. a.method, 0) end
  methods = keep
end

--- One (method, seed, H) run: per-epoch rows with the cumulative training compute
--- (flip attempts for the Ising nets, forward + backward FLOPs for backprop).
local function run_one(m, s, hw)
  local tr, te = C.digits(s)
  local rows = {}
  local t0 = qnn.clock()
  if m.kind == "anneal" then
    local T = qnn.optim.anneal{sizes = {64, hw, 10}, sampler = m.sampler, eta = function(e) return 0.05 / math.sqrt(e) end, batch = 16,
      init = "uniform", scale = 1, seed = s}
    T:fit(tr, {epochs = m.epochs, test = te, anneal_eval = true, progress = false,
      on_epoch = function(e, rec)
        rows[#rows + 1] = {method = m.name, H = hw, seed = s, epoch = e, sweeps = rec.sweeps,
          flip_attempts = rec.flip_attempts, compute = rec.flip_attempts, compute_unit = "flip_attempts",
          samples = e * tr:size(), time = qnn.clock() - t0,
          train_error = rec.train_error, train_free_error = rec.train_free_error,
          test_error_ff = rec.test_error, test_error_anneal = rec.test_error_anneal}
      end})
  else
    local net = qnn.nn.mlp{64, hw, 10, hidden = "tanh", seed = s}
    qnn.train.fit(net, tr, {optimizer = m.opt(), epochs = m.epochs, batch = 16, seed = s,
      test = te, progress = false, on_epoch = function(e, rec)
        rows[#rows + 1] = {method = m.name, H = hw, seed = s, epoch = e, sweeps = 0,
          flip_attempts = 0, compute = rec.flops, compute_unit = "flops", samples = e * tr:size(),
          time = qnn.clock() - t0, train_error = 1 - rec.train_acc, test_error_ff = 1 - rec.test_acc}
      end})
  end
  return rows, qnn.clock() - t0
end

local COLS = {"method", "H", "seed", "epoch", "sweeps", "flip_attempts", "compute", "compute_unit", "samples",
  "time", "train_error", "train_free_error", "test_error_ff", "test_error_anneal"}

-- slope of log(error) on log(compute) over epochs lo..hi (errors of 0 are left out)
local function fit_window(rows, key, lo, hi)
  local xs, ys = {}, {}
  for _, r in ipairs(rows) do
    if r.epoch >= lo and r.epoch <= hi and r[key] and r[key] > 0 then xs[#xs + 1], ys[#ys + 1] = r.compute, r[key] end
  end
  if #xs < 3 then return nil end
  return qnn.stats.loglog_slope(xs, ys, {seed = 1, resamples = 1000})
end

if single then
  local m = methods[1]
  if #methods ~= 1 then error("anneal_digits: --seed=N runs one method; give --method=", 0) end
  local rows, wall = run_one(m, a.seed, H)
  C.csv(a.out .. "/anneal_digits_run.csv", COLS, rows)
  local last = rows[#rows]
  local res = {method = m.name, H = H, epochs = m.epochs, seed = a.seed, compute_unit = last.compute_unit,
    compute_total = last.compute, compute_per_epoch = last.compute / #rows,
    final_ff = last.test_error_ff, final_anneal = last.test_error_anneal, wall = wall}
  for _, e in ipairs({10, 15, 30}) do
    local r = rows[e]
    if r and e < #rows then res["ff_e" .. e], res["anneal_e" .. e] = r.test_error_ff, r.test_error_anneal end
  end
  local key = m.kind == "anneal" and "test_error_anneal" or "test_error_ff"
  for _, w in ipairs({{"all", 1, m.epochs}, {"early", 1, math.min(10, m.epochs)}, {"late", 5, m.epochs}}) do
    local f = fit_window(rows, key, w[2], w[3])
    if f then
      res["exp_" .. w[1]], res["exp_" .. w[1] .. "_lo"], res["exp_" .. w[1] .. "_hi"] = -f.slope, -f.hi, -f.lo
      res["r2_" .. w[1]] = f.r2
    end
    local g = m.kind == "anneal" and fit_window(rows, "test_error_ff", w[2], w[3])
    if g then res["exp_ff_" .. w[1]], res["r2_ff_" .. w[1]] = -g.slope, g.r2 end
  end
  print(C.json(res))
  qnn.sweep.result(res)
  return
end

local rows, fits = {}, {}
local t_start = qnn.clock()
for _, m in ipairs(methods) do
  fits[m.name] = {exp_ff = {}, exp_anneal = {}, final_ff = {}, final_anneal = {}, r2 = {}, time = {},
    sweeps = {}, H = m.H or H, epochs = m.epochs}
  for s = 1, (m.seeds or seeds) do
    local hw = m.H or H
    local run_rows = run_one(m, s, hw)
    local ep, errs_ff, errs_an = {}, {}, {}
    for e, r in ipairs(run_rows) do
      rows[#rows + 1] = r
      ep[e], errs_ff[e], errs_an[e] = e, r.test_error_ff, r.test_error_anneal
    end
    local t0 = qnn.clock() - run_rows[#run_rows].time
    if m.kind == "anneal" then fits[m.name].sweeps[s] = run_rows[#run_rows].sweeps end
    local f = fits[m.name]
    local b, _, r2 = C.loglog(ep, errs_ff)
    f.exp_ff[s], f.r2[s] = -b, r2
    f.final_ff[s] = errs_ff[#errs_ff]
    if #errs_an > 0 then
      f.exp_anneal[s] = -(C.loglog(ep, errs_an))
      f.final_anneal[s] = errs_an[#errs_an]
    end
    f.time[s] = qnn.clock() - t0
    print(string.format("%-18s H=%-3d seed %d: test error ff %.3f%s, exponent %.2f (r2 %.2f), %.1f s",
      m.name, hw, s, f.final_ff[s], f.final_anneal[s] and string.format(" anneal %.3f", f.final_anneal[s]) or "",
      f.exp_ff[s], r2, f.time[s]))
  end
end

C.csv(a.out .. "/anneal_digits" .. tag .. ".csv", COLS, rows)

print("\n| method | H | seeds | epochs | final test error (feed-forward) | final test error (anneal read-out) | exponent (ff) | exponent (anneal) | time/seed (s) |")
print("|---|---|---|---|---|---|---|---|---|")
local summary = {}
for _, m in ipairs(methods) do
  local f = fits[m.name]
  local row = {method = m.name, H = f.H, seeds = #f.final_ff, epochs = f.epochs,
    final_ff = {C.mean_std(f.final_ff)}, exponent_ff = {C.mean_std(f.exp_ff)},
    final_anneal = #f.final_anneal > 0 and {C.mean_std(f.final_anneal)} or nil,
    exponent_anneal = #f.exp_anneal > 0 and {C.mean_std(f.exp_anneal)} or nil,
    time_per_seed = (C.mean_std(f.time)), sweeps_per_seed = #f.sweeps > 0 and (C.mean_std(f.sweeps)) or 0,
    per_seed = {exponent_ff = f.exp_ff, exponent_anneal = f.exp_anneal, final_ff = f.final_ff,
      final_anneal = f.final_anneal, r2_ff = f.r2}}
  summary[#summary + 1] = row
  print(string.format("| %s | %d | %d | %d | %s | %s | %s | %s | %.1f |", m.name, f.H, #f.final_ff, f.epochs,
    C.pm(f.final_ff), #f.final_anneal > 0 and C.pm(f.final_anneal) or "—", C.pm(f.exp_ff, "%.2f"),
    #f.exp_anneal > 0 and C.pm(f.exp_anneal, "%.2f") or "—", row.time_per_seed))
end
C.write(a.out .. "/anneal_digits" .. tag .. ".json", C.json({
  command = "qnnlab examples/anneal_digits.lua" .. (quick and " --quick" or ""),
  inputs = "sign-encoded binarised pixels (+1 if pixel >= 8 else -1); stratified 75/25 split, seed = run seed",
  exponent = "minus the slope of log(test error) on log(epoch), least squares over all epochs; " ..
    "annealing sweeps are proportional to epochs here, so the exponent vs sweeps is the same",
  paper = {annealer = 1.01, backprop = 0.78},
  methods = summary, wall_time = qnn.clock() - t_start}))
