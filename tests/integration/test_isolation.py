"""Issue 7, isolation: a matrix over every route of the application's route
table (src/routes.c, app_routes).

For every route that takes credentials:
- no credentials, an unknown token, or a revoked key: 401 UNAUTHORIZED with
  the message `Invalid or missing API key`;
- another account's token against this account's resources (endpoint, its
  signing key, inbound endpoint, its signing key, enterprise, enterprise
  key, workspace, workspace key): exactly the answer for a random absent id
  of the same shape (docs/api.md, Tenancy: 404 ENDPOINT_NOT_FOUND on endpoint
  paths, else 404 NOT_FOUND), and nothing changes;
- a member key: 403 FORBIDDEN for every admin action, before any OTP check.

The matrix is generated from ROUTES below; test_table_covers_app_routes
keeps ROUTES equal to the route table of src/routes.c (parsed as in
test_openapi.py), and checks the public/admin flags against it.
"""

import base64
import os
import re
import time
import uuid

import pytest

from harness import REPO, UNAUTHORIZED_MESSAGE, OtpAdmins, err, ok, request_id
from test_openapi import app_routes as openapi_app_routes
from test_openapi import normalize

APP_C = os.path.join(REPO, "src", "routes.c")

# An Ed25519 public JWK (RFC 8037 appendix A.2) to register as enterprise keys.
ED25519_JWK = {"kty": "OKP", "crv": "Ed25519",
               "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
# A syntactically valid JWS/JWT whose signature is garbage: it gets past body
# validation (so that the existence check decides the answer).
GARBAGE_JWS = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsifQ.e30.AAAA"
VERIFY_HEADERS = {"webhook-id": "msg_1", "webhook-timestamp": "1614265330",
                  "webhook-signature": "v1,AAAA"}


# --- the table ------------------------------------------------------------------------

class Route:
    """One row of the matrix.

    path: a template; {ep} {ep_key} {ib} {ib_key} {ent} {ent_key} {ws}
    {ws_key} name this account's resources.  kind: "public" (no credentials),
    "item" (names resources), "list" (lists them) or "create" (makes one).
    admin: only admin keys may call it; otp: it also takes X-OTP.
    body: a valid body (a callable gets the world, for fresh values)."""

    def __init__(self, method, path, kind="item", admin=False, otp=False, body=None,
                 destructive=False, lists=None):
        self.method, self.path, self.kind = method, path, kind
        self.admin, self.otp, self.body = admin, otp, body
        self.destructive = destructive
        self.lists = lists          # for "list": the placeholder its items are
        self.params = re.findall(r"\{(\w+)\}", path)

    @property
    def id(self):
        return "%s %s" % (self.method, self.path)

    def make_body(self, world):
        b = self.body
        return b(world) if callable(b) else b


def _endpoint_routes(base, tag, create_body):
    return [
        Route("POST", base, "create", body=create_body),
        Route("GET", base, "list", lists=tag),
        Route("GET", base + "/{%s}" % tag),
        Route("DELETE", base + "/{%s}" % tag, destructive=True),
        Route("POST", base + "/{%s}/signing-keys" % tag, body={}),
        Route("GET", base + "/{%s}/signing-keys" % tag),
        Route("POST", base + "/{%s}/signing-keys/rotate" % tag, body={"grace_seconds": 60},
              destructive=True),
        Route("GET", base + "/{%s}/signing-keys/{%s_key}" % (tag, tag)),
        Route("PATCH", base + "/{%s}/signing-keys/{%s_key}" % (tag, tag),
              body={"expires_at": None}, destructive=True),
        Route("DELETE", base + "/{%s}/signing-keys/{%s_key}" % (tag, tag), destructive=True),
        # Public: the endpoint id is the capability, whoever's it is.
        Route("GET", base + "/{%s}/jwks.json" % tag, "public"),
        Route("POST", base + "/{%s}/sign" % tag, body={"payload": "isolation"}),
        Route("POST", base + "/{%s}/verify" % tag,
              body={"payload": "isolation", "headers": VERIFY_HEADERS}),
    ]


def _new_slug(_world=None):
    return "iso-" + os.urandom(6).hex()


ROUTES = [
    Route("GET", "/healthz", "public"),
    Route("GET", "/metrics", "public"),
] + _endpoint_routes("/v1/endpoints", "ep", {"url": "https://example.com/isolation"}) \
  + _endpoint_routes("/v1/inbound-endpoints", "ib",
                     {"forward_url": "https://example.com/isolation"}) + [
    Route("GET", "/v1/audit-events", "list", admin=True, lists="event"),
    Route("POST", "/v1/enterprises", "create", admin=True, body={"name": "Isolation Inc"}),
    Route("GET", "/v1/enterprises", "list", lists="ent"),
    Route("GET", "/v1/enterprises/{ent}"),
    Route("POST", "/v1/enterprises/{ent}/webhook-signing-keys", admin=True, otp=True,
          body=lambda w: {"jwks": {"keys": [ED25519_JWK]}, "keyId": "iso-" + os.urandom(5).hex()}),
    Route("GET", "/v1/enterprises/{ent}/webhook-signing-keys"),
    Route("GET", "/v1/enterprises/{ent}/webhook-signing-keys/{ent_key}"),
    Route("DELETE", "/v1/enterprises/{ent}/webhook-signing-keys/{ent_key}", admin=True,
          otp=True, destructive=True),
    Route("POST", "/v1/enterprises/{ent}/verify", body={"jws": GARBAGE_JWS}),
    Route("POST", "/v1/workspaces", "create", admin=True, body=lambda w: {"slug": _new_slug()}),
    Route("GET", "/v1/workspaces", "list", lists="ws"),
    Route("POST", "/v1/{ws}/ws_signing_key/", admin=True, body={"algorithm": "EdDSA"}),
    Route("GET", "/v1/{ws}/ws_signing_key/"),
    Route("GET", "/v1/{ws}/ws_signing_key/{ws_key}/"),
    Route("PATCH", "/v1/{ws}/ws_signing_key/{ws_key}/", admin=True,
          body={"allowed_domains": ["isolation.example"]}, destructive=True),
    Route("DELETE", "/v1/{ws}/ws_signing_key/{ws_key}/", admin=True, destructive=True),
    Route("POST", "/v1/{ws}/ws_signing_key/{ws_key}/roll/", admin=True,
          body={"grace_seconds": 0}, destructive=True),
    Route("GET", "/v1/{ws}/jwks.json", "public"),
    Route("POST", "/v1/{ws}/verify-token", body={"token": GARBAGE_JWS}),
]

AUTH_ROUTES = [r for r in ROUTES if r.kind != "public"]
ITEM_ROUTES = [r for r in ROUTES if r.kind == "item"]
ADMIN_ROUTES = [r for r in ROUTES if r.admin]
ids = lambda rs: [r.id for r in rs]  # noqa: E731

# Which placeholders are "parents" (the first id of a path) and the error code
# an absent one answers.
ENDPOINT_PARAMS = {"ep", "ib"}


# --- the route table of src/routes.c, with its flags --------------------------------------

def _strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def app_route_flags():
    """{(METHOD, pattern): flags expression} of app_routes, ENDPOINT_ROUTES
    expanded (the same reading of src/routes.c as test_openapi.app_routes, plus
    the flags column)."""
    with open(APP_C, encoding="utf-8") as f:
        src = _strip_c_comments(f.read())
    m = re.search(r"#define\s+ENDPOINT_ROUTES\s*\(\s*(\w+)\s*,\s*\w+\s*\)((?:[^\n]*\\\n)*[^\n]*)",
                  src)
    assert m, "no ENDPOINT_ROUTES macro in src/routes.c"
    base_name, body = m.group(1), m.group(2).replace("\\\n", " ")
    macro = re.findall(r'\{\s*"([A-Z]+)"\s*,\s*%s\b\s*(?:"([^"]*)")?\s*,\s*\w+\s*,\s*([^,]+?)\s*,'
                       % re.escape(base_name), body)
    assert macro, "ENDPOINT_ROUTES has no entries"
    t = re.search(r"app_routes\s*\[\s*\]\s*=\s*\{(.*?)\n\};", src, flags=re.S)
    assert t, "no app_routes table in src/routes.c"
    table = t.group(1)
    out = {}
    for base in re.findall(r'ENDPOINT_ROUTES\s*\(\s*"([^"]+)"', table):
        for method, suffix, flags in macro:
            out[(method, base + suffix)] = " ".join(flags.split())
    table = re.sub(r"ENDPOINT_ROUTES\s*\([^)]*\)", " ", table)
    for method, pattern, flags in re.findall(
            r'\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*\w+\s*,\s*([^,]+?)\s*,', table, flags=re.S):
        out[(method, pattern)] = " ".join(flags.split())
    return out


def test_table_covers_app_routes():
    flags = app_route_flags()
    in_app = {(m, normalize(p)) for m, p in flags}
    # The same set as test_openapi's reading of the table.
    assert in_app == {(m, normalize(p)) for m, p in openapi_app_routes()}
    in_table = {(r.method, normalize(r.path)) for r in ROUTES}
    assert len(in_table) == len(ROUTES), "duplicate rows in ROUTES"
    assert not in_app - in_table, "routes of src/routes.c missing from the isolation matrix: %s" \
        % sorted(in_app - in_table)
    assert not in_table - in_app, "rows of the matrix src/routes.c does not have: %s" \
        % sorted(in_table - in_app)
    by_key = {(m, normalize(p)): f for (m, p), f in flags.items()}
    for r in ROUTES:
        f = by_key[(r.method, normalize(r.path))]
        assert ("ROUTE_PUBLIC" in f) == (r.kind == "public"), (r.id, f)
        assert (("ROUTE_ADMIN" in f) or ("ROUTE_OTP" in f)) == r.admin, (r.id, f)
        assert ("ROUTE_OTP" in f) == r.otp, (r.id, f)


# --- ids ----------------------------------------------------------------------------

def hex_(n):
    return os.urandom(n).hex()[:n]


def uuid7():
    b = bytearray(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(b)))


ABSENT = {
    "ep": lambda: "ep_" + hex_(32),
    "ep_key": lambda: "sk_" + hex_(32),
    "ib": uuid7,
    "ib_key": lambda: "sk_" + hex_(32),
    "ent": lambda: "ent_" + hex_(32),
    "ent_key": lambda: "iso-" + hex_(10),
    "ws": lambda: "iso-" + hex_(12),
    "ws_key": lambda: "signing_key_" + hex_(24),
}


def random_token():
    return "sgk_" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


# --- the two accounts -----------------------------------------------------------------

class Account:
    """An account with admin, member and revoked keys, an OTP admin pool,
    and one resource of every kind (endpoints with two signing keys each)."""

    def __init__(self, inst, name):
        self.inst = inst
        self.acct, self.admin_id, self.admin = inst.account("admin", name)
        self.member = inst.apikey(self.acct, "member", name + " member")["token"]
        rev = inst.apikey(self.acct, "admin", name + " revoked")
        inst.ctl("apikey", "revoke", rev["id"])
        self.revoked = rev["token"]
        rev_m = inst.apikey(self.acct, "member", name + " revoked member")
        inst.ctl("apikey", "revoke", rev_m["id"])
        self.revoked_member = rev_m["token"]
        self.otp = OtpAdmins(inst, self.acct, name + " otp")
        self.ids = {}
        self.build()

    def build(self):
        inst, tok = self.inst, self.admin
        ep = inst.create_endpoint(tok, url="https://example.com/iso")
        inst.add_key(tok, ep["id"])
        self.ids["ep"], self.ids["ep_key"] = ep["id"], ep["signing_key"]["id"]
        ib = ok(inst.req("POST", "/v1/inbound-endpoints", tok,
                         json={"forward_url": "https://example.com/iso"}), 201)
        ok(inst.req("POST", "/v1/inbound-endpoints/%s/signing-keys" % ib["id"], tok), 201)
        self.ids["ib"], self.ids["ib_key"] = ib["id"], ib["signing_key"]["id"]
        ent = ok(inst.req("POST", "/v1/enterprises", tok, json={"name": "Iso Ent"}), 201)
        self.ids["ent"] = ent["id"]
        kid = "iso-" + hex_(10)
        ok(self.otp_request("POST", "/v1/enterprises/%s/webhook-signing-keys" % ent["id"],
                            json={"jwks": {"keys": [ED25519_JWK]}, "keyId": kid}), 201)
        self.ids["ent_key"] = kid
        slug = _new_slug()
        ok(inst.req("POST", "/v1/workspaces", tok, json={"slug": slug}), 201)
        self.ids["ws"] = slug
        wk = ok(inst.req("POST", "/v1/%s/ws_signing_key/" % slug, tok,
                         json={"algorithm": "EdDSA"}), 201)
        self.ids["ws_key"] = wk["uid"]

    def otp_request(self, method, path, **kw):
        """A request with an OTP admin of this account and a fresh code."""
        a, h = self.otp.next()
        headers = dict(kw.pop("headers", None) or {}, **h)
        return self.inst.req(method, path, a.token, headers=headers, **kw)

    def snapshot(self):
        """What the owner sees of its resources (to prove nothing changed)."""
        inst, tok, i = self.inst, self.admin, self.ids
        ws_key = ok(inst.req("GET", "/v1/%s/ws_signing_key/%s/" % (i["ws"], i["ws_key"]), tok))
        ent_key = ok(inst.req("GET", "/v1/enterprises/%s/webhook-signing-keys/%s"
                              % (i["ent"], i["ent_key"]), tok))
        return {
            "ep": ok(inst.req("GET", "/v1/endpoints/" + i["ep"], tok)),
            "ep_keys": ok(inst.req("GET", "/v1/endpoints/%s/signing-keys" % i["ep"], tok)),
            "ib": ok(inst.req("GET", "/v1/inbound-endpoints/" + i["ib"], tok)),
            "ib_keys": ok(inst.req("GET", "/v1/inbound-endpoints/%s/signing-keys" % i["ib"],
                                   tok)),
            "ent": ok(inst.req("GET", "/v1/enterprises/" + i["ent"], tok)),
            "ent_key": ent_key,
            "ws_keys": ok(inst.req("GET", "/v1/%s/ws_signing_key/?include_deleted=true"
                                   % i["ws"], tok)),
            "ws_key": ws_key,
        }


@pytest.fixture(scope="module")
def world(signet_instance):
    if signet_instance.proc is None or signet_instance.proc.poll() is not None:
        signet_instance.stop()
        signet_instance.start()
    a = Account(signet_instance, "iso owner")
    b = Account(signet_instance, "iso other")
    return signet_instance, a, b


def fill(route, ids):
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], route.path)


def send(inst, route, path, token, world_acct=None, headers=None, scheme="Bearer"):
    kw = {}
    body = route.make_body(world_acct)
    if body is not None:
        kw["json"] = body
    elif route.method in ("POST", "PATCH"):
        kw["json"] = {}
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "%s %s" % (scheme, token)
    return inst.req(route.method, path, headers=h, **kw)


def unauthorized(resp):
    err(resp, 401, "UNAUTHORIZED", message=UNAUTHORIZED_MESSAGE)


def schemes(route):
    """Workspace routes also take `ServiceToken`."""
    return ("Bearer", "ServiceToken") if "{ws}" in route.path or "/workspaces" in route.path \
        else ("Bearer",)


# --- 401 ----------------------------------------------------------------------------

@pytest.mark.parametrize("route", AUTH_ROUTES, ids=ids(AUTH_ROUTES))
def test_no_or_bad_credentials_401(world, route):
    inst, a, _b = world
    before = a.snapshot()
    path = fill(route, a.ids)
    unauthorized(send(inst, route, path, None))
    for scheme in schemes(route):
        for tok in (random_token(), a.revoked, a.revoked_member):
            unauthorized(send(inst, route, path, tok, scheme=scheme))
    # Malformed Authorization headers.
    for h in ("Bearer", "Bearer ", "Basic " + base64.b64encode(b"x:y").decode(),
              "bearer" + a.admin, "Bearer " + a.admin[:-1], "Bearer " + a.admin + "x"):
        unauthorized(send(inst, route, path, None, a, headers={"Authorization": h}))
    if route.otp:
        # A well-formed code does not make up for a revoked key.
        unauthorized(send(inst, route, path, a.revoked, a, headers={"X-OTP": "000000"}))
    assert a.snapshot() == before, "a refused request changed something"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.kind == "public"],
                         ids=ids([r for r in ROUTES if r.kind == "public"]))
def test_public_routes_need_no_credentials(world, route):
    inst, a, _b = world
    r = inst.req(route.method, fill(route, a.ids))
    assert r.status_code == 200, "%s: %d %s" % (route.id, r.status_code, r.text[:300])
    request_id(r)


# --- another account's resources -------------------------------------------------------

def comparable(resp, ids):
    """The parts of an answer that must not differ between a foreign and an
    absent resource: status, Allow, error code and message (ids masked)."""
    body = resp.json() if resp.content else None
    if isinstance(body, dict) and "meta" in body:
        body = dict(body)
        body["meta"] = {k: v for k, v in body["meta"].items() if k != "request_id"}
    text = repr(body)
    for i in ids:
        text = text.replace(i, "<id>")
    return (resp.status_code, resp.headers.get("Allow"),
            resp.headers.get("Content-Type", "").split(";")[0], text)


def variants(route, a, b):
    """(label, foreign ids, absent ids, expected code) for a route: every
    placeholder foreign vs absent, and, for a child id, the caller's own
    parent with the other account's child vs an absent child."""
    out = []
    foreign = {p: a.ids[p] for p in route.params}
    absent = {p: ABSENT[p]() for p in route.params}
    parent = route.params[0]
    code = "ENDPOINT_NOT_FOUND" if parent in ENDPOINT_PARAMS else "NOT_FOUND"
    out.append(("foreign " + "+".join(route.params), foreign, absent, code))
    if len(route.params) == 2:
        child = route.params[1]
        own = {parent: b.ids[parent], child: a.ids[child]}
        own_absent = {parent: b.ids[parent], child: ABSENT[child]()}
        out.append(("own %s, foreign %s" % (parent, child), own, own_absent, "NOT_FOUND"))
    return out


@pytest.mark.parametrize("route", ITEM_ROUTES, ids=ids(ITEM_ROUTES))
def test_other_accounts_resources_answer_as_absent(world, route):
    inst, a, b = world
    before = a.snapshot()
    b_before = b.snapshot()
    for label, foreign, absent, code in variants(route, a, b):
        for scheme in schemes(route):
            answers = []
            for ids_ in (foreign, absent):
                path = fill(route, ids_)
                if route.otp:
                    # Past the role and OTP checks: B's admin with a fresh code.
                    ah, h = b.otp.next()
                    r = send(inst, route, path, ah.token, b, headers=h, scheme=scheme)
                else:
                    r = send(inst, route, path, b.admin, b, scheme=scheme)
                answers.append(r)
            f, ab = answers
            what = "%s (%s, %s)" % (route.id, label, scheme)
            err(ab, 404, code)
            err(f, 404, code)
            assert comparable(f, foreign.values()) == comparable(ab, absent.values()), \
                "%s: another account's resource answers\n  %s %s -> %d %s\nbut an absent one\n" \
                "  %s %s -> %d %s" % (what, route.method, f.request.path_url, f.status_code,
                                      f.text, route.method, ab.request.path_url,
                                      ab.status_code, ab.text)
        # A member of B is no better placed (for routes members may use).
        if not route.admin:
            r = send(inst, route, fill(route, foreign), b.member, b)
            err(r, 404, code)
    assert a.snapshot() == before, "another account's request changed this account's resources"
    if not route.destructive:
        assert b.snapshot() == b_before


def test_lists_show_only_own_items(world):
    inst, a, b = world
    for path, key in (("/v1/endpoints", "ep"), ("/v1/inbound-endpoints", "ib"),
                      ("/v1/enterprises", "ent")):
        items = ok(inst.req("GET", path + "?limit=100", b.admin))
        assert a.ids[key] not in {x["id"] for x in items}, path
        assert b.ids[key] in {x["id"] for x in items}, path
    slugs = {x["slug"] for x in ok(inst.req("GET", "/v1/workspaces?limit=100", b.admin))}
    assert a.ids["ws"] not in slugs and b.ids["ws"] in slugs
    for p in ("/v1/%s/ws_signing_key/", "/v1/%s/ws_signing_key/?include_deleted=true"):
        err(inst.req("GET", p % a.ids["ws"], b.admin), 404, "NOT_FOUND")
    # B's audit trail names none of A's resources, nor A's requests.
    text = inst.req("GET", "/v1/audit-events?limit=100", b.admin).text
    for v in a.ids.values():
        assert v not in text, "B's audit trail names A's %s" % v


@pytest.mark.parametrize("route", [r for r in ROUTES if r.kind == "list"],
                         ids=ids([r for r in ROUTES if r.kind == "list"]))
def test_starting_after_another_accounts_item(world, route):
    """`starting_after` naming another account's item answers as an absent one."""
    inst, a, b = world
    if route.lists == "event":
        events = ok(inst.req("GET", "/v1/audit-events?limit=1", a.admin))
        foreign = events[0]["id"]
        prefix = foreign[:foreign.rindex("_") + 1] if "_" in foreign else ""
        absent = prefix + hex_(len(foreign) - len(prefix))
    elif route.lists == "ws":
        foreign, absent = a.ids["ws"], ABSENT["ws"]()
    else:
        foreign, absent = a.ids[route.lists], ABSENT[route.lists]()
    rf = inst.req("GET", "%s?starting_after=%s" % (route.path, foreign), b.admin)
    ra = inst.req("GET", "%s?starting_after=%s" % (route.path, absent), b.admin)
    request_id(rf)
    assert comparable(rf, [foreign]) == comparable(ra, [absent]), \
        "%s: starting_after=<A's item> -> %d %s, an absent one -> %d %s" % (
            route.id, rf.status_code, rf.text, ra.status_code, ra.text)
    if route.lists == "event":
        # and by resource: A's endpoint in B's trail is an unknown resource.
        rf = inst.req("GET", "/v1/audit-events?resource_id=" + a.ids["ep"], b.admin)
        ra = inst.req("GET", "/v1/audit-events?resource_id=" + ABSENT["ep"](), b.admin)
        assert comparable(rf, [a.ids["ep"]]) == comparable(ra, []), (rf.text, ra.text)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.kind == "create"],
                         ids=ids([r for r in ROUTES if r.kind == "create"]))
def test_created_resources_are_invisible_to_other_accounts(world, route):
    """What B creates answers to A as absent (the mirror of the item tests)."""
    inst, a, b = world
    r = send(inst, route, route.path, b.admin, b)
    data = ok(r, 201)
    if route.path == "/v1/workspaces":
        slug = data["slug"]
        ra = inst.req("GET", "/v1/%s/ws_signing_key/" % slug, a.admin)
        rabs = inst.req("GET", "/v1/%s/ws_signing_key/" % ABSENT["ws"](), a.admin)
        err(ra, 404, "NOT_FOUND")
        assert comparable(ra, [slug]) == comparable(rabs, [rabs.request.path_url.split("/")[2]])
        return
    kind = {"/v1/endpoints": "ep", "/v1/inbound-endpoints": "ib", "/v1/enterprises": "ent"}[
        route.path]
    code = "ENDPOINT_NOT_FOUND" if kind in ENDPOINT_PARAMS else "NOT_FOUND"
    absent = ABSENT[kind]()
    ra = inst.req("GET", "%s/%s" % (route.path, data["id"]), a.admin)
    rabs = inst.req("GET", "%s/%s" % (route.path, absent), a.admin)
    err(ra, 404, code)
    assert comparable(ra, [data["id"]]) == comparable(rabs, [absent])


# --- members ------------------------------------------------------------------------

@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=ids(ADMIN_ROUTES))
def test_member_forbidden_for_admin_actions(world, route):
    inst, a, _b = world
    before = a.snapshot()
    path = fill(route, a.ids)
    for scheme in schemes(route):
        err(send(inst, route, path, a.member, a, scheme=scheme), 403, "FORBIDDEN")
    if route.otp:
        # FORBIDDEN comes before any OTP check: with a wrong code, and with
        # a code that would be valid for an enrolled admin of the account.
        err(send(inst, route, path, a.member, a, headers={"X-OTP": "000000"}), 403, "FORBIDDEN")
        err(send(inst, route, path, a.member, a, headers={"X-OTP": "x" * 40}), 403, "FORBIDDEN")
    if route.params:
        # Also for another account's or an absent resource: role before existence.
        absent = fill(route, {p: ABSENT[p]() for p in route.params})
        err(send(inst, route, absent, a.member, a), 403, "FORBIDDEN")
    assert a.snapshot() == before, "a member's refused request changed something"


def test_member_still_reads(world):
    """The 403s above are about the role, not a broken member key."""
    inst, a, _b = world
    for r in ROUTES:
        if r.method == "GET" and r.kind != "public" and not r.admin:
            resp = inst.req("GET", fill(r, a.ids), a.member)
            assert resp.status_code == 200, "%s as member: %d %s" % (r.id, resp.status_code,
                                                                     resp.text[:300])


def test_otp_admin_helper_works(world):
    """The OTP pool used by the matrix really gets past the OTP check (else
    the foreign/absent comparison of OTP routes would compare two 403s)."""
    inst, a, _b = world
    kid = "iso-" + hex_(10)
    r = a.otp_request("POST", "/v1/enterprises/%s/webhook-signing-keys" % a.ids["ent"],
                      json={"jwks": {"keys": [ED25519_JWK]}, "keyId": kid})
    ok(r, 201)
    ok(a.otp_request("DELETE", "/v1/enterprises/%s/webhook-signing-keys/%s"
                     % (a.ids["ent"], kid)), 200)

