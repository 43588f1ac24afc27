-- bin/qnnlab seen from Lua: runs the host as a child process (script mode, -e, and the REPL
-- with piped stdin) and checks what it prints. Runs under stock lua5.4 and under qnnlab.
local qnn = require "qnn"

local root = os.getenv("QNN_ROOT") or "."
local out = os.getenv("O") or "."
if out:sub(1, 1) ~= "/" then out = root .. "/" .. out end
local host = out .. "/bin/qnnlab"

local function exists(p)
  local f = io.open(p, "r")
  if f then f:close() return true end
  return false
end

local function slurp(p)
  local f = assert(io.open(p, "r"))
  local s = f:read("a")
  f:close()
  return s
end

local function spit(p, s)
  local f = assert(io.open(p, "w"))
  f:write(s)
  f:close()
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- run(args, stdin_text) -> exit code, stdout, stderr
local function run(args, input)
  local base = os.tmpname()
  local cmd = q(host) .. " " .. args .. " >" .. q(base .. ".out") .. " 2>" .. q(base .. ".err")
  if input then
    spit(base .. ".in", input)
    cmd = cmd .. " <" .. q(base .. ".in")
  else
    cmd = cmd .. " </dev/null"
  end
  local _, _, code = os.execute(cmd)
  local o, e = slurp(base .. ".out"), slurp(base .. ".err")
  os.remove(base); os.remove(base .. ".out"); os.remove(base .. ".err"); os.remove(base .. ".in")
  return code, o, e
end

local function script(src)
  local p = os.tmpname()
  spit(p, src)
  return p
end

describe("qnnlab host", function()
  if not exists(host) then
    pending("bin/qnnlab not built at " .. host)
    return
  end

  it("runs -e and prints qnn.version", function()
    local code, o = run("-e " .. q("print(require('qnn').version)"))
    assert.are.equal(0, code)
    assert.are.equal(qnn.version .. "\n", o)
  end)

  it("--version names qnn and Lua versions", function()
    local code, o = run("--version")
    assert.are.equal(0, code)
    assert.are.equal("qnnlab " .. qnn.version .. " (Lua 5.4", o:sub(1, #("qnnlab " .. qnn.version .. " (Lua 5.4")))
  end)

  it("passes script arguments in ... and arg", function()
    local p = script("local n = select('#', ...)\nprint(n, arg[0] == ..., arg[1], arg[2], arg[-1] ~= nil)\n")
    local code, o = run(q(p) .. " x 'y z'")
    os.remove(p)
    assert.are.equal(0, code)
    assert.are.equal("2\tfalse\tx\ty z\ttrue\n", o)
  end)

  it("exit codes: 1 for runtime and syntax errors, 2 for bad flags", function()
    local p = script("local a = nil\nreturn a.b\n")
    local code, _, e = run(q(p))
    assert.are.equal(1, code)
    assert.truthy(e:find(p .. ":2:", 1, true))
    assert.truthy(e:find("stack traceback", 1, true))
    os.remove(p)
    p = script("x = (\n")
    code, _, e = run(q(p))
    assert.are.equal(1, code)
    assert.truthy(e:find(p .. ":1:", 1, true) or e:find(p .. ":2:", 1, true))
    os.remove(p)
    code, _, e = run("--no-such-flag")
    assert.are.equal(2, code)
    assert.truthy(e:match("usage"))
  end)

  it("reports non-string error objects", function()
    local code, _, e = run("-e " .. q("error({})"))
    assert.are.equal(1, code)
    assert.truthy(e:find("(error object is a table value)", 1, true))
    code, _, e = run("-e " .. q("error(setmetatable({}, {__tostring = function() return 'custom-err' end}))"))
    assert.are.equal(1, code)
    assert.truthy(e:find("custom-err", 1, true))
  end)

  it("REPL on piped stdin: echo, multiple results, userdata, multi-line, errors go on", function()
    local code, o, e = run("-i", table.concat({
      "1+1",
      "'a', 2, nil",
      "qnn.rng(3)",
      "local t = {}",
      "function sq(x)",
      "  return x * x",
      "end",
      "sq(9)",
      "error('repl-oops')",
      "(2 +",
      "3)",
      "sq(4)",
    }, "\n") .. "\n")
    assert.are.equal(0, code)
    assert.truthy(o:find("qnn> 2\n", 1, true))
    assert.truthy(o:find("qnn> a\t2\tnil\n", 1, true))
    assert.truthy(o:find("qnn> qnn.Rng(", 1, true))
    assert.truthy(o:find(">> >> qnn> 81\n", 1, true))
    assert.truthy(o:find(">> 5\n", 1, true))
    assert.truthy(o:find("qnn> 16\n", 1, true))
    assert.truthy(e:find("stdin:1: repl-oops", 1, true))
    assert.truthy(e:find("stack traceback", 1, true))
  end)

  it("REPL previews plain tables, keeps __tostring and __name", function()
    local code, o = run("-i", table.concat({
      "{1, 2, x = 'a', sub = {y = true}}",
      "t = {} t.me = t return t",
      "local r = {} for i = 1, 100 do r[i] = i end return r",
      "setmetatable({}, {__tostring = function() return 'custom-ts' end})",
      "{}, 3",
    }, "\n") .. "\n")
    assert.are.equal(0, code)
    assert.truthy(o:find('qnn> {1, 2, sub = {y = true}, x = "a"}\n', 1, true))
    assert.truthy(o:find("qnn> {me = <cycle>}\n", 1, true))
    assert.truthy(o:find("24, ... (100 entries)}\n", 1, true))
    assert.truthy(o:find("qnn> custom-ts\n", 1, true))
    assert.truthy(o:find("qnn> {}\t3\n", 1, true))
  end)

  it("REPL preloads qnn and help", function()
    local code, o = run("-i", "qnn == require('qnn'), help == qnn.help\nhelp(qnn.seed)\n")
    assert.are.equal(0, code)
    assert.truthy(o:find("true\ttrue", 1, true))
    assert.truthy(o:find("qnn.seed(n)", 1, true))
  end)

  it("-i runs the script first, then the REPL sees its globals", function()
    local p = script("answer = 41\n")
    local code, o = run("-i " .. q(p), "answer + 1\n")
    os.remove(p)
    assert.are.equal(0, code)
    assert.truthy(o:find("qnn> 42", 1, true))
  end)

  it("a script's error status survives os.exit and -e order", function()
    local code = run("-e " .. q("os.exit(7)"))
    assert.are.equal(7, code)
    local _, o = run("-e " .. q("a = 1") .. " -e " .. q("print(a + 1)"))
    assert.are.equal("2\n", o)
  end)

  it("inside qnnlab, require 'qnn' is the built-in module", function()
    if package.preload.qnn == nil then
      pending("running under stock lua5.4")
      return
    end
    assert.are.equal(qnn, require("qnn"))
    assert.truthy(package.searchpath("qnn.help", package.path))
  end)
end)
