/*
 * What every handler does with its request (ctx.h): errors with messages,
 * store callbacks run as declared, listings paged, changes audited, and a
 * private key handed out once.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/app.h"
#include "signet/audit.h"
#include "signet/b64.h"
#include "signet/crypto.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/ctx.h"
#include "signet/log.h"
#include "signet/validate.h"

#define PAGE_DEFAULT	20
#define PAGE_MAX	100
#define JWKS_MAX_AGE	"max-age=300"

struct call {
	struct ctx	*c;
	ctx_fn		 fn;
	void		*arg;
};

static enum sig_err	call(struct store_txn *, void *);

enum sig_err
ctx_fail(struct ctx *c, enum sig_err e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return e;
}

enum sig_err
ctx_notfound(struct ctx *c, enum sig_err rc, const char *what)
{
	return rc == SIG_ENOTFOUND ? ctx_fail(c, rc, "%s", what) : rc;
}

enum sig_err
ctx_params(struct ctx *c, const struct ctx_param *p, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (!p[i].valid(c->params[i]))
			return ctx_fail(c, SIG_EINVAL, "%s", p[i].message);
	return SIG_OK;
}

enum sig_err
ctx_owned(struct ctx *c, struct store_txn *t, enum store_table table,
    const char *key, const char *member, const char *owner,
    enum records_read how, const char *notfound, json_object **rec)
{
	json_object	*r = NULL;
	enum sig_err	 rc;

	rc = records_owned(t, table, key, member, owner, how, &r);
	if (rc == SIG_OK && rec != NULL)
		*rec = r;
	else
		json_object_put(r);
	return ctx_notfound(c, rc, notfound);
}

/* One run of a callback: it starts from an empty answer every time. */
static enum sig_err
call(struct store_txn *t, void *arg)
{
	struct call	*k = arg;

	json_object_put(k->c->data);
	k->c->data = NULL;
	k->c->has_more = -1;
	return k->fn(k->c, t, k->arg);
}

enum sig_err
ctx_run(struct ctx *c, ctx_fn fn, void *arg, enum ctx_access access)
{
	struct call	 k = { c, fn, arg };
	struct store	*s = c->app->store;
	enum sig_err	 rc;

	switch (access) {
	case CTX_READ:
		rc = store_read(s, call, &k);
		break;
	case CTX_VIEW:
		rc = store_view(s, call, &k);
		break;
	default:
		if (c->route == NULL || !(c->route->flags & ROUTE_WRITE)) {
			log_msg(LOG_ERR, "a write was asked for in route %s %s, "
			    "declared read-only", c->req->method,
			    c->route ? c->route->pattern : "(none)");
			return SIG_EINTERNAL;
		}
		rc = store_run(s, call, &k);
		break;
	}
	if (rc != SIG_OK) {
		json_object_put(c->data);
		c->data = NULL;
		c->has_more = -1;
	}
	return rc;
}

enum sig_err
ctx_page(struct ctx *c, struct ctx_page *p, size_t aftersz)
{
	char	 buf[16];
	int64_t	 n;
	int	 r;

	p->limit = PAGE_DEFAULT;
	p->after[0] = '\0';
	r = http_query_get(c->query, "limit", buf, sizeof(buf));
	if (r == 1 && parse_decimal(buf, strlen(buf), 1, PAGE_MAX, &n) == 0)
		p->limit = (int)n;
	else if (r != 0)
		return ctx_fail(c, SIG_EINVAL, "limit must be an integer from "
		    "1 to %d", PAGE_MAX);
	if (aftersz > sizeof(p->after))
		aftersz = sizeof(p->after);
	r = http_query_get(c->query, "starting_after", p->after, aftersz);
	if (r < 0 || (r == 1 && p->after[0] == '\0'))
		return ctx_fail(c, SIG_EINVAL, "starting_after must be an id");
	return SIG_OK;
}

enum sig_err
ctx_list(struct ctx *c, struct store_txn *t, const struct ctx_listing *l)
{
	json_object	*recs;
	char		 prefix[RECORDS_KEY_MAX], after[RECORDS_KEY_MAX];
	json_object	*out;
	enum sig_err	 rc;
	size_t		 i;
	int		 more;

	if (l->parent != NULL && (rc = l->parent(c, t)) != SIG_OK)
		return rc;
	if (records_prefix(l->list, l->owner, prefix) != 0)
		return SIG_EINTERNAL;
	if (l->page->after[0] != '\0') {
		rc = records_position(t, l->list, l->owner, l->page->after,
		    after);
		if (rc == SIG_ENOTFOUND)
			return ctx_fail(c, SIG_EINVAL, "%s", l->unknown);
		if (rc != SIG_OK)
			return rc;
	}
	if ((rc = store_page(t, records_table(l->list), prefix,
	    l->page->after[0] != '\0' ? after : NULL, (size_t)l->page->limit,
	    &recs, &more)) != SIG_OK)
		return rc;
	out = json_object_new_array();
	for (i = 0; i < json_object_array_length(recs); i++)
		json_object_array_add(out, l->view(c,
		    json_object_array_get_idx(recs, i)));
	json_object_put(recs);
	c->data = out;
	c->has_more = more;
	return SIG_OK;
}

enum sig_err
ctx_list_fn(struct ctx *c, struct store_txn *t, void *l)
{
	return ctx_list(c, t, l);
}

enum sig_err
ctx_get_fn(struct ctx *c, struct store_txn *t, void *getter)
{
	const struct ctx_getter *g = getter;
	json_object	*rec;
	enum sig_err	 rc;

	if ((rc = g->load(c, t, g->how, &rec)) != SIG_OK)
		return rc;
	c->data = g->view(c, rec);
	json_object_put(rec);
	return SIG_OK;
}

enum sig_err
ctx_get(struct ctx *c, const struct ctx_param *p, int n,
    const struct ctx_getter *g, enum ctx_access access)
{
	enum sig_err	 rc;

	if ((rc = ctx_params(c, p, n)) != SIG_OK)
		return rc;
	return ctx_run(c, ctx_get_fn, (void *)g, access);
}

enum sig_err
ctx_jwks(struct ctx *c)
{
	json_object	*doc = json_object_new_object();
	unsigned char	 h[CRYPTO_SHA256_LEN];
	char		 hex[2 * CRYPTO_SHA256_LEN + 1];
	char		 etag[2 * CRYPTO_SHA256_LEN + 4];

	json_object_object_add(doc, "keys", c->data);
	c->data = NULL;
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
	http_add_header(c->res, "Cache-Control", JWKS_MAX_AGE);
	if (c->req->if_none_match != NULL &&
	    http_etag_matches(c->req->if_none_match, etag)) {
		free(c->raw);
		c->raw = NULL;
		c->raw_len = 0;
		c->status = 304;
	}
	return SIG_OK;
}

json_object *
ctx_actor(struct ctx *c)
{
	json_object	*a = json_object_new_object();

	json_object_object_add(a, "id", json_object_new_string(c->who.apikey));
	json_object_object_add(a, "name", json_object_new_string(c->who.name));
	return a;
}

enum sig_err
ctx_audit(struct store_txn *t, struct ctx *c, const char *action,
    const char *resource_type, const char *resource_id)
{
	struct audit_event e;

	e.account = c->who.account;
	e.actor_id = c->who.apikey;
	e.actor_name = c->who.name;
	e.action = action;
	e.resource_type = resource_type;
	e.resource_id = resource_id;
	e.request_id = c->res->request_id;
	return audit_record(t, &e);
}

enum sig_err
ctx_private_key(struct ctx *c, const char *pem, size_t len)
{
	static const char head[] = "\"private_key_pem\":\"";
	static const char mid[] = "\",\"private_key_base64\":\"";
	char	*p;
	size_t	 i, cap;

	/* PEM is ASCII; only its newlines need escaping in JSON. */
	cap = sizeof(head) + 2 * len + sizeof(mid) + b64_encoded_len(len) + 2;
	if ((p = c->secret = malloc(cap)) == NULL)
		return SIG_EINTERNAL;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (i = 0; i < len; i++) {
		if (pem[i] == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if ((unsigned char)pem[i] >= 0x20 && pem[i] != '"' &&
		    pem[i] != '\\')
			*p++ = pem[i];
	}
	memcpy(p, mid, sizeof(mid) - 1);
	p += sizeof(mid) - 1;
	p += b64_encode((const unsigned char *)pem, len, p);
	*p++ = '"';
	c->secret_len = (size_t)(p - c->secret);
	c->secret_cap = cap;
	c->res->sensitive = 1;
	return SIG_OK;
}
