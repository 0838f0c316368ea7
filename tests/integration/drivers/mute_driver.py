#!/usr/bin/env python3
"""mute_driver.py: a fake verge driver for the integration tests, written against
docs/driver-protocol.md with the Python standard library only.

It connects to $VERGE_DRIVER_SOCKET, says hello with $FUNCTION_ID and $VERGE_DRIVER_TOKEN, reads
its driver config (getConfig gw_driverconfig_<FUNCTION_ID>), connects every device of its
deviceList, then behaves as config.json.mode says:

  "mute"        (default) ignores every call from the runtime (callServices...); when
                config.json.report is an object {prop: value}, reports it once for each device
                first, so the runtime has something in its property cache;
  "bad_length"  after config.json.delay_ms (default 300) sends a frame header with length
                0xFFFFFFFF;
  "not_json"    after config.json.delay_ms sends a frame whose body is not JSON.

After that it keeps reading until the runtime closes the connection or kills it. Everything it
does is printed on stdout (the runtime logs it under [driver:<name>]).
"""

import json
import os
import socket
import struct
import sys
import time


def say(msg):
    print(f"mute_driver[{os.environ.get('FUNCTION_ID', '?')}]: {msg}", flush=True)


def send(sock, obj):
    body = json.dumps(obj).encode()
    sock.sendall(struct.pack(">I", len(body)) + body)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def recv(sock):
    """The next message, or None at EOF."""
    head = recv_exact(sock, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    body = recv_exact(sock, n)
    if body is None:
        return None
    return json.loads(body.decode())


class Driver:
    def __init__(self):
        self.fid = os.environ["FUNCTION_ID"]
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.environ["VERGE_DRIVER_SOCKET"])
        self.seq = 0

    def hello(self):
        send(self.sock, {"type": "hello", "versions": [1], "functionId": self.fid,
                         "token": os.environ["VERGE_DRIVER_TOKEN"], "pid": os.getpid()})
        welcome = recv(self.sock)
        if not welcome or welcome.get("type") != "welcome":
            say(f"handshake refused: {welcome!r}")
            sys.exit(1)
        say(f"welcome {welcome!r}")

    def call(self, method, params):
        """A call to the runtime; returns its reply. Calls from the runtime meanwhile are
        ignored, like every other one."""
        self.seq += 1
        seq = self.seq
        send(self.sock, {"type": "call", "seq": seq, "method": method, "params": params})
        while True:
            m = recv(self.sock)
            if m is None:
                say("connection closed while waiting for a reply")
                sys.exit(1)
            if m.get("type") == "reply" and m.get("seq") == seq:
                return m
            say(f"ignoring {m.get('type')} {m.get('method')} seq {m.get('seq')}")


def main():
    d = Driver()
    d.hello()
    r = d.call("getConfig", {"key": f"gw_driverconfig_{d.fid}"})
    if r["code"] != 0:
        say(f"getConfig failed: {r!r}")
        sys.exit(1)
    cfg = json.loads(r["params"]["value"])
    settings = cfg.get("config", {}).get("json", {})
    mode = settings.get("mode", "mute")
    ids = []
    for dev in cfg.get("deviceList", []):
        r = d.call("connect", {"productKey": dev["productKey"], "deviceName": dev["deviceName"],
                               "isLocal": "False"})
        if r["code"] != 0:
            say(f"connect {dev['productKey']}/{dev['deviceName']} failed: {r!r}")
            continue
        ids.append(r["params"]["deviceCloudId"])
    say(f"mode {mode}, {len(ids)} device(s) online: {' '.join(ids)}")

    if mode == "mute":
        report = settings.get("report")
        if isinstance(report, dict) and report:
            now = int(time.time() * 1000)
            for cid in ids:
                send(d.sock, {"type": "signal", "method": "properties",
                              "params": {"deviceCloudId": cid,
                                         "body": {k: {"value": v, "time": now}
                                                  for k, v in report.items()}}})
            say(f"reported {json.dumps(report)}")
    else:
        time.sleep(settings.get("delay_ms", 300) / 1000.0)
        if mode == "bad_length":
            d.sock.sendall(b"\xff\xff\xff\xff" + b"{}")
            say("sent a frame of length 0xFFFFFFFF")
        elif mode == "not_json":
            body = b"this is not JSON {"
            d.sock.sendall(struct.pack(">I", len(body)) + body)
            say("sent a frame that is not JSON")
        else:
            say(f"unknown mode {mode!r}")
            sys.exit(2)

    while True:
        try:
            m = recv(d.sock)
        except OSError as e:
            say(f"connection error: {e}")
            return
        if m is None:
            say("the runtime closed the connection")
            return
        say(f"ignoring {m.get('type')} {m.get('method')} seq {m.get('seq')}")


if __name__ == "__main__":
    main()
