"""docs/api.md (Enterprise webhook signing keys) and docs/operations.md
(Configuration): enterprise keys registered by JWKS URI, fetched over HTTPS
(GnuTLS) from a local TLS server with a throwaway test CA (jwks_server.py),
and every way such a fetch is refused with 400 JWKS_FETCH_FAILED and a
reason, through each web server."""

import json
import os
import shutil
import tempfile
import threading
import time

import pytest

import harness
import jwks_server
from conftest import SERVERS
from harness import err, ok
from jwks_server import JwksServer
from test_enterprise_keys import (INLINE_FIELDS, NODE, Ctx, assert_invalid, assert_valid,
                                  flip_last_bit, jose_batch, keys_path, payload_for, tamper_payload,
                                  tamper_signature)

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

DEFAULT_MAX_BYTES = 262144
TIGHT_MAX_BYTES = 4096
TIGHT_TIMEOUT_MS = 1500
SLACK = 2.5          # seconds allowed past a fetch deadline for the answer
PROMPT = 1.0         # seconds within which an unrelated request is answered


# --- the TLS test server, recording what reaches it ------------------------------

class _RecordingHandler(jwks_server._Handler):
    def do_GET(self):  # noqa: N802
        self.server.owner.record_path(self.path)
        super().do_GET()


class RecordingJwksServer(JwksServer):
    """JwksServer that counts TCP connections and records request paths
    and the SNI names of handshakes."""

    def start(self):
        self._lock = threading.Lock()
        self.connections, self.paths, self.sni = 0, [], []
        super().start()
        for srv in self._servers:
            srv.finish_request = self._counting(srv.finish_request)
            srv.RequestHandlerClass = _RecordingHandler
            srv.context.sni_callback = self._sni
        return self

    def _counting(self, orig):
        def finish_request(request, client_address):
            with self._lock:
                self.connections += 1
            return orig(request, client_address)
        return finish_request

    def _sni(self, _sock, name, _ctx):
        with self._lock:
            self.sni.append(name)

    def record_path(self, path):
        with self._lock:
            self.paths.append(path)

    def mark(self):
        with self._lock:
            return self.connections, len(self.paths), len(self.sni)

    def since(self, mark):
        """(new connections, new paths, new SNI names) since mark."""
        with self._lock:
            return (self.connections - mark[0], self.paths[mark[1]:], self.sni[mark[2]:])


@pytest.fixture(scope="module")
def jwks():
    d = tempfile.mkdtemp(prefix="signet-jwks-", dir="/tmp")
    os.chmod(d, 0o755)
    srv = RecordingJwksServer(d, wrong_host=True)
    try:
        srv.start()
        os.chmod(srv.ca_file, 0o644)  # the app runs as www-data when we are root
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def keys():
    """jose-made keys and signatures for this module (one node process)."""
    ops, idx = [], {}

    def add(name, op):
        idx[name] = len(ops)
        ops.append(op)

    for alg in ("RS256", "ES256", "EdDSA", "PS256", "ES384"):
        add(alg, {"op": "keypair", "alg": alg, "kid": "k-" + alg.lower()})
    add("es256-new", {"op": "keypair", "alg": "ES256", "kid": "k-es256"})
    add("rsa1024", {"op": "rsa", "bits": 1024, "kid": "k-short"})
    for alg in ("RS256", "ES256", "EdDSA", "PS256", "ES384"):
        add("jws:" + alg, {"op": "sign", "alg": alg, "key": idx[alg],
                           "header": {"kid": "k-" + alg.lower()},
                           "payload": payload_for(alg)})
    add("det:EdDSA", {"op": "sign", "alg": "EdDSA", "key": idx["EdDSA"],
                      "header": {"kid": "k-eddsa"}, "payload": payload_for("EdDSA"),
                      "detached": True})
    add("jws:es256-new", {"op": "sign", "alg": "ES256", "key": idx["es256-new"],
                          "header": {"kid": "k-es256"}, "payload": payload_for("ES256")})
    res = jose_batch(ops)
    return {name: res[i] for name, i in idx.items()}


@pytest.fixture(scope="module", params=SERVERS)
def server(request):
    return request.param


def _ctx(server, env, workers=2):
    inst = harness.Instance(server, workers=workers, env=env)
    try:
        inst.start()
        c = Ctx(inst, name="jwks admin")
        c.ent = c.enterprise("JWKS Co")
        return c
    except BaseException:
        inst.destroy()
        raise


@pytest.fixture(scope="module")
def main(server, jwks):
    """Trusts the test CA, may fetch from 127.0.0.1; default deadline and cap."""
    c = _ctx(server, {"SIGNET_JWKS_CA_FILE": jwks.ca_file,
                      "SIGNET_JWKS_ALLOW_PRIVATE_ADDRESSES": "true"}, workers=4)
    yield c
    c.inst.destroy()


@pytest.fixture(scope="module")
def tight(server, jwks):
    """As main, with a 1.5 s deadline and a 4096-byte cap."""
    c = _ctx(server, {"SIGNET_JWKS_CA_FILE": jwks.ca_file,
                      "SIGNET_JWKS_ALLOW_PRIVATE_ADDRESSES": "true",
                      "SIGNET_JWKS_FETCH_TIMEOUT_MS": str(TIGHT_TIMEOUT_MS),
                      "SIGNET_JWKS_MAX_BYTES": str(TIGHT_MAX_BYTES)}, workers=4)
    yield c
    c.inst.destroy()


@pytest.fixture(scope="module")
def untrusted(server, jwks):
    """May fetch from 127.0.0.1 but has no CA file: the system trust only."""
    c = _ctx(server, {"SIGNET_JWKS_ALLOW_PRIVATE_ADDRESSES": "true"})
    yield c
    c.inst.destroy()


@pytest.fixture(scope="module")
def public_only(server, jwks):
    """Trusts the test CA but keeps the default: no private addresses."""
    c = _ctx(server, {"SIGNET_JWKS_CA_FILE": jwks.ca_file})
    yield c
    c.inst.destroy()


def by_uri(ctx, uri, key_id, ent=None, **extra):
    body = dict({"jwksUri": uri, "keyId": key_id}, **extra)
    r, a = ctx.register(ent or ctx.ent, body)
    return r, a


def fetch_failed(r, *words):
    """Assert 400 JWKS_FETCH_FAILED whose message has one of each group of words
    (a word or a tuple of alternatives); return the message."""
    msg = err(r, 400, "JWKS_FETCH_FAILED")
    for w in words:
        alts = w if isinstance(w, tuple) else (w,)
        assert any(a.lower() in msg.lower() for a in alts), \
            "reason %r does not say %s" % (msg, " or ".join(map(repr, alts)))
    return msg


def sized_jwks(keys_list, size):
    """A JWK Set document of exactly `size` bytes (padded with a member)."""
    doc = {"keys": keys_list, "pad": ""}
    base = len(json.dumps(doc).encode())
    assert size >= base, (size, base)
    doc["pad"] = "x" * (size - base)
    out = json.dumps(doc).encode()
    assert len(out) == size
    return out


def uniq(prefix):
    return "%s-%d-%s" % (prefix, os.getpid(), os.urandom(4).hex())


# --- registering from a URI --------------------------------------------------------------

def test_register_and_verify(main, jwks, keys):
    name = uniq("set")
    jwks.put_jwks(name, {"keys": [keys["ES256"]["public"], keys["RS256"]["public"],
                                  keys["EdDSA"]["public"]]})
    uri = jwks.url("/jwks/" + name)
    mark = jwks.mark()
    r, a = by_uri(main, uri, "k-rs256", name="from a URI")
    k = ok(r, 201)
    conns, paths, sni = jwks.since(mark)
    assert paths == ["/jwks/" + name], paths
    assert "localhost" in sni, "no SNI sent: %r" % sni
    assert set(k) == INLINE_FIELDS | {"jwksUri"}, sorted(k)
    assert k["source"] == "jwks_uri" and k["jwksUri"] == uri, k
    assert k["keyId"] == "k-rs256" and k["name"] == "from a URI" and k["status"] == "active"
    assert k["kty"] == "RSA" and k["alg"] == "RS256", k
    assert k["thumbprint"] == keys["RS256"]["thumbprint"], k
    assert k["createdBy"] == {"id": a.id, "name": a.name}
    assert k["revokedAt"] is None and k["revokedBy"] is None
    assert main.get(main.ent, "k-rs256") == k
    assert k in main.list(main.ent)

    assert_valid(main.verify(main.ent, keys["jws:RS256"]["jws"]), "k-rs256", "RS256")
    assert_invalid(main.verify(main.ent, tamper_payload(keys["jws:RS256"]["jws"])))
    assert_invalid(main.verify(main.ent, tamper_signature(keys["jws:RS256"]["jws"])))
    # Only the chosen key is registered, not the whole set.
    assert_invalid(main.verify(main.ent, keys["jws:ES256"]["jws"]), "unregistered kid")

    r, _ = by_uri(main, uri, "k-eddsa")
    assert ok(r, 201)["kty"] == "OKP"
    assert_valid(main.verify(main.ent, keys["det:EdDSA"]["jws"], payload_for("EdDSA")),
                 "k-eddsa", "EdDSA")
    assert_invalid(main.verify(main.ent, keys["det:EdDSA"]["jws"], "other payload"))


def test_register_more_algorithms(main, jwks, keys):
    name = uniq("more")
    jwks.put_jwks(name, {"keys": [keys["PS256"]["public"], keys["ES384"]["public"]]})
    ent = main.enterprise("more")
    for alg in ("PS256", "ES384"):
        r, _ = by_uri(main, jwks.url("/jwks/" + name), "k-" + alg.lower(), ent=ent)
        k = ok(r, 201)
        assert k["alg"] == alg and k["thumbprint"] == keys[alg]["thumbprint"]
        assert_valid(main.verify(ent, keys["jws:" + alg]["jws"]), "k-" + alg.lower(), alg)


def test_register_by_ip_address(main, jwks, keys):
    """The certificate names 127.0.0.1 as an IP address: that host checks too."""
    name = uniq("ip")
    jwks.put_jwks(name, {"keys": [keys["ES256"]["public"]]})
    ent = main.enterprise("ip")
    uri = jwks.url("/jwks/" + name, host="127.0.0.1")
    r, _ = by_uri(main, uri, "k-es256", ent=ent)
    k = ok(r, 201)
    assert k["jwksUri"] == uri
    assert_valid(main.verify(ent, keys["jws:ES256"]["jws"]), "k-es256", "ES256")


def test_fetched_key_is_cached(main, jwks, keys):
    """Within its max-age (600 s here) the registered key is used as fetched:
    changing the served set changes nothing and fetches nothing."""
    name = uniq("cache")
    jwks.put_jwks(name, {"keys": [keys["ES256"]["public"]]})
    ent = main.enterprise("cache")
    r, _ = by_uri(main, jwks.url("/jwks/" + name), "k-es256", ent=ent)
    ok(r, 201)
    jwks.put_jwks(name, {"keys": [keys["es256-new"]["public"]]})
    mark = jwks.mark()
    assert_valid(main.verify(ent, keys["jws:ES256"]["jws"]), "k-es256", "ES256")
    assert_invalid(main.verify(ent, keys["jws:es256-new"]["jws"]), "key not registered")
    assert jwks.since(mark)[1] == [], "verify refetched a fresh key"


def test_keyid_required_with_uri(main, jwks):
    mark = jwks.mark()
    for body in ({"jwksUri": jwks.url("/jwks/default")},
                 {"jwksUri": jwks.url("/jwks/default"), "name": "x"}):
        r, _ = main.register(main.ent, body)
        err(r, 400, "INVALID_REQUEST", mentions="keyId")
    assert jwks.since(mark)[0] == 0, "fetched although the request was invalid"


def test_uri_key_tombstoned_and_revoked(main, jwks, keys):
    name = uniq("tomb")
    jwks.put_jwks(name, {"keys": [keys["ES256"]["public"]]})
    ent = main.enterprise("tomb")
    uri = jwks.url("/jwks/" + name)
    r, _ = by_uri(main, uri, "k-es256", ent=ent)
    ok(r, 201)
    r, _ = by_uri(main, uri, "k-es256", ent=ent)
    err(r, 400, "KEY_ID_ALREADY_USED")
    r, a = main.revoke(ent, "k-es256")
    rev = ok(r)
    assert rev["status"] == "revoked" and rev["revokedBy"] == {"id": a.id, "name": a.name}
    assert rev["source"] == "jwks_uri" and rev["jwksUri"] == uri
    assert_invalid(main.verify(ent, keys["jws:ES256"]["jws"]), "revoked")
    r, _ = by_uri(main, uri, "k-es256", ent=ent)
    err(r, 400, "KEY_ID_ALREADY_USED")
    r, _ = main.register(ent, {"jwks": {"keys": [keys["ES256"]["public"]]}})
    err(r, 400, "KEY_ID_ALREADY_USED")


# --- refused fetches -----------------------------------------------------------------------

def test_kid_missing_from_set(main, jwks, keys):
    name = uniq("nokid")
    jwks.put_jwks(name, {"keys": [keys["ES256"]["public"], keys["RS256"]["public"]]})
    r, _ = by_uri(main, jwks.url("/jwks/" + name), "k-absent")
    fetch_failed(r, "kid", "k-absent")
    # Also for a set with one key: it is not taken for another keyId.
    jwks.put_jwks(name, {"keys": [keys["EdDSA"]["public"]]})
    r, _ = by_uri(main, jwks.url("/jwks/" + name), "k-absent")
    fetch_failed(r, "kid")
    assert "k-absent" not in {k["keyId"] for k in main.list(main.ent)}


@pytest.mark.parametrize("path, words", [
    ("/status/404", ("404",)),
    ("/status/500", ("500",)),
    ("/status/204", ("204",)),
    ("/status/403", ("403",)),
    ("/jwks/no-such-set", ("404",)),
])
def test_non_200_status(main, jwks, path, words):
    r, _ = by_uri(main, jwks.url(path), "k-status")
    fetch_failed(r, *words)


@pytest.mark.parametrize("path", ["/redirect", "/status/301", "/status/302", "/status/307",
                                  "/status/308"])
def test_redirect_not_followed(main, jwks, path):
    mark = jwks.mark()
    r, _ = by_uri(main, jwks.url(path), "k-es256-redirect")
    fetch_failed(r, "redirect")
    _, paths, _ = jwks.since(mark)
    assert paths == [path], "requests made: %r (the redirect was followed?)" % paths


def test_http_scheme_refused(main, jwks):
    mark = jwks.mark()
    for uri in ("http://localhost:%d/jwks/default" % jwks.port,
                "http://127.0.0.1:%d/jwks/default" % jwks.port):
        r, _ = by_uri(main, uri, "k-http")
        fetch_failed(r, "https")
    assert jwks.since(mark)[0] == 0, "connected for an http:// URI"


@pytest.mark.parametrize("uri", ["ftp://localhost/jwks", "file:///etc/passwd",
                                 "https://", "https:///jwks", "not a url", ""])
def test_bad_uri_refused(main, jwks, uri):
    mark = jwks.mark()
    r, _ = by_uri(main, uri, "k-bad-uri")
    assert r.status_code == 400, harness.describe(r)
    assert r.json()["error"]["code"] in ("INVALID_REQUEST", "JWKS_FETCH_FAILED"), r.text
    assert jwks.since(mark)[0] == 0


def test_wrong_host_name(main, jwks):
    mark = jwks.mark()
    r, _ = by_uri(main, jwks.url("/jwks/default", wrong=True), "1")
    fetch_failed(r, "host")
    conns, paths, _ = jwks.since(mark)
    assert conns >= 1, "the wrong-host listener saw no connection: refused for another reason"
    assert paths == [], "sent the request over an unverified connection: %r" % paths


def test_untrusted_certificate(untrusted, jwks):
    mark = jwks.mark()
    r, _ = by_uri(untrusted, jwks.url("/jwks/default"), "1")
    fetch_failed(r, "trust")
    conns, paths, _ = jwks.since(mark)
    assert conns >= 1, "no connection made: refused for another reason"
    assert paths == [], "sent the request over an untrusted connection: %r" % paths
    assert untrusted.list(untrusted.ent) == []


def test_body_over_default_cap(main, jwks, keys):
    for path in ("/big", "/big-stream"):
        r, _ = by_uri(main, jwks.url(path), "k-big")
        fetch_failed(r, "larger")
    # A valid set just over 256 KiB is refused, one of exactly 256 KiB is not.
    name = uniq("cap")
    jwks.put_jwks(name, sized_jwks([keys["ES256"]["public"]], DEFAULT_MAX_BYTES + 1))
    ent = main.enterprise("cap")
    r, _ = by_uri(main, jwks.url("/jwks/" + name), "k-es256", ent=ent)
    fetch_failed(r, "larger")
    jwks.put_jwks(name, sized_jwks([keys["ES256"]["public"]], DEFAULT_MAX_BYTES))
    r, _ = by_uri(main, jwks.url("/jwks/" + name), "k-es256", ent=ent)
    ok(r, 201)


def test_body_over_configured_cap(tight, jwks, keys):
    name = uniq("tcap")
    jwks.put_jwks(name, sized_jwks([keys["ES256"]["public"]], TIGHT_MAX_BYTES + 1))
    ent = tight.enterprise("tcap")
    r, _ = by_uri(tight, jwks.url("/jwks/" + name), "k-es256", ent=ent)
    fetch_failed(r, "larger")
    jwks.put_jwks(name, sized_jwks([keys["ES256"]["public"]], TIGHT_MAX_BYTES))
    r, _ = by_uri(tight, jwks.url("/jwks/" + name), "k-es256", ent=ent)
    ok(r, 201)
    r, _ = by_uri(tight, jwks.url("/big-stream"), "k-big")
    fetch_failed(r, "larger")


@pytest.mark.parametrize("doc", ["not json at all", '{"keys": [', '{"no_keys": []}',
                                 '{"keys": {}}', '[]', '{"keys": []}'])
def test_not_a_jwk_set(main, jwks, doc):
    name = uniq("doc")
    jwks.put_jwks(name, doc)
    r, _ = by_uri(main, jwks.url("/jwks/" + name), "k-es256")
    fetch_failed(r)


@pytest.mark.parametrize("case", ["private-member", "short-rsa", "off-curve"])
def test_invalid_key_in_set(main, jwks, keys, case):
    if case == "private-member":
        jwk = keys["ES256"]["private"]
    elif case == "short-rsa":
        jwk = keys["rsa1024"]["public"]
    else:
        jwk = dict(keys["ES256"]["public"])
        jwk["y"] = flip_last_bit(jwk["y"])
    name = uniq("badkey")
    jwks.put_jwks(name, {"keys": [jwk]})
    r, _ = by_uri(main, jwks.url("/jwks/" + name), jwk["kid"])
    fetch_failed(r)


def _timed_register(ctx, uri, key_id, out):
    a, h = ctx.admins.next()
    t0 = time.monotonic()
    try:
        out["r"] = ctx.inst.req("POST", keys_path(ctx.ent), a.token, headers=h,
                                json={"jwksUri": uri, "keyId": key_id}, timeout=30)
    except Exception as e:  # noqa: BLE001 - reported by the test
        out["e"] = e
    out["t"] = time.monotonic() - t0


def _wait_path(jwks, mark, path, limit):
    deadline = time.monotonic() + limit
    while path not in jwks.since(mark)[1] and time.monotonic() < deadline:
        time.sleep(0.02)
    return path in jwks.since(mark)[1]


def _second_worker(ctx, jwks):
    """mod_fcgid starts one app process and spawns more only when a request
    finds them all busy (about a second later).  Have it spawn a second one
    now, so that the measurement below times the app, not that spawn."""
    if len(ctx.inst.worker_pids()) >= 2:
        return
    out, mark = {}, jwks.mark()
    th = threading.Thread(target=_timed_register, daemon=True,
                          args=(ctx, jwks.url("/hang"), "k-warm", out))
    th.start()
    assert _wait_path(jwks, mark, "/hang", TIGHT_TIMEOUT_MS / 1000.0)
    ok(ctx.inst.req("GET", "/v1/enterprises/" + ctx.ent, ctx.member, timeout=10))
    th.join(TIGHT_TIMEOUT_MS / 1000.0 + SLACK + 5)
    assert not th.is_alive()
    fetch_failed(out["r"], "timed out")


def test_hang_times_out_while_others_are_served(tight, jwks):
    _second_worker(tight, jwks)
    out = {}
    mark = jwks.mark()
    th = threading.Thread(target=_timed_register, daemon=True,
                          args=(tight, jwks.url("/hang"), "k-hang", out))
    th.start()
    assert _wait_path(jwks, mark, "/hang", TIGHT_TIMEOUT_MS / 1000.0), \
        "the fetch of /hang never reached the server"
    # While that request hangs, the same instance answers others promptly.
    for method, path, body in (("GET", "/v1/enterprises/" + tight.ent, None),
                               ("GET", keys_path(tight.ent), None),
                               ("POST", "/v1/enterprises/%s/verify" % tight.ent,
                                {"jws": "a.b.c"})):
        t0 = time.monotonic()
        kw = {"json": body} if body is not None else {}
        r = tight.inst.req(method, path, tight.member, timeout=10, **kw)
        dt = time.monotonic() - t0
        ok(r)
        assert dt < PROMPT, "%s %s took %.2f s while a JWKS fetch hung" % (method, path, dt)
    assert th.is_alive(), "the hanging fetch was over before the others were answered"
    th.join(TIGHT_TIMEOUT_MS / 1000.0 + SLACK + 5)
    assert not th.is_alive(), "no answer to the hanging fetch"
    assert "e" not in out, "request failed: %r" % out.get("e")
    fetch_failed(out["r"], "timed out")
    limit = TIGHT_TIMEOUT_MS / 1000.0
    assert limit - 0.2 <= out["t"] <= limit + SLACK, \
        "answered after %.2f s with a %.1f s deadline" % (out["t"], limit)


def test_slow_body_hits_the_whole_fetch_deadline(tight, jwks):
    """/slow sends a byte every 100 ms: each read is quick, the whole is not."""
    out = {}
    _timed_register(tight, jwks.url("/slow"), "1", out)
    assert "e" not in out, out
    fetch_failed(out["r"], "timed out")
    limit = TIGHT_TIMEOUT_MS / 1000.0
    assert limit - 0.2 <= out["t"] <= limit + SLACK, "answered after %.2f s" % out["t"]


def test_default_deadline_is_five_seconds(main, jwks):
    out = {}
    _timed_register(main, jwks.url("/hang"), "k-hang", out)
    assert "e" not in out, out
    fetch_failed(out["r"], "timed out")
    assert 4.8 <= out["t"] <= 5.0 + SLACK, "answered after %.2f s" % out["t"]


@pytest.mark.parametrize("host, cls", [
    ("127.0.0.1", "loopback"),
    ("localhost", "loopback"),
    ("[::1]", "loopback"),
    ("[::ffff:127.0.0.1]", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("10.0.0.5", "private"),
    ("172.16.3.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("[fe80::1]", "link-local"),
    ("[fd00::1]", "private"),
])
def test_private_address_refused(public_only, jwks, host, cls):
    mark = jwks.mark()
    uri = "https://%s:%d/jwks/default" % (host, jwks.port)
    t0 = time.monotonic()
    r, _ = by_uri(public_only, uri, "1")
    dt = time.monotonic() - t0
    fetch_failed(r, cls)
    assert dt < 2.0, "took %.1f s: a connection was tried?" % dt
    assert jwks.since(mark)[0] == 0, "the test server saw a connection"
    assert public_only.list(public_only.ent) == []


def test_ca_file_is_used(public_only, untrusted, main, jwks):
    """The three instances differ only by configuration: the same URI is
    refused as untrusted without the CA file, as loopback without the
    private-address setting, and accepted with both (test_register_*)."""
    uri = jwks.url("/jwks/default")
    r, _ = by_uri(untrusted, uri, "1")
    fetch_failed(r, "trust")
    r, _ = by_uri(public_only, uri, "1")
    fetch_failed(r, "loopback")
    ent = main.enterprise("default set")
    r, _ = by_uri(main, uri, "1", ent=ent)
    k = ok(r, 201)
    assert k["kty"] == "EC" and k["alg"] == "ES256"

