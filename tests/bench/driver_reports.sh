#!/usr/bin/env bash
# shellcheck disable=SC2034  # the res_* arrays are read through the nameref of row()
# driver_reports.sh: property reports per second from one driver process, through the driver
# SDK and the driver socket, into verge's property cache until they are committed to SQLite,
# side by side with SQLite alone doing the same upserts in the same run; and the event loop's
# responsiveness while it ingests (GET /healthz latency and, with perf, the loop's busy
# stretches; idle against ingesting).
#
#   tests/bench/driver_reports.sh                          # 1,000,000 reports of 1 and of 20 props
#   REPORTS=2000000 PROPS_PER_REPORT="1 5 20" tests/bench/driver_reports.sh
#   VERGE_BIN=path/to/verge tests/bench/driver_reports.sh  # skip the Release build of verge
#
# The bench driver (tests/bench/driver_reports/flood.c, built against sdk/leda's static
# library) registers DEVICES devices of a product with PROPS int properties and, once verge has
# been sampled idle for IDLE_BEFORE_S, calls leda_report_properties() in a tight loop, K
# properties a call, rotating devices, REPORTS times. Not a test: it prints figures (and keeps a
# copy in tests/bench/out/).
# Everything runs on loopback; nothing is pinned to a CPU. As root with Debian's linux-perf, the
# loop thread's epoll_wait calls are traced too (perf record on two syscall tracepoints), which
# measures the loop's busy stretches without the HTTP client's noise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

REPORTS=${REPORTS:-1000000}
PROPS_PER_REPORT=${PROPS_PER_REPORT:-"1 20"}
DEVICES=${DEVICES:-10}
PROPS=${PROPS:-20}
IDLE_BEFORE_S=${IDLE_BEFORE_S:-5}
IDLE_AFTER_S=${IDLE_AFTER_S:-3}
TIMEOUT_S=${TIMEOUT_S:-600}
LOOP_TRACE=${LOOP_TRACE:-auto} # auto: trace the loop's epoll_wait calls with perf when it works
PK=a1BenchFlood

for k in $PROPS_PER_REPORT; do
  if [ "$k" -lt 1 ] || [ "$k" -gt "$PROPS" ]; then
    echo "driver_reports: PROPS_PER_REPORT must be 1..PROPS ($PROPS), not $k" >&2
    exit 2
  fi
done

if [ -n "${VERGE_BIN:-}" ]; then  # a binary built elsewhere
  verge_bin=$VERGE_BIN
else
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DVERGE_TESTS=OFF >/dev/null
  cmake --build build/release --target verge -j"$(nproc)" >/dev/null
  verge_bin=$root/build/release/verge
fi
# the bench driver and the SQLite peer: a CMake project of their own over sdk/leda
cmake -S tests/bench/driver_reports -B build/bench-driver-reports -DCMAKE_BUILD_TYPE=Release \
  >/dev/null
cmake --build build/bench-driver-reports --target flood sqlite_alone -j"$(nproc)" >/dev/null
bench_bin=$root/build/bench-driver-reports
probe=(python3 "$root/tests/bench/driver_reports/probe.py")

tmp=$(mktemp -d /tmp/verge-bench.XXXXXX)
verge_pid=
sampler_pid=
perf_pid=
cleanup() {
  [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null || true
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null && wait "$sampler_pid" 2>/dev/null || true
  [ -n "$verge_pid" ] && kill "$verge_pid" 2>/dev/null && wait "$verge_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_https() { # URL
  for _ in $(seq 1 200); do
    if curl -sk -o /dev/null --max-time 1 "$1"; then return 0; fi
    sleep 0.05
  done
  echo "driver_reports: $1 did not answer" >&2
  return 1
}

mem_of() { # kB of Rss of a process
  awk '/^Rss:/ {print $2}' "/proc/$1/smaps_rollup"
}

cpu_ticks() { # user + system clock ticks of a process (all its threads)
  awk '{print $14 + $15}' "/proc/$1/stat"
}

loop_events=syscalls:sys_enter_epoll_wait,syscalls:sys_exit_epoll_wait
loop_events+=,syscalls:sys_enter_epoll_pwait,syscalls:sys_exit_epoll_pwait
perf_ok=0
if [ "$LOOP_TRACE" != 0 ] && command -v perf >/dev/null &&
  perf record -q -k monotonic -e "$loop_events" -o "$tmp/perf-check.data" -- true >/dev/null 2>&1
then
  perf_ok=1
fi

# ---- the bundle: one product with PROPS int properties, DEVICES devices, the flood driver ----
bundle=$tmp/bundle
mkdir -p "$bundle/products" "$bundle/drivers/flood"
cp "$bench_bin/flood" "$bundle/drivers/flood/main"
{
  printf '{"schema":"https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json",'
  printf '"profile":{"productKey":"%s"},"properties":[' "$PK"
  for p in $(seq 0 $((PROPS - 1))); do
    [ "$p" -gt 0 ] && printf ','
    printf '{"identifier":"p%d","name":"p%d","accessMode":"r","required":false,' "$p" "$p"
    printf '"dataType":{"type":"int","specs":{"min":"0","max":"2147483647","step":"1"}}}'
  done
  printf '],"events":[],"services":[]}\n'
} >"$bundle/products/bench.json"
devices_json=$(for d in $(seq 0 $((DEVICES - 1))); do
  printf '%s{"productKey":"%s","deviceName":"dev%d"}' "$([ "$d" -gt 0 ] && echo ,)" "$PK" "$d"
done)

# ---- one run per K: a fresh verge and data directory ----------------------------------------
declare -A res_sent_rps res_sent_vps res_acc_vps res_acc_reports res_commit_ms res_e2e_vps \
  res_sqlite_int res_sqlite_one res_stall_idle res_stall_ingest res_stall_drain \
  res_stall_after res_rss_idle res_rss_after res_errors res_flush res_cpu res_cpu_us res_loop_idle \
  res_loop_ingest res_loop_drain res_loop_after
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for k in $PROPS_PER_REPORT; do
  result=$tmp/result-$k.txt
  cat >"$bundle/bundle.json" <<EOF
{"name":"bench","version":"1.0.0",
 "products":[{"productKey":"$PK","tsl":"products/bench.json"}],
 "drivers":[{"name":"flood","exec":"drivers/flood/main",
   "config":{"json":{"reports":$REPORTS,"props_per_report":$k,"props":$PROPS,
                     "start_file":"$tmp/go-$k","result_file":"$result"},
             "kv":[],"fileList":[]},
   "devices":[$devices_json]}]}
EOF
  port=$(free_port)
  data=$tmp/data-$k
  "$verge_bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --bundle "$bundle" \
    2>"$tmp/verge-$k.log" &
  verge_pid=$!
  if ! wait_https "https://127.0.0.1:$port/healthz"; then
    cat "$tmp/verge-$k.log" >&2
    exit 1
  fi
  metrics_url="https://127.0.0.1:$port/metrics"
  before=$("${probe[@]}" metric "$metrics_url" admin admin1234)
  rm -f "$tmp/stop"
  "${probe[@]}" sample "http://127.0.0.1:$port/healthz" "$tmp/samples-$k.txt" "$tmp/stop" &
  sampler_pid=$!
  if [ "$perf_ok" = 1 ]; then
    perf record -q -k monotonic -e "$loop_events" -t "$verge_pid" -o "$tmp/loop-$k.data" \
      >/dev/null 2>&1 &
    perf_pid=$!
  fi
  sampling_from=$(date +%s%3N)
  sleep "$IDLE_BEFORE_S"
  rss_idle=$(mem_of "$verge_pid")
  driver_pid=$(pgrep -P "$verge_pid" | head -n1)
  if [ -z "$driver_pid" ] || ! grep -q FLOOD_READY "$tmp/verge-$k.log"; then
    echo "driver_reports: the flood driver is not ready; verge log:" >&2
    cat "$tmp/verge-$k.log" >&2
    exit 1
  fi
  cpu_verge0=$(cpu_ticks "$verge_pid")
  cpu_driver0=$(cpu_ticks "$driver_pid")
  echo "K=$k: flooding $REPORTS reports of $k properties over $DEVICES devices..." >&2
  touch "$tmp/go-$k"
  if ! out=$("${probe[@]}" wait "$data/verge.db" "$result" "$PK" "$metrics_url" admin admin1234 \
    "$before" "$TIMEOUT_S"); then
    echo "driver_reports: K=$k did not complete; verge log:" >&2
    tail -n 40 "$tmp/verge-$k.log" >&2
    exit 1
  fi
  rss_after=$(mem_of "$verge_pid")
  cpu_verge1=$(cpu_ticks "$verge_pid")
  cpu_driver1=$(cpu_ticks "$driver_pid")
  sleep "$IDLE_AFTER_S"
  touch "$tmp/stop"
  wait "$sampler_pid" || true
  sampler_pid=
  sampling_to=$(date +%s%3N)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    perf_pid=
    perf script -i "$tmp/loop-$k.data" -F time,event >"$tmp/loop-$k.txt" 2>/dev/null
  fi
  after=$("${probe[@]}" metric "$metrics_url" admin admin1234)
  flush=$(curl -sk -u admin:admin1234 "$metrics_url" |
    awk '/^verge_things_cache_flush_seconds_(sum|count) / {v[$1] = $2}
         END {c = v["verge_things_cache_flush_seconds_count"];
              if (c > 0) printf "%d flushes, mean %.1f ms", c, 1000 * v["verge_things_cache_flush_seconds_sum"] / c}')
  kill "$verge_pid"
  wait "$verge_pid" || true
  verge_pid=

  read -r reports errors start_ms end_ms < <(sed -E \
    's/.*reports=([0-9]+).*errors=([0-9]+).*start_ms=([0-9]+).*end_ms=([0-9]+).*/\1 \2 \3 \4/' \
    "$result")
  accepted_ms=$(sed -E 's/.*accepted_ms=([0-9]+).*/\1/' <<<"$out")
  committed_ms=$(sed -E 's/.*committed_ms=([0-9]+).*/\1/' <<<"$out")
  calc() { awk "BEGIN {printf \"%.0f\", $1}"; }
  res_sent_rps[$k]=$(calc "$reports * 1000 / ($end_ms - $start_ms)")
  res_sent_vps[$k]=$(calc "$reports * $k * 1000 / ($end_ms - $start_ms)")
  res_acc_reports[$k]=$((after - before))
  res_acc_vps[$k]=$(calc "($after - $before) * $k * 1000 / ($accepted_ms - $start_ms)")
  res_commit_ms[$k]=$((committed_ms - end_ms))
  res_e2e_vps[$k]=$(calc "$reports * $k * 1000 / ($committed_ms - $start_ms)")
  res_errors[$k]=$errors
  hz=$(getconf CLK_TCK)
  res_cpu[$k]=$(awk -v v=$((cpu_verge1 - cpu_verge0)) -v d=$((cpu_driver1 - cpu_driver0)) \
    -v hz="$hz" -v ms=$((committed_ms - start_ms)) \
    'BEGIN {printf "%.0f%% / %.0f%%", 100 * v / hz / (ms / 1000), 100 * d / hz / (ms / 1000)}')
  res_cpu_us[$k]=$(awk -v v=$((cpu_verge1 - cpu_verge0)) -v d=$((cpu_driver1 - cpu_driver0)) \
    -v hz="$hz" -v n="$reports" 'BEGIN {printf "%.1f / %.1f", 1e6 * v / hz / n, 1e6 * d / hz / n}')
  res_flush[$k]=$flush
  res_rss_idle[$k]=$rss_idle
  res_rss_after[$k]=$rss_after
  # loop responsiveness: idle before the flood (from 1 s after sampling started), while the
  # driver sends, while the runtime drains and commits, idle after
  res_stall_idle[$k]=$("${probe[@]}" stats "$tmp/samples-$k.txt" $((sampling_from + 500)) "$start_ms")
  res_stall_ingest[$k]=$("${probe[@]}" stats "$tmp/samples-$k.txt" "$start_ms" "$end_ms")
  res_stall_drain[$k]=$("${probe[@]}" stats "$tmp/samples-$k.txt" "$end_ms" "$committed_ms")
  res_stall_after[$k]=$("${probe[@]}" stats "$tmp/samples-$k.txt" $((committed_ms + 500)) "$sampling_to")
  if [ "$perf_ok" = 1 ]; then
    off=$("${probe[@]}" offset)
    res_loop_idle[$k]=$("${probe[@]}" loop "$tmp/loop-$k.txt" "$off" $((sampling_from + 500)) "$start_ms")
    res_loop_ingest[$k]=$("${probe[@]}" loop "$tmp/loop-$k.txt" "$off" "$start_ms" "$end_ms")
    res_loop_drain[$k]=$("${probe[@]}" loop "$tmp/loop-$k.txt" "$off" "$end_ms" "$committed_ms")
    res_loop_after[$k]=$("${probe[@]}" loop "$tmp/loop-$k.txt" "$off" $((committed_ms + 500)) "$sampling_to")
  fi

  # ---- the peer: SQLite alone, the same rows, in this run ----
  rm -f "$tmp"/alone.db*
  res_sqlite_int[$k]=$("$bench_bin/sqlite_alone" "$tmp/alone.db" "$reports" "$DEVICES" "$PROPS" \
    "$k" "$PK" 200 | sed -E 's/.*rows_per_s=([0-9]+).*/\1/')
  rm -f "$tmp"/alone.db*
  res_sqlite_one[$k]=$("$bench_bin/sqlite_alone" "$tmp/alone.db" "$reports" "$DEVICES" "$PROPS" \
    "$k" "$PK" 0 | sed -E 's/.*rows_per_s=([0-9]+).*/\1/')
  rm -f "$tmp"/alone.db*
done

# ---- report --------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
mkdir -p tests/bench/out
report=tests/bench/out/driver_reports-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  echo "driver_reports $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'))"
  echo "$REPORTS reports per run from one driver, $DEVICES devices of $PROPS int properties; verge $("$verge_bin" version 2>/dev/null | head -n1), SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')"
  echo "load average before/after the runs: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  printf '%-28s' "props per report (K)"
  for k in $PROPS_PER_REPORT; do printf '%16s' "$k"; done
  echo
  row() { # LABEL ARRAY-NAME
    local -n a=$2
    printf '%-28s' "$1"
    for k in $PROPS_PER_REPORT; do printf '%16s' "${a[$k]}"; done
    echo
  }
  row "driver: reports/s sent" res_sent_rps
  row "driver: values/s sent" res_sent_vps
  row "driver: report errors" res_errors
  row "verge: reports accepted" res_acc_reports
  row "verge: values/s accepted" res_acc_vps
  row "verge: ms to commit after" res_commit_ms
  row "verge: values/s committed" res_e2e_vps
  row "SQLite alone: rows/s, 200ms" res_sqlite_int
  row "SQLite alone: rows/s, 1 txn" res_sqlite_one
  printf '%-28s' "verge committed / SQLite"
  for k in $PROPS_PER_REPORT; do printf '%16s' "$(ratio "${res_e2e_vps[$k]}" "${res_sqlite_int[$k]}")"; done
  echo
  printf '%-28s' "CPU verge / driver"
  for k in $PROPS_PER_REPORT; do printf '%16s' "${res_cpu[$k]}"; done
  echo
  printf '%-28s' "CPU us/report verge / driver"
  for k in $PROPS_PER_REPORT; do printf '%16s' "${res_cpu_us[$k]}"; done
  echo
  printf '%-28s' "verge RSS idle / after, MiB"
  for k in $PROPS_PER_REPORT; do printf '%16s' "$(mib "${res_rss_idle[$k]}") / $(mib "${res_rss_after[$k]}")"; done
  echo
  echo
  echo "cache flushes: $(for k in $PROPS_PER_REPORT; do printf 'K=%s: %s; ' "$k" "${res_flush[$k]}"; done)"
  echo
  echo "GET /healthz latency over plain HTTP, one keep-alive connection, every 10 ms (ms; an"
  echo "upper bound on the loop's stalls: it includes the client's and the kernel's time)"
  printf '%-4s %-22s %8s %9s %9s %9s\n' K phase samples p50 p99 max
  for k in $PROPS_PER_REPORT; do
    for ph in idle ingest drain after; do
      case $ph in
        idle) v=${res_stall_idle[$k]}; label="idle, before" ;;
        ingest) v=${res_stall_ingest[$k]}; label="driver sending" ;;
        drain) v=${res_stall_drain[$k]}; label="draining, committing" ;;
        after) v=${res_stall_after[$k]}; label="idle, after" ;;
      esac
      read -r n a b c <<<"$v"
      printf '%-4s %-22s %8s %9s %9s %9s\n' "$k" "$label" "$n" "$a" "$b" "$c"
    done
  done
  echo
  if [ "$perf_ok" = 1 ]; then
    echo "The loop's busy stretches (ms from a return of epoll_wait to the next call, traced with"
    echo "perf on the loop thread; wall time, so preemption by other processes counts)"
    printf '%-4s %-22s %10s %9s %9s %9s %9s %6s\n' K phase iterations p50 p99 p99.9 max busy
    for k in $PROPS_PER_REPORT; do
      for ph in idle ingest drain after; do
        case $ph in
          idle) v=${res_loop_idle[$k]}; label="idle, before" ;;
          ingest) v=${res_loop_ingest[$k]}; label="driver sending" ;;
          drain) v=${res_loop_drain[$k]}; label="draining, committing" ;;
          after) v=${res_loop_after[$k]}; label="idle, after" ;;
        esac
        read -r n a b c d e <<<"$v"
        printf '%-4s %-22s %10s %9s %9s %9s %9s %6s\n' "$k" "$label" "$n" "$a" "$b" "$c" "$d" "$e"
      done
    done
  else
    echo "The loop's busy stretches: not traced (needs root and perf; LOOP_TRACE=$LOOP_TRACE)"
  fi
} | tee "$report"
echo "(saved in $report)"
