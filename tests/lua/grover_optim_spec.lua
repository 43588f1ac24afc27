-- qnn.optim.grover (Method 1), GroverTrainer and qnn.schedule.
local qnn = require "qnn"
local schedule = require "qnn.schedule"

local function toy(seed, n)
  n = n or 40
  local rng = qnn.rng(seed)
  local X, y = {}, {}
  for s = 1, n do
    local row, c = {}, 0
    for k = 1, 5 do row[k] = rng:normal(); c = c + row[k] * k end
    X[s] = row
    y[s] = c < -1.5 and 1 or (c < 1.5 and 2 or 3)
  end
  return {X = qnn.tensor.from(X), y = y}
end

local function tiny_net(seed)
  return qnn.nn.sequential {
    qnn.nn.dense(5, 4, {bias = false, init = "uniform(-1,1)"}), qnn.nn.tanh(),
    qnn.nn.dense(4, 3, {bias = false, init = "uniform(-1,1)"}), qnn.nn.softmax(),
    seed = seed,
  }
end

local function deep_net(seed)
  return qnn.nn.sequential {
    qnn.nn.dense(5, 4, {bias = true, init = "uniform(-1,1)"}), qnn.nn.tanh(),
    qnn.nn.dense(4, 4, {bias = false, init = "uniform(-1,1)"}), qnn.nn.sigmoid(),
    qnn.nn.dense(4, 3, {bias = false, init = "uniform(-1,1)"}), qnn.nn.softmax(),
    seed = seed,
  }
end

describe("qnn.optim.grover", function()
  it("decreases the training loss monotonically on a tiny net", function()
    local d = toy(1)
    local net = tiny_net(2)
    local start = net:loss(d.X, d.y, "cross_entropy", {l2 = 1e-3})
    local r = qnn.optim.grover {net = net, data = d, epochs = 4, seed = 3, shots = 128}
    assert.are.equal(5, #r.history)
    assert.is_true(math.abs(r.history[1].train_loss - start) < 1e-12)
    for e = 2, #r.history do
      assert.is_true(r.history[e].train_loss <= r.history[e - 1].train_loss)
    end
    assert.is_true(r.history[5].train_loss < start)
    local t = r.total
    assert.are.equal(4 * (5 * 4 + 4 * 3), t.weights)
    assert.are.equal(4 * (5 * 4 * 32 + 4 * 3 * 64), t.candidates)
    assert.is_true(t.queries >= 128 * t.queries_ideal and t.queries_ideal >= t.weights)
    assert.are.equal(6, t.qubits)
    assert.is_true(t.depth > 0 and t.gates > 0 and t.accepted > 0)
    assert.is_false(r.interrupted)
    assert.is_number(r.history[2].alpha[1])
  end)

  it("the fused (SIMD) kernel equals full forward passes on a wider net", function()
    -- widths above one register block, 101 samples (not a multiple of the 8-row tile), a zero
    -- input column and zeros in another (skipped samples), 70 candidates (> one 64-chunk)
    local rng = qnn.rng(21)
    local X, y = {}, {}
    for s = 1, 101 do
      local row = {}
      for k = 1, 9 do row[k] = (k == 4 or (k == 6 and s % 3 == 0)) and 0 or rng:normal(0, 1.5) end
      X[s] = row
      y[s] = rng:int(1, 5)
    end
    X = qnn.tensor.from(X)
    local D = function(i, o) return qnn.nn.dense(i, o, {bias = false, init = "uniform(-1,1)"}) end
    local net = qnn.nn.sequential {D(9, 19), qnn.nn.tanh(), D(19, 21), qnn.nn.tanh(), D(21, 13),
      qnn.nn.tanh(), D(13, 5), qnn.nn.softmax(), seed = 22}
    local tr = qnn.optim.grover_trainer(net, X, y, {l2 = 1e-3})
    for _, wij in ipairs {{1, 4, 3}, {1, 6, 19}, {1, 1, 7}, {2, 19, 21}, {3, 5, 13}} do
      local L, i, j = wij[1], wij[2], wij[3]
      local w = net:get(L, i, j)
      local cand = {}
      for c = 1, 70 do cand[c] = w + rng:normal(0, 2) end
      local inc = tr:candidates(L, i, j, cand)
      local naive = tr:candidates_naive(L, i, j, cand)
      for c = 1, 70 do assert.is_true(math.abs(inc[c] - naive[c]) < 1e-12) end
    end
    tr:close()
  end)

  it("incremental candidate losses equal full forward passes to 1e-12", function()
    local d = toy(4, 30)
    local net = deep_net(5)
    local tr = qnn.optim.grover_trainer(net, d.X, d.y, {l2 = 1e-3})
    assert.are.equal(3, tr:nlayers())
    local rng = qnn.rng(6)
    for L = 1, 3 do
      local nin, nout, bias = tr:shape(L)
      for _ = 1, 4 do
        local i = rng:int(1, nin + (bias and 1 or 0))
        local j = rng:int(1, nout)
        local w = net:get(L, i, j)
        local cand = {}
        for c = 1, 9 do cand[c] = w + rng:normal(0, 1.5) end
        local inc = tr:candidates(L, i, j, cand)
        local naive = tr:candidates_naive(L, i, j, cand)
        for c = 1, 9 do
          net:set(L, i, j, cand[c])
          local full = net:loss(d.X, d.y, "cross_entropy", {l2 = 1e-3})
          assert.is_true(math.abs(inc[c] - full) < 1e-12)
          assert.is_true(math.abs(naive[c] - full) < 1e-12)
        end
        net:set(L, i, j, w)
        tr:set(L, i, j, cand[3])
        assert.is_true(math.abs(tr:loss() - net:loss(d.X, d.y, "cross_entropy", {l2 = 1e-3})) < 1e-12)
      end
    end
    tr:close()
    assert.has_error(function() tr:loss() end, "GroverTrainer is closed")
  end)

  it("gives identical weights for a fixed seed", function()
    local d = toy(7)
    local a, b = tiny_net(8), tiny_net(8)
    qnn.optim.grover {net = a, data = d, epochs = 2, seed = 11, shots = 64}
    qnn.optim.grover {net = b, data = d, epochs = 2, seed = 11, shots = 64}
    assert.are.same(a:params():totable(), b:params():totable())
  end)

  it("calls schedule:update once per layer pass with the pass's losses", function()
    local d = toy(9)
    local net = tiny_net(10)
    local calls = {}
    local s = {alpha = 0.4}
    function s:value(layer) return self.alpha end
    function s:update(layer, info) calls[#calls + 1] = {layer = layer, info = info} end
    local r = qnn.optim.grover {net = net, data = d, epochs = 3, seed = 1, shots = 32, schedule = s}
    assert.are.equal(6, #calls)
    for k, c in ipairs(calls) do
      assert.are.equal((k - 1) % 2 + 1, c.layer)
      assert.is_true(c.info.loss_after <= c.info.loss_before)
      if k > 1 then assert.is_true(math.abs(c.info.loss_before - calls[k - 1].info.loss_after) < 1e-12) end
    end
    assert.is_true(math.abs(calls[6].info.loss_after - r.history[4].train_loss) < 1e-12)
    assert.are.equal(0.4, r.history[2].alpha[2])
  end)

  it("accepts Lua oracles, candidate generators and accept rules", function()
    local d = toy(12)
    local net = tiny_net(13)
    local seen = 0
    local r = qnn.optim.grover {
      net = net, data = d, epochs = 1, resolution = 5,
      oracle = function(losses, info)
        seen = seen + 1
        assert.are.equal(5, #losses)
        assert.are.equal(3, info.n)
        local best = 1
        for c = 2, #losses do if losses[c] < losses[best] then best = c end end
        return best, 7
      end,
      candidates = function(w, sigma, alpha, N) local t = {} for c = 1, N do t[c] = w + (c - 3) * 0.1 end return t end,
    }
    assert.are.equal(32, seen)
    assert.are.equal(32 * 7, r.total.queries)
    local before = net:params():totable()
    qnn.optim.grover {net = net, data = d, epochs = 1, seed = 2, accept = function() return false end}
    assert.are.same(before, net:params():totable())
  end)

  it("runs the paper circuit, Durr-Hoyer and noise", function()
    local d = toy(14, 20)
    local r1 = qnn.optim.grover {net = tiny_net(15), data = d, epochs = 1, seed = 1, shots = 64,
                                 circuit = "paper", resolution = 8}
    assert.are.equal(4, r1.total.qubits)  -- 3 + ancilla
    local r2 = qnn.optim.grover {net = tiny_net(15), data = d, epochs = 1, seed = 1,
                                 oracle = "durr_hoyer", resolution = 16}
    assert.is_true(r2.total.queries > 0)
    assert.is_true(r2.total.hits >= 0.9 * r2.total.searches)
    assert.is_true(r2.history[2].train_loss < r2.history[1].train_loss)
    local r3 = qnn.optim.grover {net = tiny_net(15), data = d, epochs = 1, seed = 1, shots = 32,
                                 resolution = 4, noise = qnn.noise.depolarizing {p1 = 0.01, p2 = 0.02}}
    assert.is_true(r3.history[2].train_loss <= r3.history[1].train_loss)
  end)

  it("rejects bad input", function()
    local d = toy(16, 12)
    local net = tiny_net(17)
    local function run(extra)
      local o = {net = net, data = d, epochs = 1, shots = 8}
      for k, v in pairs(extra) do o[k] = v end
      return qnn.optim.grover(o)
    end
    assert.has_error(function() run {resolution = 1} end)
    assert.has_error(function() run {resolution = 65537} end)
    assert.has_error(function() run {resolution = {hidden = 1}} end)
    assert.has_error(function() run {tol = -0.1} end)
    assert.has_error(function() run {tol = {hidden = -1}} end)
    assert.has_error(function() run {shots = 0} end)
    assert.has_error(function() run {layers = {3}} end)
    assert.has_error(function() run {epochs = 0} end)
    assert.has_error(function() run {oracle = "magic"} end)
    assert.has_error(function() run {circuit = "fancy"} end)
    assert.has_error(function() run {epoch = 3} end) -- typo
    assert.has_error(function() run {schedule = {}} end)
    assert.has_error(function() run {schedule = {value = function() return 0 end, update = function() end}} end)
    assert.has_error(function() run {schedule = {value = function() return 0 / 0 end, update = function() end}} end)
    assert.has_error(function() run {schedule = {value = function() return -1 end, update = function() end}} end)
    assert.has_error(function() run {oracle = function() return 99 end} end)
    assert.has_error(function() run {candidates = function() return {1, 2} end} end)
    assert.has_error(function() run {candidates = function() error("boom") end} end)
    assert.has_error(function() run {noise = {p1 = 2}} end)
    assert.has_error(function() qnn.optim.grover {data = d} end)
    assert.has_error(function() qnn.optim.grover {net = net} end)
    assert.has_error(function() qnn.optim.grover(5) end)
    local ok, err = pcall(run, {resolution = 1})
    assert.is_false(ok)
    assert.truthy(tostring(err):match("resolution"))
    local tr = qnn.optim.grover_trainer(net, d.X, d.y)
    assert.has_error(function() tr:pass {layer = 3, alpha = 0.5} end)
    assert.has_error(function() tr:pass {alpha = 0.5} end)
    assert.has_error(function() tr:pass {layer = 1} end)
    assert.has_error(function() tr:pass {layer = 1, alpha = 0 / 0} end)
    assert.has_error(function() tr:pass {layer = 1, alpha = 0.5, shots = 0} end)
    assert.has_error(function() tr:pass {layer = 1, alpha = 0.5, tol = -1} end)
    assert.has_error(function() tr:candidates(1, 99, 1, {1}) end)
    assert.has_error(function() tr:candidates(1, 1, 1, {0 / 0}) end)
    assert.has_error(function() qnn.optim.grover_trainer(net, d.X, {1, 2}) end)
    local y = {}
    for k = 1, 12 do y[k] = 4 end
    assert.has_error(function() qnn.optim.grover_trainer(net, d.X, y) end)
    local bad = qnn.nn.sequential {qnn.nn.dense(5, 3), qnn.nn.tanh(), qnn.nn.tanh()}
    assert.has_error(function() qnn.optim.grover_trainer(bad, d.X, d.y) end)
  end)
end)

describe("qnn.schedule", function()
  it("adaptive follows the paper's rule", function()
    local s = schedule.adaptive {}
    assert.are.equal(0.5, s:value(1))
    s:update(1, {loss_before = 1, loss_after = 0.9})
    assert.is_true(math.abs(s:value(1) - 0.475) < 1e-15)
    s:update(2, {loss_before = 1, loss_after = 1})
    assert.is_true(math.abs(s:value(2) - 0.525) < 1e-15)
    for _ = 1, 200 do s:update(1, {loss_before = 1, loss_after = 0}) end
    assert.are.equal(0.1, s:value(1))
    for _ = 1, 200 do s:update(2, {loss_before = 0, loss_after = 1}) end
    assert.are.equal(2.0, s:value(2))
    assert.truthy(tostring(s):match("adaptive"))
  end)

  it("constant and cosine", function()
    local c = schedule.constant(0.3)
    c:update(1, {})
    assert.are.equal(0.3, c:value(1))
    assert.are.equal(0.7, schedule.constant {value = 0.7}:value(4))
    local k = schedule.cosine {start = 1, stop = 0.2, period = 4}
    assert.are.equal(1, k:value(1))
    for _ = 1, 4 do k:update(1, {}) end
    assert.is_true(math.abs(k:value(1) - 0.2) < 1e-15)
    k:update(1, {})
    assert.is_true(math.abs(k:value(1) - 0.2) < 1e-15)
  end)

  it("checks its input", function()
    assert.has_error(function() schedule.adaptive {start = -1} end)
    assert.has_error(function() schedule.adaptive {min = 3, max = 2} end)
    assert.has_error(function() schedule.adaptive {bogus = 1} end)
    assert.has_error(function() schedule.constant(0) end)
    assert.has_error(function() schedule.constant(0 / 0) end)
    assert.has_error(function() schedule.cosine {period = 0} end)
    assert.has_error(function() schedule.check(5) end)
    assert.has_error(function() schedule.check({value = 1}) end)
    local bad = {value = function() return 0 / 0 end, update = function() end}
    assert.has_error(function() schedule.alpha(bad, 1) end)
  end)
end)
