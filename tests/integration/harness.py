"""Run a real Signet instance behind lighttpd or Apache httpd + mod_fcgid.

One `Instance` owns a temporary directory (under /tmp, world-traversable so
that www-data can reach it when the tests run as root) holding copies of the
built binaries, SIGNET_HOME and the run directory (pid file, sockets, logs).
The web server is started through scripts/serve with the repository's
drop-in configuration files, exactly as scripts/run does.
"""

import base64
import ctypes
import hashlib
import hmac
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.path.abspath(os.environ.get("SIGNET_BUILDDIR", REPO))

START_TIMEOUT = 20.0  # seconds for /healthz to answer 200
STOP_TIMEOUT = 10.0   # seconds for a SIGTERMed server to exit
HTTP_TIMEOUT = 30.0   # seconds per HTTP request
CTL_TIMEOUT = 60.0    # seconds per signetctl run

REQUEST_ID_RE = re.compile(r"^req_[0-9a-f]{24}$")
ACCOUNT_ID_RE = re.compile(r"^acct_[0-9a-f]{32}$")
APIKEY_ID_RE = re.compile(r"^ak_[0-9a-f]{24}$")
TOKEN_RE = re.compile(r"^sgk_[A-Za-z0-9_-]{43}$")
ENDPOINT_ID_RE = re.compile(r"^ep_[0-9a-f]{32}$")
KEY_ID_RE = re.compile(r"^sk_[0-9a-f]{32}$")
SECRET_RE = re.compile(r"^whsec_[A-Za-z0-9+/]{32}$")
MSG_ID_RE = re.compile(r"^msg_[0-9a-f]{32}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

UNAUTHORIZED_MESSAGE = "Invalid or missing API key"
BAD_URL_MESSAGE = "endpoint must be a valid HTTPS URL"
MAX_KEYS_MESSAGE = "Endpoint already has the maximum of 2 signing keys"
LAST_KEY_MESSAGE = "Cannot delete the last signing key"

_UNSET = object()
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Make this process adopt its orphaned descendants (Linux), so that the
    web servers' grandchildren can be reaped here rather than left behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def reap_children():
    """Collect every exited child without blocking."""
    for _ in range(10000):
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return



def wait_for(what, fn, timeout, interval=0.05):
    """fn()'s first true value, asked every interval for at most timeout s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("%s: not within %.0f s (last: %r)" % (what, timeout, last))


def public_view(key):
    """A key as listings show it: its create answer without the secret."""
    return {f: v for f, v in key.items() if f != "signing_secret"}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_state(pid):
    """'Z' for a zombie, another letter for a live process, None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        return data[data.rindex(b")") + 2:data.rindex(b")") + 3].decode()
    except ValueError:
        return None


def _alive(pid):
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def _base_env():
    """This process's environment without SIGNET_* settings (a developer's
    SIGNET_HOME or SIGNET_MAX_BODY_BYTES must not leak into an instance)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SIGNET_")}


# --- Standard Webhooks reference implementation (for checking Signet) -------

def secret_bytes(secret):
    """The HMAC key of a `whsec_` secret."""
    assert secret.startswith("whsec_"), secret
    return base64.b64decode(secret[len("whsec_"):], validate=True)


def sign_reference(secret, msg_id, timestamp, payload):
    """Standard Webhooks v1 signature, computed here independently of Signet."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + payload
    mac = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


# --- response checks ---------------------------------------------------------

def request_id(resp):
    rid = resp.headers.get("X-Request-Id")
    assert rid is not None, "no X-Request-Id on %s %s -> %d" % (
        resp.request.method, resp.request.path_url, resp.status_code)
    assert REQUEST_ID_RE.match(rid), "bad X-Request-Id %r" % rid
    return rid


def describe(resp):
    return "%s %s -> %d %s" % (resp.request.method, resp.request.path_url,
                               resp.status_code, resp.text[:500])


def body_json(resp):
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/json", \
        "Content-Type %r: %s" % (ctype, describe(resp))
    try:
        return resp.json()
    except ValueError:
        raise AssertionError("body is not JSON: " + describe(resp))


def ok(resp, status=200):
    """Assert a success envelope with `status`; return its `data`."""
    assert resp.status_code == status, "expected %d: %s" % (status, describe(resp))
    rid = request_id(resp)
    body = body_json(resp)
    assert isinstance(body, dict) and set(body) == {"data", "meta"}, describe(resp)
    assert isinstance(body["meta"], dict), describe(resp)
    assert body["meta"].get("request_id") == rid, \
        "meta.request_id %r != X-Request-Id %r" % (body["meta"].get("request_id"), rid)
    return body["data"]


def ok_list(resp):
    """Assert a 200 paged list; return (data, has_more)."""
    assert resp.status_code == 200, describe(resp)
    data = ok(resp, 200)
    meta = resp.json()["meta"]
    assert isinstance(data, list), describe(resp)
    assert isinstance(meta.get("has_more"), bool), "meta.has_more missing: " + describe(resp)
    return data, meta["has_more"]


def list_all(inst, path, token, id_field="id", limit=100, max_pages=1000):
    """Every item of a paged listing (path without query), following
    starting_after until has_more is false."""
    out, after = [], None
    for _ in range(max_pages):
        q = "?limit=%d" % limit
        if after is not None:
            q += "&starting_after=" + urllib.parse.quote(after, safe="")
        data, more = ok_list(inst.req("GET", path + q, token))
        out.extend(data)
        if not more:
            return out
        assert data, "has_more with an empty page: " + path
        after = data[-1][id_field]
    raise AssertionError("the listing %s does not end" % path)


def no_content(resp):
    assert resp.status_code == 204, "expected 204: " + describe(resp)
    request_id(resp)
    assert resp.content == b"", "204 with a body: %r" % resp.content[:200]


def err(resp, status, code, message=None, mentions=None):
    """Assert an error envelope; return its message."""
    assert resp.status_code == status, "expected %d %s: %s" % (status, code, describe(resp))
    rid = request_id(resp)
    body = body_json(resp)
    assert isinstance(body, dict) and set(body) == {"error", "meta"}, describe(resp)
    assert isinstance(body["error"], dict), describe(resp)
    assert body["error"].get("code") == code, "expected %s: %s" % (code, describe(resp))
    msg = body["error"].get("message")
    assert isinstance(msg, str) and msg, describe(resp)
    assert body["meta"].get("request_id") == rid, describe(resp)
    if message is not None:
        assert msg == message, "message %r, expected %r" % (msg, message)
    if mentions is not None:
        assert mentions.lower() in msg.lower(), "message %r does not name %r" % (msg, mentions)
    return msg


def allow_set(resp):
    allow = resp.headers.get("Allow")
    assert allow is not None, "405 without Allow: " + describe(resp)
    return {m.strip().upper() for m in allow.split(",") if m.strip()}


# --- the instance ------------------------------------------------------------

class Instance:
    """A Signet instance: temp dir, SIGNET_HOME, and one web server."""

    def __init__(self, server, workers=4, env=None):
        """`env`: extra environment for the app and signetctl; values may
        name "{tmp}", the instance's directory (created before the chown)."""
        assert server in ("lighttpd", "apache"), server
        self.server = server
        self.workers = workers
        self.proc = None
        self.port = None
        self.base = None
        self.tmp = tempfile.mkdtemp(prefix="signet-%s-" % server, dir="/tmp")
        try:
            self._setup(env)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def _setup(self, env):
        os.chmod(self.tmp, 0o755)
        self.bindir = os.path.join(self.tmp, "bin")
        self.home = os.path.join(self.tmp, "home")
        self.rundir = os.path.join(self.tmp, "run")
        for d in (self.bindir, self.home, self.rundir):
            os.mkdir(d, 0o755)
        self.extra_env = {k: v.format(tmp=self.tmp) for k, v in (env or {}).items()}
        self.fcgi = os.path.join(self.bindir, "signet.fcgi")
        self.signetctl = os.path.join(self.bindir, "signetctl")
        for name, dest in (("signet.fcgi", self.fcgi), ("signetctl", self.signetctl)):
            src = os.path.join(BUILDDIR, "src", name)
            if not os.path.isfile(src):
                raise RuntimeError("%s not built (SIGNET_BUILDDIR=%s)" % (src, BUILDDIR))
            # A libtool build leaves a wrapper script; the real binary is in .libs.
            real = os.path.join(BUILDDIR, "src", ".libs", name)
            with open(src, "rb") as f:
                if f.read(2) == b"#!" and os.path.isfile(real):
                    src = real
            shutil.copy2(src, dest)
            os.chmod(dest, 0o755)
        self.user = None
        if os.geteuid() == 0:
            # The web servers run the app as www-data; signetctl, run here as
            # root, switches to the owner of SIGNET_HOME by itself.
            self.user = os.environ.get("SIGNET_TEST_USER", "www-data")
            pw = pwd.getpwnam(self.user)
            for root, dirs, files in os.walk(self.tmp):
                for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                    os.lchown(n, pw.pw_uid, pw.pw_gid)
        self.ctl("init")

    # -- signetctl --
    def ctl_run(self, *args, env=None):
        e = _base_env()
        e.update(self.extra_env)
        if env:
            e.update(env)
        return subprocess.run([self.signetctl, "--home", self.home] + [str(a) for a in args],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=CTL_TIMEOUT, env=e)

    def ctl(self, *args):
        """Run signetctl; assert exit 0; return its JSON output."""
        r = self.ctl_run(*args)
        assert r.returncode == 0, "signetctl %s: exit %d\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace"))
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise AssertionError("signetctl %s printed no JSON: %r" % (" ".join(args), r.stdout))

    def account(self, role="admin", name="test"):
        """Create an account and an API key; return (account_id, apikey_id, token)."""
        acct = self.ctl("account", "create", "--name", name)["id"]
        key = self.apikey(acct, role)
        return acct, key["id"], key["token"]

    def apikey(self, account_id, role="admin", name="test key"):
        return self.ctl("apikey", "create", "--account", account_id, "--role", role,
                        "--name", name)

    # -- HTTP --
    def req(self, method, path, token=None, json=_UNSET, data=None, headers=None,
            timeout=HTTP_TIMEOUT):
        h = {}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if headers:
            h.update(headers)
        kw = {}
        if json is not _UNSET:
            kw["json"] = json
        if data is not None:
            kw["data"] = data
        return requests.request(method, self.base + path, headers=h, timeout=timeout,
                                allow_redirects=False, **kw)

    # -- process control --
    def env(self):
        e = _base_env()
        e.update({
            "SIGNET_PORT": str(self.port),
            "SIGNET_HOME": self.home,
            "SIGNET_FCGI": self.fcgi,
            "SIGNET_RUNDIR": self.rundir,
            "SIGNET_WORKERS": str(self.workers),
        })
        e.update(self.extra_env)
        if self.user:
            e["SIGNET_USER"] = self.user
            e["SIGNET_GROUP"] = self.user
        return e

    def start(self, expect=200):
        """Start the web server; return once /healthz answers `expect`."""
        assert self.proc is None, "already running"
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            [os.path.join(REPO, "scripts", "serve"), self.server],
            env=self.env(), stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.rundir, "server.out"), "ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                r = requests.get(self.base + "/healthz", timeout=2)
                last = "%d %s" % (r.status_code, r.text[:200])
                if r.status_code == expect:
                    return
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.1)
        code = self.proc.poll()
        self.stop()
        raise RuntimeError("%s did not answer /healthz with %d within %.0f s (exit %s, last %s)\n"
                           "--- server output ---\n%s\n--- error log ---\n%s" % (
                               self.server, expect, START_TIMEOUT, code, last,
                               self._read(os.path.join(self.rundir, "server.out"))[-4000:],
                               self.error_log()[-4000:]))

    def pids(self):
        """Every live process of this instance: the server's session (web server,
        its workers, mod_fcgid's manager, the apps) plus any process running
        this instance's copy of signet.fcgi or naming its config and rundir."""
        found = set()
        sid = self.proc.pid if self.proc is not None else None
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid == os.getpid() or not _alive(pid):
                continue
            try:
                if sid is not None and os.getsid(pid) == sid:
                    found.add(pid)
                    continue
            except OSError:
                continue
            try:
                exe = os.readlink("/proc/%d/exe" % pid)
            except OSError:
                exe = ""
            if exe.split(" (deleted)")[0] == self.fcgi:
                found.add(pid)
                continue
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if self.fcgi.encode() in cmd:
                found.add(pid)
        return found

    def worker_pids(self):
        """Live signet.fcgi processes of this instance."""
        out = []
        for pid in self.pids():
            try:
                exe = os.readlink("/proc/%d/exe" % pid)
            except OSError:
                continue
            if exe.split(" (deleted)")[0] == self.fcgi:
                out.append(pid)
        return sorted(out)

    def _kill_and_wait(self, pids, sig, timeout):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reap_children()
            if not any(_alive(p) for p in pids):
                return True
            time.sleep(0.05)
        return False

    def kill9_all(self):
        """SIGKILL every process of this instance (web server and apps) at once."""
        assert self.proc is not None, "not running"
        for _ in range(5):
            pids = self.pids()
            if not pids:
                break
            self._kill_and_wait(pids, signal.SIGKILL, 10.0)
        self._finish()

    def stop(self):
        """SIGTERM the web server (it stops the apps), then SIGKILL leftovers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        # Apps that ignored the server's SIGTERM, or an exited server's leftovers.
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                break
            self._kill_and_wait(pids, signal.SIGTERM, 2.0)
        for _ in range(5):
            pids = self.pids()
            if not pids:
                break
            self._kill_and_wait(pids, signal.SIGKILL, 10.0)
        self._finish()

    def _finish(self):
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        reap_children()
        leftovers = self.pids()
        self.proc = None
        assert not leftovers, "processes survived: %s" % sorted(leftovers)

    def destroy(self):
        self.stop()
        if os.environ.get("SIGNET_TEST_KEEP"):
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- logs --
    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def error_log(self):
        """The web server's error log (it also holds the app's stderr)."""
        return self._read(os.path.join(self.rundir, "error.log"))

    # -- helpers shared by the suites --
    def create_endpoint(self, token, url="https://example.com/webhooks", description=None):
        body = {"url": url}
        if description is not None:
            body["description"] = description
        return ok(self.req("POST", "/v1/endpoints", token, json=body), 201)

    def add_key(self, token, ep_id):
        return ok(self.req("POST", "/v1/endpoints/%s/signing-keys" % ep_id, token), 201)

    def list_keys(self, token, ep_id):
        return ok(self.req("GET", "/v1/endpoints/%s/signing-keys" % ep_id, token), 200)

    def sign(self, token, ep_id, payload, **extra):
        body = {"payload": payload}
        body.update(extra)
        return ok(self.req("POST", "/v1/endpoints/%s/sign" % ep_id, token, json=body), 200)

    def verify(self, token, ep_id, payload, headers, tolerance=None):
        body = {"payload": payload, "headers": headers}
        if tolerance is not None:
            body["tolerance"] = tolerance
        return ok(self.req("POST", "/v1/endpoints/%s/verify" % ep_id, token, json=body), 200)


# --- TOTP (docs/api.md, Authentication: RFC 6238, HMAC-SHA1, 6 digits, 30 s) -

TOTP_PERIOD = 30
TOTP_DIGITS = 6


def totp_secret_bytes(secret):
    """The key of a base32 TOTP secret (padding and case optional)."""
    s = secret.strip().replace(" ", "").upper().rstrip("=")
    return base64.b32decode(s + "=" * (-len(s) % 8))


def totp_step(at=None):
    """The RFC 6238 time step of `at` (unix seconds; default now)."""
    return int((time.time() if at is None else at) // TOTP_PERIOD)


def totp_code(secret, step=None, at=None, digits=TOTP_DIGITS):
    """The code of a base32 secret (or raw key bytes) for time step `step`,
    else for the step of `at` (default now); computed here independently."""
    key = secret if isinstance(secret, bytes) else totp_secret_bytes(secret)
    if step is None:
        step = totp_step(at)
    mac = hmac.new(key, step.to_bytes(8, "big"), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    value = int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def totp_wait_margin(margin=5.0):
    """Sleep (at most margin + 0.25 s) until at least `margin` seconds are
    left in the current time step, so that a code computed now for a
    neighbouring step keeps its meaning while a request is under way."""
    left = TOTP_PERIOD - (time.time() % TOTP_PERIOD)
    if left < margin:
        time.sleep(left + 0.25)


def enroll_totp(inst, apikey_id):
    """`signetctl totp enroll --apikey ID`: {"secret", "otpauth_uri", ...}."""
    return inst.ctl("totp", "enroll", "--apikey", apikey_id)


class OtpAdmin:
    """An admin API key of `account_id` with an enrolled TOTP secret.

    `code()` hands out codes this key has not sent before, never older than
    the step before the current one, as the server accepts each code once
    and no code of an older step than one already used.  It returns None
    when the key has used the codes of every acceptable step (use another
    key, see OtpAdmins)."""

    def __init__(self, inst, account_id, name="otp admin"):
        key = inst.apikey(account_id, "admin", name)
        self.id, self.token, self.name = key["id"], key["token"], name
        self.secret = enroll_totp(inst, self.id)["secret"]
        self.last = -1

    def code(self):
        now = time.time()
        step = totp_step(now)
        # The previous step's code only while it stays acceptable for a while.
        first = step - 1 if now % TOTP_PERIOD < TOTP_PERIOD - 5 else step
        t = max(first, self.last + 1)
        if t > step + 1:
            return None
        self.last = t
        return totp_code(self.secret, step=t)


class OtpAdmins:
    """A pool of OtpAdmin keys of one account, grown on demand.

    `next()` returns (admin, headers): an OtpAdmin and {"X-OTP": code} with a
    fresh code of that key, for one OTP-protected request."""

    def __init__(self, inst, account_id, name="otp admin"):
        self.inst, self.account_id, self.name = inst, account_id, name
        self.pool = []

    def next(self):
        for a in self.pool:
            c = a.code()
            if c is not None:
                return a, {"X-OTP": c}
        a = OtpAdmin(self.inst, self.account_id, self.name)
        self.pool.append(a)
        return a, {"X-OTP": a.code()}


def get_jwks(inst, path, headers=None):
    """GET a jwks.json without credentials: (response, the JWK Set or None
    when the answer is not 200), the set's shape checked."""
    r = inst.req("GET", path, headers=headers)
    if r.status_code != 200:
        return r, None
    request_id(r)
    ctype = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
    assert ctype in ("application/json", "application/jwk-set+json"), ctype
    doc = r.json()
    assert isinstance(doc, dict) and set(doc) == {"keys"}, doc
    assert isinstance(doc["keys"], list), doc
    return r, doc


def walk_files(top):
    """(path, bytes) of every regular file under `top`, links skipped."""
    for root, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                yield path, f.read()


def scan_files(top, needles):
    """({needle label: [paths relative to top]}, number of files read) for
    every regular file under `top` (links skipped), read as bytes: where each
    needle (bytes) of `needles` {label: needle} occurs."""
    found, nfiles = {}, 0
    for path, data in walk_files(top):
        nfiles += 1
        for label, needle in needles.items():
            if needle in data:
                found.setdefault(label, []).append(os.path.relpath(path, top))
    return found, nfiles
