"""verge_it: shared helpers for verge's integration tests.

Each test file starts one or more real `verge serve` daemons on free loopback ports with
temporary data directories, talks to them over HTTPS (http.client, raw ssl sockets, curl,
openssl s_client) and stops them with SIGTERM, checking that they exit with status 0.

Environment: VERGE_BIN (the binary; ctest sets it), VERGE_SOURCE_DIR (the repository root).
Python 3 standard library only.
"""

import atexit
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

SOURCE_DIR = os.environ.get("VERGE_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERGE_BIN = os.environ.get("VERGE_BIN") or os.path.join(SOURCE_DIR, "build", "it", "verge")

ADMIN = "admin"
ADMIN_PASSWORD = "admin1234"
COOKIE_NAME = "verge_session"
COOKIE_RE = re.compile(r"^verge_session=([0-9a-fA-F]{64})(;.*)?$")
FINGERPRINT_RE = re.compile(r"\b([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31})\b")

_instances = []   # every Verge made, for cleanup and failure logs
_tmpdirs = []


def tmpdir(prefix="verge-it-"):
    """A fresh temporary directory, removed at exit."""
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def free_port():
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_context(min_version=None, max_version=None, ciphers=None):
    """A TLS client context that accepts verge's self-signed certificate (like curl -k)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def request_body(params):
    """The edge OpenAPI envelope of seed 004 section 3 around `params`."""
    return json.dumps({"id": 111, "version": "1.0", "request": {"apiVer": "0.6"},
                       "params": params}).encode()


def basic_header(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def verge_env(**overrides):
    """The environment for verge processes: ours, without the password variables unless given."""
    env = dict(os.environ)
    for k in ("VERGE_ADMIN_PASSWORD", "VERGE_PASSWORD"):
        env.pop(k, None)
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_verge(*args, env=None, input=None, timeout=30):
    """Runs `verge ARGS...` to completion; returns CompletedProcess (text mode)."""
    check_binary()
    return subprocess.run([VERGE_BIN, *args], input=input, capture_output=True, text=True,
                          timeout=timeout, env=env if env is not None else verge_env(),
                          stdin=None if input is not None else subprocess.DEVNULL)


def demo_bundle():
    """The runnable demo bundle the build assembles next to the binary:
    <build>/functions/demo, where <build> is dirname(VERGE_BIN)."""
    return os.path.join(os.path.dirname(os.path.abspath(VERGE_BIN)), "functions", "demo")


def check_binary():
    if not (os.path.isfile(VERGE_BIN) and os.access(VERGE_BIN, os.X_OK)):
        raise AssertionError(f"verge binary not found at {VERGE_BIN} (set VERGE_BIN)")


def curl(*args, input=None, timeout=20):
    """Runs `curl -sS -k ARGS...`; returns CompletedProcess (text mode)."""
    return subprocess.run(["curl", "-sS", "-k", "--max-time", str(timeout), *args],
                          input=input, capture_output=True, text=True, timeout=timeout + 5,
                          stdin=None if input is not None else subprocess.DEVNULL)


def ordered_json(text):
    """Parses JSON keeping key order (a list of pairs per object) for envelope checks."""
    return json.loads(text, object_pairs_hook=lambda pairs: pairs)


class Response:
    """One HTTP response: status, reason, headers (list of (name, value)), body, json."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def header(self, name):
        """The first header named `name` (case-insensitive), or None."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def cookie(self):
        """The verge_session token from Set-Cookie, or None."""
        for v in self.header_all("Set-Cookie"):
            m = COOKIE_RE.match(v)
            if m:
                return m.group(1)
        return None

    def __repr__(self):
        return f"<HTTP {self.status} {self.reason} headers={self.headers} body={self.body[:300]!r}>"


def expect(resp, code, message=None, data=...):
    """Asserts HTTP status == body code == `code` and the {code,message,data} envelope;
    `message` and `data` are compared exactly when given. Returns the parsed body."""
    assert resp.status == code, f"expected HTTP {code}, got {resp!r}"
    assert resp.json is not None, f"expected a JSON body, got {resp!r}"
    assert isinstance(resp.json, dict), f"expected a JSON object, got {resp!r}"
    keys = [k for k, _ in ordered_json(resp.body.decode())]
    assert keys == ["code", "message", "data"], \
        f"expected keys code, message, data in that order, got {keys}: {resp!r}"
    assert resp.json["code"] == code, f"body code {resp.json['code']} != HTTP {code}: {resp!r}"
    assert isinstance(resp.json["message"], str), f"message is not a string: {resp!r}"
    if message is not None:
        assert resp.json["message"] == message, \
            f"expected message {message!r}, got {resp.json['message']!r}"
    if data is not ...:
        assert resp.json["data"] == data, f"expected data {data!r}, got {resp.json['data']!r}"
    ctype = resp.header("Content-Type") or ""
    assert ctype.startswith("application/json"), f"Content-Type {ctype!r}: {resp!r}"
    return resp.json


# ---- raw HTTP over sockets -------------------------------------------------------------------

def read_response(f):
    """Reads one HTTP/1.1 response from the buffered binary file `f` (sock.makefile('rb')).
    Returns a Response, or None when the connection closed before a status line."""
    line = f.readline()
    if not line:
        return None
    m = re.match(rb"^HTTP/1\.[01] (\d{3}) ?(.*)\r\n$", line)
    assert m, f"bad status line {line!r}"
    status, reason = int(m.group(1)), m.group(2).decode("latin-1")
    headers = []
    while True:
        h = f.readline()
        assert h, "connection closed inside the response headers"
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers.append((k.strip(), v.strip()))
    hmap = {k.lower(): v for k, v in headers}
    body = b""
    if "chunked" in hmap.get("transfer-encoding", "").lower():
        while True:
            size = int(f.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += f.read(size)
            f.readline()
    elif "content-length" in hmap:
        n = int(hmap["content-length"])
        body = f.read(n)
        assert len(body) == n, f"short body: {len(body)} of {n} bytes"
    elif status not in (204, 304) and not (100 <= status < 200):
        body = f.read()
    return Response(status, reason, headers, body)


def raw_request(method, path, body=b"", cookie=None, basic=None, headers=(), host="127.0.0.1",
                close=False):
    """Bytes of one HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if cookie:
        lines.append(f"Cookie: {COOKIE_NAME}={cookie}")
    if basic:
        lines.append(f"Authorization: {basic_header(*basic)}")
    for h in headers:
        lines.append(h)
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def wait_closed(sock, timeout):
    """Waits until the peer closes `sock` (EOF, reset or TLS close). Returns (closed, data)
    where data is whatever arrived before the close."""
    deadline = time.monotonic() + timeout
    data = b""
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (ConnectionError, ssl.SSLError, OSError):
            return True, data
        if not chunk:
            return True, data
        data += chunk
    return False, data


# ---- the daemon ------------------------------------------------------------------------------

class Verge:
    """One `verge serve` process on 127.0.0.1:<free port> with its own data directory.

    Verge("limits.max_connections_per_ip=4", ...) passes each string as --set KEY=VALUE."""

    def __init__(self, *sets, data_dir=None, env=None, args=(), name=None):
        self.sets = list(sets)
        self.data_dir = data_dir or os.path.join(tmpdir(), "data")
        self.env = env or {}
        self.args = list(args)
        self.name = name or "verge"
        self.port = None
        self.proc = None
        self.log_path = None
        self.out_path = None
        self.starts = 0
        _instances.append(self)

    # -- life cycle --
    def start(self, wait=True, port=None):
        """Starts the daemon (again, on a new port unless `port`) and waits for /healthz."""
        check_binary()
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.port = port or free_port()
        self.starts += 1
        base = os.path.dirname(self.data_dir.rstrip("/")) if self.data_dir else tmpdir()
        self.log_path = os.path.join(base, f"{self.name}-{self.starts}.stderr.log")
        self.out_path = os.path.join(base, f"{self.name}-{self.starts}.stdout.log")
        cmd = [VERGE_BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir",
               self.data_dir]
        for s in self.sets:
            cmd += ["--set", s]
        cmd += self.args
        self.cmd = cmd
        with open(self.log_path, "wb") as err, open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=verge_env(**self.env))
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"{self.name} exited with status {rc} during start-up "
                                     f"({' '.join(self.cmd)})\n--- log ---\n{self.log()}")
            try:
                r = self.api("/healthz", method="GET", timeout=1.0)
                if r.status == 200:
                    return
                last = repr(r)
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"{self.name} did not answer GET /healthz within {timeout} s "
                             f"(last: {last})\n--- log ---\n{self.log()}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Sends `sig` and asserts a clean exit (status 0) within `timeout` s. Returns seconds."""
        if not self.running():
            rc = self.proc.returncode if self.proc else None
            raise AssertionError(f"{self.name} is not running (exit status {rc})\n"
                                 f"--- log ---\n{self.log()}")
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not exit within {timeout} s of "
                                 f"{signal.Signals(sig).name}\n--- log ---\n{self.log()}")
        took = time.monotonic() - t0
        assert rc == 0, (f"{self.name} exited with status {rc} after {signal.Signals(sig).name}"
                         f"\n--- log ---\n{self.log()}")
        return took

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait(5)

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return "(no log)"

    def stdout(self):
        try:
            with open(self.out_path, "r", errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def fingerprint(self):
        """The SHA-256 fingerprint the daemon logged, upper-case "AB:CD:...", or None."""
        m = FINGERPRINT_RE.search(self.log())
        return m.group(1).upper() if m else None

    # -- clients --
    def url(self, path, scheme="https"):
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def connect(self, tls=True, ctx=None, timeout=10.0):
        """A connected socket (TLS, handshake done, unless tls=False)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if not tls:
            return s
        try:
            return (ctx or client_context()).wrap_socket(s, server_hostname="localhost")
        except BaseException:
            s.close()
            raise

    def api(self, path, params=None, cookie=None, basic=None, method="POST", body=None,
            headers=None, tls=True, timeout=15.0, ctx=None):
        """One request on a new connection. POST bodies are the seed's envelope around
        `params` ({} when None) unless `body` (bytes) is given. Returns a Response."""
        if tls:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=ctx or client_context())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {}
        if method == "POST" and body is None:
            body = request_body(params if params is not None else {})
            h["Content-Type"] = "application/json"
        if cookie:
            h["Cookie"] = f"{COOKIE_NAME}={cookie}"
        if basic:
            h["Authorization"] = basic_header(*basic)
        h.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.reason, r.getheaders(), data)
        finally:
            conn.close()

    def login(self, user=ADMIN, password=ADMIN_PASSWORD):
        """Logs in; asserts the documented success reply; returns the session token."""
        r = self.api("/auth/login", {"UserName": user, "Password": password})
        expect(r, 200, "success", {"UserName": user})
        token = r.cookie()
        assert token, f"no verge_session cookie in {r!r}"
        return token

    def passwd(self, user, password, allow=None, stdin=False):
        """Runs `verge passwd USER [--allow ALLOW] --data-dir DIR` against this data dir, with
        the password in VERGE_PASSWORD (or on stdin when stdin=True)."""
        args = ["passwd", user]
        if allow is not None:
            args += ["--allow", allow]
        args += ["--data-dir", self.data_dir]
        if stdin:
            return run_verge(*args, input=password + "\n")
        return run_verge(*args, env=verge_env(VERGE_PASSWORD=password))


# ---- the runner ------------------------------------------------------------------------------

def _cleanup():
    for v in _instances:
        try:
            v.kill()
        except Exception:
            pass
    if os.environ.get("VERGE_IT_KEEP"):
        return
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def run(namespace):
    """Runs every test_* function of `namespace` (a module's globals()) in source order,
    prints PASS/FAIL lines and "N passed, N failed", and exits 1 if any failed."""
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    only = os.environ.get("VERGE_IT_ONLY")
    passed = failed = 0
    t_all = time.monotonic()
    for name, fn in tests:
        if only and only not in name:
            continue
        t0 = time.monotonic()
        n_before = len(_instances)
        try:
            fn()
        except Exception:
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - t0:.1f} s)")
            print("    " + traceback.format_exc().replace("\n", "\n    "))
            # the logs of the daemons this test started, and of the shared ones still running
            started = _instances[n_before:]
            for v in started + [v for v in _instances[:n_before] if v.running()]:
                if v.log_path:
                    tail = "\n".join("      " + l for l in v.log().splitlines()[-12:])
                    print(f"    --- {v.name} (port {v.port}) log tail ---\n{tail}")
            for v in started:
                v.kill()
        else:
            passed += 1
            print(f"PASS {name} ({time.monotonic() - t0:.1f} s)")
        sys.stdout.flush()
    leftovers = [v.name for v in _instances if v.running()]
    if leftovers:
        print(f"note: still running at the end (killed): {', '.join(leftovers)}")
    print(f"# {os.path.basename(sys.argv[0])}: {time.monotonic() - t_all:.1f} s")
    print(f"{passed} passed, {failed} failed")
    sys.stdout.flush()
    _cleanup()
    sys.exit(1 if failed else 0)
