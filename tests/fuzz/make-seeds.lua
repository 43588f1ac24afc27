-- Writes the small seed files the file fuzzer mutates (tests/data/fuzz). Run once:
--   LUA_CPATH="lib/?.so;;" lua5.4 tests/fuzz/make-seeds.lua tests/data/fuzz
local qnn = require "qnn"
local dir = assert(arg[1], "usage: make-seeds.lua <dir>")
local function put(name, s) local f = assert(io.open(dir .. "/" .. name, "wb")) f:write(s) f:close() end
put("labels.csv", "a,b,c,label\n1,2,3,0\n4.5,-5,6e-3,1\n7,8,9,2\n")
put("plain.csv", "0.1,0.2\n0.3,0.4\n")
put("quoted.csv", 'x,"name, quoted",y\n1,"a ""b""",2\n')
put("data.json", '{"data": [[1, 2, 3], [4, 5, 6]], "other": {"k": [true, null, "s\\u00e9"]}}\n')
put("flat.json", "[1.5, -2, 3e2]\n")
put("images.idx", string.char(0, 0, 8, 3) .. string.pack(">I4I4I4", 2, 2, 3) .. string.char(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255))
put("labels.idx", string.char(0, 0, 8, 1) .. string.pack(">I4", 4) .. string.char(0, 1, 2, 9))
put("doubles.idx", string.char(0, 0, 0x0e, 2) .. string.pack(">I4I4", 2, 2) .. string.pack(">dddd", 1, -2, 0.5, 3))
local net = qnn.nn.sequential{qnn.nn.dense(3, 4), qnn.nn.relu(), qnn.nn.dense(4, 2), qnn.nn.softmax(), seed = 1}
net:save(dir .. "/mlp.net")
qnn.nn.mlp{3, 2, 2, hidden = "tanh", seed = 2}:save(dir .. "/tanh.net")
local opt = qnn.optim.adam{lr = 0.01}
net:backward(qnn.tensor.randn(2, 3, {seed = 1}), {1, 2})
opt:step(net)
opt:save(dir .. "/adam.opt")
local sgd = qnn.optim.sgd{lr = 0.1, momentum = 0.9}
sgd:step(net)
sgd:save(dir .. "/sgd.opt")
put("bell.qasm", 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n')
put("params.qasm", 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nrx(pi/4) q[0];\nry(-0.5*2) q[1];\nu3(0.1,0.2,0.3) q[2];\ncrz(1e-3) q[0],q[2];\nbarrier q;\nrz(-(pi/2)^2+sin(0.1)*cos(2)/sqrt(4)-exp(ln(2))) q[1];\n')
put("gate.qasm", 'OPENQASM 2.0;\nqreg q[2];\ngate g(t) a, b { rz(t) a; cx a, b; }\ng(pi) q[0], q[1];\n')
-- images.idx.gz: gzip -9n tests/data/fuzz/images.idx -c > tests/data/fuzz/images.idx.gz
