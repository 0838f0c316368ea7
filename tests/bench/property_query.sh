#!/usr/bin/env bash
# property_query.sh: property queries (POST /thing/device/property/query with a session cookie,
# over HTTPS keep-alive), requests per second, p50 and p99, verge against nginx + its Lua module
# answering the same JSON in the same run.
#
#   tests/bench/property_query.sh            # 5 rounds of 6 s per server (about 2.5 minutes)
#   DURATION=30s ROUNDS=5 tests/bench/property_query.sh
#   VERGE_BIN=path/to/verge DEMO_BUNDLE=path/to/functions/demo tests/bench/property_query.sh
#
# Servers, each measured once per round, rounds interleaved, medians reported:
#   verge-cache       the devices are Offline with their properties cached (a fake driver,
#                     tests/bench/fake_driver.py, connected them, reported once and disconnected
#                     them), so every query is answered from the property cache, no driver
#                     round trip;
#   verge-live        the demo bundle's driver online: every query goes to the driver process
#                     over the driver socket (callServices get) and back;
#   nginx-lua         nginx (one worker, verge's certificate, TLS 1.2/1.3) decoding the same
#                     request body with cjson, looking the device and each property up in a Lua
#                     table built at start-up and returning the same bytes verge-cache returns;
#   nginx-lua-chacha  the same with TLS 1.3 restricted to ChaCha20-Poly1305, the suite verge
#                     prefers.
# Not a test: it prints figures (and keeps a copy in tests/bench/out/). Everything runs on
# loopback; the servers (and verge's driver processes) get CPU 0, wrk CPU 1 when there are two
# or more CPUs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

DURATION=${DURATION:-6s}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-5}
NGINX_MODULES=${NGINX_MODULES:-/usr/lib/nginx/modules}
# the system Python when there is one: a version manager's shim can take seconds to start
PYTHON=${PYTHON:-$(if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi)}

bash scripts/deps.sh --bench
if [ -n "${VERGE_BIN:-}" ]; then  # a binary built elsewhere
  verge_bin=$VERGE_BIN
  demo_bundle=${DEMO_BUNDLE:-$(dirname "$VERGE_BIN")/functions/demo}
else
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DVERGE_TESTS=OFF >/dev/null
  cmake --build build/release --target verge demo_light -j"$(nproc)" >/dev/null
  verge_bin=$root/build/release/verge
  demo_bundle=$root/build/release/functions/demo
fi
if [ ! -x "$demo_bundle/drivers/demo_light/main" ]; then
  echo "property_query: no demo bundle at $demo_bundle (set DEMO_BUNDLE)" >&2
  exit 1
fi

tmp=$(mktemp -d /tmp/verge-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill "$p" 2>/dev/null; then wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

server_pin=()
client_pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_pin=(taskset -c "${SERVER_CPU:-0}")
  client_pin=(taskset -c "${CLIENT_CPU:-1}")
fi

wait_https() { # URL
  for _ in $(seq 1 200); do
    if curl -sk -o /dev/null --max-time 1 "$1"; then return 0; fi
    sleep 0.05
  done
  echo "property_query: $1 did not answer" >&2
  return 1
}

# run_wrk NAME URL SCRIPT: prints requests/s, fails on any error or non-2xx answer
run_wrk() {
  local name=$1 url=$2 script=$3 out
  out=$("${client_pin[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$script" "$url")
  echo "$out" > "$tmp/wrk-$name.txt"
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "property_query: $name: wrk saw errors or non-2xx answers:" >&2
    echo "$out" >&2
    exit 1
  fi
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}

latency_of() { # NAME: "p50 p99" from wrk --latency (wrk's units)
  awk '/^ +50%/ {a=$2} /^ +99%/ {b=$2} END {print a, b}' "$tmp/wrk-$1.txt"
}

cipher_of() { # PORT
  openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null |
    awk '/^New, / {gsub(",", ""); print $2, $5; exit}'
}

body='{"request":{"apiVer":"0.6"},"params":{"productKey":"a1DemoLight","deviceName":"LightDev1","propertyIdentifier":["brightness","LightSwitch","temperature"]}}'
query() { # PORT TOKEN: the reply to one query
  curl -sk -b "verge_session=$2" -d "$body" -X POST "https://127.0.0.1:$1/thing/device/property/query"
}

# start_verge NAME BUNDLE: starts verge on a free port; sets port_NAME, token_NAME
port_cache='' token_cache='' port_live='' token_live=''
start_verge() {
  local name=$1 bundle=$2 port token
  port=$(free_port)
  "${server_pin[@]}" "$verge_bin" serve --listen "127.0.0.1:$port" --data-dir "$tmp/data-$name" \
    --bundle "$bundle" 2>"$tmp/verge-$name.log" &
  pids+=($!)
  wait_https "https://127.0.0.1:$port/healthz"
  token=$(curl -sk -D - -o /dev/null \
    -d '{"id":111,"version":"1.0","request":{"apiVer":"0.6"},"params":{"UserName":"admin","Password":"admin1234"}}' \
    -X POST "https://127.0.0.1:$port/auth/login" |
    sed -nE 's/^[Ss]et-[Cc]ookie: verge_session=([0-9a-fA-F]{64}).*/\1/p')
  if [ -z "$token" ]; then
    echo "property_query: login to $name failed; its log:" >&2
    cat "$tmp/verge-$name.log" >&2
    exit 1
  fi
  printf -v "port_$name" '%s' "$port"
  printf -v "token_$name" '%s' "$token"
}

# wait_reply NAME PATTERN: until a query to verge NAME answers with PATTERN (the driver is up)
wait_reply() {
  local name=$1 pattern=$2 p t r
  p=port_$name
  t=token_$name
  for _ in $(seq 1 200); do
    r=$(query "${!p}" "${!t}")
    if grep -qF -- "$pattern" <<<"$r"; then echo "$r"; return 0; fi
    sleep 0.05
  done
  echo "property_query: verge $name never answered a query with $pattern; last reply: $r; its log:" >&2
  cat "$tmp/verge-$name.log" >&2
  exit 1
}

# ---- verge-cache: the fake driver reports once, then its devices go offline ----------------
cbundle=$tmp/bundle-cache
mkdir -p "$cbundle/products" "$cbundle/drivers/fake"
cp "$demo_bundle/products/light.json" "$cbundle/products/"
sed "1s|.*|#!$PYTHON|" tests/bench/fake_driver.py >"$cbundle/drivers/fake/main"
chmod +x "$cbundle/drivers/fake/main"
cat >"$cbundle/bundle.json" <<EOF
{"name":"bench-cache","version":"1.0.0",
 "products":[{"productKey":"a1DemoLight","tsl":"products/light.json"}],
 "drivers":[{"name":"fake","exec":"drivers/fake/main",
   "config":{"json":{"mode":"cache","properties":{"LightSwitch":1,"brightness":60,"temperature":42.9}},
             "kv":[],"fileList":[]},
   "devices":[{"productKey":"a1DemoLight","deviceName":"LightDev1"},
              {"productKey":"a1DemoLight","deviceName":"LightDev2"}]}]}
EOF
start_verge cache "$cbundle"
reply_cache=$(wait_reply cache '"message":"success (from the property cache')
# the devices are Offline: no query reaches a driver
count=$(curl -sk -b "verge_session=$token_cache" -d '{"params":{"onlineStatus":1}}' \
  -X POST "https://127.0.0.1:$port_cache/thing/device/count")
case "$count" in
  *'"deviceCount":0'*) ;;
  *) echo "property_query: verge-cache has devices online: $count" >&2; exit 1 ;;
esac

# ---- verge-live: the demo driver answers every query ---------------------------------------
start_verge live "$demo_bundle"
reply_live=$(wait_reply live '"code":200,"message":"success","data"')

# ---- nginx + Lua: the same bytes as verge-cache, from a Lua table --------------------------
# The table is built from verge-cache's reply: device -> property -> its JSON item.
lua_table=$("$PYTHON" - "$reply_cache" <<'EOF'
import json, sys
reply = json.loads(sys.argv[1])
def lua(s):  # a Lua long string literal that cannot clash with the JSON inside
    return "[==[" + s + "]==]"
items = ", ".join(
    f"[ {lua(i['attribute'])} ] = {lua(json.dumps(i, separators=(',', ':')))}" for i in reply["data"])
head = json.dumps({"code": reply["code"], "message": reply["message"]}, separators=(",", ":"))
print(f"head = {lua(head[:-1] + ',' + chr(34) + 'data' + chr(34) + ':[')}")
print(f"cache = {{ a1DemoLight = {{ LightDev1 = {{ {items} }} }} }}")
EOF
)
nport_lua=$(free_port)
nport_chacha=$(free_port)
mkdir -p "$tmp/nginx/logs"
lua_handler='
        if ngx.var.cookie_verge_session == nil then return ngx.exit(401) end
        ngx.req.read_body()
        local req = cjson.decode(ngx.req.get_body_data() or "")
        local p = type(req) == "table" and req.params
        if type(p) ~= "table" or type(p.propertyIdentifier) ~= "table" then return ngx.exit(400) end
        local dev = cache[p.productKey] and cache[p.productKey][p.deviceName]
        if not dev then return ngx.exit(404) end
        local items, n = {}, 0
        for _, id in ipairs(p.propertyIdentifier) do
          local item = dev[id]
          if item then n = n + 1; items[n] = item end
        end
        ngx.header.content_type = "application/json"
        ngx.print(head, table.concat(items, ","), "]}")'
cat >"$tmp/nginx/nginx.conf" <<EOF
load_module $NGINX_MODULES/ndk_http_module.so;
load_module $NGINX_MODULES/ngx_http_lua_module.so;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_buffer_size 16k;
  ssl_certificate $tmp/data-cache/tls/cert.pem;
  ssl_certificate_key $tmp/data-cache/tls/key.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  init_by_lua_block {
    cjson = require "cjson.safe"
    $lua_table
  }
  server {
    listen 127.0.0.1:$nport_lua ssl;
    location = /thing/device/property/query {
      content_by_lua_block {$lua_handler
      }
    }
  }
  server {
    listen 127.0.0.1:$nport_chacha ssl;
    ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;
    location = /thing/device/property/query {
      content_by_lua_block {$lua_handler
      }
    }
  }
}
EOF
"${server_pin[@]}" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" \
  -g 'daemon off;' &
pids+=($!)
wait_https "https://127.0.0.1:$nport_lua/"
for p in "$nport_lua" "$nport_chacha"; do
  r=$(query "$p" "$token_cache")
  if [ "$r" != "$reply_cache" ]; then
    echo "property_query: nginx on $p does not answer what verge-cache does:" >&2
    echo "  verge: $reply_cache" >&2
    echo "  nginx: $r" >&2
    cat "$tmp/nginx/logs/error.log" >&2
    exit 1
  fi
done

# ---- wrk scripts: the same body, each server's own session cookie --------------------------
for n in cache live; do
  t=token_$n
  cat >"$tmp/post-$n.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "verge_session=${!t}"
EOF
done

# ---- the runs: ROUNDS rounds, each running every server once ------------------------------
names=(verge-cache verge-live nginx-lua nginx-lua-chacha)
declare -A url=(
  [verge-cache]="https://127.0.0.1:$port_cache/thing/device/property/query"
  [verge-live]="https://127.0.0.1:$port_live/thing/device/property/query"
  [nginx-lua]="https://127.0.0.1:$nport_lua/thing/device/property/query"
  [nginx-lua-chacha]="https://127.0.0.1:$nport_chacha/thing/device/property/query"
)
declare -A port=([verge-cache]=$port_cache [verge-live]=$port_live [nginx-lua]=$nport_lua
                 [nginx-lua-chacha]=$nport_chacha)
declare -A script=([verge-cache]=$tmp/post-cache.lua [verge-live]=$tmp/post-live.lua
                   [nginx-lua]=$tmp/post-cache.lua [nginx-lua-chacha]=$tmp/post-cache.lua)
declare -A rps p50 p99 cipher
for n in "${names[@]}"; do cipher[$n]=$(cipher_of "${port[$n]}"); done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for n in "${names[@]}"; do
    r=$(run_wrk "$n" "${url[$n]}" "${script[$n]}")
    read -r a b < <(latency_of "$n")
    rps[$n]+="$r "
    p50[$n]+="$a "
    p99[$n]+="$b "
    echo "round $round/$ROUNDS: $n $r requests/s (p50 $a, p99 $b)" >&2
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# still what was measured: the cache path still answers from the cache, the live one live
after_cache=$(query "$port_cache" "$token_cache")
after_live=$(query "$port_live" "$token_live")
grep -qF '(from the property cache' <<<"$after_cache" ||
  { echo "property_query: verge-cache stopped answering from the cache: $after_cache" >&2; exit 1; }
grep -qF '"message":"success","data"' <<<"$after_live" ||
  { echo "property_query: verge-live stopped answering live: $after_live" >&2; exit 1; }

to_ms() { # a wrk latency (e.g. 812.00us, 1.37ms, 1.02s) in ms
  awk -v v="$1" 'BEGIN { x = v + 0; if (v ~ /us$/) x *= 0.001; else if (v ~ /ms$/) x += 0;
                         else if (v ~ /s$/) x *= 1000; printf "%.3f", x }'
}
median() { # numbers... (wrk's units kept: the middle one of the sorted list)
  printf '%s\n' "$@" | awk '{ v = $1; x = v; if (x ~ /us$/) x *= 0.001; else if (x ~ /ms$/) x += 0; else if (x ~ /s$/) x *= 1000; print x, v }' |
    sort -g | awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# ---- report --------------------------------------------------------------------------------
mkdir -p tests/bench/out
report=tests/bench/out/property_query-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  echo "property_query $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'))"
  echo "wrk -t1 -c$CONNS -d$DURATION --latency, POST /thing/device/property/query (3 properties of LightDev1) with a session cookie, keep-alive; medians of $ROUNDS interleaved rounds"
  echo "load average before/after the runs: $load_before / $load_after"
  echo "versions: $("$verge_bin" version 2>/dev/null | head -n1) / $(nginx -v 2>&1)"
  echo "reply ($(printf %s "$reply_cache" | wc -c) bytes, the same from verge-cache and nginx): $reply_cache"
  echo "verge-live reply ($(printf %s "$reply_live" | wc -c) bytes): $reply_live"
  echo
  printf '%-18s %12s %9s %9s  %-36s %s\n' server "requests/s" p50 p99 TLS "requests/s of each round"
  for n in "${names[@]}"; do
    # shellcheck disable=SC2086
    printf '%-18s %12s %9s %9s  %-36s %s\n' "$n" "$(median ${rps[$n]})" "$(median ${p50[$n]})" \
      "$(median ${p99[$n]})" "${cipher[$n]}" "${rps[$n]}"
  done
  echo
  printf '%-36s %-16s %-16s %s\n' "" "rps ratio" "p99 ratio" "rps: median of the per-round ratios"
  for pair in verge-cache:nginx-lua verge-cache:nginx-lua-chacha verge-live:nginx-lua \
              verge-live:verge-cache; do
    a=${pair%%:*}
    b=${pair#*:}
    read -r -a as <<<"${rps[$a]}"
    read -r -a bs <<<"${rps[$b]}"
    per=()
    for i in "${!as[@]}"; do per+=("$(ratio "${as[$i]}" "${bs[$i]}")"); done
    # shellcheck disable=SC2086
    printf '%-36s %-16s %-16s %s  (%s)\n' "$a / $b:" \
      "$(ratio "$(median ${rps[$a]})" "$(median ${rps[$b]})")" \
      "$(ratio "$(to_ms "$(median ${p99[$a]})")" "$(to_ms "$(median ${p99[$b]})")")" \
      "$(median "${per[@]}")" "${per[*]}"
  done
} | tee "$report"
echo "(saved in $report)"
