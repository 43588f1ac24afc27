-- The sweeps behind the tables of docs/results/grover.md (issues 12, 13, 18): every table is a
-- qnn.sweep over >= 5 seeds of an example script, summarised with Student-t 95 % intervals by
-- qnn.sweep.summary. Resumable (finished runs are skipped); one thread per worker, one worker
-- (two for the Digits parts, which are 5 runs of 2-4 minutes each; the machine is shared).
--   bin/qnnlab scripts/sweeps_grover.lua [part ...] [--commit-data]
-- parts (default: all, in this order):
--   wine        §1  examples/grover_wine.lua, 10 seeds
--   digits      §2  examples/grover_digits.lua, 5 seeds; also saves each seed's net after epoch 9
--                   (results/grover_states/digits_s<seed>_e9.*), the start of digits_noise
--   digits_noise §5 examples/grover_noise.lua --data=digits --from=...: epoch 10 only, run from the
--                   epoch-9 state of `digits` under each noise model (none = shot noise only);
--                   can run beside `digits` (each run waits for its seed's state)
--   oracles     §4  examples/grover_oracles.lua --part=compare, 10 seeds
--   wine_noise  §5  examples/grover_noise.lua (Wine, depolarizing p, textbook circuit), 10 seeds
--   wine_native §5  examples/grover_noise.lua (Wine, the native-gate noise models), 5 seeds
--   res_wine    §3  examples/grover_resolution.lua --data=wine, N = 17..32, 64, 5 seeds
--   res_digits  §3  examples/grover_resolution.lua --data=digits, N in {17, 31, 32, 64}, 1 epoch, 5 seeds
-- Results: results/sweeps/<name>/runs.{jsonl,csv}; with --commit-data the per-seed CSVs are copied
-- to docs/results/data/<name>.csv and the summaries to docs/results/data/grover_summary.md.
local qnn = require "qnn"

local want, commit = {}, false
for _, a in ipairs(arg or {}) do
  if a == "--commit-data" then commit = true else want[a] = true end
end
local function on(p) return (next(want) == nil and not commit) or want[p] end

local STATES = "results/grover_states"
local GROVER_METRICS = {"summary.grover.test_ce", "summary.grover.test_acc", "summary.grover.test_loss_l2",
  "summary.grover.test_acc_self", "summary.adam.test_ce", "summary.adam.test_acc", "summary.adam.test_loss_l2",
  "summary.adam.test_acc_self", "summary.tuned.test_ce", "summary.tuned.test_acc", "summary.tuned.test_loss_l2",
  "summary.tuned.test_acc_self", "summary.grover.wall"}
local Ns = {}
for N = 17, 32 do Ns[#Ns + 1] = N end
Ns[#Ns + 1] = 64

-- part name -> {sweep options, by, metrics}
local PARTS = {
  -- §1 Wine: Grover (paper settings) vs the paper's Adam vs a tuned Adam
  {"wine", {name = "grover_wine", run = "examples/grover_wine.lua", seeds = 10}, {}, GROVER_METRICS},
  -- §2 Digits (the 97.7 % claim); the epoch-9 states are the start of digits_noise
  {"digits", {name = "grover_digits", run = "examples/grover_digits.lua",
    args = {"--save-epoch=9", "--save-dir=" .. STATES}, seeds = 5, workers = 2}, {}, GROVER_METRICS},
  -- §5 Digits under native-gate noise (issue 18 item 2): the last of the paper's 10 epochs, from
  -- the noiseless epoch-9 state of the same seed, under each noise model (textbook circuit)
  -- The seed is a grid key (base_seed, sorted before model) so that the runs go seed by seed and
  -- start as soon as that seed's epoch-9 state exists (--wait: the states come from `digits`).
  {"digits_noise", {name = "grover_digits_noise", run = "examples/grover_noise.lua",
    args = {"--data=digits", "--from=" .. STATES, "--from-epoch=9", "--epochs=1", "--wait=7200"},
    grid = {base_seed = {1, 2, 3, 4, 5}, model = {"none", "hw", "hw_x5"}}, seeds = {1}, seed_flag = false,
    workers = 2}, {"model"},
    {"test_acc", "test_ce", "test_acc_start", "train_loss", "p_shot_marked", "p_marked", "marked_frac", "cpu"}},
  -- §4 threshold oracle vs Durr-Hoyer on Wine
  {"oracles", {name = "grover_oracles", run = "examples/grover_oracles.lua", args = {"--part=compare"},
    grid = {oracle = {"threshold", "durr_hoyer"}}, seeds = 10}, {"oracle"},
    {"test_ce", "test_acc", "queries_per_weight", "queries_ideal_per_weight", "candidates_per_weight", "hit_rate"}},
  -- §5 Wine: depolarizing p after every gate (one hit per gate, textbook circuit), all 10 epochs
  {"wine_noise", {name = "grover_noise_wine", run = "examples/grover_noise.lua",
    grid = {p = {0, 0.001, 0.01, 0.05, 0.1}}, seeds = 10}, {"p"},
    {"p_shot_marked", "p_marked", "test_acc", "test_ce"}},
  -- §5 Wine: the native-gate noise models of the Digits run, through all 10 epochs
  {"wine_native", {name = "grover_noise_wine_native", run = "examples/grover_noise.lua",
    grid = {model = {"none", "depol", "hw", "hw_x5"}}, seeds = 5}, {"model"},
    {"p_shot_marked", "p_marked", "test_acc", "test_ce", "cpu"}},
  -- §3 resolution sweep (issue 13 item 6)
  {"res_wine", {name = "grover_resolution_wine", run = "examples/grover_resolution.lua", args = {"--data=wine"},
    grid = {N = Ns}, seeds = 5}, {"N"}, {"test_acc", "test_ce", "train_loss", "fallbacks"}},
  {"res_digits", {name = "grover_resolution_digits", run = "examples/grover_resolution.lua",
    args = {"--data=digits", "--epochs=1"}, grid = {N = {17, 31, 32, 64}}, seeds = 5}, {"N"},
    {"test_acc", "test_ce", "train_loss", "fallbacks"}},
}

local function summarise(o, by, metrics)
  local path = "results/sweeps/" .. o.name .. "/runs.jsonl"
  local f = io.open(path, "rb")
  if not f then return nil end
  f:close()
  local text = {("### %s\n"):format(o.name)}
  local sm = qnn.sweep.summary(path, {by = by, metric = metrics, print = false})
  print(sm.text)
  text[#text + 1] = "```\n" .. sm.text .. "\n```\n"
  return table.concat(text, "\n"), path
end

for _, P in ipairs(PARTS) do
  local part, o = P[1], P[2]
  if on(part) then
    o.resume = true
    o.workers = o.workers or 1
    o.threads = 1 -- OMP/OpenBLAS threads per worker (qnn.sweep would give cores / workers)
    o.out_flag = "--out"
    local r = qnn.sweep(o)
    print(("\n== %s: %d done, %d failed, %d skipped"):format(o.name, r.done, r.failed, r.skipped))
    summarise(o, P[3], P[4])
  end
end

-- --commit-data: per-seed CSVs of every sweep that has results, and one summary file
if commit then
  qnn.sys.mkdir("docs/results/data")
  local all = {"# Summaries of the Grover sweeps\n\n`bin/qnnlab scripts/sweeps_grover.lua [part]`; mean ± 95% CI " ..
    "(Student t) over seeds by qnn.sweep.summary; per-seed rows in the CSV of the same name.\n"}
  for _, P in ipairs(PARTS) do
    local text, path = summarise(P[2], P[3], P[4])
    if text then
      all[#all + 1] = text
      local f = assert(io.open(path:gsub("jsonl$", "csv"), "rb"))
      local csv = f:read("a")
      f:close()
      qnn.io.write_atomic("docs/results/data/" .. P[2].name .. ".csv", csv)
    end
  end
  qnn.io.write_atomic("docs/results/data/grover_summary.md", table.concat(all, "\n"))
end
