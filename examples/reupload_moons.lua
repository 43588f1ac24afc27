-- Data re-uploading classifiers (Perez-Salinas et al. 2020) on two 2-D non-linear sets,
-- qnn.data.moons and qnn.data.circles, with their decision boundaries plotted.
--   bin/qnnlab examples/reupload_moons.lua [--quick] [--seeds=N | --seed=N] [--epochs=N] [--out=results]
-- --seed=N runs that one seed only (for qnn.sweep; metrics acc_<set>_L<L>).
-- Model: 2 qubits; each of L re-uploading blocks encodes (x1, x2) as RY(x1) on qubit 0,
-- RY(x2) on qubit 1, then one trainable layer (RY, RZ per qubit, CX); outputs <Z0>, <Z1>
-- -> dense 2 -> 2 (logits). L = 1 (no re-uploading) vs L = 4. Features standardised.
-- 400 samples (noise 0.1), 70/30 split, Adam lr 0.05, batch 16.
-- Writes <out>/reupload_{moons,circles}.{csv,png} (grid of P(class 2) + the test points) and
-- <out>/reupload.{csv,json} (accuracies).
local qnn = require "qnn"
local report = qnn.report
local a = report.args(arg)
if a.help then print("usage: reupload_moons.lua [--quick] [--seeds=N | --seed=N] [--epochs=N] [--out=dir]") return end
local seeds = a.seeds or (a.quick and 1 or 3)
local seed_list = {}
if a.seed then seed_list = { math.tointeger(a.seed) or error("--seed must be an integer") } seeds = 1
else for s = 1, seeds do seed_list[s] = s end end
local epochs = a.epochs or (a.quick and 15 or 60)
local grid = a.quick and 40 or 80
report.mkdir(a.out)

local function model(L, seed)
  return qnn.nn.sequential{
    qnn.nn.quantum{ encoder = "angle", features = 2, qubits = 2, layers = 1, reupload = L, input_scale = 1,
      outputs = { "ZI", "IZ" } },
    qnn.nn.dense(2, 2), seed = seed }
end

local rows, json, metrics = {}, { epochs = epochs, seeds = seed_list, sets = {} }, {}
for _, set in ipairs{ "moons", "circles" } do
  local ds = qnn.data[set]{ n = 400, noise = 0.1, seed = 7 }
  for _, L in ipairs{ 1, 4 } do
    local accs, last = {}, nil
    for si, seed in ipairs(seed_list) do
      local tr, te = ds:split{ test = 0.3, seed = seed }
      local sc = tr:standardize()
      sc:apply(te)
      local net = model(L, seed)
      qnn.train.fit(net, tr, { optimizer = qnn.optim.adam{ lr = 0.05 }, epochs = epochs, batch = 16, seed = seed,
        progress = false, label = set .. " L=" .. L })
      accs[si] = net:evaluate(te.X, te.y).accuracy
      last = { net = net, te = te, sc = sc }
    end
    metrics[("acc_%s_L%d"):format(set, L)] = report.mean_std(accs)
    local m, s = report.mean_std(accs)
    rows[#rows + 1] = { set, L, m, s, #last.net:params():totable() }
    json.sets[#json.sets + 1] = { set = set, reupload = L, test_acc = accs }
    print(("%-8s L=%d  test accuracy %s"):format(set, L, report.pm(accs, "%.3f")))
    if L == 4 then
      -- decision boundary of the last seed's model on a grid over the standardised plane
      local pts, g = {}, {}
      for i = 0, grid - 1 do
        for j = 0, grid - 1 do pts[#pts + 1] = { -2.5 + 5 * i / (grid - 1), -2.5 + 5 * j / (grid - 1) } end
      end
      local out = last.net:forward(qnn.tensor.from(pts))
      for k, p in ipairs(pts) do
        local z1, z2 = out:get(k, 1), out:get(k, 2)
        local m2 = math.max(z1, z2)
        local p2 = math.exp(z2 - m2) / (math.exp(z1 - m2) + math.exp(z2 - m2))
        g[k] = { p[1], p[2], p2 }
      end
      local gcsv = ("%s/reupload_%s_grid.csv"):format(a.out, set)
      report.csv(gcsv, { "x1", "x2", "p_class2" }, g)
      local tp = {}
      for k = 1, #last.te.y do tp[k] = { last.te.X:get(k, 1), last.te.X:get(k, 2), last.te.y[k] } end
      local pcsv = ("%s/reupload_%s_points.csv"):format(a.out, set)
      report.csv(pcsv, { "x1", "x2", "class" }, tp)
      local png = ("%s/reupload_%s.png"):format(a.out, set)
      if report.have_gnuplot() then
        report.gnuplot(table.concat({
          "set terminal pngcairo size 700,620 noenhanced",
          ("set output '%s'"):format(png),
          "set datafile separator ','",
          ("set title '%s: data re-uploading, L = 4 (test accuracy %.3f)'"):format(set, accs[#accs]),
          "set key opaque box", "set xlabel 'x1 (standardised)'", "set ylabel 'x2 (standardised)'",
          "set xrange [-2.5:2.5]", "set yrange [-2.5:2.5]", "set size square",
          "set palette defined (0 '#3b6fb6', 0.5 'white', 1 '#d0473d')", "set cbrange [0:1]",
          "set cblabel 'P(class 2)'",
          ("plot '%s' skip 1 using 1:2:3 with image notitle, "):format(gcsv) ..
          ("'%s' skip 1 using 1:($3 == 1 ? $2 : 1/0) with points pt 7 ps 0.9 lc rgb '#0b1f45' title 'class 1 (test)', "):format(pcsv) ..
          ("'%s' skip 1 using 1:($3 == 2 ? $2 : 1/0) with points pt 9 ps 1.0 lc rgb '#5a0a04' title 'class 2 (test)'"):format(pcsv),
        }, "\n"))
        print("wrote " .. png)
      end
    end
  end
end
print()
print(report.table({ "data set", "re-uploads L", "test acc (mean)", "std", "params" }, rows))
report.csv(a.out .. "/reupload.csv", { "set", "reupload", "test_acc_mean", "test_acc_std", "params" }, rows)
report.json(a.out .. "/reupload.json", json)
qnn.sweep.result(metrics)
