#!/usr/bin/env python3
"""fn_flow.py: the helpers of tests/bench/fn_flow.sh (standard library only).

  fn_flow.py flow OUT PORT EXPECTED
      writes the Node-RED flow: tcp in (a server on 127.0.0.1:PORT, newline-delimited UTF-8
      stream) -> function "filter" (JSON.parse, temperature above 30: an alert message on
      /alerts/<device>, else nothing; the rule of bundle/functions/monitor.lua) -> function
      "counter" (counts what reaches it; at EXPECTED it answers "count=N") -> tcp out
      replying on the connection the message came in on.
  fn_flow.py idle-flow OUT K
      writes a flow of K idle function nodes holding the filter's code, wired to nothing, and
      an inject node repeating hourly (which keeps headless Node-RED running).
  fn_flow.py send PORT N
      connects to 127.0.0.1:PORT (retrying for 30 s), makes N 256-byte lines (255 bytes of
      JSON and a newline: {"device":"devD","seq":i,"temperature":T,"humidity":H,"pad":"x..."}
      with D = i % 10, T = 21.5 + i % 10, H = 40 + i % 50, as sensor_flood.c reports them),
      then starts the clock, sends them and reads the answer; prints
      "start_ms=... sent_ms=... done_ms=... answer=count=M".
  fn_flow.py metrics URL USER PASSWORD
      prints "ok=... handled=... unhandled=... refused=... published=... delivered=..." from
      verge's GET URL (HTTPS, unverified certificate: loopback only; logged in as USER):
      verge_fn_invocations_total of EdgeFC/monitor by outcome, verge_bus_published_total and
      verge_bus_delivered_total.
  fn_flow.py wait-verge RESULT_FILE GO_FILE URL USER PASSWORD BEFORE TIMEOUT_S PID...
      logs in, creates GO_FILE (the driver's start file), waits until the driver's
      RESULT_FILE exists, then polls the metrics every 10 ms until EdgeFC/monitor's
      invocations (every outcome) have grown by the driver's report count from BEFORE;
      prints the driver's line, "done_ms=..." (the first poll that saw it) and "ticksI=..."
      (user + system clock ticks of each PID from GO_FILE to then).
"""
import http.client
import json
import os
import re
import socket
import ssl
import sys
import time

THRESHOLD = 30
LINE_BYTES = 256

FILTER_JS = """const p = JSON.parse(msg.payload);
if (p.temperature > %d) {
    msg.topic = "/alerts/" + p.device;
    msg.payload = JSON.stringify({device: p.device, temperature: p.temperature});
    return msg;
}
return null;
""" % THRESHOLD

COUNTER_JS = """const n = (context.get("n") || 0) + 1;
if (n === %d) {
    context.set("n", 0);
    msg.payload = "count=" + n + "\\n";
    return msg;
}
context.set("n", n);
return null;
"""


def wall_ms():
    return time.time_ns() // 1_000_000


def function_node(nid, tab, name, code, wires, x, y):
    return {"id": nid, "type": "function", "z": tab, "name": name, "func": code, "outputs": 1,
            "timeout": 0, "noerr": 0, "initialize": "", "finalize": "", "libs": [],
            "x": x, "y": y, "wires": wires}


def write_flow(out, port, expected):
    tab = "b0000000000000001"
    nodes = [
        {"id": tab, "type": "tab", "label": "fn_flow", "disabled": False, "info": ""},
        {"id": "b0000000000000002", "type": "tcp in", "z": tab, "name": "sensors",
         "server": "server", "host": "", "port": str(port), "datamode": "stream",
         "datatype": "utf8", "newline": "\\n", "topic": "", "trim": False, "base64": False,
         "tls": "", "x": 100, "y": 100, "wires": [["b0000000000000003"]]},
        function_node("b0000000000000003", tab, "filter", FILTER_JS, [["b0000000000000004"]],
                      300, 100),
        function_node("b0000000000000004", tab, "counter", COUNTER_JS % expected,
                      [["b0000000000000005"]], 500, 100),
        {"id": "b0000000000000005", "type": "tcp out", "z": tab, "name": "answer", "host": "",
         "port": "", "beserver": "reply", "base64": False, "end": False, "tls": "",
         "x": 700, "y": 100, "wires": []},
    ]
    with open(out, "w") as f:
        json.dump(nodes, f)


def write_idle_flow(out, k):
    tab = "c0000000000000001"
    # headless Node-RED exits when nothing keeps its loop alive: an inject node repeating
    # hourly (in both flows alike) does
    nodes = [{"id": tab, "type": "tab", "label": "idle", "disabled": False, "info": ""},
             {"id": "c0000000000000002", "type": "inject", "z": tab, "name": "keep-alive",
              "props": [], "repeat": "3600", "crontab": "", "once": False, "onceDelay": 0.1,
              "topic": "", "x": 100, "y": 40, "wires": [[]]}]
    for i in range(k):
        nodes.append(function_node("d%015x" % i, tab, "f%d" % i, FILTER_JS, [[]],
                                   100 + 200 * (i % 10), 100 + 40 * (i // 10)))
    with open(out, "w") as f:
        json.dump(nodes, f)


def make_line(i):
    head = '{"device":"dev%d","seq":%d,"temperature":%.1f,"humidity":%d,"pad":"' % (
        i % 10, i, 21.5 + i % 10, 40 + i % 50)
    pad = LINE_BYTES - 1 - len(head) - 2
    return (head + "x" * pad + '"}\n').encode()


def send(port, n):
    deadline = time.monotonic() + 30
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"fn_flow: nothing listens on 127.0.0.1:{port}")
            time.sleep(0.1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(None)
    # every line is made before the clock starts, 1,000 a write (256 KB)
    blocks = [b"".join(make_line(j) for j in range(i, min(i + 1000, n)))
              for i in range(0, n, 1000)]
    start = wall_ms()
    for b in blocks:
        s.sendall(b)
    sent = wall_ms()
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    done = wall_ms()
    s.close()
    print(f"start_ms={start} sent_ms={sent} done_ms={done} answer={answer.decode().strip()}")


class Metrics:
    """GET URL over one kept-alive HTTPS connection (unverified certificate: loopback only)
    with a session cookie: it logs in once (POST /auth/login), since Basic credentials cost a
    PBKDF2 in verge on every request."""

    def __init__(self, url, user, password):
        self.host, self.port, self.path = urllib_split(url)
        self.user, self.password = user, password
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE
        self.conn = None
        self.cookie = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, self.port,
                                                            context=self.ctx, timeout=10)
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r, r.read().decode()
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt:
                    raise
        raise SystemExit("fn_flow: unreachable")

    def login(self):
        body = json.dumps({"params": {"UserName": self.user, "Password": self.password}})
        r, text = self.request("POST", "/auth/login", body, {"Content-Type": "application/json"})
        cookie = r.getheader("Set-Cookie") or ""
        if r.status != 200 or "=" not in cookie:
            raise SystemExit(f"fn_flow: login answered {r.status}: {text[:200]}")
        self.cookie = cookie.split(";", 1)[0]

    def text(self):
        if self.cookie is None:
            self.login()
        r, body = self.request("GET", self.path, headers={"Cookie": self.cookie})
        if r.status != 200:
            raise SystemExit(f"fn_flow: {self.path} answered {r.status}: {body[:200]}")
        return body

    def get(self):
        body = self.text()
        out = {"ok": 0, "handled": 0, "unhandled": 0, "refused": 0, "published": 0,
               "delivered": 0}
        for m in re.finditer(r'^verge_fn_invocations_total\{function="EdgeFC/monitor",'
                             r'outcome="(\w+)"\} (\S+)$', body, re.M):
            out[m.group(1)] = int(float(m.group(2)))
        for key, name in (("published", "verge_bus_published_total"),
                          ("delivered", "verge_bus_delivered_total")):
            m = re.search(r"^%s (\S+)$" % name, body, re.M)
            if m:
                out[key] = int(float(m.group(1)))
        return out


def urllib_split(url):
    m = re.match(r"https://([^:/]+):(\d+)(/.*)$", url)
    if not m:
        raise SystemExit(f"fn_flow: not an https://HOST:PORT/PATH URL: {url}")
    return m.group(1), int(m.group(2)), m.group(3)


def invocations(m):
    return m["ok"] + m["handled"] + m["unhandled"] + m["refused"]


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def wait_verge(result_file, go_file, url, user, password, before, timeout_s, pids):
    deadline = time.monotonic() + timeout_s
    metrics = Metrics(url, user, password)
    metrics.get()  # log in and connect now, not on the clock
    ticks0 = [cpu_ticks(p) for p in pids]
    with open(go_file, "w"):
        pass
    while not os.path.exists(result_file):  # no polling of verge while the driver sends
        if time.monotonic() > deadline:
            raise SystemExit("fn_flow: the driver did not finish in time")
        time.sleep(0.005)
    with open(result_file) as f:
        line = f.read().strip()
    reports = int(re.search(r"reports=(\d+)", line).group(1))
    while True:
        now = wall_ms()
        m = metrics.get()
        if invocations(m) - before >= reports:
            ticks = " ".join(f"ticks{i}={cpu_ticks(p) - t}" for i, (p, t) in
                             enumerate(zip(pids, ticks0)))
            print(f"{line} done_ms={now} {ticks}")
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"fn_flow: verge invoked monitor {invocations(m) - before} times "
                             f"for {reports} reports")
        time.sleep(0.01)


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "flow" and len(argv) == 5:
        write_flow(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "idle-flow" and len(argv) == 4:
        write_idle_flow(argv[2], int(argv[3]))
    elif cmd == "send" and len(argv) == 4:
        send(int(argv[2]), int(argv[3]))
    elif cmd == "metrics" and len(argv) == 5:
        m = Metrics(argv[2], argv[3], argv[4]).get()
        print(" ".join(f"{k}={v}" for k, v in m.items()))
    elif cmd == "wait-verge" and len(argv) >= 10:
        wait_verge(argv[2], argv[3], argv[4], argv[5], argv[6], int(argv[7]), float(argv[8]),
                   [int(p) for p in argv[9:]])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
