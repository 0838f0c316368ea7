#!/usr/bin/env python3
"""deploy_bench.py: the deployment benches of issue 6, with Node-RED's flow deploy as the peer.

verge: a bundle of about 1 MB (the demo bundle plus 1 MiB of incompressible data) is uploaded
to POST /deploy/upload; the clock runs from the first byte of the upload to (a) the first
answer of the new version's function (EdgeFC/helloworld answers with the version's marker) and
(b) the deployment's status 2 (committed). Then POST /deploy/rollback: from the request to the
old marker being served and to the rollback committed. Node-RED 4.1: the same size of flow
(an http-in -> function -> http-response flow whose function node carries 1 MiB of code
comment) is deployed with POST /flows (Node-RED-Deployment-Type: full); the clock runs from
the request to the first answer of the new flow. Loopback only. Prints one JSON line per
figure and a summary; not a test.

usage: deploy_bench.py VERGE_BIN DEMO_BUNDLE_DIR NODE_RED_JS OUT_DIR [ROUNDS]
"""
import base64, http.client, io, json, os, random, shutil, socket, ssl, statistics, subprocess
import sys, tarfile, tempfile, time

VERGE, DEMO, RED, OUT = sys.argv[1:5]
ROUNDS = int(sys.argv[5]) if len(sys.argv) > 5 else 5
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
AUTH = "Basic " + base64.b64encode(b"admin:admin1234").decode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Api:
    def __init__(self, port, tls=True):
        self.port, self.tls = port, tls
        self.c = None

    def req(self, method, path, body=b"", ctype="application/json", headers=None):
        for _ in range(2):
            if self.c is None:
                self.c = (http.client.HTTPSConnection("127.0.0.1", self.port, context=CTX,
                                                      timeout=30) if self.tls else
                          http.client.HTTPConnection("127.0.0.1", self.port, timeout=30))
            try:
                h = {"Content-Type": ctype, "Authorization": AUTH}
                h.update(headers or {})
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                return r.status, r.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.c.close()
                self.c = None
        raise RuntimeError(f"{method} {path}: no answer")

    def call(self, path, params):
        st, body = self.req("POST", path, json.dumps({"params": params}).encode())
        return st, json.loads(body)


def make_bundle(marker, pad):
    root = tempfile.mkdtemp(prefix="deploy_bench_")
    d = os.path.join(root, "b")
    shutil.copytree(DEMO, d, symlinks=False, ignore=shutil.ignore_patterns(
        "CMakeFiles", "Makefile", "cmake_install.cmake"))
    p = os.path.join(d, "functions", "helloworld.lua")
    with open(p) as f:
        code = f.read()
    with open(p, "w") as f:
        f.write(code.replace("Message from helloworld", f"Message from helloworld {marker}"))
    with open(os.path.join(d, "pad.bin"), "wb") as f:
        f.write(pad)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name in sorted(os.listdir(d)):
            t.add(os.path.join(d, name), arcname=name)
    shutil.rmtree(root)
    return buf.getvalue()


def serving(api, marker):
    st, r = api.call("/function/invoke", {"serviceName": "EdgeFC", "functionName": "helloworld",
                                          "payload": "x"})
    return st == 200 and marker in (r.get("data") or {}).get("payload", "")


def status(api, dep_id):
    st, r = api.call("/deploy/status", {"id": dep_id})
    return (r.get("data") or {}).get("status")


def timed_until(api, start, marker, dep_id, timeout=60):
    t_serve = t_commit = None
    while time.perf_counter() - start < timeout and (t_serve is None or t_commit is None):
        if t_serve is None and serving(api, marker):
            t_serve = time.perf_counter() - start
        if t_commit is None:
            s = status(api, dep_id)
            if s == 2:
                t_commit = time.perf_counter() - start
            elif s in (4, 31):
                raise RuntimeError(f"deployment {dep_id} failed: status {s}")
    if t_serve is None or t_commit is None:
        raise RuntimeError("timed out")
    return t_serve, t_commit


def wait_port(port, tls=True, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def bench_verge(window_ms):
    port = free_port()
    data = tempfile.mkdtemp(prefix="deploy_bench_data_")
    env = dict(os.environ, VERGE_ADMIN_PASSWORD="admin1234")
    log = open(os.path.join(OUT, f"verge-deploy-w{window_ms}.log"), "w")
    srv = subprocess.Popen([VERGE, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data,
                            "--set", f"deploy.health_window_ms={window_ms}",
                            "--set", "auth.pbkdf2_iterations=100000"],
                           stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_port(port)
        api = Api(port)
        pad = random.Random(1).randbytes(1 << 20)
        archives = [make_bundle(f"v{i}", pad) for i in range(2)]
        res = {"archive_bytes": len(archives[0]), "deploy_serving": [], "deploy_committed": [],
               "rollback_serving": [], "rollback_committed": []}
        # the first version, not timed (its driver starts from nothing)
        st, r = api.req("POST", "/deploy/upload", archives[0], "application/gzip")
        last = {"v0": json.loads(r)["data"]["id"]}
        timed_until(api, time.perf_counter(), "v0", last["v0"])
        for i in range(ROUNDS):
            # each round: v0 runs; deploy v1, then roll back to the last v0 deployment
            marker, other, arch = "v1", "v0", archives[1]
            t0 = time.perf_counter()
            st, r = api.req("POST", "/deploy/upload", arch, "application/gzip")
            if st != 202:
                raise RuntimeError(f"upload: {st} {r[:200]}")
            last[marker] = json.loads(r)["data"]["id"]
            s, c = timed_until(api, t0, marker, last[marker])
            res["deploy_serving"].append(s)
            res["deploy_committed"].append(c)
            t0 = time.perf_counter()  # back to the version of the other marker, by its id
            st, r = api.call("/deploy/rollback", {"id": last[other]})
            if st != 202:
                raise RuntimeError(f"rollback: {st} {r}")
            last[other] = r["data"]["id"]
            s, c = timed_until(api, t0, other, last[other])
            res["rollback_serving"].append(s)
            res["rollback_committed"].append(c)
        return res
    finally:
        srv.terminate()
        srv.wait(30)
        log.close()
        shutil.rmtree(data, ignore_errors=True)


def red_flow(marker, pad_comment):
    return [
        {"id": "tab1", "type": "tab", "label": "bench"},
        {"id": "in1", "type": "http in", "z": "tab1", "url": "/hello", "method": "get",
         "wires": [["fn1"]]},
        {"id": "fn1", "type": "function", "z": "tab1", "name": "helloworld",
         "func": f"// {pad_comment}\nmsg.payload = 'Message from helloworld {marker}';\n"
                 "return msg;", "outputs": 1, "wires": [["out1"]]},
        {"id": "out1", "type": "http response", "z": "tab1", "statusCode": "", "wires": []},
    ]


def bench_red():
    port = free_port()
    user = tempfile.mkdtemp(prefix="deploy_bench_red_")
    settings = os.path.join(user, "settings.js")
    with open(settings, "w") as f:
        f.write("module.exports = { uiHost: '127.0.0.1', uiPort: %d, httpAdminRoot: '/admin', "
                "httpNodeRoot: '/', disableEditor: true, credentialSecret: false, "
                "flowFilePretty: false, apiMaxLength: '50mb', "
                "diagnostics: {enabled: false, ui: false}, runtimeState: {enabled: false}, "
                "telemetry: {enabled: false, updateNotification: false}, "
                "logging: {console: {level: 'warn', metrics: false, audit: false}}, "
                "editorTheme: {projects: {enabled: false}} };\n" % port)
    flows = os.path.join(user, "flows.json")
    pad = base64.b64encode(random.Random(1).randbytes(3 << 18)).decode()  # 1 MiB of text
    with open(flows, "w") as f:
        json.dump(red_flow("v0", pad), f)
    log = open(os.path.join(OUT, "node-red-deploy.log"), "w")
    srv = subprocess.Popen(["node", RED, "--settings", settings, "--userDir", user, flows],
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, timeout=60)
        api = Api(port, tls=False)
        end = time.time() + 60
        while time.time() < end:
            try:
                st, body = api.req("GET", "/hello")
                if st == 200 and b"v0" in body:
                    break
            except RuntimeError:
                pass
            time.sleep(0.05)
        bodies = [json.dumps(red_flow(m, pad)).encode() for m in ("v0", "v1")]
        res = {"flow_bytes": len(bodies[0]), "deploy_serving": []}
        for i in range(ROUNDS * 2):
            marker = "v1" if i % 2 == 0 else "v0"
            body = bodies[1] if marker == "v1" else bodies[0]
            t0 = time.perf_counter()
            st, r = api.req("POST", "/admin/flows", body, "application/json",
                            {"Node-RED-Deployment-Type": "full", "Node-RED-API-Version": "v1"})
            if st not in (200, 204):
                raise RuntimeError(f"POST /flows: {st} {r[:200]}")
            while True:
                st, got = api.req("GET", "/hello")
                if st == 200 and marker.encode() in got:
                    break
                if time.perf_counter() - t0 > 60:
                    raise RuntimeError("node-red never served the new flow")
            res["deploy_serving"].append(time.perf_counter() - t0)
        return res
    finally:
        srv.terminate()
        srv.wait(30)
        log.close()
        shutil.rmtree(user, ignore_errors=True)


def ms(xs):
    return {"median_ms": round(statistics.median(xs) * 1000, 1),
            "max_ms": round(max(xs) * 1000, 1), "n": len(xs)}


def main():
    os.makedirs(OUT, exist_ok=True)
    out = {"rounds": ROUNDS}
    v0 = bench_verge(0)
    v5 = bench_verge(5000)
    red = bench_red()
    out["verge_archive_bytes"] = v0["archive_bytes"]
    out["node_red_flow_bytes"] = red["flow_bytes"]
    for k in ("deploy_serving", "deploy_committed", "rollback_serving", "rollback_committed"):
        out[f"verge_window0_{k}"] = ms(v0[k])
        out[f"verge_window5000_{k}"] = ms(v5[k])
    out["node_red_deploy_serving"] = ms(red["deploy_serving"])
    out["ratio_node_red_over_verge_serving"] = round(
        statistics.median(red["deploy_serving"]) / statistics.median(v0["deploy_serving"]), 2)
    print(json.dumps(out, indent=1))
    with open(os.path.join(OUT, "deploy.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
