"""docs/api.md, the HTTP API reference, against the code, and the
documentation's independence of anything outside the repository.

- Every route of the route table (src/routes.c, app_routes, parsed as
  test_openapi.py does) has a heading "`METHOD /path`" in docs/api.md
  (path parameters as "{name}", compared with every "{name}" as "{}" and no
  trailing slash), and every such heading names a route of the table.
- Every error code of src/err.c (bar the internal CONFLICT, always answered
  as INTERNAL_ERROR) is a row "| status | `CODE` |" of api.md's error table.
- No tracked file outside tests/ refers to "../shared": the docs stand alone.

No web server is needed.
"""

import os
import re
import shutil
import subprocess

import pytest

import harness
from test_openapi import ERR_C, app_routes, normalize

REPO = harness.REPO
API_MD = os.path.join(REPO, "docs", "api.md")
OUTSIDE = b"../shared"

# A Markdown heading whose text is one code span "`METHOD /path`".
HEADING = re.compile(r"^#{2,6}\s+`([A-Z]+) (/[^`\s]*)`\s*$", re.M)


def api_md_text():
    with open(API_MD, encoding="utf-8") as f:
        return f.read()


def api_md_routes():
    """[(METHOD, normalised path)] of api.md's route headings, in order."""
    return [(m, normalize(p)) for m, p in HEADING.findall(api_md_text())]


def table_routes():
    return {(m, normalize(p)) for m, p in app_routes()}


def test_api_md_has_route_headings():
    documented = api_md_routes()
    assert ("GET", "/v1/endpoints/{}") in documented, documented[:5]
    dups = sorted({r for r in documented if documented.count(r) > 1})
    assert not dups, "routes with more than one heading in docs/api.md: %s" % dups


def test_api_md_documents_every_route():
    documented = set(api_md_routes())
    missing = sorted(r for r in table_routes() if r not in documented)
    assert not missing, "routes of src/routes.c without a heading in docs/api.md: %s" % missing


def test_api_md_documents_only_existing_routes():
    known = table_routes()
    extra = sorted(r for r in set(api_md_routes()) if r not in known)
    assert not extra, "docs/api.md documents routes src/routes.c does not have: %s" % extra


def test_api_md_documents_every_error_code():
    with open(ERR_C, encoding="utf-8") as f:
        codes = re.findall(r'\[SIG_\w+\]\s*=\s*\{\s*(\d+)\s*,\s*"([A-Z_]+)"', f.read())
    assert codes, "no error table in src/err.c"
    text = api_md_text()
    missing = sorted({(s, c) for s, c in codes if c not in ("OK", "CONFLICT") and
                      not re.search(r"^\|\s*%s\s*\|\s*`%s`\s*\|" % (s, c), text, re.M)})
    assert not missing, "error codes of src/err.c missing from docs/api.md's table: %s" % missing


def tracked_files():
    git = shutil.which("git")
    if git is None or not os.path.exists(os.path.join(REPO, ".git")):
        pytest.skip("not a git checkout (or no git): no list of tracked files")
    r = subprocess.run([git, "-C", REPO, "ls-files", "-z"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        pytest.skip("git ls-files failed: %s" % r.stderr.decode(errors="replace"))
    return [p for p in r.stdout.decode("utf-8", errors="surrogateescape").split("\0") if p]


def test_no_tracked_file_refers_outside_the_repository():
    """Tests may name the shared contract; nothing shipped may need it."""
    offenders = []
    for path in tracked_files():
        if path.startswith("tests/"):
            continue
        full = os.path.join(REPO, path)
        if not os.path.isfile(full) or os.path.islink(full):
            continue
        with open(full, "rb") as f:
            if OUTSIDE in f.read():
                offenders.append(path)
    assert not offenders, "tracked files referring to ../shared: %s" % offenders
