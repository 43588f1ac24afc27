-- Benchmark of Method 1's hot path (not a test). Run single-threaded:
--   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bin/qnnlab scripts/bench_grover.lua [--epoch] [--kernels]
-- Prints, for the Digits 64-64-32-16-10 net (1,437 training images, paper resolution 32/64),
-- the time per weight of the incremental candidate evaluation and of the naive baseline (one
-- full forward pass per candidate, qnn's own Net forward), their ratio, the projected epoch
-- time, and with --epoch the measured time of one full Grover epoch (threshold oracle, paper
-- settings). --kernels repeats the incremental part in child processes for every hot-path
-- kernel (QNN_GOPT_KERNEL=blas: the original dgemm path; generic/avx2/avx512: the fused
-- kernel's builds; unavailable ones fail and are skipped). All times are process CPU time
-- (os.clock), not wall time: the machine is shared, compare the ratios.
local qnn = require "qnn"
local do_epoch, kernels, child = false, false, false
for _, a in ipairs(arg or {}) do
  if a == "--epoch" then do_epoch = true end
  if a == "--kernels" then kernels = true end
  if a == "--child" then child = true end
end
local ds = qnn.data.load("digits")
local tr = ds:split {test = 0.2, seed = 42}
tr:standardize()
local function D(i, o) return qnn.nn.dense(i, o, {bias = false, init = "uniform(-1,1)"}) end
local function mknet()
  return qnn.nn.sequential {D(64, 64), qnn.nn.tanh(), D(64, 32), qnn.nn.tanh(), D(32, 16),
    qnn.nn.tanh(), D(16, 10), qnn.nn.softmax(), seed = 1}
end
local kname = os.getenv("QNN_GOPT_KERNEL") or "auto"

-- incremental time per weight for each layer (median-free: best of 3 timed blocks)
local function incremental(T)
  local res = {}
  for layer = 1, 4 do
    local nin, nout = T:shape(layer)
    local N = layer == 4 and 64 or 32
    local w = {}
    for c = 1, N do w[c] = -1 + 2 * (c - 1) / (N - 1) end
    local reps = layer == 1 and 30 or 50
    local best = math.huge
    for _ = 1, 3 do
      local t0 = os.clock()
      for r = 1, reps do T:candidates(layer, 1 + r % nin, 1 + (r * 7) % nout, w) end
      best = math.min(best, (os.clock() - t0) / reps)
    end
    res[layer] = {t = best, nw = nin * nout, nin = nin, nout = nout, N = N}
  end
  return res
end

local net = mknet()
local T = qnn.optim.grover_trainer(net, tr.X, tr.y)
local inc = incremental(T)
if child then
  local parts = {}
  for l = 1, 4 do parts[l] = string.format("%.6f", inc[l].t) end
  print("RESULT " .. table.concat(parts, " "))
  T:close()
  return
end
print(string.format("Digits 64-64-32-16-10, %d training samples, OPENBLAS_NUM_THREADS=%s, kernel %s",
  #tr, os.getenv("OPENBLAS_NUM_THREADS") or "(unset)", kname))
local total_inc, total_naive = 0, 0
for layer = 1, 4 do
  local nin, nout, N = inc[layer].nin, inc[layer].nout, inc[layer].N
  local w = {}
  for c = 1, N do w[c] = -1 + 2 * (c - 1) / (N - 1) end
  local nr = 3
  local t0 = os.clock()
  for r = 1, nr do T:candidates_naive(layer, 1 + r % nin, 1 + r % nout, w) end
  local tn = (os.clock() - t0) / nr
  local ti = inc[layer].t
  total_inc = total_inc + ti * inc[layer].nw
  total_naive = total_naive + tn * inc[layer].nw
  print(string.format("layer %d (%2dx%2d, N=%2d): incremental %7.3f ms/weight CPU, naive full forward %7.2f ms/weight CPU, speed-up %6.1fx",
    layer, nin, nout, N, 1e3 * ti, 1e3 * tn, tn / ti))
end
print(string.format("projected candidate evaluation per epoch (CPU): incremental %.2f s, naive %.1f s (speed-up %.1fx)",
  total_inc, total_naive, total_naive / total_inc))
T:close()

if kernels and arg[-1] then
  print("per kernel (child processes, QNN_GOPT_KERNEL=...), projected candidate evaluation per epoch, CPU:")
  local base
  for _, k in ipairs {"blas", "generic", "avx2", "avx512"} do
    local cmd = string.format("QNN_GOPT_KERNEL=%s OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 %q %q --child 2>&1",
      k, arg[-1], arg[0])
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    local t = {}
    for v in (out:match("RESULT ([%d%.%s]+)") or ""):gmatch("[%d%.]+") do t[#t + 1] = tonumber(v) end
    if #t == 4 then
      local tot = 0
      for l = 1, 4 do tot = tot + t[l] * inc[l].nw end
      base = base or tot
      print(string.format("  %-8s layer1 %6.3f  layer2 %6.3f  layer3 %6.3f  layer4 %6.3f ms/weight  epoch %6.2f s  (%.2fx vs blas)",
        k, 1e3 * t[1], 1e3 * t[2], 1e3 * t[3], 1e3 * t[4], tot, base / tot))
    else
      print(string.format("  %-8s not available here", k))
    end
  end
end

if do_epoch then
  local n2 = mknet()
  local t0, c0 = qnn.clock(), os.clock()
  local r = qnn.optim.grover {net = n2, data = tr, epochs = 1, seed = 1, track_circuit = false}
  print(string.format("one full Grover epoch (threshold oracle, 1024 shots, resolution 32/64, kernel %s): %.2f s CPU, %.1f s wall (%d weights, %d candidate losses, %d accepted)",
    kname, os.clock() - c0, qnn.clock() - t0, r.total.weights, r.total.candidates, r.total.accepted))
end
