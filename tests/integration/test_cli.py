"""Integration tests: the verge command line (version, help, config errors, config doc and
defaults, signals, persistence across restarts, VERGE_ADMIN_PASSWORD)."""

import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import (SOURCE_DIR, VERGE_BIN, Verge, expect, free_port, raw_request,  # noqa: E402
                      read_response, request_body, run, run_verge, tmpdir, verge_env)


def serve_expect_exit(*args, timeout=10):
    """Runs `verge serve` with a temp data dir and a free port plus ARGS; it must exit by
    itself within `timeout` s (a config error). Returns CompletedProcess."""
    cmd = [VERGE_BIN, "serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir",
           os.path.join(tmpdir(), "data"), *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=verge_env())
    except subprocess.TimeoutExpired:
        raise AssertionError(f"verge serve {' '.join(args)} did not exit within {timeout} s")


def write_config(obj):
    path = os.path.join(tmpdir(), "verge.json")
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def test_version():
    out = run_verge("version")
    assert out.returncode == 0, out
    assert "0.1.0" in out.stdout, out.stdout


def test_help():
    out = run_verge("help")
    assert out.returncode == 0, out
    for word in ("serve", "passwd", "version", "config", "doc", "defaults", "--data-dir",
                 "--listen", "--set", "--allow", "--config"):
        assert word in out.stdout, f"help does not mention {word!r}:\n{out.stdout}"


def test_unknown_command():
    out = run_verge("frobnicate")
    assert out.returncode != 0, out
    assert "frobnicate" in out.stderr, out.stderr


def test_unknown_config_key_flag_exit_2():
    out = serve_expect_exit("--set", "limits.no_such_key=1")
    assert out.returncode == 2, f"exit {out.returncode}: {out.stderr}"
    assert "limits.no_such_key" in out.stderr, out.stderr
    assert "limits.max_body_bytes" in out.stderr and "auth.session_idle_s" in out.stderr, \
        f"the message should list the valid keys: {out.stderr}"


def test_unknown_config_key_file_exit_2():
    out = serve_expect_exit("--config", write_config({"limits": {"no_such_key": 1}}))
    assert out.returncode == 2, f"exit {out.returncode}: {out.stderr}"
    assert "limits.no_such_key" in out.stderr, out.stderr
    assert "limits.max_body_bytes" in out.stderr, out.stderr
    out = serve_expect_exit("--config", write_config({"bogus_section": {}}))
    assert out.returncode == 2, f"exit {out.returncode}: {out.stderr}"
    assert "bogus_section" in out.stderr, out.stderr


def test_bad_value_type_exit_2():
    out = serve_expect_exit("--set", "limits.max_body_bytes=lots")
    assert out.returncode == 2, f"exit {out.returncode}: {out.stderr}"
    assert "limits.max_body_bytes" in out.stderr and "integer" in out.stderr, out.stderr
    out = serve_expect_exit("--config", write_config({"limits": {"max_body_bytes": "1k"}}))
    assert out.returncode == 2, f"exit {out.returncode}: {out.stderr}"
    assert "limits.max_body_bytes" in out.stderr and "integer" in out.stderr, out.stderr
    out = serve_expect_exit("--set", "server.plain_http_loopback=yes")
    assert out.returncode == 2 and "server.plain_http_loopback" in out.stderr, out.stderr
    # out of bounds
    out = serve_expect_exit("--set", "limits.header_timeout_ms=5")
    assert out.returncode == 2 and "limits.header_timeout_ms" in out.stderr, out.stderr
    # not JSON at all
    out = serve_expect_exit("--config", write_config('{"limits": {'))
    assert out.returncode == 2, f"exit {out.returncode}: {out.stderr}"
    # a file that does not exist
    out = serve_expect_exit("--config", os.path.join(tmpdir(), "missing.json"))
    assert out.returncode != 0 and "missing.json" in out.stderr, out.stderr


def test_config_doc_matches_docs():
    out = run_verge("config", "doc")
    assert out.returncode == 0, out
    with open(os.path.join(SOURCE_DIR, "docs", "config.md")) as f:
        assert out.stdout == f.read(), \
            "docs/config.md is stale: regenerate it with `verge config doc > docs/config.md`"
    assert "`limits.max_connections_per_ip`" in out.stdout


def test_config_defaults_matches_file():
    out = run_verge("config", "defaults")
    assert out.returncode == 0, out
    with open(os.path.join(SOURCE_DIR, "config", "verge.json")) as f:
        assert out.stdout == f.read(), \
            "config/verge.json is stale: regenerate it with `verge config defaults`"
    d = json.loads(out.stdout)
    assert d["limits"]["max_connections_per_ip"] == 64 and d["server"]["listen"] == \
        "0.0.0.0:9999", d


def test_config_file_applies_and_flags_override():
    path = write_config({"limits": {"max_body_bytes": 100}})
    body = request_body({"UserName": "admin", "Password": "x" * 150})
    v = Verge(args=["--config", path], name="cfgfile")
    v.start()
    expect(v.api("/auth/login", body=body), 413)
    v.stop()
    v = Verge("limits.max_body_bytes=1000", args=["--config", path], name="cfgflag")
    v.start()
    expect(v.api("/auth/login", body=body), 400, "Invalid username or password")
    v.stop()
    # the shipped defaults file is a valid config
    v = Verge(args=["--config", os.path.join(SOURCE_DIR, "config", "verge.json")],
              name="defaults")
    v.start()
    v.stop()


def test_sigterm_and_sigint_exit_0_logs_on_stderr():
    v = Verge(name="signals")
    v.start()
    v.stop(signal.SIGTERM)
    assert v.stdout() == "", f"serve wrote to stdout (logs belong on stderr): {v.stdout()!r}"
    assert v.log().strip(), "nothing was logged on stderr"
    v.start()
    v.stop(signal.SIGINT)


def test_shutdown_with_idle_connection_within_grace():
    v = Verge("server.shutdown_grace_ms=1000", name="grace")
    v.start()
    s = v.connect()
    try:
        took = v.stop(timeout=6)
        assert took < 4.0, f"shutdown took {took:.1f} s with shutdown_grace_ms=1000"
    finally:
        s.close()


def test_in_flight_request_finishes_on_sigterm():
    v = Verge("server.shutdown_grace_ms=5000", name="inflight")
    v.start()
    s = v.connect()
    f = s.makefile("rb")
    got = {}
    try:
        # a login runs PBKDF2 off the loop (~0.1 s): SIGTERM arrives while it is in flight
        s.sendall(raw_request("POST", "/auth/login",
                              request_body({"UserName": "admin", "Password": "admin1234"})))
        th = threading.Thread(target=lambda: got.update(r=read_response(f)))
        th.start()
        time.sleep(0.02)
        v.stop(timeout=8)
        th.join(5)
    finally:
        f.close()
        s.close()
    assert got.get("r") is not None, "the in-flight login got no answer during shutdown"
    expect(got["r"], 200, "success", {"UserName": "admin"})


def test_data_survives_restart():
    v = Verge(name="restart")
    v.start()
    token = v.login()
    cp = v.passwd("dave", "dave-pw-1", allow="/system/info")
    assert cp.returncode == 0, cp.stderr
    v.stop()
    v.start()
    d = expect(v.api("/system/info", cookie=token), 200, "success")["data"]
    assert d["user"] == "admin", d
    assert d["uptimeMs"] < 60000, d
    t2 = v.login("dave", "dave-pw-1")
    expect(v.api("/system/info", cookie=t2), 200, "success")
    expect(v.api("/metrics", method="GET", cookie=t2), 403)
    # a session logged out before a restart stays revoked after it
    expect(v.api("/auth/logout", {"UserName": "admin"}, cookie=token), 200, "success", {})
    v.stop()
    v.start()
    expect(v.api("/system/info", cookie=token), 401, data=None)
    v.stop()


def test_admin_password_from_env():
    v = Verge(env={"VERGE_ADMIN_PASSWORD": "Env-Admin-Pw-42"}, name="adminenv")
    v.start()
    expect(v.api("/auth/login", {"UserName": "admin", "Password": "admin1234"}), 400,
           "Invalid username or password")
    v.login("admin", "Env-Admin-Pw-42")
    v.stop()


def test_passwd_prompts_on_a_tty():
    d = os.path.join(tmpdir(), "data")
    master, slave = pty.openpty()
    p = subprocess.Popen([VERGE_BIN, "passwd", "frank", "--allow", "*", "--data-dir", d],
                         stdin=slave, stdout=slave, stderr=slave, env=verge_env(),
                         start_new_session=True)
    os.close(slave)
    seen = b""
    answered = 0
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline and p.poll() is None:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                seen += chunk
                if seen.rstrip().endswith(b":") and seen.count(b":") > answered:
                    time.sleep(0.3)  # a person types after the prompt, once echo is off
                    os.write(master, b"tty-pw-0451\n")
                    answered += 1
        rc = p.wait(10)
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
    assert answered >= 1, f"no password prompt on a tty: {seen!r}"
    assert rc == 0, f"passwd on a tty exited {rc}: {seen!r}"
    assert b"tty-pw-0451" not in seen, f"the password was echoed: {seen!r}"
    v = Verge(data_dir=d, name="ttyuser")
    v.start()
    v.login("frank", "tty-pw-0451")
    v.stop()


def test_passwd_without_password_source_fails():
    d = os.path.join(tmpdir(), "data")
    out = run_verge("passwd", "erin", "--data-dir", d, input="")
    assert out.returncode != 0, f"passwd with an empty stdin succeeded: {out}"
    assert out.stderr.strip(), "no message"


def test_passwd_invalid_user_name():
    d = os.path.join(tmpdir(), "data")
    out = run_verge("passwd", "bad name!", "--data-dir", d,
                    env=verge_env(VERGE_PASSWORD="pw-123456"))
    assert out.returncode != 0, out
    assert "bad name!" in out.stderr or "name" in out.stderr.lower(), out.stderr


if __name__ == "__main__":
    run(globals())
