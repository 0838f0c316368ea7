#!/usr/bin/env bash
# fn_flow_instr.sh: the flow of fn_flow.sh (a) counted in instructions instead of seconds, which
# a shared, noisy machine does not blur: verge runs under valgrind's callgrind, which counts only
# inside the driver-frame handler (drvhost__frame: the frame's parse and everything it causes,
# things, the bus, the route, up to the function's queue) and the function pump (pump_cb: running
# the rule function), for MESSAGES reports of the fn_flow bundle's driver. Prints instructions
# per message for each part and the functions below them. The driver process runs natively.
#
#   tests/bench/fn_flow_instr.sh                      # 20,000 messages, build/release
#   BUILD_DIR=build/h-bench MESSAGES=50000 tests/bench/fn_flow_instr.sh
#   VERGE_BIN=/tmp/old/build/release/verge tests/bench/fn_flow_instr.sh   # another verge
#   DRIVER_INSTR=1 tests/bench/fn_flow_instr.sh       # also count the driver's report calls
#   DRIVER_BIN=/tmp/old/build/bench-fn-flow/sensor_flood DRIVER_INSTR=1 tests/bench/fn_flow_instr.sh
#
# DRIVER_INSTR=1 runs the driver under callgrind as well, counting inside
# leda_report_properties (the SDK's work for one report: building the frame and writing it;
# user-space instructions only, so the kernel's part of send() is not in it). DRIVER_BIN uses
# another build of fn_flow/sensor_flood (e.g. against another SDK) instead of this tree's.
#
# Needs valgrind (scripts/deps.sh --bench). Everything is on loopback. Not a test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

MESSAGES=${MESSAGES:-20000}
BUILD_DIR=${BUILD_DIR:-build/release}
TIMEOUT_S=${TIMEOUT_S:-600}
flow_dir=$root/tests/bench/fn_flow

if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
  scripts/deps.sh --bench
fi
if [ -z "${VERGE_BIN:-}" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DVERGE_SANITIZE=OFF -DVERGE_TESTS=OFF \
    >/dev/null
  cmake --build "$BUILD_DIR" --target verge -j"$(nproc)" >/dev/null
fi
verge_bin=${VERGE_BIN:-$root/$BUILD_DIR/verge}
DRIVER_INSTR=${DRIVER_INSTR:-0}
if [ -z "${DRIVER_BIN:-}" ]; then
  cmake -S "$flow_dir" -B build/bench-fn-flow -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/bench-fn-flow --target sensor_flood -j"$(nproc)" >/dev/null
fi
driver_bin=${DRIVER_BIN:-$root/build/bench-fn-flow/sensor_flood}

tmp=$(mktemp -d /tmp/verge-fn-instr.XXXXXX)
verge_pid=
cleanup() {
  if [ -n "$verge_pid" ]; then
    kill "$verge_pid" 2>/dev/null || true
    wait "$verge_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

bundle=$tmp/bundle
cp -r "$flow_dir/bundle" "$bundle"
mkdir -p "$bundle/drivers/sensor_flood"
driver_out=$tmp/driver.callgrind.out
if [ "$DRIVER_INSTR" = 1 ]; then
  cp "$driver_bin" "$bundle/drivers/sensor_flood/main.bin"
  printf '#!/bin/sh\nexec %s --tool=callgrind --toggle-collect=leda_report_properties --callgrind-out-file=%s "$(dirname "$0")/main.bin" "$@" 2>>%s\n' \
    "$(command -v valgrind)" "$driver_out" "$tmp/driver.valgrind.log" \
    >"$bundle/drivers/sensor_flood/main"
  chmod +x "$bundle/drivers/sensor_flood/main"
else
  cp "$driver_bin" "$bundle/drivers/sensor_flood/main"
fi
python3 - "$bundle/bundle.json" "$MESSAGES" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
b = json.load(open(path))
b["drivers"][0]["config"]["json"]["reports"] = n
json.dump(b, open(path, "w"))
EOF

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$tmp/callgrind.out
valgrind --tool=callgrind --toggle-collect=drvhost__frame --toggle-collect=pump_cb \
  --callgrind-out-file="$out" "$verge_bin" serve --listen "127.0.0.1:$port" \
  --data-dir "$tmp/data" --bundle "$bundle" 2>"$tmp/verge.log" &
verge_pid=$!
for _ in $(seq 1 1200); do
  if grep -q FLOOD_READY "$tmp/verge.log" 2>/dev/null; then break; fi
  if ! kill -0 "$verge_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if ! grep -q FLOOD_READY "$tmp/verge.log"; then
  echo "fn_flow_instr: verge did not start the bundle's driver; its log:" >&2
  cat "$tmp/verge.log" >&2
  exit 1
fi
url=https://127.0.0.1:$port/metrics
touch "$bundle/drivers/sensor_flood/go"
deadline=$((SECONDS + TIMEOUT_S))
line=
while [ $SECONDS -lt $deadline ]; do
  line=$(python3 "$flow_dir/fn_flow.py" metrics "$url" admin admin1234)
  ok=$(sed -E 's/.*(^| )ok=([0-9]+).*/\2/' <<<"$line")
  refused=$(sed -E 's/.*(^| )refused=([0-9]+).*/\2/' <<<"$line")
  if [ $((ok + refused)) -ge "$MESSAGES" ]; then break; fi
  sleep 1
done
if [ "${ok:-0}" -ne "$MESSAGES" ]; then
  echo "fn_flow_instr: want $MESSAGES ok invocations, have: $line" >&2
  exit 1
fi
kill -TERM "$verge_pid"
wait "$verge_pid" 2>/dev/null || true
verge_pid=
if [ "$DRIVER_INSTR" = 1 ]; then # the driver's callgrind writes its file as the driver exits
  for _ in $(seq 1 300); do
    [ -s "$driver_out" ] && ! pgrep -f "callgrind-out-file=$driver_out" >/dev/null && break
    sleep 0.1
  done
fi

# the inclusive count of each function (0 when it did not run), per message
callgrind_annotate --inclusive=yes "$out" >"$tmp/inclusive.txt" 2>/dev/null
per_msg() { # FUNCTION
  awk -v f=":$1 " -v n="$MESSAGES" 'index($0, f) {gsub(",", "", $1); printf "%.0f", $1 / n; found = 1; exit}
    END {if (!found) printf "0"}' "$tmp/inclusive.txt"
}
total=$(awk -v n="$MESSAGES" '/PROGRAM TOTALS/ {gsub(",", "", $1); printf "%.0f", $1 / n}' \
  "$tmp/inclusive.txt")
echo "fn_flow_instr $(date -u +%Y-%m-%d\ %H:%M) UTC: $verge_bin, $MESSAGES reports ($line)"
echo "instructions per message (callgrind Ir, inclusive)"
printf '  %-58s %10s\n' "everything counted (frame handler + pump)" "$total"
printf '  %-58s %10s\n' "drvhost__frame: one driver frame, to the function's queue" "$(per_msg drvhost__frame)"
for f in drvhost_msg_parse json_loadb drvhost_json_loadb drvhost_msg_close \
  things_report_properties things_report_properties_raw json_dumps things__json_compact \
  drvhost_json_find bus_publish fnhost_invoke_msg vg_json_quote; do
  n=$(per_msg "$f")
  [ "$n" != 0 ] && printf '    %-56s %10s\n' "$f" "$n"
done
printf '  %-58s %10s\n' "pump_cb: running the function" "$(per_msg pump_cb)"
for f in inv_body lua_callk json_decode lua_pushlstring fnhost__finish; do
  n=$(per_msg "$f")
  [ "$n" != 0 ] && printf '    %-56s %10s\n' "$f" "$n"
done
if [ "$DRIVER_INSTR" = 1 ]; then
  if [ ! -s "$driver_out" ]; then
    echo "fn_flow_instr: the driver's callgrind wrote nothing; its log:" >&2
    cat "$tmp/driver.valgrind.log" >&2 || true
    exit 1
  fi
  callgrind_annotate --inclusive=yes "$driver_out" >"$tmp/inclusive.txt" 2>/dev/null
  echo "the driver ($driver_bin), instructions per report"
  printf '  %-58s %10s\n' "leda_report_properties (building and writing one report)" \
    "$(per_msg leda_report_properties)"
  for f in leda__report_properties_frame leda__report_properties_json json_pack json_dumps \
    leda__wire_encode leda__conn_signal_frame leda__conn_signal leda__put leda__wire_write_all \
    leda__float_value; do
    n=$(per_msg "$f")
    [ "$n" != 0 ] && printf '    %-56s %10s\n' "$f" "$n"
  done
fi
