/*
 * One line per message on stderr, or in the log file, written with a single
 * write(2) (O_APPEND: lines of several workers do not mix).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

static int	 log_fd = -1;

int
log_open(const char *path)
{
	int	 fd, saved;

	if (log_fd != -1) {
		close(log_fd);
		log_fd = -1;
	}
	if (path == NULL || *path == '\0')
		return 0;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0600)) == -1) {
		saved = errno;
		log_msg(LOG_WARN, "cannot open the log file %s: %s", path,
		    strerror(saved));
		errno = saved;
		return -1;
	}
	log_fd = fd;
	return 0;
}

/* A finished line to where its level goes. */
static void
emit(enum log_level level, const char *line, size_t n)
{
	if (log_fd != -1)
		(void)!write(log_fd, line, n);
	if (log_fd == -1 || level == LOG_ERR)
		(void)!write(STDERR_FILENO, line, n);
}

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
	emit(level, line, n);
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
	emit(level, line, n);
}
