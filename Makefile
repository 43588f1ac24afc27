# qnnlab build. Outputs: lib/libqnn.a and lib/libqnn.so (C core), lib/qnn.so (Lua module), bin/qnnlab (host).
# make            build everything          make test     C + Lua test suites
# make demo       main experiment (quick)   make asan     tests under ASan+UBSan
# make bench      benchmarks                make data     fetch data sets into data/
# make install PREFIX=/usr/local (uninstall) NATIVE=1    -march=native
# make api-doc     docs/api.md from the doc strings   CC=clang      build with clang
# O=dir puts build/, lib/ and bin/ under dir (parallel builds by several people).
O        ?= .
BUILD    := $(O)/build
LIBDIR   := $(O)/lib
BINDIR   := $(O)/bin
PREFIX   ?= /usr/local
CC       ?= gcc

# Dependencies are checked (and installed when root) before anything else is evaluated, so
# pkg-config below sees them on a fresh machine.
ifeq ($(filter clean,$(MAKECMDGOALS)),)
DEPS_RC := $(shell bash scripts/deps.sh 1>&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error scripts/deps.sh failed: install the packages it lists)
endif
endif
PKGS     := lua5.4 lapacke openblas zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs lapacke openblas zlib 2>/dev/null)
LUA_LIBS   := $(shell pkg-config --libs lua5.4 2>/dev/null)

OPT      ?= -O2
ARCH     := $(if $(NATIVE),-march=native,)
WARN     := -Wall -Wextra -Werror -Wno-psabi
# ---- packaging/portability (issue 17): clang ----
# clang reports every `#pragma omp simd` loop it chose not to vectorise as a warning
# (-Wpass-failed); that is an optimisation remark, not a defect in the code.
CC_IS_CLANG := $(if $(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n1)),1,)
ifeq ($(CC_IS_CLANG),1)
WARN     += -Wno-pass-failed
endif
# ---- end clang ----
CFLAGS   ?=
BASEFLAGS := -std=c11 $(OPT) -g $(ARCH) $(WARN) -fPIC -fopenmp -D_POSIX_C_SOURCE=200809L \
             -Iinclude -Isrc/lua -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP \
             -DQNN_SRCDIR='"$(CURDIR)"'
ifdef SAN
BASEFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SANLD := -fsanitize=address,undefined
endif
ALLCFLAGS := $(BASEFLAGS) $(CFLAGS)
LDLIBS   := $(PKG_LIBS) -lm -fopenmp $(SANLD)

CORE_SRC := $(sort $(wildcard src/core/*.c))
LUA_SRC  := $(sort $(wildcard src/lua/*.c))
HOST_SRC := $(sort $(wildcard src/host/*.c))
TEST_SRC := $(sort $(wildcard tests/c/test_*.c))
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/%.o)
LUA_OBJ  := $(LUA_SRC:src/%.c=$(BUILD)/%.o)
HOST_OBJ := $(HOST_SRC:src/%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/c/%.c=$(BUILD)/tests/%)

LIBA  := $(LIBDIR)/libqnn.a
LIBSO := $(LIBDIR)/qnn.so
HOST  := $(BINDIR)/qnnlab
# shared C library: libqnn.so.<version>, soname libqnn.so.<major> (see the packaging block)
VERSION   := $(shell sed -n 's/^\#define QNN_VERSION "\(.*\)"/\1/p' include/qnn/common.h)
SOMAJOR   := $(firstword $(subst ., ,$(VERSION)))
SONAME    := libqnn.so.$(SOMAJOR)
LIBSHARED := $(LIBDIR)/libqnn.so.$(VERSION)

.PHONY: all deps test test-c test-lua asan demo bench data install uninstall clean check-tree
all: $(LIBA) $(LIBSO) $(LIBSHARED) $(if $(HOST_SRC),$(HOST))

deps:
	@bash scripts/deps.sh

# openers.h: one X(name) per QNN_LUA_OPENER(name) in src/lua/*.c, rewritten only on change
$(BUILD)/gen/openers.h: $(LUA_SRC)
	@mkdir -p $(dir $@)
	@grep -ho '^QNN_LUA_OPENER([a-z0-9_]*)' $(LUA_SRC) | sed 's/QNN_LUA_OPENER(\(.*\))/X(\1)/' | sort > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/core/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c $< -o $@

# qubit activations (natural quantization): lets the sampling loops vectorise; that file relies
# on neither errno nor FP traps
$(BUILD)/core/qubit_act.o: ALLCFLAGS += -fno-math-errno -fno-trapping-math

$(BUILD)/lua/%.o: src/lua/%.c $(BUILD)/gen/openers.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c $< -o $@

$(BUILD)/host/%.o: src/host/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c $< -o $@

$(LIBA): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@.tmp
	ar rcs $@.tmp $^ && mv $@.tmp $@

$(LIBSO): $(LUA_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@.tmp $(LUA_OBJ) $(LIBA) $(LDLIBS) && mv $@.tmp $@

$(HOST): $(HOST_OBJ) $(LUA_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -o $@.tmp -Wl,-E $(HOST_OBJ) $(LUA_OBJ) $(LIBA) $(LUA_LIBS) -lreadline $(LDLIBS) -ldl && mv $@.tmp $@

$(BUILD)/tests/%: tests/c/%.c tests/c/harness.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/c $< -o $@ $(LIBA) $(LDLIBS)

# ---------------- tests ----------------
test: all $(TEST_BIN)
	@bash scripts/fetch-data.sh --quiet-if-present || echo "test: data sets unavailable; data tests will be pending"
	@O="$(O)" BUILD="$(BUILD)" SAN="$(SAN)" bash scripts/run-tests.sh $(TEST_BIN)

asan:
	@$(MAKE) --no-print-directory O=build/asan SAN=1 OPT=-O1 test

demo: all
	@bash scripts/fetch-data.sh --quiet-if-present || true
	$(HOST) examples/hello.lua
	$(HOST) examples/grover_wine.lua --quick

data:
	@bash scripts/fetch-data.sh

bench: all
	@bash scripts/bench.sh

# State-vector kernels (C) + Lua per-call overhead; also run by `make bench`.
.PHONY: bench-statevec
bench-statevec: all
	@O="$(O)" bash scripts/bench_statevec.sh

# ---------------- packaging (issue 17): install, uninstall, LuaRocks, API reference --------
# Lua layout, so stock lua5.4 finds everything under PREFIX=/usr/local without LUA_PATH:
#   $(PREFIX)/lib/lua/5.4/qnn.so            Lua module (C core linked in)
#   $(PREFIX)/share/lua/5.4/qnn/...          the Lua half
#   $(PREFIX)/bin/qnnlab                     host; $(PREFIX)/share/man/man1/qnnlab.1
#   $(PREFIX)/include/qnn/*.h                C API (qnn/qnn.h includes all of it)
#   $(PREFIX)/lib/libqnn.a, libqnn.so.$(VERSION) (+ $(SONAME), libqnn.so links)
#   $(PREFIX)/lib/pkgconfig/qnn.pc           cflags and every library (OpenMP included)
#   $(PREFIX)/share/qnnlab/fetch-data.sh     the data fetcher behind `qnnlab --fetch-data`
#   $(PREFIX)/share/qnnlab/examples/         the experiment scripts (run them from anywhere)
# DESTDIR is honoured (staged installs for distribution packages).
LUAVER    := 5.4
DEST      := $(DESTDIR)$(PREFIX)
INST_LMOD := $(DEST)/lib/lua/$(LUAVER)
INST_LUA  := $(DEST)/share/lua/$(LUAVER)
PC        := $(BUILD)/qnn.pc
LUA_FILES := $(shell find lua/qnn -name '*.lua' -o -name '*.md' | sort)

$(LIBSHARED): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@.tmp $(CORE_OBJ) $(LDLIBS) && mv $@.tmp $@
	ln -sf libqnn.so.$(VERSION) $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR)/libqnn.so

# -Wl,-rpath: a program linked with `pkg-config --libs qnn` finds libqnn.so under any PREFIX
# without LD_LIBRARY_PATH or ldconfig.
# written at every install (PREFIX changes between installs)
.PHONY: $(PC)
$(PC):
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: qnn' 'Description: qnnlab C core: quantum simulation, circuits, Ising samplers, neural networks' \
	  'Version: $(VERSION)' \
	  'Cflags: -I$${includedir} -fopenmp' \
	  'Libs: -L$${libdir} -Wl,-rpath,$${libdir} -lqnn $(strip $(PKG_LIBS)) -lm -fopenmp' >$@

install: all $(PC)
	install -d $(DEST)/bin $(DEST)/lib/pkgconfig $(DEST)/include/qnn $(INST_LMOD) $(INST_LUA) \
	  $(DEST)/share/man/man1 $(DEST)/share/qnnlab
	install -m 755 $(HOST) $(DEST)/bin/qnnlab
	install -m 755 $(LIBSO) $(INST_LMOD)/qnn.so
	install -m 644 $(LIBA) $(DEST)/lib/libqnn.a
	install -m 755 $(LIBSHARED) $(DEST)/lib/libqnn.so.$(VERSION)
	ln -sf libqnn.so.$(VERSION) $(DEST)/lib/$(SONAME)
	ln -sf $(SONAME) $(DEST)/lib/libqnn.so
	install -m 644 $(PC) $(DEST)/lib/pkgconfig/qnn.pc
	install -m 644 include/qnn/*.h $(DEST)/include/qnn/
	for f in $(LUA_FILES); do install -D -m 644 $$f $(INST_LUA)/$${f#lua/}; done
	install -m 644 docs/qnnlab.1 $(DEST)/share/man/man1/qnnlab.1
	install -m 755 scripts/fetch-data.sh $(DEST)/share/qnnlab/fetch-data.sh
	install -d $(DEST)/share/qnnlab/examples
	install -m 644 examples/*.lua $(DEST)/share/qnnlab/examples/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && [ -w /etc/ld.so.cache ]; then ldconfig 2>/dev/null || true; fi

uninstall:
	rm -f $(DEST)/bin/qnnlab $(INST_LMOD)/qnn.so $(DEST)/lib/libqnn.a $(DEST)/lib/libqnn.so \
	  $(DEST)/lib/$(SONAME) $(DEST)/lib/libqnn.so.$(VERSION) $(DEST)/lib/pkgconfig/qnn.pc \
	  $(DEST)/share/man/man1/qnnlab.1 $(DEST)/share/qnnlab/fetch-data.sh
	rm -rf $(DEST)/include/qnn $(INST_LUA)/qnn $(DEST)/share/qnnlab/examples
	-rmdir $(DEST)/share/qnnlab 2>/dev/null

# LuaRocks (qnnlab-<version>.rockspec, build type make) installs into the rock's own
# directories: LIBDIR (C modules), LUADIR (Lua files), BINDIR (programs); it then deploys them
# to <tree>/lib/lua/5.4, <tree>/share/lua/5.4 and <tree>/bin.
.PHONY: rock-install
rock-install: all
	install -d $(LUADIR) $(LIBDIR_ROCK) $(BINDIR_ROCK)
	install -m 755 $(LIBSO) $(LIBDIR_ROCK)/qnn.so
	for f in $(LUA_FILES); do install -D -m 644 $$f $(LUADIR)/$${f#lua/}; done
	install -m 755 $(HOST) $(BINDIR_ROCK)/qnnlab

# docs/api.md is generated from the doc strings (tests/lua/docs_spec.lua fails when stale)
.PHONY: api-doc
api-doc: all
	QNN_QUIET=1 $(HOST) scripts/gen-api.lua docs/api.md
# ---------------- end packaging ----------------

clean:
	rm -rf build lib bin

-include $(CORE_OBJ:.o=.d) $(LUA_OBJ:.o=.d) $(HOST_OBJ:.o=.d)
