"""docs/api.md: workspaces and their server-generated signing key pairs
(create, list, get, PATCH, roll, DELETE), the public jwks.json, and that no
private key handed out is ever left on disk.

Token verification (`verify-token`, `jose` interop) is in
test_workspace_tokens.py, which uses the helpers defined here."""

import base64
import datetime
import json
import os
import re
import shutil
import subprocess

import pytest

from test_openapi import app_routes
from harness import get_jwks, scan_files, APIKEY_ID_RE, REPO, allow_set, err, ok, ok_list, request_id

NODE = shutil.which("node")
OPENSSL = shutil.which("openssl")
JOSE_JS = os.path.join(REPO, "tests", "interop", "ws_jose.js")

KEY_ID_RE = re.compile(r"^ws_signk_[0-9a-f]{24}$")
UID_RE = re.compile(r"^signing_key_[0-9a-f]{24}$")
MICRO_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
KEY_FIELDS = {"id", "uid", "status", "algorithm", "allowed_domains", "expiry_at",
              "public_key_pem", "created_at", "created_by", "rolled_at", "rolled_by",
              "deleted_at", "deleted_by", "last_verified_at"}
PRIVATE_FIELDS = {"private_key_pem", "private_key_base64"}
ALGORITHMS = ("ES256", "EdDSA", "RS256")


def reserved_segments():
    """The literal first segments of the route table (after /v1/, or at the top
    as /healthz): a workspace of that name would be shadowed by the route."""
    out = set()
    for _, pattern in app_routes():
        parts = pattern.strip("/").split("/")
        if parts[0] == "v1":
            parts = parts[1:]
        if parts and parts[0] != "{}":
            out.add(parts[0])
    return sorted(out)


RESERVED = reserved_segments()
JWK_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}
ADMIN_NAME = "Release bot"


# --- helpers shared with test_workspace_tokens.py ------------------------------------

def new_slug(prefix="ws"):
    return "%s-%s" % (prefix, os.urandom(5).hex())


def ws_path(ws, rest=""):
    return "/v1/%s/%s" % (ws, rest)


def keys_path(ws, uid=None, suffix=""):
    p = "/v1/%s/ws_signing_key/" % ws
    if uid is not None:
        p += uid + "/"
    return p + suffix


def create_ws(signet, token, slug=None):
    slug = slug or new_slug()
    data = ok(signet.req("POST", "/v1/workspaces", token, json={"slug": slug}), 201)
    assert data["slug"] == slug, data
    return slug


def create_key(signet, token, ws, **body):
    return ok(signet.req("POST", keys_path(ws), token, json=body), 201)


def get_key(signet, token, ws, uid):
    return ok(signet.req("GET", keys_path(ws, uid), token))


def list_keys(signet, token, ws, include_deleted=False):
    q = "?include_deleted=true" if include_deleted else ""
    r = signet.req("GET", keys_path(ws) + q, token)
    data = ok(r)
    assert isinstance(data, list), data
    assert "PRIVATE KEY" not in r.text and "private_key" not in r.text, r.text[:500]
    return data


def roll(signet, token, ws, uid, grace=None):
    if grace is None:
        r = signet.req("POST", keys_path(ws, uid, "roll/"), token)
    else:
        r = signet.req("POST", keys_path(ws, uid, "roll/"), token, json={"grace_seconds": grace})
    return ok(r, 201)


def jwks(signet, ws, headers=None):
    """GET jwks.json without credentials; return (response, document or None)."""
    return get_jwks(signet, ws_path(ws, "jwks.json"), headers)


def jwks_kids(signet, ws):
    r, doc = jwks(signet, ws)
    assert doc is not None, "jwks.json: %d %s" % (r.status_code, r.text[:300])
    return sorted(k["kid"] for k in doc["keys"])


def micro(ts):
    assert MICRO_TS_RE.match(ts), "not a microsecond UTC timestamp: %r" % ts
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def assert_recent_micro(ts):
    assert abs((utcnow() - micro(ts)).total_seconds()) < 120, ts


def node_jose(mode, payload):
    if NODE is None:
        pytest.skip("node is not installed")
    if not os.path.isdir(os.path.join(REPO, "node_modules", "jose")):
        pytest.fail("node_modules/jose is missing: run `npm ci` in %s" % REPO)
    r = subprocess.run([NODE, JOSE_JS, mode], cwd=REPO, capture_output=True, timeout=90,
                       input=json.dumps(payload).encode())
    assert r.returncode == 0, "ws_jose.js %s: exit %d\n%s\n%s" % (
        mode, r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"))
    return json.loads(r.stdout)


def jose_sign(key, tokens):
    """Sign [{"claims": ..., "header"?: ...}] with a create/roll response's private key."""
    return node_jose("sign", {"pem": key["private_key_pem"], "alg": key["algorithm"],
                              "kid": key["uid"], "tokens": tokens})["tokens"]


def openssl(args, pem):
    if OPENSSL is None:
        pytest.skip("the openssl command is not installed")
    r = subprocess.run([OPENSSL] + args, input=pem.encode(), capture_output=True, timeout=60)
    assert r.returncode == 0, "openssl %s: %s" % (" ".join(args), r.stderr.decode(errors="replace"))
    return r.stdout.decode()


def pem_der(pem, label):
    lines = pem.strip().splitlines()
    assert lines[0] == "-----BEGIN %s-----" % label, lines[0]
    assert lines[-1] == "-----END %s-----" % label, lines[-1]
    return base64.b64decode("".join(lines[1:-1]), validate=True)


def hex_section(text, label):
    """The bytes printed by `openssl pkey -text` under `label:`."""
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.strip() == label + ":")
    out = []
    for line in lines[i + 1:]:
        if not re.match(r"^\s+[0-9a-f]{2}(:[0-9a-f]{2})*:?$", line):
            break
        out.append(line.strip().rstrip(":"))
    assert out, "no %s in %s" % (label, text)
    return bytes.fromhex(":".join(out).replace(":", ""))


def private_scalars(pem, algorithm):
    """The raw secret numbers of a private key (leading zero bytes dropped)."""
    text = openssl(["pkey", "-noout", "-text"], pem)
    labels = {"ES256": ["priv"], "EdDSA": ["priv"],
              "RS256": ["privateExponent", "prime1", "prime2"]}[algorithm]
    return [hex_section(text, lb).lstrip(b"\0") for lb in labels]


def assert_key_object(k, algorithm, creator, private):
    want = KEY_FIELDS | (PRIVATE_FIELDS if private else set())
    assert set(k) == want, "fields %r" % sorted(set(k) ^ want)
    assert KEY_ID_RE.match(k["id"]), k["id"]
    assert UID_RE.match(k["uid"]), k["uid"]
    assert k["algorithm"] == algorithm, k
    assert k["status"] in ("active", "rolled"), k
    assert_recent_micro(k["created_at"])
    assert k["created_by"] == {"id": creator[0], "name": creator[1]}, k["created_by"]
    pem_der(k["public_key_pem"], "PUBLIC KEY")
    if private:
        assert_private_material(k)


def assert_private_material(k):
    pem = k["private_key_pem"]
    der = pem_der(pem, "PRIVATE KEY")   # PKCS#8, unencrypted
    assert der[0] == 0x30, "not DER"
    assert base64.b64decode(k["private_key_base64"], validate=True) == pem.encode(), \
        "private_key_base64 is not base64 of private_key_pem"
    text = openssl(["pkey", "-noout", "-text"], pem)
    if k["algorithm"] == "ES256":
        assert "prime256v1" in text or "P-256" in text, text
    elif k["algorithm"] == "EdDSA":
        assert "ED25519 Private-Key" in text, text
    else:
        m = re.search(r"Private-Key: \((\d+) bit", text)
        assert m and int(m.group(1)) >= 2048 and "publicExponent" in text, text
    # Its public half is the key's public_key_pem.
    pub = openssl(["pkey", "-pubout"], pem)
    assert pem_der(pub, "PUBLIC KEY") == pem_der(k["public_key_pem"], "PUBLIC KEY"), \
        "private key does not match public_key_pem"


@pytest.fixture
def ws_admin(signet):
    """(account_id, (apikey_id, name), token) with a named admin key."""
    acct = signet.ctl("account", "create", "--name", "workspaces")["id"]
    key = signet.apikey(acct, "admin", name=ADMIN_NAME)
    assert APIKEY_ID_RE.match(key["id"])
    return acct, (key["id"], ADMIN_NAME), key["token"]


# --- workspaces -------------------------------------------------------------------------

def test_create_and_list_workspaces(signet, ws_admin):
    acct, _, tok = ws_admin
    slugs = [new_slug("acme") for _ in range(3)]
    for s in slugs:
        r = signet.req("POST", "/v1/workspaces", tok, json={"slug": s})
        data = ok(r, 201)
        assert data["slug"] == s, data
    r = signet.req("GET", "/v1/workspaces", tok)
    data = ok(r)
    assert isinstance(data, list), data
    assert sorted(w["slug"] for w in data) == sorted(slugs)
    # Any role may list.
    member = signet.apikey(acct, "member")["token"]
    assert sorted(w["slug"] for w in ok(signet.req("GET", "/v1/workspaces", member))) == \
        sorted(slugs)
    # Another account sees none of them.
    _, _, other = signet.account()
    assert ok(signet.req("GET", "/v1/workspaces", other)) == []


def test_create_workspace_requires_admin(signet, ws_admin):
    acct, _, tok = ws_admin
    member = signet.apikey(acct, "member")["token"]
    slug = new_slug()
    err(signet.req("POST", "/v1/workspaces", member, json={"slug": slug}), 403, "FORBIDDEN")
    err(signet.req("POST", "/v1/workspaces", None, json={"slug": slug}), 401, "UNAUTHORIZED")
    assert ok(signet.req("GET", "/v1/workspaces", tok)) == []
    # The slug was not taken by the refused requests.
    create_ws(signet, tok, slug)


def test_slug_rules(signet, ws_admin):
    _, _, tok = ws_admin
    tail = os.urandom(4).hex()
    bad = ["", "-" + tail, "A" + tail, tail.upper() + "X", "a_" + tail, "a." + tail, "a " + tail,
           "a/" + tail, "é" + tail, "a" * 64, tail + "\u00e4", tail + "%2f"]
    for slug in bad:
        err(signet.req("POST", "/v1/workspaces", tok, json={"slug": slug}), 400,
            "INVALID_REQUEST", mentions="slug")
    for body in ({}, {"slug": None}, {"slug": 5}, {"slug": ["x" + tail]}):
        err(signet.req("POST", "/v1/workspaces", tok, json=body), 400, "INVALID_REQUEST",
            mentions="slug")
    err(signet.req("POST", "/v1/workspaces", tok, json={"slug": "z" + tail, "name": "x"}), 400,
        "INVALID_REQUEST", mentions="name")
    assert ok(signet.req("GET", "/v1/workspaces", tok)) == []
    # The edges of [a-z0-9][a-z0-9-]{0,62}.
    good = [tail[0] if tail[0].isdigit() else "7", ("9" + tail + "-" * 62)[:63],
            "0-" + tail, tail + "-"]
    for slug in good:
        create_ws(signet, tok, slug)
    assert sorted(w["slug"] for w in ok(signet.req("GET", "/v1/workspaces", tok))) == sorted(good)


def test_reserved_slugs(signet, ws_admin):
    _, _, tok = ws_admin
    for slug in RESERVED:
        err(signet.req("POST", "/v1/workspaces", tok, json={"slug": slug}), 400,
            "INVALID_REQUEST", mentions="slug")
    assert ok(signet.req("GET", "/v1/workspaces", tok)) == []
    # The fixed routes still answer as themselves.
    ok_list(signet.req("GET", "/v1/endpoints", tok))
    ok_list(signet.req("GET", "/v1/inbound-endpoints", tok))


def test_slug_unique_in_installation(signet, ws_admin):
    _, _, tok = ws_admin
    slug = create_ws(signet, tok)
    # Same account again, and another account: both 409.
    err(signet.req("POST", "/v1/workspaces", tok, json={"slug": slug}), 409, "WORKSPACE_EXISTS")
    _, _, other = signet.account()
    err(signet.req("POST", "/v1/workspaces", other, json={"slug": slug}), 409,
        "WORKSPACE_EXISTS")
    assert ok(signet.req("GET", "/v1/workspaces", other)) == []
    assert [w["slug"] for w in ok(signet.req("GET", "/v1/workspaces", tok))] == [slug]


def test_service_token_scheme(signet, ws_admin):
    _, creator, tok = ws_admin
    ws = create_ws(signet, tok)
    st = {"Authorization": "ServiceToken " + tok}
    k = ok(signet.req("POST", keys_path(ws), headers=st, json={}), 201)
    assert_key_object(k, "ES256", creator, private=True)
    assert [x["uid"] for x in ok(signet.req("GET", keys_path(ws), headers=st))] == [k["uid"]]
    assert ok(signet.req("GET", keys_path(ws, k["uid"]), headers=st))["uid"] == k["uid"]
    res = ok(signet.req("POST", ws_path(ws, "verify-token"), headers=st, json={"token": "x.y.z"}))
    assert res["valid"] is False
    bogus = {"Authorization": "ServiceToken sgk_" + "A" * 43}
    err(signet.req("GET", keys_path(ws), headers=bogus), 401, "UNAUTHORIZED")
    err(signet.req("POST", ws_path(ws, "verify-token"), headers=bogus, json={"token": "x"}), 401,
        "UNAUTHORIZED")


def test_workspace_routes_need_auth(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)
    for method, path, body in (("GET", keys_path(ws), None), ("POST", keys_path(ws), {}),
                               ("GET", keys_path(ws, k["uid"]), None),
                               ("PATCH", keys_path(ws, k["uid"]), {"allowed_domains": None}),
                               ("POST", keys_path(ws, k["uid"], "roll/"), {}),
                               ("DELETE", keys_path(ws, k["uid"]), None),
                               ("POST", ws_path(ws, "verify-token"), {"token": "x"}),
                               ("GET", "/v1/workspaces", None)):
        kw = {} if body is None else {"json": body}
        err(signet.req(method, path, None, **kw), 401, "UNAUTHORIZED")
    assert get_key(signet, tok, ws, k["uid"])["status"] == "active"


def test_member_role(signet, ws_admin):
    acct, _, tok = ws_admin
    member = signet.apikey(acct, "member")["token"]
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)
    uid = k["uid"]
    # Reads and verify-token: any role.
    assert [x["uid"] for x in list_keys(signet, member, ws)] == [uid]
    assert get_key(signet, member, ws, uid)["uid"] == uid
    ok(signet.req("POST", ws_path(ws, "verify-token"), member, json={"token": "a.b.c"}))
    # Writes: admin only.
    err(signet.req("POST", keys_path(ws), member, json={}), 403, "FORBIDDEN")
    err(signet.req("PATCH", keys_path(ws, uid), member, json={"allowed_domains": ["x.com"]}),
        403, "FORBIDDEN")
    err(signet.req("POST", keys_path(ws, uid, "roll/"), member, json={}), 403, "FORBIDDEN")
    err(signet.req("DELETE", keys_path(ws, uid), member), 403, "FORBIDDEN")
    after = get_key(signet, tok, ws, uid)
    assert after["status"] == "active" and after["allowed_domains"] is None
    assert after["deleted_at"] is None
    assert [x["uid"] for x in list_keys(signet, tok, ws)] == [uid]


def test_other_account_and_unknown_workspace_404(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)
    _, _, other = signet.account()
    absent = new_slug("absent")
    for who, slug in ((other, ws), (tok, absent)):
        for method, path, body in (("GET", keys_path(slug), None),
                                   ("POST", keys_path(slug), {}),
                                   ("GET", keys_path(slug, k["uid"]), None),
                                   ("PATCH", keys_path(slug, k["uid"]), {"allowed_domains": None}),
                                   ("POST", keys_path(slug, k["uid"], "roll/"), {}),
                                   ("DELETE", keys_path(slug, k["uid"]), None),
                                   ("POST", ws_path(slug, "verify-token"), {"token": "a.b.c"})):
            kw = {} if body is None else {"json": body}
            err(signet.req(method, path, who, **kw), 404, "NOT_FOUND")
    r, _ = jwks(signet, absent)
    err(r, 404, "NOT_FOUND")
    got = get_key(signet, tok, ws, k["uid"])
    assert got["status"] == "active" and got["deleted_at"] is None
    assert [x["uid"] for x in list_keys(signet, tok, ws)] == [k["uid"]]


def test_key_paths(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    other_ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)
    absent = "signing_key_" + "0" * 24
    for method, suffix, body in (("GET", "", None), ("PATCH", "", {"allowed_domains": None}),
                                 ("POST", "roll/", {}), ("DELETE", "", None)):
        kw = {} if body is None else {"json": body}
        err(signet.req(method, keys_path(ws, absent, suffix), tok, **kw), 404, "NOT_FOUND")
        # A key of another workspace of the same account is not in this one.
        err(signet.req(method, keys_path(other_ws, k["uid"], suffix), tok, **kw), 404,
            "NOT_FOUND")
        for bad in ("signing_key_" + "g" * 24, "signing_key_" + "0" * 23,
                    "signing_key_" + "0" * 25, "signing_key_" + "A" * 24, "key1"):
            err(signet.req(method, keys_path(ws, bad, suffix), tok, **kw), 400, "INVALID_REQUEST")
    got = get_key(signet, tok, ws, k["uid"])
    assert got["status"] == "active" and got["deleted_at"] is None


def test_trailing_slash_optional(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    k = ok(signet.req("POST", "/v1/%s/ws_signing_key" % ws, tok, json={}), 201)
    assert [x["uid"] for x in ok(signet.req("GET", "/v1/%s/ws_signing_key" % ws, tok))] == \
        [k["uid"]]
    assert ok(signet.req("GET", "/v1/%s/ws_signing_key/%s" % (ws, k["uid"]), tok))["uid"] == \
        k["uid"]
    new = ok(signet.req("POST", "/v1/%s/ws_signing_key/%s/roll" % (ws, k["uid"]), tok,
                        json={"grace_seconds": 60}), 201)
    assert new["uid"] != k["uid"]
    r = signet.req("GET", "/v1/%s/jwks.json/" % ws)
    assert r.status_code == 200 and sorted(x["kid"] for x in r.json()["keys"]) == \
        sorted([k["uid"], new["uid"]])


def test_method_not_allowed(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)
    r = signet.req("PUT", keys_path(ws, k["uid"]), tok, json={})
    err(r, 405, "METHOD_NOT_ALLOWED")
    assert {"GET", "PATCH", "DELETE"} <= allow_set(r)
    r = signet.req("DELETE", keys_path(ws), tok)
    err(r, 405, "METHOD_NOT_ALLOWED")
    assert {"GET", "POST"} <= allow_set(r)
    r = signet.req("POST", ws_path(ws, "jwks.json"), tok, json={})
    err(r, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in allow_set(r)


# --- keys: create ---------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_create_key(signet, ws_admin, algorithm):
    _, creator, tok = ws_admin
    ws = create_ws(signet, tok)
    r = signet.req("POST", keys_path(ws), tok, json={"algorithm": algorithm})
    k = ok(r, 201)
    assert_key_object(k, algorithm, creator, private=True)
    assert k["status"] == "active"
    assert k["allowed_domains"] is None and k["expiry_at"] is None
    for f in ("rolled_at", "rolled_by", "deleted_at", "deleted_by"):
        assert k[f] is None, (f, k[f])
    # GET one and the list never hold private material.
    r = signet.req("GET", keys_path(ws, k["uid"]), tok)
    got = ok(r)
    assert set(got) == KEY_FIELDS, got
    assert "PRIVATE KEY" not in r.text and k["private_key_base64"] not in r.text
    for f in KEY_FIELDS:
        assert got[f] == k[f], f
    listed = list_keys(signet, tok, ws)
    assert len(listed) == 1 and listed[0] == got


def test_default_algorithm_and_empty_body(signet, ws_admin):
    _, creator, tok = ws_admin
    ws = create_ws(signet, tok)
    a = ok(signet.req("POST", keys_path(ws), tok), 201)       # no body at all
    b = ok(signet.req("POST", keys_path(ws), tok, json={}), 201)
    for k in (a, b):
        assert_key_object(k, "ES256", creator, private=True)
    assert a["uid"] != b["uid"] and a["id"] != b["id"]
    assert a["private_key_pem"] != b["private_key_pem"]
    assert [x["uid"] for x in list_keys(signet, tok, ws)] == [a["uid"], b["uid"]]


def test_invalid_algorithm(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    for alg in ("HS256", "es256", "none", "RS512", "ES384", "PS256", "Ed25519", "", 5, ["ES256"]):
        err(signet.req("POST", keys_path(ws), tok, json={"algorithm": alg}), 400,
            "INVALID_REQUEST", mentions="algorithm")
    err(signet.req("POST", keys_path(ws), tok, json={"algorithm": "ES256", "kid": "x"}), 400,
        "INVALID_REQUEST", mentions="kid")
    assert list_keys(signet, tok, ws) == []


def test_allowed_domains_and_expiry_on_create(signet, ws_admin):
    _, creator, tok = ws_admin
    ws = create_ws(signet, tok)
    future = (utcnow() + datetime.timedelta(days=30)).replace(microsecond=123456)
    k = create_key(signet, tok, ws, algorithm="EdDSA",
                   allowed_domains=["example.com", "api.example.org"], expiry_at=rfc3339(future))
    assert_key_object(k, "EdDSA", creator, private=True)
    assert sorted(k["allowed_domains"]) == ["api.example.org", "example.com"]
    assert micro(k["expiry_at"]) == future
    got = get_key(signet, tok, ws, k["uid"])
    assert sorted(got["allowed_domains"]) == ["api.example.org", "example.com"]
    assert got["expiry_at"] == k["expiry_at"]


def test_allowed_domains_validation(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    for bad in ("example.com", 5, {"example.com": True}, [5], [None], [["example.com"]]):
        err(signet.req("POST", keys_path(ws), tok, json={"allowed_domains": bad}), 400,
            "INVALID_REQUEST", mentions="allowed_domains")
    assert list_keys(signet, tok, ws) == []


def test_expiry_at_formats(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    y = utcnow().year + 5
    accepted = [
        ("%d-01-01T00:00:00Z" % y, "%d-01-01T00:00:00.000000Z" % y),
        ("%d-01-01T01:30:00+01:30" % y, "%d-01-01T00:00:00.000000Z" % y),
        ("%d-01-01T00:00:00.5Z" % y, "%d-01-01T00:00:00.500000Z" % y),
        ("%d-12-31T17:00:00.123456-07:00" % (y - 1), "%d-01-01T00:00:00.123456Z" % y),
        ("%d-06-15T08:09:10.25+00:00" % y, "%d-06-15T08:09:10.250000Z" % y),
    ]
    for given, stored in accepted:
        k = create_key(signet, tok, ws, expiry_at=given)
        assert k["expiry_at"] == stored, (given, k["expiry_at"])
        assert get_key(signet, tok, ws, k["uid"])["expiry_at"] == stored
    n = len(accepted)
    past = rfc3339(utcnow() - datetime.timedelta(seconds=5))
    for bad in (past, "2020-01-01T00:00:00Z", "%d-13-01T00:00:00Z" % y, "%d-02-30T00:00:00Z" % y,
                "%d-01-01" % y, "%d-01-01T00:00:00" % y, "%d-01-01T25:00:00Z" % y, "tomorrow",
                "", "%d-01-01T00:00:00+25:00" % y, 1900000000, ["%d-01-01T00:00:00Z" % y]):
        err(signet.req("POST", keys_path(ws), tok, json={"expiry_at": bad}), 400,
            "INVALID_REQUEST", mentions="expiry_at")
    assert len(list_keys(signet, tok, ws)) == n


# --- keys: PATCH -----------------------------------------------------------------------

def test_patch_sets_and_clears(signet, ws_admin):
    _, creator, tok = ws_admin
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws, algorithm="RS256")
    uid = k["uid"]
    future = (utcnow() + datetime.timedelta(hours=2)).replace(microsecond=654321)

    got = ok(signet.req("PATCH", keys_path(ws, uid), tok,
                        json={"allowed_domains": ["shop.example.com"]}))
    assert set(got) == KEY_FIELDS, got
    assert got["allowed_domains"] == ["shop.example.com"] and got["expiry_at"] is None
    got = ok(signet.req("PATCH", keys_path(ws, uid), tok, json={"expiry_at": rfc3339(future)}))
    assert micro(got["expiry_at"]) == future
    assert got["allowed_domains"] == ["shop.example.com"], "PATCH of one field changed another"
    stored = get_key(signet, tok, ws, uid)
    assert stored["allowed_domains"] == ["shop.example.com"] and micro(stored["expiry_at"]) == future
    for f in ("id", "uid", "status", "algorithm", "public_key_pem", "created_at", "created_by"):
        assert stored[f] == k[f], f

    got = ok(signet.req("PATCH", keys_path(ws, uid), tok, json={"allowed_domains": None}))
    assert got["allowed_domains"] is None and micro(got["expiry_at"]) == future
    got = ok(signet.req("PATCH", keys_path(ws, uid), tok, json={"expiry_at": None}))
    assert got["allowed_domains"] is None and got["expiry_at"] is None
    got = ok(signet.req("PATCH", keys_path(ws, uid), tok,
                        json={"allowed_domains": ["a.example", "b.example"],
                              "expiry_at": "%d-01-01T00:00:00+02:00" % (utcnow().year + 3)}))
    assert sorted(got["allowed_domains"]) == ["a.example", "b.example"]
    assert got["expiry_at"] == "%d-12-31T22:00:00.000000Z" % (utcnow().year + 2)
    got = ok(signet.req("PATCH", keys_path(ws, uid), tok,
                        json={"allowed_domains": None, "expiry_at": None}))
    assert got["allowed_domains"] is None and got["expiry_at"] is None
    stored = get_key(signet, tok, ws, uid)
    assert stored["allowed_domains"] is None and stored["expiry_at"] is None


def test_patch_validation(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws, allowed_domains=["keep.example"])
    uid = k["uid"]
    past = rfc3339(utcnow() - datetime.timedelta(seconds=10))
    for body, field in (({"expiry_at": past}, "expiry_at"),
                        ({"expiry_at": "soon"}, "expiry_at"),
                        ({"expiry_at": 5}, "expiry_at"),
                        ({"allowed_domains": "keep.example"}, "allowed_domains"),
                        ({"allowed_domains": [1]}, "allowed_domains"),
                        ({"algorithm": "RS256"}, "algorithm"),
                        ({"status": "rolled"}, "status"),
                        ({"public_key_pem": "x"}, "public_key_pem")):
        err(signet.req("PATCH", keys_path(ws, uid), tok, json=body), 400, "INVALID_REQUEST",
            mentions=field)
    got = get_key(signet, tok, ws, uid)
    assert got["allowed_domains"] == ["keep.example"] and got["expiry_at"] is None
    assert got["algorithm"] == "ES256" and got["status"] == "active"


# --- keys: roll and delete -------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_roll(signet, ws_admin, algorithm):
    _, creator, tok = ws_admin
    ws = create_ws(signet, tok)
    old = create_key(signet, tok, ws, algorithm=algorithm)
    new = roll(signet, tok, ws, old["uid"], grace=3600)
    assert_key_object(new, algorithm, creator, private=True)
    assert new["status"] == "active" and new["rolled_at"] is None and new["deleted_at"] is None
    assert new["uid"] != old["uid"] and new["id"] != old["id"]
    assert new["public_key_pem"] != old["public_key_pem"]
    assert new["private_key_pem"] != old["private_key_pem"]

    was = get_key(signet, tok, ws, old["uid"])
    assert set(was) == KEY_FIELDS
    assert was["status"] == "rolled", was
    assert micro(was["created_at"]) <= micro(was["rolled_at"]) <= micro(new["created_at"]) + \
        datetime.timedelta(seconds=1)
    assert_recent_micro(was["rolled_at"])
    assert was["rolled_by"] == {"id": creator[0], "name": creator[1]}
    assert was["public_key_pem"] == old["public_key_pem"] and was["deleted_at"] is None
    listed = {x["uid"]: x for x in list_keys(signet, tok, ws)}
    assert set(listed) == {old["uid"], new["uid"]}
    assert listed[old["uid"]]["status"] == "rolled" and listed[new["uid"]]["status"] == "active"
    # Within its grace the old key is still published.
    assert jwks_kids(signet, ws) == sorted([old["uid"], new["uid"]])


def test_actors_recorded(signet, ws_admin):
    acct, creator, tok = ws_admin
    roller = signet.apikey(acct, "admin", name="Roller")
    deleter = signet.apikey(acct, "admin", name="Deleter")
    ws = create_ws(signet, tok)
    old = create_key(signet, tok, ws, algorithm="EdDSA")
    new = roll(signet, roller["token"], ws, old["uid"], grace=60)
    assert new["created_by"] == {"id": roller["id"], "name": "Roller"}
    was = get_key(signet, tok, ws, old["uid"])
    assert was["created_by"] == {"id": creator[0], "name": creator[1]}
    assert was["rolled_by"] == {"id": roller["id"], "name": "Roller"}
    gone = ok(signet.req("DELETE", keys_path(ws, old["uid"]), deleter["token"]))
    assert gone["deleted_by"] == {"id": deleter["id"], "name": "Deleter"}
    assert gone["rolled_by"] == {"id": roller["id"], "name": "Roller"}
    assert gone["created_by"] == {"id": creator[0], "name": creator[1]}
    assert micro(gone["created_at"]) <= micro(gone["rolled_at"]) <= micro(gone["deleted_at"])


def test_order_of_checks(signet, ws_admin):
    acct, _, tok = ws_admin
    member = signet.apikey(acct, "member")["token"]
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)
    absent_uid = "signing_key_" + "0" * 24
    absent_ws = new_slug("absent")
    # Role before body; body before existence.
    err(signet.req("PATCH", keys_path(ws, k["uid"]), member, json={"expiry_at": "bad"}), 403,
        "FORBIDDEN")
    err(signet.req("POST", keys_path(ws), member, json={"algorithm": "HS256"}), 403, "FORBIDDEN")
    err(signet.req("POST", "/v1/workspaces", member, json={"slug": "BAD"}), 403, "FORBIDDEN")
    err(signet.req("PATCH", keys_path(ws, absent_uid), tok, json={"expiry_at": "bad"}), 400,
        "INVALID_REQUEST", mentions="expiry_at")
    err(signet.req("POST", keys_path(ws, absent_uid, "roll/"), tok, json={"grace_seconds": -1}),
        400, "INVALID_REQUEST", mentions="grace_seconds")
    err(signet.req("POST", ws_path(absent_ws, "verify-token"), tok, json={}), 400,
        "INVALID_REQUEST", mentions="token")
    # The slug rules come before the uniqueness rule.
    err(signet.req("POST", "/v1/workspaces", tok, json={"slug": ws, "extra": 1}), 400,
        "INVALID_REQUEST")


def test_roll_grace_bounds(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)
    for bad in (-1, 604801, "60", 1.5, True, 10 ** 20, [60]):
        err(signet.req("POST", keys_path(ws, k["uid"], "roll/"), tok, json={"grace_seconds": bad}),
            400, "INVALID_REQUEST", mentions="grace_seconds")
    err(signet.req("POST", keys_path(ws, k["uid"], "roll/"), tok, json={"grace": 5}), 400,
        "INVALID_REQUEST", mentions="grace")
    assert get_key(signet, tok, ws, k["uid"])["status"] == "active"
    assert len(list_keys(signet, tok, ws)) == 1

    # The bounds themselves are accepted.
    top = roll(signet, tok, ws, k["uid"], grace=604800)
    assert get_key(signet, tok, ws, k["uid"])["status"] == "rolled"
    assert k["uid"] in jwks_kids(signet, ws)
    zero = roll(signet, tok, ws, top["uid"], grace=0)
    assert get_key(signet, tok, ws, top["uid"])["status"] == "rolled"
    # Grace 0: the rolled key stops verifying at once and leaves the JWKS.
    assert jwks_kids(signet, ws) == sorted([k["uid"], zero["uid"]])


def test_roll_default_grace(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)
    new = ok(signet.req("POST", keys_path(ws, k["uid"], "roll/"), tok), 201)   # no body
    assert_private_material(new)
    was = get_key(signet, tok, ws, k["uid"])
    assert was["status"] == "rolled"
    # Default grace 86400 s: both keys still verify.
    assert jwks_kids(signet, ws) == sorted([k["uid"], new["uid"]])
    new2 = ok(signet.req("POST", keys_path(ws, new["uid"], "roll/"), tok, json={}), 201)
    assert jwks_kids(signet, ws) == sorted([k["uid"], new["uid"], new2["uid"]])


def test_delete(signet, ws_admin):
    _, creator, tok = ws_admin
    ws = create_ws(signet, tok)
    a = create_key(signet, tok, ws, algorithm="EdDSA")
    b = create_key(signet, tok, ws)
    r = signet.req("DELETE", keys_path(ws, a["uid"]), tok)
    gone = ok(r, 200)
    assert set(gone) == KEY_FIELDS, gone
    assert "PRIVATE KEY" not in r.text
    assert gone["uid"] == a["uid"] and gone["id"] == a["id"]
    assert_recent_micro(gone["deleted_at"])
    assert micro(gone["deleted_at"]) >= micro(gone["created_at"])
    assert gone["deleted_by"] == {"id": creator[0], "name": creator[1]}
    assert gone["public_key_pem"] == a["public_key_pem"]

    assert [x["uid"] for x in list_keys(signet, tok, ws)] == [b["uid"]]
    r = signet.req("GET", keys_path(ws) + "?include_deleted=false", tok)
    assert [x["uid"] for x in ok(r)] == [b["uid"]]
    both = {x["uid"]: x for x in list_keys(signet, tok, ws, include_deleted=True)}
    assert set(both) == {a["uid"], b["uid"]}
    assert both[a["uid"]]["deleted_at"] == gone["deleted_at"]
    assert both[a["uid"]]["deleted_by"] == gone["deleted_by"]
    assert both[b["uid"]]["deleted_at"] is None
    assert jwks_kids(signet, ws) == [b["uid"]]


def test_delete_rolled_key(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    old = create_key(signet, tok, ws)
    new = roll(signet, tok, ws, old["uid"], grace=3600)
    assert jwks_kids(signet, ws) == sorted([old["uid"], new["uid"]])
    gone = ok(signet.req("DELETE", keys_path(ws, old["uid"]), tok))
    assert gone["deleted_at"] is not None and gone["rolled_at"] is not None
    assert jwks_kids(signet, ws) == [new["uid"]]
    ok(signet.req("DELETE", keys_path(ws, new["uid"]), tok))
    assert jwks_kids(signet, ws) == []
    assert list_keys(signet, tok, ws) == []
    assert sorted(x["uid"] for x in list_keys(signet, tok, ws, include_deleted=True)) == \
        sorted([old["uid"], new["uid"]])


# --- jwks.json ----------------------------------------------------------------------------

def test_jwks_document(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    other = create_ws(signet, tok)
    create_key(signet, tok, other)   # not in ws's set
    r, doc = jwks(signet, ws)
    assert r.status_code == 200 and doc == {"keys": []}
    made = {alg: create_key(signet, tok, ws, algorithm=alg) for alg in ALGORITHMS}
    r, doc = jwks(signet, ws)
    assert doc is not None, r.text
    by_kid = {k["kid"]: k for k in doc["keys"]}
    assert len(by_kid) == 3 and set(by_kid) == {k["uid"] for k in made.values()}
    for alg, k in made.items():
        jwk = by_kid[k["uid"]]
        assert jwk["alg"] == alg and jwk["use"] == "sig", jwk
        assert not (set(jwk) & JWK_PRIVATE_MEMBERS), "private members in JWKS: %r" % jwk
        if alg == "ES256":
            assert jwk["kty"] == "EC" and jwk["crv"] == "P-256", jwk
        elif alg == "EdDSA":
            assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519", jwk
        else:
            assert jwk["kty"] == "RSA" and "n" in jwk and "e" in jwk, jwk
    # Each JWK is the key's public_key_pem (read back by jose).
    order = [made[a] for a in ALGORITHMS]
    pems = node_jose("jwk-to-pem", {"keys": [by_kid[k["uid"]] for k in order]})["pems"]
    for k, pem in zip(order, pems):
        assert pem_der(pem, "PUBLIC KEY") == pem_der(k["public_key_pem"], "PUBLIC KEY"), k["algorithm"]


def test_jwks_caching_headers(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)

    r, doc = jwks(signet, ws)
    assert doc is not None
    directives = [d.strip().lower() for d in r.headers.get("Cache-Control", "").split(",")]
    assert "max-age=300" in directives, r.headers.get("Cache-Control")
    etag = r.headers.get("ETag")
    assert etag and re.match(r'^"[!#-~]+"$', etag), "no strong ETag: %r" % etag

    # Same state, same ETag; a matching If-None-Match gets 304 with no body.
    r2, doc2 = jwks(signet, ws)
    assert r2.headers.get("ETag") == etag and doc2 == doc
    nm = signet.req("GET", ws_path(ws, "jwks.json"), headers={"If-None-Match": etag})
    assert nm.status_code == 304, "expected 304: %d %s" % (nm.status_code, nm.text[:200])
    assert nm.content == b""
    assert nm.headers.get("ETag") == etag
    request_id(nm)
    nm = signet.req("GET", ws_path(ws, "jwks.json"),
                    headers={"If-None-Match": '"something-else", ' + etag})
    assert nm.status_code == 304, nm.status_code
    # A stale or foreign tag gets the document.
    r3, doc3 = jwks(signet, ws, headers={"If-None-Match": '"not-the-etag"'})
    assert r3.status_code == 200 and doc3 == doc

    # Every change of the set changes the ETag.
    tags = [etag]
    b = create_key(signet, tok, ws, algorithm="EdDSA")
    tags.append(jwks(signet, ws)[0].headers.get("ETag"))
    c = roll(signet, tok, ws, k["uid"], grace=3600)
    tags.append(jwks(signet, ws)[0].headers.get("ETag"))
    ok(signet.req("DELETE", keys_path(ws, b["uid"]), tok))
    tags.append(jwks(signet, ws)[0].headers.get("ETag"))
    ok(signet.req("DELETE", keys_path(ws, k["uid"]), tok))
    tags.append(jwks(signet, ws)[0].headers.get("ETag"))
    assert all(tags) and len(set(tags)) == len(tags), tags
    assert jwks_kids(signet, ws) == [c["uid"]]
    # The first tag no longer matches.
    r4, doc4 = jwks(signet, ws, headers={"If-None-Match": etag})
    assert r4.status_code == 200 and [x["kid"] for x in doc4["keys"]] == [c["uid"]]
    nm = signet.req("GET", ws_path(ws, "jwks.json"), headers={"If-None-Match": tags[-1]})
    assert nm.status_code == 304


def test_jwks_needs_no_auth_and_ignores_credentials(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    k = create_key(signet, tok, ws)
    _, _, other = signet.account()
    for headers in (None, {"Authorization": "Bearer " + other},
                    {"Authorization": "Bearer sgk_" + "A" * 43}):
        r, doc = jwks(signet, ws, headers=headers)
        assert doc is not None, "%d %s" % (r.status_code, r.text[:200])
        assert [x["kid"] for x in doc["keys"]] == [k["uid"]]


# --- no private key at rest -----------------------------------------------------------

def text_variants(label, text):
    """`text` as it could sit in a file: as is, or inside a JSON string (json-c
    escapes "/" as "\\/" unless told not to)."""
    escaped = json.dumps(text)[1:-1]
    return {label: text.encode(), label + " (JSON)": escaped.encode(),
            label + " (JSON, escaped /)": escaped.replace("/", "\\/").encode()}


def private_needles(keys):
    """{label: bytes} whose presence in a file would leak a private key."""
    out = {}
    for k in keys:
        pem = k["private_key_pem"]
        body_lines = pem.strip().splitlines()[1:-1]
        tag = "%s %s" % (k["algorithm"], k["uid"])
        out.update(text_variants(tag + " PEM", pem))
        out.update(text_variants(tag + " PEM body", "\n".join(body_lines)))
        out.update(text_variants(tag + " PEM body (one line)", "".join(body_lines)))
        for i, line in enumerate(body_lines):
            if len(line) == 64:
                out.update(text_variants("%s PEM line %d" % (tag, i), line))
        out.update(text_variants(tag + " private_key_base64", k["private_key_base64"]))
        out[tag + " DER"] = base64.b64decode("".join(body_lines))
        for i, scalar in enumerate(private_scalars(pem, k["algorithm"])):
            out["%s private number %d" % (tag, i)] = scalar
    return out


scan = scan_files  # the one scanner of every suite (harness.py)


def test_scanner_finds_planted_private_key(tmp_path):
    # The scan is not vacuous: a PEM body, its DER, the bare number, or the PEM
    # inside a JSON record is found.
    pem = openssl(["genpkey", "-algorithm", "ed25519"], "")
    k = {"algorithm": "EdDSA", "uid": "planted", "private_key_pem": pem,
         "private_key_base64": base64.b64encode(pem.encode()).decode()}
    needles = private_needles([k])
    der = needles["EdDSA planted DER"]
    (tmp_path / "a").write_bytes(b"xx" + der + b"yy")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"log: " + pem.encode() + b"\n")
    record = json.dumps({"pem": "/" + pem}).replace("/", "\\/")
    (tmp_path / "sub" / "c").write_bytes(b"\0\1" + record.encode() + b"\0")
    found, nfiles = scan(str(tmp_path), needles)
    assert nfiles == 3
    assert found["EdDSA planted DER"] == ["a"]
    assert found["EdDSA planted private number 0"] == ["a"]
    assert os.path.join("sub", "b") in found["EdDSA planted PEM body"]
    assert found["EdDSA planted PEM (JSON, escaped /)"] == [os.path.join("sub", "c")]
    assert os.path.join("sub", "c") in found["EdDSA planted PEM line 0 (JSON, escaped /)"] + \
        found.get("EdDSA planted PEM line 0", [])


def test_no_private_key_on_disk(signet, ws_admin):
    _, _, tok = ws_admin
    ws = create_ws(signet, tok)
    handed_out = []
    for alg in ALGORITHMS:
        k = create_key(signet, tok, ws, algorithm=alg, allowed_domains=["disk.example"])
        handed_out.append(k)
        # Roll responses hand out private keys too.
        handed_out.append(roll(signet, tok, ws, k["uid"], grace=3600))
    # Use the keys (list, jwks, verify-token) so any cache would show.
    assert len(list_keys(signet, tok, ws)) == 6
    assert len(jwks_kids(signet, ws)) == 6
    for k in handed_out:
        assert_private_material(k)
    needles = private_needles(handed_out)

    def assert_clean():
        found, nfiles = scan(signet.home, needles)
        assert nfiles >= 2, "SIGNET_HOME holds only %d files" % nfiles
        assert not found, "private key material under SIGNET_HOME: %r" % found
        found, _ = scan(signet.rundir, needles)
        assert not found, "private key material in the logs or run directory: %r" % found

    assert_clean()
    # After a clean stop every cache has reached the database files.
    signet.stop()
    try:
        assert_clean()
    finally:
        signet.start()
    # The public halves are stored in the clear: the same scan finds them, so
    # it would have seen private material stored the same way.
    pub = {}
    for k in handed_out:
        pub.update(text_variants(k["uid"] + " public PEM body (first line)",
                                 k["public_key_pem"].strip().splitlines()[1]))
    found, _ = scan(signet.home, pub)
    assert {label.split()[0] for label in found} == {k["uid"] for k in handed_out}, \
        "public keys not found under SIGNET_HOME: the scan sees nothing (%r)" % found
