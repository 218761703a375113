"""docs/operations.md (Configuration): SIGNET_* environment variables reach
the app through either web server; SIGNET_<KEY> overrides
SIGNET_HOME/signet.conf; the master key may live outside SIGNET_HOME
(SIGNET_MASTER_KEY_FILE)."""

import json
import os
import stat

import pytest

import harness
from conftest import SERVERS
from harness import err, ok


@pytest.fixture(scope="module", params=SERVERS)
def configured(request):
    inst = harness.Instance(request.param, workers=2, env={
        "SIGNET_MASTER_KEY_FILE": "{tmp}/outside-master.key",
        "SIGNET_MAX_BODY_BYTES": "4096",
    })
    try:
        inst.start()
        yield inst
    finally:
        inst.destroy()


def body_of(size):
    head = '{"url": "https://example.com/cfg"'
    body = (head + " " * (size - len(head) - 1) + "}").encode()
    assert len(body) == size
    json.loads(body)
    return body


def post(inst, token, body):
    return inst.req("POST", "/v1/endpoints", token, data=body,
                    headers={"Content-Type": "application/json"})


def test_master_key_file_outside_home(configured):
    key = os.path.join(configured.tmp, "outside-master.key")
    assert os.path.isfile(key), "SIGNET_MASTER_KEY_FILE not used by signetctl init"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert not os.path.exists(os.path.join(configured.home, "master.key"))
    # The app (a process spawned by the web server) found the same key.
    _, _, tok = configured.account()
    ep = configured.create_endpoint(tok)
    h = configured.sign(tok, ep["id"], "cfg")
    assert configured.verify(tok, ep["id"], "cfg", h)["valid"] is True


def test_environment_overrides_body_cap(configured):
    _, _, tok = configured.account()
    ok(post(configured, tok, body_of(4096)), 201)
    err(post(configured, tok, body_of(4097)), 413, "PAYLOAD_TOO_LARGE")


def test_config_file_and_environment_precedence(configured):
    _, _, tok = configured.account()
    with open(os.path.join(configured.home, "signet.conf"), "w") as f:
        f.write("# test\nmax_body_bytes = 2048\n")
    if configured.user:
        pw = harness.pwd.getpwnam(configured.user)
        os.chown(os.path.join(configured.home, "signet.conf"), pw.pw_uid, pw.pw_gid)
    try:
        # The environment still wins over the file.
        configured.stop()
        configured.start()
        ok(post(configured, tok, body_of(4096)), 201)
        # Without the variable, the file applies.
        del configured.extra_env["SIGNET_MAX_BODY_BYTES"]
        configured.stop()
        configured.start()
        ok(post(configured, tok, body_of(2048)), 201)
        err(post(configured, tok, body_of(2049)), 413, "PAYLOAD_TOO_LARGE")
    finally:
        os.unlink(os.path.join(configured.home, "signet.conf"))
        configured.extra_env["SIGNET_MAX_BODY_BYTES"] = "4096"
        configured.stop()
        configured.start()
