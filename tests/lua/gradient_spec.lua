-- Circuit gradients: adjoint (gradient), vjp and parameter shift against central finite
-- differences, on random circuits using every parameterised gate kind with shared parameters.
local qnn = require "qnn"

local KINDS1 = {"rx", "ry", "rz", "phase"}
local KINDS2 = {"crx", "cry", "crz", "cphase", "rxx", "ryy", "rzz", "rzy"}

local function random_circuit(n, ngates, nparams, seed)
  local r = qnn.rng(seed)
  local c = qnn.circuit(n)
  for q = 0, n - 1 do c:h(q) end
  local function angle()
    local u = r:uniform()
    local name = "p" .. r:int(1, nparams)
    if u < 0.6 then return name end
    if u < 0.85 then return {name, r:uniform(-2, 2), r:uniform(-1, 1)} end
    return r:uniform(-3, 3)
  end
  local all = {}
  for _, k in ipairs(KINDS1) do all[#all + 1] = k end
  for _, k in ipairs(KINDS2) do all[#all + 1] = k end
  all[#all + 1] = "u3"
  for g = 1, ngates do
    local kind = all[g <= #all and g or r:int(1, #all)]
    local a = r:int(0, n - 1)
    local b = (a + r:int(1, n - 1)) % n
    if kind == "u3" then
      c:u3(a, angle(), angle(), angle())
    elseif #kind <= 5 and (kind == "rx" or kind == "ry" or kind == "rz" or kind == "phase") then
      c[kind](c, a, angle())
    else
      c[kind](c, a, b, angle())
    end
    if g % 3 == 0 then c:cx(a, b):sx(b):t(a) end
  end
  local vals = {}
  for _, name in ipairs(c:param_names()) do vals[name] = r:uniform(-3, 3) end
  c:set(vals)
  return c
end

local OBS = {{0.8, "ZXY"}, {-0.5, "XIZ"}, {0.3, "IYY"}}

local function fd_expect(c, name, h)
  local x = c:params()[name]
  c:set(name, x + h)
  local fp = c:expect(OBS)
  c:set(name, x - h)
  local fm = c:expect(OBS)
  c:set(name, x)
  return (fp - fm) / (2 * h)
end

describe("Circuit gradients", function()
  it("adjoint and parameter shift agree with finite differences (every kind, shared params)", function()
    for trial = 1, 3 do
      local c = random_circuit(3, 26, 5, trial)
      local v, g = c:gradient(OBS)
      local vs, gs = c:gradient_shift(OBS)
      local s = c:run(qnn.state(3))
      assert.truthy(math.abs(v - s:expect(OBS)) < 1e-12)
      assert.truthy(math.abs(v - vs) < 1e-12)
      local count = 0
      for _, name in ipairs(c:param_names()) do
        local fd = fd_expect(c, name, 1e-5)
        assert.truthy(math.abs(g[name] - fd) < 1e-7, name .. ": adjoint " .. g[name] .. " fd " .. fd)
        assert.truthy(math.abs(gs[name] - fd) < 1e-7, name .. ": shift " .. gs[name] .. " fd " .. fd)
        count = count + 1
      end
      assert.are.equal(5, count)
    end
  end)

  it("accepts a Pauli string and an input state", function()
    local c = qnn.circuit(2):ry(0, "a"):cx(0, 1):rx(1, "b")
    c:set{a = 0.3, b = -0.4}
    local s0 = qnn.state(2):h(1)
    local v, g = c:gradient("ZZ", s0)
    local vs, gs = c:gradient_shift("ZZ", s0)
    assert.truthy(math.abs(v - vs) < 1e-12)
    for k, x in pairs(g) do assert.truthy(math.abs(x - gs[k]) < 1e-10) end
    -- input state untouched
    assert.truthy(math.abs(s0:prob(2) - 0.5) < 1e-15)
  end)

  it("vjp agrees with finite differences and returns the probabilities", function()
    local c = random_circuit(3, 20, 4, 11)
    local r = qnn.rng(3)
    local dp = {}
    for i = 1, 8 do dp[i] = r:uniform(-1, 1) end
    local g, probs = c:vjp(dp)
    local s = c:run(qnn.state(3))
    for x = 0, 7 do assert.truthy(math.abs(probs[x + 1] - s:prob(x)) < 1e-14) end
    local function f()
      local t = c:run(qnn.state(3))
      local acc = 0
      for x = 0, 7 do acc = acc + dp[x + 1] * t:prob(x) end
      return acc
    end
    for _, name in ipairs(c:param_names()) do
      local x = c:params()[name]
      c:set(name, x + 1e-5)
      local fp = f()
      c:set(name, x - 1e-5)
      local fm = f()
      c:set(name, x)
      local fd = (fp - fm) / 2e-5
      assert.truthy(math.abs(g[name] - fd) < 1e-7, name)
    end
    -- a Tensor works too
    local g2 = c:vjp(qnn.tensor(dp))
    for k, v in pairs(g) do assert.truthy(math.abs(v - g2[k]) < 1e-15) end
  end)

  it("a circuit without parameters has an empty gradient", function()
    local v, g = qnn.circuit(1):h(0):gradient("X")
    assert.truthy(math.abs(v - 1) < 1e-12)
    assert.are.same({}, g)
  end)

  it("rejects bad input", function()
    local c = qnn.circuit(2):ry(0, "a")
    assert.has_error(function() c:gradient("ZZZ") end)
    assert.has_error(function() c:gradient("ZQ") end)
    assert.has_error(function() c:gradient("") end)
    assert.has_error(function() c:gradient(5) end)
    assert.has_error(function() c:gradient({{1}}) end)
    assert.has_error(function() c:gradient({{0 / 0, "ZZ"}}) end)
    assert.has_error(function() c:gradient({}) end)
    assert.has_error(function() c:gradient("ZZ", qnn.state(3)) end)
    assert.has_error(function() c:gradient("ZZ", {}) end)
    assert.has_error(function() c:gradient_shift("Z?") end)
    assert.has_error(function() c:vjp({1, 2, 3}) end)
    assert.has_error(function() c:vjp({1, 2, 3, 0 / 0}) end)
    assert.has_error(function() c:vjp({1, 2, 3, "x"}) end)
    assert.has_error(function() c:vjp("x") end)
    assert.has_error(function() c:vjp(qnn.tensor({1, 2, 3})) end)
    assert.has_error(function() c:vjp({1, 2, 3, 4}, qnn.state(1)) end)
    assert.has_error(function() c:expect("X", 7) end)
  end)
end)
