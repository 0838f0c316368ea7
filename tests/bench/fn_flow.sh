#!/usr/bin/env bash
# shellcheck disable=SC2034  # the v_* and n_* arrays are read through the nameref of med_of()
# fn_flow.sh: the function benches of issue 5, side by side with Node-RED 4.1 in the same run.
#   (a) messages per second from a driver through a route into a Lua rule function that decodes
#       the JSON, checks a threshold and publishes an alert for one message in ten; (c) the same
#       flow in Node-RED (tcp in -> function -> function counter -> tcp out), same data, same
#       rule, interleaved rounds; (b) invokeFunction Sync round trips (fn_bench rtt); (d) memory
#       per idle function (fn_bench mem) against one idle Node-RED function node.
#
#   tests/bench/fn_flow.sh                           # 3 rounds of 500,000 messages (+ a warm-up)
#   ROUNDS=5 MESSAGES=1000000 tests/bench/fn_flow.sh
#   BUILD_DIR=build/h-bench tests/bench/fn_flow.sh   # another build directory (Release)
#   PROFILE=1 tests/bench/fn_flow.sh                 # also perf-record verge in an extra round
#
# verge is built Release in BUILD_DIR (default build/release) with the static libraries
# fn_bench links; the driver (fn_flow/sensor_flood.c) is built against sdk/leda by
# fn_flow/CMakeLists.txt in build/bench-fn-flow; Node-RED is installed with `npm ci` from
# fn_flow/package-lock.json into NODE_RED_DIR (default build/bench/node-red) when missing.
# verge and Node-RED run on CPU 0, their sources (the driver process, the Python sender) on
# CPU 1, when there are two CPUs or more. Everything is on loopback. Not a test: it prints
# figures and keeps a copy in tests/bench/out/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

ROUNDS=${ROUNDS:-3}
MESSAGES=${MESSAGES:-500000}
RTT_N=${RTT_N:-200000}
RTT_WARMUP=${RTT_WARMUP:-20000}
MEM_FUNCTIONS=${MEM_FUNCTIONS:-1000}
SETTLE_S=${SETTLE_S:-5}
TIMEOUT_S=${TIMEOUT_S:-300}
PROFILE=${PROFILE:-0}
BUILD_DIR=${BUILD_DIR:-build/release}
NODE_RED_DIR=${NODE_RED_DIR:-build/bench/node-red}
flow_dir=$root/tests/bench/fn_flow
helper=(python3 "$flow_dir/fn_flow.py")

if [ $((MESSAGES % 10)) -ne 0 ] || [ "$MESSAGES" -lt 10 ]; then
  echo "fn_flow: MESSAGES must be a positive multiple of 10 (one message in ten is an alert)" >&2
  exit 2
fi

# ---- what it needs -----------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then scripts/deps.sh; fi
if [ "$PROFILE" = 1 ] && ! command -v perf >/dev/null; then scripts/deps.sh --bench; fi
red_js=$NODE_RED_DIR/node_modules/node-red/red.js
if [ ! -f "$red_js" ] || ! cmp -s "$flow_dir/package-lock.json" "$NODE_RED_DIR/package-lock.json"; then
  echo "fn_flow: installing Node-RED into $NODE_RED_DIR (npm ci)" >&2
  mkdir -p "$NODE_RED_DIR"
  cp "$flow_dir/package.json" "$flow_dir/package-lock.json" "$NODE_RED_DIR/"
  (cd "$NODE_RED_DIR" && npm ci --no-audit --no-fund >/dev/null)
fi
nr_version=$(node "$red_js" --version 2>/dev/null | awk '/Node-RED/ {print $2}')

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DVERGE_SANITIZE=OFF -DVERGE_TESTS=OFF \
  >/dev/null
cmake --build "$BUILD_DIR" --target verge vg_fnhost -j"$(nproc)" >/dev/null
verge_bin=${VERGE_BIN:-$root/$BUILD_DIR/verge}
cmake -S "$flow_dir" -B build/bench-fn-flow -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/bench-fn-flow --target sensor_flood -j"$(nproc)" >/dev/null
B=$BUILD_DIR
# shellcheck disable=SC2046  # pkg-config prints several words
cc -O2 -std=c11 -D_GNU_SOURCE -Iruntime tests/bench/fn_bench.c \
  "$B/runtime/fnhost/libvg_fnhost.a" "$B/runtime/things/libvg_things.a" \
  "$B/runtime/store/libvg_store.a" "$B/runtime/bus/libvg_bus.a" "$B/runtime/core/libvg_core.a" \
  -l:liblua5.4-cjson.a $(pkg-config --cflags --libs lua5.4 libuv jansson sqlite3) -lm \
  -o build/bench-fn-flow/fn_bench
fn_bench=$root/build/bench-fn-flow/fn_bench

server_pin=()
client_pin=()
pin_client_pid() { :; }
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1)
  pin_client_pid() { taskset -apc 1 "$1" >/dev/null; }
fi

tmp=$(mktemp -d /tmp/verge-fn-flow.XXXXXX)
verge_pid=
nr_pid=
perf_pid=
cleanup() {
  [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null || true
  [ -n "$verge_pid" ] && kill "$verge_pid" 2>/dev/null && wait "$verge_pid" 2>/dev/null || true
  [ -n "$nr_pid" ] && kill "$nr_pid" 2>/dev/null && wait "$nr_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }     # user + system, all threads
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; } # VmRSS, VmHWM
rollup_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup"; } # Rss, Pss
kv() { sed -E "s/.*[ ^]$1=([^ ]+).*/\1/" <<<" $2"; }           # the value of key $1 in line $2
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {
  if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
  else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
hz=$(getconf CLK_TCK)

# starts Node-RED on FLOWS with the committed settings; sets nr_pid; waits for "Started flows"
start_node_red() { # FLOWS LOG [PATTERN]
  rm -rf "$tmp/nr-user"
  mkdir -p "$tmp/nr-user"
  "${server_pin[@]}" node "$red_js" --settings "$flow_dir/settings.js" --userDir "$tmp/nr-user" \
    "$1" >"$2" 2>&1 &
  nr_pid=$!
  local want=${3:-Started flows}
  for _ in $(seq 1 600); do
    if grep -q "$want" "$2"; then return 0; fi
    if ! kill -0 "$nr_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "fn_flow: Node-RED did not start; its log:" >&2
  cat "$2" >&2
  exit 1
}
stop_node_red() {
  kill "$nr_pid"
  wait "$nr_pid" 2>/dev/null || true
  nr_pid=
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- (b) invokeFunction Sync round trips, and the rule function alone ----------------------
echo "fn_flow: (b) round trips, $ROUNDS rounds of $RTT_N..." >&2
rtt_lines=()
rule_lines=()
for r in $(seq 1 "$ROUNDS"); do
  while read -r line; do rtt_lines+=("$r $line"); done < <("${server_pin[@]}" "$fn_bench" rtt \
    "$RTT_N" "$RTT_WARMUP")
  rule_lines+=("$("${server_pin[@]}" "$fn_bench" rule "$flow_dir/bundle/functions/monitor.lua" \
    "$MESSAGES")")
done
if [ "${#rtt_lines[@]}" -ne $((4 * ROUNDS)) ] || [ "${#rule_lines[@]}" -ne "$ROUNDS" ]; then
  echo "fn_flow: fn_bench rtt or rule failed" >&2
  exit 1
fi
rtt_med() { # NAME KEY: the median over the rounds
  for l in "${rtt_lines[@]}"; do
    [[ $l == *"RTT $1 "* ]] && kv "$2" "$l"
  done | tr '\n' ' ' | median
}
rtt_all() { # NAME KEY: every round's value
  for l in "${rtt_lines[@]}"; do
    [[ $l == *"RTT $1 "* ]] && printf '%s ' "$(kv "$2" "$l")"
  done
}

# ---- (d) memory per idle function ----------------------------------------------------------
echo "fn_flow: (d) memory of $MEM_FUNCTIONS functions..." >&2
mem_lines=()
for mode in on-demand long-running; do
  for code in trivial sdk; do
    while read -r line; do mem_lines+=("$line"); done < <("$fn_bench" mem "$mode" "$code" \
      "$MEM_FUNCTIONS")
  done
done
if [ "${#mem_lines[@]}" -ne 12 ]; then
  echo "fn_flow: fn_bench mem failed" >&2
  exit 1
fi
echo "fn_flow: (d) Node-RED with 1 and $MEM_FUNCTIONS idle function nodes..." >&2
declare -A nr_idle_rss nr_idle_pss
for k in 1 "$MEM_FUNCTIONS"; do
  "${helper[@]}" idle-flow "$tmp/idle-$k.json" "$k"
  start_node_red "$tmp/idle-$k.json" "$tmp/nr-idle-$k.log"
  sleep "$SETTLE_S"
  nr_idle_rss[$k]=$(rollup_kb "$nr_pid" Rss)
  nr_idle_pss[$k]=$(rollup_kb "$nr_pid" Pss)
  stop_node_red
done

# ---- (a) and (c): the flow, verge and Node-RED in interleaved rounds ------------------------
bundle=$tmp/bundle
cp -r "$flow_dir/bundle" "$bundle"
mkdir -p "$bundle/drivers/sensor_flood"
cp build/bench-fn-flow/sensor_flood "$bundle/drivers/sensor_flood/main"
python3 - "$bundle/bundle.json" "$MESSAGES" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
b = json.load(open(path))
b["drivers"][0]["config"]["json"]["reports"] = n
json.dump(b, open(path, "w"))
EOF
go=$bundle/drivers/sensor_flood/go
result=$bundle/drivers/sensor_flood/result.txt

port=$(free_port)
"${server_pin[@]}" "$verge_bin" serve --listen "127.0.0.1:$port" --data-dir "$tmp/data" \
  --bundle "$bundle" 2>"$tmp/verge.log" &
verge_pid=$!
metrics_url="https://127.0.0.1:$port/metrics"
for _ in $(seq 1 200); do
  if grep -q FLOOD_READY "$tmp/verge.log" 2>/dev/null; then break; fi
  if ! kill -0 "$verge_pid" 2>/dev/null; then break; fi
  sleep 0.05
done
driver_pid=$(pgrep -P "$verge_pid" | head -n1 || true)
if [ -z "$driver_pid" ] || ! grep -q FLOOD_READY "$tmp/verge.log"; then
  echo "fn_flow: verge did not start the bundle's driver; its log:" >&2
  cat "$tmp/verge.log" >&2
  exit 1
fi
pin_client_pid "$driver_pid"
verge_rss_idle=$(status_kb "$verge_pid" VmRSS)

nr_port=$(free_port)
"${helper[@]}" flow "$tmp/flows.json" "$nr_port" $((MESSAGES / 10))
start_node_red "$tmp/flows.json" "$tmp/nr.log" "listening on port $nr_port"
nr_rss_idle=$(status_kb "$nr_pid" VmRSS)

declare -A v_rate v_cpu v_dcpu v_rss v_check n_rate n_cpu n_rss n_check
verge_round() { # ROUND
  local before after line reports start fin ok refused alerts
  before=$("${helper[@]}" metrics "$metrics_url" admin admin1234)
  rm -f "$result"
  line=$("${helper[@]}" wait-verge "$result" "$go" "$metrics_url" admin admin1234 \
    $(($(kv ok "$before") + $(kv handled "$before") + $(kv unhandled "$before") + $(kv refused "$before"))) \
    "$TIMEOUT_S" "$verge_pid" "$driver_pid")
  after=$("${helper[@]}" metrics "$metrics_url" admin admin1234)
  reports=$(kv reports "$line")
  start=$(kv start_ms "$line")
  fin=$(kv done_ms "$line")
  ok=$(($(kv ok "$after") - $(kv ok "$before")))
  refused=$(($(kv refused "$after") - $(kv refused "$before")))
  alerts=$(($(kv published "$after") - $(kv published "$before") - reports))
  v_rate[$1]=$(awk -v n="$reports" -v ms=$((fin - start)) 'BEGIN {printf "%.0f", n * 1000 / ms}')
  v_cpu[$1]=$(awk -v t="$(kv ticks0 "$line")" -v hz="$hz" -v n="$reports" -v ms=$((fin - start)) \
    'BEGIN {printf "%.2f %.0f", 1e6 * t / hz / n, 100 * t / hz / (ms / 1000)}')
  v_dcpu[$1]=$(awk -v t="$(kv ticks1 "$line")" -v hz="$hz" -v n="$reports" -v ms=$((fin - start)) \
    'BEGIN {printf "%.2f %.0f", 1e6 * t / hz / n, 100 * t / hz / (ms / 1000)}')
  v_rss[$1]=$(status_kb "$verge_pid" VmRSS)
  v_check[$1]="reports=$reports errors=$(kv errors "$line") ok=$ok refused=$refused alerts=$alerts"
  if [ "$ok" -ne "$reports" ] || [ "$alerts" -ne $((reports / 10)) ]; then
    echo "fn_flow: verge round $1: ${v_check[$1]} (want ok = reports, alerts = reports / 10)" >&2
    tail -n 20 "$tmp/verge.log" >&2
    exit 1
  fi
}
node_red_round() { # ROUND
  local c0 c1 line start fin answer
  c0=$(cpu_ticks "$nr_pid")
  line=$("${client_pin[@]}" "${helper[@]}" send "$nr_port" "$MESSAGES")
  c1=$(cpu_ticks "$nr_pid")
  start=$(kv start_ms "$line")
  fin=$(kv done_ms "$line")
  answer=$(kv answer "$line")
  n_rate[$1]=$(awk -v n="$MESSAGES" -v ms=$((fin - start)) 'BEGIN {printf "%.0f", n * 1000 / ms}')
  n_cpu[$1]=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$MESSAGES" -v ms=$((fin - start)) \
    'BEGIN {printf "%.2f %.0f", 1e6 * t / hz / n, 100 * t / hz / (ms / 1000)}')
  n_rss[$1]=$(status_kb "$nr_pid" VmRSS)
  n_check[$1]="answer=$answer sent_after_ms=$(($(kv sent_ms "$line") - start))"
  if [ "$answer" != "count=$((MESSAGES / 10))" ]; then
    echo "fn_flow: Node-RED round $1 answered '$answer', want count=$((MESSAGES / 10))" >&2
    tail -n 20 "$tmp/nr.log" >&2
    exit 1
  fi
}

for r in $(seq 0 "$ROUNDS"); do # round 0 warms both up and is not counted
  echo "fn_flow: (a, c) round $r of $ROUNDS ($MESSAGES messages each)..." >&2
  verge_round "$r"
  node_red_round "$r"
done
verge_hwm=$(status_kb "$verge_pid" VmHWM)
nr_hwm=$(status_kb "$nr_pid" VmHWM)

profile_txt=
if [ "$PROFILE" = 1 ]; then
  echo "fn_flow: profiling verge during one more round..." >&2
  perf record -q -F 499 --call-graph dwarf,16384 -p "$verge_pid" -o "$tmp/perf.data" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.5
  verge_round profile
  kill -INT "$perf_pid"
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=
  profile_txt=$tmp/profile.txt
  {
    echo "perf, verge during one round (self time, by shared object):"
    perf report -i "$tmp/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
      grep -E '^ +[0-9]' | head -n 12
    echo
    echo "perf, verge during one round (self time, by symbol, >= 0.7%):"
    perf report -i "$tmp/perf.data" --stdio --no-children --sort dso,symbol -g none \
      --percent-limit 0.7 2>/dev/null | grep -E '^ +[0-9]' | head -n 45
    echo
    echo "perf, verge during one round (time including callees, named functions, >= 3%):"
    perf report -i "$tmp/perf.data" --stdio --children --sort symbol -g none \
      --percent-limit 3 2>/dev/null | grep -E '^ +[0-9]' | grep -v -e '\[k\]' -e '\] 0x' |
      head -n 40
  } >"$profile_txt"
fi

# ---- report --------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
kib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1024}'; }
counted=$(seq 1 "$ROUNDS")
med_of() { # ARRAY-NAME [FIELD]: the median of the counted rounds
  local -n a=$1
  for r in $counted; do
    read -r -a f <<<"${a[$r]}"
    printf '%s ' "${f[${2:-0}]}"
  done | median
}
mkdir -p tests/bench/out
report=tests/bench/out/fn_flow-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  echo "fn_flow $(date -u +%Y-%m-%d\ %H:%M) UTC on $(nproc) CPUs ($(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'))"
  echo "verge $("$verge_bin" version 2>/dev/null | head -n1) ($BUILD_DIR, Release); Node-RED $nr_version on Node.js $(node --version)"
  echo "load average before/after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "${#server_pin[@]}" -gt 0 ]; then
    echo "verge, Node-RED and fn_bench on CPU 0; the driver process and the Python sender on CPU 1"
  fi
  echo
  echo "(a, c) messages/s through a rule function: $MESSAGES messages a round, $ROUNDS rounds after a warm-up round"
  echo "  verge: sensor_flood driver -> driver socket -> things -> bus -> route -> EdgeFC/monitor (Lua)"
  echo "  Node-RED: Python sender -> tcp in -> function (filter) -> function (counter) -> tcp out"
  printf '  %-8s %12s %12s %10s   %s\n' round verge Node-RED ratio "checks"
  for r in $(seq 0 "$ROUNDS"); do
    printf '  %-8s %12s %12s %10s   verge %s; Node-RED %s\n' "$([ "$r" = 0 ] && echo warm-up || echo "$r")" \
      "${v_rate[$r]}" "${n_rate[$r]}" "$(ratio "${v_rate[$r]}" "${n_rate[$r]}")" "${v_check[$r]}" "${n_check[$r]}"
  done
  vm=$(med_of v_rate)
  nm=$(med_of n_rate)
  per_round=$(for r in $counted; do ratio "${v_rate[$r]}" "${n_rate[$r]}"; echo; done | tr '\n' ' ' | median)
  printf '  %-8s %12s %12s %10s   (median of the per-round ratios: %s)\n' median "$vm" "$nm" \
    "$(ratio "$vm" "$nm")" "$per_round"
  echo "  CPU us per message (median): verge $(med_of v_cpu 0), its driver $(med_of v_dcpu 0); Node-RED $(med_of n_cpu 0)"
  echo "  CPU share over the round (median): verge $(med_of v_cpu 1)%, its driver $(med_of v_dcpu 1)%; Node-RED $(med_of n_cpu 1)%"
  echo "  RSS MiB idle / after the last round / peak: verge $(mib "$verge_rss_idle") / $(mib "${v_rss[$ROUNDS]}") / $(mib "$verge_hwm");" \
    "Node-RED $(mib "$nr_rss_idle") / $(mib "${n_rss[$ROUNDS]}") / $(mib "$nr_hwm")"
  rule_rates=$(for l in "${rule_lines[@]}"; do kv per_s "$l"; done | tr '\n' ' ')
  echo "  the rule function alone (fn_bench rule, no driver, socket or route): $(median <<<"$rule_rates") invocations/s" \
    "(rounds: $rule_rates; $(kv report_bytes "${rule_lines[0]}")-byte reports)"
  echo
  echo "(b) invokeFunction Sync round trips, $RTT_N after $RTT_WARMUP warm-up, $ROUNDS rounds (medians; us)"
  printf '  %-34s %8s %8s %8s %8s %8s %10s\n' "" mean p50 p90 p99 p99.9 "calls/s"
  for name in c_sync bare_lua_coroutine bare_lua_pcall; do
    case $name in
      c_sync) label="fnhost_invoke Sync from C" ;;
      bare_lua_coroutine) label="floor: bare Lua, a coroutine/call" ;;
      bare_lua_pcall) label="floor: bare Lua, lua_pcall" ;;
    esac
    printf '  %-34s %8s %8s %8s %8s %8s %10s\n' "$label" "$(rtt_med $name mean_us)" \
      "$(rtt_med $name p50_us)" "$(rtt_med $name p90_us)" "$(rtt_med $name p99_us)" \
      "$(rtt_med $name p999_us)" "$(rtt_med $name per_s)"
  done
  printf '  %-34s %8s %8s %8s %8s %8s %10s\n' "Lua invokeFunction Sync from Lua" \
    "$(rtt_med lua_sync mean_us)" - - - - "$(rtt_med lua_sync per_s)"
  echo "  p99 of each round, C: $(rtt_all c_sync p99_us); max: $(rtt_all c_sync max_us)"
  echo "  mean of each round, Lua to Lua: $(rtt_all lua_sync mean_us)"
  echo "  fnhost C round trip / bare-Lua coroutine call (p50): $(ratio "$(rtt_med c_sync p50_us)" "$(rtt_med bare_lua_coroutine p50_us)")"
  echo
  echo "(d) memory per idle function, $MEM_FUNCTIONS functions in one process (KiB per function)"
  printf '  %-26s %-10s %12s %12s %12s\n' function stage "Lua heap" "RSS delta" "PSS delta"
  for l in "${mem_lines[@]}"; do
    read -r _ what rest <<<"$l"
    printf '  %-26s %-10s %12s %12s %12s\n' "$what" "$(kv stage "$rest")" \
      "$(kib "$(kv heap_per_fn_b "$rest")")" "$(kib "$(kv rss_per_fn_b "$rest")")" \
      "$(kib "$(kv pss_per_fn_b "$rest")")"
  done
  k=$MEM_FUNCTIONS
  nr_per_rss=$(awk -v a="${nr_idle_rss[$k]}" -v b="${nr_idle_rss[1]}" -v k="$k" 'BEGIN {printf "%.1f", (a - b) / (k - 1)}')
  nr_per_pss=$(awk -v a="${nr_idle_pss[$k]}" -v b="${nr_idle_pss[1]}" -v k="$k" 'BEGIN {printf "%.1f", (a - b) / (k - 1)}')
  echo "  Node-RED, idle function node (RSS, PSS of 1 vs $k nodes, $SETTLE_S s after start):" \
    "$nr_per_rss / $nr_per_pss KiB per node (RSS $(mib "${nr_idle_rss[1]}") / $(mib "${nr_idle_rss[$k]}") MiB)"
  for l in "${mem_lines[@]}"; do
    [[ $l == *"on-demand/sdk stage=collected"* ]] || continue
    echo "  verge on-demand/sdk (collected) RSS per function / Node-RED RSS per node:" \
      "$(ratio "$(kib "$(kv rss_per_fn_b "$l")")" "$nr_per_rss")"
  done
  if [ -n "$profile_txt" ]; then
    echo
    cat "$profile_txt"
  fi
} | tee "$report"
echo "(saved in $report)"
