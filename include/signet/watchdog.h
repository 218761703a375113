/*
 * The storage watchdog.  A process SIGKILLed while it held one of Berkeley
 * DB's region mutexes leaves that (non-robust) pthread mutex locked for
 * ever: the next failchk, and any live process that needs the mutex, then
 * blocks.  No call returns, so a timer does the only thing left: it leaves
 * a marker file in SIGNET_HOME (recover.needed) asking the next opener for
 * full recovery, and ends the process with status 75.  When every process
 * that shared the stuck regions is gone, the next opener finds the marker,
 * recovers (recreating the regions), and service resumes.
 */
#ifndef SIGNET_WATCHDOG_H
#define SIGNET_WATCHDOG_H

#include "signet/err.h"

/*
 * Name the data directory whose marker the watchdog leaves and the store
 * looks for (home/recover.needed); home is copied.  Until it is named,
 * watchdog_arm does nothing.  Returns SIG_OK, or SIG_EINVAL when the path
 * is too long (the store then refuses to open).
 */
enum sig_err	watchdog_home(const char *home);

/*
 * Arm (seconds > 0) or disarm (0) the watchdog.  Workers arm it around
 * each request; the store arms it around the environment open and close.
 * Uses SIGALRM (SA_RESTART, installed at the first arming); the alarm is
 * re-armed at most once a second, so an armed watchdog fires between
 * seconds - 1 and seconds after the call, and a disarmed one may still
 * deliver a SIGALRM that does nothing.
 */
void	watchdog_arm(unsigned seconds);

/*
 * Cancel the pending alarm and return the seconds it had left (0: none),
 * for a caller that arms the watchdog for a step of its own and then gives
 * the request its remaining time back with watchdog_arm(left).
 */
unsigned	watchdog_suspend(void);

/*
 * Whether the marker is there (a watchdog fired since the last recovery):
 * the store then opens with full recovery instead of failchk.
 */
int	watchdog_marker_present(void);

/* Remove the marker, after the recovery it asked for succeeded. */
void	watchdog_marker_clear(void);

#endif
