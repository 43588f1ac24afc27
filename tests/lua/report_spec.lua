local qnn = require "qnn"
local report = qnn.report

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  report.mkdir(d)
  return d
end

describe("qnn.report", function()
  it("parses flags and rejects unknown ones", function()
    local a = report.args({"--quick", "--seeds=3", "--out=x", "--lr=0.5"}, {lr = 0.1})
    assert.is_true(a.quick)
    assert.are.equal(3, a.seeds)
    assert.are.equal("x", a.out)
    assert.are.equal(0.5, a.lr)
    assert.has_error(function() report.args({"--bogus"}) end)
    assert.has_error(function() report.args({"--seeds=abc"}) end)
    assert.has_error(function() report.args({"--seeds"}) end)
    assert.has_error(function() report.args({"--quick=1"}) end)
    -- --seed=N (one seed, as qnn.sweep passes it) is a standard flag
    assert.are.equal(4, report.args({"--seed=4"}).seed)
    assert.is_nil(report.args({}).seed)
    assert.has_error(function() report.args({"--seed=x"}) end)
    -- flags: --help on a table that is not the script's arg gives help = true, no exit
    assert.are.same({help = true}, report.flags({"--lr=1", "--help"}, {lr = 0}))
    assert.are.same({help = true}, report.flags({"-h"}, {}, {}))
  end)

  it("mean/std and power-law fit", function()
    local m, s = report.mean_std({1, 2, 3, 4})
    assert.are.equal(2.5, m)
    assert.is_true(math.abs(s - math.sqrt(5 / 3)) < 1e-12)
    local xs, ys = {}, {}
    for i = 1, 10 do xs[i] = i; ys[i] = 3 * i ^ -0.8 end
    local b, a = report.loglog(xs, ys)
    assert.is_true(math.abs(b + 0.8) < 1e-12)
    assert.is_true(math.abs(a - math.log(3)) < 1e-12)
    assert.truthy(report.pm({1, 1}):match("1.0000 ± 0.0000"))
  end)

  it("parses untyped flags", function()
    local o = report.flags({"--n=3", "--x=a,b", "--v", "--off=false"}, {n = 1, off = true})
    assert.are.equal(3, o.n); assert.are.equal("a,b", o.x); assert.is_true(o.v); assert.is_false(o.off)
    local ok, err = pcall(report.flags, {"--nn=2"}, {n = 1, q = false}, {"extra"})
    assert.is_false(ok)
    assert.truthy(err:find("unknown argument '--nn=2'", 1, true) and err:find("--extra=", 1, true) and err:find("--q)", 1, true))
    assert.has_error(function() report.flags({"positional"}, {}) end)
    assert.are.equal(2, qnn.nq.args({"--seeds=2"}).seeds)
  end)

  it("writes CSV and JSON atomically", function()
    local d = tmpdir()
    report.csv(d .. "/a.csv", {"x", "name"}, {{x = 1, name = "a,b"}, {2.5, "c"}})
    local f = assert(io.open(d .. "/a.csv"))
    local text = f:read("a")
    f:close()
    assert.are.equal('x,name\n1,"a,b"\n2.5,c\n', text)
    local rows, header = report.read_csv(d .. "/a.csv")
    assert.are.same({"x", "name"}, header)
    assert.are.same({{x = 1, name = "a,b"}, {x = 2.5, name = "c"}}, rows)
    report.csv(d .. "/q.csv", {"s", "e"}, {{s = 'say "hi"\nnow', e = nil}})
    rows = report.read_csv(d .. "/q.csv")
    assert.are.same({{s = 'say "hi"\nnow'}}, rows)
    assert.has_error(function() report.read_csv(d .. "/missing.csv") end)
    assert.has_error(function() report.read_csv(42) end)
    report.json(d .. "/b.json", {a = {1, 2}, b = 0 / 0, c = "q\"", t = qnn.tensor{1, 2}})
    f = assert(io.open(d .. "/b.json"))
    text = f:read("a")
    f:close()
    assert.truthy(text:match('"b": null'))
    assert.truthy(text:match('"c": "q\\""'))
    -- no temp files left
    local p = io.popen('ls "' .. d .. '"')
    local names = p:read("a")
    p:close()
    assert.is_nil(names:match("tmp"))
    os.execute('rm -rf "' .. d .. '"')
  end)

  it("encodes JSON through lua-cjson: escapes, exact integers, sorted keys, one-line mode", function()
    local v = {s = "tab\tquote\"back\\ nl\n \1 é", path = "results/a.csv", bs = "a\\/b\\", big = 9007199254740993, f = 0.1, neg = -2.5e-300,
      arr = {1, 2.5, "x", true, false}, empty = {}, nested = {b = 1, a = {c = 0 / 0, d = 1 / 0}}}
    local one = report.json_encode(v, false)
    assert.falsy(one:find("\n", 1, true))
    assert.truthy(one:find('"big":9007199254740993', 1, true), one)
    assert.truthy(one:find('"empty":[]', 1, true), one)
    assert.truthy(one:find('"nested":{"a":{"c":null,"d":null},"b":1}', 1, true), one)
    -- keys sorted: same value, same bytes
    assert.are.equal(one, report.json_encode(v, false))
    local back = report.json_decode(one)
    assert.are.equal(v.s, back.s)
    assert.truthy(one:find('"path":"results/a.csv"', 1, true), one)
    assert.are.equal(v.bs, back.bs)
    assert.are.equal(0.1, back.f)
    assert.are.equal(-2.5e-300, back.neg)
    assert.are.same({1, 2.5, "x", true, false}, back.arr)
    assert.are.equal(report.null, back.nested.a.c)
    assert.are.same(report.json_decode(report.json_encode(v)), back) -- indented form parses the same
    assert.has_error(function() report.json_decode("{\"a\": [1, 2") end)
    assert.has_error(function() report.json_decode(42) end, "bad argument #1 'text' to 'qnn.report.json_decode' (must be a string, got number)")
  end)

  it("refuses cyclic tables and unwritable paths", function()
    local t = {}
    t.self = t
    assert.has_error(function() report.json_encode(t) end)
    assert.has_error(function() report.write("/proc/qnn-no/x.txt", "x") end)
  end)

  it("formats tables", function()
    local s = report.table({"a", "bb"}, {{1, 2.5}, {"xyz", 0.123456}})
    assert.truthy(s:find("| a   | bb     |", 1, true))
    assert.truthy(s:match("0.1235"))
  end)

  it("plots with gnuplot when present", function()
    if not report.have_gnuplot() then pending("gnuplot missing") return end
    local d = tmpdir()
    report.csv(d .. "/p.csv", {"x", "y"}, {{1, 1}, {2, 4}, {3, 9}})
    local png = report.plot {png = d .. "/p.png", csv = d .. "/p.csv", series = {{x = "x", y = "y"}}, title = "t"}
    local bars = report.bars {png = d .. "/b.png", labels = {"a", "b", "c"}, groups = {"g1", "g2"},
      values = {{1, 2, 3}, {2, nil, 1}}, errors = {{0.1, 0.2, 0.1}, {0.1, 0, 0.3}}, title = "t", ymin = 0}
    assert.has_error(function() report.bars {png = d .. "/x.png", labels = {}, groups = {"g"}, values = {}} end)
    assert.has_error(function() report.bars {labels = {"a"}, groups = {"g"}, values = {{1}}} end)
    assert.are.equal(d .. "/p.png", png)
    local f = assert(io.open(png, "rb"))
    assert.are.equal("\137PNG", f:read(4))
    f:close()
    assert.are.equal(d .. "/b.png", bars)
    f = assert(io.open(bars, "rb"))
    assert.are.equal("\137PNG", f:read(4))
    f:close()
    -- raw scripts: output appears only on success, never a partial file
    local good = d .. "/g.png"
    assert.are.equal(good, report.gnuplot("set terminal pngcairo size 200,100\nset output '" .. good ..
      "'\nplot x"))
    f = assert(io.open(good, "rb")); assert.are.equal("\137PNG", f:read(4)); f:close()
    local bad = d .. "/bad.png"
    local r, msg = report.gnuplot("set terminal pngcairo\nset output '" .. bad .. "'\nplot nosuchfunction(x)")
    assert.is_nil(r); assert.are.equal("gnuplot failed", msg)
    assert.is_nil(io.open(bad)); assert.is_nil(io.open(bad .. ".tmp"))
    assert.has_error(function() report.gnuplot(42) end)
    os.execute('rm -rf "' .. d .. '"')
  end)
end)

describe("qnn.progress", function()
  it("rejects bad options with the option's name", function()
    local p = qnn.progress
    assert.has_error(function() p.run(5) end, "bad argument #1 'options' to 'qnn.progress.run' (must be a table, got number)")
    assert.has_error(function() p.bar{total = -1} end, "bad option 'total' to 'qnn.progress.bar' (must be a finite number >= 0, got -1)")
    assert.has_error(function() p.bar{total = 0 / 0} end)
    assert.has_error(function() p.bar{width = 1e9} end)
    assert.has_error(function() p.run{label = {}} end)
    assert.has_error(function() p.write(nil) end, "bad argument #1 'text' to 'qnn.progress.write' (must be a string, got nil)")
  end)

  it("nests bars in the open run and closes runs (also through <close>)", function()
    local p = qnn.progress
    assert.is_nil(p.current())
    local r = p.run{label = "r", total = 2}
    assert.are.equal(r, p.current())
    local c = p.bar{label = "c", total = 4}
    assert.are.equal(r, c.parent)
    c:update(2); c:finish(); r:update(1)
    r:finish("done")
    assert.is_nil(p.current())
    assert.is_nil(p.bar{}.parent)
    pcall(function() local q <close> = p.run{total = 1}; error("x") end)
    assert.is_nil(p.current())
    assert.are.equal("01:05", p.fmt_time(65))
    assert.are.equal("1:00:00", p.fmt_time(3600))
    assert.are.equal("--:--", p.fmt_time(0 / 0))
  end)
end)
