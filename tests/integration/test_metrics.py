"""Integration tests: GET /metrics (Prometheus text) and that its counters move."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import ADMIN, ADMIN_PASSWORD, Verge, expect, raw_request, read_response, run  # noqa: E402

V = Verge(name="main")
st = {}

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """Prometheus text exposition -> {(name, frozenset(labels.items())): float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"malformed exposition line: {line!r}"
        labels = frozenset(LABEL_RE.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    """The sum of the samples named `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def scrape():
    r = V.api("/metrics", method="GET", cookie=st["cookie"])
    assert r.status == 200, r
    return parse(r.body.decode())


def test_start():
    V.start()
    st["cookie"] = V.login()


def test_metrics_format_and_names():
    r = V.api("/metrics", method="GET", cookie=st["cookie"])
    assert r.status == 200, r
    assert (r.header("Content-Type") or "").startswith("text/plain"), r.header("Content-Type")
    text = r.body.decode()
    # samples that exist once a request has been served
    for name in ("verge_http_requests_total", "verge_http_request_duration_seconds_bucket",
                 "verge_http_connections", "verge_tls_handshakes_total"):
        assert re.search(rf"^{name}[{{ ]", text, re.M), f"{name} missing:\n{text}"
    # declared from the start (a labelled counter may have no sample before its first event)
    for name in ("verge_http_requests_total", "verge_http_connections",
                 "verge_http_request_duration_seconds", "verge_tls_handshakes_total",
                 "verge_auth_login_failures_total"):
        assert re.search(rf"^# TYPE {name} ", text, re.M), f"no # TYPE for {name}"
    s = parse(text)
    assert any(n == "verge_http_request_duration_seconds_bucket" and ("le", "+Inf") in ls
               for n, ls in s), "no le=\"+Inf\" bucket"


def test_metrics_needs_auth():
    assert V.api("/metrics", method="GET").status == 401
    r = V.api("/metrics", method="GET", basic=(ADMIN, ADMIN_PASSWORD))
    assert r.status == 200 and b"verge_http_requests_total" in r.body, r


def test_request_counters_move():
    before = scrape()
    for _ in range(3):
        expect(V.api("/system/info", cookie=st["cookie"]), 200, "success")
    expect(V.api("/system/info"), 401, data=None)
    after = scrape()
    k = "verge_http_requests_total"
    assert value(after, k, path="/system/info", code="200") - \
        value(before, k, path="/system/info", code="200") == 3, \
        (value(before, k, path="/system/info", code="200"),
         value(after, k, path="/system/info", code="200"))
    assert value(after, k, path="/system/info", code="401") - \
        value(before, k, path="/system/info", code="401") == 1
    b = "verge_http_request_duration_seconds_bucket"
    assert value(after, b, le="+Inf") - value(before, b, le="+Inf") >= 4
    # each api() call is a new TLS connection: 5 handshakes at least (4 calls + the scrape)
    h = "verge_tls_handshakes_total"
    assert value(after, h) - value(before, h) >= 5, (value(before, h), value(after, h))


def test_login_failures_counter_moves():
    before = scrape()
    expect(V.api("/auth/login", {"UserName": "admin", "Password": "wrong"}), 400,
           "Invalid username or password")
    after = scrape()
    k = "verge_auth_login_failures_total"
    assert value(after, k) - value(before, k) == 1, (value(before, k), value(after, k))


def test_connections_gauge():
    held = [V.connect() for _ in range(3)]
    try:
        for s in held:
            s.sendall(raw_request("GET", "/healthz"))
            expect(read_response(s.makefile("rb")), 200)
        with_held = value(scrape(), "verge_http_connections")
        assert with_held >= 4, f"verge_http_connections={with_held} with 3 idle + 1 scraping"
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 3
    while True:
        now = value(scrape(), "verge_http_connections")
        if now <= with_held - 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert now <= with_held - 3, f"gauge did not drop after closing 3 connections: {with_held} -> {now}"


def test_stop_clean():
    V.stop()


if __name__ == "__main__":
    run(globals())
