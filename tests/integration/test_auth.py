"""docs/api.md, Authentication and API keys (without TOTP), and the
signetctl account/key commands: Bearer authentication, revocation, tenancy."""

import base64
import os
import stat

from harness import (ACCOUNT_ID_RE, APIKEY_ID_RE, TOKEN_RE, UNAUTHORIZED_MESSAGE,
                     err, ok, ok_list)

ABSENT_EP = "ep_" + "0" * 32


def random_token():
    return "sgk_" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def unauthorized(resp):
    err(resp, 401, "UNAUTHORIZED", message=UNAUTHORIZED_MESSAGE)


# --- signetctl -----------------------------------------------------------------

def test_signetctl_init_is_idempotent(signet, token):
    out = signet.ctl("init")
    assert out["initialized"] is True
    assert os.path.realpath(out["home"]) == os.path.realpath(signet.home)
    # Existing data and credentials survive a second init.
    ok(signet.req("GET", "/v1/endpoints", token))


def test_master_key_mode_0600(signet):
    st = os.stat(os.path.join(signet.home, "master.key"))
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)


def test_signetctl_ids_and_token_format(signet):
    acct = signet.ctl("account", "create", "--name", "Format Co")
    assert ACCOUNT_ID_RE.match(acct["id"]), acct
    for role in ("admin", "member"):
        key = signet.ctl("apikey", "create", "--account", acct["id"], "--role", role,
                         "--name", "k-" + role)
        assert APIKEY_ID_RE.match(key["id"]), key
        assert TOKEN_RE.match(key["token"]), key
        assert len(base64.urlsafe_b64decode(key["token"][4:] + "=")) == 32
    # Two keys never share an id or a token.
    a = signet.apikey(acct["id"])
    b = signet.apikey(acct["id"])
    assert a["id"] != b["id"] and a["token"] != b["token"]


def test_signetctl_rejects_bad_role(signet):
    acct = signet.ctl("account", "create", "--name", "Bad Role")["id"]
    r = signet.ctl_run("apikey", "create", "--account", acct, "--role", "superuser")
    assert r.returncode != 0


def test_signetctl_rejects_unknown_account(signet):
    r = signet.ctl_run("apikey", "create", "--account", "acct_" + "0" * 32, "--role", "admin")
    assert r.returncode != 0


# --- authentication ------------------------------------------------------------

def test_missing_credentials(signet):
    unauthorized(signet.req("GET", "/v1/endpoints"))
    unauthorized(signet.req("POST", "/v1/endpoints", json={"url": "https://example.com/"}))
    unauthorized(signet.req("GET", "/v1/endpoints/" + ABSENT_EP))
    unauthorized(signet.req("DELETE", "/v1/endpoints/" + ABSENT_EP))
    unauthorized(signet.req("POST", "/v1/endpoints/%s/signing-keys" % ABSENT_EP))
    unauthorized(signet.req("GET", "/v1/endpoints/%s/signing-keys" % ABSENT_EP))
    unauthorized(signet.req("POST", "/v1/endpoints/%s/sign" % ABSENT_EP, json={"payload": "x"}))
    unauthorized(signet.req("POST", "/v1/endpoints/%s/verify" % ABSENT_EP,
                            json={"payload": "x", "headers": {}}))


def test_unknown_token(signet):
    unauthorized(signet.req("GET", "/v1/endpoints", random_token()))


def test_malformed_authorization(signet, token):
    for value in ("Bearer", "Bearer ", "Bearer sgk_", "Basic dXNlcjpwYXNz", "Token " + token,
                  token, "Bearer " + token + "x", "Bearer " + token[:-1],
                  "Bearer " + random_token()[:20]):
        unauthorized(signet.req("GET", "/v1/endpoints", headers={"Authorization": value}))


def test_valid_token(signet, token):
    items, _ = ok_list(signet.req("GET", "/v1/endpoints", token))
    assert items == []


def test_member_token_authenticates(signet):
    _, _, tok = signet.account("member")
    ok_list(signet.req("GET", "/v1/endpoints", tok))


def test_revoked_token(signet):
    acct, key_id, tok = signet.account()
    other = signet.apikey(acct)
    # Every worker has resolved the token (and may keep it) before the revocation.
    for _ in range(12):
        ok(signet.req("GET", "/v1/endpoints", tok))
    out = signet.ctl("apikey", "revoke", key_id)
    assert out == {"id": key_id, "revoked": True}
    # Every worker sees the revocation at once.
    for _ in range(12):
        unauthorized(signet.req("GET", "/v1/endpoints", tok))
    unauthorized(signet.req("POST", "/v1/endpoints", tok, json={"url": "https://example.com/"}))
    # The account's other key still works.
    ok(signet.req("GET", "/v1/endpoints", other["token"]))


def test_authentication_before_validation(signet):
    # 401 comes before 400 (bad id, bad body), 404 and 405-free routing errors.
    unauthorized(signet.req("GET", "/v1/endpoints/not-an-id"))
    unauthorized(signet.req("POST", "/v1/endpoints", data=b"{not json",
                            headers={"Content-Type": "application/json"}))
    unauthorized(signet.req("POST", "/v1/endpoints", json={"url": "http://insecure"}))
    unauthorized(signet.req("GET", "/v1/endpoints?limit=0"))
    unauthorized(signet.req("GET", "/v1/endpoints/" + ABSENT_EP, random_token()))


# --- tenancy -------------------------------------------------------------------

def test_other_accounts_endpoint_is_absent(signet):
    _, _, tok_a = signet.account(name="A")
    _, _, tok_b = signet.account(name="B")
    ep = signet.create_endpoint(tok_a)
    ep_id, sk_id = ep["id"], ep["signing_key"]["id"]
    signed = signet.sign(tok_a, ep_id, "hello")

    nf = "ENDPOINT_NOT_FOUND"
    err(signet.req("GET", "/v1/endpoints/" + ep_id, tok_b), 404, nf)
    err(signet.req("DELETE", "/v1/endpoints/" + ep_id, tok_b), 404, nf)
    err(signet.req("GET", "/v1/endpoints/%s/signing-keys" % ep_id, tok_b), 404, nf)
    err(signet.req("POST", "/v1/endpoints/%s/signing-keys" % ep_id, tok_b), 404, nf)
    err(signet.req("DELETE", "/v1/endpoints/%s/signing-keys/%s" % (ep_id, sk_id), tok_b), 404, nf)
    err(signet.req("POST", "/v1/endpoints/%s/sign" % ep_id, tok_b, json={"payload": "x"}), 404, nf)
    err(signet.req("POST", "/v1/endpoints/%s/verify" % ep_id, tok_b,
                   json={"payload": "hello", "headers": signed}), 404, nf)
    # The answers are exactly those for an endpoint that never existed.
    absent = signet.req("GET", "/v1/endpoints/" + ABSENT_EP, tok_b)
    other = signet.req("GET", "/v1/endpoints/" + ep_id, tok_b)
    assert absent.json()["error"] == other.json()["error"]

    items, _ = ok_list(signet.req("GET", "/v1/endpoints?limit=100", tok_b))
    assert ep_id not in [e["id"] for e in items]
    # starting_after naming another account's endpoint reveals nothing either.
    r = signet.req("GET", "/v1/endpoints?starting_after=" + ep_id, tok_b)
    if r.status_code == 200:
        assert ep_id not in r.text
    else:
        assert r.status_code in (400, 404), r.text

    # Nothing B did touched A's endpoint.
    got = ok(signet.req("GET", "/v1/endpoints/" + ep_id, tok_a))
    assert got["id"] == ep_id
    assert [k["id"] for k in signet.list_keys(tok_a, ep_id)] == [sk_id]


def test_same_account_keys_share_resources(signet):
    acct, _, tok1 = signet.account()
    tok2 = signet.apikey(acct, "member")["token"]
    ep = signet.create_endpoint(tok1)
    assert ok(signet.req("GET", "/v1/endpoints/" + ep["id"], tok2))["id"] == ep["id"]
