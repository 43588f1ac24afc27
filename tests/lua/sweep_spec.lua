-- qnn.sweep: worker processes, results files, resume, failures, summaries (docs/sweeps.md).
local qnn = require "qnn"
local proc = qnn.proc

local root = os.getenv("QNN_ROOT") or "."
local FN = root .. "/tests/lua/fixtures/sweep_fn.lua"
local SCRIPT = root .. "/tests/lua/fixtures/sweep_script.lua"

local function tmpdir(tag)
  local d = string.format("%s/qnn_sweep_%s_%d_%d", os.getenv("TMPDIR") or "/tmp", tag, proc.pid(), math.random(1, 1 << 30))
  return d
end

local function rmtree(d)
  proc.run({"rm", "-rf", d})
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function lines(path)
  local t = {}
  for l in read(path):gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

-- runs the function-sweep fixture in a fresh interpreter (the same one running the tests)
local function fixture(out, ...)
  local argv = {proc.exe(), "-e", string.format("package.path=%q package.cpath=%q", package.path, package.cpath), FN, out}
  for _, a in ipairs {...} do argv[#argv + 1] = a end
  local code, text = proc.run(argv, {env = {QNN_QUIET = "1"}})
  return code, text
end

local function by_index(rows)
  local t = {}
  for _, r in ipairs(rows) do t[r.index] = r end
  return t
end

local function load(out)
  local rows = {}
  for _, l in ipairs(lines(out .. "/runs.jsonl")) do
    local r = qnn.sweep._decode(l)
    if r then rows[#rows + 1] = r end
  end
  return rows
end

describe("qnn.proc", function()
  it("spawns with a fixed argv and environment and reports exit codes and signals", function()
    local pid = proc.spawn {argv = {"sh", "-c", "exit $CODE"}, env = {CODE = "7"}}
    local p, how, code = proc.wait({pid})
    assert.are.equal(pid, p)
    assert.are.equal("exit", how)
    assert.are.equal(7, code)
    pid = proc.spawn {argv = {"sleep", "10"}}
    assert.is_nil(proc.wait({pid}, 0.05))
    assert.is_true(proc.kill(pid, "KILL"))
    local _, how2, sig = proc.wait({pid})
    assert.are.equal("signal", how2)
    assert.are.equal(9, sig)
    assert.are.equal("SIGKILL", proc.signame(9))
  end)

  it("passes arguments verbatim (no shell) and captures output", function()
    local code, out = proc.run({"printf", "%s|", "a b", "$HOME", "'q'"})
    assert.are.equal(0, code)
    assert.are.equal("a b|$HOME|'q'|", out)
    local c2, o2 = proc.run({"sh", "-c", "echo $X"}, {env = {X = false}})
    assert.are.equal(0, c2)
    assert.are.equal("\n", o2)
  end)

  it("appends lines and creates directories", function()
    local d = tmpdir("proc")
    proc.mkdir(d .. "/a/b")
    proc.append(d .. "/a/b/f", "x\n")
    proc.append(d .. "/a/b/f", "y\n")
    assert.are.equal("x\ny\n", read(d .. "/a/b/f"))
    rmtree(d)
  end)

  it("rejects bad input", function()
    assert.has_error(function() proc.spawn {argv = {}} end, "qnn.proc.spawn: argv must hold 1 to 4096 strings, got 0")
    assert.has_error(function() proc.spawn {argv = {"true"}, bogus = 1} end)
    assert.has_error(function() proc.spawn {argv = {"true"}, env = {["A=B"] = "1"}} end)
    assert.has_error(function() proc.spawn {argv = {"/nonexistent/prog"}} end,
      "qnn.proc.spawn: cannot start '/nonexistent/prog': No such file or directory")
    assert.has_error(function() proc.wait({}) end)
    assert.has_error(function() proc.wait({1}, 0) end) -- pid 1 is not our child
    assert.has_error(function() proc.kill(0) end)
    assert.has_error(function() proc.kill(proc.pid(), "NOPE") end)
    local code, msg = proc.run({"/nonexistent/prog"})
    assert.is_nil(code)
    assert.matches("cannot start", msg)
  end)
end)

describe("qnn.sweep with run = function", function()
  it("runs every (config, seed) once in worker processes and writes JSONL and CSV", function()
    local out = tmpdir("fn")
    local code, text = fixture(out)
    assert.are.equal(0, code, text)
    assert.matches("done=6 failed=0 skipped=0 rows=6", text)
    local rows = by_index(load(out))
    for i = 1, 6 do
      local r = rows[i]
      local x, seed = (i - 1) // 2 + 1, (i - 1) % 2 + 1
      assert.are.equal("ok", r.status)
      assert.are.equal(x, r.config.x)
      assert.are.equal(seed, r.seed)
      assert.are.equal(10 * x + seed, r.metrics.y)
      assert.are.equal(x, r.metrics["nested.z"])
      assert.is_string(r.host)
      assert.is_string(r.commit)
      assert.is_number(r.wall)
      assert.is_number(r.cpu)
      assert.is_true(r.cpu >= 0 and r.cpu < 60)
    end
    local csv = lines(out .. "/runs.csv")
    assert.are.equal(7, #csv)
    assert.are.equal("index,status,seed,tag,x,nested.z,y,wall,cpu,exit,signal,rank,host,commit,error", csv[1])
    assert.matches("^1,ok,1,a,1,1,11,", csv[2])
    rmtree(out)
  end)

  it("records errors and crashes as failed runs and goes on", function()
    local out = tmpdir("mixed")
    local code, text = fixture(out, "x", "mixed")
    assert.are.equal(0, code, text)
    assert.matches("done=3 failed=3", text)
    local rows = by_index(load(out))
    assert.are.equal("failed", rows[3].status)
    assert.matches("boom at x=2", rows[3].error)
    assert.are.equal(1, rows[3].exit)
    assert.are.equal("failed", rows[6].status)
    assert.are.equal(9, rows[6].signal)
    assert.matches("killed by SIGKILL", rows[6].error)
    assert.are.equal("ok", rows[5].status)
    assert.are.equal(31, rows[5].metrics.y)
    rmtree(out)
  end)

  it("resumes: skips finished runs, reruns half-finished ones, survives cut and corrupted lines", function()
    local out = tmpdir("resume")
    assert.are.equal(0, (fixture(out)))
    -- existing results without resume = true are refused
    local code, text = fixture(out)
    assert.are_not.equal(0, code)
    local _ = text
    -- drop two finished runs (as if killed before they finished), cut the last line in half
    -- and add a corrupted line
    local ls = lines(out .. "/runs.jsonl")
    local keep = {}
    for i = 1, 3 do keep[#keep + 1] = ls[i] end
    local f = assert(io.open(out .. "/runs.jsonl", "wb"))
    f:write(table.concat(keep, "\n"), "\n{\"not json\n", ls[4]:sub(1, 40))
    f:close()
    code, text = fixture(out, "resume")
    assert.are.equal(0, code, text)
    assert.matches("done=3 failed=0 skipped=3 rows=6", text)
    local rows = load(out) -- corrupted lines are skipped by the decoder
    local seen = {}
    for _, r in ipairs(rows) do
      assert.is_nil(seen[r.index], "run " .. r.index .. " twice")
      seen[r.index] = true
    end
    for i = 1, 6 do assert.is_true(seen[i]) end
    -- nothing left to do
    code, text = fixture(out, "resume")
    assert.are.equal(0, code, text)
    assert.matches("done=0 failed=0 skipped=6 rows=6", text)
    rmtree(out)
  end)

  it("resumes a sweep whose process was killed (SIGKILL) mid-run", function()
    local out = tmpdir("killed")
    local pid = proc.spawn {argv = {proc.exe(), "-e", string.format("package.path=%q package.cpath=%q", package.path,
      package.cpath), FN, out, "x", "slow"}, env = {QNN_QUIET = "1"}, stdout = "/dev/null", stderr = "stdout"}
    -- runs with x = 1, 2 finish at once, those with x = 3 sleep 30 s: kill the sweep then
    local t0 = qnn.clock()
    local n = 0
    while n < 4 and qnn.clock() - t0 < 60 do
      proc.sleep(0.05)
      local f = io.open(out .. "/runs.jsonl")
      if f then
        n = select(2, f:read("a"):gsub("\n", ""))
        f:close()
      end
    end
    assert.are.equal(4, n)
    proc.kill(pid, "KILL")
    proc.wait({pid})
    local code, text = fixture(out, "resume")
    assert.are.equal(0, code, text)
    assert.matches("done=2 failed=0 skipped=4 rows=6", text)
    local rows = by_index(load(out))
    for i = 1, 6 do assert.are.equal("ok", rows[i].status) end
    rmtree(out)
  end)

  it("refuses the results directory of a different sweep", function()
    local out = tmpdir("other")
    assert.are.equal(0, (fixture(out)))
    assert.has_error(function()
      qnn.sweep {run = SCRIPT, grid = {x = {5}}, out = out, resume = true}
    end)
    local ok, err = pcall(qnn.sweep, {run = SCRIPT, grid = {x = {5}}, out = out, resume = true})
    assert.is_false(ok)
    assert.matches("belongs to a different sweep", err)
    rmtree(out)
  end)

  it("kills a run that exceeds timeout; a script without a result is ok without metrics", function()
    local out = tmpdir("timeout")
    local r = qnn.sweep {run = SCRIPT, args = {"--sleep=30"}, grid = {x = {1}}, out = out, timeout = 0.5}
    assert.are.equal(1, r.failed)
    assert.matches("timed out after 0.5 s", r.rows[1].error)
    assert.are.equal(9, r.rows[1].signal)
    assert.is_true(r.rows[1].wall < 20)
    rmtree(out)
    r = qnn.sweep {run = SCRIPT, args = {"--silent"}, grid = {x = {1}}, out = out}
    assert.are.equal(1, r.done)
    assert.are.equal("ok", r.rows[1].status)
    assert.are.same({}, r.rows[1].metrics)
    assert.matches("wrote no result", r.rows[1].note)
    rmtree(out)
  end)
end)

describe("qnn.sweep with run = script", function()
  it("passes config and seed as flags and takes the metrics from qnn.report.json", function()
    local out = tmpdir("script")
    local r = qnn.sweep {run = SCRIPT, grid = {x = {1, 2}}, seeds = {3, 4}, workers = 2, out = out}
    assert.are.equal(4, r.done)
    assert.are.equal(0, r.failed)
    assert.are.equal(0, r.skipped)
    assert.are.equal(4, #r.rows)
    local want = {0.13, 0.14, 0.23, 0.24}
    for i, row in ipairs(r.rows) do
      assert.are.equal("ok", row.status)
      assert.is_true(math.abs(row.metrics.acc - want[i]) < 1e-12)
      assert.are.equal(row.config.x * 2, row.metrics["detail.loss"])
      assert.is_nil(row.metrics.curve) -- lists are left out
      assert.are.equal(math.max(1, proc.ncpu() // 2), row.metrics.omp) -- threads per worker
    end
    rmtree(out)
  end)

  it("qnn.sweep.result wins over later report.json calls; failing scripts are recorded", function()
    local out = tmpdir("explicit")
    local r = qnn.sweep {run = SCRIPT, args = {"--explicit"}, grid = {x = {1}}, out = out}
    assert.are.equal(-1, r.rows[1].metrics.acc)
    rmtree(out)
    r = qnn.sweep {run = SCRIPT, args = {"--fail"}, grid = {x = {7}}, seeds = 2, out = out}
    assert.are.equal(0, r.done)
    assert.are.equal(2, r.failed)
    assert.are.equal(1, r.rows[1].exit)
    assert.matches("script failure x=7", r.rows[1].error)
    rmtree(out)
    assert.is_false(qnn.sweep.result {acc = 1}) -- not inside a sweep
  end)

  it("draws random configurations reproducibly inside the ranges", function()
    local out = tmpdir("random")
    local spec = {run = SCRIPT, args = {"--silent"}, random = 6, random_seed = 5, out = out,
      ranges = {lr = {min = 1e-4, max = 1e-1, log = true}, depth = {min = 2, max = 5, int = true},
                act = {choice = {"relu", "tanh"}}}}
    local r = qnn.sweep(spec)
    assert.are.equal(6, #r.rows)
    local first = {}
    for i, row in ipairs(r.rows) do
      local c = row.config
      assert.is_true(c.lr >= 1e-4 and c.lr <= 1e-1)
      assert.are.equal("integer", math.type(c.depth))
      assert.is_true(c.depth >= 2 and c.depth <= 5)
      assert.is_true(c.act == "relu" or c.act == "tanh")
      first[i] = qnn.sweep._encode(c)
    end
    rmtree(out)
    r = qnn.sweep(spec)
    for i, row in ipairs(r.rows) do assert.are.equal(first[i], qnn.sweep._encode(row.config)) end
    rmtree(out)
  end)
end)

describe("qnn.sweep bad input", function()
  local function err(o)
    local ok, e = pcall(qnn.sweep, o)
    assert.is_false(ok)
    return e
  end
  it("names unknown options and bad values", function()
    assert.matches("unknown option 'grdi'", err {run = SCRIPT, grdi = {}})
    assert.matches("allowed: args,", err {run = SCRIPT, grdi = {}})
    assert.matches("run= is required", err {grid = {x = {1}}})
    assert.matches("run must be a function", err {run = 5})
    assert.matches("seeds must be a count", err {run = SCRIPT, seeds = 0})
    assert.matches("seeds%[2%] must be an integer", err {run = SCRIPT, seeds = {1, 1.5}})
    assert.matches("seed 1 appears twice", err {run = SCRIPT, seeds = {1, 1}})
    assert.matches("grid.x must be a non%-empty list", err {run = SCRIPT, grid = {x = {}}})
    assert.matches("grid.x%[1%] must be finite", err {run = SCRIPT, grid = {x = {0 / 0}}})
    assert.matches("workers must be an integer in %[1, 4096%]", err {run = SCRIPT, workers = 0})
    assert.matches("workers must be an integer in %[1, 4096%]", err {run = SCRIPT, workers = 2.5})
    assert.matches("random = N needs ranges", err {run = SCRIPT, random = 3})
    assert.matches("needs finite numbers min <= max", err {run = SCRIPT, random = 3, ranges = {a = {min = 2, max = 1}}})
    assert.matches("log = true needs min > 0", err {run = SCRIPT, random = 3, ranges = {a = {min = 0, max = 1, log = true}}})
    assert.matches("unknown field 'mx'", err {run = SCRIPT, random = 3, ranges = {a = {min = 0, mx = 1}}})
    assert.matches("backend must be", err {run = SCRIPT, backend = "slurm"})
    assert.matches("timeout must be", err {run = SCRIPT, timeout = -1})
    assert.matches("run script '/no/such.lua' not found", err {run = "/no/such.lua"})
    assert.matches("grid.seed is not allowed", err {run = SCRIPT, grid = {seed = {1}}})
    assert.matches("name must use", err {run = SCRIPT, name = "a b"})
  end)
  it("names the Debian packages when mpirun or the MPI module is missing", function()
    local e = err {run = SCRIPT, backend = "mpi", ranks = 2, mpirun = "qnn-no-such-mpirun", script = SCRIPT,
                   out = tmpdir("nompi")}
    if package.searchpath("qnn_mpi", package.cpath) then
      assert.matches("'qnn%-no%-such%-mpirun' not found: install the Debian package openmpi%-bin", e)
    else
      assert.matches("libopenmpi%-dev and openmpi%-bin", e)
    end
  end)
  it("needs a script file for run = function outside a script", function()
    assert.matches("needs the sweep to be defined in a script file",
      err {run = function() return {} end, script = "/no/such/file.lua"})
  end)
end)

describe("qnn.sweep.summary", function()
  local function rows(vals)
    local t = {}
    for i, v in ipairs(vals) do
      t[i] = {status = "ok", key = tostring(i), seed = i, config = {m = v[1]}, metrics = {acc = v[2]}}
    end
    t[#t + 1] = {status = "failed", key = "f", seed = 9, config = {m = "a"}, metrics = {}}
    return {rows = t}
  end
  it("gives mean, sd and the Student-t 95% interval per group", function()
    local s = qnn.sweep.summary(rows {{"a", 1}, {"a", 2}, {"a", 3}, {"b", 5}, {"b", 7}},
      {metric = "acc", by = {"m"}, print = false})
    assert.are.equal(2, #s.groups)
    local a, b = s.groups[1], s.groups[2]
    assert.are.equal("a", a.m)
    assert.are.equal(3, a.n)
    assert.are.equal(2, a.mean)
    assert.are.equal(1, a.std)
    assert.is_true(math.abs(a.ci - 4.302652730 / math.sqrt(3)) < 1e-9)
    assert.are.equal(1, a.failed)
    assert.are.equal(6, b.mean)
    assert.is_true(math.abs(b.std - math.sqrt(2)) < 1e-12)
    assert.is_true(math.abs(b.ci - 12.706204736 * math.sqrt(2) / math.sqrt(2)) < 1e-9)
    assert.matches("Student t", s.text)
    assert.matches("95%% CI", s.text)
  end)
  it("plots error-bar lines against a numeric key and loads results", function()
    local out = tmpdir("xplot")
    local r = qnn.sweep {run = SCRIPT, grid = {x = {1, 2, 4}}, seeds = 3, out = out}
    assert.are.equal(9, r.done)
    local rows = qnn.sweep.load(out)
    assert.are.equal(9, #rows)
    local s = qnn.sweep.summary(out, {metric = "acc", by = {"x"}, x = "x", png = out .. "/acc.png", print = false})
    assert.are.equal(3, #s.groups)
    -- acc = x/10 + seed/100 with seeds 1..3: mean x/10 + 0.02, sd 0.01
    for i, xv in ipairs {1, 2, 4} do
      assert.are.equal(xv, s.groups[i].x)
      assert.is_true(math.abs(s.groups[i].mean - (xv / 10 + 0.02)) < 1e-12)
      assert.is_true(math.abs(s.groups[i].std - 0.01) < 1e-12)
      assert.is_true(math.abs(s.groups[i].ci - 4.302652730 * 0.01 / math.sqrt(3)) < 1e-9)
    end
    local lines_ = lines(out .. "/acc_series1.csv")
    assert.are.equal("x,mean,ci95", lines_[1])
    assert.are.equal(4, #lines_)
    local cx, cm, cc = lines_[2]:match("^([^,]+),([^,]+),([^,]+)$")
    assert.are.equal(1, tonumber(cx))
    assert.is_true(math.abs(tonumber(cm) - 0.12) < 1e-9)
    assert.is_true(math.abs(tonumber(cc) - 4.302652730 * 0.01 / math.sqrt(3)) < 1e-8)
    assert.has_error(function() qnn.sweep.summary(out, {metric = "acc", by = {"x"}, x = "seed", png = "a.png"}) end)
    -- the same summary from runs.csv (what docs/results/data/ keeps): identical groups
    local sc = qnn.sweep.summary(out .. "/runs.csv", {metric = "acc", by = {"x"}, print = false})
    assert.are.equal(3, #sc.groups)
    for i = 1, 3 do
      assert.are.equal(s.groups[i].x, sc.groups[i].x)
      assert.are.equal(s.groups[i].n, sc.groups[i].n)
      assert.is_true(math.abs(s.groups[i].mean - sc.groups[i].mean) < 1e-12)
      assert.is_true(math.abs(s.groups[i].ci - sc.groups[i].ci) < 1e-12)
    end
    local bad = out .. "/notruns.csv"
    local f = assert(io.open(bad, "w"))
    f:write("a,b\n1,2\n")
    f:close()
    assert.has_error(function() qnn.sweep.summary(bad, {metric = "a", print = false}) end,
      "qnn.sweep.summary: " .. bad .. " is not a runs.csv of qnn.sweep (no status and seed columns)")
    assert.has_error(function() qnn.sweep.summary(out .. "/missing.csv", {metric = "acc"}) end)
    -- qnn.sweep.export: the committed copy summarises the same
    local copy = qnn.sweep.export(r, out .. "/data/copy.csv")
    assert.are.equal(out .. "/data/copy.csv", copy)
    local se = qnn.sweep.summary(copy, {metric = "acc", by = {"x"}, print = false})
    assert.is_true(math.abs(se.groups[2].mean - s.groups[2].mean) < 1e-12)
    assert.has_error(function() qnn.sweep.export(out .. "/nope", out .. "/x.csv") end)
    assert.has_error(function() qnn.sweep.export(r, "") end)
    rmtree(out)
  end)
  it("bootstraps intervals with a seeded stream", function()
    local lo, hi, est = qnn.sweep.bootstrap({3, 3, 3, 3})
    assert.are.equal(3, lo)
    assert.are.equal(3, hi)
    assert.are.equal(3, est)
    local xs = {}
    for i = 1, 20 do xs[i] = i end
    local l1, h1, e1 = qnn.sweep.bootstrap(xs, {reps = 500, seed = 4})
    local l2, h2 = qnn.sweep.bootstrap(xs, {reps = 500, seed = 4})
    assert.are.equal(10.5, e1)
    assert.are.equal(l1, l2)
    assert.are.equal(h1, h2)
    assert.is_true(l1 < 10.5 and h1 > 10.5 and l1 > 1 and h1 < 20)
    -- a slope through (x, y) pairs: exact line -> degenerate interval at the slope
    local pts = {}
    for i = 1, 6 do pts[i] = {i, 2 * i + 1} end
    local slope = function(s)
      local xs_, ys_ = {}, {}
      for i, p in ipairs(s) do xs_[i], ys_[i] = p[1], p[2] end
      local n, mx, my = #s, 0, 0
      for i = 1, n do mx, my = mx + xs_[i] / n, my + ys_[i] / n end
      local sxy, sxx = 0, 0
      for i = 1, n do sxy, sxx = sxy + (xs_[i] - mx) * (ys_[i] - my), sxx + (xs_[i] - mx) ^ 2 end
      return sxx > 0 and sxy / sxx or 0 / 0
    end
    local sl, sh, se = qnn.sweep.bootstrap(pts, slope, {reps = 200})
    assert.is_true(math.abs(se - 2) < 1e-12 and math.abs(sl - 2) < 1e-12 and math.abs(sh - 2) < 1e-12)
    assert.has_error(function() qnn.sweep.bootstrap({}) end)
    assert.has_error(function() qnn.sweep.bootstrap({1}, {reps = 3}) end)
    assert.has_error(function() qnn.sweep.bootstrap({1}, {level = 1}) end)
    assert.has_error(function() qnn.sweep.bootstrap({1}, {rep = 100}) end)
  end)
  it("has the t quantiles", function()
    assert.is_true(math.abs(qnn.sweep.t975(4) - 2.776445105) < 1e-9)
    assert.is_true(math.abs(qnn.sweep.t975(40) - 2.021075390) < 1e-6)
    assert.is_true(math.abs(qnn.sweep.t975(120) - 1.979930405) < 1e-6)
    assert.has_error(function() qnn.sweep.t975(0) end)
  end)
  it("rejects bad input", function()
    assert.has_error(function() qnn.sweep.summary(rows {{"a", 1}}, {metric = "nope", print = false}) end)
    assert.has_error(function() qnn.sweep.summary(rows {{"a", 1}}, {metrc = "acc"}) end)
    assert.has_error(function() qnn.sweep.summary("/no/such/dir", {metric = "acc"}) end)
    assert.has_error(function() qnn.sweep.summary(rows {{"a", 1}}, {print = false}) end)
  end)
end)
