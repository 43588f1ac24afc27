-- No path reaches a shell: every function that takes a path gets names with $(), backquotes,
-- quotes, spaces, newlines, ';' and gnuplot's '!' shell escape; each file must land exactly where
-- asked (read back byte for byte or through its reader) and no command may have run.
local qnn = require "qnn"
local R = qnn.report

local MARK = "qnn_pwned_spec" -- what the injected commands would create (in the working dir)
local ODD = {
  "a$(touch " .. MARK .. ")b",
  "a`touch " .. MARK .. "`b",
  "it's",
  'say "hi"',
  "two words",
  "line\nbreak",
  "x;touch " .. MARK .. ";y",
  "q'\n!touch " .. MARK .. "\n'",
  "back\\slash $HOME @m &|<>*?",
  "-rf",
}

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

local function read(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function rm_rf(p)
  local names = qnn.sys.dir(p)
  if names then
    for _, n in ipairs(names) do rm_rf(p .. "/" .. n) end
  end
  os.remove(p)
end

local function no_command_ran()
  assert.is_false(exists(MARK), "a shell command ran")
  assert.is_false(exists("pwned"))
end

describe("paths with shell metacharacters", function()
  local base
  before_each(function()
    base = os.tmpname()
    os.remove(base)
    assert(qnn.sys.mkdir(base))
    os.remove(MARK)
  end)
  after_each(function()
    rm_rf(base)
    os.remove(MARK)
  end)

  it("qnn.report.mkdir / qnn.sys.mkdir create exactly the named directories", function()
    for i, name in ipairs(ODD) do
      local d = base .. "/" .. name .. "/" .. name .. i
      assert.are.equal(d, R.mkdir(d))
      assert.are.equal(d, R.mkdir(d)) -- existing is fine
      local inner = qnn.sys.dir(base .. "/" .. name)
      assert.are.same({name .. i}, inner)
    end
    local top = qnn.sys.dir(base)
    assert.are.equal(#ODD, #top)
    no_command_ran()
  end)

  it("qnn.report.write/csv/json and nq/diffqas writers put the file where asked", function()
    for i, name in ipairs(ODD) do
      local d = base .. "/" .. name -- created by the writers themselves
      R.write(d .. "/" .. name .. ".txt", "text " .. i)
      assert.are.equal("text " .. i, read(d .. "/" .. name .. ".txt"))
      local csv = d .. "/" .. name .. ".csv"
      R.csv(csv, {"x", "y"}, {{x = 1, y = i}, {x = 2, y = 0.5}})
      local rows = R.read_csv(csv)
      assert.are.same({{x = 1, y = i}, {x = 2, y = 0.5}}, rows)
      local X = qnn.data.csv(csv, {header = true})
      assert.are.same({{1, i}, {2, 0.5}}, X:totable())
      R.json(d .. "/" .. name .. ".json", {data = {{1, 2}, {3, i}}})
      assert.are.same({{1, 2}, {3, i}}, qnn.data.json(d .. "/" .. name .. ".json", {key = "data"}):totable())
      qnn.nq.write_csv(d .. "/nq " .. name .. ".csv", {{a = i}}, {"a"})
      assert.are.equal(i, qnn.nq.read_csv(d .. "/nq " .. name .. ".csv")[1].a)
      qnn.nq.write_json(d .. "/nq " .. name .. ".json", {v = i})
      assert.truthy(read(d .. "/nq " .. name .. ".json"):find('"v": ' .. i, 1, true))
      qnn.diffqas.write(d .. "/dq " .. name, "dq" .. i)
      assert.are.equal("dq" .. i, read(d .. "/dq " .. name))
    end
    assert.are.equal(#ODD, #qnn.sys.dir(base))
    no_command_ran()
  end)

  it("checkpoints and IDX files load from such paths", function()
    local net = qnn.nn.mlp{3, 4, 2, seed = 1}
    local opt = qnn.optim.adam{lr = 0.01}
    net:backward(qnn.tensor.randn(4, 3, {seed = 1}), {1, 2, 1, 2})
    opt:step(net)
    -- a 2x3 unsigned-byte IDX file
    local idx = string.char(0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6)
    for _, name in ipairs(ODD) do
      local d = R.mkdir(base .. "/" .. name)
      local p = d .. "/" .. name .. ".ckpt"
      net:save(p)
      assert.are.same(net:params():totable(), qnn.nn.load(p):params():totable())
      opt:save(p .. ".opt")
      assert.are.equal(1, qnn.optim.load(p .. ".opt"):state().step)
      local f = assert(io.open(d .. "/" .. name .. ".idx", "wb"))
      f:write(idx)
      f:close()
      assert.are.same({{1, 2, 3}, {4, 5, 6}}, qnn.data.idx(d .. "/" .. name .. ".idx"):totable())
      -- only what we wrote is there
      local names = qnn.sys.dir(d)
      table.sort(names)
      local want = {name .. ".ckpt", name .. ".ckpt.opt", name .. ".idx"}
      table.sort(want)
      assert.are.same(want, names)
    end
    no_command_ran()
  end)

  it("qnn.data.load reads a data set from a directory with such a name", function()
    local iris = qnn.data.dir() .. "/iris.csv"
    if not exists(iris) then pending("data/iris.csv missing (make data)") return end
    for _, name in ipairs(ODD) do
      local d = R.mkdir(base .. "/" .. name)
      R.write(d .. "/iris.csv", read(iris))
      local ds = qnn.data.load("iris", {dir = d})
      assert.are.equal(150, #ds)
    end
    no_command_ran()
  end)

  it("qnn.report.plot and bars write PNGs to such paths without running commands", function()
    if not R.have_gnuplot() then pending("gnuplot not installed") return end
    for i, name in ipairs(ODD) do
      local d = R.mkdir(base .. "/" .. name)
      local csv = R.csv(d .. "/" .. name .. ".csv", {"x", "y"}, {{x = 1, y = 2}, {x = 2, y = i}})
      local png = d .. "/" .. name .. ".png"
      assert.are.equal(png, R.plot{png = png, csv = csv, title = name, xlabel = name,
        series = {{x = "x", y = "y", title = name}}})
      assert.are.equal("\137PNG", read(png):sub(1, 4))
      local bars = d .. "/bars " .. name .. ".png"
      assert.are.equal(bars, R.bars{png = bars, labels = {name, "b"}, groups = {name},
        values = {{1, i}}, title = name})
      assert.are.equal("\137PNG", read(bars):sub(1, 4))
      local names = qnn.sys.dir(d)
      assert.are.equal(3, #names) -- csv + 2 PNGs, no leftover .tmp
    end
    no_command_ran()
  end)

  it("gnuplot_quote round-trips every byte through gnuplot", function()
    if not R.have_gnuplot() then pending("gnuplot not installed") return end
    local bytes = {}
    for b = 1, 255 do if b ~= 47 then bytes[#bytes + 1] = string.char(b) end end -- not '/'
    local name = table.concat(bytes):sub(1, 200) -- NAME_MAX is 255 bytes
    local png = base .. "/" .. name
    assert.is_truthy(R.gnuplot("set terminal pngcairo size 50,50\nset output " ..
      R.gnuplot_quote(png) .. "\nplot x"))
    assert.are.same({name}, qnn.sys.dir(base))
    -- digits right after an escaped byte ("(5" once became 'E': gnuplot reads every octal digit)
    os.remove(png)
    local odd = "a(5 seeds, 95% CI)$1\n2"
    assert.is_truthy(R.gnuplot("set terminal pngcairo size 50,50\nset output " ..
      R.gnuplot_quote(base .. "/" .. odd) .. "\nplot x"))
    assert.are.same({odd}, qnn.sys.dir(base))
    no_command_ran()
  end)

  it("qnn.sys functions refuse NUL bytes and wrong types", function()
    for _, f in ipairs{qnn.sys.mkdir, qnn.sys.dir, qnn.sys.which} do
      local ok, err = pcall(f, "a\0b")
      assert.is_false(ok)
      assert.truthy(err:find("must not contain a NUL byte", 1, true))
      assert.is_false(pcall(f, 3))
      assert.is_false(pcall(f, ""))
    end
  end)

  it("qnn.sys.run passes arguments verbatim, without a shell", function()
    local out = base .. "/o"
    for _, name in ipairs(ODD) do
      local ok, how, code = qnn.sys.run{"touch", base .. "/" .. name}
      assert.are.same({true, "exit", 0}, {ok, how, code})
      assert.is_true(exists(base .. "/" .. name))
    end
    local ok, how, code = qnn.sys.run{"sh", "-c", "exit 3"}
    assert.are.same({false, "exit", 3}, {ok, how, code})
    local r, msg = qnn.sys.run{"qnn-no-such-program"}
    assert.is_nil(r)
    assert.truthy(msg:find("cannot start qnn-no-such-program", 1, true))
    assert.is_nil(qnn.sys.which("qnn-no-such-program"))
    local many = {"true"}
    for i = 2, 4096 do many[i] = "arg" .. i end
    assert.are.same({true, "exit", 0}, {qnn.sys.run(many)})
    many[4097] = "x"
    assert.has_error(function() qnn.sys.run(many) end)
    assert.has_error(function() qnn.sys.run{} end)
    assert.has_error(function() qnn.sys.run{"true", 3} end)
    assert.is_false(exists(out))
    no_command_ran()
  end)
end)
