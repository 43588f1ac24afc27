-- A run for scripts/bench_sweep.lua: a pure-Lua busy loop of --iters iterations (about one
-- second when calibrated), or nothing with --iters=0; reports its metrics with qnn.sweep.result.
--   qnnlab scripts/sweep_task.lua --iters=N [--task=k] [--seed=s]
local qnn = require "qnn"
local a = qnn.report.flags(arg, {iters = 0, task = 0, seed = 1})
local x = a.seed
for i = 1, a.iters do x = (x * 1103515245 + 12345 + i) % 2147483648 end
qnn.sweep.result {x = x, task = a.task, seed = a.seed}
