"""Integration tests: the curl examples of docs/api.md work as documented.

Every ```sh block of docs/api.md is read; each line that starts with `curl` is a command, and
the line after it must be a comment `# {"code":N,...}` holding the reply the command printed (or
its beginning). The commands run in order, with the port rewritten to the test daemon's and the
cookie file to a temporary one, against `verge serve --bundle <build>/functions/demo --set
events.heartbeat_ms=1000` (as the page says); each reply's code must be the documented one, and
an error reply's message too."""

import json
import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import SOURCE_DIR, Verge, run, tmpdir  # noqa: E402
from device_it import demo_bundle, wait_online  # noqa: E402

DOC = os.path.join(SOURCE_DIR, "docs", "api.md")
V = Verge("events.heartbeat_ms=1000", name="demo", args=["--bundle", demo_bundle()])
st = {}


def doc_commands():
    """[(line number, command, comment)] of every curl line in the ```sh blocks of docs/api.md."""
    with open(DOC) as f:
        lines = f.read().split("\n")
    out, in_sh = [], False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            in_sh = line.strip() == "```sh" if not in_sh else False
            continue
        if in_sh and line.startswith("curl "):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            out.append((i + 1, line, nxt))
    return out


def first_json(text):
    """The first JSON object of `text` (a stream prints several back to back), or None."""
    try:
        obj, _ = json.JSONDecoder().raw_decode(text.lstrip())
        return obj if isinstance(obj, dict) else None
    except ValueError:
        return None


def test_doc_is_machine_checkable():
    cmds = doc_commands()
    assert len(cmds) >= 20, f"only {len(cmds)} curl commands found in {DOC}"
    bad = [f"docs/api.md:{n}: {c[:70]}... is followed by {nxt!r}" for n, c, nxt in cmds
           if not re.match(r'^# \{"code":\d+,', nxt)]
    assert not bad, "each curl line must be followed by a '# {\"code\":N,...' line:\n  " + \
        "\n  ".join(bad)
    for path in ("/thing/device/count", "/thing/device/list-authed",
                 "/thing/device/properties/set", "/thing/device/property/query",
                 "/thing/device/service/invoke", "/thing/device/events/get"):
        assert any(path in c for _, c, _ in cmds), f"no curl example of {path} in docs/api.md"
    with open(DOC) as f:
        text = f.read()
    for word in ("### Device errors", "events.heartbeat_ms", "events.max_queue_bytes",
                 "events.max_subscribers", "Transfer-Encoding: chunked", "verge_events_cut_total"):
        assert word in text, f"docs/api.md does not mention {word}"


def test_start():
    V.start()
    cookie = V.login()
    wait_online(V, cookie, 2)
    st["cookie_file"] = os.path.join(tmpdir(), "test_eweb.cookie")


def test_doc_commands_answer_as_documented():
    failures, ran = [], 0
    for n, cmd, comment in doc_commands():
        argv = shlex.split(cmd)
        argv = [a.replace("https://127.0.0.1:9999/", f"https://127.0.0.1:{V.port}/")
                .replace("test_eweb.cookie", st["cookie_file"]) for a in argv]
        assert any(f":{V.port}/" in a for a in argv), f"docs/api.md:{n}: no URL on port 9999"
        stream = "-N" in argv
        r = subprocess.run(argv + ["-sS"], capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        ran += 1
        # a stream is cut by its --max-time (curl exits 28); anything else must exit 0
        if r.returncode != (28 if stream else 0):
            failures.append(f"docs/api.md:{n}: curl exited {r.returncode}: {r.stderr.strip()}")
            continue
        want_code = int(re.match(r'^# \{"code":(\d+),', comment).group(1))
        got = first_json(r.stdout)
        if got is None:
            failures.append(f"docs/api.md:{n}: the reply is not JSON: {r.stdout[:200]!r}")
            continue
        if got.get("code") != want_code:
            failures.append(f"docs/api.md:{n}: code {got.get('code')}, documented {want_code}: "
                            f"{r.stdout[:300]}")
            continue
        want = first_json(comment[2:])
        if want_code >= 400 and want and want.get("message") != got.get("message"):
            failures.append(f"docs/api.md:{n}: message {got.get('message')!r}, documented "
                            f"{want.get('message')!r}")
    assert ran >= 20, ran
    assert not failures, f"{len(failures)} of {ran} documented commands differ:\n  " + \
        "\n  ".join(failures)


def test_stop():
    V.stop()


if __name__ == "__main__":
    run(globals())
