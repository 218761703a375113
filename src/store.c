/*
 * Berkeley DB 5.3 behind the store interface: the environment, transactions
 * and record access.  Multi-process rules from PITFALLS.md: each process
 * opens its own environment handle with DB_REGISTER | DB_RECOVER |
 * DB_FAILCHK and an is-alive callback, so a SIGKILLed worker is cleaned up
 * by the next opener without stopping the others; read-modify-write uses
 * DB_RMW; deadlocks rerun the transaction.  Replication, log maintenance
 * and the administrative tasks have files of their own (store_impl.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/statvfs.h>

#include <db.h>

#include "signet/crypto.h"
#include "signet/json.h"
#include "signet/log.h"
#include "signet/metrics.h"
#include "signet/store.h"
#include "signet/watchdog.h"
#include "store_impl.h"

#define STORE_MAX_TRIES		64
#define STORE_CACHE_BYTES	(2 * 1024 * 1024)
#define STORE_LOCK_TIMEOUT_US	(3 * 1000 * 1000)
#define STORE_LOCKOUT_WAIT_US	(2 * 1000 * 1000)
#define STORE_LOCKOUT_PAUSE_US	(10 * 1000)
#define STORE_MAX_VALUE		(1024 * 1024)
#define STORE_LOG_FILE_BYTES	(2 * 1024 * 1024)
/*
 * Free space a write needs on SIGNET_HOME's file system: room for a new log
 * file and the page flushes of a checkpoint.  Berkeley DB does not refuse a
 * write cleanly when the disk fills: a page it cannot flush panics the
 * environment, and recovery then needs space for its regions too.  So a
 * write is refused (SIG_EFULL) while less than this is free, before it
 * touches anything.
 */
#define STORE_RESERVE_BYTES	(2 * STORE_LOG_FILE_BYTES)
#define STORE_ROOM_CHECK_US	100000	/* statvfs at most this often */

static int	 is_alive(DB_ENV *, pid_t, db_threadid_t, u_int32_t);
static void	 on_event(DB_ENV *, u_int32_t, void *);
static enum sig_err ready(struct store *);
static int	 retry_after_deadlock(struct store *, int attempt);
static int	 wait_out_lockout(struct store *, long *);
static void	 backoff(int);
static void	 key_dbt(DBT *, const char *);
static enum sig_err put_raw(struct store_txn *, enum store_table,
		    const char *, const char *, size_t, int);
static enum sig_err put_json(struct store_txn *, enum store_table,
		    const char *, json_object *, int);
static enum sig_err collect_id(const char *, const char *, void *);
static int	 confine_damage(struct store *, const char *);

const char *const store_table_files[TBL_COUNT] = {
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

/* Set from Berkeley DB's event callback, which has no user pointer. */
static volatile int env_panicked;
/* Set from the error callback: a page read from disk failed its checksum. */
static volatile int page_damaged;
static char damaged_where[128];	/* its file and page, when told */
/* Commits that did not get their acknowledgements (any thread). */
static unsigned long perm_failed;

/*
 * Whether a process that used the environment is still running, for
 * failchk.  A zombie is not: it holds nothing, it only waits for a parent
 * to collect it, and where nobody does (a container whose first process
 * reaps no orphans) counting it alive would keep failchk from cleaning up
 * after it for ever; a killed replication process would then keep its
 * site from ever electing a new one.
 */
static int
is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	char	 path[32], buf[512], *p;
	FILE	*f;
	size_t	 n;

	(void)env;
	(void)tid;
	(void)flags;
	if (kill(pid, 0) != 0 && errno != EPERM)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 1;
	return p[2] != 'Z' && p[2] != 'X';
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

void
store_on_error(const DB_ENV *env, const char *prefix, const char *msg)
{
	const char	*p, *q;

	(void)env;
	(void)prefix;
	/*
	 * __db_pgin's words (after a message number) before it panics, then
	 * the memory pool's, which name the file: "endpoints.db: pgin failed
	 * for page 8".
	 */
	if (strstr(msg, "checksum error: page ") != NULL)
		page_damaged = 1;
	else if (page_damaged && (p = strstr(msg, ": pgin failed")) != NULL) {
		if ((q = strchr(msg, ' ')) == NULL || q > p)
			q = msg;
		else
			q++;
		snprintf(damaged_where, sizeof(damaged_where), "%s", q);
	}
	log_msg(LOG_ERR, "storage: %s", msg);
}

/*
 * A page that fails its checksum when read panics the environment, and
 * with it every process sharing it, although nothing shared is wrong: the
 * damage is on disk, in that page alone, and every later read of the page
 * would do it again.  So this process lifts the panic at once and only the
 * request that needed the page fails.  (The failure Berkeley DB notes in
 * the log belongs to no transaction: normal recovery passes over it.)
 * Returns 0 when the panic stays.
 */
static int
confine_damage(struct store *s, const char *what)
{
	int	 rc;

	page_damaged = 0;
	if ((rc = s->env->set_flags(s->env, DB_PANIC_ENVIRONMENT, 0)) != 0) {
		log_msg(LOG_ERR, "storage: cannot lift the panic after a "
		    "damaged page: %s", db_strerror(rc));
		return 0;
	}
	env_panicked = 0;
	log_msg(LOG_ERR, "storage: %s: %s: the requests that need it fail, "
	    "the others are served; run signetctl verify and restore a backup",
	    what, damaged_where[0] != '\0' ? damaged_where : "a damaged page");
	damaged_where[0] = '\0';
	return 1;
}

/*
 * Informational messages (failchk's "Freeing read locks ..."): Berkeley DB
 * prints them on stdout by default, where signetctl's JSON goes.
 */
void
store_on_message(const DB_ENV *env, const char *msg)
{
	(void)env;
	log_msg(LOG_INFO, "storage: %s", msg);
}

/* A write refused for lack of space: counted, and logged at most every 10 s. */
static void
full(const char *what, int rc)
{
	static time_t	 logged;
	time_t		 now = time(NULL);

	metrics_count(METRIC_WRITES_FULL);
	if (now - logged >= 10 || now < logged) {
		logged = now;
		log_msg(LOG_WARN, "storage is full (%s): %s; writes are refused "
		    "until space is freed", what, db_strerror(rc));
	}
}

enum sig_err
store_map(struct store *s, int rc, const char *what)
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
		s->locked_out = 1;
		return SIG_EUNAVAIL;
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
	case ENOSPC:
	case EDQUOT:
		full(what, rc);
		return SIG_EFULL;
	case DB_RUNRECOVERY:
		if (page_damaged && confine_damage(s, what))
			return SIG_EINTERNAL;
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

void
store_close_tables(struct store *s)
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
enum sig_err
store_open_tables(struct store *s)
{
	u_int32_t	 flags = DB_AUTO_COMMIT;
	int		 i, rc;

	if (store_repl_is_master(s))
		flags |= DB_CREATE;
	if (s->replicated)
		flags |= DB_THREAD;
	for (i = 0; i < TBL_COUNT; i++) {
		/*
		 * Page checksums: a page damaged on disk is then found when
		 * read, not served.  Berkeley DB applies the flag only when
		 * it creates the file; an existing one keeps its layout.
		 */
		if ((rc = db_create(&s->db[i], s->env, 0)) != 0 ||
		    (rc = s->db[i]->set_flags(s->db[i], DB_CHKSUM)) != 0 ||
		    (rc = s->db[i]->open(s->db[i], NULL, store_table_files[i], NULL,
		    DB_BTREE, flags, 0600)) != 0) {
			if (s->db[i] != NULL) {
				s->db[i]->close(s->db[i], 0);
				s->db[i] = NULL;
			}
			store_close_tables(s);
			if (rc == DB_REP_LOCKOUT) {
				/* Over in a moment: no wait for the next try. */
				s->locked_out = 1;
				s->next_try = 0;
				return SIG_EUNAVAIL;
			}
			if (s->replicated && (rc == ENOENT ||
			    rc == DB_REP_HANDLE_DEAD ||
			    rc == EACCES || rc == DB_LOCK_DEADLOCK)) {
				log_msg(LOG_INFO, "replication: %s is not "
				    "here yet: %s", store_table_files[i],
				    db_strerror(rc));
				return SIG_EUNAVAIL;
			}
			log_msg(LOG_ERR, "cannot open %s: %s", store_table_files[i],
			    db_strerror(rc));
			return rc == DB_RUNRECOVERY ? SIG_EUNAVAIL :
			    SIG_EINTERNAL;
		}
	}
	s->tables_open = 1;
	s->reopen = 0;
	return SIG_OK;
}

/*
 * Whether the store can run a transaction now.  A replicated site may still
 * be joining its group or waiting for the master's tables; it tries again
 * at most once per REP_RETRY_S, and answers SIG_EUNAVAIL meanwhile.
 */
static enum sig_err
ready(struct store *s)
{
	enum sig_err	 err;

	if ((err = store_repl_refresh(s)) != SIG_OK)
		return err;
	/* A replica writes nothing itself: count its transactions instead. */
	if (s->replicated)
		store_maint_tick(s, &s->reads);
	if (s->tables_open && !s->reopen)
		return SIG_OK;
	return store_repl_reopen(s);
}

enum sig_err
store_open(const char *home, struct store **out)
{
	return store_open_replicated(home, NULL, out);
}

enum sig_err
store_env_open(struct store *s)
{
	int		 rc, recover;
	u_int32_t	 flags;
	enum sig_err	 err;

	store_maint_yield(s);
	if ((rc = db_env_create(&s->env, 0)) != 0) {
		log_msg(LOG_ERR, "db_env_create: %s", db_strerror(rc));
		return SIG_EINTERNAL;
	}
	s->env->set_errcall(s->env, store_on_error);
	s->env->set_msgcall(s->env, store_on_message);
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
		if ((rc = store_repl_configure(s)) != 0) {
			log_msg(LOG_ERR, "replication settings: %s",
			    db_strerror(rc));
			goto fail;
		}
		/* repmgr runs threads in every process of the site. */
		flags |= DB_INIT_REP | DB_THREAD;
	}
	if (watchdog_home(s->home) != SIG_OK)
		goto fail;
	/*
	 * Normally failchk cleans up after a dead process without disturbing
	 * the live ones; after the watchdog fired, full recovery instead.
	 */
	recover = watchdog_marker_present();
	if (!recover)
		flags |= DB_FAILCHK;
	else
		log_msg(LOG_WARN, "storage: running full recovery after a "
		    "watchdog exit");
	/* Both the environment and the table opens can meet a dead lock. */
	watchdog_arm(OPEN_WATCHDOG_S);
	if ((rc = s->env->open(s->env, s->home, flags, 0600)) != 0) {
		watchdog_arm(0);
		log_msg(LOG_ERR, "cannot open storage in %s: %s", s->home,
		    db_strerror(rc));
		s->env->close(s->env, 0);
		s->env = NULL;
		return SIG_EUNAVAIL;
	}
	if (s->replicated) {
		s->rep_started = 0;
		s->next_try = 0;
		store_repl_start(s);
	}
	err = s->replicated ? ready(s) : store_open_tables(s);
	watchdog_arm(0);
	if (err != SIG_OK && !s->replicated)
		return err;
	if (recover)
		watchdog_marker_clear();
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
	if (repl != NULL && repl->site != NULL &&
	    repl->site->host[0] != '\0') {
		if (repl->npeers > CONFIG_PEERS_N) {
			free(s);
			return SIG_EINVAL;
		}
		s->replicated = 1;
		s->site = *repl->site;
		memcpy(s->peers, repl->peers,
		    repl->npeers * sizeof(s->peers[0]));
		s->repl = *repl;
		s->repl.site = &s->site;
		s->repl.peers = s->peers;
	}
	if ((err = store_env_open(s)) != SIG_OK) {
		store_close(s);
		return err;
	}
	store_maint_start(s);
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
	watchdog_arm(OPEN_WATCHDOG_S);
	store_close_tables(s);
	if (s->env != NULL)
		s->env->close(s->env, 0);
	watchdog_arm(0);
	free(s);
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

/*
 * After a lost deadlock, before the rerun: 0 when the environment failed
 * meanwhile (the caller answers SIG_EUNAVAIL), else 1 after freeing what a
 * dead process held (a lock held by a dead process: failchk frees it) and
 * a pause.
 */
static int
retry_after_deadlock(struct store *s, int attempt)
{
	if (store_failed(s))
		return 0;
	(void)s->env->failchk(s->env, 0);
	metrics_count(METRIC_DEADLOCKS_RETRIED);
	backoff(attempt);
	return 1;
}

/*
 * After a call that met a replication lockout (this site is changing role
 * or syncing with a new master, which takes a second or two): 1 after a
 * short pause, for a rerun, until STORE_LOCKOUT_WAIT_US have been spent;
 * then 0, and the caller answers SIG_EUNAVAIL.
 */
static int
wait_out_lockout(struct store *s, long *waited_us)
{
	if (!s->locked_out || *waited_us >= STORE_LOCKOUT_WAIT_US ||
	    store_failed(s))
		return 0;
	s->locked_out = 0;
	usleep(STORE_LOCKOUT_PAUSE_US);
	*waited_us += STORE_LOCKOUT_PAUSE_US;
	return 1;
}

/* How run calls fn: in a transaction it commits, one it only reads, none. */
enum run_mode {
	RUN_WRITE,
	RUN_VIEW,
	RUN_PLAIN
};

/*
 * One try of fn, after ready: SIG_OK with t->txn still open in a
 * transaction's mode (the caller commits), or fn's or the store's error
 * with any transaction aborted.
 */
static enum sig_err
attempt(struct store *s, struct store_txn *t, store_fn fn, void *arg,
    enum run_mode mode)
{
	enum sig_err	 rc;
	int		 dbrc;

	if ((rc = ready(s)) != SIG_OK)
		return rc;
	t->s = s;
	t->txn = NULL;
	t->wrote = 0;
	t->checked_master = 0;
	t->readonly = mode != RUN_WRITE;
	if (mode != RUN_PLAIN &&
	    (dbrc = s->env->txn_begin(s->env, NULL, &t->txn, 0)) != 0)
		return store_map(s, dbrc, "txn_begin");
	if ((rc = fn(t, arg)) != SIG_OK && t->txn != NULL)
		(void)t->txn->abort(t->txn);
	return rc;
}

/* Commit what attempt left open. */
static enum sig_err
commit(struct store *s, struct store_txn *t)
{
	unsigned long	 failed_before;
	int		 dbrc;

	failed_before = __atomic_load_n(&perm_failed, __ATOMIC_SEQ_CST);
	if ((dbrc = t->txn->commit(t->txn, 0)) != 0)
		return store_map(s, dbrc, "commit");
	/* Committed here, but too few sites confirmed it in time. */
	if (t->wrote && s->replicated && __atomic_load_n(&perm_failed,
	    __ATOMIC_SEQ_CST) != failed_before) {
		log_msg(LOG_WARN, "replication: a write was not "
		    "acknowledged by enough sites in time");
		/* Perhaps this process's view of the group is old. */
		s->stale = 1;
		return SIG_ENOQUORUM;
	}
	/*
	 * Now and then: checkpoint, and remove the log files that recovery
	 * no longer needs, so the directory stays bounded.  Not here, where
	 * the caller still waits for its answer: store_housekeep does it
	 * once the answer is out.
	 */
	if (t->wrote)
		store_maint_tick(s, &s->writes);
	return SIG_OK;
}

/*
 * fn until it is done: rerun after a lost deadlock (at most
 * STORE_MAX_TRIES times) and while the site is locked out
 * (wait_out_lockout).
 */
static enum sig_err
run(struct store *s, store_fn fn, void *arg, enum run_mode mode)
{
	struct store_txn t;
	enum sig_err	 rc;
	int		 attempts = 0;
	long		 waited_us = 0;

	if (store_failed(s))
		return SIG_EUNAVAIL;
	s->locked_out = 0;
	while (attempts < STORE_MAX_TRIES) {
		if ((rc = attempt(s, &t, fn, arg, mode)) == SIG_OK)
			return mode == RUN_PLAIN ? SIG_OK : commit(s, &t);
		if (wait_out_lockout(s, &waited_us))
			continue;
		if (rc != SIG_ERETRY)
			return rc;
		if (!retry_after_deadlock(s, attempts++))
			return SIG_EUNAVAIL;
	}
	log_msg(LOG_WARN, "%s gave up after %d deadlocks",
	    mode == RUN_PLAIN ? "read" : "transaction", attempts);
	return SIG_EUNAVAIL;
}

enum sig_err
store_run(struct store *s, store_fn fn, void *arg)
{
	return run(s, fn, arg, RUN_WRITE);
}

enum sig_err
store_view(struct store *s, store_fn fn, void *arg)
{
	return run(s, fn, arg, RUN_VIEW);
}

enum sig_err
store_read(struct store *s, store_fn fn, void *arg)
{
	return run(s, fn, arg, RUN_PLAIN);
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
	rc = store_map(t->s, t->s->db[tbl]->get(t->s->db[tbl], t->txn, &k, &v,
	    rmw ? DB_RMW : 0), "get");
	if (rc != SIG_OK)
		return rc;
	/* Our own records: parsed for syntax only, not as outside input. */
	*out = json_parse_trusted(v.data, v.size);
	free(v.data);
	if (*out == NULL) {
		log_msg(LOG_ERR, "record %s in %s does not parse", key,
		    store_table_files[tbl]);
		return SIG_EINTERNAL;
	}
	return SIG_OK;
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
		return store_map(t->s, dbrc, "get");
	*data = buf;
	*len = v.size;
	return SIG_OK;
}

/*
 * Whether SIGNET_HOME's disk has STORE_RESERVE_BYTES free (asked at most
 * every STORE_ROOM_CHECK_US; a file system that cannot say has room).
 */
static int
room(struct store *s)
{
	static int64_t	 checked;
	static int	 ok = 1;
	struct timespec	 ts;
	struct statvfs	 fs;
	int64_t		 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (checked != 0 && now - checked < STORE_ROOM_CHECK_US)
		return ok;
	checked = now;
	ok = statvfs(s->home, &fs) != 0 ||
	    (uint64_t)fs.f_bavail * fs.f_frsize >= STORE_RESERVE_BYTES;
	return ok;
}

/* Whether t may write: a transaction, on the master, with room on disk. */
static enum sig_err
may_write(struct store_txn *t)
{
	if (t->readonly)
		return SIG_EINTERNAL;
	if (!store_repl_writable(t))
		return SIG_ENOTMASTER;
	if (!t->wrote && !room(t->s)) {
		full("write", ENOSPC);
		return SIG_EFULL;
	}
	return SIG_OK;
}

static enum sig_err
put_raw(struct store_txn *t, enum store_table tbl, const char *key,
    const char *val, size_t len, int unique)
{
	DBT		 k, v;
	enum sig_err	 rc;

	if (len > STORE_MAX_VALUE)
		return SIG_EINTERNAL;
	if ((rc = may_write(t)) != SIG_OK)
		return rc;
	key_dbt(&k, key);
	memset(&v, 0, sizeof(v));
	v.data = (void *)val;
	v.size = (u_int32_t)len;
	t->wrote = 1;
	return store_map(t->s, t->s->db[tbl]->put(t->s->db[tbl], t->txn, &k, &v,
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
	rc = store_map(t->s, t->s->db[tbl]->get(t->s->db[tbl], t->txn, &k, &v, 0),
	    "get");
	if (rc != SIG_OK)
		return rc;
	out[v.size] = '\0';
	return SIG_OK;
}

enum sig_err
store_del(struct store_txn *t, enum store_table tbl, const char *key)
{
	DBT		 k;
	enum sig_err	 rc;

	if ((rc = may_write(t)) != SIG_OK)
		return rc;
	key_dbt(&k, key);
	t->wrote = 1;
	return store_map(t->s, t->s->db[tbl]->del(t->s->db[tbl], t->txn, &k, 0),
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
		return store_map(t->s, dbrc, "cursor");
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
		if ((rc = store_map(t->s, dbrc, "scan")) != SIG_OK)
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

