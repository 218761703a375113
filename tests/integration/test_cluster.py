"""scripts/cluster: three replicated sites behind HAProxy
(deploy/haproxy/signet.cfg), one front address.

Runs the command a user runs, under each web server: the front routes
reads over every site and writes to the master, passes the sites' answers
through, and a kill -9 of every process of the master's site while 4
threads write and 4 read through the front costs a few seconds of writes,
no read and no acknowledged write; the killed site rejoins as a replica."""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import SERVERS
from harness import BUILDDIR, REPO, err, list_all, ok, reap_children, wait_for

CLUSTER = os.path.join(REPO, "scripts", "cluster")
START_S = 180.0         # the three sites, their catch-up and HAProxy
WRITES_BACK_S = 5.0     # the goal: writes through the front again within 5 s
REJOIN_S = 60.0         # a rejoining ex-master rolls back, then re-syncs
RUN_S = 60.0            # the clients' whole run, at most
CLIENTS = 4

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None
                                and not os.path.exists("/usr/sbin/haproxy"),
                                reason="haproxy is not installed (Debian package haproxy)")


def port_free(port):
    """Nothing listens on 127.0.0.1:port (bound as the servers bind)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port():
    """A front port P with P+1..P+3, P+101..P+103 and P+200 free as well,
    below the ephemeral range (where the kernel picks client ports)."""
    for _ in range(200):
        p = random.randrange(20000, 32000)
        if all(port_free(q) for q in (p, p + 1, p + 2, p + 3, p + 101, p + 102, p + 103, p + 200)):
            return p
    raise RuntimeError("no free block of ports")


class Cluster:
    def __init__(self, server):
        self.server = server
        self.tmp = tempfile.mkdtemp(prefix="signet-cluster-%s-" % server, dir="/tmp")
        os.chmod(self.tmp, 0o755)
        # A copy of the build that the web servers' user can reach.
        build = os.path.join(self.tmp, "build", "src")
        os.makedirs(build)
        for name in ("signet.fcgi", "signetctl"):
            shutil.copy2(os.path.join(BUILDDIR, "src", name), os.path.join(build, name))
        for d in (self.tmp, os.path.dirname(build), build):
            os.chmod(d, 0o755)
        self.port = free_base_port()
        self.front = "http://127.0.0.1:%d" % self.port
        self.env = dict(os.environ, PORT=str(self.port), SIGNET_SERVER=server,
                        SIGNET_CLUSTER_DIR=os.path.join(self.tmp, "cluster"),
                        SIGNET_BUILDDIR=os.path.join(self.tmp, "build"),
                        # mod_fcgid makes a request that finds every
                        # process busy wait a second: Apache's pool is
                        # larger than the 4 writers.
                        SIGNET_WORKERS="3" if server == "lighttpd" else "6")
        self.out_path = os.path.join(self.tmp, "cluster.out")
        self.proc = subprocess.Popen([CLUSTER], env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=open(self.out_path, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.token = self._wait_started()

    def output(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def _wait_started(self):
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            out = self.output()
            m = re.search(r"export TOKEN=(\S+)", out)
            if m and "Press Ctrl-C to stop." in out:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise AssertionError("scripts/cluster did not start (exit %s):\n%s"
                             % (self.proc.poll(), self.output()[-6000:]))

    def run(self, *args, timeout=90):
        r = subprocess.run([CLUSTER] + list(args), env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        assert r.returncode == 0, "scripts/cluster %s: exit %d\n%s%s" % (
            " ".join(args), r.returncode, r.stdout.decode(), r.stderr.decode())
        return r.stdout.decode()

    def status(self):
        return [json.loads(line) for line in self.run("status").splitlines()]

    def master(self, timeout=10):
        """The one site that says it is the master (asked again for a
        while: a loaded site may answer a status query late)."""
        def one():
            found = [s for s in self.status() if s["role"] == "master"]
            return found[0] if len(found) == 1 else None
        try:
            return wait_for("one master", one, timeout, interval=0.2)
        except AssertionError:
            return None

    def req(self, method, path, base=None, timeout=10, **kw):
        h = {"Authorization": "Bearer " + self.token}
        return requests.request(method, (base or self.front) + path, headers=h,
                                timeout=timeout, allow_redirects=False, **kw)

    def site_log(self, n):
        p = os.path.join(self.tmp, "cluster", "site%d" % n, "run", "error.log")
        try:
            with open(p, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError as e:
            return repr(e)

    def stop(self):
        """Ctrl-C, as a user stops it; True if it stopped everything."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        reap_children()

    def destroy(self):
        self.stop()
        for n in (1, 2, 3):     # whatever a failed test left running
            subprocess.run([CLUSTER, "stop-site", str(n)], env=self.env,
                           capture_output=True, timeout=60)
        if os.environ.get("SIGNET_TEST_KEEP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module", params=SERVERS)
def cluster(request):
    c = Cluster(request.param)
    try:
        yield c
    finally:
        c.destroy()


def route_count(base, method, pattern):
    """Requests of one route counted by a site's /metrics, any status."""
    text = requests.get(base + "/metrics", timeout=5).text
    total = 0
    for line in text.splitlines():
        if (line.startswith("signet_requests_total{")
                and 'method="%s"' % method in line and 'route="%s"' % pattern in line):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def test_status_names_one_master_and_the_demo_token_works(cluster):
    st = cluster.status()
    assert [s["site"] for s in st] == [1, 2, 3]
    assert [s["url"] for s in st] == ["http://127.0.0.1:%d" % (cluster.port + n)
                                      for n in (1, 2, 3)]
    assert sorted(s["role"] for s in st) == ["master", "replica", "replica"], st
    for s in st:
        h = requests.get(s["url"] + "/healthz", timeout=5).json()
        assert h["role"] == s["role"] and h["replication"]["sites"] == 3, h
    assert "Signet cluster on %s" % cluster.front in cluster.output()
    r = cluster.req("GET", "/v1/endpoints")
    ok(r)
    assert re.fullmatch(r"req_[0-9a-f]{24}", r.headers["X-Request-Id"])


def test_reads_spread_over_every_site_and_writes_reach_the_master(cluster):
    r = cluster.req("POST", "/v1/endpoints", json={"url": "https://example.com/front"})
    ep = ok(r, 201)
    st = cluster.status()
    wait_for("replicated", lambda: all(
        cluster.req("GET", "/v1/endpoints/" + ep["id"], base=s["url"]).status_code == 200
        for s in st), timeout=20)
    pat = "/v1/endpoints/{id}"
    before = {s["site"]: (route_count(s["url"], "GET", pat),
                          route_count(s["url"], "POST", pat + "/sign"),
                          route_count(s["url"], "POST", "/v1/endpoints")) for s in st}
    for i in range(30):
        ok(cluster.req("GET", "/v1/endpoints/" + ep["id"]))
        ok(cluster.req("POST", "/v1/endpoints/%s/sign" % ep["id"],
                       json={"payload": "front %d" % i}))
    for i in range(6):
        ok(cluster.req("POST", "/v1/endpoints", json={"url": "https://example.com/w%d" % i}),
           201)
    for s in st:
        get_n, sign_n, create_n = (a - b for a, b in zip(
            (route_count(s["url"], "GET", pat), route_count(s["url"], "POST", pat + "/sign"),
             route_count(s["url"], "POST", "/v1/endpoints")), before[s["site"]]))
        # Round robin over three healthy sites: about 10 each.
        assert get_n >= 5 and sign_n >= 5, (s, get_n, sign_n)
        # No write went to a replica (it would have answered 503).
        assert create_n == (6 if s["role"] == "master" else 0), (s, create_n)


def test_a_replica_answer_passes_through_unchanged(cluster):
    replica = next(s for s in cluster.status() if s["role"] == "replica")
    master = cluster.master()
    direct = cluster.req("POST", "/v1/endpoints", base=replica["url"],
                         json={"url": "https://example.com/direct"})
    err(direct, 503, "SERVICE_UNAVAILABLE", mentions="127.0.0.1:%d"
        % (cluster.port + 100 + master["site"]))
    assert direct.headers["Retry-After"] == "1"
    # Bad input through the front: the master's own 4xx, envelope and all.
    r = cluster.req("POST", "/v1/endpoints", json={"url": "http://not-https.example"})
    err(r, 400, "INVALID_REQUEST")
    r = cluster.req("DELETE", "/v1/endpoints/ep_00000000000000000000000000000000")
    err(r, 404, "ENDPOINT_NOT_FOUND")


def test_failover_through_the_front(cluster):
    """kill -9 of every process of the master's site while 4 threads write
    and 4 read through the front: writes come back within 5 s, no read
    fails, every acknowledged write is on the new master, and the old
    master rejoins as a replica."""
    seed = ok(cluster.req("POST", "/v1/endpoints", json={"url": "https://example.com/seed"}),
              201)
    # A read through the front may reach a replica a few milliseconds
    # behind the master: the readers start once every site has the seed.
    wait_for("the seed on every site", lambda: all(
        cluster.req("GET", "/v1/endpoints/" + seed["id"], base=s["url"]).status_code == 200
        for s in cluster.status()), timeout=20)
    lock = threading.Lock()
    acked = []              # (time, endpoint id) of every 201
    write_errors = []       # (time, status, code, Retry-After) of every other answer
    read_fails = []         # (time, what)
    reads = []              # the time of every read answered
    stop = threading.Event()
    t_end = time.monotonic() + RUN_S

    def writer(n):
        i = 0
        while not stop.is_set() and time.monotonic() < t_end:
            i += 1
            try:
                r = cluster.req("POST", "/v1/endpoints",
                                json={"url": "https://example.com/f%d-%d" % (n, i)})
            except requests.RequestException as e:
                with lock:
                    write_errors.append((time.monotonic(), None, repr(e), None, None))
                time.sleep(0.1)
                continue
            now = time.monotonic()
            if r.status_code == 201:
                with lock:
                    acked.append((now, r.json()["data"]["id"]))
                continue
            try:
                code = r.json()["error"]["code"]
                why = r.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                code = why = r.text[:100]
            with lock:
                write_errors.append((now, r.status_code, code, r.headers.get("Retry-After"),
                                     why))
            time.sleep(0.1)

    def reader(n):
        while not stop.is_set() and time.monotonic() < t_end:
            try:
                if n % 2:
                    r = cluster.req("GET", "/v1/endpoints/" + seed["id"])
                    good = r.status_code == 200 and r.json()["data"]["id"] == seed["id"]
                else:
                    r = cluster.req("POST", "/v1/endpoints/%s/sign" % seed["id"],
                                    json={"payload": "read %d" % n})
                    good = r.status_code == 200 and "webhook-signature" in r.json()["data"]
                what = "%d %s" % (r.status_code, r.text[:120])
            except requests.RequestException as e:
                good, what = False, repr(e)
            with lock:
                reads.append(time.monotonic())
                if not good:
                    read_fails.append((time.monotonic(), what))

    roles = []              # (time, site, role) of every change a site's /healthz shows
    sites = cluster.status()

    def monitor():
        last = {}
        while not stop.is_set() and time.monotonic() < t_end:
            for s in sites:
                try:
                    role = requests.get(s["url"] + "/healthz", timeout=1).json()["role"]
                except requests.Timeout:
                    role = "slow (no answer within 1 s)"
                except (requests.RequestException, ValueError, KeyError, TypeError):
                    role = "down"
                if last.get(s["site"]) != role:
                    last[s["site"]] = role
                    roles.append((time.monotonic(), s["site"], role))
            time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(CLIENTS)]
    threads += [threading.Thread(target=reader, args=(n,)) for n in range(CLIENTS)]
    threads.append(threading.Thread(target=monitor))
    for t in threads:
        t.start()
    try:
        wait_for("40 writes acknowledged", lambda: len(acked) >= 40, timeout=30)
        old = cluster.master()
        assert old is not None
        t_kill = time.monotonic()
        cluster.run("stop-site", str(old["site"]))
        t_killed = time.monotonic()
        back = wait_for("a write through the front acknowledged after the kill",
                        lambda: next((t for t, _ in list(acked) if t > t_killed), None),
                        timeout=30, interval=0.05)
        # Reads and writes on the new master for a while: at least 2 s,
        # and 3 s after the kill.
        time.sleep(max(2.0, t_kill + 3.0 - time.monotonic()))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    writes_back_s = back - t_kill
    new = cluster.master()
    assert new is not None and new["site"] != old["site"], cluster.status()
    during = [e for e in write_errors if e[0] >= t_kill]
    print("\nfailover through HAProxy (%s): %d writes acknowledged (%d before the kill), "
          "%d reads, kill took %.2f s, writes through the front again %.2f s after the "
          "kill; %d writes refused meanwhile %s; %d reads failed"
          % (cluster.server, len(acked), sum(1 for t, _ in acked if t < t_kill), len(reads),
             t_killed - t_kill, writes_back_s, len(during),
             sorted(set((str(s), c) for _, s, c, _, _ in during)), len(read_fails)))
    # What the sites said and what the writers were told, in seconds after
    # the kill: where a slow failover spent its time.
    print("roles: " + ", ".join("%+.2f site %d %s" % (t - t_kill, n, r)
                                for t, n, r in roles if t >= t_kill - 1))
    seen = {}
    for t, status, _, _, why in during:
        first, _, n = seen.get((status, why), (t, t, 0))
        seen[(status, why)] = (first, t, n + 1)
    for (status, why), (first, last, n) in sorted(seen.items(), key=lambda kv: kv[1][0]):
        print("  %+.2f..%+.2f s: %d x %s %s" % (first - t_kill, last - t_kill, n, status, why))
    # Reads went on through the switch: some answered in every second of it.
    for second in range(3):
        assert [t for t in reads if t_kill + second <= t < t_kill + second + 1], \
            "no read answered %d-%d s after the kill" % (second, second + 1)
    assert not read_fails, read_fails[:5]
    # A refused write says so in the envelope, with Retry-After; and none
    # before the kill.  502: the write was in flight when its site died
    # (HAProxy's answer: it may or may not be committed); 503: no master
    # at the moment (HAProxy's, or a site's in the middle of the election).
    assert not [e for e in write_errors if e[0] < t_kill], \
        [(t - t_kill, *e) for t, *e in write_errors][:5]
    for _, status, code, retry, _ in during:
        assert status in (502, 503) and code == "SERVICE_UNAVAILABLE" and retry == "1", \
            during[:5]
    if writes_back_s >= WRITES_BACK_S:
        for s in sites:
            if s["site"] != old["site"]:
                print("--- site %d's replication messages ---\n%s" % (s["site"], "\n".join(
                    line for line in cluster.site_log(s["site"]).splitlines()
                    if "replication" in line)[-3000:]))
    assert writes_back_s < WRITES_BACK_S, writes_back_s

    listed = {e["id"] for e in list_all(_Site(cluster, new["url"]), "/v1/endpoints",
                                        cluster.token)}
    missing = [i for _, i in acked if i not in listed]
    assert not missing, "acknowledged writes lost: %s" % missing[:5]

    # The old master comes back and rejoins as a replica.
    last = acked[-1][1]
    line = json.loads(cluster.run("start-site", str(old["site"])))
    assert line["site"] == old["site"] and line["role"] in ("replica", "down"), line
    t_back = time.monotonic()
    try:
        wait_for("old master is a replica serving the last write", lambda: (
            cluster.req("GET", "/v1/endpoints/" + last, base=old["url"],
                        timeout=5).status_code == 200
            and requests.get(old["url"] + "/healthz", timeout=5).json()["role"] == "replica"),
            timeout=REJOIN_S, interval=0.2)
    except Exception:
        print("--- site %d's error log ---\n%s" % (old["site"], cluster.site_log(old["site"])[-6000:]))
        raise
    print("old master rejoined as a replica and caught up %.2f s after start-site"
          % (time.monotonic() - t_back))
    roles = {s["site"]: s["role"] for s in cluster.status()}
    assert roles[old["site"]] == "replica" and roles[new["site"]] == "master", roles
    ok(cluster.req("POST", "/v1/endpoints", json={"url": "https://example.com/after"}), 201)


def test_ctrl_c_stops_every_process(cluster):
    cluster.stop()
    assert cluster.proc.returncode is not None
    time.sleep(0.5)
    for p in (cluster.port, cluster.port + 1, cluster.port + 2, cluster.port + 3):
        assert port_free(p), "127.0.0.1:%d still in use after Ctrl-C" % p
    assert [s["role"] for s in cluster.status()] == ["down", "down", "down"]


class _Site:
    """A site's URL with the token, for list_all."""

    def __init__(self, cluster, base):
        self.cluster = cluster
        self.base = base

    def req(self, method, path, token=None, **kw):
        return self.cluster.req(method, path, base=self.base, **kw)
