"""Integration test: Lua functions in the real daemon. The seed 004 §2 examples, rewritten in
Lua in the demo bundle (functions/demo/functions/), run against the demo driver and give the
documented results through POST /function/invoke; routes carry device reports and publish()
calls (with wildcards, through a local topic) to a function; timers, both modes, limits and
errors are checked on a bundle made here."""

import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import ADMIN, ADMIN_PASSWORD, Verge, demo_bundle, expect, run, tmpdir  # noqa: E402

AUTH = (ADMIN, ADMIN_PASSWORD)
_demo = None


def demo():
    global _demo
    if _demo is None or not _demo.running():
        _demo = Verge("credentials.access_key_id=AKID-demo", "credentials.access_key_secret=s3",
                      args=["--bundle", demo_bundle()], name="demo").start()
    return _demo


def invoke(v, fn, payload="", **extra):
    params = {"serviceName": "EdgeFC", "functionName": fn, "payload": payload}
    params.update(extra)
    return v.api("/function/invoke", params, basic=AUTH)


def ok_payload(r):
    body = json.loads(r.body)
    assert r.status == 200 and body["code"] == 200, r
    assert body["data"]["statusCode"] == 200 and body["data"]["functionError"] is None, body
    return body["data"]["payload"]


def wait_for(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# ---- seed §2 examples --------------------------------------------------------------------

def test_seed_publish():
    assert ok_payload(invoke(demo(), "publish")) == "published"


def test_seed_get_thing_properties():
    v = demo()
    wait_for(lambda: "LightSwitch" in ok_payload(invoke(v, "get_light")), what="LightSwitch")
    data = json.loads(ok_payload(invoke(v, "get_light")))
    assert set(data) == {"LightSwitch"} and data["LightSwitch"] in (0, 1), data


def test_seed_set_thing_properties():
    v = demo()
    assert json.loads(ok_payload(invoke(v, "set_light", '{"LightSwitch":1}'))) == {}
    assert json.loads(ok_payload(invoke(v, "get_light"))) == {"LightSwitch": 1}
    assert json.loads(ok_payload(invoke(v, "set_light", '{"LightSwitch":0}'))) == {}
    assert json.loads(ok_payload(invoke(v, "get_light"))) == {"LightSwitch": 0}


def test_seed_call_thing_service_turn():
    v = demo()
    invoke(v, "set_light", '{"LightSwitch":1}')
    out = json.loads(ok_payload(invoke(v, "call_turn")))
    assert out["data"]["LightSwitch"] == 0, out
    assert json.loads(ok_payload(invoke(v, "get_light"))) == {"LightSwitch": 0}


def test_seed_get_things_with_tags():
    things = json.loads(ok_payload(invoke(demo(), "tags")))
    assert things == [{"productKey": "a1DemoLight", "deviceName": "LightDev1",
                       "tags": [{"location": "master bedroom"}]}], things


def test_seed_invoker_helloworld_table_context():
    assert ok_payload(invoke(demo(), "Invoker")) == \
        "Message from helloworld (Custom context from Invoker)"


def test_seed_invoker_helloworld_base64_context():
    assert ok_payload(invoke(demo(), "Invoker", "base64")) == \
        "Message from helloworld (Custom context from Invoker)"


def test_invoke_api_invoker_context_forms():
    v = demo()
    ctx = {"custom": {"data": "from the API"}}
    import base64
    b64 = base64.b64encode(json.dumps(ctx).encode()).decode()
    for form in (ctx, b64):
        p = ok_payload(invoke(v, "helloworld", "x", invokerContext=form))
        assert p == "Message from helloworld (from the API)", p
    r = invoke(v, "helloworld", "x", invokerContext="%%%not base64")
    expect(r, 400)
    assert "invokerContext" in json.loads(r.body)["message"]


def test_seed_credentials():
    assert ok_payload(invoke(demo(), "credentials")) == "Access Key Id: AKID-demo"


# ---- routes --------------------------------------------------------------------------------

def monitor_stats(v):
    return json.loads(ok_payload(invoke(v, "monitor", "stats")))


def test_route_device_reports_with_wildcard():
    v = demo()
    s = wait_for(lambda: (lambda st: st if st["messages"] >= 2 and len(st["sources"]) >= 2
                          else None)(monitor_stats(v)), what="reports of both lights")
    assert "device:a1DemoLight/LightDev1" in s["sources"], s
    assert "device:a1DemoLight/LightDev2" in s["sources"], s
    assert s["topics"].get("/sys/a1DemoLight/LightDev1/thing/event/property/post", 0) >= 1, s


def test_route_publish_through_local_topic():
    v = demo()
    before = monitor_stats(v)["topics"].get("/demo/relay", 0)
    for _ in range(5):
        ok_payload(invoke(v, "publish"))
    wait_for(lambda: monitor_stats(v)["topics"].get("/demo/relay", 0) == before + 5,
             what="5 relayed messages")
    m = v.api("/metrics", method="GET", basic=AUTH).body.decode()
    assert 'verge_route_messages_total{route="hello-relay",outcome="forwarded"}' in m, m[:2000]


# ---- errors ----------------------------------------------------------------------------------

def test_invoke_errors():
    v = demo()
    r = v.api("/function/invoke", {"serviceName": "EdgeFC", "functionName": "nope"}, basic=AUTH)
    expect(r, 404, "no function EdgeFC/nope on this gateway")
    r = v.api("/function/invoke", {"functionName": "x"}, basic=AUTH)
    expect(r, 400)
    r = v.api("/function/invoke", {"functionId": "EdgeFC/helloworld", "invocationType": "Later"},
              basic=AUTH)
    expect(r, 400, 'params.invocationType = "Later": expected "Sync" or "Async"')
    r = v.api("/function/invoke", {"functionId": "EdgeFC/helloworld"})
    expect(r, 401)


def test_invoke_async_returns_an_id():
    r = demo().api("/function/invoke", {"functionId": "EdgeFC/publish",
                                        "invocationType": "Async"}, basic=AUTH)
    body = json.loads(r.body)
    assert r.status == 200 and len(body["data"]["invocationId"]) == 24, body


# ---- a bundle of our own: modes, timers, limits ---------------------------------------------

LUA = {
    "boom.lua": 'function handler(e, c) error("boom: " .. e) end\n',
    "spin.lua": "function handler(e, c) while true do end end\n",
    "slow.lua": 'local l = require("lecoresdk")\nfunction handler(e, c) l.sleep(300) return e end\n',
    "ticker.lua": ("local n, last = 0, nil\n"
                   "function handler(e, c)\n"
                   "  if e == 'count' then return tostring(n) .. ' ' .. (last or '') end\n"
                   "  n = n + 1; last = e\nend\n"),
    "loop.lua": ('local l = require("lecoresdk")\nlocal iter = 0\n'
                 "function handler(e, c) return tostring(iter) end\n"
                 "while true do iter = iter + 1; l.sleep(20) end\n"),
    "state.lua": "local calls = 0\nfunction handler(e, c) calls = calls + 1 return tostring(calls) end\n",
}


def own_bundle():
    d = os.path.join(tmpdir(), "bundle")
    os.makedirs(os.path.join(d, "functions"))
    shutil.copytree(os.path.join(demo_bundle(), "products"), os.path.join(d, "products"))
    for name, text in LUA.items():
        with open(os.path.join(d, "functions", name), "w") as f:
            f.write(text)
    fns = [
        {"service": "T", "name": "boom", "code": "functions/boom.lua"},
        {"service": "T", "name": "spin", "code": "functions/spin.lua", "timeoutMs": 200},
        {"service": "T", "name": "slow", "code": "functions/slow.lua", "concurrency": 1,
         "queueMax": 2},
        {"service": "T", "name": "ticker", "code": "functions/ticker.lua",
         "timers": [{"everyMs": 100, "payload": "tick"}]},
        {"service": "T", "name": "loop", "code": "functions/loop.lua", "mode": "long-running"},
        {"service": "T", "name": "state", "code": "functions/state.lua", "idleUnloadMs": 1000},
    ]
    manifest = {"name": "own", "version": "1.0.0",
                "products": [{"productKey": "a1DemoLight", "tsl": "products/light.json"}],
                "functions": fns}
    with open(os.path.join(d, "bundle.json"), "w") as f:
        json.dump(manifest, f)
    return d


_own = None


def own():
    global _own
    if _own is None or not _own.running():
        _own = Verge(args=["--bundle", own_bundle()], name="own").start()
    return _own


def call(v, fn, payload="", **extra):
    params = {"functionId": f"T/{fn}", "payload": payload}
    params.update(extra)
    r = v.api("/function/invoke", params, basic=AUTH)
    return r, json.loads(r.body)


def test_handled_error_propagates():
    r, body = call(own(), "boom", "x")
    assert r.status == 200 and body["data"]["functionError"] == "Handled", body
    assert "boom: x" in body["data"]["payload"], body
    assert "T/boom" in own().log() and "traceback" in own().log().lower()


def test_time_limit_is_unhandled_and_runtime_keeps_serving():
    v = own()
    t0 = time.monotonic()
    r, body = call(v, "spin")
    assert body["data"]["functionError"] == "Unhandled", body
    assert time.monotonic() - t0 < 3, "the time limit did not stop the loop"
    r, body = call(v, "state")
    assert body["data"]["functionError"] is None
    m = v.api("/metrics", method="GET", basic=AUTH).body.decode()
    assert 'verge_fn_limit_breaches_total{function="T/spin",kind="time"}' in m


def test_concurrency_queue_refusal():
    v = own()
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: call(v, "slow", str(i))[0].status, range(8)))
    assert results.count(200) >= 3 and results.count(503) >= 1, results
    assert 200 in results


def test_timer_every_ms():
    v = own()
    n = wait_for(lambda: (lambda p: int(p.split()[0]) if int(p.split()[0]) >= 3 else None)(
        call(v, "ticker", "count")[1]["data"]["payload"]), what="3 timer firings")
    last = json.loads(call(v, "ticker", "count")[1]["data"]["payload"].split(" ", 1)[1])
    assert last["type"] == "timer" and last["everyMs"] == 100 and last["payload"] == "tick", last
    assert last["index"] == 0 and last["firedMs"] >= last["scheduledMs"] - 50, last
    assert n >= 3


def test_long_running_top_level_loops():
    v = own()
    a = int(call(v, "loop")[1]["data"]["payload"])
    time.sleep(0.3)
    b = int(call(v, "loop")[1]["data"]["payload"])
    assert b > a >= 1, (a, b)


def test_on_demand_idle_unload():
    v = own()
    assert call(v, "state")[1]["data"]["payload"] != ""
    n1 = int(call(v, "state")[1]["data"]["payload"])
    n2 = int(call(v, "state")[1]["data"]["payload"])
    assert n2 == n1 + 1  # the state persists while in use
    time.sleep(1.6)  # idleUnloadMs 1000
    assert call(v, "state")[1]["data"]["payload"] == "1"  # a fresh state


def test_clean_shutdown_with_functions():
    v = own()
    v.stop()
    assert "stopped" in v.log()


if __name__ == "__main__":
    run(globals())
