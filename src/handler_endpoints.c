/*
 * Endpoints and their signing keys (API.md section 3).  Everything here is
 * written once against struct endpoint_kind, so another kind of endpoint
 * (inbound forward endpoints, section 4) is a table entry, not a copy.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signet/app.h"
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

static enum sig_err	get_tx(struct store_txn *, void *);
static enum sig_err	key_list_tx(struct store_txn *, void *);
static enum sig_err	sign_tx(struct store_txn *, void *);
static enum sig_err	verify_tx(struct store_txn *, void *);
static int		reads_one(store_fn);

struct endpoint_kind {
	enum store_table table;
	const char	*tag;		/* index prefix */
	const char	*url_field;	/* "url" or "forward_url" */
	const char	*url_message;
	const char	*id_message;
	int		(*valid_id)(const char *);
	enum sig_err	(*new_id)(char *out);
	int		 order_by_id;	/* ids sort by creation (UUIDv7) */
	const char	*resource;	/* audit resource type */
};

static int
valid_ep_id(const char *s)
{
	return valid_prefixed_hex(s, "ep_", 32);
}

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

const struct endpoint_kind endpoint_outbound = {
	TBL_ENDPOINTS, "ep", "url", "endpoint must be a valid HTTPS URL",
	"endpoint id must be ep_ followed by 32 lowercase hex digits",
	valid_ep_id, new_ep_id, 0, "endpoint",
};

const struct endpoint_kind endpoint_inbound = {
	TBL_INBOUND, "in", "forward_url",
	"forward_url must be a valid HTTPS URL",
	"inbound endpoint id must be a UUIDv7 in canonical lowercase form",
	valid_uuid_v7, new_inbound_id, 1, "inbound_endpoint",
};

/* The state of one request against one endpoint, shared by the callbacks. */
struct op {
	struct ctx			*c;
	const struct endpoint_kind	*kind;
	const char			*id;		/* endpoint id */
	const char			*key_id;	/* signing key id */
	json_object			*rec;		/* loaded record, owned */
	json_object			*out;		/* result data, owned */
	struct new_key			 nk;
	/* create */
	const char			*url, *description;
	/* list */
	int				 limit, more;
	char				 after[IDS_MAX];
	/* sign and verify */
	const char			*payload, *msg_id, *sigheader;
	size_t				 plen;
	int64_t				 timestamp;
};

static void
op_reset(struct op *o)
{
	json_object_put(o->rec);
	json_object_put(o->out);
	o->rec = o->out = NULL;
}

/* The public view of an endpoint record. */
static json_object *
endpoint_view(const struct endpoint_kind *kind, json_object *rec)
{
	json_object	*o = json_object_new_object();
	char		 ts[32];

	json_object_object_add(o, "id", json_object_new_string(json_str(rec, "id")));
	json_object_object_add(o, kind->url_field,
	    json_object_new_string(json_str(rec, "url")));
	json_object_object_add(o, "description",
	    json_str_or_null(json_str(rec, "description")));
	json_object_object_add(o, "created_at", json_object_new_string(
	    ids_time(json_i64(rec, "created_at"), 0, ts)));
	return o;
}

/*
 * Load the endpoint o->id of the caller's account into o->rec (locked for
 * update when rmw; otherwise possibly shared, so read-only).  Another
 * account's endpoint answers as absent.
 */
static enum sig_err
load(struct store_txn *t, struct op *o, int rmw)
{
	enum sig_err	 rc;
	const char	*acct;

	json_object_put(o->rec);
	o->rec = NULL;
	/* A read-only load may share the parsed record (never modified). */
	rc = rmw ? store_get(t, o->kind->table, o->id, 1, &o->rec) :
	    store_get_shared(t, o->kind->table, o->id, &o->rec);
	if (rc == SIG_ENOTFOUND)
		return SIG_EENDPOINT;
	if (rc != SIG_OK)
		return rc;
	acct = json_str(o->rec, "account");
	if (acct == NULL || strcmp(acct, o->c->who.account) != 0)
		return SIG_EENDPOINT;
	return SIG_OK;
}

static enum sig_err
path_id(struct ctx *c, struct op *o, const struct endpoint_kind *kind)
{
	memset(o, 0, sizeof(*o));
	o->c = c;
	o->kind = kind;
	o->id = c->params[0];
	if (!kind->valid_id(o->id))
		return ctx_fail(c, SIG_EINVAL, "%s", kind->id_message);
	return SIG_OK;
}

/* Audit "<kind>.<verb>" for the endpoint o->id. */
static enum sig_err
audit_endpoint(struct store_txn *t, struct op *o, const char *verb)
{
	char	 action[64];

	snprintf(action, sizeof(action), "%s.%s", o->kind->resource, verb);
	return ctx_audit(t, o->c, action, o->kind->resource, o->id);
}

/*
 * Run fn in a transaction (a plain read for the callbacks that read only
 * the endpoint: see reads_one); on success hand o->out to the response.
 */
static enum sig_err
run(struct op *o, store_fn fn, int status)
{
	enum sig_err	 rc;

	rc = reads_one(fn) ? store_read(o->c->app->store, fn, o) :
	    store_run(o->c->app->store, fn, o);
	if (rc == SIG_OK) {
		o->c->status = status;
		o->c->data = o->out;
		o->out = NULL;
	}
	op_reset(o);
	keyring_forget(&o->nk);
	return rc;
}

/* Whether fn reads the endpoint record and nothing else (store_read). */
static int
reads_one(store_fn fn)
{
	return fn == get_tx || fn == key_list_tx || fn == sign_tx ||
	    fn == verify_tx;
}

/* A request that names an endpoint in its path and needs nothing else. */
static enum sig_err
on_endpoint(struct ctx *c, store_fn fn, int status)
{
	struct op	 o;
	enum sig_err	 rc;

	if ((rc = path_id(c, &o, c->route_arg)) != SIG_OK)
		return rc;
	return run(&o, fn, status);
}

/* --- create --- */

static enum sig_err
create_tx(struct store_txn *t, void *arg)
{
	struct op	*o = arg;
	json_object	*rec;
	char		 ikey[160], order[24];
	enum sig_err	 rc;
	int64_t		 now_us = ids_now_us();

	op_reset(o);
	rec = o->rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(o->id));
	json_object_object_add(rec, "account",
	    json_object_new_string(o->c->who.account));
	json_object_object_add(rec, "url", json_object_new_string(o->url));
	json_object_object_add(rec, "description",
	    json_str_or_null(o->description));
	json_object_object_add(rec, "created_at",
	    json_object_new_int64(o->nk.created_at));
	/* Creation order: the id itself where it is time-ordered. */
	snprintf(order, sizeof(order), "%016" PRIx64, (uint64_t)now_us);
	snprintf(ikey, sizeof(ikey), "%s:%s:%s:%s", o->kind->tag,
	    o->c->who.account, o->kind->order_by_id ? "" : order, o->id);
	json_object_object_add(rec, "ikey", json_object_new_string(ikey));
	if ((rc = keyring_add(&o->c->app->mk, rec, &o->nk)) != SIG_OK)
		return rc;
	if ((rc = store_insert(t, o->kind->table, o->id, rec)) != SIG_OK ||
	    (rc = store_put_str(t, TBL_INDEX, ikey, o->id, 1)) != SIG_OK)
		return rc == SIG_EEXISTS ? SIG_ERETRY : rc;
	if ((rc = audit_endpoint(t, o, "created")) != SIG_OK ||
	    (rc = ctx_audit(t, o->c, "signing_key.created", "signing_key",
	    o->nk.id)) != SIG_OK)
		return rc;
	o->out = endpoint_view(o->kind, rec);
	json_object_object_add(o->out, "signing_key",
	    keyring_new_key_json(&o->nk));
	return SIG_OK;
}

enum sig_err
h_endpoint_create(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;
	const char *const fields[] = { kind->url_field, "description", NULL };
	struct op	 o;
	char		 id[IDS_MAX];
	size_t		 ulen;
	enum sig_err	 rc;

	memset(&o, 0, sizeof(o));
	o.c = c;
	o.kind = kind;
	if ((rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, kind->url_field, 1, 1 << 20,
	    &o.url, &ulen, c->msg)) != SIG_OK)
		return rc;
	if (!valid_https_url(o.url, ulen))
		return ctx_fail(c, SIG_EINVAL, "%s", kind->url_message);
	if ((rc = json_string_field(c->body, "description", 0,
	    DESCRIPTION_MAX, &o.description, NULL, c->msg)) != SIG_OK)
		return rc;
	if ((rc = kind->new_id(id)) != SIG_OK ||
	    (rc = keyring_new_key(&o.nk)) != SIG_OK)
		return rc;
	o.id = id;
	return run(&o, create_tx, 201);
}

/* --- list --- */

static enum sig_err
list_tx(struct store_txn *t, void *arg)
{
	struct op	*o = arg;
	json_object	*recs;
	char		 prefix[IDS_MAX + 16];
	const char	*after = NULL;
	size_t		 i;
	enum sig_err	 rc;

	op_reset(o);
	if (o->after[0] != '\0') {
		o->id = o->after;
		if ((rc = load(t, o, 0)) != SIG_OK)
			return ctx_fail(o->c, SIG_EINVAL, "starting_after does "
			    "not name an endpoint of this account");
		after = json_str(o->rec, "ikey");
	}
	snprintf(prefix, sizeof(prefix), "%s:%s:", o->kind->tag,
	    o->c->who.account);
	if ((rc = store_page(t, o->kind->table, prefix, after,
	    (size_t)o->limit, &recs, &o->more)) != SIG_OK)
		return rc;
	o->out = json_object_new_array();
	for (i = 0; i < json_object_array_length(recs); i++)
		json_object_array_add(o->out, endpoint_view(o->kind,
		    json_object_array_get_idx(recs, i)));
	json_object_put(recs);
	return SIG_OK;
}

enum sig_err
h_endpoint_list(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;
	struct op	 o;
	enum sig_err	 rc;

	memset(&o, 0, sizeof(o));
	o.c = c;
	o.kind = kind;
	if ((rc = ctx_page(c, &o.limit, o.after, sizeof(o.after))) != SIG_OK)
		return rc;
	if (o.after[0] != '\0' && !kind->valid_id(o.after))
		return ctx_fail(c, SIG_EINVAL, "starting_after: %s",
		    kind->id_message);
	if ((rc = run(&o, list_tx, 200)) == SIG_OK)
		c->has_more = o.more;
	return rc;
}

/* --- get and delete --- */

static enum sig_err
get_tx(struct store_txn *t, void *arg)
{
	struct op	*o = arg;
	enum sig_err	 rc;

	op_reset(o);
	if ((rc = load(t, o, 0)) != SIG_OK)
		return rc;
	o->out = endpoint_view(o->kind, o->rec);
	return SIG_OK;
}

static enum sig_err
delete_tx(struct store_txn *t, void *arg)
{
	struct op	*o = arg;
	enum sig_err	 rc;
	const char	*ikey;

	op_reset(o);
	if ((rc = load(t, o, 1)) != SIG_OK)
		return rc;
	if ((ikey = json_str(o->rec, "ikey")) != NULL &&
	    (rc = store_del(t, TBL_INDEX, ikey)) != SIG_OK &&
	    rc != SIG_ENOTFOUND)
		return rc;
	if ((rc = audit_endpoint(t, o, "deleted")) != SIG_OK)
		return rc;
	return store_del(t, o->kind->table, o->id);
}

enum sig_err
h_endpoint_get(struct ctx *c)
{
	return on_endpoint(c, get_tx, 200);
}

enum sig_err
h_endpoint_delete(struct ctx *c)
{
	return on_endpoint(c, delete_tx, 204);
}

/* --- signing keys --- */

static enum sig_err
key_create_tx(struct store_txn *t, void *arg)
{
	struct op	*o = arg;
	enum sig_err	 rc;

	op_reset(o);
	if ((rc = load(t, o, 1)) != SIG_OK ||
	    (rc = keyring_add(&o->c->app->mk, o->rec, &o->nk)) != SIG_OK ||
	    (rc = store_put(t, o->kind->table, o->id, o->rec)) != SIG_OK ||
	    (rc = ctx_audit(t, o->c, "signing_key.created", "signing_key",
	    o->nk.id)) != SIG_OK)
		return rc;
	o->out = keyring_new_key_json(&o->nk);
	return SIG_OK;
}

static enum sig_err
key_list_tx(struct store_txn *t, void *arg)
{
	struct op	*o = arg;
	enum sig_err	 rc;

	op_reset(o);
	if ((rc = load(t, o, 0)) != SIG_OK)
		return rc;
	o->out = keyring_list(o->rec);
	return SIG_OK;
}

static enum sig_err
key_delete_tx(struct store_txn *t, void *arg)
{
	struct op	*o = arg;
	enum sig_err	 rc;

	op_reset(o);
	if ((rc = load(t, o, 1)) != SIG_OK ||
	    (rc = keyring_remove(o->rec, o->key_id)) != SIG_OK ||
	    (rc = ctx_audit(t, o->c, "signing_key.deleted", "signing_key",
	    o->key_id)) != SIG_OK)
		return rc;
	return store_put(t, o->kind->table, o->id, o->rec);
}

enum sig_err
h_signing_key_create(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;
	static const char *const none[] = { NULL };
	struct op	 o;
	enum sig_err	 rc;

	if ((rc = path_id(c, &o, kind)) != SIG_OK ||
	    (rc = json_only_fields(c->body, none, c->msg)) != SIG_OK ||
	    (rc = keyring_new_key(&o.nk)) != SIG_OK)
		return rc;
	return run(&o, key_create_tx, 201);
}

enum sig_err
h_signing_key_list(struct ctx *c)
{
	return on_endpoint(c, key_list_tx, 200);
}

enum sig_err
h_signing_key_delete(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;
	struct op	 o;
	enum sig_err	 rc;

	if ((rc = path_id(c, &o, kind)) != SIG_OK)
		return rc;
	o.key_id = c->params[1];
	if (!valid_prefixed_hex(o.key_id, "sk_", 32))
		return ctx_fail(c, SIG_EINVAL, "signing key id must be sk_ "
		    "followed by 32 lowercase hex digits");
	return run(&o, key_delete_tx, 204);
}

/* --- sign and verify --- */

static enum sig_err
sign_tx(struct store_txn *t, void *arg)
{
	struct op	*o = arg;
	enum sig_err	 rc;
	char		*header, ts[WEBHOOK_TS_MAX];

	op_reset(o);
	if ((rc = load(t, o, 0)) != SIG_OK)
		return rc;
	if ((rc = keyring_sign(&o->c->app->mk, o->rec, o->msg_id,
	    o->timestamp, o->payload, o->plen, &header)) != SIG_OK)
		return rc;
	(void)webhook_timestamp_text(o->timestamp, ts);
	o->out = json_object_new_object();
	json_object_object_add(o->out, "webhook-id",
	    json_object_new_string(o->msg_id));
	json_object_object_add(o->out, "webhook-timestamp",
	    json_object_new_string(ts));
	json_object_object_add(o->out, "webhook-signature",
	    json_object_new_string(header));
	free(header);
	return SIG_OK;
}

enum sig_err
h_endpoint_sign(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;
	static const char *const fields[] = { "payload", "msg_id",
	    "timestamp", NULL };
	struct op	 o;
	char		 msg_id[IDS_MAX];
	size_t		 idlen;
	int		 present;
	enum sig_err	 rc;

	if ((rc = path_id(c, &o, kind)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "payload", 1, SIZE_MAX,
	    &o.payload, &o.plen, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "msg_id", 0, 255, &o.msg_id,
	    &idlen, c->msg)) != SIG_OK ||
	    (rc = json_int_field(c->body, "timestamp", 0, 0, MAX_TIMESTAMP,
	    &o.timestamp, &present, c->msg)) != SIG_OK)
		return rc;
	if (o.msg_id != NULL && !valid_msg_id(o.msg_id, idlen))
		return ctx_fail(c, SIG_EINVAL, "msg_id must be 1 to 255 "
		    "characters without control characters");
	if (o.msg_id == NULL) {
		if ((rc = ids_new("msg_", 16, msg_id, sizeof(msg_id))) != SIG_OK)
			return rc;
		o.msg_id = msg_id;
	}
	if (!present)
		o.timestamp = ids_now_us() / 1000000;
	return run(&o, sign_tx, 200);
}

static enum sig_err
verify_tx(struct store_txn *t, void *arg)
{
	struct op	*o = arg;
	enum sig_err	 rc;
	char		 key_id[IDS_MAX];
	int		 found;

	op_reset(o);
	if ((rc = load(t, o, 0)) != SIG_OK)
		return rc;
	found = keyring_verify(&o->c->app->mk, o->rec, o->msg_id, o->timestamp,
	    o->payload, o->plen, o->sigheader, key_id);
	if (found < 0)
		return SIG_EINTERNAL;
	o->out = json_object_new_object();
	json_object_object_add(o->out, "valid",
	    json_object_new_boolean(found));
	if (found)
		json_object_object_add(o->out, "key_id",
		    json_object_new_string(key_id));
	else
		json_object_object_add(o->out, "reason",
		    json_object_new_string("no signature matches a current "
		    "signing key"));
	return SIG_OK;
}

/*
 * The value of header name in the headers object, matched without regard
 * to case as HTTP header names are.  NULL when absent; SIG_EINVAL via *bad
 * when present but not a string.
 */
static const char *
header_value(json_object *headers, const char *name, int *bad)
{
	json_object_object_foreach(headers, key, val) {
		if (strcasecmp(key, name) != 0)
			continue;
		if (!json_object_is_type(val, json_type_string)) {
			*bad = 1;
			return NULL;
		}
		return json_object_get_string(val);
	}
	return NULL;
}

/* A verify answer decided before any key is looked at. */
static enum sig_err
verify_refuse(struct op *o, const char *reason)
{
	json_object	*out;
	enum sig_err	 rc;

	/* The endpoint must still exist and be the caller's. */
	if ((rc = run(o, get_tx, 200)) != SIG_OK)
		return rc;
	json_object_put(o->c->data);
	out = json_object_new_object();
	json_object_object_add(out, "valid", json_object_new_boolean(0));
	json_object_object_add(out, "reason", json_object_new_string(reason));
	o->c->data = out;
	return SIG_OK;
}

enum sig_err
h_endpoint_verify(struct ctx *c)
{
	const struct endpoint_kind *kind = c->route_arg;
	static const char *const fields[] = { "payload", "headers",
	    "tolerance", NULL };
	static const char *const names[] = { "webhook-id", "webhook-timestamp",
	    "webhook-signature" };
	struct op	 o;
	json_object	*headers;
	const char	*hv[3];
	int64_t		 tolerance = DEFAULT_TOLERANCE, now;
	int		 present, bad = 0, i;
	enum sig_err	 rc;
	char		 reason[96];

	if ((rc = path_id(c, &o, kind)) != SIG_OK ||
	    (rc = json_only_fields(c->body, fields, c->msg)) != SIG_OK ||
	    (rc = json_string_field(c->body, "payload", 1, SIZE_MAX,
	    &o.payload, &o.plen, c->msg)) != SIG_OK ||
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
		hv[i] = header_value(headers, names[i], &bad);
		if (bad)
			return ctx_fail(c, SIG_EINVAL, "headers.%s must be a "
			    "string", names[i]);
	}
	for (i = 0; i < 3; i++)
		if (hv[i] == NULL) {
			snprintf(reason, sizeof(reason), "missing header %s",
			    names[i]);
			return verify_refuse(&o, reason);
		}
	o.msg_id = hv[0];
	o.sigheader = hv[2];
	if (webhook_parse_timestamp(hv[1], &o.timestamp) != 0)
		return verify_refuse(&o, "webhook-timestamp is not a Unix time "
		    "in seconds");
	now = ids_now_us() / 1000000;
	if (o.timestamp < now - tolerance)
		return verify_refuse(&o, "timestamp is too old");
	if (o.timestamp > now + tolerance)
		return verify_refuse(&o, "timestamp is too far in the future");
	return run(&o, verify_tx, 200);
}

