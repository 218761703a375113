"""A full disk (docs/api.md, Error codes; docs/operations.md): SIGNET_HOME on
a small tmpfs, filled up while writers keep writing.  Every write the disk has
no room for answers 503 SERVICE_UNAVAILABLE `storage is full` with
Retry-After, never 500; reads, sign and verify keep working; the same
processes take writes again once space is back; nothing acknowledged is lost;
/metrics shows the free bytes and counts the refused writes.

Needs root (to mount the tmpfs): skipped with a printed reason elsewhere.
"""
import os
import shutil
import subprocess
import time

import pytest

from conftest import SERVERS
from harness import Instance, err, ok

TMPFS_MB = 20
MAX_WRITES = 4000          # bounded: the disk fills long before
MAX_SECONDS = 120


def _mount(path, mb):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % mb,
                        "tmpfs", path], capture_output=True)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()


@pytest.fixture(params=SERVERS)
def full(request):
    server = request.param
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; this run is not root")
    inst = Instance(server, workers=2)
    saved = inst.home + ".saved"
    shutil.copytree(inst.home, saved, symlinks=True)
    mounted, why = _mount(inst.home, TMPFS_MB)
    if not mounted:
        shutil.rmtree(saved, ignore_errors=True)
        inst.destroy()
        pytest.skip("cannot mount a tmpfs here: %s" % why)
    try:
        st = os.stat(inst.tmp)          # the service user's
        for name in os.listdir(saved):
            src, dst = os.path.join(saved, name), os.path.join(inst.home, name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, dst)
        for root, dirs, files in os.walk(inst.home):
            for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.lchown(n, st.st_uid, st.st_gid)
        inst.start()
        yield inst
    finally:
        inst.stop()
        subprocess.run(["umount", "-l", inst.home], capture_output=True)
        shutil.rmtree(saved, ignore_errors=True)
        inst.destroy()


def metric(inst, name):
    text = inst.req("GET", "/metrics").text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


BALLAST_MB = 3


def ballast(inst):
    """A file an operator could delete to make room: BALLAST_MB of the tmpfs."""
    path = os.path.join(inst.home, "ballast")
    with open(path, "wb") as f:
        f.write(os.urandom(BALLAST_MB << 20))
    return path


def test_full_disk_503_then_writes_resume(full):
    inst = full
    _, _, token = inst.account(name="full disk")
    ep = inst.create_endpoint(token)
    signed = ok(inst.req("POST", "/v1/endpoints/%s/sign" % ep["id"], token,
                         json={"payload": "before"}))
    assert metric(inst, "signet_storage_free_bytes") > 0
    # Fill it with Signet's own writes, as a busy service would.
    spare = ballast(inst)
    acked, refused, other = [], 0, []
    deadline = time.monotonic() + MAX_SECONDS
    for i in range(MAX_WRITES):
        if time.monotonic() > deadline:
            break
        r = inst.req("POST", "/v1/endpoints", token,
                     json={"url": "https://example.com/full/%d" % i,
                           "description": "x" * 400})
        if r.status_code == 201:
            acked.append(r.json()["data"]["id"])
        elif r.status_code == 503:
            err(r, 503, "SERVICE_UNAVAILABLE", "storage is full")
            assert int(r.headers["Retry-After"]) >= 1
            refused += 1
            if refused >= 20:
                break
        else:
            other.append((r.status_code, r.text[:200]))
    print("\nfull disk (%s): %d writes acknowledged, %d refused with 503, %d other"
          % (inst.server, len(acked), refused, len(other)))
    assert not other, other[:5]
    assert refused >= 20, "the disk never filled: %d writes acknowledged" % len(acked)
    # Reads, sign and verify keep working on a full disk.
    ok(inst.req("GET", "/v1/endpoints/%s" % ep["id"], token))
    ok(inst.req("POST", "/v1/endpoints/%s/sign" % ep["id"], token,
                json={"payload": "during"}))
    v = ok(inst.req("POST", "/v1/endpoints/%s/verify" % ep["id"], token,
                    json={"payload": "before", "headers": signed, "tolerance": 3600}))
    assert v["valid"] is True, v
    assert metric(inst, "signet_storage_writes_refused_full_total") >= refused
    # Space back (a file an operator would delete): the same processes take
    # writes again.
    os.unlink(spare)
    deadline = time.monotonic() + 10
    while True:
        r = inst.req("POST", "/v1/endpoints", token, json={"url": "https://example.com/back"})
        if r.status_code == 201:
            acked.append(r.json()["data"]["id"])
            break
        assert time.monotonic() < deadline, "writes did not resume: %s" % r.text[:200]
        time.sleep(0.2)
    # Nothing acknowledged was lost.
    for ep_id in acked:
        ok(inst.req("GET", "/v1/endpoints/%s" % ep_id, token))
