"""docs/api.md: Standard Webhooks `sign` and `verify`."""

import re
import time

from harness import KEY_ID_RE, MSG_ID_RE, err, no_content, sign_reference

HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature"}


def sign_path(ep_id):
    return "/v1/endpoints/%s/sign" % ep_id


def verify_path(ep_id):
    return "/v1/endpoints/%s/verify" % ep_id


def test_reference_vector():
    # The checker used below reproduces the Standard Webhooks test vector.
    assert sign_reference("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                          1614265330, '{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_explicit_id_and_timestamp(signet, token, endpoint):
    secret = endpoint["signing_key"]["signing_secret"]
    payload = '{"test": 2432232314}'
    h = signet.sign(token, endpoint["id"], payload, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
                    timestamp=1614265330)
    assert set(h) == HEADERS, h
    assert h["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert h["webhook-timestamp"] == "1614265330"
    assert h["webhook-signature"] == sign_reference(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                                    1614265330, payload)


def test_sign_defaults(signet, token, endpoint):
    secret = endpoint["signing_key"]["signing_secret"]
    before = int(time.time())
    h = signet.sign(token, endpoint["id"], "hello")
    after = int(time.time())
    assert set(h) == HEADERS
    assert all(isinstance(v, str) for v in h.values()), h
    assert MSG_ID_RE.match(h["webhook-id"]), h
    assert re.match(r"^\d+$", h["webhook-timestamp"]), h
    assert before - 2 <= int(h["webhook-timestamp"]) <= after + 2
    assert h["webhook-signature"] == sign_reference(secret, h["webhook-id"],
                                                    h["webhook-timestamp"], "hello")
    h2 = signet.sign(token, endpoint["id"], "hello")
    assert h2["webhook-id"] != h["webhook-id"]


def test_sign_utf8_payload(signet, token, endpoint):
    secret = endpoint["signing_key"]["signing_secret"]
    payload = '{"name": "Zoë ✓ 日本", "n": "line\\nbreak"}\n'
    h = signet.sign(token, endpoint["id"], payload, msg_id="msg_utf8", timestamp=1700000000)
    assert h["webhook-signature"] == sign_reference(secret, "msg_utf8", 1700000000, payload)


def test_sign_with_two_keys_newest_first(signet, token, endpoint):
    old = endpoint["signing_key"]["signing_secret"]
    new = signet.add_key(token, endpoint["id"])["signing_secret"]
    h = signet.sign(token, endpoint["id"], "rotate", msg_id="msg_rot", timestamp=1700000001)
    want = sign_reference(new, "msg_rot", 1700000001, "rotate") + " " + \
        sign_reference(old, "msg_rot", 1700000001, "rotate")
    assert h["webhook-signature"] == want


def test_sign_field_validation(signet, token, endpoint):
    p = sign_path(endpoint["id"])
    for body, field in (({}, "payload"), ({"payload": 5}, "payload"), ({"payload": None}, "payload"),
                        ({"payload": "x", "msg_id": ""}, "msg_id"),
                        ({"payload": "x", "msg_id": "m" * 256}, "msg_id"),
                        ({"payload": "x", "msg_id": 7}, "msg_id"),
                        ({"payload": "x", "timestamp": "1700000000"}, "timestamp"),
                        ({"payload": "x", "timestamp": 1.5}, "timestamp"),
                        ({"payload": "x", "timestamp": True}, "timestamp"),
                        ({"payload": "x", "extra": 1}, "extra")):
        err(signet.req("POST", p, token, json=body), 400, "INVALID_REQUEST", mentions=field)
    h = signet.sign(token, endpoint["id"], "x", msg_id="m" * 255)
    assert h["webhook-id"] == "m" * 255


def test_verify_valid(signet, token, endpoint):
    key_id = endpoint["signing_key"]["id"]
    h = signet.sign(token, endpoint["id"], "payload-1")
    res = signet.verify(token, endpoint["id"], "payload-1", h)
    assert res["valid"] is True, res
    assert res["key_id"] == key_id


def test_verify_signature_made_elsewhere(signet, token, endpoint):
    # A signature computed by a third party with the secret verifies too.
    secret = endpoint["signing_key"]["signing_secret"]
    ts = int(time.time())
    h = {"webhook-id": "msg_ext", "webhook-timestamp": str(ts),
         "webhook-signature": sign_reference(secret, "msg_ext", ts, "ext")}
    res = signet.verify(token, endpoint["id"], "ext", h)
    assert res["valid"] is True and res["key_id"] == endpoint["signing_key"]["id"], res


def test_verify_invalid(signet, token, endpoint):
    ep_id = endpoint["id"]
    h = signet.sign(token, ep_id, "original")
    for payload, headers in (
            ("tampered", h),
            ("original", dict(h, **{"webhook-id": "msg_other"})),
            ("original", dict(h, **{"webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)})),
            ("original", dict(h, **{"webhook-signature": "v1," + "A" * 43 + "="})),
            ("original", dict(h, **{"webhook-signature": h["webhook-signature"].replace("v1,", "v2,")})),
            ("original", dict(h, **{"webhook-signature": "v1,"})),
            ("original", dict(h, **{"webhook-signature": "garbage"}))):
        res = signet.verify(token, ep_id, payload, headers)
        assert res["valid"] is False, (payload, headers, res)
        assert isinstance(res.get("reason"), str) and res["reason"], res
        assert "key_id" not in res or res["key_id"] is None, res


def test_verify_key_of_other_endpoint_invalid(signet, token):
    a = signet.create_endpoint(token)
    b = signet.create_endpoint(token)
    h = signet.sign(token, a["id"], "cross")
    assert signet.verify(token, b["id"], "cross", h)["valid"] is False


def test_verify_tolerance(signet, token, endpoint):
    ep_id = endpoint["id"]
    now = int(time.time())
    cases = [
        (now - 100, None, True),
        (now + 100, None, True),
        (now - 400, None, False),   # default tolerance 300 s
        (now + 400, None, False),   # future beyond tolerance
        (now - 400, 600, True),
        (now + 400, 600, True),
        (now - 700, 600, False),
        (now + 700, 600, False),
        (now - 30, 10, False),
    ]
    for ts, tolerance, want in cases:
        h = signet.sign(token, ep_id, "tol", timestamp=ts)
        res = signet.verify(token, ep_id, "tol", h, tolerance=tolerance)
        assert res["valid"] is want, (ts - now, tolerance, res)
        if not want:
            assert isinstance(res.get("reason"), str) and res["reason"], res


def test_verify_field_validation(signet, token, endpoint):
    p = verify_path(endpoint["id"])
    h = signet.sign(token, endpoint["id"], "x")
    for body, field in (({"headers": h}, "payload"),
                        ({"payload": 1, "headers": h}, "payload"),
                        ({"payload": "x"}, "headers"),
                        ({"payload": "x", "headers": "v1,abc"}, "headers"),
                        ({"payload": "x", "headers": h, "tolerance": "300"}, "tolerance"),
                        ({"payload": "x", "headers": h, "tolerance": -1}, "tolerance"),
                        ({"payload": "x", "headers": h, "other": True}, "other")):
        err(signet.req("POST", p, token, json=body), 400, "INVALID_REQUEST", mentions=field)


def test_verify_after_rotation(signet, token, endpoint):
    ep_id = endpoint["id"]
    old = endpoint["signing_key"]
    signed_old = signet.sign(token, ep_id, "before rotation")

    new = signet.add_key(token, ep_id)
    # During the overlap, a signature by either key verifies, by its own key.
    res = signet.verify(token, ep_id, "before rotation", signed_old)
    assert res["valid"] is True and res["key_id"] == old["id"], res
    ts = int(time.time())
    only_new = {"webhook-id": "msg_n", "webhook-timestamp": str(ts),
                "webhook-signature": sign_reference(new["signing_secret"], "msg_n", ts, "n")}
    res = signet.verify(token, ep_id, "n", only_new)
    assert res["valid"] is True and res["key_id"] == new["id"], res
    both = signet.sign(token, ep_id, "both")
    res = signet.verify(token, ep_id, "both", both)
    assert res["valid"] is True and res["key_id"] in (old["id"], new["id"]), res

    # The old key deleted: its signatures stop verifying, the new key's still do.
    no_content(signet.req("DELETE", "/v1/endpoints/%s/signing-keys/%s" % (ep_id, old["id"]),
                          token))
    assert [k["id"] for k in signet.list_keys(token, ep_id)] == [new["id"]]
    assert signet.verify(token, ep_id, "before rotation", signed_old)["valid"] is False
    res = signet.verify(token, ep_id, "both", both)
    assert res["valid"] is True and res["key_id"] == new["id"], res
    h = signet.sign(token, ep_id, "after")
    assert " " not in h["webhook-signature"]
    assert h["webhook-signature"] == sign_reference(new["signing_secret"], h["webhook-id"],
                                                    h["webhook-timestamp"], "after")
    res = signet.verify(token, ep_id, "after", h)
    assert res["valid"] is True and KEY_ID_RE.match(res["key_id"]) and res["key_id"] == new["id"]
