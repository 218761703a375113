"""docs/api.md: inbound forward endpoints (UUIDv7 ids), their delivery
signing keys (the rules of outbound endpoints), sign/verify, and the
standardwebhooks library checking a delivery signed by Signet."""

import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid

import pytest
import requests

from harness import (public_view, KEY_ID_RE, LAST_KEY_MESSAGE, MAX_KEYS_MESSAGE, MSG_ID_RE, REPO, SECRET_RE,
                     TIMESTAMP_RE, describe, err, no_content, ok, ok_list, sign_reference)

UUID7_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
INBOUND_FIELDS = {"id", "forward_url", "description", "created_at"}
NEW_KEY_FIELDS = {"id", "type", "signing_secret", "key_hint", "created_at", "expires_at",
                  "last_verified_at"}
LIST_KEY_FIELDS = {"id", "type", "key_hint", "created_at", "expires_at", "last_verified_at"}
HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature"}

NODE = shutil.which("node")
VERIFY_JS = os.path.join(REPO, "tests", "interop", "verify.js")


# --- helpers -----------------------------------------------------------------

def ib_path(ib_id=None, suffix=""):
    p = "/v1/inbound-endpoints"
    if ib_id is not None:
        p += "/" + ib_id
    return p + suffix


def keys_path(ib_id, key_id=None):
    p = ib_path(ib_id, "/signing-keys")
    return p + "/" + key_id if key_id else p


def create(signet, token, forward_url="https://example.com/forward", description=None):
    body = {"forward_url": forward_url}
    if description is not None:
        body["description"] = description
    return ok(signet.req("POST", ib_path(), token, json=body), 201)


def list_keys(signet, token, ib_id):
    return ok(signet.req("GET", keys_path(ib_id), token))


def add_key(signet, token, ib_id):
    return ok(signet.req("POST", keys_path(ib_id), token), 201)


def sign(signet, token, ib_id, payload, **extra):
    body = {"payload": payload}
    body.update(extra)
    return ok(signet.req("POST", ib_path(ib_id, "/sign"), token, json=body))


def verify(signet, token, ib_id, payload, headers, tolerance=None):
    body = {"payload": payload, "headers": headers}
    if tolerance is not None:
        body["tolerance"] = tolerance
    return ok(signet.req("POST", ib_path(ib_id, "/verify"), token, json=body))


def uuid7(ms=None, rand=None):
    """A well-formed UUIDv7 (RFC 9562) for `ms`, canonical lowercase."""
    if ms is None:
        ms = int(time.time() * 1000)
    r = bytearray(rand if rand is not None else os.urandom(10))
    b = ms.to_bytes(6, "big") + bytes(r)
    b = bytearray(b)
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(b)))


def uuid7_ms(u):
    return int(u.replace("-", "")[:12], 16)


def assert_recent(ts):
    assert TIMESTAMP_RE.match(ts), ts
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - t).total_seconds()) < 120, (ts, now)


def assert_new_key(key):
    assert set(key) == NEW_KEY_FIELDS, key
    assert KEY_ID_RE.match(key["id"]), key
    assert SECRET_RE.match(key["signing_secret"]), key
    assert len(base64.b64decode(key["signing_secret"][6:], validate=True)) == 24
    assert key["key_hint"] == key["signing_secret"][-4:], key
    assert_recent(key["created_at"])


def assert_uuid7(ib_id):
    assert UUID7_RE.match(ib_id), "not a canonical lowercase UUIDv7: %r" % ib_id
    u = uuid.UUID(ib_id)
    assert u.version == 7 and u.variant == uuid.RFC_4122, ib_id
    assert str(u) == ib_id


# --- create / get / list / delete -----------------------------------------------

def test_test_uuid7_helper():
    # The ids made here for "absent" endpoints are themselves valid UUIDv7s.
    u = uuid7(1700000000000)
    assert_uuid7(u)
    assert uuid7_ms(u) == 1700000000000


def test_create_inbound_endpoint(signet, token):
    before = int(time.time() * 1000)
    r = signet.req("POST", ib_path(), token,
                   json={"forward_url": "https://relay.example.com/in?x=1", "description": "Stripe"})
    after = int(time.time() * 1000)
    ib = ok(r, 201)
    assert set(ib) == INBOUND_FIELDS | {"signing_key"}, ib
    assert_uuid7(ib["id"])
    # The 48-bit timestamp of a UUIDv7 is the creation time in Unix milliseconds.
    assert before - 2000 <= uuid7_ms(ib["id"]) <= after + 2000, (ib["id"], before, after)
    assert ib["forward_url"] == "https://relay.example.com/in?x=1"
    assert ib["description"] == "Stripe"
    assert_recent(ib["created_at"])
    assert_new_key(ib["signing_key"])


def test_create_without_description(signet, token):
    ib = create(signet, token)
    assert set(ib) == INBOUND_FIELDS | {"signing_key"}, ib
    assert ib["description"] in (None, ""), ib
    got = ok(signet.req("GET", ib_path(ib["id"]), token))
    assert got["description"] == ib["description"]


def test_ids_and_secrets_unique(signet, token):
    ibs = [create(signet, token) for _ in range(5)]
    assert len({i["id"] for i in ibs}) == 5
    assert len({i["signing_key"]["id"] for i in ibs}) == 5
    assert len({i["signing_key"]["signing_secret"] for i in ibs}) == 5
    # Made one after another by one client: UUIDv7 order is creation order.
    ids = [i["id"] for i in ibs]
    assert ids == sorted(ids), ids


def test_get_inbound_endpoint(signet, token):
    ib = create(signet, token, forward_url="https://example.com/get", description="get me")
    r = signet.req("GET", ib_path(ib["id"]), token)
    got = ok(r)
    assert set(got) == INBOUND_FIELDS, got
    for f in INBOUND_FIELDS:
        assert got[f] == ib[f], f
    assert "whsec_" not in r.text and "signing_secret" not in r.text
    # A trailing slash names the same route.
    assert ok(signet.req("GET", ib_path(ib["id"]) + "/", token))["id"] == ib["id"]


def test_first_key_listed_without_secret(signet, token):
    ib = create(signet, token)
    r = signet.req("GET", keys_path(ib["id"]), token)
    keys = ok(r)
    k = ib["signing_key"]
    assert keys == [public_view(k)]
    assert "whsec_" not in r.text and "signing_secret" not in r.text


def test_list_in_creation_order_with_paging(signet):
    _, _, tok = signet.account()
    items, has_more = ok_list(signet.req("GET", ib_path(), tok))
    assert items == [] and has_more is False
    made = [create(signet, tok, forward_url="https://example.com/p%d" % i, description="p%d" % i)
            for i in range(7)]
    ids = [m["id"] for m in made]

    r = signet.req("GET", ib_path(), tok)
    items, has_more = ok_list(r)
    assert [i["id"] for i in items] == ids and has_more is False
    for item, m in zip(items, made):
        assert set(item) == INBOUND_FIELDS, item
        for f in INBOUND_FIELDS:
            assert item[f] == m[f], f
    assert "whsec_" not in r.text

    # Page through three at a time.
    seen, after, pages = [], None, 0
    while True:
        q = "?limit=3" + ("&starting_after=" + after if after else "")
        page, has_more = ok_list(signet.req("GET", ib_path() + q, tok))
        pages += 1
        assert 1 <= len(page) <= 3, page
        seen += [p["id"] for p in page]
        if not has_more:
            break
        assert len(page) == 3
        after = page[-1]["id"]
        assert pages < 10, "paging does not end"
    assert seen == ids and pages == 3

    page, has_more = ok_list(signet.req("GET", ib_path() + "?limit=1", tok))
    assert [p["id"] for p in page] == ids[:1] and has_more is True
    page, has_more = ok_list(signet.req("GET", ib_path() + "?limit=7", tok))
    assert [p["id"] for p in page] == ids and has_more is False
    page, has_more = ok_list(signet.req("GET", ib_path() + "?limit=6", tok))
    assert [p["id"] for p in page] == ids[:6] and has_more is True
    page, has_more = ok_list(signet.req("GET", ib_path() + "?starting_after=" + ids[5], tok))
    assert [p["id"] for p in page] == ids[6:] and has_more is False
    page, has_more = ok_list(signet.req("GET", ib_path() + "?limit=100&starting_after=" + ids[6],
                                        tok))
    assert page == [] and has_more is False


def test_list_limit_validation(signet, token):
    for bad in ("0", "101", "-1", "x", "", "1.5", "20abc"):
        err(signet.req("GET", ib_path() + "?limit=" + bad, token), 400, "INVALID_REQUEST")
    ok_list(signet.req("GET", ib_path() + "?limit=100", token))


def test_list_is_per_account(signet):
    _, _, a = signet.account()
    _, _, b = signet.account()
    ia = create(signet, a)
    ib = create(signet, b)
    items, _ = ok_list(signet.req("GET", ib_path() + "?limit=100", a))
    assert [i["id"] for i in items] == [ia["id"]]
    items, _ = ok_list(signet.req("GET", ib_path() + "?limit=100", b))
    assert [i["id"] for i in items] == [ib["id"]]


def test_delete_inbound_endpoint(signet):
    _, _, tok = signet.account()
    ib = create(signet, tok)
    keep = create(signet, tok)
    second = add_key(signet, tok, ib["id"])
    no_content(signet.req("DELETE", ib_path(ib["id"]), tok))
    err(signet.req("GET", ib_path(ib["id"]), tok), 404, "ENDPOINT_NOT_FOUND")
    err(signet.req("DELETE", ib_path(ib["id"]), tok), 404, "ENDPOINT_NOT_FOUND")
    # Its keys went with it.
    err(signet.req("GET", keys_path(ib["id"]), tok), 404, "ENDPOINT_NOT_FOUND")
    err(signet.req("POST", keys_path(ib["id"]), tok), 404, "ENDPOINT_NOT_FOUND")
    for k in (ib["signing_key"]["id"], second["id"]):
        err(signet.req("DELETE", keys_path(ib["id"], k), tok), 404, "ENDPOINT_NOT_FOUND")
    err(signet.req("POST", ib_path(ib["id"], "/sign"), tok, json={"payload": "x"}), 404,
        "ENDPOINT_NOT_FOUND")
    err(signet.req("POST", ib_path(ib["id"], "/verify"), tok,
                   json={"payload": "x", "headers": {"webhook-id": "m", "webhook-timestamp": "1",
                                                     "webhook-signature": "v1,AAAA"}}),
        404, "ENDPOINT_NOT_FOUND")
    items, _ = ok_list(signet.req("GET", ib_path() + "?limit=100", tok))
    assert [i["id"] for i in items] == [keep["id"]]
    assert ok(signet.req("GET", ib_path(keep["id"]), tok))["id"] == keep["id"]
    assert len(list_keys(signet, tok, keep["id"])) == 1


# --- path ids ----------------------------------------------------------------------

def _every_id_route(signet, token, ib_id, key_id="sk_" + "0" * 32):
    """(method, path, body) for every route naming an inbound endpoint id."""
    hdrs = {"webhook-id": "msg_x", "webhook-timestamp": str(int(time.time())),
            "webhook-signature": "v1,AAAA"}
    return [("GET", ib_path(ib_id), None),
            ("DELETE", ib_path(ib_id), None),
            ("GET", keys_path(ib_id), None),
            ("POST", keys_path(ib_id), None),
            ("DELETE", keys_path(ib_id, key_id), None),
            ("POST", ib_path(ib_id, "/sign"), {"payload": "x"}),
            ("POST", ib_path(ib_id, "/verify"), {"payload": "x", "headers": hdrs})]


def _send(signet, token, method, path, body):
    if body is None:
        return signet.req(method, path, token)
    return signet.req(method, path, token, json=body)


def test_malformed_path_ids_400(signet, token):
    ib = create(signet, token)
    real = ib["id"]
    hexid = real.replace("-", "")
    v4 = str(uuid.uuid4())
    bad_variant_c = real[:19] + "c" + real[20:]   # variant 110x (Microsoft)
    bad_variant_0 = real[:19] + "4" + real[20:]   # variant 0xxx (NCS)
    v7_as_v4 = real[:14] + "4" + real[15:]
    v7_as_v1 = real[:14] + "1" + real[15:]
    bads = [v4, real.upper(), real[:8].upper() + real[8:], "{" + real + "}", hexid,
            "urn:uuid:" + real, bad_variant_c, bad_variant_0, v7_as_v4, v7_as_v1,
            "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
            real[:-1], real + "0", real[:-1] + "g", real.replace("-", "_"),
            "ep_" + "0" * 32, "not-a-uuid", "1"]
    assert all(b != real for b in bads)
    for bad in bads:
        for method, path, body in _every_id_route(signet, token, bad):
            err(_send(signet, token, method, path, body), 400, "INVALID_REQUEST")
    # Nothing happened to the real endpoint.
    assert len(list_keys(signet, token, real)) == 1
    assert ok(signet.req("GET", ib_path(real), token))["id"] == real


def test_absent_uuid7_404(signet, token):
    absent = uuid7()
    for method, path, body in _every_id_route(signet, token, absent):
        err(_send(signet, token, method, path, body), 404, "ENDPOINT_NOT_FOUND")


def test_other_accounts_endpoint_404(signet):
    _, _, owner = signet.account()
    _, _, other = signet.account()
    ib = create(signet, owner)
    second = add_key(signet, owner, ib["id"])
    for method, path, body in _every_id_route(signet, other, ib["id"], key_id=second["id"]):
        err(_send(signet, other, method, path, body), 404, "ENDPOINT_NOT_FOUND")
    # Untouched for its owner.
    got = ok(signet.req("GET", ib_path(ib["id"]), owner))
    assert got["id"] == ib["id"]
    assert [k["id"] for k in list_keys(signet, owner, ib["id"])] == [ib["signing_key"]["id"],
                                                                     second["id"]]


def test_order_of_checks(signet, token):
    absent = uuid7()
    # Authentication before path ids; path ids and body before existence.
    err(signet.req("GET", ib_path("NOT-A-UUID"), None), 401, "UNAUTHORIZED")
    err(signet.req("POST", ib_path(absent, "/sign"), token, json={}), 400, "INVALID_REQUEST",
        mentions="payload")
    err(signet.req("POST", ib_path(absent, "/signing-keys"), token, json={"x": 1}), 400,
        "INVALID_REQUEST")
    err(signet.req("DELETE", keys_path(absent, "sk_bad"), token), 400, "INVALID_REQUEST")


def test_outbound_and_inbound_ids_do_not_mix(signet, token):
    ep = signet.create_endpoint(token)
    ib = create(signet, token)
    err(signet.req("GET", ib_path(ep["id"]), token), 400, "INVALID_REQUEST")
    err(signet.req("GET", "/v1/endpoints/" + ib["id"], token), 400, "INVALID_REQUEST")


def test_unauthenticated_401(signet, token):
    ib = create(signet, token)
    for method, path, body in [("POST", ib_path(), {"forward_url": "https://example.com/"}),
                               ("GET", ib_path(), None)] + \
            _every_id_route(signet, None, ib["id"]):
        err(_send(signet, None, method, path, body), 401, "UNAUTHORIZED")


# --- forward_url / body validation ----------------------------------------------

def test_forward_url_must_be_https(signet):
    _, _, tok = signet.account()
    for url in ("http://example.com/", "ftp://example.com/", "https://", "https:///path",
                "example.com", "not a url", "", "//example.com/x", "javascript:alert(1)",
                "https://exa mple.com/", "HTTP://example.com/"):
        err(signet.req("POST", ib_path(), tok, json={"forward_url": url}), 400, "INVALID_REQUEST",
            mentions="forward_url")
    items, _ = ok_list(signet.req("GET", ib_path() + "?limit=100", tok))
    assert items == []


def test_forward_url_missing_or_not_string(signet, token):
    for body in ({}, {"forward_url": None}, {"forward_url": 5},
                 {"forward_url": ["https://example.com/"]}, {"description": "no url"}):
        err(signet.req("POST", ib_path(), token, json=body), 400, "INVALID_REQUEST",
            mentions="forward_url")


def test_outbound_field_name_refused(signet, token):
    # `url` belongs to outbound endpoints; here it is an unknown field.
    err(signet.req("POST", ib_path(), token, json={"url": "https://example.com/"}), 400,
        "INVALID_REQUEST")
    err(signet.req("POST", ib_path(), token,
                   json={"forward_url": "https://example.com/", "url": "https://example.com/"}),
        400, "INVALID_REQUEST", mentions="url")


def test_unknown_field_named(signet, token):
    err(signet.req("POST", ib_path(), token,
                   json={"forward_url": "https://example.com/", "colour": "blue"}),
        400, "INVALID_REQUEST", mentions="colour")


def test_description_limit(signet, token):
    ib = create(signet, token, description="d" * 512)
    assert ib["description"] == "d" * 512
    err(signet.req("POST", ib_path(), token,
                   json={"forward_url": "https://example.com/", "description": "d" * 513}),
        400, "INVALID_REQUEST", mentions="description")


# --- signing keys ----------------------------------------------------------------------

def test_key_rotation_rules(signet, token):
    ib = create(signet, token)
    ib_id, old = ib["id"], ib["signing_key"]
    new = add_key(signet, token, ib_id)
    assert_new_key(new)
    assert new["id"] != old["id"] and new["signing_secret"] != old["signing_secret"]
    r = signet.req("GET", keys_path(ib_id), token)
    keys = ok(r)
    assert [k["id"] for k in keys] == [old["id"], new["id"]], "not oldest first: %r" % keys
    for k in keys:
        assert set(k) == LIST_KEY_FIELDS, k
    assert keys[1] == public_view(new)
    assert "whsec_" not in r.text

    err(signet.req("POST", keys_path(ib_id), token), 409, "MAX_SIGNING_KEYS_REACHED",
        message=MAX_KEYS_MESSAGE)
    assert len(list_keys(signet, token, ib_id)) == 2

    no_content(signet.req("DELETE", keys_path(ib_id, old["id"]), token))
    assert [k["id"] for k in list_keys(signet, token, ib_id)] == [new["id"]]
    err(signet.req("DELETE", keys_path(ib_id, new["id"]), token), 409,
        "CANNOT_DELETE_LAST_SIGNING_KEY", message=LAST_KEY_MESSAGE)
    assert [k["id"] for k in list_keys(signet, token, ib_id)] == [new["id"]]
    err(signet.req("DELETE", keys_path(ib_id, old["id"]), token), 404, "NOT_FOUND")

    third = add_key(signet, token, ib_id)
    assert [k["id"] for k in list_keys(signet, token, ib_id)] == [new["id"], third["id"]]


def test_last_key_of_new_inbound_endpoint(signet, token):
    ib = create(signet, token)
    err(signet.req("DELETE", keys_path(ib["id"], ib["signing_key"]["id"]), token), 409,
        "CANNOT_DELETE_LAST_SIGNING_KEY", message=LAST_KEY_MESSAGE)
    assert len(list_keys(signet, token, ib["id"])) == 1


def test_create_key_body(signet, token):
    ib = create(signet, token)
    err(signet.req("POST", keys_path(ib["id"]), token, json={"name": "x"}), 400,
        "INVALID_REQUEST", mentions="name")
    assert len(list_keys(signet, token, ib["id"])) == 1
    assert_new_key(ok(signet.req("POST", keys_path(ib["id"]), token, json={}), 201))


def test_key_ids_in_path(signet, token):
    a = create(signet, token)
    b = create(signet, token)
    a2 = add_key(signet, token, a["id"])
    add_key(signet, token, b["id"])
    # a's key through b's path: not found, nothing deleted.
    err(signet.req("DELETE", keys_path(b["id"], a2["id"]), token), 404, "NOT_FOUND")
    err(signet.req("DELETE", keys_path(b["id"], "sk_" + "f" * 32), token), 404, "NOT_FOUND")
    for bad in ("sk_1", "sk_" + "0" * 31, "sk_" + "0" * 33, "sk_" + "Z" * 32, a["id"]):
        err(signet.req("DELETE", keys_path(b["id"], bad), token), 400, "INVALID_REQUEST")
    assert len(list_keys(signet, token, a["id"])) == 2
    assert len(list_keys(signet, token, b["id"])) == 2


def _fire(signet, method, paths, token):
    """One request per path, each from its own thread, released together."""
    n = len(paths)
    barrier = threading.Barrier(n, timeout=30)
    results = [None] * n

    def run(i):
        s = requests.Session()
        try:
            s.get(signet.base + "/healthz", timeout=30)
            barrier.wait()
            results[i] = s.request(method, signet.base + paths[i],
                                   headers={"Authorization": "Bearer " + token}, timeout=60)
        except Exception as e:  # reported below
            results[i] = e
        finally:
            s.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not any(t.is_alive() for t in threads), "requests hung"
    for r in results:
        assert isinstance(r, requests.Response), "request failed: %r" % (r,)
    return results


def test_concurrent_key_creation_race(signet, token):
    ib = create(signet, token)
    ib_id, first = ib["id"], ib["signing_key"]["id"]
    for _round in range(2):
        results = _fire(signet, "POST", [keys_path(ib_id)] * 16, token)
        created = [r for r in results if r.status_code == 201]
        refused = [r for r in results if r.status_code == 409]
        assert len(created) == 1 and len(refused) == 15, \
            "statuses: %r\n%s" % (sorted(r.status_code for r in results),
                                  "\n".join(describe(r) for r in results
                                            if r.status_code not in (201, 409)))
        new = ok(created[0], 201)
        assert_new_key(new)
        for r in refused:
            err(r, 409, "MAX_SIGNING_KEYS_REACHED", message=MAX_KEYS_MESSAGE)
        assert [k["id"] for k in list_keys(signet, token, ib_id)] == [first, new["id"]]
        no_content(signet.req("DELETE", keys_path(ib_id, new["id"]), token))


# --- sign / verify -------------------------------------------------------------------------

def test_sign_explicit_id_and_timestamp(signet, token):
    ib = create(signet, token)
    secret = ib["signing_key"]["signing_secret"]
    payload = '{"test": 2432232314}'
    h = sign(signet, token, ib["id"], payload, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
             timestamp=1614265330)
    assert h == {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
                 "webhook-signature": sign_reference(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                                     1614265330, payload)}


def test_sign_defaults(signet, token):
    ib = create(signet, token)
    secret = ib["signing_key"]["signing_secret"]
    before = int(time.time())
    h = sign(signet, token, ib["id"], "hello ✓")
    after = int(time.time())
    assert set(h) == HEADERS and all(isinstance(v, str) for v in h.values()), h
    assert MSG_ID_RE.match(h["webhook-id"]), h
    assert re.match(r"^\d+$", h["webhook-timestamp"]), h
    assert before - 2 <= int(h["webhook-timestamp"]) <= after + 2
    assert h["webhook-signature"] == sign_reference(secret, h["webhook-id"],
                                                    h["webhook-timestamp"], "hello ✓")


def test_sign_with_two_keys_newest_first(signet, token):
    ib = create(signet, token)
    old = ib["signing_key"]["signing_secret"]
    new = add_key(signet, token, ib["id"])["signing_secret"]
    h = sign(signet, token, ib["id"], "rotate", msg_id="msg_rot", timestamp=1700000001)
    assert h["webhook-signature"] == sign_reference(new, "msg_rot", 1700000001, "rotate") + " " + \
        sign_reference(old, "msg_rot", 1700000001, "rotate")


def test_sign_field_validation(signet, token):
    ib = create(signet, token)
    p = ib_path(ib["id"], "/sign")
    for body, field in (({}, "payload"), ({"payload": 5}, "payload"),
                        ({"payload": "x", "msg_id": ""}, "msg_id"),
                        ({"payload": "x", "msg_id": "m" * 256}, "msg_id"),
                        ({"payload": "x", "timestamp": "1700000000"}, "timestamp"),
                        ({"payload": "x", "extra": 1}, "extra")):
        err(signet.req("POST", p, token, json=body), 400, "INVALID_REQUEST", mentions=field)


def test_verify(signet, token):
    ib = create(signet, token)
    ib_id, first = ib["id"], ib["signing_key"]
    payload = '{"event": "inbound"}'
    h = sign(signet, token, ib_id, payload)
    res = verify(signet, token, ib_id, payload, h)
    assert res["valid"] is True and res["key_id"] == first["id"], res

    bad = verify(signet, token, ib_id, payload + " ", h)
    assert bad["valid"] is False and isinstance(bad.get("reason"), str) and bad["reason"], bad
    assert "key_id" not in bad or bad["key_id"] is None, bad

    # A signature made here with the secret verifies, one made with another secret does not.
    ts = int(time.time())
    mine = {"webhook-id": "msg_mine", "webhook-timestamp": str(ts),
            "webhook-signature": sign_reference(first["signing_secret"], "msg_mine", ts, payload)}
    assert verify(signet, token, ib_id, payload, mine)["valid"] is True
    other = create(signet, token)["signing_key"]["signing_secret"]
    theirs = dict(mine, **{"webhook-signature": sign_reference(other, "msg_mine", ts, payload)})
    assert verify(signet, token, ib_id, payload, theirs)["valid"] is False

    # Tolerance: 10 minutes old fails the default 300 s, passes 900 s.
    old_ts = ts - 600
    old = {"webhook-id": "msg_old", "webhook-timestamp": str(old_ts),
           "webhook-signature": sign_reference(first["signing_secret"], "msg_old", old_ts, payload)}
    res = verify(signet, token, ib_id, payload, old)
    assert res["valid"] is False and res.get("reason"), res
    assert verify(signet, token, ib_id, payload, old, tolerance=900)["valid"] is True
    fut_ts = ts + 600
    fut = {"webhook-id": "msg_fut", "webhook-timestamp": str(fut_ts),
           "webhook-signature": sign_reference(first["signing_secret"], "msg_fut", fut_ts, payload)}
    assert verify(signet, token, ib_id, payload, fut)["valid"] is False


def test_verify_across_rotation(signet, token):
    ib = create(signet, token)
    ib_id, old = ib["id"], ib["signing_key"]
    ts = int(time.time())
    payload = "rotation"
    by_old = {"webhook-id": "msg_a", "webhook-timestamp": str(ts),
              "webhook-signature": sign_reference(old["signing_secret"], "msg_a", ts, payload)}
    new = add_key(signet, token, ib_id)
    by_new = dict(by_old, **{"webhook-signature": sign_reference(new["signing_secret"], "msg_a",
                                                                 ts, payload)})
    res = verify(signet, token, ib_id, payload, by_old)
    assert res["valid"] is True and res["key_id"] == old["id"], res
    res = verify(signet, token, ib_id, payload, by_new)
    assert res["valid"] is True and res["key_id"] == new["id"], res
    no_content(signet.req("DELETE", keys_path(ib_id, old["id"]), token))
    assert verify(signet, token, ib_id, payload, by_old)["valid"] is False
    assert verify(signet, token, ib_id, payload, by_new)["valid"] is True


# --- the standardwebhooks library as the receiver -----------------------------------------

def _library_verifies(secret, payload, headers):
    if NODE is None:
        pytest.skip("node is not installed")
    if not os.path.isdir(os.path.join(REPO, "node_modules", "standardwebhooks")):
        pytest.fail("node_modules/standardwebhooks is missing: run `npm ci` in %s" % REPO)
    r = subprocess.run([NODE, VERIFY_JS], cwd=REPO, capture_output=True, timeout=60,
                       input=json.dumps({"secret": secret, "payload": payload,
                                         "headers": headers}).encode())
    assert r.returncode in (0, 1), "verify.js failed: %s %s" % (r.stdout, r.stderr)
    return r.returncode == 0, r.stdout.decode()


def test_standardwebhooks_verifies_inbound_delivery(signet, token):
    ib = create(signet, token)
    secret = ib["signing_key"]["signing_secret"]
    payload = json.dumps({"type": "charge.succeeded", "amount": 1999, "note": "Zoë ✓"})
    headers = sign(signet, token, ib["id"], payload)
    good, out = _library_verifies(secret, payload, headers)
    assert good, out
    bad, out = _library_verifies(secret, payload + " ", headers)
    assert not bad, out
    other = create(signet, token)["signing_key"]["signing_secret"]
    bad, out = _library_verifies(other, payload, headers)
    assert not bad, out
    # With two keys the library accepts the delivery with either secret.
    new = add_key(signet, token, ib["id"])["signing_secret"]
    headers = sign(signet, token, ib["id"], payload)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for s in (secret, new):
        good, out = _library_verifies(s, payload, headers)
        assert good, out
