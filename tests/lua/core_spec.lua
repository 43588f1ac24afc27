-- Module basics: version, seeds, Rng, type(), docs.
local qnn = require "qnn"

describe("qnn module", function()
  it("has a semver version", function()
    assert.is_string(qnn.version)
    assert.truthy(qnn.version:match("^%d+%.%d+%.%d+"))
  end)

  it("qnn.rng streams are reproducible", function()
    local a, b = qnn.rng(7), qnn.rng(7)
    for _ = 1, 10 do assert.are.equal(a:uniform(), b:uniform()) end
    assert.are.equal("Rng", qnn.type(a))
    assert.truthy(tostring(a):match("^qnn.Rng"))
  end)

  it("qnn.seed reseeds the default stream", function()
    qnn.seed(3); local x = qnn.default_rng():uniform()
    qnn.seed(3); local y = qnn.default_rng():uniform()
    assert.are.equal(x, y)
  end)

  it("Rng methods check their arguments", function()
    local r = qnn.rng(1)
    assert.has_error(function() r:uniform(2, 1) end)
    assert.has_error(function() r:normal(0, -1) end)
    assert.has_error(function() r:int(5, 1) end)
    assert.has_error(function() qnn.rng(1.5) end)
    assert.has_error(function() qnn.seed("x") end)
    local v = r:int(1, 6)
    assert.truthy(v >= 1 and v <= 6)
    local ok, err = pcall(qnn.rng(1).int, qnn.rng(1), 5, 1)
    assert.is_false(ok)
    assert.truthy(tostring(err):match("hi"))
  end)

  it("qnn.type names Lua types for non-qnn values", function()
    assert.are.equal("number", qnn.type(1))
    assert.are.equal("table", qnn.type({}))
  end)

  it("qnn.help knows registered functions", function()
    local text = require("qnn.help").text(qnn, qnn.seed)
    assert.truthy(text:match("qnn.seed"))
    assert.truthy(require("qnn.help").text(qnn, "Rng"):match("uniform"))
  end)

  it("interrupt helpers", function()
    assert.is_false(qnn.interrupted(true))
    qnn.check_interrupt()
  end)
end)
