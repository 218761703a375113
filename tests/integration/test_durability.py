"""docs/api.md, Conventions: "A 2xx answer to a write means the change is
durably committed: it survives kill -9 of any process and a restart."""

import os
import signal
import threading
import time

import requests

from harness import describe, no_content, ok, ok_list, sign_reference


def wait_healthy(signet, timeout=20.0, consecutive=8):
    """Wait until /healthz answers 200 `consecutive` times in a row, so that
    every worker slot of the web server is serving again."""
    deadline = time.monotonic() + timeout
    last = None
    good = 0
    while time.monotonic() < deadline:
        try:
            r = signet.req("GET", "/healthz", timeout=5)
            if r.status_code == 200:
                good += 1
                if good >= consecutive:
                    return
                continue
            last = describe(r)
        except requests.RequestException as e:
            last = repr(e)
        good = 0
        time.sleep(0.2)
    raise AssertionError("not healthy after %.0f s: %s\n%s" % (timeout, last,
                                                             signet.error_log()[-3000:]))


def check_keys(signet, token, expected):
    """Every endpoint in `expected` ({ep_id: [secret by key id, oldest first]})
    lists exactly those keys, and signs with all of them (newest first)."""
    for ep_id, keys in expected.items():
        listed = signet.list_keys(token, ep_id)
        assert [k["id"] for k in listed] == [k for k, _ in keys], (ep_id, listed, keys)
        h = signet.sign(token, ep_id, "durable", msg_id="msg_durable", timestamp=1700000000)
        want = " ".join(sign_reference(secret, "msg_durable", 1700000000, "durable")
                        for _, secret in reversed(keys))
        assert h["webhook-signature"] == want, ep_id
        fresh = signet.sign(token, ep_id, "durable now")
        assert signet.verify(token, ep_id, "durable now", fresh)["valid"] is True


def test_everything_acknowledged_survives_kill9(signet):
    acct, _, token = signet.account(name="durable")
    expected = {}
    for i in range(3):
        ep = signet.create_endpoint(token, url="https://example.com/d%d" % i)
        keys = [(ep["signing_key"]["id"], ep["signing_key"]["signing_secret"])]
        if i >= 1:
            k = signet.add_key(token, ep["id"])
            keys.append((k["id"], k["signing_secret"]))
        if i == 2:  # rotated: the first key deleted
            no_content(signet.req("DELETE", "/v1/endpoints/%s/signing-keys/%s"
                                  % (ep["id"], keys[0][0]), token))
            keys = keys[1:]
        expected[ep["id"]] = keys
    gone = signet.create_endpoint(token, url="https://example.com/gone")
    no_content(signet.req("DELETE", "/v1/endpoints/" + gone["id"], token))
    revoked = signet.apikey(acct)
    signet.ctl("apikey", "revoke", revoked["id"])

    signet.kill9_all()
    signet.start()

    check_keys(signet, token, expected)
    items, _ = ok_list(signet.req("GET", "/v1/endpoints?limit=100", token))
    assert sorted(e["id"] for e in items) == sorted(expected)
    r = signet.req("GET", "/v1/endpoints/" + gone["id"], token)
    assert r.status_code == 404, describe(r)
    assert signet.req("GET", "/v1/endpoints", revoked["token"]).status_code == 401


def test_writes_in_flight_during_kill9(signet):
    """Keys created while everything is SIGKILLed: each one acknowledged with a
    201 is there after the restart."""
    _, _, token = signet.account(name="in flight")
    acked = {}  # ep_id -> (key_id, secret)
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def writer(n):
        s = requests.Session()
        for i in range(200):
            if stop.is_set():
                return
            try:
                r = s.post(signet.base + "/v1/endpoints", timeout=10,
                           headers={"Authorization": "Bearer " + token},
                           json={"url": "https://example.com/w%d-%d" % (n, i)})
            except requests.RequestException:
                continue
            if r.status_code == 201:
                ep = r.json()["data"]
                with lock:
                    acked[ep["id"]] = (ep["signing_key"]["id"], ep["signing_key"]["signing_secret"])
            elif r.status_code not in (500, 502, 503, 504):
                errors.append(describe(r))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(acked) < 20:
        time.sleep(0.02)
    signet.kill9_all()
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert len(acked) >= 20, "only %d writes acknowledged before the kill" % len(acked)

    signet.start()
    items, has_more = ok_list(signet.req("GET", "/v1/endpoints?limit=100", token))
    listed = {e["id"] for e in items}
    after = items[-1]["id"] if items else None
    for _ in range(100):
        if not has_more:
            break
        more, has_more = ok_list(signet.req("GET", "/v1/endpoints?limit=100&starting_after="
                                            + after, token))
        listed |= {e["id"] for e in more}
        after = more[-1]["id"]
    missing = set(acked) - listed
    assert not missing, "%d acknowledged endpoints lost: %r" % (len(missing), sorted(missing)[:5])
    for ep_id, (key_id, secret) in list(acked.items())[:10]:
        check_keys(signet, token, {ep_id: [(key_id, secret)]})


def test_killed_worker_is_replaced(signet):
    """SIGKILL one signet.fcgi while the web server lives: the others carry on
    and the service keeps committing writes."""
    _, _, token = signet.account(name="worker kill")
    ep = signet.create_endpoint(token)
    workers = signet.worker_pids()
    assert workers, "no signet.fcgi process found"
    os.kill(workers[0], signal.SIGKILL)
    wait_healthy(signet)
    for _ in range(10):
        k = ok(signet.req("POST", "/v1/endpoints/%s/signing-keys" % ep["id"], token), 201)
        no_content(signet.req("DELETE", "/v1/endpoints/%s/signing-keys/%s" % (ep["id"], k["id"]),
                              token))
    assert len(signet.list_keys(token, ep["id"])) == 1


def test_all_workers_killed_are_replaced(signet):
    _, _, token = signet.account(name="workers kill")
    ep = signet.create_endpoint(token)
    workers = signet.worker_pids()
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    wait_healthy(signet)
    check_keys(signet, token, {ep["id"]: [(ep["signing_key"]["id"],
                                           ep["signing_key"]["signing_secret"])]})
