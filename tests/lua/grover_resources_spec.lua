-- qnn.grover.resources: the coherent-oracle cost model (issue 18) and the optimiser's report of it.
local qnn = require "qnn"

describe("qnn.grover.resources", function()
  it("counts one output-layer oracle by hand", function()
    -- sizes {2,1}: one dense layer (the output), K = 1; b = 4, N = 4 (2 index qubits), degree 1
    -- adder 4, controlled adder 8, q x q mult 32, q x const 8, function 1*(32+4) = 36
    -- per sample: load 2*8 + z update (8 + 4) + (K+1) functions 72 + (K+1) adds 8 = 108
    local r = qnn.grover.resources{sizes = {2, 1}, samples = 3, bits = 4, resolution = 4, degree = 1}
    assert.are.equal(108, r.per_sample_toffoli)
    -- accumulator 4 + ceil(log2 3) = 6 bits; oracle = 2 * 3 * (108 + 6) + 6
    assert.are.equal(2 * 3 * (108 + 6) + 6, r.oracle.toffoli)
    assert.are.equal(7 * r.oracle.toffoli, r.oracle.t_count)
    assert.are.equal(2, r.index_qubits)
    -- Grover with one marked of 4: floor(pi/4 * 2) = 1 iteration
    assert.are.equal(1, r.queries)
    assert.are.equal(r.oracle.toffoli + 1, r.quantum.toffoli) -- + the diffusion's n-1 Toffoli
    assert.are.equal(4 * 3 * r.classical.flops_per_sample, r.classical.flops)
  end)

  it("scales the oracle linearly with the training set and the break-even with the Toffoli time squared", function()
    local a = qnn.grover.resources{sizes = {13, 32, 3}, samples = 100}
    local b = qnn.grover.resources{sizes = {13, 32, 3}, samples = 200}
    -- per-sample part doubles; only the accumulator width changes by one bit
    assert.is_true(math.abs(b.oracle.toffoli / a.oracle.toffoli - 2) < 0.01)
    local f1 = qnn.grover.resources{sizes = {13, 32, 3}, samples = 142, toffoli_time = 1e-8}
    local f2 = qnn.grover.resources{sizes = {13, 32, 3}, samples = 142, toffoli_time = 1e-6}
    -- N* ~ (t_T)^2: 100x slower Toffolis -> about 10^4 x larger break-even (within the doubling grid
    -- and the log N growth of the weight load)
    local g = f2.break_even_resolution / f1.break_even_resolution
    assert.is_true(g >= 2 ^ 12 and g <= 2 ^ 15, "ratio " .. g)
    -- a hidden-layer weight recomputes more of the net than an output weight
    local h = qnn.grover.resources{sizes = {13, 32, 3}, samples = 142, layer = 1}
    assert.is_true(h.per_sample_toffoli > f1.per_sample_toffoli)
    -- Durr-Hoyer budget 22.5 sqrt(N)
    local d = qnn.grover.resources{sizes = {13, 32, 3}, samples = 142, search = "durr_hoyer", resolution = 64}
    assert.are.equal(180, d.queries)
  end)

  it("reads the layer sizes from a Net", function()
    local net = qnn.nn.mlp{13, 8, 3, seed = 1}
    local r = qnn.grover.resources{net = net, samples = 10}
    assert.are.same({13, 8, 3}, r.sizes)
    assert.are.equal(2, r.layer)
  end)

  it("refuses bad input with the option's name", function()
    local R = qnn.grover.resources
    assert.has_error(function() R(5) end, "qnn.grover.resources: expects an options table, got number")
    assert.error_matches(function() R{sizes = {3, 2}} end, "'samples'")
    assert.error_matches(function() R{sizes = {3}, samples = 1} end, "'sizes'")
    assert.error_matches(function() R{sizes = {3, 2}, samples = 1, bits = 1} end, "'bits' must be an integer in %[2, 64%]")
    assert.error_matches(function() R{sizes = {3, 2}, samples = 1, layer = 2} end, "'layer'")
    assert.error_matches(function() R{sizes = {3, 2}, samples = 1, search = "x"} end, "'search'")
    assert.error_matches(function() R{sizes = {3, 2}, samples = 1, toffoli_time = 0 / 0} end, "'toffoli_time'")
    assert.error_matches(function() R{sizes = {3, 2}, samples = 1, bogus = 1} end, "unknown option 'bogus'")
    assert.error_matches(function() R{net = 3, samples = 1} end, "'net' must be a Net")
    assert.error_matches(function() R{sizes = {3, -2}, samples = 1} end, "sizes%[2%]")
  end)

  it("is reported by qnn.optim.grover beside the classical evaluations", function()
    local X = qnn.tensor.from{{1, 0}, {0, 1}, {1, 1}, {0, 0}}
    local y = {1, 2, 2, 1}
    local net = qnn.nn.mlp{2, 3, 2, hidden = "tanh", bias = false, seed = 1}
    local r = qnn.optim.grover{net = net, data = {X = X, y = y}, epochs = 1, seed = 1, resolution = 8}
    local t = r.total
    local r1 = qnn.grover.resources{sizes = {2, 3, 2}, samples = 4, layer = 1, resolution = 8}
    local r2 = qnn.grover.resources{sizes = {2, 3, 2}, samples = 4, layer = 2, resolution = 8}
    assert.is_true(t.queries > 0)
    -- 6 + 6 weights, 8 candidates each
    local want_flops = 6 * 8 * 4 * r1.classical.flops_per_sample + 6 * 8 * 4 * r2.classical.flops_per_sample
    assert.are.equal(want_flops, t.classical_flops)
    assert.is_true(t.oracle_toffoli >= t.queries * math.min(r1.per_query.toffoli, r2.per_query.toffoli))
    assert.is_true(t.oracle_toffoli <= t.queries * math.max(r1.per_query.toffoli, r2.per_query.toffoli))
  end)
end)
