-- qnn.nn: layers, nets, losses with finite-difference gradient checks, single weights,
-- evaluation and bad input.
local qnn = require "qnn"

local function data(n, d, k, seed)
  local X = qnn.tensor.randn(n, d, {seed = seed})
  local y = {}
  for i = 1, n do y[i] = (i % k) + 1 end
  return X, y
end

-- max relative difference between net:grads() and central differences of net:loss
local function gradcheck(net, X, y, kind, opts)
  net:backward(X, y, kind, opts)
  local g = net:grads():copy()
  local p = net:params()
  local h, worst = 1e-5, 0
  for k = 1, net:nparams() do
    local w = p[k]
    p[k] = w + h; local lp = net:loss(X, y, kind, opts)
    p[k] = w - h; local lm = net:loss(X, y, kind, opts)
    p[k] = w
    local fd = (lp - lm) / (2 * h)
    local rel = math.abs(fd - g[k]) / math.max(1, math.abs(g[k]))
    if rel > worst then worst = rel end
  end
  return worst
end

describe("qnn.nn", function()
  it("builds an mlp and prints its layers", function()
    local net = qnn.nn.mlp{13, 32, 3, hidden = "tanh", output = "softmax", bias = false,
                           init = "uniform(-1,1)", seed = 1}
    assert.are.equal("Net", qnn.type(net))
    assert.are.equal(13 * 32 + 32 * 3, net:nparams())
    local s = tostring(net)
    assert.truthy(s:match("dense 13 %-> 32"))
    assert.truthy(s:match("tanh"))
    assert.truthy(s:match("512 parameters"))
    local i, o = net:dims()
    assert.are.equal(13, i); assert.are.equal(3, o)
    local p = net:params()
    assert.is_true(p:min() >= -1 and p:max() <= 1)
    -- same seed, same weights
    local net2 = qnn.nn.mlp{13, 32, 3, hidden = "tanh", bias = false, init = "uniform(-1,1)", seed = 1}
    assert.are.same(p:totable(), net2:params():totable())
  end)

  it("builds sequential nets from layer specs", function()
    local net = qnn.nn.sequential{
      qnn.nn.dense(4, 6, {init = "xavier"}), qnn.nn.relu(),
      qnn.nn.dense(6, 5, {init = "kaiming", bias = false}), qnn.nn.sigmoid(),
      qnn.nn.dense(5, 3, {init = "normal(0,0.1)", seed = 3}), qnn.nn.softmax(),
      seed = 2}
    assert.are.equal(4 * 6 + 6 + 6 * 5 + 5 * 3 + 3, net:nparams())
    assert.are.equal(6, #net)
    assert.are.equal("Layer", qnn.type(qnn.nn.tanh()))
    local out = net:forward(qnn.tensor.randn(7, 4, {seed = 1}))
    local r, c = out:shape()
    assert.are.equal(7, r); assert.are.equal(3, c)
    local sums = out:sum(2)
    for k = 1, 7 do assert.is_true(math.abs(sums[k] - 1) < 1e-12) end
    local single = net:forward{1, 2, 3, 4}
    assert.are.equal(1, single:ndim())
    local L = net:layers()
    assert.are.equal("dense", L[1].name)
    assert.are.equal(false, L[3].bias)
  end)

  for _, act in ipairs{"tanh", "relu", "sigmoid", "softmax", "identity"} do
    it("gradients of dense + " .. act .. " match finite differences", function()
      local X, y = data(6, 4, 3, 5)
      for _, out in ipairs{"softmax", "identity"} do
        local net = qnn.nn.mlp{4, 5, 3, hidden = act, output = out, init = "normal(0,0.7)", seed = 9}
        assert.is_true(gradcheck(net, X, y, "cross_entropy") < 1e-6)
        assert.is_true(gradcheck(net, X, y, "cross_entropy", {l2 = 1e-2}) < 1e-6)
        local T = qnn.tensor.uniform(6, 3, 0, 1, {seed = 4})
        assert.is_true(gradcheck(net, X, T, "mse") < 1e-6)
      end
    end)
  end

  it("sign uses the straight-through estimator", function()
    local net = qnn.nn.sequential{qnn.nn.dense(1, 3, {bias = false}), qnn.nn.sign(), seed = 1}
    local p = net:params()
    p[1], p[2], p[3] = 0.5, -2, 0
    local out = net:forward{{1}}
    assert.are.same({{1, -1, 1}}, out:totable())
    net:backward_output(qnn.tensor{{1, 1, 1}})
    assert.are.same({1, 0, 1}, net:grads():totable())
  end)

  it("cross-entropy and mse losses have the documented values", function()
    local net = qnn.nn.sequential{qnn.nn.dense(2, 2, {bias = false}), qnn.nn.softmax(), seed = 1}
    local p = net:params()
    p[1], p[2], p[3], p[4] = 1, 0, 0, 1
    local l = net:loss({{1, 3}}, {1})
    assert.is_true(math.abs(l - (math.log(math.exp(1) + math.exp(3)) - 1)) < 1e-12)
    local l2 = net:loss({{1, 3}}, {1}, "cross_entropy", {l2 = 0.5})
    assert.is_true(math.abs(l2 - l - 0.5 * 2) < 1e-12)
    local lin = qnn.nn.sequential{qnn.nn.dense(2, 2, {bias = false}), seed = 1}
    local q = lin:params()
    q[1], q[2], q[3], q[4] = 1, 0, 0, 1
    assert.is_true(math.abs(lin:loss({{1, 3}}, {{0, 0}}, "mse") - 5) < 1e-12)
  end)

  it("params() is a writable flat view; get/set address single weights", function()
    local net = qnn.nn.mlp{3, 4, 2, seed = 1}
    local p = net:params()
    assert.is_true(p:isview())
    -- layer 2 = second dense; weight from input 3 to output 2; bias as i = in + 1
    net:set(2, 3, 2, 0.25)
    assert.are.equal(0.25, net:get(2, 3, 2))
    assert.are.equal(0.25, p[3 * 4 + 4 + (3 - 1) * 2 + 2])
    net:set(2, 5, 1, -0.5)
    local W, b = net:layer_params(2)
    assert.are.equal(-0.5, b[1])
    assert.are.equal(0.25, W[3][2])
    p[1] = 7
    assert.are.equal(7, net:get(1, 1, 1))
    local c = net:copy()
    c:set(1, 1, 1, 0)
    assert.are.equal(7, net:get(1, 1, 1))
    assert.has_error(function() net:get(3, 1, 1) end)
    assert.has_error(function() net:get(1, 5, 1) end)
    assert.has_error(function() net:set(1, 1, 1, 0 / 0) end)
    net:close()
    assert.has_error(function() return p[1] end, "Tensor is closed")
    assert.has_error(function() net:nparams() end, "Net is closed")
  end)

  it("exposes activations of the last forward and keeps its input alive", function()
    local net = qnn.nn.mlp{3, 4, 2, seed = 1, hidden = "relu"}
    net:forward(qnn.tensor{{1, 2, 3}, {-1, 0, 1}})
    collectgarbage(); collectgarbage()
    assert.are.same({{1, 2, 3}, {-1, 0, 1}}, net:activation(0):totable())
    local pre, post = net:activation(1), net:activation(2)
    for i = 1, 2 do for j = 1, 4 do assert.are.equal(math.max(pre[i][j], 0), post[i][j]) end end
    local X = qnn.tensor{{1, 2, 3}}
    net:forward(X)
    X:close()
    assert.has_error(function() net:activation(0) end, "Net:activation: the last input Tensor is closed")
    assert.are.equal(2, select(2, net:activation(4):shape()))
  end)

  it("evaluates and predicts", function()
    local net = qnn.nn.mlp{2, 3, seed = 1, hidden = "identity"}
    local X = qnn.tensor{{1, 0}, {0, 1}, {1, 1}}
    local ev = net:evaluate(X, {1, 2, 3})
    assert.is_number(ev.loss)
    assert.is_true(ev.accuracy >= 0 and ev.accuracy <= 1)
    local total = 0
    for i = 1, 3 do for j = 1, 3 do total = total + ev.confusion[i][j] end end
    assert.are.equal(3, total)
    local pred = net:predict(X)
    assert.are.equal(3, #pred)
    for i = 1, 3 do assert.are.equal(pred[i], ev.confusion[i][pred[i]] > 0 and pred[i] or -1) end
    assert.is_number(net:predict{1, 0})
  end)

  it("runs dense layers in single precision on request", function()
    local X = qnn.tensor.uniform(16, 6, -1, 1, { seed = 4 })
    local y = {}
    for i = 1, 16 do y[i] = i % 3 + 1 end
    local a = qnn.nn.mlp { 6, 5, 3, seed = 2 }
    local b = qnn.nn.mlp { 6, 5, 3, seed = 2, precision = "single" }
    assert.are.equal("double", a:precision())
    assert.are.equal("single", b:precision())
    assert.truthy(tostring(b):match("single"))
    local la, lb = a:backward(X, y), b:backward(X, y)
    assert.is_true(la ~= lb and math.abs(la - lb) < 1e-6)
    local ga, gb = a:grads(), b:grads()
    for i = 1, #ga do assert.is_true(math.abs(ga[i] - gb[i]) < 1e-5) end
    -- per layer, through sequential; a mixed net reports "mixed"
    local m = qnn.nn.sequential { qnn.nn.dense(6, 5, { precision = "single" }), qnn.nn.tanh(), qnn.nn.dense(5, 3), seed = 1 }
    assert.are.equal("mixed", m:precision())
    assert.are.equal(m, m:precision("double"))
    assert.are.equal("double", m:precision())
    -- checkpoints keep it
    local path = os.tmpname()
    b:save(path)
    assert.are.equal("single", qnn.nn.load(path):precision())
    os.remove(path)
    assert.are.equal("single", b:copy():precision())
    -- bad input names the argument and the allowed values
    local ok, err = pcall(b.precision, b, "half")
    assert.is_false(ok); assert.truthy(err:match("precision") and err:match('"double" or "single"'))
    ok, err = pcall(qnn.nn.dense, 2, 3, { precision = 32 })
    assert.is_false(ok)
    ok, err = pcall(qnn.nn.mlp, { 3, 2, precision = "float" })
    assert.is_false(ok); assert.truthy(err:match("precision"))
  end)

  it("rejects bad input with clear errors", function()
    local net = qnn.nn.mlp{3, 4, 2, seed = 1}
    local ok, err = pcall(net.forward, net, qnn.tensor(2, 5))
    assert.is_false(ok); assert.truthy(err:match("2x5"))
    ok, err = pcall(qnn.nn.mlp, {3, 4, 2, hidden = "swish"})
    assert.truthy(err:match("unknown activation 'swish'"))
    assert.has_error(function() qnn.nn.mlp{3} end)
    assert.has_error(function() qnn.nn.mlp{3, 0} end)
    assert.has_error(function() qnn.nn.mlp{3, 2, hiden = "tanh"} end)
    assert.has_error(function() qnn.nn.dense(0, 3) end)
    assert.has_error(function() qnn.nn.dense(2, 3, {init = "gauss"}) end)
    ok, err = pcall(qnn.nn.sequential, {qnn.nn.dense(2, 3), qnn.nn.dense(4, 1)})
    assert.is_false(ok); assert.truthy(err:match("3 outputs"))
    assert.has_error(function() qnn.nn.sequential{} end)
    assert.has_error(function() qnn.nn.sequential{42} end)
    ok, err = pcall(net.loss, net, qnn.tensor(2, 3), {1, 3})
    assert.truthy(err:match("label 2"))
    assert.has_error(function() net:loss(qnn.tensor(2, 3), {1}) end)
    assert.has_error(function() net:loss(qnn.tensor(2, 3), {1, 1}, "hinge") end)
    assert.has_error(function() net:loss(qnn.tensor(2, 3), qnn.tensor(2, 3), "mse") end)
    assert.has_error(function() net:loss(qnn.tensor(2, 3), {1, 1}, "cross_entropy", {l2 = -1}) end)
    assert.has_error(function() net:activation(1) end)
  end)
end)
