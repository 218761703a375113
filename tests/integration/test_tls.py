"""TLS front ends (issue 6): a request through lighttpd (mod_openssl) and
Apache httpd (mod_ssl) over HTTPS, with a CA and a server certificate for
127.0.0.1/localhost generated here with certtool (gnutls-bin).

The TLS directives tested are the repository's own:

- If the configuration files have an environment switch for TLS
  (`lighttpd/signet-tls.conf`, `<IfDefine SIGNET_TLS>` in
  `apache/signet.conf`), scripts/serve is run from the repository with
  SIGNET_TLS_LISTEN, SIGNET_TLS_CERT and SIGNET_TLS_KEY set.
- Otherwise the commented "TLS example" blocks of `lighttpd/signet.conf` and
  `apache/signet.conf` are uncommented into a temporary copy of the
  repository's configuration (the certificate paths and the port replaced),
  and that copy is served by a copy of scripts/serve.

Either way the plain-HTTP listener stays as it is, and every process is
stopped by the harness.
"""

import os
import re
import shutil
import subprocess
import time

import pytest
import requests

import harness
from conftest import SERVERS
from harness import ok, ok_list, request_id

CERTTOOL_TIMEOUT = 60  # seconds per certtool run

MODULES = {
    "lighttpd": ["/usr/lib/lighttpd/mod_openssl.so"],
    "apache": ["/usr/lib/apache2/modules/mod_ssl.so",
               "/usr/lib/apache2/modules/mod_socache_shmcb.so"],
}
PACKAGES = {"lighttpd": "lighttpd-mod-openssl", "apache": "apache2 (mod_ssl)"}


# --- certificates ------------------------------------------------------------

CA_TEMPLATE = """cn = "Signet test CA"
ca
cert_signing_key
expiration_days = 2
"""

SERVER_TEMPLATE = """cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
tls_www_server
signing_key
encryption_key
expiration_days = 2
"""


def certtool(*args):
    r = subprocess.run(["certtool"] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=CERTTOOL_TIMEOUT)
    assert r.returncode == 0, "certtool %s: exit %d\n%s" % (
        " ".join(args), r.returncode, r.stderr.decode(errors="replace"))


def make_certs(d):
    """A throwaway CA and a server certificate for localhost and 127.0.0.1
    in directory d; returns (ca, cert, key) paths."""
    p = {n: os.path.join(d, n) for n in (
        "ca.tmpl", "ca.key", "ca.pem", "server.tmpl", "server.key", "server.pem")}
    with open(p["ca.tmpl"], "w") as f:
        f.write(CA_TEMPLATE)
    with open(p["server.tmpl"], "w") as f:
        f.write(SERVER_TEMPLATE)
    certtool("--generate-privkey", "--key-type=ecdsa", "--no-text", "--outfile", p["ca.key"])
    certtool("--generate-self-signed", "--load-privkey", p["ca.key"],
             "--template", p["ca.tmpl"], "--outfile", p["ca.pem"])
    certtool("--generate-privkey", "--key-type=ecdsa", "--no-text", "--outfile", p["server.key"])
    certtool("--generate-certificate", "--load-privkey", p["server.key"],
             "--load-ca-certificate", p["ca.pem"], "--load-ca-privkey", p["ca.key"],
             "--template", p["server.tmpl"], "--outfile", p["server.pem"])
    os.chmod(p["server.key"], 0o600)
    os.unlink(p["ca.key"])
    return p["ca.pem"], p["server.pem"], p["server.key"]


# --- configuration -----------------------------------------------------------

def repo_has_tls_switch(server):
    """Whether the repository's configuration turns TLS on from the
    environment (SIGNET_TLS_LISTEN, SIGNET_TLS_CERT, SIGNET_TLS_KEY)."""
    with open(os.path.join(harness.REPO, "scripts", "serve")) as f:
        serve = f.read()
    if "SIGNET_TLS_CERT" not in serve:
        return False
    if server == "lighttpd":
        return os.path.isfile(os.path.join(harness.REPO, "lighttpd", "signet-tls.conf"))
    with open(os.path.join(harness.REPO, "apache", "signet.conf")) as f:
        return "<IfDefine SIGNET_TLS>" in f.read()


def commented_block(text, header):
    """The directives of a commented example: the lines after the comment
    paragraph that starts with `header` and its empty "#" line, up to the
    first line that is not a comment, uncommented."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith(header)), None)
    assert start is not None, "no %r block in the configuration" % header
    i = start
    while i < len(lines) and lines[i].strip() != "#":
        i += 1
    out = []
    for line in lines[i + 1:]:
        if not line.startswith("#"):
            break
        out.append(line[2:] if line.startswith("# ") else line[1:])
    assert out, "the %r block is empty" % header
    return out


def tls_lighttpd_conf(text, listen, cert, key):
    """The repository's lighttpd/signet.conf with its TLS example (and the
    /metrics loopback rule that goes with it) turned on."""
    block = commented_block(text, "# TLS example")
    body = "\n".join(block)
    for old in ('"0.0.0.0:8443"', '"/etc/ssl/signet/fullchain.pem"',
                '"/etc/ssl/signet/privkey.pem"'):
        assert old in body, "%s not in the lighttpd TLS example" % old
    body = (body.replace('"0.0.0.0:8443"', '"%s"' % listen)
                .replace('"/etc/ssl/signet/fullchain.pem"', '"%s"' % cert)
                .replace('"/etc/ssl/signet/privkey.pem"', '"%s"' % key))
    rule = [l[2:] for l in text.splitlines() if l.startswith('# $HTTP["remote-ip"]')]
    assert len(rule) == 1, "no commented /metrics loopback rule in lighttpd/signet.conf"
    return (text + "\n# --- turned on by tests/integration/test_tls.py ---\n" + body +
            '\nserver.modules += ( "mod_access" )\n' + rule[0] + "\n")


def tls_apache_conf(text, listen, cert, key):
    """The repository's apache/signet.conf with its TLS example turned on."""
    block = commented_block(text, "# TLS example")
    body = "\n".join(block)
    port = listen.rsplit(":", 1)[1]
    for old in ("Listen 0.0.0.0:8443", "<VirtualHost *:8443>",
                "/etc/ssl/signet/fullchain.pem", "/etc/ssl/signet/privkey.pem"):
        assert old in body, "%s not in the Apache TLS example" % old
    body = (body.replace("Listen 0.0.0.0:8443", "Listen " + listen)
                .replace("<VirtualHost *:8443>", "<VirtualHost *:%s>" % port)
                .replace("/etc/ssl/signet/fullchain.pem", cert)
                .replace("/etc/ssl/signet/privkey.pem", key))
    return text + "\n# --- turned on by tests/integration/test_tls.py ---\n" + body + "\n"


def make_top(dest, server, listen, cert, key):
    """A directory laid out like the repository for scripts/serve: a copy
    of scripts/serve and the server's configuration with TLS turned on."""
    os.makedirs(os.path.join(dest, "scripts"))
    os.makedirs(os.path.join(dest, server))
    shutil.copy2(os.path.join(harness.REPO, "scripts", "serve"),
                 os.path.join(dest, "scripts", "serve"))
    with open(os.path.join(harness.REPO, server, "signet.conf")) as f:
        text = f.read()
    make = tls_lighttpd_conf if server == "lighttpd" else tls_apache_conf
    with open(os.path.join(dest, server, "signet.conf"), "w") as f:
        f.write(make(text, listen, cert, key))
    os.chmod(dest, 0o755)
    return dest


# --- the instance ------------------------------------------------------------

class TlsInstance(harness.Instance):
    """A harness instance whose web server also listens with TLS."""

    def __init__(self, server):
        self.tls_port = None
        self.top = harness.REPO
        super().__init__(server, workers=2)
        self.certdir = os.path.join(self.tmp, "tls")
        os.mkdir(self.certdir, 0o755)
        self.ca, self.cert, self.key = make_certs(self.certdir)

    def tls_env(self):
        return {
            "SIGNET_TLS_LISTEN": "127.0.0.1:%d" % self.tls_port,
            "SIGNET_TLS_CERT": self.cert,
            "SIGNET_TLS_KEY": self.key,
        }

    def start(self):
        assert self.proc is None, "already running"
        self.port = harness.free_port()
        self.tls_port = harness.free_port()
        while self.tls_port == self.port:
            self.tls_port = harness.free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.tls_base = "https://127.0.0.1:%d" % self.tls_port
        if repo_has_tls_switch(self.server):
            self.top = harness.REPO
        else:
            top = os.path.join(self.tmp, "top-%d" % self.tls_port)
            self.top = make_top(top, self.server, "127.0.0.1:%d" % self.tls_port,
                                self.cert, self.key)
        env = self.env()
        env.update(self.tls_env())
        self.proc = subprocess.Popen(
            [os.path.join(self.top, "scripts", "serve"), self.server],
            env=env, stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.rundir, "server.out"), "ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + harness.START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                r = requests.get(self.tls_base + "/healthz", timeout=2, verify=self.ca)
                last = "%d %s" % (r.status_code, r.text[:200])
                if r.status_code == 200:
                    return
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.1)
        code = self.proc.poll()
        self.stop()
        raise RuntimeError("%s did not serve https /healthz within %.0f s (exit %s, last %s)\n"
                           "--- server output ---\n%s\n--- error log ---\n%s" % (
                               self.server, harness.START_TIMEOUT, code, last,
                               self._read(os.path.join(self.rundir, "server.out"))[-4000:],
                               self.error_log()[-4000:]))

    def tls_req(self, method, path, token=None, host="127.0.0.1", **kw):
        h = dict(kw.pop("headers", None) or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        url = "https://%s:%d%s" % (host, self.tls_port, path)
        return requests.request(method, url, headers=h, verify=self.ca,
                                timeout=harness.HTTP_TIMEOUT, allow_redirects=False, **kw)


@pytest.fixture(scope="module", params=SERVERS)
def tls(request):
    server = request.param
    if shutil.which("certtool") is None:
        pytest.skip("certtool is not installed (Debian package gnutls-bin)")
    missing = [m for m in MODULES[server] if not os.path.exists(m)]
    if missing:
        pytest.skip("%s missing: install %s" % (", ".join(missing), PACKAGES[server]))
    inst = TlsInstance(server)
    try:
        inst.start()
        yield inst
    finally:
        inst.destroy()


# --- tests -------------------------------------------------------------------

def test_healthz_over_https(tls):
    for host in ("127.0.0.1", "localhost"):
        r = tls.tls_req("GET", "/healthz", host=host)
        assert r.status_code == 200, harness.describe(r)
        request_id(r)
        assert r.json() == {"status": "ok"}
    # The certificate is checked: without the test CA the handshake fails.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls.tls_base + "/healthz", timeout=harness.HTTP_TIMEOUT)


def test_authenticated_requests_over_https(tls):
    _acct, _key, token = tls.account("admin", name="tls")
    created = ok(tls.tls_req("POST", "/v1/endpoints", token,
                             json={"url": "https://example.com/tls", "description": "tls"}), 201)
    assert harness.ENDPOINT_ID_RE.match(created["id"]), created
    assert harness.SECRET_RE.match(created["signing_key"]["signing_secret"]), created
    got = ok(tls.tls_req("GET", "/v1/endpoints/%s" % created["id"], token))
    assert got["url"] == "https://example.com/tls"
    data, _more = ok_list(tls.tls_req("GET", "/v1/endpoints", token))
    assert [e["id"] for e in data] == [created["id"]]
    # Signing over TLS gives what the reference implementation computes.
    signed = ok(tls.tls_req("POST", "/v1/endpoints/%s/sign" % created["id"], token,
                            json={"payload": "{}", "msg_id": "msg_tls", "timestamp": 1700000000}))
    assert signed["webhook-signature"] == harness.sign_reference(
        created["signing_key"]["signing_secret"], "msg_tls", 1700000000, "{}")
    # Credentials still matter over TLS.
    r = tls.tls_req("GET", "/v1/endpoints")
    harness.err(r, 401, "UNAUTHORIZED", harness.UNAUTHORIZED_MESSAGE)


def test_workspace_service_token_over_https(tls):
    """The Authorization header reaches the app through the TLS virtual host
    in its ServiceToken form too (mod_fcgid needs CGIPassAuth for either)."""
    _acct, _key, token = tls.account("admin", name="tls-ws")
    slug = "tls-%d" % tls.tls_port
    ok(tls.tls_req("POST", "/v1/workspaces", json={"slug": slug},
                   headers={"Authorization": "ServiceToken " + token}), 201)
    data, _more = ok_list(tls.tls_req("GET", "/v1/workspaces",
                                      headers={"Authorization": "ServiceToken " + token}))
    assert slug in [w["slug"] for w in data]


def test_metrics_from_loopback_over_https(tls):
    """The TLS listener keeps /metrics to loopback: from 127.0.0.1 it answers."""
    r = tls.tls_req("GET", "/metrics")
    assert r.status_code == 200, harness.describe(r)
    assert r.headers.get("Content-Type", "").startswith("text/plain")
    assert re.search(r"^signet_requests_total\{", r.text, re.M), r.text[:500]


def test_plain_listener_still_serves(tls):
    r = requests.get(tls.base + "/healthz", timeout=harness.HTTP_TIMEOUT)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
