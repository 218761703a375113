"""docs/operations.md (Security notes): "A copy of the database and log files
alone reveals no secret, no TOTP secret and no token", and docs/api.md (Audit
events): secrets never appear in any log."""

import base64
import os

from harness import scan_files, secret_bytes


def needles(secrets, tokens):
    """Every byte string whose presence on disk would leak a secret."""
    out = {}
    for s in secrets:
        out[s] = s.encode()
        out[s + " (base64 part)"] = s[len("whsec_"):].encode()
        out[s + " (raw bytes)"] = secret_bytes(s)
    for t in tokens:
        out[t] = t.encode()
        out[t + " (base64url part)"] = t[len("sgk_"):].encode()
        out[t + " (raw bytes)"] = base64.urlsafe_b64decode(t[len("sgk_"):] + "=")
    return out


scan = scan_files  # the one scanner of every suite (harness.py)


def make_secrets(signet):
    acct, _, token = signet.account(name="at rest")
    extra = signet.apikey(acct, "member")
    revoked = signet.apikey(acct)
    signet.ctl("apikey", "revoke", revoked["id"])
    secrets = []
    for i in range(4):
        ep = signet.create_endpoint(token, url="https://example.com/rest%d" % i)
        secrets.append(ep["signing_key"]["signing_secret"])
        k = signet.add_key(token, ep["id"])
        secrets.append(k["signing_secret"])
        # Use the keys, so that any cache or log of signing would show up.
        h = signet.sign(token, ep["id"], "at rest %d" % i)
        assert signet.verify(token, ep["id"], "at rest %d" % i, h)["valid"] is True
    return secrets, [token, extra["token"], revoked["token"]]


def assert_clean(signet, patterns):
    found, nfiles = scan(signet.home, patterns)
    assert nfiles >= 2, "SIGNET_HOME holds only %d files" % nfiles
    assert not found, "secrets in clear under SIGNET_HOME: %r" % found
    found, _ = scan(signet.rundir, patterns)
    assert not found, "secrets in the logs or run directory: %r" % found


def test_no_secret_in_clear_on_disk(signet):
    secrets, tokens = make_secrets(signet)
    patterns = needles(secrets, tokens)
    # The scan can find what it looks for: the needles are really secrets.
    assert len(patterns) == 3 * (len(secrets) + len(tokens))
    assert_clean(signet, patterns)
    # After a clean stop every cache is flushed to the database files.
    signet.stop()
    assert_clean(signet, patterns)
    signet.start()


def test_no_secret_in_clear_after_kill9(signet):
    secrets, tokens = make_secrets(signet)
    signet.kill9_all()
    signet.start()  # recovery runs: the recovered files hold no secret either
    assert_clean(signet, needles(secrets, tokens))


def test_scanner_finds_planted_secret(tmp_path):
    # The scan is not vacuous: a secret written to a file is found, raw or encoded.
    secrets, tokens = ["whsec_" + base64.b64encode(os.urandom(24)).decode()], []
    patterns = needles(secrets, tokens)
    (tmp_path / "a").write_bytes(b"xx" + secret_bytes(secrets[0]) + b"yy")
    (tmp_path / "b").write_bytes(secrets[0].encode())
    found, _ = scan(str(tmp_path), patterns)
    assert set(found) == {secrets[0], secrets[0] + " (base64 part)",
                          secrets[0] + " (raw bytes)"}
