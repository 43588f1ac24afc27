-- qnn.opts: keyword-option checks shared by the Lua-side trainers.
local qnn = require "qnn"
local M = {}

--- Returns nil when every string key of opts is in the set `keys` (key -> true), else the
--- message "unknown option 'k'; allowed: a, b, c" (allowed names sorted).
function M.unknown(opts, keys)
  for k in pairs(opts) do
    if not keys[k] then
      local names = {}
      for n in pairs(keys) do names[#names + 1] = n end
      table.sort(names)
      return string.format("unknown option '%s'; allowed: %s", tostring(k), table.concat(names, ", "))
    end
  end
  return nil
end
qnn.document(M.unknown, "qnn.opts.unknown", "qnn.opts.unknown(opts, keys) -> nil | message",
  "opts: option table; keys: set of allowed names (name -> true).\n" ..
  "Returns nil if every key is allowed, else \"unknown option 'k'; allowed: ...\" (catches typos like epoch=).")

return M
