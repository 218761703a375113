/*
 * Registered enterprise keys (entkeys.h): selection from a JWK Set, the
 * JWKS fetch, the records and their tombstones, revocation, the refresh
 * claim, and JWS verification.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/entkeys.h"
#include "signet/fetch.h"
#include "signet/json.h"
#include "signet/jws.h"
#include "signet/log.h"
#include "signet/records.h"
#include "signet/usage.h"
#include "signet/validate.h"

#define MAX_AGE_MIN		300
#define MAX_AGE_MAX		86400
#define REFETCH_EVERY		60
#define URI_MAX_LEN		2048

_Static_assert(ENTKEY_JWS_MAX == JWS_MAX_LEN, "entkeys.h and jws.h disagree");

/* What the refresh transactions share. */
struct refresh {
	const char	*ent, *key_id;
	json_object	*rec;		/* owned */
	struct jwk	 jwk;		/* the refetched key */
	long		 max_age;
	int		 claimed;
};

static enum sig_err	 fail(char *, enum sig_err, const char *, ...)
			    __attribute__((format(printf, 3, 4)));
static void		 set_material(json_object *, const struct jwk *);
static enum sig_err	 load_tx(struct store_txn *, void *);
static enum sig_err	 claim_refresh_tx(struct store_txn *, void *);
static enum sig_err	 store_refresh_tx(struct store_txn *, void *);
static void		 refresh(struct store *, const struct config *,
			    struct refresh *, const char *);
static json_object	*verdict(int, const char *, const char *, const char *);

/* Set msg (SIG_MSG_MAX) printf-style, cut to fit like ctx_fail; returns e. */
static enum sig_err
fail(char *msg, enum sig_err e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, SIG_MSG_MAX, fmt, ap);
	va_end(ap);
	return e;
}

void
entkey_record_id(const char *ent, const char *key_id, char *out)
{
	snprintf(out, ENTKEY_RID_MAX, "%s/%s", ent, key_id);
}

static long
bounded_max_age(long max_age)
{
	if (max_age < MAX_AGE_MIN)
		return MAX_AGE_MIN;
	return max_age > MAX_AGE_MAX ? MAX_AGE_MAX : max_age;
}

enum sig_err
entkey_fetch(const struct config *cfg, const char *uri, json_object **doc,
    long *max_age, char *msg)
{
	struct fetch_opts	 opts;
	struct fetch_result	 res;
	json_object		*keys;
	enum sig_err		 rc;
	char			 why[SIG_MSG_MAX];

	*doc = NULL;
	if (strncmp(uri, "https://", 8) != 0)
		return fail(msg, SIG_EFETCH, "jwksUri must use https://; other "
		    "schemes are not fetched");
	opts.ca_file = cfg->jwks_ca_file[0] ? cfg->jwks_ca_file : NULL;
	opts.allow_private = cfg->jwks_allow_private_addresses;
	opts.timeout_ms = cfg->jwks_fetch_timeout_ms;
	opts.max_bytes = cfg->jwks_max_bytes;
	memset(&res, 0, sizeof(res));
	rc = fetch_https(uri, &opts, &res);
	if (rc != SIG_OK) {
		free(res.body);
		return rc == SIG_EFETCH ? fail(msg, rc, "JWKS fetch failed: %s",
		    res.reason) : rc;
	}
	rc = json_parse_body(res.body, res.len, doc, why);
	free(res.body);
	if (rc != SIG_OK || !json_object_object_get_ex(*doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		json_object_put(*doc);
		*doc = NULL;
		return fail(msg, SIG_EFETCH, "JWKS fetch failed: the document "
		    "is not a JWK Set ({\"keys\": [...]})");
	}
	*max_age = bounded_max_age(res.max_age);
	return SIG_OK;
}

enum sig_err
entkey_select(json_object *doc, const char *key_id, enum sig_err e,
    struct jwk *k, char *msg)
{
	json_object	*keys, *one, *chosen = NULL;
	const char	*kid, *alg, *pre = e == SIG_EFETCH ?
			    "JWKS fetch failed: " : "";
	size_t		 i, n;
	char		 why[SIG_MSG_MAX];

	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array) ||
	    (n = json_object_array_length(keys)) == 0)
		return fail(msg, e, "jwks must be a JWK Set with at least one "
		    "key: {\"keys\": [...]}");
	for (i = 0; i < n; i++) {
		one = json_object_array_get_idx(keys, i);
		kid = json_object_is_type(one, json_type_object) ?
		    json_str(one, "kid") : NULL;
		if (key_id != NULL && kid != NULL && strcmp(kid, key_id) == 0) {
			chosen = one;
			break;
		}
	}
	if (chosen == NULL && n == 1 && e == SIG_EINVAL) {
		chosen = json_object_array_get_idx(keys, 0);
		kid = json_object_is_type(chosen, json_type_object) ?
		    json_str(chosen, "kid") : NULL;
		if (key_id == NULL && kid == NULL)
			return fail(msg, e, "keyId is required when the JWK "
			    "has no kid");
		if (key_id != NULL && kid != NULL)
			return fail(msg, e, "keyId and the JWK's kid differ");
	}
	if (chosen == NULL)
		return key_id == NULL ? fail(msg, e, "keyId is required to "
		    "choose a key from a JWKS with several keys") :
		    fail(msg, e, "%sthe JWKS has no key with kid %.64s", pre,
		    key_id);
	if (jwk_parse(chosen, k, why) != SIG_OK)
		return fail(msg, e, "%s%s", pre, why);
	alg = k->alg;
	if (alg[0] != '\0' && !jwk_alg_fits(k, alg)) {
		(void)fail(msg, e, "JWK alg %s is not accepted for this key "
		    "(RS256, PS256, ES256, ES384, ES512 or EdDSA, fitting the "
		    "key)", alg);
		jwk_free(k);
		return e;
	}
	return SIG_OK;
}

/* Set the key material members of rec from k. */
static void
set_material(json_object *rec, const struct jwk *k)
{
	json_object_object_add(rec, "kty", json_object_new_string(k->kty));
	json_object_object_add(rec, "alg",
	    json_object_new_string(jwk_default_alg(k)));
	json_object_object_add(rec, "thumbprint",
	    json_object_new_string(k->thumbprint));
	json_object_object_add(rec, "jwk", json_object_get(k->public_jwk));
}

enum sig_err
entkey_insert(struct store_txn *t, const struct entkey_new *k,
    json_object *actor, json_object **out)
{
	json_object	*rec;
	char		 rid[ENTKEY_RID_MAX], ikey[RECORDS_KEY_MAX];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	*out = NULL;
	entkey_record_id(k->ent, k->key_id, rid);
	rec = json_object_new_object();
	json_object_object_add(rec, "keyId", json_object_new_string(k->key_id));
	json_object_object_add(rec, "name", json_str_or_null(k->name));
	json_object_object_add(rec, "status", json_object_new_string("active"));
	json_object_object_add(rec, "source",
	    json_object_new_string(k->uri ? "jwks_uri" : "jwks"));
	if (k->uri != NULL) {
		json_object_object_add(rec, "jwksUri",
		    json_object_new_string(k->uri));
		json_object_object_add(rec, "fetchedAt",
		    json_object_new_int64(now / 1000000));
		json_object_object_add(rec, "maxAge",
		    json_object_new_int64(k->max_age));
	}
	set_material(rec, &k->jwk);
	json_object_object_add(rec, "createdAt",
	    json_object_new_int64(now / 1000000));
	json_object_object_add(rec, "createdBy", actor);
	json_object_object_add(rec, "revokedBy", NULL);
	/* The listing names keys by creation; the record key is the value. */
	if (records_index_key(LIST_ENTKEYS, k->ent, now, NULL, ikey) != 0) {
		json_object_put(rec);
		return SIG_EINTERNAL;
	}
	json_object_object_add(rec, "ikey", json_object_new_string(ikey));
	rc = store_insert(t, TBL_ENTKEYS, rid, rec);
	if (rc == SIG_EEXISTS)
		rc = SIG_EKEYIDUSED;	/* the tombstone rule */
	if (rc == SIG_OK && (rc = records_index_put(t, ikey, rid)) ==
	    SIG_EEXISTS)
		rc = SIG_ERETRY;	/* same microsecond: a new time */
	if (rc == SIG_OK)
		*out = rec;
	else
		json_object_put(rec);
	return rc;
}

enum sig_err
entkey_load(struct store_txn *t, const char *ent, const char *key_id,
    int lock, json_object **rec)
{
	char	 rid[ENTKEY_RID_MAX];

	entkey_record_id(ent, key_id, rid);
	return store_get(t, TBL_ENTKEYS, rid, lock, rec);
}

enum sig_err
entkey_revoke(struct store_txn *t, const char *ent, json_object *rec,
    json_object *actor)
{
	char	 rid[ENTKEY_RID_MAX];

	if (strcmp(json_str(rec, "status"), "revoked") == 0) {
		json_object_put(actor);
		return SIG_EREVOKED;
	}
	json_object_object_add(rec, "status",
	    json_object_new_string("revoked"));
	json_object_object_add(rec, "revokedAt",
	    json_object_new_int64(ids_now_us() / 1000000));
	json_object_object_add(rec, "revokedBy", actor);
	entkey_record_id(ent, json_str(rec, "keyId"), rid);
	return store_put(t, TBL_ENTKEYS, rid, rec);
}

int
entkey_mark_verified(json_object *rec, int64_t at_us)
{
	if (json_i64(rec, "lastVerifiedAt") >= at_us / 1000000)
		return 0;
	json_object_object_add(rec, "lastVerifiedAt",
	    json_object_new_int64(at_us / 1000000));
	return 1;
}

json_object *
entkey_view(const char *ent, json_object *rec)
{
	json_object	*o = json_object_new_object();
	char		 rid[ENTKEY_RID_MAX], ts[32];
	int64_t		 at = json_i64(rec, "lastVerifiedAt"), seen;

	json_object_object_add(o, "keyId", json_copy(rec, "keyId"));
	json_object_object_add(o, "name", json_copy(rec, "name"));
	json_object_object_add(o, "status", json_copy(rec, "status"));
	json_object_object_add(o, "source", json_copy(rec, "source"));
	if (json_str(rec, "jwksUri") != NULL)
		json_object_object_add(o, "jwksUri", json_copy(rec, "jwksUri"));
	json_object_object_add(o, "kty", json_copy(rec, "kty"));
	json_object_object_add(o, "alg", json_copy(rec, "alg"));
	json_object_object_add(o, "thumbprint", json_copy(rec, "thumbprint"));
	json_object_object_add(o, "createdAt", json_time(rec, "createdAt", 0));
	json_object_object_add(o, "createdBy", json_copy(rec, "createdBy"));
	json_object_object_add(o, "revokedAt", json_time(rec, "revokedAt", 0));
	json_object_object_add(o, "revokedBy", json_copy(rec, "revokedBy"));
	entkey_record_id(ent, json_str(rec, "keyId"), rid);
	if ((seen = usage_seen(rid) / 1000000) > at)
		at = seen;
	json_object_object_add(o, "lastVerifiedAt", at != 0 ?
	    json_object_new_string(ids_time(at, 0, ts)) : NULL);
	return o;
}

/* --- verification --- */

static enum sig_err
load_tx(struct store_txn *t, void *arg)
{
	struct refresh	*r = arg;

	json_object_put(r->rec);
	r->rec = NULL;
	return entkey_load(t, r->ent, r->key_id, 0, &r->rec);
}

/*
 * Whether the fetched key is past its cache lifetime and no refetch was
 * tried in the last REFETCH_EVERY seconds; if so, record this attempt so
 * that other workers do not fetch too (r->claimed).
 */
static enum sig_err
claim_refresh_tx(struct store_txn *t, void *arg)
{
	struct refresh	*r = arg;
	char		 rid[ENTKEY_RID_MAX];
	int64_t		 now = ids_now_us() / 1000000;
	enum sig_err	 rc;

	r->claimed = 0;
	json_object_put(r->rec);
	r->rec = NULL;
	if ((rc = entkey_load(t, r->ent, r->key_id, 1, &r->rec)) != SIG_OK)
		return rc;
	if (now < json_i64(r->rec, "fetchedAt") + json_i64(r->rec, "maxAge") ||
	    now < json_i64(r->rec, "refreshAttempt") + REFETCH_EVERY)
		return SIG_OK;
	json_object_object_add(r->rec, "refreshAttempt",
	    json_object_new_int64(now));
	entkey_record_id(r->ent, r->key_id, rid);
	if ((rc = store_put(t, TBL_ENTKEYS, rid, r->rec)) == SIG_OK)
		r->claimed = 1;
	return rc;
}

static enum sig_err
store_refresh_tx(struct store_txn *t, void *arg)
{
	struct refresh	*r = arg;
	char		 rid[ENTKEY_RID_MAX];
	enum sig_err	 rc;

	json_object_put(r->rec);
	r->rec = NULL;
	if ((rc = entkey_load(t, r->ent, r->key_id, 1, &r->rec)) != SIG_OK)
		return rc;
	set_material(r->rec, &r->jwk);
	json_object_object_add(r->rec, "fetchedAt",
	    json_object_new_int64(ids_now_us() / 1000000));
	json_object_object_add(r->rec, "maxAge",
	    json_object_new_int64(r->max_age));
	entkey_record_id(r->ent, r->key_id, rid);
	return store_put(t, TBL_ENTKEYS, rid, r->rec);
}

/*
 * Refresh a JWKS-URI key whose cache has gone stale.  On any failure the
 * cached key stays in use and the log says why.
 */
static void
refresh(struct store *s, const struct config *cfg, struct refresh *r,
    const char *uri)
{
	json_object	*doc = NULL;
	char		 msg[SIG_MSG_MAX];

	if (store_run(s, claim_refresh_tx, r) != SIG_OK || !r->claimed)
		goto done;
	if (entkey_fetch(cfg, uri, &doc, &r->max_age, msg) != SIG_OK ||
	    entkey_select(doc, r->key_id, SIG_EFETCH, &r->jwk, msg) !=
	    SIG_OK) {
		log_msg(LOG_WARN, "refreshing the JWKS of key %.64s failed (%s); "
		    "using the cached key", r->key_id, msg);
		goto done;
	}
	if (store_run(s, store_refresh_tx, r) != SIG_OK)
		log_msg(LOG_WARN, "could not store the refreshed key %.64s",
		    r->key_id);
	jwk_free(&r->jwk);
done:
	json_object_put(doc);
}

static json_object *
verdict(int valid, const char *key_id, const char *alg, const char *reason)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "valid", json_object_new_boolean(valid));
	if (key_id != NULL && key_id[0] != '\0')
		json_object_object_add(o, "keyId",
		    json_object_new_string(key_id));
	if (alg != NULL && alg[0] != '\0')
		json_object_object_add(o, "alg", json_object_new_string(alg));
	if (reason != NULL)
		json_object_object_add(o, "reason",
		    json_object_new_string(reason));
	return o;
}

enum sig_err
entkey_verify(struct store *s, const struct config *cfg, const char *ent,
    const char *compact, const char *payload, size_t plen,
    json_object **out)
{
	struct refresh	 r;
	struct jws	 j;
	struct jwk	 k;
	json_object	*jwk;
	const char	*uri;
	char		 reason[JWS_REASON_MAX], msg[SIG_MSG_MAX];
	char		 uricopy[URI_MAX_LEN + 1];
	enum sig_err	 rc = SIG_OK;
	int		 ok;

	*out = NULL;
	if (jws_parse(compact, payload, plen, &j, reason) != 0) {
		*out = verdict(0, NULL, NULL, reason);
		return SIG_OK;
	}
	if (j.kid[0] == '\0') {
		*out = verdict(0, NULL, j.alg, "JWS header has no kid");
		jws_free(&j);
		return SIG_OK;
	}
	memset(&r, 0, sizeof(r));
	r.ent = ent;
	r.key_id = j.kid;
	if (!valid_kid(r.key_id) ||
	    (rc = store_view(s, load_tx, &r)) == SIG_ENOTFOUND) {
		*out = verdict(0, j.kid, j.alg, "no key with this kid is "
		    "registered for the enterprise");
		rc = SIG_OK;
		goto done;
	}
	if (rc != SIG_OK)
		goto done;
	if (strcmp(json_str(r.rec, "status"), "active") != 0) {
		*out = verdict(0, j.kid, j.alg, "the key is revoked");
		goto done;
	}
	if ((uri = json_str(r.rec, "jwksUri")) != NULL) {
		snprintf(uricopy, sizeof(uricopy), "%s", uri);
		refresh(s, cfg, &r, uricopy);
		if ((rc = store_view(s, load_tx, &r)) != SIG_OK)
			goto done;
	}
	if (!json_object_object_get_ex(r.rec, "jwk", &jwk) ||
	    jwk_parse(jwk, &k, msg) != SIG_OK) {
		rc = SIG_EINTERNAL;
		goto done;
	}
	ok = jws_verify(&j, &k, reason);
	jwk_free(&k);
	*out = verdict(ok, j.kid, j.alg, ok ? NULL : reason);
	if (ok) {
		char	 rid[ENTKEY_RID_MAX];

		entkey_record_id(ent, j.kid, rid);
		usage_note(USAGE_ENTKEY, NULL, rid, ids_now_us());
	}
done:
	jws_free(&j);
	json_object_put(r.rec);
	return rc;
}
