-- qnn.sweep: runs of an experiment over a grid / random search of configurations and seeds,
-- each (config, seed) in its own worker process (or on MPI ranks), results appended one JSON
-- line per finished run. See docs/sweeps.md.
--
-- How a worker runs one (config, seed):
--  * run = function(cfg): the worker re-executes the script that called qnn.sweep (arg[0] with
--    the same arguments, or script=) with QNN_SWEEP_JOB=<job file>; when that script reaches
--    the same qnn.sweep{...} call, the call runs the one job, writes its result file and ends
--    the process. Other qnn.sweep calls met on the way return the results already on disk.
--  * run = "script.lua": the worker runs the script with args, --key=value per config entry and
--    --seed=N (seed_flag), with QNN_SWEEP_RESULT=<file>; the last .json file written through
--    qnn.report (report.json / report.write) or qnn.sweep.result{...} (explicit, wins) is the result.
local qnn = require "qnn"
local proc = qnn.proc
local M = {}

local function doc(fn, name, sig, text) qnn.document(fn, "qnn.sweep." .. name, sig, text) return fn end

local cjson_ok, cjson = pcall(require, "cjson")
local decoder = cjson_ok and cjson.new() or nil

---------------------------------------------------------------------------------------------
-- JSON: decoding through lua-cjson; encoding here (sorted keys, shortest round-trip numbers)
---------------------------------------------------------------------------------------------
local function num_text(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  local i = math.tointeger(v)
  if i and math.abs(v) < 2 ^ 53 then return string.format("%d", i) end
  for _, f in ipairs { "%.15g", "%.16g", "%.17g" } do
    local s = string.format(f, v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end

local function str_text(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" elseif c == "\n" then return "\\n"
    elseif c == "\t" then return "\\t" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_list(t)
  local n = #t
  if n == 0 then return next(t) == nil end
  local c = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    c = c + 1
  end
  return c == n
end

local function encode(v, depth)
  depth = depth or 0
  if depth > 32 then error("qnn.sweep: value nested too deeply for JSON", 0) end
  local t = type(v)
  if t == "nil" then return "null"
  elseif t == "number" then return num_text(v)
  elseif t == "boolean" then return tostring(v)
  elseif t == "string" then return str_text(v)
  elseif t == "table" then
    if is_list(v) and #v > 0 then
      local p = {}
      for i = 1, #v do p[i] = encode(v[i], depth + 1) end
      return "[" .. table.concat(p, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local p = {}
    for _, k in ipairs(keys) do
      local val = v[k]
      if val == nil then val = v[tonumber(k)] end
      p[#p + 1] = str_text(k) .. ":" .. encode(val, depth + 1)
    end
    return "{" .. table.concat(p, ",") .. "}"
  elseif t == "userdata" and qnn.type(v) == "Tensor" then
    return encode(v:totable(), depth)
  end
  return str_text(tostring(v))
end
M._encode = encode

-- cjson gives floats for every number and a sentinel for null: integers back, null -> nil
local function normalize(v)
  if type(v) == "number" then
    local i = math.tointeger(v)
    if i and math.abs(v) < 2 ^ 53 then return i end
    return v
  elseif type(v) == "table" then
    local o = {}
    for k, x in pairs(v) do
      if x ~= cjson.null then o[k] = normalize(x) end
    end
    return o
  elseif cjson_ok and v == cjson.null then
    return nil
  end
  return v
end

local function decode(s)
  if not decoder then
    error("qnn.sweep needs lua-cjson (Debian package lua-cjson, installed by scripts/deps.sh)", 0)
  end
  local ok, v = pcall(decoder.decode, s)
  if not ok then return nil, tostring(v) end
  return normalize(v)
end
M._decode = decode

---------------------------------------------------------------------------------------------
-- small helpers
---------------------------------------------------------------------------------------------
local function fnv1a(s)
  local h = -3750763034362895579 -- 14695981039346656037 as a signed 64-bit integer
  for i = 1, #s do
    h = h ~ s:byte(i)
    h = h * 1099511628211
  end
  return string.format("%016x", h)
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write_atomic(path, text)
  local tmp = string.format("%s.tmp.%d", path, proc.pid())
  local f, err = io.open(tmp, "wb")
  if not f then error("qnn.sweep: cannot write " .. path .. ": " .. tostring(err), 0) end
  local ok, werr = f:write(text)
  local cok = f:close()
  if not ok or not cok then
    os.remove(tmp)
    error("qnn.sweep: cannot write " .. path .. ": " .. tostring(werr), 0)
  end
  local rok, rerr = os.rename(tmp, path)
  if not rok then
    os.remove(tmp)
    error("qnn.sweep: cannot rename into " .. path .. ": " .. tostring(rerr), 0)
  end
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function sorted_keys(t)
  local k = {}
  for name in pairs(t) do k[#k + 1] = name end
  table.sort(k, function(a, b) return tostring(a) < tostring(b) end)
  return k
end

local function copy(t)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  return o
end

-- one notion of "quiet" and one clock format for every progress line (qnn.progress)
local function quiet() return require("qnn.progress")._quiet() end
local function fmt_time(s) return require("qnn.progress").fmt_time(s) end

-- Flattens a metrics value: numbers, booleans and short strings at any depth (<= 4) of nested
-- objects become "a.b.c" keys; lists are left out (per-epoch curves, per-seed arrays).
local function flatten(v, prefix, out, depth)
  out = out or {}
  if type(v) ~= "table" then
    out[prefix ~= "" and prefix or "value"] = v
    return out
  end
  if depth > 4 then return out end
  for k, x in pairs(v) do
    local name = prefix == "" and tostring(k) or (prefix .. "." .. tostring(k))
    local t = type(x)
    if t == "number" or t == "boolean" then out[name] = x
    elseif t == "string" then if #x <= 80 then out[name] = x end
    elseif t == "table" and not (is_list(x) and #x > 0) then flatten(x, name, out, depth + 1) end
  end
  return out
end
M._flatten = function(v) return flatten(v, "", {}, 0) end

---------------------------------------------------------------------------------------------
-- the sweep definition
---------------------------------------------------------------------------------------------
local KEYS = {
  name = "string", grid = "table", ranges = "table", random = "number", random_seed = "number",
  seeds = "any", run = "any", args = "table", seed_flag = "any", out_flag = "any", out = "string",
  workers = "number", threads = "number", resume = "boolean", retry_failed = "boolean",
  timeout = "number", backend = "string", ranks = "number", mpirun = "string",
  mpirun_args = "table", script = "string", script_args = "table", exe = "string",
  progress = "boolean", rank_timeout = "number",
}

local function allowed_keys()
  local k = sorted_keys(KEYS)
  return table.concat(k, ", ")
end

local function check_opts(o)
  if type(o) ~= "table" then error("qnn.sweep: expected a table of options {grid=, seeds=, run=, ...}", 0) end
  for k, v in pairs(o) do
    local want = KEYS[k]
    if not want then
      error(string.format("qnn.sweep: unknown option '%s' (allowed: %s)", tostring(k), allowed_keys()), 0)
    end
    if want ~= "any" and type(v) ~= want then
      error(string.format("qnn.sweep: option %s must be a %s, got %s", k, want, type(v)), 0)
    end
  end
  if o.run == nil then error("qnn.sweep: run= is required (a function(cfg) -> metrics, or a script path)", 0) end
  if type(o.run) ~= "function" and type(o.run) ~= "string" then
    error("qnn.sweep: run must be a function(cfg) -> metrics table or a script path, got " .. type(o.run), 0)
  end
  local function posint(k, lo, hi)
    local v = o[k]
    if v ~= nil and (math.type(v) ~= "integer" and not (v == math.floor(v)) or v < lo or v > hi) then
      error(string.format("qnn.sweep: %s must be an integer in [%d, %d], got %s", k, lo, hi, tostring(v)), 0)
    end
  end
  posint("random", 1, 1000000)
  posint("workers", 1, 4096)
  posint("threads", 1, 4096)
  posint("ranks", 1, 4096)
  posint("random_seed", -(1 << 53), 1 << 53)
  if o.timeout ~= nil and not (o.timeout > 0) then
    error("qnn.sweep: timeout must be a number of seconds > 0, got " .. tostring(o.timeout), 0)
  end
  if o.rank_timeout ~= nil and not (o.rank_timeout > 0) then
    error("qnn.sweep: rank_timeout must be a number of seconds > 0, got " .. tostring(o.rank_timeout), 0)
  end
  if o.backend ~= nil and o.backend ~= "local" and o.backend ~= "mpi" then
    error("qnn.sweep: backend must be \"local\" or \"mpi\", got \"" .. o.backend .. "\"", 0)
  end
  if o.random and not o.ranges then error("qnn.sweep: random = N needs ranges = {name = {min=, max=} ...}", 0) end
  if o.ranges and not o.random then error("qnn.sweep: ranges= needs random = N (the number of draws)", 0) end
  if o.name and not o.name:match("^[%w_%.%-]+$") then
    error("qnn.sweep: name must use letters, digits, '_', '.', '-' only, got '" .. o.name .. "'", 0)
  end
  for _, k in ipairs { "seed_flag", "out_flag" } do
    if o[k] ~= nil and o[k] ~= false and type(o[k]) ~= "string" then
      error("qnn.sweep: " .. k .. " must be a string such as \"--seed\" or false", 0)
    end
  end
end

local function check_value(where, v)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("qnn.sweep: " .. where .. " must be finite", 0) end
  elseif t == "table" then
    for k, x in pairs(v) do check_value(where .. "." .. tostring(k), x) end
  elseif t ~= "string" and t ~= "boolean" then
    error("qnn.sweep: " .. where .. " must be a number, string, boolean or a table of them, got " .. t, 0)
  end
end

-- list of configs: the grid's cartesian product (keys sorted, last key fastest), each crossed
-- with `random` draws from ranges (seeded, rounded to 12 significant digits)
local function build_configs(o)
  local grid = o.grid or {}
  local keys = sorted_keys(grid)
  for _, k in ipairs(keys) do
    if type(k) ~= "string" then error("qnn.sweep: grid keys must be strings", 0) end
    local vals = grid[k]
    if type(vals) ~= "table" or #vals == 0 or not is_list(vals) then
      error("qnn.sweep: grid." .. k .. " must be a non-empty list of values", 0)
    end
    for i, v in ipairs(vals) do check_value("grid." .. k .. "[" .. i .. "]", v) end
    if k == "seed" then error("qnn.sweep: grid.seed is not allowed: use seeds = N or a list", 0) end
  end
  local configs = {{}}
  for _, k in ipairs(keys) do
    local nxt = {}
    for _, c in ipairs(configs) do
      for _, v in ipairs(grid[k]) do
        local d = copy(c)
        d[k] = v
        nxt[#nxt + 1] = d
      end
    end
    configs = nxt
  end
  if o.random then
    local rkeys = sorted_keys(o.ranges)
    for _, k in ipairs(rkeys) do
      local r = o.ranges[k]
      if type(k) ~= "string" then error("qnn.sweep: ranges keys must be strings", 0) end
      if grid[k] ~= nil then error("qnn.sweep: '" .. k .. "' is both in grid and in ranges", 0) end
      if type(r) ~= "table" then error("qnn.sweep: ranges." .. k .. " must be {min=, max= [, log=, int=]} or {choice={...}}", 0) end
      for rk in pairs(r) do
        if rk ~= "min" and rk ~= "max" and rk ~= "log" and rk ~= "int" and rk ~= "choice" then
          error("qnn.sweep: ranges." .. k .. ": unknown field '" .. tostring(rk) .. "' (allowed: min, max, log, int, choice)", 0)
        end
      end
      if r.choice then
        if type(r.choice) ~= "table" or #r.choice == 0 then error("qnn.sweep: ranges." .. k .. ".choice must be a non-empty list", 0) end
        for i, v in ipairs(r.choice) do check_value("ranges." .. k .. ".choice[" .. i .. "]", v) end
      else
        if type(r.min) ~= "number" or type(r.max) ~= "number" or not (r.max >= r.min)
           or r.min ~= r.min or r.max == math.huge or r.min == -math.huge then
          error("qnn.sweep: ranges." .. k .. " needs finite numbers min <= max", 0)
        end
        if r.log and not (r.min > 0) then error("qnn.sweep: ranges." .. k .. ": log = true needs min > 0", 0) end
      end
    end
    local rng = qnn.rng(o.random_seed or 1)
    local draws = {}
    for i = 1, o.random do
      local d = {}
      for _, k in ipairs(rkeys) do
        local r = o.ranges[k]
        if r.choice then
          d[k] = r.choice[rng:int(1, #r.choice)]
        elseif r.int then
          d[k] = rng:int(math.ceil(r.min), math.floor(r.max))
        elseif r.log then
          d[k] = tonumber(string.format("%.12g", math.exp(rng:uniform(math.log(r.min), math.log(r.max)))))
        else
          d[k] = tonumber(string.format("%.12g", rng:uniform(r.min, r.max)))
        end
      end
      draws[i] = d
    end
    local nxt = {}
    for _, c in ipairs(configs) do
      for _, d in ipairs(draws) do
        local x = copy(c)
        for k, v in pairs(d) do x[k] = v end
        nxt[#nxt + 1] = x
      end
    end
    configs = nxt
  end
  return configs
end

local function build_seeds(s)
  if s == nil then return {1} end
  if type(s) == "number" then
    if math.type(s) ~= "integer" and s ~= math.floor(s) or s < 1 or s > 100000 then
      error("qnn.sweep: seeds must be a count in [1, 100000] or a list of integers, got " .. tostring(s), 0)
    end
    local l = {}
    for i = 1, s do l[i] = i end
    return l
  end
  if type(s) ~= "table" or #s == 0 or not is_list(s) then
    error("qnn.sweep: seeds must be a count in [1, 100000] or a non-empty list of integers", 0)
  end
  local seen = {}
  for i, v in ipairs(s) do
    if math.type(v) ~= "integer" then error("qnn.sweep: seeds[" .. i .. "] must be an integer, got " .. tostring(v), 0) end
    if seen[v] then error("qnn.sweep: seed " .. v .. " appears twice in seeds", 0) end
    seen[v] = true
  end
  return s
end

local function script_name(o)
  if type(o.run) == "string" then return o.run end
  return o.script or (arg and arg[0])
end

local function sweep_name(o)
  if o.name then return o.name end
  local s = script_name(o)
  local base = s and s:match("([^/]+)%.lua$")
  return base and base:gsub("[^%w_%.%-]", "_") or "sweep"
end

-- everything that decides which runs there are and what they compute
local function build(o)
  check_opts(o)
  o = copy(o)
  for _, k in ipairs {"random", "workers", "threads", "ranks", "random_seed"} do
    if o[k] ~= nil then o[k] = math.tointeger(o[k]) end
  end
  local S = {opts = o}
  S.name = sweep_name(o)
  S.configs = build_configs(o)
  S.seeds = build_seeds(o.seeds)
  if #S.configs * #S.seeds > 10000000 then error("qnn.sweep: more than 10^7 runs", 0) end
  S.kind = type(o.run) == "function" and "function" or "script"
  S.args = o.args or {}
  for i, a in ipairs(S.args) do
    if type(a) ~= "string" and type(a) ~= "number" then error("qnn.sweep: args[" .. i .. "] must be a string", 0) end
  end
  if S.kind == "script" then
    S.seed_flag = o.seed_flag == nil and "--seed" or o.seed_flag
    S.out_flag = o.out_flag or false
  end
  S.out = o.out or ("results/sweeps/" .. S.name)
  local ident = {name = S.name, grid = o.grid or {}, ranges = o.ranges or {}, random = o.random or 0,
                 random_seed = o.random_seed or 1, seeds = S.seeds, kind = S.kind, args = S.args,
                 script = S.kind == "script" and o.run or nil, seed_flag = S.seed_flag,
                 out_flag = S.out_flag}
  S.ident = ident
  S.id = fnv1a(encode(ident))
  -- the run list: config-major, seeds inner
  S.runs = {}
  for ci, c in ipairs(S.configs) do
    local ckey = encode(c)
    for _, seed in ipairs(S.seeds) do
      local r = {index = #S.runs + 1, config = c, seed = seed, key = ckey .. "#" .. seed, cfg_index = ci}
      S.runs[#S.runs + 1] = r
    end
  end
  return S
end

---------------------------------------------------------------------------------------------
-- results files
---------------------------------------------------------------------------------------------
local FIXED = {"index", "status", "seed"}
local TAIL = {"wall", "cpu", "exit", "signal", "rank", "host", "commit", "error"}

local function csv_cell(x)
  if x == nil then return "" end
  if type(x) == "number" then return num_text(x) == "null" and "nan" or num_text(x) end
  if type(x) == "table" then x = encode(x) end
  local s = tostring(x)
  if s:find('[,"\n\r]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function csv_columns(S, rows)
  local ckeys, mkeys, seen = {}, {}, {}
  for _, k in ipairs(FIXED) do seen[k] = true end
  for _, k in ipairs(TAIL) do seen[k] = true end
  for _, c in ipairs(S.configs) do
    for k in pairs(c) do if not seen[k] then seen[k] = true; ckeys[#ckeys + 1] = k end end
  end
  table.sort(ckeys)
  local mseen = {}
  for _, r in ipairs(rows) do
    for k in pairs(r.metrics or {}) do
      if not mseen[k] then mseen[k] = true; mkeys[#mkeys + 1] = k end
    end
  end
  table.sort(mkeys)
  local cols = {}
  for _, k in ipairs(FIXED) do cols[#cols + 1] = {name = k, get = function(r) return r[k] end} end
  for _, k in ipairs(ckeys) do cols[#cols + 1] = {name = k, get = function(r) return r.config[k] end} end
  for _, k in ipairs(mkeys) do
    local name = seen[k] and ("metric." .. k) or k
    cols[#cols + 1] = {name = name, get = function(r) return (r.metrics or {})[k] end, metric = k}
  end
  for _, k in ipairs(TAIL) do cols[#cols + 1] = {name = k, get = function(r) return r[k] end} end
  return cols, mseen
end

local function csv_line(cols, r)
  local cells = {}
  for i, c in ipairs(cols) do cells[i] = csv_cell(c.get(r)) end
  return table.concat(cells, ",") .. "\n"
end

local function csv_rewrite(S, rows)
  S.csv_cols, S.csv_metrics = csv_columns(S, rows)
  local out = {}
  local head = {}
  for i, c in ipairs(S.csv_cols) do head[i] = csv_cell(c.name) end
  out[1] = table.concat(head, ",") .. "\n"
  for _, r in ipairs(rows) do out[#out + 1] = csv_line(S.csv_cols, r) end
  write_atomic(S.out .. "/runs.csv", table.concat(out))
end

-- Reads runs.jsonl: rows of this sweep (latest per key). Corrupted lines are skipped with a
-- warning; a row of another sweep is an error.
local function load_rows(path, id, warn)
  local text = read_file(path)
  local rows, order = {}, {}
  if not text then return rows, order, true end
  local lineno = 0
  for line in text:gmatch("([^\n]*)\n?") do
    lineno = lineno + 1
    if line:match("%S") then
      local r, err = decode(line)
      if type(r) ~= "table" or type(r.key) ~= "string" or type(r.status) ~= "string" then
        if warn then
          io.stderr:write(string.format("qnn.sweep: warning: %s:%d: corrupted line skipped (%s)\n", path, lineno,
            err and err:sub(1, 120) or "not a run record"))
        end
      elseif id and r.sweep ~= id then
        error(string.format("qnn.sweep: %s:%d holds a run of another sweep (id %s, this sweep is %s); " ..
          "use another out= directory", path, lineno, tostring(r.sweep), id), 0)
      else
        r.config = r.config or {}
        r.metrics = r.metrics or {}
        if not rows[r.key] then order[#order + 1] = r.key end
        rows[r.key] = r
      end
    end
  end
  return rows, order, text == "" or text:sub(-1) == "\n"
end

local function git_commit()
  local code, out = proc.run({"git", "rev-parse", "--short=12", "HEAD"})
  if code == 0 and out then
    local c = out:match("^(%x+)")
    if c then
      local dcode, dout = proc.run({"git", "status", "--porcelain", "--untracked-files=no"})
      if dcode == 0 and dout and dout:match("%S") then c = c .. "+dirty" end
      return c
    end
  end
  return "unknown"
end

local function open_out(S)
  local o = S.opts
  proc.mkdir(S.out)
  proc.mkdir(S.out .. "/logs")
  proc.mkdir(S.out .. "/work")
  local meta_path = S.out .. "/meta.json"
  local jsonl = S.out .. "/runs.jsonl"
  local meta_text = read_file(meta_path)
  if meta_text then
    local m = decode(meta_text)
    if type(m) ~= "table" or type(m.id) ~= "string" then
      error("qnn.sweep: " .. meta_path .. " is not a sweep meta file; use another out= directory", 0)
    end
    if m.id ~= S.id then
      error(string.format("qnn.sweep: %s belongs to a different sweep ('%s', id %s; this sweep '%s' has id %s: " ..
        "its grid, ranges, seeds, run or args differ); use another out= or delete that directory",
        S.out, tostring(m.name), m.id, S.name, S.id), 0)
    end
  end
  local has_rows = (read_file(jsonl) or ""):match("%S") ~= nil
  if has_rows and not o.resume then
    error("qnn.sweep: " .. jsonl .. " already holds results; pass resume = true to continue that sweep " ..
      "(finished runs are skipped) or choose another out=", 0)
  end
  if has_rows and not meta_text then
    error("qnn.sweep: " .. jsonl .. " has no meta.json beside it (not written by this sweep); use another out=", 0)
  end
  if not meta_text then
    write_atomic(meta_path, encode({id = S.id, name = S.name, sweep = S.ident, runs = #S.runs,
      created = os.date("!%Y-%m-%dT%H:%M:%SZ")}) .. "\n")
  end
  local rows, _, clean_end = load_rows(jsonl, S.id, true)
  if not clean_end then proc.append(jsonl, "\n") end -- a line cut by a kill stays on its own
  S.jsonl = jsonl
  S.done_rows = rows
end

local function append_row(S, row)
  proc.append(S.jsonl, encode(row) .. "\n")
  S.all_rows[#S.all_rows + 1] = row
  local new_metric = false
  for k in pairs(row.metrics or {}) do
    if not S.csv_metrics[k] then new_metric = true break end
  end
  if new_metric then csv_rewrite(S, S.all_rows)
  else proc.append(S.out .. "/runs.csv", csv_line(S.csv_cols, row)) end
end

---------------------------------------------------------------------------------------------
-- workers
---------------------------------------------------------------------------------------------
local function flag_value(v)
  if type(v) == "table" then
    local p = {}
    for i, x in ipairs(v) do p[i] = tostring(x) end
    return table.concat(p, ",")
  end
  if type(v) == "number" then return num_text(v) end
  return tostring(v)
end

local function host_exe(S)
  return S.opts.exe or proc.exe()
end

local function bootstrap()
  return string.format("package.path=%q package.cpath=%q", package.path, package.cpath)
end

-- argv and env of one run; files under out/work and out/logs named by run index
local function job_command(S, run, workdir)
  local base = string.format("%s/%d", workdir, run.index)
  local job = {result = base .. ".result.json", log = nil}
  local env = {QNN_QUIET = "1", QNN_SWEEP_CHILD = "1", QNN_SWEEP_JOB = false, QNN_SWEEP_RESULT = false,
               OMP_NUM_THREADS = tostring(S.threads), OPENBLAS_NUM_THREADS = tostring(S.threads)}
  local argv = {host_exe(S), "-e", bootstrap()}
  if S.kind == "function" then
    local jobfile = base .. ".job.json"
    write_atomic(jobfile, encode({sweep = S.id, key = run.key, index = run.index, config = run.config,
      seed = run.seed, result = job.result}) .. "\n")
    env.QNN_SWEEP_JOB = jobfile
    job.jobfile = jobfile
    argv[#argv + 1] = S.script
    for _, a in ipairs(S.script_args) do argv[#argv + 1] = tostring(a) end
  else
    env.QNN_SWEEP_RESULT = job.result
    argv[#argv + 1] = S.opts.run
    for _, a in ipairs(S.args) do argv[#argv + 1] = tostring(a) end
    for _, k in ipairs(sorted_keys(run.config)) do
      local v = run.config[k]
      if v == true then argv[#argv + 1] = "--" .. k
      elseif v ~= false then argv[#argv + 1] = "--" .. k .. "=" .. flag_value(v) end
    end
    if S.seed_flag then argv[#argv + 1] = S.seed_flag .. "=" .. run.seed end
    if S.out_flag then argv[#argv + 1] = S.out_flag .. "=" .. S.out .. "/runs/" .. run.index end
  end
  return argv, env, job
end

local function log_tail(path)
  local text = read_file(path)
  if not text then return nil end
  local last
  for line in text:gmatch("[^\n]+") do
    if line:match("%S") and not line:match("^%s*%[C%]") and not line:match("^stack traceback") and not line:match("^%s+") then
      last = line
    end
  end
  -- prefer the line with the error (the one before "stack traceback:")
  local err = text:match("([^\n]*)\nstack traceback:")
  return err or last
end

-- Turns how a worker ended plus its result file into a row.
local function finish_row(S, run, job, how, code, wall, extra)
  if job.jobfile then os.remove(job.jobfile) end
  local row = {sweep = S.id, name = S.name, key = run.key, index = run.index, config = run.config,
               seed = run.seed, wall = math.floor(wall * 1e4 + 0.5) / 1e4,
               cpu = job.cpu and math.floor(job.cpu * 1e4 + 0.5) / 1e4 or nil, host = extra and extra.host or S.host, commit = S.commit,
               time = os.date("!%Y-%m-%dT%H:%M:%SZ"), log = job.log, rank = extra and extra.rank or nil}
  if how == "exit" then row.exit = code elseif how == "signal" then row.signal = code end
  local text = job.result_text or read_file(job.result)
  if job.result then os.remove(job.result) end
  local res = text and decode(text) or nil
  if job.timed_out then
    row.status = "failed"
    row.error = string.format("timed out after %g s (killed)", S.opts.timeout)
  elseif S.kind == "function" and type(res) == "table" and res.status then
    row.status = res.status == "ok" and "ok" or "failed"
    row.metrics = res.metrics or {}
    row.error = res.error
  elseif S.kind == "script" and how == "exit" and code == 0 then
    row.status = "ok"
    if type(res) == "table" then
      row.metrics = flatten(res, "", {}, 0)
    else
      row.note = "the script wrote no result: no metrics (qnn.sweep.result{...} or a .json file through " ..
        "qnn.report sets them)"
    end
  else
    row.status = "failed"
    local tail = job.log and log_tail(job.log)
    if how == "signal" then
      row.error = string.format("killed by %s (signal %d)", proc.signame(code), code)
    elseif how == "exit" and code ~= 0 then
      row.error = string.format("exited with status %d%s", code, tail and (": " .. tail) or "")
    elseif how == "lost" then
      row.error = code
    else
      row.error = "the worker finished without reaching this qnn.sweep call (the script must make the same " ..
        "qnn.sweep{...} call every time it runs)"
    end
  end
  row.metrics = row.metrics or {}
  return row
end

local function start_run(S, run, workdir, logdir)
  local argv, env, job = job_command(S, run, workdir)
  os.remove(job.result)
  job.log = string.format("%s/%d.log", logdir, run.index)
  job.t0 = qnn.clock()
  job.pid = proc.spawn {argv = argv, env = env, stdout = job.log, stderr = "stdout"}
  job.run = run
  return job
end
M._start_run = start_run
M._finish_row = finish_row

local function progress_line(S, st, final)
  if S.silent then return end
  local now = qnn.clock()
  if not final and now - (S.last_draw or 0) < 0.2 then return end
  S.last_draw = now
  local el = now - S.t0
  local fin = st.done + st.failed
  local remaining = st.total - fin
  local eta = fin > 0 and el / fin * remaining or math.huge
  io.stdout:write(string.format("\rsweep %s: %d/%d done, %d running, %d failed, elapsed %s, ETA %s   ",
    S.name, fin, st.total, st.running, st.failed, fmt_time(el), final and "00:00" or fmt_time(eta)))
  if final then io.stdout:write("\n") end
  io.stdout:flush()
end

local function run_local(S, pending, emit, st)
  local running, nrun = {}, 0
  local qi = 1
  local function cleanup()
    for pid in pairs(running) do proc.kill(pid, "TERM") end
    for pid in pairs(running) do
      local ok = proc.wait({pid}, 2)
      if not ok then proc.kill(pid, "KILL"); proc.wait({pid}) end
    end
  end
  local ok, err = pcall(function()
    while qi <= #pending or nrun > 0 do
      while qi <= #pending and nrun < S.workers do
        local job = start_run(S, pending[qi], S.workdir, S.logdir)
        qi = qi + 1
        running[job.pid] = job
        nrun = nrun + 1
      end
      st.running = nrun
      local pids = {}
      for pid in pairs(running) do pids[#pids + 1] = pid end
      local pid, how, code, cpu = proc.wait(pids, 0.25)
      if pid then
        local job = running[pid]
        running[pid] = nil
        nrun = nrun - 1
        st.running = nrun
        job.cpu = cpu
        emit(finish_row(S, job.run, job, how, code, qnn.clock() - job.t0))
      elseif S.opts.timeout then
        local now = qnn.clock()
        for p, job in pairs(running) do
          if not job.timed_out and now - job.t0 > S.opts.timeout then
            job.timed_out = true
            proc.kill(p, "KILL")
          end
        end
      end
      progress_line(S, st)
    end
  end)
  if not ok then
    cleanup()
    error(err, 0)
  end
end

---------------------------------------------------------------------------------------------
-- worker mode (this process was started to run one job of a run = function sweep)
---------------------------------------------------------------------------------------------
local function worker_job()
  local path = os.getenv("QNN_SWEEP_JOB")
  if not path or path == "" then return nil end
  local text = read_file(path)
  if not text then error("qnn.sweep worker: cannot read job file " .. path, 0) end
  local job = decode(text)
  if type(job) ~= "table" then error("qnn.sweep worker: bad job file " .. path, 0) end
  return job
end

local function run_job(S, job)
  local cfg = copy(job.config or {})
  cfg.seed = job.seed
  local res
  local ok, m = xpcall(S.opts.run, function(e)
    if type(e) ~= "string" then e = tostring(e) end
    return debug.traceback(e, 2)
  end, cfg)
  if ok then
    if type(m) == "number" or type(m) == "boolean" then m = {value = m} end
    if type(m) ~= "table" then
      res = {status = "failed", error = "run returned " .. type(m) .. ", expected a table of metrics"}
    else
      res = {status = "ok", metrics = flatten(m, "", {}, 0)}
    end
  else
    local msg = tostring(m)
    res = {status = "failed", error = msg:match("^(.-)\nstack traceback") or msg, traceback = msg}
    io.stderr:write(msg, "\n")
  end
  write_atomic(job.result, encode(res) .. "\n")
  io.stdout:flush()
  io.stderr:flush()
  os.exit(res.status == "ok" and 0 or 1)
end

---------------------------------------------------------------------------------------------
-- the entry point
---------------------------------------------------------------------------------------------
local function load_existing(S)
  local rows = load_rows(S.out .. "/runs.jsonl", S.id, false)
  local list = {}
  for _, r in ipairs(S.runs) do
    if rows[r.key] then list[#list + 1] = rows[r.key] end
  end
  return list
end

local mpi_backend -- set below

local function under_mpi(S)
  if S.opts.backend == "mpi" then return true end
  if S.opts.backend == "local" then return false end
  if os.getenv("QNN_SWEEP_CHILD") then return false end
  if debug.getregistry()["qnn.host_mpi"] then return true end
  local n = tonumber(os.getenv("OMPI_COMM_WORLD_SIZE") or os.getenv("PMI_SIZE") or "")
  return n ~= nil and n > 1
end

function M.run(o)
  local S = build(o)
  o = S.opts
  -- worker mode: run the one job meant for this sweep, or hand back what is on disk
  local job = worker_job()
  if job then
    if job.sweep == S.id then
      if S.kind ~= "function" then error("qnn.sweep worker: job for a script sweep", 0) end
      run_job(S, job)
    end
    local rows = load_existing(S)
    return {done = 0, failed = 0, skipped = #rows, rows = rows, out = S.out, id = S.id, worker = true}
  end
  if S.kind == "function" then
    S.script = o.script or (arg and arg[0])
    if not S.script or S.script == "" or not exists(S.script) then
      error("qnn.sweep: run = function needs the sweep to be defined in a script file that the workers " ..
        "re-execute (bin/qnnlab script.lua); from the REPL or -e use run = \"script.lua\" or script = path", 2)
    end
    if o.script then S.script_args = o.script_args or {}
    else
      S.script_args = {}
      for i = 1, #(arg or {}) do S.script_args[i] = arg[i] end
    end
  elseif not exists(o.run) then
    error("qnn.sweep: run script '" .. o.run .. "' not found", 2)
  end
  if under_mpi(S) then return mpi_backend(S) end
  local ncpu = proc.ncpu()
  S.workers = o.workers or ncpu
  S.threads = o.threads or math.max(1, ncpu // S.workers)
  open_out(S)
  return M._execute(S, function(pending, emit, st)
    S.workdir, S.logdir = S.out .. "/work", S.out .. "/logs"
    run_local(S, pending, emit, st)
  end)
end

-- common driver: skip finished runs, run the rest through `backend`, write rows, return counts
function M._execute(S, backend)
  local o = S.opts
  S.host = proc.hostname()
  S.commit = git_commit()
  S.all_rows = {}
  local pending, skipped = {}, 0
  for _, r in ipairs(S.runs) do
    local prev = S.done_rows[r.key]
    if prev and (prev.status == "ok" or not o.retry_failed) then
      skipped = skipped + 1
      S.all_rows[#S.all_rows + 1] = prev
    else
      pending[#pending + 1] = r
    end
  end
  csv_rewrite(S, S.all_rows)
  S.silent = (o.progress == false) or (o.progress ~= true and quiet())
  S.t0 = qnn.clock()
  local st = {done = 0, failed = 0, running = 0, total = #pending}
  local final = {}
  backend(pending, function(row)
    append_row(S, row)
    final[row.key] = row
    if row.status == "ok" then st.done = st.done + 1 else st.failed = st.failed + 1 end
    progress_line(S, st)
  end, st)
  progress_line(S, st, true)
  local rows = {}
  for _, r in ipairs(S.runs) do
    local row = final[r.key] or S.done_rows[r.key]
    if row then rows[#rows + 1] = row end
  end
  if st.done + st.failed > 0 then csv_rewrite(S, rows) end -- runs.csv in run order
  return {done = st.done, failed = st.failed, skipped = skipped, rows = rows, out = S.out, id = S.id}
end

---------------------------------------------------------------------------------------------
-- copy of a sweep's runs.csv (e.g. under docs/results/data/, committed beside the tables)
---------------------------------------------------------------------------------------------
function M.export(src, path)
  local dir = type(src) == "table" and src.out or src
  if type(dir) ~= "string" then error("qnn.sweep.export: src must be a sweep directory or a qnn.sweep result", 2) end
  if type(path) ~= "string" or path == "" then error("qnn.sweep.export: path must be a non-empty string", 2) end
  local text = read_file(dir .. "/runs.csv")
  if not text then error("qnn.sweep.export: " .. dir .. "/runs.csv not found", 2) end
  local parent = path:match("^(.*)/[^/]*$")
  if parent and parent ~= "" then qnn.sys.mkdir(parent) end
  write_atomic(path, text)
  return path
end
doc(M.export, "export", "qnn.sweep.export(src, path) -> path",
  "src: a sweep directory or the table qnn.sweep returned; path: the copy to write (its directory is created).\n" ..
  "Copies the sweep's runs.csv atomically to path, e.g. docs/results/data/<name>.csv, so the per-seed rows " ..
  "behind a table can be committed and summarised later with qnn.sweep.summary(path, ...).")

---------------------------------------------------------------------------------------------
-- results of a script run: explicit metrics
---------------------------------------------------------------------------------------------
function M.result(metrics)
  if type(metrics) ~= "table" then error("qnn.sweep.result: metrics must be a table, got " .. type(metrics), 2) end
  local path = os.getenv("QNN_SWEEP_RESULT")
  if not path or path == "" then return false end
  write_atomic(path, encode(metrics) .. "\n")
  local report = qnn.report
  report._sweep_result_set = true
  return true
end

---------------------------------------------------------------------------------------------
-- statistics
---------------------------------------------------------------------------------------------
-- two-sided 95% quantile of Student's t, t(0.975, df)
function M.t975(df)
  if math.type(df) ~= "integer" and (type(df) ~= "number" or df ~= math.floor(df)) or df < 1 then
    error("qnn.sweep.t975: df must be an integer >= 1, got " .. tostring(df), 2)
  end
  return require("qnn.stats").t_quantile(0.975, df)
end

local function stats(xs)
  local n = #xs
  if n == 0 then return {n = 0, mean = 0 / 0, std = 0 / 0, ci = 0 / 0, lo = 0 / 0, hi = 0 / 0} end
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  local m = s / n
  local v = 0
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  local sd = n > 1 and math.sqrt(v / (n - 1)) or 0 / 0
  local ci = n > 1 and M.t975(n - 1) * sd / math.sqrt(n) or 0 / 0
  return {n = n, mean = m, std = sd, ci = ci, lo = m - ci, hi = m + ci}
end
M._stats = stats

--- Percentile bootstrap interval of stat(sample) (stat defaults to the mean).
function M.bootstrap(xs, stat, opts)
  if type(xs) ~= "table" or #xs == 0 then error("qnn.sweep.bootstrap: xs must be a non-empty list", 2) end
  if type(stat) == "table" and opts == nil then stat, opts = nil, stat end
  stat = stat or function(s) local t = 0 for _, x in ipairs(s) do t = t + x end return t / #s end
  if type(stat) ~= "function" then error("qnn.sweep.bootstrap: stat must be a function(sample) -> number", 2) end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "reps" and k ~= "seed" and k ~= "level" then
      error("qnn.sweep.bootstrap: unknown option '" .. tostring(k) .. "' (allowed: reps, seed, level)", 2)
    end
  end
  local reps, level = opts.reps or 2000, opts.level or 0.95
  if math.type(reps) ~= "integer" or reps < 10 or reps > 10000000 then
    error("qnn.sweep.bootstrap: reps must be an integer in [10, 1e7], got " .. tostring(reps), 2)
  end
  if type(level) ~= "number" or not (level > 0 and level < 1) then
    error("qnn.sweep.bootstrap: level must be in (0, 1), got " .. tostring(level), 2)
  end
  local r = require("qnn.stats").bootstrap(xs, stat, {resamples = reps, level = level, seed = opts.seed or 1})
  return r.lo, r.hi, r.estimate
end

local CSV_BOOKKEEPING = {index = true, status = true, seed = true, wall = true, cpu = true, exit = true,
  signal = true, rank = true, host = true, commit = true, error = true, note = true, log = true}

local function rows_of(src)
  if type(src) == "table" and src.rows then return src.rows, src.out end
  if type(src) ~= "string" then
    error("qnn.sweep.summary: source must be a sweep directory, a runs.jsonl path or a qnn.sweep result", 0)
  end
  local path = src
  if path:match("%.csv$") then
    -- a runs.csv (as qnn.sweep writes it, e.g. committed under docs/results/data/): config and
    -- metric columns cannot be told apart, so every column other than the bookkeeping ones is a
    -- metric; summary's by = {...} finds them all the same
    if not exists(path) then error("qnn.sweep.summary: " .. path .. " not found", 0) end
    local ok, recs, header = pcall(qnn.report.read_csv, path)
    if not ok then error("qnn.sweep.summary: " .. tostring(recs), 0) end
    local has = {}
    for _, h in ipairs(header) do has[h] = true end
    if not (has.status and has.seed) then
      error("qnn.sweep.summary: " .. path .. " is not a runs.csv of qnn.sweep (no status and seed columns)", 0)
    end
    local rows = {}
    for _, rec in ipairs(recs) do
      local r = {status = tostring(rec.status), seed = rec.seed, config = {}, metrics = {}}
      for k, v in pairs(rec) do
        if not CSV_BOOKKEEPING[k] then
          local plain = k:match("^metric%.(.+)$")
          if plain and not has[plain] then k = plain end -- "metric.x" only when x is also a config key
          r.metrics[k] = v
        end
      end
      rows[#rows + 1] = r
    end
    return rows, path:match("^(.*)/[^/]*$") or "."
  end
  if not path:match("%.jsonl$") then path = path .. "/runs.jsonl" end
  if not exists(path) then error("qnn.sweep.summary: " .. path .. " not found", 0) end
  local map, order = load_rows(path, nil, true)
  local rows = {}
  for _, k in ipairs(order) do rows[#rows + 1] = map[k] end
  return rows, path:match("^(.*)/[^/]*$") or "."
end

function M.load(src)
  local rows = rows_of(src)
  return rows
end

local function lookup(r, k)
  if k == "seed" then return r.seed end
  local v = r.config and r.config[k]
  if v == nil and r.metrics then v = r.metrics[k] end
  return v
end

local SUMMARY_KEYS = {by = true, metric = true, print = true, png = true, csv = true, title = true, ylabel = true,
  x = true, logx = true, logy = true}

function M.summary(src, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("qnn.sweep.summary: options must be a table", 2) end
  for k in pairs(opts) do
    if not SUMMARY_KEYS[k] then
      error("qnn.sweep.summary: unknown option '" .. tostring(k) .. "' (allowed: by, metric, print, png, csv, title, ylabel, x, logx, logy)", 2)
    end
  end
  local rows = rows_of(src)
  local metrics = opts.metric
  if type(metrics) == "string" then metrics = {metrics} end
  if type(metrics) ~= "table" or #metrics == 0 then
    error("qnn.sweep.summary: metric = \"name\" (or a list of names) is required", 2)
  end
  for i, m in ipairs(metrics) do
    if type(m) ~= "string" then error("qnn.sweep.summary: metric[" .. i .. "] must be a string", 2) end
  end
  local multi = #metrics > 1
  local by = opts.by
  if by == nil then
    local seen = {}
    by = {}
    for _, r in ipairs(rows) do
      for k in pairs(r.config or {}) do if not seen[k] then seen[k] = true; by[#by + 1] = k end end
    end
    table.sort(by)
  elseif type(by) == "string" then by = {by}
  elseif type(by) ~= "table" then error("qnn.sweep.summary: by must be a list of config keys", 2) end
  if opts.x ~= nil then
    local inby = false
    for _, k in ipairs(by) do if k == opts.x then inby = true end end
    if type(opts.x) ~= "string" or not inby then
      error("qnn.sweep.summary: x must be one of the by keys (" .. table.concat(by, ", ") .. "), got " .. tostring(opts.x), 2)
    end
  end
  -- groups of runs by the values of the `by` keys, in sorted order
  local groups, order = {}, {}
  for _, r in ipairs(rows) do
    local vals = {}
    for i, k in ipairs(by) do vals[i] = lookup(r, k) end
    local gk = encode(vals)
    if not groups[gk] then
      groups[gk] = {values = vals, rows = {}}
      order[#order + 1] = gk
    end
    table.insert(groups[gk].rows, r)
  end
  table.sort(order, function(a, b)
    local va, vb = groups[a].values, groups[b].values
    for i = 1, #by do
      local x, y = va[i], vb[i]
      if x ~= y then
        if type(x) == "number" and type(y) == "number" then return x < y end
        return tostring(x) < tostring(y)
      end
    end
    return false
  end)
  local result = {metric = opts.metric, by = by, groups = {},
    method = "95% CI = mean ± t(0.975, n-1)·sd/√n (Student t; sd with n-1)"}
  local header = {}
  if multi then header[1] = "metric" end
  for _, k in ipairs(by) do header[#header + 1] = k end
  for _, h in ipairs {"n", "mean", "sd", "95% CI (t)", "min", "max", "failed"} do header[#header + 1] = h end
  local trows = {}
  for _, metric in ipairs(metrics) do
    local found = false
    for _, gk in ipairs(order) do
      local g = groups[gk]
      local xs, failed, missing = {}, 0, 0
      for _, r in ipairs(g.rows) do
        if r.status == "ok" then
          local v = r.metrics and r.metrics[metric]
          if type(v) == "number" and v == v then xs[#xs + 1] = v; found = true else missing = missing + 1 end
        else
          failed = failed + 1
        end
      end
      local st = stats(xs)
      local mn, mx = math.huge, -math.huge
      for _, x in ipairs(xs) do mn, mx = math.min(mn, x), math.max(mx, x) end
      local entry = {metric = metric, n = st.n, mean = st.mean, std = st.std, ci = st.ci, lo = st.lo, hi = st.hi,
        min = st.n > 0 and mn or 0 / 0, max = st.n > 0 and mx or 0 / 0, failed = failed, missing = missing,
        values = xs}
      for i, k in ipairs(by) do entry[k] = g.values[i] end
      result.groups[#result.groups + 1] = entry
      local line = {}
      if multi then line[1] = metric end
      for i = 1, #by do line[#line + 1] = g.values[i] == nil and "-" or tostring(g.values[i]) end
      line[#line + 1] = st.n
      line[#line + 1] = st.n > 0 and string.format("%.4g", st.mean) or "-"
      line[#line + 1] = st.n > 1 and string.format("%.3g", st.std) or "-"
      line[#line + 1] = st.n > 1 and string.format("%.4g ± %.3g [%.4g, %.4g]", st.mean, st.ci, st.lo, st.hi) or "-"
      line[#line + 1] = st.n > 0 and string.format("%.4g", entry.min) or "-"
      line[#line + 1] = st.n > 0 and string.format("%.4g", entry.max) or "-"
      line[#line + 1] = failed
      trows[#trows + 1] = line
    end
    if #rows > 0 and not found then
      local names = {}
      for _, r in ipairs(rows) do
        for k, v in pairs(r.metrics or {}) do if type(v) == "number" then names[k] = true end end
      end
      local l = sorted_keys(names)
      error("qnn.sweep.summary: no run has a numeric metric '" .. metric .. "' (metrics: " ..
        (#l > 0 and table.concat(l, ", ", 1, math.min(#l, 40)) or "none") .. ")", 2)
    end
  end
  local report = qnn.report
  result.text = string.format("%s by %s (%s)\n", multi and (#metrics .. " metrics") or metrics[1],
    #by > 0 and table.concat(by, ", ") or "(all runs)", result.method) .. report.table(header, trows)
  if opts.print ~= false then print(result.text) end
  -- CSV of the summary and the error-bar plot
  local csv = opts.csv or (opts.png and (opts.png:gsub("%.png$", "") .. ".csv")) or nil
  if csv then
    local crow = {}
    for _, e in ipairs(result.groups) do
      local r = {metric = e.metric, n = e.n, mean = e.mean, sd = e.std, ci95 = e.ci, lo = e.lo, hi = e.hi,
        failed = e.failed}
      local lab = {}
      for _, k in ipairs(by) do r[k] = e[k]; lab[#lab + 1] = tostring(e[k]) end
      r.label = table.concat(lab, " ")
      crow[#crow + 1] = r
    end
    local cols = {"metric", "label"}
    for _, k in ipairs(by) do cols[#cols + 1] = k end
    for _, k in ipairs {"n", "mean", "sd", "ci95", "lo", "hi", "failed"} do cols[#cols + 1] = k end
    report.csv(csv, cols, crow)
    result.csv = csv
  end
  if opts.png and opts.x then
    -- error-bar lines against the numeric config key x: one series per metric and per value of
    -- the other `by` keys
    local xi
    for i, k in ipairs(by) do if k == opts.x then xi = i end end
    local series, sorder = {}, {}
    for _, e in ipairs(result.groups) do
      if type(e[opts.x]) == "number" and e.n > 0 then
        local lab = {}
        if multi then lab[1] = e.metric end
        for i, k in ipairs(by) do if i ~= xi then lab[#lab + 1] = k .. "=" .. tostring(e[k]) end end
        local name = #lab > 0 and table.concat(lab, " ") or (metrics[1] .. " (mean ± 95% CI, t)")
        if not series[name] then series[name] = {}; sorder[#sorder + 1] = name end
        table.insert(series[name], {x = e[opts.x], mean = e.mean, ci95 = e.n > 1 and e.ci or 0})
      end
    end
    local base = opts.png:gsub("%.png$", "")
    local ss = {}
    for si, name in ipairs(sorder) do
      local pts = series[name]
      table.sort(pts, function(p, q) return p.x < q.x end)
      local path = string.format("%s_series%d.csv", base, si)
      report.csv(path, {"x", "mean", "ci95"}, pts)
      ss[#ss + 1] = {csv = path, x = 1, y = 2, err = 3, title = name}
    end
    if #ss > 0 then
      result.png = report.plot {png = opts.png, csv = ss[1].csv, series = ss, xlabel = opts.x,
        ylabel = opts.ylabel or (multi and "value" or metrics[1]), logx = opts.logx, logy = opts.logy,
        title = opts.title or (table.concat(metrics, ", ") .. " vs " .. opts.x .. ": mean ± 95% CI (Student t)")}
    end
  elseif opts.png then
    -- one cluster per group of runs, one bar per metric, error bars = 95% CI
    local labels, vals, errs = {}, {}, {}
    for mi = 1, #metrics do vals[mi], errs[mi] = {}, {} end
    local ng = #order
    for i, e in ipairs(result.groups) do
      local mi, gi = (i - 1) // ng + 1, (i - 1) % ng + 1
      if mi == 1 then
        local lab = {}
        for _, k in ipairs(by) do lab[#lab + 1] = k .. "=" .. tostring(e[k]) end
        labels[gi] = #lab > 0 and table.concat(lab, " ") or "all runs"
      end
      vals[mi][gi] = e.n > 0 and e.mean or nil
      errs[mi][gi] = e.n > 1 and e.ci or 0
    end
    result.png = report.bars {png = opts.png, labels = labels, groups = metrics, values = vals, errors = errs,
      title = opts.title or (table.concat(metrics, ", ") .. ": mean ± 95% CI (Student t)"),
      ylabel = opts.ylabel or (multi and "value" or metrics[1]), logy = opts.logy}
  end
  return result
end

---------------------------------------------------------------------------------------------
-- MPI backend (lib/qnn_mpi.so, built only where mpicc exists; see src/mpi/)
---------------------------------------------------------------------------------------------
mpi_backend = function(S)
  return require("qnn.sweep.mpi")(S, M._I)
end

-- internals shared with lua/qnn/sweep/mpi.lua
M._I = {encode = encode, decode = decode, open_out = open_out, start_run = start_run,
  finish_row = finish_row, execute = function(S, backend) return M._execute(S, backend) end,
  load_existing = load_existing, git_commit = git_commit, progress_line = progress_line,
  write_atomic = write_atomic, read_file = read_file, exists = exists, bootstrap = bootstrap,
  host_exe = host_exe}

function M.rank()
  local mpi = package.loaded["qnn_mpi"] -- loaded only by the MPI backend
  if mpi and mpi.initialized() then return mpi.rank() end
  return 0
end

doc(M.run, "run", "qnn.sweep{run=, grid=, seeds=, ranges=, random=, out=, workers=, resume=, ...} -> {done=, failed=, skipped=, rows=, out=, id=}",
  "Runs every (config, seed) of a sweep in its own worker process and appends one JSON line per finished " ..
  "run to out/runs.jsonl (and a row to out/runs.csv). Options:\n" ..
  "  run: function(cfg) -> metrics table (cfg holds the config and cfg.seed; the worker re-executes this " ..
  "script, see docs/sweeps.md) or a script path (run with args, --key=value per config entry and seed_flag=N)\n" ..
  "  grid = {key = {values}}; seeds = N (1..N) or a list (default 1); random = N draws from " ..
  "ranges = {key = {min=, max=, log=, int=} | {choice = {...}}} (seeded by random_seed = 1)\n" ..
  "  name (default the script name); out (default results/sweeps/<name>); workers (default: CPU count); " ..
  "threads per worker (default CPUs / workers, sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS); timeout " ..
  "(s per run); resume = true skips finished runs (retry_failed = true reruns failed ones); args (list, " ..
  "for script runs), seed_flag = \"--seed\" | false, out_flag (e.g. \"--out\": a directory per run); " ..
  "script/script_args (file the workers re-execute, default arg[0] and arg[1..]); exe (interpreter); " ..
  "progress (default: when stdout is a TTY and QNN_QUIET is unset); backend = \"local\" | \"mpi\", ranks, " ..
  "mpirun, mpirun_args, rank_timeout (MPI).\nA run that errors, crashes or is killed is recorded with " ..
  "status \"failed\", its message and its exit status or signal; the sweep goes on. Unknown options, a " ..
  "results directory of another sweep and existing results without resume = true are errors.")
doc(M.result, "result", "qnn.sweep.result(metrics) -> boolean",
  "metrics: table. In a script run by a sweep (QNN_SWEEP_RESULT set) records the run's metrics (later " ..
  "qnn.report.json calls no longer replace them); returns false (and does nothing) outside a sweep.")
doc(M.summary, "summary", "qnn.sweep.summary(src, {metric=, by={...}, print=true, png=, x=, logx=, logy=, csv=, title=, ylabel=}) -> result",
  "src: a sweep directory, its runs.jsonl, its runs.csv (e.g. a copy committed under docs/results/data/; " ..
  "there every column is looked up by name for by and metric), or the table qnn.sweep returned; metric: a name or a list of names " ..
  "(then one table row per metric and group). Groups the ok runs by the " ..
  "config keys in by (default: every config key) and gives n, mean, sd (n-1), the 95% confidence interval " ..
  "mean ± t(0.975, n-1)·sd/√n (Student t), min, max and the failed count per group; prints the table " ..
  "(unless print = false), writes a CSV (csv=, or the png path with .csv when png= is given) and a gnuplot " ..
  "bar chart with 95% CI error bars (png=) through qnn.report.bars; with x = one of the by keys (numeric), " ..
  "error-bar lines of the mean against it instead (qnn.report.plot; logx = true or a base for a log axis), " ..
  "one line per value of the other keys; logy = true: log y axis (both plot kinds).\nReturns {metric=, by=, groups={...}, text=, method=}.")
doc(M.bootstrap, "bootstrap", "qnn.sweep.bootstrap(xs [, stat] [, {reps=2000, seed=1, level=0.95}]) -> lo, hi, estimate",
  "xs: non-empty list (numbers, or any values stat understands, e.g. {x, y} pairs for a fitted slope); " ..
  "stat: function(sample) -> number, default the mean. Percentile bootstrap: resamples xs with replacement " ..
  "reps times (seeded stream) and returns the (1-level)/2 and (1+level)/2 quantiles of stat and stat(xs).")
doc(M.load, "load", "qnn.sweep.load(src) -> rows",
  "src: a sweep directory or its runs.jsonl. Returns the latest row of every run (config, seed, status, " ..
  "metrics, error, exit, signal, wall, cpu, host, commit, ...), skipping corrupted lines with a warning.")
doc(M.t975, "t975", "qnn.sweep.t975(df) -> number",
  "df: integer >= 1. The 0.975 quantile of Student's t with df degrees of freedom (exact table to 30, " ..
  "Cornish-Fisher expansion above).")
doc(M.rank, "rank", "qnn.sweep.rank() -> integer",
  "This process's MPI rank (0 when not running under MPI). Code after a sweep runs on every rank; guard " ..
  "side effects with qnn.sweep.rank() == 0.")

return setmetatable(M, {__call = function(_, o) return M.run(o) end})
