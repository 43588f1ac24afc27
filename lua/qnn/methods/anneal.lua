-- qnn.anneal (also qnn.methods.anneal): the Lua half of method 2, quantum-annealing training
-- (arXiv 2506.05244): annealing schedules (first part) and the trainer behind
-- qnn.optim.anneal (second part).
--
-- Method 2 (arXiv 2506.05244, our reading of its abstract): annealing-based training of Ising
-- networks, the Lua half of qnn.optim.anneal. The hot loop (free and nudged phases with any
-- sampler, correlations, updates) is C: IsingNet:epoch / :train_batch / :predict_anneal
-- (src/lua/anneal_train.c, src/core/anneal_train.c). This file turns options and schedules
-- into arrays, builds active blocks (layer-wise / block mode), runs epochs, evaluates both
-- read-outs and keeps the cost model.
--
-- ======== part 1: annealing schedules ========
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
function M.sample(sched, points, kind)
  points = points or 101
  if math.type(points) ~= "integer" or points < 2 then error("qnn.anneal.sample: points must be an integer >= 2", 2) end
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
    "Fields: plain functions s(t), A(s), B(s), beta(t) (each optional). Returns a schedule object.\n" ..
    "Schedule protocol (what the samplers and qnn.optim.anneal read; write your own against it):\n" ..
    "t in [0, 1] is the fraction of the anneal done (sweep k of K: t = k/(K-1); Trotter step k of S:\n" ..
    "t = (k - 1/2)/S). A plain function f(t) is beta(t) >= 0 for sampler \"sa\", else the path s(t) in\n" ..
    "[0, 1] with A(s) = 1 - s, B(s) = s. A table may define :s(t) -> [0, 1], :A(s) -> >= 0,\n" ..
    ":B(s) -> >= 0 and (sa only) :beta(t) -> >= 0; for \"sa\" also an array of `sweeps` betas.\n" ..
    "Every value is sampled and checked before the C loop runs; H(s) = -A(s) sum_i X_i + B(s) H_P."},
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
    "points: integer >= 2; kind: nil or \"beta\". Evaluates and validates a schedule (for plots)."},
}
for k, d in pairs(docs) do qnn.document(M[k], "qnn.anneal." .. k, d[1], d[2]) end
for _, k in ipairs {"s", "A", "B", "with_path"} do
  qnn.document(Schedule[k], "Schedule:" .. k, "Schedule:" .. k .. "(x)",
    k == "with_path" and "p: function t -> s or schedule. Replaces the path; returns self." or
    "Schedule protocol method (see help(qnn.anneal.schedule)).")
end


-- ======== part 2: the trainer behind qnn.optim.anneal ========

local FN = "qnn.optim.anneal"

local function fail(msg, ...)
  error(FN .. ": " .. string.format(msg, ...), 3)
end

local KEYS = {
  sizes = true, net = true, init = true, scale = true, sampler = true, free = true, nudged = true,
  reads = true, sweeps = true, schedule = true, nudge = true, eta = true, batch = true,
  shuffle = true, weighting = true, settle = true, l2 = true, mode = true, layers = true,
  block = true, blocks = true, readout = true, seed = true, passes = true, per_batch = true, pick = true,
  random_blocks = true,
}
local SAMPLER_KEYS = {
  sampler = true, reads = true, sweeps = true, steps = true, schedule = true, betas = true,
  beta_range = true, A = true, B = true, slices = true, gamma = true, beta = true, T = true,
  lambda = true, budget = true, best_of_slices = true, control_noise = true,
}
local SAMPLERS = {sa = true, sqa = true, exact = true, grover = true}

local function int_opt(v, name, lo, hi, def)
  if v == nil then return def end
  if math.type(v) ~= "integer" or v < lo or v > hi then
    fail("option '%s' must be an integer in [%d, %d], got %s", name, lo, hi, tostring(v))
  end
  return v
end

local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end

-- value of schedule `name` at x (function / table with methods / defaults)
local function sched_value(sched, name, x)
  local v
  if type(sched) == "function" then v = sched(x)
  else
    local f = sched[name]
    if f == nil then
      if name == "s" then v = x elseif name == "A" then v = 1 - x elseif name == "B" then v = x
      else fail("the schedule has no '%s' method", name) end
    else v = f(sched, x) end
  end
  if not finite(v) then fail("schedule %s(%g) returned %s (must be a finite number)", name, x, tostring(v)) end
  return v
end

--- Turns a sampler spec into the table the C side reads: schedules sampled into arrays
-- (sa: betas at t = k/(K-1); sqa: A, B at t = k/(K-1); exact: A, B at step midpoints).
function M.sampler_table(spec, defaults)
  if type(spec) == "string" then spec = {sampler = spec} end
  if spec ~= nil and type(spec) ~= "table" then fail("sampler must be a name or a table, got %s", type(spec)) end
  local s = {}
  for k, v in pairs(defaults or {}) do s[k] = v end
  if spec and (spec.sampler or spec.sweeps or spec.steps or spec.schedule) then
    s.betas, s.A, s.B = nil, nil, nil -- arrays sampled for other sweeps/steps
  end
  for k, v in pairs(spec or {}) do
    if not SAMPLER_KEYS[k] then fail("unknown sampler option '%s'", tostring(k)) end
    s[k] = v
  end
  s.sampler = s.sampler or "sa"
  if not SAMPLERS[s.sampler] then
    fail("unknown sampler '%s' (allowed: sa, sqa, exact, grover)", tostring(s.sampler))
  end
  local sched = s.schedule
  s.schedule = nil
  if sched ~= nil then
    if type(sched) ~= "function" and type(sched) ~= "table" then fail("schedule must be a function or a table") end
    if s.sampler == "sa" then
      local K = int_opt(s.sweeps, "sweeps", 1, 1 << 26, 100)
      local b = {}
      if type(sched) == "table" and sched.beta == nil and #sched > 0 then
        if #sched ~= K then fail("a beta array must have exactly sweeps (%d) entries, got %d", K, #sched) end
        for k = 1, K do b[k] = sched[k] end
      else
        for k = 1, K do
          local t = K > 1 and (k - 1) / (K - 1) or 1
          b[k] = sched_value(sched, "beta", t)
          if b[k] < 0 then fail("beta(%g) = %g must be >= 0", t, b[k]) end
        end
      end
      s.betas = b
    elseif s.sampler == "sqa" or s.sampler == "exact" then
      if type(sched) == "table" and sched.beta ~= nil and sched.s == nil and sched.A == nil then
        fail("a beta schedule is for sa; %s needs a path s(t) or :A/:B curves", s.sampler)
      end
      local K = s.sampler == "exact" and int_opt(s.steps, "steps", 1, 1 << 26, 100)
        or int_opt(s.sweeps, "sweeps", 1, 1 << 26, 100)
      local A, B = {}, {}
      for k = 1, K do
        local t = s.sampler == "exact" and (k - 0.5) / K or (K > 1 and (k - 1) / (K - 1) or 1)
        local x = type(sched) == "function" and sched(t) or sched_value(sched, "s", t)
        if not finite(x) or x < 0 or x > 1 then fail("schedule s(%g) = %s must be in [0, 1]", t, tostring(x)) end
        A[k] = type(sched) == "function" and 1 - x or sched_value(sched, "A", x)
        B[k] = type(sched) == "function" and x or sched_value(sched, "B", x)
        if A[k] < 0 or B[k] < 0 then fail("schedule A(%g), B(%g) must be >= 0", x, x) end
      end
      s.A, s.B = A, B
    end
  end
  return s
end

-- spin layers in sizes numbering (2..L) -> list of global spin indices
local function layer_spins(net, layers)
  local L = #net:sizes()
  local out = {}
  for _, l in ipairs(layers) do
    if math.type(l) ~= "integer" or l < 2 or l > L then
      fail("layer %s must be a spin layer in [2, %d] (layer 1 is the input)", tostring(l), L)
    end
    local a, b = net:layer_spins(l)
    for g = a, b do out[#out + 1] = g end
  end
  return out
end

--- Active blocks for mode "layers" / "block" (nil = whole net).
function M.make_blocks(net, opts)
  local mode = opts.mode or (opts.blocks and "blocks") or (opts.block and "block") or (opts.layers and "layers") or "full"
  if mode == "full" then return nil, mode end
  local sizes = net:sizes()
  if mode == "layers" then
    local ly = opts.layers
    if ly == nil then ly = {} for l = 2, #sizes do ly[#ly + 1] = {l} end end
    if type(ly) ~= "table" or #ly == 0 then fail("option 'layers' must be a list of layer indices or of lists") end
    if type(ly[1]) == "number" then ly = {ly} end
    local blocks = {}
    for i, set in ipairs(ly) do
      if type(set) ~= "table" then fail("layers[%d] must be a list of layer indices", i) end
      blocks[i] = layer_spins(net, set)
    end
    return blocks, mode
  elseif mode == "block" or mode == "coordinate" then
    local k = int_opt(opts.block, "block", 1, 1 << 20, 16)
    local blocks = {}
    for l = 2, #sizes do
      local a, b = net:layer_spins(l)
      local n = b - a + 1
      local nb = (n + k - 1) // k
      for j = 0, nb - 1 do
        local lo = a + (j * n) // nb
        local hi = a + ((j + 1) * n) // nb - 1
        local blk = {}
        for g = lo, hi do blk[#blk + 1] = g end
        blocks[#blocks + 1] = blk
      end
    end
    return blocks, mode
  elseif mode == "blocks" then
    if type(opts.blocks) ~= "table" or #opts.blocks == 0 then fail("option 'blocks' must be a non-empty list of spin lists") end
    return opts.blocks, mode
  end
  fail("option 'mode' must be \"full\", \"layers\", \"block\", \"blocks\" or \"coordinate\", got %s", tostring(mode))
end

local Trainer = {}
Trainer.__index = Trainer
Trainer.__qnntype = "AnnealTrainer"
Trainer.__tostring = function(self)
  return string.format("qnn.AnnealTrainer(%s, %s sampler, mode %s, %d epochs done)", tostring(self.net),
    self.free.sampler, self.mode, self.epochs_done)
end

--- qnn.optim.anneal{...} -> AnnealTrainer
function M.new(opts)
  if type(opts) ~= "table" then fail("expected an option table") end
  local bad = qnn.opts.unknown(opts, KEYS)
  if bad then fail("%s", bad) end
  local self = setmetatable({}, Trainer)
  if opts.seed ~= nil and math.type(opts.seed) ~= "integer" then fail("option 'seed' must be an integer") end
  self.seed = opts.seed or 1
  self.rng = qnn.rng(self.seed)
  if opts.net ~= nil then
    if qnn.type(opts.net) ~= "IsingNet" then fail("option 'net' must be an IsingNet, got %s", qnn.type(opts.net)) end
    self.net = opts.net
  else
    if type(opts.sizes) ~= "table" then fail("option 'sizes' {in, hidden..., out} (or net=) is required") end
    self.net = qnn.optim.ising_net{sizes = opts.sizes, init = opts.init, scale = opts.scale, seed = self.seed}
  end
  -- samplers: `sampler` (name or table) for both phases; free=/nudged= override; reads/sweeps/
  -- schedule shortcuts
  local base = opts.sampler
  if type(base) == "string" then base = {sampler = base} end
  if base ~= nil and type(base) ~= "table" then fail("option 'sampler' must be a name or a table") end
  local shared = {}
  for k, v in pairs(base or {}) do shared[k] = v end
  if opts.reads ~= nil then shared.reads = opts.reads end
  if opts.sweeps ~= nil then shared.sweeps = opts.sweeps end
  if opts.schedule ~= nil then shared.schedule = opts.schedule end
  self.free = M.sampler_table(opts.free, shared)
  self.nudged = M.sampler_table(opts.nudged, shared)
  self.readout_sampler = M.sampler_table(opts.readout, self.free)
  -- training options
  local nudge = opts.nudge
  if nudge == nil then nudge = "strong" end
  if nudge ~= "strong" and not (finite(nudge) and nudge > 0) then
    fail("option 'nudge' must be \"strong\" or a finite number > 0, got %s", tostring(nudge))
  end
  self.nudge = nudge
  local eta = opts.eta
  if eta == nil then eta = 0.05 end
  if type(eta) ~= "function" and not (finite(eta) and eta >= 0) then
    fail("option 'eta' must be a finite number >= 0 or a function(epoch) -> number, got %s", tostring(eta))
  end
  self.eta = eta
  self.batch = int_opt(opts.batch, "batch", 1, 1 << 30, 16)
  self.shuffle = opts.shuffle ~= false
  self.weighting = opts.weighting or "counts"
  if self.weighting ~= "counts" and self.weighting ~= "lowest" then
    fail("option 'weighting' must be \"counts\" or \"lowest\", got %s", tostring(self.weighting))
  end
  self.settle = int_opt(opts.settle, "settle", 0, 1000, 2)
  self.l2 = opts.l2 or 0
  if not (finite(self.l2) and self.l2 >= 0) then fail("option 'l2' must be a finite number >= 0") end
  self.passes = int_opt(opts.passes, "passes", 1, 1000, 1)
  self.pick = opts.pick or "best"
  if self.pick ~= "best" and self.pick ~= "sample" then
    fail("option 'pick' must be \"best\" or \"sample\", got %s", tostring(self.pick))
  end
  self.random_blocks = opts.random_blocks == true
  self.blocks, self.mode = M.make_blocks(self.net, opts)
  if self.mode == "coordinate" then
    -- block-coordinate phases: every anneal covers one block, every update all parameters
    self.coordinate, self.blocks = self.blocks, nil
  end
  if opts.per_batch == "all" then self.per_batch = self.blocks and #self.blocks or 1
  else self.per_batch = int_opt(opts.per_batch, "per_batch", 1, 1 << 20, 1) end
  -- exact/grover need <= 16 spins per anneal
  local function check_small(s, what)
    if s.sampler ~= "exact" and s.sampler ~= "grover" then return end
    local biggest = self.net:nspins()
    local bl = self.blocks or self.coordinate
    if bl then
      biggest = 0
      for _, b in ipairs(bl) do if #b > biggest then biggest = #b end end
    end
    if biggest > 16 then
      fail("the %s sampler (%s phase) anneals at most 16 spins at a time, but %s has %d; use " ..
        "mode=\"coordinate\" or \"block\" with block <= 16", s.sampler, what, bl and "a block" or "the net", biggest)
    end
  end
  check_small(self.free, "free")
  check_small(self.nudged, "nudged")
  self.cursor = 0
  self.epochs_done = 0
  self.cost = {spins = self.net:nspins(), couplings = select(2, self.net:nparams()),
    parameters = (self.net:nparams()), sampler_calls = 0, sweeps = 0, flip_attempts = 0,
    queries = 0, exact_steps = 0, settle_attempts = 0, samples = 0, time = 0}
  return self
end

local function epoch_options(self, epoch)
  local eta = self.eta
  if type(eta) == "function" then
    eta = eta(epoch)
    if not (finite(eta) and eta >= 0) then
      fail("the eta schedule returned %s at epoch %d (must be a finite number >= 0)", tostring(eta), epoch)
    end
  end
  return {
    free = self.free, nudged = self.nudged, nudge = self.nudge, weighting = self.weighting,
    settle = self.settle, l2 = self.l2, batch = self.batch, shuffle = self.shuffle, eta = eta,
    blocks = self.blocks, per_batch = self.per_batch, cursor = self.cursor, rng = self.rng,
    coordinate = self.coordinate, coord_passes = self.coordinate and self.passes or nil,
    coord_pick = self.coordinate and self.pick or nil, coord_random = self.random_blocks,
    progress = false,
  }, eta
end

local function unpack_data(d, what)
  if type(d) ~= "table" and type(d) ~= "userdata" then fail("%s must be a Dataset or {X=, y=}", what) end
  local X, y = d.X, d.y
  if X == nil or y == nil then fail("%s needs fields X and y", what) end
  if qnn.type(X) ~= "Tensor" then X = qnn.tensor(X) end
  return X, y
end

local function error_rate(pred, y)
  local bad = 0
  for i = 1, #pred do if pred[i] ~= y[i] then bad = bad + 1 end end
  return bad / #pred
end

--- Trainer:fit(train, {epochs=10, test=, on_epoch=, anneal_eval=false, progress=true}) -> history
function Trainer:fit(train, opts)
  opts = opts or {}
  if type(opts) ~= "table" then fail("fit: options must be a table") end
  local allowed = {epochs = true, test = true, on_epoch = true, anneal_eval = true, progress = true, label = true}
  for k in pairs(opts) do if not allowed[k] then fail("fit: unknown option '%s'", tostring(k)) end end
  local X, y = unpack_data(train, "train")
  local tX, ty
  if opts.test ~= nil then tX, ty = unpack_data(opts.test, "test") end
  local epochs = int_opt(opts.epochs, "epochs", 1, 1 << 30, 10)
  if opts.on_epoch ~= nil and type(opts.on_epoch) ~= "function" then fail("fit: on_epoch must be a function") end
  local h = {epoch = {}, eta = {}, train_free_error = {}, train_error = {}, test_error = {},
    test_error_anneal = {}, sweeps = {}, flip_attempts = {}, queries = {}, exact_steps = {},
    sampler_calls = {}, time = {}, gap = {}, epochs = 0, cost = self.cost}
  local bar <close> = qnn.progress.run{label = opts.label or "anneal fit", total = epochs, unit = "epoch",
                                       quiet = opts.progress == false}
  local c = self.cost
  for e = 1, epochs do
    qnn.check_interrupt()
    local eo, eta = epoch_options(self, self.epochs_done + 1)
    local st = self.net:epoch(X, y, eo)
    self.cursor = st.cursor
    self.epochs_done = self.epochs_done + 1
    c.sampler_calls = c.sampler_calls + st.sampler_calls
    c.sweeps = c.sweeps + st.sweeps
    c.flip_attempts = c.flip_attempts + st.flip_attempts
    c.queries = c.queries + st.queries
    c.exact_steps = c.exact_steps + st.exact_steps
    c.settle_attempts = c.settle_attempts + st.settle_attempts
    c.samples = c.samples + st.samples
    c.time = c.time + st.time
    h.epoch[e], h.eta[e] = self.epochs_done, eta
    h.train_free_error[e] = st.free_errors / st.samples
    h.gap[e] = st.gap / st.samples
    h.train_error[e] = error_rate((self.net:feedforward(X)), y)
    local rec = {epoch = self.epochs_done, eta = eta, train_free_error = h.train_free_error[e],
      train_error = h.train_error[e], gap = h.gap[e]}
    if tX then
      h.test_error[e] = error_rate((self.net:feedforward(tX)), ty)
      rec.test_error = h.test_error[e]
      if opts.anneal_eval then
        h.test_error_anneal[e] = error_rate((self:predict(tX, {readout = "anneal"})), ty)
        rec.test_error_anneal = h.test_error_anneal[e]
      end
    end
    h.sweeps[e], h.flip_attempts[e], h.queries[e] = c.sweeps, c.flip_attempts, c.queries
    h.exact_steps[e], h.sampler_calls[e], h.time[e] = c.exact_steps, c.sampler_calls, c.time
    rec.sweeps, rec.flip_attempts, rec.queries, rec.time = c.sweeps, c.flip_attempts, c.queries, c.time
    h.epochs = e
    bar:update(e)
    if opts.on_epoch and opts.on_epoch(e, rec, self) == true then break end
  end
  if h.epochs > 0 then
    bar:finish(string.format("%d epochs, train error %.4f%s", h.epochs, h.train_error[h.epochs],
      h.test_error[h.epochs] and string.format(", test error %.4f", h.test_error[h.epochs]) or ""))
  end
  return h
end

--- Trainer:predict(X, {readout="feedforward"|"anneal", seed=}) -> labels, scores
function Trainer:predict(X, opts)
  opts = opts or {}
  if type(opts) ~= "table" then fail("predict: options must be a table") end
  for k in pairs(opts) do
    if k ~= "readout" and k ~= "seed" and k ~= "sampler" then fail("predict: unknown option '%s'", tostring(k)) end
  end
  if qnn.type(X) ~= "Tensor" then X = qnn.tensor(X) end
  local ro = opts.readout or "feedforward"
  if ro == "feedforward" then return self.net:feedforward(X) end
  if ro ~= "anneal" then fail("predict: readout must be \"feedforward\" or \"anneal\", got %s", tostring(ro)) end
  local s = opts.sampler and M.sampler_table(opts.sampler, self.readout_sampler) or self.readout_sampler
  local po = {}
  for k, v in pairs(s) do po[k] = v end
  po.seed = opts.seed or self.seed
  local small = s.sampler == "exact" or s.sampler == "grover"
  if self.blocks or self.coordinate or (small and self.net:nspins() > 16) then
    po.blocks = self.coordinate or self.blocks or M.make_blocks(self.net, {mode = "block", block = 16})
    po.passes = self.passes
  end
  local lab, sc = self.net:predict_anneal(X, po)
  return lab, sc
end

--- Trainer:evaluate(data, {readout=}) -> error rate
function Trainer:evaluate(data, opts)
  local X, y = unpack_data(data, "data")
  return error_rate((self:predict(X, opts)), y)
end

M.Trainer = Trainer

qnn.document(M.new, "qnn.anneal.new",
  "qnn.optim.anneal{sizes={in, hidden..., out} | net=IsingNet, init=\"uniform\"|\"gaussian\", scale=1|{per layer}, " ..
  "sampler=\"sa\"|\"sqa\"|\"exact\"|\"grover\"|{...}, free=, nudged=, reads=4, sweeps=100, schedule=, " ..
  "nudge=\"strong\"|beta, eta=0.05|fn(epoch), batch=16, weighting=\"counts\"|\"lowest\", settle=2, l2=0, " ..
  "mode=\"full\"|\"coordinate\"|\"layers\"|\"block\"|\"blocks\", layers=, block=16, blocks=, per_batch=1|\"all\", passes=1, " ..
  "pick=\"best\"|\"sample\", random_blocks=false, readout={sampler...}, seed=1} " ..
  "-> AnnealTrainer",
  "Equilibrium propagation on an Ising network with a strong nudge (our reading of arXiv 2506.05244): " ..
  "free phase = anneal with the input clamped as fields, nudged phase = outputs also clamped to the " ..
  "one-hot +-1 target (or a finite field nudge), dJ = -eta(<ss>_nudged - <ss>_free) in the energy " ..
  "convention E = sum h s + sum J s s. Sampler tables: {sampler=, reads=, sweeps=, steps= (exact), " ..
  "schedule= (qnn.anneal schedule or function: beta(t) for sa, path s(t) for sqa/exact), beta_range=, " ..
  "slices=, gamma=, beta=, T=, lambda=, budget=}. mode \"layers\": layers={{2},{3}} cycles through " ..
  "layer sets; \"coordinate\": spin layers cut into blocks of <= block spins, each phase anneals " ..
  "them one at a time (passes= passes; rest clamped; pick=\"best\"|\"sample\" read; " ..
  "random_blocks=true re-partitions the spins at random each pass), all parameters update; \"block\": the same " ..
  "blocks as active sets (rest clamped to the relaxed feed-forward state, only the block's " ..
  "couplings update); every mini-batch visits " ..
  "per_batch blocks in turn (\"all\": every block, each with its own phases and update); " ..
  "exact/grover need <= 16 spins per anneal. Returns a trainer with :fit, :predict, :evaluate; " ..
  "trainer.net is the IsingNet, trainer.cost the accumulated cost model.")
qnn.document(Trainer.fit, "AnnealTrainer:fit",
  "AnnealTrainer:fit(train, {epochs=10, test=, on_epoch=fn(e, record, trainer), anneal_eval=false, progress=true}) -> history",
  "on_epoch(e, record, trainer) returning true stops; record = {epoch, eta, train_free_error (free-phase " ..
  "read-out error during the epoch), train_error, gap (mean nudged-free energy gap), test_error, " ..
  "test_error_anneal (anneal_eval=true), sweeps, flip_attempts, queries, time} (cumulative cost counters).\n" ..
  "train/test: Dataset or {X=, y=labels}. on_epoch returning true stops. Returns {epoch, eta, " ..
  "train_free_error (free-phase answers during the epoch), train_error and test_error (feed-forward " ..
  "read-out), test_error_anneal (if anneal_eval), gap, cumulative sweeps, flip_attempts, queries, " ..
  "exact_steps, sampler_calls, time, cost={spins, couplings, ...}}.")
qnn.document(Trainer.predict, "AnnealTrainer:predict",
  "AnnealTrainer:predict(X [, {readout=\"feedforward\"|\"anneal\", sampler=, seed=}]) -> labels, scores",
  "feedforward: the sign network s_{l+1} = -sign(h + J^T s_l); anneal: free-phase annealing with " ..
  "the read-out sampler (blocks as in training, or blocks of 16 for exact/grover).")
qnn.document(Trainer.evaluate, "AnnealTrainer:evaluate",
  "AnnealTrainer:evaluate(data [, {readout=}]) -> error", "Error rate of :predict on a Dataset or {X=, y=}.")
qnn.document(M.sampler_table, "qnn.anneal.sampler_table",
  "qnn.anneal.sampler_table(spec [, defaults]) -> table",
  "spec: sampler name or table; schedules are sampled into arrays (betas / A, B) for the C side.")
qnn.document(M.make_blocks, "qnn.anneal.make_blocks",
  "qnn.anneal.make_blocks(net, {mode=, layers=, block=, blocks=}) -> blocks|nil, mode",
  "Active blocks (lists of global spin indices) for layer-wise / block training.")

return M
