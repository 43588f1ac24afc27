-- A new alpha schedule for qnn.optim.grover, written in a few lines of Lua. Any table with
-- :value(layer) and :update(layer, info) is a schedule; info has loss_before, loss_after,
-- accepted, visited, epoch, pass, output.
--   bin/qnnlab examples/grover_schedule.lua
local qnn = require "qnn"
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "examples"
local C = dofile(dir .. "/grover_common.lua")

-- "acceptance-rate" schedule: widen the interval when most moves are accepted (the search is
-- still far from a minimum), narrow it when few are; one alpha per layer.
local function acceptance(opts)
  local s = {alpha = {}, start = opts.start or 0.5, target = opts.target or 0.3}
  function s:value(layer) return self.alpha[layer] or self.start end
  function s:update(layer, info)
    local rate = info.accepted / math.max(info.visited, 1)
    local a = self:value(layer) * (rate > self.target and 1.1 or 0.9)
    self.alpha[layer] = math.min(math.max(a, 0.05), 2.0)
  end
  return s
end

local tr, te = C.load("wine")
local rows = {}
for _, case in ipairs {
  {"adaptive (paper)", function() return qnn.schedule.adaptive {} end},
  {"constant 0.5", function() return qnn.schedule.constant(0.5) end},
  {"cosine 1.0 -> 0.1", function() return qnn.schedule.cosine {start = 1.0, stop = 0.1, period = 10} end},
  {"acceptance-rate (Lua, above)", function() return acceptance {} end},
} do
  local acc, ce, tl = {}, {}, {}
  for seed = 1, 3 do
    local net = C.net({13, 32, 3}, seed)
    local r = qnn.optim.grover {net = net, data = tr, test = te, epochs = 10, seed = seed,
                                schedule = case[2](), track_circuit = false}
    local last = r.history[#r.history]
    acc[#acc + 1], ce[#ce + 1], tl[#tl + 1] = last.test_acc, last.test_ce, last.train_loss
  end
  rows[#rows + 1] = {case[1], C.pm(tl), C.pm(ce), C.pm(acc)}
end
print("Wine 13-32-3, 10 epochs, 3 seeds, threshold oracle, textbook circuit:")
C.table({"schedule", "train CE+L2", "test CE", "test acc"}, rows)
