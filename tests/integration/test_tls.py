"""Integration tests: TLS on the OpenAPI port (protocol versions, the generated certificate and
key, the logged fingerprint, reuse across restarts, a configured certificate)."""

import hashlib
import os
import ssl
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verge_it import (Verge, client_context, curl, expect, raw_request, read_response,  # noqa: E402
                      run, tmpdir)

V = Verge(name="main")


def s_client(port, *args):
    """openssl s_client against 127.0.0.1:port with stdin closed; returns CompletedProcess."""
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                           "-servername", "localhost", *args],
                          input="", capture_output=True, text=True, timeout=20)


def openssl_fingerprint(cert_path):
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                          cert_path], capture_output=True, text=True, timeout=10, check=True)
    # "sha256 Fingerprint=AB:CD:..." (OpenSSL 3) or "SHA256 Fingerprint=..."
    return out.stdout.strip().split("=", 1)[1].upper()


def served_fingerprint(v):
    s = v.connect()
    try:
        der = s.getpeercert(binary_form=True)
    finally:
        s.close()
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, 64, 2))


def cert_path(v):
    return os.path.join(v.data_dir, "tls", "cert.pem")


def key_path(v):
    return os.path.join(v.data_dir, "tls", "key.pem")


def test_start():
    V.start()


def test_tls11_and_tls10_refused():
    for flag in ("-tls1_1", "-tls1"):
        # SECLEVEL=0 so that this client really offers the old protocol; the refusal must come
        # from the server
        out = s_client(V.port, flag, "-cipher", "DEFAULT@SECLEVEL=0")
        assert "no protocols available" not in out.stderr, out.stderr
        assert out.returncode != 0, f"{flag} handshake succeeded:\n{out.stdout[-1500:]}"
        assert "New, TLSv1" not in out.stdout or "New, (NONE)" in out.stdout, out.stdout[-1500:]


def test_tls12_ok_aead_ecdhe():
    out = s_client(V.port, "-tls1_2")
    assert out.returncode == 0, out.stderr
    assert "New, TLSv1.2, Cipher is ECDHE-" in out.stdout, out.stdout[-1500:]
    cipher = out.stdout.split("New, TLSv1.2, Cipher is ", 1)[1].split()[0]
    assert "GCM" in cipher or "CHACHA20" in cipher, f"not an AEAD suite: {cipher}"


def test_tls12_cbc_suites_refused():
    out = s_client(V.port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
                   "AES128-SHA:@SECLEVEL=0")
    assert out.returncode != 0, f"a CBC suite was negotiated:\n{out.stdout[-1500:]}"


def test_tls13_ok():
    out = s_client(V.port, "-tls1_3")
    assert out.returncode == 0, out.stderr
    assert "New, TLSv1.3, Cipher is TLS_" in out.stdout, out.stdout[-1500:]


def test_requests_over_each_version():
    for ver, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
        s = V.connect(ctx=client_context(min_version=ver, max_version=ver))
        try:
            assert s.version() == name, s.version()
            s.sendall(raw_request("GET", "/healthz"))
            expect(read_response(s.makefile("rb")), 200, "success", {"status": "ok"})
        finally:
            s.close()


def test_generated_cert_and_key_files():
    c, k = cert_path(V), key_path(V)
    assert os.path.isfile(c), f"no certificate at {c}"
    assert os.path.isfile(k), f"no key at {k}"
    mode = stat.S_IMODE(os.stat(k).st_mode)
    assert mode == 0o600, f"key file mode is {oct(mode)}, expected 0o600"
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", c], capture_output=True,
                          text=True, timeout=10, check=True).stdout
    assert "prime256v1" in text or "P-256" in text, "not an ECDSA P-256 certificate"
    assert "DNS:localhost" in text, "SAN lacks DNS:localhost"
    assert "IP Address:127.0.0.1" in text, "SAN lacks IP 127.0.0.1"
    # the key matches the certificate
    pub_c = subprocess.run(["openssl", "x509", "-noout", "-pubkey", "-in", c],
                           capture_output=True, text=True, check=True).stdout
    pub_k = subprocess.run(["openssl", "pkey", "-pubout", "-in", k],
                           capture_output=True, text=True, check=True).stdout
    assert pub_c == pub_k, "key.pem does not belong to cert.pem"


def test_cert_verifies_for_localhost_and_127():
    c = cert_path(V)
    out = curl("--cacert", c, "--resolve", f"localhost:{V.port}:127.0.0.1",
               f"https://localhost:{V.port}/healthz")
    assert out.returncode == 0, f"curl --cacert for localhost failed: {out.stderr}"
    out = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", c,
                          f"https://127.0.0.1:{V.port}/healthz"], capture_output=True, text=True)
    assert out.returncode == 0, f"curl --cacert for 127.0.0.1 failed: {out.stderr}"


def test_logged_fingerprint_matches_cert():
    logged = V.fingerprint()
    assert logged, f"no SHA-256 fingerprint in the log:\n{V.log()}"
    assert logged == openssl_fingerprint(cert_path(V)), (logged, openssl_fingerprint(cert_path(V)))
    assert served_fingerprint(V) == logged


def test_same_cert_after_restart():
    with open(cert_path(V), "rb") as f:
        cert1 = f.read()
    with open(key_path(V), "rb") as f:
        key1 = f.read()
    fp1 = V.fingerprint()
    V.stop()
    V.start()
    with open(cert_path(V), "rb") as f:
        assert f.read() == cert1, "cert.pem changed across a restart"
    with open(key_path(V), "rb") as f:
        assert f.read() == key1, "key.pem changed across a restart"
    assert V.fingerprint() == fp1, (V.fingerprint(), fp1)
    assert served_fingerprint(V) == fp1


def test_configured_cert_and_key():
    d = tmpdir()
    c, k = os.path.join(d, "my.crt"), os.path.join(d, "my.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", k, "-out", c, "-days", "2",
                    "-subj", "/CN=verge-it", "-addext", "subjectAltName=IP:127.0.0.1"],
                   capture_output=True, check=True, timeout=20)
    v = Verge(f"server.tls_cert={c}", f"server.tls_key={k}", name="owncert")
    v.start()
    fp = openssl_fingerprint(c)
    assert served_fingerprint(v) == fp
    assert v.fingerprint() == fp, f"logged {v.fingerprint()} for a configured cert {fp}"
    assert not os.path.exists(os.path.join(v.data_dir, "tls", "cert.pem")), \
        "a certificate was generated although one was configured"
    v.stop()


def test_stop_clean():
    V.stop()


if __name__ == "__main__":
    run(globals())
