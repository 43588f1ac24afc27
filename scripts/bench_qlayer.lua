-- Benchmark (not a test): quantum layers (qnn.nn.quantum).
--  1. batched forward + backward, 8 qubits, 4 layers, batch 1024, 8 outputs (Z on each qubit),
--     against the same work done sample by sample from Lua through Circuit:set + one
--     Circuit:gradient per output (the only way before the layer existed); 1 vs 2 threads;
--  2. the layer's backward against its forward (one thread);
--  3. the Iris VQC (4 qubits, 3 layers, 100 epochs, 5 seeds) on one thread: test accuracy and
--     seconds per 100 epochs.
-- Usage: bin/qnnlab scripts/bench_qlayer.lua [--quick]   (--quick: batch 256, 2 Iris seeds)
-- Targets (issue 14): >= 10x over Lua, 2 threads >= 1.8x, backward <= 3x forward, Iris >= 0.95
-- mean accuracy and <= 1 s per 100 epochs. Ratios come from the same run.
local qnn = require "qnn"

local quick = false
for _, a in ipairs(arg or {}) do if a == "--quick" then quick = true end end

local function best_of(k, f)
  local best = math.huge
  for _ = 1, k do
    local t0 = qnn.clock()
    f()
    best = math.min(best, qnn.clock() - t0)
  end
  return best
end

local function loadavg()
  local f = io.open("/proc/loadavg", "r")
  if not f then return "?" end
  local s = f:read("l")
  f:close()
  return s:match("^(%S+ %S+ %S+)")
end

print(("load average at start: %s (2-core machine shared with other jobs)"):format(loadavg()))

-- ---------------- 1 + 2: batched layer vs Lua loop ----------------
local nq, L = 8, 4
local B = quick and 256 or 1024
local rng = qnn.rng(1)
local rows = {}
for i = 1, B do
  rows[i] = {}
  for j = 1, nq do rows[i][j] = rng:uniform(-math.pi, math.pi) end
end
local X = qnn.tensor.from(rows)
local drows = {}
for i = 1, B do
  drows[i] = {}
  for j = 1, nq do drows[i][j] = rng:normal() end
end
local D = qnn.tensor.from(drows)

local function layer_net(threads)
  return qnn.nn.sequential{ qnn.nn.quantum{ encoder = "angle", features = nq, layers = L, threads = threads }, seed = 3 }
end
local net1, net2 = layer_net(1), layer_net(2)
local function fwd_bwd(net)
  return function()
    net:forward(X)
    net:backward_output(D)
  end
end
local reps = quick and 3 or 7
-- 1 and 2 threads interleaved (best of reps each), so a change in the machine's load hits both
local t1, t2, c1, c2 = math.huge, math.huge, 0, 0
for _ = 1, reps do
  local c0, w0 = os.clock(), qnn.clock()
  fwd_bwd(net1)()
  t1, c1 = math.min(t1, qnn.clock() - w0), c1 + (os.clock() - c0) / reps
  c0, w0 = os.clock(), qnn.clock()
  fwd_bwd(net2)()
  t2, c2 = math.min(t2, qnn.clock() - w0), c2 + (os.clock() - c0) / reps
end
local tf = best_of(reps, function() net1:forward(X) end)
net1:forward(X)
local tb = best_of(reps, function() net1:backward_output(D) end)

-- the same circuit and weights as a bare Circuit, driven from Lua
local info = qnn.nn.quantum_info(net1, 1)
-- exact rebuild of the layer's circuit: encoder once, then L ansatz layers
local c = qnn.circuit(nq)
for i = 1, nq do c:ry(i - 1, "x" .. i) end
for l = 1, L do
  for q = 0, nq - 1 do
    c:ry(q, ("w_%d_%d_y"):format(l, q))
    c:rz(q, ("w_%d_%d_z"):format(l, q))
  end
  for q = 0, nq - 2 do c:cx(q, q + 1) end
  c:cx(nq - 1, 0)
end
local vals = {}
for name, v in pairs(info.values) do vals[name] = v end
local obs = {}
for q = 0, nq - 1 do obs[q + 1] = string.rep("I", q) .. "Z" end
local wnames = {}
for name in pairs(info.values) do wnames[#wnames + 1] = name end
table.sort(wnames)
local function lua_loop()
  local gw = {}
  for _, n in ipairs(wnames) do gw[n] = 0 end
  local Y, din = {}, {}
  for i = 1, B do
    local x = rows[i]
    for j = 1, nq do vals["x" .. j] = x[j] end
    c:set(vals)
    local d = drows[i]
    local yi, di = {}, {}
    for j = 1, nq do di[j] = 0 end
    for k = 1, nq do
      local v, g = c:gradient(obs[k])
      yi[k] = v
      for _, n in ipairs(wnames) do gw[n] = gw[n] + d[k] * g[n] end
      for j = 1, nq do di[j] = di[j] + d[k] * g["x" .. j] end
    end
    Y[i], din[i] = yi, di
  end
  return Y, gw
end
local tl = best_of(1, lua_loop)

-- the two give the same numbers
local Y, gw = lua_loop()
local Yl = net1:forward(X)
net1:backward_output(D)
local worst = 0
for i = 1, B, math.max(1, B // 64) do
  for k = 1, nq do worst = math.max(worst, math.abs(Y[i][k] - Yl:get(i, k))) end
end
local g = net1:grads():totable()
local pn = c:param_names() -- x1..x8, then the weights in the layer's order
for k = 1, #g do worst = math.max(worst, math.abs(g[k] - gw[pn[nq + k]])) end

print()
print(("### Quantum layer, %d qubits, %d layers, batch %d, %d outputs (forward + backward)"):format(nq, L, B, nq))
print()
print("| run | seconds (best) | ratio | CPU seconds (mean) |")
print("| --- | ---: | ---: | ---: |")
print(("| Lua loop: Circuit:set + %d x Circuit:gradient per sample | %.4f | 1 | |"):format(nq, tl))
print(("| qnn.nn.quantum, 1 thread | %.4f | %.1fx vs Lua | %.4f |"):format(t1, tl / t1, c1))
print(("| qnn.nn.quantum, 2 threads | %.4f | %.2fx vs 1 thread | %.4f |"):format(t2, t1 / t2, c2))
print(("| forward only, 1 thread | %.4f | | |"):format(tf))
print(("| backward only, 1 thread | %.4f | %.2fx forward | |"):format(tb, tb / tf))
print(("(layer and Lua loop agree to %.1e)"):format(worst))

-- ---------------- 3: Iris VQC ----------------
local ds = qnn.data.load("iris")
local seeds = quick and 2 or 5
local accs, times = {}, {}
for seed = 1, seeds do
  local tr, te = ds:split{ test = 0.2, seed = seed }
  tr:standardize():apply(te)
  local net = qnn.nn.sequential{
    qnn.nn.quantum{ encoder = "angle", features = 4, layers = 3, input_scale = 0.5, threads = 1 },
    qnn.nn.dense(4, 3), seed = seed }
  local h = qnn.train.fit(net, tr, { optimizer = qnn.optim.adam{ lr = 0.05 }, epochs = 100, batch = 16,
    seed = seed, progress = false })
  accs[seed] = net:evaluate(te.X, te.y).accuracy
  times[seed] = h.time
end
local ma, mt = 0, 0
for i = 1, seeds do ma, mt = ma + accs[i], mt + times[i] end
ma, mt = ma / seeds, mt / seeds
print()
print(("### Iris VQC (4 qubits, 3 layers, 100 epochs, batch 16, 1 thread), %d seeds"):format(seeds))
print()
print(("test accuracy mean %.3f (per seed %s); seconds per 100 epochs mean %.3f"):format(ma,
  table.concat((function() local t = {} for i, a in ipairs(accs) do t[i] = ("%.3f"):format(a) end return t end)(), " "), mt))
print()
local function verdict(ok) return ok and "met" or "NOT met" end
print(("targets: >= 10x vs Lua: %s (%.1fx); 2 threads >= 1.8x: %s (%.2fx); backward <= 3x forward: %s (%.2fx); " ..
  "Iris >= 0.95: %s (%.3f); <= 1 s / 100 epochs: %s (%.3f s)"):format(
  verdict(tl / t1 >= 10), tl / t1, verdict(t1 / t2 >= 1.8), t1 / t2, verdict(tb / tf <= 3), tb / tf,
  verdict(ma >= 0.95), ma, verdict(mt <= 1), mt))
print(("load average at end: %s"):format(loadavg()))
