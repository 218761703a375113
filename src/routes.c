/*
 * The route table (routes.h).  Order matters where a literal and a
 * parametric route could match the same path: literal routes come first
 * (router.h).  Flags: ROUTE_PUBLIC (no credentials), ROUTE_ADMIN (admin
 * role), ROUTE_OTP (admin and a TOTP code), ROUTE_SERVICE (ServiceToken
 * accepted), ROUTE_BODY (takes a JSON body), ROUTE_WRITE (may change the
 * store: only such routes may run a CTX_WRITE callback).
 */
#include "config.h"

#include <string.h>

#include "signet/handlers.h"
#include "signet/metrics.h"
#include "signet/routes.h"

#define W	ROUTE_WRITE

/* Both kinds of endpoint share their routes; the arg names the kind. */
#define ENDPOINT_ROUTES(base, kind) \
	{ "POST", base, h_endpoint_create, ROUTE_BODY | W, kind }, \
	{ "GET", base, h_endpoint_list, 0, kind }, \
	{ "GET", base "/{}", h_endpoint_get, 0, kind }, \
	{ "DELETE", base "/{}", h_endpoint_delete, W, kind }, \
	{ "POST", base "/{}/signing-keys", h_signing_key_create, \
	    ROUTE_BODY | W, kind }, \
	{ "GET", base "/{}/signing-keys", h_signing_key_list, 0, kind }, \
	{ "POST", base "/{}/signing-keys/rotate", h_signing_key_rotate, \
	    ROUTE_BODY | W, kind }, \
	{ "GET", base "/{}/signing-keys/{}", h_signing_key_get, 0, kind }, \
	{ "PATCH", base "/{}/signing-keys/{}", h_signing_key_update, \
	    ROUTE_BODY | W, kind }, \
	{ "DELETE", base "/{}/signing-keys/{}", h_signing_key_delete, W, \
	    kind }, \
	{ "GET", base "/{}/jwks.json", h_endpoint_jwks, ROUTE_PUBLIC, kind }, \
	{ "POST", base "/{}/sign", h_endpoint_sign, ROUTE_BODY, kind }, \
	{ "POST", base "/{}/verify", h_endpoint_verify, ROUTE_BODY, kind }

const struct route app_routes[] = {
	{ "GET", "/healthz", h_healthz, ROUTE_PUBLIC, NULL },
	{ "GET", "/metrics", h_metrics, ROUTE_PUBLIC, NULL },
	ENDPOINT_ROUTES("/v1/endpoints", &endpoint_outbound),
	ENDPOINT_ROUTES("/v1/inbound-endpoints", &endpoint_inbound),
	{ "GET", "/v1/audit-events", h_audit_list, ROUTE_ADMIN, NULL },
	{ "POST", "/v1/enterprises", h_enterprise_create,
	    ROUTE_ADMIN | ROUTE_BODY | W, NULL },
	{ "GET", "/v1/enterprises", h_enterprise_list, 0, NULL },
	{ "GET", "/v1/enterprises/{}", h_enterprise_get, 0, NULL },
	{ "POST", "/v1/enterprises/{}/webhook-signing-keys", h_ent_key_register,
	    ROUTE_OTP | ROUTE_BODY | W, NULL },
	{ "GET", "/v1/enterprises/{}/webhook-signing-keys", h_ent_key_list, 0,
	    NULL },
	{ "GET", "/v1/enterprises/{}/webhook-signing-keys/{}", h_ent_key_get, 0,
	    NULL },
	{ "DELETE", "/v1/enterprises/{}/webhook-signing-keys/{}",
	    h_ent_key_revoke, ROUTE_OTP | W, NULL },
	/* Writes: a stale JWKS-URI key is refreshed on the way. */
	{ "POST", "/v1/enterprises/{}/verify", h_ent_verify, ROUTE_BODY | W,
	    NULL },
	{ "POST", "/v1/workspaces", h_workspace_create,
	    ROUTE_ADMIN | ROUTE_BODY | ROUTE_SERVICE | W, NULL },
	{ "GET", "/v1/workspaces", h_workspace_list, ROUTE_SERVICE, NULL },
	{ "POST", "/v1/{}/ws_signing_key", h_wskey_create,
	    ROUTE_ADMIN | ROUTE_BODY | ROUTE_SERVICE | W, NULL },
	{ "GET", "/v1/{}/ws_signing_key", h_wskey_list, ROUTE_SERVICE, NULL },
	{ "GET", "/v1/{}/ws_signing_key/{}", h_wskey_get, ROUTE_SERVICE, NULL },
	{ "PATCH", "/v1/{}/ws_signing_key/{}", h_wskey_update,
	    ROUTE_ADMIN | ROUTE_BODY | ROUTE_SERVICE | W, NULL },
	{ "DELETE", "/v1/{}/ws_signing_key/{}", h_wskey_delete,
	    ROUTE_ADMIN | ROUTE_SERVICE | W, NULL },
	{ "POST", "/v1/{}/ws_signing_key/{}/roll", h_wskey_roll,
	    ROUTE_ADMIN | ROUTE_BODY | ROUTE_SERVICE | W, NULL },
	{ "GET", "/v1/{}/jwks.json", h_ws_jwks, ROUTE_PUBLIC, NULL },
	{ "POST", "/v1/{}/verify-token", h_ws_verify_token,
	    ROUTE_BODY | ROUTE_SERVICE, NULL },
};
const size_t app_nroutes = sizeof(app_routes) / sizeof(app_routes[0]);
_Static_assert(sizeof(app_routes) / sizeof(app_routes[0]) < METRICS_ROUTES,
    "the route table outgrew its metrics slots");

int
routes_name(int i, const char **method, const char **pattern)
{
	if (i == METRICS_ROUTES - 1) {
		*method = "any";
		*pattern = "unmatched";
		return 1;
	}
	if (i < 0 || (size_t)i >= app_nroutes)
		return 0;
	*method = app_routes[i].method;
	*pattern = app_routes[i].pattern;
	return 1;
}

int
routes_reserved(const char *segment)
{
	const char	*p;
	size_t		 i, n = strlen(segment);

	for (i = 0; i < app_nroutes; i++) {
		p = app_routes[i].pattern + 1;
		if (strncmp(p, "v1/", 3) == 0)
			p += 3;
		if (strncmp(p, segment, n) == 0 && (p[n] == '/' || p[n] == '\0'))
			return 1;
	}
	return 0;
}
