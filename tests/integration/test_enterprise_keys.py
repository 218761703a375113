"""docs/api.md: enterprise webhook signing keys registered as inline
JWKS (keys made by the `jose` npm library), listing, revocation, tombstoned
keyIds, and JWS verification of `jose`-made signatures, through each web
server."""

import base64
import calendar
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import uuid
from datetime import datetime, timezone

import pytest

from harness import (REPO, TIMESTAMP_RE, UNAUTHORIZED_MESSAGE, OtpAdmins, err, ok)

NODE = shutil.which("node")
SCRIPT = os.path.join(REPO, "tests", "interop", "ent_jose.js")

ALGS = ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"]
KTY = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "ES384": "EC", "ES512": "EC",
       "EdDSA": "OKP"}
INLINE_FIELDS = {"keyId", "name", "status", "source", "kty", "alg", "thumbprint",
                 "createdAt", "createdBy", "revokedAt", "revokedBy", "lastVerifiedAt"}
PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"]

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


# --- helpers shared with test_jwks_uri ------------------------------------------

def jose_batch(ops):
    """Run tests/interop/ent_jose.js on a batch of ops; return the results."""
    if not os.path.isdir(os.path.join(REPO, "node_modules", "jose")):
        pytest.fail("node_modules/jose is missing: run `npm ci` in %s" % REPO)
    r = subprocess.run([NODE, SCRIPT], cwd=REPO, capture_output=True, timeout=120,
                       input=json.dumps({"ops": ops}).encode())
    assert r.returncode == 0, "ent_jose.js: exit %d: %s" % (r.returncode, r.stderr.decode())
    return json.loads(r.stdout)["results"]


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def payload_for(alg):
    return json.dumps({"type": "invoice.paid", "alg": alg, "amount": 4200, "note": "Zoë ✓"},
                      ensure_ascii=False)


def kid_for(alg):
    return "k-" + alg.lower()


def parse_ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def keys_path(ent, key_id=None):
    p = "/v1/enterprises/%s/webhook-signing-keys" % ent
    if key_id is not None:
        p += "/" + urllib.parse.quote(key_id, safe="")
    return p


class Ctx:
    """One account on one instance: OTP admins, a plain admin, a member."""

    def __init__(self, inst, name="keys admin"):
        self.inst = inst
        self.acct = inst.ctl("account", "create", "--name", "ent keys")["id"]
        self.admins = OtpAdmins(inst, self.acct, name=name)
        self.admin = inst.apikey(self.acct, "admin")["token"]
        self.member = inst.apikey(self.acct, "member")["token"]

    def enterprise(self, name="Acme"):
        return ok(self.inst.req("POST", "/v1/enterprises", self.admin,
                                json={"name": name}), 201)["id"]

    def register(self, ent, body):
        """POST a key with a fresh admin code; return (response, OtpAdmin)."""
        a, h = self.admins.next()
        return self.inst.req("POST", keys_path(ent), a.token, json=body, headers=h), a

    def revoke(self, ent, key_id):
        a, h = self.admins.next()
        return self.inst.req("DELETE", keys_path(ent, key_id), a.token, headers=h), a

    def verify(self, ent, jws, payload=None, token=None):
        body = {"jws": jws}
        if payload is not None:
            body["payload"] = payload
        return ok(self.inst.req("POST", "/v1/enterprises/%s/verify" % ent,
                                token or self.member, json=body))

    def get(self, ent, key_id):
        return ok(self.inst.req("GET", keys_path(ent, key_id), self.member))

    def list(self, ent):
        data = ok(self.inst.req("GET", keys_path(ent), self.member))
        assert isinstance(data, list), data
        return data


def assert_invalid(res, why=""):
    assert res.get("valid") is False, "%s: %r" % (why, res)
    assert isinstance(res.get("reason"), str) and res["reason"], "no reason: %r" % res


def assert_valid(res, kid, alg):
    assert res.get("valid") is True, res
    assert res.get("keyId") == kid and res.get("alg") == alg, res
    assert res.get("reason") is None, res


def assert_key(k, kid, alg, thumbprint, admin, name=None):
    assert set(k) == INLINE_FIELDS, "fields %r" % sorted(k)
    assert k["keyId"] == kid
    if name is not None:
        assert k["name"] == name
    assert k["status"] == "active"
    assert k["source"] == "jwks"
    assert k["kty"] == KTY[alg] and k["alg"] == alg, k
    assert k["thumbprint"] == thumbprint, "thumbprint %r, jose says %r" % (
        k["thumbprint"], thumbprint)
    assert TIMESTAMP_RE.match(k["createdAt"]), k
    assert abs(parse_ts(k["createdAt"]) - time.time()) < 120, k
    assert k["createdBy"] == {"id": admin.id, "name": admin.name}, k
    assert k["revokedAt"] is None and k["revokedBy"] is None, k


# --- fixtures --------------------------------------------------------------------

@pytest.fixture(scope="module")
def jose():
    """Keys and signatures made by jose, one node process for the module."""
    ops, idx = [], {}

    def add(name, op):
        idx[name] = len(ops)
        ops.append(op)

    for alg in ALGS:
        add(alg, {"op": "keypair", "alg": alg, "kid": kid_for(alg)})
    add("es256-b", {"op": "keypair", "alg": "ES256", "kid": "k-es256-b"})
    add("es384-noalg", {"op": "keypair", "alg": "ES384", "kid": "k-es384-noalg",
                        "setAlg": False})
    add("eddsa-noalg", {"op": "keypair", "alg": "EdDSA", "kid": "k-eddsa-noalg",
                        "setAlg": False})
    add("ed448", {"op": "keypair", "alg": "EdDSA", "crv": "Ed448", "kid": "k-ed448"})
    add("es256k", {"op": "keypair", "alg": "ES256K", "kid": "k-es256k"})
    add("x25519", {"op": "keypair", "alg": "ECDH-ES", "crv": "X25519", "kid": "k-x25519",
                   "setAlg": False})
    add("rsa1024", {"op": "rsa", "bits": 1024, "kid": "k-rsa1024"})
    add("rsa2048", {"op": "rsa", "bits": 2048, "kid": "k-rsa2048"})
    for alg in ALGS:
        add("jws:" + alg, {"op": "sign", "alg": alg, "key": idx[alg],
                           "header": {"kid": kid_for(alg)}, "payload": payload_for(alg)})
        add("det:" + alg, {"op": "sign", "alg": alg, "key": idx[alg],
                           "header": {"kid": kid_for(alg)}, "payload": payload_for(alg),
                           "detached": True})
    # Signed by es256-b, but naming k-es256: a well-formed signature by another key.
    add("jws:other-key", {"op": "sign", "alg": "ES256", "key": idx["es256-b"],
                          "header": {"kid": "k-es256"}, "payload": "hello"})
    add("jws:big", {"op": "sign", "alg": "ES256", "key": idx["ES256"],
                    "header": {"kid": "k-es256", "typ": "JWT", "cty": "json"},
                    "payload": json.dumps({"pad": "x" * 30000})})
    add("jws:crit", {"op": "sign", "alg": "ES256", "key": idx["ES256"],
                     "header": {"kid": "k-es256", "crit": ["x-signet-test"], "x-signet-test": 1},
                     "crit": {"x-signet-test": True}, "payload": "critical"})
    add("jws:empty", {"op": "sign", "alg": "EdDSA", "key": idx["EdDSA"],
                      "header": {"kid": "k-eddsa"}, "payload": ""})
    res = jose_batch(ops)
    return {name: res[i] for name, i in idx.items()}


@pytest.fixture(scope="module")
def inst(signet_instance):
    if signet_instance.proc is None or signet_instance.proc.poll() is not None:
        signet_instance.stop()
        signet_instance.start()
    return signet_instance


@pytest.fixture(scope="module")
def ctx(inst):
    return Ctx(inst)


@pytest.fixture(scope="module")
def six(ctx, jose):
    """An enterprise holding the six keys, registered as inline JWKS:
    (enterprise id, {alg: (response key, OtpAdmin)})."""
    ent = ctx.enterprise("Six keys")
    out = {}
    for alg in ALGS:
        r, a = ctx.register(ent, {"jwks": {"keys": [jose[alg]["public"]]},
                                  "name": "%s key" % alg})
        out[alg] = (ok(r, 201), a)
    return ent, out


def public(jose, name, **changes):
    jwk = dict(jose[name]["public"])
    for k, v in changes.items():
        if v is None:
            jwk.pop(k, None)
        else:
            jwk[k] = v
    return jwk


# --- registering ---------------------------------------------------------------------

@pytest.mark.parametrize("alg", ALGS)
def test_register_inline(ctx, jose, six, alg):
    ent, keys = six
    k, a = keys[alg]
    assert_key(k, kid_for(alg), alg, jose[alg]["thumbprint"], a, name="%s key" % alg)
    assert ctx.get(ent, kid_for(alg)) == k
    assert k in ctx.list(ent)


def test_thumbprint_rfc7638_example(ctx):
    """The RSA key of RFC 7638 section 3.1 and its published thumbprint."""
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
         "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
         "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
         "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    ent = ctx.enterprise()
    r, _ = ctx.register(ent, {"jwks": {"keys": [{"kty": "RSA", "n": n, "e": "AQAB",
                                                 "alg": "RS256", "kid": "2011-04-29"}]}})
    k = ok(r, 201)
    assert k["thumbprint"] == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", k
    assert k["keyId"] == "2011-04-29" and k["kty"] == "RSA" and k["alg"] == "RS256"


def test_register_without_name(ctx, jose):
    ent = ctx.enterprise()
    r, a = ctx.register(ent, {"jwks": {"keys": [jose["ES256"]["public"]]}})
    k = ok(r, 201)
    assert set(k) == INLINE_FIELDS and "name" in k
    assert_key(k, "k-es256", "ES256", jose["ES256"]["thumbprint"], a)


def test_alg_follows_the_key(ctx, jose):
    """A JWK without alg: the key object's alg is the one its curve allows."""
    ent = ctx.enterprise()
    for name, alg in (("es384-noalg", "ES384"), ("eddsa-noalg", "EdDSA")):
        r, _ = ctx.register(ent, {"jwks": {"keys": [jose[name]["public"]]}})
        k = ok(r, 201)
        assert k["alg"] == alg and k["kty"] == KTY[alg], k
        assert k["thumbprint"] == jose[name]["thumbprint"]
    # An RSA key from node:crypto (no alg): accepted, some RSA alg chosen.
    r, _ = ctx.register(ent, {"jwks": {"keys": [jose["rsa2048"]["public"]]}})
    k = ok(r, 201)
    assert k["kty"] == "RSA" and k["alg"] in ("RS256", "PS256"), k


@pytest.mark.parametrize("name, alg", [("ES256", "ES384"), ("ES256", "RS256"),
                                       ("RS256", "ES256"), ("EdDSA", "ES256"),
                                       ("ES256", "HS256"), ("RS256", "RS512"),
                                       ("ES256", "none")])
def test_jwk_alg_must_fit(ctx, jose, name, alg):
    """A JWK whose alg its key cannot do is refused (docs/api-notes.md)."""
    ent = ctx.enterprise()
    r, _ = ctx.register(ent, {"jwks": {"keys": [public(jose, name, alg=alg)]}})
    err(r, 400, "INVALID_REQUEST")
    assert ctx.list(ent) == []


def test_keyid_given(ctx, jose):
    ent = ctx.enterprise()
    # Same as the kid: fine.
    r, _ = ctx.register(ent, {"jwks": {"keys": [jose["ES256"]["public"]]}, "keyId": "k-es256"})
    assert ok(r, 201)["keyId"] == "k-es256"
    # A JWK without kid takes the keyId given.
    r, _ = ctx.register(ent, {"jwks": {"keys": [public(jose, "ES384", kid=None)]},
                              "keyId": "chosen id"})
    k = ok(r, 201)
    assert k["keyId"] == "chosen id" and k["thumbprint"] == jose["ES384"]["thumbprint"]
    assert ctx.get(ent, "chosen id") == k


def test_keyid_and_kid_differ(ctx, jose):
    ent = ctx.enterprise()
    r, _ = ctx.register(ent, {"jwks": {"keys": [jose["ES256"]["public"]]}, "keyId": "other"})
    err(r, 400, "INVALID_REQUEST")
    # No kid and no keyId: nothing to name the key by.
    r, _ = ctx.register(ent, {"jwks": {"keys": [public(jose, "ES256", kid=None)]}})
    err(r, 400, "INVALID_REQUEST")
    assert ctx.list(ent) == []


def test_several_keys_keyid_selects(ctx, jose):
    ent = ctx.enterprise()
    jwks = {"keys": [jose["ES256"]["public"], jose["es256-b"]["public"],
                     jose["EdDSA"]["public"]]}
    r, _ = ctx.register(ent, {"jwks": jwks, "keyId": "k-es256-b"})
    k = ok(r, 201)
    assert k["keyId"] == "k-es256-b" and k["thumbprint"] == jose["es256-b"]["thumbprint"]
    r, _ = ctx.register(ent, {"jwks": jwks, "keyId": "k-eddsa"})
    k = ok(r, 201)
    assert k["kty"] == "OKP" and k["thumbprint"] == jose["EdDSA"]["thumbprint"]
    # Several keys and no keyId, or a keyId none of them has: 400.
    r, _ = ctx.register(ent, {"jwks": jwks})
    err(r, 400, "INVALID_REQUEST")
    r, _ = ctx.register(ent, {"jwks": jwks, "keyId": "k-none"})
    err(r, 400, "INVALID_REQUEST")
    assert {k["keyId"] for k in ctx.list(ent)} == {"k-es256-b", "k-eddsa"}
    # Only the chosen key was registered: es256's signature names no key.
    res = ctx.verify(ent, jose["jws:ES256"]["jws"])
    assert_invalid(res)


@pytest.mark.parametrize("member", PRIVATE_MEMBERS)
def test_private_member_refused(ctx, jose, member):
    ent = ctx.enterprise()
    base = "RS256" if member in ("p", "q", "dp", "dq", "qi") else "ES256"
    priv = jose[base]["private"]
    value = priv.get(member) or b64u(os.urandom(32))
    r, _ = ctx.register(ent, {"jwks": {"keys": [public(jose, base, **{member: value})]}})
    err(r, 400, "INVALID_REQUEST")
    assert ctx.list(ent) == []


def test_whole_private_jwk_refused(ctx, jose):
    ent = ctx.enterprise()
    for alg in ("RS256", "ES256", "EdDSA"):
        r, _ = ctx.register(ent, {"jwks": {"keys": [jose[alg]["private"]]}})
        err(r, 400, "INVALID_REQUEST")
    r, _ = ctx.register(ent, {"jwks": {"keys": [{"kty": "oct", "k": b64u(os.urandom(32)),
                                                 "kid": "sym", "alg": "HS256"}]}})
    err(r, 400, "INVALID_REQUEST")
    assert ctx.list(ent) == []


def test_short_rsa_refused(ctx, jose):
    ent = ctx.enterprise()
    r, _ = ctx.register(ent, {"jwks": {"keys": [jose["rsa1024"]["public"]]}})
    err(r, 400, "INVALID_REQUEST")
    assert ctx.list(ent) == []


def flip_last_bit(s):
    raw = bytearray(unb64u(s))
    raw[-1] ^= 1
    return b64u(bytes(raw))


@pytest.mark.parametrize("case", ["off-curve-y", "off-curve-x", "short-x", "wrong-curve",
                                  "p384-coords-as-p256", "no-y", "okp-short"])
def test_bad_ec_point_refused(ctx, jose, case):
    ent = ctx.enterprise()
    if case == "off-curve-y":
        jwk = public(jose, "ES256", y=flip_last_bit(jose["ES256"]["public"]["y"]))
    elif case == "off-curve-x":
        jwk = public(jose, "ES384", x=flip_last_bit(jose["ES384"]["public"]["x"]))
    elif case == "short-x":
        jwk = public(jose, "ES256", x=b64u(unb64u(jose["ES256"]["public"]["x"])[1:]))
    elif case == "wrong-curve":
        jwk = public(jose, "ES256", crv="P-192")
    elif case == "p384-coords-as-p256":
        jwk = public(jose, "ES384", crv="P-256", alg=None)
    elif case == "no-y":
        jwk = public(jose, "ES256", y=None)
    else:
        jwk = public(jose, "EdDSA", x=b64u(unb64u(jose["EdDSA"]["public"]["x"])[:31]))
    r, _ = ctx.register(ent, {"jwks": {"keys": [jwk]}})
    err(r, 400, "INVALID_REQUEST")
    assert ctx.list(ent) == []


@pytest.mark.parametrize("name", ["ed448", "es256k", "x25519"])
def test_unsupported_curve_refused(ctx, jose, name):
    ent = ctx.enterprise()
    r, _ = ctx.register(ent, {"jwks": {"keys": [jose[name]["public"]]}})
    err(r, 400, "INVALID_REQUEST")


@pytest.mark.parametrize("case", ["x-padded", "x-plus", "x-slash", "x-space", "n-std-b64",
                                  "e-padded", "n-bad-char", "x-not-string"])
def test_bad_base64url_refused(ctx, jose, case):
    ent = ctx.enterprise()
    x = jose["ES256"]["public"]["x"]
    n = jose["RS256"]["public"]["n"]
    if case == "x-padded":
        # 32 bytes are 43 chars: one "=" of padding makes it standard base64.
        jwk = public(jose, "ES256", x=x + "=")
    elif case == "x-plus":
        jwk = public(jose, "ES256", x=x.replace("-", "+").replace("_", "+")
                     if ("-" in x or "_" in x) else "+" + x[1:])
    elif case == "x-slash":
        jwk = public(jose, "ES256", x="/" + x[1:])
    elif case == "x-space":
        jwk = public(jose, "ES256", x=x[:20] + " " + x[20:])
    elif case == "n-std-b64":
        raw = unb64u(n)
        std = base64.b64encode(raw).decode()
        if std.rstrip("=") == n:  # no +, / or padding by chance: force one
            std = std + "=" if not std.endswith("=") else std
        jwk = public(jose, "RS256", n=std)
    elif case == "e-padded":
        jwk = public(jose, "RS256", e="AQAB=")
    elif case == "n-bad-char":
        jwk = public(jose, "RS256", n=n[:100] + "*" + n[101:])
    else:
        jwk = public(jose, "ES256", x=12345)
    r, _ = ctx.register(ent, {"jwks": {"keys": [jwk]}})
    err(r, 400, "INVALID_REQUEST")
    assert ctx.list(ent) == []


def test_other_jwk_members_allowed(ctx, jose):
    """Unknown members inside a JWK or a JWK Set are not refused (RFC 7517)."""
    ent = ctx.enterprise()
    jwk = public(jose, "ES256", use="sig", key_ops=["verify"], x5t="abc", extra={"a": [1]})
    r, _ = ctx.register(ent, {"jwks": {"keys": [jwk], "comment": "ours"}})
    k = ok(r, 201)
    assert k["thumbprint"] == jose["ES256"]["thumbprint"]


@pytest.mark.parametrize("body, field", [
    ({"jwks": "JWKS", "keyId": "a"}, "jwks"),
    ({"jwks": {"keys": []}}, "jwks"),
    ({"jwks": {"keys": "x"}}, "jwks"),
    ({"jwks": {}}, "jwks"),
    ({"jwks": {"keys": ["not a key"]}, "keyId": "a"}, None),
    ({"jwks": {"keys": [{"kty": "EC"}]}, "keyId": "a"}, None),
    ({"keyId": "a"}, None),
    ({}, None),
    ({"name": "no key"}, None),
    ({"jwks": {"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}, "keyId": 5}, "keyId"),
    ({"jwksUri": 5, "keyId": "a"}, "jwksUri"),
    ({"jwksUri": "https://jwks.example/keys", "jwks": {"keys": []}, "keyId": "a"}, None),
    ({"keyId": "a", "foo": 1}, "foo"),
])
def test_bad_register_body(ctx, body, field):
    ent = ctx.enterprise()
    r, _ = ctx.register(ent, body)
    err(r, 400, "INVALID_REQUEST", mentions=field)


def test_bad_register_fields_with_valid_key(ctx, jose):
    ent = ctx.enterprise()
    good = {"jwks": {"keys": [jose["ES256"]["public"]]}}
    for extra, field in (({"name": 7}, "name"), ({"keyId": ["a"]}, "keyId"),
                         ({"kid": "x"}, "kid"), ({"jwksUri": "https://a.example/j"}, None),
                         ({"keyId": "x" * 256}, "keyId"), ({"keyId": ""}, "keyId")):
        body = dict(good, **extra)
        r, _ = ctx.register(ent, body)
        err(r, 400, "INVALID_REQUEST", mentions=field)
    assert ctx.list(ent) == []


def test_keyid_of_255_characters(ctx, jose):
    ent = ctx.enterprise()
    kid = "k" * 255
    r, _ = ctx.register(ent, {"jwks": {"keys": [public(jose, "ES256", kid=None)]}, "keyId": kid})
    assert ok(r, 201)["keyId"] == kid
    assert ctx.get(ent, kid)["keyId"] == kid


def test_keyid_with_spaces_and_unicode(ctx, jose):
    """keyIds are path segments: percent-encoded in the URL, decoded once."""
    ent = ctx.enterprise()
    kid = "clé 2025 %41+"
    r, _ = ctx.register(ent, {"jwks": {"keys": [public(jose, "ES256", kid=kid)]}})
    k = ok(r, 201)
    assert k["keyId"] == kid
    assert ctx.get(ent, kid) == k
    r, _ = ctx.revoke(ent, kid)
    assert ok(r)["status"] == "revoked"
    assert [x["keyId"] for x in ctx.list(ent)] == [kid]


def test_keyid_tombstoned(ctx, jose):
    ent = ctx.enterprise()
    r, _ = ctx.register(ent, {"jwks": {"keys": [jose["ES256"]["public"]]}})
    ok(r, 201)
    # Reused while active, even with another key.
    r, _ = ctx.register(ent, {"jwks": {"keys": [public(jose, "es256-b", kid="k-es256")]}})
    err(r, 400, "KEY_ID_ALREADY_USED")
    r, _ = ctx.revoke(ent, "k-es256")
    ok(r)
    # Reused after revocation: still refused, with the same key or another.
    for jwk in (jose["ES256"]["public"], public(jose, "EdDSA", kid="k-es256")):
        r, _ = ctx.register(ent, {"jwks": {"keys": [jwk]}})
        err(r, 400, "KEY_ID_ALREADY_USED")
    r, _ = ctx.register(ent, {"jwks": {"keys": [public(jose, "ES384", kid=None)]},
                              "keyId": "k-es256"})
    err(r, 400, "KEY_ID_ALREADY_USED")
    keys = ctx.list(ent)
    assert len(keys) == 1 and keys[0]["status"] == "revoked"
    assert keys[0]["thumbprint"] == jose["ES256"]["thumbprint"]
    # Another enterprise may use the same keyId.
    other = ctx.enterprise("Other")
    r, _ = ctx.register(other, {"jwks": {"keys": [jose["ES256"]["public"]]}})
    assert ok(r, 201)["keyId"] == "k-es256"


# --- listing, reading, revoking --------------------------------------------------------

def test_list_get_revoke(ctx, jose):
    ent = ctx.enterprise()
    made = {}
    for alg in ("ES256", "EdDSA", "RS256"):
        r, a = ctx.register(ent, {"jwks": {"keys": [jose[alg]["public"]]}, "name": alg})
        made[kid_for(alg)] = ok(r, 201)
    listed = ctx.list(ent)
    assert sorted(listed, key=lambda k: k["keyId"]) == sorted(made.values(),
                                                              key=lambda k: k["keyId"])
    # Any role reads.
    for tok in (ctx.member, ctx.admin):
        assert ok(ctx.inst.req("GET", keys_path(ent, "k-eddsa"), tok)) == made["k-eddsa"]

    r, a = ctx.revoke(ent, "k-eddsa")
    rev = ok(r, 200)
    assert set(rev) == INLINE_FIELDS
    assert rev["status"] == "revoked"
    assert TIMESTAMP_RE.match(rev["revokedAt"]), rev
    assert parse_ts(made["k-eddsa"]["createdAt"]) <= parse_ts(rev["revokedAt"]) <= time.time() + 5
    assert rev["revokedBy"] == {"id": a.id, "name": a.name}, rev
    for f in INLINE_FIELDS - {"status", "revokedAt", "revokedBy"}:
        assert rev[f] == made["k-eddsa"][f], f
    assert ctx.get(ent, "k-eddsa") == rev
    listed = {k["keyId"]: k for k in ctx.list(ent)}
    assert set(listed) == set(made), "a revoked key left the list"
    assert listed["k-eddsa"] == rev
    assert listed["k-es256"]["status"] == "active" and listed["k-rs256"]["status"] == "active"

    r, _ = ctx.revoke(ent, "k-eddsa")
    err(r, 409, "KEY_ALREADY_REVOKED")
    assert ctx.get(ent, "k-eddsa") == rev, "a refused second revoke changed the key"
    r, _ = ctx.revoke(ent, "k-nope")
    err(r, 404, "NOT_FOUND")
    err(ctx.inst.req("GET", keys_path(ent, "k-nope"), ctx.member), 404, "NOT_FOUND")


def test_keys_of_unknown_or_foreign_enterprise(ctx, jose):
    ent = ctx.enterprise()
    r, _ = ctx.register(ent, {"jwks": {"keys": [jose["ES256"]["public"]]}})
    ok(r, 201)
    stranger = Ctx(ctx.inst, name="stranger")
    absent = "ent_" + "0" * 32
    for e in (ent, absent):
        err(stranger.inst.req("GET", keys_path(e), stranger.member), 404, "NOT_FOUND")
        err(stranger.inst.req("GET", keys_path(e, "k-es256"), stranger.member), 404,
            "NOT_FOUND")
        err(stranger.inst.req("POST", "/v1/enterprises/%s/verify" % e, stranger.member,
                               json={"jws": jose["jws:ES256"]["jws"]}), 404, "NOT_FOUND")
        r, _ = stranger.revoke(e, "k-es256")
        err(r, 404, "NOT_FOUND")
        r, _ = stranger.register(e, {"jwks": {"keys": [jose["ES384"]["public"]]}})
        err(r, 404, "NOT_FOUND")
    assert ctx.get(ent, "k-es256")["status"] == "active"
    assert len(ctx.list(ent)) == 1


def test_malformed_enterprise_id(ctx):
    for bad in ("ent_123", "ep_" + "0" * 32, "ent_" + "z" * 32):
        err(ctx.inst.req("GET", keys_path(bad), ctx.member), 400, "INVALID_REQUEST")
        err(ctx.inst.req("GET", keys_path(bad, "k"), ctx.member), 400, "INVALID_REQUEST")
        err(ctx.inst.req("POST", "/v1/enterprises/%s/verify" % bad, ctx.member,
                         json={"jws": "a.b.c"}), 400, "INVALID_REQUEST")


def test_reads_need_auth(ctx):
    ent = ctx.enterprise()
    for method, path, body in (("GET", keys_path(ent), None), ("GET", keys_path(ent, "k"), None),
                               ("POST", "/v1/enterprises/%s/verify" % ent, {"jws": "a.b.c"})):
        kw = {"json": body} if body is not None else {}
        err(ctx.inst.req(method, path, None, **kw), 401, "UNAUTHORIZED",
            message=UNAUTHORIZED_MESSAGE)


# --- verification --------------------------------------------------------------------------

def tamper_payload(jws):
    h, p, s = jws.split(".")
    raw = unb64u(p)
    return ".".join([h, b64u(raw.replace(b"4200", b"9999") if b"4200" in raw else raw + b" "), s])


def tamper_signature(jws):
    h, p, s = jws.split(".")
    raw = bytearray(unb64u(s))
    raw[len(raw) // 2] ^= 0x01
    return ".".join([h, p, b64u(bytes(raw))])


def with_header(jws, **changes):
    h, p, s = jws.split(".")
    hdr = json.loads(unb64u(h))
    for k, v in changes.items():
        if v is None:
            hdr.pop(k, None)
        else:
            hdr[k] = v
    return ".".join([b64u(json.dumps(hdr, separators=(",", ":"))), p, s])


@pytest.mark.parametrize("alg", ALGS)
def test_verify_jose_signature(ctx, jose, six, alg):
    ent, _ = six
    jws = jose["jws:" + alg]["jws"]
    kid = kid_for(alg)
    assert_valid(ctx.verify(ent, jws), kid, alg)
    # Any role verifies.
    assert_valid(ctx.verify(ent, jws, token=ctx.admin), kid, alg)
    # Tampered payload or signature.
    assert_invalid(ctx.verify(ent, tamper_payload(jws)), "payload changed")
    assert_invalid(ctx.verify(ent, tamper_signature(jws)), "signature changed")
    h, p, s = jws.split(".")
    assert_invalid(ctx.verify(ent, ".".join([h, p, s[:-4]])), "signature cut")
    assert_invalid(ctx.verify(ent, with_header(jws, typ="JWT")), "header changed")


def test_verify_sets_last_verified_at(ctx, jose):
    """lastVerifiedAt: null until the key verifies a JWS, then that verify's
    time (seconds), at once; a refused JWS changes nothing."""
    ent = ctx.enterprise("Last verified")
    for alg in ("EdDSA", "ES256"):
        r, _ = ctx.register(ent, {"jwks": {"keys": [jose[alg]["public"]]}})
        ok(r, 201)
    jws = jose["jws:EdDSA"]["jws"]
    kid = kid_for("EdDSA")
    assert ctx.get(ent, kid)["lastVerifiedAt"] is None
    assert_invalid(ctx.verify(ent, tamper_signature(jws)), "signature changed")
    assert ctx.get(ent, kid)["lastVerifiedAt"] is None
    before = int(time.time())
    assert_valid(ctx.verify(ent, jws), kid, "EdDSA")
    after = int(time.time())
    seen = ctx.get(ent, kid)["lastVerifiedAt"]
    at = calendar.timegm(time.strptime(seen, "%Y-%m-%dT%H:%M:%SZ"))
    assert before - 1 <= at <= after, (before, seen, after)
    assert ctx.get(ent, kid_for("ES256"))["lastVerifiedAt"] is None
    assert {k["keyId"]: k["lastVerifiedAt"] is not None for k in ctx.list(ent)} == \
        {kid: True, kid_for("ES256"): False}


@pytest.mark.parametrize("alg", ALGS)
def test_verify_detached(ctx, jose, six, alg):
    ent, _ = six
    det = jose["det:" + alg]["jws"]
    assert det.split(".")[1] == ""
    payload = payload_for(alg)
    assert_valid(ctx.verify(ent, det, payload), kid_for(alg), alg)
    assert_invalid(ctx.verify(ent, det, payload + " "), "wrong detached payload")
    assert_invalid(ctx.verify(ent, det, payload.replace("4200", "4201")),
                   "wrong detached payload")
    assert_invalid(ctx.verify(ent, det), "detached JWS without its payload")
    # The detached payload is the raw payload, not its base64url.
    assert_invalid(ctx.verify(ent, det, b64u(payload)), "payload given as base64url")
    # An attached JWS re-made by hand from the detached one verifies too.
    h, _, s = det.split(".")
    assert_valid(ctx.verify(ent, ".".join([h, b64u(payload), s])), kid_for(alg), alg)


def test_verify_large_and_empty_payloads(ctx, jose, six):
    ent, _ = six
    assert_valid(ctx.verify(ent, jose["jws:big"]["jws"]), "k-es256", "ES256")
    assert_valid(ctx.verify(ent, jose["jws:empty"]["jws"]), "k-eddsa", "EdDSA")


@pytest.mark.parametrize("src, alg", [
    ("ES256", "ES384"),
    ("ES256", "ES512"),
    ("ES384", "ES256"),
    ("ES256", "RS256"),
    ("RS256", "ES256"),
    ("RS256", "EdDSA"),
    ("EdDSA", "ES256"),
    ("ES512", "PS256"),
])
def test_alg_must_fit_the_key(ctx, jose, six, src, alg):
    """The header names an alg the kid's key cannot do."""
    ent, _ = six
    jws = with_header(jose["jws:" + src]["jws"], alg=alg)
    assert_invalid(ctx.verify(ent, jws), "%s header on a %s key" % (alg, src))


def test_alg_none_and_hmac_refused(ctx, jose, six):
    ent, _ = six
    kid = "k-es256"
    payload = b64u('{"a": 1}')
    none = b64u(json.dumps({"alg": "none", "kid": kid})) + "." + payload + "."
    res = ctx.verify(ent, none)
    assert_invalid(res, "alg none")
    assert "none" in res["reason"].lower(), res
    # HS256 keyed with the public key's bytes: the classic confusion attack.
    pub = jose["ES256"]["public"]
    for alg, digest in (("HS256", hashlib.sha256), ("HS384", hashlib.sha384),
                        ("HS512", hashlib.sha512)):
        h = b64u(json.dumps({"alg": alg, "kid": kid}))
        for key in (json.dumps(pub).encode(), unb64u(pub["x"]) + unb64u(pub["y"]), b""):
            sig = b64u(hmac.new(key, (h + "." + payload).encode(), digest).digest())
            assert_invalid(ctx.verify(ent, h + "." + payload + "." + sig), alg)
    # Other algorithms: not accepted.
    for alg in ("RS384", "RS512", "PS384", "ES256K", "Ed25519", "es256", ""):
        assert_invalid(ctx.verify(ent, with_header(jose["jws:ES256"]["jws"], alg=alg)), alg)
    assert_invalid(ctx.verify(ent, with_header(jose["jws:ES256"]["jws"], alg=None)), "no alg")


def test_crit_header_refused(ctx, jose, six):
    """A correctly signed JWS whose crit names an extension Signet does not
    know must not verify (RFC 7515 section 4.1.11; docs/api-notes.md)."""
    ent, _ = six
    jws = jose["jws:crit"]["jws"]
    assert_invalid(ctx.verify(ent, jws), "crit")
    # Without the crit members the (then changed) header no longer matches.
    assert_invalid(ctx.verify(ent, with_header(jws, crit=None)), "header changed")


def test_signature_of_another_key(ctx, jose, six):
    ent, _ = six
    assert_invalid(ctx.verify(ent, jose["jws:other-key"]["jws"]), "signed by another key")


def test_unknown_and_missing_kid(ctx, jose, six):
    ent, _ = six
    jws = jose["jws:ES256"]["jws"]
    assert_invalid(ctx.verify(ent, with_header(jws, kid="k-unknown")), "unknown kid")
    assert_invalid(ctx.verify(ent, with_header(jws, kid=None)), "no kid")
    assert_invalid(ctx.verify(ent, with_header(jws, kid=5)), "kid not a string")
    # A key of another enterprise of the same account does not count.
    other = ctx.enterprise("Empty")
    assert_invalid(ctx.verify(other, jws), "kid of another enterprise")


def test_revoked_key_does_not_verify(ctx, jose):
    ent = ctx.enterprise()
    for alg in ("PS256", "ES512"):
        r, _ = ctx.register(ent, {"jwks": {"keys": [jose[alg]["public"]]}})
        ok(r, 201)
    assert_valid(ctx.verify(ent, jose["jws:PS256"]["jws"]), "k-ps256", "PS256")
    r, _ = ctx.revoke(ent, "k-ps256")
    ok(r)
    assert_invalid(ctx.verify(ent, jose["jws:PS256"]["jws"]), "revoked key")
    assert_invalid(ctx.verify(ent, jose["det:PS256"]["jws"], payload_for("PS256")),
                   "revoked key, detached")
    # The other key is unaffected.
    assert_valid(ctx.verify(ent, jose["jws:ES512"]["jws"]), "k-es512", "ES512")


@pytest.mark.parametrize("garbage", [
    "", "garbage", "a.b", "a.b.c", "a.b.c.d", "..", "...", "eyJ.eyJ.eyJ",
    "ü.ü.ü", "e30.e30.e30", b64u("[]") + ".e30.AAAA", b64u('"x"') + ".e30.AAAA",
    b64u('{"alg": "ES256", "kid": "k-es256"') + ".e30.AAAA",
    "x" * 20000, " " + "a.b.c",
])
def test_garbage_jws_is_invalid_not_400(ctx, six, garbage):
    ent, _ = six
    assert_invalid(ctx.verify(ent, garbage), repr(garbage[:40]))


def test_signature_not_base64url(ctx, jose, six):
    ent, _ = six
    h, p, s = jose["jws:ES256"]["jws"].split(".")
    for bad in (s + "=", s.replace(s[5], "+", 1) if s[5] not in "+" else "+" + s[1:],
                s[:10] + "*" + s[11:], ""):
        assert_invalid(ctx.verify(ent, ".".join([h, p, bad])), bad[:20])
    for bad_p in (p + "=", p[:5] + "!" + p[6:]):
        assert_invalid(ctx.verify(ent, ".".join([h, bad_p, s])), "bad payload part")


@pytest.mark.parametrize("body, field", [
    ({}, "jws"),
    ({"jws": None}, "jws"),
    ({"jws": 5}, "jws"),
    ({"jws": ["a.b.c"]}, "jws"),
    ({"jws": {"protected": "x"}}, "jws"),
    ({"jws": True}, "jws"),
    ({"payload": "x"}, "jws"),
    ({"jws": "a.b.c", "payload": 5}, "payload"),
    ({"jws": "a.b.c", "extra": 1}, "extra"),
])
def test_verify_bad_body(ctx, six, body, field):
    ent, _ = six
    err(ctx.inst.req("POST", "/v1/enterprises/%s/verify" % ent, ctx.member, json=body),
        400, "INVALID_REQUEST", mentions=field)


def test_verify_unknown_enterprise(ctx, jose):
    err(ctx.inst.req("POST", "/v1/enterprises/ent_%s/verify" % uuid.uuid4().hex, ctx.member,
                     json={"jws": jose["jws:ES256"]["jws"]}), 404, "NOT_FOUND")
