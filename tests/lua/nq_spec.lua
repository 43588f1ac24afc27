-- Natural quantization: qnn.nn.qubit_activation, qnn.nn.qubit_neuron against a 2-qubit State
-- circuit, shot-based prediction, checkpoints, qnn.nq helpers and bad input.
local qnn = require "qnn"
local pi = math.pi

local function small_net(spec1, spec2, seed)
  return qnn.nn.sequential {
    qnn.nn.dense(6, 5, { bias = false, init = "normal(0,0.5)" }), spec1,
    qnn.nn.dense(5, 5, { bias = false, init = "normal(0,0.5)" }), spec2,
    qnn.nn.dense(5, 3, { bias = false, init = "normal(0,0.5)" }), seed = seed or 3,
  }
end

-- the circuit: neuron = qubit 0, ancilla = qubit 1; RY(prior) RY(theta) on the neuron,
-- RZY(g) on (neuron, ancilla), H on the ancilla; ancilla bit 0 <-> outcome +1
local function circuit(prior, theta, g)
  local s = qnn.state(2)
  s:ry(0, prior)
  s:ry(0, theta)
  s:rzy(0, 1, g)
  s:h(1)
  local m = s:marginal({ 1 })
  local amps = {}
  for i = 0, 3 do amps[i] = s:amp(i) end
  return m[1], amps, m[2]
end

describe("qnn.nn.qubit_activation", function()
  it("closed form equals the 2-qubit State circuit", function()
    local worst = 0
    for _, z in ipairs { -2, -0.3, 0.0, 0.2, 1.5 } do
      for _, a in ipairs { 0, 0.1, 0.316, 1 } do
        for _, g in ipairs { pi / 16, pi / 8, 5 * pi / 19, pi / 2 } do
          for _, prior in ipairs { 0, 0.7, pi / 2, 2.9, -1.1 } do
            for _, r in ipairs { 1, -1 } do
              local ne = qnn.nn.qubit_neuron(z, { a = a, g = g }, prior, r)
              local t = a > 0 and math.tanh(z / a) or (z >= 0 and 1 or -1)
              local p, amps, pminus = circuit(prior, pi / 2 * (r - t), g)
              worst = math.max(worst, math.abs(ne.p_plus - p))
              -- sqrt(P_d) * post state = projected amplitudes (up to a global sign)
              for k, post in ipairs { ne.plus, ne.minus } do
                local pk = k == 1 and p or pminus -- (1 - p would cancel)
                if pk > 1e-15 then
                  local sp = math.sqrt(pk)
                  local b0, b1 = amps[2 * (k - 1)], amps[2 * (k - 1) + 1]
                  local d1 = math.abs(sp * post.v0 - b0) + math.abs(sp * post.v1 - b1)
                  local d2 = math.abs(sp * post.v0 + b0) + math.abs(sp * post.v1 + b1)
                  worst = math.max(worst, math.min(d1, d2))
                  -- angle convention: v = (cos(angle/2), sin(angle/2))
                  assert.is_true(math.abs(math.cos(post.angle / 2) - post.v0) < 1e-12)
                end
              end
            end
          end
        end
      end
    end
    assert.is_true(worst < 1e-12, "worst " .. worst)
  end)

  it("projective rotation gives P(+1) = [1 + sin(pi/2 tanh(z/a))]/2", function()
    for _, z in ipairs { -1, -0.1, 0.3, 2 } do
      local ne = qnn.nn.qubit_neuron(z, { mode = "rotation", a = 0.316 })
      assert.is_true(math.abs(ne.p_plus - (1 + math.sin(pi / 2 * math.tanh(z / 0.316))) / 2) < 1e-14)
    end
  end)

  it("mode defaults and spec fields", function()
    local s = qnn.nn.qubit_activation { mode = "both" }
    assert.are.equal(0.316, s.a)
    assert.is_true(math.abs(s.g - 5 * pi / 19) < 1e-15)
    assert.are.equal("shared", s.register)
    s = qnn.nn.qubit_activation { mode = "weak" }
    assert.are.equal(0, s.a)
    s = qnn.nn.qubit_activation { mode = "rotation", register = "fresh", last = true }
    assert.are.equal(pi / 2, s.g)
    assert.are.equal("fresh", s.register)
    assert.is_true(s.last)
    assert.matches("qubit_activation", tostring(s))
  end)

  it("a = 0, g = pi/2 is exactly the classical sign network", function()
    local q = small_net(qnn.nn.qubit_activation {}, qnn.nn.qubit_activation { last = true }, 5)
    local c = small_net(qnn.nn.sign(), qnn.nn.sign(), 5)
    local X = qnn.tensor.randn(20, 6, { seed = 2 })
    local oq, oc = q:forward(X, { train = true, seed = 1 }), c:forward(X)
    for i = 1, 20 do
      for j = 1, 3 do assert.are.equal(oc[i][j], oq[i][j]) end
    end
  end)

  it("samples with the seeded stream, outputs are +-1, STE gradients exist", function()
    local net = small_net(qnn.nn.qubit_activation { mode = "both" },
      qnn.nn.qubit_activation { mode = "both", last = true }, 4)
    local X = qnn.tensor.randn(30, 6, { seed = 9 })
    local a = net:forward(X, { train = true, seed = 11 })
    local b = net:forward(X, { train = true, seed = 11 })
    for i = 1, 30 do for j = 1, 3 do assert.are.equal(a[i][j], b[i][j]) end end
    net:forward(X, { train = true, seed = 12 })
    local h = net:activation(2)
    for i = 1, 30 do for j = 1, 5 do assert.is_true(h[i][j] == 1 or h[i][j] == -1) end end
    local y = {}
    for i = 1, 30 do y[i] = i % 3 + 1 end
    local loss = net:backward(X, y, nil, { seed = 3 })
    assert.is_true(loss > 0)
    local g, nz = net:grads(), 0
    for k = 1, net:nparams() do if g[k] ~= 0 then nz = nz + 1 end end
    assert.is_true(nz > 0)
  end)

  it("shared register needs equal widths", function()
    assert.has_error(function()
      qnn.nn.sequential {
        qnn.nn.dense(4, 5), qnn.nn.qubit_activation {}, qnn.nn.dense(5, 3), qnn.nn.qubit_activation {},
      }
    end, nil)
    local ok, err = pcall(qnn.nn.sequential, {
      qnn.nn.dense(4, 5), qnn.nn.qubit_activation {}, qnn.nn.dense(5, 3), qnn.nn.qubit_activation {},
    })
    assert.is_false(ok)
    assert.matches("fresh", err)
    local net = qnn.nn.sequential {
      qnn.nn.dense(4, 5), qnn.nn.qubit_activation {}, qnn.nn.dense(5, 3),
      qnn.nn.qubit_activation { register = "fresh" },
    }
    assert.are.equal(4, #net)
  end)

  it("checkpoints keep the qubit layers", function()
    local net = small_net(qnn.nn.qubit_activation { mode = "both", rule = "authors" },
      qnn.nn.qubit_activation { mode = "both", last = true }, 4)
    local path = os.tmpname()
    net:save(path)
    local back = qnn.nn.load(path)
    os.remove(path)
    local X = qnn.tensor.randn(7, 6, { seed = 1 })
    local p1 = net:predict(X, { mode = "mean" })
    local p2 = back:predict(X, { mode = "mean" })
    assert.are.same(p1, p2)
    local L = back:layers()
    assert.are.equal("qubit_activation", L[2].name)
  end)

  it("bad input gives clear errors", function()
    assert.has_error(function() qnn.nn.qubit_activation { a = -0.1 } end)
    local ok, err = pcall(qnn.nn.qubit_activation, { a = -1 })
    assert.matches("'a'", err)
    ok, err = pcall(qnn.nn.qubit_activation, { g = 0 })
    assert.matches("%(0, pi/2%]", err)
    assert.has_error(function() qnn.nn.qubit_activation { g = 2 } end)
    assert.has_error(function() qnn.nn.qubit_activation { g = 0 / 0 } end)
    assert.has_error(function() qnn.nn.qubit_activation { a = 0 / 0 } end)
    assert.has_error(function() qnn.nn.qubit_activation { a = math.huge } end)
    assert.has_error(function() qnn.nn.qubit_activation { mode = "rotation", a = 0 } end)
    assert.has_error(function() qnn.nn.qubit_activation { mode = "rotation", g = 1 } end)
    assert.has_error(function() qnn.nn.qubit_activation { mode = "weak", a = 0.3 } end)
    assert.has_error(function() qnn.nn.qubit_activation { mode = "quantum" } end)
    assert.has_error(function() qnn.nn.qubit_activation { register = "global" } end)
    assert.has_error(function() qnn.nn.qubit_activation { gg = 1 } end)
    assert.has_error(function() qnn.nn.qubit_neuron(0 / 0) end)
    assert.has_error(function() qnn.nn.qubit_neuron(0.1, { a = -1 }) end)
    assert.has_error(function() qnn.nn.qubit_neuron(0.1, {}, 0, 2) end)
  end)
end)

describe("shot-based prediction", function()
  local net = small_net(qnn.nn.qubit_activation { mode = "both" },
    qnn.nn.qubit_activation { mode = "both", last = true }, 8)
  local X = qnn.tensor.randn(300, 6, { seed = 4 })

  it("votes, single shots and mean-field", function()
    local v1 = net:predict(X, { shots = 15, seed = 1 })
    local v2 = qnn.nn.predict_shots(net, X, { shots = 15, seed = 1 })
    assert.are.same(v1, v2)
    assert.are.equal(300, #v1)
    local v, f = qnn.nq.predict(net, X, { shots = 9, seed = 2, first = true })
    assert.are.equal(300, #f)
    local s = net:predict(X, { mode = "single", seed = 2 })
    assert.are.same(f, s) -- the first shot of a vote is the single shot of the same stream
    local m1 = net:predict(X, { mode = "mean" })
    local m2 = net:predict(X, { mode = "mean", seed = 99 })
    assert.are.same(m1, m2)
    for i = 1, 300 do assert.is_true(v[i] >= 1 and v[i] <= 3) end
    -- 1-D input gives a number; plain predict still works
    assert.is_number(net:predict(X[1], { shots = 3 }))
    assert.are.equal(300, #net:predict(X))
  end)

  it("votes agree with the majority of explicit single shots", function()
    -- shots=1 vote == single
    local a = net:predict(X, { shots = 1, seed = 5 })
    local b = net:predict(X, { mode = "single", seed = 5 })
    assert.are.same(a, b)
  end)

  it("bad input", function()
    assert.has_error(function() net:predict(X, { shots = 0 }) end)
    assert.has_error(function() net:predict(X, { shots = 2, mode = "single" }) end)
    assert.has_error(function() net:predict(X, { mode = "median" }) end)
    assert.has_error(function() net:predict(X, { shot = 3 }) end)
    assert.has_error(function() net:predict(X, 5) end)
    local bad = X:copy()
    bad[3][2] = 0 / 0
    local ok, err = pcall(net.predict, net, bad, { shots = 3 })
    assert.is_false(ok)
    assert.matches("NaN", err)
    assert.has_error(function() net:forward(bad, { train = true }) end)
    assert.has_error(function() qnn.nn.predict_shots(net, qnn.tensor.randn(3, 4), {}) end)
  end)
end)

describe("qnn.nq", function()
  it("builds the paper's network", function()
    local net = qnn.nq.net { preset = "both", sizes = { 8, 6, 6, 3 }, seed = 1 }
    local L = net:layers()
    assert.are.equal(5, #L)
    assert.are.equal("qubit_activation", L[2].name)
    assert.are.equal("qubit_activation", L[4].name)
    assert.is_false(L[1].bias)
    assert.has_error(function() qnn.nq.net { preset = "quantum" } end)
    assert.has_error(function() qnn.nq.net { a = -1 } end)
    assert.has_error(function() qnn.nq.net { g = 3 } end)
  end)

  it("runs a tiny experiment", function()
    local function ds(n, seed)
      local X = qnn.tensor.randn(n, 8, { seed = seed })
      local y = {}
      for i = 1, n do y[i] = (X[i][1] > 0) and 1 or 2 end
      return { X = X, y = y }
    end
    local res = qnn.nq.run { preset = "weak", train = ds(120, 1), val = ds(80, 2), epochs = 3,
      sizes = { 8, 6, 6, 2 }, shots = 5, seed = 2 }
    assert.is_true(res.val_err1 >= 0 and res.val_err1 <= 1)
    assert.is_true(res.val_err_vote >= 0 and res.val_err_vote <= 1)
    assert.is_number(res.val_err_mean)
    assert.is_number(res.train_err1)
    assert.are.equal(3, #res.loss)
    assert.has_error(function() qnn.nq.run { preset = "weak", epochs = 1 } end)
    assert.has_error(function() qnn.nq.run { preset = "weak", train = ds(10, 1), val = ds(10, 1), shots = 0 } end)
    assert.are.equal(0.25, qnn.nq.error({ 1, 2, 3, 4 }, { 1, 2, 3, 3 }))
    local m, sd = qnn.nq.mean_sd { 1, 2, 3 }
    assert.are.equal(2, m)
    assert.are.equal(1, sd)
  end)
end)
