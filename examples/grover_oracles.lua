-- Threshold oracle (the paper's: needs L_min in advance) vs honest Durr-Hoyer minimum finding,
-- and the oracle-query scaling of Durr-Hoyer with the number of candidates N (√N vs the N
-- loss evaluations of a classical exhaustive search).
--   bin/qnnlab examples/grover_oracles.lua [--quick] [--seeds=N] [--out=results]
-- One run (for qnn.sweep): --part=compare --oracle=threshold|durr_hoyer --seed=S writes that
-- run's metrics as JSON to --out (the comparison table only; the scaling part is one seed).
-- Queries are oracle applications: "as run" = iterations x shots; "ideal" = iterations of a
-- single-shot run (Durr-Hoyer always measures one shot per attempt, so both agree there).
local qnn = require "qnn"
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "examples"
local C = dofile(dir .. "/grover_common.lua")
local argv, part, only = {}, "all", nil
for _, s in ipairs(arg or {}) do
  if s:match("^%-%-part=") then part = s:match("=(.*)$")
  elseif s:match("^%-%-oracle=") then only = s:match("=(.*)$")
  else argv[#argv + 1] = s end
end
local a = C.args(argv)
if part ~= "all" and part ~= "compare" and part ~= "scaling" then error("--part must be all, compare or scaling") end
local seeds = a.seeds or (a.quick and 2 or 3)
local epochs = a.epochs or (a.quick and 5 or 10)
C.mkdir(a.out)
local tr, te = C.load("wine")
local t0 = qnn.clock()

-- 1. accuracy / loss / queries of the two oracles on Wine (textbook circuit)
local rows, csv = {}, {}
for _, oracle in ipairs(only and {only} or {"threshold", "durr_hoyer"}) do
  if part == "scaling" then break end
  local ce, acc, qrun, qideal, hits, wall = {}, {}, {}, {}, {}, {}
  local weights, cands
  for seed = (a.seed or 1), (a.seed or 1) + seeds - 1 do
    local net = C.net({13, 32, 3}, seed)
    local t1 = qnn.clock()
    local r = qnn.optim.grover {net = net, data = tr, test = te, epochs = epochs, seed = seed,
                                oracle = oracle, track_circuit = false}
    local last = r.history[#r.history]
    ce[#ce + 1], acc[#acc + 1] = last.test_ce, last.test_acc
    qrun[#qrun + 1] = r.total.queries / r.total.weights
    qideal[#qideal + 1] = r.total.queries_ideal / r.total.weights
    hits[#hits + 1] = r.total.hits / r.total.searches
    wall[#wall + 1] = qnn.clock() - t1
    weights, cands = r.total.weights, r.total.candidates
    csv[#csv + 1] = {oracle = oracle, seed = seed, test_ce = last.test_ce, test_acc = last.test_acc,
                     queries_per_weight = qrun[#qrun], queries_ideal_per_weight = qideal[#qideal],
                     candidates_per_weight = cands / weights, hit_rate = hits[#hits]}
    if only and a.seed then -- one sweep run: its metrics as JSON
      qnn.report.json(("%s/grover_oracles_%s_s%d.json"):format(a.out, oracle, seed), csv[#csv])
    end
  end
  rows[#rows + 1] = {oracle, C.pm(ce), C.pm(acc), string.format("%.1f", (C.mean_std(qrun))),
                     string.format("%.2f", (C.mean_std(qideal))), string.format("%.0f", cands / weights),
                     C.pm(hits, "%.3f"), string.format("%.2f", (C.mean_std(wall)))}
end
if part ~= "scaling" then
print(string.format("Wine 13-32-3, %d epochs, %d seeds, resolution 32 hidden / 64 output:", epochs, seeds))
C.table({"oracle", "test CE", "test acc", "queries/weight (as run)", "queries/weight (1 shot)",
         "classical evals/weight", "chosen = marked/arg-min", "wall s"}, rows)
end
if #csv > 0 and not (only and a.seed) then
  C.write_csv(a.out .. "/grover_oracles.csv", {"oracle", "seed", "test_ce", "test_acc",
    "queries_per_weight", "queries_ideal_per_weight", "candidates_per_weight", "hit_rate"}, csv)
end
if part == "compare" then return end

-- 2. Durr-Hoyer queries per weight vs N (one epoch on Wine at resolution N for every layer)
local Ns = a.quick and {8, 32, 128, 512} or {8, 16, 32, 64, 128, 256, 512, 1024}
local srows, scsv = {}, {}
for _, N in ipairs(Ns) do
  local net = C.net({13, 32, 3}, 1)
  local r = qnn.optim.grover {net = net, data = tr, epochs = 1, seed = 1, oracle = "durr_hoyer",
                              resolution = N, track_circuit = false}
  local q = r.total.queries / r.total.weights
  local n = math.ceil(math.log(N, 2) - 1e-9)
  local S = 1 << n
  local row = {N = N, register = S, dh_queries = q, dh_hit_rate = r.total.hits / r.total.searches,
               classical = N, sqrtN = math.sqrt(S), bound = 22.5 * math.sqrt(S),
               rounds = r.total.shots / r.total.weights,
               to_best = r.total.queries_to_best / r.total.weights}
  scsv[#scsv + 1] = row
  srows[#srows + 1] = {tostring(N), string.format("%.1f", q), string.format("%.1f", row.rounds),
                       string.format("%.1f", q / math.sqrt(S)), string.format("%.1f", 22.5 * math.sqrt(S)),
                       string.format("%.1f", row.to_best), string.format("%.3f", row.dh_hit_rate)}
end
print("\nDurr-Hoyer per weight vs the number of candidates (classical exhaustive search: N loss evaluations):")
C.table({"N", "oracle queries", "attempts (1 shot each)", "queries/√N", "budget 22.5√N", "queries until best (diagnostic)", "found arg-min"}, srows)
local scsvf = a.out .. "/grover_oracles_scaling.csv"
C.write_csv(scsvf, {"N", "classical", "dh_queries", "bound", "to_best", "sqrtN", "rounds", "dh_hit_rate", "register"}, scsv)
C.plot(a.out .. "/grover_oracles_scaling.png", scsvf, "Oracle queries per weight vs candidates N (Wine)",
  "N", "queries", {{col = 2, title = "classical exhaustive (N)"}, {col = 3, title = "Durr-Hoyer (measured)"},
                   {col = 4, title = "22.5 sqrt(N) budget"},
                   {col = 5, title = "queries until the best was measured"}}, true, true)
print(string.format("wrote %s/grover_oracles.csv, grover_oracles_scaling.{csv,png}; total %.1f s", a.out, qnn.clock() - t0))
