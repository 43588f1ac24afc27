-- qnn.noise: noise models for Circuit:run and qnn.grover (plain tables).
--
-- A noise model is a table with numeric fields (all optional, default 0, each in [0, 1]):
--   p1          depolarizing probability on the qubit after each 1-qubit gate (and on every
--               touched qubit after a gate on >= 3 qubits: mcx, mcz, unitary, diagonal);
--   p2          two-qubit depolarizing probability on the pair after each 2-qubit gate;
--   amp_damp    amplitude damping gamma on every touched qubit after every gate;
--   phase_damp  phase damping gamma on every touched qubit after every gate;
--   bit_flip    X with probability p on every touched qubit after every gate;
--   phase_flip  Z with probability p on every touched qubit after every gate;
--   readout     each measured bit flipped with probability p (qnn.grover outcomes; a circuit run
--               on a State or Density refuses it: it is not a channel on the state).
-- and one flag, native = true: the circuit is first decomposed into 1-qubit gates + CX
-- (Circuit:decompose, no ancillas), so every channel follows every native gate instead of one
-- hit per multi-qubit gate.
-- Depolarizing(p): rho -> (1-p) rho + p/3 (X rho X + Y rho Y + Z rho Z); two-qubit: each of the
-- 15 non-identity Pauli pairs with probability p/15. Channels after a gate are applied in the
-- order depolarizing, amp_damp, phase_damp, bit_flip, phase_flip.
-- On a State, Circuit:run samples one Monte-Carlo trajectory (seeded); on a Density the channels
-- are exact.
local qnn = require "qnn"

local M = {}

local FIELDS = { "p1", "p2", "amp_damp", "phase_damp", "bit_flip", "phase_flip", "readout" }
local ALIASES = {
  amplitude_damping = "amp_damp", phase_damping = "phase_damp",
  depolarizing1 = "p1", depolarizing2 = "p2",
}

local Model = {}
Model.__index = Model
Model.__qnntype = "NoiseModel"

function Model.__tostring(m)
  local parts = {}
  for _, k in ipairs(FIELDS) do
    if m[k] ~= 0 then parts[#parts + 1] = string.format("%s=%g", k, m[k]) end
  end
  if m.native then parts[#parts + 1] = "native=true" end
  if #parts == 0 then parts[1] = "noiseless" end
  return "qnn.NoiseModel{" .. table.concat(parts, ", ") .. "}"
end

local function prob(fname, key, v)
  if v == nil then return 0 end
  if type(v) ~= "number" or v ~= v or v < 0 or v > 1 then
    error(string.format("bad option '%s' to '%s' (must be a probability in [0, 1], got %s)",
      key, fname, tostring(v)), 3)
  end
  return v + 0.0
end

local function build(fname, opts, allowed)
  if opts ~= nil and type(opts) ~= "table" then
    error(string.format("bad argument #1 to '%s' (must be a table of options, got %s)", fname,
      type(opts)), 3)
  end
  opts = opts or {}
  local m = setmetatable({}, Model)
  for _, k in ipairs(FIELDS) do m[k] = 0.0 end
  for k, v in pairs(opts) do
    local key = ALIASES[k] or k
    if key == "native" and allowed.native then
      if type(v) ~= "boolean" then
        error(string.format("bad option 'native' to '%s' (must be a boolean, got %s)", fname, type(v)), 3)
      end
      m.native = v
      goto continue
    end
    if not allowed[key] then
      local names = {}
      for a in pairs(allowed) do names[#names + 1] = a end
      table.sort(names)
      error(string.format("bad option '%s' to '%s' (unknown; allowed: %s)", tostring(k), fname,
        table.concat(names, ", ")), 3)
    end
    m[key] = prob(fname, k, v)
    ::continue::
  end
  return m
end

local ALL = { native = true }
for _, k in ipairs(FIELDS) do ALL[k] = true end

--- Depolarizing noise after every gate.
function M.depolarizing(opts)
  if type(opts) == "number" then opts = { p1 = opts, p2 = opts } end
  return build("qnn.noise.depolarizing", opts, { p1 = true, p2 = true, native = true })
end
qnn.document(M.depolarizing, "qnn.noise.depolarizing", "qnn.noise.depolarizing{p1=, p2=, native=false} -> NoiseModel",
  "p1: depolarizing probability in [0, 1] on the qubit after each 1-qubit gate (and on each "
  .. "touched qubit after gates on >= 3 qubits); p2: two-qubit depolarizing probability in [0, 1] "
  .. "after each 2-qubit gate. A single number p means p1 = p2 = p.\nReturns a noise model for "
  .. "Circuit:run{noise=} and qnn.grover.")

--- General model.
function M.model(opts)
  return build("qnn.noise.model", opts, ALL)
end
qnn.document(M.model, "qnn.noise.model",
  "qnn.noise.model{p1=, p2=, amp_damp=, phase_damp=, bit_flip=, phase_flip=, readout=, native=false} -> NoiseModel",
  "All fields optional (default 0), each in [0, 1]. p1/p2: depolarizing after 1-/2-qubit gates; "
  .. "amp_damp (alias amplitude_damping), phase_damp (alias phase_damping): damping gamma; "
  .. "bit_flip/phase_flip: probability; the last four act on every qubit a gate touches, after "
  .. "the gate; readout: probability that each measured bit of a qnn.grover outcome flips; " ..
  "native = true: channels after every gate of the circuit decomposed into 1-qubit gates + CX.\n" ..
  "Returns a noise model (a plain table with those fields).")

local function single(name, field)
  local f = function(p)
    return build("qnn.noise." .. name, { [field] = prob("qnn.noise." .. name, "p", p) }, ALL)
  end
  qnn.document(f, "qnn.noise." .. name, "qnn.noise." .. name .. "(p) -> NoiseModel",
    "p: number in [0, 1].\nReturns a model with only " .. field .. " = p (after every gate, on "
    .. "every touched qubit).")
  return f
end
M.amplitude_damping = single("amplitude_damping", "amp_damp")
M.phase_damping = single("phase_damping", "phase_damp")
M.bit_flip = single("bit_flip", "bit_flip")
M.phase_flip = single("phase_flip", "phase_flip")
M.readout = single("readout", "readout")

--- Applies a readout error to a probability vector over 2^n outcomes.
function M.apply_readout(probs, e)
  local fname = "qnn.noise.apply_readout"
  e = prob(fname, "e", e)
  local t = probs
  if qnn.type(probs) == "Tensor" then
    t = {}
    for i = 1, #probs do t[i] = probs[i] end
  elseif type(probs) ~= "table" then
    error(string.format("bad argument #1 to '%s' (must be a Tensor or a list of probabilities, got %s)",
      fname, qnn.type(probs)), 2)
  end
  local N = #t
  local n = 0
  while (1 << n) < N do n = n + 1 end
  if N == 0 or (1 << n) ~= N then
    error(string.format("bad argument #1 to '%s' (length must be a power of 2, got %d)", fname, N), 2)
  end
  local out = {}
  for i = 1, N do
    if type(t[i]) ~= "number" or t[i] ~= t[i] then
      error(string.format("bad argument #1 to '%s' (entry %d is not a number)", fname, i), 2)
    end
    out[i] = t[i]
  end
  for q = 0, n - 1 do
    local b = 1 << q
    for x = 0, N - 1 do
      if x & b == 0 then
        local p0, p1 = out[x + 1], out[(x | b) + 1]
        out[x + 1] = (1 - e) * p0 + e * p1
        out[(x | b) + 1] = (1 - e) * p1 + e * p0
      end
    end
  end
  return out
end
qnn.document(M.apply_readout, "qnn.noise.apply_readout", "qnn.noise.apply_readout(probs, e) -> table",
  "probs: Tensor or list of 2^n outcome probabilities (index 1 = outcome 0, bit q of the outcome = qubit q); " ..
  "e: bit-flip probability in [0, 1].\nReturns the distribution after each bit flips independently with " ..
  "probability e (the readout error qnn.noise.model{readout=e} applies inside qnn.grover).")

--- Sum of models (fields added, capped at 1).
function M.combine(...)
  local out = build("qnn.noise.combine", {}, ALL)
  for i = 1, select("#", ...) do
    local m = select(i, ...)
    if type(m) ~= "table" then
      error(string.format("bad argument #%d to 'qnn.noise.combine' (must be a noise model, got %s)",
        i, type(m)), 2)
    end
    for _, k in ipairs(FIELDS) do
      out[k] = math.min(1.0, out[k] + prob("qnn.noise.combine", k, m[k]))
    end
  end
  return out
end
qnn.document(M.combine, "qnn.noise.combine", "qnn.noise.combine(m1, m2, ...) -> NoiseModel",
  "m1, m2, ...: noise models.\nReturns a model whose fields are the sums (capped at 1) - "
  .. "an approximation of applying both for small probabilities.")

--- Is x a noise model?
function M.is_model(x)
  return getmetatable(x) == Model
end
qnn.document(M.is_model, "qnn.noise.is_model", "qnn.noise.is_model(x) -> boolean",
  "Returns true if x was made by qnn.noise.*.")

M.fields = FIELDS
qnn.document(M, "qnn.noise", "qnn.noise",
  "Noise models (plain tables with fields p1, p2, amp_damp, phase_damp, bit_flip, phase_flip) "
  .. "for Circuit:run{noise=} (trajectories on a State, exact on a Density) and qnn.grover.")
return M
