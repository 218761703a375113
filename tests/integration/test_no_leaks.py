"""Issue 7, secrets never leak: after a session that hands out every kind of
secret (endpoint and inbound signing secrets, API tokens, TOTP secrets,
workspace private keys) and uses them (sign, verify, OTP-protected
enterprise key registration and revocation, verify-token, rolls, deletes,
refused requests), none of them is found in the web servers' logs
(error.log, access.log, server.out: everything in the run directory),
Signet's own log (its stderr goes to error.log), the audit trail (every page
of GET /v1/audit-events) or any file under SIGNET_HOME, in any encoding:
the text, its JSON escaping, the base64 or base32 part, the raw bytes, hex.
For private keys: the PEM, its body and every body line that carries
private bytes, private_key_base64, the DER, and the raw private numbers.

The secrets are made here (module fixture), not taken from other modules.
"""

import base64
import json
import os
import re
import time
import urllib.parse

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from harness import scan_files, OtpAdmin, err, ok, ok_list, secret_bytes, totp_secret_bytes

# Secret-shaped strings of any origin (other suites share the instance), in
# what Signet writes: its log (error.log) and SIGNET_HOME.  Not in the access
# log, which records the paths clients send (test_signing_keys sends
# "whsec_abc" as a key id on purpose).
SHAPES = (re.compile(rb"whsec_[A-Za-z0-9+/]{32}"), re.compile(rb"sgk_[A-Za-z0-9_-]{43}"),
          re.compile(rb"PRIVATE KEY-----"), re.compile(rb"otpauth://"))


# --- encodings -----------------------------------------------------------------------------

def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def json_escaped(s):
    """As json-c writes a string (it escapes "/" as "\\/") and as Python does."""
    plain = json.dumps(s)[1:-1]
    return {plain, plain.replace("/", "\\/")}


def text_forms(label, s, out):
    out[label] = s.encode()
    for i, e in enumerate(sorted(json_escaped(s))):
        if e != s:
            out["%s (JSON-escaped %d)" % (label, i)] = e.encode()


def raw_forms(label, raw, out):
    out[label + " (raw bytes)"] = raw
    out[label + " (hex)"] = raw.hex().encode()
    out[label + " (HEX)"] = raw.hex().upper().encode()
    out[label + " (base64)"] = base64.b64encode(raw).rstrip(b"=")
    out[label + " (base64url)"] = base64.urlsafe_b64encode(raw).rstrip(b"=")


def whsec_needles(s, out):
    text_forms(s, s, out)
    text_forms(s + " (base64 part)", s[len("whsec_"):], out)
    raw_forms(s, secret_bytes(s), out)


def token_needles(t, out):
    text_forms(t, t, out)
    text_forms(t + " (base64url part)", t[len("sgk_"):], out)
    raw_forms(t, base64.urlsafe_b64decode(t[len("sgk_"):] + "="), out)


def totp_needles(secret, uri, out):
    label = "TOTP " + secret
    text_forms(label, secret, out)
    unpadded = secret.rstrip("=")
    text_forms(label + " (unpadded)", unpadded, out)
    text_forms(label + " (lower case)", unpadded.lower(), out)
    raw_forms(label, totp_secret_bytes(secret), out)
    if uri is not None:
        text_forms(label + " (otpauth URI)", uri, out)


def int_bytes(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def private_key_needles(key_obj, out):
    """Every form of a workspace key's private material (create/roll answer)."""
    pem, b64 = key_obj["private_key_pem"], key_obj["private_key_base64"]
    label = "private key %s" % key_obj["uid"]
    assert base64.b64decode(b64).decode() == pem
    text_forms(label + " PEM", pem, out)
    text_forms(label + " private_key_base64", b64, out)
    lines = [l for l in pem.splitlines() if l and not l.startswith("-----")]
    text_forms(label + " PEM body", "".join(lines), out)
    der = base64.b64decode("".join(lines))
    out[label + " DER"] = der
    key = serialization.load_pem_private_key(pem.encode(), None)
    pub_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    # Body lines: each encodes 48 bytes of the DER; the ones that are only
    # public bytes (an RSA modulus, an EC point) are public, so skipped.
    for i, l in enumerate(lines):
        chunk = base64.b64decode(l + "=" * (-len(l) % 4))
        if len(l) >= 16 and chunk not in pub_der:
            text_forms("%s PEM line %d" % (label, i), l, out)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw_forms(label + " seed", key.private_bytes(serialization.Encoding.Raw,
                                                     serialization.PrivateFormat.Raw,
                                                     serialization.NoEncryption()), out)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        n = (key.curve.key_size + 7) // 8
        raw_forms(label + " d", key.private_numbers().private_value.to_bytes(n, "big"), out)
    elif isinstance(key, rsa.RSAPrivateKey):
        pn = key.private_numbers()
        for name in ("d", "p", "q", "dmp1", "dmq1", "iqmp"):
            raw_forms("%s %s" % (label, name), int_bytes(getattr(pn, name)), out)
    else:
        raise AssertionError("unexpected key type %r" % key)
    return key


# --- JWS / JWT made here --------------------------------------------------------------------

def jws_sign(key, alg, kid, claims):
    header = b64u(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
    payload = b64u(json.dumps(claims).encode())
    signing_input = ("%s.%s" % (header, payload)).encode()
    if alg == "EdDSA":
        sig = key.sign(signing_input)
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        from cryptography.hazmat.primitives.asymmetric import padding
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return "%s.%s.%s" % (header, payload, b64u(sig))


def public_jwk(key, kid):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        x = key.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64u(x), "kid": kid}
    nums = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64u(nums.x.to_bytes(32, "big")),
            "y": b64u(nums.y.to_bytes(32, "big")), "kid": kid}


# --- the session ---------------------------------------------------------------------------

class Session:
    def __init__(self, inst):
        self.inst = inst
        self.needles = {}
        self.counts = {"whsec": 0, "token": 0, "totp": 0, "private key": 0}

    def whsec(self, s):
        assert s.startswith("whsec_"), s
        whsec_needles(s, self.needles)
        self.counts["whsec"] += 1

    def token(self, t):
        token_needles(t, self.needles)
        self.counts["token"] += 1

    def totp(self, enrol):
        totp_needles(enrol["secret"], enrol["otpauth_uri"], self.needles)
        self.counts["totp"] += 1

    def private(self, k):
        self.counts["private key"] += 1
        return private_key_needles(k, self.needles)


def otp_admin(inst, acct, sess, name):
    a = OtpAdmin(inst, acct, name)
    sess.token(a.token)
    # OtpAdmin enrolled through signetctl (its URI is not kept); enrol again
    # to see a whole answer (the second secret replaces the first; both count).
    totp_needles(a.secret, None, sess.needles)
    e = inst.ctl("totp", "enroll", "--apikey", a.id)
    sess.totp(e)
    a.secret, a.last = e["secret"], -1
    return a


def exercise(inst):
    sess = Session(inst)
    acct, _admin_id, admin = inst.account("admin", "leak check")
    sess.token(admin)
    member = inst.apikey(acct, "member", "leak member")["token"]
    sess.token(member)
    revoked = inst.apikey(acct, "admin", "leak revoked")
    sess.token(revoked["token"])
    inst.ctl("apikey", "revoke", revoked["id"])
    err(inst.req("GET", "/v1/endpoints", revoked["token"]), 401, "UNAUTHORIZED")
    otp = otp_admin(inst, acct, sess, "leak otp admin")

    # Outbound endpoints: create (first key), add a key, sign, verify, rotate.
    for i in range(2):
        ep = inst.create_endpoint(admin, url="https://example.com/leak%d" % i)
        sess.whsec(ep["signing_key"]["signing_secret"])
        k2 = inst.add_key(admin, ep["id"])
        sess.whsec(k2["signing_secret"])
        h = inst.sign(member, ep["id"], "leak payload %d" % i)
        assert inst.verify(member, ep["id"], "leak payload %d" % i, h)["valid"] is True
        h["webhook-signature"] = "v1," + base64.b64encode(os.urandom(32)).decode()
        assert inst.verify(member, ep["id"], "leak payload %d" % i, h)["valid"] is False
        r = inst.req("DELETE", "/v1/endpoints/%s/signing-keys/%s"
                     % (ep["id"], ep["signing_key"]["id"]), admin)
        assert r.status_code == 204, r.text
        err(inst.req("POST", "/v1/endpoints/%s/signing-keys" % ep["id"], admin, json={"x": 1}),
            400, "INVALID_REQUEST")
    r = inst.req("DELETE", "/v1/endpoints/" + ep["id"], admin)
    assert r.status_code == 204, r.text

    # Inbound endpoints.
    ib = ok(inst.req("POST", "/v1/inbound-endpoints", admin,
                     json={"forward_url": "https://example.com/leak-in"}), 201)
    sess.whsec(ib["signing_key"]["signing_secret"])
    ik = ok(inst.req("POST", "/v1/inbound-endpoints/%s/signing-keys" % ib["id"], admin), 201)
    sess.whsec(ik["signing_secret"])
    h = ok(inst.req("POST", "/v1/inbound-endpoints/%s/sign" % ib["id"], admin,
                    json={"payload": "inbound leak"}))
    assert ok(inst.req("POST", "/v1/inbound-endpoints/%s/verify" % ib["id"], admin,
                       json={"payload": "inbound leak", "headers": h}))["valid"] is True
    ok(inst.req("GET", "/v1/inbound-endpoints/%s/signing-keys" % ib["id"], member))

    # Enterprises and their keys, with OTP (also a refused code).
    ent = ok(inst.req("POST", "/v1/enterprises", admin, json={"name": "Leak Ent"}), 201)["id"]
    ent_keys = {}
    for alg, key in (("EdDSA", ed25519.Ed25519PrivateKey.generate()),
                     ("ES256", ec.generate_private_key(ec.SECP256R1()))):
        kid = "leak-" + alg.lower()
        ok(inst.req("POST", "/v1/enterprises/%s/webhook-signing-keys" % ent, otp.token,
                    json={"jwks": {"keys": [public_jwk(key, kid)]}, "keyId": kid},
                    headers={"X-OTP": otp.code()}), 201)
        ent_keys[kid] = (alg, key)
        jws = jws_sign(key, alg, kid, {"event": "leak"})
        res = ok(inst.req("POST", "/v1/enterprises/%s/verify" % ent, member, json={"jws": jws}))
        assert res["valid"] is True, res
    err(inst.req("DELETE", "/v1/enterprises/%s/webhook-signing-keys/leak-eddsa" % ent, otp.token,
                 headers={"X-OTP": "000000"}), 403, "INVALID_OTP")
    code = otp.code()
    if code is None:
        otp = otp_admin(inst, acct, sess, "leak otp admin 2")
        code = otp.code()
    ok(inst.req("DELETE", "/v1/enterprises/%s/webhook-signing-keys/leak-eddsa" % ent, otp.token,
                headers={"X-OTP": code}))

    # Workspaces: keys of every algorithm, PATCH, roll, delete, verify-token.
    slug = "leak-" + os.urandom(5).hex()
    ok(inst.req("POST", "/v1/workspaces", admin, json={"slug": slug}), 201)
    base = "/v1/%s/ws_signing_key/" % slug
    wkeys = {}
    for alg in ("ES256", "EdDSA", "RS256"):
        k = ok(inst.req("POST", base, admin, json={"algorithm": alg}), 201)
        wkeys[alg] = (k, sess.private(k))
    for alg, (k, key) in wkeys.items():
        tok = jws_sign(key, alg, k["uid"], {"sub": "leak", "exp": int(time.time()) + 300})
        res = ok(inst.req("POST", "/v1/%s/verify-token" % slug, member, json={"token": tok}))
        assert res["valid"] is True, (alg, res)
        res = ok(inst.req("POST", "/v1/%s/verify-token" % slug, None, json={"token": tok},
                          headers={"Authorization": "ServiceToken " + member}))
        assert res["valid"] is True, (alg, res)
    ok(inst.req("PATCH", base + wkeys["ES256"][0]["uid"] + "/", admin,
                json={"allowed_domains": ["leak.example"]}))
    rolled = ok(inst.req("POST", base + wkeys["EdDSA"][0]["uid"] + "/roll/", admin,
                         json={"grace_seconds": 0}), 201)
    rkey = sess.private(rolled)
    tok = jws_sign(rkey, "EdDSA", rolled["uid"], {"sub": "rolled"})
    assert ok(inst.req("POST", "/v1/%s/verify-token" % slug, admin,
                       json={"token": tok}))["valid"] is True
    ok(inst.req("DELETE", base + wkeys["RS256"][0]["uid"] + "/", admin))
    ok(inst.req("GET", base + "?include_deleted=true", member))
    assert inst.req("GET", "/v1/%s/jwks.json" % slug).status_code == 200
    # Refused requests that carry credentials.
    err(inst.req("POST", base, member, json={}), 403, "FORBIDDEN")
    err(inst.req("GET", "/v1/audit-events", member), 403, "FORBIDDEN")
    return sess, acct, admin


def audit_text(inst, token):
    """Every page of the audit trail, as the raw answers."""
    raw, after = [], None
    for _ in range(10000):
        q = {"limit": 100}
        if after:
            q["starting_after"] = after
        r = inst.req("GET", "/v1/audit-events?" + urllib.parse.urlencode(q), token)
        data, more = ok_list(r)
        raw.append(r.text)
        if not more:
            return "\n".join(raw), sum(1 for t in raw for _ in json.loads(t)["data"])
        after = data[-1]["id"]
    raise AssertionError("the audit trail does not end")


scan_tree = scan_files  # the one scanner of every suite (harness.py)


def scan_text(text, needles):
    data = text.encode()
    return sorted(label for label, needle in needles.items() if needle in data)


@pytest.fixture(scope="module")
def leaks(signet_instance):
    inst = signet_instance
    if inst.proc is None or inst.proc.poll() is not None:
        inst.stop()
        inst.start()
    sess, acct, admin = exercise(inst)
    return inst, sess, acct, admin


def test_every_kind_of_secret_was_handed_out(leaks):
    _inst, sess, _acct, _admin = leaks
    assert sess.counts["whsec"] >= 6 and sess.counts["token"] >= 4, sess.counts
    assert sess.counts["totp"] >= 1 and sess.counts["private key"] >= 4, sess.counts
    assert len(sess.needles) > 100, len(sess.needles)
    # No needle is so short that it could match by chance.
    short = [label for label, n in sess.needles.items() if len(n) < 16]
    assert not short, short


def test_no_secret_in_the_audit_trail(leaks):
    inst, sess, _acct, admin = leaks
    text, n = audit_text(inst, admin)
    assert n >= 20, "only %d audit events" % n
    found = scan_text(text, sess.needles)
    assert not found, "secrets in the audit trail: %s" % found[:20]
    for shape in SHAPES:
        assert shape.search(text.encode()) is None, "%r in the audit trail" % shape.pattern
    for m in ("private_key", "signing_secret", "whsec_", "sgk_"):
        assert m not in text, "%r in the audit trail" % m


def _assert_clean(inst, sess, when):
    found, nfiles = scan_tree(inst.home, sess.needles)
    assert nfiles >= 2, "SIGNET_HOME holds %d files" % nfiles
    assert not found, "%s: secrets under SIGNET_HOME: %s" % (when, sorted(found.items())[:20])
    found, nfiles = scan_tree(inst.rundir, sess.needles)
    assert nfiles >= 2, "the run directory holds %d files" % nfiles
    assert not found, "%s: secrets in the web server's or Signet's logs: %s" % (
        when, sorted(found.items())[:20])
    for path in [os.path.join(inst.rundir, "error.log")] + [
            os.path.join(root, f) for root, _d, files in os.walk(inst.home) for f in files]:
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        for shape in SHAPES:
            m = shape.search(data)
            assert m is None, "%s: %r in %s" % (when, m.group(0)[:24], path)


def test_no_secret_in_logs_or_home(leaks):
    inst, sess, _acct, _admin = leaks
    _assert_clean(inst, sess, "while running")


def test_no_secret_after_a_clean_stop(leaks):
    """After a clean stop every cache and log buffer is on disk."""
    inst, sess, _acct, admin = leaks
    inst.stop()
    try:
        # The logs are really there and hold the session's requests (lighttpd
        # buffers its access log until it stops).
        with open(os.path.join(inst.rundir, "access.log"), "rb") as f:
            assert b"/v1/enterprises/" in f.read()
        _assert_clean(inst, sess, "after stop")
    finally:
        inst.start()
    ok(inst.req("GET", "/v1/endpoints", admin))


def test_scanner_finds_planted_secrets(tmp_path):
    """The scan is not vacuous: each form of each kind is found when planted."""
    needles = {}
    s = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    whsec_needles(s, needles)
    t = "sgk_" + b64u(os.urandom(32))
    token_needles(t, needles)
    secret = base64.b32encode(os.urandom(20)).decode()
    totp_needles(secret, "otpauth://totp/x?secret=" + secret, needles)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    private_key_needles({"uid": "signing_key_test", "private_key_pem": pem,
                         "private_key_base64": base64.b64encode(pem.encode()).decode()}, needles)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    (tmp_path / "a").write_bytes(b"x" + secret_bytes(s) + b"y" + raw + b"z")
    (tmp_path / "b").write_text(json.dumps({"t": t[len("sgk_"):], "k": pem}).replace("/", "\\/"))
    (tmp_path / "c").write_text("code " + secret.lower())
    found, n = scan_tree(str(tmp_path), needles)
    assert n == 3
    assert s + " (raw bytes)" in found
    assert "private key signing_key_test seed (raw bytes)" in found
    assert t + " (base64url part)" in found
    assert any(k.startswith("private key signing_key_test PEM") and "JSON-escaped" in k
               for k in found), sorted(found)
    assert "TOTP %s (lower case)" % secret in found
