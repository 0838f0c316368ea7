#!/usr/bin/env python3
"""event_fanout_client.py: the client side of tests/bench/event_fanout.sh.

  event_fanout_client.py verge URL COOKIE N EXPECTED READY_FILE TIMEOUT_S OUT_JSON
      N subscribers each hold POST /thing/device/events/get open on URL (http:// or https://,
      TLS 1.2/1.3 without certificate checks), with the session COOKIE. Once every stream has
      its response headers, READY_FILE is written; then each stream's event chunks are read
      until every subscriber has EXPECTED events (or TIMEOUT_S passes).
  event_fanout_client.py mqtt HOST:PORT TOPIC N EXPECTED READY_FILE TIMEOUT_S OUT_JSON
      The same with N MQTT 3.1.1 subscribers (QoS 0) of TOPIC on a broker (the peer).
  event_fanout_client.py publish HOST:PORT TOPIC RATE DURATION_S PAYLOAD_BYTES START_FILE
      Publishes RATE messages a second for DURATION_S s on TOPIC (QoS 0) once START_FILE exists,
      each a JSON object of about PAYLOAD_BYTES with value.sent_ns / value.sent_rt_ns / seq,
      like the events of the fake driver.

Every message carries sent_ns (time.monotonic_ns()) and sent_rt_ns (time.time_ns()) taken by
the sender just before it writes the message. For each (subscriber, message) pair two
latencies are recorded:
  socket: the kernel's receive timestamp of the data (SO_TIMESTAMPNS, CLOCK_REALTIME) minus
          sent_rt_ns: when the bytes reached this subscriber's socket, before it is read.
  app:    time.monotonic_ns() right after recvmsg() returned the data, minus sent_ns: what an
          application reading the stream sees, including this client's own lag.
app - socket is the client's own lag; it is reported so that a client that cannot keep up is
seen. This Python client needs most of a core for 200 subscribers at 100 events/s, and then
even the socket figures come out several times worse than with event_fanout_client.c (the
bench's default subscriber); its `publish` mode is what the bench uses to feed mosquitto. All sockets are non-blocking
and served by one selectors loop; TLS goes through ssl.MemoryBIO so that the raw recvmsg()
keeps the kernel timestamp.
"""
import json
import os
import resource
import selectors
import socket
import ssl
import struct
import sys
import time
from urllib.parse import urlsplit

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
ANC = socket.CMSG_SPACE(16)


def kernel_ts(anc):
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(data) >= 16:
            s, ns = struct.unpack("qq", data[:16])
            return s * 1_000_000_000 + ns
    return None


class Sub:
    """One subscriber: a socket, an optional TLS object and a parser of what it reads."""

    def __init__(self, idx, sock, tls=None):
        self.idx = idx
        self.sock = sock
        self.tls = tls  # (SSLObject, incoming MemoryBIO, outgoing MemoryBIO) or None
        self.buf = b""
        self.events = 0
        self.seen = set()

    def plaintext(self, data):
        if not self.tls:
            return data
        obj, inc, _ = self.tls
        inc.write(data)
        out = []
        while True:
            try:
                piece = obj.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                break
            if not piece:
                break
            out.append(piece)
        return b"".join(out)


def tls_wrap_blocking(sock, ctx, host):
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname=host)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            pending = outg.read()
            if pending:
                sock.sendall(pending)
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed during the TLS handshake")
            inc.write(data)
    pending = outg.read()
    if pending:
        sock.sendall(pending)
    return obj, inc, outg


def tls_send(sub, data):
    obj, _, outg = sub.tls
    obj.write(data)
    sub.sock.sendall(outg.read())


def recv_exact_headers(sub):
    """Reads (blocking) until the end of the HTTP response headers; keeps what follows."""
    while b"\r\n\r\n" not in sub.buf:
        data = sub.sock.recv(65536)
        if not data:
            raise ConnectionError(f"subscriber {sub.idx}: closed before the response headers")
        sub.buf += sub.plaintext(data)
    head, sub.buf = sub.buf.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" " or b"chunked" not in head.lower():
        raise ConnectionError(f"subscriber {sub.idx}: {head.decode(errors='replace')}")


def http_chunks(sub):
    """Yields the payloads of the whole chunks in sub.buf, consuming them."""
    buf = sub.buf
    pos = 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            break
        size = int(buf[pos:eol].split(b";", 1)[0], 16)
        start = eol + 2
        if len(buf) < start + size + 2:
            break
        if size == 0:
            raise ConnectionError(f"subscriber {sub.idx}: the server ended the stream")
        yield buf[start : start + size]
        pos = start + size + 2
    sub.buf = buf[pos:]


def mqtt_remaining(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_str(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def mqtt_connect_packet(client_id):
    var = mqtt_str("MQTT") + bytes([4, 2]) + struct.pack(">H", 600)
    payload = mqtt_str(client_id)
    return b"\x10" + mqtt_remaining(len(var) + len(payload)) + var + payload


def mqtt_packets(sub):
    """Yields (type, body) of the whole MQTT packets in sub.buf, consuming them."""
    buf = sub.buf
    pos = 0
    while True:
        if len(buf) - pos < 2:
            break
        kind = buf[pos] >> 4
        mult, n, i = 1, 0, pos + 1
        ok = False
        while i < len(buf):
            b = buf[i]
            n += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                ok = True
                break
        if not ok or len(buf) - i < n:
            break
        yield kind, buf[i : i + n]
        pos = i + n
    sub.buf = buf[pos:]


def mqtt_payload(body):
    tlen = struct.unpack(">H", body[:2])[0]
    return body[2 + tlen :]  # QoS 0: no packet id


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    rank = (p * len(sorted_vals) + 99) // 100  # nearest rank: the ceil(p * n / 100)-th smallest
    return sorted_vals[max(rank, 1) - 1]


def summary(vals_ns):
    v = sorted(vals_ns)
    us = lambda x: None if x is None else round(x / 1000.0, 1)
    return {"n": len(v), "p50_us": us(percentile(v, 50)), "p99_us": us(percentile(v, 99)),
            "max_us": us(v[-1] if v else None), "min_us": us(v[0] if v else None)}


def connect_subs(kind, target, n, cookie_or_topic):
    subs = []
    if kind == "verge":
        u = urlsplit(target)
        host, port = u.hostname, u.port or (443 if u.scheme == "https" else 80)
        ctx = None
        if u.scheme == "https":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        body = b'{"request":{"apiVer":"0.6"},"params":{"eventInfo":[]}}'
        req = (f"POST {u.path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie_or_topic}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
               ).encode() + body
    else:
        host, port = target.rsplit(":", 1)
        port = int(port)
    for i in range(n):
        s = socket.create_connection((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sub = Sub(i, s)
        if kind == "verge":
            if ctx:
                sub.tls = tls_wrap_blocking(s, ctx, host)
                tls_send(sub, req)
            else:
                s.sendall(req)
            recv_exact_headers(sub)
        else:
            s.sendall(mqtt_connect_packet(f"fanout-{os.getpid()}-{i}"))
            topic = cookie_or_topic.encode()
            var = struct.pack(">H", 1)
            payload = struct.pack(">H", len(topic)) + topic + b"\x00"
            s.sendall(b"\x82" + mqtt_remaining(len(var) + len(payload)) + var + payload)
            got = set()
            while got != {2, 9}:  # CONNACK, SUBACK
                data = s.recv(65536)
                if not data:
                    raise ConnectionError(f"subscriber {i}: the broker closed the connection")
                sub.buf += data
                for k, b in mqtt_packets(sub):
                    if k == 2 and b[1] != 0:
                        raise ConnectionError(f"subscriber {i}: CONNACK code {b[1]}")
                    got.add(k)
        s.setblocking(False)
        subs.append(sub)
    return subs


def subscribe(kind, target, arg, n, expected, ready_file, timeout_s, out_json):
    subs = connect_subs(kind, target, n, arg)
    sel = selectors.DefaultSelector()
    for s in subs:
        sel.register(s.sock, selectors.EVENT_READ, s)
    sock_lat, app_lat, lag = [], [], []
    per_event_sock = {}  # seq -> latest socket latency over the subscribers (all have it)
    other_chunks = 0
    no_kernel_ts = 0
    done = 0
    with open(ready_file, "w") as f:
        f.write(f"subscribers={n}\n")
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    first = None
    payload_bytes = 0
    deadline = t0 + timeout_s
    while done < n and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            sub = key.data
            try:
                data, anc, _, _ = sub.sock.recvmsg(262144, ANC)
            except (BlockingIOError, ssl.SSLWantReadError):
                continue
            app_ns = time.monotonic_ns()
            if not data:
                raise ConnectionError(f"subscriber {sub.idx}: closed by the server")
            kts = kernel_ts(anc)
            if kts is None:
                no_kernel_ts += 1
            if kind == "verge":
                sub.buf += sub.plaintext(data)
                payloads = list(http_chunks(sub))
            else:
                sub.buf += data
                payloads = [mqtt_payload(b) for k, b in mqtt_packets(sub) if k == 3]
            for p in payloads:
                o = json.loads(p)
                if kind == "verge":
                    if o.get("code") != 200:
                        other_chunks += 1
                        continue
                    v = o["data"]["items"]["eventBody"]["params"]["value"]
                else:
                    v = o["value"]
                seq = v["seq"]
                payload_bytes = payload_bytes or len(p)
                if seq in sub.seen:
                    continue
                sub.seen.add(seq)
                if first is None:
                    first = time.monotonic()
                a = app_ns - v["sent_ns"]
                app_lat.append(a)
                if kts is not None:
                    k = kts - v["sent_rt_ns"]
                    sock_lat.append(k)
                    lag.append(a - k)
                    if k > per_event_sock.get(seq, -1 << 62):
                        per_event_sock[seq] = k
                sub.events += 1
                if sub.events == expected:
                    done += 1
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    busy = t1 - (first or t0)
    received = sum(s.events for s in subs)
    out = {
        "subscribers": n, "expected_per_subscriber": expected,
        "received": received, "missing": n * expected - received,
        "complete_subscribers": done, "other_chunks": other_chunks,
        "payload_bytes": payload_bytes,
        "recv_without_kernel_timestamp": no_kernel_ts,
        "socket": summary(sock_lat), "app": summary(app_lat), "client_lag": summary(lag),
        "all_subscribers_socket": summary(list(per_event_sock.values())),
        "client_cpu_s": round(cpu, 3), "client_wall_s": round(busy, 3),
        "client_cpu_share": round(cpu / busy, 3) if busy > 0 else None,
    }
    with open(out_json, "w") as f:
        json.dump(out, f)
    for s in subs:
        s.sock.close()
    return 0 if received == n * expected else 3


def publish(target, topic, rate, duration, payload_bytes, start_file):
    host, port = target.rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(mqtt_connect_packet(f"fanout-pub-{os.getpid()}"))
    if s.recv(4)[:1] != b"\x20":
        raise ConnectionError("no CONNACK")
    while not os.path.exists(start_file):
        time.sleep(0.01)
    t = topic.encode()
    total = int(rate * duration)
    period = int(1e9 / rate)
    start = time.monotonic_ns() + 1_000_000
    pad = ""
    for n in range(total):
        due = start + n * period
        left = due - time.monotonic_ns()
        if left > 0:
            time.sleep(left / 1e9)
        now, now_rt = time.monotonic_ns(), time.time_ns()
        o = {"value": {"temperature": 55.5, "seq": n, "sent_ns": now, "sent_rt_ns": now_rt},
             "pad": pad}
        body = json.dumps(o, separators=(",", ":")).encode()
        if not pad and len(body) < payload_bytes:
            pad = "x" * (payload_bytes - len(body))
            o["pad"] = pad
            body = json.dumps(o, separators=(",", ":")).encode()
        var = struct.pack(">H", len(t)) + t
        s.sendall(b"\x30" + mqtt_remaining(len(var) + len(body)) + var + body)
    s.sendall(b"\xe0\x00")
    s.close()
    return 0


def main(argv):
    if len(argv) >= 9 and argv[1] in ("verge", "mqtt"):
        return subscribe(argv[1], argv[2], argv[3], int(argv[4]), int(argv[5]), argv[6],
                         float(argv[7]), argv[8])
    if len(argv) == 8 and argv[1] == "publish":
        return publish(argv[2], argv[3], float(argv[4]), float(argv[5]), int(argv[6]), argv[7])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
