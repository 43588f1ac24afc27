-- qnn.stats: the small statistics every results table needs: Student-t confidence intervals,
-- seeded percentile bootstrap, Spearman rank correlation, and the bootstrap interval of a fitted
-- log-log slope (scaling exponents). Pure Lua; every random draw comes from a seeded qnn.rng.
local qnn = require "qnn"
local M = {}
local function doc(fn, name, sig, text) qnn.document(fn, "qnn.stats." .. name, sig, text) return fn end

local function fail(fn, msg) error("qnn.stats." .. fn .. ": " .. msg, 3) end

local function check_list(fn, xs, what, min)
  if type(xs) ~= "table" then fail(fn, ("%s must be a list of numbers, got %s"):format(what, qnn.type(xs))) end
  if #xs < (min or 1) then fail(fn, ("%s needs at least %d values, got %d"):format(what, min or 1, #xs)) end
  for i = 1, #xs do
    local v = xs[i]
    if type(v) ~= "number" or v ~= v then
      fail(fn, ("%s[%d] must be a number (not NaN), got %s"):format(what, i, tostring(v)))
    end
  end
end

-- log of the gamma function (Lanczos, g = 7, 9 terms), for the incomplete beta
local LZ = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7}
local function lgamma(x)
  if x < 0.5 then return math.log(math.pi / math.abs(math.sin(math.pi * x))) - lgamma(1 - x) end
  x = x - 1
  local a = LZ[1]
  local t = x + 7.5
  for i = 1, 8 do a = a + LZ[i + 1] / (x + i) end
  return 0.5 * math.log(2 * math.pi) + (x + 0.5) * math.log(t) - t + math.log(a)
end

-- continued fraction of the regularised incomplete beta (modified Lentz)
local function betacf(a, b, x)
  local tiny = 1e-300
  local qab, qap, qam = a + b, a + 1, a - 1
  local c, d = 1, 1 - qab * x / qap
  if math.abs(d) < tiny then d = tiny end
  d = 1 / d
  local h = d
  for m = 1, 300 do
    local m2 = 2 * m
    local aa = m * (b - m) * x / ((qam + m2) * (a + m2))
    d = 1 + aa * d; if math.abs(d) < tiny then d = tiny end
    c = 1 + aa / c; if math.abs(c) < tiny then c = tiny end
    d = 1 / d; h = h * d * c
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
    d = 1 + aa * d; if math.abs(d) < tiny then d = tiny end
    c = 1 + aa / c; if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    local del = d * c
    h = h * del
    if math.abs(del - 1) < 1e-15 then break end
  end
  return h
end

local function ibeta(a, b, x)
  if x <= 0 then return 0 elseif x >= 1 then return 1 end
  local bt = math.exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * math.log(x) + b * math.log(1 - x))
  if x < (a + 1) / (a + b + 2) then return bt * betacf(a, b, x) / a end
  return 1 - bt * betacf(b, a, 1 - x) / b
end

--- Student-t CDF with df degrees of freedom.
function M.t_cdf(t, df)
  local x = df / (df + t * t)
  local p = 0.5 * ibeta(df / 2, 0.5, x)
  return t >= 0 and 1 - p or p
end
doc(M.t_cdf, "t_cdf", "qnn.stats.t_cdf(t, df) -> P(T <= t)", "Student-t cumulative distribution (incomplete beta).")

--- Student-t quantile: the t with P(T <= t) = p.
function M.t_quantile(p, df)
  if type(p) ~= "number" or not (p > 0 and p < 1) then fail("t_quantile", "p must be in (0, 1), got " .. tostring(p)) end
  if type(df) ~= "number" or not (df > 0) or df == math.huge then
    fail("t_quantile", "df must be a finite number > 0, got " .. tostring(df))
  end
  local lo, hi = -1e3, 1e3
  for _ = 1, 200 do
    local mid = 0.5 * (lo + hi)
    if M.t_cdf(mid, df) < p then lo = mid else hi = mid end
    if hi - lo < 1e-12 then break end
  end
  return 0.5 * (lo + hi)
end
doc(M.t_quantile, "t_quantile", "qnn.stats.t_quantile(p, df) -> t",
  "Student-t quantile by bisection on t_cdf (|t| < 1000); t_quantile(0.975, 4) = 2.776.")

--- mean, sample sd, n and the Student-t confidence interval of the mean.
function M.t_ci(xs, level)
  check_list("t_ci", xs, "values", 1)
  level = level or 0.95
  if type(level) ~= "number" or not (level > 0 and level < 1) then
    fail("t_ci", "level must be in (0, 1), got " .. tostring(level))
  end
  local n = #xs
  local s = 0
  for i = 1, n do s = s + xs[i] end
  local mean = s / n
  if n < 2 then return {mean = mean, sd = 0 / 0, n = n, lo = 0 / 0, hi = 0 / 0, half = 0 / 0, level = level} end
  local v = 0
  for i = 1, n do v = v + (xs[i] - mean) ^ 2 end
  local sd = math.sqrt(v / (n - 1))
  local half = M.t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
  return {mean = mean, sd = sd, n = n, lo = mean - half, hi = mean + half, half = half, level = level,
          method = "student-t"}
end
doc(M.t_ci, "t_ci", "qnn.stats.t_ci(values [, level=0.95]) -> {mean, sd, n, lo, hi, half, level, method}",
  "Mean, sample standard deviation (n - 1) and the Student-t confidence interval of the mean, " ..
  "mean +- t_{(1+level)/2, n-1} sd / sqrt(n). With one value sd, lo, hi and half are NaN.")

--- Percentile bootstrap of any statistic of a list.
function M.bootstrap(xs, stat, o)
  -- values may be anything stat understands (numbers, or e.g. {x, y} pairs)
  if type(xs) ~= "table" or #xs == 0 then fail("bootstrap", "values must be a non-empty list, got " .. qnn.type(xs)) end
  if type(stat) ~= "function" then fail("bootstrap", "stat must be a function(list) -> number, got " .. qnn.type(stat)) end
  o = o or {}
  local B = o.resamples or 2000
  if math.type(B) ~= "integer" or B < 10 or B > 1000000 then
    fail("bootstrap", "resamples must be an integer in [10, 1000000], got " .. tostring(B))
  end
  local level = o.level or 0.95
  if type(level) ~= "number" or not (level > 0 and level < 1) then
    fail("bootstrap", "level must be in (0, 1), got " .. tostring(level))
  end
  local rng = o.rng or qnn.rng(o.seed or 1)
  local n = #xs
  local vals = {}
  local sample = {}
  for _ = 1, B do
    for i = 1, n do sample[i] = xs[rng:int(1, n)] end
    local v = stat(sample)
    if type(v) == "number" and v == v then vals[#vals + 1] = v end
  end
  table.sort(vals)
  local m = #vals
  if m == 0 then return {estimate = stat(xs), lo = 0 / 0, hi = 0 / 0, resamples = B, valid = 0, level = level} end
  local function q(p) -- linear interpolation between order statistics
    local h = (m - 1) * p + 1
    local lo = math.floor(h)
    local hi = math.min(lo + 1, m)
    return vals[lo] + (h - lo) * (vals[hi] - vals[lo])
  end
  return {estimate = stat(xs), lo = q((1 - level) / 2), hi = q((1 + level) / 2), resamples = B, valid = m,
          level = level, method = "percentile bootstrap"}
end
doc(M.bootstrap, "bootstrap",
  "qnn.stats.bootstrap(values, stat [, {resamples=2000, level=0.95, seed=1 | rng=}]) -> {estimate, lo, hi, resamples, valid, level, method}",
  "Percentile bootstrap: resamples the list with replacement (seeded), applies stat(list) -> number to each " ..
  "resample (NaN results are dropped, 'valid' counts the rest) and returns the (1-level)/2 and (1+level)/2 " ..
  "quantiles (linear interpolation between order statistics) beside stat(values). qnn.sweep.bootstrap is the same.")

local function ranks(xs)
  local idx = {}
  for i = 1, #xs do idx[i] = i end
  table.sort(idx, function(a, b) return xs[a] < xs[b] end)
  local r = {}
  local i = 1
  while i <= #idx do
    local j = i
    while j < #idx and xs[idx[j + 1]] == xs[idx[i]] do j = j + 1 end
    local avg = (i + j) / 2
    for k = i, j do r[idx[k]] = avg end
    i = j + 1
  end
  return r
end

local function pearson(x, y)
  local n = #x
  local mx, my = 0, 0
  for i = 1, n do mx = mx + x[i]; my = my + y[i] end
  mx, my = mx / n, my / n
  local sxy, sxx, syy = 0, 0, 0
  for i = 1, n do
    sxy = sxy + (x[i] - mx) * (y[i] - my)
    sxx = sxx + (x[i] - mx) ^ 2
    syy = syy + (y[i] - my) ^ 2
  end
  if sxx == 0 or syy == 0 then return 0 / 0 end
  return sxy / math.sqrt(sxx * syy)
end

--- Spearman rank correlation (ties get average ranks).
function M.spearman(x, y)
  check_list("spearman", x, "x", 2)
  check_list("spearman", y, "y", 2)
  if #x ~= #y then fail("spearman", ("x and y must have the same length, got %d and %d"):format(#x, #y)) end
  local rho = pearson(ranks(x), ranks(y))
  local n = #x
  local p = 0 / 0
  if n > 2 and rho == rho and math.abs(rho) < 1 then
    local t = rho * math.sqrt((n - 2) / (1 - rho * rho))
    p = 2 * (1 - M.t_cdf(math.abs(t), n - 2))
  elseif n > 2 and rho == rho then
    p = 0
  end
  return rho, p
end
doc(M.spearman, "spearman", "qnn.stats.spearman(x, y) -> rho, p",
  "Spearman rank correlation of two equal-length lists (average ranks for ties) and its two-sided p-value " ..
  "from the t approximation t = rho sqrt((n-2)/(1-rho^2)), n - 2 degrees of freedom. rho is NaN when a list is constant.")

--- Least-squares slope of log y on log x, with a bootstrap interval over the (x, y) pairs.
function M.loglog_slope(xs, ys, o)
  check_list("loglog_slope", xs, "x", 2)
  check_list("loglog_slope", ys, "y", 2)
  if #xs ~= #ys then fail("loglog_slope", ("x and y must have the same length, got %d and %d"):format(#xs, #ys)) end
  local lx, ly = {}, {}
  for i = 1, #xs do
    if not (xs[i] > 0 and ys[i] > 0) then
      fail("loglog_slope", ("x[%d] and y[%d] must be > 0, got %s and %s"):format(i, i, tostring(xs[i]), tostring(ys[i])))
    end
    lx[i], ly[i] = math.log(xs[i]), math.log(ys[i])
  end
  local function fit(idx)
    local n = #idx
    local mx, my = 0, 0
    for _, i in ipairs(idx) do mx = mx + lx[i]; my = my + ly[i] end
    mx, my = mx / n, my / n
    local sxy, sxx, syy = 0, 0, 0
    for _, i in ipairs(idx) do
      sxy = sxy + (lx[i] - mx) * (ly[i] - my)
      sxx = sxx + (lx[i] - mx) ^ 2
      syy = syy + (ly[i] - my) ^ 2
    end
    if sxx == 0 then return 0 / 0, 0 / 0 end
    local b = sxy / sxx
    local r2 = syy > 0 and (sxy * sxy) / (sxx * syy) or 1
    return b, r2
  end
  local all = {}
  for i = 1, #xs do all[i] = i end
  local slope, r2 = fit(all)
  local bo = {}
  for k, v in pairs(o or {}) do if k ~= "groups" then bo[k] = v end end
  local groups = o and o.groups
  if groups == nil then
    local bs = M.bootstrap(all, function(s) return (fit(s)) end, bo)
    return {slope = slope, r2 = r2, lo = bs.lo, hi = bs.hi, level = bs.level, resamples = bs.resamples,
            n = #xs, method = "least squares on log-log, percentile bootstrap over points"}
  end
  -- cluster bootstrap: resample whole groups (e.g. the seed runs), keep each group's points together
  if type(groups) ~= "table" or #groups ~= #xs then
    fail("loglog_slope", ("groups must be a list with one entry per point (%d), got %s"):format(#xs,
      type(groups) == "table" and tostring(#groups) .. " entries" or qnn.type(groups)))
  end
  local members, order = {}, {}
  for i = 1, #xs do
    local g = groups[i]
    if g == nil or g ~= g then fail("loglog_slope", ("groups[%d] must not be nil or NaN"):format(i)) end
    if not members[g] then members[g] = {}; order[#order + 1] = g end
    local m = members[g]
    m[#m + 1] = i
  end
  if #order < 2 then fail("loglog_slope", "groups needs at least 2 distinct groups, got " .. #order) end
  local lists = {}
  for k, g in ipairs(order) do lists[k] = members[g] end
  local bs = M.bootstrap(lists, function(sample)
    local idx = {}
    for _, l in ipairs(sample) do for _, i in ipairs(l) do idx[#idx + 1] = i end end
    return (fit(idx))
  end, bo)
  return {slope = slope, r2 = r2, lo = bs.lo, hi = bs.hi, level = bs.level, resamples = bs.resamples,
          n = #xs, groups = #order, method = "least squares on log-log, percentile bootstrap over groups (whole runs)"}
end
doc(M.loglog_slope, "loglog_slope",
  "qnn.stats.loglog_slope(x, y [, {groups=, resamples=2000, level=0.95, seed=1 | rng=}]) -> {slope, r2, lo, hi, level, resamples, n, groups, method}",
  "Least-squares slope of log y against log x (a power-law exponent is -slope for a falling curve), r^2 of the fit, " ..
  "and a percentile bootstrap interval of the slope (seeded, see qnn.stats.bootstrap). Without groups the " ..
  "bootstrap resamples the (x, y) pairs. groups = {g_1, ..., g_n} (one label per point, e.g. the seed of the run " ..
  "the point comes from) fits all points at once and resamples whole groups with replacement (cluster bootstrap: " ..
  "points of one run are not independent, so this is the interval to quote across runs); needs >= 2 groups.")

return M
