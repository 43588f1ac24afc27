-- qnn.train: mini-batch training loops. The hot parts (batch gather, forward, backward,
-- optimizer update) run in C inside Optimizer:epoch; this file only orchestrates epochs,
-- evaluation on a test set, callbacks, progress and interrupts.
local qnn = require "qnn"
local M = {}

local fit_keys = {
  optimizer = true, epochs = true, batch = true, shuffle = true, seed = true, rng = true,
  loss = true, l2 = true, test = true, on_epoch = true, progress = true, label = true,
}

local function fail(msg, ...)
  error("qnn.train.fit: " .. string.format(msg, ...), 3)
end

local function as_tensor(v, what)
  local t = qnn.type(v)
  if t == "Tensor" then return v end
  if type(v) == "table" then
    local ok, res = pcall(qnn.tensor.from, v)
    if not ok then fail("%s: %s", what, tostring(res)) end
    return res
  end
  fail("%s must be a Tensor or a table, got %s", what, t)
end

-- data: {X=, y=} table or a Dataset (anything with .X and .y)
local function unpack_data(d, what)
  if type(d) ~= "table" and type(d) ~= "userdata" then
    fail("%s must be a table {X=, y=} or a Dataset, got %s", what, qnn.type(d))
  end
  local X, y = d.X, d.y
  if X == nil or y == nil then fail("%s needs fields X and y", what) end
  X = as_tensor(X, what .. ".X")
  y = as_tensor(y, what .. ".y")
  if X:ndim() ~= 2 then fail("%s.X must be 2-D (samples x features)", what) end
  local n = X:shape()
  if n == 0 then fail("%s is empty (0 samples)", what) end
  return X, y
end

local function check_int(v, name, lo, def)
  if v == nil then return def end
  if math.type(v) ~= "integer" or v < lo then fail("option '%s' must be an integer >= %d, got %s", name, lo, tostring(v)) end
  return v
end

-- elementwise activations: FLOPs per unit, forward and backward (one operation for the function
-- itself, its derivative from the cached output and the product with the incoming gradient)
local ELEMENTWISE = {tanh = true, relu = true, sigmoid = true, gelu = true, elu = true, leaky_relu = true,
  softplus = true, identity = true, linear = true, swish = true, silu = true}

--- FLOPs per training sample of forward + backward for a Net of dense layers and activations.
function M.flops(net)
  if qnn.type(net) ~= "Net" then
    error("qnn.train.flops: argument #1 'net' must be a Net, got " .. qnn.type(net), 2)
  end
  local fwd, bwd, first = 0, 0, true
  for i, l in ipairs(net:layers()) do
    local a, b = l["in"], l.out
    if l.name == "dense" then
      local bias = l.bias and b or 0
      fwd = fwd + 2 * a * b + bias
      -- weight gradient (outer product), bias gradient, and the input gradient except for the
      -- first dense layer (no gradient is needed with respect to the data)
      bwd = bwd + 2 * a * b + bias + (first and 0 or 2 * a * b)
      first = false
    elseif l.name == "softmax" then
      fwd, bwd = fwd + 3 * b, bwd + b -- exp, sum, divide; cross-entropy gradient p - onehot
    elseif ELEMENTWISE[l.name] and (l.nparams or 0) == 0 then
      fwd, bwd = fwd + b, bwd + 2 * b
    else
      return nil, ("layer %d (%s) has no FLOP formula"):format(i, tostring(l.name))
    end
  end
  return {forward = fwd, backward = bwd, per_sample = fwd + bwd}
end
qnn.document(M.flops, "qnn.train.flops", "qnn.train.flops(net) -> {forward, backward, per_sample} | nil, reason",
  "Training FLOPs per sample (forward + backward) from the layer sizes; a multiply-add counts 2. " ..
  "dense in->out: forward 2*in*out + out (bias); backward 2*in*out (weight gradient) + out (bias gradient) " ..
  "+ 2*in*out (input gradient; not counted for the first dense layer). Elementwise activations (tanh, relu, " ..
  "sigmoid, ...): 1 per unit forward, 2 backward. softmax + cross-entropy: 3K forward, K backward. " ..
  "The optimizer's parameter update and test-set evaluation are not counted. Returns nil and a reason " ..
  "for layers without a formula (quantum layers, LSTM, ...). qnn.train.fit reports cumulative " ..
  "flops = samples seen x per_sample in its records and history.")

--- fit(net, data, opts) -> history
function M.fit(net, data, opts)
  opts = opts or {}
  if type(opts) ~= "table" then fail("options must be a table") end
  local bad = qnn.opts.unknown(opts, fit_keys)
  if bad then fail("%s", bad) end
  if qnn.type(net) ~= "Net" then fail("argument #1 'net' must be a Net, got %s", qnn.type(net)) end
  local X, y = unpack_data(data, "data")
  local tX, ty
  if opts.test ~= nil then tX, ty = unpack_data(opts.test, "test") end
  local opt = opts.optimizer or qnn.optim.adam{}
  if qnn.type(opt) ~= "Optimizer" then fail("option 'optimizer' must be an Optimizer, got %s", qnn.type(opt)) end
  local epochs = check_int(opts.epochs, "epochs", 1, 10)
  local batch = check_int(opts.batch, "batch", 1, 32)
  local shuffle = opts.shuffle
  if shuffle == nil then shuffle = true end
  local loss = opts.loss or "cross_entropy"
  if loss ~= "cross_entropy" and loss ~= "mse" then fail("option 'loss' must be \"cross_entropy\" or \"mse\", got %s", tostring(loss)) end
  local l2 = opts.l2 or 0
  if type(l2) ~= "number" or l2 ~= l2 or l2 < 0 or l2 == math.huge then fail("option 'l2' must be a finite number >= 0") end
  local rng = opts.rng
  if opts.seed ~= nil then
    if math.type(opts.seed) ~= "integer" then fail("option 'seed' must be an integer") end
    rng = qnn.rng(opts.seed)
  end
  rng = rng or qnn.default_rng()
  if opts.on_epoch ~= nil and type(opts.on_epoch) ~= "function" then fail("option 'on_epoch' must be a function") end

  local hist = { train_loss = {}, train_acc = {}, test_loss = {}, test_acc = {}, flops = {}, epochs = 0 }
  local fl = M.flops(net)
  local nsamples = X:shape()
  local flops = 0
  local bar <close> = qnn.progress.run{ label = opts.label or "fit", total = epochs, unit = "epoch",
                                        quiet = opts.progress == false }
  local t0 = qnn.clock()
  local epoch_opts = { batch = batch, shuffle = shuffle, rng = rng, loss = loss, l2 = l2 }
  for e = 1, epochs do
    qnn.check_interrupt()
    local l, a = opt:epoch(net, X, y, epoch_opts)
    hist.train_loss[e], hist.train_acc[e] = l, a
    local rec = { epoch = e, train_loss = l, train_acc = a }
    if fl then
      flops = flops + nsamples * fl.per_sample
      hist.flops[e], rec.flops = flops, flops
    end
    if tX then
      local ev = net:evaluate(tX, ty, { loss = loss })
      hist.test_loss[e], hist.test_acc[e] = ev.loss, ev.accuracy
      rec.test_loss, rec.test_acc = ev.loss, ev.accuracy
    end
    hist.epochs = e
    bar:update(e)
    if opts.on_epoch and opts.on_epoch(e, rec, net) == true then break end
  end
  bar:finish(string.format("%d epochs, train loss %.4g%s", hist.epochs, hist.train_loss[hist.epochs],
    hist.test_acc[hist.epochs] and string.format(", test acc %.3f", hist.test_acc[hist.epochs]) or ""))
  hist.time = qnn.clock() - t0
  return hist
end
qnn.document(M.fit, "qnn.train.fit",
  "qnn.train.fit(net, data [, {optimizer=adam{}, epochs=10, batch=32, shuffle=true, seed=, rng=, " ..
  "loss=\"cross_entropy\", l2=0, test=, on_epoch=fn, progress=true}]) -> history",
  "net: Net; data: {X=Tensor|table, y=labels 1..K | targets} or a Dataset (.X, .y), >= 1 sample; " ..
  "test: same form, evaluated after every epoch; on_epoch(e, record, net) returning true stops early;\n" ..
  "record = {epoch, train_loss, train_acc, test_loss, test_acc, flops} (test_* only with test=; flops = " ..
  "cumulative training FLOPs, forward + backward, see qnn.train.flops; nil for nets without a formula).\n" ..
  "Mini-batch training; batches, forward, backward and updates run in C (Optimizer:epoch). " ..
  "Returns {train_loss={...}, train_acc={...}, test_loss={...}, test_acc={...}, flops={...}, epochs=, time=} " ..
  "(train_acc counts hits during the epoch's training-mode passes; nil entries for mse).")

return M
