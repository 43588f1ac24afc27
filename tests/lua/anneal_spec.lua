-- qnn.anneal: schedule shapes, the sampling protocol and validation.
local qnn = require "qnn"
local an = qnn.anneal

local function near(a, b, tol) return math.abs(a - b) <= (tol or 1e-12) end

describe("qnn.anneal schedules", function()
  it("linear and quadratic", function()
    local l, q = an.linear(), an.quadratic()
    assert.is_true(near(l:s(0.3), 0.3) and near(l:A(0.3), 0.7) and near(l:B(0.3), 0.3))
    assert.is_true(near(q:s(0.5), 0.25))
    assert.is_true(near(l(0.4), 0.4)) -- callable as its path
    assert.are.equal("Schedule", qnn.type(l))
  end)

  it("pause holds s_p for the fraction dur", function()
    local p = an.pause(0.4, 0.2)
    assert.is_true(near(p:s(0), 0) and near(p:s(1), 1))
    assert.is_true(near(p:s(0.32), 0.4) and near(p:s(0.4), 0.4) and near(p:s(0.52), 0.4))
    assert.is_true(p:s(0.2) < 0.4 and p:s(0.6) > 0.4)
    -- monotone
    local prev = -1
    for k = 0, 100 do local v = p:s(k / 100); assert.is_true(v >= prev); prev = v end
  end)

  it("reverse goes 1 -> s_r -> 1", function()
    local r = an.reverse(0.3, 0.2)
    assert.is_true(near(r:s(0), 1) and near(r:s(1), 1))
    assert.is_true(near(r:s(0.5), 0.3) and near(r:s(0.4), 0.3))
    assert.is_true(r:s(0.2) > 0.3 and r:s(0.2) < 1)
  end)

  it("tabular interpolates linearly and takes a path", function()
    local t = an.tabular{s = {0, 0.5, 1}, A = {4, 1, 0}, B = {0, 1, 3}}
    assert.is_true(near(t:A(0.25), 2.5) and near(t:B(0.75), 2) and near(t:A(1), 0))
    assert.is_true(near(t:s(0.3), 0.3))
    t:with_path(an.quadratic())
    assert.is_true(near(t:s(0.5), 0.25))
    local t2 = an.tabular{s = {0, 1}, A = {1, 0}, B = {0, 1}, path = function(x) return x ^ 3 end}
    assert.is_true(near(t2:s(0.5), 0.125))
  end)

  it("geometric_beta and linear_beta", function()
    local g = an.geometric_beta(0.1, 10)
    assert.is_true(near(g:beta(0), 0.1) and near(g:beta(1), 10) and near(g:beta(0.5), 1))
    local l = an.linear_beta(0, 2)
    assert.is_true(near(l:beta(0.25), 0.5))
  end)

  it("sample() evaluates like the samplers and validates", function()
    local s = an.sample(an.linear(), 5)
    assert.are.same({0, 0.25, 0.5, 0.75, 1}, s.t)
    assert.is_true(near(s.A[2], 0.75))
    local b = an.sample(an.geometric_beta(1, 4), 3, "beta")
    assert.is_true(near(b.beta[2], 2))
    local f = an.sample(function(t) return t * t end, 3)
    assert.is_true(near(f.s[2], 0.25) and near(f.A[2], 0.75))
    assert.has_error(function() an.sample(function(t) return 2 * t end, 3) end)
    assert.has_error(function() an.sample(an.schedule{A = function() return -1 end}, 3) end)
    assert.has_error(function() an.sample(an.schedule{B = function() return 0 / 0 end}, 3) end)
    assert.has_error(function() an.sample(an.linear(), 1) end)
    assert.has_error(function() an.sample(an.linear(), 3, "beta") end)
  end)

  it("user schedules work in the samplers", function()
    local m = qnn.ising.model{n = 3, h = {0.5, 0, 0}, J = {{1, 2, -1}, {2, 3, -1}}}
    local custom = an.schedule{s = function(t) return math.sin(t * math.pi / 2) end}
    local r = qnn.ising.sample(m, {sampler = "exact", T = 30, steps = 300, schedule = custom})
    assert.is_true(r.p_ground > 0.5)
    local q = qnn.ising.sample(m, {sampler = "sqa", sweeps = 100, reads = 2, seed = 1, schedule = an.pause(0.5, 0.1)})
    assert.is_true(near(q[1].energy, m:ground_state().energy))
    local g = qnn.ising.min_gap(m, custom, {points = 5})
    assert.is_number(g.gap)
  end)

  it("constructors reject bad arguments", function()
    assert.has_error(function() an.pause(1.5, 0.1) end)
    assert.has_error(function() an.pause(0.5, 1) end)
    assert.has_error(function() an.reverse(-0.1) end)
    assert.has_error(function() an.reverse(0.5, 0 / 0) end)
    assert.has_error(function() an.tabular{s = {0, 1}, A = {1}, B = {0, 1}} end)
    assert.has_error(function() an.tabular{s = {0.5, 0.2}, A = {1, 1}, B = {0, 1}} end)
    assert.has_error(function() an.tabular{s = {0, 1}, A = {1, -1}, B = {0, 1}} end)
    assert.has_error(function() an.tabular(3) end)
    assert.has_error(function() an.geometric_beta(0, 1) end)
    assert.has_error(function() an.linear_beta(-1, 1) end)
    assert.has_error(function() an.schedule{s = 3} end)
    assert.has_error(function() an.linear():with_path(5) end)
  end)
end)
