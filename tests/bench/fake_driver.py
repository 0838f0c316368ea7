#!/usr/bin/env python3
"""fake_driver.py: a bench driver that speaks verge's driver protocol (docs/driver-protocol.md)
itself, without the SDK, so that a bench controls exactly what the runtime sees.

verge starts it from a bundle like any driver (FUNCTION_ID, VERGE_DRIVER_SOCKET and
VERGE_DRIVER_TOKEN in its environment). It says hello, reads its driver config
(`gw_driverconfig_<FUNCTION_ID>`), connects every device of its deviceList and reports each
one's properties once (`config.json.properties`, e.g. {"brightness": 60}). Then, by
`config.json.mode`:

  cache   disconnects every device again: they are Offline with their properties cached, so a
          property query is answered from the property cache with no driver round trip.
  events  keeps the devices online and writes `config.json.ready_file`. Then, each time
          `config.json.start_file` appears, it deletes it and raises `config.json.event`
          (default high_temperature) `rate` times a second for `duration_s` seconds,
          round-robin over the devices, each with `value.seq` = 0, 1, 2..., `value.sent_ns` =
          time.monotonic_ns() and `value.sent_rt_ns` = time.time_ns() taken just before the
          frame is built and written; then it writes "events=N late_max_us=L" to
          `config.json.done_file` (L: how far behind its schedule it ever fell).

In every mode it stays connected (so that the runtime does not restart it) and answers
the runtime's calls: getDeviceList, and anything else with 100008 ("Service unreachable").
"""
import json
import os
import selectors
import socket
import struct
import sys
import time


def log(*a):
    print("fake_driver:", *a, file=sys.stderr, flush=True)


class Conn:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.seq = 0
        self.out = {}  # seq -> reply, for replies read while waiting for another

    def send(self, obj):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def _read_frame(self, block=True):
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    frame = json.loads(self.buf[4 : 4 + n])
                    self.buf = self.buf[4 + n :]
                    return frame
            if not block:
                return None
            chunk = self.sock.recv(65536)
            if not chunk:
                log("the runtime closed the connection")
                sys.exit(1)
            self.buf += chunk

    def pump(self):
        """Reads what is available (the socket is readable) and handles every whole frame."""
        chunk = self.sock.recv(65536)
        if not chunk:
            log("the runtime closed the connection")
            sys.exit(0)
        self.buf += chunk
        while True:
            f = self._read_frame(block=False)
            if f is None:
                return
            self.handle(f)

    def handle(self, f):
        if f.get("type") == "reply":
            self.out[f.get("seq")] = f
        elif f.get("type") == "call":
            if f.get("method") == "getDeviceList":
                devs = list(DEVICES_ONLINE)
                params = {"devList": devs, "devNum": len(devs)}
                self.send({"type": "reply", "seq": f["seq"], "code": 0, "message": "Ok",
                           "params": params})
            else:
                self.send({"type": "reply", "seq": f["seq"], "code": 100008,
                           "message": "Service unreachable",
                           "params": {"code": 100008, "message": "Service unreachable",
                                      "params": {}}})

    def call(self, method, params):
        self.seq += 1
        seq = self.seq
        self.send({"type": "call", "seq": seq, "method": method, "params": params})
        while seq not in self.out:
            self.handle(self._read_frame())
        r = self.out.pop(seq)
        if r.get("code") != 0:
            raise RuntimeError(f"{method} {params}: {r.get('code')} {r.get('message')}")
        return r.get("params")


DEVICES_ONLINE = []


def main():
    fid = os.environ["FUNCTION_ID"]
    c = Conn(os.environ["VERGE_DRIVER_SOCKET"])
    c.send({"type": "hello", "versions": [1], "functionId": fid,
            "token": os.environ["VERGE_DRIVER_TOKEN"], "pid": os.getpid()})
    w = c._read_frame()
    if w.get("type") != "welcome":
        log("handshake refused:", w)
        return 1
    cfg = json.loads(c.call("getConfig", {"key": "gw_driverconfig_" + fid})["value"])
    opts = cfg.get("config", {}).get("json", {})
    mode = opts.get("mode", "cache")
    props = opts.get("properties", {})
    ids = []
    for d in cfg.get("deviceList", []):
        r = c.call("connect", {"productKey": d["productKey"], "deviceName": d["deviceName"],
                               "isLocal": "False"})
        ids.append(r["deviceCloudId"])
        DEVICES_ONLINE.append(r["deviceCloudId"])
    now_ms = int(time.time() * 1000)
    for i in ids:
        body = {k: {"value": v, "time": now_ms} for k, v in props.items()}
        if body:
            c.send({"type": "signal", "method": "properties",
                    "params": {"deviceCloudId": i, "body": body}})
    if mode == "cache":
        for i in ids:
            c.call("disconnect", {"deviceCloudId": i})
            DEVICES_ONLINE.remove(i)
        log(f"{len(ids)} devices reported once and disconnected")
    elif mode == "events":
        run_events(c, ids, opts)
    sel = selectors.DefaultSelector()
    sel.register(c.sock, selectors.EVENT_READ)
    while True:
        sel.select()
        c.pump()


def run_events(c, ids, opts):
    rate = float(opts.get("rate", 100))
    duration = float(opts.get("duration_s", 10))
    event = opts.get("event", "high_temperature")
    with open(opts["ready_file"], "w") as f:
        f.write(f"devices={len(ids)}\n")
    log(f"{len(ids)} devices online; waiting for {opts['start_file']}")
    sel = selectors.DefaultSelector()
    sel.register(c.sock, selectors.EVENT_READ)
    while True:  # one run each time the start file appears
        while not os.path.exists(opts["start_file"]):
            if sel.select(0.01):
                c.pump()
        os.remove(opts["start_file"])
        total = int(rate * duration)
        period_ns = int(1e9 / rate)
        start = time.monotonic_ns() + 1_000_000
        late_max = 0
        for n in range(total):
            due = start + n * period_ns
            while True:
                left = due - time.monotonic_ns()
                if left <= 0:
                    break
                if sel.select(left / 1e9):
                    c.pump()
            now, now_rt = time.monotonic_ns(), time.time_ns()
            late_max = max(late_max, now - due)
            body = {"params": {"value": {"temperature": 55.5, "seq": n, "sent_ns": now,
                                         "sent_rt_ns": now_rt},
                               "time": int(time.time() * 1000)}}
            c.send({"type": "signal", "method": "event",
                    "params": {"deviceCloudId": ids[n % len(ids)], "event": event,
                               "body": body}})
        done = opts["done_file"]
        with open(done + ".tmp", "w") as f:
            f.write(f"events={total} late_max_us={late_max // 1000}\n")
        os.rename(done + ".tmp", done)
        log(f"{total} events sent (at most {late_max // 1000} us behind schedule)")


if __name__ == "__main__":
    sys.exit(main())
