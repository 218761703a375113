"""docs/api.md: `POST /v1/{workspace}/verify-token`, with JWTs signed by
the `jose` npm library using the private keys Signet hands out, and `jose`'s
createRemoteJWKSet reading Signet's jwks.json."""

import base64
import datetime
import hashlib
import hmac
import json
import time

import pytest

from harness import err, ok
from test_workspaces import (ALGORITHMS, MICRO_TS_RE, create_key, create_ws, get_key, jose_sign, jwks_kids,
                             keys_path, micro, new_slug, node_jose, rfc3339, roll, utcnow, ws_path)

LEEWAY = 60
MAX_WAIT = 15.0   # seconds any test waits for a deadline to pass


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj):
    return b64url(json.dumps(obj, separators=(",", ":")))


def verify_token(signet, token, ws, jwt, origin=None, headers=None):
    body = {"token": jwt}
    if origin is not None:
        body["origin"] = origin
    res = ok(signet.req("POST", ws_path(ws, "verify-token"), token, json=body, headers=headers))
    assert isinstance(res.get("valid"), bool), res
    return res


def assert_valid(res, key, claims=None):
    assert res["valid"] is True, res
    assert res["uid"] == key["uid"], res
    if claims is not None:
        assert res["claims"] == claims, res
    assert res.get("reason") in (None, ""), res


def assert_invalid(res, what=""):
    assert res["valid"] is False, "%s: %r" % (what, res)
    assert isinstance(res.get("reason"), str) and res["reason"].strip(), \
        "%s: invalid without a reason: %r" % (what, res)


def claims_now(**extra):
    now = int(time.time())
    c = {"sub": "user_42", "iss": "https://issuer.example", "aud": "signet-tests",
         "iat": now, "exp": now + 600, "scope": ["read", "write"], "ctx": {"n": 1, "ok": True}}
    c.update(extra)
    return c


def sleep_until(deadline_dt, margin=0.3):
    """Sleep until a UTC datetime has passed (plus a margin), bounded by MAX_WAIT."""
    wait = (deadline_dt - utcnow()).total_seconds() + margin
    assert wait <= MAX_WAIT, "would wait %.1f s" % wait
    if wait > 0:
        time.sleep(wait)


def remote_verify(signet, ws, tokens):
    return node_jose("remote-verify", {"jwks_url": signet.base + ws_path(ws, "jwks.json"),
                                       "tokens": tokens})["results"]


@pytest.fixture
def ws_env(signet):
    """(admin token, member token, workspace slug) of a fresh account."""
    acct = signet.ctl("account", "create", "--name", "tokens")["id"]
    admin = signet.apikey(acct, "admin", name="token admin")["token"]
    member = signet.apikey(acct, "member", name="token member")["token"]
    return admin, member, create_ws(signet, admin)


# --- signatures -------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_jose_token_verifies(signet, ws_env, algorithm):
    admin, member, ws = ws_env
    key = create_key(signet, admin, ws, algorithm=algorithm)
    claims = claims_now()
    bare = {"sub": "no-exp"}
    jwt, jwt_bare = jose_sign(key, [{"claims": claims}, {"claims": bare}])
    hdr = json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "=="))
    assert hdr["kid"] == key["uid"] and hdr["alg"] == algorithm
    assert_valid(verify_token(signet, admin, ws, jwt), key, claims)
    assert_valid(verify_token(signet, member, ws, jwt), key, claims)
    assert_valid(verify_token(signet, None, ws, jwt,
                              headers={"Authorization": "ServiceToken " + member}), key, claims)
    # No exp/nbf at all: nothing to check but the signature.
    assert_valid(verify_token(signet, admin, ws, jwt_bare), key, bare)


def test_last_verified_at(signet, ws_env):
    """A key's last_verified_at (microseconds, like its other times): null
    until a token it signed verifies, then that verify's time, seen at once;
    a refused token changes nothing."""
    admin, member, ws = ws_env
    key = create_key(signet, admin, ws, algorithm="EdDSA")
    other = create_key(signet, admin, ws, algorithm="EdDSA")
    assert get_key(signet, member, ws, key["uid"])["last_verified_at"] is None
    claims = claims_now()
    jwt, = jose_sign(key, [{"claims": claims}])
    assert verify_token(signet, member, ws, jwt[:-6] + "AAAAAA")["valid"] is False
    assert get_key(signet, member, ws, key["uid"])["last_verified_at"] is None
    before = utcnow()
    assert_valid(verify_token(signet, member, ws, jwt), key, claims)
    after = utcnow()
    seen = get_key(signet, member, ws, key["uid"])["last_verified_at"]
    assert MICRO_TS_RE.match(seen), seen
    at = datetime.datetime.strptime(seen, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    assert before - datetime.timedelta(seconds=1) <= at <= after, (before, at, after)
    assert get_key(signet, member, ws, other["uid"])["last_verified_at"] is None


def test_remote_jwks_verifies(signet, ws_env):
    admin, _, ws = ws_env
    keys = [create_key(signet, admin, ws, algorithm=a) for a in ALGORITHMS]
    claims = claims_now()
    tokens = [jose_sign(k, [{"claims": dict(claims, alg_used=k["algorithm"])}])[0] for k in keys]
    # Signet agrees ...
    for k, t in zip(keys, tokens):
        assert_valid(verify_token(signet, admin, ws, t), k, dict(claims, alg_used=k["algorithm"]))
    # ... and so does jose, fetching the workspace's jwks.json.
    foreign_ws = create_ws(signet, admin)
    foreign = create_key(signet, admin, foreign_ws)
    foreign_tok = jose_sign(foreign, [{"claims": claims}])[0]
    tampered = tokens[0][:-8] + ("A" if tokens[0][-8] != "A" else "B") + tokens[0][-7:]
    results = remote_verify(signet, ws, tokens + [foreign_tok, tampered])
    for k, t, res in zip(keys, tokens, results):
        assert res["valid"] is True, (k["algorithm"], res)
        assert res["kid"] == k["uid"] and res["alg"] == k["algorithm"], res
        assert res["claims"] == dict(claims, alg_used=k["algorithm"]), res
    assert results[3]["valid"] is False, "jose accepted a key of another workspace: %r" % results[3]
    assert results[4]["valid"] is False, results[4]


def _flip(s, i):
    return s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tampered_tokens_invalid(signet, ws_env, algorithm):
    admin, _, ws = ws_env
    key = create_key(signet, admin, ws, algorithm=algorithm)
    other = create_key(signet, admin, ws, algorithm=algorithm)
    claims = claims_now()
    jwt, = jose_sign(key, [{"claims": claims}])
    h, p, s = jwt.split(".")
    assert_valid(verify_token(signet, admin, ws, jwt), key, claims)
    forged_claims = dict(claims, sub="admin")
    cases = {
        "signature changed": "%s.%s.%s" % (h, p, _flip(s, len(s) // 2)),
        "payload changed": "%s.%s.%s" % (h, b64url_json(forged_claims), s),
        "signature removed": "%s.%s." % (h, p),
        "kid names another key": "%s.%s.%s" % (
            b64url_json({"alg": algorithm, "kid": other["uid"], "typ": "JWT"}), p, s),
        "kid unknown": "%s.%s.%s" % (
            b64url_json({"alg": algorithm, "kid": "signing_key_" + "0" * 24}), p, s),
        "no kid": "%s.%s.%s" % (b64url_json({"alg": algorithm, "typ": "JWT"}), p, s),
        "alg none": "%s.%s." % (b64url_json({"alg": "none", "kid": key["uid"]}), p),
    }
    # Algorithm confusion: HS256 keyed with the public key's PEM text.
    hs_head = b64url_json({"alg": "HS256", "kid": key["uid"], "typ": "JWT"})
    mac = hmac.new(key["public_key_pem"].encode(), ("%s.%s" % (hs_head, p)).encode(),
                   hashlib.sha256).digest()
    cases["HS256 with the public key"] = "%s.%s.%s" % (hs_head, p, b64url(mac))
    wrong_alg = {"ES256": "RS256", "RS256": "ES256", "EdDSA": "ES256"}[algorithm]
    cases["header alg does not fit the key"] = "%s.%s.%s" % (
        b64url_json({"alg": wrong_alg, "kid": key["uid"]}), p, s)
    for what, t in cases.items():
        assert_invalid(verify_token(signet, admin, ws, t), what)
    # The untouched token still verifies.
    assert_valid(verify_token(signet, admin, ws, jwt), key, claims)


def test_token_of_another_workspace_invalid(signet, ws_env):
    admin, _, ws = ws_env
    other_ws = create_ws(signet, admin)
    key = create_key(signet, admin, other_ws)
    create_key(signet, admin, ws)
    claims = claims_now()
    jwt, = jose_sign(key, [{"claims": claims}])
    assert_valid(verify_token(signet, admin, other_ws, jwt), key)
    assert_invalid(verify_token(signet, admin, ws, jwt), "key of another workspace")


def test_garbage_tokens_invalid(signet, ws_env):
    admin, _, ws = ws_env
    create_key(signet, admin, ws)
    for junk in ("garbage", "", "a.b.c", "...", "a.b", "a.b.c.d.e", "eyJhbGciOiJFUzI1NiJ9..",
                 b64url_json({"alg": "ES256"}) + "." + b64url("not json") + ".AAAA",
                 b64url("[1,2]") + "." + b64url_json({}) + ".AAAA",
                 "\u00e9.\u00e9.\u00e9", "x" * 5000):
        assert_invalid(verify_token(signet, admin, ws, junk), repr(junk[:40]))


def test_verify_token_body_validation(signet, ws_env):
    admin, _, ws = ws_env
    p = ws_path(ws, "verify-token")
    for body in ({}, {"token": None}, {"token": 5}, {"token": ["a.b.c"]}, {"token": {"t": 1}},
                 {"token": True}, {"origin": "https://example.com"}):
        err(signet.req("POST", p, admin, json=body), 400, "INVALID_REQUEST", mentions="token")
    err(signet.req("POST", p, admin, json={"token": "a.b.c", "origin": 5}), 400,
        "INVALID_REQUEST", mentions="origin")
    err(signet.req("POST", p, admin, json={"token": "a.b.c", "audience": "x"}), 400,
        "INVALID_REQUEST", mentions="audience")
    err(signet.req("POST", p, None, json={"token": "a.b.c"}), 401, "UNAUTHORIZED")
    _, _, stranger = signet.account()
    err(signet.req("POST", p, stranger, json={"token": "a.b.c"}), 404, "NOT_FOUND")
    err(signet.req("POST", ws_path(new_slug("nope"), "verify-token"), admin,
                   json={"token": "a.b.c"}), 404, "NOT_FOUND")


# --- time claims and key expiry -----------------------------------------------------------

def test_exp_and_nbf_with_leeway(signet, ws_env):
    admin, _, ws = ws_env
    key = create_key(signet, admin, ws, algorithm="EdDSA")
    now = int(time.time())
    cases = [
        ("exp 30 s ago (within leeway)", {"exp": now - 30}, True),
        ("exp 120 s ago", {"exp": now - 120}, False),
        ("exp 1 h ago", {"exp": now - 3600}, False),
        ("nbf in 30 s (within leeway)", {"nbf": now + 30}, True),
        ("nbf in 120 s", {"nbf": now + 120}, False),
        ("nbf in 1 day", {"nbf": now + 86400, "exp": now + 2 * 86400}, False),
        ("nbf past, exp future", {"nbf": now - 10, "exp": now + 3600}, True),
        ("both outside", {"nbf": now + 600, "exp": now - 600}, False),
    ]
    tokens = jose_sign(key, [{"claims": dict(c, sub="t")} for _, c, _ in cases])
    for (what, c, want), t in zip(cases, tokens):
        res = verify_token(signet, admin, ws, t)
        if want:
            assert_valid(res, key, dict(c, sub="t"))
        else:
            assert_invalid(res, what)


def test_key_expiry_at(signet, ws_env):
    admin, _, ws = ws_env
    key = create_key(signet, admin, ws)
    keep = create_key(signet, admin, ws, algorithm="RS256")
    jwt, = jose_sign(key, [{"claims": {"sub": "expiring"}}])
    keep_jwt, = jose_sign(keep, [{"claims": {"sub": "kept"}}])
    expiry = utcnow() + datetime.timedelta(seconds=2.5)
    got = ok(signet.req("PATCH", keys_path(ws, key["uid"]), admin,
                        json={"expiry_at": rfc3339(expiry)}))
    assert micro(got["expiry_at"]) == expiry
    assert_valid(verify_token(signet, admin, ws, jwt), key)
    assert key["uid"] in jwks_kids(signet, ws)

    sleep_until(expiry)
    assert_invalid(verify_token(signet, admin, ws, jwt), "after the key's expiry_at")
    # No leeway for expiry_at, and an expired key is no longer published.
    assert jwks_kids(signet, ws) == [keep["uid"]]
    assert_valid(verify_token(signet, admin, ws, keep_jwt), keep)
    assert get_key(signet, admin, ws, key["uid"])["expiry_at"] == got["expiry_at"]


def test_expiry_at_cleared_verifies_again(signet, ws_env):
    admin, _, ws = ws_env
    key = create_key(signet, admin, ws, algorithm="EdDSA")
    jwt, = jose_sign(key, [{"claims": {"sub": "x"}}])
    expiry = utcnow() + datetime.timedelta(seconds=1.5)
    ok(signet.req("PATCH", keys_path(ws, key["uid"]), admin, json={"expiry_at": rfc3339(expiry)}))
    sleep_until(expiry)
    assert_invalid(verify_token(signet, admin, ws, jwt), "expired key")
    # A past expiry cannot be set again, but it can be cleared or moved ahead.
    err(signet.req("PATCH", keys_path(ws, key["uid"]), admin,
                   json={"expiry_at": rfc3339(expiry)}), 400, "INVALID_REQUEST",
        mentions="expiry_at")
    ok(signet.req("PATCH", keys_path(ws, key["uid"]), admin, json={"expiry_at": None}))
    assert_valid(verify_token(signet, admin, ws, jwt), key)
    assert jwks_kids(signet, ws) == [key["uid"]]


# --- allowed_domains vs origin ---------------------------------------------------------------

def test_allowed_domains_and_origin(signet, ws_env):
    admin, _, ws = ws_env
    key = create_key(signet, admin, ws, algorithm="RS256",
                     allowed_domains=["Example.COM", "api.test"])
    free = create_key(signet, admin, ws)
    jwt, = jose_sign(key, [{"claims": {"sub": "o"}}])
    free_jwt, = jose_sign(free, [{"claims": {"sub": "o"}}])
    good = ["https://example.com", "https://EXAMPLE.com:8443/path?q=1", "http://example.com/",
            "https://api.test", "http://API.TEST:80", "https://Example.Com"]
    bad = ["https://evil.com", "https://sub.example.com", "https://example.com.evil.com",
           "https://api.test.example.com", "https://notexample.com", "https://example.co"]
    for origin in good:
        assert_valid(verify_token(signet, admin, ws, jwt, origin=origin), key)
    for origin in bad:
        assert_invalid(verify_token(signet, admin, ws, jwt, origin=origin), origin)
    # No origin given: not checked.
    assert_valid(verify_token(signet, admin, ws, jwt), key)
    # A key without allowed_domains accepts any origin.
    for origin in bad:
        assert_valid(verify_token(signet, admin, ws, free_jwt, origin=origin), free)

    # PATCH changes the rule; null removes it.
    ok(signet.req("PATCH", keys_path(ws, key["uid"]), admin,
                  json={"allowed_domains": ["evil.com"]}))
    assert_valid(verify_token(signet, admin, ws, jwt, origin="https://EVIL.com:1"), key)
    assert_invalid(verify_token(signet, admin, ws, jwt, origin="https://example.com"), "patched")
    ok(signet.req("PATCH", keys_path(ws, key["uid"]), admin, json={"allowed_domains": None}))
    for origin in bad + good:
        assert_valid(verify_token(signet, admin, ws, jwt, origin=origin), key)


# --- roll and delete ------------------------------------------------------------------------

def test_roll_with_grace(signet, ws_env):
    admin, _, ws = ws_env
    old = create_key(signet, admin, ws, algorithm="ES256")
    old_jwt, = jose_sign(old, [{"claims": claims_now(k="old")}])
    new = roll(signet, admin, ws, old["uid"], grace=3)
    new_jwt, = jose_sign(new, [{"claims": claims_now(k="new")}])
    rolled_at = micro(get_key(signet, admin, ws, old["uid"])["rolled_at"])
    grace_end = rolled_at + datetime.timedelta(seconds=3)

    # Within the grace both verify, in Signet and through jose reading the JWKS.
    assert utcnow() < grace_end - datetime.timedelta(seconds=0.5), "test too slow for its grace"
    assert_valid(verify_token(signet, admin, ws, old_jwt), old)
    assert_valid(verify_token(signet, admin, ws, new_jwt), new)
    assert jwks_kids(signet, ws) == sorted([old["uid"], new["uid"]])

    sleep_until(grace_end)
    assert_invalid(verify_token(signet, admin, ws, old_jwt), "rolled key after its grace")
    assert_valid(verify_token(signet, admin, ws, new_jwt), new)
    assert jwks_kids(signet, ws) == [new["uid"]]
    results = remote_verify(signet, ws, [old_jwt, new_jwt])
    assert results[0]["valid"] is False and results[1]["valid"] is True, results
    # A token newly signed with the old key is no better.
    late, = jose_sign(old, [{"claims": claims_now()}])
    assert_invalid(verify_token(signet, admin, ws, late), "new token by the rolled key")


def test_roll_grace_zero(signet, ws_env):
    admin, _, ws = ws_env
    old = create_key(signet, admin, ws, algorithm="EdDSA")
    old_jwt, = jose_sign(old, [{"claims": {"sub": "x"}}])
    assert_valid(verify_token(signet, admin, ws, old_jwt), old)
    new = roll(signet, admin, ws, old["uid"], grace=0)
    new_jwt, = jose_sign(new, [{"claims": {"sub": "x"}}])
    assert_invalid(verify_token(signet, admin, ws, old_jwt), "grace 0")
    assert_valid(verify_token(signet, admin, ws, new_jwt), new)


def test_remote_jwks_during_default_grace(signet, ws_env):
    admin, _, ws = ws_env
    old = create_key(signet, admin, ws, algorithm="RS256")
    old_jwt, = jose_sign(old, [{"claims": {"sub": "r"}}])
    new = roll(signet, admin, ws, old["uid"])
    new_jwt, = jose_sign(new, [{"claims": {"sub": "r"}}])
    results = remote_verify(signet, ws, [old_jwt, new_jwt])
    assert [r["valid"] for r in results] == [True, True], results
    assert [r["kid"] for r in results] == [old["uid"], new["uid"]]


def test_delete_verifies_nothing(signet, ws_env):
    admin, _, ws = ws_env
    a = create_key(signet, admin, ws, algorithm="ES256")
    b = roll(signet, admin, ws, a["uid"], grace=3600)
    c = create_key(signet, admin, ws, algorithm="RS256")
    tokens = {k["uid"]: jose_sign(k, [{"claims": claims_now()}])[0] for k in (a, b, c)}
    for k in (a, b, c):
        assert_valid(verify_token(signet, admin, ws, tokens[k["uid"]]), k)
    # Deleting a rolled key inside its grace ends it at once.
    ok(signet.req("DELETE", keys_path(ws, a["uid"]), admin))
    assert_invalid(verify_token(signet, admin, ws, tokens[a["uid"]]), "deleted rolled key")
    assert_valid(verify_token(signet, admin, ws, tokens[b["uid"]]), b)
    for k in (b, c):
        ok(signet.req("DELETE", keys_path(ws, k["uid"]), admin))
    for k in (a, b, c):
        assert_invalid(verify_token(signet, admin, ws, tokens[k["uid"]]), "deleted " + k["uid"])
    assert jwks_kids(signet, ws) == []
    results = remote_verify(signet, ws, list(tokens.values()))
    assert not any(r["valid"] for r in results), results
