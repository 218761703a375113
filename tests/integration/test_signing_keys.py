"""docs/api.md: signing keys of an endpoint, their rules, and the race."""

import threading

import requests

from harness import (public_view, LAST_KEY_MESSAGE, MAX_KEYS_MESSAGE, describe, err, no_content, ok)
from test_endpoints import assert_new_key

LIST_FIELDS = {"id", "type", "key_hint", "created_at", "expires_at", "last_verified_at"}


def keys_path(ep_id, key_id=None):
    p = "/v1/endpoints/%s/signing-keys" % ep_id
    return p + "/" + key_id if key_id else p


def test_first_key_listed(signet, token, endpoint):
    r = signet.req("GET", keys_path(endpoint["id"]), token)
    keys = ok(r)
    first = endpoint["signing_key"]
    assert keys == [public_view(first)]
    assert "whsec_" not in r.text and "signing_secret" not in r.text


def test_rotation_lifecycle(signet, token, endpoint):
    ep_id = endpoint["id"]
    old = endpoint["signing_key"]
    new = ok(signet.req("POST", keys_path(ep_id), token), 201)
    assert_new_key(new)
    assert new["id"] != old["id"] and new["signing_secret"] != old["signing_secret"]

    r = signet.req("GET", keys_path(ep_id), token)
    keys = ok(r)
    assert [k["id"] for k in keys] == [old["id"], new["id"]], "not oldest first: %r" % keys
    for k in keys:
        assert set(k) == LIST_FIELDS, k
    assert keys[1] == public_view(new)
    assert "whsec_" not in r.text

    # A third key is refused.
    err(signet.req("POST", keys_path(ep_id), token), 409, "MAX_SIGNING_KEYS_REACHED",
        message=MAX_KEYS_MESSAGE)
    assert len(signet.list_keys(token, ep_id)) == 2

    # Retire the old key; the last one cannot go.
    no_content(signet.req("DELETE", keys_path(ep_id, old["id"]), token))
    assert [k["id"] for k in signet.list_keys(token, ep_id)] == [new["id"]]
    err(signet.req("DELETE", keys_path(ep_id, new["id"]), token), 409,
        "CANNOT_DELETE_LAST_SIGNING_KEY", message=LAST_KEY_MESSAGE)
    assert [k["id"] for k in signet.list_keys(token, ep_id)] == [new["id"]]
    # The deleted key is gone for good.
    err(signet.req("DELETE", keys_path(ep_id, old["id"]), token), 404, "NOT_FOUND")

    # And a fresh key can be added again.
    third = ok(signet.req("POST", keys_path(ep_id), token), 201)
    assert [k["id"] for k in signet.list_keys(token, ep_id)] == [new["id"], third["id"]]


def test_last_key_of_new_endpoint_cannot_be_deleted(signet, token, endpoint):
    err(signet.req("DELETE", keys_path(endpoint["id"], endpoint["signing_key"]["id"]), token),
        409, "CANNOT_DELETE_LAST_SIGNING_KEY", message=LAST_KEY_MESSAGE)


def test_create_key_with_empty_object_body(signet, token, endpoint):
    ok(signet.req("POST", keys_path(endpoint["id"]), token, json={}), 201)


def test_create_key_with_unknown_field(signet, token, endpoint):
    err(signet.req("POST", keys_path(endpoint["id"]), token, json={"name": "x"}), 400,
        "INVALID_REQUEST", mentions="name")
    assert len(signet.list_keys(token, endpoint["id"])) == 1


def test_key_of_another_endpoint_404(signet, token):
    a = signet.create_endpoint(token)
    b = signet.create_endpoint(token)
    signet.add_key(token, a["id"])
    signet.add_key(token, b["id"])
    # a's key through b's path: not found, and nothing deleted.
    err(signet.req("DELETE", keys_path(b["id"], a["signing_key"]["id"]), token), 404, "NOT_FOUND")
    assert a["signing_key"]["id"] in [k["id"] for k in signet.list_keys(token, a["id"])]
    assert len(signet.list_keys(token, b["id"])) == 2


def test_absent_key_404(signet, token, endpoint):
    err(signet.req("DELETE", keys_path(endpoint["id"], "sk_" + "f" * 32), token), 404, "NOT_FOUND")


def test_malformed_key_id_400(signet, token, endpoint):
    for bad in ("sk_1", "sk_" + "0" * 31, "sk_" + "0" * 33, "sk_" + "Z" * 32, "ep_" + "0" * 32,
                "whsec_abc"):
        err(signet.req("DELETE", keys_path(endpoint["id"], bad), token), 400, "INVALID_REQUEST")
    assert len(signet.list_keys(token, endpoint["id"])) == 1


def test_malformed_endpoint_id_with_key(signet, token, endpoint):
    err(signet.req("DELETE", keys_path("ep_bad", endpoint["signing_key"]["id"]), token), 400,
        "INVALID_REQUEST")


def _fire(signet, method, paths, token):
    """Send one request per path from its own thread, all released at once."""
    n = len(paths)
    barrier = threading.Barrier(n, timeout=30)
    results = [None] * n

    def run(i):
        s = requests.Session()
        try:
            # Open the connection before the barrier so the requests really overlap.
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


def test_concurrent_key_creation_race(signet, token, endpoint):
    ep_id = endpoint["id"]
    first = endpoint["signing_key"]["id"]
    for _round in range(3):
        results = _fire(signet, "POST", [keys_path(ep_id)] * 16, token)
        created = [r for r in results if r.status_code == 201]
        refused = [r for r in results if r.status_code == 409]
        assert len(created) == 1 and len(refused) == 15, \
            "statuses: %r\n%s" % (sorted(r.status_code for r in results),
                                  "\n".join(describe(r) for r in results
                                            if r.status_code not in (201, 409)))
        new = ok(created[0], 201)
        for r in refused:
            err(r, 409, "MAX_SIGNING_KEYS_REACHED", message=MAX_KEYS_MESSAGE)
        keys = signet.list_keys(token, ep_id)
        assert [k["id"] for k in keys] == [first, new["id"]]
        no_content(signet.req("DELETE", keys_path(ep_id, new["id"]), token))


def test_concurrent_delete_keeps_one_key(signet, token, endpoint):
    ep_id = endpoint["id"]
    for _round in range(4):
        keys = [k["id"] for k in signet.list_keys(token, ep_id)]
        if len(keys) == 1:
            keys.append(signet.add_key(token, ep_id)["id"])
        # Two simultaneous deletes of the two keys: one must lose.
        results = _fire(signet, "DELETE", [keys_path(ep_id, k) for k in keys] * 4, token)
        statuses = sorted(r.status_code for r in results)
        assert statuses.count(204) == 1, statuses
        assert all(s in (204, 404, 409) for s in statuses), statuses
        assert 409 in statuses, statuses
        for r in results:
            if r.status_code == 409:
                err(r, 409, "CANNOT_DELETE_LAST_SIGNING_KEY", message=LAST_KEY_MESSAGE)
            elif r.status_code == 404:
                err(r, 404, "NOT_FOUND")
        assert len(signet.list_keys(token, ep_id)) == 1
