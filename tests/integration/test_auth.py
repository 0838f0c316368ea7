"""Integration tests: login, logout, sessions, Basic auth, brute-force protection and
per-user API permissions (seed 004 section 3.3), against the real daemon."""

import os
import re
import secrets
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import (ADMIN, ADMIN_PASSWORD, Verge, curl, expect, ordered_json, run,  # noqa: E402
                      tmpdir)

V = Verge(name="main")
# Sessions idle for 10 s (the smallest allowed value) expire: logged in at the start, checked
# at the end of this file, so the wait overlaps the other tests.
V_EXP = Verge("auth.session_idle_s=10", name="expiry")
exp = {}

SEED_LOGIN = ('curl -c "test_eweb.cookie" -d "{\\"id\\":111,\\"version\\":\\"1.0\\",\\"'
              'request\\":{\\"apiVer\\":\\"0.6\\"},\\"params\\":{\\"UserName\\": \\"admin\\", \\"'
              'Password\\": \\"admin1234\\"}}" -k -X POST https://127.0.0.1:9999/auth/login')
SEED_LOGOUT = ('curl -b "test_eweb.cookie" -d "{\\"id\\":111,\\"version\\":\\"1.0\\",\\"'
               'request\\":{\\"apiVer\\":\\"0.6\\"},\\"params\\":{\\"UserName\\": \\"admin\\"}}"'
               ' -k -X POST https://127.0.0.1:9999/auth/logout')


def seed_cmd(cmd, port):
    """The seed's curl command verbatim, with only the port changed (and -sS for quiet)."""
    return cmd.replace("127.0.0.1:9999", f"127.0.0.1:{port}").replace("curl ", "curl -sS ", 1)


def test_start():
    V.start()
    V_EXP.start()
    exp["token"] = V_EXP.login()
    exp["t"] = time.monotonic()


def test_seed_login_logout_curl_verbatim():
    d = tmpdir()
    out = subprocess.run(seed_cmd(SEED_LOGIN, V.port), shell=True, cwd=d, capture_output=True,
                         text=True, timeout=30, executable="/bin/bash")
    assert out.returncode == 0, out.stderr
    assert ordered_json(out.stdout) == [("code", 200), ("message", "success"),
                                        ("data", [("UserName", "admin")])], out.stdout
    with open(os.path.join(d, "test_eweb.cookie")) as f:
        jar = f.read()
    m = re.search(r"\tverge_session\t([0-9a-fA-F]{64})\s*$", jar, re.M)
    assert m, f"no verge_session cookie in the jar:\n{jar}"
    token = m.group(1)
    assert re.search(r"\tTRUE\t/\tTRUE\t", jar) or "\t/\tTRUE\t" in jar, \
        f"cookie should be Path=/ and Secure:\n{jar}"
    # the session works ...
    r = curl("-b", os.path.join(d, "test_eweb.cookie"), "-d", "{}", "-X", "POST",
             V.url("/system/info"))
    assert r.returncode == 0 and '"user":"admin"' in r.stdout.replace(" ", ""), r
    # ... until the seed's logout
    out = subprocess.run(seed_cmd(SEED_LOGOUT, V.port), shell=True, cwd=d, capture_output=True,
                         text=True, timeout=30, executable="/bin/bash")
    assert out.returncode == 0, out.stderr
    assert ordered_json(out.stdout) == [("code", 200), ("message", "success"), ("data", [])], \
        out.stdout
    expect(V.api("/system/info", cookie=token), 401, data=None)
    # logging out again with the revoked cookie
    out = subprocess.run(seed_cmd(SEED_LOGOUT, V.port), shell=True, cwd=d, capture_output=True,
                         text=True, timeout=30, executable="/bin/bash")
    assert ordered_json(out.stdout) == [("code", 400), ("message", "cookie is invalid"),
                                        ("data", [])], out.stdout


def test_login_cookie_attributes_tls():
    r = V.api("/auth/login", {"UserName": ADMIN, "Password": ADMIN_PASSWORD})
    expect(r, 200, "success", {"UserName": "admin"})
    cookies = r.header_all("Set-Cookie")
    assert len(cookies) == 1, cookies
    assert re.fullmatch(r"verge_session=[0-9a-fA-F]{64}; Path=/; Max-Age=3600; HttpOnly; "
                        r"SameSite=Strict; Secure", cookies[0]), cookies[0]


def test_login_cookie_attributes_plain_http():
    r = V.api("/auth/login", {"UserName": ADMIN, "Password": ADMIN_PASSWORD}, tls=False)
    expect(r, 200, "success", {"UserName": "admin"})
    cookies = r.header_all("Set-Cookie")
    assert len(cookies) == 1, cookies
    assert re.fullmatch(r"verge_session=[0-9a-fA-F]{64}; Path=/; Max-Age=3600; HttpOnly; "
                        r"SameSite=Strict", cookies[0]), f"no Secure over plain HTTP: {cookies[0]}"


def test_each_login_gets_a_new_session():
    a, b = V.login(), V.login()
    assert a != b


def test_system_info_with_cookie():
    token = V.login()
    d1 = expect(V.api("/system/info", cookie=token), 200, "success")["data"]
    assert sorted(d1) == ["uptimeMs", "user", "version"], d1
    assert d1["version"] == "0.1.0" and d1["user"] == "admin", d1
    assert isinstance(d1["uptimeMs"], int) and d1["uptimeMs"] >= 0, d1
    time.sleep(0.05)
    d2 = expect(V.api("/system/info", cookie=token), 200, "success")["data"]
    assert d2["uptimeMs"] > d1["uptimeMs"], (d1, d2)


def test_no_credentials_401():
    expect(V.api("/system/info"), 401, data=None)
    r = V.api("/metrics", method="GET")
    assert r.status == 401, r


def test_forged_cookie_401():
    expect(V.api("/system/info", cookie=secrets.token_hex(32)), 401, data=None)
    expect(V.api("/system/info", cookie="abc"), 401, data=None)
    expect(V.api("/system/info", cookie="g" * 64), 401, data=None)
    token = V.login()
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    expect(V.api("/system/info", cookie=forged), 401, data=None)


def test_logout_revokes_only_that_session():
    a, b = V.login(), V.login()
    expect(V.api("/auth/logout", {"UserName": ADMIN}, cookie=a), 200, "success", {})
    expect(V.api("/system/info", cookie=a), 401, data=None)
    expect(V.api("/system/info", cookie=b), 200, "success")


def test_logout_without_valid_cookie_400():
    expect(V.api("/auth/logout", {"UserName": ADMIN}), 400, "cookie is invalid", {})
    expect(V.api("/auth/logout", {"UserName": ADMIN}, cookie=secrets.token_hex(32)), 400,
           "cookie is invalid", {})


def test_basic_auth():
    d = expect(V.api("/system/info", basic=(ADMIN, ADMIN_PASSWORD)), 200, "success")["data"]
    assert d["user"] == "admin", d
    r = V.api("/metrics", method="GET", basic=(ADMIN, ADMIN_PASSWORD))
    assert r.status == 200, r
    expect(V.api("/system/info", basic=(ADMIN, "wrong-password")), 401, data=None)
    expect(V.api("/system/info", headers={"Authorization": "Basic !!!not-base64"}), 401,
           data=None)
    # Basic does not create a session
    assert V.api("/system/info", basic=(ADMIN, ADMIN_PASSWORD)).cookie() is None


def test_wrong_password_400():
    expect(V.api("/auth/login", {"UserName": "admin", "Password": "nope"}), 400,
           "Invalid username or password", {"UserName": "admin"})
    r = V.api("/auth/login", {"UserName": "ghost", "Password": "admin1234"})
    expect(r, 400, "Invalid username or password", {"UserName": "ghost"})
    assert r.cookie() is None and not r.header_all("Set-Cookie"), r


def test_missing_password_400():
    r = V.api("/auth/login", {"UserName": "admin"})
    expect(r, 400)
    assert "params.Password" in r.json["message"], r


def test_limited_user_permissions():
    cp = V.passwd("limited", "limited-pw-1", allow="/system/info")
    assert cp.returncode == 0, f"verge passwd failed ({cp.returncode}): {cp.stdout}{cp.stderr}"
    token = V.login("limited", "limited-pw-1")
    d = expect(V.api("/system/info", cookie=token), 200, "success")["data"]
    assert d["user"] == "limited", d
    r = V.api("/metrics", method="GET", cookie=token)
    expect(r, 403)
    assert V.api("/system/info", basic=("limited", "limited-pw-1")).status == 200
    expect(V.api("/metrics", method="GET", basic=("limited", "limited-pw-1")), 403)
    # the admin is still allowed everything
    assert V.api("/metrics", method="GET", cookie=V.login()).status == 200


def test_new_user_without_allow_is_allowed_nothing():
    cp = V.passwd("nobody", "nobody-pw-1")
    assert cp.returncode == 0, f"verge passwd failed ({cp.returncode}): {cp.stdout}{cp.stderr}"
    token = V.login("nobody", "nobody-pw-1")
    expect(V.api("/system/info", cookie=token), 403)
    expect(V.api("/metrics", method="GET", cookie=token), 403)


def test_passwd_reads_stdin_and_star_allows_all():
    cp = V.passwd("bob", "bob-pw-from-stdin", allow="*", stdin=True)
    assert cp.returncode == 0, f"verge passwd failed ({cp.returncode}): {cp.stdout}{cp.stderr}"
    token = V.login("bob", "bob-pw-from-stdin")
    assert V.api("/metrics", method="GET", cookie=token).status == 200
    expect(V.api("/system/info", cookie=token), 200, "success")


def test_passwd_changes_password_and_revokes_sessions():
    cp = V.passwd("carol", "carol-pw-1", allow="*")
    assert cp.returncode == 0, cp.stderr
    token = V.login("carol", "carol-pw-1")
    cp = V.passwd("carol", "carol-pw-2")
    assert cp.returncode == 0, cp.stderr
    # the server looks for changes made by other processes at most once a second
    time.sleep(1.1)
    expect(V.api("/system/info", cookie=token), 401, data=None)
    expect(V.api("/auth/login", {"UserName": "carol", "Password": "carol-pw-1"}), 400,
           "Invalid username or password")
    token = V.login("carol", "carol-pw-2")
    # permissions are kept when --allow is not given again
    expect(V.api("/system/info", cookie=token), 200, "success")


def test_login_slowdown():
    v = Verge("auth.login_slowdown_after=2", "auth.login_lockout_after=10", name="slowdown")
    v.start()
    times = []
    for _ in range(4):
        t0 = time.monotonic()
        expect(v.api("/auth/login", {"UserName": "admin", "Password": "bad"}), 400,
               "Invalid username or password")
        times.append(time.monotonic() - t0)
    # answers 3 and 4 come after 2 and 3 failures: both are delayed, and the delay may grow;
    # PBKDF2 time varies on a loaded machine, so compare with a margin
    assert times[3] >= max(times[:2]) + 0.3, \
        f"failures after login_slowdown_after=2 were not slowed down: {times}"
    v.stop()


def test_lockout_403_retry_after():
    v = Verge("auth.login_lockout_after=3", "auth.login_lockout_s=3", name="lockout")
    v.start()
    for i in range(3):
        expect(v.api("/auth/login", {"UserName": "admin", "Password": f"bad{i}"}), 400,
               "Invalid username or password")
    r = v.api("/auth/login", {"UserName": "admin", "Password": "bad-again"})
    expect(r, 403)
    assert "try again in" in r.json["message"], r
    ra = r.header("Retry-After")
    assert ra is not None and ra.isdigit() and 1 <= int(ra) <= 3, \
        f"Retry-After {ra!r} with login_lockout_s=3"
    t_locked = time.monotonic()
    # the right password is refused too while locked out
    r = v.api("/auth/login", {"UserName": "admin", "Password": ADMIN_PASSWORD})
    expect(r, 403)
    assert r.cookie() is None, r
    # and accepted again once login_lockout_s has passed
    time.sleep(max(0.0, 3.5 - (time.monotonic() - t_locked)))
    v.login()
    v.stop()


def test_session_max_revokes_least_recently_used():
    v = Verge("auth.session_max=2", name="sessionmax")
    v.start()
    a = v.login()
    b = v.login()
    expect(v.api("/system/info", cookie=a), 200, "success")  # a is now more recent than b
    c = v.login()
    expect(v.api("/system/info", cookie=b), 401, data=None)
    expect(v.api("/system/info", cookie=a), 200, "success")
    expect(v.api("/system/info", cookie=c), 200, "success")
    v.stop()


def test_session_expires_when_idle():
    # Max-Age follows auth.session_idle_s
    r = V_EXP.api("/auth/login", {"UserName": ADMIN, "Password": ADMIN_PASSWORD})
    assert "Max-Age=10;" in (r.header("Set-Cookie") or ""), r
    left = 11.0 - (time.monotonic() - exp["t"])
    if left > 0:
        time.sleep(left)
    expect(V_EXP.api("/system/info", cookie=exp["token"]), 401, data=None)


def test_stop_clean():
    V.stop()
    V_EXP.stop()


if __name__ == "__main__":
    run(globals())
