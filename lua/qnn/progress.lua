-- Terminal progress bars for long loops (driven from C through qnn_lua_progress, or from Lua).
-- Silent when stdout is not a terminal, when QNN_QUIET=1, or when created with {quiet=true}.
local qnn = require "qnn"
local M = {}

local Bar = {}
Bar.__index = Bar
Bar.__qnntype = "ProgressBar"

local function quiet()
  local q = os.getenv("QNN_QUIET")
  if q and q ~= "" and q ~= "0" then return true end
  return not qnn.isatty(1)
end

local function fmt_time(s)
  if s ~= s or s == math.huge or s < 0 then return "--:--" end
  s = math.floor(s + 0.5)
  if s >= 3600 then return string.format("%d:%02d:%02d", s // 3600, (s % 3600) // 60, s % 60) end
  return string.format("%02d:%02d", s // 60, s % 60)
end

--- bar{label=, total=, quiet=, width=} -> bar with :update(done[, total]) and :finish()
function M.bar(opts)
  opts = opts or {}
  local b = setmetatable({
    label = opts.label or "",
    total = opts.total or 0,
    width = opts.width or 30,
    silent = opts.quiet or quiet(),
    t0 = qnn.clock(),
    last = -1,
    shown = false,
  }, Bar)
  return b
end

function Bar:update(done, total)
  if total then self.total = total end
  if self.silent then return end
  local now = qnn.clock()
  if now - self.last < 0.1 and done < (self.total or 0) then return end
  self.last = now
  local tot = self.total or 0
  local frac = tot > 0 and math.min(done / tot, 1) or 0
  local el = now - self.t0
  local rate = el > 0 and done / el or 0
  local eta = (rate > 0 and tot > 0) and (tot - done) / rate or math.huge
  local n = math.floor(frac * self.width + 0.5)
  io.stdout:write(string.format("\r%s [%s%s] %5.1f%% %s/s ETA %s ", self.label,
    string.rep("#", n), string.rep(".", self.width - n), 100 * frac,
    rate >= 100 and string.format("%.0f", rate) or string.format("%.2f", rate), fmt_time(eta)))
  io.stdout:flush()
  self.shown = true
end

function Bar:finish()
  if self.silent or not self.shown then return end
  local el = qnn.clock() - self.t0
  io.stdout:write(string.format("\r%s done in %s%s\n", self.label, fmt_time(el), string.rep(" ", self.width + 24)))
  io.stdout:flush()
end

qnn.document(M.bar, "qnn.progress.bar", "qnn.progress.bar{label=, total=, quiet=false, width=30} -> bar",
  "Terminal progress bar (rate, ETA). bar:update(done [, total]); bar:finish().\n" ..
  "Silent when stdout is not a TTY or QNN_QUIET=1.")
return M
