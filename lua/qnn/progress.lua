-- Terminal progress bars for long loops (driven from C through qnn_lua_progress, or from Lua).
-- Silent when stdout is not a terminal, when QNN_QUIET=1, or when created with {quiet=true}.
--
-- One live line per long run: a run (qnn.progress.run{...}, used by the trainers for their
-- epochs) owns the line while it is open; any bar created meanwhile (a C loop's bar for one
-- layer or one sampling call) becomes a child shown inside that line ("epoch 3/10 | grover
-- layer 2 45%") and prints nothing when it finishes. The run prints one summary line at the
-- end. Without an open run, a bar prints its own line and a "done in" line at the end.
local qnn = require "qnn"
local M = {}

local Bar = {}
Bar.__index = Bar
Bar.__qnntype = "ProgressBar"
-- `local bar <close> = qnn.progress.run{...}` closes the run even when the loop raises
Bar.__close = function(b) b:finish() end

local stack = {} -- open runs, innermost last

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
M.fmt_time = fmt_time
M._quiet = quiet

local function new(opts, is_run)
  local fn = is_run and "qnn.progress.run" or "qnn.progress.bar"
  opts = opts or {}
  if type(opts) ~= "table" then
    error(string.format("bad argument #1 'options' to '%s' (must be a table, got %s)", fn, type(opts)), 3)
  end
  local function bad(k, what)
    error(string.format("bad option '%s' to '%s' (must be %s, got %s)", k, fn, what, tostring(opts[k])), 4)
  end
  if opts.label ~= nil and type(opts.label) ~= "string" then bad("label", "a string") end
  if opts.unit ~= nil and type(opts.unit) ~= "string" then bad("unit", "a string") end
  local t = opts.total
  if t ~= nil and (type(t) ~= "number" or t ~= t or t < 0 or t == math.huge) then bad("total", "a finite number >= 0") end
  local w = opts.width
  if w ~= nil and (math.type(w) ~= "integer" or w < 1 or w > 200) then bad("width", "an integer in [1, 200]") end
  local parent = not is_run and stack[#stack] or nil
  return setmetatable({
    label = opts.label or "",
    total = opts.total or 0,
    unit = opts.unit,
    width = opts.width or 30,
    silent = opts.quiet or quiet(),
    t0 = qnn.clock(),
    last = -1,
    shown = false,
    done = 0,
    parent = parent,
    is_run = is_run,
  }, Bar)
end

--- bar{label=, total=, quiet=, width=} -> bar with :update(done[, total]) and :finish()
function M.bar(opts)
  return new(opts, false)
end

function M.run(opts)
  local b = new(opts, true)
  if opts and opts.quiet and not b.silent then b.silent = true end
  stack[#stack + 1] = b
  return b
end

-- the text after the bar: "epoch 3/10 | child 45%"
local function child_text(self)
  local c = self.child
  if not c then return "" end
  local tot = c.total or 0
  if tot > 0 then return string.format(" | %s %3.0f%%", c.label, 100 * math.min(c.done / tot, 1)) end
  return " | " .. c.label
end

function Bar:draw(force)
  local now = qnn.clock()
  if not force and now - self.last < 0.1 and self.done < (self.total or 0) then return end
  self.last = now
  local tot = self.total or 0
  local done = self.done
  local frac = tot > 0 and math.min(done / tot, 1) or 0
  -- inside a run, the child's fraction moves the bar between two epochs
  local c = self.child
  if c and (c.total or 0) > 0 and tot > 0 and done < tot then
    frac = math.min((done + math.min(c.done / c.total, 1)) / tot, 1)
  end
  local el = now - self.t0
  local eta = (frac > 0 and tot > 0) and el * (1 - frac) / frac or math.huge
  local n = math.floor(frac * self.width + 0.5)
  local count
  if self.is_run then
    count = string.format("%s %d/%d", self.unit or "", math.floor(done), math.floor(tot))
  else
    local rate = el > 0 and done / el or 0
    count = string.format("%s/s", rate >= 100 and string.format("%.0f", rate) or string.format("%.2f", rate))
  end
  io.stdout:write(string.format("\r%s [%s%s] %5.1f%% %s%s ETA %s \27[K", self.label,
    string.rep("#", n), string.rep(".", self.width - n), 100 * frac, count, child_text(self), fmt_time(eta)))
  io.stdout:flush()
  self.shown = true
end

function Bar:update(done, total)
  if total then self.total = total end
  self.done = done or self.done
  if self.silent then return end
  local p = self.parent
  if p and not p.closed then
    -- a child: redraw the run's line
    p.child = self
    if not p.silent then p:draw(false) end
    return
  end
  self:draw(false)
end

--- bar:finish([summary]): a run prints one line "label: summary (mm:ss)"; a child prints nothing
function Bar:finish(summary)
  if self.closed then return end
  self.closed = true
  if self.is_run then
    for i = #stack, 1, -1 do
      if stack[i] == self then table.remove(stack, i) break end
    end
  end
  local p = self.parent
  if p and not p.closed then
    if p.child == self then p.child = nil end
    return
  end
  if self.silent then return end
  local el = qnn.clock() - self.t0
  if self.is_run then
    io.stdout:write(string.format("\r%s: %s(%s)\27[K\n", self.label,
      summary and (summary .. " ") or "", fmt_time(el)))
  elseif self.shown then
    io.stdout:write(string.format("\r%s done in %s\27[K\n", self.label, fmt_time(el)))
  else
    return
  end
  io.stdout:flush()
end

--- Writes text (e.g. a verbose log line) without mixing it into a live bar: clears the bar's
--- line first; the bar redraws at its next update.
function M.write(text)
  if type(text) ~= "string" then
    error("bad argument #1 'text' to 'qnn.progress.write' (must be a string, got " .. type(text) .. ")", 2)
  end
  local r = stack[#stack]
  if r and r.shown and not r.silent then
    io.stdout:write("\r\27[K")
    r.last = -1
  end
  io.stdout:write(text)
  io.stdout:flush()
end

--- The open run (innermost), or nil.
function M.current()
  return stack[#stack]
end

qnn.document(M.bar, "qnn.progress.bar", "qnn.progress.bar{label=, total=, quiet=false, width=30} -> bar",
  "Terminal progress bar (rate, ETA). bar:update(done [, total]); bar:finish().\n" ..
  "Inside an open qnn.progress.run it draws in the run's line and prints nothing at the end.\n" ..
  "Silent when stdout is not a TTY or QNN_QUIET=1.")
qnn.document(M.run, "qnn.progress.run", "qnn.progress.run{label=, total=, unit=\"epoch\", quiet=false} -> bar",
  "A long run's bar (e.g. the epochs of a trainer): one live line, in which bars opened meanwhile\n" ..
  "(layers, sampling calls) show as 'unit k/total | child 45%'; bar:finish(summary) prints one\n" ..
  "line 'label: summary (mm:ss)'. Silent when stdout is not a TTY or QNN_QUIET=1.")
qnn.document(M.current, "qnn.progress.current", "qnn.progress.current() -> bar | nil",
  "The innermost open qnn.progress.run, if any.")
qnn.document(M.write, "qnn.progress.write", "qnn.progress.write(text)",
  "text: string.\nWrites text to stdout, first clearing the open run's live line (log lines during a run).")
qnn.document(M.fmt_time, "qnn.progress.fmt_time", "qnn.progress.fmt_time(seconds) -> string",
  "Formats seconds as mm:ss (h:mm:ss from one hour; --:-- for unknown).")
return M
