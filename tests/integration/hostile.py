"""Raw-socket HTTP/1.1 helpers for the hostile-input suites.

`requests` normalises what it sends (method case, Content-Length, header
sizes); these helpers write exactly the bytes given and read one answer with
bounded timeouts, so that a server that hangs or closes is reported, not
waited for.
"""

import json
import socket
import time

from harness import REQUEST_ID_RE

CONNECT_TIMEOUT = 5.0


class Answer:
    """One HTTP answer read off a raw socket (or its absence).

    status is None when the server closed the connection (or the deadline
    passed) without a complete status line; `closed` says the peer closed,
    `timed_out` that the deadline passed first."""

    def __init__(self):
        self.status = None
        self.reason = ""
        self.headers = {}          # lower-case name -> last value
        self.raw_headers = []      # [(name, value)] as received
        self.body = b""
        self.closed = False
        self.timed_out = False
        self.elapsed = 0.0
        self.complete = False
        self.send_error = None

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def from_app(self):
        """Signet answers carry X-Request-Id; the web servers' own do not."""
        return self.header("X-Request-Id") is not None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        if self.status is None:
            return "<no answer: closed=%s timed_out=%s after %.2f s, send_error=%r, got %r>" % (
                self.closed, self.timed_out, self.elapsed, self.send_error, self.body[:200])
        return "<%s %s %r %r (%.2f s)>" % (self.status, self.reason, self.raw_headers,
                                          self.body[:400], self.elapsed)


def connect(inst, timeout=CONNECT_TIMEOUT):
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def build(method, path, headers=(), body=b"", host=True, content_length=True):
    """The bytes of a request.  `headers` is a list of (name, value) sent as
    given; Content-Length is added from the body unless `content_length` is
    False or the headers name one already."""
    lines = ["%s %s HTTP/1.1" % (method, path)]
    names = {n.lower() for n, _ in headers}
    if host and "host" not in names:
        lines.append("Host: 127.0.0.1")
    for n, v in headers:
        lines.append("%s: %s" % (n, v))
    if content_length and "content-length" not in names and (body or method.upper() in (
            "POST", "PUT", "PATCH")):
        lines.append("Content-Length: %d" % len(body))
    if "connection" not in names:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body if isinstance(body, bytes) else body.encode())


def read_answer(sock, deadline, ans=None):
    """Read one answer from `sock` until it is complete, the peer closes or
    `deadline` (time.monotonic()) passes."""
    ans = ans or Answer()
    start = time.monotonic()
    buf = b""
    head_end = -1
    need = None
    chunked = False
    while True:
        if head_end < 0:
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                _parse_head(ans, buf[:head_end])
                te = (ans.header("Transfer-Encoding") or "").lower()
                chunked = "chunked" in te
                if ans.header("Content-Length") is not None and not chunked:
                    try:
                        need = head_end + 4 + int(ans.header("Content-Length"))
                    except ValueError:
                        need = None
                elif ans.status is not None and (ans.status in (204, 304) or
                                                 100 <= ans.status < 200):
                    need = head_end + 4
        if head_end >= 0:
            body = buf[head_end + 4:]
            if need is not None and len(buf) >= need:
                ans.body = buf[head_end + 4:need]
                ans.complete = True
                break
            if chunked:
                decoded = _dechunk(body)
                if decoded is not None:
                    ans.body = decoded
                    ans.complete = True
                    break
        left = deadline - time.monotonic()
        if left <= 0:
            ans.timed_out = True
            break
        sock.settimeout(min(left, 1.0))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            ans.closed = True
            break
        if not data:
            ans.closed = True
            break
        buf += data
    if head_end >= 0 and not ans.complete:
        ans.body = buf[head_end + 4:]
        if chunked:
            ans.body = _dechunk(ans.body) or ans.body
        # Read until close without a length: complete when the peer closed.
        ans.complete = ans.closed and need is None and not chunked
    elif head_end < 0:
        ans.body = buf
    ans.elapsed = time.monotonic() - start
    return ans


def _parse_head(ans, head):
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        ans.status = int(parts[1])
        ans.reason = parts[2] if len(parts) > 2 else ""
    for line in lines[1:]:
        if ":" in line:
            n, v = line.split(":", 1)
            ans.raw_headers.append((n.strip(), v.strip()))
            ans.headers[n.strip().lower()] = v.strip()


def _dechunk(body):
    """The decoded body if `body` holds a complete chunked body, else None."""
    out = b""
    pos = 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(body[pos:eol].split(b";")[0], 16)
        except ValueError:
            return None
        if size == 0:
            return out if body.find(b"\r\n", eol + 2) >= 0 else None
        if len(body) < eol + 2 + size + 2:
            return None
        out += body[eol + 2:eol + 2 + size]
        pos = eol + 2 + size + 2


def send(inst, data, timeout=30.0, shut_wr=False):
    """Send raw bytes (bytes or a list of byte chunks), optionally half-close,
    and read one answer within `timeout` seconds."""
    ans = Answer()
    start = time.monotonic()
    deadline = start + timeout
    s = connect(inst)
    try:
        try:
            for chunk in (data if isinstance(data, list) else [data]):
                s.sendall(chunk)
            if shut_wr:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:
            # A server may refuse (and close) before reading everything we
            # send, e.g. an overlong header: its answer may still be readable.
            ans.send_error = e
        read_answer(s, deadline, ans)
    finally:
        s.close()
    ans.elapsed = time.monotonic() - start
    return ans


def request(inst, method, path, headers=(), body=b"", timeout=30.0, **kw):
    return send(inst, build(method, path, headers, body, **kw), timeout=timeout)


def check_app_answer(ans, what=""):
    """If `ans` came from the app (it has X-Request-Id), it must be a
    well-formed envelope whose meta.request_id matches; return the parsed
    body (None for a 204 or a server's own answer)."""
    rid = ans.header("X-Request-Id")
    ctype = (ans.header("Content-Type") or "").split(";")[0].strip().lower()
    if rid is None:
        # The web servers' own answers are HTML (or empty); JSON without
        # X-Request-Id would be an app answer that lost its request id.
        assert ctype != "application/json", "%s: JSON answer without X-Request-Id: %r" % (
            what, ans)
        return None
    assert REQUEST_ID_RE.match(rid), "%s: bad X-Request-Id %r" % (what, rid)
    assert ans.complete, "%s: incomplete app answer %r" % (what, ans)
    if ans.status == 204 or ans.status == 304:
        assert ans.body == b"", "%s: %r" % (what, ans)
        return None
    assert ctype == "application/json", "%s: Content-Type %r: %r" % (what, ctype, ans)
    try:
        doc = ans.json()
    except ValueError:
        raise AssertionError("%s: app answer is not JSON: %r" % (what, ans))
    assert isinstance(doc, dict), "%s: %r" % (what, ans)
    if ans.status >= 400:
        assert set(doc) == {"error", "meta"}, "%s: not an error envelope: %r" % (what, ans)
        assert isinstance(doc["error"], dict) and isinstance(doc["error"].get("code"), str) \
            and isinstance(doc["error"].get("message"), str) and doc["error"]["message"], \
            "%s: %r" % (what, ans)
    elif "status" not in doc and "keys" not in doc:  # /healthz and jwks.json are bare
        assert set(doc) == {"data", "meta"}, "%s: not a success envelope: %r" % (what, ans)
    if "meta" in doc:
        assert doc["meta"].get("request_id") == rid, "%s: meta.request_id != header: %r" % (
            what, ans)
    return doc
