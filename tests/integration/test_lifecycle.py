"""Key lifecycle (docs/api.md, Endpoint signing keys), for outbound (/v1/endpoints) and inbound
(/v1/inbound-endpoints) endpoints alike (every test runs against both bases):
key objects and types, expires_at, GET/PATCH of one key, rotate, keys current
exactly to the second, erasure of expired keys by the clock-driven sweep (also
in an idle service), Ed25519 v1a signatures checked here (Python
`cryptography`), by Node (tests/interop/ed25519.js: crypto.verify with the
whpk_ key, jose with the jwks.json key) and by `openssl pkeyutl`, the public
jwks.json, a race of rotate/patch/create/delete, no private key anywhere, and
last_verified_at.

The module runs its own instance per web server with housekeeping_seconds = 1
(SIGNET_HOUSEKEEPING_SECONDS), so that expired keys are erased within seconds.
"""

import base64
import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

import harness
from conftest import SERVERS
from harness import (KEY_ID_RE, LAST_KEY_MESSAGE, MAX_KEYS_MESSAGE, REPO, SECRET_RE,
                     TIMESTAMP_RE, allow_set, describe, err, get_jwks, no_content, ok,
                     ok_list, request_id, sign_reference, walk_files)
from test_inbound import uuid7

NODE = shutil.which("node")
OPENSSL = shutil.which("openssl")
DB_DUMP = shutil.which("db5.3_dump") or shutil.which("db_dump")
ED25519_JS = os.path.join(REPO, "tests", "interop", "ed25519.js")
VERIFY_JS = os.path.join(REPO, "tests", "interop", "verify.js")

KEY_FIELDS = {"id", "type", "key_hint", "created_at", "expires_at", "last_verified_at"}
WHPK_RE = re.compile(r"^whpk_[A-Za-z0-9+/]{43}=$")
V1A_RE = re.compile(r"^v1a,[A-Za-z0-9+/]{86}==$")
SPKI_ED25519_PREFIX = bytes.fromhex("302a300506032b6570032100")
PKCS8_ED25519_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
EXPIRY_ACTOR = {"id": "signet", "name": "key expiry"}
GRACE_DEFAULT = 86400
GRACE_MAX = 604800


# --- the two bases ---------------------------------------------------------------------------

class Kind:
    """One of the two kinds of endpoint that section 10 applies to."""

    def __init__(self, name, collection, url_field, dbfile, absent, malformed):
        self.name, self.collection, self.url_field = name, collection, url_field
        self.dbfile, self.absent, self.malformed = dbfile, absent, malformed

    def __repr__(self):
        return self.name

    def path(self, ep_id=None, suffix=""):
        p = "/v1/" + self.collection
        if ep_id is not None:
            p += "/" + ep_id
        return p + suffix

    def keys(self, ep_id, key_id=None):
        return self.path(ep_id, "/signing-keys" + ("/" + key_id if key_id else ""))


KINDS = {
    "outbound": Kind("outbound", "endpoints", "url", "endpoints.db",
                     lambda: "ep_" + os.urandom(16).hex(), ["ep_bad", "ep_" + "A" * 32]),
    "inbound": Kind("inbound", "inbound-endpoints", "forward_url", "inbound.db",
                    lambda: uuid7(), ["not-a-uuid", "0190a0c8-0000-4000-8000-000000000000"]),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return KINDS[request.param]


# --- the instance -----------------------------------------------------------------------------

@pytest.fixture(scope="module", params=SERVERS)
def life_instance(request):
    inst = harness.Instance(request.param, workers=4,
                            env={"SIGNET_HOUSEKEEPING_SECONDS": "1"})
    try:
        inst.start()
        # Verified at the start of the module; test_last_verified_at (last in
        # the file) checks it once 60 s may have passed.
        inst.early = early_verifies(inst)
        yield inst
    finally:
        inst.destroy()


@pytest.fixture
def inst(life_instance):
    if life_instance.proc is None or life_instance.proc.poll() is not None:
        life_instance.stop()
        life_instance.start()
    return life_instance


@pytest.fixture
def tok(inst):
    return inst.account(name="lifecycle")[2]


# --- helpers ----------------------------------------------------------------------------------

def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def epoch(ts):
    assert isinstance(ts, str) and TIMESTAMP_RE.match(ts), "not an RFC 3339 second: %r" % (ts,)
    return calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))


def create_ep(inst, kind, tok, key_type=None):
    body = {kind.url_field: "https://example.com/lifecycle"}
    if key_type is not None:
        body["key_type"] = key_type
    return ok(inst.req("POST", kind.path(), tok, json=body), 201)


def add_key(inst, kind, tok, ep_id, status=201, **body):
    r = inst.req("POST", kind.keys(ep_id), tok, json=body)
    return ok(r, status) if status < 300 else r


def get_key(inst, kind, tok, ep_id, key_id):
    return ok(inst.req("GET", kind.keys(ep_id, key_id), tok))


def list_keys(inst, kind, tok, ep_id):
    return ok(inst.req("GET", kind.keys(ep_id), tok))


def patch(inst, kind, tok, ep_id, key_id, body):
    return inst.req("PATCH", kind.keys(ep_id, key_id), tok, json=body)


def rotate(inst, kind, tok, ep_id, body=None):
    if body is None:
        return inst.req("POST", kind.keys(ep_id, "rotate"), tok)
    return inst.req("POST", kind.keys(ep_id, "rotate"), tok, json=body)


def sign(inst, kind, tok, ep_id, payload, **extra):
    body = dict(payload=payload, **extra)
    return ok(inst.req("POST", kind.path(ep_id, "/sign"), tok, json=body))


def verify(inst, kind, tok, ep_id, payload, headers):
    return ok(inst.req("POST", kind.path(ep_id, "/verify"), tok,
                       json={"payload": payload, "headers": headers}))


def jwks(inst, kind, ep_id, headers=None):
    """GET jwks.json without credentials: (response, document or None)."""
    return get_jwks(inst, kind.path(ep_id, "/jwks.json"), headers)


def jwks_kids(inst, kind, ep_id):
    r, doc = jwks(inst, kind, ep_id)
    assert doc is not None, describe(r)
    return [k["kid"] for k in doc["keys"]]


def entries(headers):
    """The webhook-signature entries as [(version, signature)]."""
    out = []
    for e in headers["webhook-signature"].split(" "):
        v, _, s = e.partition(",")
        out.append((v, s))
    return out


def pub_raw(key):
    """The 32 bytes of an Ed25519 key object's public_key."""
    return base64.b64decode(key["public_key"][len("whpk_"):], validate=True)


def signed_bytes(headers, payload):
    return ("%s.%s.%s" % (headers["webhook-id"], headers["webhook-timestamp"],
                          payload)).encode()


def ed_verifies(raw_pub, headers, payload, sig_b64):
    try:
        Ed25519PublicKey.from_public_bytes(raw_pub).verify(base64.b64decode(sig_b64),
                                                           signed_bytes(headers, payload))
        return True
    except InvalidSignature:
        return False


def signed_by(key, headers, payload):
    """Whether the webhook-signature holds an entry of `key` (an HMAC key's
    create answer, with its secret, or an Ed25519 key object)."""
    for v, s in entries(headers):
        if key["type"] == "ed25519" and v == "v1a" and ed_verifies(pub_raw(key), headers,
                                                                   payload, s):
            return True
        if key["type"] == "hmac-sha256" and v == "v1" and "v1," + s == sign_reference(
                key["signing_secret"], headers["webhook-id"],
                int(headers["webhook-timestamp"]), payload):
            return True
    return False


def recent(ts, slack=120):
    assert abs(epoch(ts) - time.time()) < slack, ts


def assert_key(k, type_="hmac-sha256", created=False):
    """A key object of section 10; `created`: the answer that made it."""
    want = set(KEY_FIELDS)
    if type_ == "ed25519":
        want.add("public_key")
    elif created:
        want.add("signing_secret")
    assert set(k) == want, "fields %r" % sorted(set(k) ^ want)
    assert KEY_ID_RE.match(k["id"]), k
    assert k["type"] == type_, k
    recent(k["created_at"])
    if k["expires_at"] is not None:
        assert epoch(k["expires_at"]) > time.time() - 2, k
    if k["last_verified_at"] is not None:
        epoch(k["last_verified_at"])
    if type_ == "ed25519":
        pk = k["public_key"]
        assert WHPK_RE.match(pk), "public_key %r" % pk
        raw = pub_raw(k)
        assert len(raw) == 32 and base64.b64encode(raw).decode() == pk[5:]
        Ed25519PublicKey.from_public_bytes(raw)
        assert k["key_hint"] == pk[-5:-1], k
    elif created:
        assert SECRET_RE.match(k["signing_secret"]), k
        assert k["key_hint"] == k["signing_secret"][-4:], k
    else:
        assert isinstance(k["key_hint"], str) and len(k["key_hint"]) == 4, k


def public_of(created):
    return {f: v for f, v in created.items() if f != "signing_secret"}


def audit_events(inst, tok):
    out, after = [], None
    for _ in range(100):
        q = "?limit=100" + ("&starting_after=" + after if after else "")
        data, more = ok_list(inst.req("GET", "/v1/audit-events" + q, tok))
        out.extend(data)
        if not more:
            return out
        after = data[-1]["id"]
    raise AssertionError("the audit trail does not end")


def events_of(inst, tok, action, resource_id=None):
    return [e for e in audit_events(inst, tok) if e["action"] == action and
            (resource_id is None or e["resource_id"] == resource_id)]


def poll(what, deadline, step=0.2):
    """Call what() until it returns a true value or `deadline` (monotonic)."""
    while True:
        v = what()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


# --- the stored record (Berkeley DB, read with db_dump) --------------------------------------

def _as_owner(inst):
    if not inst.user:
        return None
    pw = harness.pwd.getpwnam(inst.user)

    def drop():
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


def stored_record(inst, kind, ep_id):
    """The endpoint's current record as stored (db_dump -p through the live
    environment, so it sees the cache too), parsed as JSON."""
    if DB_DUMP is None:
        pytest.skip("db_dump (db5.3-util) is not installed")
    r = subprocess.run([DB_DUMP, "-p", "-h", inst.home, kind.dbfile], capture_output=True,
                       timeout=30, preexec_fn=_as_owner(inst))
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    lines = r.stdout.decode("latin-1").split("\n")
    body = lines[lines.index("HEADER=END") + 1:]
    for i in range(0, len(body) - 1, 2):
        if body[i] == "DATA=END":
            break
        if body[i].strip() == ep_id:
            val = re.sub(r"\\(\\|[0-9a-fA-F]{2})",
                         lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1), 16)),
                         body[i + 1][1:])
            return json.loads(val.encode("latin-1").decode("utf-8"))
    raise AssertionError("no record %s in %s" % (ep_id, kind.dbfile))


def sealed_of(record, key_id):
    """The stored (sealed) material of one key of a record: the longest string
    member of its entry that is neither an id, a time, the hint nor public."""
    for k in record.get("keys", []):
        if k.get("id") == key_id:
            cands = [v for f, v in k.items() if isinstance(v, str) and len(v) >= 32 and
                     f not in ("id", "public_key")]
            assert cands, "no sealed material in %r" % k
            return max(cands, key=len)
    return None


def erased(inst, kind, ep_id, key_id, sealed):
    text = json.dumps(stored_record(inst, kind, ep_id))
    return key_id not in text and sealed not in text and sealed.replace("/", "\\/") not in text


# --- key objects --------------------------------------------------------------------------------

def test_key_objects_in_every_answer(inst, kind, tok):
    ep = create_ep(inst, kind, tok)
    first = ep["signing_key"]
    assert_key(first, created=True)
    assert first["expires_at"] is None and first["last_verified_at"] is None
    ed_ep = create_ep(inst, kind, tok, key_type="ed25519")
    ed_first = ed_ep["signing_key"]
    assert_key(ed_first, "ed25519", created=True)
    hm_ep = create_ep(inst, kind, tok, key_type="hmac-sha256")
    assert_key(hm_ep["signing_key"], created=True)

    later = iso(time.time() + 3600)
    ed = add_key(inst, kind, tok, ep["id"], type="ed25519", expires_at=later)
    assert_key(ed, "ed25519", created=True)
    assert ed["expires_at"] == later
    listed = list_keys(inst, kind, tok, ep["id"])
    assert listed == [public_of(first), ed], listed
    for k in listed:
        assert_key(k, k["type"])
    assert get_key(inst, kind, tok, ep["id"], first["id"]) == public_of(first)
    assert get_key(inst, kind, tok, ep["id"], ed["id"]) == ed
    patched = ok(patch(inst, kind, tok, ep["id"], ed["id"], {"expires_at": None}))
    assert patched == dict(ed, expires_at=None)
    # Rotation answers: the new key (type of the old one), without a secret
    # for Ed25519, with one for HMAC.
    new_ed = ok(rotate(inst, kind, tok, ed_ep["id"]), 201)
    assert_key(new_ed, "ed25519", created=True)
    new_hm = ok(rotate(inst, kind, tok, hm_ep["id"]), 201)
    assert_key(new_hm, created=True)
    for e in (ep, ed_ep, hm_ep):
        for k in list_keys(inst, kind, tok, e["id"]):
            assert_key(k, k["type"])
            assert "signing_secret" not in k


def test_type_and_expiry_validation(inst, kind, tok):
    ep = create_ep(inst, kind, tok)
    for bad in ("ed448", "HMAC-SHA256", "", 1, ["ed25519"]):
        err(inst.req("POST", kind.path(), tok,
                     json={kind.url_field: "https://example.com/x", "key_type": bad}),
            400, "INVALID_REQUEST", mentions="key_type")
        err(add_key(inst, kind, tok, ep["id"], status=400, type=bad), 400, "INVALID_REQUEST",
            mentions="type")
    past = iso(time.time() - 5)
    for bad in (past, "2020-01-01T00:00:00Z", "tomorrow", "2030-13-01T00:00:00Z",
                "2030-01-01 00:00:00", "2030-01-01T00:00:00", "2030-02-30T00:00:00Z",
                "2030-01-01T24:00:01Z", "2030-01-01T00:00:00+25:00", 1999999999, True, ""):
        err(add_key(inst, kind, tok, ep["id"], status=400, expires_at=bad), 400,
            "INVALID_REQUEST", mentions="expires_at")
    err(add_key(inst, kind, tok, ep["id"], status=400, grace_seconds=5), 400,
        "INVALID_REQUEST", mentions="grace_seconds")
    assert len(list_keys(inst, kind, tok, ep["id"])) == 1
    # Offsets and fractions are accepted and kept to the second, in UTC.
    k = add_key(inst, kind, tok, ep["id"], expires_at="2031-06-01T12:00:00.75+02:00")
    assert k["expires_at"] == "2031-06-01T10:00:00Z", k
    assert k["type"] == "hmac-sha256"
    no_content(inst.req("DELETE", kind.keys(ep["id"], k["id"]), tok))
    k = add_key(inst, kind, tok, ep["id"], expires_at="2031-06-01T10:00:00.123456Z")
    assert k["expires_at"] == "2031-06-01T10:00:00Z", k
    assert add_key(inst, kind, tok, ep["id"], status=409).status_code == 409


def test_get_one_key(inst, kind, tok):
    ep = create_ep(inst, kind, tok, key_type="ed25519")
    other = create_ep(inst, kind, tok)
    k = ep["signing_key"]
    assert get_key(inst, kind, tok, ep["id"], k["id"]) == k
    err(inst.req("GET", kind.keys(ep["id"], "sk_" + "f" * 32), tok), 404, "NOT_FOUND")
    err(inst.req("GET", kind.keys(other["id"], k["id"]), tok), 404, "NOT_FOUND")
    for bad in ("sk_1", "sk_" + "Z" * 32, "whsec_abc"):
        err(inst.req("GET", kind.keys(ep["id"], bad), tok), 400, "INVALID_REQUEST")
    err(inst.req("GET", kind.keys(kind.absent(), k["id"]), tok), 404, "ENDPOINT_NOT_FOUND")
    err(inst.req("GET", kind.keys(kind.malformed[0], k["id"]), tok), 400, "INVALID_REQUEST")
    # Another account sees nothing.
    _, _, stranger = inst.account(name="stranger")
    err(inst.req("GET", kind.keys(ep["id"], k["id"]), stranger), 404, "ENDPOINT_NOT_FOUND")
    err(inst.req("GET", kind.keys(ep["id"], k["id"])), 401, "UNAUTHORIZED")


def test_patch(inst, kind, tok):
    ep = create_ep(inst, kind, tok)
    a = ep["signing_key"]
    later = iso(time.time() + 7200)
    # The only lasting key cannot get an expiry.
    err(patch(inst, kind, tok, ep["id"], a["id"], {"expires_at": later}), 409,
        "CANNOT_DELETE_LAST_SIGNING_KEY", message=LAST_KEY_MESSAGE)
    assert get_key(inst, kind, tok, ep["id"], a["id"])["expires_at"] is None
    b = add_key(inst, kind, tok, ep["id"], type="ed25519")
    got = ok(patch(inst, kind, tok, ep["id"], a["id"], {"expires_at": later}))
    assert got == dict(public_of(a), expires_at=later), got
    assert get_key(inst, kind, tok, ep["id"], a["id"])["expires_at"] == later
    # Now b is the only lasting key: it cannot get an expiry, nor go.
    err(patch(inst, kind, tok, ep["id"], b["id"], {"expires_at": later}), 409,
        "CANNOT_DELETE_LAST_SIGNING_KEY", message=LAST_KEY_MESSAGE)
    err(inst.req("DELETE", kind.keys(ep["id"], b["id"]), tok), 409,
        "CANNOT_DELETE_LAST_SIGNING_KEY", message=LAST_KEY_MESSAGE)
    assert [k["expires_at"] for k in list_keys(inst, kind, tok, ep["id"])] == [later, None]
    # Bad bodies: 400, nothing changed.
    for body in ({"expires_at": iso(time.time() - 1)}, {"expires_at": "soon"},
                 {"expires_at": 12}, {}, {"expires_at": later, "type": "ed25519"},
                 {"type": "ed25519"}, {"key_hint": "abcd"}):
        err(patch(inst, kind, tok, ep["id"], a["id"], body), 400, "INVALID_REQUEST")
    err(inst.req("PATCH", kind.keys(ep["id"], a["id"]), tok), 400, "INVALID_REQUEST")
    assert get_key(inst, kind, tok, ep["id"], a["id"])["expires_at"] == later
    # Clearing it; an offset input kept to the second.
    assert ok(patch(inst, kind, tok, ep["id"], a["id"], {"expires_at": None}))["expires_at"] is None
    got = ok(patch(inst, kind, tok, ep["id"], b["id"],
                   {"expires_at": "2032-01-01T01:30:00.9-01:30"}))
    assert got["expires_at"] == "2032-01-01T03:00:00Z" and got["public_key"] == b["public_key"]
    err(patch(inst, kind, tok, ep["id"], "sk_" + "e" * 32, {"expires_at": None}), 404,
        "NOT_FOUND")
    err(patch(inst, kind, tok, ep["id"], "sk_e", {"expires_at": None}), 400, "INVALID_REQUEST")
    updated = events_of(inst, tok, "signing_key.updated")
    assert sorted(e["resource_id"] for e in updated) == sorted([a["id"], a["id"], b["id"]]), updated
    for e in updated:
        assert e["resource_type"] == "signing_key" and e["request_id"], e


def test_order_of_checks(inst, kind, tok):
    """Path ids and body (400) before existence (404) before rules (409)."""
    ep = create_ep(inst, kind, tok)
    absent, key = kind.absent(), ep["signing_key"]["id"]
    err(rotate(inst, kind, tok, absent, {"grace_seconds": -1}), 400, "INVALID_REQUEST")
    err(rotate(inst, kind, tok, absent), 404, "ENDPOINT_NOT_FOUND")
    err(rotate(inst, kind, tok, kind.malformed[0]), 400, "INVALID_REQUEST")
    err(patch(inst, kind, tok, absent, key, {"expires_at": "x"}), 400, "INVALID_REQUEST")
    err(patch(inst, kind, tok, absent, key, {"expires_at": None}), 404, "ENDPOINT_NOT_FOUND")
    err(patch(inst, kind, tok, ep["id"], "sk_" + "d" * 32, {"expires_at": "x"}), 400,
        "INVALID_REQUEST")
    err(add_key(inst, kind, tok, absent, status=400, expires_at="x"), 400, "INVALID_REQUEST")
    err(add_key(inst, kind, tok, absent, status=404, type="ed25519"), 404, "ENDPOINT_NOT_FOUND")
    # A refused rule (409) after a good body; a bad body is 400 even then.
    add_key(inst, kind, tok, ep["id"])
    err(add_key(inst, kind, tok, ep["id"], status=400, type="x"), 400, "INVALID_REQUEST")
    err(rotate(inst, kind, tok, ep["id"], {"grace_seconds": GRACE_MAX + 1}), 400,
        "INVALID_REQUEST")
    err(rotate(inst, kind, tok, ep["id"], {"grace_seconds": 5}), 409, "MAX_SIGNING_KEYS_REACHED")
    for m, path, body in (("POST", kind.keys(ep["id"], "rotate"), {}),
                          ("PATCH", kind.keys(ep["id"], key), {"expires_at": None}),
                          ("GET", kind.keys(ep["id"], key), None)):
        err(inst.req(m, path, json=body), 401, "UNAUTHORIZED")


def test_delete_last_lasting_key_with_an_expiring_other(inst, kind, tok):
    ep = create_ep(inst, kind, tok)
    a = ep["signing_key"]
    b = add_key(inst, kind, tok, ep["id"], expires_at=iso(time.time() + 3600))
    err(inst.req("DELETE", kind.keys(ep["id"], a["id"]), tok), 409,
        "CANNOT_DELETE_LAST_SIGNING_KEY", message=LAST_KEY_MESSAGE)
    assert [k["id"] for k in list_keys(inst, kind, tok, ep["id"])] == [a["id"], b["id"]]
    no_content(inst.req("DELETE", kind.keys(ep["id"], b["id"]), tok))
    assert [k["id"] for k in list_keys(inst, kind, tok, ep["id"])] == [a["id"]]


# --- rotate ---------------------------------------------------------------------------------------

def test_rotate_default_grace(inst, kind, tok):
    for type_ in ("hmac-sha256", "ed25519"):
        ep = create_ep(inst, kind, tok, key_type=type_)
        old = ep["signing_key"]
        t0 = time.time()
        r = rotate(inst, kind, tok, ep["id"])
        t1 = time.time()
        new = ok(r, 201)
        assert_key(new, type_, created=True)
        assert new["expires_at"] is None and new["id"] != old["id"]
        listed = list_keys(inst, kind, tok, ep["id"])
        assert [k["id"] for k in listed] == [old["id"], new["id"]], listed
        exp = epoch(listed[0]["expires_at"])
        assert int(t0) + GRACE_DEFAULT - 1 <= exp <= int(t1) + GRACE_DEFAULT + 1, (t0, exp)
        # Both sign, newest first.
        h = sign(inst, kind, tok, ep["id"], "rotated")
        assert [v for v, _ in entries(h)] == ["v1a" if type_ == "ed25519" else "v1"] * 2
        if type_ == "hmac-sha256":
            assert h["webhook-signature"] == " ".join(
                sign_reference(k["signing_secret"], h["webhook-id"],
                               int(h["webhook-timestamp"]), "rotated") for k in (new, old))
        else:
            for (_, s), k in zip(entries(h), (new, old)):
                assert ed_verifies(pub_raw(k), h, "rotated", s)
        ev = events_of(inst, tok, "signing_key.rotated", new["id"])
        assert len(ev) == 1 and ev[0]["resource_type"] == "signing_key", ev
        assert ev[0]["request_id"] == request_id(r), ev


def test_rotate_type_and_grace_bounds(inst, kind, tok):
    ep = create_ep(inst, kind, tok)
    for bad in (-1, GRACE_MAX + 1, "60", 1.5, True):
        err(rotate(inst, kind, tok, ep["id"], {"grace_seconds": bad}), 400, "INVALID_REQUEST",
            mentions="grace_seconds")
    for body in ({"type": "rsa"}, {"expires_at": iso(time.time() + 60)}, {"grace": 5}):
        err(rotate(inst, kind, tok, ep["id"], body), 400, "INVALID_REQUEST")
    assert len(list_keys(inst, kind, tok, ep["id"])) == 1
    t0 = time.time()
    new = ok(rotate(inst, kind, tok, ep["id"], {"grace_seconds": GRACE_MAX, "type": "ed25519"}),
             201)
    assert_key(new, "ed25519", created=True)
    old = get_key(inst, kind, tok, ep["id"], ep["signing_key"]["id"])
    assert abs(epoch(old["expires_at"]) - (t0 + GRACE_MAX)) <= 2, old
    # An empty object body is fine too.
    ep2 = create_ep(inst, kind, tok, key_type="ed25519")
    assert ok(rotate(inst, kind, tok, ep2["id"], {}), 201)["type"] == "ed25519"
    ep3 = create_ep(inst, kind, tok, key_type="ed25519")
    assert ok(rotate(inst, kind, tok, ep3["id"], {"type": "hmac-sha256", "grace_seconds": 1}),
              201)["type"] == "hmac-sha256"


def test_rotate_with_two_current_keys_409(inst, kind, tok):
    ep = create_ep(inst, kind, tok)
    b = add_key(inst, kind, tok, ep["id"])
    before = list_keys(inst, kind, tok, ep["id"])
    for body in (None, {"grace_seconds": 0}):
        err(rotate(inst, kind, tok, ep["id"], body), 409, "MAX_SIGNING_KEYS_REACHED",
            message=MAX_KEYS_MESSAGE)
    assert list_keys(inst, kind, tok, ep["id"]) == before
    # Also when the second key expires later.
    no_content(inst.req("DELETE", kind.keys(ep["id"], b["id"]), tok))
    ok(rotate(inst, kind, tok, ep["id"], {"grace_seconds": 3600}), 201)
    before = list_keys(inst, kind, tok, ep["id"])
    err(rotate(inst, kind, tok, ep["id"]), 409, "MAX_SIGNING_KEYS_REACHED",
        message=MAX_KEYS_MESSAGE)
    assert list_keys(inst, kind, tok, ep["id"]) == before
    assert len(events_of(inst, tok, "signing_key.rotated")) == 1


def test_rotate_grace_zero_retires_at_once(inst, kind, tok):
    for type_ in ("hmac-sha256", "ed25519"):
        ep = create_ep(inst, kind, tok, key_type=type_)
        old = ep["signing_key"]
        before = sign(inst, kind, tok, ep["id"], "grace zero")
        assert verify(inst, kind, tok, ep["id"], "grace zero", before)["valid"] is True
        new = ok(rotate(inst, kind, tok, ep["id"], {"grace_seconds": 0}), 201)
        # From this answer on (several requests: whichever worker answers).
        for _ in range(6):
            h = sign(inst, kind, tok, ep["id"], "grace zero")
            assert len(entries(h)) == 1, h
            res = verify(inst, kind, tok, ep["id"], "grace zero", before)
            assert res["valid"] is False, res
            err(inst.req("GET", kind.keys(ep["id"], old["id"]), tok), 404, "NOT_FOUND")
        assert [k["id"] for k in list_keys(inst, kind, tok, ep["id"])] == [new["id"]]
        assert old["id"] not in jwks_kids(inst, kind, ep["id"])
        res = verify(inst, kind, tok, ep["id"], "grace zero", h)
        assert res == {"valid": True, "key_id": new["id"]}, res
        # The retired key does not count: a second key can be added.
        add_key(inst, kind, tok, ep["id"])


def test_methods_and_allow(inst, kind, tok):
    ep = create_ep(inst, kind, tok)
    k = ep["signing_key"]["id"]
    for m in ("GET", "PUT", "PATCH", "DELETE"):
        r = inst.req(m, kind.keys(ep["id"], "rotate"), tok)
        err(r, 405, "METHOD_NOT_ALLOWED")
        assert allow_set(r) == {"POST"}, r.headers.get("Allow")
    for m in ("POST", "PUT"):
        r = inst.req(m, kind.keys(ep["id"], k), tok, json={})
        err(r, 405, "METHOD_NOT_ALLOWED")
        assert allow_set(r) == {"GET", "PATCH", "DELETE"}, r.headers.get("Allow")
    r = inst.req("POST", kind.path(ep["id"], "/jwks.json"), tok, json={})
    err(r, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in allow_set(r)
    # A trailing slash means the same route.
    assert ok(inst.req("POST", kind.keys(ep["id"], "rotate/"), tok), 201)["type"] == "hmac-sha256"
    assert get_key(inst, kind, tok, ep["id"], k + "/")["id"] == k


# --- expiry, exact to the second ------------------------------------------------------------------

def test_expiry_exact_to_the_second(inst, kind, tok):
    ep = create_ep(inst, kind, tok)
    a = ep["signing_key"]
    expires = int(time.time()) + 3
    b = add_key(inst, kind, tok, ep["id"], type="ed25519", expires_at=iso(expires))
    assert b["expires_at"] == iso(expires)
    assert jwks_kids(inst, kind, ep["id"]) == [b["id"]]
    early = sign(inst, kind, tok, ep["id"], "exact")
    assert verify(inst, kind, tok, ep["id"], "exact",
                  dict(early, **{"webhook-signature": " ".join(
                      "%s,%s" % e for e in entries(early) if e[0] == "v1a")})) == \
        {"valid": True, "key_id": b["id"]}
    b_only = dict(early, **{"webhook-signature": [
        "%s,%s" % e for e in entries(early) if e[0] == "v1a"][0]})
    seen = []   # (t before, t after, webhook-timestamp, signed by b)
    deadline = time.monotonic() + 8
    while time.time() < expires + 1.5 and time.monotonic() < deadline:
        t0 = time.time()
        h = sign(inst, kind, tok, ep["id"], "exact")   # a new connection each time
        t1 = time.time()
        assert signed_by(a, h, "exact"), h
        seen.append((t0, t1, int(h["webhook-timestamp"]), signed_by(b, h, "exact")))
        time.sleep(0.05)
    after_ts = [s for s in seen if s[2] >= expires]
    before = [s for s in seen if s[1] < expires]
    assert len(before) >= 5 and len(after_ts) >= 5, seen
    assert all(s[3] for s in before), "b stopped signing before %d: %r" % (expires, seen)
    assert not any(s[3] for s in after_ts), "b signed at or after %d: %r" % (expires, seen)
    assert not any(s[3] for s in seen if s[0] >= expires), seen
    # Gone for every route, whichever worker answers.
    for _ in range(4):
        assert verify(inst, kind, tok, ep["id"], "exact", b_only)["valid"] is False
        err(inst.req("GET", kind.keys(ep["id"], b["id"]), tok), 404, "NOT_FOUND")
        err(patch(inst, kind, tok, ep["id"], b["id"], {"expires_at": None}), 404, "NOT_FOUND")
        err(inst.req("DELETE", kind.keys(ep["id"], b["id"]), tok), 404, "NOT_FOUND")
        assert [k["id"] for k in list_keys(inst, kind, tok, ep["id"])] == [a["id"]]
        assert jwks_kids(inst, kind, ep["id"]) == []
    # It no longer counts toward the 2.
    c = add_key(inst, kind, tok, ep["id"])
    err(add_key(inst, kind, tok, ep["id"], status=409), 409, "MAX_SIGNING_KEYS_REACHED")
    assert [k["id"] for k in list_keys(inst, kind, tok, ep["id"])] == [a["id"], c["id"]]
    # One expiry event (the sweep runs every second here).
    ev = poll(lambda: events_of(inst, tok, "signing_key.expired", b["id"]),
              time.monotonic() + 8)
    assert len(ev) == 1, ev


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "busy"])
def test_expired_key_erased(inst, kind, tok, idle):
    ep = create_ep(inst, kind, tok)
    expires = int(time.time()) + 2
    k = add_key(inst, kind, tok, ep["id"], expires_at=iso(expires))
    keep = ep["signing_key"]
    sealed = sealed_of(stored_record(inst, kind, ep["id"]), k["id"])
    assert sealed and k["signing_secret"] not in sealed
    assert not erased(inst, kind, ep["id"], k["id"], sealed)   # the marker is there

    def check():
        if not idle:
            sign(inst, kind, tok, ep["id"], "busy")
        return time.time() >= expires and erased(inst, kind, ep["id"], k["id"], sealed)
    # No HTTP request at all while idle: only the clock can start the sweep.
    done = poll(check, time.monotonic() + (expires - time.time()) + 6, step=0.25)
    took = time.time() - expires
    assert done, "%s: the expired key's sealed material is still stored %.1f s after " \
        "expires_at" % ("idle" if idle else "busy", took)
    rec = stored_record(inst, kind, ep["id"])
    assert [x["id"] for x in rec["keys"]] == [keep["id"]], rec["keys"]
    ev = events_of(inst, tok, "signing_key.expired", k["id"])
    assert len(ev) == 1, ev
    assert ev[0]["actor"] == EXPIRY_ACTOR and ev[0]["request_id"] is None, ev
    assert ev[0]["resource_type"] == "signing_key", ev
    assert expires <= epoch(ev[0]["at"]) <= expires + 7, ev
    time.sleep(1.5)   # more sweeps: still one event
    assert len(events_of(inst, tok, "signing_key.expired", k["id"])) == 1


def test_expiry_passes_while_down(inst, tok):
    """Keys whose expiry passes while every process is dead (kill -9) are gone
    after the restart and erased by its sweep, each with one event."""
    made = []
    expires = int(time.time()) + 2
    for kind in KINDS.values():
        ep = create_ep(inst, kind, tok, key_type="ed25519")
        k = add_key(inst, kind, tok, ep["id"], type="ed25519", expires_at=iso(expires))
        made.append((kind, ep, k, sealed_of(stored_record(inst, kind, ep["id"]), k["id"])))
    inst.kill9_all()
    time.sleep(max(0, expires - time.time()) + 0.5)
    inst.start()
    for kind, ep, k, sealed in made:
        assert [x["id"] for x in list_keys(inst, kind, tok, ep["id"])] == [ep["signing_key"]["id"]]
        err(inst.req("GET", kind.keys(ep["id"], k["id"]), tok), 404, "NOT_FOUND")
        assert jwks_kids(inst, kind, ep["id"]) == [ep["signing_key"]["id"]]
        assert poll(lambda: erased(inst, kind, ep["id"], k["id"], sealed),
                    time.monotonic() + 6, step=0.25), "not erased after the restart"
        assert len(events_of(inst, tok, "signing_key.expired", k["id"])) == 1


# --- Ed25519 signing and verifying -------------------------------------------------------------

def test_ed25519_sign_and_verify(inst, kind, tok):
    ep = create_ep(inst, kind, tok, key_type="ed25519")
    k = ep["signing_key"]
    payload = json.dumps({"event": "ed25519", "note": "Zoë ✓"})
    h = sign(inst, kind, tok, ep["id"], payload, msg_id="msg_ed", timestamp=int(time.time()))
    sig = h["webhook-signature"]
    assert V1A_RE.match(sig), sig
    assert len(base64.b64decode(sig[4:])) == 64
    assert ed_verifies(pub_raw(k), h, payload, sig[4:])
    _, doc = jwks(inst, kind, ep["id"])
    x = doc["keys"][0]["x"]
    raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    assert raw == pub_raw(k) and not ed_verifies(raw, h, payload + " ", sig[4:])
    assert verify(inst, kind, tok, ep["id"], payload, h) == {"valid": True, "key_id": k["id"]}
    # Tampered: a flipped bit, another payload, another Ed25519 key, v1 label.
    flipped = bytearray(base64.b64decode(sig[4:]))
    flipped[10] ^= 1
    foreign = Ed25519PrivateKey.generate().sign(signed_bytes(h, payload))
    for bad in ("v1a," + base64.b64encode(bytes(flipped)).decode(),
                "v1a," + base64.b64encode(foreign).decode(), "v1," + sig[4:],
                "v2," + sig[4:], "v1a,", "v1a,not base64!"):
        res = verify(inst, kind, tok, ep["id"], payload, dict(h, **{"webhook-signature": bad}))
        assert res["valid"] is False and "key_id" not in res, (bad, res)
    res = verify(inst, kind, tok, ep["id"], payload + "x", h)
    assert res["valid"] is False, res
    # Other versions are ignored: a v2 entry beside the good one is fine.
    res = verify(inst, kind, tok, ep["id"], payload,
                 dict(h, **{"webhook-signature": "v2,abc " + sig}))
    assert res == {"valid": True, "key_id": k["id"]}, res


def test_mixed_endpoint_signs_once_per_key(inst, kind, tok):
    ep = create_ep(inst, kind, tok)
    hm = ep["signing_key"]
    ed = add_key(inst, kind, tok, ep["id"], type="ed25519")
    payload = '{"mixed": true}'
    h = sign(inst, kind, tok, ep["id"], payload)
    es = entries(h)
    assert [v for v, _ in es] == ["v1a", "v1"], h   # newest first
    assert ed_verifies(pub_raw(ed), h, payload, es[0][1])
    assert "v1," + es[1][1] == sign_reference(hm["signing_secret"], h["webhook-id"],
                                              int(h["webhook-timestamp"]), payload)
    for e, key in zip(es, (ed, hm)):
        one = dict(h, **{"webhook-signature": "%s,%s" % e})
        assert verify(inst, kind, tok, ep["id"], payload, one) == \
            {"valid": True, "key_id": key["id"]}
    # A v1a entry is not checked against the HMAC key, a v1 not against Ed25519.
    swapped = dict(h, **{"webhook-signature": "v1,%s v1a,%s" % (es[0][1], es[1][1])})
    assert verify(inst, kind, tok, ep["id"], payload, swapped)["valid"] is False


# --- jwks.json ----------------------------------------------------------------------------------

def test_jwks_document(inst, kind, tok):
    hm = create_ep(inst, kind, tok)
    r, doc = jwks(inst, kind, hm["id"])
    assert doc == {"keys": []}, describe(r)
    ed_ep = create_ep(inst, kind, tok, key_type="ed25519")
    first = ed_ep["signing_key"]
    second = ok(rotate(inst, kind, tok, ed_ep["id"], {"grace_seconds": 3600}), 201)
    r, doc = jwks(inst, kind, ed_ep["id"])
    assert [k["kid"] for k in doc["keys"]] == [second["id"], first["id"]], doc   # newest first
    for jwk, key in zip(doc["keys"], (second, first)):
        x = base64.urlsafe_b64encode(pub_raw(key)).rstrip(b"=").decode()
        assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key["id"],
                       "alg": "EdDSA", "use": "sig"}, jwk
    # Mixed: only the Ed25519 key.
    ed = add_key(inst, kind, tok, hm["id"], type="ed25519")
    assert jwks_kids(inst, kind, hm["id"]) == [ed["id"]]
    # No authentication needed; credentials of anyone (or none) answer alike.
    _, _, stranger = inst.account(name="jwks stranger")
    for headers in ({"Authorization": "Bearer " + stranger},
                    {"Authorization": "Bearer sgk_" + "A" * 43}):
        r2, doc2 = jwks(inst, kind, ed_ep["id"], headers=headers)
        assert doc2 == doc, describe(r2)
    # Unknown, malformed or deleted: 404 NOT_FOUND, never ENDPOINT_NOT_FOUND.
    no_content(inst.req("DELETE", kind.path(hm["id"]), tok))
    for ep_id in [kind.absent(), hm["id"]] + kind.malformed:
        err(inst.req("GET", kind.path(ep_id, "/jwks.json")), 404, "NOT_FOUND")
        err(inst.req("GET", kind.path(ep_id, "/jwks.json"), stranger), 404, "NOT_FOUND")


def test_jwks_caching(inst, kind, tok):
    ep = create_ep(inst, kind, tok, key_type="ed25519")
    r, doc = jwks(inst, kind, ep["id"])
    cc = [d.strip().lower() for d in r.headers.get("Cache-Control", "").split(",")]
    assert "max-age=300" in cc, r.headers.get("Cache-Control")
    etag = r.headers.get("ETag")
    assert etag and re.match(r'^(W/)?"[!#-~]+"$', etag), etag
    path = kind.path(ep["id"], "/jwks.json")
    for _ in range(3):   # whichever worker answers
        nm = inst.req("GET", path, headers={"If-None-Match": etag})
        assert nm.status_code == 304 and nm.content == b"", describe(nm)
        assert nm.headers.get("ETag") == etag
    r2, doc2 = jwks(inst, kind, ep["id"], headers={"If-None-Match": '"other"'})
    assert r2.status_code == 200 and doc2 == doc
    ok(rotate(inst, kind, tok, ep["id"], {"grace_seconds": 3600}), 201)
    r3, doc3 = jwks(inst, kind, ep["id"], headers={"If-None-Match": etag})
    assert r3.status_code == 200 and len(doc3["keys"]) == 2, describe(r3)
    assert r3.headers.get("ETag") not in (None, etag)


# --- no private key anywhere ----------------------------------------------------------------------

Raw = serialization.Encoding.Raw
B64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{43,}={0,2}")
HEX_RUN = re.compile(rb"[0-9a-fA-F]{64,}")


def raw_public(pk):
    return pk.public_bytes(Raw, serialization.PublicFormat.Raw)


def _decodings(blob, raw=True):
    """blob itself (if `raw`) and every base64, base64url or hex run in it, decoded."""
    out = [blob] if raw else []
    for m in B64_RUN.finditer(blob):
        s = m.group(0).rstrip(b"=")
        for alt in (s, s.replace(b"-", b"+").replace(b"_", b"/")):
            try:
                out.append(base64.b64decode(alt + b"=" * (-len(alt) % 4), validate=True))
            except ValueError:
                pass
    for m in HEX_RUN.finditer(blob):
        h = m.group(0)
        out.append(bytes.fromhex(h[:len(h) // 2 * 2].decode()))
    return out


def _seed_of(blob, pubs, raw=True):
    """The public key (of `pubs`) whose private key (32-byte seed) is in blob,
    raw (unless text: `raw` false) or encoded, else None."""
    if PKCS8_ED25519_PREFIX in blob or b"PRIVATE KEY-----" in blob:
        return "a private key"
    for data in _decodings(blob, raw):
        if PKCS8_ED25519_PREFIX in data:
            return "a PKCS#8 Ed25519 private key"
        for i in range(len(data) - 31):
            pk = raw_public(Ed25519PrivateKey.from_private_bytes(data[i:i + 32]).public_key())
            if pk in pubs:
                return pk
    return None


def _pub_forms(raw):
    return [raw, base64.b64encode(raw).rstrip(b"="), base64.urlsafe_b64encode(raw).rstrip(b"="),
            raw.hex().encode()]


def private_key_leaks(top, pubs, near=768):
    """([(path, what)], {public keys seen}) for files under `top` holding the private key of a public
    key in `pubs` (raw bytes): every region of `near` bytes around each place
    a public key is stored (raw, base64, base64url, hex) is searched for a seed
    of that key, raw or encoded; any PKCS#8 Ed25519 key or PEM private key
    anywhere counts too.  JSON's "\\/" is read as "/"."""
    found, seen, located = [], set(), set()
    for path, data in walk_files(top):
        data = data.replace(b"\\/", b"/")
        rel = os.path.relpath(path, top)
        if PKCS8_ED25519_PREFIX in data or b"PRIVATE KEY-----" in data:
            found.append((rel, "private key marker"))
        for raw in pubs:
            for form in _pub_forms(raw):
                at = data.find(form)
                for _ in range(10000):
                    if at < 0:
                        break
                    located.add(raw)
                    region = data[max(0, at - near):at + len(form) + near]
                    if region not in seen:
                        seen.add(region)
                        hit = _seed_of(region, pubs)
                        if hit:
                            found.append((rel, hit))
                    at = data.find(form, at + 1)
    return found, located


def test_private_key_scanner_finds_planted_keys(tmp_path):
    priv = Ed25519PrivateKey.generate()
    seed = priv.private_bytes(Raw, serialization.PrivateFormat.Raw,
                              serialization.NoEncryption())
    pub = raw_public(priv.public_key())
    other = raw_public(Ed25519PrivateKey.generate().public_key())
    (tmp_path / "raw").write_bytes(os.urandom(300) + pub + os.urandom(40) + seed + b"\0" * 9)
    rec = {"public_key": "whpk_" + base64.b64encode(pub).decode(),
           "seed": base64.urlsafe_b64encode(seed).decode().rstrip("=")}
    (tmp_path / "json").write_bytes(b"\x01\x02" + json.dumps(rec).encode())
    (tmp_path / "hex").write_bytes(pub.hex().encode() + b" " + seed.hex().encode())
    (tmp_path / "clean").write_bytes(pub + os.urandom(64))
    found, located = private_key_leaks(str(tmp_path), {pub, other})
    assert located == {pub}
    assert sorted(found) == [("hex", pub), ("json", pub), ("raw", pub)], found
    assert _seed_of(("log: " + base64.b64encode(seed).decode()).encode(), {pub}, False) == pub
    assert _seed_of(("log: " + seed.hex()).encode(), {pub}, False) == pub
    assert _seed_of(b"log: " + base64.b64encode(os.urandom(32)), {pub}, False) is None


def test_no_private_key_anywhere(inst, kind, tok):
    texts, pubs = [], set()

    def keep(r):
        texts.append(r.content)
        return r
    ep = ok(keep(inst.req("POST", kind.path(), tok, json={
        kind.url_field: "https://example.com/leak", "key_type": "ed25519"})), 201)
    ids = [ep["signing_key"]["id"]]
    k2 = ok(keep(inst.req("POST", kind.keys(ep["id"]), tok, json={"type": "ed25519"})), 201)
    no_content(inst.req("DELETE", kind.keys(ep["id"], ids[0]), tok))
    k3 = ok(keep(rotate(inst, kind, tok, ep["id"], {"grace_seconds": 3600})), 201)
    mixed = create_ep(inst, kind, tok)
    k4 = ok(keep(rotate(inst, kind, tok, mixed["id"], {"type": "ed25519", "grace_seconds": 0})),
            201)
    for key in (ep["signing_key"], k2, k3, k4):
        pubs.add(pub_raw(key))
    assert len(pubs) == 4
    for e in (ep["id"], mixed["id"]):
        h = ok(keep(inst.req("POST", kind.path(e, "/sign"), tok, json={"payload": "leak"})))
        assert ok(keep(inst.req("POST", kind.path(e, "/verify"), tok,
                                json={"payload": "leak", "headers": h})))["valid"] is True
        keep(inst.req("GET", kind.keys(e), tok))
        keep(inst.req("GET", kind.path(e, "/jwks.json")))
        for key in list_keys(inst, kind, tok, e):
            keep(inst.req("GET", kind.keys(e, key["id"]), tok))
    keep(patch(inst, kind, tok, ep["id"], k2["id"], {"expires_at": iso(time.time() + 600)}))
    keep(inst.req("GET", "/v1/audit-events?limit=100", tok))
    for t in texts:
        assert b"private" not in t.lower() and b"seed" not in t.lower(), t[:300]
        assert _seed_of(t, pubs, raw=False) is None, "a private key in an answer: %r" % t[:300]
    # The stored public keys are found (the scan looks where they are), their
    # private halves nowhere: SIGNET_HOME (database, logs) and the run directory.
    for top in (inst.home, inst.rundir):
        leaks, located = private_key_leaks(top, pubs)
        assert not leaks, "private key material under %s: %r" % (top, leaks)
        if top == inst.home:
            assert located == pubs, "public keys not found under SIGNET_HOME"
    for name in os.listdir(inst.rundir):
        path = os.path.join(inst.rundir, name)
        if os.path.isfile(path) and os.path.getsize(path) < 16 << 20:
            with open(path, "rb") as f:
                assert _seed_of(f.read(), pubs, raw=False) is None, "a private key in %s" % name


# --- the race ---------------------------------------------------------------------------------

RACE_COUNTS = []


def fire(inst, token, reqs):
    """Send (method, path, body) requests at once, each on its own connection
    (opened before they are released, so that they really overlap)."""
    barrier = threading.Barrier(len(reqs), timeout=30)

    def one(req):
        method, path, body = req
        with requests.Session() as s:
            s.get(inst.base + "/healthz", timeout=30)
            barrier.wait()
            return s.request(method, inst.base + path, json=body, timeout=60,
                             headers={"Authorization": "Bearer " + token})
    with ThreadPoolExecutor(len(reqs)) as pool:
        return list(pool.map(one, reqs, timeout=90))


def test_race_rotate_patch_create_delete(inst, kind):
    _, _, tok = inst.account(name="race")
    totals = {}
    for rnd in range(3):
        ep = create_ep(inst, kind, tok, key_type=("hmac-sha256", "ed25519")[rnd % 2])
        a = ep["signing_key"]["id"]
        later = iso(time.time() + 3600)
        ops = [("rotate", ("POST", kind.keys(ep["id"], "rotate"), {"grace_seconds": 3600})),
               ("create", ("POST", kind.keys(ep["id"]), {})),
               ("patch", ("PATCH", kind.keys(ep["id"], a), {"expires_at": later})),
               ("delete", ("DELETE", kind.keys(ep["id"], a), None))] * 4
        results = fire(inst, tok, [o[1] for o in ops])
        counts = {}
        allowed = {"rotate": {201: None, 409: "MAX_SIGNING_KEYS_REACHED"},
                   "create": {201: None, 409: "MAX_SIGNING_KEYS_REACHED"},
                   "patch": {200: None, 409: "CANNOT_DELETE_LAST_SIGNING_KEY", 404: "NOT_FOUND"},
                   "delete": {204: None, 409: "CANNOT_DELETE_LAST_SIGNING_KEY", 404: "NOT_FOUND"}}
        for (op, _), r in zip(ops, results):
            assert r.status_code in allowed[op], "%s: %s" % (op, describe(r))
            code = allowed[op][r.status_code]
            if code is not None:
                err(r, r.status_code, code)
            elif r.status_code == 204:
                no_content(r)
            else:
                ok(r, r.status_code)
            counts["%s %d" % (op, r.status_code)] = counts.get("%s %d" % (op, r.status_code),
                                                               0) + 1
        for c, n in counts.items():
            totals[c] = totals.get(c, 0) + n
        keys = list_keys(inst, kind, tok, ep["id"])
        n201 = counts.get("rotate 201", 0) + counts.get("create 201", 0)
        n204 = counts.get("delete 204", 0)
        assert 1 <= len(keys) <= 2, keys
        assert any(k["expires_at"] is None for k in keys), keys
        assert len(keys) == 1 + n201 - n204, (counts, keys)
        assert n201 >= 1 and n204 <= 1 and n201 <= 1 + n204, counts
        assert (a in [k["id"] for k in keys]) == (n204 == 0), (counts, keys)
        if n204 == 0:
            a_now = [k for k in keys if k["id"] == a][0]
            changed = counts.get("rotate 201", 0) + counts.get("patch 200", 0)
            assert (a_now["expires_at"] is not None) == (changed > 0), (counts, keys)
        # The audit trail saw exactly the changes that were answered 2xx.
        ids = {a} | {k["id"] for k in keys}
        for r in results:
            if r.status_code == 201:
                ids.add(r.json()["data"]["id"])
        evs = [e for e in audit_events(inst, tok) if e["resource_id"] in ids]
        acts = {}
        for e in evs:
            acts[e["action"]] = acts.get(e["action"], 0) + 1
        assert acts.get("signing_key.rotated", 0) == counts.get("rotate 201", 0), (acts, counts)
        assert acts.get("signing_key.updated", 0) == counts.get("patch 200", 0), (acts, counts)
        assert acts.get("signing_key.deleted", 0) == n204, (acts, counts)
        assert acts.get("signing_key.created", 0) == 1 + counts.get("create 201", 0), \
            (acts, counts)
        # The survivors sign, one entry each.
        assert len(entries(sign(inst, kind, tok, ep["id"], "race"))) == len(keys)
    RACE_COUNTS.append((inst.server, kind.name, totals))
    print("race counts %s %s: %s" % (inst.server, kind.name, sorted(totals.items())))


# --- interop: Node (crypto, jose), openssl, standardwebhooks ------------------------------------

def node_ed25519(stdin):
    if NODE is None:
        pytest.skip("node is not installed")
    if not os.path.isdir(os.path.join(REPO, "node_modules", "jose")):
        pytest.fail("node_modules/jose is missing: run `npm ci` in %s" % REPO)
    r = subprocess.run([NODE, ED25519_JS], cwd=REPO, capture_output=True, timeout=60,
                       input=json.dumps(stdin).encode())
    assert r.returncode == 0, "ed25519.js: %s %s" % (r.stdout, r.stderr)
    return json.loads(r.stdout)["entries"]


def openssl_verifies(raw_pub, data, sig):
    if OPENSSL is None:
        pytest.skip("openssl is not installed")
    der = SPKI_ED25519_PREFIX + raw_pub
    pem = "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" % \
        base64.b64encode(der).decode()
    with tempfile.TemporaryDirectory() as d:
        for name, content in (("pub.pem", pem.encode()), ("data", data), ("sig", sig)):
            with open(os.path.join(d, name), "wb") as f:
                f.write(content)
        r = subprocess.run([OPENSSL, "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey",
                            os.path.join(d, "pub.pem"), "-in", os.path.join(d, "data"),
                            "-sigfile", os.path.join(d, "sig")], capture_output=True, timeout=30)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode in (0, 1), out
    return r.returncode == 0 and "Signature Verified Successfully" in out


def test_interop_ed25519(inst, kind, tok):
    two = create_ep(inst, kind, tok, key_type="ed25519")
    ok(rotate(inst, kind, tok, two["id"], {"grace_seconds": 3600}), 201)
    mixed = create_ep(inst, kind, tok)
    add_key(inst, kind, tok, mixed["id"], type="ed25519")
    payload = json.dumps({"interop": "ed25519", "text": "Grüße ✓"})
    for ep in (two, mixed):
        keys = [k for k in list_keys(inst, kind, tok, ep["id"]) if k["type"] == "ed25519"]
        _, doc = jwks(inst, kind, ep["id"])
        h = sign(inst, kind, tok, ep["id"], payload)
        got = node_ed25519({"msg_id": h["webhook-id"], "timestamp": h["webhook-timestamp"],
                            "payload": payload, "signature": h["webhook-signature"],
                            "public_keys": [k["public_key"] for k in keys], "jwks": doc})
        v1a = [(i, e) for i, e in enumerate(got) if e["version"] == "v1a"]
        assert len(v1a) == len(keys), got
        # Each v1a entry verifies with exactly one key, each key with one entry,
        # the same by whpk_ and by jwks.json (kid = key id).
        assert sorted(i for _, e in v1a for i in e["whpk"]) == list(range(len(keys))), got
        for _, e in v1a:
            assert e["length"] == 64 and len(e["whpk"]) == 1, got
            assert e["jwks"] == [keys[e["whpk"][0]]["id"]], got
        # openssl agrees.
        data = signed_bytes(h, payload)
        for i, e in v1a:
            sig = base64.b64decode(entries(h)[i][1])
            assert openssl_verifies(pub_raw(keys[e["whpk"][0]]), data, sig)
            assert not openssl_verifies(pub_raw(keys[e["whpk"][0]]), data + b" ", sig)
        # Node really checks: a changed payload verifies with no key.
        bad = node_ed25519({"msg_id": h["webhook-id"], "timestamp": h["webhook-timestamp"],
                            "payload": payload + " ", "signature": h["webhook-signature"],
                            "public_keys": [k["public_key"] for k in keys], "jwks": doc})
        assert all(e["whpk"] == [] and e["jwks"] == [] for e in bad), bad


def test_interop_standardwebhooks_ignores_v1a(inst, kind, tok):
    if NODE is None:
        pytest.skip("node is not installed")
    if not os.path.isdir(os.path.join(REPO, "node_modules", "standardwebhooks")):
        pytest.fail("node_modules/standardwebhooks is missing: run `npm ci` in %s" % REPO)
    ep = create_ep(inst, kind, tok)
    add_key(inst, kind, tok, ep["id"], type="ed25519")
    payload = '{"library": "standardwebhooks"}'
    h = sign(inst, kind, tok, ep["id"], payload)
    assert [v for v, _ in entries(h)] == ["v1a", "v1"], h

    def lib(p):
        r = subprocess.run([NODE, VERIFY_JS], cwd=REPO, capture_output=True, timeout=60,
                           input=json.dumps({"secret": ep["signing_key"]["signing_secret"],
                                             "payload": p, "headers": h}).encode())
        assert r.returncode in (0, 1), r.stderr.decode()
        return r.returncode == 0, r.stdout.decode()
    good, out = lib(payload)
    assert good, out
    bad, out = lib(payload + " ")
    assert not bad, out


# --- last_verified_at --------------------------------------------------------

def early_verifies(inst):
    """At the module's start: per kind, an endpoint with a verified key and a
    key never verified, and the verify's time window."""
    _, _, tok = inst.account(name="last verified")
    out = {"token": tok}
    for name, kind in KINDS.items():
        ep = create_ep(inst, kind, tok, key_type="ed25519")
        other = add_key(inst, kind, tok, ep["id"])
        h = sign(inst, kind, tok, ep["id"], "lva")
        one = dict(h, **{"webhook-signature": "v1a," + dict(entries(h))["v1a"]})
        before = list_keys(inst, kind, tok, ep["id"])
        t0 = time.time()
        res = verify(inst, kind, tok, ep["id"], "lva", one)
        t1 = time.time()
        assert res == {"valid": True, "key_id": ep["signing_key"]["id"]}, res
        # A refused one sets nothing.
        verify(inst, kind, tok, ep["id"], "lva ", h)
        out[name] = {"ep": ep["id"], "key": ep["signing_key"]["id"], "other": other["id"],
                     "t0": t0, "t1": t1, "before": before}
    return out


def healthy(inst):
    try:
        return inst.req("GET", "/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _lva(inst, kind, tok, info):
    keys = {k["id"]: k for k in list_keys(inst, kind, tok, info["ep"])}
    return keys[info["key"]]["last_verified_at"], keys[info["other"]]["last_verified_at"]


def _check_lva(inst, kind, tok, info):
    got, other = _lva(inst, kind, tok, info)
    assert got is not None, "last_verified_at still null %.0f s after the verify" % (
        time.time() - info["t1"])
    t = epoch(got)
    assert t <= int(info["t1"]), "last_verified_at %s later than the verify" % got
    assert t >= int(info["t0"]) - 60, "last_verified_at %s more than 60 s early" % got
    assert other is None, other
    assert get_key(inst, kind, tok, info["ep"], info["key"])["last_verified_at"] == got
    return got


def test_last_verified_at_null_before_verify(inst, kind, tok):
    """Null until a verify matches the key."""
    info = inst.early[kind.name]
    assert all(k["last_verified_at"] is None for k in info["before"]), info["before"]
    ep = create_ep(inst, kind, tok, key_type="ed25519")
    k = ep["signing_key"]
    assert k["last_verified_at"] is None
    h = sign(inst, kind, tok, ep["id"], "never")
    assert verify(inst, kind, tok, ep["id"], "never ", h)["valid"] is False
    h["webhook-signature"] = "v1," + dict(entries(h))["v1a"]
    assert verify(inst, kind, tok, ep["id"], "never", h)["valid"] is False
    assert get_key(inst, kind, tok, ep["id"], k["id"])["last_verified_at"] is None
    assert list_keys(inst, kind, tok, ep["id"])[0]["last_verified_at"] is None


def test_last_verified_at_appears_and_survives(inst):
    """Last in the file: the early verifies are nearly 60 s old by now."""
    early = inst.early
    tok = early["token"]
    deadline = max(early[k]["t1"] for k in KINDS) + 65
    for name, kind in KINDS.items():
        poll(lambda: _lva(inst, kind, tok, early[name])[0],
             time.monotonic() + max(0, deadline - time.time()), step=1.0)
    got = {name: _check_lva(inst, kind, tok, early[name]) for name, kind in KINDS.items()}
    # The verify is over 60 s old: killing every worker loses nothing.
    workers = inst.worker_pids()
    assert workers
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    poll(lambda: healthy(inst), time.monotonic() + 20)
    for name, kind in KINDS.items():
        assert _check_lva(inst, kind, tok, early[name]) == got[name]
    inst.stop()
    inst.start()
    for name, kind in KINDS.items():
        assert _check_lva(inst, kind, tok, early[name]) == got[name]
