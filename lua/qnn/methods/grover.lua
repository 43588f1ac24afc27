-- Method 1 (arXiv 2504.14568): Grover-search weight optimisation, the epoch loop behind
-- qnn.optim.grover. The hot path (incremental candidate losses, oracle, sampling) is C:
-- qnn.optim.grover_trainer / GroverTrainer:pass. This file orchestrates layers and epochs,
-- calls the alpha schedule (any table with :value(layer) and :update(layer, info)),
-- evaluates train/test sets, accumulates the cost model and handles Ctrl-C.
local qnn = require "qnn"
local schedule = require "qnn.schedule"
local M = {}

local FN = "qnn.optim.grover"
local KEYS = {
  net = true, data = true, train = true, test = true, epochs = true, resolution = true,
  l2 = true, oracle = true, tol = true, shots = true, circuit = true, noise = true,
  schedule = true, candidates = true, accept = true, seed = true, rng = true, on_epoch = true,
  verbose = true, layers = true, budget = true, gates = true, track_circuit = true,
  progress = true, label = true,
}

local function fail(msg, ...)
  error(FN .. ": " .. string.format(msg, ...), 3)
end

local function get_data(d, what)
  if d == nil then return nil end
  if type(d) ~= "table" then fail("option '%s' must be a Dataset or {X=, y=}, got %s", what, qnn.type(d)) end
  local X, y = d.X, d.y
  if X == nil or y == nil then fail("option '%s' needs fields X and y", what) end
  if qnn.type(X) ~= "Tensor" then X = qnn.tensor.from(X) end
  return {X = X, y = y}
end

local function int_opt(v, name, lo, hi, def)
  if v == nil then return def end
  if math.type(v) ~= "integer" or v < lo or v > hi then
    fail("option '%s' must be an integer in [%d, %d], got %s", name, lo, hi, tostring(v))
  end
  return v
end

local function num_opt(v, name, lo, def)
  if v == nil then return def end
  if type(v) ~= "number" or v ~= v or v < lo or v == math.huge then
    fail("option '%s' must be a finite number >= %g, got %s", name, lo, tostring(v))
  end
  return v
end

-- resolution: number | {hidden=, output=} | {r1, r2, ...}
local function resolution_for(res, D)
  local out = {}
  for L = 1, D do
    local r
    if res == nil then r = (L == D) and 64 or 32
    elseif type(res) == "number" then r = res
    elseif type(res) == "table" then
      if res[L] ~= nil then r = res[L]
      else r = (L == D) and (res.output or 64) or (res.hidden or 32) end
    else fail("option 'resolution' must be a number, a list or {hidden=, output=}") end
    if math.type(r) ~= "integer" or r < 2 or r > 65536 then
      fail("resolution for layer %d must be an integer in [2, 65536], got %s", L, tostring(r))
    end
    out[L] = r
  end
  return out
end

local function tol_for(tol)
  if tol == nil then return 0.05, 0.1 end
  if type(tol) == "number" then
    if tol ~= tol or tol < 0 then fail("option 'tol' must be >= 0, got %s", tostring(tol)) end
    return tol, tol
  end
  if type(tol) == "table" then
    local h, o = tol.hidden or 0.05, tol.output or 0.1
    for _, v in ipairs {h, o} do
      if type(v) ~= "number" or v ~= v or v < 0 then fail("tol values must be numbers >= 0") end
    end
    return h, o
  end
  fail("option 'tol' must be a number or {hidden=, output=}")
end

--- qnn.optim.grover{...} -> result
function M.train(opts)
  if type(opts) ~= "table" then fail("expects an option table, got %s", type(opts)) end
  local bad = qnn.opts.unknown(opts, KEYS)
  if bad then fail("%s", bad) end
  local net = opts.net
  if qnn.type(net) ~= "Net" then fail("option 'net' must be a Net, got %s", qnn.type(net)) end
  local train = get_data(opts.data or opts.train, "data")
  if not train then fail("option 'data' (the training set) is required") end
  local test = get_data(opts.test, "test")
  local epochs = int_opt(opts.epochs, "epochs", 1, 1 << 30, 10)
  local l2 = num_opt(opts.l2, "l2", 0, 1e-3)
  local shots = int_opt(opts.shots, "shots", 1, 1 << 40, 1024)
  local tol_h, tol_o = tol_for(opts.tol)
  local oracle = opts.oracle or "threshold"
  if type(oracle) ~= "function" and oracle ~= "threshold" and oracle ~= "durr_hoyer" then
    fail("option 'oracle' must be \"threshold\", \"durr_hoyer\" or a function, got %s", tostring(oracle))
  end
  local circuit = opts.circuit or "textbook"
  if circuit ~= "textbook" and circuit ~= "paper" then
    fail("option 'circuit' must be \"textbook\" or \"paper\", got %s", tostring(circuit))
  end
  local sched = opts.schedule or schedule.adaptive {}
  schedule.check(sched, FN)
  if opts.candidates ~= nil and type(opts.candidates) ~= "function" then fail("option 'candidates' must be a function") end
  if opts.accept ~= nil and type(opts.accept) ~= "function" then fail("option 'accept' must be a function") end
  if opts.on_epoch ~= nil and type(opts.on_epoch) ~= "function" then fail("option 'on_epoch' must be a function") end
  local rng = opts.rng or qnn.rng(opts.seed or 1)

  local trainer = qnn.optim.grover_trainer(net, train.X, train.y, {l2 = l2})
  local D = trainer:nlayers()
  local res = resolution_for(opts.resolution, D)
  local order = opts.layers
  if order == nil then
    order = {}
    for L = 1, D do order[L] = L end
  else
    if type(order) ~= "table" or #order == 0 then fail("option 'layers' must be a non-empty list of layer numbers") end
    for _, L in ipairs(order) do
      if math.type(L) ~= "integer" or L < 1 or L > D then
        fail("layer %s does not exist: the net has %d dense layers", tostring(L), D)
      end
    end
  end

  local function evaluate(d)
    local plain = net:evaluate(d.X, d.y)
    local with = net:evaluate(d.X, d.y, {l2 = l2})
    return plain.loss, with.loss, plain.accuracy
  end

  local COST = {"weights", "candidates", "queries", "queries_ideal", "shots", "accepted",
                "fallbacks", "marked", "hits", "searches", "depth_sum", "gates_sum", "queries_to_best", "p_marked_sum"}
  local total = {qubits = 0, depth = 0, gates = 0}
  for _, k in ipairs(COST) do total[k] = 0 end
  -- coherent-oracle cost model (qnn.grover.resources): Toffoli gates a fault-tolerant machine
  -- would spend on the queries made, beside the flops of the classical candidate evaluations
  local rsizes = {}
  for _, info in ipairs(net:layers()) do
    if info.name == "dense" then
      if #rsizes == 0 then rsizes[1] = info["in"] end
      rsizes[#rsizes + 1] = info.out
    end
  end
  local nsamples = train.X:shape()
  local rcache = {}
  local function oracle_cost(L)
    local r = rcache[L]
    if r == nil and #rsizes == D + 1 then
      r = qnn.grover.resources{sizes = rsizes, samples = nsamples, layer = L, resolution = res[L]}
      rcache[L] = r
    end
    return r
  end
  total.oracle_toffoli, total.classical_flops = 0, 0
  local history = {}
  local t0 = qnn.clock()
  local interrupted = false
  local passes = {}
  local verbose = opts.verbose
  -- one live line for the whole run (epochs; each layer's pass shows inside it)
  local bar <close> = qnn.progress.run{label = opts.label or "grover", total = epochs, unit = "epoch",
                                       quiet = opts.progress == false}
  -- epoch 0 row: the starting point
  do
    local ce, lw, acc = evaluate(train)
    local row = {epoch = 0, train_loss = lw, train_ce = ce, train_acc = acc, wall = 0}
    if test then row.test_ce, row.test_loss, row.test_acc = evaluate(test) end
    history[1] = row
  end
  for epoch = 1, epochs do
    local te = qnn.clock()
    local ec = {qubits = 0, depth = 0, gates = 0}
    for _, k in ipairs(COST) do ec[k] = 0 end
    local alphas = {}
    for _, L in ipairs(order) do
      local alpha = schedule.alpha(sched, L, FN)
      alphas[L] = alpha
      local output = (L == D)
      local info = trainer:pass {
        layer = L, alpha = alpha, resolution = res[L], oracle = oracle,
        tol_hidden = tol_h, tol_output = tol_o, shots = shots, circuit = circuit,
        noise = opts.noise, rng = rng, candidates = opts.candidates, accept = opts.accept,
        budget = opts.budget, gates = opts.gates, track_circuit = opts.track_circuit,
        progress = opts.progress,
      }
      passes[L] = (passes[L] or 0) + 1
      for _, k in ipairs(COST) do ec[k] = ec[k] + info[k] end
      local rc = oracle_cost(L)
      if rc then
        ec.oracle_toffoli = (ec.oracle_toffoli or 0) + info.queries * rc.per_query.toffoli
        ec.classical_flops = (ec.classical_flops or 0) + info.candidates * nsamples * rc.classical.flops_per_sample
      end
      ec.qubits = math.max(ec.qubits, info.qubits)
      ec.depth = math.max(ec.depth, info.depth)
      ec.gates = math.max(ec.gates, info.gates)
      if info.interrupted then interrupted = true break end
      if verbose then
        qnn.progress.write(string.format("epoch %3d  layer %d: loss %.4f -> %.4f, %d accepted of %d visited\n",
          epoch, L, info.loss_before, info.loss_after, info.accepted, info.visited))
      end
      sched:update(L, {layer = L, epoch = epoch, pass = passes[L], loss_before = info.loss_before,
                       loss_after = info.loss_after, accepted = info.accepted,
                       visited = info.visited, output = output, alpha = alpha})
    end
    local ce, lw, acc = evaluate(train)
    local row = {epoch = epoch, train_loss = lw, train_ce = ce, train_acc = acc,
                 wall = qnn.clock() - te, alpha = alphas, interrupted = interrupted or nil}
    if test then row.test_ce, row.test_loss, row.test_acc = evaluate(test) end
    for _, k in ipairs(COST) do row[k] = ec[k]; total[k] = total[k] + ec[k] end
    row.oracle_toffoli, row.classical_flops = ec.oracle_toffoli or 0, ec.classical_flops or 0
    total.oracle_toffoli = total.oracle_toffoli + row.oracle_toffoli
    total.classical_flops = total.classical_flops + row.classical_flops
    row.qubits, row.depth, row.gates = ec.qubits, ec.depth, ec.gates
    row.depth_mean = ec.searches > 0 and ec.depth_sum / ec.searches or 0
    row.gates_mean = ec.searches > 0 and ec.gates_sum / ec.searches or 0
    total.qubits = math.max(total.qubits, ec.qubits)
    total.depth = math.max(total.depth, ec.depth)
    total.gates = math.max(total.gates, ec.gates)
    history[#history + 1] = row
    if verbose then
      qnn.progress.write(string.format("epoch %3d  train %.4f (ce %.4f, acc %.3f)%s  accepted %d  queries %d  %.2fs\n",
        epoch, lw, ce, acc,
        test and string.format("  test ce %.4f acc %.3f", row.test_ce, row.test_acc) or "",
        row.accepted, row.queries, row.wall))
      io.flush()
    end
    bar:update(epoch)
    if interrupted then break end
    if opts.on_epoch and opts.on_epoch(row) == false then break end
  end
  do
    local last = history[#history]
    bar:finish(string.format("%d epochs, train acc %.3f%s%s", last.epoch, last.train_acc,
      last.test_acc and string.format(", test acc %.3f", last.test_acc) or "",
      interrupted and " (interrupted)" or ""))
  end
  total.wall = qnn.clock() - t0
  total.depth_mean = total.searches > 0 and total.depth_sum / total.searches or 0
  total.gates_mean = total.searches > 0 and total.gates_sum / total.searches or 0
  trainer:close()
  return {net = net, history = history, total = total, interrupted = interrupted,
          resolution = res, schedule = sched, l2 = l2}
end

return M
