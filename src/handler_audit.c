/* GET /v1/audit-events: the account's audit trail, newest first, paged. */
#include "config.h"

#include <string.h>

#include "signet/app.h"
#include "signet/audit.h"
#include "signet/handlers.h"
#include "signet/ids.h"
#include "signet/validate.h"

#define RESOURCE_ID_MAX	300

struct audit_args {
	struct ctx	*c;
	const char	*resource_id;
	const char	*after;
	int		 limit, more;
	json_object	*out;
};

static enum sig_err
list_tx(struct store_txn *t, void *arg)
{
	struct audit_args *a = arg;
	enum sig_err	 rc;

	json_object_put(a->out);
	a->out = NULL;
	rc = audit_page(t, a->c->who.account, a->resource_id, a->after,
	    a->limit, &a->out, &a->more);
	return rc == SIG_EINVAL ? ctx_fail(a->c, SIG_EINVAL, "starting_after "
	    "does not name an event of this listing") : rc;
}

enum sig_err
h_audit_list(struct ctx *c)
{
	struct audit_args a;
	char		 after[IDS_MAX], resource[RESOURCE_ID_MAX + 1];
	int		 r;
	enum sig_err	 rc;

	memset(&a, 0, sizeof(a));
	a.c = c;
	if ((rc = ctx_page(c, &a.limit, after, sizeof(after))) != SIG_OK)
		return rc;
	if (after[0] != '\0') {
		if (!valid_prefixed_hex(after, "evt_", 24))
			return ctx_fail(c, SIG_EINVAL, "starting_after must be "
			    "an event id");
		a.after = after;
	}
	r = http_query_get(c->query, "resource_id", resource, sizeof(resource));
	if (r < 0 || (r == 1 && resource[0] == '\0'))
		return ctx_fail(c, SIG_EINVAL, "resource_id must be a resource "
		    "id");
	if (r == 1)
		a.resource_id = resource;
	rc = store_run(c->app->store, list_tx, &a);
	if (rc == SIG_OK) {
		c->data = a.out;
		c->has_more = a.more;
		a.out = NULL;
	}
	json_object_put(a.out);
	return rc;
}
