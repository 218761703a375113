/*
 * Enterprises and the public keys they register for the webhooks they sign
 * (docs/api.md, Enterprises): the routes.  The keys' rules (selection, fetch,
 * tombstones, revocation, refresh, verification) are in entkeys.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "signet/app.h"
#include "signet/entkeys.h"
#include "signet/handlers.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/validate.h"

#define NAME_MAX_LEN		255
#define URI_MAX_LEN		2048

static enum sig_err	load_enterprise(struct ctx *, struct store_txn *,
			    enum records_read, json_object **);

static json_object *
enterprise_view(struct ctx *c, json_object *rec)
{
	json_object	*o = json_object_new_object();

	(void)c;
	json_object_object_add(o, "id", json_copy(rec, "id"));
	json_object_object_add(o, "name", json_copy(rec, "name"));
	json_object_object_add(o, "created_at", json_time(rec, "created_at", 0));
	return o;
}

static json_object *
key_view(struct ctx *c, json_object *rec)
{
	return entkey_view(c->params[0], rec);
}

/* The path: an enterprise id, then a keyId. */
static const struct ctx_param params[] = {
	{ valid_enterprise_id,
	    "enterprise id must be ent_ followed by 32 lowercase hex digits" },
	{ valid_kid,
	    "keyId must be 1 to 255 characters without '/' or control "
	    "characters" },
};

/*
 * The caller's enterprise of the path into *rec (NULL: just check it);
 * another account's answers as absent.
 */
static enum sig_err
load_enterprise(struct ctx *c, struct store_txn *t, enum records_read how,
    json_object **rec)
{
	return ctx_owned(c, t, TBL_ENTERPRISES, c->params[0], "account",
	    c->who.account, how, "enterprise not found", rec);
}

/* Whether the enterprise of the path is the caller's. */
static enum sig_err
check_enterprise(struct ctx *c, struct store_txn *t)
{
	return load_enterprise(c, t, RECORD_COPY, NULL);
}

/* The caller's enterprise and its key of the path, read as how says. */
static enum sig_err
load_key(struct ctx *c, struct store_txn *t, enum records_read how,
    json_object **rec)
{
	enum sig_err	 rc;

	if ((rc = check_enterprise(c, t)) != SIG_OK)
		return rc;
	return ctx_notfound(c, entkey_load(t, c->params[0], c->params[1],
	    how == RECORD_LOCK, rec), "webhook signing key not found");
}

/* --- enterprises --- */

struct ent_new {
	const char	*id, *name;
};

static enum sig_err
ent_create_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct ent_new *a = arg;
	json_object	*rec;
	char		 ikey[RECORDS_KEY_MAX];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	if (records_index_key(LIST_ENTERPRISES, c->who.account, now, a->id,
	    ikey) != 0)
		return SIG_EINTERNAL;
	rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(a->id));
	json_object_object_add(rec, "account",
	    json_object_new_string(c->who.account));
	json_object_object_add(rec, "name", json_object_new_string(a->name));
	json_object_object_add(rec, "created_at",
	    json_object_new_int64(now / 1000000));
	json_object_object_add(rec, "ikey", json_object_new_string(ikey));
	if ((rc = store_insert(t, TBL_ENTERPRISES, a->id, rec)) == SIG_OK &&
	    (rc = records_index_put(t, ikey, a->id)) == SIG_OK &&
	    (rc = ctx_audit(t, c, "enterprise.created", "enterprise",
	    a->id)) == SIG_OK)
		c->data = enterprise_view(c, rec);
	json_object_put(rec);
	return rc == SIG_EEXISTS ? SIG_EINTERNAL : rc;
}

enum sig_err
h_enterprise_create(struct ctx *c)
{
	static const char *const fields[] = { "name", NULL };
	struct ent_new	 a;
	char		 id[IDS_MAX];
	size_t		 n;
	enum sig_err	 rc;

	if ((rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "name", 1, NAME_MAX_LEN, &a.name,
	    &n, c->msg)) != SIG_OK)
		return rc;
	if (n == 0)
		return ctx_fail(c, SIG_EINVAL, "name must not be empty");
	if ((rc = ids_new("ent_", 16, id, sizeof(id))) != SIG_OK)
		return rc;
	a.id = id;
	c->status = 201;
	return ctx_run(c, ent_create_tx, &a, CTX_WRITE);
}

static const struct ctx_getter enterprise_getter = { load_enterprise,
    RECORD_COPY, enterprise_view };

enum sig_err
h_enterprise_get(struct ctx *c)
{
	return ctx_get(c, params, 1, &enterprise_getter, CTX_VIEW);
}

enum sig_err
h_enterprise_list(struct ctx *c)
{
	struct ctx_page	 pg;
	struct ctx_listing l = { NULL, LIST_ENTERPRISES, c->who.account, &pg,
	    "starting_after does not name an item of this list",
	    enterprise_view };
	enum sig_err	 rc;

	if ((rc = ctx_page(c, &pg, IDS_MAX)) != SIG_OK)
		return rc;
	if (pg.after[0] != '\0' && !valid_enterprise_id(pg.after))
		return ctx_fail(c, SIG_EINVAL, "starting_after must be an "
		    "enterprise id");
	return ctx_run(c, ctx_list_fn, &l, CTX_VIEW);
}

/* --- registering keys --- */

static enum sig_err
key_register_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct entkey_new *k = arg;
	json_object	*rec;
	char		 rid[ENTKEY_RID_MAX];
	enum sig_err	 rc;

	if ((rc = load_enterprise(c, t, RECORD_COPY, NULL)) != SIG_OK)
		return rc;
	rc = entkey_insert(t, k, ctx_actor(c), &rec);
	if (rc == SIG_EKEYIDUSED)
		return ctx_fail(c, rc, "keyId %.64s has already been used in "
		    "this enterprise; key ids are never reused", k->key_id);
	if (rc != SIG_OK)
		return rc;
	entkey_record_id(k->ent, k->key_id, rid);
	if ((rc = ctx_audit(t, c, "webhook_signing_key.registered",
	    "webhook_signing_key", rid)) == SIG_OK)
		c->data = entkey_view(k->ent, rec);
	json_object_put(rec);
	return rc;
}

enum sig_err
h_ent_key_register(struct ctx *c)
{
	static const char *const fields[] = { "jwks", "jwksUri", "keyId",
	    "name", NULL };
	struct entkey_new k;
	json_object	*jwks = NULL, *doc = NULL;
	int		 has_jwks, has_uri;
	enum sig_err	 rc;

	memset(&k, 0, sizeof(k));
	k.ent = c->params[0];
	if ((rc = ctx_params(c, params, 1)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "keyId", 0, JWK_KID_MAX,
	    &k.key_id, NULL, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "name", 0, NAME_MAX_LEN, &k.name,
	    NULL, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "jwksUri", 0, URI_MAX_LEN, &k.uri,
	    NULL, c->msg)) != SIG_OK)
		return rc;
	has_jwks = json_object_object_get_ex(c->body, "jwks", &jwks) &&
	    jwks != NULL;
	has_uri = k.uri != NULL;
	if (has_jwks == has_uri)
		return ctx_fail(c, SIG_EINVAL, "give exactly one of jwks and "
		    "jwksUri");
	if (k.key_id != NULL && !valid_kid(k.key_id))
		return ctx_fail(c, SIG_EINVAL, "keyId must be 1 to 255 "
		    "characters without '/' or control characters");
	if (has_jwks)
		rc = entkey_select(jwks, k.key_id, SIG_EINVAL, &k.jwk, c->msg);
	else if (k.key_id == NULL)
		return ctx_fail(c, SIG_EINVAL, "keyId is required with jwksUri");
	else if (strncmp(k.uri, "https://", 8) == 0 &&
	    !valid_https_url(k.uri, strlen(k.uri)))
		return ctx_fail(c, SIG_EINVAL, "jwksUri must be a valid HTTPS "
		    "URL");
	else if ((rc = entkey_fetch(&c->app->cfg, k.uri, &doc, &k.max_age,
	    c->msg)) == SIG_OK)
		rc = entkey_select(doc, k.key_id, SIG_EFETCH, &k.jwk, c->msg);
	json_object_put(doc);
	if (rc != SIG_OK)
		return rc;
	if (k.key_id == NULL)
		k.key_id = k.jwk.kid;
	if (!valid_kid(k.key_id)) {
		jwk_free(&k.jwk);
		return ctx_fail(c, SIG_EINVAL, "the JWK's kid is not a usable "
		    "keyId (1 to 255 characters without '/')");
	}
	c->status = 201;
	rc = ctx_run(c, key_register_tx, &k, CTX_WRITE);
	jwk_free(&k.jwk);
	return rc;
}

/* --- reading and revoking keys --- */

static const struct ctx_getter key_getter = { load_key, RECORD_COPY,
    key_view };

enum sig_err
h_ent_key_get(struct ctx *c)
{
	return ctx_get(c, params, 2, &key_getter, CTX_VIEW);
}

enum sig_err
h_ent_key_list(struct ctx *c)
{
	struct ctx_page	 pg;
	struct ctx_listing l = { check_enterprise, LIST_ENTKEYS, c->params[0],
	    &pg, "starting_after does not name an item of this list",
	    key_view };
	enum sig_err	 rc;

	if ((rc = ctx_params(c, params, 1)) != SIG_OK ||
	    (rc = ctx_page(c, &pg, JWK_KID_MAX + 1)) != SIG_OK)
		return rc;
	return ctx_run(c, ctx_list_fn, &l, CTX_VIEW);
}

static enum sig_err
key_revoke_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	json_object	*rec;
	char		 rid[ENTKEY_RID_MAX];
	enum sig_err	 rc;

	(void)arg;
	if ((rc = load_key(c, t, RECORD_LOCK, &rec)) != SIG_OK)
		return rc;
	rc = entkey_revoke(t, c->params[0], rec, ctx_actor(c));
	if (rc == SIG_EREVOKED)
		rc = ctx_fail(c, rc, "key %.64s is already revoked",
		    c->params[1]);
	entkey_record_id(c->params[0], c->params[1], rid);
	if (rc == SIG_OK && (rc = ctx_audit(t, c,
	    "webhook_signing_key.revoked", "webhook_signing_key", rid)) ==
	    SIG_OK)
		c->data = entkey_view(c->params[0], rec);
	json_object_put(rec);
	return rc;
}

enum sig_err
h_ent_key_revoke(struct ctx *c)
{
	enum sig_err	 rc;

	if ((rc = ctx_params(c, params, 2)) != SIG_OK)
		return rc;
	return ctx_run(c, key_revoke_tx, NULL, CTX_WRITE);
}

/* --- verification --- */

enum sig_err
h_ent_verify(struct ctx *c)
{
	static const char *const fields[] = { "jws", "payload", NULL };
	const char	*compact, *payload;
	size_t		 plen;
	enum sig_err	 rc;

	if ((rc = ctx_params(c, params, 1)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "jws", 1, ENTKEY_JWS_MAX, &compact,
	    NULL, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "payload", 0, ENTKEY_JWS_MAX,
	    &payload, &plen, c->msg)) != SIG_OK)
		return rc;
	/* The enterprise must exist whatever the JWS holds. */
	if ((rc = ctx_run(c, ctx_get_fn, (void *)&enterprise_getter,
	    CTX_VIEW)) != SIG_OK)
		return rc;
	json_object_put(c->data);
	c->data = NULL;
	return entkey_verify(c->app->store, &c->app->cfg, c->params[0],
	    compact, payload, plen, &c->data);
}
