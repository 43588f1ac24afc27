-- Natural quantization with noise on the neuron qubits (issue 18): qubit_activation{noise=}
-- against density-matrix circuits (qnn.density with the matching qnn.noise channel), p = 0 is
-- bitwise the noiseless model, checkpoints keep the noise, thread-count independence, bad input.
local qnn = require "qnn"
local pi = math.pi

local function tnh(z, a) return a > 0 and math.tanh(z / a) or (z >= 0 and 1 or -1) end

local function channel(d, q, kind, p)
  if kind == "dephasing" then d:phase_flip(q, p) else d:depolarize(q, p) end
end

-- one neuron, dense weight 1 in front: P(d = +1) from the density matrix of (neuron, ancilla)
local function p_plus_density(z, a, g, kind, p)
  local d = qnn.density(2)
  d:ry(0, pi / 2 * (1 - tnh(z, a)))
  channel(d, 0, kind, p)
  d:rzy(0, 1, g):h(1)
  return d:marginal({ 1 })[1]
end

-- two neurons in a row (shared register): layer 1 (a1, g1) on z1, layer 2 (a2, g2) on
-- z2 = w * d1 + b with r_prev = d1, starting from layer 1's post-measurement state. (With b = 0
-- the chain is odd in d1 and dephasing cancels out of P(d2) exactly: the coherence term enters
-- with sin(theta2(+1)) + sin(theta2(-1)) = 0.)
-- Qubits: neuron 0, ancillas 1 (layer 1) and 2 (layer 2); ancilla bit 0 <-> d = +1.
local function p2_plus_density(z1, a1, g1, w, b, a2, g2, kind, p)
  local d = qnn.density(3)
  d:ry(0, pi / 2 * (1 - tnh(z1, a1)))
  channel(d, 0, kind, p)
  d:rzy(0, 1, g1):h(1)
  local th_plus = pi / 2 * (1 - tnh(w + b, a2))     -- d1 = +1 (ancilla 1 reads 0)
  local th_minus = pi / 2 * (-1 - tnh(-w + b, a2))  -- d1 = -1 (ancilla 1 reads 1)
  d:cry(1, 0, th_minus)
  d:x(1):cry(1, 0, th_plus):x(1)
  channel(d, 0, kind, p)
  d:rzy(0, 2, g2):h(2)
  return d:marginal({ 2 })[1]
end

-- mean of the outputs of a B x 1 forward (eval mode: one sampled shot per row)
local function mean_out(net, z, B, seed)
  local out = net:forward(qnn.tensor(B, 1):fill(z), { seed = seed })
  local s = 0
  for i = 1, B do s = s + out[i][1] end
  return s / B
end

local function one(w) return qnn.nn.dense(1, 1, { bias = false, init = ("normal(%.17g,0)"):format(w) }) end

describe("qubit_activation noise", function()
  it("trajectory statistics equal the density-matrix circuit (one layer)", function()
    local B = 40000
    for _, kind in ipairs { "dephasing", "depolarizing" } do
      for _, c in ipairs { { z = 0.3, a = 0.5, g = pi / 3, p = 0.2 }, { z = -0.1, a = 0, g = 5 * pi / 19, p = 0.6 },
        { z = 0.8, a = 0.316, g = pi / 2, p = 1 } } do
        local net = qnn.nn.sequential { one(1), qnn.nn.qubit_activation { a = c.a, g = c.g,
          noise = { kind = kind, p = c.p } }, seed = 3 }
        local pref = p_plus_density(c.z, c.a, c.g, kind, c.p)
        -- analytic Bloch vector: <d> = sin g * lz * cos(angle)
        local lz = kind == "dephasing" and 1 or 1 - 4 * c.p / 3
        local ang = pi / 2 * (1 - tnh(c.z, c.a))
        assert.is_true(math.abs((2 * pref - 1) - math.sin(c.g) * lz * math.cos(ang)) < 1e-12)
        local m = mean_out(net, c.z, B, 7)
        local sd = 2 * math.sqrt(pref * (1 - pref) / B)
        assert.is_true(math.abs(m - (2 * pref - 1)) < 5 * sd + 1e-12,
          ("%s p=%g: trajectories %.4f, density %.4f (sd %.4f)"):format(kind, c.p, m, 2 * pref - 1, sd))
      end
    end
  end)

  it("trajectory statistics equal the density-matrix circuit (shared register, two layers)", function()
    local B = 40000
    for _, kind in ipairs { "dephasing", "depolarizing" } do
      for _, c in ipairs { { z = 0.2, a1 = 0.5, g1 = pi / 4, w = 0.4, b = 0.25, a2 = 0.3, g2 = 5 * pi / 19, p = 0.3 },
        { z = -0.05, a1 = 0.2, g1 = 5 * pi / 19, w = 0.7, b = -0.2, a2 = 0.5, g2 = pi / 2, p = 0.3 } } do
        local noise = { kind = kind, p = c.p }
        local net = qnn.nn.sequential { one(1), qnn.nn.qubit_activation { a = c.a1, g = c.g1, noise = noise },
          qnn.nn.dense(1, 1), qnn.nn.qubit_activation { a = c.a2, g = c.g2, noise = noise }, seed = 5 }
        local P, L3 = net:params(), net:layers()[3]
        P[L3.offset], P[L3.offset + 1] = c.w, c.b -- weight, then bias
        local pref = p2_plus_density(c.z, c.a1, c.g1, c.w, c.b, c.a2, c.g2, kind, c.p)
        local m = mean_out(net, c.z, B, 9)
        local sd = 2 * math.sqrt(pref * (1 - pref) / B)
        assert.is_true(math.abs(m - (2 * pref - 1)) < 5 * sd + 1e-12,
          ("%s: trajectories %.4f, density %.4f (sd %.4f)"):format(kind, m, 2 * pref - 1, sd))
        -- the noise matters here: the noiseless circuit is several sd away
        local p0 = p2_plus_density(c.z, c.a1, c.g1, c.w, c.b, c.a2, c.g2, kind, 0)
        assert.is_true(math.abs(p0 - pref) > 10 * sd / 2)
      end
    end
  end)

  it("dephasing is invisible with projective layers (rotation preset), depolarizing is not", function()
    local a, w = 0.316, 0.5
    local d0 = p2_plus_density(0.1, a, pi / 2, w, 0.2, a, pi / 2, "dephasing", 0)
    local d1 = p2_plus_density(0.1, a, pi / 2, w, 0.2, a, pi / 2, "dephasing", 0.4)
    local d2 = p2_plus_density(0.1, a, pi / 2, w, 0.2, a, pi / 2, "depolarizing", 0.4)
    assert.is_true(math.abs(d0 - d1) < 1e-12)
    assert.is_true(math.abs(d0 - d2) > 0.05)
  end)

  it("p = 0 is bitwise the noiseless model (training, votes, single shots, mean-field)", function()
    local function train(noise)
      local net = qnn.nq.net { preset = "both", sizes = { 8, 6, 6, 3 }, seed = 4, noise = noise }
      local X = qnn.tensor.randn(50, 8, { seed = 2 })
      local y = {}
      for i = 1, 50 do y[i] = X[i][1] > 0 and 1 or (X[i][2] > 0 and 2 or 3) end
      local opt = qnn.optim.sgd { lr = 0.05, momentum = 0.9 }
      local losses = {}
      for e = 1, 3 do losses[e] = opt:epoch(net, X, y, { batch = 8, rng = qnn.rng(e) }) end
      return losses, net:predict(X, { shots = 7, seed = 1 }), net:predict(X, { mode = "single", seed = 2 }),
        net:predict(X, { mode = "mean" })
    end
    local l0, v0, s0, m0 = train(nil)
    for _, kind in ipairs { "dephasing", "depolarizing" } do
      local l, v, s, m = train { kind = kind, p = 0 }
      for e = 1, 3 do assert.are.equal(string.format("%a", l0[e]), string.format("%a", l[e])) end
      assert.are.same(v0, v)
      assert.are.same(s0, s)
      assert.are.same(m0, m)
    end
    -- and p > 0 changes the training
    local l1 = train { kind = "depolarizing", p = 0.2 }
    assert.are_not.equal(l0[3], l1[3])
  end)

  it("checkpoints keep the noise", function()
    local net = qnn.nq.net { preset = "weak", sizes = { 6, 5, 5, 3 }, seed = 2,
      noise = { kind = "depolarizing", p = 0.15 } }
    local path = os.tmpname()
    net:save(path)
    local back = qnn.nn.load(path)
    os.remove(path)
    local X = qnn.tensor.randn(30, 6, { seed = 3 })
    local a, b = net:forward(X, { seed = 5 }), back:forward(X, { seed = 5 })
    assert.are.same(a:totable(), b:totable())
    assert.are.same(net:predict(X, { mode = "mean" }), back:predict(X, { mode = "mean" }))
    local spec = qnn.nn.qubit_activation { noise = { kind = "dephasing", p = 0.1 } }
    assert.are.equal("dephasing", spec.noise.kind)
    assert.are.equal(0.1, spec.noise.p)
    assert.is_nil(qnn.nn.qubit_activation {}.noise)
  end)

  it("does not depend on the thread count", function()
    local function run(n)
      local saved = qnn.threads()
      qnn.threads(n)
      local ok, res = pcall(function()
        local net = qnn.nq.net { preset = "both", sizes = { 8, 16, 16, 3 }, seed = 6,
          noise = { kind = "depolarizing", p = 0.1 } }
        local X = qnn.tensor.randn(200, 8, { seed = 4 })
        local y = {}
        for i = 1, 200 do y[i] = X[i][1] > 0 and 1 or (X[i][3] > 0 and 2 or 3) end
        local l = qnn.optim.sgd { lr = 0.05 }:epoch(net, X, y, { batch = 16, rng = qnn.rng(1) })
        return { string.format("%a", l), table.concat(net:predict(X, { shots = 9, seed = 3 }), ","),
          table.concat(net:predict(X, { mode = "mean" }), ",") }
      end)
      qnn.threads(saved)
      assert(ok, res)
      return res
    end
    assert.are.same(run(1), run(2))
  end)

  it("bad input names the argument and the range", function()
    local function err(f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok)
      return tostring(e)
    end
    local qa = qnn.nn.qubit_activation
    assert.matches("'noise.p' %(must be a number in %[0, 1%]%), got 1.5", err(qa, { noise = { kind = "dephasing", p = 1.5 } }))
    assert.matches("'noise.p'.*got %-0.1", err(qa, { noise = { kind = "depolarizing", p = -0.1 } }))
    assert.matches("'noise.p'.*got nil", err(qa, { noise = { kind = "dephasing" } }))
    assert.matches("'noise.p'.*got 0/0", err(qa, { noise = { kind = "dephasing", p = 0 / 0 } }) :gsub("%-?nan", "0/0"))
    assert.matches("'noise.kind' %(must be \"dephasing\" or \"depolarizing\"%), got \"bitflip\"",
      err(qa, { noise = { kind = "bitflip", p = 0.1 } }))
    assert.matches("unknown key 'prob'", err(qa, { noise = { kind = "dephasing", prob = 0.1 } }))
    assert.matches("'noise' %(must be a table", err(qa, { noise = 0.1 }))
    assert.matches("qnn.nq.net: noise.p must be a number in %[0, 1%], got 2", err(qnn.nq.net, { noise = { kind = "dephasing", p = 2 } }))
    assert.matches("qnn.nq.net: noise.kind must be", err(qnn.nq.net, { noise = { kind = "amp", p = 0.1 } }))
    assert.matches("qnn.nq.run: noise.p must be a number in %[0, 1%]", err(qnn.nq.run, { preset = "weak",
      noise = { kind = "dephasing", p = "x" } }))
    assert.matches("qnn.nq.experiment: noise.kind", err(qnn.nq.experiment, { configs = { { preset = "weak",
      noise = { kind = "x", p = 0 } } }, data = function() end }))
    -- qubit_neuron has no noise option
    assert.has_error(function() qnn.nn.qubit_neuron(0.1, { noise = { kind = "dephasing", p = 0.1 } }) end)
  end)
end)
