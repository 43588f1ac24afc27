#!/usr/bin/env bash
# Checks the Debian packages qnnlab needs; installs the missing ones with apt-get when run as
# root (apt-get update once first), else prints the exact command to run.
set -euo pipefail
PKGS=(gcc make pkg-config liblua5.4-dev lua5.4 liblapacke-dev libopenblas-dev zlib1g-dev
      libreadline-dev lua-busted gnuplot-nox tmux lua-filesystem lua-cjson libcjson-dev
      openmpi-bin libopenmpi-dev luarocks clang)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "deps: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
