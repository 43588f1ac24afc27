-- Checkpoints: round trips for nets and optimizers; truncated, bit-flipped, wrong-version and
-- wrong-magic files are refused and nothing is loaded.
local qnn = require "qnn"

local function tmpname()
  return os.tmpname()
end

local function read(p)
  local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s
end

local function write(p, s)
  local f = assert(io.open(p, "wb")); f:write(s); f:close()
end

describe("checkpoints", function()
  it("round-trips a net exactly", function()
    local p = tmpname()
    local net = qnn.nn.sequential{qnn.nn.dense(4, 6), qnn.nn.relu(), qnn.nn.dense(6, 3, {bias = false}),
      qnn.nn.sign(), qnn.nn.dense(3, 2), qnn.nn.softmax(), seed = 5}
    net:save(p)
    local m = qnn.nn.load(p)
    assert.are.same(net:params():totable(), m:params():totable())
    assert.are.equal(tostring(net), tostring(m))
    local X = qnn.tensor.randn(5, 4, {seed = 1})
    assert.are.same(net:forward(X):totable(), m:forward(X):totable())
    -- no temp file left behind
    local dir, base = p:match("^(.*)/([^/]*)$")
    local ls = io.popen('ls "' .. dir .. '" 2>/dev/null')
    local leftovers = 0
    for f in ls:lines() do if f:find(base .. ".tmp.", 1, true) then leftovers = leftovers + 1 end end
    ls:close()
    assert.are.equal(0, leftovers)
    os.remove(p)
  end)

  it("round-trips optimizer state and continues identically", function()
    local p, q = tmpname(), tmpname()
    local X, y = qnn.tensor.randn(8, 3, {seed = 2}), {1, 2, 1, 2, 1, 2, 1, 2}
    local net = qnn.nn.mlp{3, 4, 2, seed = 1}
    local opt = qnn.optim.adam{lr = 0.01, betas = {0.8, 0.99}}
    for _ = 1, 3 do net:backward(X, y); opt:step(net) end
    net:save(p); opt:save(q)
    local net2, opt2 = qnn.nn.load(p), qnn.optim.load(q)
    assert.are.equal(3, opt2:state().step)
    assert.are.same({0.8, 0.99}, opt2:state().betas)
    for _ = 1, 2 do
      net:backward(X, y); opt:step(net)
      net2:backward(X, y); opt2:step(net2)
    end
    assert.are.same(net:params():totable(), net2:params():totable())
    os.remove(p); os.remove(q)
  end)

  it("refuses damaged files with a clear error", function()
    local p = tmpname()
    local net = qnn.nn.mlp{3, 5, 2, seed = 1}
    net:save(p)
    local good = read(p)
    local cases = {
      {"truncated", good:sub(1, #good - 10)},
      {"truncated", good:sub(1, 5)},
      {"CRC32", good:sub(1, 100) .. string.char(good:byte(101) ~ 0x04) .. good:sub(102)},
      {"version 9", good:sub(1, 8) .. string.char(9) .. good:sub(10)},
      {"magic", "XYZ" .. good:sub(4)},
      {"magic", ""},
    }
    for _, c in ipairs(cases) do
      write(p, c[2])
      local ok, err = pcall(qnn.nn.load, p)
      assert.is_false(ok)
      assert.truthy(err:find(c[1], 1, true), "expected '" .. c[1] .. "' in: " .. tostring(err))
    end
    -- an optimizer file is not a net and vice versa
    local q = tmpname()
    qnn.optim.sgd{}:save(q)
    assert.has_error(function() qnn.nn.load(q) end)
    write(p, good)
    assert.has_error(function() qnn.optim.load(p) end)
    local ok, err = pcall(qnn.optim.load, "/nonexistent/dir/x.ckpt")
    assert.is_false(ok); assert.truthy(err:match("cannot open"))
    assert.has_error(function() net:save("/nonexistent/dir/x.ckpt") end)
    os.remove(p); os.remove(q)
  end)

  it("a failed save does not replace a good file", function()
    local p = tmpname()
    local net = qnn.nn.mlp{3, 5, 2, seed = 1}
    net:save(p)
    local before = read(p)
    -- saving a closed net fails before touching the file
    local n2 = qnn.nn.mlp{3, 5, 2, seed = 2}
    n2:close()
    assert.has_error(function() n2:save(p) end)
    assert.are.equal(before, read(p))
    os.remove(p)
  end)
end)
