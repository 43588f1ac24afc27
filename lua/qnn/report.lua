-- qnn.report: what every experiment script needs to report results a researcher can plot and
-- compare: command-line flags, mean ± std over seeds, power-law fits, aligned tables, and
-- CSV / JSON / gnuplot PNG files written atomically (temp file, then rename).
local qnn = require "qnn"
local M = {}

local function doc(fn, name, sig, text) qnn.document(fn, "qnn.report." .. name, sig, text) return fn end

-- Error for an argument that is not among the allowed names (a set; "switch" entries print bare).
local function unknown_flag(s, allowed, level)
  local names = {}
  for k, v in pairs(allowed) do names[#names + 1] = "--" .. k .. ((v == "switch" or v == true) and "" or "=") end
  table.sort(names)
  error("unknown argument '" .. s .. "' (allowed: " .. table.concat(names, " ") .. ")", level + 1)
end

--- Parses experiment flags. spec (optional) lists extra flags: {name = default}; a boolean
--- default makes a switch (--name), a number/string one takes a value (--name=v).
local script_help -- defined below (qnn.report.flags), used by args for --help

function M.args(argv, spec)
  local a = {quick = false, out = "results", help = false}
  local known = {quick = "switch", out = "string", seeds = "number", seed = "number", epochs = "number", help = "switch"}
  for k, v in pairs(spec or {}) do
    a[k] = v
    known[k] = type(v) == "boolean" and "switch" or type(v)
  end
  for _, s in ipairs(argv or {}) do
    local name, val = s:match("^%-%-([%w_%-]+)=(.*)$")
    if not name then name = s:match("^%-%-([%w_%-]+)$") end
    if s == "-h" then name = "help" end
    local key = name and name:gsub("%-", "_")
    local kind = key and known[key]
    if not kind then unknown_flag(s, known, 2) end
    if kind == "switch" then
      if val then error("flag --" .. name .. " takes no value", 2) end
      a[key] = true
      if key == "help" and (spec or {}).help == nil then script_help(argv) end
    else
      if not val then error("flag --" .. name .. " needs a value (--" .. name .. "=...)", 2) end
      if kind == "number" then
        local v = tonumber(val)
        if not v then error("flag --" .. name .. " needs a number, got '" .. val .. "'", 2) end
        a[key] = v
      else
        a[key] = val
      end
    end
  end
  return a
end
doc(M.args, "args", "qnn.report.args(arg [, spec]) -> table",
  "arg: the script's arg table; spec: {name = default} for extra flags (boolean default = switch).\n" ..
  "Always knows --quick, --seeds=N, --epochs=N, --out=dir, --help. Unknown flags raise an error listing the allowed ones.")

--- Untyped flags over defaults: --key=value (number if numeric, "true"/"false" as booleans, else
--- the string) and --key (true). known: nil accepts any name; a list adds names (those whose
--- default is nil) to the keys of defaults, and anything else raises an error listing them.
-- --help / -h for a script parsed with qnn.report.flags: prints the script's leading comment
-- block (its usage text) and ends the script; returns false when argv is not the running
-- script's own arg table (then the caller gets help = true instead)
script_help = function(argv)
  local script = rawget(_G, "arg")
  if type(script) ~= "table" or type(script[0]) ~= "string" or not script[0]:match("%.lua$") then return false end
  if argv ~= nil and argv ~= script then return false end
  local f = io.open(script[0], "r")
  local lines = {}
  if f then
    for line in f:lines() do
      local c = line:match("^%-%-%s?(.*)$")
      if not c then break end
      lines[#lines + 1] = c
    end
    f:close()
  end
  print(#lines > 0 and table.concat(lines, "\n") or ("usage: " .. script[0] .. " [--key=value ...]"))
  os.exit(0)
end

function M.script_help() return script_help(nil) end
doc(M.script_help, "script_help", "qnn.report.script_help() -> false",
  "For a running script: prints its leading comment block (the usage text every example starts with) " ..
  "and exits with status 0. Returns false (and prints nothing) when no script is running (REPL, -e).")

function M.flags(argv, defaults, known)
  for _, a in ipairs(argv or {}) do
    if (a == "--help" or a == "-h") and (defaults or {}).help == nil then
      if not script_help(argv) then return {help = true} end
    end
  end
  local o, allowed = {}, nil
  for k, v in pairs(defaults or {}) do o[k] = v end
  if known then
    allowed = {}
    for k, v in pairs(defaults or {}) do allowed[k] = type(v) == "boolean" end
    for _, k in ipairs(known) do allowed[k] = allowed[k] or false end
  end
  for _, a in ipairs(argv or {}) do
    local k, v = a:match("^%-%-([%w_]+)=(.*)$")
    if k then
      if v == "true" then v = true elseif v == "false" then v = false else v = tonumber(v) or v end
    else
      k = a:match("^%-%-([%w_]+)$")
      if not k then error("unknown argument '" .. a .. "' (use --key=value or --flag)", 2) end
      v = true
    end
    if allowed and allowed[k] == nil then unknown_flag(a, allowed, 2) end
    o[k] = v
  end
  return o
end
doc(M.flags, "flags", "qnn.report.flags(arg, defaults [, known]) -> table",
  "arg: the script's arg table; defaults: {name = value}; known: list of further names.\n" ..
  "Untyped flags: --key=value (numbers converted, \"true\"/\"false\" to booleans) and --key (true) over " ..
  "defaults. With known, a name that is neither a key of defaults nor in known raises an error listing " ..
  "the allowed ones; without it any name is accepted. Arguments not starting with -- are an error.\n" ..
  "--help or -h (unless defaults has a help key): for the running script's own arg, prints the script's " ..
  "leading comment block and exits 0; for any other table, returns {help = true}.")

--- Sample mean and standard deviation (n - 1 in the denominator).
function M.mean_std(xs)
  local n, s = #xs, 0
  if n == 0 then return 0 / 0, 0 / 0 end
  for _, x in ipairs(xs) do s = s + x end
  local m = s / n
  local v = 0
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  return m, n > 1 and math.sqrt(v / (n - 1)) or 0
end
doc(M.mean_std, "mean_std", "qnn.report.mean_std(xs) -> mean, std",
  "xs: list of numbers. Sample std (n-1); std 0 for one value; NaN, NaN for none.")

function M.pm(xs, fmt)
  local m, s = M.mean_std(xs)
  fmt = fmt or "%.4f"
  return string.format(fmt .. " ± " .. fmt, m, s)
end
doc(M.pm, "pm", "qnn.report.pm(xs [, fmt=\"%.4f\"]) -> string", "\"mean ± std\" of xs.")

--- Least-squares fit of log y = a + b log x over the points with x > 0 and y > 0.
function M.loglog(xs, ys)
  local X, Y = {}, {}
  for i = 1, math.min(#xs, #ys) do
    if xs[i] > 0 and ys[i] > 0 then X[#X + 1], Y[#Y + 1] = math.log(xs[i]), math.log(ys[i]) end
  end
  local n = #X
  if n < 2 then return 0 / 0, 0 / 0, 0 / 0, n end
  local mx, my = 0, 0
  for i = 1, n do mx, my = mx + X[i], my + Y[i] end
  mx, my = mx / n, my / n
  local sxx, sxy, syy = 0, 0, 0
  for i = 1, n do
    sxx = sxx + (X[i] - mx) ^ 2
    sxy = sxy + (X[i] - mx) * (Y[i] - my)
    syy = syy + (Y[i] - my) ^ 2
  end
  if sxx == 0 then return 0 / 0, 0 / 0, 0 / 0, n end
  local b = sxy / sxx
  local r2 = syy > 0 and (sxy * sxy) / (sxx * syy) or 1
  return b, my - b * mx, r2, n
end
doc(M.loglog, "loglog", "qnn.report.loglog(xs, ys) -> slope, intercept, r2, npoints",
  "Power-law fit y = e^intercept * x^slope by least squares in log-log space (points with x, y > 0);\n" ..
  "r2 is the coefficient of determination of the log-log fit.")

-- No shell anywhere: directories through mkdir(2) (qnn.sys.mkdir), gnuplot through posix_spawn.
function M.mkdir(dir)
  if type(dir) ~= "string" then error("qnn.report.mkdir: dir must be a string, got " .. type(dir), 2) end
  local ok, err = qnn.sys.mkdir(dir)
  if not ok then error("qnn.report.mkdir: " .. err, 2) end
  return dir
end
doc(M.mkdir, "mkdir", "qnn.report.mkdir(dir) -> dir",
  "Creates dir and its parents with mkdir(2) (no shell: any bytes but NUL are allowed in dir).")

--- Writes text to path atomically through qnn.io.write_atomic (temp file beside the target,
--- fsync, rename; symlinks followed, non-regular targets refused, old mode kept).
function M.write(path, text)
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" then M.mkdir(dir) end
  local ok, err = pcall(qnn.io.write_atomic, path, text)
  if not ok then error(tostring(err):gsub("^qnn%.io%.write_atomic: ", "cannot write " .. path .. ": ", 1), 2) end
  -- a script run by qnn.sweep (docs/sweeps.md): the last .json file it writes is its result,
  -- unless it called qnn.sweep.result{...}
  local sweep_result = os.getenv("QNN_SWEEP_RESULT")
  if sweep_result and sweep_result ~= "" and path ~= sweep_result and not M._sweep_result_set
     and path:match("%.json$") then
    M.write(sweep_result, text)
  end
  return path
end
doc(M.write, "write", "qnn.report.write(path, text) -> path",
  "Writes text atomically with qnn.io.write_atomic (temp file beside the target, then rename; a " ..
  "symlink's target is replaced, a device/FIFO/socket is refused, the old mode is kept); creates " ..
  "the directory.\nIn a script run by qnn.sweep (QNN_SWEEP_RESULT set) the text of the last .json file " ..
  "written is also the run's result, unless qnn.sweep.result{...} was called.")

-- JSON through lua-cjson (Debian lua-cjson): it escapes every string and formats every float
-- (NaN and +-inf become null). This function only lays the tables out: keys sorted (the same
-- run writes the same bytes), arrays vs objects as Lua sees them, optional indentation, and
-- integers written exactly (lua-cjson 2.1 turns every number into a 14-digit double, which
-- would round integers above 1e14).
local cjson = require("cjson").new()
cjson.encode_invalid_numbers("null")
cjson.encode_number_precision(14)

-- lua-cjson 2.1 escapes every '/' as "\/" (valid, but paths become unreadable); every "\/" in
-- its output is such an escape (a backslash itself comes out as "\\"), so undoing it is exact.
local function jstring(s)
  return (cjson.encode(s):gsub("\\/", "/"))
end

local function json_encode(v, ind, cur, seen)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return cjson.encode(v)
  elseif t == "boolean" then
    return cjson.encode(v)
  elseif t == "string" then
    return jstring(v)
  elseif t == "table" then
    if seen[v] then error("qnn.report.json: cyclic table", 0) end
    seen[v] = true
    local nl = ind and ("\n" .. cur .. ind) or ""
    local close = ind and ("\n" .. cur) or ""
    local sep = ind and ": " or ":"
    local parts = {}
    local n = #v
    local is_array = n > 0 or next(v) == nil
    if is_array then
      for k in pairs(v) do
        if math.type(k) ~= "integer" or k < 1 or k > n then is_array = false break end
      end
    end
    if is_array then
      for i = 1, n do parts[i] = json_encode(v[i], ind, ind and (cur .. ind), seen) end
      seen[v] = nil
      if n == 0 then return "[]" end
      return "[" .. nl .. table.concat(parts, "," .. nl) .. close .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local val = v[k]
      if val == nil then val = v[tonumber(k)] end
      parts[#parts + 1] = jstring(k) .. sep .. json_encode(val, ind, ind and (cur .. ind), seen)
    end
    seen[v] = nil
    return "{" .. nl .. table.concat(parts, "," .. nl) .. close .. "}"
  elseif t == "userdata" and qnn.type(v) == "Tensor" then
    return json_encode(v:totable(), ind, cur, seen)
  end
  return jstring(tostring(v))
end

function M.json_encode(v, indent)
  return json_encode(v, indent ~= false and "  " or nil, "", {})
end
doc(M.json_encode, "json_encode", "qnn.report.json_encode(value [, indent=true]) -> string",
  "JSON text of a Lua value (tables, numbers, strings, booleans, Tensors), through lua-cjson. NaN/inf\n" ..
  "become null; keys sorted; integers exact; indent=false gives one line (for JSON-lines files).")

function M.json_decode(text)
  if type(text) ~= "string" then
    error("bad argument #1 'text' to 'qnn.report.json_decode' (must be a string, got " .. type(text) .. ")", 2)
  end
  local ok, v = pcall(cjson.decode, text)
  if not ok then error("qnn.report.json_decode: " .. tostring(v), 2) end
  return v
end
doc(M.json_decode, "json_decode", "qnn.report.json_decode(text) -> value",
  "text: JSON text.\nParses it with lua-cjson (null becomes qnn.report.null, a sentinel). Raises an error naming\n" ..
  "the position on bad input.")
M.null = cjson.null

function M.json(path, v)
  return M.write(path, M.json_encode(v) .. "\n")
end
doc(M.json, "json", "qnn.report.json(path, value) -> path", "Writes value as JSON, atomically.")

local function csv_cell(x)
  if x == nil then return "" end
  if type(x) == "number" then
    if math.type(x) == "integer" then return tostring(x) end
    return string.format("%.10g", x)
  end
  local s = tostring(x)
  if s:find('[,"\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- CSV text: header line + one line per row.
function M.csv_text(cols, rows)
  local out = {}
  local head = {}
  for i, c in ipairs(cols) do head[i] = csv_cell(c) end
  out[1] = table.concat(head, ",")
  for _, r in ipairs(rows) do
    local line = {}
    for i, c in ipairs(cols) do
      local v = r[c]
      if v == nil then v = r[i] end
      line[i] = csv_cell(v)
    end
    out[#out + 1] = table.concat(line, ",")
  end
  return table.concat(out, "\n") .. "\n"
end
doc(M.csv_text, "csv_text", "qnn.report.csv_text(cols, rows) -> string",
  "CSV text (header + rows) of the same form qnn.report.csv writes.")

--- rows: list of tables keyed by column name (or lists in column order).
function M.csv(path, cols, rows)
  return M.write(path, M.csv_text(cols, rows))
end
doc(M.csv, "csv", "qnn.report.csv(path, cols, rows) -> path",
  "cols: list of column names; rows: list of tables keyed by column name (or positional).\n" ..
  "Writes a CSV file atomically (numbers with 10 significant digits, strings quoted when needed).")

--- Reads a CSV file (as written by qnn.report.csv: header line, quoted cells with "" escapes).
function M.read_csv(path)
  if type(path) ~= "string" then error("qnn.report.read_csv: path must be a string", 2) end
  local f, msg = io.open(path, "r")
  if not f then error("qnn.report.read_csv: cannot open " .. tostring(msg), 2) end
  local text = f:read("a")
  f:close()
  local records, cells, cell, i, n, quoted = {}, {}, {}, 1, #text, false
  local function end_cell() cells[#cells + 1] = table.concat(cell); cell = {} end
  local function end_record()
    end_cell()
    if not (#cells == 1 and cells[1] == "") then records[#records + 1] = cells end
    cells = {}
  end
  while i <= n do
    local c = text:sub(i, i)
    if quoted then
      if c == '"' then
        if text:sub(i + 1, i + 1) == '"' then cell[#cell + 1] = '"'; i = i + 1 else quoted = false end
      else cell[#cell + 1] = c end
    elseif c == '"' then quoted = true
    elseif c == "," then end_cell()
    elseif c == "\n" then end_record()
    elseif c ~= "\r" then cell[#cell + 1] = c end
    i = i + 1
  end
  if quoted then error("qnn.report.read_csv: " .. path .. ": unterminated quoted cell", 2) end
  if #cell > 0 or #cells > 0 then end_record() end
  local header = records[1]
  if not header then return {}, {} end
  local rows = {}
  for r = 2, #records do
    local row = {}
    for k, name in ipairs(header) do
      local v = records[r][k]
      if v ~= nil and v ~= "" then row[name] = tonumber(v) or v end
    end
    rows[#rows + 1] = row
  end
  return rows, header
end
doc(M.read_csv, "read_csv", "qnn.report.read_csv(path) -> rows, header",
  "path: a CSV file with a header line (as qnn.report.csv writes; quoted cells allowed).\n" ..
  "Returns a list of tables keyed by column name (numbers converted, empty cells nil) and the header list.")

--- Aligned text table. rows: lists of cells (numbers formatted with %.4g unless strings).
function M.table(header, rows)
  local w = {}
  local cells = {}
  local function fmt(x)
    if type(x) == "number" then
      if math.type(x) == "integer" then return tostring(x) end
      return string.format("%.4g", x)
    end
    return tostring(x == nil and "" or x)
  end
  for i, h in ipairs(header) do w[i] = utf8.len(h) or #h end
  for r, row in ipairs(rows) do
    cells[r] = {}
    for i = 1, #header do
      local s = fmt(row[i])
      cells[r][i] = s
      w[i] = math.max(w[i], utf8.len(s) or #s)
    end
  end
  local function line(vals)
    local p = {}
    for i, s in ipairs(vals) do p[i] = s .. string.rep(" ", w[i] - (utf8.len(s) or #s)) end
    return "| " .. table.concat(p, " | ") .. " |"
  end
  local out = {line(header)}
  local sep = {}
  for i = 1, #header do sep[i] = string.rep("-", w[i]) end
  out[2] = "|-" .. table.concat(sep, "-|-") .. "-|"
  for _, c in ipairs(cells) do out[#out + 1] = line(c) end
  return table.concat(out, "\n")
end
doc(M.table, "table", "qnn.report.table(header, rows) -> string",
  "Markdown-style aligned table (paste into docs/). Numbers are formatted with %.4g.")

function M.have_gnuplot()
  return qnn.sys.which("gnuplot") ~= nil
end
doc(M.have_gnuplot, "have_gnuplot", "qnn.report.have_gnuplot() -> boolean", "True if gnuplot is on PATH.")

--- A gnuplot string literal holding exactly the bytes of tostring(x): double-quoted with every
--- byte outside [%w ._,:/+=-] written as an octal escape, so quotes, newlines, backquotes
--- (gnuplot's shell substitution), '@' (macros) and '$' reach gnuplot as plain characters.
function M.gnuplot_quote(x)
  -- gnuplot reads every octal digit after a backslash ("\0505" is one byte, 'E'), so a digit that
  -- follows an escape is escaped too
  local out, escaped = {}, false
  for c in tostring(x):gmatch(".") do
    if c:match("[^%w %._,:/%+=%-]") or (escaped and c:match("%d")) then
      out[#out + 1] = ("\\%03o"):format(c:byte())
      escaped = true
    else
      out[#out + 1] = c
      escaped = false
    end
  end
  return '"' .. table.concat(out) .. '"'
end
doc(M.gnuplot_quote, "gnuplot_quote", "qnn.report.gnuplot_quote(x) -> string",
  "x: any value (tostring'ed).\nA double-quoted gnuplot string with every byte outside letters, digits and " ..
  "' ._,:/+=-' octal-escaped: safe for file names and titles in a gnuplot script (no command or macro " ..
  "substitution, no line breaks).")

--- Runs a gnuplot script so that its PNGs appear atomically: every "set output '<file>'" is
--- redirected to <file>.tmp, renamed over <file> when gnuplot succeeds, removed when it fails.
function M.gnuplot(script)
  if type(script) ~= "string" then error("qnn.report.gnuplot: script must be a string", 2) end
  if not M.have_gnuplot() then
    return nil, "gnuplot not found: plot skipped (install gnuplot-nox, scripts/deps.sh)"
  end
  local outs = {}
  local text = script:gsub("set output '([^']+)'", function(file)
    outs[#outs + 1] = file
    return "set output '" .. file .. ".tmp'"
  end)
  text = text:gsub('set output "([^"]+)"', function(q) -- as written by qnn.report.gnuplot_quote
    local esc = {n = "\n", t = "\t", r = "\r"}
    outs[#outs + 1] = (q:gsub("\\(.)([0-7]?[0-7]?)", function(c, more)
      if c:match("[0-7]") then return string.char(tonumber(c .. more, 8) % 256) end
      return (esc[c] or c) .. more
    end))
    return 'set output "' .. q .. '.tmp"'
  end)
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "w"))
  f:write(text, "\n")
  f:close()
  local ok = qnn.sys.run({"gnuplot", tmp}) -- fixed argv, no shell
  os.remove(tmp)
  for _, file in ipairs(outs) do
    if ok then os.rename(file .. ".tmp", file) else os.remove(file .. ".tmp") end
  end
  if not ok then return nil, "gnuplot failed" end
  return outs[1] or true
end
doc(M.gnuplot, "gnuplot", "qnn.report.gnuplot(script) -> first output file | true, or nil, message",
  "script: gnuplot commands. Each \"set output 'file'\" (or \"file\", see gnuplot_quote) writes to file.tmp, renamed over file only when " ..
  "gnuplot succeeds (removed otherwise), so a failed or interrupted plot never leaves a truncated PNG.\n" ..
  "Returns nil and a message when gnuplot is missing or fails.")

-- Runs the script lines g (which write to png), reporting failures on stderr as qnn.report.<who>.
local function run_gnuplot(g, png, who)
  local r, msg = M.gnuplot(table.concat(g, "\n"))
  if not r then
    io.stderr:write("qnn.report." .. who .. ": " .. msg .. " for " .. png .. "\n")
    return nil
  end
  return png
end

--- opts: {png=, csv=, title=, xlabel=, ylabel=, series={{x=col, y=col, title=, style="lines"}, ...},
---        logx=, logy=, width=, height=}
function M.plot(opts)
  assert(type(opts) == "table", "qnn.report.plot: options table expected")
  if not (opts.png and opts.csv and opts.series) then
    error("qnn.report.plot: png=, csv= and series= are required", 2)
  end
  if not M.have_gnuplot() then
    io.stderr:write("qnn.report.plot: gnuplot not found, skipping " .. opts.png .. "\n")
    return nil
  end
  local q = M.gnuplot_quote
  local g = {
    string.format("set terminal pngcairo size %d,%d noenhanced", opts.width or 900, opts.height or 560),
    "set output " .. q(opts.png),
    "set datafile separator ','",
    "set key autotitle columnhead",
    "set grid",
  }
  if opts.title then g[#g + 1] = "set title " .. q(opts.title) end
  if opts.xlabel then g[#g + 1] = "set xlabel " .. q(opts.xlabel) end
  if opts.ylabel then g[#g + 1] = "set ylabel " .. q(opts.ylabel) end
  if opts.logx then g[#g + 1] = "set logscale x" .. (type(opts.logx) == "number" and (" " .. opts.logx) or "") end
  if opts.logy then g[#g + 1] = "set logscale y" end
  local plots = {}
  for _, s in ipairs(opts.series) do
    -- error bars at the first / last x would be drawn on the border: pad the x range
    if s.err and not opts.logx then g[#g + 1] = "set offsets graph 0.03, graph 0.03, 0, 0" break end
  end
  for _, s in ipairs(opts.series) do
    -- a column is a name (string) or a 1-based column number
    local function col(c) return type(c) == "number" and string.format("%d", c) or q(c) end
    local using = string.format("using (column(%s)):(column(%s))", col(s.x or 1), col(s.y))
    if s.err then using = using .. string.format(":(column(%s))", col(s.err)) end
    local src = s.csv or opts.csv
    plots[#plots + 1] = string.format("%s %s with %s title %s", q(src), using,
      s.style or (s.err and "yerrorlines" or "linespoints"), q(s.title or s.y))
  end
  g[#g + 1] = "plot " .. table.concat(plots, ", ")
  return run_gnuplot(g, opts.png, "plot")
end
doc(M.plot, "plot", "qnn.report.plot{png=, csv=, series={{x=, y=, err=, title=, style=, csv=}} (columns by name or number), title=, xlabel=, ylabel=, logx=, logy=} -> png|nil",
  "Draws columns of a CSV file (written with qnn.report.csv) into a PNG with gnuplot (pngcairo).\n" ..
  "Returns nil with a message on stderr when gnuplot is missing or fails; the PNG is renamed into place atomically.")

--- Grouped bar chart: one cluster per label, one bar per group (error bars optional).
--- opts: {png=, labels={...}, groups={...}, values={[g][l]=v}, errors={[g][l]=sd}, title=, ylabel=,
---        ymin=, ymax=, width=, height=}
function M.bars(opts)
  if type(opts) ~= "table" then error("qnn.report.bars: options table expected", 2) end
  for _, k in ipairs { "png", "labels", "groups", "values" } do
    if opts[k] == nil then error("qnn.report.bars: " .. k .. "= is required", 2) end
  end
  local labels, groups, values, errors = opts.labels, opts.groups, opts.values, opts.errors
  if #labels == 0 or #groups == 0 then error("qnn.report.bars: labels and groups must be non-empty", 2) end
  if not M.have_gnuplot() then
    io.stderr:write("qnn.report.bars: gnuplot not found, skipping " .. opts.png .. "\n")
    return nil
  end
  local q = M.gnuplot_quote
  local dat = os.tmpname()
  local f = assert(io.open(dat, "w"))
  for li, lab in ipairs(labels) do
    local cells = { '"' .. tostring(lab):gsub('"', "'") .. '"' }
    for gi = 1, #groups do
      local v = values[gi] and values[gi][li]
      local e = errors and errors[gi] and errors[gi][li] or 0
      cells[#cells + 1] = type(v) == "number" and ("%.10g"):format(v) or "?"
      if errors then cells[#cells + 1] = type(v) == "number" and ("%.10g"):format(e) or "?" end
    end
    f:write(table.concat(cells, " "), "\n")
  end
  f:close()
  local g = {
    string.format("set terminal pngcairo size %d,%d noenhanced", opts.width or 1100, opts.height or 520),
    "set output " .. q(opts.png),
    "set datafile missing '?'",
    "set style data histogram",
    errors and "set style histogram errorbars gap 1 lw 1" or "set style histogram clustered gap 1",
    "set style fill solid 0.8 border -1",
    "set boxwidth 0.9",
    "set xtics rotate by 35 right nomirror",
    "set grid ytics",
    "set key outside top center horizontal",
    "set bmargin 8",
  }
  if opts.title then g[#g + 1] = "set title " .. q(opts.title) end
  if opts.ylabel then g[#g + 1] = "set ylabel " .. q(opts.ylabel) end
  if opts.logy then g[#g + 1] = "set logscale y"; g[#g + 1] = "set format y '%.0e'" end
  if opts.ymin or opts.ymax then
    g[#g + 1] = ("set yrange [%s:%s]"):format(opts.ymin and ("%g"):format(opts.ymin) or "*",
      opts.ymax and ("%g"):format(opts.ymax) or "*")
  end
  local plots = {}
  for gi, name in ipairs(groups) do
    local c = errors and (2 * gi) or (gi + 1)
    local using = errors and ("using %d:%d"):format(c, c + 1) or ("using %d"):format(c)
    if gi == 1 then using = using .. ":xtic(1)" end
    plots[#plots + 1] = ("%s %s title %s"):format(q(dat), using, q(name))
  end
  g[#g + 1] = "plot " .. table.concat(plots, ", ")
  local png = run_gnuplot(g, opts.png, "bars")
  os.remove(dat)
  return png
end
doc(M.bars, "bars", "qnn.report.bars{png=, labels={...}, groups={...}, values={[group][label]=v}, errors=, title=, ylabel=, ymin=, ymax=, logy=} -> png|nil",
  "Grouped bar chart with gnuplot: one cluster per label, one bar per group; errors (same shape as values) draws " ..
  "error bars; missing values leave a gap.\nReturns nil with a message on stderr when gnuplot is missing or fails; " ..
  "the PNG is renamed into place atomically.")

--- Timer helper: returns a function giving seconds since creation.
function M.timer()
  local t0 = qnn.clock()
  return function() return qnn.clock() - t0 end
end
doc(M.timer, "timer", "qnn.report.timer() -> fn", "fn() returns wall-clock seconds since the timer was made.")

return M
