-- The sweeps behind docs/results/*.md "open questions" tables (issue 18): every table is a qnn.sweep over >= 5 seeds, summarised with
-- Student-t 95 % intervals by qnn.sweep.summary. Resumable (finished runs are skipped).
--   bin/qnnlab scripts/sweeps_open_questions.lua [part ...]
-- parts: sk noise sqa landscape search classify rl adam   (default: all)
-- Results: results/sweeps/<name>/runs.{jsonl,csv}; copies of the per-seed CSVs go to
-- docs/results/data/ when --commit-data is given.
local qnn = require "qnn"

local want, commit = {}, false
for _, a in ipairs(arg or {}) do
  if a == "--commit-data" then commit = true else want[a] = true end
end
local function on(p) return next(want) == nil or want[p] end

local function sweep(o, by, metrics)
  o.resume = true
  o.out_flag = "--out"
  local r = qnn.sweep(o)
  print(("\n== %s: %d done, %d failed, %d skipped"):format(o.name, r.done, r.failed, r.skipped))
  for _, m in ipairs(metrics) do
    qnn.sweep.summary(r.out .. "/runs.jsonl", {by = by, metric = m})
  end
  if commit then
    qnn.sweep.export(r, "docs/results/data/" .. o.name .. ".csv")
  end
  return r
end

if on("sk") then
  sweep({name = "anneal_sk", run = "examples/anneal_glass.lua", args = {"--part=sk"},
    grid = {n = {8, 12, 16, 32, 64}}, seeds = 5},
    {"n"}, {"sk_tts_sweeps", "block_tts_sweeps", "dh_queries", "sk_low_states", "sk_q_abs"})
end
if on("noise") then
  sweep({name = "anneal_control_noise", run = "examples/anneal_glass.lua", args = {"--part=noise"},
    grid = {noise = {0, 0.1, 0.3}}, seeds = 5},
    {"noise"}, {"test_error", "test_error_anneal"})
end
if on("sqa") then
  sweep({name = "anneal_sqa_readout", run = "examples/anneal_glass.lua", args = {"--part=noise", "--sampler=sqa", "--epochs=5"},
    grid = {best_of_slices = {false, true}}, seeds = 5},
    {"best_of_slices"}, {"test_error", "test_error_anneal"})
end
if on("landscape") then
  sweep({name = "anneal_landscape", run = "examples/anneal_glass.lua", args = {"--part=train", "--epochs=5"},
    seeds = 5},
    {}, {"low_states_0", "low_states_end", "q_abs_0", "q_abs_end", "p_best_0", "p_best_end", "test_error_end"})
end
if on("search") then
  sweep({name = "diffqas_search", run = "examples/diffqas_search.lua", args = {"--task=mnist15"},
    grid = {depth = {5, 15}, pool = {"full", "pruned"}}, seeds = 5},
    {"depth", "pool"}, {"ensemble_acc", "best_single_acc", "median_single_acc", "top1_discretized_acc",
      "top1_retrained_acc", "top3_retrained_acc", "spearman_rho"})
end
-- issue 13 item 6: the few-seed DiffQAS verdicts re-measured over 5 seeds (reduced sizes)
if on("classify") then
  sweep({name = "diffqas_classify_quick", run = "examples/diffqas_classify.lua",
    args = {"--quick", "--singles=all", "--normalize=softmax,none"}, grid = {tasks = {"mnist15", "fashion15", "fashion57"}},
    seeds = 5}, {"tasks"}, {"acc_classical", "acc_softmax", "acc_none", "acc_best_single"})
end
if on("rl") then
  sweep({name = "diffqas_rl_quick", run = "examples/diffqas_rl.lua", args = {"--quick"}, seeds = 5},
    {}, {"last100_Empty_5x5_classical", "last100_Empty_5x5_diffqas", "last100_Empty_5x5_single_H_ring_RY"})
end
-- issue 18: the Digits Adam baseline of the Grover experiment tuned by sweep
if on("adam") then
  sweep({name = "adam_digits", run = "examples/adam_digits.lua",
    grid = {lr = {1e-3, 3e-3, 1e-2, 3e-2}, batch = {16, 64}, epochs = {50, 200}}, seeds = 5},
    {"lr", "batch", "epochs"}, {"val_acc", "test_acc"})
end
