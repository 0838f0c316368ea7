#!/usr/bin/env bash
# deps.sh: installs the Debian 12 packages verge needs to build, run and test, and only those
# that are missing. `--bench` adds the benchmark peers (nginx with its Lua module, wrk,
# hyperfine, mosquitto, perf, valgrind, gnuplot-nox for the charts). Runs `apt-get update` once, and only when something has to be installed.
# node and npm (tests/integration/test_openapi.py validates openapi/openapi.yaml with an npm
# package) count as present when the commands exist, whichever package brought them: a
# NodeSource nodejs provides npm itself and conflicts with Debian's npm package.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libuv1-dev libwolfssl-dev libsqlite3-dev libjansson-dev node-llhttp
  liblua5.4-dev lua-cjson-dev libarchive-dev
  curl openssl python3 ca-certificates
)
bench_packages=(nginx libnginx-mod-http-lua wrk hyperfine mosquitto linux-perf valgrind gnuplot-nox)
# command -> the Debian package that provides it, installed only when the command is missing
command_packages=(node:nodejs npm:npm)

for arg in "$@"; do
  case "$arg" in
    --bench) packages+=("${bench_packages[@]}") ;;
    -h|--help)
      echo "usage: scripts/deps.sh [--bench]"
      echo "Installs the missing Debian packages verge needs (--bench: also nginx, wrk, hyperfine, mosquitto, perf, valgrind, gnuplot-nox)."
      exit 0 ;;
    *) echo "deps.sh: unknown argument '$arg' (usage: scripts/deps.sh [--bench])" >&2; exit 2 ;;
  esac
done

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: dpkg/apt-get not found; verge's scripts expect Debian 12 (bookworm)." >&2
  echo "deps.sh: install these packages by other means: ${packages[*]}" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed$'; then
    missing+=("$p")
  fi
done
for cp in "${command_packages[@]}"; do
  if ! command -v "${cp%%:*}" >/dev/null 2>&1; then
    missing+=("${cp#*:}")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps.sh: all ${#packages[@]} packages and the commands ${command_packages[*]%%:*} are installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "deps.sh: these packages are missing: ${missing[*]}" >&2
    echo "deps.sh: installing them needs root, and sudo is not available; run this script as root." >&2
    exit 1
  fi
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
