"""Issue 7: crash recovery under load.

Concurrent writes (signing keys created and deleted on outbound endpoints,
enterprise keys registered with TOTP) go through lighttpd while a killer
thread SIGKILLs a random signet.fcgi every half second; then every process is
SIGKILLed at once and the server restarted.  Afterwards:

- every write answered 2xx is there (a created key listed and signing with
  its secret; a deleted key gone, its secret no longer verifying);
- nothing answered with an error envelope (4xx, or a 5xx the app wrote) has
  an audit event, i.e. was applied; nothing is half-applied: a write whose
  answer was lost (connection reset, 5xx made by lighttpd, timeout) is either
  wholly there (listed, signing, verifying, with its one audit event) or
  wholly absent, and the audit trail matches the data exactly;
- every endpoint holds 1 or 2 keys (max-2 and last-key rules), whenever it
  is listed during the load and after; each 409 and each 2xx fits what the
  endpoint held;
- the service heals by itself once the killing stops; after the crash,
  storage opened with recovery: Berkeley DB's failure checking freed what the
  killed workers held (or, after a watchdog exit, full recovery ran), the
  recovery marker is gone, and `signetctl verify` passes.

Debian's libdb5.3 has non-robust mutexes: a worker killed inside a region
mutex can stall the others until the storage watchdog (docs/operations.md
section 13) ends them, so errors and stalls during the kill phase are
expected; they are counted, and such writes are treated as indeterminate.

Runs once, on lighttpd, on an instance of its own.  Bounded: LOAD_SECONDS of
load (or MAX_WRITES requests), every request with a timeout.
"""

import base64
import hashlib
import json
import os
import random
import re
import signal
import threading
import time
import traceback

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from harness import (KEY_ID_RE, LAST_KEY_MESSAGE, MAX_KEYS_MESSAGE, SECRET_RE, Instance,
                     OtpAdmin, describe, list_all, ok, ok_list, sign_reference)
from test_durability import wait_healthy

SERVERS = os.environ.get("SIGNET_TEST_SERVERS", "lighttpd apache").split()

pytestmark = pytest.mark.skipif("lighttpd" not in SERVERS,
                                reason="the crash-load test runs on lighttpd only")

WORKERS = 4
KEY_WRITERS = 6            # threads creating and deleting signing keys
ENDPOINTS_PER_WRITER = 3
ENT_WRITERS = 2            # threads registering enterprise keys
ADMINS_PER_ENT_WRITER = 16  # OTP admin keys made up front (3+ codes each)
ENT_INTERVAL = 0.4         # seconds between two registrations of one thread
LOAD_SECONDS = 20.0
MAX_WRITES = 20000
KILL_EVERY = 0.5
REQ_TIMEOUT = 30.0
JOIN_TIMEOUT = REQ_TIMEOUT + 20.0
RECOVERY_TIMEOUT = 40.0    # healthy again after the restart (watchdog 10 s + recovery)
SPURIOUS_PROB = 0.1        # share of requests that a rule must refuse (409)

FULL_RECOVERY_LINE = "running full recovery after a watchdog exit"
WATCHDOG_LINE = "storage watchdog fired"
FAILCHK_RE = re.compile(r"storage: BDB\d+ Freeing .*?(\d+)/\d+")


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- one request and what its answer says ------------------------------------------

class Outcome:
    """kind: "ok" (2xx, data parsed), "rejected" (an error envelope from the
    app with a 4xx), "app5xx" (an error envelope from the app with a 5xx),
    "proxy" (a 5xx lighttpd made itself: the worker died or was unreachable),
    "conn" (connection error), "timeout" (no answer in time), "garbled" (a
    2xx whose body did not arrive whole).  The last four, and "app5xx", are
    indeterminate for the model: the write may or may not have been
    committed (an app 5xx must still leave no audit event, checked at the
    end)."""

    INDETERMINATE = ("app5xx", "proxy", "conn", "timeout", "garbled")

    def __init__(self, kind, status=None, rid=None, data=None, code=None, text=""):
        self.kind, self.status, self.rid, self.data, self.code, self.text = (
            kind, status, rid, data, code, text)

    @property
    def indeterminate(self):
        return self.kind in self.INDETERMINATE

    @property
    def late(self):
        """Could the write still be applied after this answer?  Only when
        the client gave up while the request may still be running."""
        return self.kind == "timeout"

    def __repr__(self):
        return "<%s %s %s %s %s>" % (self.kind, self.status, self.rid, self.code,
                                     self.text[:200])


def call(inst, method, path, token, body=None, headers=None):
    try:
        if body is None:
            r = inst.req(method, path, token, headers=headers, timeout=REQ_TIMEOUT)
        else:
            r = inst.req(method, path, token, json=body, headers=headers, timeout=REQ_TIMEOUT)
    except requests.Timeout as e:
        return Outcome("timeout", text=repr(e))
    except requests.RequestException as e:
        return Outcome("conn", text=repr(e))
    rid = r.headers.get("X-Request-Id")
    if 200 <= r.status_code < 300:
        data = None
        if r.status_code != 204:
            try:
                data = r.json()["data"]
            except (ValueError, KeyError, TypeError):
                return Outcome("garbled", r.status_code, rid, text=r.text)
        elif r.content:
            return Outcome("garbled", r.status_code, rid, text=r.text)
        if rid is None:
            return Outcome("garbled", r.status_code, rid, text="2xx without X-Request-Id")
        return Outcome("ok", r.status_code, rid, data=data)
    code = None
    if rid is not None:
        try:
            code = r.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
    if rid is None or code is None:
        if r.status_code >= 500:
            return Outcome("proxy", r.status_code, rid, text=r.text)
        return Outcome("weird", r.status_code, rid, text=describe(r))
    if r.status_code >= 500:
        return Outcome("app5xx", r.status_code, rid, code=code, text=r.text)
    msg = ""
    try:
        msg = r.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        pass
    return Outcome("rejected", r.status_code, rid, code=code, text=msg)


# --- the model of one endpoint's keys ------------------------------------------------

class Key:
    def __init__(self, key_id, secret, origin, rid=None):
        self.id, self.secret, self.origin, self.rid = key_id, secret, origin, rid
        self.deleted = "no"          # "no", "indet", "acked"
        self.delete_late = False     # an indeterminate delete may still land
        self.gone_seen = False       # listed as absent after an indeterminate delete
        self.delete_rid = None

    def must_be_present(self):
        return self.deleted == "no"

    def must_be_absent(self):
        return self.deleted == "acked" or (self.deleted == "indet" and self.gone_seen)

    def may_be_present(self):
        return not self.must_be_absent()


class Endpoint:
    def __init__(self, ep):
        self.id = ep["id"]
        k = ep["signing_key"]
        self.keys = {k["id"]: Key(k["id"], k["signing_secret"], "initial")}
        self.indet_creates = 0       # every create whose answer was lost
        self.late_creates = 0        # of which timeouts (may land late)
        self.pending_creates = 0     # indeterminate creates since the last listing
        self.adopted = 0             # keys found listed that no 2xx announced
        self.needs_sync = False

    def count_min(self):
        return sum(1 for k in self.keys.values() if k.must_be_present())

    def count_max(self):
        return (sum(1 for k in self.keys.values() if k.may_be_present()) +
                self.pending_creates + self.late_creates)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.anomalies = []
        self.thread_errors = []
        self.writes = 0
        self.rejected_rids = set()   # 4xx answers: nothing may be recorded for them
        self.app5xx_rids = set()

    def inc(self, name, n=1):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def get(self, name):
        return self.counts.get(name, 0)

    def anomaly(self, msg):
        with self.lock:
            self.anomalies.append(msg)

    def take_write(self):
        with self.lock:
            if self.writes >= MAX_WRITES:
                return False
            self.writes += 1
            return True

    def outcome(self, prefix, o):
        self.inc("%s.%s" % (prefix, o.kind))
        if o.indeterminate:
            self.inc("indeterminate")
            self.inc("indeterminate." + o.kind)
        if o.kind == "proxy":
            self.inc("proxy.%d" % o.status)
        if o.kind == "rejected":
            with self.lock:
                self.rejected_rids.add(o.rid)
        elif o.kind == "app5xx":
            self.inc("app5xx.%d %s" % (o.status, o.code))
            with self.lock:
                self.app5xx_rids.add(o.rid)
        elif o.kind == "weird":
            self.anomaly("%s: unexpected answer %r" % (prefix, o))


def check_listing(ep, listed, when, stats):
    """Compare a listing (key ids, oldest first) with what the model allows;
    adopt keys of indeterminate creates.  Returns nothing; records anomalies."""
    ids = [k["id"] for k in listed]
    present = set(ids)
    if not 1 <= len(ids) <= 2:
        stats.anomaly("%s: endpoint %s lists %d keys: %r" % (when, ep.id, len(ids), ids))
    if len(present) != len(ids):
        stats.anomaly("%s: endpoint %s lists a key twice: %r" % (when, ep.id, ids))
    for k in ep.keys.values():
        if k.id in present:
            if k.must_be_absent():
                stats.anomaly("%s: endpoint %s lists key %s (%s) whose deletion was %s" % (
                    when, ep.id, k.id, k.origin,
                    "acknowledged (%s)" % k.delete_rid if k.deleted == "acked"
                    else "already seen applied"))
            elif k.deleted == "indet" and not k.delete_late:
                # The lost delete did not happen, and cannot any more.
                k.deleted = "no"
        else:
            if k.must_be_present():
                stats.anomaly("%s: endpoint %s lost key %s (%s, created by %s), never "
                              "deleted" % (when, ep.id, k.id, k.origin, k.rid))
            if k.deleted == "indet":
                k.gone_seen = True
    for kid in ids:
        if kid not in ep.keys:
            ep.keys[kid] = Key(kid, None, "adopted")
            ep.adopted += 1
            stats.inc("adopted_keys")
            if ep.adopted > ep.indet_creates:
                stats.anomaly("%s: endpoint %s lists key %s that no create announced, and "
                              "only %d creates were indeterminate" % (
                                  when, ep.id, kid, ep.indet_creates))
    ep.pending_creates = 0
    ep.needs_sync = False


# --- the threads -----------------------------------------------------------------------

def key_writer(inst, token, eps, stop, stats, seed):
    rnd = random.Random(seed)
    i = 0
    while not stop.is_set():
        ep = eps[i % len(eps)]
        i += 1
        if ep.needs_sync:
            o = call(inst, "GET", "/v1/endpoints/%s/signing-keys" % ep.id, token)
            stats.inc("sync." + o.kind)
            if o.kind != "ok":
                time.sleep(0.1)
                continue
            check_listing(ep, o.data, "during the load", stats)
        must = [k for k in ep.keys.values() if k.must_be_present()]
        if not must:
            ep.needs_sync = True
            continue
        spurious = rnd.random() < SPURIOUS_PROB
        want_create = (len(must) == 1) != spurious
        if not stats.take_write():
            return
        cmin, cmax = ep.count_min(), ep.count_max()
        if want_create:
            o = call(inst, "POST", "/v1/endpoints/%s/signing-keys" % ep.id, token)
            stats.outcome("create", o)
            if o.kind == "ok":
                d = o.data
                if o.status != 201 or not isinstance(d, dict) or \
                        not KEY_ID_RE.match(str(d.get("id"))) or \
                        not SECRET_RE.match(str(d.get("signing_secret"))):
                    stats.anomaly("create on %s: bad answer %d %r" % (ep.id, o.status, d))
                    ep.needs_sync = True
                    continue
                if cmin >= 2:
                    stats.anomaly("create on %s acknowledged (%s) while it held 2 keys: %r" % (
                        ep.id, o.rid, [k.id for k in must]))
                if d["id"] in ep.keys:
                    stats.anomaly("create on %s returned a known key id %s" % (ep.id, d["id"]))
                ep.keys[d["id"]] = Key(d["id"], d["signing_secret"], "acked", o.rid)
                stats.inc("acked_creates")
            elif o.kind == "rejected":
                if o.status == 409 and o.code == "MAX_SIGNING_KEYS_REACHED":
                    stats.inc("409_max")
                    if o.text != MAX_KEYS_MESSAGE:
                        stats.anomaly("409 message %r" % o.text)
                    if cmax <= 1:
                        stats.anomaly("create on %s refused (%s) as over the maximum while it "
                                      "held at most %d key" % (ep.id, o.rid, cmax))
                else:
                    stats.anomaly("create on %s: unexpected %r" % (ep.id, o))
            elif o.indeterminate:
                ep.indet_creates += 1
                ep.pending_creates += 1
                if o.late:
                    ep.late_creates += 1
                ep.needs_sync = True
        else:
            k = must[0]  # the oldest: a rotation
            o = call(inst, "DELETE", "/v1/endpoints/%s/signing-keys/%s" % (ep.id, k.id), token)
            stats.outcome("delete", o)
            if o.kind == "ok":
                if o.status != 204:
                    stats.anomaly("delete on %s answered %d" % (ep.id, o.status))
                if cmax <= 1:
                    stats.anomaly("delete of %s on %s acknowledged (%s) though it was the "
                                  "last key" % (k.id, ep.id, o.rid))
                k.deleted, k.delete_rid = "acked", o.rid
                stats.inc("acked_deletes")
            elif o.kind == "rejected":
                if o.status == 409 and o.code == "CANNOT_DELETE_LAST_SIGNING_KEY":
                    stats.inc("409_last")
                    if o.text != LAST_KEY_MESSAGE:
                        stats.anomaly("409 message %r" % o.text)
                    if cmin >= 2:
                        stats.anomaly("delete of %s on %s refused (%s) as the last key while "
                                      "it held 2" % (k.id, ep.id, o.rid))
                else:
                    # 404 included: the key was certainly there.
                    stats.anomaly("delete of %s on %s: unexpected %r" % (k.id, ep.id, o))
            elif o.indeterminate:
                k.deleted = "indet"
                k.delete_late = k.delete_late or o.late
                ep.needs_sync = True


class EntKey:
    def __init__(self, kid, priv, jwk):
        self.kid, self.priv, self.jwk = kid, priv, jwk
        self.outcome = None
        thumb_input = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]},
                                 separators=(",", ":"), sort_keys=True)
        self.thumbprint = b64u(hashlib.sha256(thumb_input.encode()).digest())

    def jws(self, payload):
        h = b64u(json.dumps({"alg": "EdDSA", "kid": self.kid}).encode())
        p = b64u(payload.encode())
        return h + "." + p + "." + b64u(self.priv.sign((h + "." + p).encode()))


def new_ent_key(prefix, n):
    priv = ed25519.Ed25519PrivateKey.generate()
    raw = priv.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)
    kid = "%s-%d-%s" % (prefix, n, os.urandom(4).hex())
    return EntKey(kid, priv, {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw), "kid": kid})


def ent_writer(inst, ent_id, admins, made, stop, stats, prefix):
    n = 0
    while not stop.is_set():
        admin, code = None, None
        for a in admins:
            code = a.code()
            if code is not None:
                admin = a
                break
        if admin is None:
            stats.inc("otp_exhausted")
            stop.wait(1.0)
            continue
        if not stats.take_write():
            return
        k = new_ent_key(prefix, n)
        n += 1
        o = call(inst, "POST", "/v1/enterprises/%s/webhook-signing-keys" % ent_id, admin.token,
                 body={"jwks": {"keys": [k.jwk]}, "name": "crash " + k.kid},
                 headers={"X-OTP": code})
        k.outcome = o
        made.append(k)
        stats.outcome("register", o)
        if o.kind == "ok":
            d = o.data
            if o.status != 201 or not isinstance(d, dict) or d.get("keyId") != k.kid or \
                    d.get("thumbprint") != k.thumbprint or d.get("status") != "active":
                stats.anomaly("register %s: bad answer %d %r" % (k.kid, o.status, d))
            stats.inc("acked_registers")
        elif o.kind == "rejected":
            if o.status == 403 and o.code == "INVALID_OTP":
                # A code that went stale while the request stalled.
                stats.inc("register_stale_otp")
            else:
                stats.anomaly("register %s: unexpected %r" % (k.kid, o))
        stop.wait(ENT_INTERVAL)


def killer(inst, stop, stats, killed):
    rnd = random.Random()
    while not stop.wait(KILL_EVERY):
        pids = inst.worker_pids()
        if not pids:
            stats.inc("killer_found_none")
            continue
        pid = rnd.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass


def guarded(stats, fn, *args):
    def run():
        try:
            fn(*args)
        except BaseException:
            with stats.lock:
                stats.thread_errors.append(traceback.format_exc())
    return threading.Thread(target=run, daemon=True)


# --- checks after the restart ------------------------------------------------------------

def all_audit_events(inst, token):
    return list_all(inst, "/v1/audit-events", token)


def list_ent_keys(inst, token, ent_id):
    return list_all(inst, "/v1/enterprises/%s/webhook-signing-keys" % ent_id, token,
                    id_field="keyId")


def metric(text, name):
    m = re.search(r"^%s (\d+)" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def test_crash_recovery_under_load():
    t_start = time.monotonic()
    inst = Instance("lighttpd", workers=WORKERS)
    try:
        _run(inst, t_start)
    finally:
        inst.destroy()


def _run(inst, t_start):
    inst.start()
    acct, _, token = inst.account("admin", name="crash load")
    stats = Stats()
    seed = random.randrange(1 << 30)

    # Up front: endpoints for each key writer, an enterprise and OTP admins
    # for each enterprise writer.
    groups = []
    for w in range(KEY_WRITERS):
        groups.append([Endpoint(inst.create_endpoint(token, url="https://example.com/c%d-%d"
                                                     % (w, j)))
                       for j in range(ENDPOINTS_PER_WRITER)])
    all_eps = [ep for g in groups for ep in g]
    ents = []
    for w in range(ENT_WRITERS):
        ent_id = ok(inst.req("POST", "/v1/enterprises", token,
                             json={"name": "Crash %d" % w}), 201)["id"]
        admins = [OtpAdmin(inst, acct, name="crash otp %d-%d" % (w, i))
                  for i in range(ADMINS_PER_ENT_WRITER)]
        ents.append((ent_id, admins, []))
    wait_healthy(inst)

    # The load, and the killer.
    stop = threading.Event()
    kstop = threading.Event()
    killed = []
    threads = [guarded(stats, key_writer, inst, token, g, stop, stats, seed + w)
               for w, g in enumerate(groups)]
    threads += [guarded(stats, ent_writer, inst, ent_id, admins, made, stop, stats, "ck%d" % w)
                for w, (ent_id, admins, made) in enumerate(ents)]
    kthread = guarded(stats, killer, inst, kstop, stats, killed)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    kthread.start()
    while time.monotonic() - t0 < LOAD_SECONDS and stats.writes < MAX_WRITES and \
            any(t.is_alive() for t in threads):
        time.sleep(0.1)
    stop.set()
    kstop.set()
    load_s = time.monotonic() - t0
    kthread.join(10)
    for t in threads:
        t.join(JOIN_TIMEOUT)
    drain_s = time.monotonic() - t0 - load_s
    stuck = [t for t in threads + [kthread] if t.is_alive()]
    assert not stuck, "%d load threads still running %.0f s after the load" % (
        len(stuck), time.monotonic() - t0)
    assert not stats.thread_errors, "a load thread failed:\n" + "\n".join(stats.thread_errors)

    # The service heals by itself once the killing stops (workers stuck on a
    # dead process's mutex end by the watchdog and are restarted).
    t_heal = time.monotonic()
    wait_healthy(inst, timeout=RECOVERY_TIMEOUT)
    heal_s = time.monotonic() - t_heal
    r = inst.req("GET", "/metrics", timeout=10)
    assert r.status_code == 200, describe(r)
    watchdog_exits = metric(r.text, "signet_watchdog_exits_total")

    # Crash everything, restart, recover.
    log_pos = len(inst.error_log())
    victims = inst.worker_pids()
    inst.kill9_all()
    t_restart = time.monotonic()
    marker = os.path.join(inst.home, "recover.needed")
    marker_at_restart = os.path.exists(marker)
    inst.start()
    wait_healthy(inst, timeout=RECOVERY_TIMEOUT)
    recovery_s = time.monotonic() - t_restart

    # Storage opened with recovery.
    full_log = inst.error_log()
    before, after = full_log[:log_pos], full_log[log_pos:]
    assert not os.path.exists(marker), "recover.needed still there after the restart"
    full_recovery = FULL_RECOVERY_LINE in after
    if marker_at_restart:
        assert full_recovery, "recover.needed was there, but no full recovery was logged:\n" + \
            after[-3000:]
    freed = {int(p) for p in FAILCHK_RE.findall(after)}
    served = {p for p in victims if "signet[%d]" % p in before}
    if not full_recovery:
        assert served, "no worker that served requests was running at the crash: %r" % victims
        missing = served - freed
        assert not missing, (
            "after the restart, Berkeley DB's failure checking freed nothing of the killed "
            "workers %r (freed: %r):\n%s" % (sorted(missing), sorted(freed), after[-3000:]))
    watchdog_lines = full_log.count(WATCHDOG_LINE)
    died_in_library = full_log.count("Thread died in Berkeley DB library")
    panicked = len(set(re.findall(r"signet\[(\d+)\] error: storage: BDB\d+ PANIC", full_log)))
    full_recoveries = full_log.count(FULL_RECOVERY_LINE)

    failures = list(stats.anomalies)

    def fail(msg):
        failures.append(msg)

    # Endpoints: none lost, none added.
    items, more = ok_list(inst.req("GET", "/v1/endpoints?limit=100", token))
    assert not more
    assert sorted(e["id"] for e in items) == sorted(ep.id for ep in all_eps)

    # Keys: the model, the rules, and each key signing and verifying.
    ts = int(time.time())
    keys_present = 0
    for ep in all_eps:
        listed = inst.list_keys(token, ep.id)
        n_fail = len(stats.anomalies)
        check_listing(ep, listed, "after the restart", stats)
        failures.extend(stats.anomalies[n_fail:])
        ids = [k["id"] for k in listed]
        keys_present += len(ids)
        h = inst.sign(token, ep.id, "crash load", msg_id="msg_crashload", timestamp=ts)
        sigs = h["webhook-signature"].split(" ")
        if len(sigs) != len(ids):
            fail("endpoint %s lists %d keys but signs with %d" % (ep.id, len(ids), len(sigs)))
            continue
        for kid, sig in zip(reversed(ids), sigs):
            k = ep.keys[kid]
            if k.secret is not None:
                want = sign_reference(k.secret, "msg_crashload", ts, "crash load")
                if sig != want:
                    fail("key %s (%s) on %s signs wrongly" % (kid, k.origin, ep.id))
            res = inst.verify(token, ep.id, "crash load",
                              {"webhook-id": "msg_crashload", "webhook-timestamp": str(ts),
                               "webhook-signature": sig})
            if res.get("valid") is not True or res.get("key_id") != kid:
                fail("key %s (%s) on %s: its own signature does not verify: %r" % (
                    kid, k.origin, ep.id, res))
        # Deleted keys no longer verify (the latest few of each endpoint).
        gone = [k for k in ep.keys.values() if k.must_be_absent() and k.secret is not None]
        for k in gone[-3:]:
            sig = sign_reference(k.secret, "msg_crashload", ts, "crash load")
            res = inst.verify(token, ep.id, "crash load",
                              {"webhook-id": "msg_crashload", "webhook-timestamp": str(ts),
                               "webhook-signature": sig})
            if res.get("valid") is not False:
                fail("deleted key %s on %s still verifies: %r" % (k.id, ep.id, res))

    # Enterprise keys.
    ent_present = 0
    ent_indet_applied = 0
    for ent_id, _admins, made in ents:
        listed = list_ent_keys(inst, token, ent_id)
        by_kid = {k["keyId"]: k for k in listed}
        if len(by_kid) != len(listed):
            fail("enterprise %s lists a key twice" % ent_id)
        ent_present += len(by_kid)
        known = {k.kid for k in made}
        for kid in set(by_kid) - known:
            fail("enterprise %s lists key %r that was never registered" % (ent_id, kid))
        for k in made:
            o = k.outcome
            if k.kid in by_kid:
                if o.kind == "rejected":
                    fail("enterprise key %s refused (%r) but listed" % (k.kid, o))
                    continue
                if o.indeterminate:
                    ent_indet_applied += 1
                got = by_kid[k.kid]
                if got.get("status") != "active" or got.get("thumbprint") != k.thumbprint:
                    fail("enterprise key %s listed as %r" % (k.kid, got))
                res = ok(inst.req("POST", "/v1/enterprises/%s/verify" % ent_id, token,
                                  json={"jws": k.jws("crash load")}))
                if res.get("valid") is not True or res.get("keyId") != k.kid:
                    fail("enterprise key %s does not verify its JWS: %r" % (k.kid, res))
            elif o.kind == "ok":
                fail("enterprise key %s acknowledged (%s) but not listed" % (k.kid, o.rid))

    # The audit trail matches the data: one event per applied write, in the
    # same transaction, none for refused writes.
    events = all_audit_events(inst, token)
    by_rid = {}
    created_ev, deleted_ev, registered_ev = {}, {}, {}
    for e in events:
        by_rid.setdefault(e["request_id"], []).append(e)
        if e["action"] == "signing_key.created":
            created_ev.setdefault(e["resource_id"], []).append(e)
        elif e["action"] == "signing_key.deleted":
            deleted_ev.setdefault(e["resource_id"], []).append(e)
        elif e["action"] == "webhook_signing_key.registered":
            registered_ev.setdefault(e["resource_id"], []).append(e)
    for rid in stats.rejected_rids:
        if rid in by_rid:
            fail("refused request %s has audit events %r" % (rid, by_rid[rid]))
    for rid in stats.app5xx_rids:
        if rid in by_rid:
            fail("request %s answered 5xx has audit events %r" % (rid, by_rid[rid]))
    for rid, evs in by_rid.items():
        if rid is not None and len(evs) > 2:
            fail("request %s has %d audit events" % (rid, len(evs)))
    model_keys = {k.id: (ep, k) for ep in all_eps for k in ep.keys.values()}
    for kid, evs in created_ev.items():
        if len(evs) != 1:
            fail("key %s has %d created events" % (kid, len(evs)))
        if kid not in model_keys:
            fail("audit says key %s was created, but it is nowhere" % kid)
    for kid, evs in deleted_ev.items():
        if len(evs) != 1:
            fail("key %s has %d deleted events" % (kid, len(evs)))
    for kid, (ep, k) in model_keys.items():
        cev = created_ev.get(kid, [])
        dev = deleted_ev.get(kid, [])
        if not cev:
            fail("key %s (%s) on %s has no created event" % (kid, k.origin, ep.id))
        elif k.origin == "acked" and cev[0]["request_id"] != k.rid:
            fail("key %s: created event of request %s, acknowledged by %s" % (
                kid, cev[0]["request_id"], k.rid))
        if k.deleted == "acked":
            if not dev or dev[0]["request_id"] != k.delete_rid:
                fail("key %s: acknowledged delete %s has no event (%r)" % (kid, k.delete_rid,
                                                                          dev))
        elif k.must_be_absent():
            if not dev:
                fail("key %s is gone but has no deleted event" % kid)
        elif k.deleted == "no" and dev:
            fail("key %s is listed but has a deleted event %r" % (kid, dev))
    for ent_id, _admins, made in ents:
        for k in made:
            rid_key = "%s/%s" % (ent_id, k.kid)
            evs = registered_ev.get(rid_key, [])
            o = k.outcome
            if o.kind == "ok":
                if len(evs) != 1 or evs[0]["request_id"] != o.rid:
                    fail("enterprise key %s: acknowledged by %s, events %r" % (k.kid, o.rid, evs))
            elif len(evs) > 1:
                fail("enterprise key %s has %d registered events" % (k.kid, len(evs)))
    ent_listed = set()
    for ent_id, _admins, made in ents:
        listed = list_ent_keys(inst, token, ent_id)
        ent_listed |= {"%s/%s" % (ent_id, k["keyId"]) for k in listed}
    for rid_key in registered_ev:
        if rid_key not in ent_listed:
            fail("audit says enterprise key %s was registered, but it is not listed" % rid_key)
    for rid_key in ent_listed:
        if rid_key not in registered_ev:
            fail("enterprise key %s is listed without a registered event" % rid_key)

    # Structure of every table, with the server stopped.
    inst.stop()
    verify = inst.ctl("verify")

    s = stats
    indet_creates = sum(ep.indet_creates for ep in all_eps)
    ent_indet = sum(1 for _e, _a, made in ents for k in made if k.outcome.indeterminate)
    indet_deletes_applied = sum(1 for ep in all_eps for k in ep.keys.values()
                                if k.deleted == "indet" and k.gone_seen)

    def breakdown(prefix):
        return ", ".join("%s: %d" % (k[len(prefix):], v) for k, v in sorted(s.counts.items())
                         if k.startswith(prefix))

    print("\ncrash-load: %.1f s load (+%.1f s draining, healthy %.1f s later), "
          "%d writes (seed %d); "
          "acknowledged: %d creates, %d deletes, %d enterprise keys; "
          "409: %d max-2, %d last-key; stale OTP 403: %d; "
          "indeterminate: %d (conn %d, proxy 5xx %d [%s], app 5xx %d [%s], timeout %d, "
          "garbled %d); applied of them: %d of %d creates, %d deletes, %d of %d enterprise keys; "
          "workers killed: %d; died inside BDB: %d; panicked processes: %d; "
          "watchdog exits: %s (metric), %d (log); "
          "full recoveries: %d; restart healthy in %.1f s, %s; "
          "present: %d keys on %d endpoints, %d enterprise keys; audit events: %d; "
          "total %.1f s" % (
              load_s, drain_s, heal_s, s.writes, seed,
              s.get("acked_creates"), s.get("acked_deletes"), s.get("acked_registers"),
              s.get("409_max"), s.get("409_last"), s.get("register_stale_otp"),
              s.get("indeterminate"), s.get("indeterminate.conn"), s.get("indeterminate.proxy"),
              breakdown("proxy."), s.get("indeterminate.app5xx"), breakdown("app5xx."),
              s.get("indeterminate.timeout"), s.get("indeterminate.garbled"),
              s.get("adopted_keys"), indet_creates, indet_deletes_applied, ent_indet_applied,
              ent_indet,
              len(killed), died_in_library, panicked, watchdog_exits, watchdog_lines,
              full_recoveries,
              recovery_s,
              "full recovery" if full_recovery else
              "failchk freed the %d killed serving workers" % len(served & freed),
              keys_present, len(all_eps), ent_present, len(events),
              time.monotonic() - t_start))

    assert not failures, "%d problems:\n%s" % (len(failures), "\n".join(failures[:40]))
    assert verify.get("ok") is True and verify.get("tables_failed") == 0, verify
    assert s.get("acked_creates") > 0 and s.get("acked_deletes") > 0, s.counts
    assert s.get("acked_registers") > 0, s.counts
    assert killed, "the killer killed no worker"


