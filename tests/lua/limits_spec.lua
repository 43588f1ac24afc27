-- Absurd sizes and counts give an error naming the argument and the limit, quickly, instead of
-- hanging or exhausting memory (issue 12 item 5).
local qnn = require "qnn"

-- (a regression would hang or exhaust memory instead of raising: the suite would not finish)
local function err_of(f)
  local ok, e = pcall(f)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

describe("limits on user-given counts", function()
  it("qnn.anneal.sample points", function()
    local e = err_of(function() qnn.anneal.sample({}, math.maxinteger) end)
    assert.matches("points must be an integer in [2, 1000000]", e, 1, true)
    assert.matches("schedule must be a function",
                   err_of(function() qnn.anneal.sample(42, 10) end), 1, true)
    assert.are.equal(11, #qnn.anneal.sample(qnn.anneal.linear(), 11).t)
  end)

  it("qnn.gridworld.vec n, size and options", function()
    assert.matches("n must be an integer in [1, 65536]",
                   err_of(function() qnn.gridworld.vec(2^31, 4, {2, 5}) end), 1, true)
    assert.matches("unknown option", err_of(function() qnn.gridworld.vec(2, 4, {2, 5}) end), 1, true)
    assert.matches("size must be an integer in [4, 64]",
                   err_of(function() qnn.gridworld.vec(2, 1e9) end), 1, true)
    assert.matches("max_steps must be an integer in [1, 1000000000]",
                   err_of(function() qnn.gridworld.empty(5, {max_steps = -1}) end), 1, true)
    assert.are.equal(3, #qnn.gridworld.vec(3, 5, {max_steps = 10}).envs)
  end)

  it("shots are at most 2^30", function()
    local lim = "[1, 1073741824]"
    assert.matches(lim, err_of(function() qnn.state(2):sample(1 << 40) end), 1, true)
    assert.matches(lim, err_of(function() qnn.density(1):sample(1 << 31) end), 1, true)
    assert.matches("shots", err_of(function()
      qnn.grover.search{n = 3, marked = {1}, shots = 1 << 40} end), 1, true)
    local c = qnn.state(1):sample(10, {seed = 1})
    assert.are.equal(10, (c[0] or 0) + (c[1] or 0))
  end)
end)

describe("numbers beyond the double range in data files", function()
  local function write(name, text)
    local p = os.tmpname() .. name
    local f = assert(io.open(p, "wb")); f:write(text); f:close()
    return p
  end

  it("CSV refuses 1e999 like inf, naming file, line and column", function()
    local p = write(".csv", "1,2\n3,1e999\n")
    local ok, e = pcall(qnn.data.csv, p)
    assert.is_false(ok)
    assert.matches(p .. ":2: column 2: number '1e999' is out of the double range", e, 1, true)
    local p2 = write(".csv", "1,2\n-1e400,4\n")
    assert.matches(":2: column 1: number '-1e400'", select(2, pcall(qnn.data.csv, p2)), 1, true)
    local p3 = write(".csv", "1,inf\n")
    assert.is_false(pcall(qnn.data.csv, p3))
    local p4 = write(".csv", "1,1e308\n") -- large but finite is fine
    assert.are.equal(1e308, qnn.data.csv(p4)[1][2])
    for _, f in ipairs{p, p2, p3, p4} do os.remove(f) end
  end)

  it("JSON refuses 1e999 naming file and line", function()
    local p = write(".json", "[1, 2,\n 1e999]")
    local ok, e = pcall(qnn.data.json, p)
    assert.is_false(ok)
    assert.matches(p .. ": line 2 (byte offset 8): number '1e999' is out of the double range", e, 1, true)
    local p2 = write(".json", '{"data": [[1, 2], [3, -1E+999]]}')
    assert.matches("line 1", select(2, pcall(qnn.data.json, p2, {key = "data"})), 1, true)
    os.remove(p); os.remove(p2)
  end)
end)

describe("optimizer settings that diverge are refused", function()
  it("constructors, Optimizer:lr and learning-rate functions", function()
    assert.has_error(function() qnn.optim.adam{eps = 0} end)
    assert.has_error(function() qnn.optim.rmsprop{eps = 0} end)
    assert.has_error(function() qnn.optim.sgd{lr = 1e308} end)
    assert.has_error(function() qnn.optim.adam{weight_decay = 1e300} end)
    local o = qnn.optim.sgd{}
    assert.has_error(function() o:lr(1e308) end)
    local net = qnn.nn.mlp{2, 2, seed = 1}
    net:backward(qnn.tensor.from{{1, 2}}, {1})
    local o2 = qnn.optim.sgd{lr = function() return 1e308 end}
    local ok, e = pcall(o2.step, o2, net)
    assert.is_false(ok)
    assert.matches("[0, 1e6]", e, 1, true)
  end)
end)

describe("products of counts are bounded", function()
  it("annealing samplers, min_gap and quantum_train name the product and the limit", function()
    local m = qnn.ising.model{n = 64}
    assert.matches("reads * sweeps * (spins + 2 couplings) = ",
                   err_of(function() qnn.ising.sample(m, {reads = 1 << 24, sweeps = 1 << 28}) end), 1, true)
    local m3 = qnn.ising.model{n = 3}
    assert.matches("exceeds the limit of 1e+12", err_of(function()
      qnn.ising.sample(m3, {sampler = "sqa", reads = 1 << 24, sweeps = 1 << 28}) end), 1, true)
    assert.matches("steps * 2^n * n", err_of(function()
      qnn.ising.sample(qnn.ising.model{n = 20}, {sampler = "exact", steps = 1 << 26}) end), 1, true)
    assert.matches("points * (2^n)^3", err_of(function()
      qnn.ising.min_gap(qnn.ising.model{n = 12}, nil, {points = 100000}) end), 1, true)
    assert.matches("need 30 qubits", err_of(function()
      qnn.nn.quantum_train{target = 1 << 30, depth = 100000} end), 1, true)
    assert.matches("depth * qubits * 2^qubits", err_of(function()
      qnn.nn.quantum_train{target = 1 << 20, depth = 100000} end), 1, true)
    -- ordinary sizes still run
    assert.are.equal(2, #qnn.ising.sample(m3, {reads = 2, sweeps = 10, seed = 1}))
  end)
end)
