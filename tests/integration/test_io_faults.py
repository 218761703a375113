"""I/O errors of SIGNET_HOME's disk (docs/operations.md, I/O errors).

The fault shim (tests/faults/eio.c, LD_PRELOAD) makes every write and fsync
(or only every fsync) of the workers on files under SIGNET_HOME fail with
EIO while a flag file exists.  Four writer threads create endpoints and a reader reads one while
the fault is switched on for FAULT_S seconds, then off:

- no write is acknowledged whose commit met the fault (a commit's failed
  log flush is never followed by a 2xx, not even after a retry succeeds:
  after a failed fsync the kernel may have dropped the pages);
- every refused write gets 503 SERVICE_UNAVAILABLE in the envelope, with
  Retry-After, and no request hangs;
- reads keep working or come back;
- writes are acknowledged again within RECOVERY_MAX_S of the fault's end,
  without anybody doing anything (the environment is recovered by the next
  worker to open it);
- every acknowledged write is there afterwards, and again after kill -9 of
  every process and a restart; `signetctl verify` passes;
- /metrics counts the I/O errors (signet_storage_io_errors_total).

`pytest -s` prints the figures.
"""
import os
import re
import shutil
import tempfile
import threading
import time

import pytest

from conftest import SERVERS
from harness import Instance, err, fault_shim, ok

WRITERS = 4
BEFORE_S = 1.0          # writes before the fault
FAULT_S = 2.0           # the fault lasts this long
AFTER_S = 2.0           # writes after writes are acknowledged again
RECOVERY_MAX_S = 5.0    # the fault's end to the first acknowledged write
MAX_WRITES = 2000       # per writer: bounded, whatever the timing
MAX_SECONDS = 60        # the whole run
REQUEST_TIMEOUT = 10    # a hang fails the test, it does not stall it
SLOW_RE = re.compile(r" \d{4,}\.\dms req_")   # a request log line of 1 s or more


@pytest.fixture(scope="module")
def shim():
    d = tempfile.mkdtemp(prefix="signet-eio-", dir="/tmp")
    os.chmod(d, 0o755)
    try:
        yield fault_shim(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# Every write and fsync fails; or only fsync and fdatasync, the writes
# landing in the page cache (the case where a later fsync may succeed
# although the kernel dropped what it could not write).
FAULTS = {
    "all": "write,pwrite,writev,fsync,fdatasync",
    "fsync": "fsync,fdatasync",
}


@pytest.fixture(params=[(srv, f) for srv in SERVERS for f in FAULTS],
                ids=lambda p: "%s-%s" % p)
def faulty(request, shim):
    server, fault = request.param
    inst = Instance(server, workers=4, env={
        "LD_PRELOAD": shim,
        "SIGNET_FAULT_FLAG": "{tmp}/fault.on",
        "SIGNET_FAULT_ERRNO": "EIO",
        "SIGNET_FAULT_CALLS": FAULTS[fault],
    })
    inst.fault = fault
    try:
        inst.start()
        yield inst
    finally:
        inst.destroy()


def metric(inst, name, tries=20):
    """A counter of /metrics (asked again after a 503: a worker still on
    the failed environment answers so once, then exits)."""
    for _ in range(tries):
        r = inst.req("GET", "/metrics")
        if r.status_code == 200:
            break
        time.sleep(0.1)
    for line in r.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics: %d %s" % (name, r.status_code, r.text[:300]))


class Outcomes:
    """What each request got: (sent, answered, status, id or message)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.writes = []
        self.reads = []
        self.bad = []           # answers outside the contract

    def add(self, which, item):
        with self.lock:
            which.append(item)


def refused_ok(r):
    """Whether a refused write's answer is the contract's 503: envelope,
    SERVICE_UNAVAILABLE, Retry-After."""
    try:
        err(r, 503, "SERVICE_UNAVAILABLE")
        return int(r.headers.get("Retry-After", "0")) >= 1
    except (AssertionError, ValueError):
        return False


def client(stop, out, deadline, send, pause=0.0):
    """send(i) a request at a time until stopped, noting each outcome."""
    for i in range(MAX_WRITES):
        if stop.is_set() or time.monotonic() > deadline:
            return
        sent = time.monotonic()
        try:
            r = send(i)
        except Exception as e:  # a hang or a reset: outside the contract
            out.add(out.bad, repr(e)[:200])
            continue
        got = time.monotonic()
        if r.request.method == "GET":
            out.add(out.reads, (sent, got, r.status_code, None))
        elif r.status_code == 201:
            out.add(out.writes, (sent, got, 201, r.json()["data"]["id"]))
        else:
            out.add(out.writes, (sent, got, r.status_code, r.text[:200]))
        if r.status_code // 100 != 2 and not refused_ok(r):
            out.add(out.bad, (r.request.method, r.status_code, dict(r.headers),
                              r.text[:200]))
        time.sleep(pause)


def writer(inst, token, n):
    return lambda i: inst.req("POST", "/v1/endpoints", token, timeout=REQUEST_TIMEOUT,
                              json={"url": "https://example.com/eio/%d/%d" % (n, i)})


def test_io_errors_refuse_then_recover(faulty):
    inst = faulty
    flag = os.path.join(inst.tmp, "fault.on")
    _, _, token = inst.account(name="io faults")
    ep = inst.create_endpoint(token)
    errors_before = metric(inst, "signet_storage_io_errors_total")

    out, stop = Outcomes(), threading.Event()
    deadline = time.monotonic() + MAX_SECONDS
    threads = [threading.Thread(target=client, args=(stop, out, deadline,
                                                     writer(inst, token, n)))
               for n in range(WRITERS)]
    read = lambda i: inst.req("GET", "/v1/endpoints/%s" % ep["id"], token,  # noqa: E731
                              timeout=REQUEST_TIMEOUT)
    threads.append(threading.Thread(target=client, args=(stop, out, deadline, read, 0.02)))
    for t in threads:
        t.start()
    try:
        time.sleep(BEFORE_S)
        open(flag, "w").close()
        t_on = time.monotonic()
        time.sleep(FAULT_S)
        os.unlink(flag)
        t_off = time.monotonic()
        # Writes acknowledged again: the first 201 to a write sent after the end.
        t_back = None
        while time.monotonic() < t_off + RECOVERY_MAX_S + 5:
            with out.lock:
                back = [w[1] for w in out.writes if w[2] == 201 and w[0] >= t_off]
            if back:
                t_back = min(back)
                break
            time.sleep(0.05)
        time.sleep(AFTER_S)
    finally:
        stop.set()
        if os.path.exists(flag):
            os.unlink(flag)
        for t in threads:
            t.join(REQUEST_TIMEOUT + 5)
    assert not any(t.is_alive() for t in threads), "a client thread hangs"

    hits_path = flag + ".hits"
    hits = os.path.getsize(hits_path) if os.path.exists(hits_path) else 0
    acked = [w for w in out.writes if w[2] == 201]
    refused = [w for w in out.writes if w[2] != 201]
    # Sent after the fault began, answered before it ended: the commit met it.
    acked_in_fault = [w for w in acked if w[0] > t_on + 0.05 and w[1] < t_off]
    reads_ok = sum(1 for r in out.reads if r[2] == 200)
    reads_last = out.reads[-1][2] if out.reads else None
    recovery = (t_back - t_off) if t_back is not None else float("inf")

    # Everything acknowledged is there, now and after kill -9 and a restart
    # (asked again after a 503: a worker may still be reopening storage).
    def present(ep_id):
        for _ in range(50):
            r = inst.req("GET", "/v1/endpoints/%s" % ep_id, token)
            if r.status_code != 503:
                return r.status_code == 200
            time.sleep(0.1)
        return False

    def lost_ids():
        return [w[3] for w in acked if not present(w[3])]
    lost = lost_ids()
    log = inst.error_log()
    errors = metric(inst, "signet_storage_io_errors_total") - errors_before
    inst.kill9_all()
    inst.start()
    lost_after_crash = lost_ids()
    ok(inst.req("GET", "/v1/endpoints/%s" % ep["id"], token))
    inst.stop()
    verify = inst.ctl("verify")

    print("\nI/O errors (%s, %s failing): %d writes acknowledged, %d refused, %d lost "
          "(%d after kill -9), %d acknowledged during the fault; reads: %d of %d "
          "answered 200; %d failed calls, %d I/O errors counted; writes "
          "acknowledged again %.2f s after the fault stopped"
          % (inst.server, inst.fault, len(acked), len(refused), len(lost), len(lost_after_crash),
             len(acked_in_fault), reads_ok, len(out.reads), hits, errors, recovery))
    assert hits > 0, "the fault was never met"
    assert refused, "no write was refused during the fault"
    assert not out.bad, "%r\n--- slow requests and storage messages ---\n%s" % (
        out.bad[:5], "\n".join(line for line in log.splitlines()
                               if "ms req_" not in line or SLOW_RE.search(line))[-6000:])
    assert not acked_in_fault, acked_in_fault[:5]
    assert recovery < RECOVERY_MAX_S, "writes were not acknowledged again in time"
    assert reads_last == 200, "reads did not come back"
    assert lost == [] and lost_after_crash == []
    assert errors >= 1
    assert verify["ok"] is True, verify
