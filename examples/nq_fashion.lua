-- Natural quantization on Fashion-MNIST: the first 5000 training images, validation on the
-- 10,000 test images; classical vs rotation vs weak vs both (paper's hyper-parameters).
--   qnnlab examples/nq_fashion.lua --quick     (1 seed, 2 epochs, first 2000 test images, no train eval)
--   qnnlab examples/nq_fashion.lua             (3 seeds, 10 epochs)
local qnn = require "qnn"
local nq = qnn.nq
local o = nq.args(arg)
local quick = o.quick
local epochs = o.epochs or (quick and 2 or 10)
local nseeds = o.seeds or (quick and 1 or 3)
local out = o.out or "results"
local configs = {}
for _, name in ipairs(nq.preset_order) do configs[#configs + 1] = { label = name, preset = name } end
local seeds = {}
for i = 1, nseeds do seeds[i] = i end
local name = quick and "nq_fashion_quick" or ("nq_fashion_e" .. epochs)
print(("nq_fashion: %d configs x %d seeds, %d epochs"):format(#configs, nseeds, epochs))
local _, summary = nq.experiment { name = name, configs = configs, seeds = seeds, epochs = epochs,
  shots = o.shots or 15, split_seed = false, out_dir = out, train_eval = not quick,
  data = function()
    local tr, te = nq.fashion(5000)
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
set title 'Natural quantization, Fashion-MNIST 5000 train / 10000 test (%d epochs, %d seeds)'
set ylabel 'validation error (%%)'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set yrange [0:*]
set grid ytics
plot '%s' using 3:4:xtic(2) title 'single shot', '' using 5:6 title '15-shot vote'
]]):format(out, name, epochs, nseeds, dat))
os.remove(dat)
print(ok and ("plot: %s/%s.png"):format(out, name) or msg)
