-- The sweeps behind docs/results/anneal.md experiments 1-4 (issue 12 item 9, issue 13 item 6,
-- issue 18 item 3): every table is a qnn.sweep over 5 seeds (one worker, resumable), summarised with
-- Student-t 95 % intervals by qnn.sweep.summary; the scaling exponents of experiment 1 are fitted
-- against training compute with bootstrap intervals (qnn.stats.loglog_slope).
--   bin/qnnlab scripts/sweeps_anneal.lua [part ...] [--commit-data]
-- parts: digits width layers layers_full gap grover scaling   (default: all; "scaling" only analyses the
-- digits runs already on disk)
-- Results: results/sweeps/<name>/runs.{jsonl,csv} and results/sweeps/<name>/runs/<index>/ (per-epoch
-- CSVs). With --commit-data: per-seed CSVs to docs/results/data/<name>.csv, the per-epoch curves of
-- experiment 1 to docs/results/data/anneal_digits_curves.csv, the figure to
-- docs/results/img/anneal_scaling.png and every printed summary to docs/results/data/anneal_summary.md.
local qnn = require "qnn"
local report = qnn.report
local stats = qnn.stats

local want, commit = {}, false
for _, a in ipairs(arg or {}) do
  if a == "--commit-data" then commit = true else want[a] = true end
end
local function on(p) return next(want) == nil or want[p] end

-- everything printed is also kept for docs/results/data/anneal_summary.md
local log = {}
local function say(s)
  print(s)
  log[#log + 1] = s
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local t = f:read("a")
  f:close()
  return t
end

local function sweep(o, by, metrics)
  o.resume = true
  o.workers = 1
  o.threads = 1
  o.out_flag = "--out"
  local r = qnn.sweep(o)
  say(("\n== %s: %d done, %d failed, %d skipped"):format(o.name, r.done, r.failed, r.skipped))
  local cmd = {"bin/qnnlab", o.run}
  for _, a in ipairs(o.args or {}) do cmd[#cmd + 1] = a end
  say("   run: " .. table.concat(cmd, " ") .. " --<grid key>=... --seed=N (seeds 1.." ..
    tostring(o.seeds) .. ")")
  for _, m in ipairs(metrics) do
    local ok, res = pcall(qnn.sweep.summary, r.out .. "/runs.jsonl", {by = by, metric = m, print = false})
    if ok then say(res.text) else say("(no summary of " .. m .. ": " .. tostring(res):sub(1, 80) .. ")") end
  end
  if commit then
    qnn.sweep.export(r, "docs/results/data/" .. o.name .. ".csv")
  end
  return r
end

local SEEDS = 5
local DIGITS = {
  -- 40 epochs for SA and backprop (the first 30 are the published 30-epoch runs: the trajectory
  -- does not depend on the epoch count), 15 for SQA (as published)
  {name = "anneal_digits", run = "examples/anneal_digits.lua", args = {"--epochs=40"},
   grid = {method = {"anneal_sa", "backprop_adam", "backprop_sgd"}}, seeds = SEEDS},
  {name = "anneal_digits_sqa", run = "examples/anneal_digits.lua", args = {"--epochs=15"},
   grid = {method = {"anneal_sqa"}}, seeds = SEEDS},
}
local WIDTH = {name = "anneal_digits_width", run = "examples/anneal_digits.lua", args = {"--epochs=30"},
  grid = {method = {"anneal_sa", "backprop_adam"}, hidden = {32, 128}}, seeds = SEEDS}

if on("digits") then
  sweep(DIGITS[1], {"method"}, {"final_ff", "final_anneal", "ff_e30", "anneal_e30", "exp_all", "r2_all", "wall"})
  sweep(DIGITS[2], {"method"}, {"final_ff", "final_anneal", "ff_e10", "anneal_e10", "exp_all", "r2_all", "wall"})
end
if on("width") then
  sweep(WIDTH, {"method", "hidden"}, {"final_ff", "final_anneal", "exp_all", "wall"})
end
-- experiment 2 at reduced size: 600 training samples, 4 epochs (published: 1347 samples, 8 epochs, 3 seeds)
if on("layers") then
  sweep({name = "anneal_layers", run = "examples/anneal_layers.lua", args = {"--train=600", "--epochs=4"},
    grid = {trainer = {"coord_exact", "coord_sa", "active_sa", "full_sa"}, eta0 = {0.01, 0.003}}, seeds = SEEDS},
    {"eta0", "trainer"}, {"final_ff", "final_anneal", "best_anneal", "sampler_calls", "wall"})
end
-- experiment 2 at the published size (1347 training samples, 8 epochs), 5 seeds
if on("layers_full") then
  sweep({name = "anneal_layers_full", run = "examples/anneal_layers.lua", args = {"--epochs=8"},
    grid = {trainer = {"coord_exact", "coord_sa", "active_sa", "full_sa"}, eta0 = {0.01, 0.003}}, seeds = SEEDS},
    {"eta0", "trainer"}, {"final_ff", "final_anneal", "best_anneal", "sampler_calls", "wall"})
end
-- experiment 3 at reduced size: 6 blocks per net (published: 12 blocks, one seed)
if on("gap") then
  sweep({name = "anneal_gap", run = "examples/anneal_gap.lua", args = {"--blocks=6"}, seeds = SEEDS}, {},
    {"untrained_min_gap", "trained_min_gap", "untrained_min_gap_median", "trained_min_gap_median",
     "untrained_small_gaps", "trained_small_gaps", "untrained_excitation", "trained_excitation",
     "untrained_p_exact_T4", "trained_p_exact_T4", "untrained_p_exact_T16", "trained_p_exact_T16",
     "untrained_p_sqa_5", "trained_p_sqa_5", "test_error_ff", "test_error_anneal"})
end
-- experiment 4 at reduced size: 4 blocks per n (published: 8 blocks, one seed)
if on("grover") then
  local ms = {"exp_dh_queries", "exp_dh_first_hit", "exp_sa_tts", "exp_sqa_tts"}
  for _, n in ipairs({6, 8, 10, 12, 14, 16}) do
    for _, k in ipairs({"dh_queries", "dh_first_hit", "dh_success", "sa_tts", "sqa_tts"}) do
      ms[#ms + 1] = "n" .. n .. "_" .. k
    end
  end
  sweep({name = "anneal_grover", run = "examples/anneal_grover.lua", args = {"--blocks=4"}, seeds = SEEDS}, {}, ms)
end

---------------------------------------------------------------------------------------------
-- scaling exponents of experiment 1 against training compute
---------------------------------------------------------------------------------------------
local function curves()
  local all = {}
  for _, o in ipairs(DIGITS) do
    local dir = "results/sweeps/" .. o.name
    local jl = read(dir .. "/runs.jsonl")
    if jl then
      for _, r in ipairs(qnn.sweep.load(dir .. "/runs.jsonl")) do
        if r.status == "ok" then
          local p = ("%s/runs/%d/anneal_digits_run.csv"):format(dir, r.index)
          if read(p) then
            for _, row in ipairs(report.read_csv(p)) do all[#all + 1] = row end
          end
        end
      end
    end
  end
  return all
end

local function fmt(x, f) return (x == x and x ~= nil) and string.format(f or "%.2f", x) or "—" end

if on("scaling") then
  local rows = curves()
  if #rows == 0 then error("sweeps_anneal: no experiment-1 runs on disk; run the 'digits' part first", 0) end
  local COLS = {"method", "H", "seed", "epoch", "sweeps", "flip_attempts", "compute", "compute_unit", "samples",
    "time", "train_error", "train_free_error", "test_error_ff", "test_error_anneal"}
  for _, r in ipairs(rows) do
    for _, k in ipairs({"H", "seed", "epoch", "sweeps", "flip_attempts", "compute", "samples", "time", "train_error",
      "train_free_error", "test_error_ff", "test_error_anneal"}) do r[k] = tonumber(r[k]) end
  end
  if commit then report.csv("docs/results/data/anneal_digits_curves.csv", COLS, rows) end
  -- per method: seed -> epoch -> row
  local by = {}
  for _, r in ipairs(rows) do
    by[r.method] = by[r.method] or {}
    by[r.method][r.seed] = by[r.method][r.seed] or {}
    by[r.method][r.seed][r.epoch] = r
  end
  local methods = {{"anneal_sa", "test_error_anneal", "SA, anneal read-out"},
    {"anneal_sa", "test_error_ff", "SA, feed-forward read-out"},
    {"anneal_sqa", "test_error_anneal", "SQA, anneal read-out"},
    {"backprop_adam", "test_error_ff", "backprop Adam"}, {"backprop_sgd", "test_error_ff", "backprop SGD"}}
  local windows = {{1, 10}, {1, 15}, {1, 30}, {5, 30}, {1, 40}, {10, 40}}
  local per_seed_slopes = {} -- [label][window] = {seed -> exponent}
  say("\n## Experiment 1: test error vs training compute, exponent a of err ∝ compute^-a")
  say("Compute: SA/SQA = spin-flip attempts of every training anneal (SQA: x slices, plus global moves);")
  say("backprop = forward + backward FLOPs per sample (qnn.train.flops) x samples seen. Per run:")
  say("least squares on log-log over the epochs of the window, percentile bootstrap over points (1000).")
  say("Across seeds: (i) mean of the per-seed exponents, percentile bootstrap over seeds (resampling whole")
  say("runs, 10000); (ii) one fit of all points of all seeds, bootstrap over whole seed runs (2000).\n")
  say("| curve | epochs | seeds | per-seed exponents [95 % point-bootstrap CI] (r²) | mean exponent [seed-bootstrap 95 % CI] | pooled fit [run-bootstrap 95 % CI] | compute range |")
  say("|---|---|---|---|---|---|---|")
  for _, mm in ipairs(methods) do
    local name, key, label = mm[1], mm[2], mm[3]
    local seedsd = by[name]
    if seedsd then
      per_seed_slopes[label] = {}
      for _, w in ipairs(windows) do
        local lo, hi = w[1], w[2]
        local cells, exps, X, Y, G = {}, {}, {}, {}, {}
        local cmin, cmax = math.huge, 0
        local seedlist = {}
        for s in pairs(seedsd) do seedlist[#seedlist + 1] = s end
        table.sort(seedlist)
        local complete = true
        for _, s in ipairs(seedlist) do
          local xs, ys = {}, {}
          for e = lo, hi do
            local r = seedsd[s][e]
            if not r then complete = false break end
            if r[key] and r[key] > 0 then
              xs[#xs + 1], ys[#ys + 1] = r.compute, r[key]
              X[#X + 1], Y[#Y + 1], G[#G + 1] = r.compute, r[key], s
              cmin, cmax = math.min(cmin, r.compute), math.max(cmax, r.compute)
            end
          end
          if not complete then break end
          local f = stats.loglog_slope(xs, ys, {seed = s, resamples = 1000})
          exps[#exps + 1] = -f.slope
          cells[#cells + 1] = ("%s [%s, %s] (%s)"):format(fmt(-f.slope), fmt(-f.hi), fmt(-f.lo), fmt(f.r2))
        end
        if complete and #exps >= 2 then
          per_seed_slopes[label][lo .. "-" .. hi] = exps
          local function mean(l) local t = 0 for _, v in ipairs(l) do t = t + v end return t / #l end
          local bs = stats.bootstrap(exps, mean, {seed = 7, resamples = 10000})
          local pooled = stats.loglog_slope(X, Y, {groups = G, seed = 11, resamples = 2000})
          say(("| %s | %d–%d | %d | %s | %s [%s, %s] | %s [%s, %s] (r² %s) | %.2g–%.2g %s |"):format(label, lo, hi, #exps,
            table.concat(cells, "; "), fmt(bs.estimate), fmt(bs.lo), fmt(bs.hi), fmt(-pooled.slope), fmt(-pooled.hi),
            fmt(-pooled.lo), fmt(pooled.r2), cmin, cmax, rows[1] and (name:match("^anneal") and "flips" or "FLOPs")))
        end
      end
    end
  end
  -- paired difference annealing - backprop (same seeds = same data splits)
  say("\nDifference of exponents, annealing − backprop, paired by seed (same split), seed bootstrap 95 % CI:\n")
  say("| window | SA (anneal read-out) − Adam | SA (anneal read-out) − SGD | SA (feed-forward) − Adam |")
  say("|---|---|---|---|")
  for _, w in ipairs(windows) do
    local k = w[1] .. "-" .. w[2]
    local function diff(la, lb)
      local A, B = per_seed_slopes[la] and per_seed_slopes[la][k], per_seed_slopes[lb] and per_seed_slopes[lb][k]
      if not (A and B) or #A ~= #B then return "—" end
      local d = {}
      for i = 1, #A do d[i] = A[i] - B[i] end
      local bs = stats.bootstrap(d, function(l) local t = 0 for _, v in ipairs(l) do t = t + v end return t / #l end,
        {seed = 5, resamples = 10000})
      return ("%s [%s, %s]"):format(fmt(bs.estimate), fmt(bs.lo), fmt(bs.hi))
    end
    local a1 = diff("SA, anneal read-out", "backprop Adam")
    if a1 ~= "—" then
      say(("| %d–%d | %s | %s | %s |"):format(w[1], w[2], a1, diff("SA, anneal read-out", "backprop SGD"),
        diff("SA, feed-forward read-out", "backprop Adam")))
    end
  end
  -- figure: mean test error (95 % t interval over seeds) against compute, log-log
  local series, tmp = {}, {}
  for i, mm in ipairs(methods) do
    local name, key, label = mm[1], mm[2], mm[3]
    local seedsd = by[name]
    if seedsd then
      local pts = {}
      for e = 1, 40 do
        local vals, comp = {}, nil
        for _, sr in pairs(seedsd) do
          local r = sr[e]
          if r and r[key] then vals[#vals + 1] = r[key]; comp = r.compute end
        end
        if #vals >= 2 then
          local ci = stats.t_ci(vals)
          pts[#pts + 1] = {x = comp, mean = ci.mean, ci95 = ci.half}
        end
      end
      if #pts > 0 then
        local path = os.tmpname() .. "_" .. i .. ".csv"
        report.csv(path, {"x", "mean", "ci95"}, pts)
        tmp[#tmp + 1] = path
        series[#series + 1] = {csv = path, x = "x", y = "mean", err = "ci95", title = label}
      end
    end
  end
  local png = commit and "docs/results/img/anneal_scaling.png" or "results/sweeps/anneal_scaling.png"
  local ok = report.plot{png = png, csv = series[1].csv, series = series, logx = true, logy = true,
    title = "Digits 64-64-10: test error vs training compute (mean of 5 seeds, 95 % t interval)",
    xlabel = "training compute (SA/SQA: spin-flip attempts; backprop: FLOPs)", ylabel = "test error"}
  say(ok and ("\nwrote " .. png) or "\n(figure not written: gnuplot missing)")
  for _, p in ipairs(tmp) do os.remove(p) end
end

if commit then
  qnn.sys.mkdir("docs/results/data")
  local old = read("docs/results/data/anneal_summary.md")
  local head = "# Summaries printed by `bin/qnnlab scripts/sweeps_anneal.lua --commit-data`\n"
  qnn.io.write_atomic("docs/results/data/anneal_summary.md",
    head .. "\n(last parts run: " .. (next(want) and table.concat((function()
      local l = {} for k in pairs(want) do l[#l + 1] = k end table.sort(l) return l end)(), " ") or "all") ..
    ")\n\n```\n" .. table.concat(log, "\n") .. "\n```\n" ..
    (old and old:match("\n## earlier parts\n.*") or ""))
end
