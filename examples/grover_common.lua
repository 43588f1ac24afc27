-- Shared helpers of the Method 1 (Grover) examples: data preparation as in the paper's code,
-- network construction, statistics, CSV/JSON/gnuplot output. Loaded with dofile() by
-- examples/grover_*.lua.
local qnn = require "qnn"
local C = {}

--- Command line flags: --quick, --seeds=N, --seed=N (first seed; with it one seed by default, as
--- qnn.sweep runs it), --out=dir (default results/, results/quick/ with --quick), --epochs=N,
--- --save-epoch=E and --save-dir=dir (C.compare: checkpoint of the Grover net after epoch E, see
--- C.save_state)
function C.args(argv)
  local a = {quick = false}
  for _, s in ipairs(argv or {}) do
    if s == "--quick" then a.quick = true
    elseif s:match("^%-%-seeds=%d+$") then a.seeds = tonumber(s:match("=(%d+)"))
    elseif s:match("^%-%-seed=%d+$") then a.seed = tonumber(s:match("=(%d+)"))
    elseif s:match("^%-%-epochs=%d+$") then a.epochs = tonumber(s:match("=(%d+)"))
    elseif s:match("^%-%-out=") then a.out = s:match("=(.*)$")
    elseif s:match("^%-%-save%-epoch=%d+$") then a.save_epoch = tonumber(s:match("=(%d+)"))
    elseif s:match("^%-%-save%-dir=") then a.save_dir = s:match("=(.*)$")
    elseif s == "--help" or s == "-h" then a.help = true; qnn.report.script_help()
    else error("unknown argument " .. s .. " (use --quick, --seeds=N, --seed=N, --epochs=N, --out=dir, " ..
      "--save-epoch=E, --save-dir=dir)") end
  end
  -- quick runs (make demo) must not overwrite the full results
  a.out = a.out or (a.quick and "results/quick" or "results")
  if a.seed and not a.seeds then a.seeds = 1 end
  return a
end

--- The paper's split: stratified 80/20 with seed 42, standardised with the TRAINING statistics.
--- Also returns the test set z-scored with its own statistics (what the authors' Grover script
--- does) for the like-with-like comparison.
function C.load(name)
  local ds = qnn.data.load(name)
  local tr, te = ds:split {test = 0.2, seed = 42}
  local te_self = te:copy()
  te_self:standardize() -- z-scored with its own statistics (the authors' Grover script)
  tr:standardize():apply(te) -- the standard way: training statistics
  return tr, te, te_self
end

--- Validation split of a training set (stratified, seeded), standardisation kept as is.
function C.holdout(tr, frac, seed)
  return tr:split {test = frac or 0.2, seed = seed or 7}
end

--- Dense tanh network of the given widths, no biases, U(-1,1) init, softmax output.
function C.net(widths, seed)
  local spec = {seed = seed}
  for k = 1, #widths - 1 do
    spec[#spec + 1] = qnn.nn.dense(widths[k], widths[k + 1], {bias = false, init = "uniform(-1,1)"})
    spec[#spec + 1] = (k == #widths - 1) and qnn.nn.softmax() or qnn.nn.tanh()
  end
  return qnn.nn.sequential(spec)
end

--- Path prefix of a saved Grover state: <dir>/<name>_s<seed>_e<epoch> (+ .ckpt for the net,
--- .json for the adaptive schedule's alpha per layer and the epoch's metrics).
function C.state_path(dir, name, seed, epoch)
  return string.format("%s/%s_s%d_e%d", dir, name, seed, epoch)
end

--- Saves the net and the schedule's alpha per layer (a Grover run can continue from them with
--- C.load_state; the random stream is not saved, so a continued run draws other shots).
function C.save_state(prefix, net, schedule, row)
  qnn.report.mkdir((prefix:match("^(.*)/[^/]*$")) or ".")
  net:save(prefix .. ".ckpt")
  local alpha = {}
  for l, v in pairs(schedule.alpha) do alpha[#alpha + 1] = {layer = l, alpha = v} end
  table.sort(alpha, function(x, y) return x.layer < y.layer end)
  qnn.report.json(prefix .. ".json", {alpha = alpha, epoch = row.epoch, test_acc = row.test_acc,
    test_ce = row.test_ce, train_loss = row.train_loss})
end

--- Loads what C.save_state wrote: net, a qnn.schedule.adaptive{} with the saved alpha, metrics.
function C.load_state(prefix)
  local net = qnn.nn.load(prefix .. ".ckpt")
  local f = assert(io.open(prefix .. ".json", "rb"))
  local meta = qnn.report.json_decode(f:read("a"))
  f:close()
  local s = qnn.schedule.adaptive {}
  for _, x in ipairs(meta.alpha or {}) do s.alpha[x.layer] = x.alpha end
  return net, s, meta
end

local report = qnn.report
C.mean_std = report.mean_std
C.pm = report.pm

--- Adam via qnn.train.fit; returns per-epoch history {train_loss, test_loss, test_acc}.
function C.adam(net, tr, te, lr, epochs, batch, seed)
  return qnn.train.fit(net, tr, {optimizer = qnn.optim.adam {lr = lr}, epochs = epochs,
                                 batch = batch or 16, seed = seed, test = te, progress = false})
end

C.mkdir = report.mkdir
--- Atomic JSON / CSV writers (qnn.report).
function C.write_json(path, v) report.json(path, v) end
--- rows: list of tables; cols: list of column names.
function C.write_csv(path, cols, rows) report.csv(path, cols, rows) end

--- gnuplot PNG from a CSV (first column x, series = {{col=k, title=}}); skipped when gnuplot is
--- missing.
function C.plot(png, csv, title, xlabel, ylabel, series, logy, logx)
  local ss = {}
  for i, s in ipairs(series) do ss[i] = {x = 1, y = s.col, title = s.title} end
  return report.plot {png = png, csv = csv, title = title, xlabel = xlabel, ylabel = ylabel,
                      series = ss, logy = logy, logx = logx and 2 or nil} ~= nil
end

--- Prints a plain text table.
function C.table(header, rows) print(report.table(header, rows)) end

--- The main comparison of issue 5: Grover (paper settings) vs Adam (paper baseline) vs a tuned
--- Adam, over several seeds. o = {name=, widths=, seeds=, first_seed=1, epochs=10, tuned_epochs=,
--- lr_grid=, grover = extra qnn.optim.grover options, out=, quick=}
function C.compare(o)
  local tr, te, te_self = C.load(o.name)
  local seeds = o.seeds or 5
  local epochs = o.epochs or 10
  local l2 = 1e-3
  local tag = "grover_" .. o.name
  C.mkdir(o.out)
  -- tuned Adam: lr on a validation split of the training set (seed 1 init), then full training
  local fit, val = C.holdout(tr, 0.2, 7)
  local best_lr, best_val = nil, math.huge
  for _, lr in ipairs(o.lr_grid) do
    local h = C.adam(C.net(o.widths, 1), fit, val, lr, o.tuned_epochs, 16, 1)
    local v = h.test_loss[#h.test_loss]
    if v < best_val then best_lr, best_val = lr, v end
  end
  print(string.format("%s: %d train / %d test samples, net %s, %d seeds; tuned Adam lr = %g " ..
    "(validation CE %.4f after %d epochs)", o.name, #tr, #te, table.concat(o.widths, "-"), seeds,
    best_lr, best_val, o.tuned_epochs))
  local R = {grover = {}, adam = {}, tuned = {}}
  local curves = {grover = {}, adam = {}, tuned = {}}
  local function add_curve(m, e, v)
    curves[m][e] = curves[m][e] or {}
    table.insert(curves[m][e], v)
  end
  local first = o.first_seed or 1
  for seed = first, first + seeds - 1 do
    -- Grover (paper settings)
    local net = C.net(o.widths, seed)
    local gopts = {net = net, data = tr, test = te, epochs = epochs, seed = seed, l2 = l2,
                   circuit = "paper"}
    for k, v in pairs(o.grover or {}) do gopts[k] = v end
    if o.save_epoch then -- checkpoint after epoch save_epoch (the default schedule, made explicit)
      local sched = qnn.schedule.adaptive {}
      gopts.schedule = sched
      gopts.on_epoch = function(row)
        if row.epoch == o.save_epoch then
          C.save_state(C.state_path(o.save_dir or (o.out .. "/states"), o.name, seed, row.epoch), net, sched, row)
        end
      end
    end
    local t0 = qnn.clock()
    local g = qnn.optim.grover(gopts)
    local gw = qnn.clock() - t0
    local last = g.history[#g.history]
    local selfe = net:evaluate(te_self.X, te_self.y)
    local selfl2 = net:evaluate(te_self.X, te_self.y, {l2 = l2})
    table.insert(R.grover, {seed = seed, test_ce = last.test_ce, test_loss_l2 = last.test_loss,
      test_acc = last.test_acc, test_ce_self = selfe.loss, test_loss_l2_self = selfl2.loss,
      test_acc_self = selfe.accuracy, train_loss_l2 = last.train_loss, train_acc = last.train_acc,
      queries = g.total.queries, queries_ideal = g.total.queries_ideal, weights = g.total.weights,
      candidates = g.total.candidates, accepted = g.total.accepted, qubits = g.total.qubits,
      depth = g.total.depth, gates = g.total.gates, wall = gw})
    for e = 2, #g.history do add_curve("grover", e - 1, g.history[e].test_ce) end
    -- Adam, the paper's baseline
    net = C.net(o.widths, seed)
    t0 = qnn.clock()
    local h = C.adam(net, tr, te, 1e-3, epochs, 16, seed)
    local aw = qnn.clock() - t0
    table.insert(R.adam, {seed = seed, test_ce = h.test_loss[epochs], test_acc = h.test_acc[epochs],
      test_loss_l2 = net:evaluate(te.X, te.y, {l2 = l2}).loss, wall = aw,
      test_acc_self = net:evaluate(te_self.X, te_self.y).accuracy})
    for e = 1, epochs do add_curve("adam", e, h.test_loss[e]) end
    -- tuned Adam
    net = C.net(o.widths, seed)
    t0 = qnn.clock()
    h = C.adam(net, tr, te, best_lr, o.tuned_epochs, 16, seed)
    local tw = qnn.clock() - t0
    table.insert(R.tuned, {seed = seed, test_ce = h.test_loss[o.tuned_epochs],
      test_acc = h.test_acc[o.tuned_epochs], wall = tw,
      test_loss_l2 = net:evaluate(te.X, te.y, {l2 = l2}).loss,
      test_acc_self = net:evaluate(te_self.X, te_self.y).accuracy})
    for e = 1, o.tuned_epochs do add_curve("tuned", e, h.test_loss[e]) end
    io.write(string.format("  seed %d: grover test CE %.4f acc %.3f | adam %.4f %.3f | tuned %.4f %.3f\n",
      seed, last.test_ce, last.test_acc, R.adam[#R.adam].test_ce, R.adam[#R.adam].test_acc,
      R.tuned[#R.tuned].test_ce, R.tuned[#R.tuned].test_acc))
    io.flush()
  end
  local function col(m, k)
    local t = {}
    for _, r in ipairs(R[m]) do t[#t + 1] = r[k] end
    return t
  end
  local summary = {}
  for _, m in ipairs {"grover", "adam", "tuned"} do
    local s = {}
    for _, k in ipairs {"test_ce", "test_acc", "test_loss_l2", "test_acc_self", "wall",
                        "test_ce_self", "test_loss_l2_self", "queries", "queries_ideal"} do
      if R[m][1][k] ~= nil then
        local mu, sd = C.mean_std(col(m, k))
        s[k] = mu
        s[k .. "_std"] = sd
      end
    end
    summary[m] = s
  end
  local G, A, T = summary.grover, summary.adam, summary.tuned
  local ratios = {
    -- the paper's way: Grover loss with L2 on a self-standardised test set vs Adam's plain CE
    paper_style_loss_reduction = 1 - G.test_loss_l2_self / A.test_ce,
    paper_style_acc_gain = G.test_acc_self / A.test_acc - 1,
    -- like with like: plain cross-entropy, both test sets standardised with training statistics
    loss_reduction_vs_adam = 1 - G.test_ce / A.test_ce,
    acc_gain_vs_adam = G.test_acc / A.test_acc - 1,
    loss_reduction_vs_tuned = 1 - G.test_ce / T.test_ce,
    acc_gain_vs_tuned = G.test_acc / T.test_acc - 1,
  }
  print()
  local rows = {
    {"Grover (paper settings, paper circuit)", C.pm(col("grover", "test_ce")), C.pm(col("grover", "test_acc")),
     C.pm(col("grover", "test_loss_l2")), C.pm(col("grover", "test_acc_self")),
     string.format("%.3g", G.queries), string.format("%.3g", G.wall)},
    {"Adam lr 1e-3, batch 16, " .. epochs .. " ep", C.pm(col("adam", "test_ce")), C.pm(col("adam", "test_acc")),
     C.pm(col("adam", "test_loss_l2")), C.pm(col("adam", "test_acc_self")), "-", string.format("%.3g", A.wall)},
    {string.format("Adam tuned lr %g, %d ep", best_lr, o.tuned_epochs), C.pm(col("tuned", "test_ce")),
     C.pm(col("tuned", "test_acc")), C.pm(col("tuned", "test_loss_l2")), C.pm(col("tuned", "test_acc_self")),
     "-", string.format("%.3g", T.wall)},
  }
  C.table({"method (" .. seeds .. " seeds)", "test CE", "test acc", "test CE+L2", "acc (self-scaled test)",
           "oracle queries", "wall s"}, rows)
  print(string.format("\npaper-style ratios (Grover CE+L2 on self-scaled test vs Adam CE): loss %.1f%% lower, accuracy %+.1f%%",
    100 * ratios.paper_style_loss_reduction, 100 * ratios.paper_style_acc_gain))
  print(string.format("like-with-like (plain CE, training-statistics scaling): vs Adam test loss %+.1f%%, accuracy %+.1f%%; vs tuned Adam test loss %+.1f%%, accuracy %+.1f%%",
    -100 * ratios.loss_reduction_vs_adam, 100 * ratios.acc_gain_vs_adam,
    -100 * ratios.loss_reduction_vs_tuned, 100 * ratios.acc_gain_vs_tuned))
  local circ = R.grover[1].depth > 0 and string.format("max depth %d, max gates %d",
    R.grover[1].depth, R.grover[1].gates) or "depth/gates not tracked"
  print(string.format("Grover cost per run: %d weights visited, %d candidate losses, %.3g oracle queries as run (%.3g ideal single-shot), %d qubits, %s",
    R.grover[1].weights, R.grover[1].candidates, G.queries, G.queries_ideal, R.grover[1].qubits, circ))
  -- files
  local per = {}
  for _, m in ipairs {"grover", "adam", "tuned"} do
    for _, r in ipairs(R[m]) do
      local x = {method = m}
      for k, v in pairs(r) do x[k] = v end
      per[#per + 1] = x
    end
  end
  C.write_csv(o.out .. "/" .. tag .. ".csv", {"method", "seed", "test_ce", "test_acc", "test_loss_l2",
    "test_acc_self", "test_ce_self", "test_loss_l2_self", "queries", "queries_ideal", "wall"}, per)
  local crow = {}
  local maxe = o.tuned_epochs
  for e = 1, maxe do
    local r = {epoch = e}
    for _, m in ipairs {"grover", "adam", "tuned"} do
      r[m] = curves[m][e] and (C.mean_std(curves[m][e])) or "NaN"
    end
    crow[#crow + 1] = r
  end
  local ccsv = o.out .. "/" .. tag .. "_curves.csv"
  C.write_csv(ccsv, {"epoch", "grover", "adam", "tuned"}, crow)
  C.plot(o.out .. "/" .. tag .. "_loss.png", ccsv,
    o.name .. ": mean test cross-entropy vs epoch (" .. seeds .. " seeds)", "epoch", "test CE",
    {{col = 2, title = "Grover (paper settings)"}, {col = 3, title = "Adam lr 1e-3 (paper)"},
     {col = 4, title = string.format("Adam tuned lr %g", best_lr)}}, true)
  C.write_json(o.out .. "/" .. tag .. ".json", {dataset = o.name, widths = o.widths, seeds = seeds,
    epochs = epochs, tuned_lr = best_lr, tuned_epochs = o.tuned_epochs, summary = summary,
    ratios = ratios, runs = per, quick = o.quick or false,
    notes = "test_ce: plain cross-entropy, test set standardised with training statistics; " ..
            "test_loss_l2: + 1e-3*sum(w^2); *_self: test set standardised with its own statistics " ..
            "(as the authors' Grover script)"})
  print("wrote " .. o.out .. "/" .. tag .. ".{csv,json}, " .. tag .. "_curves.csv, " .. tag .. "_loss.png")
  return summary, ratios
end

return C
