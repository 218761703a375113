/*
 * Logging to stderr, which the web server keeps in its error log.  Callers
 * never pass secrets: no token, signing secret, private key or OTP belongs in
 * a log line.
 */
#ifndef SIGNET_LOG_H
#define SIGNET_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO };

/* Print one line "signet[pid] level: message" to stderr. */
void log_msg(enum log_level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same for len bytes of text, already formatted (cut at the line size). */
void log_text(enum log_level, const char *text, size_t len);

#endif
