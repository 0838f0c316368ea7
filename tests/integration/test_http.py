"""Integration tests: the HTTP layer of the OpenAPI server (routing errors, limits, keep-alive,
pipelining, plain HTTP from loopback, connection limits, slow clients)."""

import os
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import (ADMIN, ADMIN_PASSWORD, Response, Verge, curl, expect, raw_request,  # noqa: E402
                      read_response, request_body, run, wait_closed)

V = Verge("limits.max_body_bytes=4096", "limits.max_header_bytes=2048",
          "limits.idle_timeout_ms=1500", name="main")
st = {}


def test_start():
    V.start()
    st["cookie"] = V.login()


def test_healthz():
    r = V.api("/healthz", method="GET")
    expect(r, 200, "success", {"status": "ok"})


def test_unknown_path_404():
    r = V.api("/no/such/path", {}, cookie=st["cookie"])
    expect(r, 404)
    assert "/no/such/path" in r.json["message"], r
    r = V.api("/no/such/path", method="GET", cookie=st["cookie"])
    expect(r, 404)


def test_wrong_method_405_allow():
    r = V.api("/auth/login", method="GET")
    expect(r, 405)
    assert r.header("Allow") == "POST", f"Allow: {r.header('Allow')!r}"
    r = V.api("/auth/login", method="PUT", body=request_body({}))
    expect(r, 405)
    assert r.header("Allow") == "POST", f"Allow: {r.header('Allow')!r}"


def test_malformed_json_400():
    for body in (b'{"id":1,"params":{', b"not json at all", b'{"params":{"UserName":"admin",}}'):
        r = V.api("/auth/login", body=body, headers={"Content-Type": "application/json"})
        expect(r, 400)
        assert "JSON" in r.json["message"], (body, r)
    r = V.api("/system/info", body=b"{nope", cookie=st["cookie"],
              headers={"Content-Type": "application/json"})
    expect(r, 400)
    assert "JSON" in r.json["message"], r


def test_params_not_an_object_400():
    r = V.api("/auth/login", body=b'{"params":"admin"}')
    expect(r, 400)


def test_body_too_large_413():
    body = request_body({"UserName": "admin", "Password": "x" * 5000})
    assert len(body) > 4096
    r = V.api("/auth/login", body=body, headers={"Content-Type": "application/json"})
    expect(r, 413)
    # exactly at the limit is fine (and then a normal 400 for the wrong password)
    pad = 4096 - len(request_body({"UserName": "admin", "Password": ""}))
    body = request_body({"UserName": "admin", "Password": "y" * pad})
    assert len(body) == 4096
    expect(V.api("/auth/login", body=body), 400, "Invalid username or password")


def test_headers_too_large_431():
    r = V.api("/healthz", method="GET", headers={"X-Pad": "a" * 3000})
    expect(r, 431)
    # more header fields than limits.max_headers (64)
    r = V.api("/healthz", method="GET", headers={f"X-H{i}": "1" for i in range(70)})
    expect(r, 431)


def test_any_content_type_accepted():
    params = {"UserName": ADMIN, "Password": ADMIN_PASSWORD}
    for ctype in ("application/x-www-form-urlencoded", "text/plain", None):
        s = V.connect()
        try:
            hdrs = [f"Content-Type: {ctype}"] if ctype else []
            s.sendall(raw_request("POST", "/auth/login", request_body(params), headers=hdrs))
            r = read_response(s.makefile("rb"))
        finally:
            s.close()
        expect(r, 200, "success", {"UserName": "admin"})
    # curl -d sends application/x-www-form-urlencoded
    out = curl("-d", request_body(params).decode(), "-X", "POST", V.url("/auth/login"))
    assert out.returncode == 0 and out.stdout.replace(" ", "").strip() == \
        '{"code":200,"message":"success","data":{"UserName":"admin"}}', out


def test_pipelined_requests_answered_in_order():
    s = V.connect()
    f = s.makefile("rb")
    try:
        reqs = (raw_request("POST", "/system/info", request_body({}), cookie=st["cookie"])
                + raw_request("GET", "/healthz")
                + raw_request("POST", "/nope", request_body({}), cookie=st["cookie"])
                + raw_request("GET", "/auth/login")
                + raw_request("POST", "/system/info", request_body({}), cookie=st["cookie"]))
        s.sendall(reqs)  # all five in one write
        r1, r2, r3, r4, r5 = (read_response(f) for _ in range(5))
        assert expect(r1, 200, "success")["data"]["user"] == "admin"
        expect(r2, 200, "success", {"status": "ok"})
        expect(r3, 404)
        expect(r4, 405)
        expect(r5, 200, "success")
        # the connection is still usable afterwards
        s.sendall(raw_request("GET", "/healthz"))
        expect(read_response(f), 200, "success", {"status": "ok"})
    finally:
        f.close()
        s.close()


def test_keep_alive_reuse():
    s = V.connect()
    f = s.makefile("rb")
    try:
        for _ in range(3):
            s.sendall(raw_request("POST", "/system/info", request_body({}), cookie=st["cookie"]))
            r = read_response(f)
            expect(r, 200, "success")
            assert (r.header("Connection") or "").lower() != "close", r
        s.sendall(raw_request("GET", "/healthz", close=True))
        expect(read_response(f), 200, "success", {"status": "ok"})
        closed, _ = wait_closed(s, 2.0)
        assert closed, "Connection: close was not honoured"
    finally:
        f.close()
        s.close()


def test_plain_http_from_loopback():
    s = V.connect(tls=False)
    try:
        s.sendall(raw_request("GET", "/healthz"))
        expect(read_response(s.makefile("rb")), 200, "success", {"status": "ok"})
    finally:
        s.close()
    out = curl("-w", "\n%{http_code}", V.url("/healthz", scheme="http"))
    assert out.returncode == 0, out
    assert out.stdout.strip().endswith("\n200"), out.stdout
    expect(V.api("/system/info", cookie=st["cookie"], tls=False), 200, "success")


def test_idle_keep_alive_closed():
    s = V.connect()
    try:
        s.sendall(raw_request("GET", "/healthz"))
        expect(read_response(s.makefile("rb")), 200, "success", {"status": "ok"})
        t0 = time.monotonic()
        closed, _ = wait_closed(s, 4.0)
        took = time.monotonic() - t0
        assert closed, "idle keep-alive connection still open 4 s after idle_timeout_ms=1500"
        assert took >= 1.0, f"closed after {took:.2f} s, before idle_timeout_ms=1500"
    finally:
        s.close()


def test_per_ip_limit_421():
    v = Verge("limits.max_connections_per_ip=4", name="perip")
    v.start()
    held = [v.connect() for _ in range(4)]
    try:
        for s in held:  # make sure all four are fully accepted and counted
            s.sendall(raw_request("GET", "/healthz"))
            expect(read_response(s.makefile("rb")), 200)
        extra = v.connect()
        try:
            extra.sendall(raw_request("GET", "/healthz"))
            r = read_response(extra.makefile("rb"))
            assert r is not None, "the 5th connection was closed without a 421 answer"
            expect(r, 421)
            closed, _ = wait_closed(extra, 3.0)
            assert closed, "the 5th connection was not closed after its 421"
        finally:
            extra.close()
        held.pop().close()
        deadline = time.monotonic() + 3.0
        while True:
            r = v.api("/healthz", method="GET")
            if r.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        expect(r, 200, "success", {"status": "ok"})
    finally:
        for s in held:
            s.close()
    v.stop()


def test_total_limit_503():
    v = Verge("limits.max_connections=3", name="maxconn")
    v.start()
    held = [v.connect() for _ in range(3)]
    try:
        for s in held:
            s.sendall(raw_request("GET", "/healthz"))
            expect(read_response(s.makefile("rb")), 200)
        extra = v.connect()
        try:
            extra.sendall(raw_request("GET", "/healthz"))
            r = read_response(extra.makefile("rb"))
            assert r is not None, "the 4th connection was closed without a 503 answer"
            expect(r, 503)
            closed, _ = wait_closed(extra, 3.0)
            assert closed, "the 4th connection was not closed after its 503"
        finally:
            extra.close()
    finally:
        for s in held:
            s.close()
    v.stop()


def _slowloris(v, tls):
    """Dribbles a header byte every 300 ms; returns (seconds from the first byte to the close,
    bytes received before it), or (None, data) if still open after 5 s."""
    s = v.connect(tls=tls)
    data = b""
    try:
        payload = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        t0 = time.monotonic()
        for i in range(len(payload)):
            if time.monotonic() - t0 > 5.0:
                return None, data
            try:
                s.sendall(payload[i:i + 1])
            except OSError:
                return time.monotonic() - t0, data
            closed, got = wait_closed(s, 0.3)
            data += got
            if closed:
                return time.monotonic() - t0, data
        return None, data
    finally:
        s.close()


def test_slowloris_cut_off_others_served():
    v = Verge("limits.header_timeout_ms=1000", "limits.tls_handshake_timeout_ms=1000",
              "limits.body_timeout_ms=1000", name="slowloris")
    v.start()
    result = {}
    th = threading.Thread(target=lambda: result.update(tls=_slowloris(v, True)))
    th.start()
    time.sleep(0.4)
    # other clients are served promptly meanwhile
    for _ in range(3):
        t0 = time.monotonic()
        out = curl("-w", "\n%{http_code}", v.url("/healthz"))
        took = time.monotonic() - t0
        assert out.returncode == 0 and out.stdout.endswith("\n200"), out
        assert took < 1.0, f"/healthz took {took:.2f} s while a slow client was connected"
        time.sleep(0.2)
    th.join(10)
    took, data = result["tls"]
    assert took is not None, "slow TLS client still connected 5 s after its first header byte"
    assert took <= 2.5, f"slow TLS client cut off only after {took:.2f} s (header_timeout_ms=1000)"
    if data:
        assert data.startswith(b"HTTP/1.1 408"), f"unexpected answer to a slow client: {data!r}"
    # the same over plain HTTP from loopback
    took, data = _slowloris(v, False)
    assert took is not None and took <= 2.5, f"slow plain-HTTP client: {took}"
    if data:
        assert data.startswith(b"HTTP/1.1 408"), f"unexpected answer to a slow client: {data!r}"
    # a body dribbled slower than body_timeout_ms is cut off too
    s = v.connect()
    try:
        s.sendall(b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n{")
        t0 = time.monotonic()
        closed = False
        for _ in range(20):
            try:
                s.sendall(b" ")
            except OSError:
                closed = True
                break
            closed, data = wait_closed(s, 0.3)
            if closed:
                break
        took = time.monotonic() - t0
        assert closed and took <= 2.5, f"slow body not cut off ({took:.1f} s, body_timeout_ms=1000)"
    finally:
        s.close()
    # a client that connects and says nothing is cut off too (TLS handshake timeout)
    s = socket.create_connection(("127.0.0.1", v.port), timeout=5)
    try:
        t0 = time.monotonic()
        closed, _ = wait_closed(s, 4.0)
        assert closed, "silent connection still open 4 s after connecting"
        assert time.monotonic() - t0 <= 3.0
    finally:
        s.close()
    v.stop()


def test_stop_clean():
    V.stop()


if __name__ == "__main__":
    run(globals())
