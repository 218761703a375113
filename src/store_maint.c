/*
 * Log maintenance of the store: the checkpoint cadence, checkpoints and
 * log removal after the answer is out (store_housekeep), and Berkeley DB's
 * pauses, shortened for a stand-alone site.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <db.h>

#include "signet/crypto.h"
#include "signet/log.h"
#include "signet/store.h"
#include "store_impl.h"

#define STORE_CHECKPOINT_EVERY	256	/* write transactions per process */
#define STORE_CHECKPOINT_S	5	/* at most one checkpoint in this time */
#define MAINTENANCE_LOCK	"maintenance.lock"

static int	 short_yield(u_long, u_long);
static int	 maintenance_lock(struct store *);

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

void
store_maint_yield(const struct store *s)
{
	(void)db_env_set_func_yield(s->replicated ? NULL : short_yield);
}

void
store_maint_start(struct store *s)
{
	/*
	 * Start the checkpoint cadence at a random point, so that workers under
	 * an even load do not all checkpoint at the same moment.
	 */
	s->maintain_every = STORE_CHECKPOINT_EVERY;
	if (crypto_random(&s->writes, sizeof(s->writes), 0) == SIG_OK)
		s->writes %= STORE_CHECKPOINT_EVERY;
}

void
store_maint_tick(struct store *s, unsigned *counter)
{
	if (s->maintain_every > 0 && ++*counter % s->maintain_every == 0)
		s->maintain_due = 1;
}

void
store_set_maintenance(struct store *s, unsigned every)
{
	s->maintain_every = every;
	if (every > 0)
		s->writes %= every;
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
	if ((store_repl_is_master(s) &&
	    (dbrc = s->env->txn_checkpoint(s->env, 1024, 0, 0)) != 0) ||
	    (dbrc = s->env->log_archive(s->env, NULL, DB_ARCH_REMOVE)) != 0)
		log_msg(LOG_WARN, "log maintenance: %s", db_strerror(dbrc));
	(void)futimens(fd, NULL);
	(void)flock(fd, LOCK_UN);
}
