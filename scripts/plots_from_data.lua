-- Figures of docs/results/*.md redrawn from the committed per-seed CSVs (docs/results/data/*.csv,
-- as qnn.sweep writes them): mean ± Student-t 95 % interval per group, through
-- qnn.sweep.summary. No run is repeated: anyone can check a table and its figure from the CSV.
--   bin/qnnlab scripts/plots_from_data.lua [name ...] [--out=docs/results/img]
-- names: the entries of FIGS below (default: all whose CSV exists)
local qnn = require "qnn"

local out, want = "docs/results/img", {}
for _, a in ipairs(arg or {}) do
  local o = a:match("^%-%-out=(.+)$")
  if o then out = o elseif a:match("^%-%-") then error("unknown flag " .. a .. " (allowed: --out=dir)")
  else want[a] = true end
end

local D = "docs/results/data/"
local FIGS = {
  {name = "anneal_sk_tts", csv = "anneal_sk.csv", by = {"n"}, x = "n", logy = true,
    metric = {"sk_tts_sweeps", "block_tts_sweeps"}, ylabel = "SA sweeps to 99 % success (TTS99)",
    title = "SK glass vs trained-net blocks: SA time to solution (5 seeds, 95% CI)"},
  {name = "anneal_control_noise", csv = "anneal_control_noise.csv", by = {"noise"}, x = "noise",
    metric = {"test_error", "test_error_anneal"}, ylabel = "test error",
    title = "Ising net on Digits: control noise on h, J (5 seeds, 95% CI)"},
  {name = "anneal_sqa_readout", csv = "anneal_sqa_readout.csv", by = {"best_of_slices"},
    metric = {"test_error", "test_error_anneal"}, ylabel = "test error",
    title = "SQA read-out: one slice per read vs best of slices (5 seeds, 95% CI)"},
  {name = "diffqas_search", csv = "diffqas_search.csv", by = {"depth", "pool"},
    metric = {"ensemble_acc", "best_single_acc", "median_single_acc", "top1_discretized_acc", "top1_retrained_acc"},
    ylabel = "test accuracy", title = "DiffQAS search validity, MNIST 1 vs 5 reduced (5 seeds, 95% CI)"},
  {name = "diffqas_classify_quick", csv = "diffqas_classify_quick.csv", by = {"tasks"},
    metric = {"acc_classical", "acc_softmax", "acc_none", "acc_best_single"}, ylabel = "test accuracy",
    title = "DiffQAS-QT classification, reduced size (5 seeds, 95% CI)"},
}

qnn.sys.mkdir(out)
local n = 0
for _, f in ipairs(FIGS) do
  local path = D .. f.csv
  local fh = io.open(path, "r")
  if fh then fh:close() end
  if (next(want) == nil or want[f.name]) and fh then
    local r = qnn.sweep.summary(path, {by = f.by, metric = f.metric, x = f.x, logy = f.logy, print = false,
      png = out .. "/" .. f.name .. ".png", ylabel = f.ylabel, title = f.title})
    print(("%-26s <- %s  %s"):format(f.name, path, r.png and ("wrote " .. r.png) or "(no gnuplot: CSV only)"))
    n = n + 1
  end
end
print(("%d figures"):format(n))
