/* One line per message on stderr, written with a single write(2). */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "signet/log.h"
#include "signet/sbuf.h"

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

#define LINE_MAX_BYTES	1024

/* "signet[pid] level: " into line; returns its length. */
static size_t
prefix(enum log_level level, char *line)
{
	static const char *names[] = { "error", "warning", "info" };
	struct sbuf	 b;

	sbuf_init(&b, line, LINE_MAX_BYTES);
	sbuf_put(&b, "signet[");
	sbuf_uint(&b, (unsigned long long)my_pid());
	sbuf_put(&b, "] ");
	sbuf_put(&b, names[level]);
	sbuf_put(&b, ": ");
	return (size_t)sbuf_done(&b);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char	 line[LINE_MAX_BYTES];
	size_t	 n;
	int	 m;
	va_list	 ap;

	n = prefix(level, line);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += (size_t)m >= sizeof(line) - n - 1 ? sizeof(line) - n - 2 :
	    (size_t)m;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void
log_text(enum log_level level, const char *text, size_t len)
{
	char	 line[LINE_MAX_BYTES];
	size_t	 n;

	n = prefix(level, line);
	if (len > sizeof(line) - n - 1)
		len = sizeof(line) - n - 1;
	memcpy(line + n, text, len);
	n += len;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
