/* GET /healthz: a bare document, 200 when storage answers a read. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/app.h"
#include "signet/handlers.h"
#include "signet/routes.h"
#include "signet/json.h"
#include "signet/metrics.h"
#include "signet/sbuf.h"

/*
 * A replicated site also says where it stands: its role, the master it
 * follows, and its log position (comparing a replica's lsn with the
 * master's gives the replication lag in log bytes).
 */
static json_object *
replication_doc(const struct store_role *r)
{
	json_object	*o = json_object_new_object();
	char		 lsn[32];

	snprintf(lsn, sizeof(lsn), "%u/%u", (unsigned)r->lsn_file,
	    (unsigned)r->lsn_offset);
	json_object_object_add(o, "role",
	    json_object_new_string(r->master ? "master" : "replica"));
	json_object_object_add(o, "master", r->master_site[0] != '\0' ?
	    json_object_new_string(r->master_site) : NULL);
	json_object_object_add(o, "joined", json_object_new_boolean(r->joined));
	json_object_object_add(o, "caught_up",
	    json_object_new_boolean(r->startup_complete));
	json_object_object_add(o, "sites", json_object_new_int64(r->sites));
	json_object_object_add(o, "lsn", json_object_new_string(lsn));
	json_object_object_add(o, "log_records_queued",
	    json_object_new_int64((int64_t)r->log_records_queued));
	return o;
}

enum sig_err
h_healthz(struct ctx *c)
{
	enum sig_err	 rc = store_ping(c->app->store);
	json_object	*doc = json_object_new_object();
	struct store_role r;

	json_object_object_add(doc, "status",
	    json_object_new_string(rc == SIG_OK ? "ok" : "unavailable"));
	if (store_role(c->app->store, &r) == SIG_OK && r.replicated) {
		json_object_object_add(doc, "role", json_object_new_string(
		    r.master ? "master" : "replica"));
		json_object_object_add(doc, "replication", replication_doc(&r));
	}
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
	struct store_role	 r;
	enum sig_err		 rc;

	rc = metrics_render(&b, routes_name);
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
		    "signet_storage_aborts_total %llu\n"
		    "# HELP signet_storage_free_bytes Free space of SIGNET_HOME's "
		    "file system (for the service's user); alert well before 0.\n"
		    "# TYPE signet_storage_free_bytes gauge\n"
		    "signet_storage_free_bytes %llu\n",
		    st.cache_hits + st.cache_misses == 0 ? 1.0 :
		    (double)st.cache_hits / (double)(st.cache_hits +
		    st.cache_misses), (unsigned long long)st.cache_hits,
		    (unsigned long long)st.cache_misses,
		    (unsigned long long)st.log_bytes,
		    (unsigned long long)st.log_files,
		    (unsigned long long)st.lock_deadlocks,
		    (unsigned long long)st.lock_timeouts,
		    (unsigned long long)st.txn_commits,
		    (unsigned long long)st.txn_aborts,
		    (unsigned long long)st.free_bytes);
	if (rc == SIG_OK && store_role(c->app->store, &r) == SIG_OK &&
	    r.replicated)
		rc = textbuf_printf(&b,
		    "# HELP signet_replication_master 1 when this site is the "
		    "replication master, 0 on a replica.\n"
		    "# TYPE signet_replication_master gauge\n"
		    "signet_replication_master %d\n"
		    "# HELP signet_replication_caught_up 1 once a replica has "
		    "synchronised with the master.\n"
		    "# TYPE signet_replication_caught_up gauge\n"
		    "signet_replication_caught_up %d\n"
		    "# HELP signet_replication_lsn_file Log position applied "
		    "at this site (file); compare with the master's for lag.\n"
		    "# TYPE signet_replication_lsn_file gauge\n"
		    "signet_replication_lsn_file %u\n"
		    "# TYPE signet_replication_lsn_offset gauge\n"
		    "signet_replication_lsn_offset %u\n"
		    "# TYPE signet_replication_log_records_queued gauge\n"
		    "signet_replication_log_records_queued %llu\n"
		    "# TYPE signet_replication_master_changes_total counter\n"
		    "signet_replication_master_changes_total %llu\n"
		    "# TYPE signet_replication_elections_total counter\n"
		    "signet_replication_elections_total %llu\n",
		    r.master, r.startup_complete, (unsigned)r.lsn_file,
		    (unsigned)r.lsn_offset,
		    (unsigned long long)r.log_records_queued,
		    (unsigned long long)r.master_changes,
		    (unsigned long long)r.elections);
	if (rc != SIG_OK) {
		free(b.p);
		return SIG_EINTERNAL;
	}
	c->raw = b.p;
	c->raw_len = b.len;
	c->raw_type = "text/plain; version=0.0.4; charset=utf-8";
	return SIG_OK;
}
