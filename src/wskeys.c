/*
 * Workspace key pairs (wskeys.h): generation, the records and their two
 * listings, roll with a grace period, update, delete, whether a key is
 * usable now, the public JWKS, and token verification.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "signet/json.h"
#include "signet/jwk.h"
#include "signet/jws.h"
#include "signet/records.h"
#include "signet/usage.h"
#include "signet/wskeys.h"

#define CLAIM_LEEWAY		60
#define JWKS_MAX_KEYS		1000

_Static_assert(WSKEY_TOKEN_MAX == JWS_MAX_LEN, "wskeys.h and jws.h disagree");

static const char	*claims_problem(json_object *, int64_t);
static json_object	*refusal(const char *);

enum sig_err
wskey_generate(const char *alg, struct wskey_new *k)
{
	enum sig_err	 rc;

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if ((rc = ids_new("ws_signk_", 12, k->id, IDS_MAX)) != SIG_OK ||
	    (rc = ids_new("signing_key_", 12, k->uid, IDS_MAX)) != SIG_OK ||
	    (rc = keypair_generate(alg, &k->kp)) != SIG_OK)
		return rc;
	return jwk_from_pubkey(k->kp.pub, k->uid, alg, &k->jwk);
}

void
wskey_forget(struct wskey_new *k)
{
	keypair_free(&k->kp);
	json_object_put(k->jwk);
	k->jwk = NULL;
}

enum sig_err
wskey_insert(struct store_txn *t, const char *slug, const struct wskey_new *k,
    json_object *domains, int64_t expiry_us, json_object *actor,
    json_object **out)
{
	json_object	*rec;
	char		 all[RECORDS_KEY_MAX], live[RECORDS_KEY_MAX];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	*out = NULL;
	rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(k->id));
	json_object_object_add(rec, "uid", json_object_new_string(k->uid));
	json_object_object_add(rec, "workspace", json_object_new_string(slug));
	json_object_object_add(rec, "status", json_object_new_string("active"));
	json_object_object_add(rec, "algorithm", json_object_new_string(k->alg));
	json_object_object_add(rec, "allowed_domains", domains);
	json_object_object_add(rec, "expiry_at",
	    json_object_new_int64(expiry_us));
	json_object_object_add(rec, "public_key_pem",
	    json_object_new_string(k->kp.public_pem));
	json_object_object_add(rec, "jwk", json_object_get(k->jwk));
	json_object_object_add(rec, "created_at", json_object_new_int64(now));
	json_object_object_add(rec, "created_by", actor);
	if (records_index_key(LIST_WSKEYS_ALL, slug, now, k->uid, all) != 0 ||
	    records_index_key(LIST_WSKEYS_LIVE, slug, now, k->uid, live) != 0) {
		json_object_put(rec);
		return SIG_EINTERNAL;
	}
	json_object_object_add(rec, "ikey", json_object_new_string(all));
	if ((rc = store_insert(t, TBL_WSKEYS, k->uid, rec)) == SIG_OK &&
	    (rc = records_index_put(t, all, k->uid)) == SIG_OK)
		rc = records_index_put(t, live, k->uid);
	if (rc == SIG_OK)
		*out = rec;
	else
		json_object_put(rec);
	return rc == SIG_EEXISTS ? SIG_EINTERNAL : rc;
}

enum sig_err
wskey_load(struct store_txn *t, const char *slug, const char *uid, int lock,
    json_object **rec)
{
	return records_owned(t, TBL_WSKEYS, uid, "workspace", slug,
	    lock ? RECORD_LOCK : RECORD_COPY, rec);
}

enum sig_err
wskey_roll(struct store_txn *t, json_object *rec, int64_t grace_s,
    int64_t now_us, json_object *actor)
{
	if (json_i64(rec, "deleted_at") != 0 ||
	    strcmp(json_str(rec, "status"), "active") != 0) {
		json_object_put(actor);
		return json_i64(rec, "deleted_at") != 0 ? SIG_ENOTFOUND :
		    SIG_ENOTACTIVE;
	}
	json_object_object_add(rec, "status", json_object_new_string("rolled"));
	json_object_object_add(rec, "rolled_at", json_object_new_int64(now_us));
	json_object_object_add(rec, "rolled_by", actor);
	json_object_object_add(rec, "grace_until",
	    json_object_new_int64(now_us + grace_s * 1000000));
	return store_put(t, TBL_WSKEYS, json_str(rec, "uid"), rec);
}

enum sig_err
wskey_update(struct store_txn *t, json_object *rec, int domains_set,
    json_object *domains, int64_t expiry_us)
{
	if (json_i64(rec, "deleted_at") != 0)
		return SIG_ENOTFOUND;
	if (domains_set)
		json_object_object_add(rec, "allowed_domains",
		    domains ? json_object_get(domains) : NULL);
	if (expiry_us != 0)
		json_object_object_add(rec, "expiry_at",
		    json_object_new_int64(expiry_us > 0 ? expiry_us : 0));
	return store_put(t, TBL_WSKEYS, json_str(rec, "uid"), rec);
}

enum sig_err
wskey_delete(struct store_txn *t, json_object *rec, json_object *actor)
{
	char		 live[RECORDS_KEY_MAX];
	const char	*uid = json_str(rec, "uid");
	enum sig_err	 rc;

	if (json_i64(rec, "deleted_at") != 0) {
		json_object_put(actor);
		return SIG_ENOTFOUND;
	}
	json_object_object_add(rec, "deleted_at",
	    json_object_new_int64(ids_now_us()));
	json_object_object_add(rec, "deleted_by", actor);
	if (records_index_key(LIST_WSKEYS_LIVE, json_str(rec, "workspace"),
	    json_i64(rec, "created_at"), uid, live) != 0)
		return SIG_EINTERNAL;
	if ((rc = store_put(t, TBL_WSKEYS, uid, rec)) != SIG_OK)
		return rc;
	return records_index_del(t, live);
}

const char *
wskey_unusable(json_object *rec, int64_t now)
{
	int64_t	 expiry = json_i64(rec, "expiry_at");

	if (json_i64(rec, "deleted_at") != 0)
		return "the signing key was deleted";
	if (strcmp(json_str(rec, "status"), "rolled") == 0 &&
	    now >= json_i64(rec, "grace_until"))
		return "the signing key was rolled and its grace period has "
		    "ended";
	if (expiry != 0 && now >= expiry)
		return "the signing key has expired";
	return NULL;
}

int
wskey_mark_verified(json_object *rec, int64_t at_us)
{
	if (json_i64(rec, "last_verified_at") >= at_us)
		return 0;
	json_object_object_add(rec, "last_verified_at",
	    json_object_new_int64(at_us));
	return 1;
}

json_object *
wskey_view(json_object *rec)
{
	json_object	*o = json_object_new_object();
	char		 ts[32];
	int64_t		 at = json_i64(rec, "last_verified_at"), seen;

	json_object_object_add(o, "id",
	    json_object_new_string(json_str(rec, "id")));
	json_object_object_add(o, "uid",
	    json_object_new_string(json_str(rec, "uid")));
	json_object_object_add(o, "status",
	    json_object_new_string(json_str(rec, "status")));
	json_object_object_add(o, "algorithm",
	    json_object_new_string(json_str(rec, "algorithm")));
	json_object_object_add(o, "allowed_domains",
	    json_copy(rec, "allowed_domains"));
	json_object_object_add(o, "expiry_at", json_time(rec, "expiry_at", 1));
	json_object_object_add(o, "public_key_pem",
	    json_object_new_string(json_str(rec, "public_key_pem")));
	json_object_object_add(o, "created_at", json_time(rec, "created_at", 1));
	json_object_object_add(o, "created_by", json_copy(rec, "created_by"));
	json_object_object_add(o, "rolled_at", json_time(rec, "rolled_at", 1));
	json_object_object_add(o, "rolled_by", json_copy(rec, "rolled_by"));
	json_object_object_add(o, "deleted_at", json_time(rec, "deleted_at", 1));
	json_object_object_add(o, "deleted_by", json_copy(rec, "deleted_by"));
	if ((seen = usage_seen(json_str(rec, "uid"))) > at)
		at = seen;
	json_object_object_add(o, "last_verified_at", at != 0 ?
	    json_object_new_string(ids_time(at, 1, ts)) : NULL);
	return o;
}

enum sig_err
wskey_jwks(struct store_txn *t, const char *slug, int64_t now,
    json_object **keys)
{
	json_object	*recs, *rec, *jwk;
	char		 prefix[RECORDS_KEY_MAX];
	enum sig_err	 rc;
	size_t		 i;
	int		 more;

	*keys = NULL;
	if (records_prefix(LIST_WSKEYS_LIVE, slug, prefix) != 0)
		return SIG_EINTERNAL;
	if ((rc = store_page(t, TBL_WSKEYS, prefix, NULL, JWKS_MAX_KEYS, &recs,
	    &more)) != SIG_OK)
		return rc;
	*keys = json_object_new_array();
	for (i = 0; i < json_object_array_length(recs); i++) {
		rec = json_object_array_get_idx(recs, i);
		if (wskey_unusable(rec, now) == NULL &&
		    json_object_object_get_ex(rec, "jwk", &jwk))
			json_object_array_add(*keys, json_object_get(jwk));
	}
	json_object_put(recs);
	return SIG_OK;
}

/* --- token verification --- */

static json_object *
refusal(const char *reason)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "valid", json_object_new_boolean(0));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	return o;
}

/* Check exp and nbf (RFC 7519 NumericDate) with the leeway; NULL when fine. */
static const char *
claims_problem(json_object *claims, int64_t now)
{
	json_object	*v;

	if (json_object_object_get_ex(claims, "exp", &v)) {
		if (!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double))
			return "exp claim must be a number";
		if ((double)now > json_object_get_double(v) + CLAIM_LEEWAY)
			return "token has expired (exp)";
	}
	if (json_object_object_get_ex(claims, "nbf", &v)) {
		if (!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double))
			return "nbf claim must be a number";
		if ((double)now < json_object_get_double(v) - CLAIM_LEEWAY)
			return "token is not valid yet (nbf)";
	}
	return NULL;
}

/* Whether host is one of rec's allowed domains, or rec allows any. */
static int
domain_allowed(json_object *rec, const char *host)
{
	json_object	*domains;
	size_t		 i, n;

	if (host == NULL ||
	    !json_object_object_get_ex(rec, "allowed_domains", &domains) ||
	    domains == NULL)
		return 1;
	n = json_object_array_length(domains);
	for (i = 0; i < n; i++)
		if (strcmp(json_object_get_string(
		    json_object_array_get_idx(domains, i)), host) == 0)
			return 1;
	return 0;
}

enum sig_err
wskey_verify_token(struct store_txn *t, const char *slug, const char *token,
    const char *origin_host, int64_t now, json_object **out)
{
	struct jws	 j;
	struct jwk	 k;
	json_object	*rec = NULL, *jwk, *claims = NULL;
	const char	*why = NULL;
	char		 reason[JWS_REASON_MAX], msg[SIG_MSG_MAX];
	enum sig_err	 rc = SIG_OK;
	int		 ok;

	*out = NULL;
	if (jws_parse(token, NULL, 0, &j, reason) != 0) {
		*out = refusal(reason);
		return SIG_OK;
	}
	if (j.kid[0] == '\0') {
		why = "token header has no kid";
		goto done;
	}
	rc = wskey_load(t, slug, j.kid, 0, &rec);
	if (rc == SIG_ENOTFOUND) {
		rc = SIG_OK;
		why = "kid does not name a signing key of this workspace";
		goto done;
	}
	if (rc != SIG_OK)
		goto done;
	if ((why = wskey_unusable(rec, now)) != NULL)
		goto done;
	if (strcmp(j.alg, json_str(rec, "algorithm")) != 0) {
		why = "alg does not match the signing key's algorithm";
		goto done;
	}
	if (!json_object_object_get_ex(rec, "jwk", &jwk) ||
	    jwk_parse(jwk, &k, msg) != SIG_OK) {
		rc = SIG_EINTERNAL;
		goto done;
	}
	ok = jws_verify(&j, &k, reason);
	jwk_free(&k);
	if (ok && (json_parse_body((char *)j.payload, j.payload_len, &claims,
	    msg) != SIG_OK || !json_object_is_type(claims, json_type_object)))
		ok = 0, snprintf(reason, sizeof(reason), "token payload is not "
		    "a JSON object");
	if (!ok)
		why = reason;
	else if ((why = claims_problem(claims, now / 1000000)) == NULL &&
	    !domain_allowed(rec, origin_host))
		why = "origin is not one of the key's allowed_domains";
done:
	if (rc == SIG_OK && why != NULL)
		*out = refusal(why);
	else if (rc == SIG_OK) {
		*out = json_object_new_object();
		json_object_object_add(*out, "valid",
		    json_object_new_boolean(1));
		json_object_object_add(*out, "uid",
		    json_object_new_string(json_str(rec, "uid")));
		json_object_object_add(*out, "claims", claims);
		claims = NULL;
		usage_note(USAGE_WSKEY, NULL, json_str(rec, "uid"), now);
	}
	jws_free(&j);
	json_object_put(claims);
	json_object_put(rec);
	return rc;
}
