"""docs/signetctl.8 and issue 6: `signetctl backup DIR` (a hot backup taken
while Signet serves and writes, which `signetctl --home DIR` opens and a
server started on it serves), `signetctl verify`, `signetctl stats` and
`stats --maintain` (docs/operations.md sections 9 to 11)."""

import glob
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from harness import BUILDDIR, CTL_TIMEOUT, Instance, _base_env, err, ok, sign_reference

STATS_FIELDS = {"cache_hits", "cache_misses", "cache_bytes", "log_files", "log_bytes",
                "deadlocks", "commits"}


# --- helpers -------------------------------------------------------------------

def ctl_json(inst, *args, home=None):
    """Run signetctl (on `home` if given); return (exit code, JSON output)."""
    r = inst.ctl_run(*args) if home is None else _ctl_home(inst.signetctl, home, *args)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise AssertionError("signetctl %s printed no JSON: %r %r" % (
            " ".join(args), r.stdout, r.stderr))
    return r.returncode, out


def _ctl_home(signetctl, home, *args):
    """signetctl on another data directory than the instance's."""
    return subprocess.run([signetctl, "--home", home] + list(args),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=CTL_TIMEOUT, env=_base_env())


class Ctl:
    """The built signetctl, for a directory no instance owns."""

    def __init__(self):
        self.signetctl = os.path.join(BUILDDIR, "src", "signetctl")
        real = os.path.join(BUILDDIR, "src", ".libs", "signetctl")
        with open(self.signetctl, "rb") as f:
            if f.read(2) == b"#!" and os.path.isfile(real):
                self.signetctl = real


def ctl_ok(inst, *args, home=None):
    code, out = ctl_json(inst, *args, home=home)
    assert code == 0, "signetctl %s: exit %d: %r" % (" ".join(args), code, out)
    assert "error" not in out, out
    return out


def ctl_error(inst, *args, home=None):
    code, out = ctl_json(inst, *args, home=home)
    assert code != 0, "signetctl %s succeeded: %r" % (" ".join(args), out)
    assert set(out) == {"error"}, out
    assert isinstance(out["error"].get("code"), str) and out["error"]["code"], out
    assert isinstance(out["error"].get("message"), str) and out["error"]["message"], out
    return out["error"]


def log_files(home):
    return sorted(glob.glob(os.path.join(home, "log.*")))


def new_dir_path(inst, name):
    """A path that does not exist yet, in a directory the service user owns."""
    return os.path.join(inst.tmp, "%s-%s" % (name, os.urandom(4).hex()))


def restore_into(inst, backup):
    """Make `inst` (not started) use a copy of `backup` as its SIGNET_HOME."""
    assert inst.proc is None
    shutil.rmtree(inst.home)
    shutil.copytree(backup, inst.home, symlinks=True)
    if inst.user:
        pw = pwd.getpwnam(inst.user)
        for root, dirs, files in os.walk(inst.home):
            for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.lchown(n, pw.pw_uid, pw.pw_gid)


def check_endpoint_serves(inst, token, ep, secrets):
    """`ep` exists on `inst` with the same keys, and signs and verifies with
    the secrets handed out when it was made."""
    got = ok(inst.req("GET", "/v1/endpoints/%s" % ep["id"], token))
    assert got["id"] == ep["id"] and got["url"] == ep["url"], got
    keys = ok(inst.req("GET", "/v1/endpoints/%s/signing-keys" % ep["id"], token))
    assert sorted(k["id"] for k in keys) == sorted(secrets), (keys, sorted(secrets))
    msg_id, ts, payload = "msg_" + os.urandom(16).hex(), int(time.time()), '{"n": 1}'
    signed = ok(inst.req("POST", "/v1/endpoints/%s/sign" % ep["id"], token,
                         json={"payload": payload, "msg_id": msg_id, "timestamp": ts}))
    assert signed["webhook-id"] == msg_id and signed["webhook-timestamp"] == str(ts), signed
    sigs = signed["webhook-signature"].split()
    want = sorted(sign_reference(s, msg_id, ts, payload) for s in secrets.values())
    assert sorted(sigs) == want, (sigs, want)
    for s in secrets.values():
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts),
                   "webhook-signature": sign_reference(s, msg_id, ts, payload)}
        res = ok(inst.req("POST", "/v1/endpoints/%s/verify" % ep["id"], token,
                          json={"payload": payload, "headers": headers}))
        assert res["valid"] is True, res


@pytest.fixture
def spare(signet):
    """A second instance of the same server, not started, for restores."""
    inst = Instance(signet.server)
    try:
        yield inst
    finally:
        inst.destroy()


# --- hot backup and restore -----------------------------------------------------------

def test_hot_backup_while_writing(signet, spare):
    acct, _, tok = signet.account("admin", name="backup co")
    before = []   # (endpoint, {key id: secret})
    for i in range(12):
        ep = signet.create_endpoint(tok, url="https://example.com/b%d" % i)
        secrets = {ep["signing_key"]["id"]: ep["signing_key"]["signing_secret"]}
        if i % 3 == 0:
            k = signet.add_key(tok, ep["id"])
            secrets[k["id"]] = k["signing_secret"]
        before.append((ep, secrets))

    acked = []     # (time acknowledged, endpoint)
    failures = []
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = signet.req("POST", "/v1/endpoints", tok,
                               json={"url": "https://example.com/w%d" % i})
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(repr(e))
                continue
            if r.status_code != 201:
                failures.append("%d %s" % (r.status_code, r.text[:200]))
                continue
            acked.append((time.monotonic(), r.json()["data"]))

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 20
        while len(acked) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(acked) >= 20, "the writers made no progress: %r" % failures[:5]
        dest = new_dir_path(signet, "backup")
        t0 = time.monotonic()
        out = ctl_ok(signet, "backup", dest)
        t1 = time.monotonic()
        n_at_end = len(acked)
        deadline = time.monotonic() + 20
        while len(acked) < n_at_end + 20 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not failures, "writes failed during the backup: %r" % failures[:5]
    during = [ep for at, ep in acked if t0 <= at <= t1]
    after = [ep for at, ep in acked if at > t1]
    acked_before = [ep for at, ep in acked if at < t0]
    assert after, "no write was acknowledged after the backup"
    print("backup took %.3f s; %d writes acknowledged during it" % (t1 - t0, len(during)))

    assert out == {"backup": dest, "master_key_included": True}, out
    st = os.stat(dest)
    assert stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    mk = os.stat(os.path.join(dest, "master.key"))
    assert stat.S_IMODE(mk.st_mode) == 0o600, oct(mk.st_mode)
    home_owner = os.stat(signet.home).st_uid
    assert st.st_uid == home_owner and mk.st_uid == home_owner
    with open(os.path.join(dest, "master.key"), "rb") as a, \
            open(os.path.join(signet.home, "master.key"), "rb") as b:
        assert a.read() == b.read(), "the copied master key differs"
    assert not os.path.exists(os.path.join(dest, "metrics.shm"))

    # signetctl opens the copy.
    st_json = ctl_ok(signet, "stats", home=dest)
    assert STATS_FIELDS <= set(st_json), st_json
    assert ctl_ok(signet, "verify", home=dest) == {"ok": True, "tables_failed": 0, "failed": [],
                                                   "without_checksums": []}

    # A server started on a copy of it serves everything acknowledged before
    # the backup began, with the same secrets.
    restore_into(spare, dest)
    spare.start()
    for ep, secrets in before:
        check_endpoint_serves(spare, tok, ep, secrets)
    for ep in acked_before:
        check_endpoint_serves(spare, tok, ep,
                              {ep["signing_key"]["id"]: ep["signing_key"]["signing_secret"]})
    # Written during the backup: present whole, or not at all.
    for ep in during:
        r = spare.req("GET", "/v1/endpoints/%s" % ep["id"], tok)
        if r.status_code == 200:
            check_endpoint_serves(spare, tok, ep,
                                  {ep["signing_key"]["id"]: ep["signing_key"]["signing_secret"]})
        else:
            err(r, 404, "ENDPOINT_NOT_FOUND")
    # Written after the backup returned: not in it.
    for ep in after:
        err(spare.req("GET", "/v1/endpoints/%s" % ep["id"], tok), 404, "ENDPOINT_NOT_FOUND")
    # The audit trail came along, and the copy accepts changes of its own.
    ev = ok(spare.req("GET", "/v1/audit-events?resource_id=%s" % before[0][0]["id"], tok))
    assert [e["action"] for e in ev] == ["endpoint.created"], ev
    fresh = spare.create_endpoint(tok, url="https://example.com/restored")
    err(signet.req("GET", "/v1/endpoints/%s" % fresh["id"], tok), 404, "ENDPOINT_NOT_FOUND")
    # A key made with signetctl in the restored home works against it.
    key = spare.apikey(acct, "member", "after restore")
    ok(spare.req("GET", "/v1/endpoints/%s" % before[0][0]["id"], key["token"]))
    err(signet.req("GET", "/v1/endpoints", key["token"]), 401, "UNAUTHORIZED")


def test_backup_opens_with_signetctl(signet):
    _, _, tok = signet.account("admin")
    ep = signet.create_endpoint(tok)
    dest = new_dir_path(signet, "bk")
    os.mkdir(dest, 0o755)
    os.chown(dest, os.stat(signet.home).st_uid, os.stat(signet.home).st_gid)
    out = ctl_ok(signet, "backup", dest)  # empty and present: fine
    assert out["master_key_included"] is True
    assert ctl_ok(signet, "verify", home=dest)["ok"] is True
    # Data written in the copy by signetctl stays in the copy.
    acct = ctl_ok(signet, "account", "create", "--name", "in copy", home=dest)["id"]
    ctl_ok(signet, "apikey", "create", "--account", acct, "--role", "admin", home=dest)
    code, _ = ctl_json(signet, "apikey", "create", "--account", acct, "--role", "admin")
    assert code != 0, "an account made in the backup exists in the original"
    ok(signet.req("GET", "/v1/endpoints/%s" % ep["id"], tok))


def test_backup_into_non_empty_dir_fails(signet):
    dest = new_dir_path(signet, "full")
    os.mkdir(dest, 0o700)
    with open(os.path.join(dest, "keep.txt"), "w") as f:
        f.write("precious")
    os.chown(dest, os.stat(signet.home).st_uid, os.stat(signet.home).st_gid)
    e = ctl_error(signet, "backup", dest)
    assert e["code"] == "INVALID_REQUEST", e
    assert os.listdir(dest) == ["keep.txt"], os.listdir(dest)
    with open(os.path.join(dest, "keep.txt")) as f:
        assert f.read() == "precious"
    # A file where the directory should be: an error too.
    path = new_dir_path(signet, "file")
    with open(path, "w") as f:
        f.write("x")
    ctl_error(signet, "backup", path)
    # And the service is unaffected.
    _, _, tok = signet.account("admin")
    signet.create_endpoint(tok)


def test_backup_as_root_into_a_root_owned_parent(signet):
    """Root backing up a data directory owned by the service's user (the
    Debian layout: www-data) into a directory under a parent only root may
    write, as /var/backups is: signetctl makes the directory for the owner
    and the backup opens; an existing directory the owner cannot write is
    refused with a message saying what to do."""
    home = os.stat(signet.home)
    if os.geteuid() != 0 or home.st_uid == 0:
        pytest.skip("needs root and a data directory owned by another user "
                    "(the tests run as root in CI)")
    parent = tempfile.mkdtemp(prefix="signet-rootparent-")
    try:
        os.chmod(parent, 0o755)            # root's, like /var/backups
        _, _, tok = signet.account("admin")
        ep = signet.create_endpoint(tok)
        # Missing directories on the way are made too, each the owner's.
        dest = os.path.join(parent, "nightly", "signet-1")
        out = ctl_ok(signet, "backup", dest)
        assert out["master_key_included"] is True
        for d in (os.path.dirname(dest), dest):
            st = os.stat(d)
            assert (st.st_uid, st.st_gid) == (home.st_uid, home.st_gid), d
            assert stat.S_IMODE(st.st_mode) == 0o700, d
        assert ctl_ok(signet, "verify", home=dest)["ok"] is True
        assert os.path.isfile(os.path.join(dest, "master.key"))
        # The copy is a store the owner can open and write.
        acct = ctl_ok(signet, "account", "create", "--name", "copy", home=dest)
        assert acct["id"].startswith("acct_")
        ok(signet.req("GET", "/v1/endpoints/%s" % ep["id"], tok))
        # An existing directory the owner cannot write: refused, explained.
        taken = os.path.join(parent, "root-owned")
        os.mkdir(taken, 0o755)
        e = ctl_error(signet, "backup", taken)
        assert e["code"] == "IO_ERROR", e
        assert "not writable by" in e["message"] and "chown" in e["message"], e
        assert os.listdir(taken) == []
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_backup_without_master_key(signet):
    _, _, tok = signet.account("admin")
    signet.create_endpoint(tok)
    dest = new_dir_path(signet, "nomk")
    out = ctl_ok(signet, "backup", dest, "--no-master-key")
    assert out == {"backup": dest, "master_key_included": False}, out
    assert not os.path.exists(os.path.join(dest, "master.key")), os.listdir(dest)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o700
    for name in os.listdir(dest):
        with open(os.path.join(dest, name), "rb") as f:
            data = f.read()
        with open(os.path.join(signet.home, "master.key"), "rb") as f:
            mk = f.read()
        assert mk not in data, "the master key is in %s" % name
    st = ctl_ok(signet, "stats", home=dest)
    assert STATS_FIELDS <= set(st), st


def test_backup_usage(signet):
    code, _ = ctl_json(signet, "backup", new_dir_path(signet, "u"), "--bogus")
    assert code != 0
    r = signet.ctl_run("backup")
    assert r.returncode != 0


# --- verify ---------------------------------------------------------------------------

def test_verify_on_a_non_signet_dir():
    d = tempfile.mkdtemp(prefix="signet-notahome-")
    try:
        with open(os.path.join(d, "README"), "w") as f:
            f.write("not a Signet data directory\n")
        src = Ctl()
        e = ctl_error(src, "verify", home=d)
        assert e["code"] == "NOT_INITIALIZED", e
        assert os.listdir(d) == ["README"], "verify wrote into %s: %r" % (d, os.listdir(d))
        empty = os.path.join(d, "empty")
        os.mkdir(empty)
        assert ctl_error(src, "verify", home=empty)["code"] == "NOT_INITIALIZED"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_verify_finds_a_damaged_table(signet):
    _, _, tok = signet.account("admin")
    for i in range(5):
        signet.create_endpoint(tok, url="https://example.com/v%d" % i)
    dest = new_dir_path(signet, "dmg")
    ctl_ok(signet, "backup", dest)
    assert ctl_ok(signet, "verify", home=dest)["ok"] is True
    tables = [n for n in os.listdir(dest) if n.endswith(".db")]
    assert tables, os.listdir(dest)
    victim = os.path.join(dest, sorted(tables, key=lambda n: -os.path.getsize(
        os.path.join(dest, n)))[0])
    with open(victim, "r+b") as f:
        size = os.path.getsize(victim)
        f.seek(size // 2 if size > 8192 else 0)
        f.write(os.urandom(4096))
    code, out = ctl_json(signet, "verify", home=dest)
    assert code != 0 and out.get("ok") is False, out
    assert out.get("tables_failed", 0) >= 1, out
    assert out["first_failed"] == out["failed"][0] and len(out["failed"]) == out["tables_failed"], out


# --- stats and maintenance -------------------------------------------------------------

def test_stats(signet):
    _, _, tok = signet.account("admin")
    signet.create_endpoint(tok)
    # The workers' own housekeeping may roll or remove a log file at any
    # moment: compare against a listing that did not change meanwhile.
    for _ in range(20):
        before = [(p, os.path.getsize(p)) for p in log_files(signet.home)]
        st = ctl_ok(signet, "stats")
        if [(p, os.path.getsize(p)) for p in log_files(signet.home)] == before:
            break
    assert set(st) == STATS_FIELDS, st
    for k, v in st.items():
        assert isinstance(v, int) and v >= 0, (k, v)
    assert st["log_files"] >= 1 and st["log_bytes"] > 0, st
    assert st["commits"] > 0 and st["cache_bytes"] > 0, st
    assert st["cache_hits"] + st["cache_misses"] > 0, st
    assert st["log_files"] == len(before), (st, before)
    assert st["log_bytes"] == sum(n for _, n in before), (st, before)


def long_domains(i):
    """100 distinct host names of 234 bytes (the most a key may list)."""
    lab = lambda c, n=60: c * n  # noqa: E731
    return ["%s.%s.%s.%s.x%02d%04d.com" % (lab("a"), lab("b"), lab("c"), lab("d", 40), j, i)
            for j in range(100)]


@pytest.fixture
def quiet(signet_instance):
    """A dedicated instance whose workers leave log files alone
    (log_maintenance_writes = 0), so that only signetctl removes them."""
    inst = Instance(signet_instance.server, workers=1,
                    env={"SIGNET_LOG_MAINTENANCE_WRITES": "0"})
    try:
        inst.start()
        yield inst
    finally:
        inst.destroy()


def test_stats_maintain_removes_log_files(quiet):
    _, _, tok = quiet.account("admin")
    slug = "logs-" + os.urandom(4).hex()
    ok(quiet.req("POST", "/v1/workspaces", tok, json={"slug": slug}), 201)
    key = ok(quiet.req("POST", "/v1/%s/ws_signing_key/" % slug, tok, json={}), 201)
    path = "/v1/%s/ws_signing_key/%s/" % (slug, key["uid"])
    # Each update writes ~23 KB of host names: 200 of them roll several
    # 2 MiB log files.
    for i in range(200):
        ok(quiet.req("PATCH", path, tok, json={"allowed_domains": long_domains(i)}))
    files = log_files(quiet.home)
    st = ctl_ok(quiet, "stats")
    assert len(files) >= 4, "only %d log files after the writes" % len(files)
    assert st["log_files"] == len(files), (st, files)

    out = ctl_ok(quiet, "stats", "--maintain")  # while serving
    assert set(out) == STATS_FIELDS | {"log_files_removed", "audit_events_pruned"}, out
    assert out["audit_events_pruned"] == 0, out  # nothing is a year old
    left = log_files(quiet.home)
    assert out["log_files_removed"] >= 1, out
    assert len(left) < len(files), (files, left)
    assert len(left) == len(files) - out["log_files_removed"], (files, left, out)
    assert out["log_files"] == len(left), (out, left)
    assert len(left) <= 2, left

    # Maintenance again: nothing more to remove.
    again = ctl_ok(quiet, "stats", "--maintain")
    assert again["log_files_removed"] == 0 or again["log_files"] <= 1, again

    # The service keeps working, and what was written survives a restart
    # (recovery needs none of the removed files).
    want = long_domains(199)
    ok(quiet.req("PATCH", path, tok, json={"allowed_domains": want[:3]}))
    quiet.stop()
    quiet.start()
    got = ok(quiet.req("GET", path, tok))
    assert got["allowed_domains"] == want[:3], got["allowed_domains"]
    ok(quiet.req("PATCH", path, tok, json={"allowed_domains": None}))
