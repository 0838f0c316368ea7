"""Integration tests: real driver processes under `verge serve --bundle`: the device endpoints of
seed 004 section 3.4 against the demo bundle (curl, as the seed writes them), the SQLite
property cache, typed requests and their error codes, a driver killed with SIGKILL, a driver
that exits at once, a driver that never answers (or dies with a call pending), drivers that send
malformed frames, driver output in the log, shutdown, bundle errors, and driver process trees
(a driver that leaves a child behind, a wrapper script that does not exec).

The demo bundle is the one the build assembles next to the binary (verge_it.demo_bundle()).
The fake drivers are tests/integration/drivers/mute_driver.py, copied into temporary bundles;
their behaviour is chosen by config.json.mode in the bundle.
"""

import datetime
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import (VERGE_BIN, Verge, curl, demo_bundle, expect, free_port,  # noqa: E402
                      raw_request, read_response, run, run_verge, tmpdir, verge_env)

HERE = os.path.dirname(os.path.abspath(__file__))
MUTE_DRIVER = os.path.join(HERE, "drivers", "mute_driver.py")
PK = "a1DemoLight"
DEVS = ("LightDev1", "LightDev2")
PROPS = ("LightSwitch", "brightness", "temperature")
MSG_FROM_CACHE = "success (from the property cache"
LIST_KEYS = {"ProductKey", "DeviceName", "DriverName", "DeviceLocalId", "DeviceTags", "LocalState",
             "CloudState", "LastLocalOnlineTime", "LastCloudOnlineTime", "LastLinkTime"}
QUERY_KEYS = {"iotId", "batchId", "attribute", "group", "value", "gmtModified"}

V = Verge(name="demo", args=["--bundle", demo_bundle()])
st = {}


# ---- helpers ---------------------------------------------------------------------------------

def dev(v, path, params, cookie):
    """POST /thing/device/<path> with the seed's envelope around `params`."""
    return v.api("/thing/device/" + path, params, cookie=cookie)


def timed(fn, *args, **kw):
    t0 = time.monotonic()
    r = fn(*args, **kw)
    return r, time.monotonic() - t0


def wait_for(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns something truthy; returns it, or fails naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def online_count(v, cookie, **filters):
    r = dev(v, "count", dict(onlineStatus=1, **filters), cookie)
    return expect(r, 200, "success")["data"]["deviceCount"]


def device_list(v, cookie, **params):
    r = dev(v, "list-authed", dict({"PageSize": 0, "CurrentPage": 1}, **params), cookie)
    return {d["DeviceName"]: d for d in expect(r, 200, "success")["data"]["List"]}


def db_rows(v):
    """{(dn, identifier): (value text, time_ms)} of the properties table, read-only."""
    path = os.path.join(v.data_dir, "verge.db")
    for attempt in range(20):
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
            try:
                rows = con.execute(
                    "SELECT pk, dn, identifier, value, time_ms FROM properties").fetchall()
            finally:
                con.close()
            return {(dn, ident): (value, t) for pk, dn, ident, value, t in rows if pk == PK}
        except sqlite3.OperationalError as e:  # the file or its table not there yet, or busy
            last = e
            time.sleep(0.05)
    raise AssertionError(f"cannot read {path}: {last}")


def metrics(v, cookie):
    """{'name{labels}': float} of GET /metrics."""
    r = v.api("/metrics", method="GET", cookie=cookie)
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, val = line.rpartition(" ")
            out[key] = float(val)
    return out


LOG_TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")


def log_times(v, pattern):
    """Wall-clock seconds of the log lines matching `pattern` (a regex)."""
    out = []
    for line in v.log().splitlines():
        if re.search(pattern, line):
            m = LOG_TIME_RE.match(line)
            assert m, f"log line without a timestamp: {line!r}"
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
            out.append(t.replace(tzinfo=datetime.timezone.utc).timestamp())
    return out


def children(pid):
    """{pid: [argv...]} of the live children of `pid`."""
    out = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            continue
        for k in kids:
            try:
                with open(f"/proc/{k}/cmdline", "rb") as f:
                    out[k] = f.read().decode(errors="replace").split("\0")[:-1]
            except OSError:
                pass
    return out


def driver_pid(v, suffix):
    """The pid of the child of verge with an argument (the program, or the script run by an
    interpreter) ending with `suffix`, or None."""
    found = [p for p, argv in children(v.proc.pid).items()
             if any(a.endswith(suffix) for a in argv)]
    assert len(found) <= 1, f"more than one child running {suffix}: {found}"
    return found[0] if found else None


def cpu_seconds(pid):
    """User + system CPU time of `pid` so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gone(pid):
    """Whether `pid` no longer runs. A zombie counts as gone: it is dead, and reaping an
    orphan is its new parent's job (PID 1 of a container may never do it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return True
    return not stat or stat.rpartition(")")[2].split()[0] == "Z"


def make_bundle(drivers, name="itbundle"):
    """A bundle in a temp dir with the demo's light product and `drivers`, each a dict:
    name, devices (device names of a1DemoLight), and one of script (text of drivers/<name>/main),
    copy (a file copied into drivers/<name>/, which is the exec); json (config.json)."""
    root = os.path.join(tmpdir("verge-bundle-"), name)
    os.makedirs(os.path.join(root, "products"))
    shutil.copy(os.path.join(demo_bundle(), "products", "light.json"),
                os.path.join(root, "products", "light.json"))
    manifest = {"name": name, "version": "1.0.0",
                "products": [{"productKey": PK, "tsl": "products/light.json"}], "drivers": []}
    for d in drivers:
        ddir = os.path.join(root, "drivers", d["name"])
        os.makedirs(ddir)
        if "script" in d:
            exe = os.path.join(ddir, "main")
            with open(exe, "w") as f:
                f.write(d["script"])
        else:
            exe = os.path.join(ddir, os.path.basename(d["copy"]))
            shutil.copy(d["copy"], exe)
        os.chmod(exe, os.stat(exe).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        manifest["drivers"].append({
            "name": d["name"], "exec": os.path.relpath(exe, root),
            "config": {"json": d.get("json", {}), "kv": [], "fileList": []},
            "devices": [{"productKey": PK, "deviceName": n} for n in d["devices"]]})
    with open(os.path.join(root, "bundle.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return root


def is_ms_text(s, lo, hi):
    """A string of digits: milliseconds since the epoch within [lo, hi] (seconds)."""
    return isinstance(s, str) and s.isdigit() and lo * 1000 <= int(s) <= hi * 1000


def is_s_text(s, lo, hi):
    """A string of digits: seconds since the epoch within [lo, hi] (gmtModified is in seconds,
    as in the seed's example "1552035452")."""
    return isinstance(s, str) and s.isdigit() and int(lo) <= int(s) <= hi


# ---- the demo bundle (one daemon) ------------------------------------------------------------

def test_start():
    st["t0"] = time.time()
    V.start()
    st["cookie"] = V.login()
    wait_for(lambda: online_count(V, st["cookie"]) == 2, 5.0, "both demo devices Online")
    st["pid"] = driver_pid(V, "drivers/demo_light/main")
    assert st["pid"], f"no demo_light child of verge: {children(V.proc.pid)}"


def test_seed_curl_commands():
    """Seed 004 section 3.4's complete examples, as curl commands with a cookie jar."""
    jar = os.path.join(tmpdir(), "test_eweb.cookie")
    url = f"https://127.0.0.1:{V.port}"
    out = curl("-c", jar, "-d", '{"id":111,"version":"1.0","request":{"apiVer":"0.6"},"params":'
               '{"UserName":"admin","Password":"admin1234"}}', "-X", "POST", url + "/auth/login")
    assert out.returncode == 0 and out.stdout == \
        '{"code":200,"message":"success","data":{"UserName":"admin"}}', out

    def seed(path, params_text):
        body = '{"request":{ "apiVer": "0.6"}, "params": ' + params_text + '}'
        out = curl("-b", jar, "-d", body, "-X", "POST", url + "/thing/device/" + path)
        assert out.returncode == 0, out
        return out.stdout

    # 3.4.1 count
    text = seed("count", "{}")
    assert text == '{"code":200,"message":"success","data":{"deviceCount":2}}', text

    # 3.4.2 list-authed
    body = json.loads(seed("list-authed", '{"PageSize": 15, "CurrentPage": 1}'))
    assert body["code"] == 200 and body["message"] == "success", body
    data = body["data"]
    assert set(data) == {"List", "CurrentPage", "TotalNum", "PageSize"}, data
    assert (data["TotalNum"], data["PageSize"], data["CurrentPage"]) == (2, 15, 1), data
    assert sorted(d["DeviceName"] for d in data["List"]) == list(DEVS), data
    now = time.time()
    tags = {"LightDev1": [{"location": "master bedroom"}],
            "LightDev2": [{"location": "living room"}]}
    for d in data["List"]:
        assert set(d) == LIST_KEYS, f"fields {sorted(d)} != the seed's {sorted(LIST_KEYS)}"
        assert d["ProductKey"] == PK and d["DriverName"] == "demo_light", d
        assert d["DeviceLocalId"] == d["DeviceName"], d
        assert d["DeviceTags"] == tags[d["DeviceName"]], d
        assert d["LocalState"] == "Online" and d["CloudState"] == "Offline", d
        assert is_ms_text(d["LastLocalOnlineTime"], st["t0"] - 1, now + 1), d
        assert d["LastLinkTime"] == d["LastLocalOnlineTime"], d
        assert d["LastCloudOnlineTime"] == "0", d

    # 3.4.3 properties/set
    text = seed("properties/set", '{ "productKey": "a1DemoLight", "deviceName": "LightDev1", '
                '"properties": {"LightSwitch": 1, "brightness": 30} }')
    assert text == '{"code":200,"message":"success","data":null}', text

    # 3.4.4 property/query: answered by the device
    t_before = time.time()
    body = json.loads(seed("property/query", '{ "productKey": "a1DemoLight", "deviceName": '
                           '"LightDev1", "propertyIdentifier": ["LightSwitch","brightness"]}'))
    assert body["code"] == 200 and body["message"] == "success", body
    assert [e["attribute"] for e in body["data"]] == ["LightSwitch", "brightness"], body
    for e in body["data"]:
        assert set(e) == QUERY_KEYS, e
        assert e["iotId"] == "" and e["batchId"] == "" and e["group"] == "", e
        assert is_s_text(e["gmtModified"], t_before - 1, time.time() + 1), e
    assert [e["value"] for e in body["data"]] == ["1", "30"], body

    # 3.4.5 service/invoke
    text = seed("service/invoke", '{ "productKey": "a1DemoLight", "deviceName": "LightDev1", '
                '"method": "turn", "inputParams": {"LightSwitch": 0}}')
    assert json.loads(text) == {"code": 200, "message": "success", "data": {
        "code": 0, "message": "Ok", "data": {"LightSwitch": 0, "result": "switched off"}}}, text


def test_reports_land_in_sqlite_cache():
    want = {(d, p) for d in DEVS for p in PROPS}
    # reported at once and flushed every 200 ms: there within ~2 s of the start
    rows = wait_for(lambda: (lambda r: r if want <= set(r) else None)(db_rows(V)),
                    max(0.1, st["t0"] + 3.0 - time.time()), "the 6 property rows in verge.db")
    assert set(rows) == want, f"unexpected rows: {sorted(set(rows) - want)}"
    for (d, p), (value, t) in rows.items():
        if p == "LightSwitch":
            assert value in ("0", "1"), (d, p, value)
        elif p == "brightness":
            assert value.isdigit() and 0 <= int(value) <= 100, (d, p, value)
        else:
            assert -40 <= float(value) <= 125, (d, p, value)
        assert isinstance(t, int) and st["t0"] * 1000 - 1000 <= t <= time.time() * 1000 + 1000, \
            (d, p, t)
    # the demo reports every second: every row's time moves on
    time.sleep(1.5)
    later = db_rows(V)
    for k in want:
        assert later[k][1] > rows[k][1], f"{k}: time_ms did not advance ({rows[k]} -> {later[k]})"
    # a value set through the API reaches the table through the driver's report
    expect(dev(V, "properties/set", {"productKey": PK, "deviceName": "LightDev2",
                                     "properties": {"brightness": 23}}, st["cookie"]), 200)
    wait_for(lambda: db_rows(V)[("LightDev2", "brightness")][0] == "23", 2.0,
             "brightness 23 of LightDev2 in verge.db")


def test_typed_round_trips():
    c = st["cookie"]
    base = {"productKey": PK, "deviceName": "LightDev1"}

    def set_(props):
        return dev(V, "properties/set", dict(base, properties=props), c)

    def query(names, **kw):
        return dev(V, "property/query", dict(base, propertyIdentifier=names, **kw), c)

    expect(set_({"brightness": 42, "LightSwitch": 0}), 200, "success", None)
    body = expect(query(["brightness", "LightSwitch"]), 200, "success")
    assert [(e["attribute"], e["value"]) for e in body["data"]] == \
        [("brightness", "42"), ("LightSwitch", "0")], body
    # booleans as true/false go to the device as 1/0
    expect(set_({"LightSwitch": True}), 200, "success", None)
    body = expect(query(["LightSwitch"]), 200, "success")
    assert body["data"][0]["value"] == "1", body

    def fails(r, status, code, fragment):
        body = expect(r, status, data={"errorCode": code})
        assert fragment in body["message"], f"{fragment!r} not in {body['message']!r}"

    fails(set_({"brightness": 101}), 400, 100007, "brightness = 101")
    fails(set_({"temperature": 20.5}), 400, 109003, "read-only")
    fails(set_({"brightness": "high"}), 400, 109008, 'brightness = "high"')
    fails(set_({"brightness": 4.5}), 400, 109008, "brightness = 4.5")
    fails(set_({"colour": 1}), 400, 109002, '"colour"')
    fails(query(["colour"]), 400, 109002, '"colour"')
    fails(dev(V, "properties/set", {"productKey": PK, "deviceName": "NoSuchDev",
                                    "properties": {"brightness": 1}}, c),
          404, 109000, "a1DemoLight/NoSuchDev")
    fails(dev(V, "property/query", {"productKey": PK, "deviceName": "NoSuchDev",
                                    "propertyIdentifier": ["brightness"]}, c),
          404, 109000, "a1DemoLight/NoSuchDev")
    fails(dev(V, "service/invoke", {"productKey": "a1Nope", "deviceName": "LightDev1",
                                    "method": "turn", "inputParams": {}}, c),
          404, 109000, "a1Nope/LightDev1")
    # a set that fails changes nothing (all or nothing)
    fails(set_({"brightness": 7, "temperature": 1}), 400, 109003, "temperature")
    body = expect(query(["brightness"]), 200, "success")
    assert body["data"][0]["value"] == "42", body

    def invoke(method, inputs):
        return dev(V, "service/invoke", dict(base, method=method, inputParams=inputs), c)

    body = expect(invoke("turn", {"LightSwitch": 1}), 200, "success")
    assert body["data"] == {"code": 0, "message": "Ok",
                            "data": {"LightSwitch": 1, "result": "already on"}}, body
    body = expect(invoke("turn", {"LightSwitch": 0}), 200, "success")
    assert body["data"] == {"code": 0, "message": "Ok",
                            "data": {"LightSwitch": 0, "result": "switched off"}}, body
    body = expect(query(["LightSwitch"]), 200, "success")
    assert body["data"][0]["value"] == "0", body
    fails(invoke("dim", {}), 400, 109005, '"dim"')
    fails(invoke("turn", {"LightSwitch": 2}), 400, 109006, "LightSwitch = 2")
    fails(invoke("turn", {"Colour": 1}), 400, 109006, '"Colour"')
    # the driver itself refuses a turn without its argument
    fails(invoke("turn", {}), 400, 109006, "Service param invalid")


def test_driver_output_captured():
    log = V.log()
    assert "\x1b" not in log, "ANSI escape sequences in the log: " + \
        repr([l for l in log.splitlines() if "\x1b" in l][:3])
    lines = [l for l in log.splitlines() if "[driver:demo_light] " in l]
    for d in DEVS:
        assert any(re.search(rf"\[driver:demo_light\] INFO <demo_light> main\.c-register_lights:"
                             rf"\d+ {PK}/{d} online as handle \d+$", l) for l in lines), \
            f"no 'online as handle' line for {d} in:\n" + "\n".join(lines)
    assert any(l.endswith("LightDev1: turn 0: switched off") for l in lines), "\n".join(lines)
    assert any(l.endswith("LightDev1: set 2 properties") for l in lines), "\n".join(lines)
    # no empty lines (what is left of the SDK's colour reset after the newline)
    assert not [l for l in lines if l.rstrip().endswith("[driver:demo_light]")], "\n".join(lines)


def test_kill_9_driver_restarts():
    c = st["cookie"]
    pid = driver_pid(V, "drivers/demo_light/main")
    assert pid == st["pid"], f"demo_light was restarted before this test ({st['pid']} -> {pid})"
    m = metrics(V, c)
    assert m.get('verge_driver_restarts_total{driver="demo_light"}') == 0, m
    assert m.get('verge_driver_up{driver="demo_light"}') == 1, m
    os.kill(pid, signal.SIGKILL)
    t_kill = time.monotonic()
    wait_for(lambda: online_count(V, c) == 0, 1.0, "the demo devices Offline after SIGKILL",
             interval=0.01)
    t_off = time.monotonic() - t_kill
    assert all(d["LocalState"] == "Offline" for d in device_list(V, c).values()), device_list(V, c)
    wait_for(lambda: online_count(V, c) == 2, 3.0, "the demo devices Online again", interval=0.02)
    t_on = time.monotonic() - t_kill
    new = driver_pid(V, "drivers/demo_light/main")
    assert new and new != pid, f"no new demo_light process ({pid} -> {new})"
    m = metrics(V, c)
    assert m.get('verge_driver_restarts_total{driver="demo_light"}') == 1, m
    assert m.get('verge_driver_up{driver="demo_light"}') == 1, m
    assert re.search(rf"driver demo_light \(pid {pid}\) killed by signal 9 after \d+ ms", V.log())
    assert re.search(r"driver demo_light: restart in 200 ms", V.log()), V.log()
    # requests reach the new process
    body = expect(dev(V, "property/query", {"productKey": PK, "deviceName": "LightDev1",
                                            "propertyIdentifier": ["brightness"]}, c), 200,
                  "success")
    assert body["data"][0]["value"] == "60", body  # the new process starts from its defaults
    print(f"    offline after {t_off * 1000:.0f} ms, online again after {t_on * 1000:.0f} ms")
    st["pid"] = new


def test_sigterm_stops_driver_and_cache_survives():
    c = st["cookie"]
    pid = driver_pid(V, "drivers/demo_light/main")
    assert pid, children(V.proc.pid)
    expect(dev(V, "properties/set", {"productKey": PK, "deviceName": "LightDev2",
                                     "properties": {"brightness": 17}}, c), 200)
    time.sleep(0.3)  # the driver reports the change at its next 50 ms tick
    before = device_list(V, c)
    took = V.stop(timeout=5.0)  # asserts exit status 0
    assert took < 5.0, took
    assert gone(pid), f"driver process {pid} still there after verge exited"
    log = V.log()
    assert re.search(r"driver demo_light stopped \(status 0\)", log), log[-2000:]
    assert re.search(r"\[driver:demo_light\] INFO <demo_light> main\.c-main:\d+ stopping$", log,
                     re.M), log[-2000:]

    rows = db_rows(V)
    assert set(rows) == {(d, p) for d in DEVS for p in PROPS}, rows
    assert rows[("LightDev2", "brightness")][0] == "17", rows

    # start again on the same data dir with a driver that never connects: the devices are
    # Offline and a query is answered from the cache restored from verge.db
    sleeper = make_bundle([{"name": "demo_light", "devices": list(DEVS),
                            "script": "#!/bin/sh\nexec sleep 60\n"}], name="sleeper")
    W = Verge(data_dir=V.data_dir, args=["--bundle", sleeper], name="restarted")
    W.start()
    wc = W.login()
    assert online_count(W, wc) == 0
    after = device_list(W, wc)
    for d in DEVS:
        assert after[d]["LocalState"] == "Offline", after[d]
        assert after[d]["LastLocalOnlineTime"] == before[d]["LastLocalOnlineTime"], \
            (before[d], after[d])
        assert after[d]["LastLinkTime"] == before[d]["LastLinkTime"], (before[d], after[d])
    for d in DEVS:
        r = dev(W, "property/query", {"productKey": PK, "deviceName": d,
                                      "propertyIdentifier": list(PROPS)}, wc)
        body = expect(r, 200)
        assert body["message"].startswith(MSG_FROM_CACHE), body
        got = {e["attribute"]: e for e in body["data"]}
        assert list(got) == list(PROPS), body
        for p in PROPS:
            value, t = rows[(d, p)]
            assert float(got[p]["value"]) == float(value), (d, p, got[p], value)
            assert got[p]["gmtModified"] == str(t // 1000), (d, p, got[p], t)
    assert [e["value"] for e in body["data"]][:2] == [rows[("LightDev2", "LightSwitch")][0], "17"]
    # writes to an offline device: 503 with the SDK's "Device offline"
    r = dev(W, "properties/set", {"productKey": PK, "deviceName": "LightDev1",
                                  "properties": {"brightness": 1}}, wc)
    expect(r, 503, "device a1DemoLight/LightDev1 is offline", {"errorCode": 109001})
    r = dev(W, "service/invoke", {"productKey": PK, "deviceName": "LightDev1", "method": "turn",
                                  "inputParams": {"LightSwitch": 1}}, wc)
    expect(r, 503, "device a1DemoLight/LightDev1 is offline", {"errorCode": 109001})
    sleepers = list(children(W.proc.pid))  # `exec sleep 60`
    assert len(sleepers) == 1, sleepers
    W.stop(timeout=5.0)
    assert gone(sleepers[0]), f"driver process {sleepers[0]} still there after verge exited"


# ---- drivers that misbehave (a daemon each) --------------------------------------------------

def test_crash_looping_driver():
    bundle = make_bundle([{"name": "crashy", "devices": ["CrashDev"],
                           "script": "#!/bin/sh\nexit 3\n"}])
    v = Verge("drivers.restart_max_ms=1000", args=["--bundle", bundle], name="crashy")
    v.start()
    first = wait_for(lambda: log_times(v, r"\[drvhost\] driver crashy started \(pid \d+\)"), 2.0,
                     "the first start of crashy")[0]
    time.sleep(max(0.0, first + 4.3 - time.time()))
    starts = [t for t in log_times(v, r"\[drvhost\] driver crashy started \(pid \d+\)")
              if t <= first + 4.0]
    gaps = [round((b - a) * 1000) for a, b in zip(starts, starts[1:])]
    # 200 ms doubling to 1000: starts at 0, 0.2, 0.6, 1.4, 2.4, 3.4 s
    assert 4 <= len(starts) <= 7, f"{len(starts)} starts in 4 s (gaps {gaps} ms)"
    for i, g in enumerate(gaps):
        want = min(200 * 2 ** i, 1000)
        assert want - 30 <= g <= want + 500, f"gap {i} = {g} ms, expected ~{want} (gaps {gaps})"
    log = v.log()
    assert "driver crashy (pid" in log and "exited with status 3 after" in log, log[-2000:]
    assert re.search(r"driver crashy is crash-looping: \d+ failed runs in a row; "
                     r"next start in \d+ ms", log), log[-2000:]
    # the runtime keeps serving
    t0 = time.monotonic()
    expect(v.api("/healthz", method="GET"), 200, "success", {"status": "ok"})
    assert time.monotonic() - t0 < 1.0
    c = v.login()
    m = metrics(v, c)
    n = len(log_times(v, r"\[drvhost\] driver crashy started"))
    assert m.get('verge_driver_restarts_total{driver="crashy"}') in (n - 1, n - 2), (m, n)
    assert m.get('verge_driver_up{driver="crashy"}') == 0, m
    assert online_count(v, c) == 0
    assert device_list(v, c)["CrashDev"]["LocalState"] == "Offline"
    r = dev(v, "property/query", {"productKey": PK, "deviceName": "CrashDev",
                                  "propertyIdentifier": ["brightness"]}, c)
    expect(r, 503, "device a1DemoLight/CrashDev is offline", {"errorCode": 109001})
    v.stop(timeout=5.0)


def test_mute_driver_timeouts():
    bundle = make_bundle([{"name": "mute", "devices": ["MuteDev"], "copy": MUTE_DRIVER,
                           "json": {"mode": "mute", "report": {"brightness": 7}}}])
    v = Verge("drivers.call_timeout_ms=500", args=["--bundle", bundle], name="mute")
    v.start()
    c = v.login()
    wait_for(lambda: online_count(v, c) == 1, 5.0, "MuteDev Online")
    row = wait_for(lambda: db_rows(v).get(("MuteDev", "brightness")), 3.0,
                   "the mute driver's report in verge.db")
    assert row[0] == "7", row
    base = {"productKey": PK, "deviceName": "MuteDev"}
    timeout_msg = "device a1DemoLight/MuteDev: its driver did not answer within 500 ms"

    # a query the device cannot answer: from the cache when the property was reported
    r, took = timed(dev, v, "property/query", dict(base, propertyIdentifier=["brightness"]), c)
    body = expect(r, 200)
    assert body["message"].startswith(MSG_FROM_CACHE), body
    assert body["data"] == [{"iotId": "", "batchId": "", "attribute": "brightness", "group": "",
                             "value": "7", "gmtModified": str(row[1] // 1000)}], body
    assert 0.45 <= took <= 1.5, f"answered after {took:.3f} s"
    # ... and 503 with the SDK's timeout code when nothing is cached
    r, took = timed(dev, v, "property/query", dict(base, propertyIdentifier=["LightSwitch"]), c)
    expect(r, 503, timeout_msg, {"errorCode": 100006})
    assert 0.45 <= took <= 1.5, f"answered after {took:.3f} s"
    r, took = timed(dev, v, "properties/set", dict(base, properties={"brightness": 5}), c)
    expect(r, 503, timeout_msg, {"errorCode": 100006})
    assert 0.45 <= took <= 1.5, f"answered after {took:.3f} s"
    r, took = timed(dev, v, "service/invoke",
                    dict(base, method="turn", inputParams={"LightSwitch": 1}), c)
    expect(r, 503, timeout_msg, {"errorCode": 100006})
    assert 0.45 <= took <= 1.5, f"answered after {took:.3f} s"

    # while calls wait for the mute driver, everything else is answered promptly
    s = v.connect()
    f = s.makefile("rb")
    try:
        s.sendall(raw_request("GET", "/healthz"))  # warm the connection up
        expect(read_response(f), 200)
        results = []
        threads = [threading.Thread(target=lambda: results.append(timed(
            dev, v, "properties/set", dict(base, properties={"LightSwitch": 0}), c)))
            for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.15)  # the calls are now waiting for the driver
        lat = []
        for i in range(6):
            t0 = time.monotonic()
            if i % 2:
                s.sendall(raw_request("GET", "/healthz"))
                expect(read_response(f), 200, "success", {"status": "ok"})
            else:
                s.sendall(raw_request("POST", "/thing/device/count",
                                      b'{"params":{"onlineStatus":1}}', cookie=c))
                assert expect(read_response(f), 200)["data"] == {"deviceCount": 1}
            lat.append(time.monotonic() - t0)
        for t in threads:
            t.join(5)
        assert len(results) == 3, results
        for r, took in results:
            expect(r, 503, timeout_msg, {"errorCode": 100006})
            assert 0.45 <= took <= 1.5, f"answered after {took:.3f} s"
        assert max(lat) < 0.2, f"latencies while calls were pending: {lat}"
    finally:
        f.close()
        s.close()
    # the calls reached the driver, which is still connected and its device still Online
    def ignored():
        return [l for l in v.log().splitlines()
                if "[driver:mute] mute_driver[mute]: ignoring call callServices" in l]
    assert len(ignored()) == 7, "\n".join(ignored())
    assert online_count(v, c) == 1
    assert metrics(v, c).get('verge_driver_restarts_total{driver="mute"}') == 0

    # a driver that dies with a call pending: the call fails at once (503, "Service
    # unreachable"), not after the timeout; a query meanwhile comes from the cache
    mute_pid = driver_pid(v, "drivers/mute/mute_driver.py")
    assert mute_pid, children(v.proc.pid)
    done = []
    th = threading.Thread(target=lambda: done.append((dev(
        v, "properties/set", dict(base, properties={"brightness": 3}), c), time.monotonic())))
    th.start()
    wait_for(lambda: len(ignored()) == 8, 2.0, "the set to reach the mute driver")
    os.kill(mute_pid, signal.SIGKILL)
    t_kill = time.monotonic()
    th.join(5)
    r, t_done = done[0]
    expect(r, 503, "device a1DemoLight/MuteDev: Service unreachable", {"errorCode": 100008})
    assert t_done - t_kill < 0.3, f"answered {t_done - t_kill:.3f} s after the driver died"
    body = expect(dev(v, "property/query", dict(base, propertyIdentifier=["brightness"]), c), 200)
    assert body["message"].startswith(MSG_FROM_CACHE), body
    assert body["data"][0]["value"] == "7", body
    wait_for(lambda: online_count(v, c) == 1, 3.0, "MuteDev Online again after the restart")
    assert metrics(v, c).get('verge_driver_restarts_total{driver="mute"}') == 1
    st["mute_log"] = v.log()
    v.stop(timeout=5.0)


def test_runtime_call_seq_starts_at_1():
    """docs/driver-protocol.md: seq is an integer in 1..2^53-1, numbered upwards by each side."""
    seqs = [int(x) for x in re.findall(
        r"mute_driver\[mute\]: ignoring call callServices seq (\d+)", st.get("mute_log", ""))]
    assert len(seqs) >= 8, seqs
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"not numbered upwards: {seqs}"
    assert seqs[0] >= 1, f"the runtime's first call has seq {seqs[0]}; the protocol: 1..2^53-1"


def test_malformed_frames():
    demo_exe = os.path.join(demo_bundle(), "drivers", "demo_light", "main")
    bundle = make_bundle([
        {"name": "demo_light", "devices": list(DEVS), "copy": demo_exe},
        {"name": "badlen", "devices": ["BadDev1"], "copy": MUTE_DRIVER,
         "json": {"mode": "bad_length", "delay_ms": 300}},
        {"name": "badjson", "devices": ["BadDev2"], "copy": MUTE_DRIVER,
         "json": {"mode": "not_json", "delay_ms": 300}},
    ])
    v = Verge(args=["--bundle", bundle], name="malformed")
    v.start()
    c = v.login()
    wait_for(lambda: online_count(v, c, productKey=PK) >= 2 and
             all(device_list(v, c)[d]["LocalState"] == "Online" for d in DEVS),
             5.0, "the demo devices Online")
    demo_pid = driver_pid(v, "drivers/demo_light/main")
    assert demo_pid, children(v.proc.pid)
    key = ("LightDev1", "temperature")
    wait_for(lambda: key in db_rows(v), 3.0, "a demo report in verge.db")
    times = set()
    states = []
    end = time.monotonic() + 4.0
    while time.monotonic() < end:
        listing = device_list(v, c, driverName="demo_light")
        states.append(tuple(listing[d]["LocalState"] for d in DEVS))
        times.add(db_rows(v)[key][1])
        time.sleep(0.1)
    assert set(states) == {("Online", "Online")}, f"demo devices went Offline: {states}"
    assert len(times) >= 3, f"the demo's cached time did not keep advancing: {sorted(times)}"
    assert driver_pid(v, "drivers/demo_light/main") == demo_pid, "the demo driver was restarted"

    log = v.log()
    assert re.search(r"\[drvhost\] driver badlen: protocol error: frame length 4294967295 "
                     r"outside 1\.\.1048576; disconnecting it", log), log[-3000:]
    assert re.search(r"\[drvhost\] driver badjson: protocol error: frame is not JSON: .*; "
                     r"disconnecting it", log), log[-3000:]
    assert "[driver:badlen] mute_driver[badlen]: sent a frame of length 0xFFFFFFFF" in log
    assert "[driver:badjson] mute_driver[badjson]: sent a frame that is not JSON" in log
    for name in ("badlen", "badjson"):
        n = len(log_times(v, rf"\[drvhost\] driver {name} started \(pid \d+\)"))
        assert n >= 2, f"{name} started {n} times: not restarted after its protocol error"
        assert re.search(rf"driver {name} disconnected: connection closed", log), name
    m = metrics(v, c)
    assert m.get("verge_driver_protocol_errors_total", 0) >= 2, m
    assert m.get('verge_driver_restarts_total{driver="badlen"}', 0) >= 1, m
    assert m.get('verge_driver_restarts_total{driver="badjson"}', 0) >= 1, m
    assert m.get('verge_driver_restarts_total{driver="demo_light"}') == 0, m
    assert "protocol error" not in "\n".join(l for l in log.splitlines() if "demo_light" in l)
    v.stop(timeout=5.0)


def test_driver_leaving_a_child_behind():
    """A driver that exits while a child it started still holds its stdout and stderr (a
    wrapper script, a daemonizing helper): the runtime restarts it and keeps serving."""
    bundle = make_bundle([{"name": "forky", "devices": ["ForkDev"],
                           "script": "#!/bin/sh\nsleep 1 &\necho forked a helper\nexit 1\n"}])
    v = Verge("drivers.restart_max_ms=1000", args=["--bundle", bundle], name="forky")
    v.start()
    stalls = []
    end = time.monotonic() + 4.0
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            r = v.api("/healthz", method="GET", timeout=1.0)
            ok = r.status == 200
        except OSError as e:
            ok = False
            r = e
        if not ok or time.monotonic() - t0 > 0.5:
            stalls.append((round(time.monotonic() - end + 4.0, 2), repr(r)[:80]))
        time.sleep(0.2)
    n = len(log_times(v, r"\[drvhost\] driver forky started"))
    cpu0, t0 = cpu_seconds(v.proc.pid), time.monotonic()
    time.sleep(1.5)
    cpu = (cpu_seconds(v.proc.pid) - cpu0) / (time.monotonic() - t0)
    assert cpu < 0.5, f"verge uses {cpu:.0%} of a CPU while its driver restarts every second"
    assert not stalls, f"/healthz failed or stalled (> 0.5 s) while forky restarted " \
                       f"({n} starts): {stalls[:5]}"
    assert n >= 3, f"forky started {n} times in 4 s"
    v.stop(timeout=6.0)


def test_sigterm_with_wrapper_script_driver():
    """A driver started through a shell script that does not exec (the real program is the
    script's child): SIGTERM still stops verge within drivers.stop_timeout_ms + a margin, and
    no process of the driver is left behind."""
    bundle = make_bundle([{"name": "wrapped", "devices": ["WrapDev"],
                           "script": "#!/bin/sh\necho starting the real driver\nsleep 30\n"}])
    v = Verge("drivers.stop_timeout_ms=1000", args=["--bundle", bundle], name="wrapped")
    v.start()
    sh = wait_for(lambda: driver_pid(v, "drivers/wrapped/main"), 2.0, "the wrapper's process")
    real = wait_for(lambda: list(children(sh)), 2.0, "the wrapper's child")
    try:
        v.proc.send_signal(signal.SIGTERM)
        try:
            rc = v.proc.wait(6.0)
        except Exception:
            rc = None
        left = [p for p in real if not gone(p)]
        assert rc == 0, f"verge did not exit within 6 s of SIGTERM (status {rc}); log tail:\n" + \
            "\n".join(v.log().splitlines()[-4:])
        assert not left, f"driver processes left running after verge exited: {left}"
    finally:
        for p in real:  # the wrapper's child, which this test started through verge
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_config_change_reaches_the_driver_callback():
    """SIGHUP re-reads the bundle; a driver whose config changed gets it through its
    config-changed callback (the demo logs its new report interval)."""
    demo_exe = os.path.join(demo_bundle(), "drivers", "demo_light", "main")
    bundle = make_bundle([{"name": "demo_light", "devices": list(DEVS), "copy": demo_exe,
                           "json": {"report_interval_ms": 1000}}], name="reconf")
    v = Verge(args=["--bundle", bundle], name="reconf")
    v.start()
    wait_for(lambda: "report every 1000 ms" in v.log(), 5.0, "the demo's first config")
    path = os.path.join(bundle, "bundle.json")
    with open(path) as f:
        manifest = json.load(f)
    manifest["drivers"][0]["config"]["json"]["report_interval_ms"] = 300
    with open(path, "w") as f:
        json.dump(manifest, f)
    v.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "report every 300 ms" in v.log(), 5.0, "the new config in the driver")
    assert "SIGHUP: new config sent to driver demo_light" in v.log(), v.log()[-1500:]
    pid = driver_pid(v, "drivers/demo_light/main")
    v.proc.send_signal(signal.SIGHUP)  # nothing changed: nothing sent, the driver keeps running
    wait_for(lambda: "SIGHUP: 0 driver config(s) changed" in v.log(), 5.0, "the second reload")
    assert driver_pid(v, "drivers/demo_light/main") == pid
    v.stop()


def test_relative_data_dir():
    """The default data directory is relative (./var): drivers, which run in their own
    folders, must still find the driver socket."""
    cwd = tmpdir("verge-rel-")
    port = free_port()
    log = os.path.join(cwd, "verge.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen([VERGE_BIN, "serve", "--listen", f"127.0.0.1:{port}",
                                 "--bundle", demo_bundle()], cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, env=verge_env())
    try:
        read = lambda: open(log).read()
        wait_for(lambda: "driver demo_light connected" in read(), 5.0, "the driver's connection")
        assert os.path.exists(os.path.join(cwd, "var", "run", "drivers.sock")), read()[-1500:]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_bundle_errors_exit_2():
    bundle = make_bundle([{"name": "d", "devices": ["LightDev1"],
                           "script": "#!/bin/sh\nexit 0\n"}], name="broken")
    with open(os.path.join(bundle, "bundle.json")) as f:
        manifest = json.load(f)
    drv = manifest["drivers"][0]
    drv["exec"] = "../../outside/main"
    drv["devices"] = [{"productKey": "a1NoSuchProduct", "deviceName": "X1"},
                      {"productKey": PK, "deviceName": "LightDev1"},
                      {"productKey": PK, "deviceName": "LightDev1"}]
    with open(os.path.join(bundle, "bundle.json"), "w") as f:
        json.dump(manifest, f)
    data = os.path.join(tmpdir(), "data")
    out = run_verge("serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--bundle", bundle,
                    timeout=20)
    assert out.returncode == 2, out
    lines = out.stderr.splitlines()
    for want in (
            'bundle.json: drivers[0].exec = "../../outside/main": leaves the bundle directory',
            'bundle.json: drivers[0].devices[0].productKey = "a1NoSuchProduct": no such product; '
            'products are a1DemoLight',
            'bundle.json: drivers[0].devices[2].deviceName = "LightDev1": duplicate device '
            'a1DemoLight/LightDev1; drivers[0].devices[1] has it'):
        assert want in lines, f"missing {want!r} in:\n{out.stderr}"
    assert not os.path.exists(data), "serve created its data dir for a bundle it refused"


if __name__ == "__main__":
    run(globals())
