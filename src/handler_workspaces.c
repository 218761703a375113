/*
 * Workspaces and their server-generated signing keys (API.md section 6):
 * create, list, get, update, roll with a grace period, delete, the public
 * JWKS, and token verification.  The private key of a new key is returned
 * once, through ctx_secret, and never stored.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signet/app.h"
#include "signet/b64.h"
#include "signet/crypto.h"
#include "signet/handlers.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/jwk.h"
#include "signet/jws.h"
#include "signet/keypair.h"
#include "signet/validate.h"

#define GRACE_DEFAULT		86400
#define GRACE_MAX		604800
#define DOMAINS_MAX		100
#define DOMAIN_LEN_MAX		253
#define CLAIM_LEEWAY		60
#define JWKS_MAX_KEYS		1000
#define JWKS_MAX_AGE		300

static const char *const reserved[] = { "endpoints", "inbound-endpoints",
    "enterprises", "workspaces", "audit-events", "healthz", "metrics", NULL };

/* The state of one workspace request, shared with its transaction. */
struct wop {
	struct ctx	*c;
	const char	*slug;
	const char	*uid;
	json_object	*rec;		/* workspace key record, owned */
	json_object	*out;		/* result data, owned */
	/* create and roll */
	const char	*alg;
	char		 algbuf[16];
	json_object	*domains;	/* borrowed from the body */
	int		 domains_set;
	int64_t		 expiry;	/* -1: null, 0: absent */
	int64_t		 grace;
	struct keypair	 kp;
	json_object	*jwk;		/* public JWK of kp, owned */
	char		 new_id[IDS_MAX], new_uid[IDS_MAX];
	/* list */
	int		 limit, more, include_deleted;
	char		 after[IDS_MAX];
	/* verify */
	const char	*token, *origin_host;
};

static void
wop_reset(struct wop *o)
{
	json_object_put(o->rec);
	json_object_put(o->out);
	o->rec = o->out = NULL;
}

/* The public view of a workspace key record. */
static json_object *
key_view(json_object *rec)
{
	json_object	*o = json_object_new_object();

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
	return o;
}

/*
 * Why a key no longer verifies at time now (microseconds), or NULL when it
 * still does: deleted, rolled past its grace, or past its expiry_at.
 */
static const char *
key_unusable(json_object *rec, int64_t now)
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

/* The workspace slug of the caller's account; SIG_ENOTFOUND otherwise. */
static enum sig_err
load_workspace(struct store_txn *t, struct ctx *c, const char *slug)
{
	json_object	*ws;
	enum sig_err	 rc;
	const char	*acct;

	if ((rc = store_get(t, TBL_WORKSPACES, slug, 0, &ws)) != SIG_OK)
		return rc == SIG_ENOTFOUND ? ctx_fail(c, SIG_ENOTFOUND,
		    "workspace not found") : rc;
	acct = json_str(ws, "account");
	rc = acct != NULL && strcmp(acct, c->who.account) == 0 ? SIG_OK :
	    ctx_fail(c, SIG_ENOTFOUND, "workspace not found");
	json_object_put(ws);
	return rc;
}

/* Load key o->uid of workspace o->slug into o->rec. */
static enum sig_err
load_key(struct store_txn *t, struct wop *o, int rmw)
{
	enum sig_err	 rc;
	const char	*ws;

	if ((rc = load_workspace(t, o->c, o->slug)) != SIG_OK)
		return rc;
	json_object_put(o->rec);
	o->rec = NULL;
	rc = store_get(t, TBL_WSKEYS, o->uid, rmw, &o->rec);
	if (rc == SIG_ENOTFOUND || (rc == SIG_OK &&
	    ((ws = json_str(o->rec, "workspace")) == NULL ||
	    strcmp(ws, o->slug) != 0)))
		return ctx_fail(o->c, SIG_ENOTFOUND, "signing key not found");
	return rc;
}

/* --- workspaces --- */

static enum sig_err
ws_create_tx(struct store_txn *t, void *arg)
{
	struct wop	*o = arg;
	json_object	*ws;
	char		 ikey[160];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	wop_reset(o);
	ws = json_object_new_object();
	json_object_object_add(ws, "slug", json_object_new_string(o->slug));
	json_object_object_add(ws, "account",
	    json_object_new_string(o->c->who.account));
	json_object_object_add(ws, "created_at",
	    json_object_new_int64(now / 1000000));
	snprintf(ikey, sizeof(ikey), "ws:%s:%016" PRIx64 ":%s",
	    o->c->who.account, (uint64_t)now, o->slug);
	json_object_object_add(ws, "ikey", json_object_new_string(ikey));
	rc = store_insert(t, TBL_WORKSPACES, o->slug, ws);
	if (rc == SIG_OK)
		rc = store_put_str(t, TBL_INDEX, ikey, o->slug, 1);
	if (rc == SIG_OK)
		rc = ctx_audit(t, o->c, "workspace.created", "workspace",
		    o->slug);
	if (rc == SIG_OK)
		o->out = ws;
	else
		json_object_put(ws);
	return rc == SIG_EEXISTS ? ctx_fail(o->c, SIG_EWSEXISTS,
	    "workspace %s already exists", o->slug) : rc;
}

static json_object *
workspace_view(json_object *ws)
{
	json_object	*o = json_object_new_object();
	char		 ts[32];

	json_object_object_add(o, "slug",
	    json_object_new_string(json_str(ws, "slug")));
	json_object_object_add(o, "created_at", json_object_new_string(
	    ids_time(json_i64(ws, "created_at"), 0, ts)));
	return o;
}

/* Hand o->out to the response after a successful transaction. */
static enum sig_err
wrun(struct wop *o, store_fn fn, int status)
{
	enum sig_err	 rc = store_run(o->c->app->store, fn, o);

	if (rc == SIG_OK) {
		o->c->status = status;
		o->c->data = o->out;
		o->out = NULL;
	}
	wop_reset(o);
	return rc;
}

enum sig_err
h_workspace_create(struct ctx *c)
{
	static const char *const fields[] = { "slug", NULL };
	struct wop	 o;
	const char *const *r;
	json_object	*ws;
	enum sig_err	 rc;

	memset(&o, 0, sizeof(o));
	o.c = c;
	if ((rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "slug", 1, 63, &o.slug, NULL,
	    c->msg)) != SIG_OK)
		return rc;
	if (!valid_slug(o.slug))
		return ctx_fail(c, SIG_EINVAL, "slug must match "
		    "[a-z0-9][a-z0-9-]{0,62}");
	for (r = reserved; *r != NULL; r++)
		if (strcmp(*r, o.slug) == 0)
			return ctx_fail(c, SIG_EINVAL, "slug %s is reserved",
			    o.slug);
	if ((rc = wrun(&o, ws_create_tx, 201)) != SIG_OK)
		return rc;
	ws = c->data;
	c->data = workspace_view(ws);
	json_object_put(ws);
	return SIG_OK;
}

static enum sig_err
ws_list_tx(struct store_txn *t, void *arg)
{
	struct wop	*o = arg;
	char		 prefix[IDS_MAX + 8];
	const char	*after = NULL, *acct;
	enum sig_err	 rc;

	wop_reset(o);
	if (o->after[0] != '\0') {
		rc = store_get(t, TBL_WORKSPACES, o->after, 0, &o->rec);
		if (rc == SIG_ENOTFOUND || (rc == SIG_OK &&
		    ((acct = json_str(o->rec, "account")) == NULL ||
		    strcmp(acct, o->c->who.account) != 0)))
			return ctx_fail(o->c, SIG_EINVAL, "starting_after does "
			    "not name a workspace of this account");
		if (rc != SIG_OK)
			return rc;
		after = json_str(o->rec, "ikey");
	}
	snprintf(prefix, sizeof(prefix), "ws:%s:", o->c->who.account);
	return ctx_list(t, TBL_WORKSPACES, prefix, after, o->limit,
	    workspace_view, &o->out, &o->more);
}

enum sig_err
h_workspace_list(struct ctx *c)
{
	struct wop	 o;
	enum sig_err	 rc;

	memset(&o, 0, sizeof(o));
	o.c = c;
	if ((rc = ctx_page(c, &o.limit, o.after, sizeof(o.after))) != SIG_OK)
		return rc;
	if ((rc = wrun(&o, ws_list_tx, 200)) == SIG_OK)
		c->has_more = o.more;
	return rc;
}

/* --- workspace keys: input --- */

static int
valid_host(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > DOMAIN_LEN_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' ||
		    s[i] == '.'))
			return 0;
	return 1;
}

/*
 * allowed_domains of the body: absent (o->domains_set = 0), null, or an
 * array of 1..DOMAINS_MAX host names (kept lower-cased).
 */
static enum sig_err
parse_domains(struct ctx *c, struct wop *o)
{
	json_object	*v, *e, *out;
	size_t		 i, n;
	char		 host[DOMAIN_LEN_MAX + 1];

	o->domains = NULL;
	o->domains_set = json_object_object_get_ex(c->body, "allowed_domains",
	    &v);
	if (!o->domains_set || v == NULL)
		return SIG_OK;
	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) < 1 || n > DOMAINS_MAX)
		return ctx_fail(c, SIG_EINVAL, "allowed_domains must be null or "
		    "an array of 1 to %d host names", DOMAINS_MAX);
	out = json_object_new_array();
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) ||
		    !valid_host(json_object_get_string(e),
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
	o->domains = out;
	return SIG_OK;
}

/* expiry_at of the body: absent (0), null (-1), or a future RFC 3339 time. */
static enum sig_err
parse_expiry(struct ctx *c, struct wop *o)
{
	json_object	*v;
	int64_t		 t;

	o->expiry = 0;
	if (!json_object_object_get_ex(c->body, "expiry_at", &v))
		return SIG_OK;
	if (v == NULL) {
		o->expiry = -1;
		return SIG_OK;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    ids_parse_time(json_object_get_string(v), &t) != 0)
		return ctx_fail(c, SIG_EINVAL, "expiry_at must be an RFC 3339 "
		    "time such as 2030-01-01T00:00:00Z");
	if (t <= ids_now_us())
		return ctx_fail(c, SIG_EINVAL, "expiry_at must be in the "
		    "future");
	o->expiry = t;
	return SIG_OK;
}

/* Validate the workspace slug and key uid of the path. */
static enum sig_err
path_ids(struct ctx *c, struct wop *o, int with_uid)
{
	memset(o, 0, sizeof(*o));
	o->c = c;
	o->slug = c->params[0];
	if (!valid_slug(o->slug))
		return ctx_fail(c, SIG_EINVAL, "workspace must match "
		    "[a-z0-9][a-z0-9-]{0,62}");
	if (with_uid) {
		o->uid = c->params[1];
		if (!valid_prefixed_hex(o->uid, "signing_key_", 24))
			return ctx_fail(c, SIG_EINVAL, "uid must be signing_key_ "
			    "followed by 24 lowercase hex digits");
	}
	return SIG_OK;
}

static enum sig_err
get_key_tx(struct store_txn *t, void *arg)
{
	struct wop	*o = arg;
	enum sig_err	 rc;

	wop_reset(o);
	if ((rc = load_key(t, o, 0)) != SIG_OK)
		return rc;
	o->out = key_view(o->rec);
	return SIG_OK;
}

/* --- workspace keys: create and roll --- */

/*
 * Generate o->kp for o->alg with fresh ids, and its public JWK (kid = uid).
 * Done outside any transaction: a deadlock rerun stores the same key.
 */
static enum sig_err
generate(struct wop *o)
{
	enum sig_err	 rc;

	if ((rc = ids_new("ws_signk_", 12, o->new_id, IDS_MAX)) != SIG_OK ||
	    (rc = ids_new("signing_key_", 12, o->new_uid, IDS_MAX)) != SIG_OK ||
	    (rc = keypair_generate(o->alg, &o->kp)) != SIG_OK)
		return rc;
	return jwk_from_pubkey(o->kp.pub, o->new_uid, o->alg, &o->jwk);
}

static void
index_keys(const char *slug, int64_t created, const char *uid, char *all,
    char *live)
{
	snprintf(all, 160, "wk:%s:all:%016" PRIx64 ":%s", slug,
	    (uint64_t)created, uid);
	snprintf(live, 160, "wk:%s:live:%016" PRIx64 ":%s", slug,
	    (uint64_t)created, uid);
}

/* Insert the new key o->kp as a record; the caller's transaction. */
static enum sig_err
insert_new_key(struct store_txn *t, struct wop *o, json_object *domains,
    int64_t expiry)
{
	json_object	*rec;
	char		 all[160], live[160];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(o->new_id));
	json_object_object_add(rec, "uid", json_object_new_string(o->new_uid));
	json_object_object_add(rec, "workspace",
	    json_object_new_string(o->slug));
	json_object_object_add(rec, "status", json_object_new_string("active"));
	json_object_object_add(rec, "algorithm", json_object_new_string(o->alg));
	json_object_object_add(rec, "allowed_domains", domains);
	json_object_object_add(rec, "expiry_at", json_object_new_int64(expiry));
	json_object_object_add(rec, "public_key_pem",
	    json_object_new_string(o->kp.public_pem));
	json_object_object_add(rec, "jwk", json_object_get(o->jwk));
	json_object_object_add(rec, "created_at", json_object_new_int64(now));
	json_object_object_add(rec, "created_by", ctx_actor(o->c));
	index_keys(o->slug, now, o->new_uid, all, live);
	json_object_object_add(rec, "ikey", json_object_new_string(all));
	if ((rc = store_insert(t, TBL_WSKEYS, o->new_uid, rec)) == SIG_OK &&
	    (rc = store_put_str(t, TBL_INDEX, all, o->new_uid, 1)) == SIG_OK &&
	    (rc = store_put_str(t, TBL_INDEX, live, o->new_uid, 1)) == SIG_OK)
		rc = ctx_audit(t, o->c, "workspace_signing_key.created",
		    "workspace_signing_key", o->new_uid);
	if (rc == SIG_OK)
		o->out = key_view(rec);
	json_object_put(rec);
	return rc == SIG_EEXISTS ? SIG_EINTERNAL : rc;
}

static enum sig_err
key_create_tx(struct store_txn *t, void *arg)
{
	struct wop	*o = arg;
	enum sig_err	 rc;

	wop_reset(o);
	if ((rc = load_workspace(t, o->c, o->slug)) != SIG_OK)
		return rc;
	return insert_new_key(t, o, o->domains ? json_object_get(o->domains) :
	    NULL, o->expiry > 0 ? o->expiry : 0);
}

/*
 * Answer with o->out plus the private key, which goes into the response
 * and nowhere else, then wipe every copy we hold.
 */
static enum sig_err
answer_with_private(struct wop *o, store_fn fn)
{
	enum sig_err	 rc;

	rc = wrun(o, fn, 201);
	if (rc == SIG_OK)
		rc = ctx_private_key(o->c, o->kp.private_pem,
		    o->kp.private_pem_len);
	keypair_free(&o->kp);
	json_object_put(o->jwk);
	o->jwk = NULL;
	json_object_put(o->domains);
	o->domains = NULL;
	return rc;
}

enum sig_err
h_wskey_create(struct ctx *c)
{
	static const char *const fields[] = { "algorithm", "allowed_domains",
	    "expiry_at", NULL };
	struct wop	 o;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 0)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "algorithm", 0, 16, &o.alg, NULL,
	    c->msg)) != SIG_OK)
		return rc;
	if (o.alg == NULL)
		o.alg = "ES256";
	if (!keypair_alg_valid(o.alg))
		return ctx_fail(c, SIG_EINVAL, "algorithm must be ES256, EdDSA "
		    "or RS256");
	if ((rc = parse_expiry(c, &o)) != SIG_OK ||
	    (rc = parse_domains(c, &o)) != SIG_OK)
		return rc;
	if ((rc = generate(&o)) != SIG_OK) {
		keypair_free(&o.kp);
		json_object_put(o.domains);
		return rc;
	}
	return answer_with_private(&o, key_create_tx);
}

static enum sig_err
key_roll_tx(struct store_txn *t, void *arg)
{
	struct wop	*o = arg;
	json_object	*domains;
	int64_t		 now = ids_now_us(), expiry;
	enum sig_err	 rc;

	wop_reset(o);
	if ((rc = load_key(t, o, 1)) != SIG_OK)
		return rc;
	if (json_i64(o->rec, "deleted_at") != 0)
		return ctx_fail(o->c, SIG_ENOTFOUND, "signing key was deleted");
	if (strcmp(json_str(o->rec, "status"), "active") != 0)
		return ctx_fail(o->c, SIG_ENOTACTIVE, "only an active key can "
		    "be rolled; this one was rolled already");
	json_object_object_add(o->rec, "status",
	    json_object_new_string("rolled"));
	json_object_object_add(o->rec, "rolled_at", json_object_new_int64(now));
	json_object_object_add(o->rec, "rolled_by", ctx_actor(o->c));
	json_object_object_add(o->rec, "grace_until",
	    json_object_new_int64(now + o->grace * 1000000));
	if ((rc = store_put(t, TBL_WSKEYS, o->uid, o->rec)) != SIG_OK ||
	    (rc = ctx_audit(t, o->c, "workspace_signing_key.rolled",
	    "workspace_signing_key", o->uid)) != SIG_OK)
		return rc;
	/* The new key keeps the old one's algorithm and allowed domains. */
	domains = json_copy(o->rec, "allowed_domains");
	expiry = json_i64(o->rec, "expiry_at");
	return insert_new_key(t, o, domains, expiry > now ? expiry : 0);
}

enum sig_err
h_wskey_roll(struct ctx *c)
{
	static const char *const fields[] = { "grace_seconds", NULL };
	struct wop	 o;
	int		 present;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 1)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_int_field(c->body, "grace_seconds", 0, 0, GRACE_MAX,
	    &o.grace, &present, c->msg)) != SIG_OK)
		return rc;
	if (!present)
		o.grace = GRACE_DEFAULT;
	/* The algorithm is the old key's: read it first, then generate. */
	if ((rc = wrun(&o, get_key_tx, 200)) != SIG_OK)
		return rc;
	snprintf(o.algbuf, sizeof(o.algbuf), "%s",
	    json_str(c->data, "algorithm"));
	json_object_put(c->data);
	c->data = NULL;
	o.alg = o.algbuf;
	if ((rc = generate(&o)) != SIG_OK) {
		keypair_free(&o.kp);
		return rc;
	}
	return answer_with_private(&o, key_roll_tx);
}

/* --- workspace keys: read, update, delete --- */

enum sig_err
h_wskey_get(struct ctx *c)
{
	struct wop	 o;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 1)) != SIG_OK)
		return rc;
	return wrun(&o, get_key_tx, 200);
}

static enum sig_err
key_list_tx(struct store_txn *t, void *arg)
{
	struct wop	*o = arg;
	char		 prefix[128], after[160], live[160];
	enum sig_err	 rc;

	wop_reset(o);
	if ((rc = load_workspace(t, o->c, o->slug)) != SIG_OK)
		return rc;
	after[0] = '\0';
	if (o->after[0] != '\0') {
		const char	*ws;

		rc = store_get(t, TBL_WSKEYS, o->after, 0, &o->rec);
		if (rc == SIG_ENOTFOUND || (rc == SIG_OK &&
		    ((ws = json_str(o->rec, "workspace")) == NULL ||
		    strcmp(ws, o->slug) != 0)))
			return ctx_fail(o->c, SIG_EINVAL, "starting_after does "
			    "not name a key of this workspace");
		if (rc != SIG_OK)
			return rc;
		index_keys(o->slug, json_i64(o->rec, "created_at"), o->after,
		    after, live);
		if (!o->include_deleted)
			memcpy(after, live, sizeof(after));
	}
	snprintf(prefix, sizeof(prefix), "wk:%s:%s:", o->slug,
	    o->include_deleted ? "all" : "live");
	return ctx_list(t, TBL_WSKEYS, prefix, after[0] ? after : NULL,
	    o->limit, key_view, &o->out, &o->more);
}

enum sig_err
h_wskey_list(struct ctx *c)
{
	struct wop	 o;
	char		 flag[8];
	int		 r;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 0)) != SIG_OK ||
	    (rc = ctx_page(c, &o.limit, o.after, sizeof(o.after))) != SIG_OK)
		return rc;
	r = http_query_get(c->query, "include_deleted", flag, sizeof(flag));
	if (r < 0 || (r == 1 && strcmp(flag, "true") != 0 &&
	    strcmp(flag, "false") != 0))
		return ctx_fail(c, SIG_EINVAL, "include_deleted must be true or "
		    "false");
	o.include_deleted = r == 1 && strcmp(flag, "true") == 0;
	if (o.after[0] != '\0' && !valid_prefixed_hex(o.after, "signing_key_",
	    24))
		return ctx_fail(c, SIG_EINVAL, "starting_after must be a key uid");
	if ((rc = wrun(&o, key_list_tx, 200)) == SIG_OK)
		c->has_more = o.more;
	return rc;
}

static enum sig_err
key_update_tx(struct store_txn *t, void *arg)
{
	struct wop	*o = arg;
	enum sig_err	 rc;

	wop_reset(o);
	if ((rc = load_key(t, o, 1)) != SIG_OK)
		return rc;
	if (json_i64(o->rec, "deleted_at") != 0)
		return ctx_fail(o->c, SIG_ENOTFOUND, "signing key was deleted");
	if (o->domains_set)
		json_object_object_add(o->rec, "allowed_domains",
		    o->domains ? json_object_get(o->domains) : NULL);
	if (o->expiry != 0)
		json_object_object_add(o->rec, "expiry_at",
		    json_object_new_int64(o->expiry > 0 ? o->expiry : 0));
	if ((rc = store_put(t, TBL_WSKEYS, o->uid, o->rec)) != SIG_OK ||
	    (rc = ctx_audit(t, o->c, "workspace_signing_key.updated",
	    "workspace_signing_key", o->uid)) != SIG_OK)
		return rc;
	o->out = key_view(o->rec);
	return SIG_OK;
}

enum sig_err
h_wskey_update(struct ctx *c)
{
	static const char *const fields[] = { "allowed_domains", "expiry_at",
	    NULL };
	struct wop	 o;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 1)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = parse_expiry(c, &o)) != SIG_OK ||
	    (rc = parse_domains(c, &o)) != SIG_OK)
		return rc;
	rc = wrun(&o, key_update_tx, 200);
	json_object_put(o.domains);
	return rc;
}

static enum sig_err
key_delete_tx(struct store_txn *t, void *arg)
{
	struct wop	*o = arg;
	char		 all[160], live[160];
	enum sig_err	 rc;

	wop_reset(o);
	if ((rc = load_key(t, o, 1)) != SIG_OK)
		return rc;
	if (json_i64(o->rec, "deleted_at") != 0)
		return ctx_fail(o->c, SIG_ENOTFOUND, "signing key was already "
		    "deleted");
	json_object_object_add(o->rec, "deleted_at",
	    json_object_new_int64(ids_now_us()));
	json_object_object_add(o->rec, "deleted_by", ctx_actor(o->c));
	index_keys(o->slug, json_i64(o->rec, "created_at"), o->uid, all, live);
	if ((rc = store_put(t, TBL_WSKEYS, o->uid, o->rec)) != SIG_OK ||
	    ((rc = store_del(t, TBL_INDEX, live)) != SIG_OK &&
	    rc != SIG_ENOTFOUND) ||
	    (rc = ctx_audit(t, o->c, "workspace_signing_key.deleted",
	    "workspace_signing_key", o->uid)) != SIG_OK)
		return rc;
	o->out = key_view(o->rec);
	return SIG_OK;
}

enum sig_err
h_wskey_delete(struct ctx *c)
{
	struct wop	 o;
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 1)) != SIG_OK)
		return rc;
	return wrun(&o, key_delete_tx, 200);
}

/* --- the public JWKS --- */

struct jwks_args {
	const char	*slug;
	json_object	*keys;		/* owned */
};

static enum sig_err
jwks_tx(struct store_txn *t, void *arg)
{
	struct jwks_args *a = arg;
	json_object	*ws, *recs, *rec, *jwk;
	char		 prefix[128];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;
	size_t		 i;
	int		 more;

	json_object_put(a->keys);
	a->keys = NULL;
	if ((rc = store_get(t, TBL_WORKSPACES, a->slug, 0, &ws)) != SIG_OK)
		return rc;
	json_object_put(ws);
	snprintf(prefix, sizeof(prefix), "wk:%s:live:", a->slug);
	if ((rc = store_page(t, TBL_WSKEYS, prefix, NULL, JWKS_MAX_KEYS, &recs,
	    &more)) != SIG_OK)
		return rc;
	a->keys = json_object_new_array();
	for (i = 0; i < json_object_array_length(recs); i++) {
		rec = json_object_array_get_idx(recs, i);
		if (key_unusable(rec, now) == NULL &&
		    json_object_object_get_ex(rec, "jwk", &jwk))
			json_object_array_add(a->keys, json_object_get(jwk));
	}
	json_object_put(recs);
	return SIG_OK;
}

/* Whether an If-None-Match value lists etag (or is "*"). */
static int
etag_matches(const char *header, const char *etag)
{
	const char	*p = header;
	size_t		 n = strlen(etag);

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' ||
		    p[n] == ' '))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

enum sig_err
h_ws_jwks(struct ctx *c)
{
	struct jwks_args a = { c->params[0], NULL };
	json_object	*doc;
	unsigned char	 h[CRYPTO_SHA256_LEN];
	char		 hex[2 * CRYPTO_SHA256_LEN + 1], etag[2 * CRYPTO_SHA256_LEN + 4];
	enum sig_err	 rc;

	if (!valid_slug(a.slug))
		return ctx_fail(c, SIG_ENOTFOUND, "workspace not found");
	rc = store_run(c->app->store, jwks_tx, &a);
	if (rc != SIG_OK) {
		json_object_put(a.keys);
		return rc == SIG_ENOTFOUND ? ctx_fail(c, SIG_ENOTFOUND,
		    "workspace not found") : rc;
	}
	doc = json_object_new_object();
	json_object_object_add(doc, "keys", a.keys);
	c->raw = json_dump(doc);
	json_object_put(doc);
	if (c->raw == NULL)
		return SIG_EINTERNAL;
	c->raw_len = strlen(c->raw);
	/* A strong validator: the hash of the exact bytes served. */
	crypto_sha256(c->raw, c->raw_len, h);
	ids_hex(h, 16, hex);
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	http_add_header(c->res, "ETag", etag);
	http_add_header(c->res, "Cache-Control", "max-age=300");
	if (c->req->if_none_match != NULL &&
	    etag_matches(c->req->if_none_match, etag)) {
		free(c->raw);
		c->raw = NULL;
		c->raw_len = 0;
		c->status = 304;
	}
	return SIG_OK;
}

/* --- token verification --- */

/*
 * The lower-cased host of an origin such as "https://app.example.com:8443".
 * Returns 0, or -1 when origin is not a URL with a host.
 */
static int
origin_host(const char *origin, char *host, size_t hostsz)
{
	const char	*p = strstr(origin, "://"), *end;
	size_t		 n, i;

	if (p == NULL || p == origin)
		return -1;
	p += 3;
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL)
			return -1;
		p++;
	} else
		end = p + strcspn(p, ":/?#");
	n = (size_t)(end - p);
	if (n == 0 || n >= hostsz || memchr(p, '@', n) != NULL)
		return -1;
	for (i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)p[i]);
	host[n] = '\0';
	return 0;
}

static enum sig_err
refuse_token(struct wop *o, const char *reason)
{
	json_object_put(o->out);
	o->out = json_object_new_object();
	json_object_object_add(o->out, "valid", json_object_new_boolean(0));
	json_object_object_add(o->out, "reason", json_object_new_string(reason));
	return SIG_OK;
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

static enum sig_err
verify_token_tx(struct store_txn *t, void *arg)
{
	struct wop	*o = arg;
	struct jws	 j;
	struct jwk	 k;
	json_object	*jwk, *claims = NULL, *domains;
	const char	*why, *alg;
	char		 reason[JWS_REASON_MAX], msg[SIG_MSG_MAX];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;
	size_t		 i, n;
	int		 ok;

	wop_reset(o);
	if ((rc = load_workspace(t, o->c, o->slug)) != SIG_OK)
		return rc;
	if (jws_parse(o->token, NULL, 0, &j, reason) != 0)
		return refuse_token(o, reason);
	if (j.kid[0] == '\0') {
		jws_free(&j);
		return refuse_token(o, "token header has no kid");
	}
	o->uid = j.kid;
	rc = load_key(t, o, 0);
	if (rc == SIG_ENOTFOUND) {
		jws_free(&j);
		return refuse_token(o, "kid does not name a signing key of this "
		    "workspace");
	}
	if (rc != SIG_OK) {
		jws_free(&j);
		return rc;
	}
	alg = json_str(o->rec, "algorithm");
	if ((why = key_unusable(o->rec, now)) != NULL ||
	    (strcmp(j.alg, alg) != 0 && (why = "alg does not match the "
	    "signing key's algorithm") != NULL)) {
		jws_free(&j);
		return refuse_token(o, why);
	}
	if (!json_object_object_get_ex(o->rec, "jwk", &jwk) ||
	    jwk_parse(jwk, &k, msg) != SIG_OK) {
		jws_free(&j);
		return SIG_EINTERNAL;
	}
	ok = jws_verify(&j, &k, reason);
	jwk_free(&k);
	if (ok && (json_parse_body((char *)j.payload, j.payload_len, &claims,
	    msg) != SIG_OK || !json_object_is_type(claims, json_type_object)))
		ok = 0, snprintf(reason, sizeof(reason), "token payload is not "
		    "a JSON object");
	jws_free(&j);
	if (!ok) {
		json_object_put(claims);
		return refuse_token(o, reason);
	}
	if ((why = claims_problem(claims, now / 1000000)) != NULL) {
		json_object_put(claims);
		return refuse_token(o, why);
	}
	if (o->origin_host != NULL &&
	    json_object_object_get_ex(o->rec, "allowed_domains", &domains) &&
	    domains != NULL) {
		n = json_object_array_length(domains);
		for (i = 0; i < n; i++)
			if (strcmp(json_object_get_string(
			    json_object_array_get_idx(domains, i)),
			    o->origin_host) == 0)
				break;
		if (i == n) {
			json_object_put(claims);
			return refuse_token(o, "origin is not one of the key's "
			    "allowed_domains");
		}
	}
	o->out = json_object_new_object();
	json_object_object_add(o->out, "valid", json_object_new_boolean(1));
	json_object_object_add(o->out, "uid",
	    json_object_new_string(json_str(o->rec, "uid")));
	json_object_object_add(o->out, "claims", claims);
	return SIG_OK;
}

enum sig_err
h_ws_verify_token(struct ctx *c)
{
	static const char *const fields[] = { "token", "origin", NULL };
	struct wop	 o;
	const char	*origin;
	char		 host[DOMAIN_LEN_MAX + 1];
	enum sig_err	 rc;

	if ((rc = path_ids(c, &o, 0)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "token", 1, JWS_MAX_LEN, &o.token,
	    NULL, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "origin", 0, 2048, &origin, NULL,
	    c->msg)) != SIG_OK)
		return rc;
	if (origin != NULL) {
		if (origin_host(origin, host, sizeof(host)) != 0)
			return ctx_fail(c, SIG_EINVAL, "origin must be a URL "
			    "such as https://app.example.com");
		o.origin_host = host;
	}
	return wrun(&o, verify_token_tx, 200);
}
