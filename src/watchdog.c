/* The storage watchdog: SIGALRM, a marker file, exit status 75. */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signet/metrics.h"
#include "signet/watchdog.h"

#define RECOVER_MARKER		"recover.needed"

static void	on_watchdog(int);

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

enum sig_err
watchdog_home(const char *home)
{
	if (snprintf(marker_path, sizeof(marker_path), "%s/%s", home,
	    RECOVER_MARKER) >= (int)sizeof(marker_path))
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
