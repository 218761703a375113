"""docs/openapi.yaml (issue 6): it lints clean with @redocly/cli, and it
describes exactly the routes of the application's route table
(src/routes.c, app_routes) and every error code of src/err.c.

No web server is needed.  The linter is looked for in the repository's
node_modules/.bin (`npm ci` with @redocly/cli in package.json), then in
$SIGNET_REDOCLY (a path to a `redocly` executable), then through
`npx --no-install redocly`; the lint test is skipped, saying so, only when
none is available.
"""

import os
import re
import shutil
import subprocess

import pytest

import harness

REPO = harness.REPO
OPENAPI = os.path.join(REPO, "docs", "openapi.yaml")
APP_C = os.path.join(REPO, "src", "routes.c")
ERR_C = os.path.join(REPO, "src", "err.c")
LINT_TIMEOUT = 300  # seconds

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

try:
    import yaml  # Debian: python3-yaml
except ImportError:  # pragma: no cover - exercised only without python3-yaml
    yaml = None


# --- the route table ---------------------------------------------------------

def _strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def app_routes():
    """{(METHOD, pattern)} of app_routes, ENDPOINT_ROUTES(...) expanded;
    patterns as written in routes.c ("{}" for a parameter)."""
    with open(APP_C, encoding="utf-8") as f:
        src = _strip_c_comments(f.read())

    # The macro: "#define ENDPOINT_ROUTES(base, kind) \ ... " up to the first
    # line that does not end in a backslash.
    m = re.search(r"#define\s+ENDPOINT_ROUTES\s*\(\s*(\w+)\s*,\s*\w+\s*\)((?:[^\n]*\\\n)*[^\n]*)", src)
    assert m, "no ENDPOINT_ROUTES macro in src/routes.c"
    base_name, body = m.group(1), m.group(2)
    macro = re.findall(r'\{\s*"([A-Z]+)"\s*,\s*%s\b\s*(?:"([^"]*)")?' % re.escape(base_name), body)
    assert macro, "ENDPOINT_ROUTES has no entries"

    t = re.search(r"app_routes\s*\[\s*\]\s*=\s*\{(.*?)\n\};", src, flags=re.S)
    assert t, "no app_routes table in src/routes.c"
    table = t.group(1)

    routes = set()
    for base in re.findall(r'ENDPOINT_ROUTES\s*\(\s*"([^"]+)"', table):
        for method, suffix in macro:
            routes.add((method, base + suffix))
    table = re.sub(r"ENDPOINT_ROUTES\s*\([^)]*\)", " ", table)
    for method, pattern in re.findall(r'\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"', table):
        routes.add((method, pattern))
    return routes


def normalize(path):
    """A path template with every "{name}" as "{}" and no trailing slash."""
    path = re.sub(r"\{[^}/]*\}", "{}", path)
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


# --- the OpenAPI document ----------------------------------------------------

def _minimal_paths(text):
    """Paths and their methods without a YAML library: the keys two and
    four spaces deep under the top-level `paths:`."""
    out = {}
    in_paths = False
    current = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            in_paths = line.rstrip() == "paths:"
            current = None
            continue
        if not in_paths:
            continue
        m = re.match(r"^  (['\"]?)(/[^'\"]*)\1:\s*$", line)
        if m:
            current = m.group(2)
            out[current] = {}
            continue
        m = re.match(r"^    ([a-z]+):", line)
        if m and current is not None and m.group(1) in HTTP_METHODS:
            out[current][m.group(1)] = {}
    return out


def load_openapi():
    with open(OPENAPI, encoding="utf-8") as f:
        text = f.read()
    if yaml is not None:
        doc = yaml.safe_load(text)
        assert isinstance(doc, dict), "docs/openapi.yaml is not a mapping"
        return doc, text
    return {"openapi": re.search(r"^openapi:\s*(\S+)", text, re.M).group(1),
            "paths": _minimal_paths(text)}, text


def openapi_routes(doc):
    routes = set()
    for path, item in (doc.get("paths") or {}).items():
        for method in item:
            if method in HTTP_METHODS:
                routes.add((method.upper(), normalize(path)))
    return routes


# --- tests -------------------------------------------------------------------

def test_route_table_parses():
    routes = app_routes()
    # The two endpoint families share one macro of 13 routes each.
    assert ("POST", "/v1/endpoints") in routes
    assert ("DELETE", "/v1/inbound-endpoints/{}/signing-keys/{}") in routes
    assert ("GET", "/healthz") in routes
    assert len([r for r in routes if r[1].startswith("/v1/endpoints")]) == 13
    assert len([r for r in routes if r[1].startswith("/v1/inbound-endpoints")]) == 13


def test_openapi_version():
    doc, _ = load_openapi()
    assert str(doc.get("openapi", "")).startswith("3.1"), doc.get("openapi")


def test_every_route_is_documented():
    doc, _ = load_openapi()
    documented = openapi_routes(doc)
    missing = sorted((m, normalize(p)) for m, p in app_routes()
                     if (m, normalize(p)) not in documented)
    assert not missing, "routes of src/routes.c missing from docs/openapi.yaml: %s" % missing


def test_every_documented_route_exists():
    doc, _ = load_openapi()
    known = {(m, normalize(p)) for m, p in app_routes()}
    extra = sorted(r for r in openapi_routes(doc) if r not in known)
    assert not extra, "docs/openapi.yaml documents routes src/routes.c does not have: %s" % extra


def test_every_error_code_is_documented():
    """Each code of err.c's table (bar the internal CONFLICT, always answered
    as INTERNAL_ERROR) is in the ErrorCode enum and the table of statuses."""
    with open(ERR_C, encoding="utf-8") as f:
        codes = re.findall(r'\[SIG_\w+\]\s*=\s*\{\s*(\d+)\s*,\s*"([A-Z_]+)"', f.read())
    assert codes, "no error table in src/err.c"
    doc, text = load_openapi()
    enum = None
    if yaml is not None:
        enum = set(doc["components"]["schemas"]["ErrorCode"]["enum"])
    for status, code in codes:
        if code in ("OK", "CONFLICT"):
            continue
        if enum is not None:
            assert code in enum, "%s is not in components.schemas.ErrorCode" % code
        assert re.search(r"\|\s*%s\s*\|\s*`%s`\s*\|" % (status, code), text), \
            "%s %s is not in the error table of docs/openapi.yaml" % (status, code)


@pytest.mark.skipif(yaml is None, reason="python3-yaml is not installed")
def test_public_and_service_token_security():
    """Public routes need no credentials; workspace routes accept ServiceToken."""
    doc, _ = load_openapi()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert "ServiceToken" in schemes
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            sec = op.get("security", doc.get("security"))
            names = {n for req in sec for n in req}
            if normalize(path) in ("/healthz", "/metrics", "/v1/{}/jwks.json",
                                   "/v1/endpoints/{}/jwks.json",
                                   "/v1/inbound-endpoints/{}/jwks.json"):
                assert sec == [], "%s %s should need no credentials" % (method, path)
            elif path.startswith("/v1/{workspace}") or path.startswith("/v1/workspaces"):
                assert names == {"BearerAuth", "ServiceToken"}, (method, path, sec)
            else:
                assert names == {"BearerAuth"}, (method, path, sec)


def find_redocly():
    """An argv prefix that runs @redocly/cli, or None."""
    local = os.path.join(REPO, "node_modules", ".bin", "redocly")
    if os.access(local, os.X_OK):
        return [local]
    env = os.environ.get("SIGNET_REDOCLY")
    if env and os.access(env, os.X_OK):
        return [env]
    npx = shutil.which("npx")
    if npx is None:
        return None
    try:
        r = subprocess.run([npx, "--no-install", "redocly", "--version"], cwd=REPO,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    return [npx, "--no-install", "redocly"]


def test_redocly_lint():
    cmd = find_redocly()
    if cmd is None:
        pytest.skip("@redocly/cli is not installed: run `npm ci` (it is a devDependency "
                    "in package.json) or set SIGNET_REDOCLY to a redocly executable")
    env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
               NO_COLOR="1")
    # cwd=REPO so that redocly.yaml (the rule configuration) applies.
    r = subprocess.run(cmd + ["lint", "--format=summary", "docs/openapi.yaml"], cwd=REPO,
                       env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=LINT_TIMEOUT)
    out = (r.stdout + r.stderr).decode("utf-8", errors="replace")
    assert r.returncode == 0, "redocly lint failed (exit %d):\n%s" % (r.returncode, out[-8000:])
    # Clean, not merely passing: the summary lists no rule with warnings.
    warned = re.findall(r"^\s*warning\s+[\w-]+:\s*\d+", out, re.M)
    assert not warned, "redocly lint warned: %s\n%s" % (warned, out[-8000:])
