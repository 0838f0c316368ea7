"""Integration tests: openapi/openapi.yaml is a valid OpenAPI 3.0 document (checked by a real
validator from npm, @apidevtools/swagger-parser, plus Ajv for the examples; see
tests/integration/openapi/validate.mjs), it documents exactly the routes the server has, and its
examples are what the server answers.

Needs node and npm (scripts/deps.sh installs them); runs `npm ci` in tests/integration/openapi
when its node_modules is missing."""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import (SOURCE_DIR, Verge, expect, run, tmpdir)  # noqa: E402
from device_it import demo_bundle, wait_online  # noqa: E402

NODE_DIR = os.path.join(SOURCE_DIR, "tests", "integration", "openapi")
VALIDATE = os.path.join(NODE_DIR, "validate.mjs")
DOC = os.path.join(SOURCE_DIR, "openapi", "openapi.yaml")
ROUTES_C = os.path.join(SOURCE_DIR, "openapi", "handlers", "routes.c")
METHODS = ("get", "post", "put", "delete", "patch", "head", "options")

V = Verge(name="demo", args=["--bundle", demo_bundle()])
st = {}


def validate(path, dump=False):
    args = ["node", VALIDATE] + (["--json"] if dump else []) + [path]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=NODE_DIR)


def doc_operations():
    """[(METHOD, path, operation)] of the document, in its order."""
    return [(m.upper(), p, op) for p, item in st["doc"]["paths"].items()
            for m, op in item.items() if m in METHODS]


def test_npm_ci():
    for tool in ("node", "npm"):
        r = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True)
        assert r.returncode == 0, \
            f"{tool} is not installed (scripts/deps.sh installs nodejs and npm)"
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@apidevtools", "swagger-parser")):
        r = subprocess.run(["npm", "ci", "--prefix", NODE_DIR, "--no-audit", "--no-fund"],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"npm ci failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    r = subprocess.run(["node", "-e", "import('@apidevtools/swagger-parser').then(() => "
                        "console.log('ok'))"], capture_output=True, text=True, cwd=NODE_DIR,
                       timeout=60)
    assert r.returncode == 0 and "ok" in r.stdout, r


def test_document_is_valid():
    r = validate(DOC, dump=True)
    assert r.returncode == 0, f"openapi.yaml is not valid:\n{r.stdout}\n{r.stderr}"
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("valid: "), r.stdout[:500]
    st["doc"] = json.loads(lines[-1])
    m = re.search(r"(\d+) examples fit", lines[0])
    assert m and int(m.group(1)) >= 80, f"too few examples checked: {lines[0]}"


def test_broken_copies_are_rejected():
    """The validator can fail: each deliberately broken copy of the document is refused."""
    with open(DOC) as f:
        text = f.read()
    d = tmpdir()
    broken = {
        "unknown top-level field": text.replace("openapi: 3.0.3\n",
                                                "openapi: 3.0.3\nbogus: 1\n", 1),
        "operation without responses": text.replace("      responses:\n", "      responsez:\n", 1),
        "dangling $ref": text.replace("$ref: '#/components/schemas/ErrorCode'",
                                      "$ref: '#/components/schemas/NoSuchSchema'", 1),
        "example that does not fit its schema": text.replace(
            "data: {deviceCount: 2}}", "data: {deviceCount: \"2\"}}", 1),
        "invalid request example that fits": text.replace(
            "params: {PageSize: -1}}", "params: {PageSize: 1}}", 1),
        "not YAML": text.replace("paths:\n", "paths: [\n", 1),
    }
    for what, body in broken.items():
        assert body != text, f"the mutation '{what}' changed nothing: update this test"
        path = os.path.join(d, "broken.yaml")
        with open(path, "w") as f:
            f.write(body)
        r = validate(path)
        assert r.returncode != 0, f"a copy with {what} was accepted:\n{r.stdout}"
        assert "invalid:" in r.stderr, (what, r.stderr)


def test_routes_c_matches_document():
    """Every row of the route table is documented, and every documented operation is a row."""
    with open(ROUTES_C) as f:
        src = f.read()
    table = re.search(r"api_routes\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert table, "no api_routes[] table in routes.c"
    routes = set(re.findall(r'\{\s*"([A-Z]+)",\s*"(/[^"]*)"', table.group(1)))
    assert len(routes) >= 11, f"parsed only {sorted(routes)} from routes.c"
    documented = {(m, p) for m, p, _ in doc_operations()}
    assert routes - documented == set(), \
        f"routes not in openapi.yaml: {sorted(routes - documented)}"
    assert documented - routes == set(), \
        f"openapi.yaml documents routes the server lacks: {sorted(documented - routes)}"


def test_start():
    V.start()
    st["cookie"] = V.login()
    wait_online(V, st["cookie"], 2)


def test_documented_paths_are_served():
    """Each documented path answers something other than 404 "no API at", for its method; any
    other method gets 405 naming the documented one."""
    r = V.api("/thing/device/nothing", {}, cookie=st["cookie"])
    expect(r, 404)
    assert "no API at" in r.json["message"], r
    for method, path, op in doc_operations():
        # events/get with {} is refused (400) before a stream could start; /deploy/upload
        # refuses a JSON body (415) and /deploy/rollback has no earlier version here (404):
        # any status the operation documents is an answer of the endpoint
        r = V.api(path, {} if method == "POST" else None, method=method, cookie=st["cookie"])
        assert b"no API at" not in r.body, f"{method} {path}: {r!r}"
        assert r.status in (200, 400) or str(r.status) in op.get("responses", {}), \
            f"{method} {path}: {r!r}"
        other = "GET" if method == "POST" else "POST"
        r = V.api(path, {} if other == "POST" else None, method=other, cookie=st["cookie"])
        expect(r, 405)
        assert r.header("Allow") == method, f"{other} {path}: Allow {r.header('Allow')!r}"


def compare(want, got, ignore, where="body"):
    """Differences between the documented `want` and the real `got` (keys named in `ignore`
    are compared by type only)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{where}: expected an object, got {got!r}"]
        diffs = []
        if set(want) != set(got):
            diffs.append(f"{where}: keys {sorted(want)} documented, {sorted(got)} answered")
        for k in want:
            if k not in got:
                continue
            if k in ignore:
                if type(want[k]) is not type(got[k]):
                    diffs.append(f"{where}.{k}: type {type(got[k]).__name__}, documented "
                                 f"{type(want[k]).__name__}")
            else:
                diffs += compare(want[k], got[k], ignore, f"{where}.{k}")
        return diffs
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{where}: expected {want!r}, got {got!r}"]
        return [d for i, (a, b) in enumerate(zip(want, got))
                for d in compare(a, b, ignore, f"{where}[{i}]")]
    if want != got or type(want) is not type(got):
        return [f"{where}: documented {want!r}, answered {got!r}"]
    return []


def test_examples_are_real_replies():
    """Each request example with a response example of the same name is sent; the reply must
    equal the example (status and body)."""
    checked, mismatches, unpaired = 0, [], []
    for method, path, op in doc_operations():
        requests = (op.get("requestBody", {}).get("content", {})
                    .get("application/json", {}).get("examples", {}))
        replies = {}
        for status, resp in op.get("responses", {}).items():
            for name, ex in resp.get("content", {}).get("application/json", {}) \
                    .get("examples", {}).items():
                replies.setdefault(name, (int(status), ex))
        for name, (status, ex) in replies.items():
            if name not in requests and ex.get("x-verge-check") != "none" and \
                    name != "unauthenticated":
                unpaired.append(f"{method} {path} {status} example {name}")
        for name, req in requests.items():
            if req.get("x-verge-check") == "none":
                continue
            if name not in replies:
                unpaired.append(f"{method} {path} request example {name}")
                continue
            status, ex = replies[name]
            if ex.get("x-verge-check") == "none":
                continue
            cookie = None if req.get("x-verge-auth") == "none" else st["cookie"]
            r = V.api(path, method=method, body=json.dumps(req["value"]).encode(), cookie=cookie)
            checked += 1
            diffs = [] if r.status == status else [f"HTTP {r.status}, documented {status}"]
            if r.json is None:
                diffs.append(f"not JSON: {r.body[:200]!r}")
            else:
                diffs += compare(ex["value"], r.json, set(ex.get("x-verge-ignore", [])))
            if diffs:
                mismatches.append(f"{method} {path} example {name}:\n      " +
                                  "\n      ".join(diffs))
    assert not unpaired, "examples without their pair (name them alike, or mark them " \
        "x-verge-check: none):\n  " + "\n  ".join(unpaired)
    assert checked >= 30, f"only {checked} examples were checked"
    assert not mismatches, f"{len(mismatches)} of {checked} documented examples differ from " \
        "the server's replies:\n  " + "\n  ".join(mismatches)


def test_stop():
    V.stop()


if __name__ == "__main__":
    run(globals())
