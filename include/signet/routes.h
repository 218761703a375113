/*
 * The application's route table: every route with who may call it, what
 * it takes, whether it writes, and its handler.  Lists that depend on the
 * routes (the reserved workspace slugs, the metrics slots, the OpenAPI
 * coverage test) are derived from it.
 */
#ifndef SIGNET_ROUTES_H
#define SIGNET_ROUTES_H

#include <stddef.h>

#include "signet/router.h"

extern const struct route	app_routes[];
extern const size_t		app_nroutes;

/*
 * Method and pattern of metrics slot i: a route of the table, or the last
 * slot (METRICS_ROUTES - 1), "any" "unmatched".  Returns 0 for an unused
 * slot.
 */
int	routes_name(int i, const char **method, const char **pattern);

/*
 * Whether segment (a workspace slug, say) is the literal first segment of
 * a route, after "/v1/" or at the top ("/healthz"): such a name would be
 * shadowed by that route, so it cannot name a workspace.
 */
int	routes_reserved(const char *segment);

#endif
