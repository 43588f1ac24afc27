-- qnn.help: prints doc strings registered beside every function (C: qnn_lua_reg; Lua:
-- qnn.document).
local M = {}

local function rec_of(qnn, x)
  local docs = qnn._docs
  if docs == nil then return nil end
  return docs[x]
end

local function first_line(s)
  return (s or ""):match("^[^\n]*") or ""
end

local function list_table(qnn, t, title, out)
  local names = {}
  for k, v in pairs(t) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end
  end
  table.sort(names)
  out[#out + 1] = title
  for _, k in ipairs(names) do
    local v = t[k]
    local r = rec_of(qnn, v)
    if r then
      out[#out + 1] = string.format("  %-28s %s", k, r.sig)
    elseif type(v) == "table" then
      out[#out + 1] = string.format("  %-28s (module)", k)
    elseif type(v) ~= "function" then
      out[#out + 1] = string.format("  %-28s = %s", k, tostring(v))
    else
      out[#out + 1] = string.format("  %-28s (undocumented)", k)
    end
  end
end

function M.text(qnn, x)
  local out = {}
  if x == nil then
    qnn.loadall()
    list_table(qnn, qnn, "qnn " .. qnn.version .. " -- modules and functions (qnn.help(x) for one):", out)
    return table.concat(out, "\n")
  end
  if type(x) == "string" then
    local r = rec_of(qnn, x) or rec_of(qnn, "qnn." .. x)
    if r then x = r else
      -- a type name: "State"
      local mt = debug.getregistry()["qnn." .. x]
      if mt then
        list_table(qnn, mt.methods or {}, "qnn." .. x .. " methods:", out)
        return table.concat(out, "\n")
      end
      return "no help for '" .. x .. "'"
    end
  end
  local r = (type(x) == "table" and x.sig and x.name) and x or rec_of(qnn, x)
  if r then
    out[#out + 1] = r.sig
    if r.doc and r.doc ~= "" then
      for line in (r.doc .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = "  " .. line end
    end
    return table.concat(out, "\n")
  end
  if type(x) == "userdata" then
    local mt = getmetatable(x)
    if type(mt) == "table" and mt.methods then
      list_table(qnn, mt.methods, tostring(mt.__name) .. " methods:", out)
      return table.concat(out, "\n")
    end
  end
  if type(x) == "table" then
    -- a module table: make sure its extension is loaded
    local _ = x.__help_probe
    local mt = getmetatable(x)
    if mt and mt.methods then
      list_table(qnn, mt.methods, "methods:", out)
    else
      list_table(qnn, x, "module:", out)
    end
    return table.concat(out, "\n")
  end
  return "no help for " .. tostring(x)
end

function M.help(qnn, x)
  print(M.text(qnn, x))
end

M.first_line = first_line
return M
