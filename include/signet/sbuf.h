/*
 * Text buffers.  struct sbuf: text built into a fixed buffer without
 * printf, for the response head and the request log line written on every
 * request; an append that does not fit marks the buffer full and writes
 * nothing more.  struct textbuf: a malloc'd buffer that grows as printf
 * appends to it, for documents of unbounded size (/metrics).
 */
#ifndef SIGNET_SBUF_H
#define SIGNET_SBUF_H

#include <stddef.h>

#include "signet/err.h"

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

/*
 * A growing text buffer; start it as { NULL, 0, 0 }.  p is malloc'd (NUL
 * terminated once anything was appended) and owned by whoever holds the
 * buffer, who frees it.
 */
struct textbuf {
	char	*p;
	size_t	 len, cap;
};

/*
 * printf-append to b, growing it as needed.  Returns SIG_OK, or
 * SIG_EINTERNAL (out of memory, a bad format) with b still valid.
 */
enum sig_err	textbuf_printf(struct textbuf *b, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

#endif
