"""Integration tests: deployments (issue 6) through the real daemon over HTTPS and through the
`verge deploy`, `deployments`, `rollback`, `init`, `keygen` and `sign` commands.

A shared gateway G (no --bundle, deploy.health_window_ms=1000) receives, in order: the demo
bundle; a new version that changes one function (its driver keeps running, its devices stay
Online); a corrupt archive, a manifest with several errors, a path-traversal archive, a bundle
whose driver crashes at once and one whose function fails to load (all end 31 and the running
version keeps serving); explicit rollbacks; deployments by a user allowed only /deploy/*.
Other daemons check signatures (deploy.trusted_keys), kill -9 in the middle of a deployment
and a restart without --bundle, messages published during a deployment (counted on an event
stream: none lost), deploy.max_bundle_bytes (413, and uploads larger than
limits.max_body_bytes accepted), one deployment at a time (409), one upload body at a time
(503 at the headers) and the `verge init` -> deploy -> invoke path of docs/deploy.md."""

import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import (ADMIN, ADMIN_PASSWORD, VERGE_BIN, Verge, basic_header,  # noqa: E402
                      check_binary, demo_bundle, expect, free_port, read_response, request_body,
                      run, run_verge, tmpdir, verge_env)
from device_it import EVT_PK, EventStream, make_bundle, wait_online, wait_until  # noqa: E402

AUTH = (ADMIN, ADMIN_PASSWORD)
FINAL = {2, 3, 4, 31, 32}
HELLO_V1 = "Message from helloworld (Custom context from Invoker)"
HELLO_V2 = "Message from helloworld v2 (Custom context from Invoker)"
G = Verge("deploy.health_window_ms=1000", name="gateway")
st = {}


# ---- helpers ---------------------------------------------------------------------------------

def cli(v, *args, user=None, password=ADMIN_PASSWORD, timeout=120):
    """Runs `verge ARGS... --gateway <v> -k [--user USER]` with VERGE_PASSWORD, detached from
    any terminal; returns the CompletedProcess (text)."""
    check_binary()
    cmd = [VERGE_BIN, *args, "--gateway", v.url("") if v else f"https://127.0.0.1:{free_port()}",
           "-k"]
    if user:
        cmd += ["--user", user]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=verge_env(VERGE_PASSWORD=password), stdin=subprocess.DEVNULL,
                          start_new_session=True)


def upload(v, data, basic=AUTH, ctype="application/gzip"):
    headers = {"Content-Type": ctype} if ctype else {}
    return v.api("/deploy/upload", body=data, headers=headers, basic=basic)


def status(v, dep_id=None):
    r = v.api("/deploy/status", {"id": dep_id} if dep_id else {}, basic=AUTH)
    expect(r, 200)
    return r.json["data"]


def wait_final(v, dep_id, timeout=40):
    return wait_until(lambda: (lambda i: i if i["status"] in FINAL else None)(status(v, dep_id)),
                      timeout, f"deployment {dep_id} to end", step=0.1)


def deploy_bytes(v, data, basic=AUTH):
    """Uploads an archive and waits for its outcome; returns the final DeployInfo."""
    r = upload(v, data, basic=basic)
    expect(r, 202)
    d = r.json["data"]
    assert d["status"] == 11 and d["statusText"] == "deploying" and d["id"] > 0, r
    return wait_final(v, d["id"])


def tar_gz_dir(d):
    """The .tar.gz of directory `d`, its entries relative to it (as verge deploy packs it)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name in sorted(os.listdir(d)):
            t.add(os.path.join(d, name), arcname=name)
    return buf.getvalue()


def copy_bundle(src, name="bundle"):
    """A copy of bundle `src` in a new temporary directory, without the build's own files."""
    dst = os.path.join(tmpdir("verge-deploy-"), name)
    shutil.copytree(src, dst, symlinks=True,
                    ignore=shutil.ignore_patterns("CMakeFiles", "Makefile", "*.cmake",
                                                  "CMakeLists.txt"))
    return dst


def manifest(d, change):
    """Applies change(m) to d/bundle.json."""
    path = os.path.join(d, "bundle.json")
    with open(path) as f:
        m = json.load(f)
    change(m)
    with open(path, "w") as f:
        json.dump(m, f, indent=1)


def write(d, rel, text, mode=None):
    path = os.path.join(d, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def set_version(d, version):
    manifest(d, lambda m: m.update(version=version))


def invoke(v, fn, payload=""):
    return v.api("/function/invoke", {"serviceName": "EdgeFC", "functionName": fn,
                                      "payload": payload}, basic=AUTH)


def invoke_ok(v, fn, payload=""):
    r = invoke(v, fn, payload)
    expect(r, 200)
    assert r.json["data"]["functionError"] is None, r
    return r.json["data"]["payload"]


def children(pid):
    """{pid: argv} of the live children of `pid`."""
    out = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            continue
        for k in kids:
            try:
                with open(f"/proc/{k}/cmdline", "rb") as f:
                    out[k] = f.read().decode(errors="replace").split("\0")[:-1]
            except OSError:
                pass
    return out


def driver_pid(v, suffix):
    """The pid of verge's child whose program (or script) ends with `suffix`, or None."""
    found = [p for p, argv in children(v.proc.pid).items() if any(a.endswith(suffix)
                                                                    for a in argv)]
    assert len(found) <= 1, f"more than one child running {suffix}: {found}"
    return found[0] if found else None


def devices_online(v):
    r = v.api("/thing/device/list-authed", {}, basic=AUTH)
    expect(r, 200)
    return {d["DeviceName"]: d["LocalState"] for d in r.json["data"]["List"]}


def current(v):
    r = v.api("/deploy/list", {"pageSize": 100}, basic=AUTH)
    expect(r, 200)
    cur = [d for d in r.json["data"]["deployments"] if d["current"]]
    assert len(cur) <= 1, f"more than one current deployment: {cur}"
    return cur[0] if cur else None


def init_bundle(name="hello"):
    """A new bundle made by `verge init` in a temporary directory."""
    d = os.path.join(tmpdir("verge-init-"), name)
    cp = run_verge("init", d)
    assert cp.returncode == 0, cp
    return d


def assert_still_serving_v2(what):
    assert invoke_ok(G, "Invoker") == HELLO_V2, f"after {what}: the old version stopped serving"
    cur = current(G)
    assert cur and cur["id"] == st["v2"] and cur["version"] == "1.2.0", (what, cur)


# ---- the shared gateway: a good bundle, then a new version ---------------------------------

def test_start():
    G.start()
    r = G.api("/deploy/status", {}, basic=AUTH)
    expect(r, 404, "no deployment on this gateway yet: deploy a bundle with verge deploy or "
                   "POST /deploy/upload")
    r = G.api("/deploy/list", {}, basic=AUTH)
    expect(r, 200, data={"total": 0, "pageSize": 10, "currentPage": 1, "deployments": []})


def test_deploy_good_bundle_with_the_cli():
    cp = cli(G, "deploy", demo_bundle())
    assert cp.returncode == 0, cp
    out = cp.stdout
    for step in ("upload ok", "verify ok", "switch ok", "health ok", "commit ok"):
        assert f"\n{step} " in "\n" + out, f"no {step!r} line in {out!r}"
    assert out.rstrip().endswith("demo version 1.1.0 running"), out
    info = status(G)
    assert info["status"] == 2 and info["statusText"] == "running" and info["current"], info
    assert (info["bundle"], info["version"], info["origin"], info["user"]) == \
        ("demo", "1.1.0", "upload", ADMIN), info
    assert f"deployment {info['id']}: demo version 1.1.0 running" in out, out
    assert [s["step"] for s in info["steps"]] == ["upload", "verify", "switch", "health",
                                                  "commit"], info["steps"]
    assert info["problems"] == [], info
    st["v1"] = info["id"]
    wait_online(G, G.login(), 2)
    assert invoke_ok(G, "Invoker") == HELLO_V1


def test_new_version_changing_one_function_keeps_the_driver():
    pid = driver_pid(G, "drivers/demo_light/main")
    assert pid, children(G.proc.pid)
    d = copy_bundle(demo_bundle(), "demo")
    path = os.path.join(d, "functions", "helloworld.lua")
    with open(path) as f:
        code = f.read()
    assert '"Message from helloworld ("' in code, code
    write(d, "functions/helloworld.lua",
          code.replace('"Message from helloworld ("', '"Message from helloworld v2 ("'))
    set_version(d, "1.2.0")
    st["v2dir"] = d
    cp = cli(G, "deploy", d)
    assert cp.returncode == 0, cp
    assert "demo version 1.2.0 running" in cp.stdout, cp.stdout
    info = status(G)
    st["v2"] = info["id"]
    assert info["status"] == 2 and info["version"] == "1.2.0", info
    assert invoke_ok(G, "Invoker") == HELLO_V2
    assert driver_pid(G, "drivers/demo_light/main") == pid, \
        "the unchanged driver was restarted by the deployment"
    assert devices_online(G) == {"LightDev1": "Online", "LightDev2": "Online"}
    old = status(G, st["v1"])
    assert old["status"] == 3 and old["statusText"] == "finished" and not old["current"], old


# ---- refused bundles: 31, the problems, the old version serving -----------------------------

def test_corrupt_archive_refused():
    info = deploy_bytes(G, os.urandom(3000))
    assert info["status"] == 31 and info["statusText"] == "deploy failed", info
    assert any(p.startswith("archive: ") and "not a valid .tar.gz" in p
               for p in info["problems"]), info
    assert "archive" in info["reason"], info
    assert_still_serving_v2("a corrupt archive")
    # a real archive cut in the middle
    good = tar_gz_dir(st["v2dir"])
    info = deploy_bytes(G, good[:len(good) // 2])
    assert info["status"] == 31, info
    assert any("archive" in p for p in info["problems"]), info
    assert_still_serving_v2("a truncated archive")


def test_manifest_with_several_errors_all_reported():
    d = copy_bundle(st["v2dir"])

    def break_it(m):
        m["version"] = "one.two"
        m["products"][0]["tsl"] = "products/missing.json"
        m["functions"].append({"service": "EdgeFC", "name": "ghost",
                               "code": "functions/ghost.lua"})
        m["routes"].append({"name": "bad", "topic": "/x",
                            "target": {"type": "function", "service": "EdgeFC",
                                       "function": "nope"}})
    manifest(d, break_it)
    info = deploy_bytes(G, tar_gz_dir(d))
    assert info["status"] == 31, info
    problems = info["problems"]
    assert len(problems) >= 4, problems
    for word in ("version", "missing.json", "ghost.lua", "nope"):
        assert any(word in p and "bundle.json" in p for p in problems), (word, problems)
    assert_still_serving_v2("a broken manifest")


def test_path_traversal_archive_refused():
    base = tmpdir("verge-evil-")
    d = init_bundle()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name in sorted(os.listdir(d)):
            t.add(os.path.join(d, name), arcname=name)

        def add_file(name, data=b"evil\n"):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        add_file("../evil-dotdot")
        add_file("functions/../../evil-middle")
        add_file(os.path.join(base, "evil-absolute"))
        link = tarfile.TarInfo("etc-link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc"
        t.addfile(link)
        up = tarfile.TarInfo("up-link")
        up.type = tarfile.SYMTYPE
        up.linkname = "../../.."
        t.addfile(up)
    info = deploy_bytes(G, buf.getvalue())
    assert info["status"] == 31, info
    problems = info["problems"]
    for entry in ("../evil-dotdot", "functions/../../evil-middle",
                  os.path.join(base, "evil-absolute").lstrip("/"), "etc-link", "up-link"):
        assert any(entry in p and p.startswith("archive: ") for p in problems), (entry, problems)
    # nothing was written outside the staging directory
    assert not os.path.exists(os.path.join(base, "evil-absolute"))
    for root, dirs, files in os.walk(os.path.dirname(G.data_dir)):
        hits = [n for n in dirs + files if n.startswith("evil") or n.endswith("-link")]
        assert not hits, f"{root}: {hits}"
    assert_still_serving_v2("a path-traversal archive")


def test_driver_crashing_at_once_rolls_back():
    pid = driver_pid(G, "drivers/demo_light/main")
    d = copy_bundle(st["v2dir"])
    write(d, "drivers/crasher/run.sh", "#!/bin/sh\nexit 1\n", 0o755)
    manifest(d, lambda m: m["drivers"].append({
        "name": "crasher", "exec": "drivers/crasher/run.sh",
        "config": {"json": {}, "kv": [], "fileList": []}}))
    set_version(d, "1.3.0")
    cp = cli(G, "deploy", d)
    assert cp.returncode == 1, cp
    assert "failed (31 deploy failed)" in cp.stderr and "crasher" in cp.stderr, cp.stderr
    info = status(G)
    assert info["status"] == 31 and info["version"] == "1.3.0", info
    assert "crasher" in info["reason"], info
    assert_still_serving_v2("a crashing driver")
    assert driver_pid(G, "drivers/crasher/run.sh") is None, children(G.proc.pid)
    assert driver_pid(G, "drivers/demo_light/main") == pid, "demo_light was restarted"
    wait_until(lambda: devices_online(G) == {"LightDev1": "Online", "LightDev2": "Online"}, 10,
               "the demo lights online")


def test_function_failing_to_load_rolls_back():
    d = copy_bundle(st["v2dir"])
    write(d, "functions/broken.lua",
          'error("broken on purpose at load time")\nfunction handler() return "x" end\n')
    manifest(d, lambda m: m["functions"].append({"service": "EdgeFC", "name": "broken",
                                                 "code": "functions/broken.lua"}))
    set_version(d, "1.3.1")
    cp = cli(G, "deploy", d)
    assert cp.returncode == 1, cp
    info = status(G)
    assert info["status"] == 31 and info["version"] == "1.3.1", info
    assert "broken" in info["reason"], info
    assert "broken" in cp.stderr, cp.stderr
    assert_still_serving_v2("a function failing to load")
    expect(invoke(G, "broken"), 404)


# ---- rollback and history --------------------------------------------------------------------

def test_explicit_rollback_with_the_cli():
    cp = cli(G, "rollback")
    assert cp.returncode == 0, cp
    assert cp.stdout.rstrip().endswith("demo version 1.1.0 running"), cp.stdout
    info = status(G)
    assert info["status"] == 2 and info["origin"] == "rollback", info
    assert info["rollbackOf"] == st["v1"] and info["version"] == "1.1.0", info
    assert invoke_ok(G, "Invoker") == HELLO_V1
    st["rb"] = info["id"]
    # and forward again, by id
    cp = cli(G, "rollback", str(st["v2"]))
    assert cp.returncode == 0, cp
    assert "demo version 1.2.0 running" in cp.stdout, cp.stdout
    assert invoke_ok(G, "Invoker") == HELLO_V2
    # a deployment that never ran cannot be returned to
    refused = [d for d in G.api("/deploy/list", {"pageSize": 100}, basic=AUTH)
               .json["data"]["deployments"] if d["status"] == 31][0]
    cp = cli(G, "rollback", str(refused["id"]))
    assert cp.returncode == 3 and "(404)" in cp.stderr, cp


def test_deployments_table_and_json():
    cp = cli(G, "deployments")
    assert cp.returncode == 0, cp
    lines = cp.stdout.splitlines()
    assert lines[0].split() == ["ID", "BUNDLE", "VERSION", "STATUS", "ORIGIN", "WHEN", "REASON"]
    cur = current(G)
    assert lines[1].startswith(f"{cur['id']}* "), lines
    assert "2 running" in lines[1] and "rollback" in lines[1], lines[1]
    assert any("31 deploy failed" in l and "crasher" in l for l in lines), lines
    assert any("3 finished" in l for l in lines), lines
    # one line per deployment: a multi-line reason (a Lua traceback) shows its first line
    assert all(re.match(r"^\d+\*? ", line) for line in lines[1:]), lines
    cp = cli(G, "deployments", "--json", "--limit", "3")
    assert cp.returncode == 0, cp
    data = json.loads(cp.stdout)
    assert data["pageSize"] == 3 and data["currentPage"] == 1 and data["total"] >= 10, data
    ids = [d["id"] for d in data["deployments"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True), ids
    cp = cli(G, "deployments", "--limit", "2")
    assert cp.returncode == 0 and len(cp.stdout.splitlines()) == 3, cp
    assert "--limit" in cp.stderr, cp.stderr


def test_api_errors():
    r = upload(G, b"x" * 10, ctype="text/plain")
    expect(r, 415, 'Content-Type "text/plain": expected the bundle archive (.tar.gz) as '
                   'application/gzip, application/x-gzip or application/octet-stream')
    r = upload(G, b"x" * 10, ctype=None)
    expect(r, 415)
    assert "missing" in r.json["message"], r
    for ctype in ("application/x-gzip", "application/octet-stream; charset=binary"):
        r = upload(G, b"", ctype=ctype)
        expect(r, 400)
        assert "empty" in r.json["message"], r
    expect(G.api("/deploy/upload", method="GET", basic=AUTH), 405)
    for bad in ("x", 0, -3, 1.5, [1]):
        r = G.api("/deploy/status", {"id": bad}, basic=AUTH)
        expect(r, 400)
        assert r.json["message"].startswith(f"params.id = {json.dumps(bad)}: expected a "
                                            "deployment id"), r
    expect(G.api("/deploy/status", {"id": 999999}, basic=AUTH), 404,
           "no deployment 999999 on this gateway")
    for params, field in (({"pageSize": 0}, "pageSize"), ({"pageSize": 101}, "pageSize"),
                          ({"currentPage": 0}, "currentPage"), ({"pageSize": "2"}, "pageSize")):
        r = G.api("/deploy/list", params, basic=AUTH)
        expect(r, 400)
        assert r.json["message"].startswith(f"params.{field} = "), r
    r = G.api("/deploy/list", {"pageSize": 2, "currentPage": 2}, basic=AUTH)
    expect(r, 200)
    page = r.json["data"]
    assert page["pageSize"] == 2 and page["currentPage"] == 2 and len(page["deployments"]) == 2
    first = G.api("/deploy/list", {"pageSize": 4}, basic=AUTH).json["data"]["deployments"]
    assert [d["id"] for d in page["deployments"]] == [d["id"] for d in first[2:4]]
    for d in first:
        assert "steps" not in d and "problems" not in d, d
    r = G.api("/deploy/rollback", {"id": "latest"}, basic=AUTH)
    expect(r, 400)
    expect(G.api("/deploy/rollback", {"id": 999999}, basic=AUTH), 404)
    expect(upload(G, b"x", basic=None), 401)


# ---- permissions -----------------------------------------------------------------------------

def test_permissions():
    assert G.passwd("deployer", "deployer-pw-1", allow="/deploy/*").returncode == 0
    assert G.passwd("viewer", "viewer-pw-1", allow="/system/info").returncode == 0
    dep = ("deployer", "deployer-pw-1")
    d = copy_bundle(st["v2dir"])
    set_version(d, "1.2.1")
    cp = cli(G, "deploy", d, user="deployer", password=dep[1])
    assert cp.returncode == 0, cp
    info = status(G)
    assert info["user"] == "deployer" and info["version"] == "1.2.1", info
    cp = cli(G, "deployments", user="deployer", password=dep[1])
    assert cp.returncode == 0 and "1.2.1" in cp.stdout, cp
    r = G.api("/thing/device/list-authed", {}, basic=dep)
    expect(r, 403, 'user "deployer" is not allowed to call /thing/device/list-authed')
    viewer = ("viewer", "viewer-pw-1")
    r = upload(G, tar_gz_dir(d), basic=viewer)
    expect(r, 403, 'user "viewer" is not allowed to call /deploy/upload')
    for path in ("/deploy/status", "/deploy/list", "/deploy/rollback"):
        expect(G.api(path, {}, basic=viewer), 403)
    cp = cli(G, "deploy", d, user="viewer", password=viewer[1])
    assert cp.returncode == 3 and "(403)" in cp.stderr and "/deploy/upload" in cp.stderr, cp
    cp = cli(G, "deploy", d, password="wrong-password")
    assert cp.returncode == 3 and "(401)" in cp.stderr, cp


# ---- the tutorial path: verge init -> deploy -> invoke ---------------------------------------

def test_init_deploy_invoke():
    parent = tmpdir("verge-tutorial-")
    d = os.path.join(parent, "my-first")
    cp = run_verge("init", d)
    assert cp.returncode == 0, cp
    for f in ("bundle.json", "functions/hello.lua", "products/hello.json", "README.md"):
        assert os.path.isfile(os.path.join(d, f)), f
    with open(os.path.join(d, "bundle.json")) as f:
        m = json.load(f)
    assert m["name"] == "my-first" and m["version"] == "0.1.0", m
    assert m["functions"][0]["service"] == "EdgeFC" and m["functions"][0]["name"] == "hello", m
    assert m.get("drivers", []) == [], m
    with open(os.path.join(d, "README.md")) as f:
        readme = f.read()
    assert "verge deploy" in readme and "hello.lua" in readme, readme
    # not over something that exists
    cp = run_verge("init", d)
    assert cp.returncode == 2 and "not an empty directory" in cp.stderr, cp
    os.makedirs(os.path.join(parent, "empty"))
    assert run_verge("init", os.path.join(parent, "empty")).returncode == 0
    # deploy it and call it
    cp = cli(G, "deploy", d)
    assert cp.returncode == 0, cp
    assert "my-first version 0.1.0 running" in cp.stdout, cp.stdout
    cp = cli(G, "invoke", "EdgeFC/hello", "Ada")
    assert cp.returncode == 0 and cp.stdout == "Hello, Ada!", cp
    wait_until(lambda: "hello: greeting Ada" in G.log(), 5, "the function's log line")
    # edit, bump the version, deploy again
    path = os.path.join(d, "functions", "hello.lua")
    with open(path) as f:
        code = f.read()
    write(d, "functions/hello.lua", code.replace('"Hello, "', '"Hi, "'))
    set_version(d, "0.2.0")
    cp = cli(G, "deploy", d)
    assert cp.returncode == 0 and "0.2.0 running" in cp.stdout, cp
    assert cli(G, "invoke", "EdgeFC/hello", "Ada").stdout == "Hi, Ada!"
    cp = cli(G, "rollback")
    assert cp.returncode == 0 and "my-first version 0.1.0 running" in cp.stdout, cp
    assert cli(G, "invoke", "EdgeFC/hello", "Ada").stdout == "Hello, Ada!"
    # and `verge serve --bundle` runs what init wrote, as it is
    local = Verge(name="init-local", args=["--bundle", os.path.join(parent, "empty")]).start()
    assert invoke_ok(local, "hello", "Bob") == "Hello, Bob!"
    local.stop()


def test_cli_usage_errors():
    closed = None  # cli() then points --gateway at a closed port: nothing may be sent
    plain = os.path.join(tmpdir(), "notes.txt")
    write(os.path.dirname(plain), "notes.txt", "x")
    no_manifest = tmpdir()
    for args, says in [(("deploy",), "usage: verge deploy"),
                       (("deploy", "/nonexistent/bundle"), "/nonexistent/bundle"),
                       (("deploy", no_manifest), "has no bundle.json"),
                       (("deploy", plain), "expected a bundle directory or a .tar.gz"),
                       (("deploy", no_manifest, "--timeout", "0"), "--timeout"),
                       (("deploy", no_manifest, "--limit", "3"), "--limit does not apply"),
                       (("deploy", no_manifest, "--allow", "*"), "--allow does not apply"),
                       (("rollback", "abc"), "expected a deployment id"),
                       (("rollback", "1", "2"), "usage: verge rollback"),
                       (("deployments", "--limit", "0"), "--limit"),
                       (("deployments", "--limit", "101"), "--limit"),
                       (("deployments", "extra"), "usage: verge deployments")]:
        cp = cli(closed, *args)
        assert cp.returncode == 2, f"{args}: exit {cp.returncode}: {cp.stderr}"
        assert says in cp.stderr, f"{args}: expected {says!r} in {cp.stderr!r}"
        assert "cannot connect" not in cp.stderr, (args, cp.stderr)
    for args, says in [(("init",), "usage: verge init"), (("sign", no_manifest), "--key"),
                       (("keygen",), "usage: verge keygen")]:
        cp = run_verge(*args)
        assert cp.returncode == 2 and says in cp.stderr, (args, cp)
    d = init_bundle()
    cp = cli(closed, "deploy", d)
    assert cp.returncode == 3 and "cannot connect" in cp.stderr, cp
    cp = cli(closed, "deployments")
    assert cp.returncode == 3 and "cannot connect" in cp.stderr, cp


# ---- signatures ------------------------------------------------------------------------------

def test_signatures_when_required():
    keys = tmpdir("verge-keys-")
    cp = run_verge("keygen", os.path.join(keys, "ops"))
    assert cp.returncode == 0, cp
    key, pub = os.path.join(keys, "ops.key"), os.path.join(keys, "ops.pub")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600, oct(os.stat(key).st_mode)
    cp = run_verge("keygen", os.path.join(keys, "ops"))
    assert cp.returncode == 2 and "ops.key" in cp.stderr, cp  # never overwritten
    assert run_verge("keygen", os.path.join(keys, "other")).returncode == 0
    trusted = os.path.join(keys, "trusted")
    with open(pub) as f, open(trusted, "w") as out:
        out.write("# the ops team's key\n" + f.read())
    S = Verge("deploy.health_window_ms=1000", f"deploy.trusted_keys={trusted}",
              name="signed").start()
    try:
        d = init_bundle()
        cp = cli(S, "deploy", d)
        assert cp.returncode == 1, cp
        info = status(S)
        assert info["status"] == 31 and "sign" in info["reason"], info
        cp = run_verge("sign", d, "--key", key)
        assert cp.returncode == 0 and os.path.isfile(os.path.join(d, "bundle.sig")), cp
        cp = cli(S, "deploy", d)
        assert cp.returncode == 0 and "version 0.1.0 running" in cp.stdout, cp
        assert invoke_ok(S, "hello", "Eve") == "Hello, Eve!"
        good = status(S)["id"]
        # changed after signing
        with open(os.path.join(d, "functions", "hello.lua"), "a") as f:
            f.write("-- a line added after signing\n")
        cp = cli(S, "deploy", d)
        assert cp.returncode == 1, cp
        info = status(S)
        assert info["status"] == 31 and "sig" in info["reason"].lower(), info
        # signed, but by a key the gateway does not trust
        assert run_verge("sign", d, "--key", os.path.join(keys, "other.key")).returncode == 0
        info = deploy_bytes(S, tar_gz_dir(d))
        assert info["status"] == 31 and "trust" in info["reason"].lower(), info
        cur = current(S)
        assert cur["id"] == good, cur
        assert invoke_ok(S, "hello", "Eve") == "Hello, Eve!"
    finally:
        S.stop()


# ---- crash safety ----------------------------------------------------------------------------

def test_kill_9_during_the_switch_then_restart_without_bundle():
    K = Verge("deploy.health_window_ms=60000", name="killed", args=["--bundle", demo_bundle()])
    K.start()
    local = status(K)
    assert local["status"] == 2 and local["origin"] == "local", local
    wait_online(K, K.login(), 2)
    d = copy_bundle(demo_bundle(), "demo")
    with open(os.path.join(d, "functions", "helloworld.lua")) as f:
        code = f.read()
    write(d, "functions/helloworld.lua",
          code.replace('"Message from helloworld ("', '"Message from helloworld v2 ("'))
    write(d, "functions/only_v2.lua", 'function handler() return "v2 only" end\n')
    manifest(d, lambda m: m["functions"].append({"service": "EdgeFC", "name": "only_v2",
                                                 "code": "functions/only_v2.lua"}))
    set_version(d, "2.0.0")
    r = upload(K, tar_gz_dir(d))
    expect(r, 202)
    dep = r.json["data"]["id"]

    def switched():
        info = status(K, dep)
        done = [s for s in info["steps"] if s["step"] == "switch" and s["state"] == "ok"]
        return info if info["status"] == 11 and done else None
    wait_until(switched, 20, "the switch to the new version")
    assert invoke_ok(K, "Invoker") == HELLO_V2  # the new version serves, not yet committed
    K.proc.kill()
    K.proc.wait(10)
    K.args = []  # restart WITHOUT --bundle
    K.start()
    try:
        info = status(K, dep)
        assert info["status"] == 31 and "interrupted" in info["reason"], info
        cur = current(K)
        assert cur and cur["id"] == local["id"] and cur["status"] == 2, cur
        assert invoke_ok(K, "Invoker") == HELLO_V1
        expect(invoke(K, "only_v2"), 404)
        wait_online(K, K.login(), 2)
        r = K.api("/deploy/list", {"pageSize": 100}, basic=AUTH)
        running = [x for x in r.json["data"]["deployments"] if x["status"] in (2, 11, 12)]
        assert [x["id"] for x in running] == [local["id"]], running
    finally:
        K.stop()


# ---- messages during a deployment --------------------------------------------------------------

def test_messages_during_a_deployment_all_delivered():
    M = Verge("deploy.health_window_ms=1000", "events.heartbeat_ms=500", name="messages")
    M.start()
    try:
        b1 = make_bundle([{"name": "evt1", "devices": [(EVT_PK, "Dev1", {}),
                                                        (EVT_PK, "Dev2", {})]}],
                         products=(EVT_PK,))
        assert deploy_bytes(M, tar_gz_dir(b1))["status"] == 2
        cookie = M.login()
        wait_online(M, cookie, 2)
        pid = driver_pid(M, "event_driver.py")
        stream = EventStream(M, cookie, [])
        assert stream.head() == 200
        b2 = copy_bundle(b1)
        write(b2, "functions/count.lua", "local n = 0\nfunction handler() n = n + 1 "
                                         "return tostring(n) end\n")
        manifest(b2, lambda m: m.update(version="1.0.1", functions=[
            {"service": "EdgeFC", "name": "count", "code": "functions/count.lua"}]))
        count, rate = 1000, 125  # 8 s of events; the deployment lands in the middle
        r = M.api("/thing/device/service/invoke",
                  {"productKey": EVT_PK, "deviceName": "Dev1", "method": "emit",
                   "inputParams": {"count": count, "rate_hz": rate, "pad": 0}}, cookie=cookie)
        expect(r, 200)
        time.sleep(0.8)
        info = deploy_bytes(M, tar_gz_dir(b2))
        assert info["status"] == 2 and info["version"] == "1.0.1", info
        events = stream.events(count, timeout=30)
        ns = [e["data"]["items"]["eventBody"]["params"]["value"]["n"] for e in events]
        assert ns == list(range(ns[0], ns[0] + count)), \
            f"events lost or reordered: {len(ns)} received, first {ns[:3]}, gaps " \
            f"{[(a, b) for a, b in zip(ns, ns[1:]) if b != a + 1][:5]}"
        # the deployment really happened while they flowed
        t_commit = [s["at"] for s in info["steps"] if s["step"] == "switch"][0]
        times = [e["data"]["items"]["timestamp"] for e in events]
        assert times[0] < t_commit < times[-1], (times[0], t_commit, times[-1])
        assert driver_pid(M, "event_driver.py") == pid, "the unchanged driver was restarted"
        assert invoke_ok(M, "count") == "1"
        stream.close()
    finally:
        M.stop()


# ---- limits: the bundle size, one deployment and one upload at a time ------------------------

def raw_tls(v):
    s = v.connect()
    s.settimeout(10)
    return s


def upload_head(length, path="/deploy/upload", auth=AUTH, expect_continue=False):
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {basic_header(*auth)}"
            f"\r\nContent-Type: application/gzip\r\nContent-Length: {length}\r\n"
            + ("Expect: 100-continue\r\n" if expect_continue else "") + "\r\n").encode()


def test_bundle_size_limit_413():
    L = Verge("deploy.max_bundle_bytes=65536", "limits.max_body_bytes=4096",
              "deploy.health_window_ms=1000", name="limits").start()
    try:
        d = init_bundle()
        with open(os.path.join(d, "blob.bin"), "wb") as f:
            f.write(os.urandom(20000))  # incompressible: the archive is larger than 4096
        small = tar_gz_dir(d)
        assert 4096 < len(small) < 65536, len(small)
        # larger than limits.max_body_bytes, within deploy.max_bundle_bytes: accepted
        assert deploy_bytes(L, small)["status"] == 2
        # over deploy.max_bundle_bytes: 413 at the headers, before any byte of the body
        s = raw_tls(L)
        s.sendall(upload_head(65537))
        r = read_response(s.makefile("rb"))
        s.close()
        expect(r, 413, "request body exceeds deploy.max_bundle_bytes (65536 bytes)")
        # the other calls keep limits.max_body_bytes
        r = L.api("/system/info", body=request_body({"pad": "x" * 5000}), basic=AUTH)
        expect(r, 413, "request body exceeds limits.max_body_bytes (4096 bytes)")
        # through the CLI
        big = copy_bundle(demo_bundle())
        cp = cli(L, "deploy", big)
        assert cp.returncode == 3 and "413" in cp.stderr and "deploy.max_bundle_bytes" in \
            cp.stderr, cp
        assert L.running()
        assert len(L.api("/deploy/list", {}, basic=AUTH).json["data"]["deployments"]) == 1
    finally:
        L.stop()


def test_one_deployment_at_a_time_409():
    W = Verge("deploy.health_window_ms=4000", name="busy").start()
    try:
        d = init_bundle()
        archive = tar_gz_dir(d)
        r = upload(W, archive)
        expect(r, 202)
        first = r.json["data"]["id"]
        r = upload(W, archive)
        expect(r, 409)
        assert r.json["message"].startswith(f"deployment {first} (") and \
            "in progress" in r.json["message"], r
        assert r.json["data"]["id"] == first and r.json["data"]["status"] == 11, r
        r = W.api("/deploy/rollback", {}, basic=AUTH)
        expect(r, 409)
        cp = cli(W, "deploy", d)
        assert cp.returncode == 3 and "(409)" in cp.stderr, cp
        assert wait_final(W, first)["status"] == 2
        # --timeout: no outcome in time is exit 3, and the deployment goes on
        set_version(d, "0.1.1")
        cp = cli(W, "deploy", d, "--timeout", "1")
        assert cp.returncode == 3 and "still in progress" in cp.stderr, cp
        assert wait_final(W, status(W)["id"])["status"] == 2
    finally:
        W.stop()


def test_one_upload_body_at_a_time():
    U = Verge("deploy.health_window_ms=1000", name="uploads").start()
    try:
        a = raw_tls(U)
        fa = a.makefile("rb")
        # the server's 100 Continue says it has A's headers: A holds the upload slot
        a.sendall(upload_head(20000, expect_continue=True))
        interim = read_response(fa)
        assert interim is not None and interim.status == 100, interim
        a.sendall(b"\x1f\x8b" + b"z" * 998)  # then half-way through its body
        b = raw_tls(U)
        b.sendall(upload_head(100))  # its body is never sent: the answer comes at the headers
        r = read_response(b.makefile("rb"))
        b.close()
        expect(r, 503)
        assert "one at a time" in r.json["message"], r
        # an ordinary call is not held up meanwhile
        expect(U.api("/deploy/list", {}, basic=AUTH), 200)
        a.sendall(b"z" * 19000)
        r = read_response(fa)
        a.close()
        expect(r, 202)
        assert wait_final(U, r.json["data"]["id"])["status"] == 31  # it was no archive
        # the slot is free again
        assert deploy_bytes(U, tar_gz_dir(init_bundle()))["status"] == 2
    finally:
        U.stop()


def test_stop():
    G.stop()


if __name__ == "__main__":
    run(globals())
