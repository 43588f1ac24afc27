-- Borrowed objects (one borrows another: checked at every entry), closed objects passed as
-- arguments, and qnn.memory() (C memory reported per type). Issue 12 items 1, 4, 6.
local qnn = require "qnn"

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

describe("borrowed objects", function()
  local function trainer()
    local net = qnn.nn.mlp{3, 4, 2, seed = 1}
    local t = qnn.optim.grover_trainer(net, qnn.tensor.from{{1, 2, 3}, {4, 5, 6}},
                                       qnn.tensor.from{1, 2})
    return net, t
  end

  it("GroverTrainer refuses every method once its Net is closed", function()
    for _, call in ipairs{
      function(t) t:refresh() end,
      function(t) return t:loss() end,
      function(t) t:set(1, 1, 1, 0.5) end,
      function(t) t:candidates(1, 1, 1, {0.1, 0.2}) end,
      function(t) t:pass{layer = 1} end,
    } do
      local net, t = trainer()
      net:close()
      local e = err_of(call, t)
      assert.matches("GroverTrainer: the Net it uses is closed", e, 1, true)
      assert.truthy(tostring(t)) -- tostring still works
    end
  end)

  it("GroverTrainer keeps its Net alive without a reference", function()
    local _, t = trainer()
    collectgarbage(); collectgarbage()
    local l0 = t:loss()
    t:refresh()
    assert.are.equal(l0, t:loss())
  end)

  it("QuantumTrain refuses methods once its trainable (carrier) net or target is closed", function()
    local q = qnn.nn.quantum_train{target = qnn.nn.mlp{3, 4, 2, seed = 1}, depth = 2, seed = 1}
    q:trainable():close()
    assert.matches("QuantumTrain: the Net it uses is closed", err_of(function() q:circuit(1) end),
                   1, true)
    assert.matches("QuantumTrain: the Net it uses is closed", err_of(function() q:generate() end),
                   1, true)
    local target = qnn.nn.mlp{3, 4, 2, seed = 1}
    local q2 = qnn.nn.quantum_train{target = target, depth = 2, seed = 1}
    target:close()
    assert.matches("the Net it uses is closed", err_of(function() q2:generate() end), 1, true)
  end)

  it("Net:backward_output refuses when the last forward input was closed", function()
    local n = qnn.nn.mlp{2, 3, 2, seed = 1}
    local X = qnn.tensor.from{{1, 2}}
    n:forward(X)
    X:close()
    assert.matches("the input Tensor of the last forward pass is closed",
                   err_of(function() n:backward_output(qnn.tensor.from{{1, 1}}) end), 1, true)
    -- a new forward replaces the borrowed input
    n:forward(qnn.tensor.from{{1, 2}})
    n:backward_output(qnn.tensor.from{{1, 1}})
  end)

  it("views of a closed Net's parameters raise", function()
    local n = qnn.nn.mlp{2, 3, 2, seed = 1}
    local p = n:params()
    n:close()
    assert.matches("Tensor is closed", err_of(function() return p[1] end), 1, true)
  end)
end)

describe("Lua callbacks that close what a running C loop uses", function()
  it("GroverTrainer:pass pins its Net and itself", function()
    local net = qnn.nn.mlp{3, 4, 2, seed = 1}
    local t = qnn.optim.grover_trainer(net, qnn.tensor.from{{1, 2, 3}, {4, 5, 6}},
                                       qnn.tensor.from{1, 2})
    local tried = {}
    local msgs = {}
    local info = t:pass{layer = 1, alpha = 0.5, seed = 1, accept = function()
      local ok1, e1 = pcall(net.close, net)
      local ok2, e2 = pcall(t.close, t)
      tried[#tried + 1] = ok1 or ok2
      msgs[1], msgs[2] = e1, e2
      return true
    end}
    assert.is_table(info)
    assert.truthy(#tried > 0)
    for _, v in ipairs(tried) do assert.is_false(v) end
    assert.matches("Net is in use", msgs[1], 1, true)
    assert.matches("GroverTrainer is in use", msgs[2], 1, true)
    t:refresh()
    net:close() -- unpinned after the pass
    assert.matches("the Net it uses is closed", err_of(function() t:refresh() end), 1, true)
  end)

  it("a learning-rate function closing the net stops Optimizer:step/epoch with an error", function()
    local net = qnn.nn.mlp{2, 2, seed = 1}
    net:backward(qnn.tensor.from{{1, 2}}, {1})
    local o = qnn.optim.sgd{lr = function() net:close(); return 0.1 end}
    assert.matches("Net is closed", err_of(function() o:step(net) end), 1, true)
    local net2 = qnn.nn.mlp{2, 2, seed = 1}
    local X = qnn.tensor.from{{1, 2}, {3, 4}}
    local o2 = qnn.optim.sgd{lr = function() X:close(); return 0.1 end}
    assert.matches("Tensor is closed", err_of(function() o2:epoch(net2, X, {1, 2}, {batch = 1}) end),
                   1, true)
  end)

  it("Tensor:apply whose function closes the tensor raises", function()
    local a = qnn.tensor.zeros(3, 3)
    assert.matches("Tensor is closed",
                   err_of(function() a:apply(function(v) a:close(); return v end) end), 1, true)
  end)

  it("an annealing schedule closing the model raises", function()
    local m = qnn.ising.model{n = 3}
    assert.matches("Ising is closed", err_of(function()
      qnn.ising.sample(m, {reads = 2, sweeps = 5, seed = 1,
                           schedule = function(t) m:close(); return 1 + t end})
    end), 1, true)
  end)
end)

describe("closed objects as arguments", function()
  it("name the argument and say closed", function()
    local s = qnn.state(2); s:close()
    local e = err_of(function() qnn.circuit(2):h(0):run(s) end)
    assert.matches("bad argument #1 'state' to 'run' (State is closed)", e, 1, true)
    local d = qnn.density(1); d:close()
    assert.matches("Density is closed", err_of(function() qnn.circuit(1):h(0):run(d) end), 1, true)
    local x = qnn.tensor.zeros(2, 2); x:close()
    assert.matches("bad argument #1 'tensor' to 'matmul' (Tensor is closed)",
                   err_of(function() qnn.tensor.zeros(2, 2):matmul(x) end), 1, true)
    local s2 = qnn.state(1); s2:close()
    assert.matches("State is closed", err_of(function() qnn.state(1):fidelity(s2) end), 1, true)
    assert.matches("State is closed", err_of(function() qnn.density(s2) end), 1, true)
    local n = qnn.nn.mlp{2, 2}; n:close()
    assert.matches("Net is closed", err_of(function() qnn.optim.adam{}:step(n) end), 1, true)
    local m = qnn.ising.model{n = 2}; m:close()
    assert.matches("Ising is closed", err_of(function() m:energy{1, 1} end), 1, true)
  end)
end)

describe("qnn.memory", function()
  it("reports live C bytes per type and a total", function()
    collectgarbage(); collectgarbage()
    local m0 = qnn.memory()
    assert.is_number(m0.total)
    local s = qnn.state(10)
    local t = qnn.tensor.zeros(100, 30)
    local d = qnn.density(3)
    local m1 = qnn.memory()
    assert.are.equal(16 * 1024, m1.State - m0.State)
    assert.are.equal(100 * 30 * 8, m1.Tensor - m0.Tensor)
    assert.are.equal(16 * 64, m1.Density - m0.Density)
    assert.are.equal(m0.counts.State + 1, m1.counts.State)
    s:close(); t:close(); d:close()
    local m2 = qnn.memory()
    assert.are.equal(m0.State, m2.State)
    assert.are.equal(m0.Tensor, m2.Tensor)
    assert.are.equal(m0.Density, m2.Density)
    local n = qnn.nn.mlp{100, 50, 10}
    local m3 = qnn.memory()
    assert.truthy(m3.Net - m2.Net >= 2 * 8 * (100 * 50 + 50 + 50 * 10 + 10))
    n:close()
    assert.are.equal(m2.Net, qnn.memory().Net)
    local sum = 0
    for k, v in pairs(qnn.memory()) do
      if k ~= "total" and k ~= "collections" and type(v) == "number" then sum = sum + v end
    end
    assert.are.equal(qnn.memory().total, sum)
  end)

  it("collects unreferenced objects when C memory grows (no close)", function()
    collectgarbage(); collectgarbage()
    local base = qnn.memory().total
    local c0 = qnn.memory().collections
    for _ = 1, 40 do local _s = qnn.state(20) end -- 16 MiB each, 640 MiB in all
    local m = qnn.memory()
    assert.truthy(m.collections > c0)
    assert.truthy(m.total - base <= 8 * 16 * 2^20, "live C bytes stay bounded: " .. m.total)
  end)
end)

describe("closed arguments of plain functions", function()
  it("name argument #1 too (self of a method stays 'X is closed')", function()
    local n = qnn.nn.mlp{2, 2}; n:close()
    local ok, e = pcall(qnn.optim.grover_trainer, n, {{1, 2}}, {1})
    assert.is_false(ok)
    assert.matches("bad argument #1 'net' to '" .. "[%w.]*grover_trainer' %(Net is closed%)", e)
    local m = qnn.ising.model{n = 2}; m:close()
    ok, e = pcall(qnn.ising.sample, m)
    assert.matches("bad argument #1 'model' to '[%w.]*sample' %(Ising is closed%)", e)
    local t = qnn.tensor.zeros(2); t:close()
    ok, e = pcall(function() return t:sum() end)
    assert.are.equal("Tensor is closed", e:match("Tensor is closed$") and "Tensor is closed")
    assert.not_matches("bad argument", e)
    local n2 = qnn.nn.mlp{2, 2}; n2:close()
    ok, e = pcall(qnn.nn.quantum_train, {target = n2, depth = 1})
    assert.matches("option 'target' is a closed Net", e, 1, true)
  end)
end)
