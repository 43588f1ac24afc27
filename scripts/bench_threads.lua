-- Benchmark (not a test) of the parallel parts inside one run, 1 thread vs 2 threads in the same
-- process (qnn.threads), wall time (qnn.clock), best of --reps runs each:
--   SA: 2000 spins (sparse Gaussian couplings, ~8 per spin), 32 reads x 1000 sweeps;
--       target 2 threads >= 1.8x faster, identical energies.
--   Grover: one epoch on Digits (64-64-32-16-10, paper resolution 32/64, threshold oracle);
--       target 2 threads >= 1.6x faster, identical weights.
--   NQ: 15-shot vote of net:predict, 784-256-256-10 with two qubit-activation layers, 2,000
--       MNIST-sized rows; identical labels (no target in the issue; 1.6x shown for reference).
-- Run: bin/qnnlab scripts/bench_threads.lua [--reps=2] [--skip=sa,grover,nq]  (or `make bench
-- BENCH=threads`). The machine may be shared: the load average is printed; compare ratios. On a
-- loaded machine set OMP_WAIT_POLICY=passive (spinning OpenMP threads wait a time slice for each
-- other at every Grover weight).
-- Exits non-zero only if results differ between thread counts (speed targets are reported).
local qnn = require "qnn"
local reps, skip = 2, {}
for _, a in ipairs(arg or {}) do
  local v = a:match("^%-%-reps=(%d+)$")
  if v then reps = tonumber(v) end
  local s = a:match("^%-%-skip=(.+)$")
  if s then for w in s:gmatch("[^,]+") do skip[w] = true end end
end

local function loadavg()
  local f = io.open("/proc/loadavg")
  if not f then return "?" end
  local l = f:read("l")
  f:close()
  return l:match("^(%S+ %S+ %S+)")
end

local function hex(t)
  local parts = {}
  for i = 1, #t do parts[i] = string.format("%a", t[i]) end
  return table.concat(parts, ",")
end

-- times fn() with n threads: best wall time of `reps` runs (and the process CPU time of that
-- run, all threads), and the result's fingerprint
local function timed(n, fn)
  qnn.threads(n)
  local best, cpu, fp = math.huge, 0, nil
  for _ = 1, reps do
    local t0, c0 = qnn.clock(), os.clock()
    local f = fn()
    local w = qnn.clock() - t0
    if w < best then best, cpu = w, os.clock() - c0 end
    assert(fp == nil or fp == f, "results differ between repetitions")
    fp = f
  end
  return {wall = best, cpu = cpu}, fp
end

local start_threads = qnn.threads()
print(string.format("bench_threads: %d cores (OMP start value %d), best of %d, load average %s (shared machine)",
  start_threads, start_threads, reps, loadavg()))
print("  (cpu = process CPU time of all threads; on a loaded machine the wall-time speed-up is capped by the")
print("   free cores, while cpu(2)/cpu(1) near 1 shows the work divides without overhead)")
do
  local l1 = tonumber((loadavg():match("^(%S+)")))
  if l1 and l1 > start_threads - 0.5 and (os.getenv("OMP_WAIT_POLICY") or ""):lower() ~= "passive" then
    print(("  note: load %.1f on %d cores and libgomp's default (spinning) wait policy: the 2-thread Grover"):format(l1, start_threads))
    print("  run can be many times slower; run with OMP_WAIT_POLICY=passive (docs/performance.md, Threads)")
  end
end
local ok = true
local function report(name, target, a, f1, b, f2)
  local same = f1 == f2
  ok = ok and same
  local ratio = a.wall / b.wall
  print(string.format("%-26s 1 thread %7.3f s (cpu %7.3f)  2 threads %7.3f s (cpu %7.3f)  speed-up %.2fx (target >= %.1fx: %s)  cpu ratio %.2f  results %s",
    name, a.wall, a.cpu, b.wall, b.cpu, ratio, target, ratio >= target and "met" or "NOT met", b.cpu / a.cpu,
    same and "identical" or "DIFFER"))
end

if not skip.sa then
  local n = 2000
  local r = qnn.rng(1)
  local h, J = {}, {}
  for i = 1, n do
    h[i] = 0.1 * r:normal()
    for _ = 1, 4 do
      local j = r:int(1, n)
      if j ~= i then J[#J + 1] = {i, j, r:normal()} end
    end
  end
  local m = qnn.ising.model {n = n, h = h, J = J}
  local function run()
    local s = qnn.ising.sample(m, {sampler = "sa", reads = 32, sweeps = 1000, seed = 7, beta_range = {0.1, 5}})
    local e = {}
    for k = 1, #s do e[k] = s[k].energy end
    return hex(e) .. "|" .. tostring(s.flips)
  end
  local t1, f1 = timed(1, run)
  local t2, f2 = timed(2, run)
  report("SA 2000 spins 32x1000", 1.8, t1, f1, t2, f2)
end

if not skip.grover then
  local ds = qnn.data.load("digits")
  local tr = ds:split {test = 0.2, seed = 42}
  tr:standardize()
  local function D(i, o) return qnn.nn.dense(i, o, {bias = false, init = "uniform(-1,1)"}) end
  local function run()
    local net = qnn.nn.sequential {D(64, 64), qnn.nn.tanh(), D(64, 32), qnn.nn.tanh(), D(32, 16),
      qnn.nn.tanh(), D(16, 10), qnn.nn.softmax(), seed = 1}
    qnn.optim.grover {net = net, data = tr, epochs = 1, seed = 1, track_circuit = false}
    local p = net:params()
    local w = {}
    for i = 1, p:shape() do w[i] = p:get(i) end
    return hex(w)
  end
  local t1, f1 = timed(1, run)
  local t2, f2 = timed(2, run)
  report("Grover Digits epoch", 1.6, t1, f1, t2, f2)
end

if not skip.nq then
  local net = qnn.nn.sequential {qnn.nn.dense(784, 256), qnn.nn.qubit_activation {}, qnn.nn.dense(256, 256),
    qnn.nn.qubit_activation {}, qnn.nn.dense(256, 10), qnn.nn.softmax(), seed = 3}
  local X = qnn.tensor.uniform(2000, 784, 0, 1, {seed = 5})
  local function run()
    local y = net:predict(X, {shots = 15, seed = 9})
    local t = {}
    for i = 1, #y do t[i] = y[i] end
    return table.concat(t, ",")
  end
  local t1, f1 = timed(1, run)
  local t2, f2 = timed(2, run)
  report("NQ 15-shot vote 2000 rows", 1.6, t1, f1, t2, f2)
end

qnn.threads(start_threads)
if not ok then
  print("bench_threads: results depend on the thread count")
  os.exit(1)
end
