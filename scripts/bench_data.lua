-- Benchmark (not a test): data set loading times. Baselines measured in the same run:
-- `gzip -dc` of the same file to /dev/null (the decompression floor) for Fashion-MNIST, and a
-- plain Lua read of the JSON files for MNIST. Run: make bench BENCH=data (or
-- bin/qnnlab scripts/bench_data.lua). Needs `make data`. Timings are noisy on a shared machine.
local qnn = require "qnn"
local dir = qnn.data.dir()
local clock = qnn.clock

local function best(n, fn)
  local b = math.huge
  for _ = 1, n do
    collectgarbage()
    local t0 = clock()
    fn()
    b = math.min(b, clock() - t0)
  end
  return b
end

local function present(f)
  local h = io.open(dir .. "/" .. f, "rb")
  if h then h:close() return true end
  return false
end

if not present("fashion_mnist/train-images-idx3-ubyte.gz") or not present("mnist/0.json") then
  print("bench_data: data sets missing; run `make data` first")
  return
end

print(("%-28s %10s %12s %8s"):format("load", "seconds", "baseline s", "ratio"))
local fimg = dir .. "/fashion_mnist/train-images-idx3-ubyte.gz"
local gz = best(3, function() os.execute("gzip -dc '" .. fimg .. "' > /dev/null") end)
local tf = best(3, function()
  local ds = qnn.data.load("fashion_mnist")
  ds.X:close()
end)
print(("%-28s %10.3f %12.3f %8.2f   (baseline: gzip -dc of the image file)"):format(
  "fashion_mnist train 60000", tf, gz, tf / gz))

local rawjson = best(3, function()
  for d = 0, 9 do
    local h = io.open(dir .. "/mnist/" .. d .. ".json", "rb")
    local s = h:read("a")
    h:close()
    local n = 0
    for _ in s:gmatch("[^,%[%]{}:\"%s]+") do n = n + 1 end
  end
end)
local tm = best(3, function() qnn.data.load("mnist").X:close() end)
print(("%-28s %10.3f %12.3f %8.2f   (baseline: Lua read + gmatch of the numbers)"):format(
  "mnist 10000", tm, rawjson, tm / rawjson))

for _, name in ipairs { "wine", "digits", "iris", "breast_cancer" } do
  local t = best(5, function() qnn.data.load(name) end)
  print(("%-28s %10.5f"):format(name, t))
end

local ds = qnn.data.load("fashion_mnist")
local ts = best(3, function() ds:split { test = 0.2, seed = 1 } end)
print(("%-28s %10.3f"):format("fashion split 80/20", ts))
local tr = ds:split { test = 0.2, seed = 1 }
local tstd = best(3, function() tr:copy():standardize() end)
print(("%-28s %10.3f"):format("copy + standardize 48000", tstd))
local tb = best(3, function() for _ in tr:batches(200, { seed = 1 }) do end end)
print(("%-28s %10.3f"):format("batches(200) epoch 48000", tb))
