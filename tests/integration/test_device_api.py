"""Integration tests: the device endpoints of seed §3.4 (count, list-authed, properties/set,
property/query, service/invoke) and the event stream (events/get), against bundles driven by
the fake driver drivers/event_driver.py (and one run of the real demo driver).

Daemons:
  R  the registry: four devices of two products and two drivers, one left offline, created
     across three starts so that their creation order is known; filters, paging, sorting,
     set/query round trips, services and every error path;
  E  events: events.heartbeat_ms=500, events.max_queue_bytes=1048576 and room for 1,000
     connections from loopback; order, filters, heartbeats, a stalled reader, 1,000 streams;
  Q  events.max_queue_bytes=4096: readers that keep up with bursts of events are not cut;
  L  leaks: streams opened and dropped mid-stream, fds, the streams gauge and RSS;
  D  the demo bundle's real driver: high_temperature when brightness heats the lamp past 50.
"""

import json
import os
import resource
import selectors
import shutil
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import (Verge, expect, raw_request, request_body, run, tmpdir)  # noqa: E402
from device_it import (EVT_PK, EVT_PK2, HEARTBEAT, ChunkParser, EventStream,  # noqa: E402
                       demo_bundle, fd_count, make_bundle, metrics, rss_kb, wait_online,
                       wait_until, write_bundle)

# 1,000 streams need more than the usual 1,024 descriptors, here and in the daemons (which
# inherit this limit).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft != resource.RLIM_INFINITY and _soft < 8192:
    _want = 8192 if _hard == resource.RLIM_INFINITY else min(8192, _hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (_want, _hard))

st = {}

# ---- R: the registry ----------------------------------------------------------------------

R_BUNDLE = os.path.join(tmpdir("verge-bundle-"), "bundle")
EVT1_DEVICES = [(EVT_PK, "Dev1", {"location": "kitchen", "floor": "1"}),
                (EVT_PK, "Dev2", {"location": "hall", "floor": "1"}),
                (EVT_PK, "Dev4", {"location": "cellar"})]
EVT2_DEVICES = [(EVT_PK2, "Dev3", {"location": "kitchen", "floor": "2"})]
EVT_SETTINGS = {"values": {"level": 3, "label": "hi", "ro": 21.5}, "skip": ["Dev4"]}
R = Verge("drivers.call_timeout_ms=800", "drivers.restart_initial_ms=2000", name="registry",
          args=["--bundle", R_BUNDLE])


def api(path, params, v=None, cookie=None):
    return (v or R).api(path, params, cookie=cookie or st["ck"])


def names(r):
    expect(r, 200, "success")
    return [d["DeviceName"] for d in r.json["data"]["List"]]


def count(**params):
    r = api("/thing/device/count", params)
    expect(r, 200, "success")
    return r.json["data"]["deviceCount"]


def device_error(r, status, code, message=None):
    """A failed device request: HTTP status == code, data {"errorCode": code}."""
    expect(r, status, message, {"errorCode": code})
    return r.json["message"]


def param_error(r, name):
    """A malformed parameter: 400, data null, the message names params.<name>."""
    expect(r, 400, data=None)
    assert r.json["message"].startswith(f"params.{name}"), (name, r.json["message"])


def test_registry_start():
    # three starts on one data directory: Dev3 first, then Dev1, then Dev2 and Dev4, so the
    # creation order is Dev3 < Dev1 < {Dev2, Dev4} whatever the manifest's order
    write_bundle(R_BUNDLE, [{"name": "evt2", "devices": EVT2_DEVICES, "settings": EVT_SETTINGS}])
    R.start()
    wait_online(R, R.login(), 1)
    R.stop()
    write_bundle(R_BUNDLE, [{"name": "evt1", "devices": EVT1_DEVICES[:1], "settings": EVT_SETTINGS},
                            {"name": "evt2", "devices": EVT2_DEVICES, "settings": EVT_SETTINGS}])
    R.start()
    wait_online(R, R.login(), 2)
    R.stop()
    write_bundle(R_BUNDLE, [{"name": "evt1", "devices": EVT1_DEVICES, "settings": EVT_SETTINGS},
                            {"name": "evt2", "devices": EVT2_DEVICES, "settings": EVT_SETTINGS}])
    R.start()
    st["ck"] = R.login()
    wait_online(R, st["ck"], 3)


def test_count_filters():
    assert count() == 4
    assert count(productKey=EVT_PK) == 3
    assert count(productKey=EVT_PK2) == 1
    assert count(productKey="a1NoSuchProduct") == 0
    assert count(activeStatus=1) == 4
    assert count(activeStatus=0) == 0
    assert count(activeStatus=None) == 4
    assert count(onlineStatus=1) == 3
    assert count(onlineStatus=0) == 1
    assert count(onlineStatus=None) == 4
    assert count(productKey=EVT_PK, onlineStatus=0) == 1
    assert count(productKey=EVT_PK2, onlineStatus=0) == 0
    assert count(productKey=EVT_PK, activeStatus=1, onlineStatus=1) == 2
    for name, bad in (("onlineStatus", 2), ("onlineStatus", "1"), ("onlineStatus", True),
                      ("activeStatus", -1), ("activeStatus", 0.5), ("productKey", 5)):
        param_error(api("/thing/device/count", {name: bad}), name)


def test_list_items():
    r = api("/thing/device/list-authed", {"SortMethod": "TimeAsc"})
    expect(r, 200, "success")
    data = r.json["data"]
    assert (data["TotalNum"], data["PageSize"], data["CurrentPage"]) == (4, 0, 1), data
    items = {d["DeviceName"]: d for d in data["List"]}
    now = int(time.time() * 1000)
    for pk, dn, tags in EVT1_DEVICES + EVT2_DEVICES:
        d = items[dn]
        assert list(d) == ["ProductKey", "DeviceName", "DriverName", "DeviceLocalId",
                           "DeviceTags", "LocalState", "CloudState", "LastLocalOnlineTime",
                           "LastCloudOnlineTime", "LastLinkTime"], d
        assert d["ProductKey"] == pk and d["DeviceLocalId"] == dn, d
        assert d["DriverName"] == ("evt2" if dn == "Dev3" else "evt1"), d
        assert sorted(tuple(t.items())[0] for t in d["DeviceTags"]) == sorted(tags.items()), d
        assert all(len(t) == 1 for t in d["DeviceTags"]), d
        assert d["CloudState"] == "Offline" and d["LastCloudOnlineTime"] == "0", d
        if dn == "Dev4":   # never connected
            assert d["LocalState"] == "Offline", d
            assert d["LastLocalOnlineTime"] == "0" and d["LastLinkTime"] == "0", d
        else:
            assert d["LocalState"] == "Online", d
            t = int(d["LastLocalOnlineTime"])
            assert now - 60000 < t <= now + 1000, d
            assert d["LastLinkTime"] == d["LastLocalOnlineTime"], d


def test_list_filters():
    def match(**params):
        r = api("/thing/device/list-authed", params)
        got = names(r)
        assert r.json["data"]["TotalNum"] == len(got), r.json
        return sorted(got)

    assert match() == ["Dev1", "Dev2", "Dev3", "Dev4"]
    assert match(productKey=EVT_PK) == ["Dev1", "Dev2", "Dev4"]
    assert match(productKey=EVT_PK2) == ["Dev3"]
    assert match(productKey="a1NoSuchProduct") == []
    assert match(driverName="evt2") == ["Dev3"]
    assert match(driverName="evt1") == ["Dev1", "Dev2", "Dev4"]
    assert match(driverName="nope") == []
    assert match(DeviceTags={"location": "kitchen"}) == ["Dev1", "Dev3"]
    assert match(DeviceTags={"location": "kitchen", "floor": "1"}) == ["Dev1"]
    assert match(DeviceTags={"floor": "1"}) == ["Dev1", "Dev2"]
    assert match(DeviceTags={"floor": 1}) == []          # values are strings
    assert match(DeviceTags={"location": "attic"}) == []
    assert match(DeviceTags={}) == ["Dev1", "Dev2", "Dev3", "Dev4"]
    assert match(DeviceTags=[{"location": "kitchen"}, {"floor": "2"}]) == ["Dev3"]
    assert match(DeviceTags=[{"location": "kitchen"}]) == ["Dev1", "Dev3"]
    assert match(DeviceTags=[]) == ["Dev1", "Dev2", "Dev3", "Dev4"]
    assert match(DeviceTags=None) == ["Dev1", "Dev2", "Dev3", "Dev4"]
    assert match(LocalState="Online") == ["Dev1", "Dev2", "Dev3"]
    assert match(LocalState="Offline") == ["Dev4"]
    assert match(CloudState="Offline") == ["Dev1", "Dev2", "Dev3", "Dev4"]
    for cloud in ("Online", "Inactive", "ActivationFailed"):
        assert match(CloudState=cloud) == []
    assert match(productKey=EVT_PK, LocalState="Online", DeviceTags={"floor": "1"},
                 driverName="evt1") == ["Dev1", "Dev2"]


def test_list_bad_params():
    for name, bad in (("PageSize", -1), ("PageSize", "10"), ("PageSize", 1.5),
                      ("PageSize", 100001), ("PageSize", True), ("CurrentPage", 0),
                      ("CurrentPage", -3), ("CurrentPage", "x"), ("CurrentPage", 2.0),
                      ("SortMethod", "Newest"), ("SortMethod", 1), ("LocalState", "Gone"),
                      ("CloudState", 1), ("CloudState", "offline"), ("DeviceTags", "x"),
                      ("DeviceTags", 5), ("productKey", ["a"]), ("driverName", {})):
        param_error(api("/thing/device/list-authed", {name: bad}), name)


def test_list_device_tags_array_of_non_objects_refused():
    # an array form must hold {"name":"value"} objects; ["kitchen"] is not a filter that
    # matches every device
    for bad in (["kitchen"], [{"location": "kitchen"}, 7], [[{"location": "kitchen"}]]):
        param_error(api("/thing/device/list-authed", {"DeviceTags": bad}), "DeviceTags")


def test_list_paging():
    full = names(api("/thing/device/list-authed", {}))
    assert len(full) == 4
    assert names(api("/thing/device/list-authed", {"PageSize": 0})) == full
    assert names(api("/thing/device/list-authed", {"PageSize": None, "CurrentPage": None})) == full
    assert names(api("/thing/device/list-authed", {"PageSize": 100000})) == full
    pages = []
    for page in (1, 2, 3, 4):
        r = api("/thing/device/list-authed", {"PageSize": 1, "CurrentPage": page})
        pages += names(r)
        assert r.json["data"] == {"TotalNum": 4, "PageSize": 1, "CurrentPage": page,
                                  "List": r.json["data"]["List"]}, r.json
    assert pages == full
    r = api("/thing/device/list-authed", {"PageSize": 3, "CurrentPage": 2})
    assert names(r) == full[3:]
    for size, page in ((1, 5), (3, 3), (4, 2), (100000, 2147483647)):
        r = api("/thing/device/list-authed", {"PageSize": size, "CurrentPage": page})
        expect(r, 200, "success", {"TotalNum": 4, "PageSize": size, "CurrentPage": page,
                                   "List": []})
    # paging applies after the filters
    r = api("/thing/device/list-authed", {"productKey": EVT_PK, "PageSize": 2, "CurrentPage": 2})
    assert names(r) == [n for n in full if n != "Dev3"][2:] and r.json["data"]["TotalNum"] == 3


def test_list_sorting():
    asc = names(api("/thing/device/list-authed", {"SortMethod": "TimeAsc"}))
    desc = names(api("/thing/device/list-authed", {"SortMethod": "TimeDesc"}))
    default = names(api("/thing/device/list-authed", {}))
    assert asc[:2] == ["Dev3", "Dev1"] and sorted(asc[2:]) == ["Dev2", "Dev4"], asc
    assert desc == asc[::-1], (asc, desc)
    assert default == desc, (default, desc)
    r = api("/thing/device/list-authed", {"SortMethod": "TimeAsc", "PageSize": 2, "CurrentPage": 1})
    assert names(r) == ["Dev3", "Dev1"]
    r = api("/thing/device/list-authed", {"PageSize": 2, "CurrentPage": 2})
    assert names(r) == ["Dev1", "Dev3"]


def query(dn, props, pk=EVT_PK):
    return api("/thing/device/property/query",
               {"productKey": pk, "deviceName": dn, "propertyIdentifier": props})


def values(r):
    expect(r, 200)
    return {p["attribute"]: p["value"] for p in r.json["data"]}


def test_set_then_query_round_trip():
    r = api("/thing/device/properties/set",
            {"productKey": EVT_PK, "deviceName": "Dev1",
             "properties": {"level": 7, "label": "hello"}})
    expect(r, 200, "success", None)
    t0 = int(time.time() * 1000)
    r = query("Dev1", ["label", "level"])
    expect(r, 200, "success")
    assert [p["attribute"] for p in r.json["data"]] == ["label", "level"], r.json
    for p in r.json["data"]:
        assert list(p) == ["iotId", "batchId", "attribute", "group", "value", "gmtModified"], p
        assert (p["iotId"], p["batchId"], p["group"]) == ("", "", ""), p
        assert abs(int(p["gmtModified"]) - t0 // 1000) <= 5, p  # seconds, as in the seed
    assert values(r) == {"label": "hello", "level": "7"}   # a string as is, a number as JSON
    # [] reads every readable property, in the thing model's order (not the write-only one)
    r = query("Dev1", [])
    assert [p["attribute"] for p in r.json["data"]] == ["level", "label", "ro"], r.json
    assert values(r) == {"level": "7", "label": "hello", "ro": "21.5"}
    # the other device is untouched; the other product's device answers too
    assert values(query("Dev2", ["level"])) == {"level": "3"}
    assert values(query("Dev3", ["label"], pk=EVT_PK2)) == {"label": "hi"}
    # writing a write-only property is fine
    r = api("/thing/device/properties/set",
            {"productKey": EVT_PK, "deviceName": "Dev1", "properties": {"secret": 42}})
    expect(r, 200, "success", None)


def test_set_errors():
    def set_(props, dn="Dev1", pk=EVT_PK):
        return api("/thing/device/properties/set",
                   {"productKey": pk, "deviceName": dn, "properties": props})

    m = device_error(set_({"level": 1}, dn="Nope"), 404, 109000)
    assert "Nope" in m, m
    device_error(set_({"level": 1}, pk="a1NoSuchProduct"), 404, 109000)
    m = device_error(set_({"colour": 1}), 400, 109002)
    assert "colour" in m, m
    m = device_error(set_({"ro": 1.5}), 400, 109003)
    assert "read-only" in m, m
    for bad in ("7", 1.5, True, None, [1], {"v": 1}):
        device_error(set_({"level": bad}), 400, 109008)
    device_error(set_({"label": 5}), 400, 109008)
    for bad in (11, -1, 2**40):
        m = device_error(set_({"level": bad}), 400, 100007)
        assert "level" in m, m
    device_error(set_({}), 400, 100001)
    # all or nothing: one bad value, nothing is written
    device_error(set_({"level": 5, "ro": 1.0}), 400, 109003)
    device_error(set_({"level": 5, "label": 3}), 400, 109008)
    assert values(query("Dev1", ["level"])) == {"level": "7"}
    # malformed parameters
    param_error(api("/thing/device/properties/set", {"productKey": EVT_PK, "deviceName": "Dev1"}),
                "properties")
    param_error(set_([{"level": 1}]), "properties")
    param_error(set_("level=1"), "properties")
    param_error(api("/thing/device/properties/set", {"productKey": EVT_PK,
                                                     "properties": {"level": 1}}), "deviceName")
    param_error(api("/thing/device/properties/set", {"productKey": 5, "deviceName": "Dev1",
                                                     "properties": {"level": 1}}), "productKey")
    # a device that is registered but offline
    m = device_error(set_({"level": 1}, dn="Dev4"), 503, 109001)
    assert "offline" in m, m


def test_query_errors():
    device_error(query("Nope", ["level"]), 404, 109000)
    device_error(query("Dev1", ["level"], pk="a1NoSuchProduct"), 404, 109000)
    m = device_error(query("Dev1", ["level", "colour"]), 400, 109002)
    assert "colour" in m, m
    m = device_error(query("Dev1", ["secret"]), 400, 109004)
    assert "write-only" in m, m
    param_error(query("Dev1", "level"), "propertyIdentifier")
    param_error(query("Dev1", {"level": 1}), "propertyIdentifier")
    param_error(query("Dev1", ["level", 1]), "propertyIdentifier[1]")
    param_error(api("/thing/device/property/query", {"productKey": EVT_PK, "deviceName": "Dev1"}),
                "propertyIdentifier")
    # offline and never reported: nothing in the cache to answer with
    m = device_error(query("Dev4", ["level"]), 503, 109001)
    assert "offline" in m, m


def invoke(method, inputs=..., dn="Dev1", pk=EVT_PK):
    params = {"productKey": pk, "deviceName": dn, "method": method}
    if inputs is not ...:
        params["inputParams"] = inputs
    return api("/thing/device/service/invoke", params)


def test_service_calls():
    r = invoke("echo", {"a": "hi there", "b": -5})
    expect(r, 200, "success", {"code": 0, "message": "Ok", "data": {"a": "hi there", "b": -5}})
    r = invoke("echo", {})
    expect(r, 200, "success", {"code": 0, "message": "Ok", "data": {}})
    r = invoke("echo")                       # inputParams absent is {}
    expect(r, 200, "success", {"code": 0, "message": "Ok", "data": {}})
    r = invoke("echo", {"b": 1000}, dn="Dev3", pk=EVT_PK2)
    expect(r, 200, "success", {"code": 0, "message": "Ok", "data": {"b": 1000}})


def test_service_errors():
    device_error(invoke("echo", {}, dn="Nope"), 404, 109000)
    m = device_error(invoke("fly", {}), 400, 109005)
    assert "fly" in m, m
    for prop_service in ("get", "set"):
        device_error(invoke(prop_service, {}), 400, 109005)
    m = device_error(invoke("echo", {"c": 1}), 400, 109006)
    assert '"c"' in m, m
    device_error(invoke("echo", {"b": "x"}), 400, 109006)
    device_error(invoke("echo", {"b": 1001}), 400, 109006)
    device_error(invoke("echo", {"a": 5}), 400, 109006)
    param_error(invoke("echo", []), "inputParams")
    param_error(invoke("echo", "a=1"), "inputParams")
    param_error(api("/thing/device/service/invoke",
                    {"productKey": EVT_PK, "deviceName": "Dev1"}), "method")
    param_error(api("/thing/device/service/invoke",
                    {"productKey": EVT_PK, "deviceName": "Dev1", "method": 3}), "method")
    device_error(invoke("echo", {}, dn="Dev4"), 503, 109001)
    # the driver's own failure codes go through the same table
    for code, status in ((109006, 400), (109002, 400), (109001, 503), (100006, 503),
                         (100000, 500), (123456, 500)):
        m = device_error(invoke("fail", {"code": code}), status, code)
        if code != 100006:   # a timeout code gets the timeout's sentence
            assert m == "device a1EvtTest/Dev1: failed on purpose", m


def test_driver_malformed_reply_is_not_a_client_error():
    # the driver answers a service call with params that are not an object: verge's own check
    # gives 109007 (INVALID_JSON); the client did nothing wrong, so this is no 400
    r = invoke("garbage", {})
    assert r.json and r.json["data"] == {"errorCode": 109007}, r
    assert r.status >= 500, f"a malformed driver reply answered {r.status}, expected 5xx: {r!r}"


def test_timeout_and_dead_driver():
    t0 = time.monotonic()
    m = device_error(invoke("hang", {}), 503, 100006)
    took = time.monotonic() - t0
    assert "800 ms" in m, m
    assert 0.7 < took < 5, took
    # the driver still answers other calls
    assert values(query("Dev1", ["level"])) == {"level": "7"}
    # the driver dies while a call waits: the call fails at once, not after the timeout
    t0 = time.monotonic()
    m = device_error(invoke("die", {}, dn="Dev2"), 503, 100008)
    assert time.monotonic() - t0 < 0.7, time.monotonic() - t0
    # its devices are offline until it is restarted (drivers.restart_initial_ms = 2000)
    device_error(api("/thing/device/properties/set",
                     {"productKey": EVT_PK, "deviceName": "Dev1", "properties": {"level": 1}}),
                 503, 109001)
    device_error(invoke("echo", {}), 503, 109001)
    # a query is answered from the property cache
    r = query("Dev1", ["level", "label"])
    expect(r, 200)
    assert r.json["message"].startswith("success (from the property cache"), r.json
    assert values(r) == {"level": "7", "label": "hello"}
    # the other driver's device is unaffected
    assert values(query("Dev3", ["label"], pk=EVT_PK2)) == {"label": "hi"}
    assert count(onlineStatus=1) == 1
    wait_online(R, st["ck"], 3, timeout=15)
    r = invoke("echo", {"b": 1})
    expect(r, 200, "success", {"code": 0, "message": "Ok", "data": {"b": 1}})


def test_authentication_and_permissions():
    paths = ("/thing/device/count", "/thing/device/list-authed", "/thing/device/properties/set",
             "/thing/device/property/query", "/thing/device/service/invoke",
             "/thing/device/events/get")
    for path in paths:
        expect(R.api(path, {}), 401)
        expect(R.api(path, {}, cookie="0" * 64), 401)
    r = R.passwd("viewer", "viewer-pass-1", allow="/thing/device/count")
    assert r.returncode == 0, r
    ck = R.login("viewer", "viewer-pass-1")
    expect(R.api("/thing/device/count", {}, cookie=ck), 200, "success", {"deviceCount": 4})
    for path in paths[1:]:
        r = R.api(path, {}, cookie=ck)
        expect(r, 403, f'user "viewer" is not allowed to call {path}', None)
    # Basic credentials work as well as the cookie
    expect(R.api("/thing/device/count", {"onlineStatus": 1}, basic=("viewer", "viewer-pass-1")),
           200, "success", {"deviceCount": 3})


def test_registry_stop():
    R.stop()


# ---- E: the event stream --------------------------------------------------------------------

E = Verge("events.heartbeat_ms=500", "events.max_queue_bytes=1048576",
          "limits.max_connections_per_ip=2000", "limits.max_connections=3000", name="events",
          args=["--bundle", make_bundle([{"name": "evt1", "devices": EVT1_DEVICES[:2]}],
                                        products=(EVT_PK,))])
EVENT_IDS = ("ev_a", "ev_b")


def emit(v, cookie, count, rate_hz, pad=0):
    """Asks the fake driver for `count` events at `rate_hz`; returns the n of the first (the
    driver counts them over its life; st tracks that per daemon)."""
    key = f"emitted-{v.name}"
    first = st.get(key, 0)
    r = v.api("/thing/device/service/invoke",
              {"productKey": EVT_PK, "deviceName": "Dev1", "method": "emit",
               "inputParams": {"count": count, "rate_hz": rate_hz, "pad": pad}}, cookie=cookie)
    expect(r, 200, "success", {"code": 0, "message": "Ok", "data": {"started": count}})
    st[key] = first + count
    st[f"busy-{v.name}"] = time.monotonic() + count / rate_hz + 0.5
    return first


def wait_quiet(v):
    """Waits until the last emission on `v` has ended."""
    left = st.get(f"busy-{v.name}", 0) - time.monotonic()
    if left > 0:
        time.sleep(left)


def expected_event(i, n0):
    """(deviceName, identifier, n) of the i-th event of an emission starting at n0."""
    return (("Dev1", "Dev2")[i % 2], EVENT_IDS[(i // 2) % 2], n0 + i)


def summary(events):
    return [(e["data"]["items"]["deviceName"], e["data"]["items"]["eventCode"],
             e["data"]["items"]["eventBody"]["params"]["value"]["n"]) for e in events]


def streams_gauge(v, cookie):
    return metrics(v, cookie).get("verge_events_streams")


def test_events_start():
    E.start()
    st["eck"] = E.login()
    wait_online(E, st["eck"], 2)


def test_event_stream_errors():
    ck = st["eck"]

    def events_get(params):
        return E.api("/thing/device/events/get", params, cookie=ck)

    for params in ({}, {"eventInfo": None}, {"eventInfo": "x"}, {"eventInfo": {}},
                   {"eventInfo": [{"productKey": EVT_PK}]},
                   {"eventInfo": [{"deviceName": "Dev1"}]},
                   {"eventInfo": [{"productKey": EVT_PK, "deviceName": 1}]},
                   {"eventInfo": ["Dev1"]},
                   {"eventInfo": [{"productKey": EVT_PK, "deviceName": "Dev1",
                                   "eventIdentifier": "ev_a"}]},
                   {"eventInfo": [{"productKey": EVT_PK, "deviceName": "Dev1",
                                   "eventIdentifier": ["ev_a", 2]}]}):
        r = events_get(params)
        expect(r, 400, data=None)
        assert r.json["message"].startswith("params.eventInfo"), (params, r.json)
        assert r.header("Transfer-Encoding") is None, r
    # an unknown device, alone or after a known one: a device error like the other calls'
    for info in ([{"productKey": EVT_PK, "deviceName": "Nope"}],
                 [{"productKey": EVT_PK, "deviceName": "Dev1"},
                  {"productKey": "a1NoSuchProduct", "deviceName": "Dev1"}]):
        r = events_get({"eventInfo": info})
        assert r.status == 404, r
        assert "is not registered" in r.json["message"], r
        expect(r, 404, data={"errorCode": 109000})
    assert streams_gauge(E, ck) == 0


def test_event_stream_head_and_order():
    ck = st["eck"]
    s_all = EventStream(E, ck, [])
    s_one = EventStream(E, ck, [{"productKey": EVT_PK, "deviceName": "Dev1",
                                 "eventIdentifier": ["ev_b"]}])
    s_dev2 = EventStream(E, ck, None, params={"eventinfo": [{"productKey": EVT_PK,
                                                             "deviceName": "Dev2"}]})
    s_multi = EventStream(E, ck, [{"productKey": EVT_PK, "deviceName": "Dev1",
                                   "eventIdentifier": ["ev_a"]},
                                  {"productKey": EVT_PK, "deviceName": "Dev2",
                                   "eventIdentifier": []}])
    streams = (s_all, s_one, s_dev2, s_multi)
    for s in streams:
        assert s.head() == 200, s.parser.headers
        assert s.parser.header("Transfer-Encoding") == "chunked", s.parser.headers
        assert s.parser.header("Content-Type").startswith("application/json"), s.parser.headers
        assert s.parser.header("Content-Length") is None, s.parser.headers
    wait_until(lambda: streams_gauge(E, ck) == 4, 5, "verge_events_streams == 4")
    n_events = 60
    n0 = emit(E, ck, n_events, 20)
    t_start = time.time() * 1000
    want = [expected_event(i, n0) for i in range(n_events)]
    raw = []
    got_all = s_all.events(n_events, timeout=15, raw=raw)
    assert summary(got_all) == want, summary(got_all)
    got_one = s_one.events(n_events // 4, timeout=5)
    assert summary(got_one) == [w for w in want if w[:2] == ("Dev1", "ev_b")], summary(got_one)
    got_dev2 = s_dev2.events(n_events // 2, timeout=5)
    assert summary(got_dev2) == [w for w in want if w[0] == "Dev2"], summary(got_dev2)
    got_multi = s_multi.events(3 * n_events // 4, timeout=5)
    assert summary(got_multi) == [w for w in want if w[0] == "Dev2" or w[1] == "ev_a"], \
        summary(got_multi)
    # every field of one chunk
    e = got_all[1]
    items = e["data"]["items"]
    body_time = items["eventBody"]["params"]["time"]
    assert e == {"code": 200, "message": "success", "data": {
        "items": {"productKey": EVT_PK, "deviceName": "Dev2", "iotId": "", "eventCode": "ev_a",
                  "eventName": "Event A", "eventType": "info",
                  "eventBody": {"params": {"value": {"n": n0 + 1, "f": 50.8}, "time": body_time}},
                  "batchId": "", "timestamp": body_time},
        "timestamp": e["data"]["timestamp"]}}, e
    assert t_start - 2000 < body_time <= e["data"]["timestamp"] <= time.time() * 1000 + 1000, e
    assert got_all[2]["data"]["items"]["eventType"] == "alert", got_all[2]
    assert got_all[2]["data"]["items"]["eventName"] == "Event B", got_all[2]
    # the chunk's text: compact, with the reported 50.8 written as 50.8
    assert raw[0].startswith(b'{"code":200,"message":"success","data":{"items":{'), raw[0]
    assert b'"f":50.8}' in raw[0], raw[0]
    # and nothing else arrives (heartbeats only) on the filtered streams
    time.sleep(0.8)
    for s in streams:
        while s.parser.chunks or s.pump(0.05):
            if not s.parser.chunks:
                break
            c = s.parser.chunks.pop(0)
            assert c == HEARTBEAT, c
        assert not s.closed
    for s in streams:
        s.close()
    wait_until(lambda: streams_gauge(E, ck) == 0, 5, "verge_events_streams == 0")


def test_heartbeats_on_time():
    s = EventStream(E, st["eck"], [{"productKey": EVT_PK, "deviceName": "Dev1"}])
    assert s.head() == 200
    t_open = time.monotonic()
    beats = []
    while time.monotonic() - t_open < 3.3:
        c = s.next_chunk(timeout=1.5)
        assert c == HEARTBEAT, c
        beats.append(time.monotonic())
    s.close()
    assert len(beats) >= 5, beats
    assert beats[0] - t_open < 0.75, f"first heartbeat after {beats[0] - t_open:.3f} s"
    gaps = [round((b - a) * 1000) for a, b in zip(beats, beats[1:])]
    assert all(300 <= g <= 700 for g in gaps), \
        f"heartbeat intervals (ms) {gaps}, expected 500 ± 200"


def test_stalled_reader_is_cut_off():
    """A client that stops reading (SO_RCVBUF 4 kB) while ~1.4 MB/s of events flow is cut off
    once its socket buffers are full and more than events.max_queue_bytes wait; a client reading
    the same stream loses nothing. (E's limit is the default 1 MiB rather than 4 kB: verge
    counts bytes already written to the socket as waiting until libuv's write callback runs, so
    the events read from the driver in one loop turn all count at once, and with a small limit
    a reader that keeps up is cut too (seen with 64 kB and 256 kB under ASan);
    test_readers_that_keep_up_are_not_cut shows that on its own.)"""
    ck = st["eck"]
    base = metrics(E, ck)
    cut0 = base.get("verge_events_cut_total", 0)
    stalled = EventStream(E, ck, [], rcvbuf=4096)
    assert stalled.head() == 200
    healthy = EventStream(E, ck, [])
    assert healthy.head() == 200
    wait_until(lambda: streams_gauge(E, ck) == 2, 5, "two streams")
    n_events = 4000
    got, errors = [], []

    def read_healthy():
        try:
            got.extend(summary(healthy.events(n_events, timeout=40)))
        except BaseException as e:  # reported below
            errors.append(e)

    reader = threading.Thread(target=read_healthy, daemon=True)
    reader.start()
    n0 = emit(E, ck, n_events, 1000, pad=1000)   # ~1.4 kB per event, 1.4 MB/s for 4 s
    wait_until(lambda: metrics(E, ck).get("verge_events_cut_total", 0) >= cut0 + 1, 20,
               "verge_events_cut_total to count the stalled stream")
    reader.join(45)
    assert not errors, f"the healthy stream failed: {errors[0]!r}"
    assert got == [expected_event(i, n0) for i in range(n_events)], \
        f"the healthy stream lost or reordered events: {len(got)} of {n_events}"
    # the healthy stream is still open and still gets heartbeats
    assert healthy.next_chunk(timeout=2) == HEARTBEAT
    m = metrics(E, ck)
    assert m["verge_events_cut_total"] == cut0 + 1, m["verge_events_cut_total"]
    assert m["verge_events_streams"] == 1, m["verge_events_streams"]
    # the stalled client, reading again, finds its events in order, then the last chunk or EOF
    deadline = time.monotonic() + 20
    while not stalled.closed and not stalled.parser.ended and time.monotonic() < deadline:
        stalled.pump(0.5)
    assert stalled.closed or stalled.parser.ended, "the stalled stream was never closed"
    chunks = [c for c in stalled.parser.chunks if c != HEARTBEAT]
    last = chunks.pop() if chunks and b'"code":503' in chunks[-1] else None
    seen = [e[2] for e in summary(json.loads(c) for c in chunks)]
    assert seen == list(range(n0, n0 + len(seen))), "the stalled stream's events are out of order"
    assert len(seen) < n_events, "the stalled stream received everything"
    if last is not None:
        assert json.loads(last) == {"code": 503, "message": "event stream closed: this client "
                                    "read too slowly (more than events.max_queue_bytes waiting "
                                    "to be sent)", "data": None}, last
    stalled.close()
    healthy.close()
    wait_until(lambda: streams_gauge(E, ck) == 0, 5, "verge_events_streams == 0")


def test_readers_that_keep_up_are_not_cut():
    """With events.max_queue_bytes=4096, bursts of three ~1.9 kB events (5.7 kB, far less than
    the sockets' buffers) to two readers that read at once (TLS and plain HTTP): nothing waits
    to be sent, so neither may be cut."""
    q = Verge("events.heartbeat_ms=500", "events.max_queue_bytes=4096", name="queue",
              args=["--bundle", make_bundle([{"name": "evt1", "devices": EVT1_DEVICES[:2]}],
                                            products=(EVT_PK,))])
    q.start()
    ck = q.login()
    wait_online(q, ck, 2)
    readers = [EventStream(q, ck, []), EventStream(q, ck, [], tls=False)]
    for s in readers:
        assert s.head() == 200
    got = [[] for _ in readers]
    for burst in range(10):
        n0 = emit(q, ck, 3, 100000, pad=1500)
        for s, g in zip(readers, got):
            g += summary(s.events(3, timeout=5))
        assert all(g[-3:] == [expected_event(i, n0) for i in range(3)] for g in got), got
    cut = metrics(q, ck)["verge_events_cut_total"]
    for s in readers:
        s.close()
    q.stop()
    assert cut == 0, f"{cut} streams that read everything at once were cut"


def test_thousand_subscribers():
    n = 1000
    ck = st["eck"]
    wait_quiet(E)
    t0 = time.monotonic()
    sel = selectors.DefaultSelector()
    socks = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", E.port), timeout=10)
            s.sendall(raw_request("POST", "/thing/device/events/get",
                                  request_body({"eventInfo": []}), cookie=ck))
            s.setblocking(False)
            p = ChunkParser()
            socks.append((s, p))
            sel.register(s, selectors.EVENT_READ, p)

        def pump(until, timeout, what):
            deadline = time.monotonic() + timeout
            while not until():
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {what}"
                for key, _ in sel.select(min(left, 0.5)):
                    try:
                        data = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    assert data, f"a stream was closed ({key.data.status})"
                    key.data.feed(data)

        pump(lambda: all(p.status is not None for _, p in socks), 60, "1,000 response heads")
        statuses = {p.status for _, p in socks}
        assert statuses == {200}, statuses
        wait_until(lambda: streams_gauge(E, ck) == n, 10, f"verge_events_streams == {n}")
        n0 = emit(E, ck, 1, 100)

        def got_event(p):
            for c in p.chunks:
                if c != HEARTBEAT:
                    return c
            return None

        pump(lambda: all(got_event(p) for _, p in socks), 60, "the event on every stream")
        for _, p in socks:
            e = json.loads(got_event(p))
            assert summary([e]) == [expected_event(0, n0)], e
        print(f"    {n} streams opened and served an event in {time.monotonic() - t0:.1f} s")
    finally:
        for s, _ in socks:
            s.close()
        sel.close()
    wait_until(lambda: streams_gauge(E, ck) == 0, 15, "verge_events_streams == 0 after closing")


def test_events_stop():
    E.stop()


# ---- L: streams dropped mid-stream leave nothing behind -------------------------------------

L = Verge("events.heartbeat_ms=500", "events.max_subscribers=50", name="leaks",
          env={"ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                       "quarantine_size_mb=0"]))},
          args=["--bundle", make_bundle([{"name": "evt1", "devices": EVT1_DEVICES[:2]}],
                                        products=(EVT_PK,))])


def test_dropped_streams_leave_nothing_behind():
    L.start()
    ck = L.login()
    wait_online(L, ck, 2)
    pid = L.proc.pid
    time.sleep(0.3)
    fd0 = fd_count(pid)
    rss = []
    for rnd in range(4):
        emit(L, ck, 600, 300)      # events in flight while the streams are dropped
        streams = [EventStream(L, ck, [] if i % 2 else [{"productKey": EVT_PK,
                                                          "deviceName": "Dev1"}])
                   for i in range(50)]
        for s in streams:
            assert s.head() == 200
        assert streams_gauge(L, ck) == 50
        if rnd == 0:   # events.max_subscribers = 50
            r = L.api("/thing/device/events/get", {"eventInfo": []}, cookie=ck)
            expect(r, 503, "too many open event streams (events.max_subscribers)", None)
        for s in streams[:25]:
            assert s.next_chunk(timeout=5) is not None
        for i, s in enumerate(streams):
            s.close(reset=i % 2 == 0)
        wait_until(lambda: streams_gauge(L, ck) == 0, 10, "verge_events_streams back to 0")
        wait_until(lambda: fd_count(pid) == fd0, 10, f"verge's fd count back to {fd0}")
        time.sleep(2.2)            # the emission ends
        rss.append(rss_kb(pid))
    # round 0 warms up the allocator; the later rounds must not grow
    print(f"    RSS after each round (kB): {rss}")
    growth = rss[-1] - rss[1]
    assert growth < 3072, f"RSS grew by {growth} kB over rounds 2-4 (kB per round: {rss})"
    s = EventStream(L, ck, [])     # there is room again
    assert s.head() == 200
    s.close()
    L.stop()


# ---- D: the demo bundle's real driver -------------------------------------------------------

def test_demo_high_temperature_events():
    # the demo bundle, copied with a report interval of 100 ms so the lamp heats up quickly
    bundle = os.path.join(tmpdir("verge-bundle-"), "demo")
    shutil.copytree(demo_bundle(), bundle, symlinks=False)
    with open(os.path.join(bundle, "bundle.json")) as f:
        manifest = json.load(f)
    manifest["drivers"][0]["config"]["json"] = {"report_interval_ms": 100, "high_temperature": 50}
    with open(os.path.join(bundle, "bundle.json"), "w") as f:
        json.dump(manifest, f)
    D = Verge("events.heartbeat_ms=1000", name="demo", args=["--bundle", bundle])
    D.start()
    ck = D.login()
    wait_online(D, ck, 2)
    alerts = EventStream(D, ck, [{"productKey": "a1DemoLight", "deviceName": "LightDev1",
                                  "eventIdentifier": ["high_temperature"]}])
    everything = EventStream(D, ck, [])
    assert alerts.head() == 200 and everything.head() == 200

    def set_brightness(b):
        r = D.api("/thing/device/properties/set",
                  {"productKey": "a1DemoLight", "deviceName": "LightDev1",
                   "properties": {"LightSwitch": 1, "brightness": b}}, cookie=ck)
        expect(r, 200, "success", None)

    def temperature():
        r = D.api("/thing/device/property/query",
                  {"productKey": "a1DemoLight", "deviceName": "LightDev1",
                   "propertyIdentifier": ["temperature"]}, cookie=ck)
        return float(values(r)["temperature"])

    got = []
    for _ in range(2):
        set_brightness(100)
        e = alerts.events(1, timeout=15)[0]
        items = e["data"]["items"]
        assert (items["productKey"], items["deviceName"], items["eventCode"], items["eventName"],
                items["eventType"]) == ("a1DemoLight", "LightDev1", "high_temperature",
                                        "High temperature", "alert"), e
        # the driver raises it above 50 °C and reports one decimal: 50.04 is "50.0"
        assert items["eventBody"]["params"]["value"]["temperature"] >= 50, e
        got.append(items["timestamp"])
        set_brightness(0)          # cools toward 22 °C: the alert re-arms below 48 °C
        wait_until(lambda: temperature() < 45, 15, "LightDev1 to cool below 45 °C")
    assert got[0] < got[1], got
    # the stream of every event saw the same two alerts and no property reports
    seen = everything.events(2, timeout=5)
    assert [x["data"]["items"]["timestamp"] for x in seen] == got, seen
    assert {x["data"]["items"]["eventCode"] for x in seen} == {"high_temperature"}
    alerts.close()
    everything.close()
    D.stop()


if __name__ == "__main__":
    run(globals())
