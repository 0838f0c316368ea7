#!/usr/bin/env bash
# deploy.sh: the deployment benches of issue 6, side by side with Node-RED 4.1's flow deploy
# in the same run (tests/bench/deploy/deploy_bench.py says what is timed):
#   time from the start of an upload of a ~1 MB bundle to the new version serving, and to it
#   being committed (health window 0 and 5000 ms); time of a rollback to serving and committed;
#   Node-RED: POST /flows of a ~1 MB flow to the new flow serving.
#
#   tests/bench/deploy.sh                  # 5 rounds (deploy + rollback each)
#   ROUNDS=10 BUILD_DIR=build/h-bench tests/bench/deploy.sh
#
# verge is built Release in BUILD_DIR (default build/release); Node-RED is the one
# tests/bench/fn_flow.sh installs (npm ci) into NODE_RED_DIR (default build/bench/node-red);
# this script installs it the same way when missing. Loopback only. Not a test: it prints the
# figures and keeps them in tests/bench/out/deploy.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
ROUNDS=${ROUNDS:-5}
BUILD_DIR=${BUILD_DIR:-build/release}
NODE_RED_DIR=${NODE_RED_DIR:-build/bench/node-red}
flow_dir=$root/tests/bench/fn_flow

bash scripts/deps.sh --bench >/dev/null
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DVERGE_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" --target verge demo_light -j"$(nproc)" >/dev/null

red_js=$NODE_RED_DIR/node_modules/node-red/red.js
if [ ! -f "$red_js" ] || ! cmp -s "$flow_dir/package-lock.json" "$NODE_RED_DIR/package-lock.json"; then
  echo "deploy: installing Node-RED into $NODE_RED_DIR (npm ci)" >&2
  mkdir -p "$NODE_RED_DIR"
  cp "$flow_dir/package.json" "$flow_dir/package-lock.json" "$NODE_RED_DIR/"
  (cd "$NODE_RED_DIR" && npm ci --no-audit --no-fund >/dev/null)
fi

echo "deploy: $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds" >&2
exec python3 tests/bench/deploy/deploy_bench.py "$root/$BUILD_DIR/verge" \
  "$root/$BUILD_DIR/functions/demo" "$root/$red_js" "$root/tests/bench/out" "$ROUNDS"
