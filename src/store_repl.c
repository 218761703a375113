/*
 * The store as a site of a Berkeley DB replication group (repmgr,
 * docs/replication.md): the group's settings, joining it, the role this
 * site has in it, and what a subordinate process of the site must redo
 * when the group changes.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include <db.h>

#include "signet/config.h"
#include "signet/log.h"
#include "signet/sockopt.h"
#include "signet/store.h"
#include "signet/watchdog.h"
#include "store_impl.h"

#define REP_THREADS		3	/* repmgr message threads per process */

static int	 rep_configure(DB_ENV *, const struct store_repl *);
static u_int32_t group_size(struct store *);
static int	 group_changed(struct store *);
static void	 await_connections(struct store *);

/*
 * Configure this process's view of the replication group before the
 * environment opens: the local site, the other sites as helpers to join
 * through, priority, acknowledgements and timeouts short enough that a
 * failover takes seconds.
 */
static int
rep_configure(DB_ENV *env, const struct store_repl *r)
{
	DB_SITE		*site;
	size_t		 i;
	int		 rc;

	if ((rc = env->repmgr_site(env, r->site->host, r->site->port, &site,
	    0)) != 0)
		return rc;
	if ((rc = site->set_config(site, DB_LOCAL_SITE, 1)) != 0 ||
	    (r->group_creator &&
	    (rc = site->set_config(site, DB_GROUP_CREATOR, 1)) != 0)) {
		site->close(site);
		return rc;
	}
	if ((rc = site->close(site)) != 0)
		return rc;
	for (i = 0; i < r->npeers; i++) {
		if ((rc = env->repmgr_site(env, r->peers[i].host,
		    r->peers[i].port, &site, 0)) != 0)
			return rc;
		rc = site->set_config(site, DB_BOOTSTRAP_HELPER, 1);
		(void)site->close(site);
		if (rc != 0)
			return rc;
	}
	if ((rc = env->rep_set_priority(env, (u_int32_t)r->priority)) != 0 ||
	    (rc = env->repmgr_set_ack_policy(env, r->ack_policy)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_ACK_TIMEOUT,
	    (db_timeout_t)r->ack_timeout_ms * 1000)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_HEARTBEAT_SEND,
	    500000)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_HEARTBEAT_MONITOR,
	    2000000)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_CONNECTION_RETRY,
	    1000000)) != 0 ||
	    /*
	     * An election among the sites left takes milliseconds; one that
	     * fails (a vote that came too late) costs its timeout and the
	     * retry before the next.
	     */
	    (rc = env->rep_set_timeout(env, DB_REP_ELECTION_RETRY,
	    250000)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_ELECTION_TIMEOUT,
	    500000)) != 0 ||
	    /*
	     * By default a master's checkpoint waits 30 s before writing its
	     * record, for the replicas' own checkpoints; every commit behind
	     * it waited too (a worker stalled past its watchdog).
	     */
	    (rc = env->rep_set_timeout(env, DB_REP_CHECKPOINT_DELAY, 0)) != 0 ||
	    /*
	     * A transaction's log records in one message at its commit: sent
	     * one by one, the commit record waited behind Nagle's algorithm
	     * for the replica's delayed TCP ACK, 40 ms a write.
	     */
	    (rc = env->rep_set_config(env, DB_REP_CONF_BULK, 1)) != 0 ||
	    /*
	     * While a site changes role or syncs with a new master, Berkeley
	     * DB locks the environment out; a call that meets the lockout
	     * sleeps 1 or 5 s at a time unless told to return DB_REP_LOCKOUT,
	     * after which the store retries every few milliseconds.
	     */
	    (rc = env->rep_set_config(env, DB_REP_CONF_NOWAIT, 1)) != 0)
		return rc;
	return 0;
}

/*
 * The number of sites in the group, this one included, as the shared
 * region lists them (rep_stat's st_nsites is not kept up to date by
 * repmgr); 0 when unknown.
 */
static u_int32_t
group_size(struct store *s)
{
	DB_REPMGR_SITE	*list;
	u_int		 n;

	if (s->env->repmgr_site_list(s->env, &n, &list) != 0)
		return 0;
	free(list);
	return (u_int32_t)n + 1;
}

void
store_repl_from_config(const struct config *cfg, struct store_repl *r)
{
	r->site = &cfg->replication_site_addr;
	r->peers = cfg->replication_peer_addrs.site;
	r->npeers = cfg->replication_peer_addrs.n;
	r->group_creator = cfg->replication_group_creator;
	r->priority = cfg->replication_priority;
	r->ack_policy = cfg->replication_acks;
	r->ack_timeout_ms = cfg->replication_ack_timeout_ms;
	r->verbose = cfg->replication_verbose;
}

int
store_repl_configure(struct store *s)
{
	int	 rc;

	if ((rc = rep_configure(s->env, &s->repl)) != 0)
		return rc;
	if (s->repl.verbose)
		s->env->set_verbose(s->env, DB_VERB_REPMGR_MISC, 1);
	return 0;
}

/*
 * Start replication in this process: the first process of the site to do it
 * becomes the replication process (listener, elections), the others are
 * subordinate.  Joining the group needs the master; until then this is
 * retried, at most once per REP_RETRY_S.  repmgr's threads must not take
 * the process's signals (SIGTERM stops a worker's accept, SIGALRM is the
 * watchdog), so they start with every signal blocked.
 */
void
store_repl_start(struct store *s)
{
	sigset_t	 all, old;
	int		 rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = s->env->repmgr_start(s->env, REP_THREADS, DB_REP_ELECTION);
	sockopt_nodelay_start();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0 || rc == DB_REP_IGNORE) {
		s->rep_started = 1;
		s->connected = 0;
		s->subordinate = rc == DB_REP_IGNORE;
		s->nsites = group_size(s);
		log_msg(LOG_INFO, "replication: started (%s process, %u "
		    "sites)", s->subordinate ? "subordinate" : "replication",
		    (unsigned)s->nsites);
	} else
		log_msg(LOG_WARN, "replication: cannot join the group yet: "
		    "%s", db_strerror(rc));
}

int
store_repl_is_master(struct store *s)
{
	DB_REP_STAT	*st;
	int		 master;

	if (!s->replicated)
		return 1;
	if (s->env->rep_stat(s->env, &st, 0) != 0)
		return 0;
	master = st->st_status == DB_REP_MASTER;
	free(st);
	return master;
}

/*
 * Whether this subordinate process should start afresh: after a write that
 * was not acknowledged, or when the group's size differs from the one it
 * started with (looked up at most once a second).
 */
static int
group_changed(struct store *s)
{
	time_t	 now = time(NULL);

	if (s->stale)
		return 1;
	if (now == s->group_checked)
		return 0;
	s->group_checked = now;
	return group_size(s) != s->nsites;
}

enum sig_err
store_repl_refresh(struct store *s)
{
	unsigned	 left;
	enum sig_err	 err;

	/*
	 * A subordinate process keeps the membership it read at
	 * repmgr_start: it has no connection to a site that joined later, so
	 * none of its commits would be acknowledged.  When the group has
	 * changed size, it reopens its environment handle to start afresh.
	 */
	if (s->subordinate && s->rep_started && group_changed(s)) {
		s->stale = 0;
		log_msg(LOG_INFO, "replication: the group changed (%u sites "
		    "before); reopening this process's handle",
		    (unsigned)s->nsites);
		/* store_env_open arms its own watchdog: keep the request's. */
		left = watchdog_suspend();
		store_close_tables(s);
		(void)s->env->close(s->env, 0);
		s->env = NULL;
		err = store_env_open(s);
		watchdog_arm(left);
		if (err != SIG_OK) {
			s->failed = 1;
			return err;
		}
	}
	return SIG_OK;
}

enum sig_err
store_repl_reopen(struct store *s)
{
	time_t	 now;

	if (s->reopen) {
		store_close_tables(s);
		s->next_try = 0;
	}
	now = time(NULL);
	if (now < s->next_try)
		return SIG_EUNAVAIL;
	s->next_try = now + REP_RETRY_S;
	if (!s->rep_started)
		store_repl_start(s);
	if (!s->rep_started)
		return SIG_EUNAVAIL;
	return store_open_tables(s);
}

/*
 * A subordinate process of the master sends its commits over its own
 * connections, which its repmgr threads open in the background after
 * repmgr_start.  Before its first write, wait (at most the acknowledgement
 * timeout, once per handle) until enough of them are up for the ack policy:
 * half the other sites for a quorum, all of them otherwise.
 */
static void
await_connections(struct store *s)
{
	DB_REPMGR_SITE	*list;
	u_int		 n, i, up, need;
	long		 waited_ms;

	s->connected = 1;
	for (waited_ms = 0; waited_ms < s->repl.ack_timeout_ms;
	    waited_ms += 10) {
		if (s->env->repmgr_site_list(s->env, &n, &list) != 0)
			return;
		for (i = up = 0; i < n; i++)
			if (list[i].status == DB_REPMGR_CONNECTED)
				up++;
		free(list);
		need = s->repl.ack_policy == DB_REPMGR_ACKS_QUORUM ?
		    (n + 1) / 2 : n;
		if (up >= need)
			return;
		usleep(10 * 1000);
	}
}

int
store_repl_writable(struct store_txn *t)
{
	if (t->checked_master)
		return 1;
	if (!store_repl_is_master(t->s))
		return 0;
	if (t->s->subordinate && !t->s->connected)
		await_connections(t->s);
	t->checked_master = 1;
	return 1;
}

int
store_replicated(const struct store *s)
{
	return s->replicated;
}

enum sig_err
store_role(struct store *s, struct store_role *r)
{
	DB_REP_STAT	*st;
	DB_LOG_STAT	*lg;
	DB_SITE		*site;
	const char	*host;
	u_int		 port;

	memset(r, 0, sizeof(*r));
	if (!s->replicated)
		return SIG_OK;
	r->replicated = 1;
	r->joined = s->rep_started;
	if (s->env->rep_stat(s->env, &st, 0) != 0)
		return SIG_EUNAVAIL;
	r->master = st->st_status == DB_REP_MASTER;
	r->startup_complete = r->master || st->st_startup_complete;
	r->log_records_queued = st->st_log_queued;
	r->master_changes = st->st_master_changes;
	r->elections = st->st_elections;
	r->sites = group_size(s);
	r->lsn_file = st->st_next_lsn.file;
	r->lsn_offset = st->st_next_lsn.offset;
	if (st->st_master != DB_EID_INVALID &&
	    s->env->repmgr_site_by_eid(s->env, (int)st->st_master,
	    &site) == 0) {
		if (site->get_address(site, &host, &port) == 0)
			snprintf(r->master_site, sizeof(r->master_site),
			    strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u",
			    host, port);
		(void)site->close(site);
	}
	free(st);
	/* The master's own position is the end of its log. */
	if (r->master && s->env->log_stat(s->env, &lg, 0) == 0) {
		r->lsn_file = lg->st_cur_file;
		r->lsn_offset = lg->st_cur_offset;
		free(lg);
	}
	return SIG_OK;
}

