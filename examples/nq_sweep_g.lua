-- Natural quantization: validation error against the weak-measurement angle g (sign rotations,
-- a = 0), g in [pi/16, pi/2] (pi/2 = projective = classical). Locates the collapse of
-- learning g_c (paper: about pi/8) and the optimum (paper: 5pi/19). MNIST 5000/5000.
--   qnnlab examples/nq_sweep_g.lua --quick     (5 points, 1 seed, 2 epochs)
--   qnnlab examples/nq_sweep_g.lua             (g = k pi/16, k = 1..8, plus 5pi/19; 3 seeds, 10 epochs)
-- options: --seeds=N --epochs=N --shots=N --a=A (rotation stretch, default 0) --register=shared|fresh
local qnn = require "qnn"
local nq = qnn.nq
local o = nq.args(arg)
local pi = math.pi
local quick = o.quick
local epochs = o.epochs or (quick and 2 or 10)
local nseeds = o.seeds or (quick and 1 or 3)
local out = o.out or "results"
local a = o.a or 0
local gs = quick and { pi / 16, pi / 8, 3 * pi / 16, 5 * pi / 19, pi / 2 }
  or { pi / 16, 2 * pi / 16, 5 * pi / 32, 3 * pi / 16, 4 * pi / 16, 5 * pi / 19, 5 * pi / 16, 6 * pi / 16, 7 * pi / 16, pi / 2 }
table.sort(gs)
local configs = {}
for _, g in ipairs(gs) do
  configs[#configs + 1] = { label = ("g=%.4gpi"):format(g / pi), a = a, g = g, register = o.register or "shared" }
end
local seeds = {}
for i = 1, nseeds do seeds[i] = i end
local name = (quick and "nq_sweep_g_quick" or ("nq_sweep_g_e" .. epochs)) .. (a > 0 and ("_a" .. a) or "")
  .. ((o.register and o.register ~= "shared") and ("_" .. o.register) or "")
print(("nq_sweep_g: %d values of g, a = %g, %d seeds, %d epochs"):format(#configs, a, nseeds, epochs))
local _, summary = nq.experiment { name = name, configs = configs, seeds = seeds, epochs = epochs,
  shots = o.shots or 15, data = function(seed) return nq.mnist(seed) end, out_dir = out, train_eval = false }
print(nq.table(summary))
-- collapse: the g where the single-shot error (the authors' read-out, see the docs) crosses
-- half-way between the classical (g = pi/2) value and chance (90%), by linear interpolation from
-- the large-g side; optimum: the smallest vote error
local chance = 90
local cls = summary[#summary].val_err1
local thr = (cls + chance) / 2
local gc
for i = #summary, 2, -1 do
  local hi, lo = summary[i], summary[i - 1]
  if hi.val_err1 <= thr and lo.val_err1 > thr then
    local t = (thr - hi.val_err1) / (lo.val_err1 - hi.val_err1)
    gc = hi.g + t * (lo.g - hi.g)
    break
  end
end
local best = summary[1]
for _, s in ipairs(summary) do if s.val_err_vote < best.val_err_vote then best = s end end
print(("collapse threshold %.1f%% single-shot error (half-way classical -> chance): g_c = %s (paper ~ pi/8 = 0.393)"):format(
  thr, gc and ("%.3f = %.3f pi"):format(gc, gc / pi) or "not crossed on this grid"))
print(("optimum: g = %.3f = %.3f pi, %.2f%% (paper 5pi/19 = 0.263 pi, 5.29%%)"):format(best.g, best.g / pi, best.val_err_vote))
local dat = os.tmpname()
local f = assert(io.open(dat, "w"))
for _, s in ipairs(summary) do
  f:write(("%g %g %g %g %g\n"):format(s.g / pi, s.val_err1, s.val_err1_sd, s.val_err_vote, s.val_err_vote_sd))
end
f:close()
local ok, msg = nq.gnuplot(([[
set terminal pngcairo size 800,500
set output '%s/%s.png'
set title 'Validation error vs weak-measurement angle g (a = %g; %d epochs, %d seeds)'
set xlabel 'g / pi'
set ylabel 'validation error (%%)'
set grid
set arrow from 0.125, graph 0 to 0.125, graph 1 nohead dt 3
set arrow from 0.2632, graph 0 to 0.2632, graph 1 nohead dt 2
plot '%s' u 1:2:3 w yerrorlines t 'single shot', '' u 1:4:5 w yerrorlines t 'vote'
]]):format(out, name, a, epochs, nseeds, dat))
os.remove(dat)
print(ok and ("plot: %s/%s.png (dotted: pi/8, dashed: 5pi/19)"):format(out, name) or msg)
if gc then
  local f2 = assert(io.open(out .. "/" .. name .. "_gc.json", "w"))
  f2:write(('{"g_c": %.6g, "g_c_over_pi": %.6g, "threshold_percent": %.4g, "g_opt": %.6g, "g_opt_over_pi": %.6g}\n'):format(
    gc, gc / pi, thr, best.g, best.g / pi))
  f2:close()
end
