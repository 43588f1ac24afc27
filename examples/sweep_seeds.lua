-- The main experiment (Grover-search weight optimisation on Wine vs Adam vs a tuned Adam,
-- examples/grover_wine.lua --quick) rerun over 5 seeds as a sweep on every core: one worker
-- process per seed, results in results/sweeps/grover_wine_seeds/runs.{jsonl,csv}, then test
-- accuracy and cross-entropy per method as mean ± 95% confidence interval (Student t).
--   bin/qnnlab examples/sweep_seeds.lua [--seeds=5] [--workers=N] [--fresh] [--full] [--out=dir]
-- Seeds already finished in the results directory are skipped (the sweep resumes); --fresh
-- deletes that directory first. --full sweeps the full-length experiment instead of --quick. The script itself is unchanged by
-- the sweep: the seed goes in as --seed=N, each run gets its own --out=<out>/runs/<index>, and
-- its metrics are the JSON it writes with qnn.report.json (nested keys joined with dots).
local qnn = require "qnn"
local a = qnn.report.args(arg, {fresh = false, workers = 0, full = false})
if a.help then
  print("usage: sweep_seeds.lua [--seeds=5] [--workers=N] [--fresh] [--full] [--out=dir]")
  return
end
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "examples"
local name = a.full and "grover_wine_seeds_full" or "grover_wine_seeds"
local out = a.out ~= "results" and a.out or ("results/sweeps/" .. name)
if a.fresh then qnn.proc.run({"rm", "-rf", out}) end
local t0 = qnn.clock()
local r = qnn.sweep {
  name = name,
  run = dir .. "/grover_wine.lua",
  args = a.full and {} or {"--quick"},
  seed_flag = "--seed",
  out_flag = "--out",
  seeds = a.seeds or 5,
  workers = a.workers > 0 and a.workers or nil,
  resume = true,
  out = out,
}
print(string.format("%d runs finished, %d failed, %d skipped (already done) in %.1f s; results in %s/runs.jsonl",
  r.done, r.failed, r.skipped, qnn.clock() - t0, r.out))
for _, row in ipairs(r.rows) do
  if row.status ~= "ok" then print(string.format("  seed %d failed: %s", row.seed, row.error or "?")) end
end
print()
qnn.sweep.summary(r, {
  metric = {"summary.grover.test_acc", "summary.adam.test_acc", "summary.tuned.test_acc",
            "summary.grover.test_ce", "summary.adam.test_ce", "summary.tuned.test_ce"},
  by = {}, png = r.out .. "/summary.png",
  title = "Wine: Grover search vs Adam vs tuned Adam, mean ± 95% CI (Student t) over seeds",
})
