-- qnn.train.fit: mini-batch training on a synthetic 3-class problem, Wine (when data/ has
-- it), history, callbacks and bad input.
local qnn = require "qnn"

-- three Gaussian blobs in 13 dimensions (a Wine-like shape)
local function blobs(n, seed)
  local r = qnn.rng(seed)
  local X, y = {}, {}
  for i = 1, n do
    local c = (i % 3) + 1
    local row = {}
    for j = 1, 13 do row[j] = r:normal() + ((j % 3) == c - 1 and 1.5 or 0) end
    X[i], y[i] = row, c
  end
  return {X = qnn.tensor(X), y = y}
end

describe("qnn.train.fit", function()
  it("learns a synthetic 3-class problem with a 13-32-3 tanh net", function()
    local train, test = blobs(240, 1), blobs(90, 2)
    local net = qnn.nn.mlp{13, 32, 3, hidden = "tanh", seed = 1}
    local h = qnn.train.fit(net, train, {optimizer = qnn.optim.adam{lr = 1e-2}, epochs = 20,
      batch = 16, seed = 3, test = test, progress = false})
    assert.are.equal(20, #h.train_loss)
    assert.are.equal(20, #h.test_acc)
    assert.is_true(h.train_loss[20] < h.train_loss[1])
    assert.is_true(h.test_acc[20] >= 0.9)
    assert.is_number(h.time)
    -- same seeds, same result
    local net2 = qnn.nn.mlp{13, 32, 3, hidden = "tanh", seed = 1}
    local h2 = qnn.train.fit(net2, train, {optimizer = qnn.optim.adam{lr = 1e-2}, epochs = 20,
      batch = 16, seed = 3, progress = false})
    assert.are.equal(h.train_loss[20], h2.train_loss[20])
  end)

  it("supports mse, l2, on_epoch early stop and sgd", function()
    local d = blobs(60, 4)
    local T = qnn.tensor(60, 3)
    for i = 1, 60 do T[i][d.y[i]] = 1 end
    local net = qnn.nn.mlp{13, 8, 3, hidden = "relu", output = "sigmoid", seed = 2}
    local calls = 0
    local h = qnn.train.fit(net, {X = d.X, y = T}, {loss = "mse", l2 = 1e-4, epochs = 10,
      optimizer = qnn.optim.sgd{lr = 0.5, momentum = 0.9}, seed = 1,
      on_epoch = function(e, rec) calls = calls + 1; assert.is_number(rec.train_loss); return e == 4 end})
    assert.are.equal(4, calls)
    assert.are.equal(4, h.epochs)
    assert.is_true(h.train_loss[4] < h.train_loss[1])
  end)

  it("reaches >= 95% test accuracy on Wine (13-32-3 tanh, Adam)", function()
    local ok, ds = pcall(function() return qnn.data.load("wine") end)
    if not ok then
      pending("Wine data not available (run `make data`): " .. tostring(ds))
      return
    end
    local train, test = ds:split{test = 0.2, stratify = true, seed = 42}
    local scaler = train:standardize()
    scaler:apply(test)
    local net = qnn.nn.mlp{13, 32, 3, hidden = "tanh", seed = 1}
    local h = qnn.train.fit(net, train, {optimizer = qnn.optim.adam{lr = 1e-2}, epochs = 60,
      batch = 16, seed = 1, progress = false})
    local ev = net:evaluate(test.X, test.y)
    assert.is_true(ev.accuracy >= 0.95, "Wine test accuracy " .. ev.accuracy)
    assert.is_true(h.train_acc[#h.train_acc] > 0.95)
  end)

  it("rejects bad input", function()
    local net = qnn.nn.mlp{13, 4, 3, seed = 1}
    local d = blobs(10, 1)
    local ok, err = pcall(qnn.train.fit, net, {X = qnn.tensor(0, 13), y = {}})
    assert.is_false(ok); assert.truthy(err:match("empty"))
    assert.has_error(function() qnn.train.fit(net, {X = d.X}) end)
    assert.has_error(function() qnn.train.fit(42, d) end)
    assert.has_error(function() qnn.train.fit(net, d, {epoch = 3}) end)
    assert.has_error(function() qnn.train.fit(net, d, {epochs = 0}) end)
    assert.has_error(function() qnn.train.fit(net, d, {batch = 1.5}) end)
    assert.has_error(function() qnn.train.fit(net, d, {loss = "hinge"}) end)
    assert.has_error(function() qnn.train.fit(net, d, {optimizer = {}}) end)
    ok, err = pcall(qnn.train.fit, net, d, {optimizer = qnn.optim.sgd{lr = function() return 0 / 0 end}, progress = false})
    assert.is_false(ok); assert.truthy(err:match("NaN"))
    ok, err = pcall(qnn.train.fit, qnn.nn.mlp{5, 3, seed = 1}, d, {progress = false})
    assert.is_false(ok); assert.truthy(err:match("10x13"))
    assert.has_error(function() qnn.train.fit(net, {X = d.X, y = {1, 2}}, {progress = false}) end)
    assert.has_error(function() qnn.optim.adam{}:epoch(net, qnn.tensor(0, 13), {}) end)
  end)
end)
