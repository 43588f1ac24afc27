-- Short trainings of every method; prints one line per method with its numbers in hex floats
-- (%a: exact bits). tests/sh/determinism.sh runs this under several OMP_NUM_THREADS /
-- OPENBLAS_NUM_THREADS settings and requires identical lines. Usage:
--   bin/qnnlab tests/sh/determinism.lua [method ...]   (default: all)
-- methods: blas grover anneal sa nq qt_classify qt_big rl
local qnn = require "qnn"
local want = {}
for _, a in ipairs(arg or {}) do want[a] = true end
local function on(name) return next(want) == nil or want[name] end

-- exact fingerprint of a list of numbers: count, first values and a 64-bit FNV-1a hash of %a
local function fp(t)
  local h = 0xcbf29ce484222325
  for i = 1, #t do
    local s = type(t[i]) == "number" and string.format("%a", t[i]) or tostring(t[i])
    for k = 1, #s do h = ((h ~ s:byte(k)) * 0x100000001b3) end
  end
  local head = {}
  for i = 1, math.min(3, #t) do
    head[i] = type(t[i]) == "number" and string.format("%a", t[i]) or tostring(t[i]):sub(1, 24)
  end
  return string.format("n=%d %s h=%016x", #t, table.concat(head, " "), h)
end
local function tlist(T)
  local out = {}
  local t = T:totable()
  for _, row in ipairs(t) do
    if type(row) == "table" then for _, v in ipairs(row) do out[#out + 1] = v end
    else out[#out + 1] = row end
  end
  return out
end
local function params(net)
  local p = net:params()
  local out = {}
  for i = 1, p:shape() do out[i] = p:get(i) end
  return out
end
local function emit(name, t) print(name .. " " .. fp(t)) end

-- matrix products large enough to be cut into row blocks (qnn/blas.h): A B, and a dense layer's
-- backward (dW = X^T dZ, dX = dZ W^T) on 600 rows
if on("blas") then
  local A = qnn.tensor.uniform(600, 147, -1, 1, {seed = 1})
  local B = qnn.tensor.uniform(147, 80, -1, 1, {seed = 2})
  local out = tlist(A:matmul(B))
  local net = qnn.nn.sequential {qnn.nn.dense(147, 80), qnn.nn.tanh(), qnn.nn.dense(80, 300), qnn.nn.softmax(), seed = 3}
  local y = {}
  for i = 1, 600 do y[i] = 1 + i % 300 end
  out[#out + 1] = net:backward(A, y, "cross_entropy")
  for _, v in ipairs(tlist(net:grads())) do out[#out + 1] = v end
  emit("blas", out)
end

-- Grover-search weight optimisation on Wine: one epoch of a 13-8-3 net
if on("grover") then
  local ds = qnn.data.load("wine")
  local tr = ds:split {test = 0.3, seed = 1}
  tr:standardize()
  local net = qnn.nn.sequential {qnn.nn.dense(13, 8), qnn.nn.tanh(), qnn.nn.dense(8, 3), qnn.nn.softmax(), seed = 2}
  local r = qnn.optim.grover {net = net, data = tr, epochs = 1, seed = 3, track_circuit = false}
  local out = params(net)
  out[#out + 1] = r.total.accepted
  out[#out + 1] = r.total.queries
  emit("grover", out)
end

-- quantum-annealing training of a tiny Ising net (SA reads in parallel), then SQA
if on("anneal") then
  local r = qnn.rng(5)
  local X, y = {}, {}
  for i = 1, 40 do
    local a, b = r:uniform(-1, 1), r:uniform(-1, 1)
    X[i] = {a, b}
    y[i] = (a + 0.5 * b > 0) and 2 or 1
  end
  local d = {X = qnn.tensor(X), y = y}
  local out = {}
  for _, sampler in ipairs {"sa", "sqa"} do
    local tr = qnn.optim.anneal {sizes = {2, 4, 2}, sampler = sampler, sweeps = 30, reads = 4, eta = 0.05,
      batch = 8, seed = 11}
    local h = tr:fit(d, {epochs = 2, progress = false})
    local p = tr.net:params()
    for _, v in ipairs(type(p) == "table" and p or tlist(p)) do out[#out + 1] = v end
    for _, v in ipairs(h.train_error) do out[#out + 1] = v end
  end
  emit("anneal", out)
end

-- qnn.ising.sample with several reads (SA, SQA)
if on("sa") then
  local r = qnn.rng(7)
  local h, J = {}, {}
  for i = 1, 120 do
    h[i] = r:normal() * 0.2
    for _ = 1, 3 do
      local j = r:int(1, 120)
      if j ~= i then J[#J + 1] = {i, j, r:normal()} end
    end
  end
  local m = qnn.ising.model {n = 120, h = h, J = J}
  local out = {}
  for _, o in ipairs {{sampler = "sa", reads = 9, sweeps = 200, seed = 1},
                      {sampler = "sqa", reads = 5, sweeps = 40, slices = 8, seed = 2}} do
    local s = qnn.ising.sample(m, o)
    out[#out + 1] = s.flips
    for k = 1, #s do
      out[#out + 1] = s[k].energy
      out[#out + 1] = table.concat(s[k].spins, ",")
    end
  end
  emit("sa", out)
end

-- natural quantization: 2 steps of training with qubit activations, then a 15-shot vote
if on("nq") then
  local net = qnn.nn.sequential {qnn.nn.dense(20, 16), qnn.nn.qubit_activation {}, qnn.nn.dense(16, 16),
    qnn.nn.qubit_activation {}, qnn.nn.dense(16, 4), qnn.nn.softmax(), seed = 4}
  local X = qnn.tensor.uniform(400, 20, -1, 1, {seed = 6})
  local y = {}
  for i = 1, 400 do y[i] = 1 + (i % 4) end
  local opt = qnn.optim.adam {lr = 1e-2}
  local rng = qnn.rng(8)
  for _ = 1, 2 do
    net:backward(X, y, "cross_entropy", {rng = rng})
    opt:step(net)
  end
  local out = params(net)
  for _, v in ipairs(net:predict(X, {shots = 15, seed = 9})) do out[#out + 1] = v end
  emit("nq", out)
end

-- DiffQAS-QT classify: a 12-candidate ensemble generating a small net, 3 Adam steps
local function qt_run(name, widths, ds_name, depth, steps, pool_n)
  local ds = qnn.data.load(ds_name)
  local tr = ds:split {test = 0.5, seed = 1}
  tr:standardize()
  local layers = {}
  for i = 1, #widths - 1 do
    layers[#layers + 1] = qnn.nn.dense(widths[i], widths[i + 1])
    if i < #widths - 1 then layers[#layers + 1] = qnn.nn.relu() end
  end
  layers.seed = 5
  local net = qnn.nn.sequential(layers)
  local pool = qnn.diffqas.pool()
  if pool_n then pool = {table.unpack(pool, 1, pool_n)} end
  local q = qnn.nn.quantum_train {target = net, depth = depth, pool = pool, seed = 6}
  local h = qnn.diffqas.train(q, {train = tr, epochs = 1, batch = 100, max_steps = steps,
    optimizer = qnn.optim.adam {lr = 1e-2}, seed = 7})
  local out = params(net)
  for _, v in ipairs(h.step_loss) do out[#out + 1] = v end
  emit(name, out)
  q:close()
end
if on("qt_classify") then qt_run("qt_classify", {13, 16, 3}, "wine", 4, 3) end
-- 15 qubits (19,210 weights): the state-vector kernels' parallel loops and reductions
if on("qt_big") then qt_run("qt_big", {64, 256, 10}, "digits", 2, 2, 3) end

-- DiffQAS RL: the example, a few updates of each model; its final weights (--dump_params) and
-- per-episode CSV (no timings)
if on("rl") then
  local out = os.tmpname()
  local cmd = string.format("QNN_QUIET=1 %q examples/diffqas_rl.lua --envs=5 --updates=10 " ..
    "--models=classical,diffqas,single --plots=false --out=%q --dump_params=%q", arg[-1], out, out .. ".params")
  local ok = os.execute(cmd .. " >/dev/null")
  assert(ok, "diffqas_rl.lua failed")
  local rows = {}
  for _, ext in ipairs {".params", "_episodes.csv"} do
    local f = assert(io.open(out .. ext))
    for line in f:lines() do rows[#rows + 1] = line end
    f:close()
  end
  emit("rl", rows)
  for _, ext in ipairs {".json", ".csv", "_episodes.csv", ".params"} do os.remove(out .. ext) end
  os.remove(out)
end
