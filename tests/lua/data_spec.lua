-- qnn.data: readers on small files made here, Dataset methods, bad input, and the real data
-- sets' sizes when `make data` has fetched them (pending otherwise).
local qnn = require "qnn"

local tmpdir
local function path(name) return tmpdir .. "/" .. name end
local function write(name, text)
  local f = assert(io.open(path(name), "wb"))
  f:write(text)
  f:close()
  return path(name)
end
local function be32(n)
  return string.char((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end
local function idx_u8(dims, values)
  local parts = { "\0\0\8", string.char(#dims) }
  for _, d in ipairs(dims) do parts[#parts + 1] = be32(d) end
  for _, v in ipairs(values) do parts[#parts + 1] = string.char(v) end
  return table.concat(parts)
end
local function errmsg(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end
local function has_gzip() return os.execute("command -v gzip >/dev/null 2>&1") == true end

-- 3 classes (sizes 10, 6, 4), 3 features; feature 3 is constant
local function toy()
  local X, y = {}, {}
  local sizes = { 10, 6, 4 }
  for c = 1, 3 do
    for k = 1, sizes[c] do
      X[#X + 1] = { c * 10 + k, (c - 2) * k * 0.5, 7 }
      y[#y + 1] = c
    end
  end
  return qnn.data.from { X = X, y = y, name = "toy" }
end

setup(function()
  tmpdir = os.tmpname()
  os.remove(tmpdir)
  assert(os.execute("mkdir -p '" .. tmpdir .. "'"))
end)

teardown(function()
  if tmpdir then os.execute("rm -rf '" .. tmpdir .. "'") end
end)

describe("qnn.data.csv", function()
  it("reads features and the label column", function()
    local p = write("a.csv", "3,2,x,y\n1.5,2,0\n-1,4e1,1\r\n\n7,8,2\n")
    local X, y = qnn.data.csv(p, { header = true, label = -1 })
    assert.are.equal("Tensor", qnn.type(X))
    assert.are.same({ 3, 2 }, { X:shape() })
    assert.are.equal(40, X:get(2, 2))
    assert.are.same({ 0, 1, 2 }, y) -- as written in the file
    local X2, y2 = qnn.data.csv(write("b.csv", "5,1,2\n6,3,4\n"), { label = 1 })
    assert.are.same({ 5, 6 }, y2)
    assert.are.same({ { 1, 2 }, { 3, 4 } }, X2:totable())
    local X3, none = qnn.data.csv(path("b.csv"))
    assert.are.same({ 2, 3 }, { X3:shape() })
    assert.is_nil(none)
  end)

  it("names the file, line and column of a bad number", function()
    local p = write("bad.csv", "h,h,h\n1,2,0\n3,4,1\n5,abc,1\n")
    local e = errmsg(qnn.data.csv, p, { header = true, label = -1 })
    assert.truthy(e:find("bad.csv:4: column 2: invalid number 'abc'", 1, true), e)
    e = errmsg(qnn.data.csv, write("ragged.csv", "1,2\n3\n"))
    assert.truthy(e:find("ragged.csv:2: 1 columns, expected 2", 1, true), e)
    e = errmsg(qnn.data.csv, write("lab.csv", "1,2.5\n"), { label = -1 })
    assert.truthy(e:find("label 2.5 is not an integer", 1, true), e)
  end)

  it("rejects bad arguments", function()
    assert.truthy(errmsg(qnn.data.csv, path("nope.csv")):find("cannot open"))
    assert.truthy(errmsg(qnn.data.csv, write("e.csv", "x,y\n"), { header = true }):find("no data rows"))
    assert.truthy(errmsg(qnn.data.csv, path("b.csv"), { label = 0 }):find("label"))
    assert.truthy(errmsg(qnn.data.csv, path("b.csv"), { label = 9 }):find("out of range"))
    assert.truthy(errmsg(qnn.data.csv, path("b.csv"), { lable = 1 }):find("unknown option 'lable'"))
    assert.has_error(function() qnn.data.csv(nil) end)
  end)

  it("reads gzip-compressed CSV", function()
    if not has_gzip() then return pending("gzip not installed") end
    write("g.csv", "1,2,1\n3,4,0\n")
    assert(os.execute("gzip -f '" .. path("g.csv") .. "'"))
    local X, y = qnn.data.csv(path("g.csv.gz"), { label = 3 })
    assert.are.same({ 1, 0 }, y)
    assert.are.equal(4, X:get(2, 2))
  end)
end)

describe("qnn.data.idx", function()
  it("reads images and labels (plain and gzip)", function()
    local vals = {}
    for i = 1, 12 do vals[i] = i * 20 end
    write("img.idx", idx_u8({ 2, 2, 3 }, vals))
    write("lab.idx", idx_u8({ 3 }, { 9, 0, 4 }))
    local X, dims = qnn.data.idx(path("img.idx"))
    assert.are.same({ 2, 6 }, { X:shape() })
    assert.are.same({ 2, 2, 3 }, dims)
    assert.are.equal(240, X:get(2, 6))
    assert.are.same({ 9, 0, 4 }, qnn.data.idx(path("lab.idx")))
    local T = qnn.data.idx(path("lab.idx"), { labels = false })
    assert.are.same({ 3, 1 }, { T:shape() })
    -- into: rows 2..3 of an existing tensor
    local big = qnn.tensor.zeros(3, 6)
    local R = qnn.data.idx(path("img.idx"), { into = big, row = 2 })
    assert.are.equal(big, R)
    assert.are.equal(0, big:get(1, 1))
    assert.are.equal(20, big:get(2, 1))
    assert.truthy(errmsg(qnn.data.idx, path("img.idx"), { into = big, row = 3 }):find("do not fit"))
    if has_gzip() then
      assert(os.execute("gzip -f '" .. path("img.idx") .. "'"))
      local G = qnn.data.idx(path("img.idx.gz"))
      assert.are.same(X:totable(), G:totable())
    end
  end)

  it("reports truncation, bad magic and trailing bytes with the offset", function()
    local good = idx_u8({ 2, 3 }, { 1, 2, 3, 4, 5, 6 })
    write("trunc.idx", good:sub(1, #good - 2))
    local e = errmsg(qnn.data.idx, path("trunc.idx"))
    assert.truthy(e:find("trunc.idx: byte offset 16: truncated IDX data", 1, true), e)
    write("magic.idx", "PK\3\4" .. good:sub(5))
    e = errmsg(qnn.data.idx, path("magic.idx"))
    assert.truthy(e:find("byte offset 0: bad IDX magic 0x504b0304", 1, true), e)
    write("trail.idx", good .. "x")
    e = errmsg(qnn.data.idx, path("trail.idx"))
    assert.truthy(e:find("trailing data", 1, true), e)
    write("hdr.idx", "\0\0\8")
    assert.truthy(errmsg(qnn.data.idx, path("hdr.idx")):find("truncated IDX header"))
    assert.truthy(errmsg(qnn.data.idx, path("none.idx")):find("cannot open"))
  end)
end)

describe("qnn.data.json", function()
  it("reads the mnist package format", function()
    write("0.json", '{ "data": [0,0.5,1,0.992,0,0,0.2,1] }')
    local T = qnn.data.json(path("0.json"), { key = "data", cols = 4 })
    assert.are.same({ 2, 4 }, { T:shape() })
    assert.are.equal(0.992, T:get(1, 4))
    local F = qnn.data.json(path("0.json"))
    assert.are.equal(1, F:ndim())
    assert.are.equal(8, F:numel())
    write("rows.json", "[[1,2],[3,4],[5,6]]")
    assert.are.same({ 3, 2 }, { qnn.data.json(path("rows.json")):shape() })
  end)

  it("reports malformed JSON with a byte offset", function()
    write("bad.json", '{"data": [1, 2, oops]}')
    local e = errmsg(qnn.data.json, path("bad.json"))
    assert.truthy(e:find("bad.json: byte offset 16: expected a number", 1, true), e)
    write("cut.json", '{"data": [1, 2')
    assert.truthy(errmsg(qnn.data.json, path("cut.json")):find("unexpected end of input"))
    assert.truthy(errmsg(qnn.data.json, path("0.json"), { cols = 3 }):find("not a multiple"))
    assert.truthy(errmsg(qnn.data.json, path("0.json"), { key = "x" }):find('no array member named "x"'))
  end)
end)

describe("qnn.data.from and Dataset basics", function()
  it("builds a Dataset", function()
    local ds = toy()
    assert.are.equal("Dataset", qnn.type(ds))
    assert.are.equal(20, #ds)
    assert.are.equal(3, ds.nclasses)
    assert.are.equal(3, ds:classes())
    assert.are.same({ 20, 3 }, { ds:size() })
    assert.are.equal("Dataset(toy: 20 samples x 3 features, 3 classes)", tostring(ds))
    assert.are.same({ 10, 6, 4 }, ds:counts())
    local z = qnn.data.from { X = qnn.tensor.from { { 1 }, { 2 } }, y = { 0, 1 }, base = 0 }
    assert.are.same({ 1, 2 }, z.y)
    local k = qnn.data.from { X = { 1, 2, 3 }, y = { 1, 1, 1 }, nclasses = 4 }
    assert.are.same({ 3, 1 }, { k.X:shape() })
    assert.are.equal(4, k.nclasses)
  end)

  it("rejects bad input", function()
    assert.truthy(errmsg(qnn.data.from, { X = {}, y = {} }):find("empty data set"))
    assert.truthy(errmsg(qnn.data.from, { X = { { 1 }, { 2 } }, y = { 1 } }):find("2 rows but y has 1"))
    assert.truthy(errmsg(qnn.data.from, { X = { { 1 } }, y = { 0 } }):find("integer >= 1"))
    assert.truthy(errmsg(qnn.data.from, { X = { { 1 } }, y = { 1.5 } }):find("integer >= 1"))
    assert.truthy(errmsg(qnn.data.from, { X = { { 1 } }, y = { 2 }, nclasses = 1 }):find("nclasses"))
    assert.truthy(errmsg(qnn.data.from, { X = { { 1 } }, y = { 1 }, Y = 1 }):find("unknown field"))
    assert.truthy(errmsg(qnn.data.from, "x"):find("expects a table"))
    assert.truthy(errmsg(qnn.data.from, { X = 5, y = { 1 } }):find("X must be a Tensor"))
  end)
end)

describe("Dataset:split", function()
  it("is stratified, disjoint, complete and deterministic", function()
    local ds = toy()
    local tr, te = ds:split { test = 0.25, stratify = true, seed = 42 }
    assert.are.equal(15, #tr)
    assert.are.equal(5, #te)
    -- 10,6,4 * 0.25 = 2.5,1.5,1 -> largest remainder: 3,1,1 (ties to the lower class)
    assert.are.same({ 3, 1, 1 }, te:counts())
    assert.are.same({ 7, 5, 3 }, tr:counts())
    -- every sample exactly once (feature 1 is unique per sample)
    local seen = {}
    for _, part in ipairs { tr, te } do
      for i = 1, #part do
        local key = part.X:get(i, 1)
        assert.is_nil(seen[key])
        seen[key] = part.y[i]
      end
    end
    local n = 0
    for i = 1, #ds do
      n = n + 1
      assert.are.equal(ds.y[i], seen[ds.X:get(i, 1)])
    end
    assert.are.equal(20, n)
    local tr2, te2 = ds:split { test = 0.25, seed = 42 }
    assert.are.same(tr.X:totable(), tr2.X:totable())
    assert.are.same(te.y, te2.y)
    local tr3 = ds:split { test = 0.25, seed = 7 }
    assert.are_not.same(tr.X:totable(), tr3.X:totable())
    local _, teu = ds:split { test = 0.5, stratify = false, seed = 1 }
    assert.are.equal(10, #teu)
  end)

  it("rejects a test fraction outside (0, 1) and tiny sets", function()
    local ds = toy()
    for _, bad in ipairs { 0, 1, -0.1, 1.5, 0 / 0 } do
      assert.truthy(errmsg(ds.split, ds, { test = bad }):find("fraction in %(0, 1%)"))
    end
    assert.truthy(errmsg(ds.split, ds, { test = "x" }):find("fraction"))
    assert.truthy(errmsg(ds.split, ds, { tset = 0.2 }):find("unknown option 'tset'"))
    local one = qnn.data.from { X = { { 1 } }, y = { 1 } }
    assert.truthy(errmsg(one.split, one, { test = 0.5 }):find("at least 2"))
    assert.truthy(errmsg(ds.split, {}, {}):find("Dataset"))
  end)
end)

describe("Dataset:standardize", function()
  it("fits on train only and applies train statistics to test", function()
    local tr, te = toy():split { test = 0.25, seed = 3 }
    local raw_tr, raw_te = tr.X:copy(), te.X:copy()
    local sc = tr:standardize()
    assert.are.equal("Scaler", qnn.type(sc))
    local n = #tr
    for j = 1, 2 do
      local m, s = 0, 0
      for i = 1, n do m = m + raw_tr:get(i, j) end
      m = m / n
      for i = 1, n do s = s + (raw_tr:get(i, j) - m) ^ 2 end
      s = math.sqrt(s / n)
      assert.is_near(m, sc.mean:get(j), 1e-12)
      assert.is_near(s, sc.std:get(j), 1e-12)
      local cm, cs = 0, 0
      for i = 1, n do cm = cm + tr.X:get(i, j) end
      for i = 1, n do cs = cs + tr.X:get(i, j) ^ 2 end
      assert.is_near(0, cm / n, 1e-12)
      assert.is_near(1, cs / n, 1e-12)
    end
    -- zero-variance column becomes 0
    for i = 1, n do assert.are.equal(0, tr.X:get(i, 3)) end
    local ret = sc:apply(te)
    assert.are.equal(te, ret)
    for i = 1, #te do
      for j = 1, 2 do
        assert.is_near((raw_te:get(i, j) - sc.mean:get(j)) / sc.std:get(j), te.X:get(i, j), 1e-12)
      end
    end
    -- a Tensor works too; wrong width is refused
    local T = raw_te:copy()
    sc:apply(T)
    assert.are.same(te.X:totable(), T:totable())
    assert.truthy(errmsg(sc.apply, sc, qnn.tensor.zeros(2, 5)):find("fitted on 3 features"))
    assert.truthy(errmsg(sc.apply, sc, 5):find("Dataset or a Tensor"))
  end)
end)

describe("Dataset methods", function()
  it("scale, classes, head, sample, onehot, labels_tensor", function()
    local ds = toy()
    ds:scale(0.5, 1)
    assert.are.equal(11 * 0.5 + 1, ds.X:get(1, 1))
    assert.truthy(errmsg(ds.scale, ds, 0 / 0):find("finite"))
    local b = ds:classes { 3, 1 }
    assert.are.equal(14, #b)
    assert.are.equal(2, b.nclasses)
    assert.are.same({ 4, 10 }, b:counts()) -- class 3 -> 1, class 1 -> 2
    assert.are.equal(b.y[1], 2)
    assert.are.same(b.y, ds:classes_subset { 3, 1 }.y)
    assert.truthy(errmsg(ds.classes, ds, { 4 }):find("not in %[1, 3%]"))
    assert.truthy(errmsg(ds.classes, ds, { 1, 1 }):find("listed twice"))
    assert.truthy(errmsg(ds.classes, ds, {}):find("non%-empty"))
    local h = ds:head(5)
    assert.are.equal(5, #h)
    assert.are.equal(ds.X:get(5, 1), h.X:get(5, 1))
    assert.are.equal(20, #ds:head(500))
    assert.truthy(errmsg(ds.head, ds, 0):find(">= 1"))
    local s1, s2 = ds:sample(8, 11), ds:sample(8, 11)
    assert.are.same(s1.X:totable(), s2.X:totable())
    assert.truthy(errmsg(ds.sample, ds, 21):find("%[1, 20%]"))
    assert.truthy(errmsg(ds.sample, ds, 2, 0.5):find("seed"))
    local oh = ds:onehot()
    assert.are.same({ 20, 3 }, { oh:shape() })
    assert.are.equal(1, oh:get(20, 3))
    assert.are.equal(0, oh:get(20, 1))
    local lt = ds:labels_tensor()
    assert.are.equal(20, lt:numel())
    assert.are.equal(3, lt:get(20))
  end)

  it("batches cover every sample once, deterministically", function()
    local ds = toy()
    local seen, sizes, count = {}, {}, 0
    for Xb, yb, i in ds:batches(6, { seed = 5 }) do
      count = count + 1
      assert.are.equal(count, i)
      local r = Xb:shape()
      sizes[#sizes + 1] = r
      assert.are.equal(r, #yb)
      for k = 1, r do
        local key = Xb:get(k, 1)
        assert.is_nil(seen[key])
        seen[key] = yb[k]
      end
    end
    assert.are.same({ 6, 6, 6, 2 }, sizes)
    for i = 1, #ds do assert.are.equal(ds.y[i], seen[ds.X:get(i, 1)]) end
    local a, b = {}, {}
    for Xb in ds:batches(7, { seed = 9 }) do a[#a + 1] = Xb:totable() end
    for Xb in ds:batches(7, { seed = 9 }) do b[#b + 1] = Xb:totable() end
    assert.are.same(a, b)
    local ordered = {}
    for _, yb in ds:batches(20, { shuffle = false }) do ordered = yb end
    assert.are.same(ds.y, ordered)
    assert.truthy(errmsg(ds.batches, ds, 0):find(">= 1"))
    assert.truthy(errmsg(ds.batches, ds, 2, { shufle = true }):find("unknown option"))
  end)

  it("subset, concat, copy", function()
    local ds = toy()
    local s = ds:subset { 20, 1, 1 }
    assert.are.same({ 3, 1, 1 }, s.y)
    assert.are.equal(ds.X:get(20, 1), s.X:get(1, 1))
    assert.truthy(errmsg(ds.subset, ds, { 21 }):find("outside %[1, 20%]"))
    assert.truthy(errmsg(ds.subset, ds, {}):find("non%-empty"))
    local c = ds:head(2):concat(ds:subset { 20 })
    assert.are.equal(3, #c)
    assert.are.same({ 1, 1, 3 }, c.y)
    assert.truthy(errmsg(ds.concat, ds, qnn.data.from { X = { { 1, 2 } }, y = { 1 } }):find("feature counts differ"))
    local cp = ds:copy()
    cp.X:set(1, 1, -99)
    assert.are_not.equal(-99, ds.X:get(1, 1))
  end)
end)

describe("qnn.data helpers", function()
  it("work on small inputs", function()
    local X = qnn.tensor.from { { 1, 10 }, { 3, 10 }, { 5, 10 } }
    local m, s = qnn.data.colstats(X)
    assert.are.same({ 3, 10 }, m:totable())
    assert.is_near(math.sqrt(8 / 3), s:get(1), 1e-12)
    assert.are.equal(0, s:get(2))
    local G = qnn.data.gather(X, { 3, 1, 3 })
    assert.are.same({ { 5, 10 }, { 1, 10 }, { 5, 10 } }, G:totable())
    assert.are.same({ { 1, 10 } }, qnn.data.gather(X, { 3, 1, 3 }, 2, 2):totable())
    assert.are.same({ 0, 2 }, { qnn.data.gather(X, { 1 }, 2, 1):shape() })
    local Y = X:copy()
    assert.are.equal(Y, qnn.data.standardize(Y, m, s))
    assert.are.same({ 0, 0 }, Y:totable()[2])
    qnn.data.affine(Y, 2, 1)
    assert.are.same({ 1, 1 }, Y:totable()[2])
    local oh = qnn.data.onehot({ 2, 1 }, 3)
    assert.are.same({ { 0, 1, 0 }, { 1, 0, 0 } }, oh:totable())
    local p = qnn.data.permutation(10, { seed = 4 })
    assert.are.same(p, qnn.data.permutation(10, { seed = 4 }))
    table.sort(p)
    for i = 1, 10 do assert.are.equal(i, p[i]) end
    assert.are.same({}, qnn.data.permutation(0))
    local V = qnn.data.vstack { X, G }
    assert.are.same({ 6, 2 }, { V:shape() })
    local tr, te = qnn.data.split_indices({ 1, 1, 2, 2, 2, 2 }, 2, { test = 0.5, seed = 1 })
    assert.are.equal(3, #tr)
    assert.are.equal(3, #te)
    assert.are.equal("string", type(qnn.data.dir()))
  end)

  it("reject bad input", function()
    local X = qnn.tensor.from { { 1, 2 }, { 3, 4 } }
    local m, s = qnn.data.colstats(X)
    assert.truthy(errmsg(qnn.data.colstats, {}):find("Tensor"))
    assert.truthy(errmsg(qnn.data.colstats, qnn.tensor.zeros(0, 3)):find("empty"))
    assert.truthy(errmsg(qnn.data.gather, X, { 3 }):find("outside %[1, 2%]"))
    assert.truthy(errmsg(qnn.data.gather, X, { 1.5 }):find("integer index"))
    assert.truthy(errmsg(qnn.data.gather, X, "x"):find("table"))
    assert.truthy(errmsg(qnn.data.gather, X, { 1 }, 3):find("i0"))
    assert.truthy(errmsg(qnn.data.standardize, X, qnn.tensor.zeros(3), s):find("2 entries"))
    assert.truthy(errmsg(qnn.data.standardize, X, m):find("Tensor"))
    assert.truthy(errmsg(qnn.data.affine, X, 0 / 0):find("finite"))
    assert.truthy(errmsg(qnn.data.affine, X, 1, math.huge):find("'b'"))
    assert.truthy(errmsg(qnn.data.onehot, { 0 }):find("label"))
    assert.truthy(errmsg(qnn.data.onehot, { 3 }, 2):find("nclasses"))
    assert.truthy(errmsg(qnn.data.permutation, -1):find("'n'"))
    assert.truthy(errmsg(qnn.data.permutation, 3, { sed = 1 }):find("unknown option"))
    assert.truthy(errmsg(qnn.data.vstack, {}):find("non%-empty"))
    assert.truthy(errmsg(qnn.data.vstack, { X, 5 }):find("not an open Tensor"))
    assert.truthy(errmsg(qnn.data.vstack, { X, qnn.tensor.zeros(1, 3) }):find("3 columns"))
    assert.truthy(errmsg(qnn.data.split_indices, { 1 }):find("at least 2"))
    assert.truthy(errmsg(qnn.data.split_indices, { 1, 2 }, 2, { test = 0 }):find("%(0, 1%)"))
    assert.truthy(errmsg(qnn.data.split_indices, { 1, 3 }, 2):find("largest label 3"))
    assert.truthy(errmsg(qnn.data.split_indices, { 1, "a" }):find("label %[2%]"))
    assert.truthy(errmsg(qnn.data.json, path("none.json")):find("cannot open"))
    assert.truthy(errmsg(qnn.data.idx, path("lab.idx"), { into = 5 }):find("into"))
  end)
end)

describe("qnn.data.load", function()
  it("rejects unknown names and options", function()
    assert.truthy(errmsg(qnn.data.load, "cifar"):find("unknown data set 'cifar'"))
    assert.truthy(errmsg(qnn.data.load, 5):find("must be a string"))
    assert.truthy(errmsg(qnn.data.load, "wine", { splt = "all" }):find("unknown option"))
    assert.truthy(errmsg(qnn.data.load, "wine", { split = "valid" }):find("train"))
  end)

  it("names the fetch command when a set is missing", function()
    for _, name in ipairs { "wine", "digits", "iris", "breast_cancer", "mnist", "fashion_mnist" } do
      local e = errmsg(qnn.data.load, name, { dir = tmpdir .. "/empty" })
      assert.truthy(e:find("qnnlab --fetch-data", 1, true), e)
      assert.truthy(e:find("not found", 1, true), e)
    end
  end)

  it("qnn.data.dir: $QNN_DATA_DIR first, then the project's data/, then the per-user directory", function()
    -- the checkout's data/ (a directory here, even when empty of sets) or QNN_DATA_DIR
    local d = qnn.data.dir()
    local env = os.getenv("QNN_DATA_DIR")
    if env and env ~= "" then
      assert.are.equal(env, d)
    else
      assert.truthy(d:find("/data$"), d)
    end
    assert.are.equal(d, qnn.data.dirs()[1])
    local docs = qnn._docs[qnn.data.dirs].doc
    assert.truthy(docs:find("XDG_DATA_HOME", 1, true) and docs:find("fetch-data", 1, true), docs)
  end)

  it("loads files laid out as make data does (small fakes)", function()
    local d = tmpdir .. "/fake"
    os.execute("mkdir -p '" .. d .. "'")
    local f = assert(io.open(d .. "/iris.csv", "wb"))
    f:write("150,4,setosa,versicolor,virginica\n")
    for i = 1, 150 do f:write(("%d.1,3.5,1.4,0.2,%d\n"):format(i, (i - 1) // 50)) end
    f:close()
    local ds = qnn.data.load("iris", { dir = d })
    assert.are.equal(150, #ds)
    assert.are.same({ 50, 50, 50 }, ds:counts())
    assert.are.same({ "setosa", "versicolor", "virginica" }, ds.class_names)
    -- a damaged (short) file is reported
    f = assert(io.open(d .. "/wine_data.csv", "wb"))
    f:write("178,13,a,b,c\n1,2,3,4,5,6,7,8,9,10,11,12,13,0\n")
    f:close()
    local e = errmsg(qnn.data.load, "wine", { dir = d })
    assert.truthy(e:find("1x13 values, expected 178x13", 1, true), e)
    -- a malformed file names the file and line
    f = assert(io.open(d .. "/breast_cancer.csv", "wb"))
    f:write("569,30,m,b\n" .. ("1,"):rep(30) .. "0\n" .. ("1,"):rep(29) .. "x,0\n")
    f:close()
    e = errmsg(qnn.data.load, "breast_cancer", { dir = d })
    assert.truthy(e:find("breast_cancer.csv:3: column 30: invalid number 'x'", 1, true), e)
    assert.truthy(errmsg(qnn.data.load, "iris", { dir = d, split = "train" }):find("no official train split"))
  end)
end)

describe("real data sets (after make data)", function()
  local dir = qnn.data.dir()
  local function present(file)
    local fh = io.open(dir .. "/" .. file, "rb")
    if fh then fh:close() return true end
    return false
  end
  local cases = {
    { "wine", "wine_data.csv", 178, 13, 3, { 59, 71, 48 } },
    { "digits", "digits.csv.gz", 1797, 64, 10 },
    { "iris", "iris.csv", 150, 4, 3, { 50, 50, 50 } },
    { "breast_cancer", "breast_cancer.csv", 569, 30, 2, { 212, 357 } },
    { "mnist", "mnist/9.json", 10000, 784, 10,
      { 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 } },
  }
  for _, c in ipairs(cases) do
    it(c[1] .. " has the real size", function()
      if not present(c[2]) then return pending("data/" .. c[2] .. " missing: run make data") end
      local ds = qnn.data.load(c[1])
      assert.are.same({ c[3], c[4] }, { ds:size() })
      assert.are.equal(c[5], ds.nclasses)
      if c[6] then assert.are.same(c[6], ds:counts()) end
    end)
  end
  it("fashion_mnist has 60000 + 10000 images", function()
    if not present("fashion_mnist/t10k-labels-idx1-ubyte.gz") then
      return pending("data/fashion_mnist missing: run make data")
    end
    local te = qnn.data.load("fashion_mnist", { split = "test" })
    assert.are.same({ 10000, 784 }, { te:size() })
    assert.are.same({ 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000 }, te:counts())
    local tr = qnn.data.load("fashion_mnist")
    assert.are.same({ 60000, 784 }, { tr:size() })
    assert.are.equal(10, tr.nclasses)
    assert.are.equal(255, tr.X:max())
    tr.X:close()
  end)
end)
