"""Integration tests: clients that are not on loopback. The daemon and curl run inside a
private network namespace made for the test, whose loopback interface also carries the test
host address 10.77.0.1; a connection to that address comes from a non-loopback peer
address, and never leaves the namespace. Needs root and iproute2 (skipped, exit 77, when the
namespace cannot be made)."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import VERGE_BIN, check_binary, free_port, request_body, run, tmpdir, verge_env  # noqa: E402

NS = f"verge-it-{os.getpid()}"
HOST = "10.77.0.1"  # the namespace's own test address
PORT = 9999         # the namespace has its own port space


def ns(*cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", NS, *cmd], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, **kw)


def make_namespace():
    if os.geteuid() != 0:
        return "not root"
    steps = [["ip", "netns", "add", NS],
             ["ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up"],
             ["ip", "netns", "exec", NS, "ip", "addr", "add", f"{HOST}/32", "dev", "lo"]]
    for s in steps:
        r = subprocess.run(s, capture_output=True, text=True)
        if r.returncode:
            return f"{' '.join(s)}: {r.stderr.strip()}"
    return None


class NsVerge:
    """verge serve on 0.0.0.0:9999 inside the namespace."""

    def __init__(self):
        check_binary()
        self.data = os.path.join(tmpdir(), "data")
        self.log = os.path.join(tmpdir(), "verge.log")

    def start(self):
        err = open(self.log, "wb")
        self.proc = subprocess.Popen(["ip", "netns", "exec", NS, VERGE_BIN, "serve", "--listen",
                                      f"0.0.0.0:{PORT}", "--data-dir", self.data],
                                     stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                     env=verge_env())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if ns("curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                  f"https://127.0.0.1:{PORT}/healthz").stdout == "200":
                return self
            time.sleep(0.1)
        raise AssertionError("verge did not start in the namespace:\n" + open(self.log).read())

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(10) == 0, open(self.log).read()


def curl_json(*args):
    r = ns("curl", "-sS", "-k", "--max-time", "10", "-w", "\n%{http_code}", *args)
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body


def login(host, password, scheme="https"):
    return curl_json("-d", request_body({"UserName": "admin", "Password": password}).decode(),
                     "-X", "POST", f"{scheme}://{host}:{PORT}/auth/login")


def test_default_password_refused_from_remote_accepted_from_loopback():
    v = NsVerge().start()
    try:
        code, body = login(HOST, "admin1234")
        assert code == 403, (code, body)
        assert "verge passwd admin" in body and '"code":403' in body, body
        code, body = login("127.0.0.1", "admin1234")
        assert code == 200, (code, body)
        assert body == '{"code":200,"message":"success","data":{"UserName":"admin"}}', body
    finally:
        v.stop()


def test_changed_password_accepted_from_remote():
    v = NsVerge().start()
    try:
        r = subprocess.run([VERGE_BIN, "passwd", "admin", "--data-dir", v.data],
                           capture_output=True, text=True, env=verge_env(VERGE_PASSWORD="s3cret-pw"),
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r
        code, body = login(HOST, "s3cret-pw")
        assert code == 200, (code, body)
        code, body = login(HOST, "admin1234")
        assert code == 400 and "Invalid username or password" in body, (code, body)
    finally:
        v.stop()


def test_plain_http_refused_from_remote_accepted_from_loopback():
    v = NsVerge().start()
    try:
        code, body = curl_json(f"http://{HOST}:{PORT}/healthz")
        assert code == 400, (code, body)
        assert "plain HTTP is accepted only from loopback" in body, body
        code, body = curl_json(f"http://127.0.0.1:{PORT}/healthz")
        assert code == 200, (code, body)
        code, body = curl_json(f"https://{HOST}:{PORT}/healthz")
        assert code == 200, (code, body)
    finally:
        v.stop()


if __name__ == "__main__":
    why = make_namespace()
    try:
        if why:
            print(f"SKIP: cannot make a network namespace ({why})")
            sys.exit(77)
        run(globals())
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
