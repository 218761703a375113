/*
 * bdb-commit: the write ceiling for scripts/bench.
 *
 * Raw Berkeley DB durable commit throughput with the environment Signet's
 * src/store.c opens (same flags, cache, log file size, lock detector and
 * timeout, thread count and is-alive callback), at a given process count:
 * N processes, each with its own environment handle opened after fork(),
 * each committing small single-put transactions (default commit = the log
 * is synced, as Signet's store_run does) for T seconds.
 *
 *   bdb-commit -h DIR [-p PROCS] [-t SECONDS] [-s VALUE_BYTES] [-c EVERY] [-a]
 *
 * -c EVERY also checkpoints and removes unneeded logs every EVERY commits per
 * process, as store_run does every 256 write transactions (default 0: off,
 * the raw ceiling).  -a also puts, in the same transaction, a key into a
 * second table that every process inserts at the same place, as Signet's
 * audit index did before it was sharded per worker ("au:<account>:<inverted
 * time>:<id>" in index.db): an experiment showing what a shared hot B-tree
 * page costs (not the ceiling).
 * Prints one JSON line:
 *   {"procs": N, "seconds": T, "commits": C, "commits_per_s": R,
 *    "p50_us": ..., "p99_us": ...}
 *
 *   cc -O2 -o bdb-commit bdb-commit.c -ldb
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <db.h>

/* The values of src/store.c. */
#define STORE_CACHE_BYTES	(2 * 1024 * 1024)
#define STORE_LOCK_TIMEOUT_US	(3 * 1000 * 1000)
#define STORE_LOG_FILE_BYTES	(2 * 1024 * 1024)
#define MAX_PROCS		256
#define HIST_BUCKETS		4096	/* 10 us each: 0 .. 40.96 ms, then the last */

static int
is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	(void)env;
	(void)tid;
	(void)flags;
	return kill(pid, 0) == 0 || errno == EPERM;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bdb-commit: %s: %s\n", what, db_strerror(rc));
	exit(1);
}

/* Open the environment as store_open does. */
static DB_ENV *
env_open(const char *home)
{
	DB_ENV	*env;
	int	 rc;

	if ((rc = db_env_create(&env, 0)) != 0)
		die("db_env_create", rc);
	env->set_errfile(env, stderr);
	env->set_thread_count(env, 64);
	env->set_isalive(env, is_alive);
	env->set_lk_detect(env, DB_LOCK_DEFAULT);
	env->set_cachesize(env, 0, STORE_CACHE_BYTES, 1);
	env->set_timeout(env, STORE_LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT);
	env->set_lg_max(env, STORE_LOG_FILE_BYTES);
	if ((rc = env->open(env, home, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
	    DB_INIT_LOG | DB_INIT_MPOOL | DB_REGISTER | DB_RECOVER | DB_FAILCHK,
	    0600)) != 0)
		die("env open", rc);
	return env;
}

static DB *
db_open(DB_ENV *env, const char *file)
{
	DB	*db;
	int	 rc;

	if ((rc = db_create(&db, env, 0)) != 0)
		die("db_create", rc);
	if ((rc = db->open(db, NULL, file, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, 0600)) != 0)
		die("db open", rc);
	return db;
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct result {
	uint64_t	commits;
	uint64_t	hist[HIST_BUCKETS];
};

static void
child(const char *home, int id, double seconds, size_t vsize, unsigned every,
    int hot, int ready_fd, int go_fd, int out_fd)
{
	DB		*idx = NULL;
	DBT		 ik, iv;
	char		 ikey[96];
	struct timespec	 now;
	struct result	*res;
	DB_ENV		*env;
	DB		*db;
	DB_TXN		*txn;
	DBT		 k, v;
	char		 key[64], *val, c;
	double		 t0, t1, end;
	unsigned	 n = 0;
	size_t		 b;
	int		 rc, tries;

	if ((res = calloc(1, sizeof(*res))) == NULL || (val = malloc(vsize)) == NULL)
		exit(1);
	memset(val, 'v', vsize);
	env = env_open(home);
	db = db_open(env, "bench.db");
	if (hot)
		idx = db_open(env, "index.db");
	c = 'r';
	if (write(ready_fd, &c, 1) != 1 || read(go_fd, &c, 1) != 1)
		exit(1);
	end = now_s() + seconds;
	for (;;) {
		t0 = now_s();
		if (t0 >= end)
			break;
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.size = (u_int32_t)snprintf(key, sizeof(key), "p%03d-%010u", id, n);
		k.data = key;
		v.data = val;
		v.size = (u_int32_t)vsize;
		for (tries = 0;; tries++) {
			if ((rc = env->txn_begin(env, NULL, &txn, 0)) != 0)
				die("txn_begin", rc);
			rc = db->put(db, txn, &k, &v, 0);
			if (rc == 0 && hot) {
				clock_gettime(CLOCK_REALTIME, &now);
				memset(&ik, 0, sizeof(ik));
				memset(&iv, 0, sizeof(iv));
				ik.size = (u_int32_t)snprintf(ikey, sizeof(ikey),
				    "au:acct_bench:%016llx:%s", (unsigned long long)
				    (INT64_MAX - ((int64_t)now.tv_sec * 1000000 +
				    now.tv_nsec / 1000)), key);
				ik.data = ikey;
				iv.data = key;
				iv.size = k.size;
				rc = idx->put(idx, txn, &ik, &iv, 0);
			}
			if (rc == 0) {
				if ((rc = txn->commit(txn, 0)) != 0)
					die("commit", rc);
				break;
			}
			(void)txn->abort(txn);
			if ((rc != DB_LOCK_DEADLOCK && rc != DB_LOCK_NOTGRANTED) ||
			    tries > 64)
				die("put", rc);
		}
		t1 = now_s();
		n++;
		res->commits++;
		b = (size_t)((t1 - t0) * 1e5);	/* 10 us buckets */
		res->hist[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
		if (every > 0 && n % every == 0 &&
		    ((rc = env->txn_checkpoint(env, 1024, 0, 0)) != 0 ||
		    (rc = env->log_archive(env, NULL, DB_ARCH_REMOVE)) != 0))
			fprintf(stderr, "bdb-commit: log maintenance: %s\n",
			    db_strerror(rc));
	}
	if (write(out_fd, res, sizeof(*res)) != (ssize_t)sizeof(*res))
		exit(1);
	if (idx != NULL)
		idx->close(idx, 0);
	db->close(db, 0);
	env->close(env, 0);
	exit(0);
}

static double
percentile(const uint64_t *hist, uint64_t total, double p)
{
	uint64_t	 want, seen = 0;
	int		 i;

	if (total == 0)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)total + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want)
			return (i + 0.5) * 10.0;
	}
	return HIST_BUCKETS * 10.0;
}

static int
read_full(int fd, void *buf, size_t len)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*home = NULL;
	struct result	*tot, *one;
	pid_t		 pids[MAX_PROCS];
	DB_ENV		*env;
	DB		*db;
	double		 seconds = 5, t0, elapsed;
	size_t		 vsize = 200;
	unsigned	 every = 0;
	int		 procs = 1, ch, i, j, status, failed = 0, hot = 0;
	int		 ready[2], go[2], out[2];
	char		 c;

	while ((ch = getopt(argc, argv, "h:p:t:s:c:a")) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 'p': procs = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 's': vsize = (size_t)atol(optarg); break;
		case 'c': every = (unsigned)atol(optarg); break;
		case 'a': hot = 1; break;
		default:
			fprintf(stderr, "usage: bdb-commit -h DIR [-p PROCS] "
			    "[-t SECONDS] [-s VALUE_BYTES] [-c EVERY] [-a]\n");
			return 2;
		}
	}
	if (home == NULL || procs < 1 || procs > MAX_PROCS || seconds <= 0 ||
	    vsize < 1 || vsize > 65536) {
		fprintf(stderr, "bdb-commit: bad arguments\n");
		return 2;
	}
	/* Create the environment and the table once, as signetctl init does. */
	env = env_open(home);
	db = db_open(env, "bench.db");
	db->close(db, 0);
	if (hot) {
		db = db_open(env, "index.db");
		db->close(db, 0);
	}
	env->close(env, 0);

	if (pipe(ready) != 0 || pipe(go) != 0 || pipe(out) != 0)
		return 1;
	for (i = 0; i < procs; i++) {
		if ((pids[i] = fork()) < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0)
			child(home, i, seconds, vsize, every, hot, ready[1], go[0],
			    out[1]);
	}
	/* Start the clock once every process has its environment open. */
	for (i = 0; i < procs; i++)
		if (read_full(ready[0], &c, 1) != 0)
			return 1;
	t0 = now_s();
	for (i = 0; i < procs; i++)
		if (write(go[1], "g", 1) != 1)
			return 1;
	if ((tot = calloc(1, sizeof(*tot))) == NULL ||
	    (one = calloc(1, sizeof(*one))) == NULL)
		return 1;
	for (i = 0; i < procs; i++) {
		if (read_full(out[0], one, sizeof(*one)) != 0) {
			failed = 1;
			break;
		}
		tot->commits += one->commits;
		for (j = 0; j < HIST_BUCKETS; j++)
			tot->hist[j] += one->hist[j];
	}
	elapsed = now_s() - t0;
	for (i = 0; i < procs; i++)
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed = 1;
	if (failed) {
		fprintf(stderr, "bdb-commit: a process failed\n");
		return 1;
	}
	if (elapsed < seconds)
		elapsed = seconds;
	printf("{\"procs\": %d, \"seconds\": %.3f, \"commits\": %llu, "
	    "\"commits_per_s\": %.1f, \"p50_us\": %.0f, \"p99_us\": %.0f}\n",
	    procs, elapsed, (unsigned long long)tot->commits,
	    (double)tot->commits / elapsed,
	    percentile(tot->hist, tot->commits, 50),
	    percentile(tot->hist, tot->commits, 99));
	return 0;
}
