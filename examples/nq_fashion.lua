-- Natural quantization on Fashion-MNIST: the first 5000 training images, validation on the
-- 10,000 test images; classical vs rotation vs weak vs both (paper's hyper-parameters).
--   qnnlab examples/nq_fashion.lua --quick     (1 seed, 2 epochs, first 2000 test images, no train eval)
--   qnnlab examples/nq_fashion.lua             (3 seeds, 10 epochs)
--   qnnlab examples/nq_fashion.lua --ntrain=60000 --presets=classical,rotation --precision=single
--                                              (all 60,000 training images)
-- options: --seeds=N --first_seed=N --seed=N (exactly one seed; what qnn.sweep passes) --epochs=N
--          --shots=N --ntrain=N (first N training images, default 5000; 60000 = all)
--          --presets=list (subset of classical,rotation,weak,both) --precision=single
--          --no_train_eval (skip the 15-shot evaluation on the training set)
--          --train_eval=single (training error from one shot only: cheaper on 60,000 images) --out=results
-- Run by qnn.sweep (QNN_SWEEP_RESULT set) the script records its runs' metrics through
-- qnn.nq.sweep_result (errors in %; see scripts/sweeps_nq.lua).
local qnn = require "qnn"
local nq = qnn.nq
local o = nq.args(arg)
local quick = o.quick
local epochs = o.epochs or (quick and 2 or 10)
local nseeds = o.seeds or (quick and 1 or 3)
local out = o.out or "results"
local ntrain = math.tointeger(o.ntrain or 5000)
if not ntrain or ntrain < 1 or ntrain > 60000 then error("nq_fashion: --ntrain must be an integer in [1, 60000]", 0) end
local presets = nq.preset_order
if o.presets then
  presets = {}
  for p in tostring(o.presets):gmatch("[^,]+") do
    if not nq.presets[p] then error("nq_fashion: unknown preset '" .. p .. "' (classical, rotation, weak, both)", 0) end
    presets[#presets + 1] = p
  end
end
local configs = {}
for _, name in ipairs(presets) do configs[#configs + 1] = { label = name, preset = name } end
local seeds = {}
for i = 1, nseeds do seeds[i] = (o.first_seed or 1) + i - 1 end
if o.seed then seeds, nseeds = { math.tointeger(o.seed) or error("nq_fashion: --seed must be an integer", 0) }, 1 end
local name = (quick and "nq_fashion_quick" or ("nq_fashion_e" .. epochs)) .. (ntrain ~= 5000 and ("_n" .. ntrain) or "")
  .. (o.precision == "single" and "_single" or "")
print(("nq_fashion: %d configs x %d seeds, %d epochs, %d training images"):format(#configs, nseeds, epochs, ntrain))
local _, summary = nq.experiment { name = name, configs = configs, seeds = seeds, epochs = epochs,
  shots = o.shots or 15, split_seed = false, out_dir = out,
  train_eval = (not quick and not o.no_train_eval) and (o.train_eval == "single" and "single" or true),
  precision = o.precision,
  data = function()
    local tr, te = nq.fashion(ntrain)
    if quick then te = te:head(2000) end
    return tr, te
  end }
print(nq.table(summary))
local dat = os.tmpname()
local f = assert(io.open(dat, "w"))
for i, s in ipairs(summary) do
  f:write(("%d \"%s\" %g %g %g %g\n"):format(i, s.label, s.val_err1, s.val_err1_sd, s.val_err_vote, s.val_err_vote_sd))
end
f:close()
local ok, msg = nq.gnuplot(([[
set terminal pngcairo size 900,500
set output '%s/%s.png'
set title 'Natural quantization, Fashion-MNIST %d train / 10000 test (%d epochs, %d seeds)'
set ylabel 'validation error (%%)'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set yrange [0:*]
set grid ytics
plot '%s' using 3:4:xtic(2) title 'single shot', '' using 5:6 title '15-shot vote'
]]):format(out, name, ntrain, epochs, nseeds, dat))
os.remove(dat)
print(ok and ("plot: %s/%s.png"):format(out, name) or msg)
