"""Page checksums (docs/operations.md, sections 10 and 13): every table is made
with Berkeley DB's page checksums; `signetctl verify` names the tables that
fail and the ones made without checksums; a page damaged on disk makes only
the requests that need it fail, with 500 INTERNAL_ERROR, while the service
keeps serving the rest; `signetctl restore` of an earlier backup brings it
all back; and the documented upgrade gives an old data directory checksums
with its data intact."""

import os
import pwd
import struct
import subprocess
import time

import pytest

from conftest import SERVERS
from harness import Instance, err, ok, wait_for
from test_backup import check_endpoint_serves, ctl_json, ctl_ok, new_dir_path, restore_into

ENDPOINTS = 60          # enough records for several leaf pages
P_LBTREE = 5            # Berkeley DB's page type of a btree leaf
B_KEYDATA = 1           # an item stored on the page itself
PAGE_HEADER = 32        # page header with its checksum: the index follows
INTERNAL = "An internal error occurred"
TABLES = ["accounts.db", "apikeys.db", "tokens.db", "endpoints.db", "inbound.db",
          "enterprises.db", "enterprise_keys.db", "workspaces.db",
          "workspace_keys.db", "audit.db", "index.db"]


@pytest.fixture(params=SERVERS)
def inst(request):
    i = Instance(request.param)
    try:
        i.start()
        yield i
    finally:
        i.destroy()


def make_endpoints(inst, tok, n):
    """n endpoints with their first keys: {id: (endpoint, {key id: secret})}."""
    out = {}
    for i in range(n):
        ep = inst.create_endpoint(tok, url="https://example.com/p%d" % i)
        out[ep["id"]] = (ep, {ep["signing_key"]["id"]: ep["signing_key"]["signing_secret"]})
    return out


def leaf_pages(path):
    """(page size, {page number: the keys on it}) for the btree leaf pages of
    a table file with checksums (a page's free space can still hold copies
    of records that moved: only its index counts)."""
    with open(path, "rb") as f:
        data = f.read()
    pagesize = struct.unpack_from("<I", data, 20)[0]
    assert pagesize in (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536), pagesize
    pages = {}
    for pgno in range(1, len(data) // pagesize):
        page = data[pgno * pagesize:(pgno + 1) * pagesize]
        if page[25] != P_LBTREE:
            continue
        entries = struct.unpack_from("<H", page, 20)[0]
        keys = set()
        for i in range(0, entries, 2):   # key, data, key, data...
            off = struct.unpack_from("<H", page, PAGE_HEADER + 2 * i)[0]
            length, kind = struct.unpack_from("<HB", page, off)
            if kind == B_KEYDATA:
                keys.add(page[off + 3:off + 3 + length].decode(errors="replace"))
        pages[pgno] = keys
    return pagesize, pages


def damage_page(path, pagesize, pgno):
    """Flip 64 bytes in the middle of page pgno (not its header)."""
    with open(path, "r+b") as f:
        off = pgno * pagesize + pagesize // 2
        f.seek(off)
        old = f.read(64)
        f.seek(off)
        f.write(bytes(b ^ 0xFF for b in old))


def drop_regions(inst):
    """Remove the environment's region files and registry (no process has
    them open): the next start runs recovery and begins with an empty cache."""
    for n in os.listdir(inst.home):
        if n.startswith("__db."):
            os.unlink(os.path.join(inst.home, n))


def current_locks(inst):
    """Berkeley DB's count of the locks held in the environment now."""
    r = subprocess.run(["db5.3_stat", "-h", inst.home, "-c"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    found = [int(line.split()[0]) for line in r.stdout.splitlines()
             if line.endswith("Number of current locks")]
    assert len(found) == 1, r.stdout
    return found[0]


def verify(inst, home=None):
    code, out = ctl_json(inst, "verify", home=home)
    assert set(out) >= {"ok", "tables_failed", "failed", "without_checksums"}, out
    return code, out


def alive(pids):
    return [p for p in pids if os.path.exists("/proc/%d" % p)]


def test_new_tables_have_checksums(inst):
    _, _, tok = inst.account()
    inst.create_endpoint(tok)
    dest = new_dir_path(inst, "fresh")
    ctl_ok(inst, "backup", dest)
    code, out = verify(inst, home=dest)
    assert code == 0 and out["ok"] is True, out
    assert out["failed"] == [] and out["without_checksums"] == [], out
    assert sorted(n for n in os.listdir(dest) if n.endswith(".db")) == sorted(TABLES)


def test_damaged_page(inst):
    _, _, tok = inst.account("admin", name="damage co")
    eps = make_endpoints(inst, tok, ENDPOINTS)
    backup = new_dir_path(inst, "before-damage")
    ctl_ok(inst, "backup", backup)
    # Checkpointed, so the restart after the damage has nothing to redo.
    ctl_ok(inst, "stats", "--maintain")
    inst.stop()
    code, out = verify(inst)
    assert code == 0 and out["ok"] is True and out["without_checksums"] == [], out

    table = os.path.join(inst.home, "endpoints.db")
    pagesize, leaves = leaf_pages(table)
    holding = {p: ids & set(eps) for p, ids in leaves.items() if ids & set(eps)}
    assert len(holding) >= 3, "the endpoints fill only %d leaf pages" % len(holding)
    # A page of the middle holding several: new endpoints go to the last one.
    middle = [p for p in sorted(holding)[1:-1] if len(holding[p]) >= 2] or sorted(holding)[1:-1]
    victim = middle[len(middle) // 2]
    damaged = holding[victim]
    healthy = sorted(set(eps) - leaves[victim])
    assert damaged and len(healthy) >= ENDPOINTS // 2, (len(damaged), len(healthy))
    damage_page(table, pagesize, victim)
    # The environment's shared cache (in its region files) still holds the
    # page as it was: without them the page is read from disk, as after any
    # recovery.
    drop_regions(inst)
    print("damaged page %d of endpoints.db (%d bytes a page): %d endpoints on it, %d elsewhere"
          % (victim, pagesize, len(damaged), len(healthy)))

    code, out = verify(inst)
    assert code == 1 and out["ok"] is False, out
    assert out["failed"] == ["endpoints.db"] and out["first_failed"] == "endpoints.db", out
    assert out["tables_failed"] == 1, out

    # The service starts on it and serves what does not need the page.
    inst.start()
    workers = inst.worker_pids()
    assert workers, "no worker running"
    answered = {"ok": 0, "5xx": 0}

    def count(resp):
        answered["5xx" if resp.status_code >= 500 else "ok"] += 1
        return resp

    locks_before = current_locks(inst)
    for rnd in range(3):
        for ep_id in sorted(damaged):
            r = count(inst.req("GET", "/v1/endpoints/%s" % ep_id, tok))
            err(r, 500, "INTERNAL_ERROR", INTERNAL)
            r = count(inst.req("POST", "/v1/endpoints/%s/signing-keys" % ep_id, tok, json={}))
            err(r, 500, "INTERNAL_ERROR", INTERNAL)
        for ep_id in healthy[rnd::3]:
            got = ok(count(inst.req("GET", "/v1/endpoints/%s" % ep_id, tok)))
            assert got["id"] == ep_id and got["url"] == eps[ep_id][0]["url"], got
            ok(count(inst.req("POST", "/v1/endpoints/%s/sign" % ep_id, tok,
                              json={"payload": '{"n": %d}' % rnd})))
        r = count(inst.req("GET", "/healthz"))
        assert r.status_code == 200 and r.json() == {"status": "ok"}, r.text
    # Writes to other pages and tables.  A record that grows may split its
    # page, and a split rewrites the link in the next page, which may be
    # the damaged one (a 500 that writes nothing): the endpoints farthest
    # from the damaged ones in key order first, one of a few succeeds.
    lo, hi = min(damaged), max(damaged)
    far = sorted(healthy, key=lambda e: -max(abs(int(e[3:], 16) - int(lo[3:], 16)),
                                             abs(int(e[3:], 16) - int(hi[3:], 16))))
    def first_created(attempts, what):
        """The first attempt answered 201 and how many 500s came before it
        (each in the envelope: a write that needed the damaged page)."""
        for n, attempt in enumerate(attempts):
            r = count(attempt())
            if r.status_code == 201:
                return ok(r, 201), n
            err(r, 500, "INTERNAL_ERROR", INTERNAL)
        raise AssertionError("no %s after the damage" % what)

    keyed = None

    def add_key(ep_id):
        def attempt():
            nonlocal keyed
            keyed = ep_id
            return inst.req("POST", "/v1/endpoints/%s/signing-keys" % ep_id, tok, json={})
        return attempt

    key, tries = first_created([add_key(e) for e in far[:8]], "key added to a healthy endpoint")
    eps[keyed][1][key["id"]] = key["signing_secret"]
    # A new endpoint's id is random: its record may belong on the damaged
    # page (a 500 like the others, which writes nothing); one of a few
    # lands elsewhere.
    fresh, on_damaged_page = first_created(
        [lambda i=i: inst.req("POST", "/v1/endpoints", tok,
                              json={"url": "https://example.com/after-damage-%d" % i})
         for i in range(8)], "new endpoint")
    ok(count(inst.req("GET", "/v1/endpoints/%s" % fresh["id"], tok)))
    acct = ctl_ok(inst, "account", "create", "--name", "after damage")
    assert acct["id"].startswith("acct_"), acct
    check_endpoint_serves(inst, tok, eps[keyed][0], eps[keyed][1])
    answered["ok"] += 4
    print("damaged run (%s): %d requests answered ok, %d with 5xx" % (
        inst.server, answered["ok"], answered["5xx"]))
    assert answered["5xx"] == 6 * len(damaged) + tries + on_damaged_page
    # The failed reads and writes left no lock behind (the tables' handle
    # locks stay).
    assert current_locks(inst) == locks_before, (current_locks(inst), locks_before)

    # No worker went down for it, and none is restarted over the next seconds.
    for _ in range(6):
        time.sleep(0.5)
        assert alive(workers) == workers, "workers exited: %s of %s" % (
            sorted(set(workers) - set(alive(workers))), workers)
    log = inst.error_log()
    # The operator's log names the table and the page.
    assert "endpoints.db: pgin failed for page %d: the requests that need it fail" % victim \
        in log, log[-3000:]
    assert "needs recovery" not in log, log[-3000:]
    err(inst.req("GET", "/v1/endpoints/%s" % sorted(damaged)[0], tok), 500, "INTERNAL_ERROR")

    # A crash after the damage, and a start that runs recovery over the
    # log where Berkeley DB noted the checksum failures: it serves again.
    inst.kill9_all()
    drop_regions(inst)
    inst.start()
    ok(inst.req("GET", "/v1/endpoints/%s" % healthy[-1], tok))
    err(inst.req("GET", "/v1/endpoints/%s" % sorted(damaged)[-1], tok), 500, "INTERNAL_ERROR")

    # The backup taken before the damage brings everything back.
    out = ctl_ok(inst, "restore", backup)
    assert out["verified"] is True, out
    wait_for("/healthz after the restore",
             lambda: inst.req("GET", "/healthz", timeout=5).status_code == 200, 20.0)
    for ep_id in sorted(damaged) + sorted(set(healthy[:5]) | {keyed}):
        ep, secrets = eps[ep_id]
        if ep_id == keyed:
            secrets = {ep["signing_key"]["id"]: ep["signing_key"]["signing_secret"]}
        check_endpoint_serves(inst, tok, ep, secrets)
    # What was written after the backup is gone, as with any restore.
    err(inst.req("GET", "/v1/endpoints/%s" % fresh["id"], tok), 404, "ENDPOINT_NOT_FOUND")
    inst.stop()
    code, out = verify(inst)
    assert code == 0 and out["ok"] is True and out["failed"] == [], out
    assert out["without_checksums"] == [], out


def shell(cmd, **kw):
    r = subprocess.run(["sh", "-ec", cmd], capture_output=True, timeout=120, **kw)
    assert r.returncode == 0, "%s: exit %d: %s" % (cmd, r.returncode, r.stderr.decode())
    return r


def reload_tables(src, dest, chksum, owner=None):
    """Every table of src dumped and loaded into dest, with or without page
    checksums (docs/operations.md, "Adding page checksums")."""
    os.mkdir(dest, 0o700)
    # db_dump's header says chksum=1 for a table that has them.
    load = "db5.3_load -c chksum=1" if chksum else "sed '/^chksum=1$/d' | db5.3_load"
    for t in TABLES:
        shell("umask 077; db5.3_dump '%s/%s' | %s '%s/%s'" % (src, t, load, dest, t))
    if owner:
        for n in [dest] + [os.path.join(dest, x) for x in os.listdir(dest)]:
            os.chown(n, owner.pw_uid, owner.pw_gid)


def old_data(inst):
    """inst serving, on a data directory as an earlier release made it (no
    page checksums), with endpoints: {id: (endpoint, {key id: secret})}."""
    owner = pwd.getpwnam(inst.user) if inst.user else None
    _, _, tok = inst.account("admin", name="old data")
    eps = make_endpoints(inst, tok, 8)
    made = new_dir_path(inst, "made")
    ctl_ok(inst, "backup", made)
    inst.stop()
    old = new_dir_path(inst, "old")
    reload_tables(made, old, chksum=False, owner=owner)
    shell("cp -p '%s/master.key' '%s/'" % (made, old))
    restore_into(inst, old)
    code, out = verify(inst)
    assert code == 0 and out["ok"] is True, out
    assert sorted(out["without_checksums"]) == sorted(TABLES), out
    # This release serves such a directory as it is, and writes to it.
    inst.start()
    for ep, secrets in eps.values():
        check_endpoint_serves(inst, tok, ep, secrets)
    later = inst.create_endpoint(tok, url="https://example.com/written-before-upgrade")
    eps[later["id"]] = (later, {later["signing_key"]["id"]: later["signing_key"]["signing_secret"]})
    return tok, eps


def intact(inst, tok, eps):
    """Every endpoint of eps there, listed, signing and verifying."""
    for ep, secrets in eps.values():
        check_endpoint_serves(inst, tok, ep, secrets)
    listed = ok(inst.req("GET", "/v1/endpoints?limit=100", tok))
    assert sorted(e["id"] for e in listed) == sorted(eps), listed
    inst.create_endpoint(tok, url="https://example.com/after-upgrade")


def test_upgrade_adds_checksums(inst):
    owner = pwd.getpwnam(inst.user) if inst.user else None
    tok, eps = old_data(inst)
    # The upgrade with the Berkeley DB tools, as documented: stop, back up,
    # reload with checksums, verify, swap, start.  The reloaded tables come
    # without log files.
    inst.stop()
    backup = new_dir_path(inst, "pre-upgrade")
    ctl_ok(inst, "backup", backup)
    new = new_dir_path(inst, "new")
    reload_tables(backup, new, chksum=True, owner=owner)
    shell("cp -p '%s/master.key' '%s/'" % (backup, new))
    code, out = verify(inst, home=new)
    assert code == 0 and out["ok"] is True and out["without_checksums"] == [], out
    os.rename(inst.home, inst.home + ".before-checksums")
    os.rename(new, inst.home)
    code, out = verify(inst)
    assert code == 0 and out["ok"] is True and out["without_checksums"] == [], out
    inst.start()
    intact(inst, tok, eps)
    print("upgrade with db5.3_load (%s): %d tables reloaded with checksums, %d endpoints intact"
          % (inst.server, len(TABLES), len(eps)))


def test_upgrade_with_signetctl(inst):
    tok, eps = old_data(inst)
    # signetctl alone, while the web server serves: a backup with checksums
    # added, restored in place of the data directory.
    new = new_dir_path(inst, "new")
    out = ctl_ok(inst, "backup", new, "--checksums")
    assert out == {"backup": new, "master_key_included": True,
                   "tables_given_checksums": len(TABLES)}, out
    assert not [n for n in os.listdir(new) if n.startswith("log.")], os.listdir(new)
    code, out = verify(inst, home=new)
    assert code == 0 and out["ok"] is True and out["without_checksums"] == [], out
    out = ctl_ok(inst, "restore", new)
    assert out["verified"] is True, out
    wait_for("/healthz after the restore",
             lambda: inst.req("GET", "/healthz", timeout=5).status_code == 200, 20.0)
    intact(inst, tok, eps)
    # A data directory that has them already: a plain backup.
    again = new_dir_path(inst, "again")
    out = ctl_ok(inst, "backup", again, "--checksums")
    assert out["tables_given_checksums"] == 0, out
    assert [n for n in os.listdir(again) if n.startswith("log.")], os.listdir(again)
    inst.stop()
    code, out = verify(inst)
    assert code == 0 and out["ok"] is True and out["without_checksums"] == [], out
    print("upgrade with signetctl (%s): %d tables given checksums, %d endpoints intact"
          % (inst.server, len(TABLES), len(eps)))
