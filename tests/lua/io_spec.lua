-- One atomic-write helper for every file the library writes (issue 12 item 7): checkpoints,
-- CSV and JSON go through qnn.io.write_atomic. Devices/FIFOs/C-level modes are tested in
-- tests/c/test_fileio.c; here the Lua entry points.
local qnn = require "qnn"
local lfs = require "lfs"

local dir
local function p(name) return dir .. "/" .. name end
local function slurp(path) local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s end
local function tmp_entries()
  local n = 0
  for e in lfs.dir(dir) do if e:find(".tmp.", 1, true) then n = n + 1 end end
  return n
end

describe("qnn.io.write_atomic", function()
  setup(function()
    dir = os.tmpname(); os.remove(dir)
    assert(lfs.mkdir(dir))
  end)
  teardown(function()
    for e in lfs.dir(dir) do if e ~= "." and e ~= ".." then os.remove(dir .. "/" .. e) end end
    lfs.rmdir(dir)
  end)

  it("writes and replaces, leaving no temp file", function()
    assert.are.equal(p"a.txt", qnn.io.write_atomic(p"a.txt", "one\0two"))
    assert.are.equal("one\0two", slurp(p"a.txt"))
    qnn.io.write_atomic(p"a.txt", "")
    assert.are.equal("", slurp(p"a.txt"))
    assert.are.equal(0, tmp_entries())
  end)

  it("refuses /dev/null and leaves it a character device", function()
    local ok, e = pcall(qnn.io.write_atomic, "/dev/null", "x")
    assert.is_false(ok)
    assert.matches("refusing to replace /dev/null: it is a character device", e, 1, true)
    assert.are.equal("char device", lfs.attributes("/dev/null", "mode"))
    local net = qnn.nn.mlp{2, 2, seed = 1}
    assert.has_error(function() net:save("/dev/null") end)
    assert.are.equal("char device", lfs.attributes("/dev/null", "mode"))
    assert.has_error(function() qnn.report.csv("/dev/null", {"a"}, {{1}}) end)
    assert.are.equal("char device", lfs.attributes("/dev/null", "mode"))
  end)

  it("Net:save, Optimizer:save and report CSV/JSON through a symlink replace its target", function()
    local net = qnn.nn.mlp{2, 3, 2, seed = 1}
    net:save(p"target.ckpt")
    assert(lfs.link("target.ckpt", p"link.ckpt", true))
    local net2 = qnn.nn.mlp{2, 3, 2, seed = 2}
    net2:save(p"link.ckpt")
    assert.are.equal("link", lfs.symlinkattributes(p"link.ckpt", "mode"))
    local back = qnn.nn.load(p"target.ckpt")
    assert.are.equal(net2:params()[1], back:params()[1])
    local o = qnn.optim.adam{}
    o:save(p"link.ckpt")
    assert.are.equal("link", lfs.symlinkattributes(p"link.ckpt", "mode"))
    assert(lfs.link("t.csv", p"l.csv", true))
    qnn.report.csv(p"l.csv", {"x", "y"}, {{1, 2}})
    assert.are.equal("link", lfs.symlinkattributes(p"l.csv", "mode"))
    assert.matches("^x,y\n1,2", slurp(p"t.csv"))
    assert(lfs.link("t.json", p"l.json", true))
    qnn.report.json(p"l.json", {a = 1})
    assert.are.equal("link", lfs.symlinkattributes(p"l.json", "mode"))
    assert.matches('"a"', slurp(p"t.json"))
    assert.are.equal(0, tmp_entries())
  end)

  it("removes temp files of dead writers (kill -9) and keeps live ones", function()
    -- pid 2^22 + 12345 is above Linux's pid_max (2^22): no such process
    local dead = p"r.csv" .. ".tmp." .. tostring((1 << 22) + 12345)
    local dead2 = p"r.csv" .. ".tmp." .. tostring((1 << 22) + 12345) .. ".1f2e"
    local legacy = p"r.csv" .. ".tmp.1073741823" -- the old Lua writer's "<name>.tmp.<random>"
    local live = p"r.csv" .. ".tmp.1.1f2e" -- pid 1 always exists
    for _, f in ipairs{dead, dead2, legacy, live} do assert(io.open(f, "w")):close() end
    qnn.report.csv(p"r.csv", {"a"}, {{1}})
    assert.is_nil(lfs.attributes(dead))
    assert.is_nil(lfs.attributes(dead2))
    assert.is_nil(lfs.attributes(legacy))
    assert.is_not_nil(lfs.attributes(live))
    os.remove(live)
    assert.are.equal(0, qnn.io.clean_stale(p"r.csv"))
  end)

  it("errors name the path and leave nothing behind", function()
    local ok, e = pcall(qnn.io.write_atomic, p"missing/x.txt", "a")
    assert.is_false(ok)
    assert.matches("x.txt", e, 1, true)
    assert.has_error(function() qnn.io.write_atomic("", "a") end)
    assert.has_error(function() qnn.io.write_atomic(p"a\0b", "a") end)
    assert.has_error(function() qnn.io.write_atomic(p"a", nil) end)
    assert.are.equal(0, tmp_entries())
  end)

  it("install moves a finished file over the target with the same rules", function()
    qnn.io.write_atomic(p"fig.png", "old")
    qnn.io.write_atomic(p"fig.part", "new")
    qnn.io.install(p"fig.part", p"fig.png")
    assert.are.equal("new", slurp(p"fig.png"))
    assert.is_nil(lfs.attributes(p"fig.part"))
    qnn.io.write_atomic(p"fig.part", "x")
    assert.has_error(function() qnn.io.install(p"fig.part", "/dev/null") end)
    assert.are.equal("char device", lfs.attributes("/dev/null", "mode"))
  end)
end)
