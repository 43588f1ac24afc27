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

describe("help that finds things", function()
  local help = require "qnn.help"

  it("help(constructor) lists the class's methods with one line each", function()
    local t = help.text(qnn, qnn.circuit)
    assert.truthy(t:find("qnn.circuit(n) -> Circuit", 1, true), t)
    assert.truthy(t:find("qnn.Circuit methods", 1, true), t)
    assert.truthy(t:find("\n  gradient%s+Adjoint differentiation"), t)
    assert.falsy(t:find("(undocumented)", 1, true), t)
    -- every method of the class has its line
    local mt = debug.getregistry()["qnn.Circuit"]
    for k in pairs(mt.methods) do assert.truthy(t:find("\n  " .. k .. " ", 1, true), k) end
    local s = help.text(qnn, qnn.state)
    assert.truthy(s:find("qnn.State methods", 1, true) and s:find("\n  probs ", 1, true), s)
    -- an object and a class name give the same list
    assert.truthy(help.text(qnn, qnn.state(1)):find("\n  probs ", 1, true))
    assert.truthy(help.text(qnn, "Dataset"):find("qnn.Dataset methods", 1, true))
  end)

  it("help(\"name\") finds every function or method of that name", function()
    local t = help.text(qnn, "expect")
    for _, n in ipairs { "State:expect", "Density:expect", "Circuit:expect" } do
      assert.truthy(t:find(n, 1, true), t)
    end
    assert.truthy(help.text(qnn, "gradient_shift"):find("^Circuit:gradient_shift%("))
    assert.truthy(help.text(qnn, "nosuchthing_xyz"):find("no help for 'nosuchthing_xyz'", 1, true))
  end)

  it("qnn.apropos searches names and doc strings", function()
    local names, docs = help.search(qnn, "grad")
    local function has(list, n)
      for _, r in ipairs(list) do if r.name == n then return true end end
      return false
    end
    assert.truthy(has(names, "Circuit:gradient") and has(names, "Net:grads"))
    assert.truthy(has(docs, "Net:backward_output"))
    assert.truthy(help.apropos_text(qnn, "GRAD"):find("Circuit:gradient", 1, true))
    assert.has_error(function() qnn.apropos("") end, "bad argument #1 'pattern' to 'qnn.apropos' (must be a non-empty string, got string)")
    assert.has_error(function() qnn.apropos(3) end)
  end)

  it("documents every table passed to a user callback with its fields", function()
    local d = qnn._docs
    local g = d[qnn.optim.grover].doc
    assert.truthy(g:find("info = {layer, epoch, pass", 1, true), "schedule info")
    assert.truthy(g:find("info = {layer, i, j", 1, true), "candidates/accept/oracle info")
    assert.truthy(g:find("row = {epoch, train_loss", 1, true), "on_epoch row")
    assert.truthy(d[qnn.schedule.check].doc:find("loss_before, loss_after", 1, true))
    assert.truthy(d[qnn.train.fit].doc:find("record = {epoch, train_loss", 1, true))
    assert.truthy(d["AnnealTrainer:fit"].doc:find("record = {epoch, eta", 1, true))
    assert.truthy(d[qnn.diffqas.train].doc:find("on_epoch(epoch, history)", 1, true))
    assert.truthy(d[qnn.nn.sequential].doc:find("Layer protocol", 1, true))
  end)

  it("docs/api.md is generated from the doc strings and up to date (make api-doc)", function()
    local f = io.open("docs/api.md", "rb")
    assert.truthy(f, "docs/api.md missing: run make api-doc")
    local have = f:read("a")
    f:close()
    local want = qnn.apidoc.markdown()
    if have ~= want then
      local hl, wl, i = {}, {}, 1
      for l in have:gmatch("([^\n]*)\n") do hl[#hl + 1] = l end
      for l in want:gmatch("([^\n]*)\n") do wl[#wl + 1] = l end
      while hl[i] == wl[i] and i <= #wl do i = i + 1 end
      error(string.format("docs/api.md is stale: run `make api-doc` (first difference at line %d: " ..
        "file has %q, doc strings give %q)", i, tostring(hl[i]), tostring(wl[i])), 0)
    end
    -- every documented function is in it
    for _, r in ipairs(help.records(qnn)) do
      assert.truthy(have:find("### `" .. r.sig:gsub("`", "'"), 1, true), r.name)
    end
  end)
end)
