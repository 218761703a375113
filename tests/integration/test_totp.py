"""docs/api.md (Authentication and API keys, enterprise keys): TOTP enrolment
(`signetctl totp enroll`) and the X-OTP header that registering and revoking
enterprise keys need (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps, +-1 step,
each code once)."""

import base64
import concurrent.futures
import os
import re
import signal
import urllib.parse
import uuid

import pytest

from test_durability import wait_healthy
from harness import (OtpAdmin, UNAUTHORIZED_MESSAGE, enroll_totp, err, ok,
                     totp_code, totp_secret_bytes, totp_step, totp_wait_margin)

# RFC 7517 appendix A.1: a valid P-256 public key.
EC_JWK = {"kty": "EC", "crv": "P-256",
          "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
          "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}

BASE32_RE = re.compile(r"^[A-Z2-7]+=*$")


def keys_path(ent, key_id=None):
    p = "/v1/enterprises/%s/webhook-signing-keys" % ent
    return p + "/" + key_id if key_id is not None else p


def otp(code):
    return {"X-OTP": code} if code is not None else None


def register(inst, token, ent, kid, code=None, body=None):
    if body is None:
        body = {"jwks": {"keys": [dict(EC_JWK, kid=kid)]}}
    return inst.req("POST", keys_path(ent), token, json=body, headers=otp(code))


def revoke(inst, token, ent, kid, code=None):
    return inst.req("DELETE", keys_path(ent, kid), token, headers=otp(code))


def fresh_kid():
    return "k-" + uuid.uuid4().hex[:12]


def wrong_code(code):
    return "%06d" % ((int(code) + 1) % 1000000)


@pytest.fixture
def ent(signet, admin):
    """(account id, enterprise id) of a fresh account."""
    acct, _, tok = admin
    e = ok(signet.req("POST", "/v1/enterprises", tok, json={"name": "TOTP Co"}), 201)
    return acct, e["id"]


@pytest.fixture
def otp_admin(signet, ent):
    totp_wait_margin()
    return OtpAdmin(signet, ent[0], name="otp admin")


def key_ids(inst, token, ent_id):
    keys = ok(inst.req("GET", keys_path(ent_id), token))
    return {k["keyId"]: k["status"] for k in keys}


# --- enrolment ---------------------------------------------------------------

def test_enroll_prints_secret_and_uri(signet, admin):
    acct, _, _ = admin
    key = signet.apikey(acct, "admin", name="alice laptop")
    out = enroll_totp(signet, key["id"])
    assert isinstance(out, dict) and "secret" in out and "otpauth_uri" in out, out
    secret = out["secret"]
    assert isinstance(secret, str) and BASE32_RE.match(secret), out
    raw = totp_secret_bytes(secret)
    assert len(raw) >= 16, "TOTP secret of %d bytes, RFC 4226 wants >= 128 bits" % len(raw)
    uri = urllib.parse.urlsplit(out["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp", out
    assert len(urllib.parse.unquote(uri.path).strip("/")) > 0, "otpauth URI without a label"
    q = urllib.parse.parse_qs(uri.query)
    assert q.get("secret") == [secret], out
    assert q.get("algorithm", ["SHA1"]) == ["SHA1"], out
    assert q.get("digits", ["6"]) == ["6"], out
    assert q.get("period", ["30"]) == ["30"], out
    # Two enrolments of two keys give two secrets.
    other = enroll_totp(signet, signet.apikey(acct, "admin")["id"])
    assert other["secret"] != secret


def test_enrolled_secret_gives_working_codes(signet, ent):
    acct, ent_id = ent
    totp_wait_margin()
    key = signet.apikey(acct, "admin")
    secret = enroll_totp(signet, key["id"])["secret"]
    kid = fresh_kid()
    code = totp_code(secret)
    k = ok(register(signet, key["token"], ent_id, kid, code), 201)
    assert k["keyId"] == kid and k["status"] == "active"
    k = ok(revoke(signet, key["token"], ent_id, kid, totp_code(secret, step=totp_step() + 1)))
    assert k["status"] == "revoked"


def test_member_cannot_enroll(signet, admin):
    member = signet.apikey(admin[0], "member")
    r = signet.ctl_run("totp", "enroll", "--apikey", member["id"])
    assert r.returncode != 0, "a member key got a TOTP secret: %r" % r.stdout


def test_enroll_unknown_key_fails(signet):
    r = signet.ctl_run("totp", "enroll", "--apikey", "ak_" + "0" * 24)
    assert r.returncode != 0, r.stdout


def test_secret_not_in_clear_under_home(signet, ent):
    acct, ent_id = ent
    key = signet.apikey(acct, "admin")
    out = enroll_totp(signet, key["id"])
    secret = out["secret"]
    raw = totp_secret_bytes(secret)
    # Use it once, so that the server too reads and writes the record.
    totp_wait_margin()
    ok(register(signet, key["token"], ent_id, fresh_kid(), totp_code(secret)), 201)
    needles = {
        "raw secret": raw,
        "base32": secret.rstrip("=").encode(),
        "base32 lowercase": secret.rstrip("=").lower().encode(),
        "hex": raw.hex().encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "otpauth URI": out["otpauth_uri"].encode(),
    }
    found_id = False
    scanned = 0
    for root, _dirs, files in os.walk(signet.home):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            scanned += 1
            for what, needle in needles.items():
                assert needle not in data, "TOTP secret (%s) in clear in %s" % (what, path)
            found_id = found_id or key["id"].encode() in data
    assert scanned > 0
    # The scan does see the records: the API key's id is stored as it is.
    assert found_id, "the API key id is in no file under SIGNET_HOME: the scan proves nothing"


# --- X-OTP on register and revoke ------------------------------------------------

def test_member_forbidden_before_otp(signet, ent):
    acct, ent_id = ent
    member = signet.apikey(acct, "member")["token"]
    kid = fresh_kid()
    for code in (None, "123456", "abc"):
        err(register(signet, member, ent_id, kid, code), 403, "FORBIDDEN")
        err(revoke(signet, member, ent_id, kid, code), 403, "FORBIDDEN")
    # Role comes before path ids and body too.
    err(register(signet, member, "ent_bad", kid, "123456", body={"x": 1}), 403, "FORBIDDEN")
    err(revoke(signet, member, "ent_bad", kid), 403, "FORBIDDEN")
    assert key_ids(signet, member, ent_id) == {}


def test_admin_without_otp(signet, ent, otp_admin):
    _, ent_id = ent
    kid = fresh_kid()
    msg = err(register(signet, otp_admin.token, ent_id, kid), 403, "INVALID_OTP")
    assert "otp" in msg.lower(), msg
    err(register(signet, otp_admin.token, ent_id, kid, ""), 403, "INVALID_OTP")
    assert key_ids(signet, otp_admin.token, ent_id) == {}
    # Register properly, then revoking without a code leaves the key active.
    ok(register(signet, otp_admin.token, ent_id, kid, otp_admin.code()), 201)
    err(revoke(signet, otp_admin.token, ent_id, kid), 403, "INVALID_OTP")
    assert key_ids(signet, otp_admin.token, ent_id) == {kid: "active"}


def test_wrong_codes(signet, ent, otp_admin):
    _, ent_id = ent
    kid = fresh_kid()
    good = totp_code(otp_admin.secret)
    bads = [b for b in (wrong_code(good), "abcdef", good[:5], good + "0")
            if b != good]
    # Fewer wrong codes than lock the key (five in a row do).
    for i, bad in enumerate(bads):
        r = (register if i % 2 == 0 else revoke)(signet, otp_admin.token, ent_id,
                                                  kid, bad)
        err(r, 403, "INVALID_OTP")
    assert key_ids(signet, otp_admin.token, ent_id) == {}
    # The refusals did not use up the good code.
    ok(register(signet, otp_admin.token, ent_id, kid, good), 201)


def lock_key(signet, otp_admin, ent_id):
    """Five wrong codes in a row: the fifth locks the key's OTP routes."""
    bad = wrong_code(totp_code(otp_admin.secret))
    for _ in range(5):
        err(register(signet, otp_admin.token, ent_id, fresh_kid(), bad), 403,
            "INVALID_OTP")


def assert_locked(r, low=1, high=60):
    err(r, 429, "OTP_LOCKED", "Too many wrong OTP codes: try again later")
    after = int(r.headers["Retry-After"])
    assert low <= after <= high, r.headers["Retry-After"]


def test_five_wrong_codes_lock(signet, ent, otp_admin, admin):
    """RFC 4226 section 7.3: after 5 wrong codes in a row every OTP-protected
    request of the key is refused for 60 s with 429 OTP_LOCKED and
    Retry-After, a correct code included (and not consumed), without a code
    too; other requests of the key and other keys are unaffected; the lock is
    one audit event totp.locked."""
    acct, ent_id = ent
    kid = fresh_kid()
    lock_key(signet, otp_admin, ent_id)
    good = totp_code(otp_admin.secret)
    assert_locked(register(signet, otp_admin.token, ent_id, kid, good), 55, 60)
    assert_locked(revoke(signet, otp_admin.token, ent_id, kid, good))
    assert_locked(register(signet, otp_admin.token, ent_id, kid))
    assert kid not in key_ids(signet, otp_admin.token, ent_id)
    # The same key's other routes, and another key's OTP routes, still work.
    ok(signet.req("GET", "/v1/enterprises/%s" % ent_id, otp_admin.token))
    other = OtpAdmin(signet, acct, name="other otp admin")
    ok(register(signet, other.token, ent_id, kid, other.code()), 201)
    events = ok(signet.req("GET", "/v1/audit-events?resource_id=%s" % otp_admin.id,
                           admin[2]))
    locked = [e for e in events if e["action"] == "totp.locked"]
    assert len(locked) == 1, events
    assert locked[0]["resource_type"] == "api_key"
    assert locked[0]["actor"] == {"id": otp_admin.id, "name": otp_admin.name}
    assert locked[0]["request_id"].startswith("req_")


def test_concurrent_guesses_get_five_tries(signet, ent, otp_admin):
    """An attacker with many connections gets no more than 5 tries past the
    lock, whichever workers answer."""
    _, ent_id = ent
    bad = wrong_code(totp_code(otp_admin.secret))

    def guess(_):
        return register(signet, otp_admin.token, ent_id, fresh_kid(), bad).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(guess, range(48)))
    assert codes.count(403) == 5, codes
    assert codes.count(429) == 43, codes


def test_lock_survives_worker_restarts(signet, ent, otp_admin):
    """The lock is in the store, not in a worker: killing every worker keeps it."""
    _, ent_id = ent
    lock_key(signet, otp_admin, ent_id)
    workers = signet.worker_pids()
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    wait_healthy(signet)
    assert_locked(register(signet, otp_admin.token, ent_id, fresh_kid(),
                           totp_code(otp_admin.secret)))


def test_code_accepted_once(signet, ent, otp_admin):
    _, ent_id = ent
    code = totp_code(otp_admin.secret)
    kid1, kid2 = fresh_kid(), fresh_kid()
    ok(register(signet, otp_admin.token, ent_id, kid1, code), 201)
    msg = err(register(signet, otp_admin.token, ent_id, kid2, code), 403, "INVALID_OTP")
    assert "otp" in msg.lower(), msg
    # Nor on the other protected route.
    err(revoke(signet, otp_admin.token, ent_id, kid1, code), 403, "INVALID_OTP")
    assert key_ids(signet, otp_admin.token, ent_id) == {kid1: "active"}
    # The next step's code still works for the same key.
    nxt = totp_code(otp_admin.secret, step=totp_step() + 1)
    assert ok(revoke(signet, otp_admin.token, ent_id, kid1, nxt))["status"] == "revoked"
    err(register(signet, otp_admin.token, ent_id, kid2, nxt), 403, "INVALID_OTP")


def test_older_step_after_newer_refused(signet, ent):
    """RFC 6238 section 5.2 (docs/api-notes.md): once a step's code was
    used, an older step's code is no longer accepted either."""
    acct, ent_id = ent
    totp_wait_margin()
    a = OtpAdmin(signet, acct)
    step = totp_step()
    ok(register(signet, a.token, ent_id, fresh_kid(), totp_code(a.secret, step=step + 1)), 201)
    for d in (0, -1):
        err(register(signet, a.token, ent_id, fresh_kid(), totp_code(a.secret, step=step + d)),
            403, "INVALID_OTP")
    assert len(key_ids(signet, a.token, ent_id)) == 1


def test_code_consumed_by_a_failing_request(signet, ent, otp_admin):
    """A code that passed is used up even if the request then fails (400)."""
    _, ent_id = ent
    code = totp_code(otp_admin.secret)
    err(register(signet, otp_admin.token, ent_id, "k", code, body={"bogus": 1}), 400,
        "INVALID_REQUEST")
    err(register(signet, otp_admin.token, ent_id, fresh_kid(), code), 403, "INVALID_OTP")


def test_code_is_per_key(signet, ent):
    """A code used by one key does not block another key's code (each key
    has its own secret; the same step's codes of two keys both work)."""
    acct, ent_id = ent
    totp_wait_margin()
    a, b = OtpAdmin(signet, acct), OtpAdmin(signet, acct)
    step = totp_step()
    ok(register(signet, a.token, ent_id, fresh_kid(), totp_code(a.secret, step=step)), 201)
    ok(register(signet, b.token, ent_id, fresh_kid(), totp_code(b.secret, step=step)), 201)
    # A's code is no good for B.
    err(register(signet, b.token, ent_id, fresh_kid(),
                 totp_code(a.secret, step=step + 1)), 403, "INVALID_OTP")


def test_previous_step_accepted(signet, ent):
    acct, ent_id = ent
    totp_wait_margin()
    a = OtpAdmin(signet, acct)
    ok(register(signet, a.token, ent_id, fresh_kid(),
                totp_code(a.secret, step=totp_step() - 1)), 201)


def test_next_step_accepted(signet, ent):
    acct, ent_id = ent
    totp_wait_margin()
    a = OtpAdmin(signet, acct)
    ok(register(signet, a.token, ent_id, fresh_kid(),
                totp_code(a.secret, step=totp_step() + 1)), 201)


def test_two_steps_away_refused(signet, ent):
    acct, ent_id = ent
    totp_wait_margin()
    a = OtpAdmin(signet, acct)
    step = totp_step()
    kid = fresh_kid()
    for d in (-3, -2, 2, 3):
        err(register(signet, a.token, ent_id, kid, totp_code(a.secret, step=step + d)),
            403, "INVALID_OTP")
    assert key_ids(signet, a.token, ent_id) == {}
    # The key itself is fine: its current code works.
    ok(register(signet, a.token, ent_id, kid, totp_code(a.secret, step=step)), 201)


def test_admin_without_enrolled_totp(signet, ent):
    acct, ent_id = ent
    tok = signet.apikey(acct, "admin")["token"]
    kid = fresh_kid()
    for code in ("000000", "123456", totp_code(base64.b32encode(os.urandom(20)).decode())):
        err(register(signet, tok, ent_id, kid, code), 403, "INVALID_OTP")
        err(revoke(signet, tok, ent_id, kid, code), 403, "INVALID_OTP")
    assert key_ids(signet, tok, ent_id) == {}


# --- order of checks (section 1) ----------------------------------------------

def test_unauthenticated_before_otp(signet, ent, otp_admin):
    _, ent_id = ent
    code = totp_code(otp_admin.secret)
    kid = fresh_kid()
    for tok in (None, "sgk_" + "B" * 43):
        err(register(signet, tok, ent_id, kid, code), 401, "UNAUTHORIZED",
            message=UNAUTHORIZED_MESSAGE)
        err(revoke(signet, tok, ent_id, kid, code), 401, "UNAUTHORIZED",
            message=UNAUTHORIZED_MESSAGE)
    # A revoked admin key is 401 whatever its code.
    gone = OtpAdmin(signet, ent[0])
    signet.ctl("apikey", "revoke", gone.id)
    err(register(signet, gone.token, ent_id, kid, totp_code(gone.secret)), 401,
        "UNAUTHORIZED", message=UNAUTHORIZED_MESSAGE)
    # The 401s never reached the OTP check: the code is still unused.
    ok(register(signet, otp_admin.token, ent_id, kid, code), 201)


def test_otp_before_path_and_body(signet, ent, otp_admin):
    _, ent_id = ent
    tok = otp_admin.token
    h = {"Content-Type": "application/json"}
    # Without a valid code: 403 INVALID_OTP, whatever is wrong after it.
    err(register(signet, tok, "ent_bad", "k"), 403, "INVALID_OTP")
    err(register(signet, tok, "ent_" + "0" * 32, "k"), 403, "INVALID_OTP")
    err(register(signet, tok, ent_id, "k", body={"bogus": True}), 403, "INVALID_OTP")
    err(register(signet, tok, ent_id, "k", body={}), 403, "INVALID_OTP")
    err(signet.req("POST", keys_path(ent_id), tok, data=b"{not json", headers=h),
        403, "INVALID_OTP")
    err(revoke(signet, tok, "ent_bad", "k"), 403, "INVALID_OTP")
    err(revoke(signet, tok, "ent_" + "0" * 32, "k"), 403, "INVALID_OTP")
    err(revoke(signet, tok, ent_id, "no-such-key"), 403, "INVALID_OTP")


def test_with_code_then_400_then_404(signet, ent):
    acct, ent_id = ent
    admins = [OtpAdmin(signet, acct) for _ in range(4)]
    totp_wait_margin()
    step = totp_step()
    codes = []
    for a in admins:
        for d in (-1, 0, 1):
            codes.append((a.token, totp_code(a.secret, step=step + d)))
    it = iter(codes)

    def nxt():
        return next(it)

    tok, code = nxt()
    err(register(signet, tok, "ent_bad", "k", code), 400, "INVALID_REQUEST")
    tok, code = nxt()
    # Body before existence: a bad body for an absent enterprise is 400.
    err(register(signet, tok, "ent_" + "0" * 32, "k", code, body={"bogus": True}),
        400, "INVALID_REQUEST", mentions="bogus")
    tok, code = nxt()
    err(register(signet, tok, ent_id, "k", code, body={"jwksUri": "https://x.example/j",
                                                          "jwks": {"keys": [EC_JWK]}}),
        400, "INVALID_REQUEST")
    tok, code = nxt()
    err(register(signet, tok, "ent_" + "0" * 32, "k", code), 404, "NOT_FOUND")
    tok, code = nxt()
    err(revoke(signet, tok, "ent_bad", "k", code), 400, "INVALID_REQUEST")
    tok, code = nxt()
    err(revoke(signet, tok, ent_id, "no-such-key", code), 404, "NOT_FOUND")
    tok, code = nxt()
    err(revoke(signet, tok, "ent_" + "0" * 32, "k", code), 404, "NOT_FOUND")
    # Another account's enterprise answers as absent, code or not.
    stranger = OtpAdmin(signet, signet.ctl("account", "create", "--name", "s")["id"])
    err(register(signet, stranger.token, ent_id, "k", stranger.code()), 404, "NOT_FOUND")
    assert key_ids(signet, admins[0].token, ent_id) == {}
    # And the rule check (409) comes last: revoke twice.
    tok, code = nxt()
    ok(register(signet, tok, ent_id, "k", code), 201)
    tok, code = nxt()
    ok(revoke(signet, tok, ent_id, "k", code))
    tok, code = nxt()
    err(revoke(signet, tok, ent_id, "k", code), 409, "KEY_ALREADY_REVOKED")
