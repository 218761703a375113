"""docs/api.md (Health and metrics) and issue 6: `GET /metrics` (no auth) in
the Prometheus text exposition format, with request counts by route template
and status, a latency histogram and storage figures, counted for the whole
worker pool (docs/operations.md section 12)."""

import concurrent.futures
import math
import os
import re
import signal
import time

import pytest

from conftest import SERVERS
from harness import Instance, err, ok

KEYS_ROUTE = "/v1/endpoints/{id}/signing-keys"
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Scrape:
    """A parsed exposition: samples[(name, frozenset(labels))] = value."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        self.order = []
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 4 and parts[1] == "TYPE":
                    assert parts[2] not in self.types, "TYPE twice for %s" % parts[2]
                    self.types[parts[2]] = parts[3].strip()
                continue
            m = SAMPLE_RE.match(line)
            assert m, "not an exposition line: %r" % line
            name, labels = m.group(1), {}
            if m.group(3):
                rest = m.group(3)
                for lm in LABEL_RE.finditer(rest):
                    labels[lm.group(1)] = lm.group(2)
                rebuilt = ",".join('%s="%s"' % (k, v) for k, v in
                                   ((lm.group(1), lm.group(2)) for lm in LABEL_RE.finditer(rest)))
                assert rebuilt == rest.rstrip(","), "bad labels in %r" % line
            value = float(m.group(4))
            key = (name, frozenset(labels.items()))
            assert key not in self.samples, "sample twice: %r" % line
            self.samples[key] = value
            self.order.append((name, labels, value))

    def get(self, name, **labels):
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def find(self, name, **labels):
        """Samples of `name` whose labels include `labels`."""
        return [(l, v) for n, l, v in self.order
                if n == name and all(l.get(k) == x for k, x in labels.items())]

    def requests(self, route, status, method=None):
        return sum(v for l, v in self.find("signet_requests_total", route=route,
                                           status=str(status))
                   if method is None or l["method"] == method)

    def one(self, name):
        s = [v for n, l, v in self.order if n == name]
        assert len(s) == 1, "%s: %r" % (name, s)
        return s[0]


def scrape(inst):
    r = inst.req("GET", "/metrics")
    assert r.status_code == 200, r.text[:300]
    ctype = r.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "text/plain", ctype
    assert "version=0.0.4" in ctype.replace(" ", ""), ctype
    return Scrape(r.text)


def check_histograms(s):
    """Every signet_request_duration_seconds series: buckets cumulative, le
    increasing and ending with +Inf equal to _count; returns the series."""
    assert s.types.get("signet_request_duration_seconds") == "histogram", s.types
    series = {}
    for labels, v in s.find("signet_request_duration_seconds_bucket"):
        key = (labels["method"], labels["route"])
        series.setdefault(key, []).append((labels["le"], v))
    assert series, "no histogram series"
    for (method, route), buckets in series.items():
        les = [float("inf") if le == "+Inf" else float(le) for le, _ in buckets]
        assert les == sorted(les) and len(set(les)) == len(les), (route, les)
        assert buckets[-1][0] == "+Inf", (route, buckets)
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), "not cumulative: %s %r" % (route, buckets)
        count = s.get("signet_request_duration_seconds_count", method=method, route=route)
        total = s.get("signet_request_duration_seconds_sum", method=method, route=route)
        assert counts[-1] == count, (route, counts[-1], count)
        assert 0 <= total < count * 60 + 1, (route, total, count)
        assert les[0] <= 0.001 and 0.5 <= les[-2], les  # 0.5 ms .. 1 s (operations.md)
    return series


@pytest.fixture(scope="module", params=SERVERS)
def pool(request):
    """A dedicated instance with four workers: nothing else talks to it."""
    inst = Instance(request.param, workers=4)
    try:
        inst.start()
        yield inst
    finally:
        inst.destroy()


def io_reads(pids):
    out = {}
    for pid in pids:
        try:
            with open("/proc/%d/io" % pid) as f:
                for line in f:
                    if line.startswith("syscr:"):
                        out[pid] = int(line.split()[1])
        except OSError:
            pass
    return out


# --- format ---------------------------------------------------------------------

def test_metrics_without_auth(signet, endpoint, token):
    ok(signet.req("GET", "/v1/endpoints/%s/signing-keys" % endpoint["id"], token))
    s = scrape(signet)
    assert s.types.get("signet_requests_total") == "counter"
    line = 'signet_requests_total{method="GET",route="%s",status="200"} ' % KEYS_ROUTE
    assert any(l.startswith(line) for l in s.text.splitlines()), s.text[:2000]
    assert s.requests(KEYS_ROUTE, 200, "GET") >= 1
    # An Authorization header changes nothing, even a wrong one.
    r = signet.req("GET", "/metrics", "sgk_" + "A" * 43)
    assert r.status_code == 200 and "signet_requests_total" in r.text


def test_metric_families(signet):
    s = scrape(signet)
    for name, kind in (("signet_requests_total", "counter"),
                       ("signet_request_duration_seconds", "histogram"),
                       ("signet_storage_deadlocks_retried_total", "counter"),
                       ("signet_storage_cache_hit_ratio", "gauge"),
                       ("signet_storage_log_bytes", "gauge"),
                       ("signet_storage_log_files", "gauge")):
        assert s.types.get(name) == kind, "%s: TYPE %r" % (name, s.types.get(name))
    for name in ("signet_storage_deadlocks_retried_total", "signet_storage_log_bytes",
                 "signet_storage_log_files", "signet_storage_cache_hits_total",
                 "signet_storage_cache_misses_total", "signet_storage_commits_total"):
        v = s.one(name)
        assert v >= 0 and v == int(v), (name, v)
    ratio = s.one("signet_storage_cache_hit_ratio")
    assert 0.0 <= ratio <= 1.0, ratio
    hits = s.one("signet_storage_cache_hits_total")
    misses = s.one("signet_storage_cache_misses_total")
    if hits + misses:
        assert math.isclose(ratio, hits / (hits + misses), abs_tol=1e-5), (ratio, hits, misses)
    assert s.one("signet_storage_log_bytes") > 0
    assert s.one("signet_storage_log_files") >= 1
    # Only signet_ series.
    for name, _, _ in s.order:
        assert name.startswith("signet_"), name
    check_histograms(s)


def test_storage_figures_match_signetctl(pool):
    """With nothing writing, /metrics and `signetctl stats` see the same log."""
    tok = pool.account("admin")[2]
    pool.create_endpoint(tok)
    s = scrape(pool)
    st = pool.ctl("stats")
    assert st["log_files"] == s.one("signet_storage_log_files"), (st, s.text[-800:])
    assert st["log_bytes"] == s.one("signet_storage_log_bytes"), (st, s.text[-800:])


# --- counts of the whole pool -------------------------------------------------------

def test_counts_shared_by_the_pool(pool):
    _, _, tok = pool.account("admin")
    ep = pool.create_endpoint(tok)
    path = "/v1/endpoints/%s/signing-keys" % ep["id"]
    missing = "/v1/endpoints/ep_%s/signing-keys" % ("0" * 32)
    n_ok, n_404, n_401, n_unmatched, n_post = 400, 37, 23, 11, 1

    def get_ok(_):
        return pool.req("GET", path, tok)

    def get_404(_):
        return pool.req("GET", missing, tok)

    def get_401(_):
        return pool.req("GET", path)

    def unmatched(i):
        return pool.req("GET", "/v1/no-such-route/%d" % i, tok)

    # Warm the pool up so every worker exists before counting.
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(get_ok, range(64)))
    workers = pool.worker_pids()
    assert len(workers) >= 2, "the pool has %d worker(s)" % len(workers)

    s1 = scrape(pool)
    reads1 = io_reads(workers)
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        oks = list(ex.map(get_ok, range(n_ok)))
        nfs = list(ex.map(get_404, range(n_404)))
        unauth = list(ex.map(get_401, range(n_401)))
        unm = list(ex.map(unmatched, range(n_unmatched)))
    for r in oks:
        ok(r)
    for r in nfs:
        err(r, 404, "ENDPOINT_NOT_FOUND")
    for r in unauth:
        err(r, 401, "UNAUTHORIZED")
    for r in unm:
        err(r, 404, "NOT_FOUND")
    ok(pool.req("POST", path, tok), 201)
    reads2 = io_reads(workers)
    s2 = scrape(pool)

    served = [p for p in workers if reads2.get(p, 0) > reads1.get(p, 0)]
    assert len(served) >= 2, "only %d worker(s) served the load: %r %r" % (
        len(served), reads1, reads2)

    def delta(route, status, method=None):
        return s2.requests(route, status, method) - s1.requests(route, status, method)

    assert delta(KEYS_ROUTE, 200, "GET") == n_ok
    assert delta(KEYS_ROUTE, 404, "GET") == n_404
    assert delta(KEYS_ROUTE, 401, "GET") == n_401
    assert delta(KEYS_ROUTE, 201, "POST") == n_post
    assert delta(KEYS_ROUTE, 200, "POST") == 0
    assert delta("unmatched", 404) == n_unmatched
    # The first scrape is counted by the second one, under /metrics.
    assert delta("/metrics", 200, "GET") == 1
    # And nothing else was counted anywhere.
    total = sum(v for _, v in s2.find("signet_requests_total")) - \
        sum(v for _, v in s1.find("signet_requests_total"))
    assert total == n_ok + n_404 + n_401 + n_unmatched + n_post + 1, total

    # The histogram of the route counted the same requests.
    def hcount(s):
        return s.get("signet_request_duration_seconds_count", method="GET", route=KEYS_ROUTE)
    assert hcount(s2) - hcount(s1) == n_ok + n_404 + n_401
    check_histograms(s1)
    check_histograms(s2)
    for (method, route), buckets in check_histograms(s2).items():
        before = dict(b for b in check_histograms(s1).get((method, route), []))
        for le, v in buckets:
            assert v >= before.get(le, 0), (route, le)


def test_counts_survive_worker_restarts(pool):
    """The counters live outside the workers: when every worker is replaced,
    nothing counted so far is lost."""
    _, _, tok = pool.account("admin")
    ep = pool.create_endpoint(tok)
    path = "/v1/endpoints/%s/signing-keys" % ep["id"]
    s1 = scrape(pool)
    for _ in range(30):
        ok(pool.req("GET", path, tok))
    victims = pool.worker_pids()
    assert victims
    for pid in victims:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and set(victims) & set(pool.worker_pids()):
        time.sleep(0.05)
    assert not set(victims) & set(pool.worker_pids()), "workers did not exit"
    done = 0
    deadline = time.monotonic() + 30
    while done < 30 and time.monotonic() < deadline:
        r = pool.req("GET", path, tok)
        if r.status_code == 200:
            done += 1
        else:
            time.sleep(0.1)
    assert done == 30, "the server did not come back"
    assert not set(victims) & set(pool.worker_pids())
    s2 = scrape(pool)
    assert s2.requests(KEYS_ROUTE, 200, "GET") - s1.requests(KEYS_ROUTE, 200, "GET") == 60


def test_unmatched_route(signet):
    s1 = scrape(signet)
    err(signet.req("GET", "/v1/no/such/thing/here/either"), 404, "NOT_FOUND")
    err(signet.req("DELETE", "/v1/nothing-here/at/all/x/y"), 404, "NOT_FOUND")
    s2 = scrape(signet)
    assert s2.requests("unmatched", 404) - s1.requests("unmatched", 404) == 2
    assert any(l.get("route") == "unmatched" and l.get("status") == "404"
               for l, _ in s2.find("signet_requests_total"))
    # A 404 of an unknown route is not counted under any route template.
    for l, v in s2.find("signet_requests_total", status="404"):
        if l["route"] != "unmatched":
            assert v == s1.get("signet_requests_total", **l), l


def test_route_templates_not_ids(signet, token, endpoint):
    """Labels name the route template, never the ids of a request."""
    ok(signet.req("GET", "/v1/endpoints/%s" % endpoint["id"], token))
    s = scrape(signet)
    assert endpoint["id"] not in s.text
    assert token not in s.text
    assert s.requests("/v1/endpoints/{id}", 200, "GET") >= 1
    for l, _ in s.find("signet_requests_total"):
        assert set(l) == {"method", "route", "status"}, l
        assert "ep_" not in l["route"] and "sk_" not in l["route"], l
