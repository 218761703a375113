/*
 * The route table matcher.  A pattern is a path whose segments are literal
 * or "{}" (one non-empty segment, captured in order).  Literal routes are
 * listed before parametric ones where both could match.
 */
#ifndef SIGNET_ROUTER_H
#define SIGNET_ROUTER_H

#include <stddef.h>

#include "signet/err.h"

#define ROUTER_MAX_PARAMS	4
#define ROUTER_MAX_SEGMENTS	12

struct ctx;
typedef enum sig_err (*handler_fn)(struct ctx *);

/* Route flags: who may call it and what it takes. */
#define ROUTE_PUBLIC	0x01	/* no authentication */
#define ROUTE_ADMIN	0x02	/* admin role required (403 FORBIDDEN) */
#define ROUTE_BODY	0x04	/* takes a JSON body */
#define ROUTE_OTP	0x08	/* admin plus a valid X-OTP header */
#define ROUTE_SERVICE	0x10	/* also accepts "ServiceToken" credentials */
#define ROUTE_WRITE	0x20	/* may change the store (ctx_run CTX_WRITE) */

struct route {
	const char	*method;
	const char	*pattern;
	handler_fn	 handler;
	unsigned	 flags;
	const void	*arg;		/* handed to the handler as ctx->route_arg */
};

struct route_match {
	const struct route *route;
	char		*params[ROUTER_MAX_PARAMS];	/* point into path */
	int		 nparams;
	char		 allow[64];	/* methods of the path, for 405 */
};

/*
 * Match method and path against n routes.  path is modified (split at '/')
 * and m->params point into it.  Returns SIG_OK; SIG_ENOTFOUND for no route;
 * SIG_EMETHOD when the path is known but not with that method (m->allow
 * lists the methods, comma-separated).
 */
enum sig_err	router_match(const struct route *routes, size_t n,
		    const char *method, char *path, struct route_match *m);

#endif
