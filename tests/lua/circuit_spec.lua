-- qnn.circuit: building, parameters, structure, running (with noise), drawing, bad input.
local qnn = require "qnn"

local function close(a, b, tol) return math.abs(a - b) <= (tol or 1e-12) end

local function max_dev(u, v)
  local m = 0
  for r = 1, #u do
    for c = 1, #u do
      m = math.max(m, math.abs(u[r][c][1] - v[r][c][1]), math.abs(u[r][c][2] - v[r][c][2]))
    end
  end
  return m
end

local function identity_dev(u)
  local m = 0
  for r = 1, #u do
    for c = 1, #u do
      local re = u[r][c][1] - (r == c and 1 or 0)
      m = math.max(m, math.abs(re), math.abs(u[r][c][2]))
    end
  end
  return m
end

local function all_gates(n)
  local c = qnn.circuit(n)
  c:h(0):x(1):y(2):z(0):s(1):sdg(2):t(0):tdg(1):sx(2)
  c:rx(0, "a"):ry(1, 0.3):rz(2, {"b", 2}):phase(0, "c"):u3(1, "a", 0.2, "b")
  c:cx(0, 1):cy(1, 2):cz(2, 0):swap(0, 2)
  c:crx(0, 1, "a"):cry(1, 2, 0.5):crz(2, 0, "c"):cphase(0, 1, "b")
  c:rxx(0, 1, 0.7):ryy(1, 2, "a"):rzz(0, 2, "b"):rzy(2, 1, "c")
  c:mcx({0, 1}, 2):mcz({0, 1, 2})
  c:unitary({1}, {{0, 1}, {1, 0}})
  c:diagonal({0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7})
  c:set{a = 0.4, b = -0.9, c = 1.3}
  return c
end

describe("qnn.circuit", function()
  it("is a callable table with from_qasm", function()
    assert.is_table(qnn.circuit)
    assert.is_function(qnn.circuit.from_qasm)
    local c = qnn.circuit(2)
    assert.are.equal("Circuit", qnn.type(c))
    assert.are.equal(2, c:nqubits())
    assert.are.equal(0, #c)
  end)

  it("chains every gate method and counts them", function()
    local c = all_gates(3)
    assert.are.equal(30, #c)
    local cnt = c:count()
    assert.are.equal(30, cnt.total)
    assert.are.equal(1, cnt.h)
    assert.are.equal(1, cnt.rzy)
    assert.are.equal(1, cnt.diagonal)
    assert.truthy(c:depth() >= 10 and c:depth() <= 32)
  end)

  it("matches the State gate methods", function()
    local c = all_gates(3)
    local s1 = qnn.state(3)
    c:run(s1)
    local s2 = qnn.state(3)
    local p = c:params()
    s2:h(0):x(1):y(2):z(0):s(1):sdg(2):t(0):tdg(1):sx(2)
    s2:rx(0, p.a):ry(1, 0.3):rz(2, 2 * p.b):phase(0, p.c):u3(1, p.a, 0.2, p.b)
    s2:cx(0, 1):cy(1, 2):cz(2, 0):swap(0, 2)
    s2:crx(0, 1, p.a):cry(1, 2, 0.5):crz(2, 0, p.c):cphase(0, 1, p.b)
    s2:rxx(0, 1, 0.7):ryy(1, 2, p.a):rzz(0, 2, p.b):rzy(2, 1, p.c)
    s2:mcx({0, 1}, 2):mcz({0, 1, 2})
    s2:unitary({1}, {{0, 1}, {1, 0}})
    s2:diagonal({0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7})
    for i = 0, 7 do
      local r1, i1 = s1:amp(i)
      local r2, i2 = s2:amp(i)
      assert.truthy(close(r1, r2) and close(i1, i2))
    end
  end)

  it("has named parameters", function()
    local c = qnn.circuit(2):ry(0, "theta"):rx(1, "phi"):crz(0, 1, "theta")
    assert.are.same({"theta", "phi"}, c:param_names())
    assert.are.same({theta = 0, phi = 0}, c:params())
    c:set("theta", 0.5)
    c:set{phi = -1}
    assert.are.same({theta = 0.5, phi = -1}, c:params())
    assert.has_error(function() c:set("nope", 1) end)
    assert.has_error(function() c:set{nope = 1} end)
    assert.has_error(function() c:set("theta", 0 / 0) end)
    assert.has_error(function() c:set{theta = "x"} end)
    -- failed set{} changes nothing
    assert.are.same({theta = 0.5, phi = -1}, c:params())
  end)

  it("inverse composed with the circuit is the identity", function()
    local c = all_gates(3)
    local d = c:copy():append(c:inverse())
    assert.truthy(identity_dev(d:unitary()) < 1e-12)
    -- the inverse keeps parameters by name
    local inv = c:inverse()
    assert.are.same(c:params(), inv:params())
  end)

  it("append with a map, repeat_, rep, copy", function()
    local bell = qnn.circuit(2):h(0):cx(0, 1):ry(1, "w")
    local c = qnn.circuit(4):append(bell, {3, 1})
    assert.are.equal(3, #c)
    local s = qnn.state(4)
    c:run(s)
    assert.truthy(close(s:prob(0), 0.5) and close(s:prob(10), 0.5))
    local r = bell:copy():repeat_(3)
    assert.are.equal(9, #r)
    assert.are.equal(3, #bell)
    assert.are.equal(6, #bell:copy():rep(2))
    assert.are.same({"w"}, r:param_names())
    assert.has_error(function() bell:append(qnn.circuit(3)) end)
    assert.has_error(function() c:append(bell, {0, 0}) end)
    assert.has_error(function() c:append(bell, {0}) end)
    assert.has_error(function() c:append(bell, {0, 9}) end)
    assert.has_error(function() c:repeat_(0) end)
  end)

  it("draws one row per qubit", function()
    local c = qnn.circuit(3):h(0):cx(0, 2):ry(1, "theta"):mcz({0, 1, 2})
    local txt = tostring(c)
    assert.truthy(txt:match("qnn.Circuit"))
    local rows = {}
    for line in c:draw():gmatch("[^\n]+") do rows[#rows + 1] = line end
    assert.are.equal(3, #rows)
    assert.truthy(rows[1]:match("^q0:"))
    assert.truthy(rows[1]:find("H", 1, true))
    assert.truthy(rows[1]:find("●", 1, true))
    assert.truthy(rows[3]:find("⊕", 1, true))
    assert.truthy(rows[2]:find("RY(theta)", 1, true))
    assert.truthy(rows[2]:find("┼", 1, true))
  end)

  it("unitary() returns the matrix for n <= 10 and appends with arguments", function()
    local u = qnn.circuit(1):h(0):unitary()
    local r = 1 / math.sqrt(2)
    assert.truthy(close(u[1][1][1], r) and close(u[2][2][1], -r))
    local c = qnn.circuit(2):unitary({0, 1}, qnn.circuit(2):cx(0, 1):unitary())
    assert.truthy(max_dev(c:unitary(), qnn.circuit(2):cx(0, 1):unitary()) < 1e-15)
    assert.has_error(function() qnn.circuit(11):unitary() end)
  end)

  it("runs with a depolarizing model: Density exact vs averaged trajectories", function()
    if not qnn.density then pending("qnn.density not available") return end
    local c = qnn.circuit(2):h(0):cx(0, 1):ry(1, 0.7):rzz(0, 1, 0.4)
    local nm = qnn.noise.model{p1 = 0.05, p2 = 0.1, amp_damp = 0.05, phase_flip = 0.03}
    local d = c:run(qnn.density(2), {noise = nm})
    local pd = d:probs()
    local acc = {0, 0, 0, 0}
    local T = 3000
    local rng = qnn.rng(5)
    local s = qnn.state(2)
    for _ = 1, T do
      local t = c:run(qnn.state(2), {noise = nm, rng = rng})
      for x = 0, 3 do acc[x + 1] = acc[x + 1] + t:prob(x) / T end
      s = t
    end
    assert.are.equal("State", qnn.type(s))
    for x = 1, 4 do assert.truthy(math.abs(acc[x] - pd[x]) < 0.025, "basis " .. (x - 1)) end
    assert.truthy(d:purity() < 0.99)
  end)

  it("trajectories are reproducible with seed=", function()
    local c = qnn.circuit(2):ry(0, 0.3):cx(0, 1):ry(1, 0.2)
    local nm = qnn.noise.depolarizing{p1 = 0.3, p2 = 0.3}
    local function run(seed)
      local s = c:run(qnn.state(2), {noise = nm, seed = seed})
      local t = {}
      for x = 0, 3 do t[#t + 1] = s:prob(x) end
      return t
    end
    assert.are.same(run(7), run(7))
    local differs = false
    for seed = 1, 20 do
      local a, b = run(seed), run(seed + 100)
      for i = 1, 4 do if not close(a[i], b[i]) then differs = true end end
    end
    assert.is_true(differs)
  end)

  it("rejects bad input", function()
    local c = qnn.circuit(3)
    assert.has_error(function() qnn.circuit(0) end)
    assert.has_error(function() qnn.circuit(31) end)
    assert.has_error(function() qnn.circuit(1.5) end)
    assert.has_error(function() c:h(3) end)
    assert.has_error(function() c:h(-1) end)
    assert.has_error(function() c:h("x") end)
    assert.has_error(function() c:cx(1, 1) end)
    assert.has_error(function() c:rzz(0, 0, 1) end)
    assert.has_error(function() c:rx(0, 0 / 0) end)
    assert.has_error(function() c:rx(0, math.huge) end)
    assert.has_error(function() c:rx(0) end)
    assert.has_error(function() c:rx(0, "") end)
    assert.has_error(function() c:rx(0, {"a", 0 / 0}) end)
    assert.has_error(function() c:rx(0, {1, 2}) end)
    assert.has_error(function() c:u3(0, 1, 2) end)
    assert.has_error(function() c:u3(0, 1, 2, 0 / 0) end)
    assert.has_error(function() c:mcx({0, 0}, 2) end)
    assert.has_error(function() c:mcx({0, 1}, 1) end)
    assert.has_error(function() c:mcx({0, 5}, 1) end)
    assert.has_error(function() c:mcz({}) end)
    assert.has_error(function() c:unitary({0}, {{1, 1}, {0, 1}}) end)
    assert.has_error(function() c:unitary({0}, {{1, 0}}) end)
    assert.has_error(function() c:unitary({0, 0}, {{1, 0}, {0, 1}}) end)
    assert.has_error(function() c:diagonal({1, 2}) end)
    assert.has_error(function() c:diagonal({0, 0, 0, 0, 0, 0, 0, 0 / 0}) end)
    assert.are.equal(0, #c)
    assert.are.same({}, c:param_names())
    local ok, err = pcall(c.h, c, 7)
    assert.is_false(ok)
    assert.truthy(tostring(err):match("h") and tostring(err):match("%[0, 2%]"))
    -- run
    assert.has_error(function() c:run(qnn.state(2)) end)
    assert.has_error(function() c:run({}) end)
    assert.has_error(function() c:run(42) end)
    assert.has_error(function() c:run(qnn.state(3), {noise = {p1 = 2}}) end)
    assert.has_error(function() c:run(qnn.state(3), {noise = 5}) end)
    assert.has_error(function() c:run(qnn.state(3), {nosie = {}}) end)
    -- closed
    local d = qnn.circuit(1)
    d:close()
    local ok2, err2 = pcall(d.h, d, 0)
    assert.is_false(ok2)
    assert.truthy(tostring(err2):match("Circuit is closed"))
    assert.truthy(tostring(d):match("closed"))
  end)
end)

describe("qnn.noise", function()
  it("builds checked models", function()
    local m = qnn.noise.depolarizing{p1 = 0.01, p2 = 0.02}
    assert.are.equal(0.01, m.p1)
    assert.are.equal(0.02, m.p2)
    assert.are.equal(0, m.amp_damp)
    assert.are.equal("NoiseModel", qnn.type(m))
    assert.truthy(tostring(m):match("p1=0.01"))
    local g = qnn.noise.model{amplitude_damping = 0.1, bit_flip = 0.2}
    assert.are.equal(0.1, g.amp_damp)
    assert.are.equal(0.2, g.bit_flip)
    assert.are.equal(0.3, qnn.noise.phase_flip(0.3).phase_flip)
    assert.are.equal(0.3, qnn.noise.phase_damping(0.3).phase_damp)
    assert.are.equal(0.3, qnn.noise.amplitude_damping(0.3).amp_damp)
    assert.are.equal(0.3, qnn.noise.bit_flip(0.3).bit_flip)
    assert.are.equal(0.03, qnn.noise.combine(m, qnn.noise.depolarizing(0.01)).p2)
    assert.is_true(qnn.noise.is_model(m))
    assert.has_error(function() qnn.noise.depolarizing{p1 = -0.1} end)
    assert.has_error(function() qnn.noise.depolarizing{p1 = 1.5} end)
    assert.has_error(function() qnn.noise.depolarizing{p1 = 0 / 0} end)
    assert.has_error(function() qnn.noise.depolarizing{p3 = 0.1} end)
    assert.has_error(function() qnn.noise.model{amp_damp = "x"} end)
    assert.has_error(function() qnn.noise.bit_flip(2) end)
    assert.has_error(function() qnn.noise.model(3) end)
  end)

  it("a noiseless model leaves a pure state; bit_flip 1 flips every touched qubit", function()
    local c = qnn.circuit(2):x(0)
    local s = c:run(qnn.state(2), {noise = qnn.noise.model{}, seed = 1})
    assert.truthy(close(s:prob(1), 1))
    s = c:run(qnn.state(2), {noise = qnn.noise.bit_flip(1), seed = 1})
    assert.truthy(close(s:prob(0), 1))
  end)
end)
