-- qnnlab hello: prints the version; builds a Bell state once the simulator is there.
local qnn = require "qnn"
print("qnnlab " .. qnn.version)
if qnn.state then
  local s = qnn.state(2):h(0):cx(0, 1)
  print(s)
  local p = s:probs()
  local pt = type(p) == "table" and p or p:totable()
  print(string.format("Bell state: P(00) = %.3f, P(11) = %.3f", pt[1], pt[4]))
  local counts = s:sample(1000, {seed = 1})
  print(string.format("1000 shots: 00 -> %d, 11 -> %d", counts[0] or 0, counts[3] or 0))
end
