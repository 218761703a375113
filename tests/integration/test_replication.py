"""Issue 9: three sites of one Berkeley DB replication group (repmgr), each
with its own SIGNET_HOME and its own web server, on 127.0.0.1.

docs/api.md, Error codes: a replica answers writes 503 SERVICE_UNAVAILABLE; this
suite checks the whole life of a group: reads everywhere, writes on the
master only, signetctl on either, and a failover after kill -9 of every
process of the master's site, which the old master then rejoins."""

import os
import shutil
import threading
import time

import pytest
import requests

import harness
from conftest import SERVERS
from harness import Instance, describe, err, free_port, list_all, ok, sign_reference

WORKERS = 3
CATCH_UP_S = 20.0
# A site that was the master and comes back must first roll back and re-sync
# from the new master; on a loaded CI machine that took over 20 s once in
# several runs (with a 200 answer still required, and its time printed).
REJOIN_S = 60.0


def health(inst, timeout=3):
    try:
        r = inst.req("GET", "/healthz", timeout=timeout)
    except requests.RequestException:
        return None
    try:
        return r.json()
    except ValueError:
        return None


def wait_for(what, fn, timeout=CATCH_UP_S, interval=0.05):
    return harness.wait_for(what, fn, timeout, interval)


class Group:
    """Three sites; site 0 creates the group and starts as its master."""

    def __init__(self, server):
        self.server = server
        self.sites = ["127.0.0.1:%d" % free_port() for _ in range(3)]
        self.insts = []
        try:
            for i in range(3):
                inst = Instance(server, workers=WORKERS, env=self.env_for(i))
                self.insts.append(inst)
                if i == 0:
                    inst.start()
                    wait_for("site 0 master", lambda: self.role(inst) == "master")
                    key = os.path.join(inst.home, "master.key")
                else:
                    # Every site seals and opens secrets with the same key.
                    shutil.copy(key, os.path.join(inst.home, "master.key"))
                    inst.start()
            for inst in self.insts:
                wait_for("site caught up", lambda: self.caught_up(inst))
        except BaseException:
            self.destroy()
            raise

    def env_for(self, i):
        return {
            "SIGNET_REPLICATION_SITE": self.sites[i],
            "SIGNET_REPLICATION_PEERS": ",".join(
                s for j, s in enumerate(self.sites) if j != i),
            "SIGNET_REPLICATION_GROUP_CREATOR": "true" if i == 0 else "false",
        }

    @staticmethod
    def role(inst):
        h = health(inst)
        return h.get("role") if h else None

    @staticmethod
    def caught_up(inst):
        h = health(inst)
        return bool(h and h.get("status") == "ok"
                    and h["replication"]["caught_up"]
                    and h["replication"]["master"] is not None)

    def master(self):
        found = [x for x in self.insts if x.proc is not None and self.role(x) == "master"]
        return found[0] if len(found) == 1 else None

    def replicas(self):
        m = self.master()
        return [x for x in self.insts if x is not m and x.proc is not None]

    def site_of(self, inst):
        return self.sites[self.insts.index(inst)]

    def destroy(self):
        for inst in self.insts:
            inst.destroy()


@pytest.fixture(scope="module", params=SERVERS)
def group(request):
    g = Group(request.param)
    try:
        yield g
    finally:
        g.destroy()


@pytest.fixture(scope="module")
def admin_token(group):
    _, _, token = group.master().account(name="replicated")
    return token


def wait_replicated(group, fn, timeout=CATCH_UP_S):
    """fn(inst) holds on every replica, within timeout."""
    for inst in group.replicas():
        wait_for("replicated to %s" % group.site_of(inst), lambda: fn(inst), timeout)


def test_roles_in_healthz_and_metrics(group):
    m = group.master()
    assert m is group.insts[0]
    for inst in group.insts:
        h = health(inst)
        assert h["status"] == "ok"
        rep = h["replication"]
        assert h["role"] == rep["role"] == ("master" if inst is m else "replica")
        assert rep["master"] == group.sites[0], rep
        assert rep["sites"] == 3, rep
        assert rep["joined"] is True and rep["caught_up"] is True
        metrics = inst.req("GET", "/metrics").text
        assert "signet_replication_master %d\n" % (inst is m) in metrics


def test_writes_on_the_master_are_read_on_every_replica(group, admin_token):
    m = group.master()
    ep = m.create_endpoint(admin_token, url="https://example.com/replicated")
    second = m.add_key(admin_token, ep["id"])
    keys = [(ep["signing_key"]["id"], ep["signing_key"]["signing_secret"]),
            (second["id"], second["signing_secret"])]

    def has_both(inst):
        r = inst.req("GET", "/v1/endpoints/%s/signing-keys" % ep["id"], admin_token)
        return r.status_code == 200 and len(r.json()["data"]) == 2

    wait_replicated(group, has_both)
    want = " ".join(sign_reference(secret, "msg_rep", 1700000000, "hello")
                    for _, secret in reversed(keys))
    for inst in group.insts:
        assert [k["id"] for k in inst.list_keys(admin_token, ep["id"])] == [k for k, _ in keys]
        # A replica opens the replicated sealed secrets with the shared key.
        h = inst.sign(admin_token, ep["id"], "hello", msg_id="msg_rep", timestamp=1700000000)
        assert h["webhook-signature"] == want, group.site_of(inst)
        fresh = inst.sign(admin_token, ep["id"], "hello now")
        assert inst.verify(admin_token, ep["id"], "hello now", fresh)["valid"] is True


def test_a_replica_refuses_writes_and_names_the_master(group, admin_token):
    m = group.master()
    ep = m.create_endpoint(admin_token, url="https://example.com/refused")
    wait_replicated(group, lambda x: x.req("GET", "/v1/endpoints/" + ep["id"],
                                           admin_token).status_code == 200)
    for replica in group.replicas():
        for method, path, body in (
                ("POST", "/v1/endpoints", {"url": "https://example.com/nope"}),
                ("POST", "/v1/endpoints/%s/signing-keys" % ep["id"], {}),
                ("DELETE", "/v1/endpoints/" + ep["id"], None)):
            r = replica.req(method, path, admin_token,
                            **({"json": body} if body is not None else {}))
            err(r, 503, "SERVICE_UNAVAILABLE", mentions=group.sites[0])
            assert r.headers.get("Retry-After") == "1", describe(r)
    # Nothing changed anywhere.
    for inst in group.insts:
        assert len(inst.list_keys(admin_token, ep["id"])) == 1
        ok(inst.req("GET", "/v1/endpoints/" + ep["id"], admin_token))


def test_signetctl_writes_on_the_master_only(group):
    m = group.master()
    replica = group.replicas()[0]
    r = replica.ctl_run("account", "create", "--name", "from a replica")
    assert r.returncode != 0
    assert b"NOT_MASTER" in r.stdout and group.sites[0].encode() in r.stdout, r.stdout
    # Reading and local housekeeping work on a replica.
    assert replica.ctl("stats", "--maintain")["commits"] >= 0
    replica.ctl("backup", os.path.join(replica.tmp, "backup"))
    acct = m.ctl("account", "create", "--name", "from the master")["id"]
    key = m.apikey(acct, "admin")
    # The key made on the master authenticates on every site.
    wait_replicated(group, lambda x: x.req("GET", "/v1/endpoints",
                                           key["token"]).status_code == 200)
    m.ctl("apikey", "revoke", key["id"])
    wait_replicated(group, lambda x: x.req("GET", "/v1/endpoints",
                                           key["token"]).status_code == 401)


def test_failover_keeps_every_acknowledged_write(group, admin_token):
    """kill -9 of every process of the master's site while clients write:
    a replica is elected, accepts writes, and holds every write that was
    acknowledged before the kill; the old master rejoins as a replica and
    catches up."""
    old = group.master()
    acked = []          # endpoint ids whose creation got a 201
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n):
        for i in range(400):
            if stop.is_set():
                return
            try:
                r = old.req("POST", "/v1/endpoints", admin_token,
                            json={"url": "https://example.com/w%d-%d" % (n, i)}, timeout=10)
            except requests.RequestException:
                return
            if r.status_code == 201:
                with lock:
                    acked.append(r.json()["data"]["id"])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    wait_for("some writes acknowledged", lambda: len(acked) >= 40, timeout=30)
    t_kill = time.monotonic()
    old.kill9_all()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    with lock:
        before = list(acked)

    survivors = [x for x in group.insts if x is not old]
    new = wait_for("a new master elected",
                   lambda: next((x for x in survivors if group.role(x) == "master"), None),
                   timeout=30)
    elected_s = time.monotonic() - t_kill

    def accepts_write():
        r = new.req("POST", "/v1/endpoints", admin_token,
                    json={"url": "https://example.com/after-failover"})
        return r.json()["data"]["id"] if r.status_code == 201 else None

    after_id = wait_for("the new master accepts a write", accepts_write, timeout=30)
    writable_s = time.monotonic() - t_kill

    listed = {e["id"] for e in list_all(new, "/v1/endpoints", admin_token)}
    missing = [i for i in before if i not in listed]
    print("\nfailover (%s): %d writes acknowledged before the kill, %d of them on the "
          "new master; elected after %.2f s, first write accepted after %.2f s"
          % (group.server, len(before), len(before) - len(missing), elected_s, writable_s))
    assert not missing, "acknowledged writes lost: %s" % missing[:5]
    assert after_id in listed

    # The old master comes back as a replica and catches up.
    old.start()
    wait_for("old master rejoins as a replica", lambda: group.role(old) == "replica")
    t_back = time.monotonic()
    try:
        def serves_it():
            try:
                return old.req("GET", "/v1/endpoints/" + after_id, admin_token,
                               timeout=5).status_code == 200
            except requests.exceptions.Timeout:
                return False        # not yet: asked again until REJOIN_S

        wait_for("old master catches up", serves_it, timeout=REJOIN_S)
        print("old master caught up %.2f s after it came back" % (time.monotonic() - t_back))
    except Exception:
        # What the rejoined site's processes said, for the report.
        print("--- the old master's error log ---\n%s" % old.error_log()[-6000:])
        raise
    h = health(old)["replication"]
    assert h["master"] == group.site_of(new)
    wait_for("same log position as the master",
             lambda: health(old)["replication"]["lsn"] == health(new)["replication"]["lsn"])
    r = old.req("POST", "/v1/endpoints", admin_token, json={"url": "https://example.com/x"})
    err(r, 503, "SERVICE_UNAVAILABLE", mentions=group.site_of(new))
