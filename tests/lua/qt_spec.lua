-- qnn.nn.quantum_train (Quantum-Train generator + DiffQAS ensemble): layout and parameter
-- counts, full-chain gradient (target net -> mapping -> post-processing -> ensemble -> circuit
-- vjp) against finite differences, training, ranking/discretize, and bad input.
local qnn = require "qnn"

local function small_net(seed)
  -- 3-4-2 with biases: 16 + 10 = 26 weights -> 5 qubits
  return qnn.nn.sequential { qnn.nn.dense(3, 4), qnn.nn.tanh(), qnn.nn.dense(4, 2), seed = seed or 1 }
end

local X = qnn.tensor { { 1, 2, 3 }, { 0, 1, 0 }, { 1, -1, 1 }, { 0, 0, 2 } }
local y = { 1, 2, 2, 1 }

local function fdcheck(qt, loss, Y)
  qt:backward(X, Y, loss)
  local g = qt:grads():copy()
  local p = qt:params()
  local net = qt:target()
  local h, worst, maxg = 1e-5, 0, 0
  for k = 1, qt:nparams() do
    local w = p[k]
    p[k] = w + h; qt:generate(); local lp = net:loss(X, Y, loss)
    p[k] = w - h; qt:generate(); local lm = net:loss(X, Y, loss)
    p[k] = w
    local fd = (lp - lm) / (2 * h)
    worst = math.max(worst, math.abs(fd - g[k]) / (1 + math.abs(fd)))
    maxg = math.max(maxg, math.abs(g[k]))
  end
  return worst, maxg
end

describe("qnn.nn.quantum_train", function()
  it("counts parameters like the paper (theta + 12 structural + linear mapping)", function()
    local qt = qnn.nn.quantum_train { target = 108866, depth = 15, pool = { function(c, names, n)
      for q = 0, n - 1 do c:ry(q, names[q + 1]) end
    end } }
    local lay = qt:layout()
    assert.are.equal(17, lay.qubits)
    assert.are.equal(255, lay.theta)
    assert.are.equal(0, lay.structural) -- one candidate: no structural weight
    assert.are.equal(19, lay.mapping)
    qt:close()
    -- 12-candidate pool: 255 + 12 + 19 = 286 (the paper's count); built at 17 qubits without
    -- simulating anything
    local q2 = qnn.nn.quantum_train { target = 108866, depth = 15 }
    local trained, p = q2:nparams()
    assert.are.equal(286, trained)
    assert.are.equal(108866, p)
    assert.truthy(tostring(q2):find("286 trained", 1, true))
    assert.truthy(tostring(q2):find("108866 target", 1, true))
    q2:close()
    assert.has_error(function() q2:nparams() end, "QuantumTrain is closed")
  end)

  it("generates mean-subtracted weights into the target", function()
    local net = small_net()
    local qt = qnn.nn.quantum_train { target = net, depth = 2, seed = 3 }
    assert.are.equal(26 + 0, net:nparams())
    assert.are.equal(qt:target(), qt:generate())
    local s = 0
    local p = net:params()
    for i = 1, 26 do s = s + p[i] end
    assert.is_true(math.abs(s) < 1e-10)
    local pr = qt:probs()
    assert.are.equal(26, pr:numel())
    local mix = qt:mixture()
    assert.are.equal(12, #mix)
    assert.is_true(math.abs(mix[1] - 1 / 12) < 1e-12)
  end)

  it("full-chain gradient matches finite differences (softmax, cross entropy)", function()
    local qt = qnn.nn.quantum_train { target = small_net(2), depth = 2, seed = 5 }
    local p = qt:params()
    local lay = qt:layout()
    for j = 1, lay.structural do p[lay.theta + j] = 0.07 * j - 0.3 end
    local worst, maxg = fdcheck(qt, "cross_entropy", y)
    assert.is_true(worst < 1e-5, "worst " .. worst)
    assert.is_true(maxg > 1e-4)
  end)

  it("full-chain gradient matches finite differences (none, hidden mapping, mse)", function()
    local net = qnn.nn.sequential { qnn.nn.dense(3, 3), qnn.nn.tanh(), qnn.nn.dense(3, 1), seed = 4 }
    local qt = qnn.nn.quantum_train { target = net, depth = 2, normalize = "none", seed = 7,
      mapping = { hidden = { 4 }, activation = "tanh" }, pool = { qnn.diffqas.pool()[2], qnn.diffqas.pool()[10] } }
    assert.are.equal(2, qt:layout().structural)
    local Y = qnn.tensor { { 0.5 }, { -0.2 }, { 0.1 }, { 0.3 } }
    local worst, maxg = fdcheck(qt, "mse", Y)
    assert.is_true(worst < 1e-5, "worst " .. worst)
    assert.is_true(maxg > 1e-4)
  end)

  it("trains with Adam through the parameter-holder net and ranks candidates", function()
    local qt = qnn.nn.quantum_train { target = small_net(3), depth = 2, seed = 9 }
    local opt = qnn.optim.adam { lr = 0.05 }
    local first, last
    for i = 1, 40 do
      local l = qt:backward(X, y)
      qt:step(opt)
      first = first or l
      last = l
    end
    assert.is_true(last < first)
    assert.are.equal("Net", qnn.type(qt:trainable()))
    local r = qt:ranking()
    assert.are.equal(12, #r)
    for i = 2, #r do assert.is_true(r[i - 1].weight >= r[i].weight) end
    local d = qt:discretize(2, { X = X, y = y })
    assert.are.equal(2, #d.top)
    assert.are.equal(r[1].name, d.top[1].name)
    assert.is_number(d.top[1].metric)
    assert.is_number(d.ensemble)
    assert.is_number(d.topk)
    local t = qt:timings()
    assert.is_number(t.circuits_backward)
    assert.are.equal("Circuit", qnn.type(qt:circuit(1)))
  end)

  it("weight-count generators return a Tensor and take dweights", function()
    local qt = qnn.nn.quantum_train { target = 10, depth = 1, seed = 1 }
    local w = qt:generate()
    assert.are.equal(10, w:numel())
    qt:backprop({ 1, 0, 0, 0, 0, 0, 0, 0, 0, -1 })
    assert.are.equal(qt:nparams(), qt:grads():numel())
    assert.has_error(function() qt:backprop({ 1, 2 }) end)
  end)

  it("user pools: any size, functions or {name=, layer=}", function()
    local pool = {
      { name = "ry-only", layer = function(c, names, n) for q = 0, n - 1 do c:ry(q, names[q + 1]) end end },
      function(c, names, n, layer) if layer == 1 then c:h(0) end; c:rx(0, names[1]) end,
      { "rz-cz", function(c, names, n) c:rz(1, names[2]); c:cz(0, 1) end },
    }
    local qt = qnn.nn.quantum_train { target = 4, depth = 3, pool = pool }
    assert.are.same({ "ry-only", "candidate 2", "rz-cz" }, qt:candidates())
    assert.are.equal(3, qt:layout().structural)
  end)

  it("rejects bad input with clear errors", function()
    local net = small_net()
    assert.has_error(function() qnn.nn.quantum_train { target = 2 ^ 30 + 1, depth = 1 } end)
    local ok, e = pcall(qnn.nn.quantum_train, { target = 1073741825, depth = 1 })
    assert.is_false(ok); assert.truthy(e:find("2^30", 1, true))
    ok, e = pcall(qnn.nn.quantum_train, { target = net, depth = 0 })
    assert.is_false(ok); assert.truthy(e:find("depth", 1, true))
    ok, e = pcall(qnn.nn.quantum_train, { target = net })
    assert.is_false(ok); assert.truthy(e:find("depth", 1, true))
    ok, e = pcall(qnn.nn.quantum_train, { target = net, depth = 1, pool = {} })
    assert.is_false(ok); assert.truthy(e:find("empty", 1, true))
    ok, e = pcall(qnn.nn.quantum_train, { target = net, depth = 1, pool = {
      { name = "good", layer = function(c, names, n) c:ry(0, names[1]) end },
      { name = "offgrid", layer = function(c, names, n) c:cx(0, n) end } } })
    assert.is_false(ok); assert.truthy(e:find("'offgrid'", 1, true)); assert.truthy(e:find("qubit", 1, true))
    ok, e = pcall(qnn.nn.quantum_train, { target = net, depth = 1, pool = {
      { name = "broken", layer = function() error("my bug") end } } })
    assert.is_false(ok); assert.truthy(e:find("'broken'", 1, true)); assert.truthy(e:find("my bug", 1, true))
    ok, e = pcall(qnn.nn.quantum_train, { target = net, depth = 1, pool = {
      { name = "stranger", layer = function(c) c:ry(0, "alpha") end } } })
    assert.is_false(ok); assert.truthy(e:find("'stranger'", 1, true)); assert.truthy(e:find("alpha", 1, true))
    ok, e = pcall(qnn.nn.quantum_train, { target = net, depth = 1, pool = {
      { name = "lazy", layer = function() end } } })
    assert.is_false(ok); assert.truthy(e:find("'lazy'", 1, true)); assert.truthy(e:find("no gates", 1, true))
    ok, e = pcall(qnn.nn.quantum_train, { target = net, depth = 1, pool = { 42 } })
    assert.is_false(ok); assert.truthy(e:find("entry 1", 1, true))
    assert.has_error(function() qnn.nn.quantum_train { target = net, depth = 1, normalize = "max" } end)
    assert.has_error(function() qnn.nn.quantum_train { target = net, depth = 1, gamma = -1 } end)
    assert.has_error(function() qnn.nn.quantum_train { target = net, depth = 1, mapping = { hidden = { 0 } } } end)
    assert.has_error(function() qnn.nn.quantum_train { target = net, depth = 1, typo = 1 } end)
    assert.has_error(function() qnn.nn.quantum_train { target = "net", depth = 1 } end)
    assert.has_error(function() qnn.nn.quantum_train { depth = 1 } end)
    assert.has_error(function() qnn.nn.quantum_train(5) end)
    local qt = qnn.nn.quantum_train { target = net, depth = 1 }
    assert.has_error(function() qt:step(5) end)
    assert.has_error(function() qt:backward(X) end)
    assert.has_error(function() qt:circuit(13) end)
    assert.has_error(function() qt:discretize(0) end)
    assert.has_error(function() qt:discretize(13) end)
    local p = qt:params()
    p[1] = 0 / 0
    assert.has_error(function() qt:generate() end)
    qt:close()
    assert.has_error(function() qt:generate() end, "QuantumTrain is closed")
  end)
end)

describe("lua/qnn/pools/diffqas.lua", function()
  it("has the 12 candidates, each appending one layer with the shared names", function()
    local pool = require "qnn.pools.diffqas"
    assert.are.equal(12, #pool)
    local seen = {}
    for _, c in ipairs(pool) do
      assert.is_nil(seen[c.name]); seen[c.name] = true
      local circ = qnn.circuit(4)
      c.layer(circ, { "L1_q0", "L1_q1", "L1_q2", "L1_q3" }, 4, 1)
      local counts = circ:count()
      assert.are.equal(c.hadamard and 4 or nil, counts.h)
      assert.are.equal(c.entangler == "ring" and 4 or 3, counts.cx)
      assert.are.equal(4, counts[c.rotation])
      assert.are.same({ "L1_q0", "L1_q1", "L1_q2", "L1_q3" }, circ:param_names())
    end
    assert.truthy(seen["H-ring-RY"] and seen["noH-chain-RZ"])
  end)
end)

describe("qnn.math.jn", function()
  it("matches known Bessel values", function()
    assert.is_true(math.abs(qnn.math.jn(0, 0) - 1) < 1e-15)
    assert.is_true(math.abs(qnn.math.jn(2, 1.5) - 0.2320876721) < 1e-9)
    local t = qnn.math.jn(2, { 0, 1.5 })
    assert.is_true(math.abs(t[2] - 0.2320876721) < 1e-9)
    assert.has_error(function() qnn.math.jn(2, 0 / 0) end)
    assert.has_error(function() qnn.math.jn(1.5, 1) end)
  end)
end)

describe("qnn.gridworld", function()
  it("follows the Empty-NxN rules", function()
    local e = qnn.gridworld.empty(5)
    local o = e:reset()
    assert.are.equal(147, #o)
    -- goal is two cells ahead and two to the right of the start (agent faces east)
    local goal_seen = false
    for k = 1, 147, 3 do if math.abs(o[k] - 0.8) < 1e-12 then goal_seen = true end end
    assert.is_true(goal_seen)
    local _, r, d = e:step(3)
    assert.are.equal(0, r); assert.is_false(d)
    e:step(3); e:step(2); e:step(3)
    _, r, d = e:step(3)
    assert.is_true(d)
    assert.is_true(math.abs(r - (1 - 0.9 * 5 / 100)) < 1e-12)
    -- walls stop the agent; max_steps truncates with reward 0
    local e2 = qnn.gridworld.empty(6, { max_steps = 3 })
    e2:step(1); e2:step(3)
    _, r, d = e2:step(3)
    assert.is_true(d); assert.are.equal(0, r)
    assert.are.equal(1, e2.x); assert.are.equal(1, e2.y)
    assert.has_error(function() e:step(0) end)
    assert.has_error(function() e:step(8) end)
    assert.has_error(function() qnn.gridworld.empty(3) end)
    local v = qnn.gridworld.vec(4, 5)
    assert.are.same({ 4, 147 }, { v:obs_tensor():shape() })
  end)
end)

describe("qnn.diffqas helpers", function()
  it("writes JSON and CSV and parses arguments", function()
    local j = qnn.diffqas.json({ a = 1, b = { 1.5, "x" }, c = 0 / 0 })
    assert.truthy(j:find('"a": 1', 1, true))
    assert.truthy(j:find('"c": null', 1, true))
    assert.are.equal("a,b\n1,x\n", qnn.diffqas.csv({ { a = 1, b = "x" } }, { "a", "b" }))
    local o = qnn.diffqas.args({ "--quick", "--epochs=3", "--tasks=a,b" }, { epochs = 1 })
    assert.is_true(o.quick); assert.are.equal(3, o.epochs); assert.are.equal("a,b", o.tasks)
    assert.has_error(function() qnn.diffqas.args({ "oops" }) end)
    o = qnn.diffqas.args({ "--log=false", "--plots=true" }, { log = true, plots = false })
    assert.is_false(o.log); assert.is_true(o.plots)
    o = qnn.diffqas.args({ "--quick", "--tasks=x" }, { quick = false }, { "tasks" })
    assert.are.equal("x", o.tasks)
    local ok, err = pcall(qnn.diffqas.args, { "--taks=x" }, { quick = false }, { "tasks" })
    assert.is_false(ok); assert.truthy(err:match("unknown argument '%-%-taks=x'") and err:match("%-%-tasks="))
    assert.are.equal(12, #qnn.diffqas.pool())
    -- combine: mean and sd over seeds per (group, model); inputs other than raw form their own group
    local d = os.tmpname()
    qnn.report.csv(d .. "a.csv", { "task", "seed", "model", "kind", "normalize", "test_acc", "steps" }, {
      { task = "t1", seed = 1, model = "classical", kind = "classical", test_acc = 0.9, steps = 5 },
      { task = "t1", seed = 1, model = "DiffQAS-QT", kind = "ensemble", normalize = "none", test_acc = 0.5, steps = 5 } })
    qnn.report.csv(d .. "b.csv", { "task", "seed", "inputs", "model", "kind", "normalize", "test_acc", "steps" }, {
      { task = "t1", seed = 2, inputs = "raw", model = "DiffQAS-QT", kind = "ensemble", normalize = "none", test_acc = 0.7, steps = 5 },
      { task = "t1", seed = 1, inputs = "standardize", model = "classical", kind = "classical", test_acc = 1, steps = 5 } })
    local summary, md = qnn.diffqas.combine { files = d .. "a.csv," .. d .. "b.csv", group = "task",
      metric = "test_acc", quiet = true }
    local by = {}
    for _, r in ipairs(summary) do by[r.group .. "/" .. r.model] = r end
    assert.are.equal(2, by["t1/DiffQAS-QT none"].n)
    assert.is_true(math.abs(by["t1/DiffQAS-QT none"].mean - 0.6) < 1e-12)
    assert.is_true(math.abs(by["t1/DiffQAS-QT none"].sd - math.sqrt(0.02)) < 1e-12)
    assert.are.equal(1, by["t1+standardize/classical"].mean)
    assert.truthy(md:find("### t1, standardized inputs", 1, true))
    assert.has_error(function() qnn.diffqas.combine { files = d .. "a.csv", group = "series", metric = "test_acc" } end)
    assert.has_error(function() qnn.diffqas.combine { files = d .. "a.csv", metric = "test_acc" } end)
    assert.has_error(function() qnn.diffqas.combine { files = d .. "a.csv", group = "task", metric = "x", bogus = 1 } end)
    os.remove(d .. "a.csv"); os.remove(d .. "b.csv"); os.remove(d)
    assert.has_error(function() qnn.diffqas.train(5, {}) end)
    assert.has_error(function() qnn.diffqas.standalone(5, 1) end)
  end)
end)
