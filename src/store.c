/*
 * Berkeley DB 5.3 behind the store interface.  Multi-process rules from
 * PITFALLS.md: each process opens its own environment handle with
 * DB_REGISTER | DB_RECOVER | DB_FAILCHK and an is-alive callback, so a
 * SIGKILLed worker is cleaned up by the next opener without stopping the
 * others; read-modify-write uses DB_RMW; deadlocks rerun the transaction.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <pthread.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <db.h>

#include "signet/config.h"
#include "signet/crypto.h"
#include "signet/json.h"
#include "signet/log.h"
#include "signet/metrics.h"
#include "signet/store.h"

#define STORE_MAX_TRIES		64
#define STORE_CACHE_BYTES	(2 * 1024 * 1024)
#define STORE_LOCK_TIMEOUT_US	(3 * 1000 * 1000)
#define STORE_CHECKPOINT_EVERY	256	/* write transactions per process */
#define STORE_CHECKPOINT_S	5	/* at most one checkpoint in this time */
#define STORE_MAX_VALUE		(1024 * 1024)
#define STORE_LOG_FILE_BYTES	(2 * 1024 * 1024)

static const char *const table_files[TBL_COUNT] = {
	[TBL_ACCOUNTS] = "accounts.db",
	[TBL_APIKEYS] = "apikeys.db",
	[TBL_TOKENS] = "tokens.db",
	[TBL_ENDPOINTS] = "endpoints.db",
	[TBL_INBOUND] = "inbound.db",
	[TBL_ENTERPRISES] = "enterprises.db",
	[TBL_ENTKEYS] = "enterprise_keys.db",
	[TBL_WORKSPACES] = "workspaces.db",
	[TBL_WSKEYS] = "workspace_keys.db",
	[TBL_AUDIT] = "audit.db",
	[TBL_INDEX] = "index.db",
};

#define REP_RETRY_S		1	/* between tries to join or open tables */
#define REP_THREADS		3	/* repmgr message threads per process */

struct store {
	DB_ENV		*env;
	DB		*db[TBL_COUNT];
	int		 failed;
	unsigned	 writes;
	unsigned	 maintain_every;	/* 0: no automatic log removal */
	int		 maintain_due;		/* for store_housekeep */
	unsigned	 reads;			/* a replica's transactions */
	char		 home[PATH_MAX];
	int		 replicated;
	struct store_repl repl;			/* strings point below */
	char		 site[CONFIG_SITE_MAX], peers[CONFIG_PEERS_MAX];
	char		 ack_policy[16];
	int		 rep_started;		/* repmgr_start succeeded */
	int		 subordinate;		/* not the replication process */
	u_int32_t	 nsites;		/* group size when it started */
	time_t		 group_checked;		/* at most one check a second */
	int		 stale;			/* reopen before the next txn */
	int		 connected;		/* await_connections done */
	int		 tables_open;
	int		 reopen;		/* handles died in a rollback */
	time_t		 next_try;
};

struct store_txn {
	struct store	*s;
	DB_TXN		*txn;
	int		 wrote;
	int		 checked_master;
	int		 readonly;	/* store_read, store_view */
};

/* Set from Berkeley DB's event callback, which has no user pointer. */
static volatile int env_panicked;
/* Commits that did not get their acknowledgements (any thread). */
static unsigned long perm_failed;

/*
 * The watchdog.  A process SIGKILLed while it held one of Berkeley DB's
 * region mutexes leaves that (non-robust) pthread mutex locked for ever: the
 * next failchk, and any live process that needs the mutex, then blocks.  No
 * call returns, so a timer does the only thing left: it leaves a marker file
 * asking the next opener for full recovery, and ends the process.  When every
 * process that shared the stuck regions is gone, the next opener finds the
 * marker, recovers (recreating the regions), and service resumes.
 */
#define RECOVER_MARKER		"recover.needed"
#define MAINTENANCE_LOCK	"maintenance.lock"
#define OPEN_WATCHDOG_S		10

static char	 marker_path[PATH_MAX];

/*
 * Whether the watchdog is on.  Off, the alarm may still be pending (it is
 * re-armed at most once a second, not twice a request): it then does
 * nothing, and the call it interrupted resumes (SA_RESTART).
 */
static volatile sig_atomic_t watching;

static void
on_watchdog(int sig)
{
	static const char msg[] = "signet: storage watchdog fired: a lock "
	    "held by a dead process; exiting so storage can be recovered\n";
	int	 fd;

	(void)sig;
	if (!watching)
		return;
	metrics_count(METRIC_WATCHDOG_EXITS);
	if ((fd = open(marker_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(75);
}

void
store_watchdog(unsigned seconds)
{
	static int	 installed;	/* the handler, once per process */
	static time_t	 armed_at;	/* CLOCK_MONOTONIC seconds */
	static unsigned	 armed_for;
	struct sigaction sa;
	struct timespec	 now;

	if (seconds == 0) {
		watching = 0;
		return;
	}
	if (marker_path[0] == '\0')
		return;
	if (!installed) {
		installed = 1;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_watchdog;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
	}
	/*
	 * An alarm armed less than a second ago for as long still gives this
	 * request seconds - 1 at least: keep it.
	 */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (armed_for != seconds || now.tv_sec - armed_at >= 1) {
		alarm(seconds);
		armed_at = now.tv_sec;
		armed_for = seconds;
	}
	watching = 1;
}

static int
is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	(void)env;
	(void)tid;
	(void)flags;
	return kill(pid, 0) == 0 || errno == EPERM;
}

/*
 * Berkeley DB's events.  Replication events arrive on repmgr's threads of
 * the replication process, except PERM_FAILED, which the committing thread
 * raises; each is logged, so an operator sees elections and role changes.
 */
static void
on_event(DB_ENV *env, u_int32_t event, void *info)
{
	const char	*what = NULL;

	(void)env;
	switch (event) {
	case DB_EVENT_PANIC:
		env_panicked = 1;
		break;
	case DB_EVENT_REP_PERM_FAILED:
		__atomic_add_fetch(&perm_failed, 1, __ATOMIC_SEQ_CST);
		break;
	case DB_EVENT_REP_MASTER:
		what = "this site is now the master";
		break;
	case DB_EVENT_REP_CLIENT:
		what = "this site is now a replica";
		break;
	case DB_EVENT_REP_NEWMASTER:
		log_msg(LOG_INFO, "replication: new master elected (site "
		    "id %d)", info != NULL ? *(int *)info : -1);
		break;
	case DB_EVENT_REP_STARTUPDONE:
		what = "replica caught up with the master";
		break;
	case DB_EVENT_REP_MASTER_FAILURE:
		what = "lost the master; an election follows";
		break;
	case DB_EVENT_REP_ELECTION_FAILED:
		what = "election failed; retrying";
		break;
	case DB_EVENT_REP_JOIN_FAILURE:
		what = "could not join the group";
		break;
	case DB_EVENT_REP_DUPMASTER:
		what = "two masters seen; this site steps down";
		break;
	}
	if (what != NULL)
		log_msg(LOG_INFO, "replication: %s", what);
}

static void
on_error(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	log_msg(LOG_ERR, "storage: %s", msg);
}

/*
 * Informational messages (failchk's "Freeing read locks ..."): Berkeley DB
 * prints them on stdout by default, where signetctl's JSON goes.
 */
static void
on_message(const DB_ENV *env, const char *msg)
{
	(void)env;
	log_msg(LOG_INFO, "storage: %s", msg);
}

/* Map a Berkeley DB return value onto the program's error type. */
static enum sig_err
map(struct store *s, int rc, const char *what)
{
	switch (rc) {
	case 0:
		return SIG_OK;
	case DB_NOTFOUND:
	case DB_KEYEMPTY:
		return SIG_ENOTFOUND;
	case DB_KEYEXIST:
		return SIG_EEXISTS;
	case DB_LOCK_DEADLOCK:
	case DB_LOCK_NOTGRANTED:
		return SIG_ERETRY;
	case DB_REP_HANDLE_DEAD:
		/* A rollback on this replica: reopen the tables, rerun. */
		s->reopen = 1;
		return SIG_ERETRY;
	case DB_REP_LOCKOUT:
	case DB_REP_UNAVAIL:
	case DB_REP_LEASE_EXPIRED:
		return SIG_EUNAVAIL;
	case EACCES:
		/* An update on a replica (the role changed since the check). */
		if (s->replicated)
			return SIG_ENOTMASTER;
		log_msg(LOG_ERR, "storage error (%s): %s", what,
		    db_strerror(rc));
		return SIG_EINTERNAL;
	case DB_RUNRECOVERY:
		s->failed = 1;
		log_msg(LOG_ERR, "storage needs recovery (%s): %s", what,
		    db_strerror(rc));
		return SIG_EUNAVAIL;
	default:
		log_msg(LOG_ERR, "storage error (%s): %s", what,
		    db_strerror(rc));
		return SIG_EINTERNAL;
	}
}

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
	char		 host[CONFIG_SITE_MAX], list[CONFIG_PEERS_MAX];
	char		*p, *save = NULL;
	unsigned	 port;
	int		 rc, policy;

	if (config_site(r->site, host, &port) != SIG_OK ||
	    (policy = config_ack_policy(r->ack_policy)) < 0 ||
	    strlen(r->peers) >= sizeof(list))
		return EINVAL;
	if ((rc = env->repmgr_site(env, host, port, &site, 0)) != 0)
		return rc;
	if ((rc = site->set_config(site, DB_LOCAL_SITE, 1)) != 0 ||
	    (r->group_creator &&
	    (rc = site->set_config(site, DB_GROUP_CREATOR, 1)) != 0)) {
		site->close(site);
		return rc;
	}
	if ((rc = site->close(site)) != 0)
		return rc;
	strcpy(list, r->peers);
	for (p = strtok_r(list, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (config_site(p, host, &port) != SIG_OK)
			return EINVAL;
		if ((rc = env->repmgr_site(env, host, port, &site, 0)) != 0)
			return rc;
		rc = site->set_config(site, DB_BOOTSTRAP_HELPER, 1);
		(void)site->close(site);
		if (rc != 0)
			return rc;
	}
	if ((rc = env->rep_set_priority(env, (u_int32_t)r->priority)) != 0 ||
	    (rc = env->repmgr_set_ack_policy(env, policy)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_ACK_TIMEOUT,
	    (db_timeout_t)r->ack_timeout_ms * 1000)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_HEARTBEAT_SEND,
	    500000)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_HEARTBEAT_MONITOR,
	    2000000)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_CONNECTION_RETRY,
	    1000000)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_ELECTION_RETRY,
	    1000000)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_ELECTION_TIMEOUT,
	    2000000)) != 0 ||
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
	    (rc = env->rep_set_config(env, DB_REP_CONF_BULK, 1)) != 0)
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

/*
 * Start replication in this process: the first process of the site to do it
 * becomes the replication process (listener, elections), the others are
 * subordinate.  Joining the group needs the master; until then this is
 * retried, at most once per REP_RETRY_S.  repmgr's threads must not take
 * the process's signals (SIGTERM stops a worker's accept, SIGALRM is the
 * watchdog), so they start with every signal blocked.
 */
/*
 * Berkeley DB 5.3's repmgr leaves Nagle's algorithm on for its TCP
 * connections: a small message sent right after another (a commit record
 * behind a log record, an acknowledgement behind another) waits for the
 * peer's delayed ACK, about 40 ms, and every write waited for it.  repmgr
 * has no setting for it, so a thread of each replicated process turns
 * TCP_NODELAY on for every TCP socket of the process (repmgr's and nothing
 * else that would mind: the FastCGI socket is a Unix one or a listener, a
 * JWKS fetch gains from it too), at start and every NODELAY_EVERY_MS, as
 * repmgr opens new connections when sites come and go.
 */
#define NODELAY_EVERY_MS	250
#define NODELAY_MAX_FD		1024

static void
nodelay_sweep(void)
{
	struct sockaddr_storage ss;
	socklen_t	 len;
	int		 fd, type, one = 1, on;

	for (fd = 0; fd < NODELAY_MAX_FD; fd++) {
		len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
		    type != SOCK_STREAM)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		len = sizeof(on);
		if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0 &&
		    on == 0)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
	}
}

static void *
nodelay_thread(void *arg)
{
	struct timespec	 ts = { 0, NODELAY_EVERY_MS * 1000000L };

	(void)arg;
	for (;;) {
		nodelay_sweep();
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Once per process: the sweeping thread, with every signal blocked. */
static void
nodelay_start(void)
{
	static int	 started;
	pthread_t	 th;
	pthread_attr_t	 attr;

	if (started)
		return;
	started = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&th, &attr, nodelay_thread, NULL) != 0)
		log_msg(LOG_WARN, "replication: no TCP_NODELAY thread");
	pthread_attr_destroy(&attr);
}

static void
rep_start(struct store *s)
{
	sigset_t	 all, old;
	int		 rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = s->env->repmgr_start(s->env, REP_THREADS, DB_REP_ELECTION);
	nodelay_start();
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

static int
is_master(struct store *s)
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

static void
close_tables(struct store *s)
{
	int	 i;

	for (i = 0; i < TBL_COUNT; i++)
		if (s->db[i] != NULL) {
			s->db[i]->close(s->db[i], 0);
			s->db[i] = NULL;
		}
	s->tables_open = 0;
}

/*
 * Open every table.  The master (or a stand-alone environment) creates the
 * missing ones; a replica opens what replication has brought, and reports
 * the rest as not there yet.
 */
static enum sig_err
open_tables(struct store *s)
{
	u_int32_t	 flags = DB_AUTO_COMMIT;
	int		 i, rc;

	if (is_master(s))
		flags |= DB_CREATE;
	if (s->replicated)
		flags |= DB_THREAD;
	for (i = 0; i < TBL_COUNT; i++) {
		if ((rc = db_create(&s->db[i], s->env, 0)) != 0 ||
		    (rc = s->db[i]->open(s->db[i], NULL, table_files[i], NULL,
		    DB_BTREE, flags, 0600)) != 0) {
			if (s->db[i] != NULL) {
				s->db[i]->close(s->db[i], 0);
				s->db[i] = NULL;
			}
			close_tables(s);
			if (s->replicated && (rc == ENOENT ||
			    rc == DB_REP_LOCKOUT || rc == DB_REP_HANDLE_DEAD ||
			    rc == EACCES || rc == DB_LOCK_DEADLOCK)) {
				log_msg(LOG_INFO, "replication: %s is not "
				    "here yet: %s", table_files[i],
				    db_strerror(rc));
				return SIG_EUNAVAIL;
			}
			log_msg(LOG_ERR, "cannot open %s: %s", table_files[i],
			    db_strerror(rc));
			return rc == DB_RUNRECOVERY ? SIG_EUNAVAIL :
			    SIG_EINTERNAL;
		}
	}
	s->tables_open = 1;
	s->reopen = 0;
	return SIG_OK;
}

static enum sig_err	env_open(struct store *);

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

/*
 * Whether the store can run a transaction now.  A replicated site may still
 * be joining its group or waiting for the master's tables; it tries again
 * at most once per REP_RETRY_S, and answers SIG_EUNAVAIL meanwhile.
 */
static enum sig_err
ready(struct store *s)
{
	time_t		 now;
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
		/* env_open arms its own watchdog: keep the request's. */
		left = alarm(0);
		close_tables(s);
		(void)s->env->close(s->env, 0);
		s->env = NULL;
		err = env_open(s);
		store_watchdog(left);
		if (err != SIG_OK) {
			s->failed = 1;
			return err;
		}
	}
	/* A replica writes nothing itself: count its transactions instead. */
	if (s->replicated && s->maintain_every > 0 &&
	    ++s->reads % s->maintain_every == 0)
		s->maintain_due = 1;
	if (s->tables_open && !s->reopen)
		return SIG_OK;
	if (s->reopen) {
		close_tables(s);
		s->next_try = 0;
	}
	now = time(NULL);
	if (now < s->next_try)
		return SIG_EUNAVAIL;
	s->next_try = now + REP_RETRY_S;
	if (!s->rep_started)
		rep_start(s);
	if (!s->rep_started)
		return SIG_EUNAVAIL;
	return open_tables(s);
}

enum sig_err
store_open(const char *home, struct store **out)
{
	return store_open_replicated(home, NULL, out);
}

/*
 * Berkeley DB's pauses, shortened to at most YIELD_MAX_US.  A checkpoint
 * that meets a page another process is changing sleeps a whole second
 * before it looks again (__memp_sync_int), and so does a buffer allocation
 * that finds nothing to evict (__memp_alloc); in a worker that second is a
 * second its queued requests wait: durable writes had a p99 of 850 ms in
 * the bench runs where it struck, 20 ms in the others.  Each of those loops
 * looks again after its pause, so a shorter pause changes how often it
 * looks, not what it does.  Stand-alone sites only: some of replication's
 * loops count their pauses to time out.
 */
#define YIELD_MAX_US	20000

static int
short_yield(u_long secs, u_long usecs)
{
	struct timespec	 ts;
	uint64_t	 us = (uint64_t)secs * 1000000 + usecs;

	if (us == 0)
		return sched_yield();
	if (us > YIELD_MAX_US)
		us = YIELD_MAX_US;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)us * 1000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return 0;
}

/*
 * Create this process's environment handle and open it: the settings,
 * replication (when configured) and the tables.  Used at open, and again
 * when a subordinate process's view of the group is out of date.
 */
static enum sig_err
env_open(struct store *s)
{
	int		 rc, recover;
	u_int32_t	 flags;
	enum sig_err	 err;

	/* Process-wide: set before any handle exists. */
	(void)db_env_set_func_yield(s->replicated ? NULL : short_yield);
	if ((rc = db_env_create(&s->env, 0)) != 0) {
		log_msg(LOG_ERR, "db_env_create: %s", db_strerror(rc));
		return SIG_EINTERNAL;
	}
	s->env->set_errcall(s->env, on_error);
	s->env->set_msgcall(s->env, on_message);
	s->env->set_event_notify(s->env, on_event);
	s->env->set_thread_count(s->env, 64);
	s->env->set_isalive(s->env, is_alive);
	s->env->set_lk_detect(s->env, DB_LOCK_DEFAULT);
	s->env->set_cachesize(s->env, 0, STORE_CACHE_BYTES, 1);
	s->env->set_timeout(s->env, STORE_LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT);
	/* Small log files, so removing the ones no longer needed frees space. */
	s->env->set_lg_max(s->env, STORE_LOG_FILE_BYTES);
	flags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG |
	    DB_INIT_MPOOL | DB_REGISTER | DB_RECOVER;
	if (s->replicated) {
		if ((rc = rep_configure(s->env, &s->repl)) != 0) {
			log_msg(LOG_ERR, "replication settings: %s",
			    db_strerror(rc));
			goto fail;
		}
		if (s->repl.verbose)
			s->env->set_verbose(s->env, DB_VERB_REPMGR_MISC, 1);
		/* repmgr runs threads in every process of the site. */
		flags |= DB_INIT_REP | DB_THREAD;
	}
	if (snprintf(marker_path, sizeof(marker_path), "%s/%s", s->home,
	    RECOVER_MARKER) >= (int)sizeof(marker_path))
		goto fail;
	/*
	 * Normally failchk cleans up after a dead process without disturbing
	 * the live ones; after the watchdog fired, full recovery instead.
	 */
	recover = access(marker_path, F_OK) == 0;
	if (!recover)
		flags |= DB_FAILCHK;
	else
		log_msg(LOG_WARN, "storage: running full recovery after a "
		    "watchdog exit");
	/* Both the environment and the table opens can meet a dead lock. */
	store_watchdog(OPEN_WATCHDOG_S);
	if ((rc = s->env->open(s->env, s->home, flags, 0600)) != 0) {
		store_watchdog(0);
		log_msg(LOG_ERR, "cannot open storage in %s: %s", s->home,
		    db_strerror(rc));
		s->env->close(s->env, 0);
		s->env = NULL;
		return SIG_EUNAVAIL;
	}
	if (s->replicated) {
		s->rep_started = 0;
		s->next_try = 0;
		rep_start(s);
	}
	err = s->replicated ? ready(s) : open_tables(s);
	store_watchdog(0);
	if (err != SIG_OK && !s->replicated)
		return err;
	if (recover)
		(void)unlink(marker_path);
	return SIG_OK;
fail:
	s->env->close(s->env, 0);
	s->env = NULL;
	return SIG_EINVAL;
}

enum sig_err
store_open_replicated(const char *home, const struct store_repl *repl,
    struct store **out)
{
	struct store	*s;
	enum sig_err	 err;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SIG_EINTERNAL;
	if (snprintf(s->home, sizeof(s->home), "%s", home) >=
	    (int)sizeof(s->home)) {
		free(s);
		return SIG_EINTERNAL;
	}
	if (repl != NULL && repl->site != NULL && *repl->site != '\0') {
		s->replicated = 1;
		snprintf(s->site, sizeof(s->site), "%s", repl->site);
		snprintf(s->peers, sizeof(s->peers), "%s", repl->peers);
		snprintf(s->ack_policy, sizeof(s->ack_policy), "%s",
		    repl->ack_policy);
		s->repl = *repl;
		s->repl.site = s->site;
		s->repl.peers = s->peers;
		s->repl.ack_policy = s->ack_policy;
	}
	if ((err = env_open(s)) != SIG_OK) {
		store_close(s);
		return err;
	}
	/*
	 * Start the checkpoint cadence at a random point, so that workers under
	 * an even load do not all checkpoint at the same moment.
	 */
	s->maintain_every = STORE_CHECKPOINT_EVERY;
	if (crypto_random(&s->writes, sizeof(s->writes), 0) == SIG_OK)
		s->writes %= STORE_CHECKPOINT_EVERY;
	*out = s;
	return SIG_OK;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_housekeep(s);
	/* Closing flushes the log, which can meet a dead process's mutex. */
	store_watchdog(OPEN_WATCHDOG_S);
	close_tables(s);
	if (s->env != NULL)
		s->env->close(s->env, 0);
	store_watchdog(0);
	free(s);
}

void
store_set_maintenance(struct store *s, unsigned every)
{
	s->maintain_every = every;
	if (every > 0)
		s->writes %= every;
}

int
store_failed(const struct store *s)
{
	return s->failed || env_panicked;
}

/* Sleep a little, more after each lost deadlock, with jitter. */
static void
backoff(int attempt)
{
	struct timespec	 ts;
	unsigned int	 r = 0;
	long		 us;

	(void)crypto_random(&r, sizeof(r), 0);
	us = (attempt < 8 ? 200L << attempt : 25600L);
	us = us / 2 + (long)(r % (unsigned)us);
	ts.tv_sec = 0;
	ts.tv_nsec = us * 1000;
	nanosleep(&ts, NULL);
}

/* store_run, or store_view with readonly. */
static enum sig_err
run(struct store *s, store_fn fn, void *arg, int readonly)
{
	struct store_txn t;
	enum sig_err	 rc = SIG_EUNAVAIL;
	int		 attempt, dbrc;
	unsigned long	 failed_before;

	if (store_failed(s))
		return SIG_EUNAVAIL;
	for (attempt = 0; attempt < STORE_MAX_TRIES; attempt++) {
		if ((rc = ready(s)) != SIG_OK)
			return rc;
		t.s = s;
		t.wrote = 0;
		t.checked_master = 0;
		t.readonly = readonly;
		if ((dbrc = s->env->txn_begin(s->env, NULL, &t.txn, 0)) != 0)
			return map(s, dbrc, "txn_begin");
		rc = fn(&t, arg);
		if (rc != SIG_OK) {
			(void)t.txn->abort(t.txn);
			if (rc != SIG_ERETRY)
				return rc;
			if (store_failed(s))
				return SIG_EUNAVAIL;
			/* A lock held by a dead process: let failchk free it. */
			(void)s->env->failchk(s->env, 0);
			metrics_count(METRIC_DEADLOCKS_RETRIED);
			backoff(attempt);
			continue;
		}
		failed_before = __atomic_load_n(&perm_failed, __ATOMIC_SEQ_CST);
		if ((dbrc = t.txn->commit(t.txn, 0)) != 0)
			return map(s, dbrc, "commit");
		/* Committed here, but too few sites confirmed it in time. */
		if (t.wrote && s->replicated && __atomic_load_n(&perm_failed,
		    __ATOMIC_SEQ_CST) != failed_before) {
			log_msg(LOG_WARN, "replication: a write was not "
			    "acknowledged by enough sites in time");
			/* Perhaps this process's view of the group is old. */
			s->stale = 1;
			return SIG_ENOQUORUM;
		}
		/*
		 * Now and then: checkpoint, and remove the log files that
		 * recovery no longer needs, so the directory stays bounded.
		 * Not here, where the caller still waits for its answer:
		 * store_housekeep does it once the answer is out.
		 */
		if (t.wrote && s->maintain_every > 0 &&
		    ++s->writes % s->maintain_every == 0)
			s->maintain_due = 1;
		return SIG_OK;
	}
	log_msg(LOG_WARN, "transaction gave up after %d deadlocks", attempt);
	return SIG_EUNAVAIL;
}

enum sig_err
store_run(struct store *s, store_fn fn, void *arg)
{
	return run(s, fn, arg, 0);
}

enum sig_err
store_view(struct store *s, store_fn fn, void *arg)
{
	return run(s, fn, arg, 1);
}

/*
 * One process at a time, and not more often than every STORE_CHECKPOINT_S
 * seconds: a checkpoint can wait for pages that others keep changing
 * (Berkeley DB then sleeps a whole second and retries), every other process
 * that asked for one meanwhile queued behind it, and under a steady write
 * load a checkpoint fell due every few hundred writes, so the workers spent
 * a good part of their time stalled.  The lock (which goes with its holder
 * if it dies) says who is at it; its file's time says when one last ended.
 * Returns the descriptor to unlock, or -1 to skip.
 */
static int
maintenance_lock(struct store *s)
{
	static int	 fd = -1;
	const char	*home = NULL;
	char		 path[PATH_MAX];
	struct stat	 st;

	if (fd == -1) {
		if (s->env->get_home(s->env, &home) != 0 || home == NULL ||
		    snprintf(path, sizeof(path), "%s/%s", home,
		    MAINTENANCE_LOCK) >= (int)sizeof(path))
			return -1;
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
			return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_mtime <= time(NULL) &&
	    time(NULL) - st.st_mtime < STORE_CHECKPOINT_S) {
		(void)flock(fd, LOCK_UN);
		return -1;
	}
	return fd;
}

void
store_housekeep(struct store *s)
{
	int	 dbrc, fd;

	if (s == NULL || !s->maintain_due || store_failed(s))
		return;
	s->maintain_due = 0;
	if ((fd = maintenance_lock(s)) == -1)
		return;		/* another process is at it */
	/*
	 * A replica checkpoints when the master's checkpoint record arrives;
	 * it only removes the log files that no longer matter.
	 */
	if ((is_master(s) &&
	    (dbrc = s->env->txn_checkpoint(s->env, 1024, 0, 0)) != 0) ||
	    (dbrc = s->env->log_archive(s->env, NULL, DB_ARCH_REMOVE)) != 0)
		log_msg(LOG_WARN, "log maintenance: %s", db_strerror(dbrc));
	(void)futimens(fd, NULL);
	(void)flock(fd, LOCK_UN);
}

enum sig_err
store_read(struct store *s, store_fn fn, void *arg)
{
	struct store_txn t;
	enum sig_err	 rc = SIG_EUNAVAIL;
	int		 attempt;

	if (store_failed(s))
		return SIG_EUNAVAIL;
	for (attempt = 0; attempt < STORE_MAX_TRIES; attempt++) {
		if ((rc = ready(s)) != SIG_OK)
			return rc;
		t.s = s;
		t.txn = NULL;
		t.wrote = 0;
		t.checked_master = 0;
		t.readonly = 1;
		if ((rc = fn(&t, arg)) != SIG_ERETRY)
			return rc;
		if (store_failed(s))
			return SIG_EUNAVAIL;
		(void)s->env->failchk(s->env, 0);
		metrics_count(METRIC_DEADLOCKS_RETRIED);
		backoff(attempt);
	}
	log_msg(LOG_WARN, "read gave up after %d deadlocks", attempt);
	return SIG_EUNAVAIL;
}

static void
key_dbt(DBT *k, const char *key)
{
	memset(k, 0, sizeof(*k));
	k->data = (void *)key;
	k->size = (u_int32_t)strlen(key);
}

enum sig_err
store_get(struct store_txn *t, enum store_table tbl, const char *key, int rmw,
    json_object **out)
{
	DBT		 k, v;
	enum sig_err	 rc;

	*out = NULL;
	key_dbt(&k, key);
	memset(&v, 0, sizeof(v));
	v.flags = DB_DBT_MALLOC;
	rc = map(t->s, t->s->db[tbl]->get(t->s->db[tbl], t->txn, &k, &v,
	    rmw ? DB_RMW : 0), "get");
	if (rc != SIG_OK)
		return rc;
	/* Our own records: parsed for syntax only, not as outside input. */
	*out = json_parse_trusted(v.data, v.size);
	free(v.data);
	if (*out == NULL) {
		log_msg(LOG_ERR, "record %s in %s does not parse", key,
		    table_files[tbl]);
		return SIG_EINTERNAL;
	}
	return SIG_OK;
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
		need = strcmp(s->repl.ack_policy, "quorum") == 0 ?
		    (n + 1) / 2 : n;
		if (up >= need)
			return;
		usleep(10 * 1000);
	}
}

/* Whether this transaction may write: only on the master (checked once). */
static int
writable(struct store_txn *t)
{
	if (t->checked_master)
		return 1;
	if (!is_master(t->s))
		return 0;
	if (t->s->subordinate && !t->s->connected)
		await_connections(t->s);
	t->checked_master = 1;
	return 1;
}

enum sig_err
store_get_raw(struct store_txn *t, enum store_table tbl, const char *key,
    const char **data, size_t *len)
{
	static char	*buf;
	static size_t	 cap;
	DBT		 k, v;
	char		*grown;
	int		 dbrc;

	key_dbt(&k, key);
	for (;;) {
		memset(&v, 0, sizeof(v));
		v.flags = DB_DBT_USERMEM;
		v.data = buf;
		v.ulen = (u_int32_t)cap;
		dbrc = t->s->db[tbl]->get(t->s->db[tbl], t->txn, &k, &v, 0);
		if (dbrc != DB_BUFFER_SMALL)
			break;
		if ((grown = realloc(buf, v.size)) == NULL)
			return SIG_EINTERNAL;
		buf = grown;
		cap = v.size;
	}
	if (dbrc != 0)
		return map(t->s, dbrc, "get");
	*data = buf;
	*len = v.size;
	return SIG_OK;
}

static enum sig_err
put_raw(struct store_txn *t, enum store_table tbl, const char *key,
    const char *val, size_t len, int unique)
{
	DBT	 k, v;

	if (len > STORE_MAX_VALUE || t->readonly)
		return SIG_EINTERNAL;
	if (!writable(t))
		return SIG_ENOTMASTER;
	key_dbt(&k, key);
	memset(&v, 0, sizeof(v));
	v.data = (void *)val;
	v.size = (u_int32_t)len;
	t->wrote = 1;
	return map(t->s, t->s->db[tbl]->put(t->s->db[tbl], t->txn, &k, &v,
	    unique ? DB_NOOVERWRITE : 0), "put");
}

static enum sig_err
put_json(struct store_txn *t, enum store_table tbl, const char *key,
    json_object *val, int unique)
{
	enum sig_err	 rc;
	char		*s;
	size_t		 n;

	if ((s = json_print(val, 0, &n)) == NULL)
		return SIG_EINTERNAL;
	rc = put_raw(t, tbl, key, s, n, unique);
	free(s);
	return rc;
}

enum sig_err
store_put(struct store_txn *t, enum store_table tbl, const char *key,
    json_object *val)
{
	return put_json(t, tbl, key, val, 0);
}

enum sig_err
store_insert(struct store_txn *t, enum store_table tbl, const char *key,
    json_object *val)
{
	return put_json(t, tbl, key, val, 1);
}

enum sig_err
store_put_str(struct store_txn *t, enum store_table tbl, const char *key,
    const char *val, int unique)
{
	return put_raw(t, tbl, key, val, strlen(val), unique);
}

enum sig_err
store_get_str(struct store_txn *t, enum store_table tbl, const char *key,
    char *out, size_t outsz)
{
	DBT		 k, v;
	enum sig_err	 rc;

	key_dbt(&k, key);
	memset(&v, 0, sizeof(v));
	v.flags = DB_DBT_USERMEM;
	v.data = out;
	v.ulen = (u_int32_t)(outsz - 1);
	rc = map(t->s, t->s->db[tbl]->get(t->s->db[tbl], t->txn, &k, &v, 0),
	    "get");
	if (rc != SIG_OK)
		return rc;
	out[v.size] = '\0';
	return SIG_OK;
}

enum sig_err
store_del(struct store_txn *t, enum store_table tbl, const char *key)
{
	DBT	 k;

	if (t->readonly)
		return SIG_EINTERNAL;
	if (!writable(t))
		return SIG_ENOTMASTER;
	key_dbt(&k, key);
	t->wrote = 1;
	return map(t->s, t->s->db[tbl]->del(t->s->db[tbl], t->txn, &k, 0),
	    "del");
}

enum sig_err
store_scan(struct store_txn *t, enum store_table tbl, const char *prefix,
    const char *after, size_t limit, store_scan_fn cb, void *arg, int *more)
{
	DBC		*c;
	DBT		 k, v;
	enum sig_err	 rc;
	size_t		 plen = strlen(prefix), seen = 0;
	char		*kbuf;
	int		 dbrc;
	u_int32_t	 op;

	*more = 0;
	if ((dbrc = t->s->db[tbl]->cursor(t->s->db[tbl], t->txn, &c, 0)) != 0)
		return map(t->s, dbrc, "cursor");
	key_dbt(&k, after != NULL ? after : prefix);
	k.flags = DB_DBT_REALLOC;
	memset(&v, 0, sizeof(v));
	v.flags = DB_DBT_REALLOC;
	/* k.data points at the caller's string until the first realloc. */
	kbuf = strdup(after != NULL ? after : prefix);
	if (kbuf == NULL) {
		c->close(c);
		return SIG_EINTERNAL;
	}
	k.data = kbuf;
	op = DB_SET_RANGE;
	for (;;) {
		dbrc = c->get(c, &k, &v, op);
		op = DB_NEXT;
		if (dbrc == DB_NOTFOUND) {
			rc = SIG_OK;
			break;
		}
		if ((rc = map(t->s, dbrc, "scan")) != SIG_OK)
			break;
		if (k.size < plen || memcmp(k.data, prefix, plen) != 0)
			break;
		if (after != NULL && k.size == strlen(after) &&
		    memcmp(k.data, after, k.size) == 0)
			continue;
		if (seen == limit) {
			*more = 1;
			break;
		}
		{
			char	*ks, *vs;

			if ((ks = strndup(k.data, k.size)) == NULL ||
			    (vs = strndup(v.data, v.size)) == NULL) {
				free(ks);
				rc = SIG_EINTERNAL;
				break;
			}
			rc = cb(ks, vs, arg);
			free(ks);
			free(vs);
		}
		if (rc != SIG_OK)
			break;
		seen++;
	}
	/* DB_DBT_REALLOC moved the buffers along: only the last ones live. */
	free(k.data);
	free(v.data);
	c->close(c);
	return rc;
}

enum sig_err
store_stats(struct store *s, struct store_stats *st)
{
	DB_MPOOL_STAT	*mp = NULL;
	DB_LOCK_STAT	*lk = NULL;
	DB_TXN_STAT	*tx = NULL;
	char		**list = NULL, **p;
	const char	*home = NULL;
	struct stat	 sb;

	memset(st, 0, sizeof(*st));
	if (s->env->memp_stat(s->env, &mp, NULL, 0) != 0 ||
	    s->env->lock_stat(s->env, &lk, 0) != 0 ||
	    s->env->txn_stat(s->env, &tx, 0) != 0) {
		free(mp);
		free(lk);
		return SIG_EUNAVAIL;
	}
	st->cache_hits = mp->st_cache_hit;
	st->cache_misses = mp->st_cache_miss;
	st->cache_bytes = (uint64_t)mp->st_gbytes * 1073741824 + mp->st_bytes;
	st->lock_deadlocks = lk->st_ndeadlocks;
	st->lock_timeouts = lk->st_nlocktimeouts;
	st->txn_commits = tx->st_ncommits;
	st->txn_aborts = tx->st_naborts;
	st->txn_active = tx->st_nactive;
	free(mp);
	free(lk);
	free(tx);
	/* Every log file, archived or not, counts towards the size on disk. */
	(void)s->env->get_home(s->env, &home);
	if (home != NULL && s->env->log_archive(s->env, &list, DB_ARCH_LOG |
	    DB_ARCH_ABS) == 0 && list != NULL) {
		for (p = list; *p != NULL; p++) {
			st->log_files++;
			if (stat(*p, &sb) == 0)
				st->log_bytes += (uint64_t)sb.st_size;
		}
		free(list);
	}
	return SIG_OK;
}

static int
dir_is_empty(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 empty = 1;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 1 : -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

enum sig_err
store_backup(struct store *s, const char *dir)
{
	DB_ENV		*env;
	int		 rc;

	if (dir_is_empty(dir) != 1)
		return SIG_EINVAL;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return SIG_EINTERNAL;
	if ((rc = s->env->backup(s->env, dir, DB_CREATE)) != 0) {
		log_msg(LOG_ERR, "backup to %s: %s", dir, db_strerror(rc));
		return SIG_EINTERNAL;
	}
	/* Recover the copy now, so it opens like any clean environment. */
	if ((rc = db_env_create(&env, 0)) != 0)
		return SIG_EINTERNAL;
	env->set_errcall(env, on_error);
	env->set_msgcall(env, on_message);
	rc = env->open(env, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
	    DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER | DB_PRIVATE, 0600);
	env->close(env, 0);
	if (rc != 0) {
		log_msg(LOG_ERR, "recovering the backup in %s: %s", dir,
		    db_strerror(rc));
		return SIG_EINTERNAL;
	}
	return SIG_OK;
}

enum sig_err
store_verify(const char *home, int *bad, char *first_bad, size_t first_bad_sz)
{
	DB	*db;
	char	 path[PATH_MAX];
	int	 i, rc;

	*bad = 0;
	first_bad[0] = '\0';
	for (i = 0; i < TBL_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", home, table_files[i]);
		if (access(path, F_OK) != 0)
			continue;
		if ((rc = db_create(&db, NULL, 0)) != 0)
			return SIG_EINTERNAL;
		/* verify() always destroys the handle. */
		if ((rc = db->verify(db, path, NULL, NULL, 0)) != 0) {
			if ((*bad)++ == 0)
				snprintf(first_bad, first_bad_sz, "%s",
				    table_files[i]);
		}
	}
	return SIG_OK;
}

enum sig_err
store_maintain(struct store *s, int *removed)
{
	char	**list = NULL, **p;
	int	 rc;

	*removed = 0;
	if ((rc = s->env->txn_checkpoint(s->env, 0, 0, DB_FORCE)) != 0)
		return map(s, rc, "checkpoint");
	/* Log files that recovery no longer needs (DB_ARCH_REMOVE deletes). */
	if ((rc = s->env->log_archive(s->env, &list, DB_ARCH_ABS)) != 0)
		return map(s, rc, "log_archive");
	if (list != NULL) {
		for (p = list; *p != NULL; p++)
			if (unlink(*p) == 0)
				(*removed)++;
		free(list);
	}
	return SIG_OK;
}

static enum sig_err
collect_id(const char *key, const char *val, void *arg)
{
	(void)key;
	json_object_array_add(arg, json_object_new_string(val));
	return SIG_OK;
}

enum sig_err
store_page(struct store_txn *t, enum store_table table, const char *prefix,
    const char *after, size_t limit, json_object **records, int *more)
{
	json_object	*ids, *rec;
	enum sig_err	 rc;
	size_t		 i;

	*records = NULL;
	ids = json_object_new_array();
	rc = store_scan(t, TBL_INDEX, prefix, after, limit, collect_id, ids,
	    more);
	if (rc == SIG_OK)
		*records = json_object_new_array();
	for (i = 0; rc == SIG_OK && i < json_object_array_length(ids); i++) {
		rc = store_get(t, table, json_object_get_string(
		    json_object_array_get_idx(ids, i)), 0, &rec);
		if (rc == SIG_OK)
			json_object_array_add(*records, rec);
	}
	json_object_put(ids);
	if (rc != SIG_OK) {
		json_object_put(*records);
		*records = NULL;
	}
	return rc;
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

static enum sig_err
ping(struct store_txn *t, void *arg)
{
	char	 buf[8];
	enum sig_err rc;

	(void)arg;
	rc = store_get_str(t, TBL_ACCOUNTS, "\x01health", buf, sizeof(buf));
	return rc == SIG_ENOTFOUND ? SIG_OK : rc;
}

enum sig_err
store_ping(struct store *s)
{
	return store_run(s, ping, NULL);
}
