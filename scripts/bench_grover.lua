-- Benchmark of Method 1's hot path (not a test). Run single-threaded:
--   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bin/qnnlab scripts/bench_grover.lua [--epoch]
-- Prints, for the Digits 64-64-32-16-10 net (1,437 training images, paper resolution 32/64),
-- the time per weight of the incremental candidate evaluation and of the naive baseline (one
-- full forward pass per candidate, qnn's own Net forward), their ratio, the projected epoch
-- time, and with --epoch the measured time of one full Grover epoch (threshold oracle, paper
-- settings). Timings on a shared machine are noisy: compare the ratios.
local qnn = require "qnn"
local do_epoch = false
for _, a in ipairs(arg or {}) do if a == "--epoch" then do_epoch = true end end
local ds = qnn.data.load("digits")
local tr = ds:split {test = 0.2, seed = 42}
tr:standardize()
local function D(i, o) return qnn.nn.dense(i, o, {bias = false, init = "uniform(-1,1)"}) end
local function mknet()
  return qnn.nn.sequential {D(64, 64), qnn.nn.tanh(), D(64, 32), qnn.nn.tanh(), D(32, 16),
    qnn.nn.tanh(), D(16, 10), qnn.nn.softmax(), seed = 1}
end
local net = mknet()
local T = qnn.optim.grover_trainer(net, tr.X, tr.y)
print(string.format("Digits 64-64-32-16-10, %d training samples, OPENBLAS_NUM_THREADS=%s",
  #tr, os.getenv("OPENBLAS_NUM_THREADS") or "(unset)"))
local total_inc, total_naive = 0, 0
for layer = 1, 4 do
  local nin, nout = T:shape(layer)
  local N = layer == 4 and 64 or 32
  local w = {}
  for c = 1, N do w[c] = -1 + 2 * (c - 1) / (N - 1) end
  local reps = layer == 1 and 40 or 60
  local t0 = os.clock()
  for r = 1, reps do T:candidates(layer, 1 + r % nin, 1 + (r * 7) % nout, w) end
  local ti = (os.clock() - t0) / reps
  local nr = 3
  t0 = os.clock()
  for r = 1, nr do T:candidates_naive(layer, 1 + r % nin, 1 + r % nout, w) end
  local tn = (os.clock() - t0) / nr
  local nw = nin * nout
  total_inc = total_inc + ti * nw
  total_naive = total_naive + tn * nw
  print(string.format("layer %d (%2dx%2d, N=%2d): incremental %7.2f ms/weight CPU, naive full forward %7.2f ms/weight CPU, speed-up %6.1fx",
    layer, nin, nout, N, 1e3 * ti, 1e3 * tn, tn / ti))
end
print(string.format("projected candidate evaluation per epoch (CPU): incremental %.1f s, naive %.1f s (speed-up %.1fx)",
  total_inc, total_naive, total_naive / total_inc))
T:close()
if do_epoch then
  local n2 = mknet()
  local t0, c0 = qnn.clock(), os.clock()
  local r = qnn.optim.grover {net = n2, data = tr, epochs = 1, seed = 1, track_circuit = false}
  print(string.format("one full Grover epoch (threshold oracle, 1024 shots, resolution 32/64): %.1f s CPU, %.1f s wall (%d weights, %d candidate losses)",
    os.clock() - c0, qnn.clock() - t0, r.total.weights, r.total.candidates))
end
