-- qnnlab fuzzer (run by `make fuzz` through scripts/fuzz.sh, under stock lua5.4).
--
-- Generates random Lua programs over the whole Lua API (found by reflection: tests/fuzz/rt.lua
-- --api) with hostile arguments, closes, garbage collection, coroutines and erroring callbacks,
-- plus file programs that feed mutated seed files (tests/data/fuzz) to every parser, and runs
-- each in its own process of the ASan+UBSan build. It stops at the first sanitizer report, crash
-- or hang (a program running longer than FUZZ_HANG seconds), shrinks the program line by line
-- and prints the minimal reproducer.
--
-- Environment: FUZZ_S (seconds, default 60), FUZZ_SEED (default: time), FUZZ_HANG (60),
-- FUZZ_MODE (api | file | both, default both), FUZZ_LINES (lines per program, 40),
-- FUZZ_PROGRAM (run only program number i of the seed, for reproducing), FUZZ_KEEP (keep the
-- work directory), QNNLAB (the host to run, default build/asan/bin/qnnlab),
-- FUZZ_SHRINK_S (time budget for shrinking, 300).
-- Exit status: 0 when nothing was found, 1 on a finding (reproducer printed and saved).
local root = assert(os.getenv("QNN_ROOT"), "QNN_ROOT must be set (scripts/fuzz.sh sets it)")
local env = function(k, d) local v = os.getenv(k) if v == nil or v == "" then return d end return v end
local DURATION = tonumber(env("FUZZ_S", "60"))
local SEED = math.tointeger(tonumber(env("FUZZ_SEED", tostring(os.time())))) or 1
local HANG = tonumber(env("FUZZ_HANG", "60"))
local MODE = env("FUZZ_MODE", "both")
local NLINES = math.tointeger(tonumber(env("FUZZ_LINES", "40"))) or 40
local ONLY = math.tointeger(tonumber(env("FUZZ_PROGRAM", "")))
local QNNLAB = env("QNNLAB", root .. "/build/asan/bin/qnnlab")
local SHRINK_S = tonumber(env("FUZZ_SHRINK_S", "300"))
local RT = root .. "/tests/fuzz/rt.lua"
local known = dofile(root .. "/tests/fuzz/known.lua")

-- harness only: quoting for the few commands this driver runs (fixed tool names, our own paths)
local function sq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function sh(cmd) local ok, _, code = os.execute(cmd) return ok, code end
local function slurp(p) local f = io.open(p, "rb") if not f then return "" end local s = f:read("a") f:close() return s end
local function spit(p, s) local f = assert(io.open(p, "wb")) f:write(s) f:close() end
local function now() local p = io.popen("date +%s.%N") local t = tonumber(p:read("l")) p:close() return t end

local work = env("FUZZ_DIR", "")
if work == "" then
  local p = io.popen("mktemp -d /tmp/qnn-fuzz.XXXXXX")
  work = p:read("l")
  p:close()
end
sh("mkdir -p " .. sq(work))

-- ---------------- the API ----------------
local api = {}          -- list of {name, sig, cls, ret, args}
local by_ret = {}       -- type -> list of entries returning it
local by_cls = {}       -- class -> list of methods
local classes = {}
do
  local p = io.popen("cd " .. sq(work) .. " && QNN_QUIET=1 " .. sq(QNNLAB) .. " " .. sq(RT) .. " --api 2>/dev/null")
  for line in p:lines() do
    local name, sig = line:match("^([^\t]+)\t(.*)$")
    if name and not known.never[name] and type(known.known[name]) ~= "string" then
      local e = {name = name, sig = sig}
      e.cls = name:match("^(%u[%w_]*)[:%.]")
      e.meta = name:match("^%u[%w_]*%.(__[%w_]+)$")
      e.ret = sig:match("%->%s*(%u[%w_]*)")
      -- arguments: the text inside the first (...) or {...} after the name
      local open = sig:find("[%({]")
      e.table_arg = open and sig:sub(open, open) == "{"
      local args = {}
      if open then
        local depth, j, close = 0, open, nil
        while j <= #sig do
          local c = sig:sub(j, j)
          if c == "(" or c == "{" or c == "[" then depth = depth + 1 elseif c == ")" or c == "}" or c == "]" then
            depth = depth - 1
            if depth == 0 then close = j break end
          end
          j = j + 1
        end
        local inner = sig:sub(open + 1, (close or #sig + 1) - 1)
        if e.table_arg then
          e.keys = {}
          for k in inner:gmatch("([%a_][%w_]*)%s*=") do e.keys[#e.keys + 1] = k end
          e.positional = not inner:match("^%s*[%a_][%w_]*%s*=") -- {n0, n1, ...} or {layer, ...}
        else
          -- split on commas outside brackets
          local d, cur = 0, {}
          local parts = {}
          for c in inner:gmatch(".") do
            if c == "{" or c == "(" then d = d + 1 elseif c == "}" or c == ")" then d = d - 1 end
            if c == "," and d == 0 then parts[#parts + 1] = table.concat(cur) cur = {} else cur[#cur + 1] = c end
          end
          parts[#parts + 1] = table.concat(cur)
          for _, a in ipairs(parts) do
            local opt = a:find("%[") ~= nil
            local body = a:gsub("[%[%]]", ""):gsub("^%s+", ""):gsub("%s+$", "")
            if body:sub(1, 1) == "{" then
              local keys = {}
              for k in body:gmatch("([%a_][%w_]*)%s*=") do keys[#keys + 1] = k end
              args[#args + 1] = {name = "opts", keys = keys, opt = opt}
            elseif body ~= "" and body ~= "..." then
              args[#args + 1] = {name = body:match("^([%a_][%w_]*)") or body, opt = opt}
            end
          end
        end
      end
      e.args = args
      api[#api + 1] = e
      if e.ret then by_ret[e.ret] = by_ret[e.ret] or {} table.insert(by_ret[e.ret], e) end
      if e.cls then
        if not by_cls[e.cls] then by_cls[e.cls] = {} classes[#classes + 1] = e.cls end
        table.insert(by_cls[e.cls], e)
      end
    end
  end
  p:close()
  if #api == 0 then io.stderr:write("fuzz: no API found (is " .. QNNLAB .. " built?)\n") os.exit(2) end
end
local modfns = {}
for _, e in ipairs(api) do if not e.cls and not e.name:match("%.__") then modfns[#modfns + 1] = e end end

-- ---------------- random values (as Lua source text) ----------------
local R -- set per program: function(n) -> 1..n, or R() -> [0, 1)
local function pick(t) return t[R(#t)] end
local function chance(p) return R() < p end

local function lit_str(s)
  return '"' .. s:gsub('[%c"\\\128-\255]', function(c) return ("\\%03d"):format(c:byte()) end) .. '"'
end

local NSLOT = 12
local slot_type -- per program: slot -> guessed type

local function slot_of(t)
  local c = {}
  for k = 1, NSLOT do if slot_type[k] == t then c[#c + 1] = k end end
  if #c == 0 then return nil end
  return pick(c)
end
local function any_slot() return "F.v(" .. R(NSLOT) .. ")" end

local ODD_NAMES = {"out.csv", "a b.json", "d$(x)/f.ckpt", "q'\"`z`.png", "nl\nname.csv", "-rf", "sub/dir/x.txt",
  "x.tmp.1", ".", "none/such/deep/file", "iris", "mnist", "wine", "digits", "fashion_mnist"}
local ODD_STRINGS = {"", "x", "\0", "\255\254\0abc", "nan", "inf", "-inf", "1e999", "-0", "0x10", " 1 ", "\n",
  "relu", "softmax", "sigmoid", "tanh", "exact", "shared", "sa", "sqa", "grover", "adam", "sgd", "textbook",
  "threshold", "single", "double", "full", "ZI", "XX", "ZZZ", "theta", "all", "train", "test", "cross_entropy",
  "mse", "counts", "lowest", "OPENQASM 2.0; qreg q[2]; h q[0]; cx q[0],q[1];", "%s%n%d", ("\226\130\172"):rep(3)}

local function int_small() return pick{0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 8} end
local function int_any(small)
  if small or chance(0.8) then return tostring(int_small()) end
  return pick{"-1", "-2", "7", "10", "12", "16", "20", "64", "100", "1000", "2^31", "2^32", "math.maxinteger",
    "math.mininteger", "1e9", "1e18", "-2^31", "0.5", "2.5", "0/0", "1/0", "-1/0", "1e308"}
end
local function num_any(small)
  if small or chance(0.75) then return pick{"0", "1", "0.5", "-0.5", "0.1", "3.14159", "2", "1e-3", "0.9", "-1"} end
  return pick{"0/0", "1/0", "-1/0", "1e308", "-1e308", "5e-324", "-0.0", "math.maxinteger", "math.mininteger",
    "1e9", "2^53", "-2^63"}
end

local gen_value

local function small_table(depth, small)
  local k = R(6) - 1
  local parts = {}
  for i = 1, k do parts[i] = (depth > 1 or chance(0.7)) and num_any(small) or gen_value("any", depth + 1, small) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function hostile(depth)
  local r = R(30)
  if r == 1 then return "nil" elseif r == 2 then return "true" elseif r == 3 then return "false"
  elseif r <= 6 then return int_any()
  elseif r <= 8 then return num_any()
  elseif r <= 11 then return lit_str(pick(ODD_STRINGS))
  elseif r == 12 then return "F.str(" .. pick{"100", "4096", "100000"} .. ")"
  elseif r <= 14 then return pick{"{}", "{{}}", "{1, {2}}", "{{1, 2}, {3}}", "{x = 1}", "{0/0, 1/0}", "{{0/0}}",
    "{1, nil, 3}", "{[0] = 1, [-1] = 2}", "{\"a\", \"b\"}"}
  elseif r == 15 then return "F.cyc()"
  elseif r == 16 then return "F.mt(" .. lit_str(pick{"index_err", "len_huge", "len_neg", "gc", "echo"}) .. ")"
  elseif r <= 19 then
    local kind = pick{"ret", "err", "errobj", "yield", "gc", "close", "drop", "reenter", "args", "many"}
    local a = (kind == "close" or kind == "drop") and tostring(R(NSLOT))
      or kind == "reenter" and lit_str(pick(api).name) or num_any()
    return ("F.cb(%s, %s, %s)"):format(lit_str(kind), a, num_any())
  elseif r == 20 then return pick{"F.co_obj()", "F.ud()", "print", "F"}
  elseif r <= 24 then return any_slot()
  elseif r <= 26 then return ("F.T(%d, %d)"):format(R(5), R(5))
  elseif r == 27 then return ("F.seq(%s, %s)"):format(pick{"0", "3", "10", "1000"}, pick{"nil", "1", "0.5", "0/0", "-1"})
  elseif r == 28 then return ("F.grid(%d, %d, %s)"):format(R(4), R(4), pick{"nil", "1", "0.5", "0/0"})
  else return small_table(depth + 1) end
end

local TYPE_HINT = {
  State = "State", state = "State", other = "same", rho = "Density", density = "Density", circuit = "Circuit",
  c = "Circuit", net = "Net", model = "Net", target = "Net", X = "Tensor", Y = "Tensor", T = "Tensor", W = "Tensor",
  A = "Tensor", B = "Tensor", tensor = "Tensor", Q = "Tensor", into = "Tensor", rng = "Rng", opt = "Optimizer",
  optimizer = "Optimizer", ising = "Ising", schedule = "Schedule", data = "Dataset", ds = "Dataset",
  train = "Dataset", test = "Dataset", val = "Dataset", scaler = "Scaler",
}
local INT_NAMES = {n = 1, q = 1, k = 1, i = 1, j = 1, row = 1, col = 1, rows = 1, cols = 1, size = 1, count = 1,
  shots = 1, steps = 1, epochs = 1, iters = 1, iterations = 1, seed = 1, salt = 1, depth = 1, reps = 1, layer = 1,
  index = 1, fd = 1, m = 1, ["in"] = 1, out = 1, width = 1, height = 1, axis = 1, times = 1, bits = 1, hidden = 1,
  control = 1, target = 1, a = 1, b = 1, qubit = 1, points = 1, reads = 1, sweeps = 1, batch = 1, nclasses = 1,
  max_steps = 1, block = 1, passes = 1, slices = 1, dim = 1, resolution = 1, ancilla = 1, l = 1, r = 1, x = 1,
  n0 = 1, n1 = 1, nk = 1, register = 1, cols_ = 1, base = 1, settle = 1, per_batch = 1}
local NUM_NAMES = {theta = 1, phi = 1, lambda = 1, lr = 1, p = 1, gamma = 1, beta = 1, alpha = 1, eps = 1,
  v = 1, value = 1, scale = 1, mean = 1, std = 1, lo = 1, hi = 1, g = 1, t = 1, s = 1, time = 1, offset = 1,
  threshold = 1, tol = 1, l2 = 1, momentum = 1, weight_decay = 1, eta = 1, b0 = 1, b1 = 1, z = 1, prior_angle = 1,
  r_prev = 1, init_scale = 1, theta_scale = 1, dampening = 1, p1 = 1, p2 = 1, amp_damp = 1, phase_damp = 1,
  bit_flip = 1, phase_flip = 1, ymin = 1, ymax = 1, time_limit = 1, mu = 1, sd = 1, dt = 1, temperature = 1}
local PATH_NAMES = {path = 1, file = 1, dir = 1, out = 1, png = 1, csv = 1, out_dir = 1, files = 1}
local STR_NAMES = {text = 1, name = 1, s = 1, fmt = 1, key = 1, label = 1, kind = 1, mode = 1, rule = 1, init = 1,
  loss = 1, sampler = 1, oracle = 1, circuit = 1, pauli = 1, obs = 1, observable = 1, precision = 1, hidden = 1,
  output = 1, activation = 1, normalize = 1, pick = 1, weighting = 1, split = 1, group = 1, metric = 1, title = 1,
  xlabel = 1, ylabel = 1, preset = 1, fname = 1, nudge = 1, accept = 1}
local FN_NAMES = {fn = 1, f = 1, callback = 1, on_epoch = 1, on_step = 1, policy = 1, closure = 1, data = 1,
  label = 1, oracle = 1, candidates = 1, accept = 1, eta = 1}
local LIST_NAMES = {list = 1, labels = 1, values = 1, rows = 1, header = 1, xs = 1, ys = 1, marked = 1, qubits = 1,
  phases = 1, amps = 1, sizes = 1, y = 1, h = 1, J = 1, groups = 1, series = 1, configs = 1, seeds = 1, order = 1,
  betas = 1, idx = 1, indices = 1, classes = 1, names = 1, params = 1, angles = 1, t = 1, cols = 1, argv = 1}

local function path_value()
  return lit_str(pick(ODD_NAMES))
end

gen_value = function(hint, depth, small, self_cls)
  depth = depth or 1
  if depth > 3 then return int_any(true) end
  if not small and chance(0.12) then return hostile(depth) end
  local ty = TYPE_HINT[hint]
  if ty == "same" then ty = self_cls end
  if ty then
    local k = slot_of(ty)
    if k and chance(0.85) then return "F.v(" .. k .. ")" end
    if ty == "Tensor" then return ("F.T(%d, %d)"):format(R(4), R(4)) end
  end
  if PATH_NAMES[hint] and chance(0.7) then return path_value() end
  if INT_NAMES[hint] and chance(0.8) then return int_any(small) end
  if NUM_NAMES[hint] and chance(0.8) then return num_any(small) end
  if FN_NAMES[hint] and chance(0.6) then
    local kind = pick{"ret", "ret", "ret", "err", "gc", "yield", "args", "close", "reenter"}
    local a = kind == "close" and tostring(R(NSLOT)) or kind == "reenter" and lit_str(pick(api).name) or num_any(true)
    return ("F.cb(%s, %s, %s)"):format(lit_str(kind), a, num_any(true))
  end
  if LIST_NAMES[hint] and chance(0.8) then
    local r = R(6)
    if r == 1 then return ("F.seq(%d)"):format(R(6)) end
    if r == 2 then return ("F.grid(%d, %d)"):format(R(4), R(4)) end
    if r == 3 then return ("F.T(%d, %d)"):format(R(4), R(4)) end
    return small_table(depth, small)
  end
  if STR_NAMES[hint] and chance(0.8) then return lit_str(pick(ODD_STRINGS)) end
  -- unknown name: anything plausible
  local r = R(6)
  if r == 1 then return int_any(small) elseif r == 2 then return num_any(small)
  elseif r == 3 then return any_slot() elseif r == 4 then return lit_str(pick(ODD_STRINGS))
  elseif r == 5 then return ("F.T(%d, %d)"):format(R(4), R(4)) end
  return small_table(depth, small)
end

local function opts_value(keys, depth, small)
  local parts = {}
  for _, k in ipairs(keys or {}) do
    if chance(0.4) then parts[#parts + 1] = k .. " = " .. gen_value(k, depth + 1, small) end
  end
  if not small and chance(0.1) then parts[#parts + 1] = "bogus_key = 1" end
  if chance(0.3) then parts[#parts + 1] = "seed = " .. R(100) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

-- the argument list (text) of a call to e; self_expr for methods
local function gen_args(e, self_expr, small)
  local lim = known.known[e.name] or known.known[(e.cls or "") .. ":*"]
  if type(lim) == "table" and lim.small then small = true end
  local out = {}
  if self_expr then out[1] = self_expr end
  if e.meta and not self_expr then out[#out + 1] = any_slot() end
  if e.table_arg then
    local parts = {}
    if e.positional then
      if e.name:match("sequential") then
        for _ = 1, R(4) do
          parts[#parts + 1] = pick{"qnn.nn.dense(" .. R(4) .. ", " .. R(4) .. ")", "qnn.nn.relu()", "qnn.nn.tanh()",
            "qnn.nn.softmax()", "qnn.nn.sign()", "qnn.nn.sigmoid()", "qnn.nn.identity()", gen_value("any", 2, small)}
        end
      else
        for _ = 1, R(4) do parts[#parts + 1] = int_any(small) end
      end
    end
    for _, k in ipairs(e.keys) do
      if chance(0.6) then parts[#parts + 1] = k .. " = " .. gen_value(k, 2, small, e.cls) end
    end
    if not small and chance(0.08) then parts[#parts + 1] = "bogus_key = 1" end
    local t = "{" .. table.concat(parts, ", ") .. "}"
    if not small and chance(0.05) then t = hostile(1) end
    out[#out + 1] = t
  else
    for i, a in ipairs(e.args) do
      if a.opt and chance(0.35) then break end
      if a.name == "opts" then out[#out + 1] = opts_value(a.keys, 1, small)
      else out[#out + 1] = gen_value(a.name, 1, small, e.cls) end
      if i > 8 then break end
    end
    if not small and chance(0.08) then out[#out + 1] = hostile(1) end
  end
  return table.concat(out, ", ")
end

-- constructors with sensible arguments, so each class shows up with working objects
local RECIPES = {
  {"qnn.state", "State", function() return tostring(R(5)) end},
  {"qnn.density", "Density", function() return tostring(R(3)) end},
  {"qnn.circuit.__call", "Circuit", function() return "qnn.circuit, " .. R(4) end},
  {"qnn.circuit.from_qasm", "Circuit", function() return lit_str("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; h q[0]; rx(0.3) q[1]; cx q[0],q[1];") end},
  {"qnn.tensor.randn", "Tensor", function() return R(5) .. ", " .. R(5) .. ", {seed = " .. R(9) .. "}" end},
  {"qnn.tensor.from", "Tensor", function() return ("F.grid(%d, %d)"):format(R(4), R(4)) end},
  {"qnn.nn.mlp", "Net", function() return ("{%d, %d, %d, seed = %d}"):format(chance(0.7) and 3 or R(4), R(5), 1 + R(3), R(9)) end},
  {"qnn.nn.sequential", "Net", function() return "{qnn.nn.dense(3, 4), qnn.nn.relu(), qnn.nn.dense(4, 2), qnn.nn.softmax(), seed = 1}" end},
  {"qnn.optim.adam", "Optimizer", function() return "{lr = 0.01}" end},
  {"qnn.optim.sgd", "Optimizer", function() return "{lr = 0.1, momentum = 0.9}" end},
  {"qnn.rng", "Rng", function() return tostring(R(99)) end},
  {"qnn.ising.model", "Ising", function() return "{n = 3, h = {0.1, -0.2, 0.3}, J = {{1, 2, -1}, {2, 3, 0.5}}}" end},
  {"qnn.ising.from_qubo", "Ising", function() return "F.grid(3, 3, 0.5)" end},
  {"qnn.optim.ising_net", "IsingNet", function() return ("{%d, %d, %d, seed = 1}"):format(1 + R(3), R(4), 1 + R(2)) end},
  {"qnn.optim.grover_trainer", "GroverTrainer", function(slot)
    local net = slot("Net")
    return (net and ("F.v(" .. net .. ")") or "qnn.nn.mlp{3, 4, 2, seed = 1}") .. ", F.T(2, 3), {1, 2}" end},
  {"qnn.nn.quantum_train", "QuantumTrain", function(slot)
    local net = slot("Net")
    return "{target = " .. (net and ("F.v(" .. net .. ")") or "qnn.nn.mlp{3, 4, 2, seed = 1}") .. ", depth = 2, seed = 1}" end},
  {"qnn.data.from", "Dataset", function() return "{X = F.T(6, 3), y = {1, 2, 1, 2, 1, 2}}" end},
  {"qnn.data.load", "Dataset", function() return lit_str("iris") end},
  {"qnn.anneal.linear", "Schedule", function() return "" end},
  {"qnn.noise.model", "NoiseModel", function() return "{p1 = 0.01, p2 = 0.02}" end},
}

-- ---------------- mutation of seed files ----------------
local seeds = {}
do
  local dir = root .. "/tests/data/fuzz"
  local p = io.popen("ls " .. sq(dir) .. " 2>/dev/null")
  for f in p:lines() do
    local kind = f:match("%.(%w+)$")
    if kind == "gz" then kind = f:match("%.(%w+)%.gz$") end
    if kind then
      seeds[kind] = seeds[kind] or {}
      table.insert(seeds[kind], slurp(dir .. "/" .. f))
    end
  end
  p:close()
end
local seed_kinds = {}
for k in pairs(seeds) do seed_kinds[#seed_kinds + 1] = k end
table.sort(seed_kinds)

local TOKENS = {"1e999", "-1e999", "nan", "inf", "-", "+", ".", "e", ",", "\n", "\r\n", "\"", "[", "]", "{", "}",
  "[[[[[[[[", "]]]]", "99999999999999999999", "-1", "0", "4294967295", "2147483648", "1e-400", "null", "true",
  ":", "\0", "\255", "((((((((", "))))", "qreg q[100];", "creg c[2];", "measure q -> c;", "gate g a { h a; }",
  "u3(pi,pi/2,-pi) q[0];", "pi", "/", "*", "^", "barrier q;", "if(c==1)", "include \"qelib1.inc\";"}
local U32 = {0, 1, 2, 3, 255, 256, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 784, 60000}

local function mutate(s, kind)
  local rounds = R(6)
  for _ = 1, rounds do
    local n = #s
    local r = R(10)
    local pos = n > 0 and R(n) or 1
    if r == 1 and n > 0 then -- flip a bit
      local b = s:byte(pos) ~ (1 << (R(8) - 1))
      s = s:sub(1, pos - 1) .. string.char(b) .. s:sub(pos + 1)
    elseif r == 2 and n > 0 then -- interesting byte
      s = s:sub(1, pos - 1) .. string.char(pick{0, 1, 0x7f, 0x80, 0xff, 0x2c, 0x0a, 0x22}) .. s:sub(pos + 1)
    elseif r == 3 then -- token
      s = s:sub(1, pos - 1) .. pick(TOKENS) .. s:sub(pos)
    elseif r == 4 and n > 0 then -- delete a range
      s = s:sub(1, pos - 1) .. s:sub(pos + R(math.min(64, n)))
    elseif r == 5 and n > 0 then -- duplicate a range
      local len = R(math.min(256, n - pos + 1))
      s = s:sub(1, pos + len - 1) .. s:sub(pos, pos + len - 1):rep(R(4)) .. s:sub(pos + len)
    elseif r == 6 then -- truncate
      s = s:sub(1, n > 0 and R(n) - 1 or 0)
    elseif r == 7 and n >= 4 then -- big-endian u32 (IDX dimensions, checkpoint counts)
      local at = pick{1, 5, 9, 13, 17, R(math.max(1, n - 3))}
      local v = pick(U32)
      s = s:sub(1, at - 1) .. string.pack(">I4", v) .. s:sub(at + 4)
    elseif r == 8 and n >= 8 then -- little-endian u32/u64 / double
      local at = R(n - 7)
      local packed = pick{string.pack("<I4", pick(U32)), string.pack("<d", pick{0/0, 1/0, -1/0, 1e308, 0, -1}),
        string.pack("<i8", pick{-1, math.maxinteger, 1 << 40, 0})}
      s = s:sub(1, at - 1) .. packed .. s:sub(at + #packed)
    elseif r == 9 and #(seeds[kind] or {}) > 1 then -- splice with another seed of the kind
      local other = pick(seeds[kind])
      local cut = R(#other + 1) - 1
      s = s:sub(1, pos) .. other:sub(cut + 1)
    else -- random bytes
      local k = R(8)
      local b = {}
      for i = 1, k do b[i] = string.char(R(256) - 1) end
      s = s:sub(1, pos - 1) .. table.concat(b) .. s:sub(pos)
    end
    if #s > 1 << 20 then s = s:sub(1, 1 << 20) end
  end
  return s
end

-- ---------------- program generation ----------------
local function gen_program(pseed, mode)
  math.randomseed(pseed)
  R = math.random
  slot_type = {}
  local lines = {}
  local function line(fmt, ...)
    lines[#lines + 1] = fmt:format(#lines + 1, ...):gsub(", %)$", ")")
  end
  local function construct(small)
    local rec = pick(RECIPES)
    local k = R(NSLOT)
    line("F.c(%d, %s, %d, %s)", lit_str(rec[1]), k, rec[3](slot_of))
    slot_type[k] = rec[2]
  end
  local file_prog = mode == "file" or (mode == "both" and chance(0.3))
  if file_prog and #seed_kinds > 0 then
    for _ = 1, NLINES do
      local kind = pick(seed_kinds)
      local bytes = mutate(pick(seeds[kind]), kind)
      line("F.file(%d, %s, %s)", lit_str(kind), lit_str(bytes))
    end
    return lines
  end
  for _ = 1, 3 + R(3) do construct() end
  for _ = 1, NLINES do
    local r = R(100)
    if r <= 60 then -- a method on an object of its class
      local present = {}
      for k = 1, NSLOT do if slot_type[k] and by_cls[slot_type[k]] then present[#present + 1] = k end end
      if #present == 0 then construct() else
        local k = pick(present)
        local cls = slot_type[k]
        local e = pick(by_cls[cls])
        if chance(0.05) then e = pick(api) end -- wrong receiver
        local dst = 0
        if e.ret and chance(0.35) then -- prefer a free slot or one of the same type
          dst = R(NSLOT)
          for _ = 1, 4 do if slot_type[dst] == nil or slot_type[dst] == e.ret then break end dst = R(NSLOT) end
        end
        local self = chance(0.93) and ("F.v(" .. k .. ")") or hostile(1)
        line("F.c(%d, %s, %d, %s)", lit_str(e.name), dst, gen_args(e, self))
        if dst > 0 then slot_type[dst] = e.ret end
      end
    elseif r <= 75 then
      local e = pick(modfns)
      local dst = 0
      if chance(0.5) then
        dst = R(NSLOT)
        for _ = 1, 4 do if slot_type[dst] == nil or slot_type[dst] == e.ret then break end dst = R(NSLOT) end
      end
      local args = gen_args(e)
      if e.name:match("%.__call$") then args = "nil" .. (args ~= "" and ", " .. args or "") end
      line("F.c(%d, %s, %d, %s)", lit_str(e.name), dst, args)
      if dst > 0 then slot_type[dst] = e.ret end
    elseif r <= 80 then construct()
    elseif r <= 85 then line("F.close(%d, %d)", R(NSLOT))
    elseif r <= 88 then line("F.drop(%d, %d, %s)", R(NSLOT), tostring(chance(0.5)))
    elseif r <= 90 then line("F.gc(%d)")
    elseif r <= 95 then -- in a coroutine, with a yielding / erroring callback likely among the args
      local e = pick(api)
      local self
      if e.cls then local k = slot_of(e.cls) self = k and ("F.v(" .. k .. ")") or any_slot() end
      line("F.co(%d, %s, %d, %s)", lit_str(e.name), R(NSLOT), gen_args(e, self))
    else
      local k = R(NSLOT)
      local cls = slot_type[k]
      local e = cls and by_cls[cls] and pick(by_cls[cls]) or pick(api)
      line("F.tbc(%d, %d, %s%s)", k, lit_str(e.name), (function()
        local a = gen_args(e, nil, true)
        return a ~= "" and (", " .. a) or ""
      end)())
    end
  end
  return lines
end

local HEADER = "local F = dofile(os.getenv(\"QNN_FUZZ_RT\")) local qnn = require \"qnn\""
local FOOTER = "F.done()"

local function program_text(lines)
  return HEADER .. "\n" .. table.concat(lines, "\n") .. "\n" .. FOOTER .. "\n"
end

-- ---------------- running ----------------
local ASAN = "detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=1024:soft_rss_limit_mb=3072:" ..
  "abort_on_error=0:handle_abort=1:detect_stack_use_after_return=0:malloc_context_size=20"
local UBSAN = "print_stacktrace=1:halt_on_error=1"
local LSAN = "suppressions=" .. root .. "/tests/lsan.supp"

-- runs program text; returns verdict ("ok" | "sanitizer" | "crash" | "hang"), detail, last line, stderr
local function run(text, timeout)
  local dir = work .. "/run"
  sh("rm -rf " .. sq(dir) .. " && mkdir -p " .. sq(dir))
  local prog = work .. "/prog.lua"
  spit(prog, text)
  local errf = work .. "/stderr.txt"
  local stats = os.getenv("FUZZ_STATS") and ("FUZZ_STATS=" .. sq(os.getenv("FUZZ_STATS")) .. " ") or ""
  local cmd = (stats .. "cd %s && QNN_QUIET=1 QNN_FUZZ_RT=%s QNN_LUA_DIR=%s QNN_DATA_DIR=%s QNN_MAX_BYTES=268435456 " ..
    "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=%s UBSAN_OPTIONS=%s LSAN_OPTIONS=%s " ..
    "timeout -s KILL %d %s %s </dev/null >/dev/null 2>%s"):format(sq(dir), sq(RT), sq(root .. "/lua"),
    sq(root .. "/data"), ASAN, UBSAN, sq(LSAN), math.ceil(timeout), sq(QNNLAB), sq(prog), sq(errf))
  local _, code = sh(cmd)
  local err = slurp(errf)
  local last = 0
  for n in err:gmatch("@(%d+)\n") do last = tonumber(n) end
  local detail = err:match("ERROR: AddressSanitizer: ([%w%-]+)") or err:match("ERROR: LeakSanitizer: ([%w%- ]+)")
    or err:match("(runtime error: [^\n]*)") or err:match("ERROR: (%w+Sanitizer: [^\n]*)")
  if detail then
    if err:find("LeakSanitizer", 1, true) and last == 0 then last = -1 end
    return "sanitizer", detail, last, err
  end
  if err:find("prog%.lua:%d+:") and not err:find("Sanitizer") then
    io.stderr:write("fuzz: generated program does not run (a fuzzer bug):\n", err:sub(1, 2000), "\n")
    os.exit(2)
  end
  if code == 137 or code == 124 then return "hang", "no exit after " .. timeout .. " s", last, err end
  if not err:find("FUZZ-DONE", 1, true) or code ~= 0 then
    return "crash", ("exit status %s"):format(tostring(code)), last, err
  end
  return "ok", nil, last, err
end

-- ---------------- shrinking ----------------
local function shrink(lines, verdict, detail, last, deadline)
  local function same(v, d) return v == verdict and (verdict ~= "sanitizer" or d == detail) end
  -- everything after the failing line cannot matter (unless the report came at exit)
  if last and last > 0 and last < #lines then
    local cut = {}
    for i = 1, last do cut[i] = lines[i] end
    local v, d = run(program_text(cut), HANG)
    if same(v, d) then lines = cut end
  end
  if verdict == "hang" then
    -- the hanging line alone?
    local v = run(program_text({lines[#lines]}), HANG)
    if v == "hang" then return {lines[#lines]} end
  end
  local chunk = math.max(1, #lines // 2)
  while chunk >= 1 and now() < deadline do
    local i, changed = 1, false
    while i <= #lines and now() < deadline do
      local cand = {}
      for j = 1, #lines do if j < i or j >= i + chunk then cand[#cand + 1] = lines[j] end end
      if #cand < #lines and #cand > 0 then
        local v, d = run(program_text(cand), verdict == "hang" and HANG or math.min(HANG, 120))
        if same(v, d) then lines, changed = cand, true else i = i + chunk end
      else
        i = i + chunk
      end
    end
    if not changed then
      if chunk == 1 then break end
      chunk = chunk // 2
    end
  end
  return lines
end

-- ---------------- main loop ----------------
local t0 = now()
local count, calls, lines_total = 0, 0, 0
print(("fuzz: seed %d, %d s, mode %s, %d functions/methods (%d classes), seeds: %s, host %s, work %s")
  :format(SEED, DURATION, MODE, #api, #classes, table.concat(seed_kinds, ","), QNNLAB, work))
local i = (ONLY or 1) - 1
while true do
  i = i + 1
  if ONLY and i > ONLY then break end
  if not ONLY and now() - t0 >= DURATION then break end
  local pseed = SEED * 1000003 + i
  local lines = gen_program(pseed, MODE)
  local v, detail, last, err = run(program_text(lines), HANG)
  count = count + 1
  lines_total = lines_total + #lines
  if v ~= "ok" then
    print(("fuzz: program %d (FUZZ_SEED=%d FUZZ_PROGRAM=%d): %s: %s at line %s")
      :format(i, SEED, i, v, detail, tostring(last)))
    local report = err:match("(=+%s*\n==%d+==ERROR.-)\n@done") or err:sub(1, 6000)
    io.write(report:sub(1, 6000), "\n")
    print("fuzz: shrinking (budget " .. SHRINK_S .. " s) ...")
    local small = shrink(lines, v, detail, last, now() + SHRINK_S)
    local text = program_text(small)
    local repro = work .. "/repro.lua"
    spit(repro, text)
    spit(work .. "/repro-stderr.txt", err)
    print("fuzz: minimal reproducer (" .. #small .. " lines; run with QNN_FUZZ_RT=" .. RT .. "):")
    print(text)
    local plain = {}
    for _, l in ipairs(small) do plain[#plain + 1] = l end
    print("fuzz: saved " .. repro .. " ; full report in " .. work .. "/repro-stderr.txt")
    print(("fuzz: FOUND after %d programs, %.0f s: %s %s"):format(count, now() - t0, v, detail))
    os.exit(1)
  end
end
print(("fuzz: %d programs (%d lines), %.0f s, seed %d: 0 sanitizer reports, 0 crashes, 0 hangs")
  :format(count, lines_total, now() - t0, SEED))
if env("FUZZ_KEEP", "") == "" then sh("rm -rf " .. sq(work)) end
os.exit(0)
