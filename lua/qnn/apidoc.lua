-- qnn.apidoc: the API reference (docs/api.md) generated from the doc strings that qnn.help
-- shows, so the two cannot disagree. `make api-doc` rewrites docs/api.md (scripts/gen-api.lua);
-- tests/lua/docs_spec.lua fails when the file is stale.
local qnn = require "qnn"
local help = require "qnn.help"
local M = {}

-- section of a record: "Circuit:h" -> "Circuit" (a class), "qnn.nn.dense" -> "qnn.nn",
-- "qnn.seed" -> "qnn"
local function section(name)
  local cls = name:match("^(%u[%w_]*):")
  if cls then return cls, true end
  local mod = name:match("^(.*)%.[^.]+$")
  return mod or "qnn", false
end

local function anchor(s)
  return (s:lower():gsub("[^%w%- ]", ""):gsub(" ", "-"))
end

function M.markdown()
  local recs = help.records(qnn)
  local groups, order = {}, {}
  for _, r in ipairs(recs) do
    local sec, is_class = section(r.name)
    local key = (is_class and "2" or "1") .. sec
    if not groups[key] then
      groups[key] = { title = is_class and (sec .. " (class)") or sec, recs = {} }
      order[#order + 1] = key
    end
    local g = groups[key].recs
    g[#g + 1] = r
  end
  table.sort(order)
  local out = {
    "# qnnlab API reference",
    "",
    "Generated from the doc strings by `make api-doc` (`scripts/gen-api.lua`, module `qnn.apidoc`);",
    "do not edit by hand: `tests/lua/docs_spec.lua` fails when this file is stale. The same text is",
    "what `help(x)` shows in the REPL; `help(\"name\")` and `qnn.apropos(\"text\")` search it.",
    "Conventions: qubit 0 is the least significant bit of a basis-state index; every random draw",
    "comes from a seeded stream (`seed=` / `rng=` options or `qnn.seed`).",
    "",
    string.format("%d functions and methods in %d sections.", #recs, #order),
    "",
    "## Contents",
    "",
  }
  for _, k in ipairs(order) do
    local g = groups[k]
    out[#out + 1] = string.format("- [%s](#%s) (%d)", g.title, anchor(g.title), #g.recs)
  end
  for _, k in ipairs(order) do
    local g = groups[k]
    out[#out + 1] = ""
    out[#out + 1] = "## " .. g.title
    for _, r in ipairs(g.recs) do
      out[#out + 1] = ""
      out[#out + 1] = "### `" .. (r.sig or r.name):gsub("`", "'") .. "`"
      if r.doc and r.doc ~= "" then
        for line in (r.doc .. "\n"):gmatch("([^\n]*)\n") do
          out[#out + 1] = ""
          -- keep the doc's own indentation as text, not as a Markdown code block
          out[#out + 1] = (line:gsub("^%s+", function(sp) return string.rep("&nbsp;", #sp) end))
        end
      end
    end
  end
  return table.concat(out, "\n") .. "\n"
end
qnn.document(M.markdown, "qnn.apidoc.markdown", "qnn.apidoc.markdown() -> string",
  "Returns docs/api.md: every documented function and method (after qnn.loadall), grouped by\n" ..
  "module and class, with its signature and doc string.")

return M
