-- qnn.optim: update rules against hand-computed values, schedules, state, bad input.
local qnn = require "qnn"

-- a net with a single weight w (1 -> 1 dense, no bias) whose gradient we control through
-- backward_output: d loss / d w = x * dout
local function one_weight(w)
  local net = qnn.nn.sequential{qnn.nn.dense(1, 1, {bias = false}), seed = 1}
  net:params()[1] = w
  return net
end

local function set_grad(net, g)
  net:forward{{1}}
  net:backward_output(qnn.tensor{{g}})
end

describe("qnn.optim", function()
  it("Adam's first three updates match hand-computed values", function()
    local net = one_weight(1.0)
    local opt = qnn.optim.adam{lr = 0.1}
    local grads = {0.5, -0.3, 0.2}
    local want = {0.900000002, 0.8808501989417752, 0.846107430790882}
    for t = 1, 3 do
      set_grad(net, grads[t])
      opt:step(net)
      assert.is_true(math.abs(net:params()[1] - want[t]) < 1e-14)
    end
    local st = opt:state()
    assert.are.equal("adam", st.kind)
    assert.are.equal(3, st.step)
    assert.are.same({0.9, 0.999}, st.betas)
    assert.are.equal(1, st.exp_avg:numel())
  end)

  it("SGD with momentum and Nesterov follow PyTorch", function()
    local net = one_weight(1.0)
    local opt = qnn.optim.sgd{lr = 0.1, momentum = 0.9}
    set_grad(net, 0.5); opt:step(net)
    assert.is_true(math.abs(net:params()[1] - 0.95) < 1e-15)
    set_grad(net, 0.5); opt:step(net)
    assert.is_true(math.abs(net:params()[1] - 0.855) < 1e-15)
    local n2 = one_weight(1.0)
    local nes = qnn.optim.sgd{lr = 0.1, momentum = 0.9, nesterov = true}
    set_grad(n2, 0.5); nes:step(n2)
    assert.is_true(math.abs(n2:params()[1] - 0.905) < 1e-15)
    local n3 = one_weight(1.0)
    local wd = qnn.optim.sgd{lr = 0.1, weight_decay = 0.1}
    set_grad(n3, 0.5); wd:step(n3)
    assert.is_true(math.abs(n3:params()[1] - (1 - 0.1 * 0.6)) < 1e-15)
  end)

  it("RMSprop follows PyTorch", function()
    local net = one_weight(1.0)
    local opt = qnn.optim.rmsprop{}
    set_grad(net, 0.5); opt:step(net)
    assert.is_true(math.abs(net:params()[1] - (1 - 0.01 * 0.5 / (0.05 + 1e-8))) < 1e-15)
  end)

  it("learning rates may be functions of the step", function()
    local net = one_weight(0)
    local seen = {}
    local opt = qnn.optim.sgd{lr = function(t) seen[#seen + 1] = t; return 0.1 / t end}
    for _ = 1, 3 do set_grad(net, 1); opt:step(net) end
    assert.are.same({1, 2, 3}, seen)
    assert.is_true(math.abs(net:params()[1] + (0.1 + 0.05 + 0.1 / 3)) < 1e-15)
    assert.truthy(tostring(opt):match("schedule"))
    opt:lr(0.5)
    assert.are.equal(0.5, opt:lr())
    local bad = qnn.optim.adam{lr = function() return 0 / 0 end}
    set_grad(net, 1)
    local ok, err = pcall(bad.step, bad, net)
    assert.is_false(ok); assert.truthy(err:match("NaN"))
  end)

  it("reset and copy", function()
    local net = one_weight(1)
    local opt = qnn.optim.adam{}
    set_grad(net, 1); opt:step(net)
    local c = opt:copy()
    assert.are.equal(1, c:state().step)
    opt:reset()
    assert.are.equal(0, opt:state().step)
    assert.is_nil(opt:state().exp_avg)
    -- state is per parameter count: a different net needs a reset
    local big = qnn.nn.mlp{2, 2, seed = 1}
    big:backward({{1, 2}}, {1})
    local ok, err = pcall(c.step, c, big)
    assert.is_false(ok); assert.truthy(err:match("reset"))
  end)

  it("rejects bad hyper-parameters", function()
    assert.has_error(function() qnn.optim.adam{lr = 0 / 0} end)
    assert.has_error(function() qnn.optim.adam{lr = -1} end)
    assert.has_error(function() qnn.optim.adam{betas = {1, 0.9}} end)
    assert.has_error(function() qnn.optim.adam{betas = 0.9} end)
    assert.has_error(function() qnn.optim.sgd{momentum = 1} end)
    assert.has_error(function() qnn.optim.sgd{nesterov = true} end)
    assert.has_error(function() qnn.optim.rmsprop{alpha = 2} end)
    assert.has_error(function() qnn.optim.sgd{learning_rate = 1} end)
    local ok, err = pcall(qnn.optim.adam, {lr = 0 / 0})
    assert.truthy(err:match("lr"))
    assert.has_error(function() qnn.optim.adam{}:step(42) end)
    assert.has_error(function() qnn.optim.adam{}:lr(-1) end)
  end)
end)
