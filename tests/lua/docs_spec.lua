-- Every public function, method and userdata type has a doc string for qnn.help.
local qnn = require "qnn"

describe("documentation", function()
  it("every public function and method has a doc", function()
    qnn.loadall()
    local docs = qnn._docs
    local missing = {}
    local seen = {}
    local function walk(t, path)
      if seen[t] then return end
      seen[t] = true
      for k, v in pairs(t) do
        if type(k) == "string" and k:sub(1, 1) ~= "_" then
          local name = path .. "." .. k
          if type(v) == "function" then
            if not docs[v] then missing[#missing + 1] = name end
          elseif type(v) == "table" then
            walk(v, name)
          end
        end
      end
    end
    walk(qnn, "qnn")
    local reg = debug.getregistry()
    for tname, mt in pairs(reg) do
      if type(tname) == "string" and tname:match("^qnn%.%u") and type(mt) == "table" and mt.methods then
        assert.is_function(mt.__tostring, tname .. " lacks __tostring")
        assert.is_function(mt.__gc, tname .. " lacks __gc")
        assert.is_function(mt.__close, tname .. " lacks __close")
        for k, v in pairs(mt.methods) do
          if type(v) == "function" and not docs[v] then missing[#missing + 1] = tname .. ":" .. k end
        end
      end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end)
end)
