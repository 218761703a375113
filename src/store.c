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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <dirent.h>

#include <db.h>

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

struct store {
	DB_ENV		*env;
	DB		*db[TBL_COUNT];
	int		 failed;
	unsigned	 writes;
	unsigned	 maintain_every;	/* 0: no automatic log removal */
	int		 maintain_due;		/* for store_housekeep */
};

struct store_txn {
	struct store	*s;
	DB_TXN		*txn;
	int		 wrote;
};

/* Set from Berkeley DB's event callback, which has no user pointer. */
static volatile int env_panicked;

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

static void
on_event(DB_ENV *env, u_int32_t event, void *info)
{
	(void)env;
	(void)info;
	if (event == DB_EVENT_PANIC)
		env_panicked = 1;
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

enum sig_err
store_open(const char *home, struct store **out)
{
	struct store	*s;
	int		 rc, i, recover;
	u_int32_t	 flags;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SIG_EINTERNAL;
	if ((rc = db_env_create(&s->env, 0)) != 0) {
		free(s);
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
	if (snprintf(marker_path, sizeof(marker_path), "%s/%s", home,
	    RECOVER_MARKER) >= (int)sizeof(marker_path)) {
		s->env->close(s->env, 0);
		free(s);
		return SIG_EINTERNAL;
	}
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
	if ((rc = s->env->open(s->env, home, flags, 0600)) != 0) {
		store_watchdog(0);
		log_msg(LOG_ERR, "cannot open storage in %s: %s", home,
		    db_strerror(rc));
		s->env->close(s->env, 0);
		free(s);
		return SIG_EUNAVAIL;
	}
	for (i = 0; i < TBL_COUNT; i++) {
		if ((rc = db_create(&s->db[i], s->env, 0)) != 0 ||
		    (rc = s->db[i]->open(s->db[i], NULL, table_files[i], NULL,
		    DB_BTREE, DB_CREATE | DB_AUTO_COMMIT, 0600)) != 0) {
			store_watchdog(0);
			log_msg(LOG_ERR, "cannot open %s: %s", table_files[i],
			    db_strerror(rc));
			store_close(s);
			return rc == DB_RUNRECOVERY ? SIG_EUNAVAIL : SIG_EINTERNAL;
		}
	}
	store_watchdog(0);
	if (recover)
		(void)unlink(marker_path);
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
	int	 i;

	if (s == NULL)
		return;
	store_housekeep(s);
	/* Closing flushes the log, which can meet a dead process's mutex. */
	store_watchdog(OPEN_WATCHDOG_S);
	for (i = 0; i < TBL_COUNT; i++)
		if (s->db[i] != NULL)
			s->db[i]->close(s->db[i], 0);
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

enum sig_err
store_run(struct store *s, store_fn fn, void *arg)
{
	struct store_txn t;
	enum sig_err	 rc = SIG_EUNAVAIL;
	int		 attempt, dbrc;

	if (store_failed(s))
		return SIG_EUNAVAIL;
	for (attempt = 0; attempt < STORE_MAX_TRIES; attempt++) {
		t.s = s;
		t.wrote = 0;
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
		if ((dbrc = t.txn->commit(t.txn, 0)) != 0)
			return map(s, dbrc, "commit");
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
	if ((dbrc = s->env->txn_checkpoint(s->env, 1024, 0, 0)) != 0 ||
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
		t.s = s;
		t.txn = NULL;
		t.wrote = 0;
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

	if (len > STORE_MAX_VALUE || t->txn == NULL)	/* store_read */
		return SIG_EINTERNAL;
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
	const char	*s;

	s = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
	if (s == NULL)
		return SIG_EINTERNAL;
	return put_raw(t, tbl, key, s, strlen(s), unique);
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

	if (t->txn == NULL)		/* store_read */
		return SIG_EINTERNAL;
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
