#!/usr/bin/env python3
"""event_driver.py: a fake verge driver for the device-API tests (test_device_api.py), written
against docs/driver-protocol.md with the Python standard library only.

It connects to $VERGE_DRIVER_SOCKET, says hello with $FUNCTION_ID and $VERGE_DRIVER_TOKEN, reads
its driver config (getConfig gw_driverconfig_<FUNCTION_ID>), connects every device of its
deviceList but those named in config.json.skip (a list of deviceNames: they stay offline) and
reports config.json.values ({prop: value}, default {}) once for each device.
Then it answers the runtime's callServices:

  get      the values it holds for the names asked (109002 for a name it does not hold);
  set      stores the values, answers {} and reports them (like a real device);
  emit     input {"count": N, "rate_hz": R, "pad": P}: answers at once with
           {"started": N}, then sends N event signals at R per second from another thread.
           Event i (i = 0..N-1, counted over the driver's life in "n") goes to device
           i % D of the D connected devices, with identifier config.json.events[(i // D) % E]
           (E identifiers, default ["ev_a", "ev_b"]); its body is
           {"params": {"value": {"n": n, "f": 50.8, "pad": "x" * P}, "time": <ms>}}
           ("pad" only when P > 0), so a reader can check order and loss exactly;
  echo     answers with its input as the service output;
  fail     input {"code": C}: fails the call with code C (message "failed on purpose");
  garbage  answers with a reply whose params are not an object (a driver bug);
  hang     never answers (the runtime times the call out);
  die      exits at once (status 3) without answering;
  anything else: 109005 "Service no exist".

Everything it does is printed on stdout (the runtime logs it under [driver:<name>]).
"""

import json
import os
import socket
import struct
import sys
import threading
import time

OK = 0
PROPERTY_NOT_EXIST = 109002
SERVICE_NOT_EXIST = 109005


def say(msg):
    print(f"event_driver[{os.environ.get('FUNCTION_ID', '?')}]: {msg}", flush=True)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class Driver:
    def __init__(self):
        self.fid = os.environ["FUNCTION_ID"]
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.environ["VERGE_DRIVER_SOCKET"])
        self.lock = threading.Lock()   # one writer at a time: the main loop and the emitter
        self.seq = 0
        self.devices = []              # deviceCloudId, in connect order
        self.values = {}               # deviceCloudId -> {prop: value}
        self.events = ["ev_a", "ev_b"]
        self.emitted = 0               # events sent so far ("n" of the next one)

    def send(self, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        with self.lock:
            self.sock.sendall(struct.pack(">I", len(body)) + body)

    def recv(self):
        head = recv_exact(self.sock, 4)
        if head is None:
            return None
        (n,) = struct.unpack(">I", head)
        body = recv_exact(self.sock, n)
        return None if body is None else json.loads(body.decode())

    def call(self, method, params):
        """A call to the runtime and its reply (nothing else is sent to us before the devices
        are connected)."""
        self.seq += 1
        self.send({"type": "call", "seq": self.seq, "method": method, "params": params})
        while True:
            m = self.recv()
            if m is None:
                say("connection closed while waiting for a reply")
                sys.exit(1)
            if m.get("type") == "reply" and m.get("seq") == self.seq:
                return m
            say(f"ignoring {m.get('type')} {m.get('method')} before start-up ended")

    def reply(self, seq, code, message, params):
        self.send({"type": "reply", "seq": seq, "code": code, "message": message,
                   "params": {"code": code, "message": message, "params": params}})

    def report(self, cid, values):
        now = int(time.time() * 1000)
        self.send({"type": "signal", "method": "properties",
                   "params": {"deviceCloudId": cid,
                              "body": {k: {"value": v, "time": now} for k, v in values.items()}}})

    # -- the emitter --
    def emit(self, count, rate_hz, pad):
        """Sends `count` events at `rate_hz`, on a steady schedule (several per wake-up when the
        rate is high)."""
        t0 = time.monotonic()
        padding = "x" * pad
        ndev = len(self.devices)
        for i in range(count):
            due = t0 + i / rate_hz
            delay = due - time.monotonic()
            if delay > 0.002:
                time.sleep(delay)
            n = self.emitted
            self.emitted += 1
            value = {"n": n, "f": 50.8}
            if pad:
                value["pad"] = padding
            cid = self.devices[i % ndev]
            event = self.events[(i // ndev) % len(self.events)]
            try:
                self.send({"type": "signal", "method": "event",
                           "params": {"deviceCloudId": cid, "event": event,
                                      "body": {"params": {"value": value,
                                                          "time": int(time.time() * 1000)}}}})
            except OSError as e:
                say(f"emit stopped: {e}")
                return
        say(f"emitted {count} events in {time.monotonic() - t0:.2f} s")

    # -- calls from the runtime --
    def on_call_services(self, seq, params):
        cid = params.get("deviceCloudId")
        service = params.get("service")
        x = (params.get("args") or {}).get("params")
        values = self.values.get(cid)
        if values is None:
            self.reply(seq, 109000, "Device not register", {})
            return
        if service == "get":
            missing = [k for k in x if k not in values]
            if missing:
                self.reply(seq, PROPERTY_NOT_EXIST, "Property no exist", {})
            else:
                self.reply(seq, OK, "Ok", {k: values[k] for k in x})
        elif service == "set":
            values.update(x)
            self.reply(seq, OK, "Ok", {})
            self.report(cid, x)
        elif service == "emit":
            count = int(x.get("count", 1))
            rate = int(x.get("rate_hz", 20))
            pad = int(x.get("pad", 0))
            self.reply(seq, OK, "Ok", {"code": OK, "message": "Ok", "data": {"started": count}})
            threading.Thread(target=self.emit, args=(count, rate, pad), daemon=True).start()
        elif service == "echo":
            self.reply(seq, OK, "Ok", {"code": OK, "message": "Ok", "data": x})
        elif service == "fail":
            code = int(x.get("code", 100000))
            self.send({"type": "reply", "seq": seq, "code": code, "message": "failed on purpose",
                       "params": {"code": code, "message": "failed on purpose", "params": {}}})
        elif service == "garbage":
            self.send({"type": "reply", "seq": seq, "code": OK, "message": "Ok",
                       "params": {"code": OK, "message": "Ok", "params": "not an object"}})
        elif service == "hang":
            say(f"not answering call {seq} (hang)")
        elif service == "die":
            say("exiting without answering (die)")
            sys.stdout.flush()
            os._exit(3)
        else:
            self.reply(seq, SERVICE_NOT_EXIST, "Service no exist", {})


def main():
    d = Driver()
    d.send({"type": "hello", "versions": [1], "functionId": d.fid,
            "token": os.environ["VERGE_DRIVER_TOKEN"], "pid": os.getpid()})
    welcome = d.recv()
    if not welcome or welcome.get("type") != "welcome":
        say(f"handshake refused: {welcome!r}")
        sys.exit(1)
    r = d.call("getConfig", {"key": f"gw_driverconfig_{d.fid}"})
    if r["code"] != 0:
        say(f"getConfig failed: {r!r}")
        sys.exit(1)
    cfg = json.loads(r["params"]["value"])
    settings = cfg.get("config", {}).get("json", {})
    d.events = settings.get("events") or d.events
    initial = settings.get("values", {})
    for dev in cfg.get("deviceList", []):
        if dev["deviceName"] in settings.get("skip", []):
            continue
        r = d.call("connect", {"productKey": dev["productKey"], "deviceName": dev["deviceName"],
                               "isLocal": "False"})
        if r["code"] != 0:
            say(f"connect {dev['productKey']}/{dev['deviceName']} failed: {r!r}")
            continue
        cid = r["params"]["deviceCloudId"]
        d.devices.append(cid)
        d.values[cid] = dict(initial)
        if initial:
            d.report(cid, initial)
    say(f"{len(d.devices)} device(s) online: {' '.join(d.devices)}")

    while True:
        try:
            m = d.recv()
        except OSError as e:
            say(f"connection error: {e}")
            return
        if m is None:
            say("the runtime closed the connection")
            return
        if m.get("type") == "call" and m.get("method") == "callServices":
            d.on_call_services(m["seq"], m.get("params") or {})
        elif m.get("type") == "call":
            d.send({"type": "reply", "seq": m["seq"], "code": 100008,
                    "message": "Service unreachable", "params": {}})


if __name__ == "__main__":
    main()
