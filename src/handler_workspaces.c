/*
 * Workspaces and their server-generated signing keys (docs/api.md,
 * Workspaces):
 * the routes.  The keys' rules (generation, roll and grace, usable now, the
 * JWKS, token verification) are in wskeys.c.  The private key of a new key
 * is returned once, through ctx_private_key, and never stored.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "signet/app.h"
#include "signet/handlers.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/routes.h"
#include "signet/validate.h"
#include "signet/wskeys.h"

#define GRACE_DEFAULT		86400
#define GRACE_MAX		604800
#define DOMAINS_MAX		100

/* What create, roll and update take from the body. */
struct key_input {
	json_object	*domains;	/* owned; NULL: null or absent */
	int		 domains_set;	/* allowed_domains was given */
	int64_t		 expiry;	/* -1: null, 0: absent */
	int64_t		 grace;		/* roll */
	struct wskey_new nk;		/* create and roll */
};

static json_object *
key_view(struct ctx *c, json_object *rec)
{
	(void)c;
	return wskey_view(rec);
}

/* The path: a workspace slug, then a key uid. */
static const struct ctx_param params[] = {
	{ valid_slug, "workspace must match [a-z0-9][a-z0-9-]{0,62}" },
	{ valid_wskey_uid,
	    "uid must be signing_key_ followed by 24 lowercase hex digits" },
};

/* The workspace of the path, the caller's; SIG_ENOTFOUND otherwise. */
static enum sig_err
load_workspace(struct ctx *c, struct store_txn *t)
{
	return ctx_owned(c, t, TBL_WORKSPACES, c->params[0], "account",
	    c->who.account, RECORD_COPY, "workspace not found", NULL);
}

/* The workspace of the path and its key of the path, read as how says. */
static enum sig_err
load_key(struct ctx *c, struct store_txn *t, enum records_read how,
    json_object **rec)
{
	enum sig_err	 rc;

	if ((rc = load_workspace(c, t)) != SIG_OK)
		return rc;
	return ctx_notfound(c, wskey_load(t, c->params[0], c->params[1],
	    how == RECORD_LOCK, rec), "signing key not found");
}

/* --- workspaces --- */

static json_object *
workspace_view(struct ctx *c, json_object *ws)
{
	json_object	*o = json_object_new_object();
	char		 ts[32];

	(void)c;
	json_object_object_add(o, "slug",
	    json_object_new_string(json_str(ws, "slug")));
	json_object_object_add(o, "created_at", json_object_new_string(
	    ids_time(json_i64(ws, "created_at"), 0, ts)));
	return o;
}

static enum sig_err
ws_create_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const char	*slug = arg;
	json_object	*ws;
	char		 ikey[RECORDS_KEY_MAX];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	if (records_index_key(LIST_WORKSPACES, c->who.account, now, slug,
	    ikey) != 0)
		return SIG_EINTERNAL;
	ws = json_object_new_object();
	json_object_object_add(ws, "slug", json_object_new_string(slug));
	json_object_object_add(ws, "account",
	    json_object_new_string(c->who.account));
	json_object_object_add(ws, "created_at",
	    json_object_new_int64(now / 1000000));
	json_object_object_add(ws, "ikey", json_object_new_string(ikey));
	if ((rc = store_insert(t, TBL_WORKSPACES, slug, ws)) == SIG_OK &&
	    (rc = records_index_put(t, ikey, slug)) == SIG_OK &&
	    (rc = ctx_audit(t, c, "workspace.created", "workspace", slug)) ==
	    SIG_OK)
		c->data = workspace_view(c, ws);
	json_object_put(ws);
	return rc == SIG_EEXISTS ? ctx_fail(c, SIG_EWSEXISTS,
	    "workspace %s already exists", slug) : rc;
}

enum sig_err
h_workspace_create(struct ctx *c)
{
	static const char *const fields[] = { "slug", NULL };
	const char	*slug;
	enum sig_err	 rc;

	if ((rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "slug", 1, 63, &slug, NULL,
	    c->msg)) != SIG_OK)
		return rc;
	if (!valid_slug(slug))
		return ctx_fail(c, SIG_EINVAL, "slug must match "
		    "[a-z0-9][a-z0-9-]{0,62}");
	if (routes_reserved(slug))
		return ctx_fail(c, SIG_EINVAL, "slug %s is reserved", slug);
	c->status = 201;
	return ctx_run(c, ws_create_tx, (void *)slug, CTX_WRITE);
}

enum sig_err
h_workspace_list(struct ctx *c)
{
	struct ctx_page	 pg;
	struct ctx_listing l = { NULL, LIST_WORKSPACES, c->who.account, &pg,
	    "starting_after does not name a workspace of this account",
	    workspace_view };
	enum sig_err	 rc;

	if ((rc = ctx_page(c, &pg, IDS_MAX)) != SIG_OK)
		return rc;
	return ctx_run(c, ctx_list_fn, &l, CTX_VIEW);
}

/* --- workspace keys: input --- */

/*
 * allowed_domains of the body: absent (in->domains_set = 0), null, or an
 * array of 1..DOMAINS_MAX host names (kept lower-cased).
 */
static enum sig_err
parse_domains(struct ctx *c, struct key_input *in)
{
	json_object	*v, *e, *out;
	size_t		 i, n;
	char		 host[VALID_DOMAIN_MAX + 1];

	in->domains = NULL;
	in->domains_set = json_object_object_get_ex(c->body, "allowed_domains",
	    &v);
	if (!in->domains_set || v == NULL)
		return SIG_OK;
	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) < 1 || n > DOMAINS_MAX)
		return ctx_fail(c, SIG_EINVAL, "allowed_domains must be null or "
		    "an array of 1 to %d host names", DOMAINS_MAX);
	out = json_object_new_array();
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) ||
		    !valid_domain(json_object_get_string(e),
		    (size_t)json_object_get_string_len(e))) {
			json_object_put(out);
			return ctx_fail(c, SIG_EINVAL, "allowed_domains[%zu] "
			    "must be a host name such as app.example.com", i);
		}
		snprintf(host, sizeof(host), "%s", json_object_get_string(e));
		for (char *p = host; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_array_add(out, json_object_new_string(host));
	}
	in->domains = out;
	return SIG_OK;
}

/* expiry_at of the body: absent (0), null (-1), or a future RFC 3339 time. */
static enum sig_err
parse_expiry(struct ctx *c, struct key_input *in)
{
	json_object	*v;
	int64_t		 t;

	in->expiry = 0;
	if (!json_object_object_get_ex(c->body, "expiry_at", &v))
		return SIG_OK;
	if (v == NULL) {
		in->expiry = -1;
		return SIG_OK;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    ids_parse_time(json_object_get_string(v), &t) != 0)
		return ctx_fail(c, SIG_EINVAL, "expiry_at must be an RFC 3339 "
		    "time such as 2030-01-01T00:00:00Z");
	if (t <= ids_now_us())
		return ctx_fail(c, SIG_EINVAL, "expiry_at must be in the "
		    "future");
	in->expiry = t;
	return SIG_OK;
}

/* --- workspace keys: create and roll --- */

/* Store in->nk with domains and expiry (consumed), audited. */
static enum sig_err
insert_key(struct ctx *c, struct store_txn *t, struct key_input *in,
    json_object *domains, int64_t expiry)
{
	json_object	*rec;
	enum sig_err	 rc;

	if ((rc = wskey_insert(t, c->params[0], &in->nk, domains, expiry,
	    ctx_actor(c), &rec)) != SIG_OK)
		return rc;
	if ((rc = ctx_audit(t, c, "workspace_signing_key.created",
	    "workspace_signing_key", in->nk.uid)) == SIG_OK)
		c->data = wskey_view(rec);
	json_object_put(rec);
	return rc;
}

static enum sig_err
key_create_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	struct key_input *in = arg;
	enum sig_err	 rc;

	if ((rc = load_workspace(c, t)) != SIG_OK)
		return rc;
	return insert_key(c, t, in, in->domains ?
	    json_object_get(in->domains) : NULL, in->expiry > 0 ?
	    in->expiry : 0);
}

/*
 * Run fn to store the new key in->nk, and answer with it plus the private
 * key, which goes into the response and nowhere else; then wipe every copy
 * we hold.
 */
static enum sig_err
answer_with_private(struct ctx *c, ctx_fn fn, struct key_input *in)
{
	enum sig_err	 rc;

	c->status = 201;
	rc = ctx_run(c, fn, in, CTX_WRITE);
	if (rc == SIG_OK)
		rc = ctx_private_key(c, in->nk.kp.private_pem,
		    in->nk.kp.private_pem_len);
	wskey_forget(&in->nk);
	json_object_put(in->domains);
	in->domains = NULL;
	return rc;
}

enum sig_err
h_wskey_create(struct ctx *c)
{
	static const char *const fields[] = { "algorithm", "allowed_domains",
	    "expiry_at", NULL };
	struct key_input in;
	const char	*alg;
	enum sig_err	 rc;

	memset(&in, 0, sizeof(in));
	if ((rc = ctx_params(c, params, 1)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "algorithm", 0, 16, &alg, NULL,
	    c->msg)) != SIG_OK)
		return rc;
	if (alg == NULL)
		alg = "ES256";
	if (!keypair_alg_valid(alg))
		return ctx_fail(c, SIG_EINVAL, "algorithm must be ES256, EdDSA "
		    "or RS256");
	if ((rc = parse_expiry(c, &in)) != SIG_OK ||
	    (rc = parse_domains(c, &in)) != SIG_OK)
		return rc;
	if ((rc = wskey_generate(alg, &in.nk)) != SIG_OK) {
		wskey_forget(&in.nk);
		json_object_put(in.domains);
		return rc;
	}
	return answer_with_private(c, key_create_tx, &in);
}

static enum sig_err
key_roll_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	struct key_input *in = arg;
	json_object	*rec;
	int64_t		 now = ids_now_us(), expiry;
	enum sig_err	 rc;

	if ((rc = load_key(c, t, RECORD_LOCK, &rec)) != SIG_OK)
		return rc;
	rc = wskey_roll(t, rec, in->grace, now, ctx_actor(c));
	if (rc == SIG_ENOTFOUND)
		rc = ctx_fail(c, rc, "signing key was deleted");
	else if (rc == SIG_ENOTACTIVE)
		rc = ctx_fail(c, rc, "only an active key can be rolled; this "
		    "one was rolled already");
	if (rc == SIG_OK)
		rc = ctx_audit(t, c, "workspace_signing_key.rolled",
		    "workspace_signing_key", c->params[1]);
	/* The new key keeps the old one's algorithm and allowed domains. */
	expiry = json_i64(rec, "expiry_at");
	if (rc == SIG_OK)
		rc = insert_key(c, t, in, json_copy(rec, "allowed_domains"),
		    expiry > now ? expiry : 0);
	json_object_put(rec);
	return rc;
}

static const struct ctx_getter key_getter = { load_key, RECORD_COPY,
    key_view };

enum sig_err
h_wskey_roll(struct ctx *c)
{
	static const char *const fields[] = { "grace_seconds", NULL };
	struct key_input in;
	char		 alg[16];
	int		 present;
	enum sig_err	 rc;

	memset(&in, 0, sizeof(in));
	if ((rc = ctx_params(c, params, 2)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_int_field(c->body, "grace_seconds", 0, 0, GRACE_MAX,
	    &in.grace, &present, c->msg)) != SIG_OK)
		return rc;
	if (!present)
		in.grace = GRACE_DEFAULT;
	/* The algorithm is the old key's: read it first, then generate. */
	if ((rc = ctx_run(c, ctx_get_fn, (void *)&key_getter, CTX_VIEW)) !=
	    SIG_OK)
		return rc;
	snprintf(alg, sizeof(alg), "%s", json_str(c->data, "algorithm"));
	json_object_put(c->data);
	c->data = NULL;
	if ((rc = wskey_generate(alg, &in.nk)) != SIG_OK) {
		wskey_forget(&in.nk);
		return rc;
	}
	return answer_with_private(c, key_roll_tx, &in);
}

/* --- workspace keys: read, update, delete --- */

enum sig_err
h_wskey_get(struct ctx *c)
{
	return ctx_get(c, params, 2, &key_getter, CTX_VIEW);
}

enum sig_err
h_wskey_list(struct ctx *c)
{
	struct ctx_page	 pg;
	struct ctx_listing l = { load_workspace, LIST_WSKEYS_LIVE, c->params[0],
	    &pg, "starting_after does not name a key of this workspace",
	    key_view };
	char		 flag[8];
	int		 r;
	enum sig_err	 rc;

	if ((rc = ctx_params(c, params, 1)) != SIG_OK ||
	    (rc = ctx_page(c, &pg, IDS_MAX)) != SIG_OK)
		return rc;
	r = http_query_get(c->query, "include_deleted", flag, sizeof(flag));
	if (r < 0 || (r == 1 && strcmp(flag, "true") != 0 &&
	    strcmp(flag, "false") != 0))
		return ctx_fail(c, SIG_EINVAL, "include_deleted must be true or "
		    "false");
	if (r == 1 && strcmp(flag, "true") == 0)
		l.list = LIST_WSKEYS_ALL;
	if (pg.after[0] != '\0' && !valid_wskey_uid(pg.after))
		return ctx_fail(c, SIG_EINVAL, "starting_after must be a key uid");
	return ctx_run(c, ctx_list_fn, &l, CTX_VIEW);
}

static enum sig_err
key_update_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct key_input *in = arg;
	json_object	*rec;
	enum sig_err	 rc;

	if ((rc = load_key(c, t, RECORD_LOCK, &rec)) != SIG_OK)
		return rc;
	rc = wskey_update(t, rec, in->domains_set, in->domains, in->expiry);
	if (rc == SIG_ENOTFOUND)
		rc = ctx_fail(c, rc, "signing key was deleted");
	if (rc == SIG_OK && (rc = ctx_audit(t, c,
	    "workspace_signing_key.updated", "workspace_signing_key",
	    c->params[1])) == SIG_OK)
		c->data = wskey_view(rec);
	json_object_put(rec);
	return rc;
}

enum sig_err
h_wskey_update(struct ctx *c)
{
	static const char *const fields[] = { "allowed_domains", "expiry_at",
	    NULL };
	struct key_input in;
	enum sig_err	 rc;

	memset(&in, 0, sizeof(in));
	if ((rc = ctx_params(c, params, 2)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = parse_expiry(c, &in)) != SIG_OK ||
	    (rc = parse_domains(c, &in)) != SIG_OK)
		return rc;
	rc = ctx_run(c, key_update_tx, &in, CTX_WRITE);
	json_object_put(in.domains);
	return rc;
}

static enum sig_err
key_delete_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	json_object	*rec;
	enum sig_err	 rc;

	(void)arg;
	if ((rc = load_key(c, t, RECORD_LOCK, &rec)) != SIG_OK)
		return rc;
	rc = wskey_delete(t, rec, ctx_actor(c));
	if (rc == SIG_ENOTFOUND)
		rc = ctx_fail(c, rc, "signing key was already deleted");
	if (rc == SIG_OK && (rc = ctx_audit(t, c,
	    "workspace_signing_key.deleted", "workspace_signing_key",
	    c->params[1])) == SIG_OK)
		c->data = wskey_view(rec);
	json_object_put(rec);
	return rc;
}

enum sig_err
h_wskey_delete(struct ctx *c)
{
	enum sig_err	 rc;

	if ((rc = ctx_params(c, params, 2)) != SIG_OK)
		return rc;
	return ctx_run(c, key_delete_tx, NULL, CTX_WRITE);
}

/* --- the public JWKS --- */

static enum sig_err
jwks_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	json_object	*ws;
	enum sig_err	 rc;

	(void)arg;
	/* Public: any workspace's keys, by slug alone. */
	if ((rc = store_get(t, TBL_WORKSPACES, c->params[0], 0, &ws)) !=
	    SIG_OK)
		return rc == SIG_ENOTFOUND ? ctx_fail(c, SIG_ENOTFOUND,
		    "workspace not found") : rc;
	json_object_put(ws);
	return wskey_jwks(t, c->params[0], ids_now_us(), &c->data);
}

enum sig_err
h_ws_jwks(struct ctx *c)
{
	enum sig_err	 rc;

	if (!valid_slug(c->params[0]))
		return ctx_fail(c, SIG_ENOTFOUND, "workspace not found");
	if ((rc = ctx_run(c, jwks_tx, NULL, CTX_VIEW)) != SIG_OK)
		return rc;
	return ctx_jwks(c);
}

/* --- token verification --- */

struct token_args {
	const char	*token;
	const char	*origin_host;	/* NULL: no origin given */
};

static enum sig_err
verify_token_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct token_args *a = arg;
	enum sig_err	 rc;

	if ((rc = load_workspace(c, t)) != SIG_OK)
		return rc;
	return wskey_verify_token(t, c->params[0], a->token, a->origin_host,
	    ids_now_us(), &c->data);
}

enum sig_err
h_ws_verify_token(struct ctx *c)
{
	static const char *const fields[] = { "token", "origin", NULL };
	struct token_args a = { NULL, NULL };
	const char	*origin;
	char		 host[VALID_DOMAIN_MAX + 1];
	enum sig_err	 rc;

	if ((rc = ctx_params(c, params, 1)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "token", 1, WSKEY_TOKEN_MAX,
	    &a.token, NULL, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "origin", 0, 2048, &origin, NULL,
	    c->msg)) != SIG_OK)
		return rc;
	if (origin != NULL) {
		if (url_origin_host(origin, host, sizeof(host)) != 0)
			return ctx_fail(c, SIG_EINVAL, "origin must be a URL "
			    "such as https://app.example.com");
		a.origin_host = host;
	}
	return ctx_run(c, verify_token_tx, &a, CTX_VIEW);
}
