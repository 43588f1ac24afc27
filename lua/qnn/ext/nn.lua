-- qnn.nn, Lua half: qnn.nn.quantum{...}, the quantum layer constructor (encoders, data
-- re-uploading, a default hardware-efficient ansatz, named inputs/weights). It builds one
-- Circuit, resolves names to parameter indices and hands them to qnn.nn.quantum_spec (C,
-- src/lua/qlayer.c), whose layer runs batches in C (src/core/qlayer.c).
return function(nn, qnn)
  local keys = {
    circuit = true, qubits = true, inputs = true, weights = true, encoder = true,
    features = true, reupload = true, layers = true, rotation = true, input_scale = true,
    entangle = true, outputs = true, shots = true, seed = true, noise = true, init = true,
    init_seed = true, threads = true,
  }

  -- errors carry no position here; nn.quantum re-raises them at the caller's line
  local function fail(msg, ...)
    error("qnn.nn.quantum: " .. string.format(msg, ...), 0)
  end

  local function int_opt(o, k, lo, hi, def)
    local v = o[k]
    if v == nil then return def end
    if math.type(v) ~= "integer" or v < lo or (hi and v > hi) then
      fail("option '%s' must be an integer in [%d, %s], got %s", k, lo, hi and tostring(hi) or "inf", tostring(v))
    end
    return v
  end

  -- default ansatz layer l: RY, RZ on every qubit, then a CX ring (or chain)
  local function hea_layer(c, n, l, tag, entangle)
    for q = 0, n - 1 do
      c:ry(q, ("w%s_%d_%d_y"):format(tag, l, q))
      c:rz(q, ("w%s_%d_%d_z"):format(tag, l, q))
    end
    if n > 1 and entangle ~= "none" then
      for q = 0, n - 2 do c:cx(q, q + 1) end
      if entangle == "ring" and n > 2 then c:cx(n - 1, 0) end
    end
  end

  local function default_outputs(n)
    local outs = {}
    for q = 0, n - 1 do outs[#outs + 1] = string.rep("I", q) .. "Z" end
    return outs
  end

  -- outputs option -> list for quantum_spec ("probs" expands to every basis state)
  local function expand_outputs(o, n)
    if o == nil then return default_outputs(n) end
    if o == "probs" then
      if n > 16 then fail("outputs = \"probs\" on %d qubits gives 2^%d outputs; select some with {probs = {...}}", n, n) end
      local t = {}
      for b = 0, (1 << n) - 1 do t[#t + 1] = { prob = b } end
      return t
    end
    if type(o) == "string" then return { o } end
    if type(o) ~= "table" then fail("outputs must be a list, \"probs\" or {probs = {...}}, got %s", type(o)) end
    if o.probs ~= nil then
      if type(o.probs) ~= "table" then fail("outputs.probs must be a list of basis indices") end
      local t = {}
      for i, b in ipairs(o.probs) do
        if math.type(b) ~= "integer" or b < 0 or b >= (1 << n) then
          fail("outputs.probs entry %d must be a basis index in [0, %d], got %s", i, (1 << n) - 1, tostring(b))
        end
        t[#t + 1] = { prob = b }
      end
      if #t == 0 then fail("outputs.probs must list at least one basis index") end
      return t
    end
    if #o == 0 then fail("outputs must list at least one observable") end
    local t = {}
    for i, e in ipairs(o) do
      if e == "probs" then
        for b = 0, (1 << n) - 1 do t[#t + 1] = { prob = b } end
      else
        t[#t + 1] = e
      end
      if i > 65536 then break end
    end
    return t
  end

  local build
  function nn.quantum(opts)
    local ok, res = pcall(build, opts)
    if ok then return res end
    if type(res) == "string" then
      res = res:gsub("^[^\n]-ext/nn%.lua:%d+: ", "")
      if not res:find("^qnn%.nn%.quantum") then res = "qnn.nn.quantum: " .. res end
    end
    error(res, 2)
  end

  build = function(opts)
    if type(opts) ~= "table" then fail("expects an option table, got %s", type(opts)) end
    local bad = qnn.opts.unknown(opts, keys)
    if bad then fail("%s", bad) end
    local enc = opts.encoder
    if enc ~= nil and enc ~= "angle" and enc ~= "amplitude" then
      fail("option 'encoder' must be \"angle\" or \"amplitude\", got %s", tostring(enc))
    end
    local circ = opts.circuit
    local ctype = qnn.type(circ)
    if circ ~= nil and ctype ~= "Circuit" and type(circ) ~= "function" then
      fail("option 'circuit' must be a Circuit or a builder function(c, layer), got %s", ctype)
    end
    local L = int_opt(opts, "reupload", 1, 1000, 1)
    local layers = int_opt(opts, "layers", 1, 10000, 1)
    local rotation = opts.rotation or "ry"
    if rotation ~= "ry" and rotation ~= "rx" and rotation ~= "rz" then
      fail("option 'rotation' must be \"ry\", \"rx\" or \"rz\", got %s", tostring(rotation))
    end
    local entangle = opts.entangle or "ring"
    if entangle ~= "ring" and entangle ~= "chain" and entangle ~= "none" then
      fail("option 'entangle' must be \"ring\", \"chain\" or \"none\", got %s", tostring(entangle))
    end
    local scale = opts.input_scale or 1
    if type(scale) ~= "number" or scale ~= scale or scale == math.huge or scale == -math.huge then
      fail("option 'input_scale' must be a finite number")
    end
    local c, input_names, amplitude, F
    if enc then
      if opts.inputs ~= nil then fail("give either 'encoder' or 'inputs', not both") end
      F = int_opt(opts, "features", 1, 1 << 24, nil)
      local n = int_opt(opts, "qubits", 1, 30, nil)
      if ctype == "Circuit" then n = n or circ:nqubits() end
      if enc == "amplitude" then
        F = F or (n and (1 << n))
        if not F then fail("amplitude encoding needs 'features' or 'qubits'") end
        local need = 0
        while (1 << need) < F do need = need + 1 end
        n = n or math.max(need, 1)
        if n < need then fail("amplitude encoding of %d features needs %d qubits, got %d", F, need, n) end
        if L > 1 then fail("reupload needs encoder = \"angle\" (an amplitude encoding prepares the initial state once)") end
        amplitude = true
      else
        F = F or n
        if not F then fail("encoder = \"angle\" needs 'features' or 'qubits'") end
        n = n or F
        if n > 30 then fail("angle encoding of %d features would need %d qubits (at most 30); set qubits= to put several features on each qubit", F, n) end
      end
      if ctype == "Circuit" and circ:nqubits() ~= n then
        fail("the circuit has %d qubits, the layer %d", circ:nqubits(), n)
      end
      c = qnn.circuit(n)
      input_names = {}
      if not amplitude then
        for i = 1, F do input_names[i] = "x" .. i end
      end
      local rots = { rotation, rotation == "rz" and "ry" or "rz" }
      for l = 1, L do
        if not amplitude then
          for i = 1, F do
            local q = (i - 1) % n
            local r = rots[((i - 1) // n) % 2 + 1]
            c[r](c, q, { "x" .. i, scale })
          end
        end
        if ctype == "Circuit" then
          c:append(circ)
        elseif type(circ) == "function" then
          circ(c, l)
        else
          for k = 1, layers do hea_layer(c, n, (l - 1) * layers + k, "", entangle) end
        end
      end
    else
      if circ == nil then fail("give a 'circuit' (with 'inputs') or an 'encoder'") end
      if opts.inputs == nil then fail("declare which circuit parameters are inputs (inputs = {\"x1\", ...}) or use an encoder") end
      if ctype == "Circuit" then
        c = circ
      else
        local n = int_opt(opts, "qubits", 1, 30, nil)
        if not n then fail("a builder function needs 'qubits'") end
        c = qnn.circuit(n)
        circ(c, 1)
      end
      if type(opts.inputs) ~= "table" or #opts.inputs == 0 then fail("'inputs' must be a non-empty list of parameter names") end
      input_names = opts.inputs
      F = #input_names
    end
    if qnn.type(c) ~= "Circuit" then fail("the builder must add gates to the Circuit it is given") end
    local names = c:param_names()
    local index = {}
    for i, nm in ipairs(names) do index[nm] = i - 1 end
    local inputs, is_input = {}, {}
    for i, nm in ipairs(input_names) do
      if type(nm) ~= "string" then fail("inputs entry %d must be a parameter name", i) end
      if index[nm] == nil then fail("input '%s' is not a parameter of the circuit (parameters: %s)", nm, table.concat(names, ", ")) end
      if is_input[nm] then fail("input '%s' is listed twice", nm) end
      inputs[i], is_input[nm] = index[nm], true
    end
    local weights = {}
    if opts.weights ~= nil then
      if type(opts.weights) ~= "table" then fail("'weights' must be a list of parameter names") end
      for j, nm in ipairs(opts.weights) do
        if index[nm] == nil then fail("weight '%s' is not a parameter of the circuit", tostring(nm)) end
        if is_input[nm] then fail("parameter '%s' is declared both as an input and as a weight", nm) end
        weights[j] = index[nm]
      end
    else
      for i, nm in ipairs(names) do
        if not is_input[nm] then weights[#weights + 1] = i - 1 end
      end
    end
    local outputs = expand_outputs(opts.outputs, c:nqubits())
    local spec = nn.quantum_spec{
      circuit = c:copy(), inputs = (not amplitude) and inputs or nil, weights = weights,
      amplitude = amplitude or nil, features = amplitude and F or nil, outputs = outputs,
      shots = opts.shots, seed = opts.seed, noise = opts.noise, init = opts.init,
      init_seed = opts.init_seed, threads = opts.threads,
    }
    -- build once now so every error shows here, and to describe the layer
    local ok, net = pcall(nn.sequential, { spec, seed = 0 })
    if not ok then error(tostring(net):gsub("^qnn%.nn%.sequential: ", ""), 0) end
    local info = nn.quantum_info(net, 1)
    net:close()
    spec["in"], spec.out = F, #outputs
    spec.qubits, spec.depth, spec.nweights = info.qubits, info.depth, info.weights
    return setmetatable(spec, {
      __qnntype = "Layer",
      __tostring = function(s)
        return ("qnn.nn.quantum(%d -> %d, %d qubits, depth %d, %d weights%s%s)"):format(
          s["in"], s.out, s.qubits, s.depth, s.nweights,
          info.shots > 0 and (", " .. info.shots .. " shots") or "", info.noisy and ", noisy" or "")
      end,
    })
  end
  qnn.document(nn.quantum, "qnn.nn.quantum",
    "qnn.nn.quantum{circuit=, inputs=, weights=, encoder=, features=, qubits=, reupload=1, layers=1, " ..
    "rotation=\"ry\", input_scale=1, entangle=\"ring\", outputs=, shots=0, seed=, noise=, init=, init_seed=, threads=} -> layer",
    "A quantum layer for qnn.nn.sequential (forward B x inputs -> B x outputs; backward by the " ..
    "adjoint method for inputs AND weights; samples run in parallel in C).\n" ..
    "Either circuit = a Circuit (or a builder function(c, layer) with qubits=) plus inputs = {names} " ..
    "of its parameters fed per sample; or encoder = \"angle\" (feature i -> rotation on qubit " ..
    "(i-1) % n, angle input_scale*x_i, input parameters named x1..xF, which a block may also use; rotation " ..
    "\"ry\"/\"rx\", RZ for the second pass over the qubits) " ..
    "or \"amplitude\" (features normalised and zero-padded into the initial state) with features= " ..
    "and/or qubits=, followed by the trainable block: circuit (a Circuit appended as is, or a builder " ..
    "called as builder(c, l)) or, by default, `layers` hardware-efficient layers (RY, RZ per qubit, " ..
    "CX ring/chain). reupload = L repeats encoder + block L times (the default block gets new weights " ..
    "each time; a Circuit block shares its weights). weights: names (default: every parameter that is " ..
    "not an input; every parameter must be one or the other). outputs: list of Pauli strings " ..
    "(\"ZI..\", qubit 0 first), Hamiltonians {{coef, \"XX\"}, ...}, {prob = basis index}, or \"probs\" " ..
    "/ {probs = {indices}}; default Z on every qubit. shots: shot estimates (seeded from the net's " ..
    "stream or seed=). noise: a qnn.noise model: density matrices, gradients by parameter shift. " ..
    "init: \"default\" (U(-pi, pi)), \"uniform(a,b)\", \"normal(m,s)\", \"zeros\"; init_seed: integer; " ..
    "threads: at most this many threads over samples (default: OpenMP's; results do not depend on it).")
end
