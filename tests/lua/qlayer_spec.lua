-- Quantum layers (qnn.nn.quantum), the parameter protocol of the optimizers and affine
-- parameter expressions. Gradients are checked against central finite differences and the
-- parameter-shift rule; batches against single samples; thread counts against each other.
local qnn = require "qnn"

local root = os.getenv("QNN_ROOT") or "."
local out = os.getenv("O") or "."
if out:sub(1, 1) ~= "/" then out = root .. "/" .. out end
local host = out .. "/bin/qnnlab"

-- loss = sum(Y .* R) of the net's forward on X
local function weighted(net, X, R)
  local Y = net:forward(X)
  local B, K = Y:shape()
  local s = 0
  for i = 1, B do for j = 1, K do s = s + Y:get(i, j) * R:get(i, j) end end
  return s
end

-- max |analytic - central FD| over all parameters of net
local function fd_error(net, X, R, h)
  h = h or 1e-5
  net:forward(X)
  net:backward_output(R)
  local g = net:grads():totable()
  local p = net:params()
  local worst = 0
  for k = 1, #g do
    local v = p:get(k)
    p:set(k, v + h); local a = weighted(net, X, R)
    p:set(k, v - h); local b = weighted(net, X, R)
    p:set(k, v)
    worst = math.max(worst, math.abs((a - b) / (2 * h) - g[k]))
  end
  return worst, g
end

local function randm(rng, r, c, s)
  local t = {}
  for i = 1, r do
    t[i] = {}
    for j = 1, c do t[i][j] = (s or 1) * rng:normal() end
  end
  return qnn.tensor.from(t)
end

-- classical -> quantum (the dense layer's gradients check the layer's input gradient)
local function hybrid(qspec, fin, seed)
  return qnn.nn.sequential{ qnn.nn.dense(3, fin), qspec, seed = seed or 3 }
end

describe("qnn.nn.quantum", function()
  local rng = qnn.rng(7)
  local X = randm(rng, 5, 3)

  it("gradients of observables match finite differences (inputs and weights)", function()
    local net = hybrid(qnn.nn.quantum{ encoder = "angle", features = 4, layers = 2 }, 4)
    local err = fd_error(net, X, randm(rng, 5, 4))
    assert.is_true(err < 1e-7, "max error " .. err)
  end)

  it("gradients of Hamiltonians and selected probabilities match finite differences", function()
    local q = qnn.nn.quantum{ encoder = "angle", features = 3, qubits = 3, layers = 2, reupload = 2,
      outputs = { { { 0.5, "XXI" }, { -1.5, "IZY" }, { 0.25, "ZZZ" } }, "IIX", { prob = 5 }, { prob = 0 } } }
    local net = hybrid(q, 3)
    local err = fd_error(net, X, randm(rng, 5, 4))
    assert.is_true(err < 1e-7, "max error " .. err)
  end)

  it("gradients of all probabilities (amplitude encoding) match finite differences", function()
    local net = hybrid(qnn.nn.quantum{ encoder = "amplitude", features = 3, layers = 2, outputs = "probs" }, 3)
    assert.are.equal(4, select(2, net:dims()))
    local err = fd_error(net, X, randm(rng, 5, 4))
    assert.is_true(err < 1e-7, "max error " .. err)
  end)

  it("noisy layers (density matrices, parameter shift) match finite differences", function()
    local q = qnn.nn.quantum{ encoder = "angle", features = 2, layers = 2,
      noise = qnn.noise.model{ p1 = 0.05, p2 = 0.1, amp_damp = 0.02 },
      outputs = { "ZI", { { 1, "XX" }, { 0.5, "YZ" } }, { prob = 3 } } }
    local net = hybrid(q, 2)
    local err = fd_error(net, X, randm(rng, 5, 3))
    assert.is_true(err < 1e-7, "max error " .. err)
    -- noise changes the numbers: same weights without noise differ
    local clean = hybrid(qnn.nn.quantum{ encoder = "angle", features = 2, layers = 2,
      outputs = { "ZI", { { 1, "XX" }, { 0.5, "YZ" } }, { prob = 3 } } }, 2)
    local pc, pn = clean:params(), net:params()
    for k = 1, pn:numel() do pc:set(k, pn:get(k)) end
    local a, b = net:forward(X), clean:forward(X)
    assert.is_true(math.abs(a:get(1, 1) - b:get(1, 1)) > 1e-4)
  end)

  it("agrees with the parameter-shift rule of the circuit (inputs and weights)", function()
    local c = qnn.circuit(2):ry(0, "x1"):ry(1, "x2"):cx(0, 1):rx(0, "a"):cry(1, 0, "b"):rz(1, "0.5*x1")
    local q = qnn.nn.quantum{ circuit = c, inputs = { "x1", "x2" }, outputs = { "ZZ" } }
    local net = qnn.nn.sequential{ qnn.nn.dense(2, 2, { bias = false }), q, seed = 1 }
    local W = net:layer_params(1)
    W:set(1, 1, 1); W:set(1, 2, 0); W:set(2, 1, 0); W:set(2, 2, 1)
    local wq = net:layer_params(2)
    wq:set(1, 0.7); wq:set(2, -1.1)
    local x = { 0.3, -0.8 }
    local y = net:forward(qnn.tensor.from{ x })
    net:backward_output(qnn.tensor.from{ { 1 } })
    local cc = c:copy():set{ x1 = x[1], x2 = x[2], a = 0.7, b = -1.1 }
    local v, gs = cc:gradient_shift("ZZ")
    assert.is_near(v, y:get(1, 1), 1e-12)
    local g = net:grads():totable()
    -- weights a, b
    assert.is_near(gs.a, g[5], 1e-10)
    assert.is_near(gs.b, g[6], 1e-10)
    -- dense W = I: dL/dW[i][i] = x_i * dL/dx_i
    assert.is_near(gs.x1, g[1] / x[1], 1e-10)
    assert.is_near(gs.x2, g[4] / x[2], 1e-10)
  end)

  it("large circuits (parallel over amplitudes) agree with Circuit:gradient", function()
    local n = 14
    local c = qnn.circuit(n)
    for q = 0, n - 1 do c:ry(q, "x" .. q) end
    for q = 0, n - 1 do c:rx(q, "w" .. q) end
    for q = 0, n - 2 do c:cx(q, q + 1) end
    c:rz(n - 1, "0.5*w0")
    local inputs = {}
    for q = 0, n - 1 do inputs[#inputs + 1] = "x" .. q end
    local obs = string.rep("I", n - 1) .. "Z"
    local net = qnn.nn.sequential{ qnn.nn.quantum{ circuit = c, inputs = inputs, outputs = { obs } }, seed = 2 }
    local x = {}
    for q = 1, n do x[q] = 0.1 * q end
    local y = net:forward(qnn.tensor.from{ x })
    net:backward_output(qnn.tensor.from{ { 1 } })
    local g = net:grads():totable()
    local vals = {}
    for q = 0, n - 1 do vals["x" .. q] = x[q + 1] end
    local w = net:params():totable()
    for q = 0, n - 1 do vals["w" .. q] = w[q + 1] end
    local cc = c:copy():set(vals)
    local v, gc = cc:gradient(obs)
    assert.is_near(v, y:get(1, 1), 1e-12)
    for q = 0, n - 1 do assert.is_near(gc["w" .. q], g[q + 1], 1e-12) end
  end)

  it("a batch equals its samples one by one (outputs and gradients)", function()
    local net = hybrid(qnn.nn.quantum{ encoder = "angle", features = 3, layers = 2,
      outputs = { "ZII", { { 1, "XYZ" } }, { prob = 2 } } }, 3)
    local R = randm(rng, 5, 3)
    local Y = net:forward(X)
    net:backward_output(R)
    local gb = net:grads():totable()
    local sum = {}
    for k = 1, #gb do sum[k] = 0 end
    for i = 1, 5 do
      local xi = qnn.tensor.from{ X:row(i):totable() }
      local yi = net:forward(xi)
      for j = 1, 3 do assert.are.equal(Y:get(i, j), yi:get(1, j)) end
      net:backward_output(qnn.tensor.from{ R:row(i):totable() })
      local g = net:grads():totable()
      for k = 1, #g do sum[k] = sum[k] + g[k] end
    end
    for k = 1, #gb do assert.is_near(sum[k], gb[k], 1e-12) end
  end)

  it("gives identical numbers with 1 and 2 threads", function()
    local f = io.open(host, "r")
    if not f then return pending("bin/qnnlab not built") end
    f:close()
    local code = [[
      local qnn = require 'qnn'
      local net = qnn.nn.sequential{ qnn.nn.dense(4, 6), qnn.nn.quantum{ encoder = 'angle', features = 6, layers = 3,
        outputs = { 'ZIIIII', { { 0.5, 'XXIIII' } }, { prob = 7 } } }, qnn.nn.dense(3, 2), seed = 5 }
      local r = qnn.rng(3)
      local t = {}
      for i = 1, 64 do t[i] = { r:normal(), r:normal(), r:normal(), r:normal() } end
      local X = qnn.tensor.from(t)
      local y = {}
      for i = 1, 64 do y[i] = 1 + i % 2 end
      local l = net:backward(X, y)
      local g = net:grads():totable()
      local s = { string.format('%.17g', l) }
      for k = 1, #g do s[#s + 1] = string.format('%.17g', g[k]) end
      io.write(table.concat(s, ' '))
    ]]
    local function run(th)
      local p = io.popen(("OMP_NUM_THREADS=%d QNN_LUA_DIR=%q %q -e %q"):format(th, root .. "/lua", host, code))
      local s = p:read("a")
      p:close()
      return s
    end
    local a, b = run(1), run(2)
    assert.is_true(#a > 100)
    assert.are.equal(a, b)
  end)

  it("learns a small separable task to >= 95% (fixed seed)", function()
    local ds = qnn.data.circles{ n = 200, noise = 0.05, seed = 4 }
    local net = qnn.nn.sequential{
      qnn.nn.quantum{ encoder = "angle", features = 2, qubits = 2, layers = 2, reupload = 3,
        input_scale = 2, outputs = { "ZI", "IZ" } },
      qnn.nn.dense(2, 2), seed = 2 }
    qnn.train.fit(net, ds, { optimizer = qnn.optim.adam{ lr = 0.05 }, epochs = 40, batch = 16, seed = 1, progress = false })
    local acc = net:evaluate(ds.X, ds.y).accuracy
    assert.is_true(acc >= 0.95, "accuracy " .. acc)
  end)

  it("shot estimates are seeded and unbiased", function()
    local function make(seed)
      return qnn.nn.sequential{ qnn.nn.quantum{ encoder = "angle", features = 2, layers = 1, shots = 4000, seed = seed,
        outputs = { "ZI", { prob = 1 } } }, seed = 9 }
    end
    local exact = qnn.nn.sequential{ qnn.nn.quantum{ encoder = "angle", features = 2, layers = 1,
      outputs = { "ZI", { prob = 1 } } }, seed = 9 }
    local Xs = randm(rng, 50, 2)
    local a, b = make(11):forward(Xs), make(11):forward(Xs)
    assert.are.same(a:totable(), b:totable())
    local e = exact:forward(Xs)
    local d1, d2 = 0, 0
    for i = 1, 50 do
      d1 = d1 + (a:get(i, 1) - e:get(i, 1))
      d2 = d2 + (a:get(i, 2) - e:get(i, 2))
      -- a single estimate lies within 5 standard deviations
      assert.is_true(math.abs(a:get(i, 1) - e:get(i, 1)) < 5 * 2 / math.sqrt(4000) + 1e-12)
    end
    assert.is_true(math.abs(d1 / 50) < 0.01 and math.abs(d2 / 50) < 0.01)
    local counts = a:get(1, 2) * 4000
    assert.is_near(counts, math.floor(counts + 0.5), 1e-6)
  end)

  it("describes itself (qubits, depth, parameter counts)", function()
    local q = qnn.nn.quantum{ encoder = "angle", features = 4, layers = 3 }
    local s = tostring(q)
    assert.truthy(s:find("4 qubits", 1, true))
    assert.truthy(s:find("24 weights", 1, true))
    assert.truthy(s:find("depth", 1, true))
    local net = qnn.nn.sequential{ q, qnn.nn.dense(4, 3) }
    local t = tostring(net)
    assert.truthy(t:find("quantum 4 -> 4, 4 qubits, depth", 1, true))
    local info = qnn.nn.quantum_info(net, 1)
    assert.are.equal(24, info.weights)
    assert.are.equal(4, info.qubits)
  end)

  it("saves and loads with checkpoints", function()
    local net = hybrid(qnn.nn.quantum{ encoder = "angle", features = 3, layers = 2,
      outputs = { "ZII", { { 0.5, "XXY" } }, { prob = 6 } } }, 3)
    local path = os.tmpname()
    net:save(path)
    local n2 = qnn.nn.load(path)
    os.remove(path)
    assert.are.same(net:forward(X):totable(), n2:forward(X):totable())
    local copy = net:copy()
    assert.are.same(net:forward(X):totable(), copy:forward(X):totable())
  end)

  it("trains inside qnn.train.fit and steps with any optimizer", function()
    local net = qnn.nn.sequential{ qnn.nn.quantum{ encoder = "angle", features = 2, layers = 1 }, seed = 1 }
    local before = net:params():totable()
    qnn.train.fit(net, { X = { { 0.1, 0.2 }, { 1, 2 } }, y = { 1, 2 } }, { epochs = 2, progress = false,
      optimizer = qnn.optim.sgd{ lr = 0.5 } })
    assert.are_not.same(before, net:params():totable())
  end)

  describe("bad input", function()
    it("refuses an input width that does not match", function()
      assert.has_error(function()
        qnn.nn.sequential{ qnn.nn.dense(3, 5), qnn.nn.quantum{ encoder = "angle", features = 4 } }
      end, "qnn.nn.sequential: quantum layer with 4 inputs follows a layer with 5 outputs")
      local net = qnn.nn.sequential{ qnn.nn.quantum{ encoder = "angle", features = 2 } }
      assert.has_error(function() net:forward(qnn.tensor.from{ { 1, 2, 3 } }) end)
    end)

    it("refuses absurd sizes and options with errors at the caller", function()
      local ok, e = pcall(qnn.nn.quantum, { encoder = "angle", features = 40 })
      assert.is_false(ok)
      assert.truthy(e:find("at most 30", 1, true), e)
      ok, e = pcall(function() local q = qnn.nn.quantum{ encoder = "angle", features = 30 }; return q end)
      assert.is_false(ok)
      assert.truthy(e:find("QNN_MAX_BYTES", 1, true), e)
      assert.truthy(e:find("qlayer_spec.lua", 1, true), e)
      ok, e = pcall(qnn.nn.quantum, { encoder = "angle", features = 2, reupload = 0 })
      assert.is_false(ok)
      ok, e = pcall(qnn.nn.quantum, { encoder = "angle", features = 13, noise = qnn.noise.depolarizing{ p1 = 0.1 } })
      assert.is_false(ok)
      assert.truthy(e:find("at most 12 qubits", 1, true), e)
      ok, e = pcall(qnn.nn.quantum, { encoder = "angle", features = 2, noise = qnn.noise.model{ p1 = 0.01, native = true } })
      assert.is_false(ok)
      assert.truthy(tostring(e):find("'native'", 1, true), tostring(e))
      ok, e = pcall(qnn.nn.quantum, { encoder = "amplitude", features = 3, reupload = 2 })
      assert.is_false(ok)
    end)

    it("refuses unknown observable letters and lengths", function()
      local ok, e = pcall(qnn.nn.quantum, { encoder = "angle", features = 2, outputs = { "ZQ" } })
      assert.is_false(ok)
      assert.truthy(e:find("unknown Pauli letter 'Q'", 1, true), e)
      ok, e = pcall(qnn.nn.quantum, { encoder = "angle", features = 2, outputs = { "ZZZ" } })
      assert.is_false(ok)
      assert.truthy(e:find("1 to 2 letters", 1, true), e)
      ok, e = pcall(qnn.nn.quantum, { encoder = "angle", features = 2, outputs = { { { "x", "ZZ" } } } })
      assert.is_false(ok)
      ok, e = pcall(qnn.nn.quantum, { encoder = "angle", features = 2, outputs = { probs = { 4 } } })
      assert.is_false(ok)
      assert.truthy(e:find("basis index in [0, 3]", 1, true), e)
    end)

    it("names a parameter that is neither input nor weight", function()
      local c = qnn.circuit(2):ry(0, "x"):ry(1, "theta"):rz(1, "phi")
      local ok, e = pcall(qnn.nn.quantum, { circuit = c, inputs = { "x" }, weights = { "theta" } })
      assert.is_false(ok)
      assert.truthy(e:find("'phi' is neither an input nor a weight", 1, true), e)
      ok, e = pcall(qnn.nn.quantum, { circuit = c, inputs = { "y" } })
      assert.is_false(ok)
      assert.truthy(e:find("input 'y' is not a parameter", 1, true), e)
      ok, e = pcall(qnn.nn.quantum, { circuit = c, inputs = { "x" }, weights = { "x", "theta", "phi" } })
      assert.is_false(ok)
      assert.truthy(e:find("both as an input and as a weight", 1, true), e)
      ok, e = pcall(qnn.nn.quantum, { circuit = c })
      assert.is_false(ok)
      assert.truthy(e:find("declare which circuit parameters are inputs", 1, true), e)
      ok, e = pcall(qnn.nn.quantum, { encoder = "angle", features = 2, typo = 1 })
      assert.is_false(ok)
    end)

    it("refuses NaN inputs with a clear error and updates nothing", function()
      local net = qnn.nn.sequential{ qnn.nn.dense(2, 2), qnn.nn.quantum{ encoder = "angle", features = 2 }, seed = 1 }
      local before = net:params():totable()
      local opt = qnn.optim.adam{ lr = 0.1 }
      local ok, e = pcall(opt.epoch, opt, net, qnn.tensor.from{ { 0 / 0, 1 }, { 1, 2 } }, { 1, 2 })
      assert.is_false(ok)
      assert.truthy(tostring(e):find("is NaN (inputs must be finite)", 1, true), tostring(e))
      assert.are.same(before, net:params():totable())
      ok, e = pcall(net.forward, net, qnn.tensor.from{ { 1, 2 }, { math.huge, 2 } })
      assert.is_false(ok)
      assert.truthy(tostring(e):find("row 2", 1, true), tostring(e))
      local amp = qnn.nn.sequential{ qnn.nn.quantum{ encoder = "amplitude", features = 3 } }
      assert.has_error(function() amp:forward(qnn.tensor.from{ { 0, 0, 0 } }) end)
    end)

    it("refuses optimizer gradients of the wrong shape and non-finite gradients", function()
      local opt = qnn.optim.sgd{ lr = 0.1 }
      local P = { w = qnn.tensor.from{ 1, 2, 3 }, b = 1 }
      assert.has_error(function() opt:step(P, { w = qnn.tensor.from{ 1, 2 }, b = 0 }) end)
      assert.has_error(function() opt:step(P, { w = qnn.tensor.from{ 1, 2, 3 } }) end)
      assert.has_error(function() opt:step(P, { w = qnn.tensor.from{ 1, 2, 3 }, b = 0, c = 1 }) end)
      assert.has_error(function() opt:step(P, { w = qnn.tensor.from{ 1, 2, 3 }, b = "x" }) end)
      local ok, e = pcall(opt.step, opt, P, { w = qnn.tensor.from{ 1, 0 / 0, 3 }, b = 0 })
      assert.is_false(ok)
      assert.truthy(e:find("NaN; nothing updated", 1, true), e)
      assert.are.same({ 1, 2, 3 }, P.w:totable())
      assert.are.equal(1, P.b)
      assert.has_error(function() opt:step({ 1, 2 }) end)
    end)
  end)
end)

describe("parameter protocol", function()
  it("steps a bare Circuit from its last gradient", function()
    local c = qnn.circuit(1):ry(0, "t")
    c:set("t", 0.4)
    local _, g = c:gradient("Z")
    assert.is_near(-math.sin(0.4), g.t, 1e-12)
    assert.is_near(g.t, c:grads().t, 0)
    qnn.optim.sgd{ lr = 0.1 }:step(c)
    assert.is_near(0.4 + 0.1 * math.sin(0.4), c:params().t, 1e-12)
    c:zero_grad()
    assert.are.equal(0, c:grads().t)
  end)

  it("steps tables of Tensors and numbers like the same flat buffer", function()
    local P = { b = 2.0, a = qnn.tensor.from{ { 1, 2 }, { 3, 4 } } }
    local G = { b = 0.5, a = qnn.tensor.from{ { 1, 1 }, { 1, 1 } } }
    local o1 = qnn.optim.adam{ lr = 0.1 }
    o1:step(P, G)
    -- the same update on one flat net-free vector
    local o2 = qnn.optim.adam{ lr = 0.1 }
    local Q = { qnn.tensor.from{ 1, 2, 3, 4, 2.0 } }
    o2:step(Q, { qnn.tensor.from{ 1, 1, 1, 1, 0.5 } })
    local q = Q[1]:totable()
    assert.are.same({ { q[1], q[2] }, { q[3], q[4] } }, P.a:totable())
    assert.are.equal(q[5], P.b)
  end)

  it("Net:zero_grad clears the gradients", function()
    local net = qnn.nn.mlp{ 2, 3, 2, seed = 1 }
    net:backward({ { 1, 2 } }, { 1 })
    net:zero_grad()
    for _, v in ipairs(net:grads():totable()) do assert.are.equal(0, v) end
  end)
end)

describe("affine parameter expressions", function()
  it("reads 2*theta as 2 times theta, as the drawing shows it", function()
    local c = qnn.circuit(1):ry(0, "2*theta")
    assert.are.same({ "theta" }, c:param_names())
    c:set("theta", 0.3)
    assert.is_near(math.cos(0.6), c:expect("Z"), 1e-12)
    local _, g = c:gradient("Z")
    assert.is_near(-2 * math.sin(0.6), g.theta, 1e-12)
    assert.truthy(c:draw():find("2*theta", 1, true))
    local d = qnn.circuit(1):rx(0, "theta/2 + 0.5"):rz(0, "-theta"):ry(0, "pi/2*theta - 1")
    assert.are.same({ "theta" }, d:param_names())
    assert.truthy(d:draw():find("0.5*theta+0.5", 1, true))
  end)

  it("refuses everything else with a clear error", function()
    for _, bad in ipairs{ "2*theta*phi", "a+b", "theta^2", "1/theta", "2*", "theta)", "" } do
      local ok, e = pcall(function() qnn.circuit(1):ry(0, bad) end)
      assert.is_false(ok, bad)
      assert.truthy(tostring(e):find("angle", 1, true), e)
    end
  end)
end)
