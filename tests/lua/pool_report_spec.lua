-- qnn.diffqas.pool_report / prune: pool diagnostics (issue 18).
local qnn = require "qnn"

local function row(d, name)
  for _, r in ipairs(d.candidates) do if r.name == name then return r end end
end

describe("qnn.diffqas.pool_report", function()
  local rep = qnn.diffqas.pool_report{nqubits = 4, depths = {1, 2, 3}, quiet = true}

  it("finds the RZ-only candidates without Hadamards constant at every depth", function()
    for _, d in ipairs(rep.depths) do
      -- RZ on |0...0> and CNOTs on basis states only change phases: probabilities never move
      assert.is_true(row(d, "noH-chain-RZ").constant)
      assert.is_true(row(d, "noH-ring-RZ").constant)
      assert.are.equal("noH-chain-RZ", row(d, "noH-ring-RZ").duplicate_of)
      assert.are.equal(4 * d.depth, row(d, "noH-chain-RZ").params)
    end
  end)

  it("sees the depth-1 symmetries: RX/RZ on |+...+> cannot act, RX and RY agree on |0...0>", function()
    local d1 = rep.depths[1]
    assert.is_true(row(d1, "H-chain-RX").constant)
    assert.is_true(row(d1, "H-chain-RZ").constant)
    assert.is_false(row(d1, "H-chain-RY").constant)
    assert.are.equal("noH-chain-RX", row(d1, "noH-chain-RY").duplicate_of)
    assert.are.equal(4, d1.distinct)
  end)

  it("counts 10 distinct distributions at depth 2 (H-ring-RX = H-chain-RX) and 11 at depth 3", function()
    assert.are.equal(10, rep.depths[2].distinct)
    assert.are.equal("H-chain-RX", row(rep.depths[2], "H-ring-RX").duplicate_of)
    assert.are.equal(11, rep.depths[3].distinct)
    assert.is_nil(row(rep.depths[3], "H-ring-RX").duplicate_of)
  end)

  it("prunes duplicates and constant candidates into a pool quantum_train accepts", function()
    local pool, dropped = qnn.diffqas.prune(rep, 3)
    assert.are.equal(10, #pool)
    assert.are.same({"noH-chain-RZ", "noH-ring-RZ"}, dropped)
    local q = qnn.nn.quantum_train{target = qnn.nn.mlp{3, 4, 2, seed = 1}, depth = 3, pool = pool, seed = 1}
    assert.are.equal(10, #q:candidates())
  end)

  it("refuses bad options by name", function()
    assert.error_matches(function() qnn.diffqas.pool_report{nqubits = 0, quiet = true} end, "'nqubits' must be an integer in %[1, 16%]")
    assert.error_matches(function() qnn.diffqas.pool_report{depths = {0}, quiet = true} end, "depths%[1%]")
    assert.error_matches(function() qnn.diffqas.pool_report{bogus = 1} end, "unknown option 'bogus'")
    assert.error_matches(function() qnn.diffqas.pool_report{pool = {}, quiet = true} end, "'pool' must be a non%-empty list")
    assert.error_matches(function() qnn.diffqas.prune(rep, 7) end, "no depth 7")
    assert.error_matches(function() qnn.diffqas.prune(3) end, "expects a pool_report")
  end)
end)
