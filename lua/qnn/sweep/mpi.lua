-- The MPI backend of qnn.sweep (docs/sweeps.md). Every rank runs the same script and builds the
-- same sweep; rank 0 keeps the work queue and the results files, the other ranks ask it for
-- one run at a time. Each run is a child process of its rank (as in the local backend), so a run
-- that crashes loses only itself. A rank that dies is noticed by its missing heartbeat
-- (rank_timeout seconds): its current run is recorded as failed, the sweep goes on without it
-- (Open MPI keeps the other ranks alive only under `mpirun --enable-recovery`, which qnn.sweep
-- passes when it starts mpirun itself; without it mpirun ends the whole job and resume = true
-- picks up the remaining runs).
local qnn = require "qnn"
local proc = qnn.proc

local READY, JOB, RESULT, HEARTBEAT, DONE = 1, 2, 3, 4, 5

local NO_MPI = "qnn.sweep: backend = \"mpi\" needs lib/qnn_mpi.so, which is built only where mpicc exists: " ..
  "install the Debian packages libopenmpi-dev and openmpi-bin (scripts/deps.sh) and rebuild with make MPI=1"

local function in_mpi_job()
  for _, v in ipairs {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"} do
    if os.getenv(v) then return true end
  end
  return false
end

local function copy(t)
  local o = {}
  for k, v in pairs(t or {}) do o[k] = v end
  return o
end

-- qnn.sweep{backend = "mpi", ranks = N} from a plain process: start mpirun on the same script
local function launch(S, I)
  local o = S.opts
  if not package.searchpath("qnn_mpi", package.cpath) then error(NO_MPI, 0) end
  local mpirun = o.mpirun or "mpirun"
  local code = proc.run({mpirun, "--version"})
  if code == nil then
    error("qnn.sweep: '" .. mpirun .. "' not found: install the Debian package openmpi-bin " ..
      "(scripts/deps.sh installs it), or pass mpirun = \"/path/to/mpirun\"", 0)
  end
  local script = o.script or (arg and arg[0])
  if not script or not I.exists(script) then
    error("qnn.sweep: backend = \"mpi\" with ranks = N re-runs the calling script under mpirun, so the " ..
      "sweep must be defined in a script file (or pass script = path)", 0)
  end
  local argv = {mpirun, "-np", tostring(o.ranks), "--enable-recovery"}
  if o.ranks > proc.ncpu() then argv[#argv + 1] = "--oversubscribe" end
  for _, a in ipairs(o.mpirun_args or {}) do argv[#argv + 1] = tostring(a) end
  argv[#argv + 1] = I.host_exe(S)
  argv[#argv + 1] = "-e"
  argv[#argv + 1] = I.bootstrap()
  argv[#argv + 1] = script
  local sargs = o.script and (o.script_args or {}) or arg or {}
  for i = 1, #sargs do argv[#argv + 1] = tostring(sargs[i]) end
  proc.mkdir(S.out .. "/work")
  local summary = S.out .. "/work/mpi_result.json"
  os.remove(summary)
  local pid = proc.spawn {argv = argv, env = {QNN_SWEEP_MPI_RESULT = summary}, die_with_parent = true}
  local ok, err = pcall(function()
    local _, how, c = proc.wait({pid})
    if how ~= "exit" or c ~= 0 then
      io.stderr:write(string.format("qnn.sweep: mpirun ended with %s %d\n", how, c))
    end
  end)
  if not ok then
    proc.kill(pid, "TERM")
    proc.wait({pid}, 5)
    error(err, 0)
  end
  local res = I.decode(I.read_file(summary) or "") or {}
  if res.id ~= nil and res.id ~= S.id then res = {} end
  local rows = I.load_existing(S)
  return {done = res.done or 0, failed = res.failed or 0, skipped = res.skipped or 0, rows = rows,
          out = S.out, id = S.id, ranks = o.ranks}
end

local function setup_threads(S, mpi)
  local o = S.opts
  local per_node = mpi.local_size()
  local ncpu = proc.ncpu()
  S.threads = o.threads or math.max(1, ncpu // per_node)
end

-- a rank > 0: run the jobs rank 0 sends until it says done
local function serve(S, I, mpi, rank)
  mpi.silence_stdout() -- only rank 0 prints
  S.host = proc.hostname()
  S.commit = I.git_commit()
  local workdir = S.out .. "/work/rank" .. rank
  local logdir = S.out .. "/logs"
  if not pcall(proc.mkdir, workdir) or not pcall(proc.mkdir, logdir) then
    workdir = string.format("%s/qnn_sweep_%s_%d_%d", os.getenv("TMPDIR") or "/tmp", S.id, rank, proc.pid())
    proc.mkdir(workdir)
    logdir = workdir
  end
  mpi.send(0, READY, I.encode({id = S.id}))
  while true do
    local _, tag, msg = mpi.recv(-1, 0)
    if tag == DONE then
      local res = I.decode(msg) or {}
      if (res.lost_ranks or 0) > 0 then mpi.skip_finalize() end
      local rows = {}
      pcall(function() rows = I.load_existing(S) end)
      return {done = res.done or 0, failed = res.failed or 0, skipped = res.skipped or 0, rows = rows,
              out = S.out, id = S.id, rank = rank}
    elseif tag == JOB then
      local m = I.decode(msg)
      local run = m and S.runs[m.index]
      if not run or m.id ~= S.id then
        error("qnn.sweep (rank " .. rank .. "): job for another sweep; every rank must build the same sweep", 0)
      end
      local job = I.start_run(S, run, workdir, logdir)
      local last = qnn.clock()
      while true do
        local pid, how, code, cpu = proc.wait({job.pid}, 0.5)
        if pid then
          job.cpu = cpu
          local row = I.finish_row(S, run, job, how, code, qnn.clock() - job.t0, {rank = rank, host = S.host})
          mpi.send(0, RESULT, I.encode(row))
          break
        end
        local now = qnn.clock()
        if now - last >= 1 then
          mpi.send(0, HEARTBEAT, "")
          last = now
        end
        if S.opts.timeout and not job.timed_out and now - job.t0 > S.opts.timeout then
          job.timed_out = true
          proc.kill(job.pid, "KILL")
        end
      end
    end
  end
end

-- rank 0: the work queue; also runs one job at a time itself
local function coordinate(S, I, mpi, size)
  I.open_out(S)
  local rank_timeout = S.opts.rank_timeout or 60
  local res = I.execute(S, function(pending, emit, st)
    local waiting, assigned, dead = {}, {}, {}
    local nassigned = 0
    local local_job
    local qi = 1
    S.workdir, S.logdir = S.out .. "/work", S.out .. "/logs"
    local function lost(r, a)
      local row = {sweep = S.id, name = S.name, key = a.run.key, index = a.run.index, config = a.run.config,
        seed = a.run.seed, status = "failed", metrics = {}, rank = r, host = a.host, commit = S.commit,
        wall = math.floor((qnn.clock() - a.t0) * 1e4 + 0.5) / 1e4, time = os.date("!%Y-%m-%dT%H:%M:%SZ"),
        error = string.format("rank %d stopped responding for %g s (the rank was killed or its node failed); " ..
          "only this run was lost", r, rank_timeout)}
      emit(row)
    end
    local ok, err = pcall(function()
      while true do
        if not local_job and qi <= #pending then
          local_job = I.start_run(S, pending[qi], S.workdir, S.logdir)
          qi = qi + 1
        end
        for r = 1, size - 1 do
          if waiting[r] and qi <= #pending then
            local run = pending[qi]
            qi = qi + 1
            waiting[r] = nil
            mpi.send(r, JOB, I.encode({id = S.id, index = run.index}))
            assigned[r] = {run = run, t0 = qnn.clock(), last = qnn.clock()}
            nassigned = nassigned + 1
          end
        end
        st.running = nassigned + (local_job and 1 or 0)
        if qi > #pending and not local_job and nassigned == 0 then break end
        local src, tag, msg = mpi.recv(local_job and 0.02 or 0.2)
        local now = qnn.clock()
        if src then
          if tag == READY then
            local m = I.decode(msg)
            if not m or m.id ~= S.id then
              error(string.format("qnn.sweep: rank %d built a different sweep (id %s, rank 0 has %s); every rank " ..
                "must run the same script with the same arguments", src, tostring(m and m.id), S.id), 0)
            end
            dead[src] = nil
            waiting[src] = true
          elseif tag == RESULT then
            local row = I.decode(msg)
            local a = assigned[src]
            if a then
              assigned[src] = nil
              nassigned = nassigned - 1
            end
            if row then emit(row) end
            dead[src] = nil
            waiting[src] = true
          elseif tag == HEARTBEAT then
            if assigned[src] then assigned[src].last = now end
          end
        end
        if local_job then
          local pid, how, code, cpu = proc.wait({local_job.pid}, 0)
          if pid then
            local_job.cpu = cpu
            emit(I.finish_row(S, local_job.run, local_job, how, code, qnn.clock() - local_job.t0, {rank = 0}))
            local_job = nil
          elseif S.opts.timeout and not local_job.timed_out and now - local_job.t0 > S.opts.timeout then
            local_job.timed_out = true
            proc.kill(local_job.pid, "KILL")
          end
        end
        for r, a in pairs(assigned) do
          if now - a.last > rank_timeout then
            assigned[r] = nil
            nassigned = nassigned - 1
            dead[r] = true
            lost(r, a)
          end
        end
        I.progress_line(S, st)
      end
    end)
    if not ok then
      if local_job then proc.kill(local_job.pid, "KILL"); proc.wait({local_job.pid}, 5) end
      io.stderr:write(tostring(err), "\n")
      mpi.abort(1)
    end
    S.dead = dead
  end)
  local nlost = 0
  for _ in pairs(S.dead) do nlost = nlost + 1 end
  local summary = {id = S.id, done = res.done, failed = res.failed, skipped = res.skipped, lost_ranks = nlost}
  if nlost > 0 then mpi.skip_finalize() end
  local path = os.getenv("QNN_SWEEP_MPI_RESULT")
  if path and path ~= "" then I.write_atomic(path, I.encode(summary) .. "\n") end
  for r = 1, size - 1 do
    if not S.dead[r] then mpi.send(r, DONE, I.encode(summary)) end
  end
  res.ranks = size
  return res
end

return function(S, I)
  local o = S.opts
  if not in_mpi_job() and o.ranks then return launch(S, I) end
  local ok, mpi = pcall(require, "qnn_mpi")
  if not ok then error(NO_MPI, 0) end
  local rank, size = mpi.init()
  setup_threads(S, mpi)
  S.opts = copy(o)
  -- Open MPI gives ranks a pseudo-terminal even when mpirun's output is a file: no progress
  -- line unless asked for
  if S.opts.progress == nil then S.opts.progress = false end
  if rank == 0 then return coordinate(S, I, mpi, size) end
  return serve(S, I, mpi, rank)
end
