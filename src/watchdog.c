/* The storage watchdog: SIGALRM, a marker file, exit status 75. */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signet/metrics.h"
#include "signet/watchdog.h"

#define RECOVER_MARKER		"recover.needed"
#define REGISTER_FILE		"__db.register"	/* Berkeley DB's DB_REGISTER */
#define REGISTER_SLOT		25		/* bytes a process's line takes */
#define REGISTER_SLOTS		256		/* read at most this many */
#define SENTINEL_TICK_MS	100

static void	on_watchdog(int);
static void	leave_for_recovery(const char *, size_t);
static int	register_shows_dead(void);
static void	*sentinel(void *);

static char	 marker_path[PATH_MAX];
static char	 register_path[PATH_MAX];

/*
 * Since when (CLOCK_MONOTONIC ms) the main thread has been in storage (0:
 * it is not), and how long that may last before the sentinel looks (0:
 * never); the sentinel thread reads both.
 */
static long	 busy_since_ms;
static long	 sentinel_after_ms;

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

	(void)sig;
	if (!watching)
		return;
	leave_for_recovery(msg, sizeof(msg) - 1);
}

/* Leave the marker, say why, and end the process (async-signal-safe). */
static void
leave_for_recovery(const char *msg, size_t len)
{
	int	 fd;

	metrics_count(METRIC_WATCHDOG_EXITS);
	if ((fd = open(marker_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	(void)!write(STDERR_FILENO, msg, len);
	_exit(75);
}

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Whether Berkeley DB's registry names a process that is gone: every
 * process with the environment open holds a write lock on the first byte
 * of its line (a pid; an empty line starts with 'X'), and the kernel drops
 * it when the process dies.  A line still naming a pid whose byte no other
 * process locks is a dead process's, one that failchk or recovery has not
 * cleaned up yet.  So is this process's own line when another process has
 * overwritten it: recovery ran and left this process on the old regions.
 *
 * The descriptor is opened once and never closed: closing any descriptor
 * of a file drops every lock this process holds on it, Berkeley DB's own
 * included.
 */
static int
register_shows_dead(void)
{
	static int	 fd = -1;
	char		 buf[REGISTER_SLOT * REGISTER_SLOTS];
	char		 mine[REGISTER_SLOT + 1];
	struct flock	 fl;
	ssize_t		 n;
	int		 i, found_mine = 0;

	if (fd < 0 && (fd = open(register_path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if ((n = pread(fd, buf, sizeof(buf), 0)) <= 0)
		return 0;
	snprintf(mine, sizeof(mine), "%24lu\n", (unsigned long)getpid());
	for (i = 0; (i + 1) * REGISTER_SLOT <= n; i++) {
		const char	*slot = buf + i * REGISTER_SLOT;

		if (slot[REGISTER_SLOT - 1] != '\n' || slot[0] == 'X')
			continue;
		if (memcmp(slot, mine, REGISTER_SLOT) == 0) {
			found_mine = 1;
			continue;
		}
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = (off_t)i * REGISTER_SLOT;
		fl.l_len = 1;
		if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK)
			return 1;
	}
	return !found_mine;
}

/*
 * The sentinel: a thread that looks every SENTINEL_TICK_MS whether the
 * process has been in storage longer than sentinel_after_ms while the
 * registry shows a dead process.  Then the call is waiting for a mutex
 * that the dead process held, and it never returns: the process leaves
 * for recovery, as the watchdog would, a second after the kill rather
 * than at the end of the request's time.
 */
static void *
sentinel(void *arg)
{
	static const char msg[] = "signet: storage sentinel: stuck in storage "
	    "while a dead process holds it; exiting so storage can be "
	    "recovered\n";
	struct timespec	 tick = { 0, SENTINEL_TICK_MS * 1000000L };
	long		 since, after;

	(void)arg;
	for (;;) {
		nanosleep(&tick, NULL);
		since = __atomic_load_n(&busy_since_ms, __ATOMIC_ACQUIRE);
		after = __atomic_load_n(&sentinel_after_ms, __ATOMIC_RELAXED);
		if (since == 0 || after == 0 || now_ms() - since < after)
			continue;
		if (register_shows_dead() && __atomic_load_n(&busy_since_ms,
		    __ATOMIC_ACQUIRE) == since)
			leave_for_recovery(msg, sizeof(msg) - 1);
	}
	return NULL;
}

enum sig_err
watchdog_sentinel_start(void)
{
	pthread_attr_t	 attr;
	pthread_t	 tid;
	sigset_t	 all, old;
	int		 rc;

	/* Its signals are the main thread's (SIGALRM, SIGTERM, the tick). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	rc = pthread_create(&tid, &attr, sentinel, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? SIG_OK : SIG_EINTERNAL;
}

void
watchdog_sentinel_after(long ms)
{
	__atomic_store_n(&sentinel_after_ms, ms, __ATOMIC_RELAXED);
}

int
watchdog_busy_begin(void)
{
	if (__atomic_load_n(&busy_since_ms, __ATOMIC_RELAXED) != 0)
		return 0;
	__atomic_store_n(&busy_since_ms, now_ms(), __ATOMIC_RELEASE);
	return 1;
}

void
watchdog_busy_end(int began)
{
	if (began)
		__atomic_store_n(&busy_since_ms, 0, __ATOMIC_RELEASE);
}

enum sig_err
watchdog_home(const char *home)
{
	if (snprintf(marker_path, sizeof(marker_path), "%s/%s", home,
	    RECOVER_MARKER) >= (int)sizeof(marker_path) ||
	    snprintf(register_path, sizeof(register_path), "%s/%s", home,
	    REGISTER_FILE) >= (int)sizeof(register_path))
		return SIG_EINVAL;
	return SIG_OK;
}

void
watchdog_arm(unsigned seconds)
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

unsigned
watchdog_suspend(void)
{
	return alarm(0);
}

int
watchdog_marker_present(void)
{
	return access(marker_path, F_OK) == 0;
}

void
watchdog_marker_clear(void)
{
	(void)unlink(marker_path);
}
