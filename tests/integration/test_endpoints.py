"""docs/api.md: outbound endpoints (create, list, get, delete, validation)."""

import base64
import datetime

from harness import (BAD_URL_MESSAGE, ENDPOINT_ID_RE, KEY_ID_RE, SECRET_RE, TIMESTAMP_RE,
                     err, no_content, ok, ok_list)

ABSENT_EP = "ep_" + "0" * 32
ENDPOINT_FIELDS = {"id", "url", "description", "created_at"}
NEW_KEY_FIELDS = {"id", "type", "signing_secret", "key_hint", "created_at", "expires_at",
                  "last_verified_at"}


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


def test_create_endpoint(signet, token):
    r = signet.req("POST", "/v1/endpoints", token,
                   json={"url": "https://hooks.example.com/in?x=1", "description": "Orders"})
    ep = ok(r, 201)
    assert set(ep) == ENDPOINT_FIELDS | {"signing_key"}, ep
    assert ENDPOINT_ID_RE.match(ep["id"]), ep
    assert ep["url"] == "https://hooks.example.com/in?x=1"
    assert ep["description"] == "Orders"
    assert_recent(ep["created_at"])
    assert_new_key(ep["signing_key"])


def test_create_without_description(signet, token):
    ep = signet.create_endpoint(token, url="https://example.com/nodesc")
    assert set(ep) == ENDPOINT_FIELDS | {"signing_key"}
    assert ep["description"] in (None, ""), ep


def test_ids_and_secrets_are_unique(signet, token):
    eps = [signet.create_endpoint(token) for _ in range(5)]
    assert len({e["id"] for e in eps}) == 5
    assert len({e["signing_key"]["id"] for e in eps}) == 5
    assert len({e["signing_key"]["signing_secret"] for e in eps}) == 5


def test_get_endpoint(signet, token):
    ep = signet.create_endpoint(token, description="get me")
    r = signet.req("GET", "/v1/endpoints/" + ep["id"], token)
    got = ok(r)
    assert set(got) >= ENDPOINT_FIELDS
    for f in ENDPOINT_FIELDS:
        assert got[f] == ep[f], f
    assert "whsec_" not in r.text and "signing_secret" not in r.text


def test_list_endpoints(signet):
    _, _, tok = signet.account()
    a = signet.create_endpoint(tok, url="https://a.example.com/", description="a")
    b = signet.create_endpoint(tok, url="https://b.example.com/")
    r = signet.req("GET", "/v1/endpoints", tok)
    items, has_more = ok_list(r)
    assert has_more is False
    assert sorted(e["id"] for e in items) == sorted([a["id"], b["id"]])
    for e in items:
        assert set(e) >= ENDPOINT_FIELDS
        src = a if e["id"] == a["id"] else b
        for f in ENDPOINT_FIELDS:
            assert e[f] == src[f]
    assert "whsec_" not in r.text


def test_delete_endpoint(signet, token):
    ep = signet.create_endpoint(token)
    keep = signet.create_endpoint(token)
    no_content(signet.req("DELETE", "/v1/endpoints/" + ep["id"], token))
    err(signet.req("GET", "/v1/endpoints/" + ep["id"], token), 404, "ENDPOINT_NOT_FOUND")
    err(signet.req("DELETE", "/v1/endpoints/" + ep["id"], token), 404, "ENDPOINT_NOT_FOUND")
    # Its keys went with it.
    err(signet.req("GET", "/v1/endpoints/%s/signing-keys" % ep["id"], token), 404,
        "ENDPOINT_NOT_FOUND")
    err(signet.req("POST", "/v1/endpoints/%s/signing-keys" % ep["id"], token), 404,
        "ENDPOINT_NOT_FOUND")
    err(signet.req("DELETE", "/v1/endpoints/%s/signing-keys/%s" % (ep["id"], ep["signing_key"]["id"]),
                   token), 404, "ENDPOINT_NOT_FOUND")
    err(signet.req("POST", "/v1/endpoints/%s/sign" % ep["id"], token, json={"payload": "x"}), 404,
        "ENDPOINT_NOT_FOUND")
    items, _ = ok_list(signet.req("GET", "/v1/endpoints?limit=100", token))
    assert [e["id"] for e in items] == [keep["id"]]
    assert ok(signet.req("GET", "/v1/endpoints/" + keep["id"], token))["id"] == keep["id"]


def test_absent_endpoint_404(signet, token):
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/signing-keys"),
                           ("POST", "/signing-keys")):
        err(signet.req(method, "/v1/endpoints/" + ABSENT_EP + suffix, token), 404,
            "ENDPOINT_NOT_FOUND")
    err(signet.req("POST", "/v1/endpoints/%s/sign" % ABSENT_EP, token, json={"payload": "x"}),
        404, "ENDPOINT_NOT_FOUND")


def test_malformed_endpoint_id_400(signet, token):
    for bad in ("ep_123", "ep_" + "0" * 31, "ep_" + "0" * 33, "ep_" + "A" * 32, "ep_" + "g" * 32,
                "sk_" + "0" * 32, "EP_" + "0" * 32, "0" * 32, "ep-" + "0" * 32):
        err(signet.req("GET", "/v1/endpoints/" + bad, token), 400, "INVALID_REQUEST")
        err(signet.req("DELETE", "/v1/endpoints/" + bad, token), 400, "INVALID_REQUEST")
        err(signet.req("POST", "/v1/endpoints/%s/signing-keys" % bad, token), 400,
            "INVALID_REQUEST")


def test_invalid_url(signet, token):
    for url in ("http://example.com/", "ftp://example.com/", "https://", "https:///path",
                "example.com", "not a url", "", "https//example.com", "//example.com/x",
                "javascript:alert(1)", "https://exa mple.com/",
                "https://example.com/" + "a" * 2029):
        r = signet.req("POST", "/v1/endpoints", token, json={"url": url})
        err(r, 400, "INVALID_REQUEST", message=BAD_URL_MESSAGE)
    items, _ = ok_list(signet.req("GET", "/v1/endpoints?limit=100", token))
    assert items == []


def test_url_length_limit(signet, token):
    url = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    assert len(url) == 2048
    ep = signet.create_endpoint(token, url=url)
    assert ep["url"] == url
    err(signet.req("POST", "/v1/endpoints", token, json={"url": url + "a"}), 400,
        "INVALID_REQUEST", message=BAD_URL_MESSAGE)


def test_url_missing_or_not_string(signet, token):
    for body in ({}, {"url": None}, {"url": 5}, {"url": ["https://example.com/"]},
                 {"description": "no url"}):
        err(signet.req("POST", "/v1/endpoints", token, json=body), 400, "INVALID_REQUEST",
            mentions="url")


def test_description_limit(signet, token):
    ep = signet.create_endpoint(token, description="d" * 512)
    assert ep["description"] == "d" * 512
    err(signet.req("POST", "/v1/endpoints", token,
                   json={"url": "https://example.com/", "description": "d" * 513}),
        400, "INVALID_REQUEST", mentions="description")
    err(signet.req("POST", "/v1/endpoints", token,
                   json={"url": "https://example.com/", "description": 12}),
        400, "INVALID_REQUEST", mentions="description")


def test_unicode_description_round_trip(signet, token):
    text = "Zahlungseingänge ✓ 日本"
    ep = signet.create_endpoint(token, description=text)
    assert ep["description"] == text
    assert ok(signet.req("GET", "/v1/endpoints/" + ep["id"], token))["description"] == text


def test_unknown_field_named(signet, token):
    r = signet.req("POST", "/v1/endpoints", token,
                   json={"url": "https://example.com/", "colour": "blue"})
    err(r, 400, "INVALID_REQUEST", mentions="colour")
