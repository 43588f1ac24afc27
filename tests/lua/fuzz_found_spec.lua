-- Regressions for what `make fuzz` (tests/fuzz) found: each reproducer must give a clear Lua
-- error (or work), never a crash or a sanitizer report (`make asan` runs these under ASan).
local qnn = require "qnn"

describe("fuzzer findings", function()
  it("grover_trainer with X of the wrong width: error, no use after free", function()
    local net = qnn.nn.mlp{4, 1, 2, seed = 9}
    local ok, err = pcall(qnn.optim.grover_trainer, net, qnn.tensor.randn(2, 3, {seed = 1}), {1, 2})
    assert.is_false(ok)
    assert.truthy(err:find("X is 2 x 3, the net takes 4 inputs", 1, true))
  end)

  it("a type's __gc called on another type's object does nothing", function()
    local net = qnn.nn.mlp{3, 4, 2, seed = 1}
    local t = qnn.tensor.zeros(2, 2)
    getmetatable(t).__gc(net)
    getmetatable(t).__gc(io.stderr)
    assert.are.equal(3 * 4 + 4 + 4 * 2 + 2, net:nparams())
    assert.are.equal(0, t:get(1, 1))
  end)

  it("a layer spec's _build refuses anything but the handle sequential passes", function()
    for _, spec in ipairs{qnn.nn.dense(3, 4), qnn.nn.relu(), qnn.nn.lstm(2, 3),
        qnn.nn.qubit_activation{a = 0.1}} do
      assert.is_false(pcall(spec._build, io.stderr, spec))
      assert.is_false(pcall(spec._build, qnn.tensor.zeros(2), spec))
    end
  end)
end)
