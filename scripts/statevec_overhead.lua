-- Per-call overhead of State gate methods from Lua at 4 qubits (run by scripts/bench_statevec.sh).
local qnn = require "qnn"
local quick = arg and arg[1] == "--quick"
local N = quick and 100000 or 1000000
local s = qnn.state(4)
local function run()
  local t0 = qnn.clock()
  for i = 1, N, 3 do
    local q = i & 3
    s:h(q)
    s:ry(q, 0.001 * (i & 1023))
    s:cx(q, (q + 1) & 3)
  end
  return (qnn.clock() - t0) / (3 * ((N + 2) // 3))
end
-- baseline: an empty Lua method call on a table, same loop shape
local obj = {}
function obj.f(self, a, b) return self end
local function base()
  local t0 = qnn.clock()
  for i = 1, N, 3 do
    local q = i & 3
    obj:f(q); obj:f(q, 0.001 * (i & 1023)); obj:f(q, (q + 1) & 3)
  end
  return (qnn.clock() - t0) / (3 * ((N + 2) // 3))
end
local best, bb = math.huge, math.huge
for _ = 1, 3 do best = math.min(best, run()); bb = math.min(bb, base()) end
print(string.format("per-call overhead at 4 qubits from Lua (s:h, s:ry, s:cx): %.3f us/gate "
  .. "(target <= 1); empty Lua method call: %.3f us (ratio %.1f)", best * 1e6, bb * 1e6, best / bb))
