#!/usr/bin/env bash
# What a new user does after building (README "Install"), into temporary prefixes:
#   make install PREFIX=...: the Lua layout (qnn.so in lib/lua/5.4, Lua half in share/lua/5.4),
#     headers (qnn/qnn.h includes every public header), libqnn.a, libqnn.so with its soname,
#     qnn.pc, the man page and the data fetcher;
#   an example run from another directory with no QNN_* variables, with the global qnn;
#   require "qnn" from stock lua5.4 (and the install layout is stock Lua's default search path
#     for PREFIX=/usr/local, so there it needs no LUA_PATH/LUA_CPATH at all);
#   a C program built with `cc x.c $(pkg-config --cflags --libs qnn)` and run without
#     LD_LIBRARY_PATH;
#   data found in $XDG_DATA_HOME/qnnlab, the missing-data message naming qnnlab --fetch-data,
#     and qnnlab --fetch-data reaching the installed fetcher;
#   luarocks make into a local tree, then require "qnn" and qnnlab from that tree;
#   make uninstall leaves no file behind.
# Reuses the objects of the build in $O. Prints "install: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
O=${O:-.}
pass=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL install: $*"; }
check() { # name, command...
  local name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then ok; else bad "$name: $(head -c 2000 "$tmp/out")"; fi
}

if [ -n "${SAN:-}" ]; then
  # sanitizer builds are not installable into stock lua5.4; the plain build covers this
  echo "install: 0 passed, 0 failed"; exit 0
fi
# a clean environment: what a user has after installing, nothing pointing into the checkout
unset QNN_LUA_DIR QNN_ROOT QNN_DATA_DIR LUA_PATH LUA_CPATH LUA_PATH_5_4 LUA_CPATH_5_4 LUA_INIT LUA_INIT_5_4
unset MAKEFLAGS MAKELEVEL MFLAGS
export QNN_QUIET=1

P=$tmp/prefix
if ! make --no-print-directory -s O="$O" PREFIX="$P" install >"$tmp/make.log" 2>&1; then
  cat "$tmp/make.log"
  echo "install: 0 passed, 1 failed"; exit 1
fi
ok

# ---- layout ----
for f in bin/qnnlab lib/lua/5.4/qnn.so share/lua/5.4/qnn/prelude.lua share/lua/5.4/qnn/help.lua \
         share/lua/5.4/qnn/methods/nq.lua share/lua/5.4/qnn/ext/data.lua include/qnn/qnn.h \
         lib/libqnn.a lib/libqnn.so lib/pkgconfig/qnn.pc share/man/man1/qnnlab.1 \
         share/qnnlab/fetch-data.sh share/qnnlab/examples/grover_wine.lua; do
  [ -e "$P/$f" ] && ok || bad "missing $P/$f"
done
soname=$(readelf -d "$P/lib/libqnn.so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname =~ ^libqnn\.so\.[0-9]+$ ]] && [ -e "$P/lib/$soname" ] && ok || bad "libqnn.so soname '$soname'"
# qnn/qnn.h is the whole public API
for h in "$root"/include/qnn/*.h; do
  b=$(basename "$h")
  [ "$b" = qnn.h ] && continue
  grep -q "#include \"qnn/$b\"" "$P/include/qnn/qnn.h" && ok || bad "qnn/qnn.h does not include qnn/$b"
done
check "man page renders" bash -c "command -v man >/dev/null || exit 0; man -l '$P/share/man/man1/qnnlab.1' | grep -q fetch-data"

# ---- an example from another directory ----
mkdir -p "$tmp/elsewhere"
cd "$tmp/elsewhere"
out=$("$P/bin/qnnlab" "$root/examples/hello.lua" 2>&1)
[[ $out =~ "Bell state: P(00) = 0.500, P(11) = 0.500" ]] && ok || bad "hello.lua from another directory: $out"
# the host defines qnn (and help) in scripts and -e; the Lua half is the installed one
printf 'print(qnn.version, type(help), qnn._luadir)\n' >script.lua
out=$("$P/bin/qnnlab" script.lua 2>&1)
[[ $out =~ ^[0-9.]+$'\t'function$'\t'$P/share/lua/5.4$ ]] && ok || bad "global qnn in a script: $out"
out=$("$P/bin/qnnlab" -e 'print(qnn.nq == require("qnn.methods.nq"), qnn.state(1):x(0):probs():totable()[2])' 2>&1)
[ "$out" = $'true\t1.0' ] && ok || bad "global qnn in -e: $out"

# ---- data for an installed copy ----
mkdir -p "$tmp/xdg/qnnlab"
out=$(XDG_DATA_HOME="$tmp/xdg" "$P/bin/qnnlab" -e 'print(qnn.data.dir())' 2>&1)
[ "$out" = "$tmp/xdg/qnnlab" ] && ok || bad "qnn.data.dir() of an installed copy: $out"
out=$(XDG_DATA_HOME="$tmp/xdg" "$P/bin/qnnlab" -e 'qnn.data.load("iris")' 2>&1)
[[ $out =~ "qnnlab --fetch-data" ]] && ok || bad "missing-data message: $out"
sk="iris.csv wine_data.csv breast_cancer.csv digits.csv.gz"
if (cd "$root/data" 2>/dev/null && ls $sk >/dev/null 2>&1); then
  for f in $sk; do cp "$root/data/$f" "$tmp/xdg/qnnlab/$f"; done
  out=$(XDG_DATA_HOME="$tmp/xdg" "$P/bin/qnnlab" -e 'print((qnn.data.load("iris"):size()))' 2>&1)
  [ "$out" = 150 ] && ok || bad "iris from \$XDG_DATA_HOME/qnnlab: $out"
  # each set comes from the first directory that holds it: an empty $QNN_DATA_DIR is skipped
  mkdir -p "$tmp/emptydata"
  out=$(QNN_DATA_DIR="$tmp/emptydata" XDG_DATA_HOME="$tmp/xdg" "$P/bin/qnnlab" -e \
    'print(#qnn.data.dirs(), qnn.data.dir(), (qnn.data.load("iris"):size()))' 2>&1)
  [ "$out" = "2	$tmp/emptydata	150" ] && ok || bad "search order \$QNN_DATA_DIR, then \$XDG_DATA_HOME/qnnlab: $out"
  # the installed fetcher gets DIR (here: every sklearn file present, so it returns at once
  # and silently without downloading)
  out=$("$P/bin/qnnlab" --fetch-data "$tmp/xdg/qnnlab" --only sklearn --quiet-if-present 2>&1); rc=$?
  [ $rc = 0 ] && [ -z "$out" ] && ok || bad "--fetch-data DIR --quiet-if-present: rc $rc: $out"
  # the main experiment, installed copy, from another directory, data from $XDG_DATA_HOME/qnnlab
  out=$(cd "$tmp/elsewhere" && XDG_DATA_HOME="$tmp/xdg" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    "$P/bin/qnnlab" "$P/share/qnnlab/examples/grover_wine.lua" --quick --seeds=1 --out=res 2>&1); rc=$?
  [ $rc = 0 ] && [[ $out =~ "wrote res/grover_wine" ]] && [ -s "$tmp/elsewhere/res/grover_wine.json" ] && ok ||
    bad "installed grover_wine.lua --quick from another directory: rc $rc: $out"
fi
out=$("$P/bin/qnnlab" --fetch-data --help 2>&1); rc=$?
[ $rc = 0 ] && [[ $out =~ "usage: scripts/fetch-data.sh" ]] && ok || bad "--fetch-data --help: rc $rc: $out"
out=$(HOME="$tmp/home" XDG_DATA_HOME= "$P/bin/qnnlab" --fetch-data --only nosuchset 2>&1); rc=$?
[ $rc = 2 ] && [[ $out =~ "unknown group 'nosuchset'" ]] && ok || bad "--fetch-data bad group: rc $rc: $out"

# ---- stock lua5.4 ----
out=$(LUA_CPATH="$P/lib/lua/5.4/?.so;;" lua5.4 -e 'local q = require "qnn"; print(q.version, q._luadir, q.state(2):h(0):cx(0, 1):probs():totable()[4])' 2>&1)
[[ $out =~ ^[0-9.]+$'\t'$P/share/lua/5.4$'\t'0.5 ]] && ok || bad "stock lua5.4 require qnn: $out"
# for PREFIX=/usr/local the same layout is on stock Lua's default paths
out=$(lua5.4 -e 'print(package.cpath:find("/usr/local/lib/lua/5.4/?.so", 1, true) ~= nil, package.path:find("/usr/local/share/lua/5.4/?.lua", 1, true) ~= nil)')
[ "$out" = $'true\ttrue' ] && ok || bad "stock lua5.4 default paths lack /usr/local/{lib,share}/lua/5.4: $out"

# ---- a C program through pkg-config ----
cat >"$tmp/elsewhere/bell.c" <<'EOF'
#include <stdio.h>
#include <qnn/qnn.h>
int main(void) {
    qnn_error err = {0};
    qnn_state *s = NULL;
    int q[2] = {0, 1};
    if (qnn_state_create(&s, 2, &err) || qnn_state_apply_gate(s, QNN_G_H, q, 1, NULL, &err) ||
        qnn_state_apply_gate(s, QNN_G_CX, q, 2, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("%s %.3f %.3f\n", QNN_VERSION, qnn_state_prob(s, 0), qnn_state_prob(s, 3));
    qnn_state_free(s);
    return 0;
}
EOF
flags=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs qnn 2>&1)
[[ $flags =~ -fopenmp ]] && [[ $flags =~ -lqnn ]] && [[ $flags =~ -lopenblas ]] && ok || bad "pkg-config --cflags --libs qnn: $flags"
if cc -o "$tmp/elsewhere/bell" "$tmp/elsewhere/bell.c" $flags >"$tmp/cc.log" 2>&1; then
  out=$(env -u LD_LIBRARY_PATH "$tmp/elsewhere/bell" 2>&1)
  [[ $out =~ ^[0-9.]+\ 0\.500\ 0\.500$ ]] && ok || bad "C program: $out"
  ldd "$tmp/elsewhere/bell" | grep -q "libqnn.so.[0-9]* => $P/lib/" && ok || bad "C program does not use $P/lib/libqnn.so: $(ldd "$tmp/elsewhere/bell")"
else
  bad "cc with pkg-config flags failed: $(cat "$tmp/cc.log")"
fi
cd "$root"

# ---- LuaRocks ----
if command -v luarocks >/dev/null; then
  T=$tmp/tree
  # --deps-mode none: lua-cjson comes from Debian here (no download in a test)
  if O="$O" luarocks --lua-version 5.4 make --deps-mode none --tree "$T" >"$tmp/rock.log" 2>&1; then
    ok
    out=$(luarocks --lua-version 5.4 --tree "$T" list --porcelain 2>&1)
    [[ $out =~ qnnlab ]] && ok || bad "luarocks list: $out"
    out=$(cd "$tmp" && LUA_CPATH="$T/lib/lua/5.4/?.so;;" LUA_PATH="$T/share/lua/5.4/?.lua;;" lua5.4 -e \
      'local q = require "qnn"; print(q.version, package.searchpath("qnn.help", package.path), q.report ~= nil)' 2>&1)
    [[ $out =~ ^[0-9.]+$'\t'$T/share/lua/5.4/qnn/help.lua$'\t'true$ ]] && ok || bad "require qnn from the rock tree: $out"
    out=$(cd "$tmp" && "$T/bin/qnnlab" -e 'print(qnn._luadir)' 2>&1)
    [ "$out" = "$T/share/lua/5.4" ] && ok || bad "qnnlab from the rock tree: $out"
  else
    bad "luarocks make: $(tail -n 30 "$tmp/rock.log")"
  fi
else
  bad "luarocks not installed (scripts/deps.sh lists it)"
fi

# ---- uninstall ----
if make --no-print-directory -s O="$O" PREFIX="$P" uninstall >"$tmp/make.log" 2>&1; then
  left=$(find "$P" \( -type f -o -type l \) | head)
  [ -z "$left" ] && ok || bad "files left after make uninstall: $left"
else
  bad "make uninstall: $(cat "$tmp/make.log")"
fi

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
