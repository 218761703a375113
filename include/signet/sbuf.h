/*
 * Text built into a fixed buffer without printf: the response head and the
 * request log line, written on every request.  An append that does not fit
 * marks the buffer full and writes nothing more.
 */
#ifndef SIGNET_SBUF_H
#define SIGNET_SBUF_H

#include <stddef.h>

struct sbuf {
	char	*p, *end;	/* next byte; one past the last usable byte */
	char	*start;
	int	 full;
};

/* Start on buf of size bytes (size > 0: one is kept for a NUL). */
void	sbuf_init(struct sbuf *, char *buf, size_t size);
/* Append n bytes of s, or the C string s. */
void	sbuf_putn(struct sbuf *, const char *s, size_t n);
void	sbuf_put(struct sbuf *, const char *s);
/* Append v in decimal. */
void	sbuf_uint(struct sbuf *, unsigned long long v);
void	sbuf_int(struct sbuf *, long long v);
/* The text so far, NUL-terminated, and its length; -1 when it overflowed. */
long	sbuf_done(struct sbuf *);

#endif
