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
end)
