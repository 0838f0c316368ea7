#!/usr/bin/env bash
# https_rps.sh: HTTPS requests per second on the OpenAPI's cheapest authenticated endpoint
# (POST /system/info with a session cookie, keep-alive), verge against nginx serving the same
# JSON over TLS with the same certificate: from its Lua module (content_by_lua_block), the same
# forced to verge's TLS 1.3 suite (ChaCha20-Poly1305), and from a plain `return 200`. ROUNDS
# interleaved rounds (default 3), medians reported. Also verge's idle and loaded memory.
#
#   tests/bench/https_rps.sh            # 3 rounds of 10 s per server
#   DURATION=30s ROUNDS=5 tests/bench/https_rps.sh
#   VERGE_BIN=path/to/verge tests/bench/https_rps.sh   # skip the Release build
#
# Not a test: it prints figures (and keeps a copy in tests/bench/out/). Everything runs on
# loopback; verge and nginx get CPU 0, wrk CPU 1 when there are two or more CPUs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
NGINX_MODULES=${NGINX_MODULES:-/usr/lib/nginx/modules}

bash scripts/deps.sh --bench
if [ -n "${VERGE_BIN:-}" ]; then  # a binary built elsewhere
  verge_bin=$VERGE_BIN
else
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DVERGE_TESTS=OFF >/dev/null
  cmake --build build/release --target verge -j"$(nproc)" >/dev/null
  verge_bin=$root/build/release/verge
fi

tmp=$(mktemp -d /tmp/verge-bench.XXXXXX)
verge_pid=
nginx_pid=
cleanup() {
  [ -n "$verge_pid" ] && kill "$verge_pid" 2>/dev/null && wait "$verge_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pin SERVER_CPU / CLIENT_CPU when there are two CPUs or more
server_pin=()
client_pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1)
fi

# kB of Rss and Pss of one process, from smaps_rollup: prints "RSS PSS"
mem_of() {
  awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r, p}' "/proc/$1/smaps_rollup"
}

wait_https() { # URL
  for _ in $(seq 1 200); do
    if curl -sk -o /dev/null --max-time 1 "$1"; then return 0; fi
    sleep 0.05
  done
  echo "https_rps: $1 did not answer" >&2
  return 1
}

# run_wrk NAME URL SCRIPT: prints requests/s, fails on any error or non-2xx answer
run_wrk() {
  local name=$1 url=$2 script=$3 out
  out=$("${client_pin[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$script" "$url")
  echo "$out" > "$tmp/wrk-$name.txt"
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "https_rps: $name: wrk saw errors or non-2xx answers:" >&2
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

# ---- verge ---------------------------------------------------------------------------------
vport=$(free_port)
"${server_pin[@]}" "$verge_bin" serve --listen "127.0.0.1:$vport" --data-dir "$tmp/data" \
  2>"$tmp/verge.log" &
verge_pid=$!
wait_https "https://127.0.0.1:$vport/healthz"
sleep 1
read -r idle_rss idle_pss < <(mem_of "$verge_pid")

token=$(curl -sk -D - -o /dev/null \
  -d '{"id":111,"version":"1.0","request":{"apiVer":"0.6"},"params":{"UserName":"admin","Password":"admin1234"}}' \
  -X POST "https://127.0.0.1:$vport/auth/login" |
  sed -nE 's/^[Ss]et-[Cc]ookie: verge_session=([0-9a-fA-F]{64}).*/\1/p')
if [ -z "$token" ]; then
  echo "https_rps: login failed; verge log:" >&2
  cat "$tmp/verge.log" >&2
  exit 1
fi
check=$(curl -sk -b "verge_session=$token" -d '{}' -X POST "https://127.0.0.1:$vport/system/info")
case "$check" in
  *'"code":200'*) ;;
  *) echo "https_rps: /system/info answered $check" >&2; exit 1 ;;
esac

body='{"id":1,"version":"1.0","request":{"apiVer":"0.6"},"params":{}}'
cat >"$tmp/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "verge_session=$token"
EOF

# ---- nginx ---------------------------------------------------------------------------------
nport_lua=$(free_port)
nport_ret=$(free_port)
nport_chacha=$(free_port)
json='{"code":200,"message":"success","data":{"version":"0.1.0","uptimeMs":123456,"user":"admin"}}'
mkdir -p "$tmp/nginx/logs"
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
  ssl_certificate $tmp/data/tls/cert.pem;
  ssl_certificate_key $tmp/data/tls/key.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:$nport_lua ssl;
    location = /system/info {
      content_by_lua_block {
        if ngx.var.cookie_verge_session == nil then return ngx.exit(401) end
        ngx.header.content_type = "application/json"
        ngx.print('$json')
      }
    }
  }
  server {
    listen 127.0.0.1:$nport_chacha ssl;
    ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;
    location = /system/info {
      content_by_lua_block {
        if ngx.var.cookie_verge_session == nil then return ngx.exit(401) end
        ngx.header.content_type = "application/json"
        ngx.print('$json')
      }
    }
  }
  server {
    listen 127.0.0.1:$nport_ret ssl;
    location = /system/info {
      default_type application/json;
      return 200 '$json';
    }
  }
}
EOF
"${server_pin[@]}" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" \
  -g 'daemon off;' &
nginx_pid=$!
wait_https "https://127.0.0.1:$nport_lua/system/info"

# ---- the runs: ROUNDS rounds, each running every server once, interleaved so that a noisy
# neighbour hurts all of them alike; the medians are reported -------------------------------
names=(verge nginx-lua nginx-lua-chacha nginx-return)
declare -A url=(
  [verge]="https://127.0.0.1:$vport/system/info"
  [nginx-lua]="https://127.0.0.1:$nport_lua/system/info"
  [nginx-lua-chacha]="https://127.0.0.1:$nport_chacha/system/info"
  [nginx-return]="https://127.0.0.1:$nport_ret/system/info"
)
declare -A port=([verge]=$vport [nginx-lua]=$nport_lua [nginx-lua-chacha]=$nport_chacha
                 [nginx-return]=$nport_ret)
declare -A rps p50 p99 cipher
for n in "${names[@]}"; do cipher[$n]=$(cipher_of "${port[$n]}"); done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for n in "${names[@]}"; do
    r=$(run_wrk "$n" "${url[$n]}" "$tmp/post.lua")
    read -r a b < <(latency_of "$n")
    rps[$n]+="$r "
    p50[$n]+="$a "
    p99[$n]+="$b "
    echo "round $round/$ROUNDS: $n $r requests/s" >&2
  done
done
read -r load_rss load_pss < <(mem_of "$verge_pid")

median() { # numbers... (wrk's units kept: the middle one of the sorted list)
  printf '%s\n' "$@" | awk '{ v = $1; x = v; if (x ~ /us$/) x *= 0.001; else if (x ~ /ms$/) x += 0; else if (x ~ /s$/) x *= 1000; print x, v }' |
    sort -g | awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }'
}
nginx_rss=0
nginx_pss=0
for p in $nginx_pid $(pgrep -P "$nginx_pid" || true); do
  read -r r s < <(mem_of "$p")
  nginx_rss=$((nginx_rss + r))
  nginx_pss=$((nginx_pss + s))
done

# ---- report --------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
mkdir -p tests/bench/out
report=tests/bench/out/https_rps-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  echo "https_rps $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'))"
  echo "wrk -t1 -c$CONNS -d$DURATION, POST /system/info with a session cookie, keep-alive; medians of $ROUNDS interleaved rounds"
  echo "load average before/after the runs: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "versions: $("$verge_bin" version 2>/dev/null | head -n1) / $(nginx -v 2>&1)"
  echo
  printf '%-18s %12s %9s %9s  %-36s %s\n' server "requests/s" p50 p99 TLS "requests/s of each round"
  for n in "${names[@]}"; do
    # shellcheck disable=SC2086
    printf '%-18s %12s %9s %9s  %-36s %s\n' "$n" "$(median ${rps[$n]})" "$(median ${p50[$n]})" \
      "$(median ${p99[$n]})" "${cipher[$n]}" "${rps[$n]}"
  done
  echo
  # shellcheck disable=SC2086
  v=$(median ${rps[verge]})
  printf '%-26s %-16s %s\n' "" "of the medians" "median of the per-round ratios"
  for n in nginx-lua nginx-lua-chacha nginx-return; do
    # shellcheck disable=SC2086
    read -r -a vs <<<"${rps[verge]}"
    read -r -a ns <<<"${rps[$n]}"
    per=()
    for i in "${!vs[@]}"; do per+=("$(ratio "${vs[$i]}" "${ns[$i]}")"); done
    # shellcheck disable=SC2086
    printf 'verge / %-18s %-16s %s  (%s)\n' "$n:" "$(ratio "$v" "$(median ${rps[$n]})")" \
      "$(median "${per[@]}")" "${per[*]}"
  done
  echo
  echo "verge memory idle:        RSS $(mib "$idle_rss") MiB, PSS $(mib "$idle_pss") MiB"
  echo "verge memory after load:  RSS $(mib "$load_rss") MiB, PSS $(mib "$load_pss") MiB"
  echo "nginx (master + worker) after load: RSS $(mib "$nginx_rss") MiB, PSS $(mib "$nginx_pss") MiB"
} | tee "$report"
echo "(saved in $report)"
