-- Method 1 on Digits (the paper's 97.7% claim): 64-64-32-16-10 tanh/softmax, no bias, U(-1,1),
-- Grover (paper settings, the authors' circuit) vs Adam (lr 1e-3, batch 16) vs a tuned Adam.
--   bin/qnnlab examples/grover_digits.lua [--quick] [--seeds=N] [--epochs=N] [--out=results]
-- --quick: 1 seed, 2 epochs (≈ 1 minute on an idle machine; still the full 1,437-image
-- training set: the loss of every candidate is always computed on the whole training set).
local qnn = require "qnn"
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "examples"
local C = dofile(dir .. "/grover_common.lua")
local a = C.args(arg)
if a.help then print("usage: grover_digits.lua [--quick] [--seeds=N] [--epochs=N] [--out=dir]") return end
local t0 = qnn.clock()
C.compare {
  name = "digits", widths = {64, 64, 32, 16, 10}, seeds = a.seeds or (a.quick and 1 or 5), first_seed = a.seed,
  epochs = a.epochs or (a.quick and 2 or 10), tuned_epochs = a.quick and 30 or 100,
  lr_grid = a.quick and {1e-3, 1e-2} or {1e-3, 3e-3, 1e-2},
  out = a.out, quick = a.quick, save_epoch = a.save_epoch, save_dir = a.save_dir, grover = {track_circuit = false},
}
print(string.format("total wall time %.1f s", qnn.clock() - t0))
