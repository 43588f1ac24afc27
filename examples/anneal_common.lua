-- Shared helpers of the Method 2 (annealing) examples: flags, Digits preparation, statistics,
-- log-log fits, CSV/JSON output. Loaded with dofile() by examples/anneal_*.lua.
local qnn = require "qnn"
local C = {}

--- Flags: --quick, --seeds=N, --epochs=N, --out=dir
function C.args(argv)
  local a = {quick = false, out = "results"}
  for _, s in ipairs(argv or {}) do
    if s == "--quick" then a.quick = true
    elseif s:match("^%-%-seeds=%d+$") then a.seeds = tonumber(s:match("=(%d+)"))
    elseif s:match("^%-%-epochs=%d+$") then a.epochs = tonumber(s:match("=(%d+)"))
    elseif s:match("^%-%-out=") then a.out = s:match("=(.*)$")
    else error("unknown argument " .. s .. " (use --quick, --seeds=N, --epochs=N, --out=dir)") end
  end
  os.execute('mkdir -p "' .. a.out .. '"')
  return a
end

--- Digits, sign-encoded: x_i = +1 if pixel >= 8 (of 0..16) else -1 (binarised, then +-1).
--- Stratified 75/25 split with the given seed.
function C.digits(seed)
  local ds = qnn.data.load("digits")
  local n, d = ds.X:shape()
  for i = 1, n do
    for j = 1, d do ds.X[i][j] = ds.X[i][j] >= 8 and 1 or -1 end
  end
  return ds:split{test = 0.25, seed = seed}
end

function C.mean_std(xs)
  local n, s = #xs, 0
  if n == 0 then return 0 / 0, 0 / 0 end
  for _, x in ipairs(xs) do s = s + x end
  local m = s / n
  local v = 0
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  return m, n > 1 and math.sqrt(v / (n - 1)) or 0
end

function C.pm(xs, fmt)
  local m, s = C.mean_std(xs)
  fmt = fmt or "%.3f"
  return string.format(fmt .. " ± " .. fmt, m, s)
end

--- Least squares slope and intercept of log(y) on log(x) over pairs with x, y > 0.
--- Returns slope, intercept, r^2, points used.
function C.loglog(xs, ys)
  local X, Y = {}, {}
  for i = 1, #xs do
    if xs[i] > 0 and ys[i] and ys[i] > 0 then X[#X + 1], Y[#Y + 1] = math.log(xs[i]), math.log(ys[i]) end
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
  local b = sxy / sxx
  local r2 = syy > 0 and (sxy * sxy) / (sxx * syy) or 1
  return b, my - b * mx, r2, n
end

local function json(v, ind, cur)
  cur = cur or ""
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.10g", v)
  elseif t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  elseif t == "boolean" then return tostring(v)
  elseif t == "nil" then return "null"
  elseif t == "table" then
    local nxt = cur .. "  "
    if #v > 0 or next(v) == nil then
      local p = {}
      for i = 1, #v do p[i] = json(v[i], ind, nxt) end
      return "[" .. table.concat(p, ", ") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local p = {}
    for _, k in ipairs(keys) do p[#p + 1] = nxt .. json(k) .. ": " .. json(v[k], ind, nxt) end
    return "{\n" .. table.concat(p, ",\n") .. "\n" .. cur .. "}"
  end
  return json(tostring(v))
end
C.json = json

function C.write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  print("wrote " .. path)
end

--- rows: list of tables; cols: column names
function C.csv(path, cols, rows)
  local out = {table.concat(cols, ",")}
  for _, r in ipairs(rows) do
    local p = {}
    for i, c in ipairs(cols) do
      local v = r[c]
      if type(v) == "number" and math.type(v) ~= "integer" then v = string.format("%.8g", v) end
      p[i] = v == nil and "" or tostring(v)
    end
    out[#out + 1] = table.concat(p, ",")
  end
  C.write(path, table.concat(out, "\n") .. "\n")
end

function C.errors(pred, y)
  local bad = 0
  for i = 1, #y do if pred[i] ~= y[i] then bad = bad + 1 end end
  return bad / #y
end

--- A block of n spins drawn from a 64-H-K IsingNet for input x (label y): n - 3 random hidden
--- spins of the first spin layer plus the outputs of class y and two other classes, the rest
--- clamped to an annealed free-phase state (SA, 8 reads x 200 sweeps, seed); h and J divided
--- by their rms coefficient. Returns a qnn.ising model.
function C.block_model(net, x, y, n, rng, seed)
  local sizes = net:sizes()
  local H, K = sizes[2], sizes[#sizes]
  local all = {}
  for g = 1, net:nspins() do all[g] = g end
  local _, _, states = net:feedforward({x}, true)
  local whole = net:block(x, states[1], all)
  local m = qnn.ising.model{n = whole.n, h = whole.h, J = whole.J}
  local env = qnn.ising.sample(m, {sampler = "sa", reads = 8, sweeps = 200, seed = seed})[1].spins
  local hid = {}
  for g = 1, H do hid[g] = g end
  for k = H, 2, -1 do local j = rng:int(1, k); hid[k], hid[j] = hid[j], hid[k] end
  local blk = {}
  for k = 1, n - 3 do blk[#blk + 1] = hid[k] end
  local o0 = net:nspins() - K
  for _, c in ipairs({y, y % K + 1, (y + 4) % K + 1}) do blk[#blk + 1] = o0 + c end
  local b = net:block(x, env, blk)
  local ss, cnt = 0, 0
  for _, v in ipairs(b.h) do ss, cnt = ss + v * v, cnt + 1 end
  for _, e in ipairs(b.J) do ss, cnt = ss + e[3] * e[3], cnt + 1 end
  local sc = math.sqrt(ss / cnt)
  local hh, JJ = {}, {}
  for k, v in ipairs(b.h) do hh[k] = v / sc end
  for k, e in ipairs(b.J) do JJ[k] = {e[1], e[2], e[3] / sc} end
  return qnn.ising.model{n = b.n, h = hh, J = JJ}
end

function C.row(X, i)
  local x = {}
  local _, d = X:shape()
  for j = 1, d do x[j] = X[i][j] end
  return x
end

return C
