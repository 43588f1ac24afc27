-- Benchmark: one DiffQAS-QT training step at the paper's classification size.
--   target dense 784-128-64-2 (108,866 weights) -> 17 qubits, depth 15, the 12-candidate pool,
--   batch of 100: generate (12 circuit forwards) + target forward/backward + 12 circuit vjps.
-- Prints the split between circuits and network and ratios against baselines measured in the
-- same run (the target net's own backward step, the generator's forward pass alone). The machine may be shared:
-- timings are noisy; run it on an idle machine for the record.
-- Usage: bin/qnnlab scripts/bench_qt.lua [steps=3] [depth=15] [candidates=12]
local qnn = require "qnn"
local steps = tonumber(arg and arg[1]) or 3
local depth = tonumber(arg and arg[2]) or 15
local ncand = tonumber(arg and arg[3]) or 12

local function now()
  local f = io.popen("date +%s.%N")
  local t = tonumber(f:read("l")); f:close(); return t
end

local net = qnn.nn.sequential { qnn.nn.dense(784, 128), qnn.nn.relu(), qnn.nn.dense(128, 64),
  qnn.nn.relu(), qnn.nn.dense(64, 2), seed = 1 }
local pool = qnn.diffqas.pool()
local sub = {}
for j = 1, ncand do sub[j] = pool[(j - 1) % #pool + 1] end
local X = qnn.tensor.uniform(100, 784, 0, 1, { seed = 2 })
local y = {}
for i = 1, 100 do y[i] = (i % 2) + 1 end

-- baseline 1: the classical net's own step
local t0 = now()
for _ = 1, 20 do net:backward(X, y) end
local t_net = (now() - t0) / 20

local t_build0 = now()
local qt = qnn.nn.quantum_train { target = net, depth = depth, pool = sub, seed = 3 }
local t_build = now() - t_build0
print(tostring(qt))
local opt = qnn.optim.adam { lr = 1e-3 }
qt:backward(X, y); qt:step(opt) -- warm-up
local tot, cf, cb, nw = 0, 0, 0, 0
local cpu0 = os.clock()
for _ = 1, steps do
  local a = now()
  qt:backward(X, y)
  qt:step(opt)
  tot = tot + (now() - a)
  local t = qt:timings()
  cf, cb, nw = cf + t.circuits_forward, cb + t.circuits_backward, nw + t.network
end
local cpu = (os.clock() - cpu0) / steps
tot, cf, cb, nw = tot / steps, cf / steps, cb / steps, nw / steps
-- baseline 2: the forward pass alone (generate: 12 circuit forwards + mapping)
local a = now()
qt:generate()
local t_gen = now() - a
print(("build (Lua candidate functions, %d circuits): %.3f s"):format(ncand, t_build))
print(("one training step (mean of %d): %.3f s   [target <= 1.5 s]"):format(steps, tot))
print(("  process CPU time per step %.3f s (all threads; wall ~ CPU / 2 on an idle 2-core machine)"):format(cpu))
print(("  circuits forward  %.3f s (%4.1f%%)"):format(cf, 100 * cf / tot))
print(("  circuits vjp      %.3f s (%4.1f%%)"):format(cb, 100 * cb / tot))
print(("  network + mapping + optimizer %.3f s (%4.1f%%)"):format(tot - cf - cb, 100 * (tot - cf - cb) / tot))
print(("baseline: classical target step %.4f s -> QT step / classical = %.0fx"):format(t_net, tot / t_net))
print(("baseline: generate() alone %.4f s -> step / generate = %.2f"):format(t_gen, tot / t_gen))
local lay = qt:layout()
print(("memory: cached output states %.1f MB = %d candidates x 2^%d x 16 B (O(m 2^n), no 2^n x 2^n)"):format(
  lay.cache_bytes / 2^20, lay.candidates, lay.qubits))
print(("OpenMP threads: %s; trained parameters %d for %d target weights"):format(
  os.getenv("OMP_NUM_THREADS") or "default", qt:nparams(), net:nparams()))
