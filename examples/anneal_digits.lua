-- Experiment 1 of issue 6 (arXiv 2506.05244, our reading): Digits with a 64-H-10 Ising network
-- trained by annealing (equilibrium propagation, strong nudge; SA and SQA samplers) against
-- backpropagation on the same architecture (tanh MLP, Adam and SGD). Test error vs training
-- effort (epochs; annealing sweeps), power-law exponent of error vs effort by log-log least
-- squares per seed, compared with the paper's 1.01 (annealer) vs 0.78 (backprop).
--   qnnlab examples/anneal_digits.lua --quick      (1 seed, H = 32, <= 60 s)
--   qnnlab examples/anneal_digits.lua              (5 seeds, H = 64, plus an H sweep)
-- Inputs: sign-encoded binarised pixels, x = +1 if pixel >= 8 (of 0..16) else -1.
local qnn = require "qnn"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "anneal_common.lua")
local a = C.args(arg)
local quick = a.quick
local seeds = a.seeds or (quick and 1 or 5)
local H = quick and 32 or 64
local E = a.epochs or (quick and 10 or 30)
local tag = quick and "_quick" or ""

local methods = {
  {name = "anneal_sa", kind = "anneal", epochs = E,
   sampler = {sampler = "sa", reads = 4, sweeps = 50}},
  {name = "anneal_sqa", kind = "anneal", epochs = quick and 3 or math.min(E, 15),
   sampler = {sampler = "sqa", reads = 2, sweeps = 20, slices = 8}},
  {name = "backprop_adam", kind = "bp", epochs = E, opt = function() return qnn.optim.adam{lr = 1e-3} end},
  {name = "backprop_sgd", kind = "bp", epochs = E, opt = function() return qnn.optim.sgd{lr = 0.05, momentum = 0.9} end},
}
local extra = {}
if not quick then
  for _, h in ipairs({32, 128}) do
    extra[#extra + 1] = {name = "anneal_sa_H" .. h, kind = "anneal", epochs = E, H = h,
      sampler = {sampler = "sa", reads = 4, sweeps = 50}, seeds = 1}
    extra[#extra + 1] = {name = "backprop_adam_H" .. h, kind = "bp", epochs = E, H = h,
      opt = function() return qnn.optim.adam{lr = 1e-3} end, seeds = 1}
  end
end
for _, m in ipairs(extra) do methods[#methods + 1] = m end

local rows, fits = {}, {}
local t_start = qnn.clock()
for _, m in ipairs(methods) do
  fits[m.name] = {exp_ff = {}, exp_anneal = {}, final_ff = {}, final_anneal = {}, r2 = {}, time = {},
    sweeps = {}, H = m.H or H, epochs = m.epochs}
  for s = 1, (m.seeds or seeds) do
    local tr, te = C.digits(s)
    local hw = m.H or H
    local ep, errs_ff, errs_an = {}, {}, {}
    local t0 = qnn.clock()
    if m.kind == "anneal" then
      local T = qnn.optim.anneal{sizes = {64, hw, 10}, sampler = m.sampler, eta = function(e) return 0.05 / math.sqrt(e) end, batch = 16,
        init = "uniform", scale = 1, seed = s}
      T:fit(tr, {epochs = m.epochs, test = te, anneal_eval = true, progress = false,
        on_epoch = function(e, rec)
          ep[e], errs_ff[e], errs_an[e] = e, rec.test_error, rec.test_error_anneal
          rows[#rows + 1] = {method = m.name, H = hw, seed = s, epoch = e, sweeps = rec.sweeps,
            flip_attempts = rec.flip_attempts, time = qnn.clock() - t0,
            train_error = rec.train_error, train_free_error = rec.train_free_error,
            test_error_ff = rec.test_error, test_error_anneal = rec.test_error_anneal}
        end})
      fits[m.name].sweeps[s] = T.cost.sweeps
    else
      local net = qnn.nn.mlp{64, hw, 10, hidden = "tanh", seed = s}
      qnn.train.fit(net, tr, {optimizer = m.opt(), epochs = m.epochs, batch = 16, seed = s,
        test = te, progress = false, on_epoch = function(e, rec)
          ep[e], errs_ff[e] = e, 1 - rec.test_acc
          rows[#rows + 1] = {method = m.name, H = hw, seed = s, epoch = e, sweeps = 0,
            flip_attempts = 0, time = qnn.clock() - t0, train_error = 1 - rec.train_acc,
            test_error_ff = 1 - rec.test_acc}
        end})
    end
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

C.csv(a.out .. "/anneal_digits" .. tag .. ".csv",
  {"method", "H", "seed", "epoch", "sweeps", "flip_attempts", "time", "train_error",
   "train_free_error", "test_error_ff", "test_error_anneal"}, rows)

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
