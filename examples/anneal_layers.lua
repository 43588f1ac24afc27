-- Experiment 2 of issue 6: a small annealer trains a deep Ising network a block at a time.
-- Deep net 64-32-32-10 (74 spins) on Digits (sign-encoded binarised pixels). Three trainers:
--   block_exact  active blocks of <= 8 spins annealed by coherent (state-vector) annealing,
--                the rest clamped to the relaxed feed-forward state; every mini-batch visits
--                all blocks in turn (per_batch = "all"), each with its own phases and update
--   block_sa     the same blocks annealed by simulated annealing
--   full_sa      the whole network annealed by SA in every phase
-- (plus layerwise_sa: one spin layer at a time by SA). Reports test error of the feed-forward
-- read-out and of the annealing read-out (same sampler and blocks), and the cost.
--   qnnlab examples/anneal_layers.lua --quick   (400 training samples, 1 seed, <= 60 s)
--   qnnlab examples/anneal_layers.lua           (all 1347 training samples, 3 seeds, 10 epochs)
local qnn = require "qnn"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "anneal_common.lua")
local a = C.args(arg)
local quick = a.quick
local seeds = a.seeds or (quick and 1 or 3)
local E = a.epochs or (quick and 4 or 10)
local tag = quick and "_quick" or ""
local sizes = {64, 32, 32, 10}
-- with the default adaptive SA temperatures (and exact/grover, which are scale-free up to T),
-- training depends on eta/scale only; eta0/scale = 0.0125 suits this deeper net
local scale = 4
local eta = function(e) return 0.05 / math.sqrt(e) end

local exact = {sampler = "exact", steps = 40, T = 8, reads = 4}
local sa = {sampler = "sa", reads = 4, sweeps = 50}
local trainers = {
  {name = "block_exact", mode = "block", block = 8, sampler = exact, per_batch = "all"},
  {name = "block_sa", mode = "block", block = 8, sampler = sa, per_batch = "all"},
  {name = "layerwise_sa", mode = "layers", sampler = sa, per_batch = "all"},
  {name = "full_sa", mode = "full", sampler = sa},
}

local rows, res = {}, {}
for _, t in ipairs(trainers) do
  res[t.name] = {ff = {}, an = {}, time = {}, calls = {}, sweeps = {}, steps = {}}
  for s = 1, seeds do
    local tr, te = C.digits(s)
    if quick then tr = tr:sample(400, s) end
    local T = qnn.optim.anneal{sizes = sizes, mode = t.mode, block = t.block, sampler = t.sampler,
      per_batch = t.per_batch,
      eta = eta, scale = scale, batch = 16, seed = s}
    local t0 = qnn.clock()
    local h = T:fit(tr, {epochs = E, test = te, anneal_eval = true, progress = false,
      on_epoch = function(e, rec)
        rows[#rows + 1] = {trainer = t.name, seed = s, epoch = e, test_error_ff = rec.test_error,
          test_error_anneal = rec.test_error_anneal, train_free_error = rec.train_free_error,
          sweeps = rec.sweeps, time = qnn.clock() - t0}
      end})
    local r = res[t.name]
    r.ff[s], r.an[s] = h.test_error[h.epochs], h.test_error_anneal[h.epochs]
    r.time[s] = qnn.clock() - t0
    r.calls[s] = T.cost.sampler_calls
    r.sweeps[s], r.steps[s] = T.cost.sweeps, T.cost.exact_steps
    r.blocks = T.blocks and #T.blocks or 1
    local big = 0
    for _, b in ipairs(T.blocks or {{}}) do if #b > big then big = #b end end
    r.biggest = T.blocks and big or T.net:nspins()
    print(string.format("%-13s seed %d: test error ff %.3f anneal %.3f, %d sampler calls, %.1f s",
      t.name, s, r.ff[s], r.an[s], r.calls[s], r.time[s]))
  end
end
C.csv(a.out .. "/anneal_layers" .. tag .. ".csv",
  {"trainer", "seed", "epoch", "test_error_ff", "test_error_anneal", "train_free_error", "sweeps", "time"}, rows)
print("\n| trainer | spins per anneal (max) | blocks | final test error (feed-forward) | final test error (anneal read-out) | sampler calls/seed | time/seed (s) |")
print("|---|---|---|---|---|---|---|")
local summary = {}
for _, t in ipairs(trainers) do
  local r = res[t.name]
  local biggest = r.biggest
  print(string.format("| %s | %d | %d | %s | %s | %.0f | %.1f |", t.name, biggest, r.blocks, C.pm(r.ff),
    C.pm(r.an), (C.mean_std(r.calls)), (C.mean_std(r.time))))
  summary[#summary + 1] = {trainer = t.name, biggest_anneal = biggest, blocks = r.blocks,
    final_ff = {C.mean_std(r.ff)}, final_anneal = {C.mean_std(r.an)}, per_seed_ff = r.ff,
    per_seed_anneal = r.an, sampler_calls = (C.mean_std(r.calls)), time = (C.mean_std(r.time)),
    exact_steps = (C.mean_std(r.steps)), sweeps = (C.mean_std(r.sweeps))}
end
C.write(a.out .. "/anneal_layers" .. tag .. ".json", C.json({
  command = "qnnlab examples/anneal_layers.lua" .. (quick and " --quick" or ""),
  sizes = sizes, epochs = E, seeds = seeds, training_samples = quick and 400 or 1347,
  samplers = {exact = exact, sa = sa}, trainers = summary}))
