-- Writes docs/api.md (or the path given) from the doc strings: `make api-doc`.
local qnn = require "qnn"
local path = arg[1] or "docs/api.md"
local text = qnn.apidoc.markdown()
qnn.report.write(path, text)
print(string.format("wrote %s (%d lines)", path, select(2, text:gsub("\n", ""))))
