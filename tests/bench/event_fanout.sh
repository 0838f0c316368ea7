#!/usr/bin/env bash
# event_fanout.sh: event fan-out latency from a driver's event report to SUBSCRIBERS open
# POST /thing/device/events/get streams (aim: p99 under 5 ms with 200 subscribers), over plain
# HTTP from loopback and over HTTPS, side by side with mosquitto fanning the same rate of
# messages of the same size out to as many MQTT subscribers in the same run (the floor of what
# routing costs: a broker that does nothing else).
#
#   tests/bench/event_fanout.sh                  # 3 rounds of 10 s each, 200 subscribers, 100 events/s
#   ROUNDS=5 DURATION_S=20 RATE=200 SUBSCRIBERS=500 tests/bench/event_fanout.sh
#   VERGE_BIN=path/to/verge tests/bench/event_fanout.sh
#
# The driver is tests/bench/fake_driver.py (mode events): it raises high_temperature RATE times
# a second, alternating over two devices, each event carrying its send time (value.sent_ns,
# monotonic, and value.sent_rt_ns, realtime, taken just before the frame is written). The
# subscribers are tests/bench/event_fanout_client.c (built here against wolfSSL): one process,
# non-blocking sockets and one epoll loop, recording for every (subscriber, event) pair
#   socket latency: the kernel's receive timestamp of the bytes (SO_TIMESTAMPNS) - sent_rt_ns,
#                   i.e. when the event reached that subscriber's socket, before the client
#                   reads it: the headline;
#   app latency:    when recvmsg() returned them - sent_ns, which adds the client's own lag
#                   (reported as well, so that a client that cannot keep up is seen).
# CLIENT=python uses tests/bench/event_fanout_client.py instead, which does the same in Python
# but needs most of a core for 200 subscribers and then slows what it measures (see
# docs/BENCHMARKS.md); mosquitto's publisher is always that script's `publish` mode.
# ROUNDS rounds, each running verge over HTTP, verge over HTTPS and mosquitto in turn; one verge
# and one mosquitto serve every round. verge (and its driver) and mosquitto (and its publisher)
# get CPU 0, the subscribers CPU 1, when there are two or more CPUs (SERVER_CPU and CLIENT_CPU
# choose others). mosquitto runs with set_tcp_nodelay (verge sets TCP_NODELAY too); it is
# skipped when it is not installed (Debian: apt-get install mosquitto).
# Not a test: it prints figures (and keeps a copy in tests/bench/out/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

ROUNDS=${ROUNDS:-3}
DURATION_S=${DURATION_S:-10}
RATE=${RATE:-100}
SUBSCRIBERS=${SUBSCRIBERS:-200}
AIM_MS=${AIM_MS:-5}
# the system Python when there is one: a version manager's shim can take seconds to start
PYTHON=${PYTHON:-$(if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi)}

bash scripts/deps.sh --bench # the peers (mosquitto) when missing

if [ -n "${VERGE_BIN:-}" ]; then
  verge_bin=$VERGE_BIN
else
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DVERGE_TESTS=OFF >/dev/null
  cmake --build build/release --target verge -j"$(nproc)" >/dev/null
  verge_bin=$root/build/release/verge
fi
CLIENT=${CLIENT:-c}
pyclient=("$PYTHON" "$root/tests/bench/event_fanout_client.py")
events=$(awk -v r="$RATE" -v d="$DURATION_S" 'BEGIN {printf "%d", r * d}')

tmp=$(mktemp -d /tmp/verge-bench.XXXXXX)
verge_pid=
mosq_pid=
cleanup() {
  for p in $verge_pid $mosq_pid; do
    if kill "$p" 2>/dev/null; then wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

case $CLIENT in
  c)
    cc -O2 -Wall -o "$tmp/event_fanout_client" tests/bench/event_fanout_client.c -lwolfssl
    client=("$tmp/event_fanout_client") ;;
  python) client=("${pyclient[@]}") ;;
  *) echo "event_fanout: CLIENT is c or python, not $CLIENT" >&2; exit 2 ;;
esac

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

server_pin=()
client_pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_pin=(taskset -c "${SERVER_CPU:-0}")
  client_pin=(taskset -c "${CLIENT_CPU:-1}")
fi

wait_file() { # FILE SECONDS WHAT
  for _ in $(seq 1 $(($2 * 20))); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  echo "event_fanout: $3 did not happen within $2 s" >&2
  return 1
}

cpu_ticks() { # user + system clock ticks of a process
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# waited PID: "ns runnable but not running, involuntary context switches" of its main thread
# (the event loop), to tell time lost to other processes from time spent working
waited() {
  echo "$(awk '{print $2}' "/proc/$1/schedstat") $(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "/proc/$1/status")"
}

# ---- verge with the fake driver in events mode -------------------------------------------
bundle=$tmp/bundle
mkdir -p "$bundle/products" "$bundle/drivers/fake"
cp functions/demo/products/light.json "$bundle/products/"
sed "1s|.*|#!$PYTHON|" tests/bench/fake_driver.py >"$bundle/drivers/fake/main"
chmod +x "$bundle/drivers/fake/main"
cat >"$bundle/bundle.json" <<EOF
{"name":"bench-events","version":"1.0.0",
 "products":[{"productKey":"a1DemoLight","tsl":"products/light.json"}],
 "drivers":[{"name":"fake","exec":"drivers/fake/main",
   "config":{"json":{"mode":"events","rate":$RATE,"duration_s":$DURATION_S,
                     "properties":{"LightSwitch":1,"brightness":60,"temperature":42.9},
                     "ready_file":"$tmp/driver-ready","start_file":"$tmp/go",
                     "done_file":"$tmp/driver-done"},
             "kv":[],"fileList":[]},
   "devices":[{"productKey":"a1DemoLight","deviceName":"LightDev1"},
              {"productKey":"a1DemoLight","deviceName":"LightDev2"}]}]}
EOF
vport=$(free_port)
"${server_pin[@]}" "$verge_bin" serve --listen "127.0.0.1:$vport" --data-dir "$tmp/data" \
  --bundle "$bundle" --set limits.max_connections_per_ip=$((SUBSCRIBERS + 64)) \
  --set limits.max_connections=$((SUBSCRIBERS + 256)) --set events.heartbeat_ms=3600000 \
  2>"$tmp/verge.log" &
verge_pid=$!
if ! wait_file "$tmp/driver-ready" 30 "the fake driver's start"; then
  cat "$tmp/verge.log" >&2
  exit 1
fi
driver_pid=$(pgrep -P "$verge_pid" | head -n1)
cookie=$(curl -sk -D - -o /dev/null \
  -d '{"request":{"apiVer":"0.6"},"params":{"UserName":"admin","Password":"admin1234"}}' \
  -X POST "https://127.0.0.1:$vport/auth/login" |
  sed -nE 's/^[Ss]et-[Cc]ookie: (verge_session=[0-9a-fA-F]{64}).*/\1/p')
if [ -z "$cookie" ]; then
  echo "event_fanout: login failed; verge log:" >&2
  cat "$tmp/verge.log" >&2
  exit 1
fi
metric() { # NAME: its value from /metrics
  curl -sk -b "$cookie" "https://127.0.0.1:$vport/metrics" | awk -v n="$1" '$1 == n {print $2}'
}

# ---- mosquitto -----------------------------------------------------------------------------
names=(verge-http verge-https)
if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then
  mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  mport=$(free_port)
  cat >"$tmp/mosquitto.conf" <<EOF
listener $mport 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
max_queued_messages 100000
EOF
  "${server_pin[@]}" "$mosq" -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
  mosq_pid=$!
  names+=(mosquitto)
  for _ in $(seq 1 100); do
    "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $mport))" 2>/dev/null && break
    sleep 0.05
  done
else
  echo "event_fanout: mosquitto is not installed; the peer row is skipped" >&2
fi

# ---- one run: NAME ROUND -> $tmp/result-NAME-ROUND.json -----------------------------------
payload_bytes=0
run_one() {
  local name=$1 round=$2 out=$tmp/result-$1-$2.json ready=$tmp/client-ready cpid pub_pid='' rc=0
  local v0 d0 v1 d1 t0 t1 cut0 cut1 late='' w0 w1 i0 i1 spid
  rm -f "$ready" "$tmp/driver-done" "$out"
  case $name in
    verge-http | verge-https)
      local scheme=${name#verge-}
      "${client_pin[@]}" "${client[@]}" verge "$scheme://127.0.0.1:$vport/thing/device/events/get" \
        "$cookie" "$SUBSCRIBERS" "$events" "$ready" $((DURATION_S + 30)) "$out" &
      ;;
    mosquitto)
      "${client_pin[@]}" "${client[@]}" mqtt "127.0.0.1:$mport" bench/events "$SUBSCRIBERS" \
        "$events" "$ready" $((DURATION_S + 30)) "$out" &
      ;;
  esac
  cpid=$!
  wait_file "$ready" 60 "$name: the subscribers' set-up" || { wait "$cpid" || true; return 1; }
  case $name in
    verge-*)
      cut0=$(metric verge_events_cut_total)
      spid=$verge_pid
      read -r w0 i0 < <(waited "$spid")
      v0=$(cpu_ticks "$verge_pid")
      d0=$(cpu_ticks "$driver_pid")
      t0=$(date +%s%N)
      touch "$tmp/go"
      wait "$cpid" || rc=$?
      wait_file "$tmp/driver-done" 30 "$name: the driver's end of run" || return 1
      t1=$(date +%s%N)
      v1=$(cpu_ticks "$verge_pid")
      d1=$(cpu_ticks "$driver_pid")
      cut1=$(metric verge_events_cut_total)
      late=$(sed -E 's/.*late_max_us=([0-9]+).*/\1/' "$tmp/driver-done")
      ;;
    mosquitto)
      spid=$mosq_pid
      read -r w0 i0 < <(waited "$spid")
      v0=$(cpu_ticks "$mosq_pid")
      "${server_pin[@]}" "${pyclient[@]}" publish "127.0.0.1:$mport" bench/events "$RATE" \
        "$DURATION_S" "$payload_bytes" "$tmp/go-mqtt" &
      pub_pid=$!
      t0=$(date +%s%N)
      touch "$tmp/go-mqtt"
      wait "$cpid" || rc=$?
      wait "$pub_pid" || true
      rm -f "$tmp/go-mqtt"
      t1=$(date +%s%N)
      v1=$(cpu_ticks "$mosq_pid")
      d0=0 d1=0 cut0=0 cut1=0
      ;;
  esac
  read -r w1 i1 < <(waited "$spid")
  if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
    echo "event_fanout: $name round $round: the client failed (status $rc)" >&2
    [ -s "$out" ] && cat "$out" >&2
    return 1
  fi
  # the server's CPU share over the run, and what else the run tells
  "$PYTHON" - "$out" "$(getconf CLK_TCK)" $((v1 - v0)) $((d1 - d0)) $((t1 - t0)) \
    "$((cut1 - cut0))" "$late" $((w1 - w0)) $((i1 - i0)) <<'EOF'
import json, sys
path, hz, sv, dv, ns, cut, late, wait_ns, invol = sys.argv[1:]
o = json.load(open(path))
secs = int(ns) / 1e9
o["server_cpu_share"] = round(int(sv) / int(hz) / secs, 3)
o["server_cpu_s"] = int(sv) / int(hz)
o["driver_cpu_share"] = round(int(dv) / int(hz) / secs, 3)
o["cut"] = int(float(cut or 0))
o["driver_late_max_us"] = int(late) if late else None
o["server_wait_share"] = round(int(wait_ns) / 1e9 / secs, 3)  # runnable, not running
o["server_preempted"] = int(invol)
json.dump(o, open(path, "w"))
EOF
  if [ "$name" = verge-http ] && [ "$payload_bytes" = 0 ]; then
    payload_bytes=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["payload_bytes"])' "$out")
  fi
  "$PYTHON" - "$out" "round $round/$ROUNDS: $name:" <<'EOF' >&2
import json, sys
o = json.load(open(sys.argv[1]))
s, a = o["socket"], o["app"]
total = o["subscribers"] * o["expected_per_subscriber"]
print(sys.argv[2], f"socket p50 {s['p50_us']} us, p99 {s['p99_us']} us, max {s['max_us']} us;",
      f"app p99 {a['p99_us']} us; received {o['received']}/{total};",
      f"server CPU {o['server_cpu_share']:.0%}, client CPU {o['client_cpu_share']:.0%}")
EOF
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for n in "${names[@]}"; do
    if ! run_one "$n" "$round"; then
      echo "event_fanout: verge log (tail):" >&2
      tail -n 30 "$tmp/verge.log" >&2
      exit 1
    fi
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report --------------------------------------------------------------------------------
mkdir -p tests/bench/out
report=tests/bench/out/event_fanout-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  echo "event_fanout $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'))"
  echo "$SUBSCRIBERS subscribers, $RATE events/s for $DURATION_S s ($events events, each to every subscriber), medians of $ROUNDS interleaved rounds"
  echo "load average before/after the runs: $load_before / $load_after"
  echo "servers on CPU ${SERVER_CPU:-0}, subscribers on CPU ${CLIENT_CPU:-1}; subscriber client: $CLIENT"
  echo "versions: $("$verge_bin" version 2>/dev/null | head -n1)${mosq_pid:+ / $("$mosq" -h 2>/dev/null | head -n1)}"
  echo "event chunk: $payload_bytes bytes (mosquitto's messages are padded to the same size)"
  echo
  "$PYTHON" - "$tmp" "$ROUNDS" "$AIM_MS" "${names[@]}" <<'EOF'
import json, statistics, sys
tmp, rounds, aim_ms, names = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
res = {n: [json.load(open(f"{tmp}/result-{n}-{r}.json")) for r in range(1, rounds + 1)]
       for n in names}
def med(n, *path):
    vals = []
    for o in res[n]:
        v = o
        for p in path:
            v = v[p]
        vals.append(v)
    return statistics.median(vals), vals
def ms(us):
    return f"{us / 1000:.2f}"
print("latency from the driver's write to the subscriber's socket (kernel receive timestamp), ms:")
print(f"{'server':<13} {'p50':>7} {'p99':>7} {'max':>8} {'p99 all':>8}  {'p99 of each round':<24} {'missing':>7} {'cut':>4} {'srv CPU':>7} {'srv wait':>8} {'preempted':>9}")
for n in names:
    p50, _ = med(n, "socket", "p50_us")
    p99, each = med(n, "socket", "p99_us")
    mx, _ = med(n, "socket", "max_us")
    p99all, _ = med(n, "all_subscribers_socket", "p99_us")
    missing = sum(o["missing"] for o in res[n])
    cut = sum(o.get("cut", 0) for o in res[n])
    cpu, _ = med(n, "server_cpu_share")
    wait, _ = med(n, "server_wait_share")
    pre, _ = med(n, "server_preempted")
    print(f"{n:<13} {ms(p50):>7} {ms(p99):>7} {ms(mx):>8} {ms(p99all):>8}  {' '.join(ms(x) for x in each):<24} {missing:>7} {cut:>4} {cpu:>7.0%} {wait:>8.1%} {pre:>9.0f}")
print("  p99 all: p99 over events of the time until the last subscriber had it")
print("  srv CPU: the server's CPU time over the run's wall time; srv wait: the share of the run")
print("  its event loop was runnable but not running (other processes had the CPU); preempted:")
print("  the loop's involuntary context switches in the run")
print()
for n in names:
    per_event = statistics.median(o["server_cpu_s"] / o["expected_per_subscriber"] for o in res[n])
    print(f"server CPU per event, {n}: {per_event * 1000:.2f} ms "
          f"({per_event * 1e6 / res[n][0]['subscribers']:.1f} us per subscriber)")
print()
print("the client's own view (app = when recvmsg() returned; lag = app - socket), ms:")
print(f"{'server':<13} {'app p50':>8} {'app p99':>8} {'lag p50':>8} {'lag p99':>8} {'client CPU':>10} {'driver late max':>15}")
for n in names:
    a50, _ = med(n, "app", "p50_us")
    a99, _ = med(n, "app", "p99_us")
    l50, _ = med(n, "client_lag", "p50_us")
    l99, _ = med(n, "client_lag", "p99_us")
    cpu, _ = med(n, "client_cpu_share")
    late = [o.get("driver_late_max_us") for o in res[n] if o.get("driver_late_max_us") is not None]
    late_s = ms(max(late)) if late else "-"
    print(f"{n:<13} {ms(a50):>8} {ms(a99):>8} {ms(l50):>8} {ms(l99):>8} {cpu:>10.0%} {late_s:>15}")
print()
for n in [x for x in names if x.startswith("verge")]:
    p99, _ = med(n, "socket", "p99_us")
    verdict = "met" if p99 / 1000 < aim_ms else "MISSED"
    print(f"aim: {n} socket p99 {ms(p99)} ms < {aim_ms:g} ms: {verdict}")
if "mosquitto" in names:
    m99, _ = med("mosquitto", "socket", "p99_us")
    m50, _ = med("mosquitto", "socket", "p50_us")
    for n in [x for x in names if x.startswith("verge")]:
        p99, _ = med(n, "socket", "p99_us")
        p50, _ = med(n, "socket", "p50_us")
        print(f"{n} / mosquitto: p50 {p50 / m50:.2f}x, p99 {p99 / m99:.2f}x")
EOF
} | tee "$report"
echo "(saved in $report)"
