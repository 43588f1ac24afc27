-- Experiment 3 of issue 6: the energy landscape of small blocks drawn from an untrained and a
-- trained Ising network (64-32-10 on Digits, SA-trained). For each test input the block is
-- n spins (hidden spins straddling the output spins of the true class and two others) with the
-- rest clamped to the annealed free-phase state; h and J are divided by their rms coefficient.
-- Measured: the minimum gap of H(s) = -(1-s) sum X + s H_P along a linear schedule (dense
-- spectrum), ground-state degeneracy, the lowest classical excitation, and the success
-- probability vs anneal time of coherent annealing (`exact`, time T) and SQA (sweeps).
-- Our reading of "spin glass -> ordered": training should open the gap and make the
-- ground state easier to reach. A gnuplot PNG shows E_k(s) - E_0(s) for one block of each.
--   qnnlab examples/anneal_gap.lua --quick      (n = 8, 6 blocks per net, <= 60 s)
--   qnnlab examples/anneal_gap.lua              (n = 10, 12 blocks per net, 61 schedule points)
--   qnnlab examples/anneal_gap.lua --seed=2 [--blocks=6] [--n=8] [--epochs=5] [--train=600]
--       one run (split, net, blocks from the seed) as qnn.sweep runs it
local qnn = require "qnn"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "anneal_common.lua")
local a = C.args(arg, {seed = 0, blocks = 0, n = 0, train = 0})
local quick = a.quick
-- --seed=s: one run with data split, net initialisation and block draws from s (as qnn.sweep
-- runs it, scripts/sweeps_anneal.lua); metrics through qnn.sweep.result. Without it: split 1,
-- net seed 3, block draws 17 (the published table).
local single = a.seed > 0
local tag = quick and "_quick" or (single and "_run" or "")
local nblk = a.blocks > 0 and a.blocks or (quick and 6 or 12)
local n = a.n > 0 and a.n or (quick and 8 or 10)
local epochs = a.epochs or (quick and 3 or 10)
local split_seed, net_seed, block_seed = 1, 3, 17
if single then split_seed, net_seed, block_seed = a.seed, a.seed, 1000 + a.seed end
local Ts = quick and {1, 4, 16} or {1, 2, 4, 8, 16, 32, 64}
local sweeps = quick and {10, 40, 160} or {5, 10, 20, 40, 80, 160, 320}

local tr, te = C.digits(split_seed)
if quick then tr = tr:sample(600, 1) elseif a.train > 0 then tr = tr:sample(a.train, split_seed) end
local untrained = qnn.optim.anneal{sizes = {64, 32, 10}, sampler = {sampler = "sa", reads = 4, sweeps = 50},
  eta = function(e) return 0.05 / math.sqrt(e) end, seed = net_seed}
local trained = qnn.optim.anneal{sizes = {64, 32, 10}, sampler = {sampler = "sa", reads = 4, sweeps = 50},
  eta = function(e) return 0.05 / math.sqrt(e) end, seed = net_seed}
local h = trained:fit(tr, {epochs = epochs, test = te, anneal_eval = true, progress = false})
print(string.format("trained %d epochs: test error ff %.3f, anneal %.3f", epochs,
  h.test_error[h.epochs], h.test_error_anneal[h.epochs]))

local function block_model(T, i, rng)
  return C.block_model(T.net, C.row(te.X, i), te.y[i], n, rng, i)
end

local rows, curves, summary = {}, {}, {}
for _, which in ipairs({"untrained", "trained"}) do
  local T = which == "trained" and trained or untrained
  local rng = qnn.rng(block_seed)
  local gaps, pex, psqa, degs, exc = {}, {}, {}, {}, {}
  for k = 1, #Ts do pex[k] = {} end
  for k = 1, #sweeps do psqa[k] = {} end
  for b = 1, nblk do
    local m = block_model(T, b, rng)
    local g = qnn.ising.min_gap(m, qnn.anneal.linear(), {points = quick and 41 or 61})
    local gs = m:ground_state()
    gaps[b], degs[b] = g.gap, gs.degeneracy
    -- lowest classical excitation above the ground state (from the s = 1 spectrum)
    local ev = qnn.ising.spectrum(m, 1, math.min(1 << n, 8))
    local e1 = nil
    for _, v in ipairs(ev) do if v > gs.energy + 1e-9 then e1 = v break end end
    exc[b] = e1 and (e1 - gs.energy) or 0
    if b == 1 then curves[which] = g.curve end
    local row = {net = which, block = b, min_gap = g.gap, s_min = g.s, degeneracy = gs.degeneracy,
      excitation = exc[b]}
    for k, Tk in ipairs(Ts) do
      local r = qnn.ising.sample(m, {sampler = "exact", T = Tk, steps = math.max(50, 20 * Tk)})
      pex[k][b] = r.p_ground
      row["p_exact_T" .. Tk] = r.p_ground
    end
    for k, K in ipairs(sweeps) do
      local r = qnn.ising.sample(m, {sampler = "sqa", sweeps = K, reads = quick and 20 or 50, slices = 8, seed = b})
      local hit, tot = 0, 0
      for _, st in ipairs(r) do
        tot = tot + st.count
        if st.energy <= gs.energy + 1e-9 then hit = hit + st.count end
      end
      psqa[k][b] = hit / tot
      row["p_sqa_" .. K] = hit / tot
    end
    rows[#rows + 1] = row
    print(string.format("%s block %d: min gap %.3f at s = %.2f, p_exact(T=%g) %.2f", which, b, g.gap, g.s,
      Ts[#Ts], pex[#Ts][b]))
  end
  local s = {net = which, blocks = nblk, n = n, min_gap = {C.mean_std(gaps)}, degeneracy = {C.mean_std(degs)},
    excitation = {C.mean_std(exc)}, p_exact = {}, p_sqa = {}}
  local sorted = {table.unpack(gaps)}
  table.sort(sorted)
  s.min_gap_median = sorted[(#sorted + 1) // 2]
  for k, Tk in ipairs(Ts) do s.p_exact[k] = {T = Tk, mean = (C.mean_std(pex[k]))} end
  for k, K in ipairs(sweeps) do s.p_sqa[k] = {sweeps = K, mean = (C.mean_std(psqa[k]))} end
  local small = 0
  for _, g in ipairs(gaps) do if g < 0.4 then small = small + 1 end end
  s.small_gaps = small
  summary[#summary + 1] = s
end

local cols = {"net", "block", "min_gap", "s_min", "degeneracy", "excitation"}
for _, Tk in ipairs(Ts) do cols[#cols + 1] = "p_exact_T" .. Tk end
for _, K in ipairs(sweeps) do cols[#cols + 1] = "p_sqa_" .. K end
C.csv(a.out .. "/anneal_gap" .. tag .. ".csv", cols, rows)

if single then
  -- one run's metrics for qnn.sweep: per net, the block averages
  local m = {seed = a.seed, n = n, blocks = nblk, epochs = epochs, test_error_ff = h.test_error[h.epochs],
    test_error_anneal = h.test_error_anneal[h.epochs]}
  for _, sm in ipairs(summary) do
    local p = sm.net .. "_"
    m[p .. "min_gap"], m[p .. "min_gap_median"], m[p .. "small_gaps"] = sm.min_gap[1], sm.min_gap_median, sm.small_gaps
    m[p .. "degeneracy"], m[p .. "excitation"] = sm.degeneracy[1], sm.excitation[1]
    for _, v in ipairs(sm.p_exact) do m[p .. "p_exact_T" .. v.T] = v.mean end
    for _, v in ipairs(sm.p_sqa) do m[p .. "p_sqa_" .. v.sweeps] = v.mean end
  end
  print(C.json(m))
  qnn.sweep.result(m)
  return
end

-- gap curves of the first block of each net
local dat = a.out .. "/anneal_gap" .. tag .. "_curve.dat"
local f = assert(io.open(dat, "w"))
f:write("# s gap_untrained gap_trained (E1 - E0 above the ground manifold, block 1)\n")
for p = 1, #curves.untrained do
  f:write(string.format("%.4f %.6g %.6g\n", curves.untrained[p].s, curves.untrained[p].gap or 0 / 0,
    curves.trained[p].gap or 0 / 0))
end
f:close()
local png = a.out .. "/anneal_gap" .. tag .. ".png"
local script = string.format([[
set terminal png size 800,500
set output '%s'
set xlabel 's (fraction of the anneal)'
set ylabel 'E_1(s) - E_0(s)  (units of rms coefficient)'
set title 'Gap along H(s) = -(1-s) sum X + s H_P, n = %d block drawn from a 64-32-10 Ising net'
plot '%s' using 1:2 with lines lw 2 title 'untrained', '%s' using 1:3 with lines lw 2 title 'trained'
]], png, n, dat, dat)
local ok, msg = qnn.report.gnuplot(script)
print(ok and ("wrote " .. png) or msg)

print("\n| net | blocks | n | min gap (mean ± sd) | median | ground degeneracy | lowest excitation | " ..
  "p_ground exact (T = " .. table.concat(Ts, ", ") .. ") | p_ground SQA (sweeps = " .. table.concat(sweeps, ", ") .. ") |")
print("|---|---|---|---|---|---|---|---|---|")
for _, s in ipairs(summary) do
  local pe, ps = {}, {}
  for k, v in ipairs(s.p_exact) do pe[k] = string.format("%.2f", v.mean) end
  for k, v in ipairs(s.p_sqa) do ps[k] = string.format("%.2f", v.mean) end
  print(string.format("| %s | %d | %d | %.3f ± %.3f | %.3f | %.2f | %.3f ± %.3f | %s | %s |", s.net, s.blocks, s.n,
    s.min_gap[1], s.min_gap[2], s.min_gap_median, s.degeneracy[1], s.excitation[1], s.excitation[2],
    table.concat(pe, " / "), table.concat(ps, " / ")))
end
C.write(a.out .. "/anneal_gap" .. tag .. ".json", C.json({
  command = "qnnlab examples/anneal_gap.lua" .. (quick and " --quick" or ""),
  epochs = epochs, test_error_ff = h.test_error[h.epochs], test_error_anneal = h.test_error_anneal[h.epochs],
  summary = summary}))
