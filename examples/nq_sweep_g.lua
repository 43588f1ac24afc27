-- Natural quantization: validation error against the weak-measurement angle g (sign rotations,
-- a = 0), g in [pi/16, pi/2] (pi/2 = projective = classical). Locates the collapse of
-- learning g_c (paper: about pi/8) and the optimum (paper: 5pi/19). MNIST 5000/5000.
--   qnnlab examples/nq_sweep_g.lua --quick     (5 points, 1 seed, 2 epochs)
--   qnnlab examples/nq_sweep_g.lua             (g = k pi/16, k = 1..8, plus 5pi/19; 3 seeds, 10 epochs)
-- --combine=f1.csv,f2.csv analyses the runs in those files together.
-- options: --first_seed=N --g=list (multiples of pi, e.g. --g=0.015625,0.03125; pi/2 is added unless --no_ref) --seeds=N --epochs=N --shots=N --a=A (rotation stretch, default 0) --register=shared|fresh
--          --seed=N (exactly one seed, N; what qnn.sweep passes) --precision=single (float32 products)
-- Run by qnn.sweep (QNN_SWEEP_RESULT set) the script records its runs' metrics through
-- qnn.nq.sweep_result (errors in %; see scripts/sweeps_nq.lua).
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
if o.g then -- --g=0.03125,0.015625: a custom grid in units of pi
  gs = {}
  for v in tostring(o.g):gmatch("[^,]+") do gs[#gs + 1] = tonumber(v) * pi end
  if not o.no_ref then gs[#gs + 1] = pi / 2 end -- the classical reference for the collapse threshold
end
table.sort(gs)
local configs = {}
for _, g in ipairs(gs) do
  configs[#configs + 1] = { label = ("g=%.4gpi"):format(g / pi), a = a, g = g, register = o.register or "shared" }
end
local seeds = {}
for i = 1, nseeds do seeds[i] = (o.first_seed or 1) + i - 1 end
if o.seed then seeds, nseeds = { math.tointeger(o.seed) or error("nq_sweep_g: --seed must be an integer", 0) }, 1 end
local name = (quick and "nq_sweep_g_quick" or ("nq_sweep_g_e" .. epochs)) .. (o.g and "_custom" or "") .. (a > 0 and ("_a" .. a) or "")
  .. ((o.register and o.register ~= "shared") and ("_" .. o.register) or "") .. (o.precision == "single" and "_single" or "")
local summary, nseed_used
if o.combine then
  -- --combine=a.csv,b.csv: analyse the runs of several invocations together (e.g. the main grid
  -- and a --g= grid of small angles)
  -- keeps rows with this a (default 0; e.g. the "classical" and "weak" rows of nq_mnist CSVs),
  -- labels them by g, and drops repeats of the same (g, seed)
  local rows, seen = {}, {}
  for path in tostring(o.combine):gmatch("[^,]+") do
    for _, r in ipairs(nq.read_csv(path)) do
      if math.abs((tonumber(r.a) or 0) - a) < 1e-12 then
        r.label = ("g=%.4gpi"):format(r.g / pi)
        local key = r.label .. "/" .. tostring(r.seed)
        if not seen[key] then seen[key] = true; rows[#rows + 1] = r end
      end
    end
  end
  summary = nq.summarize(rows)
  epochs = rows[1].epochs
  name = "nq_sweep_g_e" .. epochs .. "_combined"
else
  print(("nq_sweep_g: %d values of g, a = %g, %d seeds, %d epochs"):format(#configs, a, nseeds, epochs))
  local _
  _, summary = nq.experiment { name = name, configs = configs, seeds = seeds, epochs = epochs,
    shots = o.shots or 15, data = function(seed) return nq.mnist(seed) end, out_dir = out, train_eval = false,
    precision = o.precision }
end
table.sort(summary, function(x, y) return x.g < y.g end)
nseed_used = summary[1].n
print(nq.table(summary))
-- collapse of learning, on the single-shot error (the authors' read-out, see the docs): the g
-- where it crosses a threshold, by linear interpolation coming from g = pi/2: (1) half-way
-- between the classical (g = pi/2) error and chance (90%), (2) twice the classical error.
-- Optimum: the smallest 15-shot vote error (and the smallest single-shot error).
local cls = summary[#summary].val_err1
local function crossing(thr)
  for i = #summary, 2, -1 do
    local hi, lo = summary[i], summary[i - 1]
    if hi.val_err1 <= thr and lo.val_err1 > thr then
      local t = (thr - hi.val_err1) / (lo.val_err1 - hi.val_err1)
      return hi.g + t * (lo.g - hi.g)
    end
  end
end
local thr1, thr2 = (cls + 90) / 2, 2 * cls
local gc1, gc2 = crossing(thr1), crossing(thr2)
local function fmt(g) return g and ("%.3f = %.3f pi"):format(g, g / pi) or "not crossed on this grid" end
local best, best1 = summary[1], summary[1]
for _, s in ipairs(summary) do
  if s.val_err_vote < best.val_err_vote then best = s end
  if s.val_err1 < best1.val_err1 then best1 = s end
end
print(("collapse (single-shot error > %.1f%%, half-way classical -> chance): g_c = %s"):format(thr1, fmt(gc1)))
print(("collapse (single-shot error > %.1f%%, twice classical): g_c = %s   (paper: g_c ~ pi/8 = 0.393)"):format(thr2, fmt(gc2)))
print(("optimum: vote g = %.3f pi (%.2f%%), single shot g = %.3f pi (%.2f%%)   (paper: 5pi/19 = 0.263 pi, 5.29%%)"):format(
  best.g / pi, best.val_err_vote, best1.g / pi, best1.val_err1))
nq.mkdir(out)
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
]]):format(out, name, a, epochs, nseed_used, dat))
os.remove(dat)
print(ok and ("plot: %s/%s.png (dotted: pi/8, dashed: 5pi/19)"):format(out, name) or msg)
nq.write_json(out .. "/" .. name .. "_gc.json", {
  g_c_halfway = gc1, g_c_halfway_over_pi = gc1 and gc1 / pi, threshold_halfway = thr1,
  g_c_twice = gc2, g_c_twice_over_pi = gc2 and gc2 / pi, threshold_twice = thr2,
  g_opt_vote = best.g, g_opt_vote_over_pi = best.g / pi, g_opt_single = best1.g,
  g_opt_single_over_pi = best1.g / pi })
