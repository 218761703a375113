"""docs/api.md, Conventions: envelopes, request ids, routing, 404/405,
paging."""

from harness import (ENDPOINT_ID_RE, allow_set, describe, err, no_content, ok,
                     ok_list, request_id)

ABSENT_EP = "ep_" + "0" * 32
ABSENT_SK = "sk_" + "0" * 32


def test_healthz_is_bare_document(signet):
    r = signet.req("GET", "/healthz")
    assert r.status_code == 200, describe(r)
    request_id(r)
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert r.json() == {"status": "ok"}


def test_healthz_trailing_slash(signet):
    r = signet.req("GET", "/healthz/")
    assert r.status_code == 200, describe(r)
    request_id(r)
    assert r.json() == {"status": "ok"}


def test_healthz_other_method_405(signet):
    r = signet.req("POST", "/healthz", json={})
    err(r, 405, "METHOD_NOT_ALLOWED")
    assert allow_set(r) - {"HEAD", "OPTIONS"} == {"GET"}


def test_request_ids_are_unique(signet, token):
    ids = set()
    for path in ("/healthz", "/v1/endpoints", "/v1/endpoints", "/v1/no-such-route"):
        ids.add(request_id(signet.req("GET", path, token)))
    assert len(ids) == 4


def test_success_envelope(signet, token):
    ep = signet.create_endpoint(token)
    r = signet.req("GET", "/v1/endpoints/" + ep["id"], token)
    data = ok(r, 200)
    assert data["id"] == ep["id"]
    assert set(r.json()["meta"]) >= {"request_id"}


def test_unknown_route_404(signet, token):
    for path in ("/v1/no-such-route", "/v1/endpoints/%s/nothing" % ABSENT_EP,
                 "/v1/endpoints/%s/signing-keys/%s/x" % (ABSENT_EP, ABSENT_SK),
                 "/v1", "/v1/"):
        err(signet.req("GET", path, token), 404, "NOT_FOUND")


def test_unknown_route_404_post(signet, token):
    err(signet.req("POST", "/v1/no-such-route", token, json={}), 404, "NOT_FOUND")


def test_405_with_allow(signet, token):
    ep = signet.create_endpoint(token)
    ep_id = ep["id"]
    sk_id = ep["signing_key"]["id"]
    cases = [
        ("PUT", "/v1/endpoints", {"GET", "POST"}),
        ("DELETE", "/v1/endpoints", {"GET", "POST"}),
        ("PATCH", "/v1/endpoints/" + ep_id, {"GET", "DELETE"}),
        ("POST", "/v1/endpoints/" + ep_id, {"GET", "DELETE"}),
        ("PUT", "/v1/endpoints/%s/signing-keys" % ep_id, {"GET", "POST"}),
        ("DELETE", "/v1/endpoints/%s/signing-keys" % ep_id, {"GET", "POST"}),
        ("POST", "/v1/endpoints/%s/signing-keys/%s" % (ep_id, sk_id), {"GET", "PATCH", "DELETE"}),
        ("GET", "/v1/endpoints/%s/signing-keys/rotate" % ep_id, {"POST"}),
        ("GET", "/v1/endpoints/%s/sign" % ep_id, {"POST"}),
        ("GET", "/v1/endpoints/%s/verify" % ep_id, {"POST"}),
        ("DELETE", "/v1/endpoints/%s/verify/" % ep_id, {"POST"}),
    ]
    for method, path, allowed in cases:
        r = signet.req(method, path, token)
        err(r, 405, "METHOD_NOT_ALLOWED")
        assert allow_set(r) - {"HEAD", "OPTIONS"} == allowed, \
            "%s %s: Allow %r, expected %r" % (method, path, r.headers.get("Allow"), allowed)
    # Nothing was changed by the refused requests.
    assert [k["id"] for k in signet.list_keys(token, ep_id)] == [sk_id]


def test_trailing_slash_means_same_route(signet, token):
    ep = ok(signet.req("POST", "/v1/endpoints/", token,
                       json={"url": "https://example.com/slash"}), 201)
    assert ENDPOINT_ID_RE.match(ep["id"])
    got = ok(signet.req("GET", "/v1/endpoints/%s/" % ep["id"], token))
    assert got["id"] == ep["id"]
    items, _ = ok_list(signet.req("GET", "/v1/endpoints/", token))
    assert ep["id"] in [e["id"] for e in items]
    keys = ok(signet.req("GET", "/v1/endpoints/%s/signing-keys/" % ep["id"], token))
    assert [k["id"] for k in keys] == [ep["signing_key"]["id"]]
    new = ok(signet.req("POST", "/v1/endpoints/%s/signing-keys/" % ep["id"], token), 201)
    no_content(signet.req("DELETE", "/v1/endpoints/%s/signing-keys/%s/" % (ep["id"], new["id"]),
                          token))
    sig = ok(signet.req("POST", "/v1/endpoints/%s/sign/" % ep["id"], token, json={"payload": "x"}))
    res = ok(signet.req("POST", "/v1/endpoints/%s/verify/" % ep["id"], token,
                        json={"payload": "x", "headers": sig}))
    assert res["valid"] is True
    no_content(signet.req("DELETE", "/v1/endpoints/%s/" % ep["id"], token))


def test_path_percent_decoded_once(signet, token):
    ep = signet.create_endpoint(token)
    # %65 is "e": decoded once, this is /v1/endpoints/{id}.
    got = ok(signet.req("GET", "/v1/%65ndpoints/" + ep["id"], token))
    assert got["id"] == ep["id"]
    # %2565 decodes once to "%65", which is no route.
    err(signet.req("GET", "/v1/%2565ndpoints/" + ep["id"], token), 404, "NOT_FOUND")


def test_query_string_is_not_part_of_the_route(signet, token):
    ep = signet.create_endpoint(token)
    got = ok(signet.req("GET", "/v1/endpoints/%s?x=1" % ep["id"], token))
    assert got["id"] == ep["id"]


def test_paging(signet):
    _, _, tok = signet.account()
    created = [signet.create_endpoint(tok, url="https://example.com/p%d" % i)["id"]
               for i in range(5)]
    seen = []
    after = None
    for _ in range(10):
        path = "/v1/endpoints?limit=2" + ("&starting_after=" + after if after else "")
        items, has_more = ok_list(signet.req("GET", path, tok))
        assert len(items) <= 2
        seen += [e["id"] for e in items]
        if not has_more:
            break
        assert len(items) == 2
        after = items[-1]["id"]
    else:
        raise AssertionError("paging did not end")
    assert len(seen) == len(set(seen)), "a page repeated an item: %r" % seen
    assert sorted(seen) == sorted(created)
    # limit=5 returns everything at once and has_more is false.
    items, has_more = ok_list(signet.req("GET", "/v1/endpoints?limit=5", tok))
    assert sorted(e["id"] for e in items) == sorted(created) and has_more is False
    items, has_more = ok_list(signet.req("GET", "/v1/endpoints?limit=4", tok))
    assert len(items) == 4 and has_more is True


def test_paging_default_limit_20(signet):
    _, _, tok = signet.account()
    created = {signet.create_endpoint(tok, url="https://example.com/d%d" % i)["id"]
               for i in range(21)}
    items, has_more = ok_list(signet.req("GET", "/v1/endpoints", tok))
    assert len(items) == 20 and has_more is True
    rest, has_more = ok_list(signet.req("GET", "/v1/endpoints?starting_after=" + items[-1]["id"],
                                        tok))
    assert len(rest) == 1 and has_more is False
    assert {e["id"] for e in items + rest} == created
    items, has_more = ok_list(signet.req("GET", "/v1/endpoints?limit=100", tok))
    assert len(items) == 21 and has_more is False
    items, has_more = ok_list(signet.req("GET", "/v1/endpoints?limit=1", tok))
    assert len(items) == 1 and has_more is True


def test_limit_out_of_range(signet, token):
    for bad in ("0", "101", "-1", "abc", "", "1.5", "20x", "1e1", "99999999999999999999"):
        err(signet.req("GET", "/v1/endpoints?limit=" + bad, token), 400, "INVALID_REQUEST",
            mentions="limit")


def test_error_envelope_before_authentication(signet):
    # An error answered before any authentication carries the envelope too.
    err(signet.req("GET", "/v1/endpoints"), 401, "UNAUTHORIZED")
