-- Benchmark of qnn.sweep (make bench, or bin/qnnlab scripts/bench_sweep.lua [--runs=40]
-- [--seconds=1] [--mpi_ranks=4]): ratios measured in this run, no fixed timings.
--  1. `runs` CPU-bound runs of about `seconds` each (scripts/sweep_task.lua, a Lua busy loop)
--     on 1 worker and on 2 workers: target wall(2 workers) <= 0.55 x wall(1 worker).
--  2. Per-run overhead of the machinery (fork/exec of bin/qnnlab, result file, JSONL/CSV
--     append): `runs` empty runs on 1 worker, wall / runs, for run = script and run = function
--     (the function kind re-executes this script): target <= 50 ms.
--  3. MPI (when mpirun and lib/qnn_mpi.so exist): 4 ranks oversubscribed, a 40-run sweep; every
--     result present exactly once.
local qnn = require "qnn"
local proc = qnn.proc
local a = qnn.report.flags(arg, {runs = 40, seconds = 1, mpi_ranks = 4, mpi = true, part = "all", tmp = "", iters = 0})
local dir = (arg[0]:match("^(.*)/[^/]*$") or "scripts")
local task = dir .. "/sweep_task.lua"
local tmp = a.tmp ~= "" and a.tmp or string.format("%s/qnn_bench_sweep_%d", os.getenv("TMPDIR") or "/tmp", proc.pid())

-- run = function sweeps re-execute this script in their workers: this one must be defined the
-- same way every time, so it comes first and depends only on the arguments
local function noop_fn_sweep()
  return qnn.sweep {name = "bench_fn", grid = {task = (function() local t = {} for i = 1, a.runs do t[i] = i end return t end)()},
    workers = 1, out = tmp .. "/fn", run = function(cfg) return {task = cfg.task} end}
end
if os.getenv("QNN_SWEEP_JOB") then noop_fn_sweep() return end

local function range(n) local t = {} for i = 1, n do t[i] = i end return t end

-- the MPI sweep, as every rank runs it (mpirun started by qnn.sweep re-runs this script with
-- --part=mpi_rank and the same --tmp and --iters)
local function mpi_sweep(it)
  return qnn.sweep {name = "mpi", run = task, args = {"--iters=" .. it}, grid = {task = range(a.runs)},
    out = tmp .. "/mpi", seed_flag = "--seed", backend = "mpi", ranks = a.mpi_ranks,
    mpirun_args = {"--oversubscribe"}, script = arg[0],
    script_args = {"--part=mpi_rank", "--tmp=" .. tmp, "--iters=" .. it, "--runs=" .. a.runs,
                   "--mpi_ranks=" .. a.mpi_ranks}}
end
if a.part == "mpi_rank" then mpi_sweep(a.iters) return end

proc.run({"rm", "-rf", tmp})
proc.mkdir(tmp)

-- calibrate the busy loop in this process (same interpreter as the workers)
local function loop_rate()
  local n, x = 2000000, 1
  local t0 = qnn.clock()
  for i = 1, n do x = (x * 1103515245 + 12345 + i) % 2147483648 end
  return n / (qnn.clock() - t0)
end
local iters = math.floor(loop_rate() * a.seconds)

local function sweep(name, workers, it, extra)
  -- threads = 1 for both: the serial baseline must not get a second core through OpenMP/OpenBLAS
  local o = {name = name, run = task, args = {"--iters=" .. it}, grid = {task = range(a.runs)},
             workers = workers, threads = 1, out = tmp .. "/" .. name, seed_flag = "--seed"}
  for k, v in pairs(extra or {}) do o[k] = v end
  local t0 = qnn.clock()
  local r = qnn.sweep(o)
  local wall = qnn.clock() - t0
  if r.done ~= a.runs then error(string.format("%s: %d of %d runs ok", name, r.done, a.runs)) end
  return wall, r
end

local rc = 0
local lf = io.open("/proc/loadavg")
local load = lf and lf:read("l") or "?"
if lf then lf:close() end
print(string.format("qnn.sweep benchmark: %d runs, %d CPUs, busy loop of %d iterations (~%.2g s); load average %s " ..
  "(on a shared machine the parallel ratio needs 2 idle cores)", a.runs, proc.ncpu(), iters, a.seconds, load))
if a.part == "all" or a.part == "parallel" then
  local function cpu(r) local c = 0 for _, row in ipairs(r.rows) do c = c + (row.cpu or 0) end return c end
  local t1, r1 = sweep("serial", 1, iters)
  local t2, r2 = sweep("parallel", 2, iters)
  local ratio = t2 / t1
  print(string.format("  %d runs, 1 worker: %.2f s (%.3f s/run); 2 workers: %.2f s; ratio %.3f (target <= 0.55) %s",
    a.runs, t1, t1 / a.runs, t2, ratio, ratio <= 0.55 and "ok" or "MISSED"))
  -- CPU seconds of the runs per wall second: the cores the runs actually got (others' load
  -- takes the rest)
  print(string.format("  run CPU time / wall: 1 worker %.2f cores, 2 workers %.2f cores (%.3f / %.3f CPU s per run)",
    cpu(r1) / t1, cpu(r2) / t2, cpu(r1) / a.runs, cpu(r2) / a.runs))
  if ratio > 0.55 then rc = 1 end
end
if a.part == "all" or a.part == "overhead" then
  local t0 = sweep("noop", 1, 0)
  local t0f = qnn.clock()
  local r = noop_fn_sweep()
  t0f = qnn.clock() - t0f
  if r.done ~= a.runs then error("function sweep: " .. r.done .. " runs ok") end
  local per, perf = 1000 * t0 / a.runs, 1000 * t0f / a.runs
  print(string.format("  per-run overhead (empty runs, 1 worker): run = script %.1f ms, run = function %.1f ms " ..
    "(target <= 50 ms) %s", per, perf, math.max(per, perf) <= 50 and "ok" or "MISSED"))
  if math.max(per, perf) > 50 then rc = 1 end
end
if (a.part == "all" or a.part == "mpi") and a.mpi then
  local have_mpirun = proc.run({"mpirun", "--version"}) ~= nil
  if not have_mpirun or not package.searchpath("qnn_mpi", package.cpath) then
    print("  MPI: skipped (needs mpirun from openmpi-bin and lib/qnn_mpi.so)")
  else
    local code, uid = proc.run({"id", "-u"})
    local env_ok = code == 0 and uid:match("^0") == nil or os.getenv("OMPI_ALLOW_RUN_AS_ROOT")
    if not env_ok then
      print("  MPI: skipped (running as root: set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)")
    else
      local t0 = qnn.clock()
      local r = mpi_sweep(math.floor(iters / 10))
      local wall = qnn.clock() - t0
      local seen, dup, lines = {}, 0, 0
      for line in io.lines(r.out .. "/runs.jsonl") do
        local row = qnn.sweep._decode(line)
        if row then
          lines = lines + 1
          if seen[row.index] then dup = dup + 1 end
          seen[row.index] = true
        end
      end
      local n = 0
      for _ in pairs(seen) do n = n + 1 end
      local good = n == a.runs and dup == 0 and lines == a.runs
      print(string.format("  MPI %d ranks (oversubscribed on %d CPUs): %d-run sweep in %.2f s, %d results, %d duplicates %s",
        a.mpi_ranks, proc.ncpu(), a.runs, wall, n, dup, good and "ok" or "MISSED"))
      if not good then rc = 1 end
    end
  end
end
proc.run({"rm", "-rf", tmp})
if rc ~= 0 then os.exit(1) end
