#!/usr/bin/env python3
"""probe.py: the measuring side of tests/bench/driver_reports.sh (standard library only).

  probe.py sample URL OUT STOP_FILE
      GET URL (plain HTTP, one keep-alive connection) every 10 ms until STOP_FILE exists;
      writes "wall_ms latency_ms" per request to OUT. A request that fails reconnects and is
      recorded with latency -1.
  probe.py metric URL USER PASSWORD
      prints verge_things_reports_total{kind="properties"} from GET URL (HTTPS, unverified
      certificate: loopback only) with Basic credentials.
  probe.py wait DB RESULT_FILE PK METRICS_URL USER PASSWORD BEFORE TIMEOUT_S
      waits until the flood driver's RESULT_FILE says it is done, then polls every 20 ms
      until (a) the metric has grown by the driver's report count from BEFORE and (b) the
      SQLite table `properties` of DB (opened read-only) holds the last value and time of
      every (device, property) the driver reported; prints
      "accepted_ms=... committed_ms=... rows=..." (wall clock; ms of the first poll that
      saw it).
  probe.py stats SAMPLES FROM_MS TO_MS
      prints "n p50 p99 max" (ms) of the samples sent in [FROM_MS, TO_MS).
  probe.py offset
      prints wall-clock ms minus CLOCK_MONOTONIC ms, to place `perf record -k monotonic`
      timestamps on the wall clock.
  probe.py loop PERF_SCRIPT_OUT OFFSET_MS FROM_MS TO_MS
      reads `perf script -F time,event` of the loop thread's epoll_wait/epoll_pwait enter and
      exit tracepoints and prints "iterations p50 p99 p99.9 max busy%" of the loop's busy
      stretches (from a return of epoll_wait to the next call: the time the loop spends
      running callbacks, during which it answers nothing) that start in [FROM_MS, TO_MS);
      busy% is their sum over the window.
"""
import base64
import http.client
import os
import re
import sqlite3
import ssl
import sys
import time
import urllib.parse


def wall_ms():
    return time.time_ns() // 1_000_000


def sample(url, out, stop_file):
    u = urllib.parse.urlsplit(url)
    conn = None
    period = 0.010
    nxt = time.monotonic()
    with open(out, "w") as f:
        while not os.path.exists(stop_file):
            now = time.monotonic()
            if now < nxt:
                time.sleep(nxt - now)
            nxt += period
            if nxt < time.monotonic():  # a slow answer: the next sample goes out at once
                nxt = time.monotonic()
            sent = wall_ms()
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                conn.request("GET", u.path)
                r = conn.getresponse()
                r.read()
                lat = (time.perf_counter() - t0) * 1000.0
                if r.status != 200:
                    lat = -1.0
            except (OSError, http.client.HTTPException):
                conn = None
                lat = -1.0
            f.write(f"{sent} {lat:.3f}\n")


def metric(url, user, password):
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    conn.request("GET", u.path, headers={"Authorization": "Basic " + auth})
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    if r.status != 200:
        raise SystemExit(f"probe: {url} answered {r.status}: {body[:200]}")
    m = re.search(r'^verge_things_reports_total\{kind="properties"\} (\S+)$', body, re.M)
    return int(float(m.group(1))) if m else 0


def parse_result(text):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", text)}


def expected_rows(res):
    """{(dn, identifier): value} the driver's last reports leave, as flood.c numbers them."""
    R, N, K, P = res["reports"], res["devices"], res["props_per_report"], res["props"]
    window = N * (-(-P // K) + 1)  # enough rounds for every device to cover all P properties
    want = {}
    for i in range(max(0, R - window), R):
        r = i // N
        for j in range(K):
            want[(f"dev{i % N}", f"p{(r * K + j) % P}")] = str(i)
    return want


def wait(db, result_file, pk, url, user, password, before, timeout_s):
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(result_file):
        if time.monotonic() > deadline:
            raise SystemExit("probe: the flood driver did not finish in time")
        time.sleep(0.02)
    with open(result_file) as f:
        res = parse_result(f.read())
    want = expected_rows(res)
    accepted = committed = None
    last_rows = 0
    conn = None
    while accepted is None or committed is None:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"probe: not done in time (accepted={accepted} committed={committed}, "
                f"{last_rows} of {len(want)} rows right)")
        now = wall_ms()
        if accepted is None and metric(url, user, password) - before >= res["reports"]:
            accepted = now
        if committed is None:
            try:
                if conn is None:
                    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
                rows = conn.execute(
                    "SELECT dn, identifier, value FROM properties WHERE pk = ?", (pk,)
                ).fetchall()
                conn.commit()  # end the read transaction so the next poll sees new commits
                got = {(dn, ident): v for dn, ident, v in rows}
                last_rows = sum(1 for k, v in want.items() if got.get(k) == v)
                if last_rows == len(want):
                    committed = now
            except sqlite3.Error:
                conn = None
        time.sleep(0.02)
    print(f"accepted_ms={accepted} committed_ms={committed} rows={len(want)}")


def stats(samples, lo, hi):
    lats = []
    with open(samples) as f:
        for line in f:
            t, lat = line.split()
            if lo <= int(t) < hi:
                lats.append(float(lat))
    if not lats:
        print("0 - - -")
        return
    if any(x < 0 for x in lats):
        print(f"{len(lats)} failed failed failed")
        return
    lats.sort()

    def pct(p):  # nearest rank
        return lats[min(len(lats) - 1, max(0, -(-len(lats) * p // 100) - 1))]

    print(f"{len(lats)} {pct(50):.3f} {pct(99):.3f} {lats[-1]:.3f}")


def loop(perf_out, offset_ms, lo, hi):
    busy = []
    last_exit = None
    pat = re.compile(r"(\d+\.\d+):\s+syscalls:sys_(enter|exit)_epoll_p?wait")
    with open(perf_out) as f:
        for line in f:
            m = pat.search(line)
            if not m:
                continue
            t = float(m.group(1)) * 1000.0 + offset_ms
            if m.group(2) == "exit":
                last_exit = t
            elif last_exit is not None:
                if lo <= last_exit < hi:
                    busy.append(t - last_exit)
                last_exit = None
    if not busy:
        print("0 - - - - -")
        return
    total = sum(busy)
    busy.sort()

    def pct(p):  # nearest rank
        n = len(busy)
        return busy[min(n - 1, max(0, -(-n * p // 1000) - 1))]

    print(f"{len(busy)} {pct(500):.3f} {pct(990):.3f} {pct(999):.3f} {busy[-1]:.3f} "
          f"{100.0 * total / (hi - lo):.0f}%")


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "sample" and len(argv) == 5:
        sample(argv[2], argv[3], argv[4])
    elif cmd == "metric" and len(argv) == 5:
        print(metric(argv[2], argv[3], argv[4]))
    elif cmd == "wait" and len(argv) == 10:
        wait(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], int(argv[8]), float(argv[9]))
    elif cmd == "stats" and len(argv) == 5:
        stats(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "offset" and len(argv) == 2:
        print(f"{time.time_ns() / 1e6 - time.monotonic_ns() / 1e6:.3f}")
    elif cmd == "loop" and len(argv) == 6:
        loop(argv[2], float(argv[3]), int(argv[4]), int(argv[5]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
