-- Step-size (alpha) schedules for layer-wise search optimisers (qnn.optim.grover).
--
-- A schedule is ANY table with two methods:
--   s:value(layer)          -> alpha (a finite number > 0) for that layer (1 = first hidden)
--   s:update(layer, info)   called once after every pass over that layer's weights, with
--                           info = {layer=, epoch=, pass=, loss_before=, loss_after=,
--                                   accepted=, visited=, output=, alpha=}
-- so a new search schedule is a few lines of Lua (see examples/grover_wine.lua).
local qnn = require "qnn"
local M = {}

local Schedule = {}
Schedule.__index = Schedule
Schedule.__qnntype = "Schedule"
function Schedule.__tostring(s)
  local parts = {}
  for l, a in pairs(s.alpha) do parts[#parts + 1] = string.format("%d=%.4g", l, a) end
  table.sort(parts)
  return string.format("qnn.Schedule(%s; %s)", s.kind, table.concat(parts, ", "))
end

local function num(opts, key, def, lo, hi, fname)
  local v = opts[key]
  if v == nil then return def end
  if type(v) ~= "number" or v ~= v or v < lo or v > hi then
    error(string.format("%s: option '%s' must be a number in [%g, %g], got %s", fname, key, lo,
      hi, tostring(v)), 3)
  end
  return v
end

local function checkopts(opts, allowed, fname)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(string.format("%s: options must be a table, got %s", fname, type(opts)), 3)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      error(string.format("%s: unknown option '%s'", fname, tostring(k)), 3)
    end
  end
  return opts
end

local function new(kind, fields)
  fields.kind = kind
  fields.alpha = fields.alpha or {}
  fields.passes = fields.passes or {}
  return setmetatable(fields, Schedule)
end

--- The paper's rule: one alpha per layer, start `start`; after a pass over the layer,
--- loss fell -> alpha = max(shrink*alpha, min), else alpha = min(grow*alpha, max).
function M.adaptive(opts)
  local f = "qnn.schedule.adaptive"
  opts = checkopts(opts, {start = true, shrink = true, grow = true, min = true, max = true}, f)
  local s = new("adaptive", {
    start = num(opts, "start", 0.5, 1e-300, math.huge, f),
    shrink = num(opts, "shrink", 0.95, 1e-300, math.huge, f),
    grow = num(opts, "grow", 1.05, 1e-300, math.huge, f),
    min = num(opts, "min", 0.1, 1e-300, math.huge, f),
    max = num(opts, "max", 2.0, 1e-300, math.huge, f),
  })
  if s.min > s.max then error(f .. ": option 'min' must be <= 'max'", 2) end
  function s:value(layer)
    return self.alpha[layer] or self.start
  end
  function s:update(layer, info)
    local a = self:value(layer)
    if info.loss_after < info.loss_before then
      a = math.max(a * self.shrink, self.min)
    else
      a = math.min(a * self.grow, self.max)
    end
    self.alpha[layer] = a
    self.passes[layer] = (self.passes[layer] or 0) + 1
  end
  return s
end
qnn.document(M.adaptive, "qnn.schedule.adaptive",
  "qnn.schedule.adaptive{start=0.5, shrink=0.95, grow=1.05, min=0.1, max=2.0} -> Schedule",
  "All options positive numbers, min <= max.\nThe paper's adaptive interval: one alpha per " ..
  "layer; after each pass over a layer, alpha <- max(shrink*alpha, min) if the loss fell, else " ..
  "min(grow*alpha, max). Returns a schedule (methods :value(layer), :update(layer, info)).")

--- Constant alpha.
function M.constant(v)
  local f = "qnn.schedule.constant"
  if type(v) == "table" then
    checkopts(v, {value = true}, f)
    v = v.value
  end
  if v == nil then v = 0.5 end
  if type(v) ~= "number" or not (v > 0) or v == math.huge then
    error(f .. ": value must be a finite number > 0, got " .. tostring(v), 2)
  end
  local s = new("constant", {const = v})
  function s:value() return self.const end
  function s:update(layer) self.passes[layer] = (self.passes[layer] or 0) + 1 end
  return s
end
qnn.document(M.constant, "qnn.schedule.constant", "qnn.schedule.constant(v=0.5 | {value=0.5}) -> Schedule",
  "v: finite number > 0.\nReturns a schedule whose alpha is v for every layer and pass.")

--- Cosine decay per layer: alpha = stop + (start - stop) * (1 + cos(pi * t / period)) / 2,
--- t = passes made over that layer so far (clamped to period).
function M.cosine(opts)
  local f = "qnn.schedule.cosine"
  opts = checkopts(opts, {start = true, stop = true, period = true}, f)
  local s = new("cosine", {
    start = num(opts, "start", 0.5, 1e-300, math.huge, f),
    stop = num(opts, "stop", 0.1, 1e-300, math.huge, f),
    period = num(opts, "period", 10, 1, math.huge, f),
  })
  function s:value(layer)
    local t = math.min(self.passes[layer] or 0, self.period)
    local a = self.stop + (self.start - self.stop) * (1 + math.cos(math.pi * t / self.period)) / 2
    self.alpha[layer] = a
    return a
  end
  function s:update(layer) self.passes[layer] = (self.passes[layer] or 0) + 1 end
  return s
end
qnn.document(M.cosine, "qnn.schedule.cosine", "qnn.schedule.cosine{start=0.5, stop=0.1, period=10} -> Schedule",
  "start, stop: numbers > 0; period: number >= 1 (layer passes).\nalpha = stop + (start - stop)*" ..
  "(1 + cos(pi*t/period))/2 with t = passes over that layer so far (clamped to period).")

--- Raises unless s has callable :value and :update.
function M.check(s, fname)
  fname = fname or "qnn.schedule.check"
  if type(s) ~= "table" and type(s) ~= "userdata" then
    error(fname .. ": a schedule must be a table with :value(layer) and :update(layer, info), got " .. type(s), 2)
  end
  local function callable(f)
    if type(f) == "function" then return true end
    local mt = getmetatable(f)
    return type(mt) == "table" and mt.__call ~= nil
  end
  local ok, v, u = pcall(function() return s.value, s.update end)
  if not ok or not callable(v) or not callable(u) then
    error(fname .. ": a schedule needs methods :value(layer) and :update(layer, info)", 2)
  end
  return s
end
qnn.document(M.check, "qnn.schedule.check", "qnn.schedule.check(s [, fname]) -> s",
  "s: any table with methods :value(layer) -> alpha > 0 and :update(layer, info), where info =\n" ..
  "{layer, epoch, pass (passes over this layer so far), loss_before, loss_after (training loss with L2\n" ..
  "around the pass), accepted, visited (weights), output (true for the output layer), alpha}.\n" ..
  "Raises a clear error otherwise.")

--- Calls s:value(layer) and checks the result (finite, > 0).
function M.alpha(s, layer, fname)
  local a = s:value(layer)
  if type(a) ~= "number" or a ~= a or not (a > 0) or a == math.huge then
    error(string.format("%s: schedule:value(%d) must return a finite number > 0, got %s",
      fname or "qnn.schedule.alpha", layer, tostring(a)), 2)
  end
  return a
end
qnn.document(M.alpha, "qnn.schedule.alpha", "qnn.schedule.alpha(s, layer [, fname]) -> number",
  "s: schedule; layer: integer >= 1.\nReturns s:value(layer), raising unless it is finite and > 0.")

return M
