-- LuaRocks package of qnnlab: the qnn module (C core linked in), the Lua half and the qnnlab
-- host.  From a checkout:  luarocks --lua-version 5.4 make [--tree DIR | --local]
-- Needs the Debian packages scripts/deps.sh lists (OpenBLAS, LAPACKE, zlib, readline, Lua 5.4
-- headers); the build runs the project's Makefile.
rockspec_format = "3.0"
package = "qnnlab"
version = "0.1.0-1"
source = {
   url = "git+file:///qnnlab", -- no public repository yet: build from a checkout with `luarocks make`
}
description = {
   summary = "Quantum-enhanced training of classical neural networks: C core + Lua 5.4 host",
   detailed = [[
State-vector and density-matrix simulator, circuits with adjoint gradients, Grover search,
Ising samplers, dense networks and optimizers (OpenBLAS), exposed to Lua as the module qnn;
four published methods (Grover-search weight optimisation, quantum-annealing training,
natural quantization, DiffQAS-QT) with experiment runners.]],
}
dependencies = {
   "lua >= 5.4, < 5.5",
   "lua-cjson >= 2.1", -- qnn.report's JSON (Debian: lua-cjson)
}
build = {
   type = "make",
   build_target = "all",
   build_variables = {
      CFLAGS = "$(CFLAGS)",
      LUA_INCDIR = "$(LUA_INCDIR)",
   },
   install_target = "rock-install",
   install_variables = {
      LUADIR = "$(LUADIR)",
      LIBDIR_ROCK = "$(LIBDIR)",
      BINDIR_ROCK = "$(BINDIR)",
   },
}
