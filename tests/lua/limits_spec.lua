-- Absurd sizes and counts give an error naming the argument and the limit, quickly, instead of
-- hanging or exhausting memory (issue 12 item 5).
local qnn = require "qnn"

local function err_of(f)
  local t0 = os.clock()
  local ok, e = pcall(f)
  assert.is_false(ok, "expected an error")
  assert.truthy(os.clock() - t0 < 5, "the refusal must be immediate")
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
