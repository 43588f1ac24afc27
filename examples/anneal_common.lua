-- Shared helpers of the Method 2 (annealing) examples: flags, Digits preparation, statistics,
-- log-log fits, CSV/JSON output. Loaded with dofile() by examples/anneal_*.lua.
local qnn = require "qnn"
local C = {}

local report = qnn.report

--- Flags: --quick, --seeds=N, --epochs=N, --out=dir (qnn.report.args) and the script's own
--- (spec = {name = default}); creates the output dir.
function C.args(argv, spec)
  local a = report.args(argv, spec)
  report.mkdir(a.out)
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

C.mean_std = report.mean_std
C.loglog = report.loglog
function C.pm(xs, fmt) return report.pm(xs, fmt or "%.3f") end
function C.json(v) return report.json_encode(v) end

--- Atomic write (temp file + rename), then a note on stdout.
function C.write(path, text)
  report.write(path, text)
  print("wrote " .. path)
end

--- rows: list of tables; cols: column names
function C.csv(path, cols, rows)
  report.csv(path, cols, rows)
  print("wrote " .. path)
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
