/*
 * One request as a handler sees it, and what every handler does with it:
 * fail with a message, run a callback against the store, page a listing,
 * audit a change, hand out a private key once.  app.c fills the request
 * part (route, caller, body) and turns the result part into the response.
 */
#ifndef SIGNET_CTX_H
#define SIGNET_CTX_H

#include <json-c/json.h>

#include "signet/auth.h"
#include "signet/err.h"
#include "signet/http.h"
#include "signet/records.h"
#include "signet/router.h"
#include "signet/store.h"

struct app;

struct ctx {
	struct app			*app;
	const struct http_request	*req;
	struct http_response		*res;
	const struct route		*route;		/* the matched route */
	char				**params;	/* path captures */
	const void			*route_arg;	/* the route's arg */
	const char			*query;		/* may be NULL */
	json_object			*body;		/* {} when none */
	struct principal		 who;

	/* Results. */
	int				 status;	/* 200 unless set */
	json_object			*data;		/* envelope data, owned */
	int				 has_more;	/* -1: not a page */
	char				*raw;		/* bare body instead, owned */
	const char			*raw_type;	/* its type; NULL: JSON */
	size_t				 raw_len;
	char				*secret;	/* members spliced into data, wiped */
	size_t				 secret_len, secret_cap;
	char				 msg[SIG_MSG_MAX];	/* error text */
};

/* Set an error message naming the field (printf-style); returns e. */
enum sig_err	ctx_fail(struct ctx *, enum sig_err e, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/* rc, or for SIG_ENOTFOUND that error with the message what. */
enum sig_err	ctx_notfound(struct ctx *, enum sig_err rc, const char *what);

/* The shape of a path capture, and the message when it does not fit. */
struct ctx_param {
	int		(*valid)(const char *);
	const char	*message;
};

/*
 * Check the first n path captures against p[0..n): SIG_EINVAL with the
 * message of the first that does not fit.
 */
enum sig_err	ctx_params(struct ctx *, const struct ctx_param *p, int n);

/*
 * The record at key of table whose member `member` is owner (records_owned)
 * into *rec (NULL: only check that it is there).  Absent or another owner's:
 * SIG_ENOTFOUND with the message notfound.
 */
enum sig_err	ctx_owned(struct ctx *, struct store_txn *t,
		    enum store_table table, const char *key, const char *member,
		    const char *owner, enum records_read how, const char *notfound,
		    json_object **rec);

/*
 * What a callback does with the store, declared by the caller: ctx_run
 * picks the store call from it, never from which callback it is.
 */
enum ctx_access {
	CTX_READ,	/* reads one record: no transaction (store_read) */
	CTX_VIEW,	/* reads several records as one snapshot (store_view) */
	CTX_WRITE,	/* writes: one durable transaction (store_run) */
};

/*
 * A store callback of a request.  It leaves its answer in c->data (and
 * c->has_more), which ctx_run clears before every run, a deadlock's rerun
 * included, and on failure: a callback keeps no other state across runs
 * except what it resets itself in arg.
 */
typedef enum sig_err (*ctx_fn)(struct ctx *c, struct store_txn *t, void *arg);

/*
 * Run fn(c, t, arg) as access says.  CTX_WRITE on a route whose table entry
 * does not say ROUTE_WRITE is a programming error: SIG_EINTERNAL, logged,
 * nothing run.  Returns fn's answer, or the store's (SIG_EUNAVAIL, ...).
 */
enum sig_err	ctx_run(struct ctx *, ctx_fn fn, void *arg, enum ctx_access);

/* The longest id starting_after takes (a JWK keyId: 255 bytes), NUL too. */
#define CTX_AFTER_MAX	256

/* The paging parameters of a listing's query string. */
struct ctx_page {
	int	 limit;			/* 1..100, default 20 */
	char	 after[CTX_AFTER_MAX];	/* starting_after; "" when absent */
};

/*
 * Read limit and starting_after of the query string into p; an id of
 * aftersz bytes or more (at most CTX_AFTER_MAX) is malformed.  SIG_EINVAL
 * (with the message) when malformed.
 */
enum sig_err	ctx_page(struct ctx *, struct ctx_page *p, size_t aftersz);

/* One page of a listing, as ctx_list makes it. */
struct ctx_listing {
	/* Checked first, when not NULL: the parent the listing is under. */
	enum sig_err	(*parent)(struct ctx *, struct store_txn *);
	enum records_list list;
	const char	*owner;
	const struct ctx_page *page;	/* limit; after: an id in the list */
	const char	*unknown;	/* message when after is not in the list */
	json_object	*(*view)(struct ctx *, json_object *rec);
};

/*
 * Inside t, answer one page of l (after its parent check): c->data receives
 * the views of the records, c->has_more whether more follow.  SIG_EINVAL
 * with l->unknown when l->page->after names no record of the listing.
 */
enum sig_err	ctx_list(struct ctx *, struct store_txn *t,
		    const struct ctx_listing *l);

/* ctx_list as a ctx_fn, arg being the listing: for ctx_run. */
enum sig_err	ctx_list_fn(struct ctx *, struct store_txn *t, void *l);

/* How a request finds its one record and shows it. */
struct ctx_getter {
	/* The record of the request, read as how says, into *rec. */
	enum sig_err	(*load)(struct ctx *, struct store_txn *,
			    enum records_read how, json_object **rec);
	enum records_read how;
	json_object	*(*view)(struct ctx *, json_object *rec);
};

/* A ctx_fn answering view(load()), arg being a struct ctx_getter. */
enum sig_err	ctx_get_fn(struct ctx *, struct store_txn *t, void *getter);

/*
 * A request for one record: check the first n path captures against p,
 * then answer g's view of it, read as access says.
 */
enum sig_err	ctx_get(struct ctx *, const struct ctx_param *p, int n,
		    const struct ctx_getter *g, enum ctx_access access);

/*
 * Answer the keys array in c->data (consumed) as a bare JWK Set
 * {"keys": [...]}, with Cache-Control: max-age=300 and a strong ETag (the
 * hash of the bytes served); 304 without a body when If-None-Match names it.
 */
enum sig_err	ctx_jwks(struct ctx *);

/*
 * Add private_key_pem and private_key_base64 (of pem[0..len)) to this
 * response's data object.  They are held apart from json-c, spliced into the
 * response body, and every copy is wiped once the body is written.
 */
enum sig_err	ctx_private_key(struct ctx *, const char *pem, size_t len);

/* The caller as an object {"id": api key id, "name": its name}. */
json_object	*ctx_actor(struct ctx *);

/*
 * Record a change made by this request in the audit trail, inside the
 * request's transaction t: actor, request id and time come from c.
 */
enum sig_err	ctx_audit(struct store_txn *t, struct ctx *c, const char *action,
		    const char *resource_type, const char *resource_id);

#endif
