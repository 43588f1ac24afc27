-- Runtime of the generated fuzz programs (tests/fuzz/fuzz.lua writes them, bin/qnnlab of the
-- ASan build runs them). Every line of a program is one self-contained statement F.x(line, ...)
-- so that a program still runs when any subset of its lines is removed (line-by-line shrinking).
-- Before each line the line number goes to stderr ("@<n>"), so the driver knows where a hang or
-- a crash happened. Also: `qnnlab rt.lua --api` prints the reflected API for the generator.
local qnn = require "qnn"
qnn.loadall()

local F = {}
local V = {}      -- object slots
F.V = V

-- ---------------- reflection ----------------
-- name -> function for every function and method: module functions by their path in the qnn
-- table, methods of C types from the registry metatables ("State:h", "State.__gc"), methods of
-- Lua classes (Dataset, Scaler, Schedule) by the name their doc string gives.
local docs = rawget(qnn, "_docs") or {}
local fns, sigs = {}, {}
local function add(name, f)
  if fns[name] == nil then
    fns[name] = f
    local rec = docs[f]
    sigs[name] = rec and rec.sig or name
  end
end
do
  local seen = {}
  local function walk(t, prefix, depth)
    if seen[t] or depth > 4 then return end
    seen[t] = true
    local keys = {}
    for k in pairs(t) do if type(k) == "string" then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = rawget(t, k)
      if type(v) == "function" then
        local rec = docs[v]
        local name = prefix .. k
        -- a Lua-class method documented as "Dataset:split" is known by that name
        if rec and rec.name and rec.name:match("^%u%w*:[%w_]+$") then name = rec.name end
        if rec and rec.sig and rec.sig:match("^%u%w*:[%w_]+") then name = rec.sig:match("^(%u%w*:[%w_]+)") end
        add(name, v)
      elseif type(v) == "table" and k:sub(1, 1) ~= "_" then
        walk(v, prefix .. k .. ".", depth + 1)
      end
    end
    local mt = getmetatable(t)
    if type(mt) == "table" then
      for _, mm in ipairs {"__call", "__tostring", "__len", "__index"} do
        if type(rawget(mt, mm)) == "function" then add(prefix:gsub("%.$", "") .. "." .. mm, rawget(mt, mm)) end
      end
    end
  end
  walk(qnn, "qnn.", 0)
  local reg = debug.getregistry()
  local tnames = {}
  for name, mt in pairs(reg) do
    if type(name) == "string" and name:match("^qnn%.%u") and type(mt) == "table" then tnames[#tnames + 1] = name end
  end
  table.sort(tnames)
  for _, tname in ipairs(tnames) do
    local mt = reg[tname]
    local cls = tname:sub(5)
    local methods = rawget(mt, "methods")
    if type(methods) ~= "table" then methods = type(rawget(mt, "__index")) == "table" and rawget(mt, "__index") or {} end
    local keys = {}
    for k in pairs(methods) do if type(k) == "string" then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do
      if type(methods[k]) == "function" then add(cls .. ":" .. k, methods[k]) end
    end
    keys = {}
    for k, v in pairs(mt) do if type(k) == "string" and k:sub(1, 2) == "__" and type(v) == "function" then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do add(cls .. "." .. k, mt[k]) end
  end
end
F.fns = fns

if arg and arg[1] == "--api" then
  local names = {}
  for k in pairs(fns) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do io.write(k, "\t", (sigs[k]:gsub("[\t\n]", " ")), "\n") end
  return
end

-- ---------------- known issues (tests/fuzz/known.lua) ----------------
-- {unless_closed = "Net"}: skip the call once any object of that type was closed, finalized
-- or dropped in this program (the borrowed-object bugs being fixed elsewhere).
local known = dofile((os.getenv("QNN_FUZZ_RT") or "tests/fuzz/rt.lua"):gsub("rt%.lua$", "known.lua")).known
local gone = {} -- type -> true once an object of that type was closed or dropped
local function went(o) if o ~= nil then gone[qnn.type(o)] = true end end
local function known_of(name)
  return known[name] or known[(name:match("^(%u[%w_]*)[:%.]") or "") .. ":*"]
end
local function skipped(name)
  local k = known_of(name)
  return type(k) == "table" and k.unless_closed and gone[k.unless_closed]
end
F.went = went

-- ---------------- values ----------------
local function mark(n) io.stderr:write("@", n, "\n") end

function F.v(k) return V[k] end

local function tensor(r, c)
  local ok, t = pcall(qnn.tensor.randn, r, c, {seed = r * 31 + c})
  return ok and t or nil
end
F.T = tensor

-- callbacks of several kinds: return a value, raise, yield, collect garbage, close a slot, re-enter
function F.cb(kind, a, b)
  local depth = 0
  return function(...)
    if kind == "ret" then return a
    elseif kind == "err" then error("fuzz callback error")
    elseif kind == "errobj" then error(setmetatable({}, {__tostring = function() error("tostring fails") end}))
    elseif kind == "yield" then return coroutine.yield(a)
    elseif kind == "gc" then collectgarbage("collect") return a
    elseif kind == "close" then
      local o = V[a]
      went(o)
      if o ~= nil then pcall(function() o:close() end) end
      collectgarbage("collect")
      return b
    elseif kind == "drop" then went(V[a]) V[a] = nil collectgarbage("collect") return b
    elseif kind == "reenter" then
      depth = depth + 1
      if depth < 3 then
        local f = fns[a]
        if f and not skipped(a) then pcall(f, ...) end
      end
      depth = depth - 1
      return b
    elseif kind == "args" then return ...
    elseif kind == "many" then return a, a, a, a, a, a, a, a
    end
  end
end

-- odd tables
function F.cyc() local t = {1, 2} t[3] = t t.self = t return t end
function F.mt(kind)
  if kind == "index_err" then return setmetatable({}, {__index = function() error("index fails") end}) end
  if kind == "len_huge" then return setmetatable({}, {__len = function() return math.maxinteger end}) end
  if kind == "len_neg" then return setmetatable({}, {__len = function() return -5 end}) end
  -- (finite: an __index answering every integer key makes ipairs endless, which is the caller's loop)
  if kind == "gc" then
    return setmetatable({1, 2}, {__index = function(_, k) collectgarbage("collect") return k == 3 and 3 or nil end})
  end
  return setmetatable({}, {__index = function(_, k) if type(k) ~= "number" then return k end end})
end
function F.str(n, byte) return string.rep(byte or "x", n) end
function F.seq(n, v) local t = {} for i = 1, n do t[i] = v or i end return t end
function F.grid(r, c, v) local t = {} for i = 1, r do t[i] = {} for j = 1, c do t[i][j] = v or (i + j) end end return t end
function F.co_obj() return coroutine.create(function() end) end
function F.ud() return io.stderr end

-- ---------------- statements ----------------
local STATS = os.getenv("FUZZ_STATS") and io.open(os.getenv("FUZZ_STATS"), "a")
local function store(dst, ok, r, name)
  if STATS and name then STATS:write(ok and "ok\t" or "err\t", name, ok and "" or ("\t" .. tostring(r):sub(1, 100):gsub("\n", " ")), "\n") STATS:flush() end
  if dst and dst > 0 and ok and r ~= nil then went(V[dst]) V[dst] = r end
end

-- call the named function with the given arguments, storing the first result in slot dst
local function closes(name) return name:match(":close$") or name:match("%.__gc$") or name:match("%.__close$") end

function F.c(n, name, dst, ...)
  mark(n)
  local f = fns[name]
  if not f or skipped(name) then return end
  if closes(name) then went((...)) end
  local ok, r = pcall(f, ...)
  store(dst, ok, r, name)
end

-- the same inside a coroutine (callbacks may yield); resumed a few times, then abandoned
function F.co(n, name, dst, ...)
  mark(n)
  local f = fns[name]
  if not f or skipped(name) then return end
  if closes(name) then went((...)) end
  local args = table.pack(...)
  local co = coroutine.create(function() return f(table.unpack(args, 1, args.n)) end)
  for _ = 1, 3 do
    local ok, r = coroutine.resume(co)
    if not ok or coroutine.status(co) == "dead" then store(dst, ok, r, name) break end
  end
  if coroutine.status(co) == "suspended" and n % 2 == 0 then pcall(coroutine.close, co) end
end

function F.close(n, k)
  mark(n)
  local o = V[k]
  went(o)
  if o ~= nil then pcall(function() return o:close() end) end
end

function F.drop(n, k, full)
  mark(n)
  went(V[k])
  V[k] = nil
  if full then collectgarbage("collect") else collectgarbage("step", 100) end
end

function F.gc(n)
  mark(n)
  collectgarbage("collect")
end

-- a to-be-closed variable holding slot k
function F.tbc(n, k, name, ...)
  mark(n)
  local o = V[k]
  if o == nil or skipped(name) then return end
  went(o)
  local f = fns[name]
  local args = table.pack(...)
  pcall(function()
    local x <close> = o
    if f then f(x, table.unpack(args, 1, args.n)) end
  end)
end

-- file fuzzing: write bytes to a file named after the format, run every reader on it
local readers = {
  csv = function(p)
    pcall(qnn.data.csv, p)
    pcall(qnn.data.csv, p, {header = true, label = -1})
    pcall(qnn.data.csv, p, {label = 1})
    pcall(qnn.report.read_csv, p)
    pcall(qnn.nq.read_csv, p)
  end,
  json = function(p)
    pcall(qnn.data.json, p)
    pcall(qnn.data.json, p, {key = "data"})
    pcall(qnn.data.json, p, {key = "data", cols = 3})
  end,
  idx = function(p)
    pcall(qnn.data.idx, p)
    pcall(qnn.data.idx, p, {labels = true})
    local ok, t = pcall(qnn.tensor.zeros, 4, 6)
    if ok then pcall(qnn.data.idx, p, {into = t, row = 2}) end
  end,
  net = function(p)
    local ok, net = pcall(qnn.nn.load, p)
    if ok and net then
      pcall(function()
        local _, cols = net:dims()
        local X = qnn.tensor.randn(2, cols or 3, {seed = 1})
        net:forward(X)
        net:backward(X, {1, 1})
        net:save(p .. ".again")
      end)
    end
  end,
  opt = function(p)
    local ok, opt = pcall(qnn.optim.load, p)
    if ok and opt then
      pcall(function()
        local net = qnn.nn.mlp{3, 4, 2, seed = 1}
        net:backward(qnn.tensor.randn(2, 3, {seed = 1}), {1, 2})
        opt:step(net)
        opt:step(net)
        opt:save(p .. ".again")
      end)
    end
  end,
  qasm = function(p)
    local f = io.open(p, "rb")
    local text = f and f:read("a") or ""
    if f then f:close() end
    local ok, c = pcall(qnn.circuit.from_qasm, text)
    if ok and c then
      pcall(function()
        local nq = c:nqubits()
        if nq <= 12 then c:run(qnn.state(nq)) end
        qnn.circuit.from_qasm(c:qasm())
        c:draw()
      end)
    end
  end,
}

function F.file(n, kind, bytes, name)
  mark(n)
  local p = name or ("fz." .. kind)
  local f = io.open(p, "wb")
  if not f then return end
  f:write(bytes)
  f:close()
  if readers[kind] then readers[kind](p) end
  if kind == "idx" and os.rename(p, p .. ".gz") then readers.idx(p .. ".gz") os.remove(p .. ".gz") end
  os.remove(p)
end

function F.done()
  io.stderr:write("@done\n")
  for k in pairs(V) do V[k] = nil end
  collectgarbage("collect")
  collectgarbage("collect")
  io.stderr:write("FUZZ-DONE\n")
end

return F
