# qnnlab build. Outputs: lib/libqnn.a (C core), lib/qnn.so (Lua module), bin/qnnlab (host).
# make            build everything          make test     C + Lua test suites
# make demo       main experiment (quick)   make asan     tests under ASan+UBSan
# make bench      benchmarks                make data     fetch data sets into data/
# make install PREFIX=/usr/local            NATIVE=1      -march=native
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
# clang reports `omp simd` loops around libm calls it cannot vectorise (not a defect)
WARN     += $(if $(findstring clang,$(CC)),-Wno-pass-failed,)
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

.PHONY: all deps test test-c test-lua asan demo bench data install clean check-tree
all: $(LIBA) $(LIBSO) $(if $(HOST_SRC),$(HOST))

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

install: all
	install -d $(PREFIX)/bin $(PREFIX)/lib $(PREFIX)/include/qnn $(PREFIX)/share/qnnlab/lua
	install -m 755 $(HOST) $(PREFIX)/bin/qnnlab
	install -m 644 $(LIBA) $(PREFIX)/lib/libqnn.a
	install -m 755 $(LIBSO) $(PREFIX)/lib/qnn.so
	install -m 644 include/qnn/*.h $(PREFIX)/include/qnn/
	cp -R lua/qnn $(PREFIX)/share/qnnlab/lua/

clean:
	rm -rf build lib bin

-include $(CORE_OBJ:.o=.d) $(LUA_OBJ:.o=.d) $(HOST_OBJ:.o=.d)
