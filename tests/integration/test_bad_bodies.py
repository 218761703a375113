"""docs/api.md, Conventions: request bodies: size cap, content type, strict
JSON."""

import json

from harness import err, ok, ok_list

JSON = {"Content-Type": "application/json"}
URL = "https://example.com/bodies"


def post_raw(signet, token, body, headers=JSON, path="/v1/endpoints"):
    return signet.req("POST", path, token, data=body, headers=headers)


def padded_body(size):
    """A valid create-endpoint body of exactly `size` bytes (JSON whitespace)."""
    head = '{"url": "%s", "description": "padded"' % URL
    body = head + " " * (size - len(head) - 1) + "}"
    assert len(body.encode()) == size
    json.loads(body)
    return body.encode()


def assert_no_endpoints(signet, token):
    items, _ = ok_list(signet.req("GET", "/v1/endpoints?limit=100", token))
    assert items == [], items


def test_malformed_json(signet, token):
    for body in (b'{"url": ', b'{url: "https://example.com/"}', b"{'url': 'https://example.com/'}",
                 b'{"url": "https://example.com/",}', b"{", b"}", b"nul",
                 b'{"url": "https://example.com/" "description": "x"}'):
        err(post_raw(signet, token, body), 400, "INVALID_REQUEST")
    assert_no_endpoints(signet, token)


def test_body_must_be_an_object(signet, token):
    for body in (b"[]", b'"https://example.com/"', b"null", b"42", b"true",
                 b'[{"url": "https://example.com/"}]'):
        err(post_raw(signet, token, body), 400, "INVALID_REQUEST")
    assert_no_endpoints(signet, token)


def test_empty_body_where_one_is_required(signet, token):
    err(post_raw(signet, token, b""), 400, "INVALID_REQUEST")


def test_trailing_garbage(signet, token):
    good = '{"url": "%s"}' % URL
    for body in (good + " x", good + "{}", good + good, good + "]", good + "\x00"):
        err(post_raw(signet, token, body.encode()), 400, "INVALID_REQUEST")
    assert_no_endpoints(signet, token)
    # Trailing whitespace is not garbage.
    ok(post_raw(signet, token, (good + " \r\n\t").encode()), 201)


def _nested(levels):
    """A body whose nesting is `levels` deep: the object plus levels-1 arrays."""
    return ('{"url": "%s", "description": %s%s}' % (URL, "[" * (levels - 1),
                                                    "]" * (levels - 1))).encode()


def test_nesting_depth(signet, token):
    # 32 levels parse: the request fails only on the field's type, naming it.
    msg = err(post_raw(signet, token, _nested(32)), 400, "INVALID_REQUEST")
    assert "description" in msg, "32 levels should parse (then fail on description): %r" % msg
    # 33 levels are refused by the parser, before any field is looked at.
    for levels in (33, 64, 5000):
        msg = err(post_raw(signet, token, _nested(levels)), 400, "INVALID_REQUEST")
        assert "description" not in msg, \
            "%d levels should be refused as too deep, not on the field: %r" % (levels, msg)
    assert_no_endpoints(signet, token)


def test_body_exactly_64k_accepted(signet, token):
    ep = ok(post_raw(signet, token, padded_body(65536)), 201)
    assert ep["url"] == URL and ep["description"] == "padded"


def test_body_over_64k_413(signet, token):
    err(post_raw(signet, token, padded_body(65537)), 413, "PAYLOAD_TOO_LARGE")
    assert_no_endpoints(signet, token)


def test_body_1mib_413(signet, token):
    err(post_raw(signet, token, padded_body(1 << 20)), 413, "PAYLOAD_TOO_LARGE")
    # Also where the route takes no body, and on sign.
    ep = signet.create_endpoint(token)
    err(post_raw(signet, token, b" " * (1 << 20), path="/v1/endpoints/%s/signing-keys" % ep["id"]),
        413, "PAYLOAD_TOO_LARGE")
    assert len(signet.list_keys(token, ep["id"])) == 1
    big = json.dumps({"payload": "x" * (1 << 20)}).encode()
    err(post_raw(signet, token, big, path="/v1/endpoints/%s/sign" % ep["id"]), 413,
        "PAYLOAD_TOO_LARGE")


def test_chunked_body(signet, token):
    body = ('{"url": "%s", "description": "chunked"}' % URL).encode()

    def chunks():
        for i in range(0, len(body), 7):
            yield body[i:i + 7]

    ep = ok(signet.req("POST", "/v1/endpoints", token, data=chunks(), headers=JSON), 201)
    assert ep["description"] == "chunked"


def test_wrong_content_type_415(signet, token):
    body = json.dumps({"url": URL}).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                  "multipart/form-data; boundary=x", "application/xml"):
        err(post_raw(signet, token, body, headers={"Content-Type": ctype}), 415,
            "UNSUPPORTED_MEDIA_TYPE")
    assert_no_endpoints(signet, token)


def test_missing_content_type_with_body_415(signet, token):
    body = json.dumps({"url": URL}).encode()
    r = post_raw(signet, token, body, headers={})
    assert "Content-Type" not in r.request.headers
    err(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_content_type_variants(signet, token):
    body = json.dumps({"url": URL}).encode()
    for ctype in ("application/json; charset=utf-8", "application/json;charset=UTF-8",
                  "Application/JSON"):
        ok(post_raw(signet, token, body, headers={"Content-Type": ctype}), 201)


def test_unknown_top_level_field(signet, token):
    for field in ("secret", "signing_key", "id", "URL"):
        body = json.dumps({"url": URL, field: "x"}).encode()
        err(post_raw(signet, token, body), 400, "INVALID_REQUEST", mentions=field)
    assert_no_endpoints(signet, token)


def test_nul_in_string(signet, token):
    for body in ('{"url": "https://example.com/\\u0000x"}',
                 '{"url": "%s", "description": "a\\u0000b"}' % URL,
                 '{"url": "%s", "description": "\\u0000"}' % URL):
        err(post_raw(signet, token, body.encode()), 400, "INVALID_REQUEST")
    ep = signet.create_endpoint(token)
    err(post_raw(signet, token, b'{"payload": "a\\u0000b"}',
                 path="/v1/endpoints/%s/sign" % ep["id"]), 400, "INVALID_REQUEST")
    items, _ = ok_list(signet.req("GET", "/v1/endpoints?limit=100", token))
    assert [e["id"] for e in items] == [ep["id"]]


def test_invalid_utf8(signet, token):
    head = ('{"url": "%s", "description": "' % URL).encode()
    for bad in (b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                b"ab\x80cd", b"\xf4\x90\x80\x80"):
        err(post_raw(signet, token, head + bad + b'"}'), 400, "INVALID_REQUEST")
    assert_no_endpoints(signet, token)
    # Valid multi-byte UTF-8 is fine.
    ep = ok(post_raw(signet, token, head + "ü€𝄞".encode() + b'"}'), 201)
    assert ep["description"] == "ü€𝄞"


def test_lone_surrogate_escape(signet, token):
    # "\ud800" alone decodes to no valid UTF-8: refused like invalid UTF-8.
    for esc in (b"\\ud800", b"\\udfff", b"a\\ud800b"):
        body = b'{"url": "%s", "description": "' % URL.encode() + esc + b'"}'
        err(post_raw(signet, token, body), 400, "INVALID_REQUEST")
    # A correct surrogate pair is fine.
    ep = ok(post_raw(signet, token, b'{"url": "%s", "description": "\\ud834\\udd1e"}' % URL.encode()),
            201)
    assert ep["description"] == "\U0001d11e"


def test_bad_bodies_on_sign_and_verify(signet, token):
    ep = signet.create_endpoint(token)
    for path in ("/v1/endpoints/%s/sign" % ep["id"], "/v1/endpoints/%s/verify" % ep["id"]):
        err(post_raw(signet, token, b"{", path=path), 400, "INVALID_REQUEST")
        err(post_raw(signet, token, b'{"payload": "x"} 1', path=path), 400, "INVALID_REQUEST")
        err(post_raw(signet, token, b'{"payload": "x"}', headers={"Content-Type": "text/plain"},
                     path=path), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_route_without_body_accepts_empty_body(signet, token):
    ep = signet.create_endpoint(token)
    path = "/v1/endpoints/%s/signing-keys" % ep["id"]
    ok(signet.req("POST", path, token, data=b"", headers=JSON), 201)
    err(post_raw(signet, token, b"{", path=path), 400, "INVALID_REQUEST")
    err(post_raw(signet, token, b"[]", path=path), 400, "INVALID_REQUEST")
    assert len(signet.list_keys(token, ep["id"])) == 2
