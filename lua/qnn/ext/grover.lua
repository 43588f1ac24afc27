-- qnn.grover, Lua half: the resource model of a *coherent* loss oracle for Grover-search weight
-- optimisation (issue 18, item 1). The simulator's Grover searches mark candidates from a
-- lookup of N classical loss evaluations; a real quantum computer would have to compute each
-- candidate's loss reversibly, in superposition over the candidate register. This module counts
-- what that costs (logical qubits, Toffoli and T gates, fault-tolerant time) and compares it with
-- the N classical evaluations the search replaces. Assumptions and literature are listed in
-- docs/results/grover.md ("What would a coherent oracle cost?").
--
-- Arithmetic on b-bit fixed-point registers:
--   adder (quantum + quantum or quantum + constant)   b Toffoli            Gidney 2018, arXiv 1709.06648
--     (temporary logical-AND: 4 T each, uncomputed by measurement with no T)
--   controlled adder                                   2b Toffoli           same paper (T-count 8b)
--   multiplier quantum x quantum (schoolbook)          b controlled adds = 2b^2 Toffoli
--   multiplier quantum x classical constant            b/2 adds on average (set bits) = b^2/2
--   comparator (threshold test)                        b Toffoli            (carry of a subtraction)
--   smooth function (tanh, exp, log)                   Horner, degree d:    Haener et al. 2018,
--                                                      d (q x q) mults + d constant adds   arXiv 1805.12445
--   Toffoli = 7 T with the textbook decomposition (Amy et al. 2013, arXiv 1206.0758); 4 T with
--   Gidney's temporary AND: both are reported.
-- Everything computed for the oracle is uncomputed after the phase flip, so all arithmetic counts
-- twice (the final comparator once); the diffusion costs one n-controlled Z, n - 1 Toffoli.
return function(grover, qnn)
  local doc = qnn.document

  local function fail(msg, ...)
    error("qnn.grover.resources: " .. string.format(msg, ...), 3)
  end

  local function int_opt(v, name, lo, hi, def)
    if v == nil then return def end
    if math.type(v) ~= "integer" or v < lo or v > hi then
      fail("option '%s' must be an integer in [%d, %d], got %s", name, lo, hi, tostring(v))
    end
    return v
  end

  local function pos_opt(v, name, def)
    if v == nil then return def end
    if type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge then
      fail("option '%s' must be a finite number > 0, got %s", name, tostring(v))
    end
    return v
  end

  local function sizes_of(o)
    local sizes = o.sizes
    if o.net ~= nil then
      if qnn.type(o.net) ~= "Net" then fail("option 'net' must be a Net, got %s", qnn.type(o.net)) end
      sizes = {}
      for _, info in ipairs(o.net:layers()) do
        if info.name == "dense" then
          if #sizes == 0 then sizes[1] = info["in"] end
          sizes[#sizes + 1] = info.out
        end
      end
    end
    if type(sizes) ~= "table" or #sizes < 2 then
      fail("give 'net' (a Net of dense layers) or 'sizes' (a list of at least 2 layer widths)")
    end
    for i, s in ipairs(sizes) do
      if math.type(s) ~= "integer" or s < 1 or s > 1000000 then
        fail("sizes[%d] must be an integer in [1, 1000000], got %s", i, tostring(s))
      end
    end
    return sizes
  end

  local KEYS = {net = true, sizes = true, bits = true, samples = true, resolution = true,
                layer = true, degree = true, search = true, shots = true, toffoli_time = true,
                flop_time = true, marked = true}

  --- Resource estimate of one coherent loss-oracle query and of a whole search over one weight.
  local function resources(o)
    if type(o) ~= "table" then fail("expects an options table, got %s", qnn.type(o)) end
    for k in pairs(o) do
      if not KEYS[k] then fail("unknown option '%s'", tostring(k)) end
    end
    local sizes = sizes_of(o)
    local D = #sizes - 1
    local b = int_opt(o.bits, "bits", 2, 64, 16)
    local M = int_opt(o.samples, "samples", 1, 1 << 40, nil)
    if M == nil then fail("option 'samples' (training-set size the loss sums over) is required") end
    local L = int_opt(o.layer, "layer", 1, D, D)
    local N = int_opt(o.resolution, "resolution", 2, 1 << 40, (L == D) and 64 or 32)
    local d = int_opt(o.degree, "degree", 1, 64, 3)
    local marked = int_opt(o.marked, "marked", 1, N, 1)
    local shots = int_opt(o.shots, "shots", 1, 1 << 30, 1)
    local search = o.search or "grover"
    if search ~= "grover" and search ~= "durr_hoyer" then
      fail("option 'search' must be \"grover\" or \"durr_hoyer\", got %s", tostring(search))
    end
    local t_toff = pos_opt(o.toffoli_time, "toffoli_time", 1e-4)
    local t_flop = pos_opt(o.flop_time, "flop_time", 1e-9)

    local n = 0
    while (1 << n) < N do n = n + 1 end
    local add, cadd = b, 2 * b
    local mul_qq, mul_qc = 2 * b * b, b * b / 2
    local func = d * (mul_qq + add)
    -- per training sample, for a candidate of weight w_ij of layer L (rows = sizes[L], cols = sizes[L+1])
    local toff, flops = 0, 0
    local live = 0 -- b-bit registers alive at once (widths of the recomputed layers)
    -- the changed pre-activation: z_j += (w - w0) * x_i, w from the index register (n bits)
    toff = toff + n * cadd + mul_qc + add
    flops = flops + 2
    live = live + 2
    if L < D then
      -- neuron j's activation, then the rank-1 update of layer L+1's pre-activations
      toff = toff + func
      flops = flops + 2 * d
      local K = sizes[L + 2]
      toff = toff + K * (mul_qc + add)
      flops = flops + 2 * K
      live = live + 1 + K
      -- full layers after L + 1
      for l = L + 2, D do
        local fin, fout = sizes[l], sizes[l + 1]
        toff = toff + fin * func + fin * fout * (mul_qc + add)
        flops = flops + fin * 2 * d + 2 * fin * fout
        live = live + fin + fout
      end
    end
    -- softmax cross-entropy on the K outputs: K exps, K adds, one log, minus z_y
    local K = sizes[D + 1]
    toff = toff + (K + 1) * func + (K + 1) * add
    flops = flops + (K + 1) * 2 * d + K + 1
    live = live + K + 1
    local per_sample = toff
    -- sum over M samples into an accumulator of b + log2 M bits, then compute + uncompute
    local acc_bits = b
    do local m = 1 while m < M do m = m * 2; acc_bits = acc_bits + 1 end end
    local oracle = 2 * (M * (per_sample + acc_bits)) + acc_bits -- the threshold comparator once
    local diffusion = math.max(n - 1, 0)
    local per_query = oracle + diffusion
    local qubits = n + 1 + live * b + acc_bits + b -- index, phase ancilla, live registers,
                                                    -- accumulator, one multiplier work register
    local queries
    if search == "grover" then
      queries = math.max(1, math.floor(math.pi / 4 * math.sqrt(N / marked))) * shots
    else
      queries = math.ceil(22.5 * math.sqrt(N)) -- Durr-Hoyer budget (BBHT), one shot per attempt
    end
    local q_toff = queries * per_query
    local c_flops = 1.0 * N * M * flops
    local q_time = q_toff * t_toff
    local c_time = c_flops * t_flop
    -- break-even resolution (grover, one marked, one shot): pi/4 sqrt(N) * T_q(N) = N * M * f * t_flop;
    -- the oracle cost grows with log2 N only through the weight load, so solve by doubling
    local be_N
    do
      local Nn = 2.0
      for _ = 1, 200 do
        local nn = math.log(Nn, 2)
        local orc = 2 * (M * (per_sample - n * cadd + nn * cadd + acc_bits)) + acc_bits + nn
        local qt = math.pi / 4 * math.sqrt(Nn) * orc * t_toff
        if qt <= Nn * M * flops * t_flop then be_N = Nn break end
        Nn = Nn * 2
        if Nn > 2 ^ 200 then break end
      end
    end
    return {
      sizes = sizes, layer = L, bits = b, samples = M, resolution = N, index_qubits = n,
      degree = d, search = search, shots = shots,
      per_sample_toffoli = per_sample,
      oracle = {toffoli = oracle, t_count = 7 * oracle, t_count_and = 4 * oracle, qubits = qubits},
      per_query = {toffoli = per_query},
      queries = queries,
      quantum = {toffoli = q_toff, t_count = 7 * q_toff, time_s = q_time},
      classical = {evaluations = N, flops = c_flops, flops_per_sample = flops, time_s = c_time},
      ratio = q_time / c_time,
      break_even_resolution = be_N,
      break_even_qubits = be_N and math.ceil(math.log(be_N, 2)) or nil,
      toffoli_time = t_toff, flop_time = t_flop,
    }
  end
  grover.resources = resources
  doc(resources, "qnn.grover.resources",
    "qnn.grover.resources{net=Net | sizes={...}, samples=M, bits=16, layer=D, resolution=N, " ..
    "degree=3, search=\"grover\"|\"durr_hoyer\", shots=1, marked=1, toffoli_time=1e-4, flop_time=1e-9} -> table",
    "Cost of a coherent oracle that computes one candidate's training loss (sum over M samples, " ..
    "b-bit fixed point) for the Grover search over one weight of dense layer 'layer' " ..
    "(default the output layer), against the N classical loss evaluations it replaces.\n" ..
    "Returns {oracle={toffoli, t_count (7 T per Toffoli), t_count_and (4 T, Gidney's AND), qubits}, " ..
    "per_sample_toffoli, queries, quantum={toffoli, t_count, time_s}, classical={evaluations, flops, " ..
    "flops_per_sample, time_s}, ratio (quantum / classical time), break_even_resolution (smallest " ..
    "N = 2^k with quantum time <= classical, or nil), break_even_qubits, ...}.\n" ..
    "Costs: adder b Toffoli, controlled adder 2b (Gidney 2018), q x q multiplier 2b^2, q x constant " ..
    "b^2/2, functions by Horner of degree 'degree' (Haener et al. 2018); everything uncomputed " ..
    "(x2). Times: toffoli_time seconds per logical Toffoli, flop_time seconds per classical flop.")
end
