-- Method 1 on Wine (the project's main demo): Grover-search weight optimisation with the
-- paper's settings vs Adam (the paper's baseline) vs a tuned Adam, over several seeds.
--   bin/qnnlab examples/grover_wine.lua [--quick] [--seeds=N] [--seed=first] [--out=results]
-- Setup (authors' code): stratified 80/20 split, seed 42; standardised on training statistics;
-- 13-32-3 tanh/softmax, no bias, U(-1,1) init; 10 epochs. Grover: resolution 32 hidden / 64
-- output, tol 0.05 / 0.1, 1024 shots, the authors' circuit, L2 1e-3, adaptive alpha.
local qnn = require "qnn"
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "examples"
local C = dofile(dir .. "/grover_common.lua")
local a = C.args(arg)
if a.help then print("usage: grover_wine.lua [--quick] [--seeds=N] [--seed=first] [--out=dir]") return end
local t0 = qnn.clock()
C.compare {
  name = "wine", widths = {13, 32, 3}, seeds = a.seeds or (a.quick and 3 or 5), first_seed = a.seed,
  epochs = a.epochs or 10, tuned_epochs = a.quick and 60 or 200,
  lr_grid = a.quick and {1e-3, 1e-2, 3e-2} or {1e-3, 3e-3, 1e-2, 3e-2},
  out = a.out, quick = a.quick, save_epoch = a.save_epoch, save_dir = a.save_dir,
}
print(string.format("total wall time %.1f s", qnn.clock() - t0))
