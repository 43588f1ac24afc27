-- qnn.grover: Grover search, circuits, the authors' "paper" circuit, Durr-Hoyer minimum.
local qnn = require "qnn"
local G = qnn.grover

local function analytic(N, M, k)
  local s = math.sin((2 * k + 1) * math.asin(math.sqrt(M / N)))
  return s * s
end

local function has_circuits()
  return rawget(qnn, "circuit") ~= nil and rawget(qnn, "state") ~= nil
end

-- register distribution of a Circuit run on |0...0> (qubits 0..n-1 = register)
local function register_probs(c, n, nq)
  nq = nq or n
  local s = qnn.state(nq)
  c:run(s)
  local N = 1 << n
  local p = {}
  for i = 0, N - 1 do p[i + 1] = 0 end
  for x = 0, (1 << nq) - 1 do
    local r = x % N
    p[r + 1] = p[r + 1] + s:prob(x)
  end
  return p
end

describe("qnn.grover", function()
  it("success probability equals sin^2((2k+1) asin(sqrt(M/N))) to 1e-12", function()
    for _, n in ipairs {2, 3, 5, 7} do
      local N = 1 << n
      for _, M in ipairs {1, 2, 3} do
        local marked = {}
        for j = 1, M do marked[j] = (j * 5 + 1) % N end
        for k = 0, 6 do
          local r = G.search {n = n, marked = marked, iterations = k, shots = 16, seed = 1}
          assert.is_true(math.abs(r.p_success - analytic(N, M, k)) < 1e-12)
          assert.are.equal(k, r.iterations)
          assert.are.equal(k * 16, r.queries)
          assert.are.equal(k, r.queries_ideal)
        end
      end
      assert.is_true(math.abs(G.p_success(N, 1, 2) - analytic(N, 1, 2)) < 1e-15)
    end
  end)

  it("search finds a single marked item with the default k", function()
    local r = G.search {n = 8, marked = {201}, shots = 256, seed = 3}
    assert.are.equal(12, r.iterations)                 -- floor(pi/4*sqrt(256))
    assert.are.equal(201, r.outcome)
    assert.is_true(r.success)
    assert.is_true(r.p_success > 0.99)
    local total = 0
    for _, c in pairs(r.counts) do total = total + c end
    assert.are.equal(256, total)
    assert.are.equal(8, r.qubits)
    assert.is_true(r.depth > 0 and r.gates > 0)
  end)

  it("oracles from a function and from values + threshold", function()
    local a = G.marked {n = 4, marked = function(i) return i % 5 == 0 end}
    assert.are.same({0, 5, 10, 15}, a)
    local b, n = G.marked {values = {3, 1, 4, 1, 5}, threshold = 2}
    assert.are.same({1, 3}, b)
    assert.are.equal(3, n)
    local r = G.search {values = {3, 1, 4, 1, 5, 9, 2, 6}, threshold = 1.5, shots = 8, seed = 1}
    assert.are.equal(2, r.marked)
    assert.is_true(math.abs(r.p_success - analytic(8, 2, r.iterations)) < 1e-12)
  end)

  it("M = 0 gives k = 0 and uniform sampling", function()
    local r = G.search {n = 3, marked = {}, shots = 100, seed = 2}
    assert.are.equal(0, r.iterations)
    assert.are.equal(0, r.p_success)
    assert.are.equal(0, G.iterations(8, 0))
  end)

  it("same seed, same counts", function()
    local a = G.search {n = 5, marked = {3, 9}, shots = 500, seed = 11}
    local b = G.search {n = 5, marked = {3, 9}, shots = 500, seed = 11}
    assert.are.same(a.counts, b.counts)
  end)

  it("Durr-Hoyer minimum finding", function()
    local rng = qnn.rng(5)
    local found = 0
    local trials = 200
    for t = 1, trials do
      local v, mn = {}, math.huge
      for i = 1, 32 do v[i] = rng:normal(); mn = math.min(mn, v[i]) end
      local r = G.minimum {values = v, seed = t}
      if r.value == mn then found = found + 1 end
      assert.are.equal(v[r.index], r.value)
      assert.is_true(r.queries <= 22.5 * math.sqrt(32))
      assert.is_true(r.rounds >= 1)
    end
    assert.is_true(found >= 0.99 * trials)
  end)

  it("rejects bad input", function()
    assert.has_error(function() G.search {n = 0, marked = {0}} end)
    assert.has_error(function() G.search {n = 21, marked = {0}} end)
    assert.has_error(function() G.search {n = 3, marked = {8}} end)
    assert.has_error(function() G.search {n = 3, marked = {-1}} end)
    assert.has_error(function() G.search {n = 3, marked = {1.5}} end)
    assert.has_error(function() G.search {n = 3, marked = {1}, shots = 0} end)
    assert.has_error(function() G.search {n = 3, marked = {1}, iterations = -1} end)
    assert.has_error(function() G.search {n = 3, marked = {1}, circuit = "fancy"} end)
    assert.has_error(function() G.search {n = 3, marked = {1}, shot = 5} end) -- typo
    assert.has_error(function() G.search {marked = {1}} end)                  -- n missing
    assert.has_error(function() G.search {n = 3} end)                         -- no oracle
    assert.has_error(function() G.search {values = {1, 2}} end)               -- no threshold
    assert.has_error(function() G.search {values = {1, 0 / 0}, threshold = 1} end)
    assert.has_error(function() G.search {values = {}, threshold = 1} end)
    assert.has_error(function() G.search {values = {1, 2, 3}, threshold = 0 / 0} end)
    assert.has_error(function() G.search {values = {1, 2, 3}, threshold = 2, n = 1} end)
    assert.has_error(function() G.search(5) end)
    assert.has_error(function() G.minimum {values = {1, 0 / 0, 2}} end)
    assert.has_error(function() G.minimum {values = {}} end)
    assert.has_error(function() G.minimum {values = {1, 2, 3}, n = 1} end)
    assert.has_error(function() G.minimum {values = {1, 2, 3}, lambda = 1} end)
    assert.has_error(function() G.minimum {values = {1, 2, 3}, budget = -1} end)
    assert.has_error(function() G.minimum {values = "x"} end)
    assert.has_error(function() G.p_success(4, 5, 1) end)
    assert.has_error(function() G.p_success(4, 1, -1) end)
    assert.has_error(function() G.iterations(0, 0) end)
    local ok, err = pcall(G.search, {n = 3, marked = {9}})
    assert.is_false(ok)
    assert.truthy(tostring(err):match("qnn.grover.search"))
    assert.truthy(tostring(err):match("marked"))
  end)
end)

describe("qnn.grover circuits", function()
  if not has_circuits() then
    pending("qnn.circuit / qnn.state not built yet")
    return
  end

  it("the diagonal-oracle iterate matches the exact kernel", function()
    local n, marked = 4, {2, 7, 11}
    for k = 0, 4 do
      local c = G.circuit {n = n, marked = marked, iterations = k}
      local p = register_probs(c, n)
      local q = G.probs {n = n, marked = marked, iterations = k}
      for i = 1, 1 << n do assert.is_true(math.abs(p[i] - q[i]) < 1e-12) end
    end
    local it = G.iterate {n = n, marked = marked}
    assert.are.equal("Circuit", qnn.type(it))
    assert.are.equal("Circuit", qnn.type(G.oracle {n = n, marked = marked}))
    assert.are.equal("Circuit", qnn.type(G.diffusion(n)))
  end)

  it("the ancilla (MCX) form gives the textbook distribution", function()
    local n, marked = 3, {1, 6}
    for k = 0, 3 do
      local p = G.probs {n = n, marked = marked, iterations = k, ancilla = true}
      local q = G.probs {n = n, marked = marked, iterations = k}
      for i = 1, 1 << n do assert.is_true(math.abs(p[i] - q[i]) < 1e-12) end
    end
    local r = G.search {n = n, marked = marked, ancilla = true, shots = 10, seed = 1}
    assert.are.equal(n + 1, r.qubits)
  end)

  it("the paper circuit measures 1/2 uniform + 1/2 textbook to 1e-12", function()
    for _, case in ipairs {{n = 3, marked = {5}}, {n = 5, marked = {0, 17, 30}},
                           {n = 4, marked = {1, 2, 3, 4, 9}}} do
      local N = 1 << case.n
      for k = 0, 4 do
        local c = G.circuit {n = case.n, marked = case.marked, iterations = k, circuit = "paper"}
        local p = register_probs(c, case.n, case.n + 1)
        local t = G.probs {n = case.n, marked = case.marked, iterations = k}
        for i = 1, N do
          assert.is_true(math.abs(p[i] - (0.5 / N + 0.5 * t[i])) < 1e-12)
        end
      end
      local r = G.search {n = case.n, marked = case.marked, circuit = "paper", shots = 64, seed = 2}
      local M = #case.marked
      local want = 0.5 * M / N + 0.5 * analytic(N, M, r.iterations)
      assert.is_true(math.abs(r.p_success - want) < 1e-12)
      assert.are.equal(case.n + 1, r.qubits)
    end
  end)

  it("noise runs on a Density and lowers the success probability", function()
    if rawget(qnn, "noise") == nil and qnn.noise == nil then pending("qnn.noise missing") return end
    local clean = G.search {n = 4, marked = {9}, shots = 100, seed = 1}
    local zero = G.search {n = 4, marked = {9}, shots = 100, seed = 1,
                           noise = qnn.noise.depolarizing {p1 = 0, p2 = 0}}
    assert.is_true(math.abs(clean.p_success - zero.p_success) < 1e-10)
    local noisy = G.search {n = 4, marked = {9}, shots = 100, seed = 1,
                            noise = qnn.noise.depolarizing {p1 = 0.02, p2 = 0.04}}
    assert.is_true(noisy.p_success < clean.p_success - 1e-3)
    assert.is_true(noisy.p_success > 1 / 16)
    local m = G.minimum {values = {5, 3, 8, 1, 9, 2, 7, 4}, seed = 3,
                         noise = qnn.noise.depolarizing {p1 = 0.01, p2 = 0.01}}
    assert.is_number(m.value)
    assert.has_error(function()
      G.search {n = 14, marked = {1}, circuit = "paper", noise = qnn.noise.depolarizing {p1 = 0.01}}
    end)
    assert.has_error(function() G.search {n = 2, marked = {1}, noise = {p1 = 2}} end)
  end)

  it("circuit builders check their input", function()
    assert.has_error(function() G.diffusion(0) end)
    assert.has_error(function() G.diffusion(21) end)
    assert.has_error(function() G.oracle {n = 2, marked = {4}} end)
    assert.has_error(function() G.iterate {n = 2} end)
    assert.has_error(function() G.circuit {n = 2, marked = {1}, iterations = -2} end)
  end)
end)
