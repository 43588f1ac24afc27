-- qnn.anneal: annealing schedules for qnn.ising.sample / spectrum / min_gap.
--
-- Protocol (what the samplers read; write your own schedules against it):
--   t in [0, 1] is the fraction of the anneal done (sweep k of K: t = k/(K-1); Trotter step k
--   of S: t = (k - 1/2)/S, the step midpoint).
--   * A plain Lua function f(t):
--       - for sampler "sa": the inverse temperature beta(t) (finite, >= 0);
--       - for "sqa", "exact", spectrum and min_gap: the path s(t) in [0, 1], with the default
--         curves A(s) = 1 - s, B(s) = s.
--   * A table (or object) with any of these methods (called with ':' i.e. self first):
--       :s(t)    -> s in [0, 1]      (path; default s = t)
--       :A(s)    -> A >= 0           (transverse-field scale; default 1 - s)
--       :B(s)    -> B >= 0           (problem scale; default s)
--       :beta(t) -> beta >= 0        (sa only; required for a table given to "sa")
--   * For "sa" also an array {beta_1, ..., beta_sweeps} with exactly `sweeps` entries.
--   The samplers evaluate the schedule at every sweep/step BEFORE the C loop runs (the loop
--   never calls Lua), so NaN, s outside [0, 1], negative A/B/beta raise a clear error first.
--   The quantum Hamiltonian is H(s) = -A(s) sum_i X_i + B(s) H_P, H_P the Ising model.
local qnn = require "qnn"

local M = {}

local Schedule = {}
Schedule.__index = Schedule
Schedule.__qnntype = "Schedule"
Schedule.__call = function(self, t) return self:s(t) end
Schedule.__tostring = function(self) return "qnn.anneal schedule (" .. (self.kind or "custom") .. ")" end

function Schedule:s(t) return t end
function Schedule:A(s) return 1 - s end
function Schedule:B(s) return s end

local function num(name, v, lo, hi)
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    error(string.format("%s must be a finite number, got %s", name, tostring(v)), 3)
  end
  if (lo and v < lo) or (hi and v > hi) then
    error(string.format("%s must be in [%s, %s], got %s", name, tostring(lo or "-inf"),
      tostring(hi or "inf"), tostring(v)), 3)
  end
  return v
end

local function clamp01(x) if x < 0 then return 0 elseif x > 1 then return 1 end return x end

--- Wraps plain functions into a schedule: spec = {s = fn(t), A = fn(s), B = fn(s), beta = fn(t)}
-- (each optional; functions take just the value, no self).
function M.schedule(spec)
  if type(spec) ~= "table" then error("qnn.anneal.schedule: spec must be a table of functions", 2) end
  local o = setmetatable({kind = spec.kind or "custom"}, Schedule)
  for _, k in ipairs {"s", "A", "B", "beta"} do
    local f = spec[k]
    if f ~= nil then
      if type(f) ~= "function" then error("qnn.anneal.schedule: field '" .. k .. "' must be a function", 2) end
      o[k] = function(_, x) return f(x) end
    end
  end
  return o
end

--- s(t) = t, A = 1 - s, B = s.
function M.linear()
  return setmetatable({kind = "linear"}, Schedule)
end

--- s(t) = t^2 (slow start), A = 1 - s, B = s.
function M.quadratic()
  local o = setmetatable({kind = "quadratic"}, Schedule)
  function o:s(t) return t * t end
  return o
end

--- Linear ramp with a pause of fraction `dur` of the anneal at s = s_p.
function M.pause(s_p, dur)
  num("qnn.anneal.pause: s_p", s_p, 0, 1)
  num("qnn.anneal.pause: dur", dur, 0, 1)
  if dur >= 1 then error("qnn.anneal.pause: dur must be < 1", 2) end
  local o = setmetatable({kind = "pause", s_p = s_p, dur = dur}, Schedule)
  local r = 1 - dur            -- fraction of the anneal spent ramping
  local t1 = s_p * r           -- pause starts
  function o:s(t)
    if t <= t1 then return clamp01(t / r) end
    if t <= t1 + dur then return s_p end
    return clamp01((t - dur) / r)
  end
  return o
end

--- Reverse anneal: from s = 1 down to s_r, pause for fraction `dur` (default 0), back to 1.
-- Start it from a classical state (initial_state= option of qnn.ising.sample).
function M.reverse(s_r, dur)
  num("qnn.anneal.reverse: s_r", s_r, 0, 1)
  dur = dur or 0
  num("qnn.anneal.reverse: dur", dur, 0, 1)
  if dur >= 1 then error("qnn.anneal.reverse: dur must be < 1", 2) end
  local o = setmetatable({kind = "reverse", s_r = s_r, dur = dur}, Schedule)
  local half = (1 - dur) / 2
  function o:s(t)
    if t <= half then return clamp01(1 - (1 - s_r) * t / half) end
    if t <= half + dur then return s_r end
    return clamp01(s_r + (1 - s_r) * (t - half - dur) / half)
  end
  return o
end

-- linear interpolation in sorted xs
local function interp(xs, ys, x)
  local n = #xs
  if x <= xs[1] then return ys[1] end
  if x >= xs[n] then return ys[n] end
  local lo, hi = 1, n
  while hi - lo > 1 do
    local mid = (lo + hi) // 2
    if xs[mid] <= x then lo = mid else hi = mid end
  end
  local w = (x - xs[lo]) / (xs[hi] - xs[lo])
  return ys[lo] + w * (ys[hi] - ys[lo])
end

--- Annealer-style curves: tabular{s = {...}, A = {...}, B = {...} [, path = schedule or fn]}.
-- s strictly increasing in [0, 1]; A, B >= 0; linear interpolation, constant outside the table.
-- The path (default s = t) can also be set later with :with_path(p).
function M.tabular(spec)
  if type(spec) ~= "table" then error("qnn.anneal.tabular: expected a table {s=, A=, B=}", 2) end
  local s, A, B = spec.s, spec.A, spec.B
  if type(s) ~= "table" or type(A) ~= "table" or type(B) ~= "table" then
    error("qnn.anneal.tabular: s, A and B must be arrays of numbers", 2)
  end
  if #s < 2 or #A ~= #s or #B ~= #s then
    error(string.format("qnn.anneal.tabular: s, A, B must have the same length >= 2 (got %d, %d, %d)",
      #s, #A, #B), 2)
  end
  for i = 1, #s do
    num("qnn.anneal.tabular: s[" .. i .. "]", s[i], 0, 1)
    num("qnn.anneal.tabular: A[" .. i .. "]", A[i], 0)
    num("qnn.anneal.tabular: B[" .. i .. "]", B[i], 0)
    if i > 1 and s[i] <= s[i - 1] then error("qnn.anneal.tabular: s must be strictly increasing", 2) end
  end
  local cs, cA, cB = table.move(s, 1, #s, 1, {}), table.move(A, 1, #A, 1, {}), table.move(B, 1, #B, 1, {})
  local o = setmetatable({kind = "tabular", table_s = cs, table_A = cA, table_B = cB}, Schedule)
  function o:A(x) return interp(cs, cA, x) end
  function o:B(x) return interp(cs, cB, x) end
  if spec.path ~= nil then o:with_path(spec.path) end
  return o
end

--- Replaces the path s(t) of this schedule by p (a function t -> s or a schedule's s). Returns self.
function Schedule:with_path(p)
  if type(p) == "function" then
    self.s = function(_, t) return p(t) end
  elseif type(p) == "table" and p.s then
    self.s = function(_, t) return p:s(t) end
  else
    error("with_path: expected a function t -> s or a schedule", 2)
  end
  return self
end

--- Geometric inverse-temperature schedule for "sa": beta(t) = b0 (b1/b0)^t, b0, b1 > 0.
function M.geometric_beta(b0, b1)
  num("qnn.anneal.geometric_beta: b0", b0, 0)
  num("qnn.anneal.geometric_beta: b1", b1, 0)
  if b0 <= 0 or b1 <= 0 then error("qnn.anneal.geometric_beta: b0 and b1 must be > 0", 2) end
  local o = setmetatable({kind = "geometric_beta", b0 = b0, b1 = b1}, Schedule)
  local r = math.log(b1 / b0)
  function o:beta(t) return b0 * math.exp(r * t) end
  return o
end

--- Linear inverse-temperature schedule for "sa": beta(t) = b0 + (b1 - b0) t, b0, b1 >= 0.
function M.linear_beta(b0, b1)
  num("qnn.anneal.linear_beta: b0", b0, 0)
  num("qnn.anneal.linear_beta: b1", b1, 0)
  local o = setmetatable({kind = "linear_beta", b0 = b0, b1 = b1}, Schedule)
  function o:beta(t) return b0 + (b1 - b0) * t end
  return o
end

--- Samples a schedule at `points` evenly spaced t in [0, 1] exactly as the samplers do and
-- validates every value: returns {t=, s=, A=, B=} (or {t=, beta=} when kind == "beta").
local MAX_POINTS = 1000000 -- four Lua arrays of this length: ~100 MB, a few seconds
function M.sample(sched, points, kind)
  points = points or 101
  if math.type(points) ~= "integer" or points < 2 or points > MAX_POINTS then
    error(string.format("qnn.anneal.sample: points must be an integer in [2, %d], got %s",
                        MAX_POINTS, tostring(points)), 2)
  end
  if type(sched) ~= "function" and type(sched) ~= "table" then
    error("qnn.anneal.sample: schedule must be a function or a schedule table, got " .. type(sched), 2)
  end
  local out = {t = {}}
  local function call(name, x)
    local v
    if type(sched) == "function" then v = sched(x)
    else
      local f = sched[name]
      if f == nil then
        if name == "s" then v = x elseif name == "A" then v = 1 - x elseif name == "B" then v = x
        else error("qnn.anneal.sample: schedule has no '" .. name .. "' method", 3) end
      else v = f(sched, x) end
    end
    if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
      error(string.format("qnn.anneal.sample: schedule %s(%g) returned %s (must be a finite number)", name, x, tostring(v)), 3)
    end
    return v
  end
  if kind == "beta" then
    out.beta = {}
    for k = 1, points do
      local t = (k - 1) / (points - 1)
      out.t[k] = t
      local b = call("beta", t)
      if b < 0 then error(string.format("qnn.anneal.sample: beta(%g) = %g must be >= 0", t, b), 2) end
      out.beta[k] = b
    end
    return out
  end
  out.s, out.A, out.B = {}, {}, {}
  for k = 1, points do
    local t = (k - 1) / (points - 1)
    out.t[k] = t
    local s = type(sched) == "function" and sched(t) or call("s", t)
    if type(s) ~= "number" or s ~= s or s < 0 or s > 1 then
      error(string.format("qnn.anneal.sample: s(%g) = %s must be in [0, 1]", t, tostring(s)), 2)
    end
    local A = type(sched) == "function" and 1 - s or call("A", s)
    local B = type(sched) == "function" and s or call("B", s)
    if A < 0 then error(string.format("qnn.anneal.sample: A(%g) = %g must be >= 0", s, A), 2) end
    if B < 0 then error(string.format("qnn.anneal.sample: B(%g) = %g must be >= 0", s, B), 2) end
    out.s[k], out.A[k], out.B[k] = s, A, B
  end
  return out
end

M.Schedule = Schedule

local docs = {
  schedule = {"qnn.anneal.schedule{s=, A=, B=, beta=} -> Schedule",
    "Fields: plain functions s(t), A(s), B(s), beta(t) (each optional). Returns a schedule object."},
  linear = {"qnn.anneal.linear() -> Schedule", "s(t) = t, A(s) = 1 - s, B(s) = s."},
  quadratic = {"qnn.anneal.quadratic() -> Schedule", "s(t) = t^2, A(s) = 1 - s, B(s) = s."},
  pause = {"qnn.anneal.pause(s_p, dur) -> Schedule",
    "s_p in [0, 1], dur in [0, 1). Linear ramp that holds s = s_p for the fraction dur of the anneal."},
  reverse = {"qnn.anneal.reverse(s_r [, dur=0]) -> Schedule",
    "s_r in [0, 1], dur in [0, 1). s goes 1 -> s_r, holds for dur, returns to 1; use with initial_state=."},
  tabular = {"qnn.anneal.tabular{s={...}, A={...}, B={...} [, path=]} -> Schedule",
    "s strictly increasing in [0, 1]; A, B >= 0, same lengths >= 2. Linear interpolation of annealer curves."},
  geometric_beta = {"qnn.anneal.geometric_beta(b0, b1) -> Schedule",
    "b0, b1 > 0. For sampler \"sa\": beta(t) = b0 (b1/b0)^t."},
  linear_beta = {"qnn.anneal.linear_beta(b0, b1) -> Schedule",
    "b0, b1 >= 0. For sampler \"sa\": beta(t) = b0 + (b1 - b0) t."},
  sample = {"qnn.anneal.sample(schedule [, points=101 [, kind]]) -> {t=, s=, A=, B=} | {t=, beta=}",
    "points: integer in [2, 10^6]; kind: nil or \"beta\". Evaluates and validates a schedule (for plots)."},
}
for k, d in pairs(docs) do qnn.document(M[k], "qnn.anneal." .. k, d[1], d[2]) end
for _, k in ipairs {"s", "A", "B", "with_path"} do
  qnn.document(Schedule[k], "Schedule:" .. k, "Schedule:" .. k .. "(x)",
    k == "with_path" and "p: function t -> s or schedule. Replaces the path; returns self." or
    "Schedule protocol method (see qnn.help(qnn.anneal)).")
end

return M
