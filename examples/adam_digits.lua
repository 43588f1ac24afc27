-- The classical baseline of the Grover Digits experiment, tuned by sweep (issue 18): the same
-- 64-64-32-16-10 tanh/softmax net without biases, U(-1,1) init, the paper's stratified 80/20
-- split (seed 42), trained with Adam. One run = one (lr, batch, epochs, seed); the validation
-- accuracy is on a stratified 20 % of the training set (seed 7), the test accuracy on the paper's
-- test set after training on the full training set with the same settings.
--   bin/qnnlab examples/adam_digits.lua --lr=3e-3 --batch=16 --epochs=100 --seed=1 [--quick]
-- Sweep: bin/qnnlab scripts/sweeps_open_questions.lua adam
local qnn = require "qnn"
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "examples"
local C = dofile(dir .. "/grover_common.lua")
local a = qnn.report.flags(arg, {lr = 3e-3, batch = 16, epochs = 100, seed = 1, quick = false,
  out = "results/adam_digits"})
if a.quick then a.epochs = 5 end
local widths = {64, 64, 32, 16, 10}
local tr, te = C.load("digits")
local fit, val = C.holdout(tr, 0.2, 7)
local hv = C.adam(C.net(widths, a.seed), fit, val, a.lr, a.epochs, a.batch, a.seed)
local ht = C.adam(C.net(widths, a.seed), tr, te, a.lr, a.epochs, a.batch, a.seed)
local r = {lr = a.lr, batch = a.batch, epochs = a.epochs, seed = a.seed,
  val_acc = hv.test_acc[a.epochs], val_ce = hv.test_loss[a.epochs],
  test_acc = ht.test_acc[a.epochs], test_ce = ht.test_loss[a.epochs]}
print(qnn.report.json_encode(r, false))
if a.out and a.out ~= "" then
  qnn.report.json(("%s/adam_digits_lr%g_b%d_e%d_s%d.json"):format(a.out, a.lr, a.batch, a.epochs, a.seed), r)
end
