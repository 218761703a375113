/*
 * Enterprises and the public keys they register for the webhooks they sign
 * (API.md section 5): inline JWKS or a JWKS URI fetched over HTTPS, keyIds
 * tombstoned for ever, revocation, and JWS verification.
 *
 * A key record lives at "<enterprise id>/<keyId>" and is never deleted:
 * revoking marks it, so the keyId stays taken.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/app.h"
#include "signet/fetch.h"
#include "signet/handlers.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/jwk.h"
#include "signet/jws.h"
#include "signet/log.h"
#include "signet/validate.h"

#define NAME_MAX_LEN		255
#define URI_MAX_LEN		2048
#define MAX_AGE_MIN		300
#define MAX_AGE_MAX		86400
#define REFETCH_EVERY		60

struct eop {
	struct ctx	*c;
	const char	*ent;		/* enterprise id */
	const char	*key_id;
	const char	*name;
	const char	*uri;
	json_object	*rec;		/* owned */
	json_object	*out;		/* owned */
	struct jwk	 jwk;		/* the key being registered */
	long		 max_age;
	/* list */
	int		 limit, more;
	char		 after[IDS_MAX];
	char		 after_key[JWK_KID_MAX + 1];
};

static void
eop_reset(struct eop *o)
{
	json_object_put(o->rec);
	json_object_put(o->out);
	o->rec = o->out = NULL;
}

static enum sig_err
erun(struct eop *o, store_fn fn, int status)
{
	enum sig_err	 rc = store_run(o->c->app->store, fn, o);

	if (rc == SIG_OK) {
		o->c->status = status;
		o->c->data = o->out;
		o->out = NULL;
	}
	eop_reset(o);
	return rc;
}

static json_object *
enterprise_view(json_object *rec)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "id", json_copy(rec, "id"));
	json_object_object_add(o, "name", json_copy(rec, "name"));
	json_object_object_add(o, "created_at", json_time(rec, "created_at", 0));
	return o;
}

static json_object *
key_view(json_object *rec)
{
	json_object	*o = json_object_new_object();

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
	return o;
}

/* The caller's enterprise o->ent; another account's answers as absent. */
static enum sig_err
load_enterprise(struct store_txn *t, struct eop *o)
{
	json_object	*rec;
	const char	*acct;
	enum sig_err	 rc;

	if ((rc = store_get(t, TBL_ENTERPRISES, o->ent, 0, &rec)) != SIG_OK)
		return rc == SIG_ENOTFOUND ? ctx_fail(o->c, SIG_ENOTFOUND,
		    "enterprise not found") : rc;
	acct = json_str(rec, "account");
	rc = acct != NULL && strcmp(acct, o->c->who.account) == 0 ? SIG_OK :
	    ctx_fail(o->c, SIG_ENOTFOUND, "enterprise not found");
	json_object_put(rec);
	return rc;
}

static void
key_record_id(const char *ent, const char *key_id, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", ent, key_id);
}

static enum sig_err
load_key(struct store_txn *t, struct eop *o, int rmw)
{
	char		 rid[IDS_MAX + JWK_KID_MAX + 2];
	enum sig_err	 rc;

	if ((rc = load_enterprise(t, o)) != SIG_OK)
		return rc;
	key_record_id(o->ent, o->key_id, rid, sizeof(rid));
	json_object_put(o->rec);
	o->rec = NULL;
	rc = store_get(t, TBL_ENTKEYS, rid, rmw, &o->rec);
	return rc == SIG_ENOTFOUND ? ctx_fail(o->c, SIG_ENOTFOUND,
	    "webhook signing key not found") : rc;
}

static int
valid_ent_id(const char *s)
{
	return valid_prefixed_hex(s, "ent_", 32);
}

/* A keyId: 1..255 bytes, no control characters, no '/' (it is a path part). */
static int
valid_key_id(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 1 || n > JWK_KID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/')
			return 0;
	return 1;
}

static enum sig_err
path_ids(struct ctx *c, struct eop *o, int with_key)
{
	memset(o, 0, sizeof(*o));
	o->c = c;
	o->ent = c->params[0];
	if (!valid_ent_id(o->ent))
		return ctx_fail(c, SIG_EINVAL, "enterprise id must be ent_ "
		    "followed by 32 lowercase hex digits");
	if (with_key) {
		o->key_id = c->params[1];
		if (!valid_key_id(o->key_id))
			return ctx_fail(c, SIG_EINVAL, "keyId must be 1 to 255 "
			    "characters without '/' or control characters");
	}
	return SIG_OK;
}

/* --- enterprises --- */

static enum sig_err
ent_create_tx(struct store_txn *t, void *arg)
{
	struct eop	*o = arg;
	json_object	*rec;
	char		 ikey[160];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	eop_reset(o);
	rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(o->ent));
	json_object_object_add(rec, "account",
	    json_object_new_string(o->c->who.account));
	json_object_object_add(rec, "name", json_object_new_string(o->name));
	json_object_object_add(rec, "created_at",
	    json_object_new_int64(now / 1000000));
	snprintf(ikey, sizeof(ikey), "en:%s:%016" PRIx64 ":%s",
	    o->c->who.account, (uint64_t)now, o->ent);
	json_object_object_add(rec, "ikey", json_object_new_string(ikey));
	if ((rc = store_insert(t, TBL_ENTERPRISES, o->ent, rec)) == SIG_OK &&
	    (rc = store_put_str(t, TBL_INDEX, ikey, o->ent, 1)) == SIG_OK &&
	    (rc = ctx_audit(t, o->c, "enterprise.created", "enterprise",
	    o->ent)) == SIG_OK)
		o->out = enterprise_view(rec);
	json_object_put(rec);
	return rc == SIG_EEXISTS ? SIG_EINTERNAL : rc;
}

enum sig_err
h_enterprise_create(struct ctx *c)
{
	static const char *const fields[] = { "name", NULL };
	struct eop	 o;
	char		 id[IDS_MAX];
	size_t		 n;
	enum sig_err	 rc;

	memset(&o, 0, sizeof(o));
	o.c = c;
	if ((rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "name", 1, NAME_MAX_LEN, &o.name,
	    &n, c->msg)) != SIG_OK)
		return rc;
	if (n == 0)
		return ctx_fail(c, SIG_EINVAL, "name must not be empty");
	if ((rc = ids_new("ent_", 16, id, sizeof(id))) != SIG_OK)
		return rc;
	o.ent = id;
	return erun(&o, ent_create_tx, 201);
}

static enum sig_err
ent_get_tx(struct store_txn *t, void *arg)
{
	struct eop	*o = arg;
	enum sig_err	 rc;

	eop_reset(o);
	if ((rc = load_enterprise(t, o)) != SIG_OK ||
	    (rc = store_get(t, TBL_ENTERPRISES, o->ent, 0, &o->rec)) != SIG_OK)
		return rc;
	o->out = enterprise_view(o->rec);
	return SIG_OK;
}

enum sig_err
h_enterprise_get(struct ctx *c)
{
	struct eop	 o;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 0)) != SIG_OK)
		return rc;
	return erun(&o, ent_get_tx, 200);
}

/*
 * List one page of index entries under prefix whose records are views by
 * view().  after_rid names the record whose index key to start after.
 */
static enum sig_err
page(struct store_txn *t, struct eop *o, enum store_table table,
    const char *prefix, const char *after_rid, json_object *(*view)(json_object *))
{
	const char	*after = NULL;
	enum sig_err	 rc;

	if (after_rid != NULL) {
		rc = store_get(t, table, after_rid, 0, &o->rec);
		if (rc == SIG_ENOTFOUND || (rc == SIG_OK &&
		    (after = json_str(o->rec, "ikey")) != NULL &&
		    strncmp(after, prefix, strlen(prefix)) != 0))
			return ctx_fail(o->c, SIG_EINVAL, "starting_after does "
			    "not name an item of this list");
		if (rc != SIG_OK)
			return rc;
	}
	return ctx_list(t, table, prefix, after, o->limit, view, &o->out,
	    &o->more);
}

static enum sig_err
ent_list_tx(struct store_txn *t, void *arg)
{
	struct eop	*o = arg;
	char		 prefix[IDS_MAX + 8];

	eop_reset(o);
	snprintf(prefix, sizeof(prefix), "en:%s:", o->c->who.account);
	return page(t, o, TBL_ENTERPRISES, prefix, o->after[0] ? o->after :
	    NULL, enterprise_view);
}

enum sig_err
h_enterprise_list(struct ctx *c)
{
	struct eop	 o;
	enum sig_err	 rc;

	memset(&o, 0, sizeof(o));
	o.c = c;
	if ((rc = ctx_page(c, &o.limit, o.after, sizeof(o.after))) != SIG_OK)
		return rc;
	if (o.after[0] != '\0' && !valid_ent_id(o.after))
		return ctx_fail(c, SIG_EINVAL, "starting_after must be an "
		    "enterprise id");
	if ((rc = erun(&o, ent_list_tx, 200)) == SIG_OK)
		c->has_more = o.more;
	return rc;
}

/* --- registering keys --- */

static long
bounded_max_age(long max_age)
{
	if (max_age < MAX_AGE_MIN)
		return MAX_AGE_MIN;
	return max_age > MAX_AGE_MAX ? MAX_AGE_MAX : max_age;
}

/*
 * Fetch the JWK Set at uri.  On SIG_OK *doc owns the parsed set and
 * *max_age is its bounded cache lifetime; SIG_EFETCH names the reason in
 * c->msg.
 */
static enum sig_err
fetch_jwks(struct ctx *c, const char *uri, json_object **doc, long *max_age)
{
	const struct config *cfg = &c->app->cfg;
	struct fetch_opts	 opts;
	struct fetch_result	 res;
	json_object		*keys;
	enum sig_err		 rc;
	char			 msg[SIG_MSG_MAX];

	*doc = NULL;
	if (strncmp(uri, "https://", 8) != 0)
		return ctx_fail(c, SIG_EFETCH, "jwksUri must use https://; "
		    "other schemes are not fetched");
	opts.ca_file = cfg->jwks_ca_file[0] ? cfg->jwks_ca_file : NULL;
	opts.allow_private = cfg->jwks_allow_private_addresses;
	opts.timeout_ms = cfg->jwks_fetch_timeout_ms;
	opts.max_bytes = cfg->jwks_max_bytes;
	memset(&res, 0, sizeof(res));
	rc = fetch_https(uri, &opts, &res);
	if (rc != SIG_OK) {
		free(res.body);
		return rc == SIG_EFETCH ? ctx_fail(c, SIG_EFETCH,
		    "JWKS fetch failed: %s", res.reason) : rc;
	}
	rc = json_parse_body(res.body, res.len, doc, msg);
	free(res.body);
	if (rc != SIG_OK || !json_object_object_get_ex(*doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		json_object_put(*doc);
		*doc = NULL;
		return ctx_fail(c, SIG_EFETCH, "JWKS fetch failed: the document "
		    "is not a JWK Set ({\"keys\": [...]})");
	}
	*max_age = bounded_max_age(res.max_age);
	return SIG_OK;
}

/*
 * Pick the key of the set doc: the one whose kid is key_id, or the only
 * one.  Parse it into o->jwk.  Errors are e (INVALID_REQUEST for an inline
 * set, JWKS_FETCH_FAILED for a fetched one) with a message.
 */
static enum sig_err
select_key(struct eop *o, json_object *doc, const char *key_id,
    enum sig_err e)
{
	json_object	*keys, *k, *chosen = NULL;
	const char	*kid, *alg;
	size_t		 i, n;
	char		 msg[SIG_MSG_MAX];

	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array) ||
	    (n = json_object_array_length(keys)) == 0)
		return ctx_fail(o->c, e, "jwks must be a JWK Set with at least "
		    "one key: {\"keys\": [...]}");
	for (i = 0; i < n; i++) {
		k = json_object_array_get_idx(keys, i);
		kid = json_object_is_type(k, json_type_object) ?
		    json_str(k, "kid") : NULL;
		if (key_id != NULL && kid != NULL && strcmp(kid, key_id) == 0) {
			chosen = k;
			break;
		}
	}
	if (chosen == NULL && n == 1 && e == SIG_EINVAL) {
		chosen = json_object_array_get_idx(keys, 0);
		kid = json_object_is_type(chosen, json_type_object) ?
		    json_str(chosen, "kid") : NULL;
		if (key_id == NULL && kid == NULL)
			return ctx_fail(o->c, e, "keyId is required when the "
			    "JWK has no kid");
		if (key_id != NULL && kid != NULL)
			return ctx_fail(o->c, e, "keyId and the JWK's kid "
			    "differ");
	}
	if (chosen == NULL)
		return key_id == NULL ? ctx_fail(o->c, e, "keyId is required to "
		    "choose a key from a JWKS with several keys") :
		    ctx_fail(o->c, e, "%sthe JWKS has no key with kid %.64s",
		    e == SIG_EFETCH ? "JWKS fetch failed: " : "", key_id);
	if (jwk_parse(chosen, &o->jwk, msg) != SIG_OK)
		return ctx_fail(o->c, e, "%s%s", e == SIG_EFETCH ?
		    "JWKS fetch failed: " : "", msg);
	alg = o->jwk.alg;
	if (alg[0] != '\0' && !jwk_alg_fits(&o->jwk, alg)) {
		jwk_free(&o->jwk);
		return ctx_fail(o->c, e, "JWK alg %s is not accepted for this "
		    "key (RS256, PS256, ES256, ES384, ES512 or EdDSA, fitting "
		    "the key)", alg);
	}
	return SIG_OK;
}

/* Set the key material members of rec from o->jwk. */
static void
set_material(json_object *rec, struct eop *o)
{
	json_object_object_add(rec, "kty", json_object_new_string(o->jwk.kty));
	json_object_object_add(rec, "alg",
	    json_object_new_string(jwk_default_alg(&o->jwk)));
	json_object_object_add(rec, "thumbprint",
	    json_object_new_string(o->jwk.thumbprint));
	json_object_object_add(rec, "jwk", json_object_get(o->jwk.public_jwk));
}

static enum sig_err
key_register_tx(struct store_txn *t, void *arg)
{
	struct eop	*o = arg;
	json_object	*rec;
	char		 rid[IDS_MAX + JWK_KID_MAX + 2], ikey[IDS_MAX + 40];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	eop_reset(o);
	if ((rc = load_enterprise(t, o)) != SIG_OK)
		return rc;
	key_record_id(o->ent, o->key_id, rid, sizeof(rid));
	rec = json_object_new_object();
	json_object_object_add(rec, "keyId", json_object_new_string(o->key_id));
	json_object_object_add(rec, "name", json_str_or_null(o->name));
	json_object_object_add(rec, "status", json_object_new_string("active"));
	json_object_object_add(rec, "source",
	    json_object_new_string(o->uri ? "jwks_uri" : "jwks"));
	if (o->uri != NULL) {
		json_object_object_add(rec, "jwksUri",
		    json_object_new_string(o->uri));
		json_object_object_add(rec, "fetchedAt",
		    json_object_new_int64(now / 1000000));
		json_object_object_add(rec, "maxAge",
		    json_object_new_int64(o->max_age));
	}
	set_material(rec, o);
	json_object_object_add(rec, "createdAt",
	    json_object_new_int64(now / 1000000));
	json_object_object_add(rec, "createdBy", ctx_actor(o->c));
	json_object_object_add(rec, "revokedBy", NULL);
	/* The index names keys by creation; the record id is the value. */
	snprintf(ikey, sizeof(ikey), "ek:%s:%016" PRIx64, o->ent,
	    (uint64_t)now);
	json_object_object_add(rec, "ikey", json_object_new_string(ikey));
	rc = store_insert(t, TBL_ENTKEYS, rid, rec);
	if (rc == SIG_EEXISTS)
		rc = ctx_fail(o->c, SIG_EKEYIDUSED, "keyId %.64s has already "
		    "been used in this enterprise; key ids are never reused",
		    o->key_id);
	if (rc == SIG_OK && (rc = store_put_str(t, TBL_INDEX, ikey, rid, 1)) ==
	    SIG_EEXISTS)
		rc = SIG_ERETRY;	/* same microsecond: a new time */
	if (rc == SIG_OK)
		rc = ctx_audit(t, o->c, "webhook_signing_key.registered",
		    "webhook_signing_key", rid);
	if (rc == SIG_OK)
		o->out = key_view(rec);
	json_object_put(rec);
	return rc;
}

enum sig_err
h_ent_key_register(struct ctx *c)
{
	static const char *const fields[] = { "jwks", "jwksUri", "keyId",
	    "name", NULL };
	struct eop	 o;
	json_object	*jwks = NULL, *doc = NULL;
	int		 has_jwks, has_uri;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 0)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "keyId", 0, JWK_KID_MAX,
	    &o.key_id, NULL, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "name", 0, NAME_MAX_LEN, &o.name,
	    NULL, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "jwksUri", 0, URI_MAX_LEN, &o.uri,
	    NULL, c->msg)) != SIG_OK)
		return rc;
	has_jwks = json_object_object_get_ex(c->body, "jwks", &jwks) &&
	    jwks != NULL;
	has_uri = o.uri != NULL;
	if (has_jwks == has_uri)
		return ctx_fail(c, SIG_EINVAL, "give exactly one of jwks and "
		    "jwksUri");
	if (o.key_id != NULL && !valid_key_id(o.key_id))
		return ctx_fail(c, SIG_EINVAL, "keyId must be 1 to 255 "
		    "characters without '/' or control characters");
	if (has_jwks)
		rc = select_key(&o, jwks, o.key_id, SIG_EINVAL);
	else if (o.key_id == NULL)
		return ctx_fail(c, SIG_EINVAL, "keyId is required with jwksUri");
	else if (strncmp(o.uri, "https://", 8) == 0 &&
	    !valid_https_url(o.uri, strlen(o.uri)))
		return ctx_fail(c, SIG_EINVAL, "jwksUri must be a valid HTTPS "
		    "URL");
	else if ((rc = fetch_jwks(c, o.uri, &doc, &o.max_age)) == SIG_OK)
		rc = select_key(&o, doc, o.key_id, SIG_EFETCH);
	json_object_put(doc);
	if (rc != SIG_OK)
		return rc;
	if (o.key_id == NULL)
		o.key_id = o.jwk.kid;
	if (!valid_key_id(o.key_id)) {
		jwk_free(&o.jwk);
		return ctx_fail(c, SIG_EINVAL, "the JWK's kid is not a usable "
		    "keyId (1 to 255 characters without '/')");
	}
	rc = erun(&o, key_register_tx, 201);
	jwk_free(&o.jwk);
	return rc;
}

/* --- reading and revoking keys --- */

static enum sig_err
key_get_tx(struct store_txn *t, void *arg)
{
	struct eop	*o = arg;
	enum sig_err	 rc;

	eop_reset(o);
	if ((rc = load_key(t, o, 0)) != SIG_OK)
		return rc;
	o->out = key_view(o->rec);
	return SIG_OK;
}

enum sig_err
h_ent_key_get(struct ctx *c)
{
	struct eop	 o;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 1)) != SIG_OK)
		return rc;
	return erun(&o, key_get_tx, 200);
}

static enum sig_err
key_list_tx(struct store_txn *t, void *arg)
{
	struct eop	*o = arg;
	char		 prefix[IDS_MAX + 8], rid[IDS_MAX + JWK_KID_MAX + 2];
	enum sig_err	 rc;

	eop_reset(o);
	if ((rc = load_enterprise(t, o)) != SIG_OK)
		return rc;
	snprintf(prefix, sizeof(prefix), "ek:%s:", o->ent);
	key_record_id(o->ent, o->after_key, rid, sizeof(rid));
	return page(t, o, TBL_ENTKEYS, prefix, o->after_key[0] ? rid : NULL,
	    key_view);
}

enum sig_err
h_ent_key_list(struct ctx *c)
{
	struct eop	 o;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 0)) != SIG_OK ||
	    (rc = ctx_page(c, &o.limit, o.after_key, sizeof(o.after_key))) !=
	    SIG_OK)
		return rc;
	if ((rc = erun(&o, key_list_tx, 200)) == SIG_OK)
		c->has_more = o.more;
	return rc;
}

static enum sig_err
key_revoke_tx(struct store_txn *t, void *arg)
{
	struct eop	*o = arg;
	char		 rid[IDS_MAX + JWK_KID_MAX + 2];
	enum sig_err	 rc;

	eop_reset(o);
	if ((rc = load_key(t, o, 1)) != SIG_OK)
		return rc;
	if (strcmp(json_str(o->rec, "status"), "revoked") == 0)
		return ctx_fail(o->c, SIG_EREVOKED, "key %.64s is already "
		    "revoked", o->key_id);
	json_object_object_add(o->rec, "status",
	    json_object_new_string("revoked"));
	json_object_object_add(o->rec, "revokedAt",
	    json_object_new_int64(ids_now_us() / 1000000));
	json_object_object_add(o->rec, "revokedBy", ctx_actor(o->c));
	key_record_id(o->ent, o->key_id, rid, sizeof(rid));
	if ((rc = store_put(t, TBL_ENTKEYS, rid, o->rec)) != SIG_OK ||
	    (rc = ctx_audit(t, o->c, "webhook_signing_key.revoked",
	    "webhook_signing_key", rid)) != SIG_OK)
		return rc;
	o->out = key_view(o->rec);
	return SIG_OK;
}

enum sig_err
h_ent_key_revoke(struct ctx *c)
{
	struct eop	 o;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 1)) != SIG_OK)
		return rc;
	return erun(&o, key_revoke_tx, 200);
}

/* --- verification --- */

/* Load the key record o->key_id into o->rec. */
static enum sig_err
key_load_tx(struct store_txn *t, void *arg)
{
	return load_key(t, arg, 0);
}

/*
 * Whether the fetched key in o->rec is past its cache lifetime and no
 * refetch was tried in the last REFETCH_EVERY seconds; if so, record this
 * attempt so other workers do not fetch too.
 */
static enum sig_err
claim_refresh_tx(struct store_txn *t, void *arg)
{
	struct eop	*o = arg;
	char		 rid[IDS_MAX + JWK_KID_MAX + 2];
	int64_t		 now = ids_now_us() / 1000000;
	enum sig_err	 rc;

	o->max_age = 0;
	if ((rc = load_key(t, o, 1)) != SIG_OK)
		return rc;
	if (now < json_i64(o->rec, "fetchedAt") + json_i64(o->rec, "maxAge") ||
	    now < json_i64(o->rec, "refreshAttempt") + REFETCH_EVERY)
		return SIG_OK;
	json_object_object_add(o->rec, "refreshAttempt",
	    json_object_new_int64(now));
	key_record_id(o->ent, o->key_id, rid, sizeof(rid));
	if ((rc = store_put(t, TBL_ENTKEYS, rid, o->rec)) == SIG_OK)
		o->max_age = 1;		/* claimed */
	return rc;
}

static enum sig_err
store_refresh_tx(struct store_txn *t, void *arg)
{
	struct eop	*o = arg;
	char		 rid[IDS_MAX + JWK_KID_MAX + 2];
	enum sig_err	 rc;

	if ((rc = load_key(t, o, 1)) != SIG_OK)
		return rc;
	set_material(o->rec, o);
	json_object_object_add(o->rec, "fetchedAt",
	    json_object_new_int64(ids_now_us() / 1000000));
	json_object_object_add(o->rec, "maxAge",
	    json_object_new_int64(o->max_age));
	key_record_id(o->ent, o->key_id, rid, sizeof(rid));
	return store_put(t, TBL_ENTKEYS, rid, o->rec);
}

/*
 * Refresh a JWKS-URI key whose cache has gone stale.  On any failure the
 * cached key stays in use and the log says why.
 */
static void
refresh(struct eop *o, const char *uri)
{
	json_object	*doc = NULL;
	char		 saved[SIG_MSG_MAX];

	memcpy(saved, o->c->msg, sizeof(saved));
	if (store_run(o->c->app->store, claim_refresh_tx, o) != SIG_OK ||
	    o->max_age == 0)
		goto done;
	if (fetch_jwks(o->c, uri, &doc, &o->max_age) != SIG_OK ||
	    select_key(o, doc, o->key_id, SIG_EFETCH) != SIG_OK) {
		log_msg(LOG_WARN, "refreshing the JWKS of key %.64s failed (%s); "
		    "using the cached key", o->key_id, o->c->msg);
		goto done;
	}
	if (store_run(o->c->app->store, store_refresh_tx, o) != SIG_OK)
		log_msg(LOG_WARN, "could not store the refreshed key %.64s",
		    o->key_id);
	jwk_free(&o->jwk);
done:
	json_object_put(doc);
	json_object_put(o->rec);
	o->rec = NULL;
	memcpy(o->c->msg, saved, sizeof(saved));
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
h_ent_verify(struct ctx *c)
{
	static const char *const fields[] = { "jws", "payload", NULL };
	struct eop	 o;
	struct jws	 j;
	struct jwk	 k;
	json_object	*jwk;
	const char	*compact, *payload, *uri;
	size_t		 plen;
	char		 reason[JWS_REASON_MAX], msg[SIG_MSG_MAX];
	int		 ok;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 0)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "jws", 1, JWS_MAX_LEN, &compact,
	    NULL, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "payload", 0, JWS_MAX_LEN,
	    &payload, &plen, c->msg)) != SIG_OK)
		return rc;
	/* The enterprise must exist whatever the JWS holds. */
	if ((rc = erun(&o, ent_get_tx, 200)) != SIG_OK)
		return rc;
	json_object_put(c->data);
	c->data = NULL;
	if (jws_parse(compact, payload, plen, &j, reason) != 0) {
		c->data = verdict(0, NULL, NULL, reason);
		return SIG_OK;
	}
	if (j.kid[0] == '\0') {
		c->data = verdict(0, NULL, j.alg, "JWS header has no kid");
		jws_free(&j);
		return SIG_OK;
	}
	o.key_id = j.kid;
	if (!valid_key_id(o.key_id) ||
	    (rc = store_run(c->app->store, key_load_tx, &o)) == SIG_ENOTFOUND) {
		c->data = verdict(0, j.kid, j.alg, "no key with this kid is "
		    "registered for the enterprise");
		goto done;
	}
	if (rc != SIG_OK)
		goto done;
	if (strcmp(json_str(o.rec, "status"), "active") != 0) {
		c->data = verdict(0, j.kid, j.alg, "the key is revoked");
		goto done;
	}
	if ((uri = json_str(o.rec, "jwksUri")) != NULL) {
		char	 uricopy[URI_MAX_LEN + 1];

		snprintf(uricopy, sizeof(uricopy), "%s", uri);
		refresh(&o, uricopy);
		if ((rc = store_run(c->app->store, key_load_tx, &o)) != SIG_OK)
			goto done;
	}
	if (!json_object_object_get_ex(o.rec, "jwk", &jwk) ||
	    jwk_parse(jwk, &k, msg) != SIG_OK) {
		rc = SIG_EINTERNAL;
		goto done;
	}
	ok = jws_verify(&j, &k, reason);
	jwk_free(&k);
	c->data = verdict(ok, j.kid, j.alg, ok ? NULL : reason);
done:
	jws_free(&j);
	eop_reset(&o);
	return rc == SIG_ENOTFOUND ? SIG_OK : rc;
}
