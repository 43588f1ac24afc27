-- Resolution sweep: N candidates per weight (the same N for every layer), N = 17 ... 32 and 64;
-- non powers of two pad the register with never-marked states. The paper reports a degradation
-- at N = 32 on Digits. Records accuracy, loss and queries vs N.
--   bin/qnnlab examples/grover_resolution.lua [--quick] [--epochs=N] [--data=digits|wine]
-- --quick: N in {17, 24, 32, 64}, 1 epoch. --seed=S: that seed (default 1) for the net and the
-- shots. One run for qnn.sweep: --N=n --seed=S writes that run's metrics as JSON to --out.
local qnn = require "qnn"
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "examples"
local C = dofile(dir .. "/grover_common.lua")
local argv, data, oneN = {}, "digits", nil
for _, s in ipairs(arg or {}) do
  if s:match("^%-%-data=") then data = s:match("=(.*)$")
  elseif s:match("^%-%-N=%d+$") then oneN = tonumber(s:match("=(%d+)"))
  else argv[#argv + 1] = s end
end
local a = C.args(argv)
local seed = a.seed or 1
local widths = data == "digits" and {64, 64, 32, 16, 10} or {13, 32, 3}
local epochs = a.epochs or (a.quick and 1 or 10)
local Ns = {}
if oneN then Ns = {oneN}
elseif a.quick then Ns = {17, 24, 32, 64} else for N = 17, 32 do Ns[#Ns + 1] = N end Ns[#Ns + 1] = 64 end
C.mkdir(a.out)
local tr, te = C.load(data)
local t0 = qnn.clock()
local rows, csv = {}, {}
for _, N in ipairs(Ns) do
  local net = C.net(widths, seed)
  local r = qnn.optim.grover {net = net, data = tr, test = te, epochs = epochs, seed = seed,
                              resolution = N, circuit = "paper", track_circuit = false}
  local last = r.history[#r.history]
  local row = {N = N, qubits = r.total.qubits, test_acc = last.test_acc, test_ce = last.test_ce,
               train_loss = last.train_loss, queries = r.total.queries,
               queries_ideal = r.total.queries_ideal, candidates = r.total.candidates,
               fallbacks = r.total.fallbacks, searches = r.total.searches, wall = r.total.wall,
               seed = seed, epochs = epochs}
  csv[#csv + 1] = row
  rows[#rows + 1] = {tostring(N), tostring(row.qubits), string.format("%.4f", row.test_acc),
    string.format("%.4f", row.test_ce), string.format("%.4f", row.train_loss),
    string.format("%.3g", row.queries), tostring(row.fallbacks), string.format("%.1f", row.wall)}
  io.write(string.format("  N = %d: test acc %.4f (%.1f s)\n", N, row.test_acc, qnn.clock() - t0)); io.flush()
end
if oneN then -- one sweep run: its metrics as JSON
  qnn.report.json(("%s/grover_resolution_%s_N%d_s%d.json"):format(a.out, data, oneN, seed), csv[1])
  return
end
print(string.format("\n%s %s, %d epoch(s), seed %d, authors' circuit, same N for all layers:", data,
  table.concat(widths, "-"), epochs, seed))
C.table({"N", "qubits", "test acc", "test CE", "train CE+L2", "oracle queries", "padding fallbacks", "wall s"}, rows)
local f = a.out .. "/grover_resolution_" .. data .. ".csv"
C.write_csv(f, {"N", "qubits", "test_acc", "test_ce", "train_loss", "queries", "queries_ideal",
  "candidates", "fallbacks", "wall"}, csv)
C.plot(a.out .. "/grover_resolution_" .. data .. ".png", f, data .. ": test accuracy vs resolution N",
  "N", "test accuracy", {{col = 3, title = "test accuracy"}})
print(string.format("wrote %s; total %.1f s", f, qnn.clock() - t0))
