/* GET /healthz: a bare document, 200 when storage answers a read. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "signet/app.h"
#include "signet/handlers.h"
#include "signet/json.h"
#include "signet/metrics.h"

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

/* GET /metrics: request metrics of the whole pool and storage figures. */
enum sig_err
h_metrics(struct ctx *c)
{
	struct textbuf		 b = { NULL, 0, 0 };
	struct store_stats	 st;
	enum sig_err		 rc;

	rc = metrics_render(&b, app_route_name);
	if (rc == SIG_OK && store_stats(c->app->store, &st) == SIG_OK)
		rc = textbuf_printf(&b,
		    "# HELP signet_storage_cache_hit_ratio Share of page "
		    "requests the Berkeley DB cache answered.\n"
		    "# TYPE signet_storage_cache_hit_ratio gauge\n"
		    "signet_storage_cache_hit_ratio %.6f\n"
		    "# TYPE signet_storage_cache_hits_total counter\n"
		    "signet_storage_cache_hits_total %llu\n"
		    "# TYPE signet_storage_cache_misses_total counter\n"
		    "signet_storage_cache_misses_total %llu\n"
		    "# HELP signet_storage_log_bytes Size of the transaction log "
		    "files on disk.\n"
		    "# TYPE signet_storage_log_bytes gauge\n"
		    "signet_storage_log_bytes %llu\n"
		    "# TYPE signet_storage_log_files gauge\n"
		    "signet_storage_log_files %llu\n"
		    "# TYPE signet_storage_deadlocks_total counter\n"
		    "signet_storage_deadlocks_total %llu\n"
		    "# TYPE signet_storage_lock_timeouts_total counter\n"
		    "signet_storage_lock_timeouts_total %llu\n"
		    "# TYPE signet_storage_commits_total counter\n"
		    "signet_storage_commits_total %llu\n"
		    "# TYPE signet_storage_aborts_total counter\n"
		    "signet_storage_aborts_total %llu\n",
		    st.cache_hits + st.cache_misses == 0 ? 1.0 :
		    (double)st.cache_hits / (double)(st.cache_hits +
		    st.cache_misses), (unsigned long long)st.cache_hits,
		    (unsigned long long)st.cache_misses,
		    (unsigned long long)st.log_bytes,
		    (unsigned long long)st.log_files,
		    (unsigned long long)st.lock_deadlocks,
		    (unsigned long long)st.lock_timeouts,
		    (unsigned long long)st.txn_commits,
		    (unsigned long long)st.txn_aborts);
	if (rc != SIG_OK) {
		free(b.p);
		return SIG_EINTERNAL;
	}
	c->raw = b.p;
	c->raw_len = b.len;
	c->raw_type = "text/plain; version=0.0.4; charset=utf-8";
	return SIG_OK;
}
