#!/usr/bin/env python3
"""scale.py: the scale test of issue 7 (standard library only; tests/bench/run calls it as the
part `scale`, and it runs alone).

  scale.py VERGE SCALE_REPORTER OUT_JSON [--sizes 10,30,100] [--rate-s 20] [--warmup-s 3]
           [--idle-s 5] [--big-bytes 1048576]

For each size S (a percentage of the full scale: 1,000 functions, 100 drivers, 10,000 devices
x 50 properties, 10,000 routes) it writes a bundle: the product a1ScaleSensor (50 int
properties p00 .. p49, the event tick); S% of 100 drivers (the one executable SCALE_REPORTER,
tests/bench/realistic/scale_reporter.c) of 100 devices each; S% of 1,000 Lua functions
(EdgeFC/fNNNN, on-demand, each decodes the routed event and checks it); one route per device
(S% of 10,000): the tick events of that one device to the function fNNNN (device index modulo
the functions; bundle.json is written compact, and where it would pass verge's limit of
1 MiB, BUNDLE_MANIFEST_MAX, device routes are dropped until it fits: recorded as
counts.routes_wanted and counts.routes); and the pair EdgeFC/big_gen, EdgeFC/big_sink with the route "big" (messages
that big_gen publishes on /big/# go to big_sink, which checks their size). It then runs
`verge serve --bundle DIR` (fresh data directory, loopback port) and records:
  - start-up: ms from the exec to the first successful POST /auth/login, and to every driver
    up (verge_driver_up in GET /metrics);
  - the footprint idle: RSS and PSS of verge and of all drivers (/proc/PID/smaps_rollup);
  - the fill: every device reports its 50 properties once (the drivers start when the file
    `fill` appears); ms and CPU (utime + stime, verge; drivers) until
    verge_things_reports_total has risen by the number of devices and nothing is pending;
  - a rate test at 10% of the realistic rate (100 routed messages/s in all, 5 property
    queries/s, as workload.py runs 1,000 and 50): routed messages, route-target invocations,
    verge's CPU per 1,000 messages, the property queries' latencies (POST
    /thing/device/property/query of 3 properties, rotating over every device);
  - one BIG_BYTES message: POST /function/invoke of big_gen, which publishes it; ms from the
    invoke to big_sink's ok invocation (verge_fn_invocations_total), and that it arrived.
Then it prints a table of the sizes with the ratios between consecutive sizes and flags every
per-item figure (ms or CPU per device, KiB per device, CPU per message, latency) that grows by
more than 1.5x from one size to the next: a cost growing more than linearly with the size.
Every connection is to 127.0.0.1. Not a test: it prints and writes the figures, and exits 1 if
a size failed to start, fill, route or deliver the big message.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload as wl  # noqa: E402  (the helpers: Api, /proc, metrics, percentiles)

PK = "a1ScaleSensor"
NPROPS = 50
FULL = {"functions": 1000, "drivers": 100, "devices": 10000, "routes": 10000}
DEVICES_PER_DRIVER = 100
MANIFEST_MAX = 16 * 1048576  # runtime/bundle/bundle.h: BUNDLE_MANIFEST_MAX, bytes of bundle.json
RATE_TOTAL = 100  # routed messages/s: 10% of workload.py's 1,000
QUERY_RATE = 5  # property queries/s: 10% of workload.py's 5 x 10

FN_LUA = """-- %(name)s.lua: a route target of the scale test (tests/bench/realistic/scale.py): decodes
-- the routed tick event of a device and checks it carries its counter.
local cjson = require("cjson")

function handler(event, context)
  local m = cjson.decode(event)
  local p = cjson.decode(m.payload)
  if p.params == nil or p.params.value == nil or p.params.value.n == nil then
    error("no tick counter in " .. m.payload)
  end
end
"""

BIG_GEN_LUA = """-- big_gen.lua: publishes one message of N bytes (N, the invoke payload) on /big/x.
local lecoresdk = require("lecoresdk")
local iot = lecoresdk.IoTData()

function handler(event, context)
  local n = tonumber(event)
  iot:publish({topic = "/big/x", payload = string.rep("x", n)})
  return tostring(n)
end
"""

BIG_SINK_LUA = """-- big_sink.lua: the target of the route big; checks the message is %(n)d bytes.
local cjson = require("cjson")

function handler(event, context)
  local m = cjson.decode(event)
  if #m.payload ~= %(n)d then error("big message of " .. #m.payload .. " bytes") end
end
"""


def device_name(i):
    return "d%05d" % i


def counts(size):
    return {k: max(1, v * size // 100) for k, v in FULL.items()}


def tsl():
    props = [{"identifier": "p%02d" % k, "name": "Counter %d" % k, "accessMode": "r",
              "required": False,
              "dataType": {"type": "int", "specs": {"min": "0", "max": "1000000", "step": "1"}}}
             for k in range(NPROPS)]
    event = {"identifier": "tick", "name": "Tick", "type": "info", "required": False,
             "method": "thing.event.tick.post",
             "outputData": [{"identifier": "n", "name": "n",
                             "dataType": {"type": "int",
                                          "specs": {"min": "0", "max": "1000000",
                                                    "step": "1"}}}]}
    return {"schema": "https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json",
            "profile": {"productKey": PK}, "properties": props, "events": [event],
            "services": []}


def write_bundle(d, reporter, c, big_bytes):
    for sub in ("products", "functions", "drivers/scale"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "products/sensor.json"), "w") as f:
        json.dump(tsl(), f)
    shutil.copy(reporter, os.path.join(d, "drivers/scale/main"))
    rate = max(1, RATE_TOTAL // c["drivers"])
    drivers = [{"name": "scale%03d" % i, "exec": "drivers/scale/main",
                "config": {"json": {"rate": rate, "fill_file": "fill", "run_file": "run"},
                           "kv": [], "fileList": []},
                "devices": [{"productKey": PK, "deviceName": device_name(j)} for j in
                            range(i * DEVICES_PER_DRIVER,
                                  min(c["devices"], (i + 1) * DEVICES_PER_DRIVER))]}
               for i in range(c["drivers"])]
    functions = []

    def add(name, code, **kw):
        path = "functions/%s.lua" % name
        with open(os.path.join(d, path), "w") as f:
            f.write(code)
        fn = {"service": "EdgeFC", "name": name, "code": path, "handler": "handler"}
        fn.update(kw)
        functions.append(fn)

    for i in range(c["functions"]):
        add("f%04d" % i, FN_LUA % {"name": "f%04d" % i})
    add("big_gen", BIG_GEN_LUA, memoryMB=64, timeoutMs=10000)
    add("big_sink", BIG_SINK_LUA % {"n": big_bytes}, memoryMB=64, timeoutMs=10000)
    routes = [{"name": "r%05d" % i,
               "source": {"type": "device"},  # any device: the topic names the one
               "topic": "/sys/%s/%s/thing/event/tick/post" % (PK, device_name(i)),
               "target": {"type": "function", "service": "EdgeFC",
                          "function": "f%04d" % (i % c["functions"])}}
              for i in range(c["routes"])]
    routes.append({"name": "big", "source": {"type": "function", "service": "EdgeFC",
                                             "function": "big_gen"},
                   "topic": "/big/#",
                   "target": {"type": "function", "service": "EdgeFC",
                              "function": "big_sink"}})
    bundle = {"name": "scale", "version": "1.0.0",
              "products": [{"productKey": PK, "tsl": "products/sensor.json"}],
              "drivers": drivers, "functions": functions, "routes": routes}
    text = json.dumps(bundle, separators=(",", ":"))
    if len(text) > MANIFEST_MAX:  # verge's limit: drop device routes until it fits
        per_route = len(json.dumps(routes[0], separators=(",", ":"))) + 1
        keep = c["routes"] - (len(text) - MANIFEST_MAX) // per_route - 1
        while len(text) > MANIFEST_MAX and keep > 0:
            bundle["routes"] = routes[:keep] + routes[-1:]
            text = json.dumps(bundle, separators=(",", ":"))
            keep -= 10
        c["routes_wanted"], c["routes"] = c["routes"], len(bundle["routes"]) - 1
    with open(os.path.join(d, "bundle.json"), "w") as f:
        f.write(text)
    return len(text)


EVENTS = 'verge_things_reports_total{kind="event"}'


def msum(m, prefix, suffix=""):
    return sum(v for k, v in m.items() if k.startswith(prefix) and k.endswith(suffix))


def routed(m):
    return msum(m, 'verge_route_messages_total{route="r', 'outcome="forwarded"}')


def target_ok(m):
    return msum(m, 'verge_fn_invocations_total{function="EdgeFC/f', 'outcome="ok"}')


def target_all(m):
    return msum(m, 'verge_fn_invocations_total{function="EdgeFC/f')


def fn_count(m, fn, outcome):
    return m.get('verge_fn_invocations_total{function="EdgeFC/%s",outcome="%s"}'
                 % (fn, outcome), 0)


class Querier(threading.Thread):
    """POST /thing/device/property/query RATE times a second (fixed schedule, one keep-alive
    connection), 3 properties of a device, rotating over every device."""

    def __init__(self, port, ndev, rate, stop_ev):
        super().__init__(daemon=True)
        self.port, self.ndev, self.rate, self.stop_ev = port, ndev, rate, stop_ev
        self.samples = []  # (wall time at send, ms, ok)
        self.error = None

    def run(self):
        try:
            api = wl.Api(self.port)
            api.login()
            nxt = time.monotonic()
            i = 0
            while not self.stop_ev.is_set():
                dn = device_name((i * 7919) % self.ndev)
                body = json.dumps({"id": i, "version": "1.0", "request": {"apiVer": "0.6"},
                                   "params": {"productKey": PK, "deviceName": dn,
                                              "propertyIdentifier": ["p00", "p25", "p49"]}})
                i += 1
                t0 = time.monotonic()
                r, text = api.request("POST", "/thing/device/property/query", body)
                lat = (time.monotonic() - t0) * 1000
                ok = r.status == 200 and json.loads(text).get("code") == 200
                if not ok and self.error is None:
                    self.error = "%d %s" % (r.status, text[:200].decode(errors="replace"))
                self.samples.append((time.time(), lat, ok))
                nxt += 1.0 / self.rate
                self.stop_ev.wait(max(0, nxt - time.monotonic()))
        except Exception as e:
            self.error = "%s: %s" % (type(e).__name__, e)


def cpu_of(pids):
    total = 0
    for p in pids:
        try:
            total += wl.cpu_ticks(p)
        except OSError:
            pass
    return total


def wait_metric(api, cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        m = api.metrics()
        if cond(m):
            return m
        if time.monotonic() > deadline:
            raise RuntimeError("%s: not within %d s" % (what, timeout))
        time.sleep(0.02)


def run_size(a, size, tmp):
    c = counts(size)
    res = {"size_pct": size, "counts": c}
    bundle = os.path.join(tmp, "bundle-%d" % size)
    res["manifest_bytes"] = write_bundle(bundle, a.reporter, c, a.big_bytes)
    port = wl.free_port()
    log = open(os.path.join(tmp, "verge-%d.log" % size), "wb")
    t0 = time.monotonic()
    proc = wl.start_verge(a.verge, bundle, os.path.join(tmp, "data-%d" % size), port, log)
    stop_ev = threading.Event()
    try:
        api = wl.Api(port, timeout=30)
        while True:  # start-up: the first login, then every driver up
            if proc.poll() is not None:
                raise RuntimeError("verge exited with %d at start-up" % proc.returncode)
            try:
                api.login()
                break
            except (OSError, wl.http.client.HTTPException, RuntimeError):
                if time.monotonic() - t0 > a.start_timeout_s:
                    raise RuntimeError("no login within %d s" % a.start_timeout_s)
                time.sleep(0.005)
        res["login_ms"] = round((time.monotonic() - t0) * 1000, 1)
        wait_metric(api, lambda m: wl.drivers_up(m) == c["drivers"], a.start_timeout_s,
                    "%d drivers up" % c["drivers"])
        res["drivers_up_ms"] = round((time.monotonic() - t0) * 1000, 1)
        drivers = wl.children(proc.pid)
        res["driver_processes"] = len(drivers)
        print("scale: %d%%: login %.0f ms, %d drivers up %.0f ms" % (
            size, res["login_ms"], len(drivers), res["drivers_up_ms"]), file=sys.stderr)

        time.sleep(2)
        idle = wl.sample_for(a.idle_s, proc.pid)
        fp = wl.summarize_footprint(idle)
        for k in ("verge_rss", "verge_pss", "drivers_rss", "drivers_pss", "total_pss"):
            res["idle_" + k + "_kib"] = fp[k]["median"]

        # the fill: every device reports its 50 properties once
        m0 = api.metrics()
        r0 = msum(m0, "verge_things_reports_total")
        v0, d0 = wl.cpu_ticks(proc.pid), cpu_of(drivers)
        tf = time.monotonic()
        open(os.path.join(bundle, "drivers/scale/fill"), "w").close()
        m1 = wait_metric(api, lambda m: msum(m, "verge_things_reports_total") - r0 >= c["devices"]
                         and msum(m, "verge_things_cache_pending") == 0, a.fill_timeout_s,
                         "the fill")
        res["fill_ms"] = round((time.monotonic() - tf) * 1000, 1)
        res["fill_verge_cpu_ms"] = round((wl.cpu_ticks(proc.pid) - v0) * 1000 / wl.HZ, 1)
        res["fill_drivers_cpu_ms"] = round((cpu_of(drivers) - d0) * 1000 / wl.HZ, 1)
        res["fill_reports"] = int(msum(m1, "verge_things_reports_total") - r0)
        fp = wl.summarize_footprint(wl.sample_for(2, proc.pid))
        res["filled_verge_rss_kib"] = fp["verge_rss"]["median"]
        print("scale: %d%%: fill %.0f ms, verge CPU %.0f ms" % (
            size, res["fill_ms"], res["fill_verge_cpu_ms"]), file=sys.stderr)

        # the rate test at 10% of the realistic rate
        q = Querier(port, c["devices"], QUERY_RATE, stop_ev)
        q.start()
        run_file = os.path.join(bundle, "drivers/scale/run")
        open(run_file, "w").close()
        time.sleep(a.warmup_s)
        m0 = api.metrics()
        w0, s0 = time.time(), time.monotonic()
        v0 = wl.cpu_ticks(proc.pid)
        time.sleep(a.rate_s)
        m1 = api.metrics()
        secs = time.monotonic() - s0
        w1 = time.time()
        vcpu = (wl.cpu_ticks(proc.pid) - v0) / wl.HZ
        ev = m1.get(EVENTS, 0) - m0.get(EVENTS, 0)
        res["rate_events"] = int(ev)
        res["rate_verge_cpu_ms_per_1k_events"] = round(vcpu * 1e6 / ev, 1) if ev else None
        os.unlink(run_file)
        stop_ev.set()
        q.join(5)
        n = routed(m1) - routed(m0)
        res["rate_routed"] = int(n)
        res["rate_routed_per_s"] = round(n / secs, 1)
        res["rate_s"] = round(secs, 2)
        res["rate_target_ok"] = int(target_ok(m1) - target_ok(m0))
        res["rate_target_all"] = int(target_all(m1) - target_all(m0))
        res["rate_verge_cpu_pct"] = round(100 * vcpu / secs, 2)
        res["rate_verge_cpu_ms_per_1k"] = round(vcpu * 1e6 / n, 1) if n else None
        lat = [ms for (t, ms, ok) in q.samples if w0 <= t <= w1]
        res["query_n"] = len(lat)
        res["query_failed"] = sum(1 for (t, ms, ok) in q.samples if not ok)
        res["query_p50_ms"] = round(wl.pct(lat, 50), 2) if lat else None
        res["query_p99_ms"] = round(wl.pct(lat, 99), 2) if lat else None
        res["query_error"] = q.error
        print("scale: %d%%: %d routed (%.1f/s), verge %.1f ms CPU / 1k, query p50 %s ms" % (
            size, n, n / secs, res["rate_verge_cpu_ms_per_1k"] or -1, res["query_p50_ms"]),
            file=sys.stderr)

        # one big message through the route big
        time.sleep(1)
        m0 = api.metrics()
        ok0, err0 = fn_count(m0, "big_sink", "ok"), msum(m0, 'verge_fn_invocations_total'
                                                          '{function="EdgeFC/big_sink"')
        body = json.dumps({"params": {"serviceName": "EdgeFC", "functionName": "big_gen",
                                      "payload": str(a.big_bytes)}})
        tb = time.monotonic()
        r, text = api.request("POST", "/function/invoke", body)
        res["big_invoke_status"] = r.status
        res["big_invoke_ms"] = round((time.monotonic() - tb) * 1000, 1)
        try:
            m1 = wait_metric(api, lambda m: msum(m, 'verge_fn_invocations_total'
                                                    '{function="EdgeFC/big_sink"') > err0,
                             30, "big_sink invoked")
            res["big_delivered_ms"] = round((time.monotonic() - tb) * 1000, 1)
            res["big_delivered_ok"] = fn_count(m1, "big_sink", "ok") > ok0
        except RuntimeError as e:
            res["big_delivered_ms"] = None
            res["big_delivered_ok"] = False
            res["big_error"] = "%s (invoke answered %d %s)" % (
                e, r.status, text[:200].decode(errors="replace"))
        print("scale: %d%%: big message %d bytes: invoke %.1f ms, delivered %s after %s ms" % (
            size, a.big_bytes, res["big_invoke_ms"], res["big_delivered_ok"],
            res["big_delivered_ms"]), file=sys.stderr)
        api.close()
    finally:
        stop_ev.set()
        wl.stop(proc)
        log.close()
    return res


# per-item figures: (label, function of a result); a ratio above FLAG between consecutive sizes
# is a cost growing more than linearly with the size
FLAG = 1.5
PER_ITEM = [
    ("login ms / device", lambda r: r["login_ms"] / r["counts"]["devices"]),
    ("drivers up ms / device", lambda r: r["drivers_up_ms"] / r["counts"]["devices"]),
    ("verge idle RSS KiB / device", lambda r: r["idle_verge_rss_kib"] / r["counts"]["devices"]),
    ("fill ms / device", lambda r: r["fill_ms"] / r["counts"]["devices"]),
    ("fill verge CPU ms / device", lambda r: r["fill_verge_cpu_ms"] / r["counts"]["devices"]),
    ("verge CPU ms / 1k events", lambda r: r["rate_verge_cpu_ms_per_1k_events"]),
    ("verge CPU ms / 1k routed", lambda r: r["rate_verge_cpu_ms_per_1k"]),
    ("query p50 ms", lambda r: r["query_p50_ms"]),
    ("query p99 ms", lambda r: r["query_p99_ms"]),
    ("1 MB delivered ms", lambda r: r["big_delivered_ms"]),
]

ROWS = [
    ("functions / drivers / devices / routes", lambda r: "%(functions)d / %(drivers)d / "
     "%(devices)d / %(routes)d" % r["counts"]),
    ("bundle.json bytes", lambda r: r["manifest_bytes"]),
    ("start-up to first login, ms", lambda r: r["login_ms"]),
    ("start-up to all drivers up, ms", lambda r: r["drivers_up_ms"]),
    ("verge RSS / PSS idle, MiB", lambda r: "%.1f / %.1f" % (r["idle_verge_rss_kib"] / 1024,
                                                            r["idle_verge_pss_kib"] / 1024)),
    ("drivers RSS / PSS idle (all), MiB", lambda r: "%.1f / %.1f" % (
        r["idle_drivers_rss_kib"] / 1024, r["idle_drivers_pss_kib"] / 1024)),
    ("verge RSS after the fill, MiB", lambda r: round(r["filled_verge_rss_kib"] / 1024, 1)),
    ("fill (50 props x every device), ms", lambda r: r["fill_ms"]),
    ("fill CPU verge / drivers, ms", lambda r: "%.0f / %.0f" % (r["fill_verge_cpu_ms"],
                                                               r["fill_drivers_cpu_ms"])),
    ("rate test: routed msg/s (target ok / all)", lambda r: "%.1f (%d / %d)" % (
        r["rate_routed_per_s"], r["rate_target_ok"], r["rate_target_all"])),
    ("rate test: events/s from devices", lambda r: round(r["rate_events"] / r["rate_s"], 1)),
    ("rate test: verge CPU %, ms per 1k events, per 1k routed", lambda r: "%.1f %%, %s, %s" % (
        r["rate_verge_cpu_pct"], r["rate_verge_cpu_ms_per_1k_events"],
        r["rate_verge_cpu_ms_per_1k"])),
    ("property query p50 / p99 ms (n, failed)", lambda r: "%s / %s (%d, %d)" % (
        r["query_p50_ms"], r["query_p99_ms"], r["query_n"], r["query_failed"])),
    ("1 MB message: invoke ms, delivered ms (ok)", lambda r: "%s, %s (%s)" % (
        r["big_invoke_ms"], r["big_delivered_ms"], "ok" if r["big_delivered_ok"] else "NOT")),
]


def table(results):
    head = "| figure | " + " | ".join("%d%%" % r["size_pct"] for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    for label, f in ROWS:
        cells = []
        for r in results:
            try:
                cells.append(str(f(r)))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("-")
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines.append("")
    lines.append("| per item (ratio to the previous size) | " +
                 " | ".join("%d%%" % r["size_pct"] for r in results) + " |")
    lines.append("|---" * (len(results) + 1) + "|")
    flags = []
    for label, f in PER_ITEM:
        cells, prev = [], None
        for r in results:
            try:
                v = f(r)
            except (KeyError, TypeError, ZeroDivisionError):
                v = None
            if v is None:
                cells.append("-")
                prev = None
                continue
            cell = "%.3g" % v
            if prev:
                ratio = v / prev
                cell += " (x%.2f%s)" % (ratio, " **!**" if ratio > FLAG else "")
                if ratio > FLAG:
                    flags.append("%s: x%.2f from %d%% to %d%% (%.3g to %.3g)" % (
                        label, ratio, results[results.index(r) - 1]["size_pct"],
                        r["size_pct"], prev, v))
            cells.append(cell)
            prev = v
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return "\n".join(lines), flags


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("verge")
    ap.add_argument("reporter")
    ap.add_argument("out")
    ap.add_argument("--sizes", default="10,30,100")
    ap.add_argument("--rate-s", type=int, default=20)
    ap.add_argument("--warmup-s", type=int, default=3)
    ap.add_argument("--idle-s", type=int, default=5)
    ap.add_argument("--big-bytes", type=int, default=1048576)
    ap.add_argument("--start-timeout-s", type=int, default=180)
    ap.add_argument("--fill-timeout-s", type=int, default=300)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="verge-scale.")
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load_avg_before": " ".join(open("/proc/loadavg").read().split()[:3]),
           "cpus": os.cpu_count(), "sizes": [], "failed": []}
    try:
        for size in [int(s) for s in a.sizes.split(",")]:
            try:
                out["sizes"].append(run_size(a, size, tmp))
            except (RuntimeError, OSError, wl.http.client.HTTPException) as e:
                out["failed"].append({"size_pct": size, "error": str(e)})
                print("scale: %d%% FAILED: %s (log: kept in %s)" % (size, e, tmp),
                      file=sys.stderr)
                os.environ["KEEP_TMP"] = "1"
    finally:
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
    out["load_avg_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
    text, flags = table(out["sizes"])
    out["table"], out["flags"] = text, flags
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(text)
    print()
    print("more than linear (per-item ratio > %.1f):" % FLAG)
    for fl in flags or ["none"]:
        print("- " + fl)
    bad = out["failed"] + [r for r in out["sizes"] if not r.get("big_delivered_ok")
                           or not r.get("rate_routed") or r.get("query_failed")]
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
