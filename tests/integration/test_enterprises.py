"""docs/api.md: enterprises (create, list, get), through each web server."""

import re
import time
from datetime import datetime, timezone

import pytest

from harness import TIMESTAMP_RE, UNAUTHORIZED_MESSAGE, allow_set, err, ok, ok_list

ENT_ID_RE = re.compile(r"^ent_[0-9a-f]{32}$")


def create(inst, token, name="Acme Corp", **kw):
    return inst.req("POST", "/v1/enterprises", token, json=dict({"name": name}, **kw))


def assert_enterprise(ent, name):
    assert set(ent) == {"id", "name", "created_at"}, ent
    assert ENT_ID_RE.match(ent["id"]), ent
    assert ent["name"] == name, ent
    assert TIMESTAMP_RE.match(ent["created_at"]), ent
    at = datetime.strptime(ent["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(at.timestamp() - time.time()) < 120, ent


def test_create_and_get(signet, token):
    ent = ok(create(signet, token, "Acme Corp"), 201)
    assert_enterprise(ent, "Acme Corp")
    got = ok(signet.req("GET", "/v1/enterprises/" + ent["id"], token))
    assert got == ent
    # A trailing slash means the same route.
    assert ok(signet.req("GET", "/v1/enterprises/%s/" % ent["id"], token)) == ent
    other = ok(create(signet, token, "Acme Corp"), 201)
    assert other["id"] != ent["id"], "two enterprises got one id"


def test_name_is_kept_verbatim(signet, token):
    name = "Zoë & Söhne ✓ \"quoted\" <tag>"
    ent = ok(create(signet, token, name), 201)
    assert ent["name"] == name
    assert ok(signet.req("GET", "/v1/enterprises/" + ent["id"], token))["name"] == name


def test_create_requires_admin(signet, admin):
    acct = admin[0]
    member = signet.apikey(acct, "member")["token"]
    err(create(signet, member), 403, "FORBIDDEN")
    err(signet.req("POST", "/v1/enterprises", None, json={"name": "x"}), 401,
        "UNAUTHORIZED", message=UNAUTHORIZED_MESSAGE)
    err(signet.req("POST", "/v1/enterprises", "sgk_" + "A" * 43, json={"name": "x"}), 401,
        "UNAUTHORIZED", message=UNAUTHORIZED_MESSAGE)
    # Role before body: a member with a broken body is still 403.
    err(signet.req("POST", "/v1/enterprises", member, json={"nope": 1}), 403, "FORBIDDEN")
    ents, _ = ok_list(signet.req("GET", "/v1/enterprises", member))
    assert ents == [], "a refused create left an enterprise: %r" % ents


def test_member_reads(signet, admin):
    acct, _, tok = admin
    member = signet.apikey(acct, "member")["token"]
    ent = ok(create(signet, tok, "Readable"), 201)
    assert ok(signet.req("GET", "/v1/enterprises/" + ent["id"], member)) == ent
    ents, more = ok_list(signet.req("GET", "/v1/enterprises", member))
    assert ents == [ent] and more is False


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": None}, "name"),
    ({"name": 42}, "name"),
    ({"name": ["Acme"]}, "name"),
    ({"name": ""}, "name"),
    ({"name": "Acme", "colour": "red"}, "colour"),
])
def test_create_bad_body(signet, token, body, field):
    err(signet.req("POST", "/v1/enterprises", token, json=body), 400, "INVALID_REQUEST",
        mentions=field)


def test_create_not_json(signet, token):
    err(signet.req("POST", "/v1/enterprises", token, data=b'{"name": "x"',
                   headers={"Content-Type": "application/json"}), 400, "INVALID_REQUEST")
    err(signet.req("POST", "/v1/enterprises", token, data=b"name=x",
                   headers={"Content-Type": "application/x-www-form-urlencoded"}),
        415, "UNSUPPORTED_MEDIA_TYPE")
    ents, _ = ok_list(signet.req("GET", "/v1/enterprises", token))
    assert ents == []


def test_list_pages(signet, token):
    assert ok_list(signet.req("GET", "/v1/enterprises", token)) == ([], False)
    made = [ok(create(signet, token, "E%d" % i), 201) for i in range(5)]
    everything, more = ok_list(signet.req("GET", "/v1/enterprises", token))
    assert more is False
    assert sorted(e["id"] for e in everything) == sorted(e["id"] for e in made)
    by_id = {e["id"]: e for e in made}
    for e in everything:
        assert e == by_id[e["id"]], e
    # Pages of two cover the same list in the same order.
    seen, after = [], None
    for _ in range(5):
        q = "?limit=2" + ("&starting_after=" + after if after else "")
        page, more = ok_list(signet.req("GET", "/v1/enterprises" + q, token))
        assert 1 <= len(page) <= 2, page
        seen += page
        after = page[-1]["id"]
        if not more:
            break
        assert len(page) == 2
    assert not more, "still has_more after 5 pages of 2 for 5 items"
    assert [e["id"] for e in seen] == [e["id"] for e in everything]
    page, more = ok_list(signet.req("GET", "/v1/enterprises?limit=100", token))
    assert len(page) == 5 and more is False
    page, more = ok_list(signet.req("GET", "/v1/enterprises?limit=5", token))
    assert len(page) == 5 and more is False
    page, more = ok_list(signet.req("GET", "/v1/enterprises?limit=4", token))
    assert len(page) == 4 and more is True


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "limit=-1", "limit="])
def test_list_bad_limit(signet, token, query):
    err(signet.req("GET", "/v1/enterprises?" + query, token), 400, "INVALID_REQUEST",
        mentions="limit")


def test_list_and_get_need_auth(signet, token):
    ent = ok(create(signet, token), 201)
    err(signet.req("GET", "/v1/enterprises"), 401, "UNAUTHORIZED", message=UNAUTHORIZED_MESSAGE)
    err(signet.req("GET", "/v1/enterprises/" + ent["id"]), 401, "UNAUTHORIZED",
        message=UNAUTHORIZED_MESSAGE)


def test_another_accounts_enterprise_is_absent(signet, token):
    ent = ok(create(signet, token, "Mine"), 201)
    _, _, other = signet.account("admin", name="other")
    absent = err(signet.req("GET", "/v1/enterprises/ent_" + "0" * 32, other), 404, "NOT_FOUND")
    # Exactly as if absent: same status, code and message.
    assert err(signet.req("GET", "/v1/enterprises/" + ent["id"], other), 404,
               "NOT_FOUND") == absent
    assert ok_list(signet.req("GET", "/v1/enterprises", other)) == ([], False)
    # starting_after cannot name another account's enterprise to learn anything.
    r = signet.req("GET", "/v1/enterprises?starting_after=" + ent["id"], other)
    if r.status_code == 200:
        assert ok_list(r) == ([], False)
    else:
        err(r, 400, "INVALID_REQUEST")


@pytest.mark.parametrize("bad", [
    "ent_" + "0" * 31,
    "ent_" + "0" * 33,
    "ent_" + "g" * 32,
    "ep_" + "0" * 32,
    "0" * 32,
    "ent_",
])
def test_malformed_id(signet, token, bad):
    err(signet.req("GET", "/v1/enterprises/" + bad, token), 400, "INVALID_REQUEST")


def test_unknown_id(signet, token):
    err(signet.req("GET", "/v1/enterprises/ent_" + "f" * 32, token), 404, "NOT_FOUND")


def test_methods(signet, token):
    r = signet.req("PUT", "/v1/enterprises", token, json={"name": "x"})
    err(r, 405, "METHOD_NOT_ALLOWED")
    assert allow_set(r) == {"GET", "POST"}
    ent = ok(create(signet, token), 201)
    r = signet.req("DELETE", "/v1/enterprises/" + ent["id"], token)
    err(r, 405, "METHOD_NOT_ALLOWED")
    assert allow_set(r) == {"GET"}
