/*
 * Logging to stderr, which the web server keeps in its error log, or to the
 * file of the log_file setting (log_open).  Callers never pass secrets: no
 * token, signing secret, private key or OTP belongs in a log line.
 */
#ifndef SIGNET_LOG_H
#define SIGNET_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO };

/*
 * Send this process's lines to path too (appended, created 0600; the
 * descriptor is not inherited by exec).  Afterwards every line goes to the
 * file and errors to stderr as well, so the web server's error log keeps
 * them.  NULL or "" goes back to stderr alone.  Returns 0, or -1 with errno
 * when the file cannot be opened (lines then go to stderr alone).
 */
int log_open(const char *path);

/*
 * Print one line "signet[pid] level: message" to stderr (and the log file,
 * see log_open).
 */
void log_msg(enum log_level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same for len bytes of text, already formatted (cut at the line size). */
void log_text(enum log_level, const char *text, size_t len);

#endif
