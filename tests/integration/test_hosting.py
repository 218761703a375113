"""docs/operations.md sections 6, 8 and 10, through either web server: the
log_file setting, a worker that cannot start (503, and why in every log it
can reach, the site's error log among them), `signetctl restore` on a
serving instance, and backup and revoke beside a metrics.shm of another
user.  scripts/test-hosting plays a whole shared host (a user, suEXEC)."""

import json
import os
import pwd
import shutil
import stat
import time

import pytest

import harness
from conftest import SERVERS
from harness import err, ok, request_id
from test_backup import ctl_error, ctl_json, ctl_ok, new_dir_path

CANNOT_START = "Signet cannot start: the reason is in this site's error log"
RECOVER_TIMEOUT = 60.0   # a refusing worker exits after 30 s, then a new one starts


@pytest.fixture(scope="module", params=SERVERS)
def logged(request):
    inst = harness.Instance(request.param, workers=2,
                            env={"SIGNET_LOG_FILE": "{tmp}/signet.log"})
    try:
        inst.start()
        yield inst
    finally:
        inst.destroy()


def log_file(inst):
    return os.path.join(inst.tmp, "signet.log")


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("not within %.0f s: %s" % (timeout, what))


def healthy(inst):
    try:
        return inst.req("GET", "/healthz", timeout=5).status_code == 200
    except harness.requests.RequestException:
        return False


def serving(inst):
    """The instance, answering: a restore makes the web server start new
    workers, and lighttpd answers 503 itself until they are up."""
    if inst.proc is None or inst.proc.poll() is not None:
        inst.stop()
        inst.start()
    wait_for(lambda: healthy(inst), "/healthz answers 200", timeout=20.0)
    return inst


# --- log_file ----------------------------------------------------------------

def test_log_file_takes_the_request_lines(logged):
    inst = serving(logged)
    _, _, tok = inst.account()
    ep = inst.create_endpoint(tok)
    rid = request_id(inst.req("GET", "/v1/endpoints/" + ep["id"], tok))
    path = log_file(inst)
    wait_for(lambda: rid in inst._read(path), "request %s in %s" % (rid, path))
    assert "GET /v1/endpoints/{} 200" in inst._read(path)
    # Request lines go to the file only; the web server's log stays quiet.
    assert rid not in inst.error_log()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert tok not in inst._read(path)


# --- restore ----------------------------------------------------------------------

def test_restore_while_serving(logged):
    inst = serving(logged)
    _, _, tok = inst.account()
    before = inst.create_endpoint(tok, description="before the backup")
    headers = inst.sign(tok, before["id"], "restore me")
    backup = new_dir_path(inst, "bk")
    ctl_ok(inst, "backup", backup)
    after = inst.create_endpoint(tok, description="after the backup")
    old_workers = inst.worker_pids()
    assert old_workers, "no worker runs"
    home_ino = os.stat(inst.home).st_ino

    out = ctl_ok(inst, "restore", backup)
    assert set(out) == {"restored", "from", "previous", "workers_stopped", "verified"}, out
    assert out["restored"] == inst.home and out["from"] == backup and out["verified"] is True
    assert out["workers_stopped"] >= 1, out
    assert out["previous"].startswith(inst.home + ".before-restore-"), out
    assert os.stat(out["previous"]).st_ino == home_ino, "the former data is not at previous"
    assert os.stat(inst.home).st_ino != home_ino
    assert not os.path.exists(inst.home + ".restoring")
    assert stat.S_IMODE(os.stat(inst.home).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(inst.home, "master.key")).st_mode) == 0o600
    wait_for(lambda: not any(p in inst.worker_pids() for p in old_workers),
             "the old workers exit")
    wait_for(lambda: healthy(inst), "new workers serve", timeout=20.0)

    # The web server's new workers serve the backup's data.
    ok(inst.req("GET", "/v1/endpoints/" + before["id"], tok))
    err(inst.req("GET", "/v1/endpoints/" + after["id"], tok), 404, "ENDPOINT_NOT_FOUND")
    assert inst.verify(tok, before["id"], "restore me", headers)["valid"] is True
    assert ctl_ok(inst, "verify")["ok"] is True
    shutil.rmtree(out["previous"], ignore_errors=True)


def test_restore_refusals_change_nothing(logged):
    inst = serving(logged)
    _, _, tok = inst.account()
    ep = inst.create_endpoint(tok)
    good = new_dir_path(inst, "good")
    ctl_ok(inst, "backup", good)
    # A backup with a damaged table (as test_backup damages one).
    bad = new_dir_path(inst, "bad")
    ctl_ok(inst, "backup", bad)
    victim = max((os.path.join(bad, n) for n in os.listdir(bad) if n.endswith(".db")),
                 key=os.path.getsize)
    with open(victim, "r+b") as f:
        size = os.path.getsize(victim)
        f.seek(size // 2 if size > 8192 else 0)
        f.write(os.urandom(4096))
    empty = new_dir_path(inst, "empty")
    os.mkdir(empty)
    if inst.user:
        pw = pwd.getpwnam(inst.user)
        os.chown(empty, pw.pw_uid, pw.pw_gid)
    ino = os.stat(inst.home).st_ino
    cases = [
        ((bad,), "STORAGE_ERROR", "does not verify"),
        ((empty,), "INVALID_REQUEST", "not a Signet backup"),
        ((new_dir_path(inst, "absent"),), "INVALID_REQUEST", "not a directory"),
        ((inst.home,), "INVALID_REQUEST", "data directory itself"),
    ]
    for args, code, words in cases:
        e = ctl_error(inst, "restore", *args)
        assert e["code"] == code and words in e["message"], (args, e)
        assert os.stat(inst.home).st_ino == ino, "restore %s moved the data" % (args,)
        assert not os.path.exists(inst.home + ".restoring"), args
    code, out = ctl_json(inst, "restore")
    assert code != 0 and out["error"]["code"] == "USAGE", out
    ok(inst.req("GET", "/v1/endpoints/" + ep["id"], tok))
    assert not [n for n in os.listdir(inst.tmp) if ".before-restore-" in n]


def test_restore_of_a_backup_without_master_key(logged):
    inst = serving(logged)
    _, _, tok = inst.account()
    ep = inst.create_endpoint(tok)
    backup = new_dir_path(inst, "nokey")
    ctl_ok(inst, "backup", backup, "--no-master-key")
    assert not os.path.exists(os.path.join(backup, "master.key"))
    out = ctl_ok(inst, "restore", backup)
    wait_for(lambda: healthy(inst), "new workers serve", timeout=20.0)
    # The data directory's own key came along: the secrets still unseal.
    h = inst.sign(tok, ep["id"], "same key")
    assert inst.verify(tok, ep["id"], "same key", h)["valid"] is True
    with open(os.path.join(inst.home, "master.key"), "rb") as a, \
            open(os.path.join(out["previous"], "master.key"), "rb") as b:
        assert a.read() == b.read()
    shutil.rmtree(out["previous"], ignore_errors=True)


# --- a metrics.shm of another user (root: the workers run as www-data) -----------

def test_backup_and_revoke_name_a_foreign_metrics_shm(logged):
    inst = serving(logged)
    if os.geteuid() != 0:
        pytest.skip("needs root: a file of another user in the data directory")
    acct, _, tok = inst.account()
    shm = os.path.join(inst.home, "metrics.shm")
    pw = pwd.getpwnam(inst.user)
    me = "%s (%d)" % (inst.user, pw.pw_uid)
    os.chown(shm, 0, 0)
    try:
        e = ctl_error(inst, "backup", new_dir_path(inst, "foreign"))
        assert e["code"] == "IO_ERROR", e
        assert "metrics.shm belongs to root (0)" in e["message"], e
        assert me + " cannot read it" in e["message"], e
        key = inst.apikey(acct, "member")
        r = inst.ctl_run("apikey", "revoke", key["id"])
        assert r.returncode == 0, r
        assert json.loads(r.stdout) == {"id": key["id"], "revoked": True}
        text = r.stderr.decode()
        assert "metrics.shm belongs to root (0)" in text and "within 10 seconds" in text, text
        # Revoked all the same: refused at the latest when the cache lapses.
        wait_for(lambda: inst.req("GET", "/v1/endpoints", key["token"]).status_code == 401,
                 "the revoked token refused", timeout=15.0)
    finally:
        os.chown(shm, pw.pw_uid, pw.pw_gid)
    ok(inst.req("GET", "/v1/endpoints", tok))


# --- a worker that cannot start ---------------------------------------------------

def test_worker_that_cannot_start_says_why(logged):
    inst = serving(logged)
    _, _, tok = inst.account()
    ep = inst.create_endpoint(tok)
    inst.stop()
    key = os.path.join(inst.home, "master.key")
    if os.geteuid() == 0:
        # What a host without suEXEC does: the workers (www-data) meet a
        # data directory of another user (here root).
        # (0700, as a tenant's data directory is: the workers cannot open
        # anything in it, whatever files they left there before)
        pw = pwd.getpwnam(inst.user)
        mode = os.stat(inst.home).st_mode & 0o7777
        os.chown(inst.home, 0, 0)
        os.chmod(inst.home, 0o700)
        why = ("running as %s (%d), data directory %s owned by root (0): your host "
               "must run your FastCGI programs as you, e.g. with suEXEC"
               % (inst.user, pw.pw_uid, inst.home))
        def undo():
            os.chmod(inst.home, mode)
            os.chown(inst.home, pw.pw_uid, pw.pw_gid)
    else:
        os.rename(key, key + ".away")
        why = "the owner of the data directory %s: see the lines logged before" % inst.home
        undo = lambda: os.rename(key + ".away", key)  # noqa: E731
    try:
        inst.start(expect=503)
        r = inst.req("GET", "/healthz")
        assert r.status_code == 503 and r.json() == {"status": "unavailable"}, r.text
        assert r.headers.get("Retry-After") == "10"
        request_id(r)
        r = inst.req("GET", "/v1/endpoints", tok)
        err(r, 503, "SERVICE_UNAVAILABLE", message=CANNOT_START)
        assert r.headers.get("Retry-After") == "10"
        # stderr (the web server's log), the request's own error stream (the
        # site's log: mod_fcgid writes it as "mod_fcgid: stderr: ..."), and
        # the log file when the worker can write it.
        wait_for(lambda: "worker cannot start: " in inst.error_log(), "the reason in error.log")
        log = inst.error_log()
        assert why in log, log[-2000:]
        if inst.server == "apache":
            assert "mod_fcgid: stderr: signet: worker cannot start: " in log, log[-2000:]
        assert why in inst._read(log_file(inst))
        assert tok not in log
    finally:
        undo()
    # Fixed: the refusing worker exits within 30 s and a new one serves.
    wait_for(lambda: inst.req("GET", "/healthz").status_code == 200,
             "a new worker serves once the cause is gone", timeout=RECOVER_TIMEOUT)
    ok(inst.req("GET", "/v1/endpoints/" + ep["id"], tok))


def test_backup_copies_a_linked_signet_conf(logged):
    # The Debian package's layout: SIGNET_HOME/signet.conf links to /etc.
    inst = serving(logged)
    target = os.path.join(inst.tmp, "etc-signet.conf")
    with open(target, "w") as f:
        f.write("# linked\nmax_body_bytes = 65536\n")
    link = os.path.join(inst.home, "signet.conf")
    os.symlink(target, link)
    try:
        backup = new_dir_path(inst, "linked")
        ctl_ok(inst, "backup", backup)
        copy = os.path.join(backup, "signet.conf")
        assert not os.path.islink(copy)
        with open(copy) as f:
            assert f.read() == "# linked\nmax_body_bytes = 65536\n"
    finally:
        os.unlink(link)
