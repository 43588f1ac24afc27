-- Benchmark (not a test): adjoint gradient and vjp of a layered circuit vs its forward pass,
-- parameter-shift cost, and per-gate overhead of Circuit building/running at 4 qubits.
-- Usage: bin/qnnlab scripts/bench_gradient.lua [n=20] [layers=5] [reps=3]
--        (or lua5.4 with LUA_CPATH pointing at lib/qnn.so)
-- Prints a markdown table; ratios are against the forward pass measured in the same run.
local qnn = require "qnn"

local n = tonumber(arg and arg[1]) or 20
local layers = tonumber(arg and arg[2]) or 5
local reps = tonumber(arg and arg[3]) or 3

local function best_of(k, f)
  local best = math.huge
  for _ = 1, k do
    local t0 = qnn.clock()
    f()
    local dt = qnn.clock() - t0
    if dt < best then best = dt end
  end
  return best
end

-- hardware-efficient ansatz: per layer RY and RZ on every qubit (2n parameters), CNOT ladder
local function ansatz(nq, nl)
  local c = qnn.circuit(nq)
  for l = 1, nl do
    for q = 0, nq - 1 do c:ry(q, ("y%d_%d"):format(l, q)) end
    for q = 0, nq - 1 do c:rz(q, ("z%d_%d"):format(l, q)) end
    for q = 0, nq - 2 do c:cx(q, q + 1) end
  end
  local r = qnn.rng(1)
  local v = {}
  for _, name in ipairs(c:param_names()) do v[name] = r:uniform(-math.pi, math.pi) end
  c:set(v)
  return c
end

local c = ansatz(n, layers)
local np = #c:param_names()
local s = qnn.state(n)
local rows = {}
local function row(name, t, base, note)
  rows[#rows + 1] = ("| %s | %.2f ms | %s | %s |"):format(name, t * 1e3,
    base and ("%.2f×"):format(t / base) or "1.00×", note or "")
end

local t_fwd = best_of(reps, function() c:run(s) end)
row(("forward `c:run(s)` (%d gates)"):format(#c), t_fwd, nil, "baseline")
local t_exp = best_of(reps, function() c:expect("Z") end)
row("forward + <Z> (`c:expect`, allocates the state)", t_exp, t_fwd)
local t_grad = best_of(reps, function() c:gradient("Z") end)
row(("adjoint `c:gradient(\"Z\")` (%d params)"):format(np), t_grad, t_fwd, "target ≤ 3×")
local obs = {}
for q = 0, n - 1 do
  local p = {}
  for k = 0, n - 1 do p[k + 1] = (k == q) and "Z" or "I" end
  obs[#obs + 1] = {1.0 / n, table.concat(p)}
end
local t_grad_multi = best_of(reps, function() c:gradient(obs) end)
row(("adjoint, %d-term observable"):format(#obs), t_grad_multi, t_fwd)
local dp = qnn.tensor(2 ^ n)
local t_vjp = best_of(reps, function() c:vjp(dp) end)
row("`c:vjp(dprobs)` (returns probs too)", t_vjp, t_fwd)
-- parameter shift at this size would take 2*np forward passes: estimate from one
row("parameter shift (estimated 2·params forward+expect)", 2 * np * t_exp, t_fwd, "not run")

-- per-gate overhead at 4 qubits
local small = qnn.circuit(4)
local G = 2000
for i = 1, G do small:ry(i % 4, 0.1) end
local s4 = qnn.state(4)
local t_run4 = best_of(5, function() small:run(s4) end)
local t_build = best_of(5, function()
  local b = qnn.circuit(4)
  for i = 1, G do b:ry(i % 4, 0.1) end
end)
local t_state4 = best_of(5, function() for i = 1, G do s4:ry(i % 4, 0.1) end end)
local small_p = qnn.circuit(4)
for i = 1, G do small_p:ry(i % 4, "t" .. (i % 50)) end
local t_grad4 = best_of(5, function() small_p:gradient("ZZZZ") end)

print(("## Circuits and gradients\n\n%d qubits, %d layers of RY+RZ on every qubit + CNOT ladder "
  .. "(%d gates, %d parameters), best of %d; `scripts/bench_gradient.lua %d %d %d`. Machine "
  .. "shared with other jobs while measured: timings are noisy.\n"):format(n, layers, #c, np, reps,
  n, layers, reps))
print("| operation | time | vs forward | note |")
print("|---|---|---|---|")
for _, r in ipairs(rows) do print(r) end
print(("\nPer-gate overhead at 4 qubits (%d RY gates):\n"):format(G))
print("| operation | per gate |")
print("|---|---|")
print(("| `Circuit:run` (C loop over the gate list) | %.0f ns |"):format(t_run4 / G * 1e9))
print(("| State:ry called from Lua | %.0f ns |"):format(t_state4 / G * 1e9))
print(("| building: `c:ry(q, 0.1)` from Lua | %.0f ns |"):format(t_build / G * 1e9))
print(("| adjoint gradient, per gate (50 shared params) | %.0f ns |"):format(t_grad4 / G * 1e9))
