/* Accounts, API keys, and Bearer-token authentication. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "signet/audit.h"
#include "signet/auth.h"
#include "signet/b64.h"
#include "signet/crypto.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/shm.h"
#include "signet/totp.h"
#include "signet/validate.h"

#define TOKEN_PREFIX	"sgk_"
#define TOKEN_BYTES	32
#define CACHE_SLOTS	64
/*
 * How long a worker may keep a resolved token.  Revocations reach every
 * worker at once through the shared generation; this only bounds what an
 * operator who replaced metrics.shm under running workers would miss, or a
 * revocation by a signetctl that could not map it.
 */
#define CACHE_TTL_S	AUTH_CACHE_TTL_S

/*
 * What a token resolved to, per worker, keyed by the token's SHA-256 (the
 * token itself is never kept).  An entry counts only while the shared
 * credential generation is the one read before the lookup that filled it.
 */
struct cached_principal {
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	uint64_t	 generation;
	time_t		 until;		/* CLOCK_MONOTONIC seconds */
	int		 used;
	struct principal who;
};

static struct cached_principal cache[CACHE_SLOTS];

/*
 * The credential generation rule.  A worker may keep a principal only
 * while the shared generation is the one it read before the lookup that
 * resolved it, and every revocation bumps the generation after its commit.
 * It is safe because of that order: a request whose lookup began after a
 * revocation committed either reads the revoked record (the commit came
 * first) or, when it finds a cached entry, reads a generation the bump has
 * already moved past that entry's (the bump came after the commit, the
 * entry's generation was read before its lookup).  Nothing may be kept
 * without a generation all revokers share:
 *  - when this process has not mapped the shared file (shm_generation
 *    answers 0), each process would count alone;
 *  - on a replicated site, where a revocation committed on the master
 *    bumps only the master's file, not the replicas'.
 * A revoker that cannot map the file (signetctl run as another user)
 * cannot bump it: the workers' entries then last until CACHE_TTL_S ends.
 */
int
auth_generation(const struct store *s, uint64_t *gen)
{
	return !store_replicated(s) && shm_generation(gen);
}

int
auth_revoked(void)
{
	return shm_generation_bump();
}

int
auth_parse_header(const char *header, int service, char *token)
{
	const char	*p;
	size_t		 len;

	if (header == NULL)
		return 0;
	if (strncasecmp(header, "Bearer ", 7) == 0)
		p = header + 7;
	else if (service && strncasecmp(header, "ServiceToken ", 13) == 0)
		p = header + 13;
	else
		return 0;
	while (*p == ' ')
		p++;
	len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len != AUTH_TOKEN_LEN || strncmp(p, TOKEN_PREFIX, 4) != 0)
		return 0;
	memcpy(token, p, len);
	token[len] = '\0';
	return 1;
}

static void
token_hash_hex(const char *token, char *hex)
{
	unsigned char	 h[CRYPTO_SHA256_LEN];

	crypto_sha256(token, strlen(token), h);
	ids_hex(h, sizeof(h), hex);
}

/* The principal of the token whose SHA-256 is hex (64 digits). */
static enum sig_err
lookup_hash(struct store_txn *t, const char *hex, struct principal *who)
{
	char		 akid[IDS_MAX];
	json_object	*rec = NULL, *v;
	const char	*stored, *account, *name;
	enum sig_err	 rc;

	rc = store_get_str(t, TBL_TOKENS, hex, akid, sizeof(akid));
	if (rc == SIG_ENOTFOUND)
		return SIG_EUNAUTH;
	if (rc != SIG_OK)
		return rc;
	if ((rc = store_get(t, TBL_APIKEYS, akid, 0, &rec)) != SIG_OK)
		return rc == SIG_ENOTFOUND ? SIG_EUNAUTH : rc;
	rc = SIG_EUNAUTH;
	if (!json_object_object_get_ex(rec, "token_sha256", &v) ||
	    (stored = json_object_get_string(v)) == NULL ||
	    strlen(stored) != strlen(hex) ||
	    !crypto_equal(stored, hex, strlen(hex)))
		goto done;
	if (json_object_object_get_ex(rec, "revoked", &v) &&
	    json_object_get_boolean(v))
		goto done;
	if (!json_object_object_get_ex(rec, "account", &v) ||
	    (account = json_object_get_string(v)) == NULL)
		goto done;
	name = json_object_object_get_ex(rec, "name", &v) ?
	    json_object_get_string(v) : "";
	snprintf(who->account, sizeof(who->account), "%s", account);
	snprintf(who->apikey, sizeof(who->apikey), "%s", akid);
	snprintf(who->name, sizeof(who->name), "%s", name ? name : "");
	who->admin = json_object_object_get_ex(rec, "role", &v) &&
	    strcmp(json_object_get_string(v), "admin") == 0;
	rc = SIG_OK;
done:
	json_object_put(rec);
	return rc;
}

struct check_args {
	const char		*hex;
	struct principal	*who;
};

static enum sig_err
check_tx(struct store_txn *t, void *arg)
{
	struct check_args *a = arg;

	return lookup_hash(t, a->hex, a->who);
}

static time_t
now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

enum sig_err
auth_check(struct store *s, const char *token, struct principal *who)
{
	unsigned char		 h[CRYPTO_SHA256_LEN];
	char			 hex[2 * CRYPTO_SHA256_LEN + 1];
	struct cached_principal	*e;
	struct check_args	 a;
	uint64_t		 gen = 0;
	time_t			 now;
	int			 shared;
	enum sig_err		 rc;

	crypto_sha256(token, strlen(token), h);
	/*
	 * The generation before the lookup: a revocation after it shows.  A
	 * replicated site caches nothing: a revocation made on the master
	 * moves only the master's generation.
	 */
	shared = auth_generation(s, &gen);
	now = now_mono();
	e = &cache[h[0] % CACHE_SLOTS];
	if (shared && e->used && e->generation == gen && now < e->until &&
	    crypto_equal(e->hash, h, sizeof(h))) {
		*who = e->who;
		return SIG_OK;
	}
	ids_hex(h, sizeof(h), hex);
	a.hex = hex;
	a.who = who;
	if ((rc = store_run(s, check_tx, &a)) != SIG_OK) {
		/* Unknown and revoked tokens are never kept. */
		if (crypto_equal(e->hash, h, sizeof(h)))
			e->used = 0;
		return rc;
	}
	if (shared) {
		memcpy(e->hash, h, sizeof(h));
		e->generation = gen;
		e->until = now + CACHE_TTL_S;
		e->who = *who;
		e->used = 1;
	}
	return SIG_OK;
}

void
auth_forget(void)
{
	crypto_wipe(cache, sizeof(cache));
}

/* An audit event for a change made with signetctl. */
static enum sig_err
audit_ctl(struct store_txn *t, const char *account, const char *action,
    const char *type, const char *id)
{
	struct audit_event e = { account, "signetctl", "signetctl", action,
	    type, id, NULL };

	return audit_record(t, &e);
}

struct account_args {
	const char	*name;
	const char	*id;
};

static enum sig_err
account_insert(struct store_txn *t, void *arg)
{
	struct account_args *a = arg;
	json_object	*rec;
	enum sig_err	 rc;

	rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(a->id));
	json_object_object_add(rec, "name", json_object_new_string(a->name));
	json_object_object_add(rec, "created_at",
	    json_object_new_int64(ids_now_us() / 1000000));
	rc = store_insert(t, TBL_ACCOUNTS, a->id, rec);
	json_object_put(rec);
	if (rc == SIG_OK)
		rc = audit_ctl(t, a->id, "account.created", "account", a->id);
	return rc;
}

enum sig_err
auth_account_create(struct store *s, const char *name, char *id)
{
	struct account_args a;
	enum sig_err	 rc;

	if (name == NULL || *name == '\0' || strlen(name) > AUTH_NAME_MAX)
		return SIG_EINVAL;
	if ((rc = ids_new("acct_", 16, id, IDS_MAX)) != SIG_OK)
		return rc;
	a.name = name;
	a.id = id;
	return store_run(s, account_insert, &a);
}

struct apikey_args {
	const char	*account, *role, *name, *id, *hash;
};

static enum sig_err
apikey_insert(struct store_txn *t, void *arg)
{
	struct apikey_args *a = arg;
	json_object	*rec, *acct;
	enum sig_err	 rc;

	if ((rc = store_get(t, TBL_ACCOUNTS, a->account, 0, &acct)) != SIG_OK)
		return rc;
	json_object_put(acct);
	rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(a->id));
	json_object_object_add(rec, "account",
	    json_object_new_string(a->account));
	json_object_object_add(rec, "role", json_object_new_string(a->role));
	json_object_object_add(rec, "name", json_object_new_string(a->name));
	json_object_object_add(rec, "token_sha256",
	    json_object_new_string(a->hash));
	json_object_object_add(rec, "revoked", json_object_new_boolean(0));
	json_object_object_add(rec, "created_at",
	    json_object_new_int64(ids_now_us() / 1000000));
	rc = store_insert(t, TBL_APIKEYS, a->id, rec);
	json_object_put(rec);
	if (rc == SIG_OK)
		rc = store_put_str(t, TBL_TOKENS, a->hash, a->id, 1);
	if (rc == SIG_OK)
		rc = audit_ctl(t, a->account, "api_key.created", "api_key",
		    a->id);
	return rc;
}

enum sig_err
auth_apikey_create(struct store *s, const char *account, const char *role,
    const char *name, char *id, char *token)
{
	unsigned char		 raw[TOKEN_BYTES];
	char			 hex[2 * CRYPTO_SHA256_LEN + 1];
	struct apikey_args	 a;
	enum sig_err		 rc;

	if (role == NULL || (strcmp(role, "admin") != 0 &&
	    strcmp(role, "member") != 0))
		return SIG_EINVAL;
	if (name == NULL || *name == '\0')
		name = role;
	if (strlen(name) > AUTH_NAME_MAX)
		return SIG_EINVAL;
	if ((rc = ids_new("ak_", 12, id, IDS_MAX)) != SIG_OK ||
	    (rc = crypto_random(raw, sizeof(raw), 1)) != SIG_OK)
		return rc;
	memcpy(token, TOKEN_PREFIX, 4);
	b64url_encode(raw, sizeof(raw), token + 4);
	crypto_wipe(raw, sizeof(raw));
	token_hash_hex(token, hex);
	a.account = account;
	a.role = role;
	a.name = name;
	a.id = id;
	a.hash = hex;
	rc = store_run(s, apikey_insert, &a);
	if (rc != SIG_OK)
		crypto_wipe(token, AUTH_TOKEN_LEN + 1);
	return rc;
}

static enum sig_err
apikey_revoke(struct store_txn *t, void *arg)
{
	const char	*id = arg;
	json_object	*rec;
	enum sig_err	 rc;

	if ((rc = store_get(t, TBL_APIKEYS, id, 1, &rec)) != SIG_OK)
		return rc;
	json_object_object_add(rec, "revoked", json_object_new_boolean(1));
	json_object_object_add(rec, "revoked_at",
	    json_object_new_int64(ids_now_us() / 1000000));
	rc = store_put(t, TBL_APIKEYS, id, rec);
	if (rc == SIG_OK)
		rc = audit_ctl(t, json_str(rec, "account"), "api_key.revoked",
		    "api_key", id);
	json_object_put(rec);
	return rc;
}

enum sig_err
auth_apikey_revoke(struct store *s, const char *id)
{
	enum sig_err	 rc;

	if (!valid_apikey_id(id))
		return SIG_EINVAL;
	rc = store_run(s, apikey_revoke, (void *)id);
	/* After the commit: workers then drop what they kept (auth_check). */
	if (rc == SIG_OK)
		(void)auth_revoked();
	return rc;
}

struct totp_args {
	const struct master_key	*mk;
	const char		*id;
	const unsigned char	*raw;		/* enrol: the new secret */
	const char		*code;		/* check: the code (NULL: none) */
	const char		*request_id;
	enum sig_err		 verdict;	/* check: committed, then answered */
	long			 retry_after;
	char			*name;
	size_t			 namesz;
	char			*msg;
};

static enum sig_err
totp_enroll_tx(struct store_txn *t, void *arg)
{
	struct totp_args *a = arg;
	json_object	*rec, *v;
	char		*sealed;
	enum sig_err	 rc;

	if ((rc = store_get(t, TBL_APIKEYS, a->id, 1, &rec)) != SIG_OK)
		return rc;
	if (!json_object_object_get_ex(rec, "role", &v) ||
	    strcmp(json_object_get_string(v), "admin") != 0) {
		json_object_put(rec);
		return SIG_EFORBIDDEN;
	}
	snprintf(a->name, a->namesz, "%s", json_str(rec, "name") ?
	    json_str(rec, "name") : a->id);
	if ((rc = crypto_seal(a->mk, a->id, a->raw, TOTP_SECRET_LEN,
	    &sealed)) != SIG_OK) {
		json_object_put(rec);
		return rc;
	}
	json_object_object_add(rec, "totp", json_object_new_string(sealed));
	json_object_object_add(rec, "totp_last", json_object_new_int64(0));
	free(sealed);
	rc = store_put(t, TBL_APIKEYS, a->id, rec);
	if (rc == SIG_OK)
		rc = audit_ctl(t, json_str(rec, "account"), "totp.enrolled",
		    "api_key", a->id);
	json_object_put(rec);
	return rc;
}

enum sig_err
auth_totp_enroll(struct store *s, const struct master_key *mk, const char *id,
    char *secret32, char *name, size_t namesz)
{
	unsigned char		 raw[TOTP_SECRET_LEN];
	struct totp_args	 a;
	enum sig_err		 rc;

	if (!valid_apikey_id(id))
		return SIG_EINVAL;
	if ((rc = crypto_random(raw, sizeof(raw), 1)) != SIG_OK)
		return rc;
	memset(&a, 0, sizeof(a));
	a.mk = mk;
	a.id = id;
	a.raw = raw;
	a.name = name;
	a.namesz = namesz;
	rc = store_run(s, totp_enroll_tx, &a);
	if (rc == SIG_OK)
		totp_base32(raw, sizeof(raw), secret32);
	crypto_wipe(raw, sizeof(raw));
	return rc;
}

long
auth_otp_lock_seconds(long fails)
{
	long	 s = 60;

	if (fails < AUTH_OTP_TRIES)
		return 0;
	for (; fails > AUTH_OTP_TRIES && s < 3600; fails--)
		s *= 2;
	return s < 3600 ? s : 3600;
}

/* A wrong code: count it, and lock the key from the AUTH_OTP_TRIES-th on. */
static enum sig_err
wrong_code(struct store_txn *t, struct totp_args *a, json_object *rec,
    int64_t now)
{
	struct audit_event e;
	long		 fails = (long)json_i64(rec, "otp_fails") + 1, lock;
	enum sig_err	 rc;

	json_object_object_add(rec, "otp_fails", json_object_new_int64(fails));
	if ((lock = auth_otp_lock_seconds(fails)) > 0)
		json_object_object_add(rec, "otp_locked_until",
		    json_object_new_int64(now + lock));
	if ((rc = store_put(t, TBL_APIKEYS, a->id, rec)) != SIG_OK ||
	    lock == 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.account = json_str(rec, "account");
	e.actor_id = a->id;
	e.actor_name = json_str(rec, "name") ? json_str(rec, "name") : "";
	e.action = "totp.locked";
	e.resource_type = "api_key";
	e.resource_id = a->id;
	e.request_id = a->request_id;
	return audit_record(t, &e);
}

/*
 * The check, committed whatever its verdict (a wrong code must count): the
 * verdict goes to a->verdict and the transaction answers SIG_OK.
 */
static enum sig_err
totp_check_tx(struct store_txn *t, void *arg)
{
	struct totp_args *a = arg;
	json_object	*rec;
	const char	*sealed;
	unsigned char	*key;
	size_t		 klen;
	uint64_t	 step;
	int64_t		 now = ids_now_us() / 1000000, until;
	enum sig_err	 rc;

	a->verdict = SIG_EOTP;
	/* Locked: two requests cannot both pass one code or one try. */
	if ((rc = store_get(t, TBL_APIKEYS, a->id, 1, &rec)) != SIG_OK)
		return rc;
	if ((until = json_i64(rec, "otp_locked_until")) > now) {
		json_object_put(rec);
		a->verdict = SIG_EOTPLOCKED;
		a->retry_after = (long)(until - now);
		return SIG_OK;
	}
	if (a->code == NULL || *a->code == '\0') {
		json_object_put(rec);
		snprintf(a->msg, SIG_MSG_MAX, "this action requires an X-OTP "
		    "header with a current TOTP code");
		return SIG_OK;
	}
	if ((sealed = json_str(rec, "totp")) == NULL) {
		json_object_put(rec);
		snprintf(a->msg, SIG_MSG_MAX, "no TOTP secret is enrolled for "
		    "this API key");
		return SIG_OK;
	}
	if (crypto_open(a->mk, a->id, sealed, &key, &klen) != SIG_OK) {
		json_object_put(rec);
		return SIG_EINTERNAL;
	}
	step = totp_check(key, klen, a->code, now,
	    (uint64_t)json_i64(rec, "totp_last"));
	crypto_wipe(key, klen);
	free(key);
	if (step == 0) {
		snprintf(a->msg, SIG_MSG_MAX, "X-OTP is not a valid, unused "
		    "code for this API key");
		rc = wrong_code(t, a, rec, now);
		json_object_put(rec);
		return rc;
	}
	json_object_object_add(rec, "totp_last",
	    json_object_new_int64((int64_t)step));
	json_object_object_add(rec, "otp_fails", json_object_new_int64(0));
	json_object_object_add(rec, "otp_locked_until", json_object_new_int64(0));
	if ((rc = store_put(t, TBL_APIKEYS, a->id, rec)) == SIG_OK)
		a->verdict = SIG_OK;
	json_object_put(rec);
	return rc;
}

enum sig_err
auth_totp_check(struct store *s, const struct master_key *mk, const char *id,
    const char *code, const char *request_id, long *retry_after, char *msg)
{
	struct totp_args a;
	enum sig_err	 rc;

	memset(&a, 0, sizeof(a));
	a.mk = mk;
	a.id = id;
	a.code = code;
	a.request_id = request_id;
	a.msg = msg;
	if ((rc = store_run(s, totp_check_tx, &a)) != SIG_OK)
		return rc;
	*retry_after = a.retry_after;
	return a.verdict;
}
