#!/usr/bin/env python3
"""workload.py: the realistic workload of issue 7, defined once, and its measurements (standard
library only). tests/bench/run calls it; each subcommand also runs alone.

  workload.py bundle DIR REPORTER [--rate-total 1000] [--bytes 256] [--event-every 100]
      writes the bundle into DIR: the product a1RealSensor (one TSL of 20 properties and the
      event high_temperature); 10 drivers (the one executable REPORTER, copied to
      drivers/reporter/main) of 10 devices each, each driver reporting RATE_TOTAL / 10 reports
      a second of BYTES-byte JSON while DIR/drivers/reporter/run exists, and raising
      high_temperature every EVENT_EVERY reports; 20 Lua functions: EdgeFC/rule, the target of
      the route "sensors" from every device's property reports (it decodes the routed JSON and
      the report, checks that the report is BYTES bytes, and forwards one in ten, those above
      30 degrees, with IoTData():publish on /forward/<device>), 6 on-demand functions invoked
      every 2 to 7 s by timers that read two properties of a device (a driver round trip), 3
      on-demand functions publishing a summary every 5 s, 3 long-running and 7 on-demand
      functions that nothing invokes.

  workload.py run VERGE REPORTER OUT_JSON SOAK_CSV [--idle-s 20] [--warmup-s 20] [--load-s 60]
                  [--soak-s 0] [--soak-every-s 5] [--pollers 5] [--poll-rate 10]
      runs verge on the bundle (a fresh data directory, loopback port), waits until every
      driver is up, samples the footprint idle for IDLE_S, then starts the load: the drivers
      (1,000 routed messages/s), POLLERS REST clients each sending POLL_RATE
      POST /thing/device/property/query a second on a keep-alive HTTPS connection (fixed
      schedule, rotating over the 100 devices, 3 properties each) and 1 subscriber of
      POST /thing/device/events/get (every event of every device, chunked). After WARMUP_S it
      measures for LOAD_S: RSS and PSS from /proc/PID/smaps_rollup of verge and each driver
      every second; utime + stime of verge and of the drivers (/proc/PID/stat); routed
      messages (verge_route_messages_total of the route) and the rule's invocations
      (verge_fn_invocations_total) from GET /metrics; the pollers' latencies; the event
      latencies (arrival minus the event's time, ms clock). The load goes on until SOAK_S
      after the warm-up when SOAK_S > LOAD_S, sampling verge's RSS and open file descriptors
      (/proc/PID/fd) every SOAK_EVERY_S into SOAK_CSV. Writes the figures to OUT_JSON.

  workload.py startup VERGE REPORTER OUT_JSON [--runs 5]
      times `verge serve --bundle DIR` from just before the exec to the first successful
      POST /auth/login, and to every driver up (verge_driver_up in GET /metrics), RUNS times
      with a fresh data directory each and RUNS times with a warm one (used once before).

Every connection goes to 127.0.0.1. Not a test: it prints the figures and writes them.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PK = "a1RealSensor"
DRIVERS = 10
DEVICES_PER_DRIVER = 10
THRESHOLD = 30
USER, PASSWORD = "admin", "admin1234"
HZ = os.sysconf("SC_CLK_TCK")
ROUTE = "sensors"
RULE = "EdgeFC/rule"

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE  # loopback only, verge's self-signed certificate

# ---- the bundle ----------------------------------------------------------------------------

RULE_LUA = """-- rule.lua: the rule function of the realistic workload (tests/bench/realistic, issue 7).
-- Each routed property report of an a1RealSensor device arrives as
-- event = {"topic":"/sys/<pk>/<dn>/thing/event/property/post","payload":"<the report>"}; a
-- report of %(bytes)d bytes is expected (else an error, which the bench counts); one above
-- %(threshold)d degrees (one in ten) is forwarded on /forward/<dn>.
local cjson = require("cjson")
local lecoresdk = require("lecoresdk")
local iot = lecoresdk.IoTData()

function handler(event, context)
  local m = cjson.decode(event)
  if #m.payload ~= %(bytes)d then error("report of " .. #m.payload .. " bytes") end
  local p = cjson.decode(m.payload)
  if p.temperature.value > %(threshold)d then
    local dn = string.match(m.topic, "^/sys/[^/]+/([^/]+)/")
    iot:publish({topic = "/forward/" .. dn, payload = m.payload})
  end
end
"""

POLL_LUA = """-- %(name)s.lua: an ordinary function of the realistic workload, invoked by a timer: reads
-- two properties of %(dn)s (a round trip to its driver) and returns them as JSON.
local cjson = require("cjson")
local lecoresdk = require("lecoresdk")
local iot = lecoresdk.IoTData()

function handler(event, context)
  local data, err = iot:getThingProperties({productKey = "%(pk)s", deviceName = "%(dn)s",
                                            payload = {"temperature", "humidity"}})
  if not data then error(err) end
  return cjson.encode(data)
end
"""

SUMMARY_LUA = """-- %(name)s.lua: an ordinary function of the realistic workload, invoked by a timer: publishes
-- a small summary of how often it ran on /stats/%(name)s.
local cjson = require("cjson")
local lecoresdk = require("lecoresdk")
local iot = lecoresdk.IoTData()
local runs = 0

function handler(event, context)
  runs = runs + 1
  iot:publish({topic = "/stats/%(name)s", payload = cjson.encode({runs = runs, event = event})})
  return tostring(runs)
end
"""

IDLE_LUA = """-- %(name)s.lua: an ordinary function of the realistic workload that nothing invokes during
-- the bench (%(mode)s): it would decode a JSON command and answer with its fields sorted.
local cjson = require("cjson")

function handler(event, context)
  local ok, cmd = pcall(cjson.decode, event)
  if not ok or type(cmd) ~= "table" then return cjson.encode({error = "not a JSON object"}) end
  local keys = {}
  for k in pairs(cmd) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  return cjson.encode({keys = keys, requestId = context.requestId})
end
"""


def device_name(drv, dev):
    return "dev%d-%d" % (drv, dev)


def tsl():
    def prop(ident, name, dtype, specs):
        return {"identifier": ident, "name": name, "accessMode": "r", "required": False,
                "dataType": {"type": dtype, "specs": specs}}
    temp_specs = {"min": "-40", "max": "125", "step": "0.1", "unit": "\u00b0C",
                  "unitName": "degree Celsius"}
    props = [prop("temperature", "Temperature", "float", temp_specs),
             prop("humidity", "Humidity", "int", {"min": "0", "max": "100", "step": "1",
                                                  "unit": "%", "unitName": "percent"})]
    for i in range(3, 20):
        props.append(prop("p%02d" % i, "Counter %d" % i, "int",
                          {"min": "0", "max": "100000", "step": "1"}))
    props.append(prop("tag", "Tag", "text", {"length": "255"}))
    assert len(props) == 20
    event = {"identifier": "high_temperature", "name": "High temperature", "type": "alert",
             "required": False, "desc": "Raised by the reporter now and then",
             "method": "thing.event.high_temperature.post",
             "outputData": [{"identifier": "temperature", "name": "Temperature",
                             "dataType": {"type": "float", "specs": temp_specs}}]}
    return {"schema": "https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json",
            "profile": {"productKey": PK}, "properties": props, "events": [event],
            "services": []}


def write_bundle(d, reporter, rate_total=1000, nbytes=256, event_every=100):
    if rate_total % DRIVERS:
        raise SystemExit("workload: --rate-total must be a multiple of %d" % DRIVERS)
    for sub in ("products", "functions", "drivers/reporter"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "products/sensor.json"), "w") as f:
        json.dump(tsl(), f, indent=1)
    shutil.copy(reporter, os.path.join(d, "drivers/reporter/main"))
    drivers = []
    for i in range(DRIVERS):
        drivers.append({
            "name": "reporter%d" % i, "exec": "drivers/reporter/main",
            "config": {"json": {"rate": rate_total // DRIVERS, "bytes": nbytes,
                                "event_every": event_every, "run_file": "run"},
                       "kv": [], "fileList": []},
            "devices": [{"productKey": PK, "deviceName": device_name(i, j)}
                        for j in range(DEVICES_PER_DRIVER)]})
    functions = []

    def add(name, code, **kw):
        path = "functions/%s.lua" % name
        with open(os.path.join(d, path), "w") as f:
            f.write(code)
        fn = {"service": "EdgeFC", "name": name, "code": path, "handler": "handler"}
        fn.update(kw)
        functions.append(fn)

    add("rule", RULE_LUA % {"bytes": nbytes, "threshold": THRESHOLD}, mode="on-demand",
        timeoutMs=3000, memoryMB=8, concurrency=1, queueMax=1000)
    for i in range(6):
        name = "poll%d" % i
        add(name, POLL_LUA % {"name": name, "pk": PK, "dn": device_name(i, i)},
            timers=[{"everyMs": 2000 + 1000 * i, "payload": "tick"}])
    for i in range(3):
        name = "summary%d" % i
        add(name, SUMMARY_LUA % {"name": name}, timers=[{"everyMs": 5000, "payload": "tick"}])
    for i in range(10):
        name = "idle%d" % i
        mode = "long-running" if i < 3 else "on-demand"
        add(name, IDLE_LUA % {"name": name, "mode": mode}, mode=mode)
    assert len(functions) == 20
    bundle = {"name": "realistic", "version": "1.0.0",
              "products": [{"productKey": PK, "tsl": "products/sensor.json"}],
              "drivers": drivers, "functions": functions,
              "routes": [{"name": ROUTE, "source": {"type": "device", "productKey": PK,
                                                    "deviceName": "+"},
                          "topic": "/sys/%s/+/thing/event/property/post" % PK,
                          "target": {"type": "function", "service": "EdgeFC",
                                     "function": "rule"}}]}
    with open(os.path.join(d, "bundle.json"), "w") as f:
        json.dump(bundle, f, indent=1)
    return os.path.join(d, "drivers/reporter/run")


# ---- talking to verge ----------------------------------------------------------------------

class Api:
    """One kept-alive HTTPS connection to verge, logged in once (a session cookie)."""

    def __init__(self, port, timeout=10):
        self.port, self.timeout = port, timeout
        self.conn = None
        self.cookie = None

    def request(self, method, path, body=None):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=CTX,
                                                    timeout=self.timeout)
        headers = {"Content-Type": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            return r, r.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def login(self):
        body = json.dumps({"id": 1, "version": "1.0", "request": {"apiVer": "0.6"},
                           "params": {"UserName": USER, "Password": PASSWORD}})
        r, text = self.request("POST", "/auth/login", body)
        cookie = r.getheader("Set-Cookie") or ""
        if r.status != 200 or "=" not in cookie:
            raise RuntimeError("login answered %d: %s" % (r.status, text[:200]))
        self.cookie = cookie.split(";", 1)[0]

    def metrics(self):
        r, text = self.request("GET", "/metrics")
        if r.status != 200:
            raise RuntimeError("/metrics answered %d" % r.status)
        return parse_metrics(text.decode())

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


METRIC_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", re.M)


def parse_metrics(text):
    out = {}
    for m in METRIC_RE.finditer(text):
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def routed(m):
    return m.get('verge_route_messages_total{route="%s",outcome="forwarded"}' % ROUTE, 0)


def rule_invocations(m):
    out = {}
    for k, v in m.items():
        g = re.match(r'verge_fn_invocations_total\{function="%s",outcome="(\w+)"\}$' % RULE, k)
        if g:
            out[g.group(1)] = int(v)
    return out


def drivers_up(m):
    return sum(1 for k, v in m.items() if k.startswith("verge_driver_up{") and v == 1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_verge(verge, bundle, data_dir, port, log):
    return subprocess.Popen([verge, "serve", "--listen", "127.0.0.1:%d" % port, "--data-dir",
                             data_dir, "--bundle", bundle], stdout=log, stderr=log)


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(port, proc, timeout=30):
    """Logs in (retrying) and waits until every driver is up. Returns the Api."""
    deadline = time.monotonic() + timeout
    api = Api(port)
    while True:
        if proc.poll() is not None:
            raise SystemExit("workload: verge exited with %d" % proc.returncode)
        try:
            if api.cookie is None:
                api.login()
            if drivers_up(api.metrics()) == DRIVERS:
                return api
        except (OSError, http.client.HTTPException, RuntimeError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit("workload: verge was not ready with %d drivers in %d s"
                             % (DRIVERS, timeout))
        time.sleep(0.05)


# ---- /proc ---------------------------------------------------------------------------------

def rollup(pid):
    """(Rss, Pss, Pss_Anon, Pss_File) in KiB from /proc/PID/smaps_rollup. Pss_File, the
    process's share of the file pages it maps (its code, the libraries'), shrinks when other
    processes map the same files; Pss_Anon is its own heap and stacks."""
    v = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k = line.split(":", 1)[0]
            if k in ("Rss", "Pss", "Pss_Anon", "Pss_File"):
                v[k] = int(line.split()[1])
    return v.get("Rss", 0), v.get("Pss", 0), v.get("Pss_Anon", 0), v.get("Pss_File", 0)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def children(pid):
    out = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return sorted(set(out))


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def pct(values, p):
    """The p-th percentile (nearest rank) of values; None when empty."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]


def stats(values):
    return {"median": statistics.median(values) if values else None, "p95": pct(values, 95),
            "min": min(values) if values else None, "max": max(values) if values else None,
            "n": len(values)}


# ---- the load clients ----------------------------------------------------------------------

class Poller(threading.Thread):
    """One REST client: POST /thing/device/property/query RATE times a second on a fixed
    schedule over one keep-alive HTTPS connection, rotating over the devices."""

    def __init__(self, port, index, rate, stop_ev):
        super().__init__(daemon=True)
        self.port, self.index, self.rate, self.stop_ev = port, index, rate, stop_ev
        self.samples = []  # (wall time at send, latency ms, ok)
        self.late = 0
        self.error = None

    def run(self):
        try:
            api = Api(self.port)
            api.login()
            period = 1.0 / self.rate
            nxt = time.monotonic()
            i = self.index
            while not self.stop_ev.is_set():
                dn = device_name(i % DRIVERS, (i // DRIVERS) % DEVICES_PER_DRIVER)
                i += 7
                body = json.dumps({"id": i, "version": "1.0", "request": {"apiVer": "0.6"},
                                   "params": {"productKey": PK, "deviceName": dn,
                                              "propertyIdentifier": ["temperature",
                                                                     "humidity", "tag"]}})
                t0 = time.monotonic()
                r, text = api.request("POST", "/thing/device/property/query", body)
                lat = (time.monotonic() - t0) * 1000
                ok = r.status == 200 and json.loads(text).get("code") == 200
                if not ok and self.error is None:
                    self.error = "%d %s" % (r.status, text[:200].decode(errors="replace"))
                self.samples.append((time.time(), lat, ok))
                nxt += period
                delay = nxt - time.monotonic()
                if delay > 0:
                    self.stop_ev.wait(delay)
                else:
                    self.late += 1
        except Exception as e:  # reported by the run, which fails on it
            self.error = "%s: %s" % (type(e).__name__, e)


class Subscriber(threading.Thread):
    """One POST /thing/device/events/get stream for every event of every device; records each
    event's latency (arrival, wall clock, minus the event's time in ms) and the heartbeats."""

    def __init__(self, port, cookie, stop_ev):
        super().__init__(daemon=True)
        self.port, self.cookie, self.stop_ev = port, cookie, stop_ev
        self.events = []  # (wall time of arrival, latency ms)
        self.heartbeats = 0
        self.error = None
        self.sock = None

    def run(self):
        try:
            raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            self.sock = CTX.wrap_socket(raw)
            body = json.dumps({"request": {"apiVer": "0.6"}, "params": {"eventInfo": []}})
            self.sock.sendall(("POST /thing/device/events/get HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Cookie: %s\r\nContent-Type: application/json\r\n"
                               "Content-Length: %d\r\n\r\n%s" % (self.cookie, len(body), body)
                               ).encode())
            self.sock.settimeout(None)
            f = self.sock.makefile("rb")
            status = f.readline()
            if b" 200 " not in status:
                raise RuntimeError("events/get answered %r" % status)
            while f.readline() not in (b"\r\n", b""):
                pass
            while not self.stop_ev.is_set():
                size = int(f.readline().split(b";")[0], 16)
                if size == 0:
                    break
                chunk = f.read(size)
                f.readline()
                now = time.time()
                msg = json.loads(chunk)
                if msg.get("code") == 204:
                    self.heartbeats += 1
                    continue
                t = msg["data"]["items"]["eventBody"]["params"]["time"]
                self.events.append((now, now * 1000 - t))
        except Exception as e:
            if not self.stop_ev.is_set():
                self.error = "%s: %s" % (type(e).__name__, e)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass


# ---- run: footprint, CPU, latencies, soak ----------------------------------------------------

def footprint_sample(verge_pid):
    v = rollup(verge_pid)
    ds = []
    for c in children(verge_pid):
        try:
            ds.append(rollup(c))
        except OSError:
            pass
    return {"verge_rss": v[0], "verge_pss": v[1], "verge_pss_anon": v[2],
            "verge_pss_file": v[3], "drivers": len(ds),
            "driver_rss": [d[0] for d in ds], "driver_pss": [d[1] for d in ds],
            "drivers_rss": sum(d[0] for d in ds), "drivers_pss": sum(d[1] for d in ds),
            "drivers_pss_anon": sum(d[2] for d in ds),
            "total_rss": v[0] + sum(d[0] for d in ds), "total_pss": v[1] + sum(d[1] for d in ds),
            "total_pss_anon": v[2] + sum(d[2] for d in ds)}


def summarize_footprint(samples):
    out = {}
    for key in ("verge_rss", "verge_pss", "verge_pss_anon", "verge_pss_file", "drivers_rss",
                "drivers_pss", "drivers_pss_anon", "total_rss", "total_pss", "total_pss_anon"):
        out[key] = stats([s[key] for s in samples])
    for key in ("driver_rss", "driver_pss"):  # one driver process, over all samples
        out[key] = stats([x for s in samples for x in s[key]])
    out["drivers"] = min((s["drivers"] for s in samples), default=0)
    return out


def sample_for(seconds, verge_pid, every=1.0):
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append(footprint_sample(verge_pid))
        time.sleep(min(every, max(0, end - time.monotonic())))
    return samples


def cmd_run(a):
    tmp = tempfile.mkdtemp(prefix="verge-realistic.")
    proc = None
    stop_ev = threading.Event()
    try:
        bundle = os.path.join(tmp, "bundle")
        run_file = write_bundle(bundle, a.reporter, a.rate_total, a.bytes, a.event_every)
        port = free_port()
        log = open(os.path.join(tmp, "verge.log"), "wb")
        proc = start_verge(a.verge, bundle, os.path.join(tmp, "data"), port, log)
        api = wait_ready(port, proc)
        drivers = children(proc.pid)
        if len(drivers) != DRIVERS:
            raise SystemExit("workload: %d driver processes, want %d" % (len(drivers), DRIVERS))
        print("workload: verge up, %d drivers; idle for %d s" % (len(drivers), a.idle_s),
              file=sys.stderr)
        time.sleep(2)  # the first timers fire, the long-running functions start
        c0 = cpu_ticks(proc.pid)
        idle = sample_for(a.idle_s, proc.pid)
        idle_cpu_pct = 100.0 * (cpu_ticks(proc.pid) - c0) / HZ / a.idle_s

        print("workload: load on (%d msg/s, %d pollers x %d/s, 1 subscriber); warm-up %d s, "
              "measure %d s, soak %d s" % (a.rate_total, a.pollers, a.poll_rate, a.warmup_s,
                                           a.load_s, a.soak_s), file=sys.stderr)
        load_avg_before = open("/proc/loadavg").read().split()[:3]
        sub = Subscriber(port, api.cookie, stop_ev)
        sub.start()
        pollers = [Poller(port, i, a.poll_rate, stop_ev) for i in range(a.pollers)]
        for p in pollers:
            p.start()
        open(run_file, "w").close()
        t_on = time.monotonic()
        time.sleep(a.warmup_s)

        soak_rows = []

        def soak_row():
            rss = rollup(proc.pid)[0]
            soak_rows.append((round(time.monotonic() - t0, 1), rss, fd_count(proc.pid)))

        m0 = api.metrics()
        w0 = time.time()
        t0 = time.monotonic()
        vt0 = cpu_ticks(proc.pid)
        dt0 = {d: cpu_ticks(d) for d in drivers}
        load = []
        next_soak = t0
        while time.monotonic() - t0 < a.load_s:
            if time.monotonic() >= next_soak:
                soak_row()
                next_soak += a.soak_every_s
            load.append(footprint_sample(proc.pid))
            time.sleep(1.0)
        m1 = api.metrics()
        t1 = time.monotonic()
        w1 = time.time()
        vt1 = cpu_ticks(proc.pid)
        dt1 = {d: cpu_ticks(d) for d in drivers}
        while time.monotonic() - t0 < a.soak_s:  # the soak goes on under the same load
            time.sleep(max(0, next_soak - time.monotonic()))
            soak_row()
            next_soak += a.soak_every_s
        m2 = api.metrics()
        os.unlink(run_file)
        stop_ev.set()
        sub.close()
        for p in pollers:
            p.join(5)
        sub.join(5)
        load_avg_after = open("/proc/loadavg").read().split()[:3]
        if proc.poll() is not None:
            raise SystemExit("workload: verge died under load")

        secs = t1 - t0
        n_routed = routed(m1) - routed(m0)
        inv0, inv1, inv2 = rule_invocations(m0), rule_invocations(m1), rule_invocations(m2)
        n_inv = sum(inv1.values()) - sum(inv0.values())
        bad = {k: inv2.get(k, 0) - inv0.get(k, 0) for k in inv2 if k != "ok"}
        pub = m1.get("verge_bus_published_total", 0) - m0.get("verge_bus_published_total", 0)
        verge_cpu_s = (vt1 - vt0) / HZ
        drivers_cpu_s = sum(dt1[d] - dt0[d] for d in drivers) / HZ
        per_k = 1000.0 / n_routed if n_routed else None
        poll = [(lat, ok) for p in pollers for (t, lat, ok) in p.samples if w0 <= t <= w1]
        poll_lat = [lat for lat, ok in poll]
        ev = [lat for (t, lat) in sub.events if w0 <= t <= w1]
        errors = [p.error for p in pollers if p.error] + ([sub.error] if sub.error else [])
        res = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_avg_before": " ".join(load_avg_before),
            "load_avg_after": " ".join(load_avg_after),
            "cpus": os.cpu_count(),
            "config": {"rate_total": a.rate_total, "bytes": a.bytes, "drivers": DRIVERS,
                       "devices": DRIVERS * DEVICES_PER_DRIVER, "properties": 20,
                       "functions": 20, "pollers": a.pollers, "poll_rate": a.poll_rate,
                       "subscribers": 1, "event_every": a.event_every, "idle_s": a.idle_s,
                       "warmup_s": a.warmup_s, "load_s": a.load_s, "soak_s": a.soak_s,
                       "soak_every_s": a.soak_every_s},
            "idle": summarize_footprint(idle),
            "idle_verge_cpu_pct": round(idle_cpu_pct, 2),
            "load": summarize_footprint(load),
            "routed": int(n_routed), "routed_per_s": round(n_routed / secs, 1),
            "rule_invocations": int(n_inv), "rule_not_ok": bad,
            "published": int(pub),
            "verge_cpu_s": round(verge_cpu_s, 3), "drivers_cpu_s": round(drivers_cpu_s, 3),
            "verge_cpu_pct": round(100 * verge_cpu_s / secs, 2),
            "drivers_cpu_pct": round(100 * drivers_cpu_s / secs, 2),
            "verge_cpu_ms_per_1k": round(verge_cpu_s * 1000 * per_k, 2) if per_k else None,
            "drivers_cpu_ms_per_1k": round(drivers_cpu_s * 1000 * per_k, 2) if per_k else None,
            "poll_requests": len(poll), "poll_failed": sum(1 for _, ok in poll if not ok),
            "poll_per_s": round(len(poll) / secs, 1),
            "poll_late": sum(p.late for p in pollers),
            "poll_latency_ms": {k: (round(v, 3) if v is not None else None) for k, v in
                                {"p50": pct(poll_lat, 50), "p90": pct(poll_lat, 90),
                                 "p95": pct(poll_lat, 95), "p99": pct(poll_lat, 99),
                                 "max": max(poll_lat, default=None)}.items()},
            "events": len(ev), "heartbeats": sub.heartbeats,
            "event_latency_ms": {k: (round(v, 1) if v is not None else None) for k, v in
                                 {"p50": pct(ev, 50), "p90": pct(ev, 90), "p95": pct(ev, 95),
                                  "p99": pct(ev, 99), "max": max(ev, default=None)}.items()},
            "errors": errors,
        }
        if soak_rows:
            with open(a.soak_csv, "w") as f:
                f.write("t_s,verge_rss_kib,verge_fds\n")
                for row in soak_rows:
                    f.write("%s,%d,%d\n" % row)
            first, last = soak_rows[0], soak_rows[-1]
            res["soak"] = {"seconds": last[0], "samples": len(soak_rows), "csv": a.soak_csv,
                           "rss_first_kib": first[1], "rss_last_kib": last[1],
                           "rss_max_kib": max(r[1] for r in soak_rows),
                           "drift_kib": last[1] - first[1],
                           "drift_pct": round(100.0 * (last[1] - first[1]) / first[1], 2),
                           "fds_first": first[2], "fds_last": last[2],
                           "fds_min": min(r[2] for r in soak_rows),
                           "fds_max": max(r[2] for r in soak_rows)}
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
        want = a.rate_total * secs
        problems = list(errors)
        if bad and any(bad.values()):
            problems.append("rule invocations not ok: %s" % bad)
        if abs(n_routed - want) > 0.05 * want:
            problems.append("routed %d messages in %.1f s, want about %d" % (n_routed, secs, want))
        if res["poll_failed"]:
            problems.append("%d property queries failed" % res["poll_failed"])
        if not ev:
            problems.append("the subscriber saw no event")
        print(json.dumps(res, indent=1))
        if problems:
            raise SystemExit("workload: " + "; ".join(problems))
    finally:
        stop_ev.set()
        stop(proc)
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


# ---- start-up ------------------------------------------------------------------------------

def time_startup(verge, bundle, data_dir):
    """(ms to the first successful login, ms to every driver up, ms to the port accepting
    TCP connections, ms the successful login request took) of one start."""
    port = free_port()
    log = open(os.path.join(os.path.dirname(data_dir), "verge-startup.log"), "ab")
    t0 = time.monotonic()
    proc = start_verge(verge, bundle, data_dir, port, log)
    try:
        api = Api(port, timeout=5)
        t_listen = None
        while True:
            if proc.poll() is not None:
                raise SystemExit("workload: verge exited with %d at start-up" % proc.returncode)
            try:
                if t_listen is None:  # a bare TCP connect first: is it listening yet?
                    socket.create_connection(("127.0.0.1", port), timeout=5).close()
                    t_listen = time.monotonic()
                t_try = time.monotonic()
                api.login()
                break
            except (OSError, http.client.HTTPException, RuntimeError):
                if time.monotonic() - t0 > 30:
                    raise SystemExit("workload: no login within 30 s of the start")
                time.sleep(0.002)
        t_login = time.monotonic()
        while drivers_up(api.metrics()) < DRIVERS:
            if time.monotonic() - t0 > 30:
                raise SystemExit("workload: drivers not up within 30 s of the start")
            time.sleep(0.002)
        t_up = time.monotonic()
        api.close()
        return ((t_login - t0) * 1000, (t_up - t0) * 1000, (t_listen - t0) * 1000,
                (t_login - t_try) * 1000)
    finally:
        stop(proc)


def cmd_startup(a):
    tmp = tempfile.mkdtemp(prefix="verge-startup.")
    try:
        bundle = os.path.join(tmp, "bundle")
        write_bundle(bundle, a.reporter)
        res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "load_avg_before": " ".join(open("/proc/loadavg").read().split()[:3]),
               "runs": a.runs}
        for kind in ("fresh", "warm"):
            runs = []
            warm_dir = os.path.join(tmp, "data-warm")
            if kind == "warm":
                time_startup(a.verge, bundle, warm_dir)  # makes it warm; not counted
            for i in range(a.runs):
                d = os.path.join(tmp, "data-%s-%d" % (kind, i)) if kind == "fresh" else warm_dir
                runs.append(time_startup(a.verge, bundle, d))
            res[kind] = {}
            for j, key in enumerate(("login_ms", "drivers_up_ms", "listening_ms",
                                     "login_request_ms")):
                res[kind][key] = [round(r[j], 1) for r in runs]
                res[kind][key + "_median"] = round(statistics.median(r[j] for r in runs), 1)
        res["load_avg_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
        print(json.dumps(res, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sp = ap.add_subparsers(dest="cmd", required=True)
    b = sp.add_parser("bundle")
    b.add_argument("dir")
    b.add_argument("reporter")
    r = sp.add_parser("run")
    r.add_argument("verge")
    r.add_argument("reporter")
    r.add_argument("out")
    r.add_argument("soak_csv")
    r.add_argument("--idle-s", type=int, default=20)
    r.add_argument("--warmup-s", type=int, default=20)
    r.add_argument("--load-s", type=int, default=60)
    r.add_argument("--soak-s", type=int, default=0)
    r.add_argument("--soak-every-s", type=int, default=5)
    r.add_argument("--pollers", type=int, default=5)
    r.add_argument("--poll-rate", type=int, default=10)
    s = sp.add_parser("startup")
    s.add_argument("verge")
    s.add_argument("reporter")
    s.add_argument("out")
    s.add_argument("--runs", type=int, default=5)
    for p in (b, r):
        p.add_argument("--rate-total", type=int, default=1000)
        p.add_argument("--bytes", type=int, default=256)
        p.add_argument("--event-every", type=int, default=100)
    a = ap.parse_args()
    if a.cmd == "bundle":
        write_bundle(a.dir, a.reporter, a.rate_total, a.bytes, a.event_every)
    elif a.cmd == "run":
        cmd_run(a)
    else:
        cmd_startup(a)


if __name__ == "__main__":
    main()
