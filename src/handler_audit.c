/* GET /v1/audit-events: the account's audit trail, newest first, paged. */
#include "config.h"

#include <string.h>

#include "signet/audit.h"
#include "signet/handlers.h"
#include "signet/ids.h"
#include "signet/validate.h"

#define RESOURCE_ID_MAX	300

struct audit_query {
	const char	*resource_id;	/* NULL: every resource */
	const char	*after;		/* NULL: from the newest */
	int		 limit;
};

static enum sig_err
list_tx(struct ctx *c, struct store_txn *t, void *arg)
{
	const struct audit_query *q = arg;
	enum sig_err	 rc;
	int		 more;

	rc = audit_page(t, c->who.account, q->resource_id, q->after, q->limit,
	    &c->data, &more);
	if (rc == SIG_OK)
		c->has_more = more;
	return rc == SIG_EINVAL ? ctx_fail(c, SIG_EINVAL, "starting_after "
	    "does not name an event of this listing") : rc;
}

enum sig_err
h_audit_list(struct ctx *c)
{
	struct audit_query q;
	struct ctx_page	 pg;
	char		 resource[RESOURCE_ID_MAX + 1];
	int		 r;
	enum sig_err	 rc;

	memset(&q, 0, sizeof(q));
	if ((rc = ctx_page(c, &pg, IDS_MAX)) != SIG_OK)
		return rc;
	q.limit = pg.limit;
	if (pg.after[0] != '\0') {
		if (!valid_prefixed_hex(pg.after, "evt_", 24))
			return ctx_fail(c, SIG_EINVAL, "starting_after must be "
			    "an event id");
		q.after = pg.after;
	}
	r = http_query_get(c->query, "resource_id", resource, sizeof(resource));
	if (r < 0 || (r == 1 && resource[0] == '\0'))
		return ctx_fail(c, SIG_EINVAL, "resource_id must be a resource "
		    "id");
	if (r == 1)
		q.resource_id = resource;
	return ctx_run(c, list_tx, &q, CTX_VIEW);
}
