-- The sweeps behind the example tables of docs/results/hybrid.md (issue 12 item 9): each example
-- run once per seed (--seed=N) by qnn.sweep, 5 seeds, Student-t 95 % intervals from
-- qnn.sweep.summary. Resumable (finished runs are skipped).
--   bin/qnnlab scripts/sweeps_hybrid.lua [part ...] [--commit-data] [--workers=N]
-- parts: iris moons digits   (default: all)
-- Results: results/sweeps/<name>/runs.{jsonl,csv}; --commit-data copies the per-seed CSVs to
-- docs/results/data/<name>.csv.
local qnn = require "qnn"

local want, commit, workers = {}, false, nil
for _, a in ipairs(arg or {}) do
  if a == "--commit-data" then commit = true
  elseif a:match("^%-%-workers=") then workers = tonumber(a:match("=(.*)"))
  else want[a] = true end
end
local function on(p) return next(want) == nil or want[p] end

local function sweep(o, metrics)
  o.resume, o.out_flag, o.workers = true, "--out", workers
  local r = qnn.sweep(o)
  print(("\n== %s: %d done, %d failed, %d skipped"):format(o.name, r.done, r.failed, r.skipped))
  qnn.sweep.summary(r.out .. "/runs.jsonl", {by = {}, metric = metrics})
  if commit then
    qnn.sweep.export(r, "docs/results/data/" .. o.name .. ".csv")
  end
  return r
end

if on("iris") then
  sweep({name = "hybrid_vqc_iris", run = "examples/vqc_iris.lua", seeds = 5},
    {"acc_vqc_head", "acc_vqc_nohead", "acc_mlp"})
end
if on("moons") then
  sweep({name = "hybrid_reupload_moons", run = "examples/reupload_moons.lua", seeds = 5},
    {"acc_moons_L1", "acc_moons_L4", "acc_circles_L1", "acc_circles_L4"})
end
if on("digits") then
  sweep({name = "hybrid_digits", run = "examples/hybrid_digits.lua", seeds = 5},
    {"acc_hybrid", "acc_classical_same", "acc_classical_wide"})
end
