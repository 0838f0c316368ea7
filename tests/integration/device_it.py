"""device_it: helpers for the device-API integration tests (test_device_api.py, test_openapi.py,
test_api_doc.py): temporary bundles around the fake driver drivers/event_driver.py, event
stream readers over raw sockets (TLS or plain HTTP), metrics and process figures.

Python 3 standard library only; builds on verge_it.
"""

import json
import os
import re
import shutil
import socket
import ssl
import stat
import time

from verge_it import (COOKIE_NAME, VERGE_BIN, client_context, raw_request, request_body,
                      tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
EVENT_DRIVER = os.path.join(HERE, "drivers", "event_driver.py")
EVT_PK = "a1EvtTest"
EVT_PK2 = "a1EvtOther"
HEARTBEAT = b'{"code":204,"message":"heartbeats","data":null}'


def demo_bundle():
    """The runnable demo bundle the build assembles next to the binary:
    <build>/functions/demo, where <build> is dirname(VERGE_BIN)."""
    return os.path.join(os.path.dirname(os.path.abspath(VERGE_BIN)), "functions", "demo")


def _dt(kind, **specs):
    return {"type": kind, "specs": {k: str(v) for k, v in specs.items()}}


def _int(lo, hi):
    return _dt("int", min=lo, max=hi, step=1)


def evt_tsl(pk):
    """The thing model of the fake driver's products: properties level (int rw 0..10), label
    (text rw), secret (int, write-only), ro (float, read-only); events ev_a (info) and ev_b
    (alert); services emit, echo, fail, garbage, hang and die (see drivers/event_driver.py)."""
    def prop(ident, mode, dtype):
        return {"identifier": ident, "name": ident, "accessMode": mode, "required": False,
                "dataType": dtype}

    def service(ident, inputs):
        return {"identifier": ident, "name": ident, "callType": "sync", "required": False,
                "method": f"thing.service.{ident}",
                "inputData": [{"identifier": k, "name": k, "dataType": t} for k, t in inputs],
                "outputData": []}

    def event(ident, kind, name):
        return {"identifier": ident, "name": name, "type": kind, "required": False,
                "method": f"thing.event.{ident}.post",
                "outputData": [{"identifier": "n", "name": "n", "dataType": _int(0, 2**31 - 1)}]}

    return {
        "schema": "https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json",
        "profile": {"productKey": pk},
        "properties": [prop("level", "rw", _int(0, 10)),
                       prop("label", "rw", {"type": "text", "specs": {"length": "16"}}),
                       prop("secret", "w", _int(0, 99)),
                       prop("ro", "r", _dt("float", min=-40, max=125, step=0.1))],
        "events": [event("ev_a", "info", "Event A"), event("ev_b", "alert", "Event B")],
        "services": [service("emit", [("count", _int(1, 1000000)), ("rate_hz", _int(1, 100000)),
                                      ("pad", _int(0, 100000))]),
                     service("echo", [("a", {"type": "text", "specs": {"length": "32"}}),
                                      ("b", _int(-1000, 1000))]),
                     service("fail", [("code", _int(0, 999999))]),
                     service("garbage", []),
                     service("hang", []),
                     service("die", [])],
    }


def write_bundle(dirpath, drivers, products=(EVT_PK, EVT_PK2)):
    """Writes a bundle into `dirpath` (created or overwritten): products `products` with evt_tsl,
    and one event_driver.py per entry of `drivers`, each a dict
    {"name": ..., "devices": [(pk, dn, tags), ...], "settings": {...config.json...}}.
    Returns dirpath."""
    os.makedirs(os.path.join(dirpath, "products"), exist_ok=True)
    for pk in products:
        with open(os.path.join(dirpath, "products", f"{pk}.json"), "w") as f:
            json.dump(evt_tsl(pk), f, indent=1)
    manifest = {"name": "evt", "version": "1.0.0",
                "products": [{"productKey": pk, "tsl": f"products/{pk}.json"} for pk in products],
                "drivers": []}
    for d in drivers:
        ddir = os.path.join(dirpath, "drivers", d["name"])
        os.makedirs(ddir, exist_ok=True)
        exe = os.path.join(ddir, "event_driver.py")
        shutil.copyfile(EVENT_DRIVER, exe)
        os.chmod(exe, os.stat(exe).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        manifest["drivers"].append({
            "name": d["name"], "exec": f"drivers/{d['name']}/event_driver.py",
            "config": {"json": d.get("settings", {}), "kv": [], "fileList": []},
            "devices": [{"productKey": pk, "deviceName": dn, "tags": tags}
                        for pk, dn, tags in d["devices"]]})
    with open(os.path.join(dirpath, "bundle.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return dirpath


def make_bundle(drivers, products=(EVT_PK, EVT_PK2)):
    """write_bundle into a new temporary directory."""
    return write_bundle(os.path.join(tmpdir("verge-bundle-"), "bundle"), drivers, products)


def wait_until(pred, timeout, what, step=0.05):
    """Polls pred() until it returns a true value (returned) or `timeout` s pass (AssertionError
    naming `what` and the last value)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        time.sleep(step)


def wait_online(v, cookie, count, timeout=10.0):
    """Waits until /thing/device/count says `count` devices are online."""
    def online():
        r = v.api("/thing/device/count", {"onlineStatus": 1}, cookie=cookie)
        return r.status == 200 and r.json["data"]["deviceCount"] == count
    wait_until(online, timeout, f"{count} online devices")


# ---- metrics and the process ----------------------------------------------------------------

METRIC_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) ([-+0-9.eEinfNa]+)$")


def metrics(v, cookie):
    """verge's /metrics as {"name{labels}": float}."""
    r = v.api("/metrics", method="GET", cookie=cookie)
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        m = METRIC_RE.match(line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


# ---- chunked event streams ------------------------------------------------------------------

class ChunkParser:
    """Incremental parser of an HTTP/1.1 response with a chunked body: feed() bytes, then take
    the head (status, headers) and the complete chunks; `ended` after the 0-length chunk."""

    def __init__(self):
        self.buf = bytearray()
        self.status = None
        self.headers = []
        self.body = None     # the whole body of a non-chunked reply (an error)
        self.chunks = []     # complete chunks not yet taken
        self.ended = False
        self._length = None  # Content-Length of a non-chunked reply

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def feed(self, data):
        self.buf += data
        self._parse()

    def _parse(self):
        buf = self.buf
        pos = 0
        while True:
            if self.status is None:
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    break
                lines = bytes(buf[pos:end]).decode("latin-1").split("\r\n")
                pos = end + 4
                self.status = int(lines[0].split(" ")[1])
                for h in lines[1:]:
                    k, _, val = h.partition(":")
                    self.headers.append((k.strip(), val.strip()))
                if "chunked" not in (self.header("Transfer-Encoding") or "").lower():
                    self._length = int(self.header("Content-Length") or 0)
                continue
            if self._length is not None:
                if len(buf) - pos >= self._length:
                    self.body = bytes(buf[pos:pos + self._length])
                    pos += self._length
                    self.ended = True
                break
            if self.ended:
                break
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                break
            size = int(bytes(buf[pos:nl]).split(b";")[0], 16)
            if size == 0:
                self.ended = True
                pos = nl + 2
                break
            if len(buf) < nl + 2 + size + 2:
                break
            chunk = bytes(buf[nl + 2:nl + 2 + size])
            assert buf[nl + 2 + size:nl + 4 + size] == b"\r\n", \
                f"chunk of {size} bytes not followed by CRLF: {bytes(buf[pos:nl + size + 8])!r}"
            pos = nl + 4 + size
            self.chunks.append(chunk)
        del buf[:pos]
        return pos


class EventStream:
    """One POST /thing/device/events/get on its own connection (TLS unless tls=False), read
    with a ChunkParser. `rcvbuf` sets SO_RCVBUF before connecting (a small one makes a reader
    that stops reading fall behind quickly)."""

    def __init__(self, v, cookie, event_info, tls=True, rcvbuf=None, connect=True,
                 params=None):
        self.v = v
        self.parser = ChunkParser()
        self.closed = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", v.port))
        if tls:
            self.sock = client_context().wrap_socket(self.sock, server_hostname="localhost")
        body = request_body(params if params is not None else {"eventInfo": event_info})
        self.request = raw_request("POST", "/thing/device/events/get", body, cookie=cookie)
        if connect:
            self.sock.sendall(self.request)

    def fileno(self):
        return self.sock.fileno()

    def pump(self, timeout):
        """Reads what arrives within `timeout` s (at least one recv). Returns False at EOF."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        except (ConnectionError, ssl.SSLError, OSError):
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        self.parser.feed(data)
        return True

    def head(self, timeout=10.0):
        """Waits for the response head; returns the status."""
        deadline = time.monotonic() + timeout
        while self.parser.status is None:
            left = deadline - time.monotonic()
            assert left > 0, "no response head in time"
            if not self.pump(min(left, 0.5)) and self.parser.status is None:
                raise AssertionError("connection closed before the response head")
        return self.parser.status

    def next_chunk(self, timeout=10.0):
        """The next chunk (bytes), or None when the stream ended or the connection closed.
        Raises AssertionError when nothing arrives within `timeout` s."""
        deadline = time.monotonic() + timeout
        while not self.parser.chunks:
            if self.parser.ended or self.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no chunk within {timeout} s")
            self.pump(min(left, 0.5))
        return self.parser.chunks.pop(0)

    def events(self, count, timeout=10.0, heartbeats=None, raw=None):
        """The next `count` event chunks, parsed; heartbeats between them are skipped (and
        appended to the list `heartbeats` when given, with their arrival time). The chunks'
        bytes are appended to the list `raw` when given."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"only {len(out)} of {count} events within {timeout} s"
            c = self.next_chunk(left)
            assert c is not None, f"stream ended after {len(out)} of {count} events"
            if c == HEARTBEAT:
                if heartbeats is not None:
                    heartbeats.append(time.monotonic())
                continue
            if raw is not None:
                raw.append(c)
            e = json.loads(c)
            assert e.get("code") == 200, f"after {len(out)} of {count} events: {c!r}"
            out.append(e)
        return out

    def close(self, reset=False):
        """Closes the connection (with an RST when reset)."""
        if reset:
            import struct
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True


def cookie_header(token):
    return f"{COOKIE_NAME}={token}"
