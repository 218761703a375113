/* One line per message on stderr, written with a single write(2). */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "signet/log.h"

/* The pid, asked once per process (a fork asks again): a line a request. */
static pid_t	 pid;

static void
forget_pid(void)
{
	pid = 0;
}

static pid_t
my_pid(void)
{
	static int	 registered;

	if (!registered) {
		registered = 1;
		(void)pthread_atfork(NULL, NULL, forget_pid);
	}
	if (pid == 0)
		pid = getpid();
	return pid;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info" };
	char	 line[1024];
	int	 n, m;
	va_list	 ap;

	n = snprintf(line, sizeof(line), "signet[%ld] %s: ", (long)my_pid(),
	    names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += (size_t)m >= sizeof(line) - n - 1 ? (int)(sizeof(line) - n - 2) : m;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
