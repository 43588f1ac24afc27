-- qnn.help / qnn.apropos: doc strings registered beside every function (C: qnn_lua_reg;
-- Lua: qnn.document), looked up by value or by name, classes listed with one line per method,
-- and searched by name and text.
local M = {}

local function docs_of(qnn)
  return rawget(qnn, "_docs") or {}
end

local function rec_of(qnn, x)
  return docs_of(qnn)[x]
end

local function first_line(s)
  return (s or ""):match("^[^\n]*") or ""
end

-- One line that says what a function does: the first doc line that is not an argument
-- description ("n: number of qubits ..."), cut at the end of its first sentence.
local function summary(rec)
  local doc = rec.doc or ""
  local pick, any
  for line in (doc .. "\n"):gmatch("([^\n]*)\n") do
    if line ~= "" and not line:match("^[%w_][%w_, %.%[%]=/|]*:%s") then
      any = any or line
      -- prefer a sentence ("Returns ...", "Appends ...") over a continued argument list
      if line:match("^%u") then pick = line break end
    end
  end
  pick = pick or any or first_line(doc)
  local s = pick:match("^(.-%.)%s") or pick
  if #s > 90 then s = s:sub(1, 87) .. "..." end
  return s
end
M.summary = summary

-- Every record once (docs holds each under its value and under its name).
local function records(qnn)
  if qnn.loadall then qnn.loadall() end
  local out = {}
  for k, r in pairs(docs_of(qnn)) do
    if type(k) == "string" and type(r) == "table" and r.name == k then out[#out + 1] = r end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end
M.records = records

-- The class a constructor's signature returns ("qnn.circuit(n) -> Circuit"), if it has methods.
local function class_names(qnn)
  local set = {}
  for _, r in ipairs(records(qnn)) do
    local t = r.name:match("^(%u[%w_]*):")
    if t then set[t] = true end
  end
  for k, mt in pairs(debug.getregistry()) do
    if type(k) == "string" and type(mt) == "table" and mt.methods then
      local t = k:match("^qnn%.(%u[%w_]*)$")
      if t then set[t] = true end
    end
  end
  return set
end

local function returned_class(qnn, rec)
  local t = (rec.sig or ""):match("%->%s*(%u[%w_]*)")
  if t and class_names(qnn)[t] then return t end
  return nil
end

local function list_class(qnn, tname, out)
  local methods = {}
  for _, r in ipairs(records(qnn)) do
    local m = r.name:match("^" .. tname .. ":([%w_]+)$")
    if m then methods[m] = r end
  end
  local mt = debug.getregistry()["qnn." .. tname]
  if type(mt) == "table" and type(mt.methods) == "table" then
    for k, v in pairs(mt.methods) do
      if type(k) == "string" and methods[k] == nil then methods[k] = rec_of(qnn, v) or false end
    end
  end
  local names = {}
  for k in pairs(methods) do names[#names + 1] = k end
  table.sort(names)
  out[#out + 1] = string.format("qnn.%s methods (help(\"%s:name\") for one):", tname, tname)
  for _, k in ipairs(names) do
    local r = methods[k]
    out[#out + 1] = string.format("  %-18s %s", k, r and summary(r) or "(undocumented)")
  end
end

local function list_table(qnn, t, title, out)
  local names = {}
  for k in pairs(t) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end
  end
  table.sort(names)
  out[#out + 1] = title
  for _, k in ipairs(names) do
    local v = t[k]
    local r = rec_of(qnn, v)
    if r then
      out[#out + 1] = string.format("  %-22s %s", k, summary(r))
    elseif type(v) == "table" then
      out[#out + 1] = string.format("  %-22s (module)", k)
    elseif type(v) ~= "function" then
      out[#out + 1] = string.format("  %-22s = %s", k, tostring(v))
    else
      out[#out + 1] = string.format("  %-22s (undocumented)", k)
    end
  end
end

local function show_record(qnn, r, out)
  out[#out + 1] = r.sig
  if r.doc and r.doc ~= "" then
    for line in (r.doc .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = "  " .. line end
  end
  local t = returned_class(qnn, r)
  if t then
    out[#out + 1] = ""
    list_class(qnn, t, out)
  end
end

local function list_records(rs, out)
  for _, r in ipairs(rs) do out[#out + 1] = string.format("  %-30s %s", r.name, summary(r)) end
end

--- Records whose name or (with docs=true) doc string contains pat (plain, case-insensitive).
function M.search(qnn, pat, opts)
  local p = tostring(pat):lower()
  local by_name, by_doc = {}, {}
  for _, r in ipairs(records(qnn)) do
    if r.name:lower():find(p, 1, true) then
      by_name[#by_name + 1] = r
    elseif (opts == nil or opts.docs ~= false) and
        ((r.doc or ""):lower():find(p, 1, true) or (r.sig or ""):lower():find(p, 1, true)) then
      by_doc[#by_doc + 1] = r
    end
  end
  return by_name, by_doc
end

local function text_for_string(qnn, s, out)
  local r = rec_of(qnn, s) or rec_of(qnn, "qnn." .. s)
  if not r and qnn.loadall then
    qnn.loadall()
    r = rec_of(qnn, s) or rec_of(qnn, "qnn." .. s)
  end
  if r then return show_record(qnn, r, out) end
  -- a class name: "State", "Circuit"
  local tname = s:match("^qnn%.(%u[%w_]*)$") or s:match("^(%u[%w_]*)$")
  if tname and class_names(qnn)[tname] then return list_class(qnn, tname, out) end
  -- a bare method or function name: "expect" -> State:expect, Density:expect, ...
  local exact = {}
  for _, rec in ipairs(records(qnn)) do
    if rec.name:match("[%.:]([%w_]+)$") == s then exact[#exact + 1] = rec end
  end
  if #exact == 1 then return show_record(qnn, exact[1], out) end
  if #exact > 1 then
    out[#out + 1] = string.format("'%s' is documented in %d places (help(\"<name>\") for one):", s, #exact)
    return list_records(exact, out)
  end
  local by_name, by_doc = M.search(qnn, s)
  if #by_name + #by_doc == 0 then
    out[#out + 1] = string.format("no help for '%s' (qnn.apropos(\"%s\") searches doc strings too; " ..
      "help() lists the modules)", s, s)
    return
  end
  out[#out + 1] = string.format("no function named '%s'; related:", s)
  list_records(by_name, out)
  list_records(by_doc, out)
end

function M.text(qnn, x)
  local out = {}
  if x == nil then
    if qnn.loadall then qnn.loadall() end
    list_table(qnn, qnn, "qnn " .. qnn.version .. " -- modules and functions (help(x) for one, " ..
      "help(\"name\") or qnn.apropos(\"text\") to search):", out)
    return table.concat(out, "\n")
  end
  if type(x) == "string" then
    text_for_string(qnn, x, out)
    return table.concat(out, "\n")
  end
  local r = (type(x) == "table" and x.sig and x.name) and x or rec_of(qnn, x)
  if r then
    show_record(qnn, r, out)
    if type(x) == "table" and not (x.sig and x.name) then
      -- a callable module table such as qnn.circuit: its sub-functions too
      local sub = {}
      for k, v in pairs(x) do if type(k) == "string" and type(v) == "function" then sub[k] = v end end
      if next(sub) then
        out[#out + 1] = ""
        list_table(qnn, sub, "functions:", out)
      end
    end
    return table.concat(out, "\n")
  end
  if type(x) == "userdata" then
    local mt = getmetatable(x)
    if type(mt) == "table" and mt.methods then
      local tname = tostring(mt.__name):match("^qnn%.(.*)$")
      if tname then list_class(qnn, tname, out) else list_table(qnn, mt.methods, "methods:", out) end
      return table.concat(out, "\n")
    end
  end
  if type(x) == "table" then
    -- a module table: make sure its extension is loaded
    local _ = x.__help_probe
    local mt = getmetatable(x)
    if mt and mt.__qnntype and class_names(qnn)[mt.__qnntype] then
      list_class(qnn, mt.__qnntype, out)
    elseif mt and type(mt.methods) == "table" then
      list_table(qnn, mt.methods, "methods:", out)
    else
      local title = "module:"
      for k, v in pairs(qnn) do
        if v == x and type(k) == "string" then title = "qnn." .. k .. ":" break end
      end
      list_table(qnn, x, title, out)
    end
    return table.concat(out, "\n")
  end
  return "no help for " .. tostring(x)
end

function M.help(qnn, x)
  print(M.text(qnn, x))
end

function M.apropos_text(qnn, pat)
  local by_name, by_doc = M.search(qnn, pat)
  local out = {}
  if #by_name + #by_doc == 0 then return "nothing matches '" .. tostring(pat) .. "'" end
  if #by_name > 0 then
    out[#out + 1] = string.format("names containing '%s':", pat)
    list_records(by_name, out)
  end
  if #by_doc > 0 then
    out[#out + 1] = string.format("doc strings mentioning '%s':", pat)
    list_records(by_doc, out)
  end
  return table.concat(out, "\n")
end

M.first_line = first_line
return M
