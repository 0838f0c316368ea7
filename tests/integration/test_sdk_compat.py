"""Integration test: a driver written the way the original SDK's demo_led is (seed 004 §1,
tests/unit/sdk/compat_driver.c: log_init, leda_init(5), read the device info, register each
device by name, report a property and an event in a loop, answer the callbacks), compiled
against verge's headers and linked with the static libleda_sdk_c, runs under the real
runtime."""

import json
import os
import shutil
import sqlite3
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import VERGE_BIN, Verge, expect, run, tmpdir  # noqa: E402

PK = "a1CompatLed"
DEVICES = ["led1", "led2"]
TSL = {
    "schema": "https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json",
    "profile": {"productKey": PK},
    "properties": [{"identifier": "temperature", "name": "temperature", "accessMode": "rw",
                    "required": True,
                    "dataType": {"type": "int", "specs": {"min": "0", "max": "100"}}}],
    "events": [{"identifier": "high_temperature", "name": "high temperature", "type": "alert",
                "method": "thing.event.high_temperature.post",
                "outputData": [{"identifier": "temperature", "name": "temperature",
                                "dataType": {"type": "int", "specs": {}}}]}],
    "services": [{"identifier": "blink", "name": "blink", "callType": "sync",
                  "method": "thing.service.blink", "inputData": [], "outputData": []}],
}


def compat_binary():
    path = os.path.join(os.path.dirname(VERGE_BIN), "tests", "unit", "sdk", "compat_driver")
    assert os.access(path, os.X_OK), f"{path} was not built"
    return path


def make_bundle():
    root = os.path.join(tmpdir(), "bundle")
    os.makedirs(os.path.join(root, "products"))
    os.makedirs(os.path.join(root, "drivers", "demo_led"))
    with open(os.path.join(root, "products", "led.json"), "w") as f:
        json.dump(TSL, f)
    exe = os.path.join(root, "drivers", "demo_led", "main")
    shutil.copy(compat_binary(), exe)
    os.chmod(exe, os.stat(exe).st_mode | stat.S_IXUSR)
    manifest = {"name": "compat", "version": "1.0.0",
                "products": [{"productKey": PK, "tsl": "products/led.json"}],
                "drivers": [{"name": "demo_led", "exec": "drivers/demo_led/main",
                             "config": {"json": {}, "kv": [], "fileList": []},
                             "devices": [{"productKey": PK, "deviceName": d,
                                          "custom": {"port": 12345}} for d in DEVICES]}]}
    with open(os.path.join(root, "bundle.json"), "w") as f:
        json.dump(manifest, f)
    return root


def wait_for(fn, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


V = None
C = None


def test_compat_driver_registers_its_devices():
    global V, C
    V = Verge(args=["--bundle", make_bundle()], name="compat")
    V.start()
    C = V.login()
    count = lambda: V.api("/thing/device/count", {"onlineStatus": 1}, cookie=C).json["data"]
    wait_for(lambda: count()["deviceCount"] == 2, 5.0, "both devices Online")
    assert "[driver:demo_led]" in V.log(), V.log()[-2000:]


def test_compat_driver_reports_reach_the_cache():
    db = os.path.join(V.data_dir, "verge.db")

    def rows():
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return con.execute("select dn, identifier, value from properties where pk = ?",
                               (PK,)).fetchall()
        finally:
            con.close()

    # like demo_led, the loop reports for the last device it registered, first 0, then +5
    # every 5 s
    got = wait_for(lambda: rows(), 5.0, "a report in SQLite")
    assert got == [("led2", "temperature", "0")], got


def test_compat_driver_answers_get_set_and_services():
    base = {"productKey": PK, "deviceName": "led1"}
    r = V.api("/thing/device/property/query", dict(base, propertyIdentifier=["temperature"]),
              cookie=C)
    body = expect(r, 200, "success")
    assert [(p["attribute"], p["value"]) for p in body["data"]] == [("temperature", "30")], body
    expect(V.api("/thing/device/properties/set", dict(base, properties={"temperature": 42}),
                 cookie=C), 200, "success", None)
    r = V.api("/thing/device/service/invoke", dict(base, method="blink", inputParams={}),
              cookie=C)
    body = expect(r, 200, "success")
    assert body["data"]["code"] == 0, body
    V.stop()


if __name__ == "__main__":
    run(globals())
