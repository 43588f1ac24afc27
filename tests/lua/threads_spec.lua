-- qnn.threads and the parallel loops inside one run: 1 and 2 threads give the same bits
-- (Ising sampler reads, Grover candidate losses, natural-quantization vote shots, matrix
-- products), and the thread-count settings check their arguments.
local qnn = require "qnn"

local function with_threads(n, fn)
  local saved = qnn.threads()
  qnn.threads(n)
  local ok, a, b = pcall(fn)
  qnn.threads(saved)
  assert(ok, a)
  return a, b
end

local function hexs(t)
  local out = {}
  for i = 1, #t do out[i] = type(t[i]) == "number" and string.format("%a", t[i]) or tostring(t[i]) end
  return table.concat(out, " ")
end

describe("qnn.threads", function()
  it("sets and returns the thread count; blas_threads follows", function()
    local saved = qnn.threads()
    assert.is_true(saved >= 1)
    assert.are.equal(1, qnn.threads(1))
    assert.are.equal(1, qnn.tensor.blas_threads())
    assert.are.equal(2, qnn.threads(2))
    assert.are.equal(2, qnn.tensor.blas_threads())
    qnn.threads(saved)
  end)

  it("bad input", function()
    assert.has_error(function() qnn.threads(0) end)
    assert.has_error(function() qnn.threads(1025) end)
    assert.has_error(function() qnn.threads(1.5) end)
    assert.has_error(function() qnn.threads("x") end)
    assert.has_error(function() qnn.tensor.blas_threads(0) end)
  end)
end)

describe("results do not depend on the thread count", function()
  local r = qnn.rng(3)
  local h, J = {}, {}
  for i = 1, 60 do
    h[i] = 0.3 * r:normal()
    for _ = 1, 3 do
      local j = r:int(1, 60)
      if j ~= i then J[#J + 1] = {i, j, r:normal()} end
    end
  end
  local m = qnn.ising.model {n = 60, h = h, J = J}

  local function sample(o)
    local s = qnn.ising.sample(m, o)
    local t = {s.flips}
    for k = 1, #s do
      t[#t + 1] = s[k].energy
      t[#t + 1] = table.concat(s[k].spins, ",")
    end
    return hexs(t)
  end

  it("SA and SQA reads", function()
    for _, o in ipairs {{sampler = "sa", reads = 7, sweeps = 200, seed = 1},
                        {sampler = "sqa", reads = 5, sweeps = 40, slices = 6, seed = 2}} do
      local a = with_threads(1, function() return sample(o) end)
      local b = with_threads(2, function() return sample(o) end)
      assert.are.equal(a, b)
      -- and the reads are independent streams: not all the same state
      local s = qnn.ising.sample(m, o)
      assert.is_true(#s > 1)
    end
  end)

  it("Grover candidate losses (hidden and output layers) and a training epoch", function()
    -- large enough for the candidate loops to run in parallel (GOPT_PAR_MIN_WORK)
    local X = qnn.tensor.uniform(400, 6, -1, 1, {seed = 4})
    local y = {}
    for i = 1, 400 do y[i] = 1 + i % 3 end
    local function run()
      local net = qnn.nn.sequential {qnn.nn.dense(6, 16), qnn.nn.tanh(), qnn.nn.dense(16, 12), qnn.nn.tanh(),
        qnn.nn.dense(12, 3), qnn.nn.softmax(), seed = 5}
      local T = qnn.optim.grover_trainer(net, X, y)
      local w = {}
      for c = 1, 33 do w[c] = -1 + 2 * (c - 1) / 32 end
      local out = {}
      for layer = 1, 3 do
        local l = T:candidates(layer, 2, 3, w)
        for i = 1, #l do out[#out + 1] = l[i] end
      end
      T:close()
      qnn.optim.grover {net = net, data = {X = X, y = y}, epochs = 1, seed = 6, track_circuit = false}
      local p = net:params()
      for i = 1, p:shape() do out[#out + 1] = p:get(i) end
      return hexs(out)
    end
    assert.are.equal(with_threads(1, run), with_threads(2, run))
  end)

  it("natural-quantization vote shots; the first shot is the single shot", function()
    local net = qnn.nn.sequential {qnn.nn.dense(5, 6), qnn.nn.qubit_activation {}, qnn.nn.dense(6, 6),
      qnn.nn.qubit_activation {}, qnn.nn.dense(6, 3), seed = 7}
    local X = qnn.tensor.randn(250, 5, {seed = 8})
    local function run()
      local v, f = net:predict(X, {shots = 15, seed = 9, first = true})
      return table.concat(v, ","), table.concat(f, ",")
    end
    local v1, f1 = with_threads(1, run)
    local v2, f2 = with_threads(2, run)
    assert.are.equal(v1, v2)
    assert.are.equal(f1, f2)
    assert.are.equal(f1, table.concat(net:predict(X, {mode = "single", seed = 9}), ","))
  end)

  it("matrix products cut into row blocks, with beta accumulation (dense backward)", function()
    local A = qnn.tensor.uniform(700, 120, -1, 1, {seed = 10})
    local y = {}
    for i = 1, 700 do y[i] = 1 + i % 90 end
    local function run()
      local net = qnn.nn.sequential {qnn.nn.dense(120, 90), qnn.nn.softmax(), seed = 11}
      local loss = net:backward(A, y, "cross_entropy")
      local g = net:grads()
      local t = {loss}
      for i = 1, g:shape() do t[#t + 1] = g:get(i) end
      local P = A:matmul(qnn.tensor.uniform(120, 90, -1, 1, {seed = 12}))
      for i = 1, 700, 37 do t[#t + 1] = P:get(i, 1 + i % 90) end
      return hexs(t)
    end
    assert.are.equal(with_threads(1, run), with_threads(2, run))
  end)
end)
