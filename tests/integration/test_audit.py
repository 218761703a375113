"""docs/api.md (Audit events), issue 6 and docs/api-notes.md ("Audit trail"):
`GET /v1/audit-events`, admin only, paged, newest first; every change of the
API and of signetctl is recorded in the same transaction as the change, with
its actor, time and request id; `?resource_id=` filters; one account never
sees another's events; no secret ever appears in the trail."""

import calendar
import concurrent.futures
import json
import os
import time
import urllib.parse

from harness import (TIMESTAMP_RE, UNAUTHORIZED_MESSAGE, OtpAdmin, OtpAdmins, err, ok, ok_list,
                     request_id)

EVENT_FIELDS = {"id", "at", "actor", "action", "resource_type", "resource_id", "request_id"}
SIGNETCTL = "signetctl"
ADMIN_NAME = "Audit admin"

# RFC 8037 appendix A.2: an Ed25519 public key.
ED25519_JWK = {"kty": "OKP", "crv": "Ed25519",
               "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}


# --- helpers -----------------------------------------------------------------

def audit_path(**params):
    q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    return "/v1/audit-events" + ("?" + q if q else "")


def page(inst, token, **params):
    """One page: (events, has_more, raw response text)."""
    r = inst.req("GET", audit_path(**params), token)
    data, more = ok_list(r)
    for e in data:
        assert_event_shape(e)
    return data, more, r.text


def all_events(inst, token, resource_id=None, limit=100, raw=None):
    """Every event of the listing, newest first, following starting_after."""
    out, after = [], None
    for _ in range(1000):
        data, more, text = page(inst, token, limit=limit, starting_after=after,
                                resource_id=resource_id)
        if raw is not None:
            raw.append(text)
        out.extend(data)
        if not more:
            return out
        assert data, "has_more with an empty page"
        after = data[-1]["id"]
    raise AssertionError("audit listing does not end")


def parse_at(s):
    assert isinstance(s, str) and TIMESTAMP_RE.match(s), "bad at %r" % s
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def assert_event_shape(e):
    assert isinstance(e, dict) and set(e) == EVENT_FIELDS, "event fields %r" % (e,)
    assert isinstance(e["id"], str) and e["id"], e
    assert abs(parse_at(e["at"]) - time.time()) < 600, e
    assert isinstance(e["actor"], dict) and set(e["actor"]) == {"id", "name"}, e
    assert isinstance(e["actor"]["id"], str) and e["actor"]["id"], e
    assert isinstance(e["actor"]["name"], str), e
    for k in ("action", "resource_type", "resource_id"):
        assert isinstance(e[k], str) and e[k], e
    assert e["request_id"] is None or isinstance(e["request_id"], str), e


def assert_newest_first(events):
    ats = [parse_at(e["at"]) for e in events]
    assert ats == sorted(ats, reverse=True), "not newest first: %r" % (
        [(e["action"], e["at"]) for e in events],)
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids), "duplicate event ids"


def fingerprint(e):
    return (e["action"], e["resource_id"], e["request_id"], e["actor"]["id"])


class Trail:
    """What a test did, as the groups of audit events it expects (one group
    per request or signetctl run, oldest first), and the secrets it saw."""

    def __init__(self, inst):
        self.inst = inst
        self.groups = []
        self.secrets = []

    def ctl(self, events, *args):
        out = self.inst.ctl(*args)
        self.groups.append([dict(e, request_id=None, actor=SIGNETCTL) for e in events(out)])
        return out

    def http(self, resp, status, actor, events):
        data = ok(resp, status)
        rid = request_id(resp)
        self.groups.append([dict(e, request_id=rid, actor=actor) for e in events(data)])
        return data

    def expected_count(self):
        return sum(len(g) for g in self.groups)


def ev(action, resource_id, resource_type=None):
    return {"action": action, "resource_id": resource_id,
            "resource_type": resource_type or action.split(".")[0]}


def check_against(trail, events, actors):
    """`events` (newest first) are exactly the trail's groups, in order."""
    assert_newest_first(events)
    oldest = list(reversed(events))
    assert len(oldest) == trail.expected_count(), "expected %d events, got %d: %s" % (
        trail.expected_count(), len(oldest),
        json.dumps([(e["action"], e["resource_id"]) for e in oldest], indent=1))
    i = 0
    for g in trail.groups:
        got = oldest[i:i + len(g)]
        i += len(g)
        want = sorted((e["action"], e["resource_id"], e["request_id"], e["actor"]) for e in g)
        have = sorted(fingerprint(e) for e in got)
        assert have == want, "events %r, expected %r" % (have, want)
        for e in got:
            exp = [x for x in g if x["action"] == e["action"] and
                   x["resource_id"] == e["resource_id"]][0]
            if exp["action"] == "totp.enrolled":
                pass  # resource type of an enrolment: not fixed by the docs
            else:
                assert e["resource_type"] == exp["resource_type"], e
            if exp["actor"] == SIGNETCTL:
                assert e["actor"]["id"] == SIGNETCTL, e
                assert e["request_id"] is None, e
            else:
                assert e["actor"] == actors[exp["actor"]], e


def exercise(inst):
    """Make one change of every kind (signetctl and HTTP), with reads in
    between; return (trail, account id, admin token, actors)."""
    t = Trail(inst)
    acct = t.ctl(lambda o: [ev("account.created", o["id"], "account")],
                 "account", "create", "--name", "audit co")["id"]
    adm = t.ctl(lambda o: [ev("api_key.created", o["id"], "api_key")],
                "apikey", "create", "--account", acct, "--role", "admin", "--name", ADMIN_NAME)
    member = t.ctl(lambda o: [ev("api_key.created", o["id"], "api_key")],
                   "apikey", "create", "--account", acct, "--role", "member", "--name", "m")
    tok = adm["token"]
    t.secrets += [adm["token"], member["token"]]
    actors = {adm["id"]: {"id": adm["id"], "name": ADMIN_NAME}}

    # An OTP admin: its key and its enrolment come from signetctl.
    otp_key = t.ctl(lambda o: [ev("api_key.created", o["id"], "api_key")],
                    "apikey", "create", "--account", acct, "--role", "admin",
                    "--name", "otp admin")
    enrol = t.ctl(lambda o: [ev("totp.enrolled", otp_key["id"], "api_key")],
                  "totp", "enroll", "--apikey", otp_key["id"])
    t.secrets += [otp_key["token"], enrol["secret"], enrol["otpauth_uri"]]
    otp = OtpAdmin.__new__(OtpAdmin)
    otp.id, otp.token, otp.name, otp.secret, otp.last = (
        otp_key["id"], otp_key["token"], "otp admin", enrol["secret"], -1)
    actors[otp.id] = {"id": otp.id, "name": "otp admin"}
    A = adm["id"]

    # Outbound endpoint: created (with its first key), a key added, the first
    # key deleted, then the endpoint deleted.
    ep = t.http(inst.req("POST", "/v1/endpoints", tok, json={"url": "https://example.com/a"}),
                201, A, lambda d: [ev("endpoint.created", d["id"]),
                                   ev("signing_key.created", d["signing_key"]["id"])])
    t.secrets.append(ep["signing_key"]["signing_secret"])
    ok(inst.req("GET", "/v1/endpoints/%s" % ep["id"], tok))
    ok(inst.req("POST", "/v1/endpoints/%s/sign" % ep["id"], tok, json={"payload": "x"}))
    k2 = t.http(inst.req("POST", "/v1/endpoints/%s/signing-keys" % ep["id"], tok), 201, A,
                lambda d: [ev("signing_key.created", d["id"])])
    t.secrets.append(k2["signing_secret"])
    r = inst.req("DELETE", "/v1/endpoints/%s/signing-keys/%s" % (ep["id"], ep["signing_key"]["id"]),
                 tok)
    assert r.status_code == 204, r.text
    t.groups.append([dict(ev("signing_key.deleted", ep["signing_key"]["id"]),
                          request_id=request_id(r), actor=A)])
    r = inst.req("DELETE", "/v1/endpoints/%s" % ep["id"], tok)
    assert r.status_code in (200, 204), r.text
    t.groups.append([dict(ev("endpoint.deleted", ep["id"]), request_id=request_id(r), actor=A)])

    # Inbound endpoint, a key of its own, then deleted.
    ib = t.http(inst.req("POST", "/v1/inbound-endpoints", tok,
                         json={"forward_url": "https://example.com/in"}), 201, A,
                lambda d: [ev("inbound_endpoint.created", d["id"]),
                           ev("signing_key.created", d["signing_key"]["id"])])
    t.secrets.append(ib["signing_key"]["signing_secret"])
    ik = t.http(inst.req("POST", "/v1/inbound-endpoints/%s/signing-keys" % ib["id"], tok), 201,
                A, lambda d: [ev("signing_key.created", d["id"])])
    t.secrets.append(ik["signing_secret"])
    ok(inst.req("GET", "/v1/inbound-endpoints/%s/signing-keys" % ib["id"], tok))
    r = inst.req("DELETE", "/v1/inbound-endpoints/%s/signing-keys/%s" % (ib["id"], ik["id"]), tok)
    assert r.status_code == 204, r.text
    t.groups.append([dict(ev("signing_key.deleted", ik["id"]), request_id=request_id(r), actor=A)])
    r = inst.req("DELETE", "/v1/inbound-endpoints/%s" % ib["id"], tok)
    assert r.status_code in (200, 204), r.text
    t.groups.append([dict(ev("inbound_endpoint.deleted", ib["id"]), request_id=request_id(r),
                          actor=A)])

    # Enterprise and a webhook signing key, registered and revoked with OTP.
    ent = t.http(inst.req("POST", "/v1/enterprises", tok, json={"name": "Audit Ent"}), 201, A,
                 lambda d: [ev("enterprise.created", d["id"])])
    kid = "audit-" + os.urandom(4).hex()
    rid = "%s/%s" % (ent["id"], kid)
    t.http(inst.req("POST", "/v1/enterprises/%s/webhook-signing-keys" % ent["id"], otp.token,
                    json={"jwks": {"keys": [ED25519_JWK]}, "keyId": kid},
                    headers={"X-OTP": otp.code()}),
           201, otp.id, lambda d: [ev("webhook_signing_key.registered", rid)])
    ok(inst.req("GET", "/v1/enterprises/%s/webhook-signing-keys" % ent["id"], tok))
    t.http(inst.req("DELETE", "/v1/enterprises/%s/webhook-signing-keys/%s" % (ent["id"], kid),
                    otp.token, headers={"X-OTP": otp.code()}),
           200, otp.id, lambda d: [ev("webhook_signing_key.revoked", rid)])

    # Workspace and its keys: created, updated, rolled (the new key is
    # created by the roll), deleted.
    slug = "audit-" + os.urandom(5).hex()
    t.http(inst.req("POST", "/v1/workspaces", tok, json={"slug": slug}), 201, A,
           lambda d: [ev("workspace.created", slug)])
    base = "/v1/%s/ws_signing_key/" % slug
    wk = t.http(inst.req("POST", base, tok, json={"algorithm": "EdDSA"}), 201, A,
                lambda d: [ev("workspace_signing_key.created", d["uid"])])
    t.secrets += [wk["private_key_pem"], wk["private_key_base64"]]
    t.http(inst.req("PATCH", base + wk["uid"] + "/", tok,
                    json={"allowed_domains": ["example.com"]}), 200, A,
           lambda d: [ev("workspace_signing_key.updated", wk["uid"])])
    assert inst.req("GET", "/v1/%s/jwks.json" % slug).status_code == 200
    nk = t.http(inst.req("POST", base + wk["uid"] + "/roll/", tok, json={"grace_seconds": 60}),
                201, A, lambda d: [ev("workspace_signing_key.rolled", wk["uid"]),
                                   ev("workspace_signing_key.created", d["uid"])])
    t.secrets += [nk["private_key_pem"], nk["private_key_base64"]]
    t.http(inst.req("DELETE", base + nk["uid"] + "/", tok), 200, A,
           lambda d: [ev("workspace_signing_key.deleted", nk["uid"])])

    # signetctl revokes the member key.
    t.ctl(lambda o: [ev("api_key.revoked", member["id"], "api_key")],
          "apikey", "revoke", member["id"])
    return t, acct, tok, actors


def secret_forms(s):
    """A secret and the parts of it that must not appear either."""
    forms = {s}
    if s.startswith("whsec_"):
        forms.add(s[len("whsec_"):])
    if "PRIVATE KEY-----" in s:
        body = "".join(l for l in s.splitlines() if l and not l.startswith("-----"))
        forms.add(body)
        forms.update(l for l in s.splitlines() if len(l) >= 32 and not l.startswith("-----"))
    if s.startswith("otpauth://"):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(s).query)
        forms.update(q.get("secret", []))
    return forms


def json_escaped(s):
    return json.dumps(s)[1:-1]


# --- access ------------------------------------------------------------------------

def test_member_forbidden(signet):
    acct, _, _ = signet.account("admin")
    member = signet.apikey(acct, "member")["token"]
    err(signet.req("GET", "/v1/audit-events", member), 403, "FORBIDDEN")


def test_no_token_401(signet):
    err(signet.req("GET", "/v1/audit-events"), 401, "UNAUTHORIZED",
        message=UNAUTHORIZED_MESSAGE)
    err(signet.req("GET", "/v1/audit-events", "sgk_" + "A" * 43), 401, "UNAUTHORIZED")


def test_revoked_admin_401(signet):
    acct, kid, tok = signet.account("admin")
    ok(signet.req("GET", "/v1/audit-events", tok))
    signet.ctl("apikey", "revoke", kid)
    err(signet.req("GET", "/v1/audit-events", tok), 401, "UNAUTHORIZED")


# --- the trail ---------------------------------------------------------------------

def test_every_change_recorded(signet):
    trail, acct, tok, actors = exercise(signet)
    events = all_events(signet, tok)
    check_against(trail, events, actors)
    actions = {e["action"] for e in events}
    assert actions == {
        "account.created", "api_key.created", "api_key.revoked", "totp.enrolled",
        "endpoint.created", "endpoint.deleted", "inbound_endpoint.created",
        "inbound_endpoint.deleted", "signing_key.created", "signing_key.deleted",
        "enterprise.created", "webhook_signing_key.registered", "webhook_signing_key.revoked",
        "workspace.created", "workspace_signing_key.created", "workspace_signing_key.rolled",
        "workspace_signing_key.updated", "workspace_signing_key.deleted"}, actions
    # Reads made afterwards change nothing.
    ok(signet.req("GET", "/v1/endpoints", tok))
    ok(signet.req("GET", "/v1/enterprises", tok))
    assert all_events(signet, tok) == events


def test_endpoint_creation_is_two_events_of_one_request(signet, admin):
    _, kid, tok = admin
    r = signet.req("POST", "/v1/endpoints", tok, json={"url": "https://example.com/two"})
    ep = ok(r, 201)
    events, _, _ = page(signet, tok, limit=2)
    assert sorted((e["action"], e["resource_type"], e["resource_id"]) for e in events) == sorted([
        ("endpoint.created", "endpoint", ep["id"]),
        ("signing_key.created", "signing_key", ep["signing_key"]["id"])]), events
    for e in events:
        assert e["request_id"] == request_id(r), e
        assert e["actor"] == {"id": kid, "name": "test key"}, e


def test_signetctl_events(signet):
    acct = signet.ctl("account", "create", "--name", "ctl co")["id"]
    key = signet.ctl("apikey", "create", "--account", acct, "--role", "admin", "--name", "ctl")
    enrol = signet.ctl("totp", "enroll", "--apikey", key["id"])
    other = signet.ctl("apikey", "create", "--account", acct, "--role", "member")
    signet.ctl("apikey", "revoke", other["id"])
    events = all_events(signet, key["token"])
    assert [(e["action"], e["resource_id"]) for e in events] == [
        ("api_key.revoked", other["id"]), ("api_key.created", other["id"]),
        ("totp.enrolled", key["id"]), ("api_key.created", key["id"]),
        ("account.created", acct)], events
    for e in events:
        assert e["actor"]["id"] == SIGNETCTL and e["request_id"] is None, e
    assert events[-1]["resource_type"] == "account"
    assert events[0]["resource_type"] == "api_key"
    text = json.dumps(events)
    for s in (key["token"], other["token"], enrol["secret"]):
        assert s not in text


def test_paging(signet):
    acct, _, tok = signet.account("admin")
    for i in range(5):
        signet.create_endpoint(tok, url="https://example.com/p%d" % i)
    full = all_events(signet, tok)
    # account.created, api_key.created, and two events per endpoint.
    assert len(full) == 12, [e["action"] for e in full]
    assert_newest_first(full)
    assert full[-1]["action"] == "account.created"

    got, after, pages = [], None, []
    while True:
        data, more, _ = page(signet, tok, limit=5, starting_after=after)
        pages.append((len(data), more))
        got.extend(data)
        if not more:
            break
        after = data[-1]["id"]
    assert pages == [(5, True), (5, True), (2, False)], pages
    assert got == full

    # has_more is exact.
    data, more, _ = page(signet, tok, limit=12)
    assert data == full and more is False
    data, more, _ = page(signet, tok, limit=11)
    assert data == full[:11] and more is True
    data, more, _ = page(signet, tok, limit=1, starting_after=full[-2]["id"])
    assert data == [full[-1]] and more is False
    data, more, _ = page(signet, tok, starting_after=full[-1]["id"])
    assert data == [] and more is False
    # The default page is 20 (docs/api.md, Paging).
    for i in range(5):
        signet.create_endpoint(tok, url="https://example.com/q%d" % i)
    data, more, _ = page(signet, tok)
    assert len(data) == 20 and more is True


def test_paging_bad_parameters(signet):
    acct, _, tok = signet.account("admin")
    _, _, other = signet.account("admin")
    theirs = page(signet, other, limit=1)[0][0]["id"]
    err(signet.req("GET", audit_path(starting_after=theirs), tok), 400, "INVALID_REQUEST")
    err(signet.req("GET", audit_path(starting_after="nonsense"), tok), 400, "INVALID_REQUEST")
    err(signet.req("GET", audit_path(limit=0), tok), 400, "INVALID_REQUEST")
    err(signet.req("GET", audit_path(limit=101), tok), 400, "INVALID_REQUEST")
    err(signet.req("GET", audit_path(resource_id=""), tok), 400, "INVALID_REQUEST")


def test_resource_filter(signet):
    _, _, tok = signet.account("admin")
    a = signet.create_endpoint(tok, url="https://example.com/fa")
    b = signet.create_endpoint(tok, url="https://example.com/fb")
    k = signet.add_key(tok, a["id"])
    r1 = signet.req("DELETE", "/v1/endpoints/%s/signing-keys/%s" % (a["id"], k["id"]), tok)
    assert r1.status_code == 204
    r2 = signet.req("DELETE", "/v1/endpoints/%s" % a["id"], tok)
    assert r2.status_code in (200, 204)

    evs = all_events(signet, tok, resource_id=a["id"])
    assert [(e["action"], e["resource_id"]) for e in evs] == [
        ("endpoint.deleted", a["id"]), ("endpoint.created", a["id"])], evs
    assert evs[0]["request_id"] == request_id(r2)
    evs = all_events(signet, tok, resource_id=k["id"])
    assert [e["action"] for e in evs] == ["signing_key.deleted", "signing_key.created"], evs
    assert evs[0]["request_id"] == request_id(r1)
    evs = all_events(signet, tok, resource_id=b["signing_key"]["id"])
    assert [e["action"] for e in evs] == ["signing_key.created"], evs

    # Paging within the filter.
    d1, more, _ = page(signet, tok, resource_id=a["id"], limit=1)
    assert more is True and d1[0]["action"] == "endpoint.deleted"
    d2, more, _ = page(signet, tok, resource_id=a["id"], limit=1, starting_after=d1[0]["id"])
    assert more is False and d2[0]["action"] == "endpoint.created"
    # starting_after must name an event of the same (filtered) listing.
    other = all_events(signet, tok, resource_id=b["id"])[0]["id"]
    err(signet.req("GET", audit_path(resource_id=a["id"], starting_after=other), tok),
        400, "INVALID_REQUEST")

    # Unknown resource: an empty listing.
    data, more, _ = page(signet, tok, resource_id="ep_" + "0" * 32)
    assert data == [] and more is False


def test_webhook_key_resource_id(signet):
    acct, _, tok = signet.account("admin")
    otp = OtpAdmin(signet, acct, "otp admin")
    ent = ok(signet.req("POST", "/v1/enterprises", tok, json={"name": "F"}), 201)
    kid = "filter-" + os.urandom(3).hex()
    path = "/v1/enterprises/%s/webhook-signing-keys" % ent["id"]
    r1 = signet.req("POST", path, otp.token, json={"jwks": {"keys": [ED25519_JWK]}, "keyId": kid},
                    headers={"X-OTP": otp.code()})
    ok(r1, 201)
    r2 = signet.req("DELETE", path + "/" + kid, otp.token, headers={"X-OTP": otp.code()})
    ok(r2)
    evs = all_events(signet, tok, resource_id="%s/%s" % (ent["id"], kid))
    assert [(e["action"], e["resource_type"], e["request_id"]) for e in evs] == [
        ("webhook_signing_key.revoked", "webhook_signing_key", request_id(r2)),
        ("webhook_signing_key.registered", "webhook_signing_key", request_id(r1))], evs
    for e in evs:
        assert e["actor"] == {"id": otp.id, "name": "otp admin"}, e


def test_other_accounts_invisible(signet):
    _, acct_a, tok_a, _ = exercise(signet)
    _, _, tok_b = signet.account("admin")
    signet.create_endpoint(tok_b, url="https://example.com/b")
    ev_a = all_events(signet, tok_a)
    ev_b = all_events(signet, tok_b)
    assert len(ev_b) == 4, ev_b
    ids_a = {e["id"] for e in ev_a}
    res_a = {e["resource_id"] for e in ev_a}
    assert not ids_a & {e["id"] for e in ev_b}
    assert not res_a & {e["resource_id"] for e in ev_b}
    for rid in sorted(res_a):
        data, more, _ = page(signet, tok_b, resource_id=rid)
        assert data == [] and more is False, (rid, data)
    # A member of A's account sees nothing either (admin only).
    member = signet.apikey(acct_a, "member")["token"]
    err(signet.req("GET", audit_path(resource_id=ev_a[0]["resource_id"]), member),
        403, "FORBIDDEN")


# --- failures leave no event ------------------------------------------------------------

def test_failed_changes_add_no_event(signet):
    acct, _, tok = signet.account("admin")
    otps = OtpAdmins(signet, acct, "otp admin")
    # Enough OTP keys made up front: a new one would add signetctl events.
    otps.pool = [OtpAdmin(signet, acct, "otp admin") for _ in range(4)]
    ep = signet.create_endpoint(tok)
    signet.add_key(tok, ep["id"])
    slug = "fail-" + os.urandom(5).hex()
    ok(signet.req("POST", "/v1/workspaces", tok, json={"slug": slug}), 201)
    wk = ok(signet.req("POST", "/v1/%s/ws_signing_key/" % slug, tok, json={}), 201)
    ok(signet.req("POST", "/v1/%s/ws_signing_key/%s/roll/" % (slug, wk["uid"]), tok), 201)
    ent = ok(signet.req("POST", "/v1/enterprises", tok, json={"name": "E"}), 201)
    kid = "k-" + os.urandom(3).hex()
    kpath = "/v1/enterprises/%s/webhook-signing-keys" % ent["id"]
    a, h = otps.next()
    ok(signet.req("POST", kpath, a.token, json={"jwks": {"keys": [ED25519_JWK]}, "keyId": kid},
                  headers=h), 201)
    a, h = otps.next()
    ok(signet.req("DELETE", kpath + "/" + kid, a.token, headers=h))
    only = signet.create_endpoint(tok)
    before = all_events(signet, tok)

    keys = "/v1/endpoints/%s/signing-keys" % ep["id"]
    err(signet.req("DELETE", "/v1/endpoints/%s/signing-keys/%s" % (
        only["id"], only["signing_key"]["id"]), tok), 409, "CANNOT_DELETE_LAST_SIGNING_KEY")
    err(signet.req("POST", keys, tok), 409, "MAX_SIGNING_KEYS_REACHED")
    err(signet.req("POST", "/v1/endpoints", tok, json={"url": "http://example.com"}), 400,
        "INVALID_REQUEST")
    err(signet.req("POST", "/v1/endpoints", tok, json={"url": "https://example.com",
                                                       "extra": 1}), 400, "INVALID_REQUEST")
    err(signet.req("POST", "/v1/inbound-endpoints", tok, json={}), 400, "INVALID_REQUEST")
    err(signet.req("DELETE", "/v1/endpoints/ep_%s" % ("0" * 32), tok), 404, "ENDPOINT_NOT_FOUND")
    err(signet.req("POST", "/v1/workspaces", tok, json={"slug": slug}), 409, "WORKSPACE_EXISTS")
    err(signet.req("POST", "/v1/workspaces", tok, json={"slug": "metrics"}), 400,
        "INVALID_REQUEST")
    err(signet.req("POST", "/v1/%s/ws_signing_key/%s/roll/" % (slug, wk["uid"]), tok), 409,
        "KEY_NOT_ACTIVE")
    err(signet.req("PATCH", "/v1/%s/ws_signing_key/%s/" % (slug, wk["uid"]), tok,
                   json={"allowed_domains": []}), 400, "INVALID_REQUEST")
    err(signet.req("POST", "/v1/%s/ws_signing_key/" % slug, tok, json={"algorithm": "HS256"}),
        400, "INVALID_REQUEST")
    err(signet.req("POST", "/v1/enterprises", tok, json={"name": ""}), 400, "INVALID_REQUEST")
    # A valid OTP, then a failure: the code is spent, but no change is made.
    a, h = otps.next()
    err(signet.req("POST", kpath, a.token, json={"jwks": {"keys": [ED25519_JWK]},
                                                 "keyId": kid}, headers=h),
        400, "KEY_ID_ALREADY_USED")
    a, h = otps.next()
    err(signet.req("DELETE", kpath + "/" + kid, a.token, headers=h), 409, "KEY_ALREADY_REVOKED")
    a, h = otps.next()
    err(signet.req("POST", kpath, a.token, json={"jwks": {"keys": [dict(ED25519_JWK, d="AA")]},
                                                 "keyId": "k2"}, headers=h),
        400, "INVALID_REQUEST")
    err(signet.req("POST", kpath, a.token, json={"jwks": {"keys": [ED25519_JWK]}}), 403,
        "INVALID_OTP")
    # signetctl failures.
    r = signet.ctl_run("apikey", "revoke", "ak_" + "0" * 24)
    assert r.returncode != 0
    r = signet.ctl_run("apikey", "create", "--account", acct, "--role", "owner")
    assert r.returncode != 0
    after = all_events(signet, tok)
    assert after == before, "failed requests added events: %r" % (
        [e for e in after if e not in before],)


def test_concurrent_changes_one_event_each(signet):
    """Racing writers (deadlocks retried inside the storage) leave exactly
    one event per acknowledged change, with that request's id: the event is
    part of the change's transaction."""
    _, _, tok = signet.account("admin")
    ep = signet.create_endpoint(tok)
    start = len(all_events(signet, tok))

    def add_key(_):
        return signet.req("POST", "/v1/endpoints/%s/signing-keys" % ep["id"], tok)

    def create(i):
        return signet.req("POST", "/v1/endpoints", tok,
                          json={"url": "https://example.com/c%d" % i})

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        adds = list(pool.map(add_key, range(16)))
        creates = list(pool.map(create, range(32)))
    won = [r for r in adds if r.status_code == 201]
    assert len(won) == 1, [r.status_code for r in adds]
    for r in adds:
        if r.status_code != 201:
            err(r, 409, "MAX_SIGNING_KEYS_REACHED")
    for r in creates:
        ok(r, 201)
    events = all_events(signet, tok)
    assert len(events) == start + 1 + 2 * len(creates), len(events)
    by_req = {}
    for e in events[:len(events) - start]:
        by_req.setdefault(e["request_id"], []).append(e["action"])
    assert by_req[request_id(won[0])] == ["signing_key.created"]
    for r in creates:
        assert sorted(by_req[request_id(r)]) == ["endpoint.created", "signing_key.created"], \
            by_req.get(request_id(r))
    for r in adds:
        if r.status_code != 201:
            assert request_id(r) not in by_req


# --- secrets -------------------------------------------------------------------------

def test_no_secret_in_audit_trail(signet):
    trail, acct, tok, _ = exercise(signet)
    # More secret-bearing answers: key rotation on a fresh endpoint, and a
    # second TOTP enrolment that replaces the first secret.
    ep = signet.create_endpoint(tok)
    trail.secrets.append(ep["signing_key"]["signing_secret"])
    trail.secrets.append(signet.add_key(tok, ep["id"])["signing_secret"])
    k = signet.apikey(acct, "admin", "again")
    trail.secrets.append(k["token"])
    for _ in range(2):
        e = signet.ctl("totp", "enroll", "--apikey", k["id"])
        trail.secrets += [e["secret"], e["otpauth_uri"]]
    assert len(trail.secrets) >= 14

    raw = []
    events = all_events(signet, tok, raw=raw, limit=7)
    assert len(events) == trail.expected_count() + 2 + 1 + 1 + 2
    for rid in {e["resource_id"] for e in events}:
        all_events(signet, tok, resource_id=rid, raw=raw)
    text = "\n".join(raw)
    for s in trail.secrets:
        for f in secret_forms(s):
            assert f not in text and json_escaped(f) not in text, \
                "a secret (%s...) is in the audit trail" % f[:12]
    for marker in ("whsec_", "sgk_", "PRIVATE KEY", "private_key", "otpauth", "signing_secret",
                   "\"secret\"", "token"):
        assert marker not in text, "%r in the audit trail" % marker
    # Nor in the server's log (docs/api.md, Audit events).
    log = signet.error_log()
    for s in trail.secrets:
        for f in secret_forms(s):
            assert f not in log, "a secret (%s...) is in the server log" % f[:12]
