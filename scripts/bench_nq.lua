-- Benchmark: natural-quantization net 784-512-512-10 ("both": a = 0.316, g = 5pi/19, shared
-- register), single thread: one training epoch on 5000 MNIST images (batch 64, SGD momentum) and
-- 15-shot inference (15 re-sampled passes, majority vote) on 5000 images. Targets: <= 0.4 s per
-- epoch, <= 2 s for inference. If Debian's python3-torch is present, the same network is timed in
-- PyTorch in the same run (scripts/bench_nq.py) and the ratio printed; otherwise the issue's
-- quoted PyTorch numbers (0.51 s, 4.2 s) are printed, labelled as quoted.
-- Run: OPENBLAS_NUM_THREADS=1 qnnlab scripts/bench_nq.lua [--reps=3]  (or scripts/bench_nq.sh)
local qnn = require "qnn"
if os.getenv("OPENBLAS_NUM_THREADS") ~= "1" then
  -- make bench runs bench_nq.sh (which sets the thread count) and this file directly
  print("bench_nq.lua: single-thread benchmark, run it through scripts/bench_nq.sh (skipped here)")
  return
end
local nq = qnn.nq
local o = nq.args(arg)
local reps = o.reps or 3
print(("bench_nq: OPENBLAS_NUM_THREADS=%s, OMP_NUM_THREADS=%s, best of %d (machine shared: timings are noisy)"):format(
  os.getenv("OPENBLAS_NUM_THREADS") or "unset", os.getenv("OMP_NUM_THREADS") or "unset", reps))
local tr = nq.mnist(1)
local net = nq.net { preset = "both", seed = 1 }
local opt = qnn.optim.sgd { lr = 0.01, momentum = 0.9 }
local rng = qnn.rng(7)
local function best(f)
  local bw, bc = math.huge, math.huge
  for _ = 1, reps do
    local t0, c0 = qnn.clock(), os.clock()
    f()
    bw, bc = math.min(bw, qnn.clock() - t0), math.min(bc, os.clock() - c0)
  end
  return bw, bc
end
local ew, ec = best(function() opt:epoch(net, tr.X, tr.y, { batch = 64, rng = rng }) end)
local iw, ic = best(function() net:predict(tr.X, { shots = 15, seed = 3 }) end)
-- classical sign net of the same shape (the BLAS floor)
local cnet = nq.net { preset = "classical", seed = 1 }
local cw, cc = best(function() opt:epoch(cnet, tr.X, tr.y, { batch = 64, rng = rng }) end)
-- the same net with the dense products in single precision (PyTorch's default dtype)
local snet = nq.net { preset = "both", seed = 1, precision = "single" }
local sw, sc = best(function() opt:epoch(snet, tr.X, tr.y, { batch = 64, rng = rng }) end)
print(("qnnlab  epoch (5000 images, batch 64): %.3f s wall, %.3f s cpu   [target <= 0.4 s]"):format(ew, ec))
print(("        precision=\"single\" (float32 products, as PyTorch): %.3f s wall, %.3f s cpu   [target <= 0.4 s]; double / single = %.2fx"):format(sw, sc, ec / sc))
print(("        same net with classical sign activations: %.3f s wall, %.3f s cpu (the BLAS floor)"):format(cw, cc))
print(("qnnlab  15-shot inference (5000 images): %.3f s wall, %.3f s cpu   [target <= 2 s]"):format(iw, ic))
local have = os.execute('/usr/bin/python3 -c "import torch" >/dev/null 2>&1')
local src = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "scripts"
local pt_e, pt_i, label = 0.51, 4.2, "quoted in the issue (authors' code, PyTorch 1.13, this machine kind)"
local pt_ec, pt_ic
if have then
  local dir = (os.getenv("QNN_DATA_DIR") or (src .. "/../data")) .. "/mnist"
  local p = io.popen(('OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 /usr/bin/python3 "%s/bench_nq.py" "%s" 2>&1'):format(src, dir))
  local txt = p:read("a")
  p:close()
  local e, ec2 = txt:match("epoch ([%d%.]+) cpu ([%d%.]+)")
  local i, ic2 = txt:match("infer15 ([%d%.]+) cpu ([%d%.]+)")
  if e and i then
    pt_e, pt_i, label = tonumber(e), tonumber(i), "measured now (Debian python3-torch, same net, float32, 1 thread)"
    pt_ec, pt_ic = tonumber(ec2), tonumber(ic2)
  else
    print("PyTorch run failed:\n" .. txt)
  end
end
print(("PyTorch epoch %.3f s, 15-shot inference %.3f s wall  -- %s"):format(pt_e, pt_i, label))
print(("ratio PyTorch / qnnlab (wall): epoch %.2fx (single precision %.2fx), inference %.2fx"):format(
  pt_e / ew, pt_e / sw, pt_i / iw))
if pt_ec then
  print(("PyTorch cpu: epoch %.3f s, inference %.3f s; ratio PyTorch / qnnlab (cpu): epoch %.2fx (single %.2fx), inference %.2fx"):format(
    pt_ec, pt_ic, pt_ec / ec, pt_ec / sc, pt_ic / ic))
end
