#!/usr/bin/env bash
# run.sh: installs what is missing, builds verge (Release, build/release), starts the server
# and DEPLOYS the demo bundle to it (verge deploy over HTTPS, as an operator would), then
# stays in the foreground with the server: Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
# Extra arguments go to `verge serve`, e.g.
#   ./scripts/run.sh --listen 127.0.0.1:9443 --data-dir /var/lib/verge
# Defaults: listen 0.0.0.0:9999, data directory ./var (relative to the repository root).
# The deployment logs in as admin with $VERGE_PASSWORD, else $VERGE_ADMIN_PASSWORD, else the
# first start's default admin1234 (set VERGE_PASSWORD once you have changed it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DVERGE_TESTS=OFF
cmake --build build/release --target verge demo_light -j"$(nproc)"

verge=build/release/verge
# The demo bundle (functions/demo) as the build lays it out, with its driver built beside
# its manifest: a light product, two devices, the demo_light driver, functions and routes.
bundle=build/release/functions/demo

# Where the server will listen, for the deployment and the health check (--listen ADDR:PORT
# among the arguments; a wildcard address is reached on loopback).
listen=0.0.0.0:9999
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[i]}" = "--listen" ] && [ $((i + 1)) -lt ${#args[@]} ]; then listen=${args[i + 1]}; fi
done
port=${listen##*:}
host=${listen%:*}
case "$host" in 0.0.0.0 | "" | "[::]") host=127.0.0.1 ;; esac
gateway="https://$host:$port"

cat >&2 <<'NOTE'
run.sh: starting verge, then deploying the demo bundle to it (Ctrl-C stops it).
run.sh: the certificate's SHA-256 fingerprint is logged below at start-up; README.md
        ("Trusting the certificate") says how to check it.
run.sh: first login: user admin, password admin1234 (or $VERGE_ADMIN_PASSWORD when set at the
        first start); README.md ("Logging in") has the curl commands and how to change it.
NOTE

# In a session of its own, so that a Ctrl-C reaches it once, through the trap below, rather
# than also directly from the terminal (a second signal would cut its graceful stop short).
setsid "$verge" serve "$@" &
server=$!
stop() { kill -s "$1" "$server" 2>/dev/null || true; }
trap 'stop INT' INT
trap 'stop TERM' TERM

# Wait for the API (the first start generates the certificate and hashes the password).
for _ in $(seq 1 300); do
  if ! kill -0 "$server" 2>/dev/null; then
    wait "$server" || exit $?
    exit 1
  fi
  if curl -sk --max-time 1 -o /dev/null "$gateway/healthz"; then break; fi
  sleep 0.1
done

export VERGE_PASSWORD="${VERGE_PASSWORD:-${VERGE_ADMIN_PASSWORD:-admin1234}}"
if ! "$verge" deploy "$bundle" --gateway "$gateway" -k; then
  echo "run.sh: the demo bundle was not deployed (see above); the server keeps running" \
       "whatever version it had" >&2
fi

# In the foreground with the server until it exits. A signal runs the trap (forwarded to the
# server), which cuts `wait` short: wait again for the server's own exit status.
set +e
wait "$server"
rc=$?
while kill -0 "$server" 2>/dev/null; do
  wait "$server"
  rc=$?
done
if [ "$rc" -gt 128 ]; then
  wait "$server"
  last=$?
  [ "$last" -ne 127 ] && rc=$last
fi
exit "$rc"
