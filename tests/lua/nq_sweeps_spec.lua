-- qnn.nq.sweep_metrics / sweep_result: the metrics that examples/nq_*.lua hand to qnn.sweep
-- (scripts/sweeps_nq.lua, docs/results/natural_quantization.md).
local qnn = require "qnn"
local proc = qnn.proc
local root = os.getenv("QNN_ROOT") or "."
local SCRIPT = root .. "/tests/lua/fixtures/nq_sweep_script.lua"

local function row(label, seed, e1)
  return { label = label, seed = seed, a = 0.316, g = math.pi / 2, epochs = 3, shots = 15, register = "shared",
    val_err1 = e1, val_err_vote = e1 / 2, val_err_mean = e1 / 4, train_err1 = 0.01, gap1 = e1 - 0.01,
    final_loss = 0.5, train_time = 1, time = 2, cpu = 2, ntrain = 100, nval = 50, precision = "single" }
end

describe("qnn.nq.sweep_metrics", function()
  it("one run: flat metrics, errors in percent", function()
    local m = qnn.nq.sweep_metrics { row("rotation", 1, 0.25) }
    assert.are.equal(25, m.val_err1_pct)
    assert.are.equal(12.5, m.val_err_vote_pct)
    assert.are.equal(6.25, m.val_err_mean_pct)
    assert.are.equal(1, m.train_err1_pct)
    assert.is_true(math.abs(m.gap1_pct - 24) < 1e-12)
    assert.are.equal(0.5, m.g_over_pi)
    assert.are.equal(0.316, m.a)
    assert.are.equal(100, m.ntrain)
    assert.are.equal("single", m.precision)
    assert.is_nil(m.train_err_vote_pct)
  end)

  it("several runs: one table per label (and seed when there are several)", function()
    local m = qnn.nq.sweep_metrics { row("classical", 1, 0.1), row("rotation", 1, 0.2) }
    assert.are.equal(10, m.classical.val_err1_pct)
    assert.are.equal(20, m.rotation.val_err1_pct)
    m = qnn.nq.sweep_metrics { row("weak", 1, 0.1), row("weak", 2, 0.3) }
    assert.are.equal(10, m["weak/seed1"].val_err1_pct)
    assert.are.equal(30, m["weak/seed2"].val_err1_pct)
    assert.has_error(function() qnn.nq.sweep_metrics {} end)
  end)

  it("outside a sweep sweep_result does nothing", function()
    if os.getenv("QNN_SWEEP_RESULT") then return end
    assert.is_false(qnn.nq.sweep_result { row("classical", 1, 0.1) })
  end)
end)

describe("qnn.nq.run train_eval", function()
  it("\"single\" gives the vote's first-shot training error and no vote", function()
    local function ds(n, seed)
      local X = qnn.tensor.randn(n, 8, { seed = seed })
      local y = {}
      for i = 1, n do y[i] = (X[i][1] > 0) and 1 or 2 end
      return { X = X, y = y }
    end
    local tr, va = ds(100, 1), ds(50, 2)
    local o = { preset = "weak", train = tr, val = va, epochs = 2, sizes = { 8, 6, 6, 2 }, shots = 5, seed = 3,
      progress = false }
    local full = qnn.nq.run(o)
    o.train_eval = "single"
    local one = qnn.nq.run(o)
    assert.are.equal(full.train_err1, one.train_err1)
    assert.is_number(full.train_err_vote)
    assert.is_nil(one.train_err_vote)
    assert.are.equal(full.val_err1, one.val_err1)
    o.train_eval = false
    local none = qnn.nq.run(o)
    assert.is_nil(none.train_err1)
  end)
end)

describe("qnn.nq.experiment under qnn.sweep", function()
  it("records the run's errors in percent as the sweep metrics", function()
    local out = string.format("%s/qnn_nq_sweep_%d_%d", os.getenv("TMPDIR") or "/tmp", proc.pid(), math.random(1, 1 << 30))
    local r = qnn.sweep { name = "nq_fixture", run = SCRIPT, grid = { a = { 0, 0.316 } }, seeds = 2, out = out,
      out_flag = "--out", workers = 1, progress = false }
    assert.are.equal(4, r.done)
    assert.are.equal(0, r.failed)
    for _, row in ipairs(r.rows) do
      assert.are.equal("ok", row.status)
      local m = row.metrics
      assert.are.equal(row.config.a, m.a)
      assert.are.equal(0.5, m.g_over_pi)
      assert.are.equal(2, m.epochs)
      assert.are.equal(60, m.ntrain)
      assert.are.equal(40, m.nval)
      for _, k in ipairs { "val_err1_pct", "val_err_vote_pct", "val_err_mean_pct" } do
        assert.is_number(m[k])
        assert.is_true(m[k] >= 0 and m[k] <= 100)
        -- a whole number of the 40 validation samples
        assert.is_true(math.abs(m[k] * 40 / 100 - math.floor(m[k] * 40 / 100 + 0.5)) < 1e-9)
      end
    end
    local s = qnn.sweep.summary(r, { by = { "a" }, metric = "val_err1_pct", print = false })
    assert.are.equal(2, #s.groups)
    assert.are.equal(2, s.groups[1].n)
    proc.run({ "rm", "-rf", out })
  end)
end)
