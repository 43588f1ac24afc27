-- A hybrid classical -> quantum -> classical network on Digits (8x8, 10 classes) against the
-- same network without the quantum layer.
--   bin/qnnlab examples/hybrid_digits.lua [--quick] [--seeds=N | --seed=N] [--epochs=N] [--qubits=6] [--out=results]
-- --seed=N runs that one seed only (for qnn.sweep; metrics acc_hybrid, acc_classical_same, acc_classical_wide).
-- Hybrid: 64 -> dense 64 x q + tanh (classical encoder) -> quantum layer (q qubits, angle
-- encoding RY(pi/2 * h_i), 2 hardware-efficient layers, <Z> of every qubit) -> dense q x 10.
-- Classical: the same without the quantum layer (64 -> q tanh -> 10). Also a wider classical
-- net with at least the hybrid's parameter count. Stratified 80/20 split, standardised pixels, Adam
-- lr 0.01, batch 32. Writes <out>/hybrid_digits.{csv,json,png} (test accuracy per epoch).
local qnn = require "qnn"
local report = qnn.report
local a = report.args(arg, { qubits = 6 })
if a.help then print("usage: hybrid_digits.lua [--quick] [--seeds=N | --seed=N] [--epochs=N] [--qubits=6] [--out=dir]") return end
local seeds = a.seeds or (a.quick and 1 or 3)
local seed_list = {}
if a.seed then seed_list = { math.tointeger(a.seed) or error("--seed must be an integer") } seeds = 1
else for s = 1, seeds do seed_list[s] = s end end
local epochs = a.epochs or (a.quick and 5 or 40)
local q = math.floor(a.qubits)
if q < 2 or q > 12 then error("--qubits must be in [2, 12]") end

local models = {
  { name = ("hybrid 64-%d-[quantum %dq]-10"):format(q, q), make = function(seed)
      return qnn.nn.sequential{ qnn.nn.dense(64, q), qnn.nn.tanh(),
        qnn.nn.quantum{ encoder = "angle", features = q, layers = 2, input_scale = math.pi / 2 },
        qnn.nn.dense(q, 10), seed = seed } end },
  { name = ("classical 64-%d-10"):format(q), make = function(seed)
      return qnn.nn.sequential{ qnn.nn.dense(64, q), qnn.nn.tanh(), qnn.nn.dense(q, 10), seed = seed } end },
}
-- the smallest classical net of this shape with at least the hybrid's parameter count
-- (64 h + h + 10 h + 10 >= P)
local hybrid_params = models[1].make(1):nparams()
local h = math.max(q + 1, math.ceil((hybrid_params - 10) / 75))
models[3] = { name = ("classical 64-%d-10"):format(h), make = function(seed)
  return qnn.nn.sequential{ qnn.nn.dense(64, h), qnn.nn.tanh(), qnn.nn.dense(h, 10), seed = seed } end }

local ds = qnn.data.load("digits")
local rows, json, curves = {}, { epochs = epochs, seeds = seed_list, qubits = q, models = {} }, {}
local metrics, keys = {}, { "acc_hybrid", "acc_classical_same", "acc_classical_wide" }
for mi, m in ipairs(models) do
  local accs, times, np = {}, {}, 0
  local mean_curve = {}
  for si, seed in ipairs(seed_list) do
    local tr, te = ds:split{ test = 0.2, seed = seed }
    tr:standardize():apply(te)
    local net = m.make(seed)
    np = net:nparams()
    local hist = qnn.train.fit(net, tr, { optimizer = qnn.optim.adam{ lr = 0.01 }, epochs = epochs, batch = 32,
      seed = seed, test = te, label = m.name })
    accs[si], times[si] = hist.test_acc[#hist.test_acc], hist.time
    for e = 1, #hist.test_acc do mean_curve[e] = (mean_curve[e] or 0) + hist.test_acc[e] / seeds end
  end
  curves[mi] = mean_curve
  metrics[keys[mi]] = report.mean_std(accs)
  local ma, sa = report.mean_std(accs)
  rows[#rows + 1] = { m.name, np, ma, sa, report.mean_std(times) }
  json.models[#json.models + 1] = { name = m.name, params = np, test_acc = accs, seconds = times, mean_test_curve = mean_curve }
  print(("%-34s %5d params  test accuracy %s  %.1f s per run"):format(m.name, np, report.pm(accs, "%.3f"), rows[#rows][5]))
end
print()
print(report.table({ "model", "params", "test acc (mean)", "std", "seconds / run" }, rows))
report.mkdir(a.out)
report.csv(a.out .. "/hybrid_digits.csv", { "model", "params", "test_acc_mean", "test_acc_std", "seconds" }, rows)
report.json(a.out .. "/hybrid_digits.json", json)
local crow = {}
for e = 1, epochs do crow[e] = { e, curves[1][e], curves[2][e], curves[3][e] } end
local ccsv = a.out .. "/hybrid_digits_curves.csv"
report.csv(ccsv, { "epoch", "hybrid", "classical_same", "classical_wide" }, crow)
report.plot{ png = a.out .. "/hybrid_digits.png", csv = ccsv, xlabel = "epoch", ylabel = "test accuracy",
  title = ("Digits: hybrid (%d qubits) vs classical, mean of %d seeds"):format(q, seeds),
  series = { { x = "epoch", y = "hybrid", title = models[1].name }, { x = "epoch", y = "classical_same", title = models[2].name },
    { x = "epoch", y = "classical_wide", title = models[3].name } } }
print("wrote " .. a.out .. "/hybrid_digits.{csv,json,png}")
qnn.sweep.result(metrics)
