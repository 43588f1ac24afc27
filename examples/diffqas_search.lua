-- DiffQAS-QT, the paper's open questions (issue 18): is the architecture search valid?
-- One run = one (task, depth, normalize, pool, seed), at the reduced ("quick") problem size of
-- examples/diffqas_classify.lua (images pooled to 14x14, target 196-16-2, 3,186 weights -> 12
-- qubits, Adam lr 1e-2, batch 100, 6 epochs = 96 steps):
--   1. the DiffQAS-QT ensemble is trained; its structural weights rank the candidates;
--   2. every candidate of the pool is trained ALONE from scratch (same seed, steps, mapping);
--   3. Spearman correlation between the learned structural weights and the standalone accuracies;
--   4. the discretised top-1 and top-3 are RETRAINED from scratch (a new generator with only those
--      candidates), beside the paper's discretisation (same trained angles, no retraining);
--   5. --pool=pruned drops the candidates qnn.diffqas.pool_report finds constant or duplicated at
--      this depth (2 of 12 at depth >= 3).
--   6. --angles=per_candidate gives every candidate of the ensemble (and of the retrained top-3)
--      its own angle vector instead of the paper's one shared vector (singles are unaffected:
--      with one candidate both modes are the same model).
-- Prints one JSON line and writes it under --out; sweep it with qnn.sweep (commands in
-- docs/results/diffqas.md).
--   bin/qnnlab examples/diffqas_search.lua --task=mnist15 --depth=15 --seed=1 [--pool=full|pruned]
--   [--normalize=softmax|none] [--inputs=raw|standardize] [--epochs=6] [--singles=true]
--   [--angles=shared|per_candidate]
local qnn = require "qnn"
local dq = qnn.diffqas
local report = qnn.report

local M = {}

local function median(xs)
  local t = {}
  for i, v in ipairs(xs) do t[i] = v end
  table.sort(t)
  local n = #t
  if n == 0 then return 0 / 0 end
  return n % 2 == 1 and t[(n + 1) // 2] or 0.5 * (t[n // 2] + t[n // 2 + 1])
end

--- Runs one configuration; returns the metrics table.
function M.run(a)
  local train, test = dq.task(a.task, { quick = true, inputs = a.inputs })
  local full = dq.pool()
  local pool, dropped = full, {}
  if a.pool == "pruned" then
    pool, dropped = dq.prune({ nqubits = 12, depths = { a.depth } }, a.depth)
  elseif a.pool ~= "full" then
    error("diffqas_search: --pool must be full or pruned, got " .. tostring(a.pool), 0)
  end
  local function fit(model)
    local h = dq.train(model, { train = train, test = test, epochs = a.epochs, batch = 100,
      optimizer = qnn.optim.adam { lr = a.lr }, seed = a.seed })
    return h.final.accuracy, h.steps
  end
  if a.angles ~= "shared" and a.angles ~= "per_candidate" then
    error("diffqas_search: --angles must be shared or per_candidate, got " .. tostring(a.angles), 0)
  end
  local function generator(cands)
    return qnn.nn.quantum_train { target = dq.target(true, a.seed), depth = a.depth, pool = cands,
      normalize = a.normalize, angles = a.angles, seed = a.seed, mapping = { init_scale = 0.05 } }
  end
  local t0 = qnn.clock()
  -- 1. the ensemble
  local qt = generator(pool)
  local ens_trained = qt:nparams()
  local ens_acc, steps = fit(qt)
  local rank = qt:ranking()
  local d = qt:discretize(3, { X = test.X, y = test.y })
  local weight = {}
  for _, r in ipairs(rank) do weight[r.name] = r.weight end
  qt:close()
  -- 2. every candidate alone
  local single = {}
  local singles, weights, names = {}, {}, {}
  if a.singles ~= false then
    for _, cand in ipairs(pool) do
      local g = generator({ cand })
      local acc = fit(g)
      g:close()
      single[cand.name] = acc
      singles[#singles + 1] = acc
      weights[#weights + 1] = weight[cand.name]
      names[#names + 1] = cand.name
    end
  end
  -- 3. does the search rank the candidates the way standalone training does?
  local rho, p = 0 / 0, 0 / 0
  if #singles >= 3 then rho, p = qnn.stats.spearman(weights, singles) end
  -- 4. the discretised top-k retrained from scratch
  local by_name = {}
  for _, c in ipairs(pool) do by_name[c.name] = c end
  local function retrain(k)
    local cands = {}
    for i = 1, k do cands[i] = by_name[rank[i].name] end
    local g = generator(cands)
    local acc = fit(g)
    g:close()
    return acc
  end
  local top1_re, top3_re = retrain(1), retrain(3)
  local best, best_name = -1, ""
  for n, v in pairs(single) do if v > best then best, best_name = v, n end end
  local out = {
    task = a.task, depth = a.depth, seed = a.seed, normalize = a.normalize, pool = a.pool,
    inputs = a.inputs, angles = a.angles, ensemble_trained = ens_trained, candidates = #pool, dropped = table.concat(dropped, " "), steps = steps,
    ensemble_acc = ens_acc, top1 = rank[1].name, top1_weight = rank[1].weight,
    top1_discretized_acc = d.top[1].metric, top3_discretized_acc = d.topk,
    top1_retrained_acc = top1_re, top3_retrained_acc = top3_re,
    best_single = best_name, best_single_acc = #singles > 0 and best or nil,
    median_single_acc = #singles > 0 and median(singles) or nil,
    top1_single_acc = single[rank[1].name],
    spearman_rho = rho, spearman_p = p,
    wall = qnn.clock() - t0,
  }
  return out, { names = names, weights = weights, singles = singles }
end

function M.main(argv)
  local a = report.flags(argv, { task = "mnist15", depth = 15, seed = 1, normalize = "softmax",
    pool = "full", inputs = "raw", epochs = 6, lr = 1e-2, singles = true, quick = false, angles = "shared",
    out = "results/diffqas_search" })
  if a.quick then a.epochs, a.depth, a.singles = 1, 3, false end
  local r, detail = M.run(a)
  local enc = function(v) return qnn.report.json_encode(v, false) end
  print(enc(r))
  if a.out and a.out ~= "" then
    report.mkdir(a.out)
    local name = ("%s/%s_d%d_%s_%s%s_s%d.json"):format(a.out, a.task, a.depth, a.normalize, a.pool,
      a.angles == "shared" and "" or "_" .. a.angles, a.seed)
    local all = {}
    for k, v in pairs(r) do all[k] = v end
    all.detail = detail
    report.write(name, enc(all) .. "\n")
  end
  return r
end

if arg and arg[0] and arg[0]:match("diffqas_search%.lua$") then M.main(arg) end
return M
