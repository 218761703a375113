"""Signet's signatures checked by the official Standard Webhooks library
(npm "standardwebhooks", pinned in package-lock.json), and the library's
signatures checked by Signet."""

import json
import os
import shutil
import subprocess
import time

import pytest

from harness import REPO

SCRIPT = os.path.join(REPO, "tests", "interop", "verify.js")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def node(*args, stdin=None):
    if not os.path.isdir(os.path.join(REPO, "node_modules", "standardwebhooks")):
        pytest.fail("node_modules/standardwebhooks is missing: run `npm ci` in %s" % REPO)
    return subprocess.run([NODE, SCRIPT] + list(args), cwd=REPO, capture_output=True,
                          input=None if stdin is None else json.dumps(stdin).encode(),
                          timeout=60)


def library_verifies(secret, payload, headers):
    r = node(stdin={"secret": secret, "payload": payload, "headers": headers})
    assert r.returncode in (0, 1), "verify.js failed: %s %s" % (r.stdout, r.stderr)
    return r.returncode == 0, r.stdout.decode()


def test_library_matches_the_test_vector():
    r = node("--self-test")
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()


def test_library_verifies_signet_signature(signet, token, endpoint):
    secret = endpoint["signing_key"]["signing_secret"]
    payload = json.dumps({"type": "invoice.paid", "id": "in_1", "amount": 4200, "note": "Zoë ✓"})
    headers = signet.sign(token, endpoint["id"], payload)
    good, out = library_verifies(secret, payload, headers)
    assert good, out
    # The library really checks: a changed payload or another secret fails.
    bad, out = library_verifies(secret, payload + " ", headers)
    assert not bad, out
    other = signet.create_endpoint(token)["signing_key"]["signing_secret"]
    bad, out = library_verifies(other, payload, headers)
    assert not bad, out


def test_library_verifies_both_rotation_signatures(signet, token, endpoint):
    old = endpoint["signing_key"]["signing_secret"]
    new = signet.add_key(token, endpoint["id"])["signing_secret"]
    payload = '{"rotating": true}'
    headers = signet.sign(token, endpoint["id"], payload)
    assert len(headers["webhook-signature"].split(" ")) == 2
    # A receiver holding either secret accepts the message.
    for secret in (old, new):
        good, out = library_verifies(secret, payload, headers)
        assert good, out


def test_signet_verifies_library_signature(signet, token, endpoint):
    secret = endpoint["signing_key"]["signing_secret"]
    payload = '{"from": "standardwebhooks"}'
    ts = int(time.time())
    r = node("--sign", stdin={"secret": secret, "msg_id": "msg_lib", "timestamp": ts,
                              "payload": payload})
    assert r.returncode == 0, r.stderr.decode()
    headers = {"webhook-id": "msg_lib", "webhook-timestamp": str(ts),
               "webhook-signature": json.loads(r.stdout)["signature"]}
    res = signet.verify(token, endpoint["id"], payload, headers)
    assert res["valid"] is True and res["key_id"] == endpoint["signing_key"]["id"], res
    res = signet.verify(token, endpoint["id"], payload + "x", headers)
    assert res["valid"] is False, res
