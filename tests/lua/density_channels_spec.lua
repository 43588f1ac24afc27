-- Single-qubit channels on a Density against a reference in Lua (sum_k K rho K^dagger on the
-- full matrix): the real two-block fast path (every named channel and their compositions) and
-- the general complex superoperator (any other Kraus set) must both give it.
local qnn = require "qnn"

local N = 3
local D = 1 << N

-- rho as a Lua table of {re, im}, indices 0-based
local function dump(d)
  local m = {}
  for i = 0, D - 1 do
    m[i] = {}
    for j = 0, D - 1 do
      local re, im = d:get(i, j)
      m[i][j] = {re, im}
    end
  end
  return m
end

local function cmul(a, b) return {a[1] * b[1] - a[2] * b[2], a[1] * b[2] + a[2] * b[1]} end
local function cadd(a, b) return {a[1] + b[1], a[2] + b[2]} end
local function conj(a) return {a[1], -a[2]} end
local function c(x) if type(x) == "table" then return {x[1], x[2]} end return {x, 0} end

-- sum_k K_q rho K_q^dagger, K given as {{a, b}, {c, d}} (numbers or {re, im})
local function reference(m, q, kraus)
  local out = {}
  for i = 0, D - 1 do
    out[i] = {}
    for j = 0, D - 1 do out[i][j] = {0, 0} end
  end
  local bit = 1 << q
  for _, K in ipairs(kraus) do
    for i = 0, D - 1 do
      for j = 0, D - 1 do
        -- (K rho K^+)_{ij} = sum_{a,b} K_{i_q a} rho_{i' j'} conj(K_{j_q b}), i' = i with bit q = a
        local acc = {0, 0}
        local iq, jq = (i & bit) ~= 0 and 2 or 1, (j & bit) ~= 0 and 2 or 1
        for a = 1, 2 do
          for b = 1, 2 do
            local ii = (i & ~bit) | ((a - 1) * bit)
            local jj = (j & ~bit) | ((b - 1) * bit)
            acc = cadd(acc, cmul(cmul(c(K[iq][a]), m[ii][jj]), conj(c(K[jq][b]))))
          end
        end
        out[i][j] = cadd(out[i][j], acc)
      end
    end
  end
  return out
end

local function maxdiff(a, b)
  local w = 0
  for i = 0, D - 1 do
    for j = 0, D - 1 do
      w = math.max(w, math.abs(a[i][j][1] - b[i][j][1]), math.abs(a[i][j][2] - b[i][j][2]))
    end
  end
  return w
end

-- a mixed state with complex coherences everywhere
local function start()
  return qnn.density(N):h(0):ry(1, 0.7):cx(0, 2):rz(2, 0.4):u3(1, 0.3, 1.1, -0.6):depolarize(0, 0.1)
    :cry(1, 0, 0.8):amplitude_damp(2, 0.2):s(0):rx(2, 0.9)
end

local function kraus_of(name, p)
  local s, t = math.sqrt, {}
  if name == "depolarize" then
    t = {{{s(1 - p), 0}, {0, s(1 - p)}}, {{0, s(p / 3)}, {s(p / 3), 0}},
         {{0, {0, -s(p / 3)}}, {{0, s(p / 3)}, 0}}, {{s(p / 3), 0}, {0, -s(p / 3)}}}
  elseif name == "amplitude_damp" then t = {{{1, 0}, {0, s(1 - p)}}, {{0, s(p)}, {0, 0}}}
  elseif name == "phase_damp" then t = {{{1, 0}, {0, s(1 - p)}}, {{0, 0}, {0, s(p)}}}
  elseif name == "bit_flip" then t = {{{s(1 - p), 0}, {0, s(1 - p)}}, {{0, s(p)}, {s(p), 0}}}
  elseif name == "phase_flip" then t = {{{s(1 - p), 0}, {0, s(1 - p)}}, {{s(p), 0}, {0, -s(p)}}}
  end
  return t
end

describe("Density channels (fast real-block path and general superoperator)", function()
  for _, name in ipairs {"depolarize", "amplitude_damp", "phase_damp", "bit_flip", "phase_flip"} do
    it(name .. " equals sum K rho K^dagger on every qubit", function()
      for q = 0, N - 1 do
        local d = start()
        local want = reference(dump(d), q, kraus_of(name, 0.23))
        d[name](d, q, 0.23)
        assert.is_true(maxdiff(dump(d), want) < 1e-13, name .. " on qubit " .. q)
      end
    end)
  end

  it("a complex Kraus set (general path) equals the reference and the gate it encodes", function()
    local th = 0.61
    local K = {{{math.cos(th / 2), 0}, {0, -math.sin(th / 2)}}, {{0, -math.sin(th / 2)}, {math.cos(th / 2), 0}}}
    local d = start()
    local want = reference(dump(d), 1, {K})
    d:kraus(1, {K})
    assert.is_true(maxdiff(dump(d), want) < 1e-13)
    local g = start():rx(1, th)
    assert.is_true(maxdiff(dump(d), dump(g)) < 1e-13)
    -- a mixing Kraus pair with complex entries: sqrt(1-p) I and sqrt(p) Y-like rotation
    local p = 0.3
    local a, b = math.sqrt(1 - p), math.sqrt(p)
    local K2 = {{{{a, 0}, {0, 0}}, {{0, 0}, {a, 0}}}, {{{0, b * 0.6}, {b * 0.8, 0}}, {{-b * 0.8, 0}, {0, -b * 0.6}}}}
    d = start()
    want = reference(dump(d), 2, K2)
    d:kraus(2, K2)
    assert.is_true(maxdiff(dump(d), want) < 1e-13)
  end)

  it("composed channels after a gate (noise model on a circuit) equal the channels one by one", function()
    local nm = qnn.noise.model {p1 = 0.05, amp_damp = 0.1, phase_damp = 0.07, bit_flip = 0.02, phase_flip = 0.03}
    local c = qnn.circuit(N):ry(1, 0.5)
    local d = start()
    c:run(d, {noise = nm})
    local e = start():ry(1, 0.5):depolarize(1, 0.05):amplitude_damp(1, 0.1):phase_damp(1, 0.07)
      :bit_flip(1, 0.02):phase_flip(1, 0.03)
    assert.is_true(maxdiff(dump(d), dump(e)) < 1e-13)
    local r = reference(reference(dump(start():ry(1, 0.5)), 1, kraus_of("depolarize", 0.05)), 1,
      kraus_of("amplitude_damp", 0.1))
    local f = start():ry(1, 0.5):depolarize(1, 0.05):amplitude_damp(1, 0.1)
    assert.is_true(maxdiff(dump(f), r) < 1e-13)
  end)
end)
