-- The circuit compiler (gate fusion) from Lua: Circuit:compile / Circuit:stats, run{fuse=},
-- fused runs equal gate-by-gate runs, re-binding after Circuit:set, bad input.
local qnn = require "qnn"

local function maxdiff(a, b, n)
  local m = 0
  for i = 0, 2 ^ n - 1 do
    local ar, ai = a:amp(i)
    local br, bi = b:amp(i)
    m = math.max(m, math.abs(ar - br), math.abs(ai - bi))
  end
  return m
end

local function ansatz(n, layers)
  local c = qnn.circuit(n)
  for l = 1, layers do
    for q = 0, n - 1 do c:ry(q, ("y%d_%d"):format(l, q)) end
    for q = 0, n - 1 do c:rz(q, ("z%d_%d"):format(l, q)) end
    for q = 0, n - 2 do c:cx(q, q + 1) end
  end
  local r = qnn.rng(3)
  local v = {}
  for _, name in ipairs(c:param_names()) do v[name] = r:uniform(-3, 3) end
  return c:set(v)
end

describe("circuit compiler", function()
  it("fused runs equal gate-by-gate runs, before and after Circuit:set", function()
    local r = qnn.rng(11)
    local one = {"h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg"}
    local rot = {"rx", "ry", "rz", "phase"}
    local two = {"cx", "cy", "cz", "swap"}
    local rot2 = {"crx", "cry", "crz", "cphase", "rxx", "ryy", "rzz", "rzy"}
    for trial = 1, 12 do
      local n = 1 + trial % 7
      local c = qnn.circuit(n)
      for _ = 1, 50 do
        local a = r:int(0, n - 1)
        local b = (a + r:int(1, math.max(1, n - 1))) % n
        local u = r:uniform()
        if u < 0.25 then c[one[r:int(1, #one)]](c, a)
        elseif u < 0.5 then c[rot[r:int(1, #rot)]](c, a, "p" .. r:int(1, 4))
        elseif u < 0.6 then c:u3(a, "p1", r:uniform(-3, 3), "p2")
        elseif n > 1 and u < 0.8 then c[two[r:int(1, #two)]](c, a, b)
        elseif n > 1 then c[rot2[r:int(1, #rot2)]](c, a, b, "p" .. r:int(1, 4)) end
      end
      for _ = 1, 2 do
        local v = {}
        for _, name in ipairs(c:param_names()) do v[name] = r:uniform(-3, 3) end
        c:set(v)
        local s0 = qnn.state(n)
        for q = 0, n - 1 do s0:ry(q, r:uniform(-2, 2)):rz(q, r:uniform(-2, 2)) end
        local s1, s2 = s0:copy(), s0:copy()
        c:run(s1, {fuse = false})
        c:run(s2)
        assert.is_true(maxdiff(s1, s2, n) <= 1e-12)
      end
    end
  end)

  it("compiles a layered ansatz into fused rotations and one permutation per ladder", function()
    local c = ansatz(6, 3)
    local st = c:stats()
    assert.are.equal(#c, st.gates)
    assert.are.equal(3 * 6 + 3, st.blocks) -- RY.RZ per qubit, one CNOT ladder per layer
    assert.are.equal(18, st.dense)
    assert.are.equal(3, st.permutation)
    assert.are.equal(1, st.max_k)
    assert.is_true(st.passes < st.unfused_passes)
    local blocks = c:compile()
    local seen = {}
    for _, b in ipairs(blocks) do
      assert.is_true(b.type == "dense" or b.type == "permutation")
      for _, g in ipairs(b.gates) do seen[#seen + 1] = g end
    end
    table.sort(seen)
    for i = 1, #c do assert.are.equal(i, seen[i]) end
    assert.are.equal(st.blocks, blocks.stats.blocks)
    -- gradients through the fused backward sweep match parameter shift
    local v, g = c:gradient("ZIZIII")
    local v2, g2 = c:gradient_shift("ZIZIII")
    assert.is_true(math.abs(v - v2) < 1e-12)
    for k, x in pairs(g) do assert.is_true(math.abs(x - g2[k]) < 1e-10) end
  end)

  it("gradient and vjp at 12 qubits (the stored-state sweep) agree with parameter shift", function()
    local c = ansatz(12, 2):rzz(3, 4, "w"):cry(5, 2, "u"):u3(0, "a", "b", "k")
    c:set{w = 0.4, u = -1.1, a = 0.3, b = 0.9, k = -0.2}
    local v, g = c:gradient("ZIIIIIIIIIIX")
    local v2, g2 = c:gradient_shift("ZIIIIIIIIIIX")
    assert.is_true(math.abs(v - v2) <= 1e-12)
    local worst = 0
    for name, d in pairs(g2) do worst = math.max(worst, math.abs(d - g[name])) end
    assert.is_true(worst <= 1e-10)
    -- vjp with dprobs = the eigenvalues of Z on qubit 0 is the gradient of <Z0>
    local dp = {}
    for x = 0, 2 ^ 12 - 1 do dp[x + 1] = x % 2 == 0 and 1 or -1 end
    local gz = select(2, c:gradient("ZIIIIIIIIIII"))
    local gv = c:vjp(dp)
    worst = 0
    for name, d in pairs(gz) do worst = math.max(worst, math.abs(d - gv[name])) end
    assert.is_true(worst <= 1e-12)
  end)

  it("re-plans when gates are added", function()
    local c = qnn.circuit(3):h(0):cx(0, 1)
    local b1 = c:stats().gates
    c:ry(2, 0.3):cx(1, 2)
    assert.are.equal(b1 + 2, c:stats().gates)
    local s1, s2 = qnn.state(3), qnn.state(3)
    c:run(s1, {fuse = false})
    c:run(s2, {fuse = true})
    assert.is_true(maxdiff(s1, s2, 3) <= 1e-12)
  end)

  it("rejects bad options", function()
    local c = qnn.circuit(2):h(0)
    assert.has_error(function() c:run(qnn.state(2), {fuse = 3}) end)
    assert.has_error(function() c:run(qnn.state(2), {fusion = true}) end)
    assert.has_error(function() c.compile(nil) end)
    assert.has_error(function() c.stats(42) end)
  end)
end)
