-- qnn.nn.quantum_train{angles = "per_candidate"}: every candidate of the DiffQAS ensemble has its
-- own angle vector (issue 18: shared vs per-candidate angles). Layout, full-chain gradient
-- against finite differences, equivalence with the shared generator when the blocks are equal,
-- standalone/discretize, thread-count independence, bad input.
local qnn = require "qnn"

local function small_net(seed)
  return qnn.nn.sequential { qnn.nn.dense(3, 4), qnn.nn.tanh(), qnn.nn.dense(4, 2), seed = seed or 1 }
end

local X = qnn.tensor { { 1, 2, 3 }, { 0, 1, 0 }, { 1, -1, 1 }, { 0, 0, 2 } }
local y = { 1, 2, 2, 1 }

local function pick(names)
  local out = {}
  for _, c in ipairs(qnn.diffqas.pool()) do
    for _, n in ipairs(names) do if c.name == n then out[#out + 1] = c end end
  end
  return out
end

local function fdcheck(qt, loss, Y)
  qt:backward(X, Y, loss)
  local g = qt:grads():copy()
  local p = qt:params()
  local net = qt:target()
  local h, worst, maxg = 1e-5, 0, 0
  for k = 1, qt:nparams() do
    local w = p[k]
    p[k] = w + h; qt:generate(); local lp = net:loss(X, Y, loss)
    p[k] = w - h; qt:generate(); local lm = net:loss(X, Y, loss)
    p[k] = w
    local fd = (lp - lm) / (2 * h)
    worst = math.max(worst, math.abs(fd - g[k]) / (1 + math.abs(fd)))
    maxg = math.max(maxg, math.abs(g[k]))
  end
  return worst, maxg, g
end

describe("qnn.nn.quantum_train angles=\"per_candidate\"", function()
  it("gives each candidate its own depth x qubits angles", function()
    local q = qnn.nn.quantum_train { target = 108866, depth = 15, angles = "per_candidate" }
    local lay = q:layout()
    assert.are.equal("per_candidate", lay.angles)
    assert.are.equal(255, lay.theta_per_candidate)
    assert.are.equal(12 * 255, lay.theta)
    assert.are.equal(12 * 255 + 12 + 19, (q:nparams()))
    assert.truthy(tostring(q):find("angles=per_candidate", 1, true))
    assert.are.equal("per_candidate", (q:config()).angles)
    q:close()
    local s = qnn.nn.quantum_train { target = 108866, depth = 15 }
    assert.are.equal("shared", s:layout().angles)
    assert.are.equal(286, (s:nparams()))
    assert.are.equal("shared", (s:config()).angles)
    s:close()
    -- one candidate: both modes are the same model
    local one = qnn.nn.quantum_train { target = 26, depth = 2, pool = pick { "H-ring-RY" }, angles = "per_candidate" }
    assert.are.equal(one:layout().theta_per_candidate, one:layout().theta)
    one:close()
  end)

  it("full-chain gradient matches finite differences (softmax and none)", function()
    for _, norm in ipairs { "softmax", "none" } do
      local qt = qnn.nn.quantum_train { target = small_net(2), depth = 2, seed = 5, normalize = norm,
        angles = "per_candidate", pool = pick { "H-chain-RY", "noH-ring-RX", "H-ring-RZ" } }
      local p, lay = qt:params(), qt:layout()
      assert.are.equal(3 * lay.theta_per_candidate, lay.theta)
      for j = 1, lay.structural do p[lay.theta + j] = 0.07 * j - 0.3 + (norm == "none" and 0.4 or 0) end
      local worst, maxg, g = fdcheck(qt, "cross_entropy", y)
      assert.is_true(worst < 1e-5, norm .. " worst " .. worst)
      assert.is_true(maxg > 1e-4)
      -- every candidate's block gets its own gradient
      local per = lay.theta_per_candidate
      local differ = 0
      for k = 1, per do differ = math.max(differ, math.abs(g[k] - g[per + k])) end
      assert.is_true(differ > 1e-8)
      qt:close()
    end
  end)

  it("equals the shared generator when every block holds the shared angles", function()
    local pool = pick { "H-chain-RY", "noH-ring-RX", "H-ring-RY", "noH-chain-RY" }
    local sh = qnn.nn.quantum_train { target = small_net(1), depth = 3, seed = 4, pool = pool }
    local pc = qnn.nn.quantum_train { target = small_net(1), depth = 3, seed = 4, pool = pool,
      angles = "per_candidate" }
    local ls, lp = sh:layout(), pc:layout()
    local ps, pp = sh:params(), pc:params()
    ps[ls.theta + 2] = 0.4
    for j = 0, 3 do for k = 1, ls.theta do pp[j * ls.theta + k] = ps[k] end end
    for k = 1, ls.structural + ls.mapping do pp[lp.theta + k] = ps[ls.theta + k] end
    local ws = sh:generate():params():copy()
    local wp = pc:generate():params():copy()
    for i = 1, ws:numel() do assert.are.equal(ws[i], wp[i]) end
    -- the shared angle gradient is the sum of the blocks' gradients
    sh:backward(X, y)
    pc:backward(X, y)
    local gs, gp = sh:grads(), pc:grads()
    for k = 1, ls.theta do
      local sum = 0
      for j = 0, 3 do sum = sum + gp[j * ls.theta + k] end
      assert.is_true(math.abs(sum - gs[k]) < 1e-12)
    end
    -- circuit(j) carries candidate j's own angles
    pp[2 * ls.theta + 1] = 1.25
    local c3 = pc:circuit(3)
    assert.are.equal(1.25, c3:params().L1_q0)
    assert.are.equal(ps[1], pc:circuit(2):params().L1_q0)
    sh:close(); pc:close()
  end)

  it("standalone and discretize keep each candidate's own block", function()
    local qt = qnn.nn.quantum_train { target = small_net(3), depth = 2, seed = 9, angles = "per_candidate",
      pool = pick { "H-chain-RY", "noH-ring-RX", "H-ring-RY" } }
    local opt = qnn.optim.adam { lr = 0.05 }
    local first, last
    for _ = 1, 30 do
      local l = qt:backward(X, y)
      qt:step(opt)
      first = first or l
      last = l
    end
    assert.is_true(last < first)
    local lay, p = qt:layout(), qt:params()
    local per = lay.theta_per_candidate
    local g = qnn.diffqas.standalone(qt, { 3, 1 })
    assert.are.equal("per_candidate", g:layout().angles)
    local gp = g:params()
    for k = 1, per do
      assert.are.equal(p[2 * per + k], gp[k])
      assert.are.equal(p[k], gp[per + k])
    end
    assert.are.equal(p[lay.theta + 3], gp[2 * per + 1])
    assert.are.equal(p[lay.theta + 1], gp[2 * per + 2])
    g:close()
    -- a single candidate alone with its block generates what the full generator's circuit j gives
    local one = qnn.diffqas.standalone(qt, 2)
    assert.are.equal(per, one:layout().theta)
    for k = 1, per do assert.are.equal(p[per + k], one:params()[k]) end
    one:close()
    local d = qt:discretize(2, { X = X, y = y })
    assert.are.equal(2, #d.top)
    assert.is_number(d.topk)
    qt:close()
  end)

  it("gives the same numbers on 1 and 2 threads", function()
    local keep = qnn.threads()
    local function run(t)
      qnn.threads(t)
      local qt = qnn.nn.quantum_train { target = small_net(5), depth = 3, seed = 2, angles = "per_candidate" }
      local opt = qnn.optim.adam { lr = 0.05 }
      for _ = 1, 5 do qt:backward(X, y); qt:step(opt) end
      local out = {}
      local p = qt:params()
      for k = 1, p:numel() do out[k] = string.format("%a", p[k]) end
      qt:close()
      return table.concat(out, ",")
    end
    local a, b = run(1), run(2)
    qnn.threads(keep)
    assert.are.equal(a, b)
  end)

  it("rejects bad angles values", function()
    local ok, e = pcall(qnn.nn.quantum_train, { target = 10, depth = 1, angles = "each" })
    assert.is_false(ok)
    assert.truthy(e:find("per_candidate", 1, true), e)
    assert.has_error(function() qnn.nn.quantum_train { target = 10, depth = 1, angles = 2 } end)
    assert.has_error(function() qnn.nn.quantum_train { target = 10, depth = 1, angles = true } end)
    -- too many angles for the work limit: depth x qubits x candidates is bounded like depth alone
    local many = {}
    for i = 1, 3 do many[i] = qnn.diffqas.pool()[i] end
    local q = qnn.nn.quantum_train { target = 10, depth = 2, pool = many, angles = "per_candidate" }
    assert.are.equal(3 * 2 * 4, q:layout().theta)
    q:close()
  end)
end)
