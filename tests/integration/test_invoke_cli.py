"""Integration tests: `verge invoke` against a real daemon: usage errors (exit 2), the TLS trust
modes (system CAs refuse verge's self-signed certificate with a hint, a wrong --fingerprint is
refused, the right one, -k and --cacert DATA_DIR/tls/cert.pem are accepted), plain http on
loopback, authentication and permission failures and the password prompt (exit 3 for failed
calls).

The function-calling cases (Sync payloads, Async ids, functionError) go through
run_invoke() below. Calls here name a function that does not exist: the endpoint's 404 "no
function" answer proves the connection, the TLS check and the credentials all passed."""

import os
import pty
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import (ADMIN, ADMIN_PASSWORD, VERGE_BIN, Verge, check_binary,  # noqa: E402
                      free_port, run, verge_env)

V = Verge(name="main")
MISSING = "NoSuchService/no_such_function"


def run_invoke(*args, password=ADMIN_PASSWORD, gateway=None, input=None, timeout=30,
               new_session=True):
    """Runs `verge invoke ARGS...` to completion and returns its CompletedProcess (text mode):
    .returncode, .stdout, .stderr. The password goes in VERGE_PASSWORD (None: unset); gateway
    defaults to the shared daemon's https URL (pass "" to add no --gateway); stdin is `input`
    or /dev/null; new_session=True detaches it from any terminal, so it can never prompt."""
    check_binary()
    if gateway is None:
        gateway = V.url("")
    cmd = [VERGE_BIN, "invoke", *(["--gateway", gateway] if gateway else []), *args]
    env = verge_env(VERGE_PASSWORD=password)
    return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=None if input is not None else subprocess.DEVNULL,
                          start_new_session=new_session)


def cert_path(v):
    return os.path.join(v.data_dir, "tls", "cert.pem")


def assert_reached(cp, what):
    """The call got through (connection, TLS, credentials) to the endpoint's 404."""
    assert cp.returncode == 3, f"{what}: exit {cp.returncode}: {cp.stderr}"
    assert "(404)" in cp.stderr and "no_such_function" in cp.stderr, f"{what}: {cp.stderr}"
    assert "certificate" not in cp.stderr, f"{what}: {cp.stderr}"
    assert cp.stdout == "", f"{what}: wrote to stdout: {cp.stdout!r}"


def test_start():
    V.start()
    assert V.fingerprint(), "no fingerprint in the log"


# ---- usage errors: exit 2, a message, nothing sent --------------------------------------------

def test_usage_errors_exit_2():
    closed = f"https://127.0.0.1:{free_port()}"  # nothing listens: a usage error must come first
    fp = V.fingerprint()
    cases = [
        ((), "usage: verge invoke"),
        (("EdgeFC",), "SERVICE/FUNCTION"),
        (("EdgeFC/",), "SERVICE/FUNCTION"),
        (("/helloworld",), "SERVICE/FUNCTION"),
        (("a/b/c",), "SERVICE/FUNCTION"),
        (("a/b", "payload", "extra"), "usage: verge invoke"),
        (("a/b", "--bogus"), "--bogus"),
        (("a/b", "--bogus", "x"), "--bogus"),
        (("a/b", "--user"), "--user needs a value"),
        (("a/b", "--context", "{not json"), "--context is not JSON"),
        (("a/b", "--context", "[1,2]"), "--context must be a JSON object"),
        (("a/b", "-k", "--fingerprint", fp), "exclude each other"),
        (("a/b", "--insecure", "--cacert", cert_path(V)), "exclude each other"),
        (("a/b", "--fingerprint", "AB:CD:EF"), "fingerprint \"AB:CD:EF\""),
        (("a/b", "--fingerprint", fp.replace(":", "-")), "32 hex pairs"),
        (("a/b", "--cacert", "/nonexistent/verge/cert.pem"), "/nonexistent/verge/cert.pem"),
        (("a/b", "--allow", "*"), "--allow does not apply"),
    ]
    for args, says in cases:
        cp = run_invoke(*args, gateway=closed)
        assert cp.returncode == 2, f"{args}: exit {cp.returncode}: {cp.stderr}"
        assert says in cp.stderr, f"{args}: expected {says!r} in {cp.stderr!r}"
        assert "cannot connect" not in cp.stderr, f"{args}: it tried to connect: {cp.stderr}"
        assert cp.stdout == "", f"{args}: {cp.stdout!r}"
    # the valid options are listed for an unknown one
    cp = run_invoke("a/b", "--bogus", gateway=closed)
    for opt in ("--gateway", "--user", "--context", "--cacert", "--fingerprint", "-k", "--async"):
        assert opt in cp.stderr, f"{opt} missing from {cp.stderr!r}"


def test_bad_gateway_urls_exit_2():
    for url, says in [("ftp://127.0.0.1:9999", "expected https://"),
                      ("127.0.0.1:9999", "expected https://"),
                      ("https://127.0.0.1:70000", "port"),
                      ("https://::1:9999", "brackets"),
                      ("https://admin:pw@127.0.0.1", "--user"),
                      ("https://127.0.0.1:9999/?q", "query")]:
        cp = run_invoke(MISSING, "-k", gateway=url)
        assert cp.returncode == 2, f"{url}: exit {cp.returncode}: {cp.stderr}"
        assert url in cp.stderr and says in cp.stderr, f"{url}: {cp.stderr}"


def test_no_password_source_exit_2():
    # no VERGE_PASSWORD, stdin not a terminal and no controlling terminal: no way to ask
    cp = run_invoke(MISSING, "-k", password=None)
    assert cp.returncode == 2, f"exit {cp.returncode}: {cp.stderr}"
    assert "VERGE_PASSWORD" in cp.stderr, cp.stderr


# ---- TLS trust modes ----------------------------------------------------------------------------

def test_system_cas_refuse_self_signed_with_hint():
    cp = run_invoke(MISSING)
    assert cp.returncode == 3, f"exit {cp.returncode}: {cp.stderr}"
    for hint in ("--cacert", "tls/cert.pem", "--fingerprint", "-k"):
        assert hint in cp.stderr, f"the hint lacks {hint!r}: {cp.stderr}"
    assert V.url("") in cp.stderr, cp.stderr
    assert "(404)" not in cp.stderr, f"the request went through: {cp.stderr}"


def test_wrong_fingerprint_refused():
    fp = V.fingerprint()
    wrong = ("00" if not fp.startswith("00") else "11") + fp[2:]
    cp = run_invoke(MISSING, "--fingerprint", wrong)
    assert cp.returncode == 3, f"exit {cp.returncode}: {cp.stderr}"
    assert fp in cp.stderr and wrong in cp.stderr, \
        f"the refusal should name both fingerprints: {cp.stderr}"
    assert "(404)" not in cp.stderr, f"the request went through: {cp.stderr}"


def test_right_fingerprint_accepted():
    fp = V.fingerprint()
    assert_reached(run_invoke(MISSING, "--fingerprint", fp), "colon form")
    assert_reached(run_invoke(MISSING, "--fingerprint", fp.replace(":", "").lower()),
                   "bare lower-case hex")


def test_insecure_accepted():
    assert_reached(run_invoke(MISSING, "-k"), "-k")
    assert_reached(run_invoke(MISSING, "--insecure"), "--insecure")
    # flags and options in any order
    assert_reached(run_invoke("-k", MISSING, "payload"), "-k first")


def test_cacert_accepted_for_address_and_name():
    assert_reached(run_invoke(MISSING, "--cacert", cert_path(V)), "--cacert, 127.0.0.1")
    assert_reached(run_invoke(MISSING, "--cacert", cert_path(V),
                              gateway=f"https://localhost:{V.port}"), "--cacert, localhost")


def test_cacert_of_another_gateway_refused():
    other = Verge(name="other")
    other.start()
    try:
        cp = run_invoke(MISSING, "--cacert", cert_path(other))
        assert cp.returncode == 3, f"exit {cp.returncode}: {cp.stderr}"
        assert "not signed by a CA in" in cp.stderr and cert_path(other) in cp.stderr, cp.stderr
    finally:
        other.stop()


def test_plain_http_on_loopback():
    # verge serves plain HTTP to loopback clients by default (server.plain_http_loopback)
    assert_reached(run_invoke(MISSING, gateway=f"http://127.0.0.1:{V.port}"), "http://")


def test_connection_refused_exit_3():
    port = free_port()
    cp = run_invoke(MISSING, "-k", gateway=f"https://127.0.0.1:{port}")
    assert cp.returncode == 3, f"exit {cp.returncode}: {cp.stderr}"
    assert "cannot connect" in cp.stderr and "refused" in cp.stderr and str(port) in cp.stderr, \
        cp.stderr


# ---- credentials ----------------------------------------------------------------------------

def test_wrong_password_401():
    cp = run_invoke(MISSING, "-k", password="not-the-password")
    assert cp.returncode == 3, f"exit {cp.returncode}: {cp.stderr}"
    assert "(401)" in cp.stderr, cp.stderr
    cp = run_invoke(MISSING, "-k", "--user", "nobody")
    assert cp.returncode == 3 and "(401)" in cp.stderr, cp.stderr


def test_other_user_and_permissions():
    cp = V.passwd("invoker", "invoker-pw-1", allow="/function/invoke")
    assert cp.returncode == 0, cp.stderr
    cp = V.passwd("reader", "reader-pw-1", allow="/system/info")
    assert cp.returncode == 0, cp.stderr
    assert_reached(run_invoke(MISSING, "-k", "--user", "invoker", password="invoker-pw-1"),
                   "--user invoker")
    cp = run_invoke(MISSING, "-k", "--user", "reader", password="reader-pw-1")
    assert cp.returncode == 3, f"exit {cp.returncode}: {cp.stderr}"
    assert "(403)" in cp.stderr and "/function/invoke" in cp.stderr, cp.stderr


def test_password_prompt_on_a_tty():
    master, slave = pty.openpty()
    p = subprocess.Popen([VERGE_BIN, "invoke", MISSING, "-k", "--gateway", V.url("")],
                         stdin=slave, stdout=slave, stderr=slave,
                         env=verge_env(VERGE_PASSWORD=None), start_new_session=True)
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline and p.poll() is None:
            r, _, _ = select.select([master], [], [], 0.1)
            if not r:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            seen += chunk
            if not answered and seen.rstrip().endswith(b":"):
                time.sleep(0.3)  # a person types once echo is off
                os.write(master, ADMIN_PASSWORD.encode() + b"\n")
                answered = True
        rc = p.wait(10)
        while True:  # what is left after the exit
            r, _, _ = select.select([master], [], [], 0.2)
            if not r:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
    assert answered, f"no password prompt on a tty: {seen!r}"
    assert f"Password for {ADMIN} at".encode() in seen, seen
    assert ADMIN_PASSWORD.encode() not in seen, f"the password was echoed: {seen!r}"
    assert rc == 3 and b"(404)" in seen, f"exit {rc}: {seen!r}"


def test_invoke_demo_functions():
    """The seed's Invoker/helloworld pair and a Handled error, through `verge invoke`."""
    from verge_it import demo_bundle
    d = Verge(name="demo-invoke", args=["--bundle", demo_bundle()]).start()
    r = run_invoke("-k", "EdgeFC/Invoker", gateway=d.url(""))
    assert r.returncode == 0, r
    assert r.stdout.strip() == "Message from helloworld (Custom context from Invoker)", r
    r = run_invoke("-k", "--context", '{"custom":{"data":"from the CLI"}}', "EdgeFC/helloworld",
                   "hi", gateway=d.url(""))
    assert r.returncode == 0 and "from the CLI" in r.stdout, r
    r = run_invoke("-k", "--async", "EdgeFC/publish", gateway=d.url(""))
    assert r.returncode == 0 and len(r.stdout.strip()) == 24, r
    r = run_invoke("-k", "EdgeFC/set_light", '{"LightSwitch":7}', gateway=d.url(""))
    assert r.returncode == 1 and "Handled error" in r.stderr, r
    d.stop()


def test_stop_clean():
    V.stop()


if __name__ == "__main__":
    run(globals())
