-- Experiment 2 of issue 6: a small annealer trains a deep Ising network a block at a time.
-- Deep net 64-32-32-10 (74 spins) on Digits (sign-encoded binarised pixels). Trainers:
--   coord_exact   block-coordinate phases: every anneal covers one block of <= 8 spins
--                 (coherent state-vector annealing, `exact`), the rest clamped; the free phase
--                 sweeps the blocks bottom-up from the feed-forward state, the nudged phase
--                 top-down from the free result with the outputs clamped; all couplings update
--   coord_sa      the same blocks annealed by SA
--   active_sa     active-block mode: the same blocks as active sets, the rest clamped to the
--                 zero-temperature-relaxed feed-forward state, only the block's couplings
--                 update (every mini-batch visits all blocks)
--   full_sa       the whole network annealed by SA in every phase
-- Reports the test error of the feed-forward read-out and of the annealing read-out (same
-- sampler; blocks for the block trainers), and the cost.
--   qnnlab examples/anneal_layers.lua --quick   (400 training samples, 2 epochs, 1 seed, <= 60 s)
--   qnnlab examples/anneal_layers.lua           (all 1347 training samples, 8 epochs, 3 seeds)
--   qnnlab examples/anneal_layers.lua --trainer=coord_sa --eta0=0.003 --seed=2 [--train=600] [--epochs=4]
--       one (trainer, eta0, seed) run as qnn.sweep runs it (scripts/sweeps_anneal.lua): metrics
--       through qnn.sweep.result, per-epoch CSV <out>/anneal_layers_run.csv
local qnn = require "qnn"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "anneal_common.lua")
local a = C.args(arg, {seed = 0, trainer = "all", eta0 = 0, train = 0})
local quick = a.quick
local single = a.seed > 0
local seeds = a.seeds or (quick and 1 or 3)
local E = a.epochs or (quick and 2 or 8)
-- training samples (0 = all 1347; --quick: 400); the sweep runs use fewer to fit the budget
local ntrain = a.train > 0 and a.train or (quick and 400 or 0)
local tag = quick and "_quick" or ""
local sizes = {64, 32, 32, 10}
-- coupling scales decreasing with depth (bottom-up fields dominate top-down feedback); with the
-- adaptive SA temperatures only eta/scale matters, and a deep net needs a small ratio
local scale = {4, 1, 0.5}
-- two learning rates eta(e) = eta0 / sqrt(e) for every trainer: block-coordinate training is
-- unstable at the larger one (see docs/results/anneal.md)
local eta0s = a.eta0 > 0 and {a.eta0} or {0.01, 0.003}

local exact = {sampler = "exact", steps = 40, T = 8, reads = 4}
local sa = {sampler = "sa", reads = 4, sweeps = 50}
local base = {
  {name = "coord_exact", mode = "coordinate", block = 8, sampler = exact},
  {name = "coord_sa", mode = "coordinate", block = 8, sampler = sa},
  {name = "active_sa", mode = "block", block = 8, sampler = sa, per_batch = "all"},
  {name = "full_sa", mode = "full", sampler = sa},
}
local trainers = {}
for _, e0 in ipairs(eta0s) do
  for _, t in ipairs(base) do
    if a.trainer ~= "all" and t.name ~= a.trainer then goto next_trainer end
    local c = {}
    for k, v in pairs(t) do c[k] = v end
    c.eta0 = e0
    c.name = t.name .. "_eta" .. e0
    trainers[#trainers + 1] = c
    ::next_trainer::
  end
end
if #trainers == 0 then
  error("anneal_layers: --trainer must be coord_exact, coord_sa, active_sa or full_sa, got " .. a.trainer, 0)
end
local seed_list = {}
if single then seed_list[1] = a.seed else for s = 1, seeds do seed_list[s] = s end end

local rows, res = {}, {}
for _, t in ipairs(trainers) do
  res[t.name] = {ff = {}, an = {}, best = {}, time = {}, calls = {}, sweeps = {}, steps = {}}
  for _, s in ipairs(seed_list) do
    local tr, te = C.digits(s)
    if ntrain > 0 then tr = tr:sample(ntrain, s) end
    local T = qnn.optim.anneal{sizes = sizes, mode = t.mode, block = t.block, sampler = t.sampler,
      per_batch = t.per_batch,
      eta = function(e) return t.eta0 / math.sqrt(e) end, scale = scale, batch = 16, seed = s}
    local t0 = qnn.clock()
    local best_an = 1
    local h = T:fit(tr, {epochs = E, test = te, anneal_eval = true, progress = false,
      on_epoch = function(e, rec)
        if rec.test_error_anneal < best_an then best_an = rec.test_error_anneal end
        rows[#rows + 1] = {trainer = t.name, seed = s, epoch = e, test_error_ff = rec.test_error,
          test_error_anneal = rec.test_error_anneal, train_free_error = rec.train_free_error,
          sweeps = rec.sweeps, time = qnn.clock() - t0}
      end})
    local r = res[t.name]
    r.ff[s], r.an[s] = h.test_error[h.epochs], h.test_error_anneal[h.epochs]
    r.best[s] = best_an
    r.time[s] = qnn.clock() - t0
    r.calls[s] = T.cost.sampler_calls
    r.sweeps[s], r.steps[s] = T.cost.sweeps, T.cost.exact_steps
    local bl = T.blocks or T.coordinate
    r.blocks = bl and #bl or 1
    local big = 0
    for _, b in ipairs(bl or {{}}) do if #b > big then big = #b end end
    r.biggest = bl and big or T.net:nspins()
    r.flips, r.settle = T.cost.flip_attempts, T.cost.settle_attempts
    print(string.format("%-13s seed %d: test error ff %.3f anneal %.3f, %d sampler calls, %.1f s",
      t.name, s, r.ff[s], r.an[s], r.calls[s], r.time[s]))
  end
end
if single then
  local t = trainers[1]
  if #trainers ~= 1 then error("anneal_layers: --seed=N runs one trainer; give --trainer= and --eta0=", 0) end
  local r, s = res[t.name], a.seed
  C.csv(a.out .. "/anneal_layers_run.csv", {"trainer", "seed", "epoch", "test_error_ff", "test_error_anneal",
    "train_free_error", "sweeps", "time"}, rows)
  local m = {trainer = t.name:gsub("_eta.*$", ""), eta0 = t.eta0, seed = s, epochs = E,
    train_samples = ntrain > 0 and ntrain or 1347, final_ff = r.ff[s], final_anneal = r.an[s], best_anneal = r.best[s],
    sampler_calls = r.calls[s], sweeps = r.sweeps[s], exact_steps = r.steps[s], flip_attempts = r.flips,
    settle_attempts = r.settle, biggest_anneal = r.biggest, blocks = r.blocks, wall = r.time[s]}
  print(C.json(m))
  qnn.sweep.result(m)
  return
end
C.csv(a.out .. "/anneal_layers" .. tag .. ".csv",
  {"trainer", "seed", "epoch", "test_error_ff", "test_error_anneal", "train_free_error", "sweeps", "time"}, rows)
print("\n| trainer | spins per anneal (max) | blocks | final test error (feed-forward) | final test error (anneal read-out) | best epoch (anneal read-out) | sampler calls/seed | time/seed (s) |")
print("|---|---|---|---|---|---|---|---|")
local summary = {}
for _, t in ipairs(trainers) do
  local r = res[t.name]
  local biggest = r.biggest
  print(string.format("| %s | %d | %d | %s | %s | %s | %.0f | %.1f |", t.name, biggest, r.blocks, C.pm(r.ff),
    C.pm(r.an), C.pm(r.best), (C.mean_std(r.calls)), (C.mean_std(r.time))))
  summary[#summary + 1] = {trainer = t.name, biggest_anneal = biggest, blocks = r.blocks,
    final_ff = {C.mean_std(r.ff)}, final_anneal = {C.mean_std(r.an)}, per_seed_ff = r.ff,
    per_seed_anneal = r.an, best_anneal = {C.mean_std(r.best)}, eta0 = t.eta0, sampler_calls = (C.mean_std(r.calls)), time = (C.mean_std(r.time)),
    exact_steps = (C.mean_std(r.steps)), sweeps = (C.mean_std(r.sweeps))}
end
C.write(a.out .. "/anneal_layers" .. tag .. ".json", C.json({
  command = "qnnlab examples/anneal_layers.lua" .. (quick and " --quick" or ""),
  sizes = sizes, epochs = E, seeds = seeds, training_samples = ntrain > 0 and ntrain or 1347,
  samplers = {exact = exact, sa = sa}, trainers = summary}))
