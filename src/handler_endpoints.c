/*
 * Endpoints and their signing keys (docs/api.md, Outbound endpoints).
 * Everything here is written once against struct endpoint_kind, so another
 * kind of endpoint (docs/api.md, Inbound endpoints) is a table entry, not a
 * copy.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/app.h"
#include "signet/expiry.h"
#include "signet/usage.h"
#include "signet/handlers.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/keyring.h"
#include "signet/validate.h"
#include "signet/webhook.h"

#define DESCRIPTION_MAX		512
#define DEFAULT_TOLERANCE	300
#define MAX_TOLERANCE		(366 * 24 * 3600)
#define MAX_TIMESTAMP		INT64_C(253402300799)	/* 9999-12-31 */
#define GRACE_DEFAULT		86400
#define GRACE_MAX		604800

struct endpoint_kind {
	enum records_list list;		/* the listing; its table holds them */
	const char	*url_field;	/* "url" or "forward_url" */
	const char	*url_message;
	struct ctx_param params[2];	/* the endpoint id, a signing key id */
	enum sig_err	(*new_id)(char *out);
	const char	*resource;	/* audit resource type */
	enum usage_where usage;		/* where its keys' verifications go */
};

static enum sig_err
new_ep_id(char *out)
{
	return ids_new("ep_", 16, out, IDS_MAX);
}

static enum sig_err
new_inbound_id(char *out)
{
	return ids_uuid7(out);
}

#define SK_PARAM	{ valid_sk_id, \
	"signing key id must be sk_ followed by 32 lowercase hex digits" }

const struct endpoint_kind endpoint_outbound = {
	LIST_ENDPOINTS, "url", "endpoint must be a valid HTTPS URL",
	{ { valid_endpoint_id,
	    "endpoint id must be ep_ followed by 32 lowercase hex digits" },
	    SK_PARAM },
	new_ep_id, "endpoint", USAGE_ENDPOINT,
};

const struct endpoint_kind endpoint_inbound = {
	LIST_INBOUND, "forward_url", "forward_url must be a valid HTTPS URL",
	{ { valid_uuid_v7,
	    "inbound endpoint id must be a UUIDv7 in canonical lowercase form" },
	    SK_PARAM },
	new_inbound_id, "inbound_endpoint", USAGE_INBOUND,
};

/* The public view of an endpoint record of the route's kind. */
static json_object *
endpoint_view(struct ctx *c, json_object *rec)
{
	const struct endpoint_kind *k = c->route_arg;
	json_object	*o = json_object_new_object();
	char		 ts[32];

	json_object_object_add(o, "id", json_object_new_string(json_str(rec, "id")));
	json_object_object_add(o, k->url_field,
	    json_object_new_string(json_str(rec, "url")));
	json_object_object_add(o, "description",
	    json_str_or_null(json_str(rec, "description")));
	json_object_object_add(o, "created_at", json_object_new_string(
	    ids_time(json_i64(rec, "created_at"), 0, ts)));
	return o;
}

/*
 * The endpoint of the path, of the caller's account, into *rec (a shared,
 * read-only object with RECORD_SHARED).  Another account's endpoint answers
 * as absent.
 */
static enum sig_err
load(struct ctx *c, struct store_txn *t, enum records_read how,
    json_object **rec)
{
	const struct endpoint_kind *kind = c->route_arg;
	enum sig_err	 rc;

	rc = records_owned(t, records_table(kind->list), c->params[0],
	    "account", c->who.account, how, rec);
	return rc == SIG_ENOTFOUND ? SIG_EENDPOINT : rc;
}

/* Check the endpoint id of the path and, with_key, the key id after it. */
static enum sig_err
path_ids(struct ctx *c, int with_key)
{
	const struct endpoint_kind *kind = c->route_arg;

	return ctx_params(c, kind->params, with_key ? 2 : 1);
}

/* Audit "<kind>.<verb>" for the endpoint id. */
static enum sig_err
audit_endpoint(struct ctx *c, struct store_txn *t, const char *id,
    const char *verb)
{
	const struct endpoint_kind *kind = c->route_arg;
	char	 action[64];

	snprintf(action, sizeof(action), "%s.%s", kind->resource, verb);
	return ctx_audit(t, c, action, kind->resource, id);
}

/* A request that names an endpoint in its path and needs nothing else. */
static enum sig_err
on_endpoint(struct ctx *c, ctx_fn fn, void *arg, enum ctx_access access,
    int status)
{
	enum sig_err	 rc;

	if ((rc = path_ids(c, 0)) != SIG_OK)
		return rc;
	c->status = status;
	return ctx_run(c, fn, arg, access);
}

/* Now, in seconds: the clock of key expiry. */
static int64_t
now_s(void)
{
	return ids_now_us() / 1000000;
}

/*
 * The key type named by field of the body into *type (left alone when the
 * field is absent; *given says whether it was there).
 */
static enum sig_err
parse_type(struct ctx *c, const char *name, enum keyring_type *type,
    int *given)
{
	const char	*v;
	enum sig_err	 rc;

	if ((rc = json_string_field(c->body, name, 0, 32, &v, NULL, c->msg)) !=
	    SIG_OK)
		return rc;
	*given = v != NULL;
	if (v != NULL && keyring_type_parse(v, type) != 0)
		return ctx_fail(c, SIG_EINVAL, "%s must be \"hmac-sha256\" or "
		    "\"ed25519\"", name);
	return SIG_OK;
}

/*
 * expires_at of the body into *at (seconds): absent (*given 0), null (0),
 * or a future RFC 3339 time, kept to the second.
 */
static enum sig_err
parse_expires(struct ctx *c, int64_t *at, int *given)
{
	json_object	*v;
	int64_t		 us;

	*at = 0;
	if (!(*given = json_object_object_get_ex(c->body, "expires_at", &v)) ||
	    v == NULL)
		return SIG_OK;
	if (!json_object_is_type(v, json_type_string) ||
	    ids_parse_time(json_object_get_string(v), &us) != 0)
		return ctx_fail(c, SIG_EINVAL, "expires_at must be an RFC 3339 "
		    "time such as 2030-01-01T00:00:00Z, or null");
	if (us / 1000000 <= now_s())
		return ctx_fail(c, SIG_EINVAL, "expires_at must be in the "
		    "future");
	*at = us / 1000000;
	return SIG_OK;
}

/*
 * Write back the endpoint rec after a change of its keys: expired keys
 * erased, the expiry listing kept up.
 */
static enum sig_err
save(struct ctx *c, struct store_txn *t, json_object *rec, int64_t now)
{
	const struct endpoint_kind *kind = c->route_arg;
	enum sig_err	 rc;

	if ((rc = expiry_settle(t, kind->list, rec, now, NULL)) != SIG_OK)
		return rc;
	return store_put(t, records_table(kind->list), c->params[0], rec);
}

/* --- create --- */

struct create_args {
	const char	*id, *url, *description;
	struct new_key	 nk;
};

static enum sig_err
create_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct endpoint_kind *kind = c->route_arg;
	struct create_args *a = arg;
	json_object	*rec;
	char		 ikey[RECORDS_KEY_MAX];
	enum sig_err	 rc;

	rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(a->id));
	json_object_object_add(rec, "account",
	    json_object_new_string(c->who.account));
	json_object_object_add(rec, "url", json_object_new_string(a->url));
	json_object_object_add(rec, "description",
	    json_str_or_null(a->description));
	json_object_object_add(rec, "created_at",
	    json_object_new_int64(a->nk.created_at));
	rc = records_index_key(kind->list, c->who.account, ids_now_us(), a->id,
	    ikey) == 0 ? SIG_OK : SIG_EINTERNAL;
	if (rc != SIG_OK)
		goto done;
	json_object_object_add(rec, "ikey", json_object_new_string(ikey));
	if ((rc = keyring_add(&c->app->mk, rec, &a->nk, now_s())) != SIG_OK)
		goto done;
	if ((rc = store_insert(t, records_table(kind->list), a->id, rec)) !=
	    SIG_OK || (rc = records_index_put(t, ikey, a->id)) != SIG_OK) {
		if (rc == SIG_EEXISTS)
			rc = SIG_ERETRY;
		goto done;
	}
	if ((rc = audit_endpoint(c, t, a->id, "created")) != SIG_OK ||
	    (rc = ctx_audit(t, c, "signing_key.created", "signing_key",
	    a->nk.id)) != SIG_OK)
		goto done;
	c->data = endpoint_view(c, rec);
	json_object_object_add(c->data, "signing_key",
	    keyring_new_key_json(&a->nk));
done:
	json_object_put(rec);
	return rc;
}

enum sig_err
h_endpoint_create(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;
	const char *const fields[] = { kind->url_field, "description",
	    "key_type", NULL };
	struct create_args a;
	enum keyring_type type = KEY_HMAC;
	char		 id[IDS_MAX];
	size_t		 ulen;
	int		 given;
	enum sig_err	 rc;

	memset(&a, 0, sizeof(a));
	if ((rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, kind->url_field, 1, 1 << 20,
	    &a.url, &ulen, c->msg)) != SIG_OK)
		return rc;
	if (!valid_https_url(a.url, ulen))
		return ctx_fail(c, SIG_EINVAL, "%s", kind->url_message);
	if ((rc = json_string_field(c->body, "description", 0,
	    DESCRIPTION_MAX, &a.description, NULL, c->msg)) != SIG_OK ||
	    (rc = parse_type(c, "key_type", &type, &given)) != SIG_OK)
		return rc;
	if ((rc = kind->new_id(id)) != SIG_OK ||
	    (rc = keyring_new_key(&a.nk, type, 0)) != SIG_OK)
		return rc;
	a.id = id;
	c->status = 201;
	rc = ctx_run(c, create_tx, &a, CTX_WRITE);
	keyring_forget(&a.nk);
	return rc;
}

/* --- list --- */

enum sig_err
h_endpoint_list(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;
	struct ctx_page	 pg;
	struct ctx_listing l = { NULL, kind->list, c->who.account, &pg,
	    "starting_after does not name an endpoint of this account",
	    endpoint_view };
	enum sig_err	 rc;

	if ((rc = ctx_page(c, &pg, IDS_MAX)) != SIG_OK)
		return rc;
	if (pg.after[0] != '\0' && !kind->params[0].valid(pg.after))
		return ctx_fail(c, SIG_EINVAL, "starting_after: %s",
		    kind->params[0].message);
	return ctx_run(c, ctx_list_fn, &l, CTX_VIEW);
}

/* --- get and delete --- */

static const struct ctx_getter endpoint_getter = { load, RECORD_SHARED,
    endpoint_view };

static enum sig_err
delete_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct endpoint_kind *kind = c->route_arg;
	json_object	*rec;
	const char	*ikey;
	enum sig_err	 rc;

	(void)arg;
	if ((rc = load(c, t, RECORD_LOCK, &rec)) != SIG_OK)
		return rc;
	if (((ikey = json_str(rec, "ikey")) == NULL ||
	    (rc = records_index_del(t, ikey)) == SIG_OK) &&
	    ((ikey = json_str(rec, "expiry_ikey")) == NULL ||
	    (rc = records_index_del(t, ikey)) == SIG_OK) &&
	    (rc = audit_endpoint(c, t, c->params[0], "deleted")) == SIG_OK)
		rc = store_del(t, records_table(kind->list), c->params[0]);
	json_object_put(rec);
	return rc;
}

enum sig_err
h_endpoint_get(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;

	return ctx_get(c, kind->params, 1, &endpoint_getter, CTX_READ);
}

enum sig_err
h_endpoint_delete(struct ctx *c)
{
	return on_endpoint(c, delete_tx, NULL, CTX_WRITE, 204);
}

/* --- signing keys --- */

static enum sig_err
key_create_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct new_key *nk = arg;
	json_object	*rec;
	int64_t		 now = now_s();
	enum sig_err	 rc;

	if ((rc = load(c, t, RECORD_LOCK, &rec)) != SIG_OK)
		return rc;
	if ((rc = keyring_add(&c->app->mk, rec, nk, now)) == SIG_OK &&
	    (rc = save(c, t, rec, now)) == SIG_OK &&
	    (rc = ctx_audit(t, c, "signing_key.created", "signing_key",
	    nk->id)) == SIG_OK)
		c->data = keyring_new_key_json(nk);
	json_object_put(rec);
	return rc;
}

enum sig_err
h_signing_key_create(struct ctx *c)
{
	static const char *const fields[] = { "type", "expires_at", NULL };
	struct new_key	 nk;
	enum keyring_type type = KEY_HMAC;
	int64_t		 expires;
	int		 given;
	enum sig_err	 rc;

	if ((rc = path_ids(c, 0)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = parse_type(c, "type", &type, &given)) != SIG_OK ||
	    (rc = parse_expires(c, &expires, &given)) != SIG_OK ||
	    (rc = keyring_new_key(&nk, type, expires)) != SIG_OK)
		return rc;
	c->status = 201;
	rc = ctx_run(c, key_create_tx, &nk, CTX_WRITE);
	keyring_forget(&nk);
	return rc;
}

static enum sig_err
key_list_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	json_object	*rec;
	enum sig_err	 rc;

	(void)arg;
	if ((rc = load(c, t, RECORD_SHARED, &rec)) != SIG_OK)
		return rc;
	c->data = keyring_list(rec, now_s());
	json_object_put(rec);
	return SIG_OK;
}

enum sig_err
h_signing_key_list(struct ctx *c)
{
	return on_endpoint(c, key_list_tx, NULL, CTX_READ, 200);
}

static enum sig_err
key_get_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	json_object	*rec;
	enum sig_err	 rc;

	(void)arg;
	if ((rc = load(c, t, RECORD_SHARED, &rec)) != SIG_OK)
		return rc;
	c->data = keyring_get(rec, c->params[1], now_s());
	json_object_put(rec);
	return c->data != NULL ? SIG_OK : SIG_ENOTFOUND;
}

enum sig_err
h_signing_key_get(struct ctx *c)
{
	enum sig_err	 rc;

	if ((rc = path_ids(c, 1)) != SIG_OK)
		return rc;
	return ctx_run(c, key_get_tx, NULL, CTX_READ);
}

static enum sig_err
key_update_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const int64_t	*expires = arg;
	json_object	*rec;
	int64_t		 now = now_s();
	enum sig_err	 rc;

	if ((rc = load(c, t, RECORD_LOCK, &rec)) != SIG_OK)
		return rc;
	if ((rc = keyring_set_expiry(rec, c->params[1], *expires, now)) ==
	    SIG_OK && (rc = save(c, t, rec, now)) == SIG_OK &&
	    (rc = ctx_audit(t, c, "signing_key.updated", "signing_key",
	    c->params[1])) == SIG_OK)
		c->data = keyring_get(rec, c->params[1], now);
	json_object_put(rec);
	return rc;
}

enum sig_err
h_signing_key_update(struct ctx *c)
{
	static const char *const fields[] = { "expires_at", NULL };
	int64_t		 expires;
	int		 given;
	enum sig_err	 rc;

	if ((rc = path_ids(c, 1)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = parse_expires(c, &expires, &given)) != SIG_OK)
		return rc;
	if (!given)
		return ctx_fail(c, SIG_EINVAL, "expires_at is required: a "
		    "future RFC 3339 time, or null for no expiry");
	return ctx_run(c, key_update_tx, &expires, CTX_WRITE);
}

static enum sig_err
key_delete_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const char	*key_id = c->params[1];
	json_object	*rec;
	int64_t		 now = now_s();
	enum sig_err	 rc;

	(void)arg;
	if ((rc = load(c, t, RECORD_LOCK, &rec)) != SIG_OK)
		return rc;
	if ((rc = keyring_remove(rec, key_id, now)) == SIG_OK &&
	    (rc = ctx_audit(t, c, "signing_key.deleted", "signing_key",
	    key_id)) == SIG_OK)
		rc = save(c, t, rec, now);
	json_object_put(rec);
	return rc;
}

enum sig_err
h_signing_key_delete(struct ctx *c)
{
	enum sig_err	 rc;

	if ((rc = path_ids(c, 1)) != SIG_OK)
		return rc;
	c->status = 204;
	return ctx_run(c, key_delete_tx, NULL, CTX_WRITE);
}

struct rotation {
	struct new_key	 nk;
	int64_t		 grace;
};

static enum sig_err
rotate_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct rotation *r = arg;
	json_object	*rec;
	int64_t		 now = now_s();
	enum sig_err	 rc;

	if ((rc = load(c, t, RECORD_LOCK, &rec)) != SIG_OK)
		return rc;
	if ((rc = keyring_rotate(&c->app->mk, rec, &r->nk, r->grace, now)) ==
	    SIG_OK && (rc = save(c, t, rec, now)) == SIG_OK &&
	    (rc = ctx_audit(t, c, "signing_key.rotated", "signing_key",
	    r->nk.id)) == SIG_OK)
		c->data = keyring_new_key_json(&r->nk);
	json_object_put(rec);
	return rc;
}

/* The type of the key a rotation replaces, when the body names none. */
static enum sig_err
current_type_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	json_object	*rec;
	enum sig_err	 rc;

	if ((rc = load(c, t, RECORD_SHARED, &rec)) != SIG_OK)
		return rc;
	*(enum keyring_type *)arg = keyring_current_type(rec, now_s());
	json_object_put(rec);
	return SIG_OK;
}

enum sig_err
h_signing_key_rotate(struct ctx *c)
{
	static const char *const fields[] = { "grace_seconds", "type", NULL };
	struct rotation	 r;
	enum keyring_type type = KEY_HMAC;
	int		 present, given;
	enum sig_err	 rc;

	if ((rc = path_ids(c, 0)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_int_field(c->body, "grace_seconds", 0, 0, GRACE_MAX,
	    &r.grace, &present, c->msg)) != SIG_OK ||
	    (rc = parse_type(c, "type", &type, &given)) != SIG_OK)
		return rc;
	if (!present)
		r.grace = GRACE_DEFAULT;
	if (!given && (rc = ctx_run(c, current_type_tx, &type, CTX_READ)) !=
	    SIG_OK)
		return rc;
	if ((rc = keyring_new_key(&r.nk, type, 0)) != SIG_OK)
		return rc;
	c->status = 201;
	rc = ctx_run(c, rotate_tx, &r, CTX_WRITE);
	keyring_forget(&r.nk);
	return rc;
}

/* --- the public JWKS --- */

static enum sig_err
jwks_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct endpoint_kind *kind = c->route_arg;
	json_object	*rec;
	enum sig_err	 rc;

	(void)arg;
	/* Public: the id is the capability, whoever's endpoint it is. */
	rc = store_get_shared(t, records_table(kind->list), c->params[0], &rec);
	if (rc != SIG_OK)
		return ctx_notfound(c, rc, "endpoint not found");
	c->data = keyring_jwks(rec, now_s());
	json_object_put(rec);
	return SIG_OK;
}

enum sig_err
h_endpoint_jwks(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;
	enum sig_err	 rc;

	if (!kind->params[0].valid(c->params[0]))
		return ctx_fail(c, SIG_ENOTFOUND, "endpoint not found");
	if ((rc = ctx_run(c, jwks_tx, NULL, CTX_READ)) != SIG_OK)
		return rc;
	return ctx_jwks(c);
}

/* --- sign and verify --- */

/* What sign and verify check, from the body (and the headers given). */
struct message {
	const char	*payload, *msg_id, *sigheader;
	size_t		 plen;
	int64_t		 timestamp;
};

static enum sig_err
sign_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct message *m = arg;
	json_object	*rec;
	enum sig_err	 rc;
	char		*header, ts[WEBHOOK_TS_MAX];

	if ((rc = load(c, t, RECORD_SHARED, &rec)) != SIG_OK)
		return rc;
	rc = keyring_sign(&c->app->mk, rec, m->msg_id, m->timestamp,
	    m->payload, m->plen, now_s(), &header);
	json_object_put(rec);
	if (rc != SIG_OK)
		return rc;
	(void)webhook_timestamp_text(m->timestamp, ts);
	c->data = json_object_new_object();
	json_object_object_add(c->data, "webhook-id",
	    json_object_new_string(m->msg_id));
	json_object_object_add(c->data, "webhook-timestamp",
	    json_object_new_string(ts));
	json_object_object_add(c->data, "webhook-signature",
	    json_object_new_string(header));
	free(header);
	return SIG_OK;
}

enum sig_err
h_endpoint_sign(struct ctx *c)
{
	static const char *const fields[] = { "payload", "msg_id",
	    "timestamp", NULL };
	struct message	 m;
	char		 msg_id[IDS_MAX];
	size_t		 idlen;
	int		 present;
	enum sig_err	 rc;

	memset(&m, 0, sizeof(m));
	if ((rc = path_ids(c, 0)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "payload", 1, SIZE_MAX,
	    &m.payload, &m.plen, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "msg_id", 0, 255, &m.msg_id,
	    &idlen, c->msg)) != SIG_OK ||
	    (rc = json_int_field(c->body, "timestamp", 0, 0, MAX_TIMESTAMP,
	    &m.timestamp, &present, c->msg)) != SIG_OK)
		return rc;
	if (m.msg_id != NULL && !valid_msg_id(m.msg_id, idlen))
		return ctx_fail(c, SIG_EINVAL, "msg_id must be 1 to 255 "
		    "characters without control characters");
	if (m.msg_id == NULL) {
		if ((rc = ids_new("msg_", 16, msg_id, sizeof(msg_id))) != SIG_OK)
			return rc;
		m.msg_id = msg_id;
	}
	if (!present)
		m.timestamp = ids_now_us() / 1000000;
	return ctx_run(c, sign_tx, &m, CTX_READ);
}

static enum sig_err
verify_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct message *m = arg;
	json_object	*rec;
	enum sig_err	 rc;
	char		 key_id[IDS_MAX];
	int		 found;

	if ((rc = load(c, t, RECORD_SHARED, &rec)) != SIG_OK)
		return rc;
	found = keyring_verify(&c->app->mk, rec, m->msg_id, m->timestamp,
	    m->payload, m->plen, m->sigheader, now_s(), key_id);
	json_object_put(rec);
	if (found < 0)
		return SIG_EINTERNAL;
	if (found)
		usage_note(((const struct endpoint_kind *)c->route_arg)->usage,
		    c->params[0], key_id, ids_now_us());
	c->data = json_object_new_object();
	json_object_object_add(c->data, "valid",
	    json_object_new_boolean(found));
	if (found)
		json_object_object_add(c->data, "key_id",
		    json_object_new_string(key_id));
	else
		json_object_object_add(c->data, "reason",
		    json_object_new_string("no signature matches a current "
		    "signing key"));
	return SIG_OK;
}

/* A verify answer decided before any key is looked at. */
static enum sig_err
verify_refuse(struct ctx *c, const char *reason)
{
	enum sig_err	 rc;

	/* The endpoint must still exist and be the caller's. */
	if ((rc = ctx_run(c, ctx_get_fn, (void *)&endpoint_getter, CTX_READ)) !=
	    SIG_OK)
		return rc;
	json_object_put(c->data);
	c->data = json_object_new_object();
	json_object_object_add(c->data, "valid", json_object_new_boolean(0));
	json_object_object_add(c->data, "reason",
	    json_object_new_string(reason));
	return SIG_OK;
}

enum sig_err
h_endpoint_verify(struct ctx *c)
{
	static const char *const fields[] = { "payload", "headers",
	    "tolerance", NULL };
	static const char *const names[] = { "webhook-id", "webhook-timestamp",
	    "webhook-signature" };
	struct message	 m;
	json_object	*headers;
	const char	*hv[3];
	int64_t		 tolerance = DEFAULT_TOLERANCE, now;
	int		 present, bad = 0, i;
	enum sig_err	 rc;
	char		 reason[96];

	memset(&m, 0, sizeof(m));
	if ((rc = path_ids(c, 0)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "payload", 1, SIZE_MAX,
	    &m.payload, &m.plen, c->msg)) != SIG_OK ||
	    (rc = json_int_field(c->body, "tolerance", 0, 0, MAX_TOLERANCE,
	    &tolerance, &present, c->msg)) != SIG_OK)
		return rc;
	if (!present)
		tolerance = DEFAULT_TOLERANCE;
	if (!json_object_object_get_ex(c->body, "headers", &headers) ||
	    !json_object_is_type(headers, json_type_object))
		return ctx_fail(c, SIG_EINVAL, "headers must be an object with "
		    "webhook-id, webhook-timestamp and webhook-signature");
	for (i = 0; i < 3; i++) {
		hv[i] = json_string_nocase(headers, names[i], &bad);
		if (bad)
			return ctx_fail(c, SIG_EINVAL, "headers.%s must be a "
			    "string", names[i]);
	}
	for (i = 0; i < 3; i++)
		if (hv[i] == NULL) {
			snprintf(reason, sizeof(reason), "missing header %s",
			    names[i]);
			return verify_refuse(c, reason);
		}
	m.msg_id = hv[0];
	m.sigheader = hv[2];
	if (webhook_parse_timestamp(hv[1], &m.timestamp) != 0)
		return verify_refuse(c, "webhook-timestamp is not a Unix time "
		    "in seconds");
	now = ids_now_us() / 1000000;
	if (m.timestamp < now - tolerance)
		return verify_refuse(c, "timestamp is too old");
	if (m.timestamp > now + tolerance)
		return verify_refuse(c, "timestamp is too far in the future");
	return ctx_run(c, verify_tx, &m, CTX_READ);
}
