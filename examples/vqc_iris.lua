-- A variational quantum classifier (VQC) on Iris against an MLP of similar parameter count.
--   bin/qnnlab examples/vqc_iris.lua [--quick] [--seeds=N | --seed=N] [--epochs=N] [--out=results]
-- --seed=N runs that one seed only (for qnn.sweep; metrics acc_vqc_head, acc_vqc_nohead, acc_mlp).
-- VQC: 4 features -> angle encoding (RY, angle = 0.5 * standardised feature) on 4 qubits ->
-- 3 hardware-efficient layers (RY, RZ per qubit, CX ring; 24 weights) -> <Z> of each qubit ->
-- dense 4 -> 3 (15) -> softmax cross-entropy: 39 parameters. "VQC (no head)": <Z> of qubits
-- 0..2 used directly as the 3 logits (24 parameters). MLP: 4-5-3 ReLU (43 parameters).
-- All: Adam lr 0.05, batch 16, 100 epochs, stratified 80/20 split and initialisation seeded
-- per seed; standardised on the training statistics.
-- Writes <out>/vqc_iris.{csv,json,png}.
local qnn = require "qnn"
local report = qnn.report
local a = report.args(arg)
if a.help then print("usage: vqc_iris.lua [--quick] [--seeds=N | --seed=N] [--epochs=N] [--out=dir]") return end
local seeds = a.seeds or (a.quick and 2 or 5)
local seed_list = {}
if a.seed then seed_list = { math.tointeger(a.seed) or error("--seed must be an integer") } seeds = 1
else for s = 1, seeds do seed_list[s] = s end end
local epochs = a.epochs or (a.quick and 30 or 100)

local models = {
  { name = "VQC + linear head", key = "acc_vqc_head", make = function(seed)
      return qnn.nn.sequential{ qnn.nn.quantum{ encoder = "angle", features = 4, layers = 3, input_scale = 0.5 },
        qnn.nn.dense(4, 3), seed = seed } end },
  { name = "VQC (no head)", key = "acc_vqc_nohead", make = function(seed)
      return qnn.nn.sequential{ qnn.nn.quantum{ encoder = "angle", features = 4, layers = 3, input_scale = 0.5,
        outputs = { "ZIII", "IZII", "IIZI" } }, seed = seed } end },
  { name = "MLP 4-5-3", key = "acc_mlp", make = function(seed) return qnn.nn.mlp{ 4, 5, 3, seed = seed } end },
}

local ds = qnn.data.load("iris")
local rows, json, metrics = {}, { epochs = epochs, seeds = seed_list, models = {} }, {}
for _, m in ipairs(models) do
  local accs, times, curves, np = {}, {}, {}, 0
  for si, seed in ipairs(seed_list) do
    local tr, te = ds:split{ test = 0.2, seed = seed }
    tr:standardize():apply(te)
    local net = m.make(seed)
    np = net:nparams()
    local h = qnn.train.fit(net, tr, { optimizer = qnn.optim.adam{ lr = 0.05 }, epochs = epochs, batch = 16,
      seed = seed, test = te, progress = false, label = m.name })
    accs[si] = net:evaluate(te.X, te.y).accuracy
    times[si] = h.time
    curves[si] = h.test_acc
  end
  metrics[m.key] = report.mean_std(accs)
  local ma, sa = report.mean_std(accs)
  local mt = report.mean_std(times)
  rows[#rows + 1] = { m.name, np, ma, sa, mt }
  json.models[#json.models + 1] = { name = m.name, params = np, test_acc = accs, seconds = times, test_curves = curves }
  print(("%-20s %3d params  test accuracy %s  %.3f s per run"):format(m.name, np, report.pm(accs, "%.3f"), mt))
end
print()
print(report.table({ "model", "params", "test acc (mean)", "std", "seconds / run" }, rows))
report.mkdir(a.out)
report.csv(a.out .. "/vqc_iris.csv", { "model", "params", "test_acc_mean", "test_acc_std", "seconds" }, rows)
report.json(a.out .. "/vqc_iris.json", json)
local labels, vals, errs = {}, { {} }, { {} }
for i, r in ipairs(rows) do
  labels[i], vals[1][i], errs[1][i] = ("%s (%d)"):format(r[1], r[2]), r[3], r[4]
end
report.bars{ png = a.out .. "/vqc_iris.png", labels = labels, groups = { "test accuracy" }, values = vals, errors = errs,
  title = ("Iris, %d seeds, %d epochs"):format(seeds, epochs), ylabel = "test accuracy", ymin = 0.5, ymax = 1.02 }
print("wrote " .. a.out .. "/vqc_iris.{csv,json,png}")
qnn.sweep.result(metrics)
