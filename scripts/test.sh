#!/usr/bin/env bash
# test.sh: everything CI runs. Installs what is missing, then
#   1. build/ci   gcc, Debug, -Werror, ASan+UBSan: unit and integration tests (ctest);
#   2. build/fuzz clang, libFuzzer+ASan+UBSan: the fuzz targets (ctest label "fuzz").
# Exits non-zero if any build or test fails. Ends with one line "total: N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=2
logdir=build/test-logs
status=0
passed=0
failed=0
summary=()

step() { printf '\n=== %s ===\n' "$*"; }

# Runs ctest with the given arguments, tees its output, and adds its counts to the totals.
# $1 names the run in the summary.
run_ctest() {
  local name=$1; shift
  local log="$logdir/$name.log"
  ctest "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1 || true)
  if [ -n "$line" ]; then
    local f total
    f=$(sed -E 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
    passed=$((passed + total - f))
    failed=$((failed + f))
    summary+=("$name: $line")
  else
    summary+=("$name: ctest printed no summary (exit $rc)")
  fi
  if [ "$rc" -ne 0 ]; then status=1; fi
}

step "dependencies"
bash scripts/deps.sh || exit 1
mkdir -p "$logdir"

step "build/ci: gcc, Debug, -Werror, ASan+UBSan"
if cmake -S . -B build/ci -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug \
     -DVERGE_WERROR=ON -DVERGE_SANITIZE=ON -DVERGE_TESTS=ON \
   && cmake --build build/ci -j"$jobs"; then
  step "build/ci: ctest"
  run_ctest ci --test-dir build/ci --output-on-failure -j"$jobs"
else
  summary+=("ci: build failed")
  status=1
fi

step "build/fuzz: clang, libFuzzer, ASan+UBSan"
if cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
     -DVERGE_FUZZ=ON -DVERGE_TESTS=ON \
   && cmake --build build/fuzz -j"$jobs"; then
  nfuzz=$(ctest --test-dir build/fuzz -L fuzz -N 2>/dev/null | sed -nE 's/^Total Tests: ([0-9]+)/\1/p')
  if [ "${nfuzz:-0}" -gt 0 ]; then
    step "build/fuzz: ctest -L fuzz"
    run_ctest fuzz --test-dir build/fuzz -L fuzz --output-on-failure
  else
    echo "no fuzz targets registered yet (tests/fuzz, ctest label 'fuzz')"
    summary+=("fuzz: no fuzz targets yet")
  fi
else
  summary+=("fuzz: build failed")
  status=1
fi

step "summary"
for s in "${summary[@]}"; do echo "$s"; done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "a build step failed"
fi
echo "total: $passed passed, $failed failed"
exit "$status"
