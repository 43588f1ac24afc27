-- qnn.stats: t intervals, bootstrap, Spearman, log-log slopes against textbook values.
local qnn = require "qnn"
local S = qnn.stats

describe("qnn.stats", function()
  it("t quantiles match the tables", function()
    assert.is_true(math.abs(S.t_quantile(0.975, 1) - 12.7062) < 1e-3)
    assert.is_true(math.abs(S.t_quantile(0.975, 4) - 2.7764) < 1e-3)
    assert.is_true(math.abs(S.t_quantile(0.975, 30) - 2.0423) < 1e-3)
    assert.is_true(math.abs(S.t_quantile(0.95, 10) - 1.8125) < 1e-3)
    assert.is_true(math.abs(S.t_cdf(0, 3) - 0.5) < 1e-12)
  end)

  it("t_ci of five values", function()
    local r = S.t_ci{1, 2, 3, 4, 5}
    assert.are.equal(3, r.mean)
    assert.is_true(math.abs(r.sd - math.sqrt(2.5)) < 1e-12)
    assert.is_true(math.abs(r.half - 2.7764 * math.sqrt(2.5) / math.sqrt(5)) < 1e-3)
    assert.are.equal(5, r.n)
    local one = S.t_ci{7}
    assert.are.equal(7, one.mean)
    assert.is_true(one.lo ~= one.lo)
  end)

  it("bootstrap is seeded and brackets the mean", function()
    local xs = {}
    for i = 1, 50 do xs[i] = i end
    local mean = function(s) local t = 0 for i = 1, #s do t = t + s[i] end return t / #s end
    local a = S.bootstrap(xs, mean, {seed = 3})
    local b = S.bootstrap(xs, mean, {seed = 3})
    assert.are.equal(a.lo, b.lo)
    assert.are.equal(a.hi, b.hi)
    assert.is_true(a.lo < 25.5 and a.hi > 25.5)
    -- about mean +- 1.96 * sd / sqrt(n) = 25.5 +- 4.0
    assert.is_true(a.hi - a.lo > 6 and a.hi - a.lo < 10)
  end)

  it("spearman: monotone = 1, reversed = -1, ties averaged", function()
    assert.are.equal(1, (S.spearman({1, 2, 3, 4}, {10, 20, 30, 1000})))
    assert.are.equal(-1, (S.spearman({1, 2, 3, 4}, {4, 3, 2, 1})))
    -- textbook example with ties: x = {1,2,2,3}, y = {1,3,2,4}: ranks x = {1,2.5,2.5,4}
    local rho = S.spearman({1, 2, 2, 3}, {1, 3, 2, 4})
    assert.is_true(math.abs(rho - 0.9486832980505138) < 1e-12)
  end)

  it("loglog_slope recovers a power law", function()
    local x, y = {}, {}
    for i = 1, 10 do x[i] = i; y[i] = 3 * i ^ -0.75 end
    local r = S.loglog_slope(x, y, {seed = 1, resamples = 200})
    assert.is_true(math.abs(r.slope + 0.75) < 1e-12)
    assert.is_true(math.abs(r.lo + 0.75) < 1e-9 and math.abs(r.hi + 0.75) < 1e-9)
    assert.is_true(math.abs(r.r2 - 1) < 1e-12)
  end)

  it("refuses bad input by name", function()
    assert.error_matches(function() S.t_ci{} end, "values needs at least 1")
    assert.error_matches(function() S.t_ci({1, 0 / 0}) end, "values%[2%]")
    assert.error_matches(function() S.t_ci({1, 2}, 2) end, "level must be in")
    assert.error_matches(function() S.t_quantile(1, 3) end, "p must be in")
    assert.error_matches(function() S.spearman({1, 2}, {1, 2, 3}) end, "same length")
    assert.error_matches(function() S.bootstrap({1}, 3) end, "stat must be a function")
    assert.error_matches(function() S.bootstrap({1}, function() return 1 end, {resamples = 5}) end, "resamples")
    assert.error_matches(function() S.loglog_slope({1, 2}, {1, -1}) end, "must be > 0")
  end)
end)
