/*
 * What a handler sees and fills in.  app.c authenticates, parses the body
 * and picks the handler; the handler validates its path ids and fields,
 * talks to the store, and leaves either a result or an error message here.
 */
#ifndef SIGNET_HANDLERS_H
#define SIGNET_HANDLERS_H

#include <json-c/json.h>

#include "signet/auth.h"
#include "signet/err.h"
#include "signet/http.h"
#include "signet/router.h"
#include "signet/store.h"

struct app;

struct ctx {
	struct app			*app;
	const struct http_request	*req;
	struct http_response		*res;
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

/*
 * Read the paging parameters limit (1..100, default 20) and starting_after
 * of the query string.  after receives "" when absent.  SIG_EINVAL when
 * malformed.
 */
enum sig_err	ctx_page(struct ctx *, int *limit, char *after, size_t aftersz);

/*
 * Add private_key_pem and private_key_base64 (of pem[0..len)) to this
 * response's data object.  They are held apart from json-c, spliced into the
 * response body, and every copy is wiped once the body is written.
 */
enum sig_err	ctx_private_key(struct ctx *, const char *pem, size_t len);

/* The caller as an object {"id": api key id, "name": its name}. */
json_object	*ctx_actor(struct ctx *);

/*
 * One page of a listing as views: the records named by the index entries
 * under prefix after `after`, each turned into view(record).  *out receives
 * the array; *more whether more follow.
 */
enum sig_err	ctx_list(struct store_txn *t, enum store_table table,
		    const char *prefix, const char *after, int limit,
		    json_object *(*view)(json_object *), json_object **out,
		    int *more);

/*
 * Record a change made by this request in the audit trail, inside the
 * request's transaction t: actor, request id and time come from c.
 */
struct store_txn;
enum sig_err	ctx_audit(struct store_txn *t, struct ctx *c, const char *action,
		    const char *resource_type, const char *resource_id);

/* The route table, defined in app.c from the handler lists below. */
extern const struct route	app_routes[];
extern const size_t		app_nroutes;

/* handler_health.c */
enum sig_err	h_healthz(struct ctx *);
enum sig_err	h_metrics(struct ctx *);

/* Method and pattern of route table slot i; 0 when there is none. */
int	app_route_name(int i, const char **method, const char **pattern);

/*
 * handler_endpoints.c: endpoints and their signing keys, for both kinds;
 * the route's arg names the kind.
 */
struct endpoint_kind;
extern const struct endpoint_kind endpoint_outbound, endpoint_inbound;

enum sig_err	h_endpoint_create(struct ctx *);
enum sig_err	h_endpoint_list(struct ctx *);
enum sig_err	h_endpoint_get(struct ctx *);
enum sig_err	h_endpoint_delete(struct ctx *);
enum sig_err	h_signing_key_create(struct ctx *);
enum sig_err	h_signing_key_list(struct ctx *);
enum sig_err	h_signing_key_delete(struct ctx *);
enum sig_err	h_endpoint_sign(struct ctx *);
enum sig_err	h_endpoint_verify(struct ctx *);

/* handler_audit.c: GET /v1/audit-events. */
enum sig_err	h_audit_list(struct ctx *);

/* handler_enterprises.c: enterprises and their registered public keys. */
enum sig_err	h_enterprise_create(struct ctx *);
enum sig_err	h_enterprise_list(struct ctx *);
enum sig_err	h_enterprise_get(struct ctx *);
enum sig_err	h_ent_key_register(struct ctx *);
enum sig_err	h_ent_key_list(struct ctx *);
enum sig_err	h_ent_key_get(struct ctx *);
enum sig_err	h_ent_key_revoke(struct ctx *);
enum sig_err	h_ent_verify(struct ctx *);

/* handler_workspaces.c: workspaces and their key pairs. */
enum sig_err	h_workspace_create(struct ctx *);
enum sig_err	h_workspace_list(struct ctx *);
enum sig_err	h_wskey_create(struct ctx *);
enum sig_err	h_wskey_list(struct ctx *);
enum sig_err	h_wskey_get(struct ctx *);
enum sig_err	h_wskey_update(struct ctx *);
enum sig_err	h_wskey_roll(struct ctx *);
enum sig_err	h_wskey_delete(struct ctx *);
enum sig_err	h_ws_jwks(struct ctx *);
enum sig_err	h_ws_verify_token(struct ctx *);

#endif
