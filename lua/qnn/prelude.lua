-- The Lua half's entry point: luaopen_qnn calls the function this returns with the module
-- table. It installs lazy loading: qnn.<name> for a Lua-only module loads lua/qnn/<name>.lua on
-- first use; a sub-table created in C (qnn.nn, qnn.optim, ...) is extended on first miss by
-- lua/qnn/ext/<name>.lua, which returns function(subtable, qnn).
return function(qnn)
  local searchpath = package.searchpath

  local function try_ext(name, sub)
    local mt = getmetatable(sub)
    if mt and mt.__qnn_ext_loaded then return end
    if mt then mt.__qnn_ext_loaded = true end
    local modname = "qnn.ext." .. name
    if searchpath(modname, package.path) then
      local ext = require(modname)
      if type(ext) == "function" then ext(sub, qnn) end
    end
  end

  -- extension for C sub-tables
  local function attach(name, sub)
    if getmetatable(sub) ~= nil then return end
    setmetatable(sub, {
      __index = function(t, k)
        try_ext(name, t)
        return rawget(t, k)
      end,
    })
  end
  for name, sub in pairs(qnn) do
    if type(sub) == "table" and name:sub(1, 1) ~= "_" then attach(name, sub) end
  end

  -- The Lua half of each method lives in lua/qnn/methods/<method>.lua (see lua/qnn/README.md);
  -- the public names qnn.nq, qnn.diffqas, qnn.anneal (and require "qnn.nq", ...) stay.
  local METHODS = { nq = "qnn.methods.nq", diffqas = "qnn.methods.diffqas", anneal = "qnn.methods.anneal" }
  for short, full in pairs(METHODS) do
    package.preload["qnn." .. short] = package.preload["qnn." .. short] or function() return require(full) end
  end

  -- lazy Lua-only modules
  setmetatable(qnn, {
    __index = function(t, k)
      if type(k) ~= "string" or k:sub(1, 1) == "_" then return nil end
      local modname = "qnn." .. k
      if METHODS[k] or searchpath(modname, package.path) then
        local m = require(modname)
        rawset(t, k, m)
        return m
      end
      return nil
    end,
  })

  --- Loads every Lua module and extension, so pairs()/completion/help see everything.
  function qnn.loadall()
    for name, sub in pairs(qnn) do
      if type(sub) == "table" and name:sub(1, 1) ~= "_" then try_ext(name, sub) end
    end
    local dir = rawget(qnn, "_luadir")
    if dir then
      local p = io.popen('ls "' .. dir .. '/qnn" 2>/dev/null')
      if p then
        for f in p:lines() do
          local m = f:match("^([%w_]+)%.lua$")
          if m and m ~= "prelude" and rawget(qnn, m) == nil then local _ = qnn[m] end
        end
        p:close()
      end
    end
    for m in pairs(METHODS) do local _ = qnn[m] end
    return qnn
  end
  qnn.document(qnn.loadall, "qnn.loadall", "qnn.loadall() -> qnn",
    "Loads every lazily loaded Lua module and extension (for pairs(), completion and help).")

  function qnn.help(x)
    return require("qnn.help").help(qnn, x)
  end
  qnn.document(qnn.help, "qnn.help", "qnn.help([x])",
    "x: nil, a qnn function, method, userdata, module table or a name such as \"qnn.state\", \"State:h\",\n" ..
    "\"Circuit\" or just \"expect\".\n" ..
    "Prints the signature and doc string; for a constructor (or a class name or object) also the\n" ..
    "class's methods with one line each; for a bare name every function or method of that name;\n" ..
    "otherwise what qnn.apropos finds. qnn.help() lists the modules.")

  function qnn.apropos(pat)
    if type(pat) ~= "string" or pat == "" then
      error("bad argument #1 'pattern' to 'qnn.apropos' (must be a non-empty string, got " .. type(pat) .. ")", 2)
    end
    print(require("qnn.help").apropos_text(qnn, pat))
  end
  qnn.document(qnn.apropos, "qnn.apropos", "qnn.apropos(text)",
    "text: non-empty string (plain, case-insensitive).\n" ..
    "Lists every documented function and method whose name, signature or doc string contains text.")
end
