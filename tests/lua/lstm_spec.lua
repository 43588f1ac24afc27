-- qnn.nn.lstm: parameter count (the paper's 1,781), forward semantics, backprop through time
-- against finite differences, copy/save/load, bad input.
local qnn = require "qnn"

local function gradcheck(net, X, Y)
  net:backward(X, Y, "mse")
  local g = net:grads():copy()
  local p = net:params()
  local h, worst = 1e-6, 0
  for k = 1, net:nparams() do
    local w = p[k]
    p[k] = w + h; local lp = net:loss(X, Y, "mse")
    p[k] = w - h; local lm = net:loss(X, Y, "mse")
    p[k] = w
    local fd = (lp - lm) / (2 * h)
    worst = math.max(worst, math.abs(fd - g[k]) / math.max(1, math.abs(fd)))
  end
  return worst
end

describe("qnn.nn.lstm", function()
  it("LSTM(1->20) + dense(20->1) has 1,781 weights", function()
    local net = qnn.nn.sequential { qnn.nn.lstm(1, 20, { steps = 4 }), qnn.nn.dense(20, 1), seed = 1 }
    assert.are.equal(1781, net:nparams())
    assert.are.same({ 4, 1 }, { net:dims() })
  end)

  it("one step with zero weights except biases follows the gate equations", function()
    local net = qnn.nn.sequential { qnn.nn.lstm(1, 1, { steps = 1 }), seed = 1 }
    local p = net:params()
    for i = 1, net:nparams() do p[i] = 0 end
    -- layout: Wx (1 x 4), Wh (1 x 4), b (4); gates i f g o
    p[1], p[3], p[4] = 0.5, 1.0, 2.0 -- Wx_i, Wx_g, Wx_o
    local x = 0.3
    local out = net:forward(qnn.tensor { { x } })
    local sig = function(z) return 1 / (1 + math.exp(-z)) end
    local c = sig(0.5 * x) * math.tanh(1.0 * x)
    local h = sig(2.0 * x) * math.tanh(c)
    assert.is_true(math.abs(out:get(1, 1) - h) < 1e-14)
  end)

  it("backprop through time matches finite differences", function()
    local net = qnn.nn.sequential { qnn.nn.lstm(2, 3, { steps = 4 }), qnn.nn.tanh(), qnn.nn.dense(3, 2), seed = 3 }
    local X = qnn.tensor.randn(5, 8, { seed = 2 })
    local Y = qnn.tensor.randn(5, 2, { seed = 4 })
    assert.is_true(gradcheck(net, X, Y) < 1e-6)
    -- input gradient flows into an earlier layer
    local net2 = qnn.nn.sequential { qnn.nn.dense(3, 6), qnn.nn.lstm(2, 2, { steps = 3 }), qnn.nn.dense(2, 1), seed = 5 }
    local X2 = qnn.tensor.randn(4, 3, { seed = 6 })
    local Y2 = qnn.tensor.randn(4, 1, { seed = 7 })
    assert.is_true(gradcheck(net2, X2, Y2) < 1e-6)
  end)

  it("copies, saves and loads", function()
    local net = qnn.nn.sequential { qnn.nn.lstm(1, 5, { steps = 4 }), qnn.nn.dense(5, 1), seed = 1 }
    local X = qnn.tensor.randn(3, 4, { seed = 1 })
    local a = net:forward(X):copy()
    local c = net:copy()
    assert.is_true(math.abs(c:forward(X):get(2, 1) - a:get(2, 1)) < 1e-15)
    local path = os.tmpname()
    net:save(path)
    local l = qnn.nn.load(path)
    os.remove(path)
    assert.is_true(math.abs(l:forward(X):get(3, 1) - a:get(3, 1)) < 1e-15)
  end)

  it("rejects bad input", function()
    assert.has_error(function() qnn.nn.lstm(0, 20) end)
    assert.has_error(function() qnn.nn.lstm(1, 0) end)
    assert.has_error(function() qnn.nn.lstm(1, 2, { steps = 0 }) end)
    assert.has_error(function() qnn.nn.lstm(1, 2, { step = 4 }) end)
    assert.has_error(function() qnn.nn.lstm(1.5, 2) end)
    assert.has_error(function() qnn.nn.sequential { qnn.nn.dense(3, 5), qnn.nn.lstm(1, 2, { steps = 4 }) } end)
    local net = qnn.nn.sequential { qnn.nn.lstm(1, 2, { steps = 4 }), seed = 1 }
    assert.has_error(function() net:forward(qnn.tensor.randn(2, 3)) end)
  end)
end)
