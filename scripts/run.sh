#!/usr/bin/env bash
# run.sh: installs what is missing, builds verge (Release, build/release) and starts the
# server in the foreground. Extra arguments go to `verge serve`, e.g.
#   ./scripts/run.sh --listen 127.0.0.1:9443 --data-dir /var/lib/verge
# Defaults: listen 0.0.0.0:9999, data directory ./var (relative to the repository root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DVERGE_TESTS=OFF
cmake --build build/release --target verge demo_light -j"$(nproc)"

# The demo bundle (functions/demo) as the build lays it out, with its driver built beside
# its manifest: a light product, two devices and the demo_light driver.
args=(--bundle build/release/functions/demo)

cat >&2 <<'NOTE'
run.sh: starting verge (Ctrl-C stops it).
run.sh: the certificate's SHA-256 fingerprint is logged below at start-up; README.md
        ("Trusting the certificate") says how to check it.
run.sh: first login: user admin, password admin1234 (or $VERGE_ADMIN_PASSWORD when set at the
        first start); README.md ("Logging in") has the curl commands and how to change it.
NOTE
exec build/release/verge serve "${args[@]}" "$@"
