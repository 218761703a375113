#!/usr/bin/env python3
"""A small HTTPS server for the JWKS URI tests (docs/api.md,
Enterprise webhook signing keys).

Standalone:

    python3 tests/integration/jwks_server.py --dir DIR --port 0 [--wrong-host]

generates a throwaway test CA and a server certificate for ``localhost``,
127.0.0.1 and ::1 into DIR (with certtool, or openssl when certtool is
missing), and prints one JSON line on stdout once listening:

    {"port": N, "ca_file": "DIR/ca.pem", "dir": "DIR"}

plus ``"wrong_host_port": M`` with ``--wrong-host``: a second listener whose
certificate (signed by the same CA) is for ``wrong.example`` only.  It runs
until SIGTERM or SIGINT.

In-process, from pytest:

    from jwks_server import JwksServer
    with JwksServer(tmp_path, wrong_host=True) as srv:
        srv.put_jwks("k1", {"keys": [...]})
        url = srv.url("/jwks/k1")

Routes (GET only):
    /jwks/<name>     DIR/<name>.json, Cache-Control: max-age=600
    /redirect        302 to /jwks/default
    /big             200, a 1 MiB JSON body with Content-Length
    /big-stream      200, the same body without Content-Length (read to close)
    /hang            TLS completes, no HTTP answer until the server stops
    /slow            200, a JWKS sent one byte every 100 ms
    /status/<n>      an empty answer with status n (200..599)
Anything else is 404.  The TLS handshake happens in the connection's thread,
so a client that never speaks holds up nobody else.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG_LEN = 1 << 20
MAX_AGE = 600
HANDSHAKE_TIMEOUT = 10.0
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

SAMPLE_JWKS = {"keys": [{
    "kty": "EC", "crv": "P-256", "kid": "1", "use": "sig",
    "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
    "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}


# --------------------------------------------------------------------------
# Test PKI

def _run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s" % (
            " ".join(argv), proc.stderr.decode(errors="replace")[-500:]))


def _pki_certtool(d):
    def tmpl(name, text):
        path = os.path.join(d, name + ".tmpl")
        with open(path, "w") as f:
            f.write(text)
        return path

    def key(name):
        path = os.path.join(d, name + ".key")
        _run(["certtool", "--generate-privkey", "--key-type=ecdsa",
              "--outfile", path])
        return path

    ca_key = key("ca")
    _run(["certtool", "--generate-self-signed", "--load-privkey", ca_key,
          "--template", tmpl("ca", 'cn = "Signet JWKS test CA"\nca\n'
                             "cert_signing_key\nexpiration_days = 7\n"),
          "--outfile", os.path.join(d, "ca.pem")])
    leaves = {
        "server": 'cn = "localhost"\ndns_name = "localhost"\n'
                  'ip_address = "127.0.0.1"\nip_address = "::1"\n',
        "wrong": 'cn = "wrong.example"\ndns_name = "wrong.example"\n',
    }
    for name, names in leaves.items():
        _run(["certtool", "--generate-certificate",
              "--load-privkey", key(name),
              "--load-ca-certificate", os.path.join(d, "ca.pem"),
              "--load-ca-privkey", ca_key,
              "--template", tmpl(name, names + "tls_www_server\n"
                                 "signing_key\nexpiration_days = 7\n"),
              "--outfile", os.path.join(d, name + ".pem")])


def _pki_openssl(d):
    ca_key, ca_pem = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
          "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
          "-out", ca_pem, "-days", "7", "-subj", "/CN=Signet JWKS test CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    leaves = {
        "server": ("localhost", "DNS:localhost,IP:127.0.0.1,IP:::1"),
        "wrong": ("wrong.example", "DNS:wrong.example"),
    }
    for name, (cn, san) in leaves.items():
        key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
                    % san)
        _run(["openssl", "req", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
              "-out", csr, "-subj", "/CN=" + cn])
        _run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_pem,
              "-CAkey", ca_key, "-CAcreateserial", "-days", "7",
              "-extfile", ext, "-out", os.path.join(d, name + ".pem")])


def make_pki(directory, tool="auto"):
    """Write ca.pem, server.{pem,key} and wrong.{pem,key} into directory.

    tool: "certtool", "openssl" or "auto" (certtool when installed).
    Returns the path of ca.pem.
    """
    if tool == "auto":
        tool = "certtool" if shutil.which("certtool") else "openssl"
    if shutil.which(tool) is None:
        raise RuntimeError("%s is not installed" % tool)
    os.makedirs(directory, exist_ok=True)
    (_pki_certtool if tool == "certtool" else _pki_openssl)(directory)
    return os.path.join(directory, "ca.pem")


# --------------------------------------------------------------------------
# HTTP

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the head and the body are two writes

    def version_string(self):
        return "jwks-test-server"

    def log_message(self, fmt, *args):  # noqa: D102 - quiet unless asked
        if self.server.owner.verbose:
            sys.stderr.write("jwks_server: %s\n" % (fmt % args))

    def _send(self, status, body=b"", headers=(), length=True):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):  # noqa: N802 - http.server's naming
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        if path.startswith("/jwks/"):
            name = path[len("/jwks/"):]
            file = os.path.join(owner.directory, name + ".json")
            if NAME_RE.match(name) and os.path.isfile(file):
                with open(file, "rb") as f:
                    body = f.read()
                self._send(200, body, [
                    ("Content-Type", "application/json"),
                    ("Cache-Control", "max-age=%d" % MAX_AGE)])
            else:
                self._send(404, b"no such JWKS\n")
        elif path == "/redirect":
            self._send(302, b"", [("Location", "/jwks/default")])
        elif path in ("/big", "/big-stream"):
            self._send(200, owner.big_body,
                       [("Content-Type", "application/json")],
                       length=(path == "/big"))
        elif path == "/hang":
            owner.stopping.wait()
            self.close_connection = True
        elif path == "/slow":
            body = json.dumps(SAMPLE_JWKS).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for i in range(len(body)):
                if owner.stopping.wait(0.1):
                    break
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
        elif path.startswith("/status/") and path[8:].isdigit() \
                and 200 <= int(path[8:]) <= 599:
            n = int(path[8:])
            hdrs = [("Location", "/jwks/default")] if 300 <= n < 400 else []
            self._send(n, b"", hdrs)
        else:
            self._send(404, b"not found\n")


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, context, owner):
        self.context = context
        self.owner = owner
        self.address_family = socket.AF_INET6 if ":" in addr[0] \
            else socket.AF_INET
        super().__init__(addr, _Handler)

    def server_bind(self):
        # HTTPServer.server_bind would look up the host's FQDN: skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        # In the connection's own thread: the handshake cannot stall accept.
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                tls.settimeout(1.0)
                tls.unwrap()
            except (ssl.SSLError, OSError, ValueError):
                pass
            tls.close()

    def shutdown_request(self, request):
        # The TLS wrapper owns the socket once the handshake was tried.
        try:
            request.close()
        except OSError:
            pass

    def handle_error(self, request, client_address):
        if self.owner.verbose:
            super().handle_error(request, client_address)


class JwksServer:
    """The test server, started and stopped in-process.

    directory: where the PKI and the <name>.json files live (created).
    port: 0 for an ephemeral port.  wrong_host: also listen with a
    certificate for wrong.example.  bind: the listening address.
    """

    def __init__(self, directory, port=0, wrong_host=False,
                 bind="127.0.0.1", wrong_port=0, tool="auto", verbose=False):
        self.directory = os.path.abspath(str(directory))
        self.bind = bind
        self.verbose = verbose
        self.tool = tool
        self.stopping = threading.Event()
        self.big_body = self._make_big()
        self.ca_file = None
        self.port = port
        self.wrong_host_port = wrong_port if wrong_host else None
        self._want_wrong = wrong_host
        self._servers = []
        self._threads = []

    @staticmethod
    def _make_big():
        head, tail = b'{"keys":[],"pad":"', b'"}'
        return head + b"x" * (BIG_LEN - len(head) - len(tail)) + tail

    def _listen(self, port, cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.directory, cert + ".pem"),
                            os.path.join(self.directory, cert + ".key"))
        srv = _TLSServer((self.bind, port), ctx, self)
        t = threading.Thread(target=srv.serve_forever,
                             kwargs={"poll_interval": 0.1},
                             name="jwks-server-%s" % cert, daemon=True)
        t.start()
        self._servers.append(srv)
        self._threads.append(t)
        return srv.server_address[1]

    def start(self):
        """Make the PKI, a default JWKS, and start listening."""
        self.ca_file = make_pki(self.directory, self.tool)
        default = os.path.join(self.directory, "default.json")
        if not os.path.exists(default):
            self.put_jwks("default", SAMPLE_JWKS)
        self.port = self._listen(self.port, "server")
        if self._want_wrong:
            self.wrong_host_port = self._listen(self.wrong_host_port or 0,
                                                "wrong")
        return self

    def stop(self):
        """Release hanging requests, stop the listeners, close them."""
        self.stopping.set()
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._servers, self._threads = [], []

    def put_jwks(self, name, jwks):
        """Serve jwks (a dict, str or bytes) at /jwks/<name>."""
        if not NAME_RE.match(name):
            raise ValueError("bad JWKS name %r" % name)
        if isinstance(jwks, dict):
            jwks = json.dumps(jwks)
        if isinstance(jwks, str):
            jwks = jwks.encode()
        path = os.path.join(self.directory, name + ".json")
        with open(path + ".tmp", "wb") as f:
            f.write(jwks)
        os.replace(path + ".tmp", path)

    def url(self, path, host="localhost", wrong=False):
        """https://host:port/path of the right (or the wrong-host) listener."""
        port = self.wrong_host_port if wrong else self.port
        if ":" in host and not host.startswith("["):
            host = "[%s]" % host
        return "https://%s:%d%s" % (host, port, path)

    def info(self):
        out = {"port": self.port, "ca_file": self.ca_file,
               "dir": self.directory}
        if self.wrong_host_port is not None:
            out["wrong_host_port"] = self.wrong_host_port
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="PKI and JWKS directory")
    ap.add_argument("--port", type=int, default=0, help="0: ephemeral")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--wrong-host", action="store_true",
                    help="second listener with a wrong.example certificate")
    ap.add_argument("--wrong-host-port", type=int, default=0)
    ap.add_argument("--tool", choices=("auto", "certtool", "openssl"),
                    default="auto", help="how to make the test PKI")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    srv = JwksServer(args.dir, port=args.port, wrong_host=args.wrong_host,
                     bind=args.bind, wrong_port=args.wrong_host_port,
                     tool=args.tool, verbose=args.verbose).start()
    print(json.dumps(srv.info()), flush=True)
    while not done.wait(0.2):
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
