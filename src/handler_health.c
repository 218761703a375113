/* GET /healthz: a bare document, 200 when storage answers a read. */
#include "config.h"

#include <string.h>

#include "signet/app.h"
#include "signet/handlers.h"
#include "signet/json.h"

enum sig_err
h_healthz(struct ctx *c)
{
	enum sig_err	 rc = store_ping(c->app->store);
	json_object	*doc = json_object_new_object();

	json_object_object_add(doc, "status",
	    json_object_new_string(rc == SIG_OK ? "ok" : "unavailable"));
	c->raw = json_dump(doc);
	json_object_put(doc);
	if (c->raw == NULL)
		return SIG_EINTERNAL;
	c->raw_len = strlen(c->raw);
	c->status = rc == SIG_OK ? 200 : 503;
	return SIG_OK;
}
