/* Text buffers, fixed and growing (sbuf.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/sbuf.h"

void
sbuf_init(struct sbuf *b, char *buf, size_t size)
{
	b->start = b->p = buf;
	b->end = buf + size - 1;
	b->full = 0;
}

void
sbuf_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->full || (size_t)(b->end - b->p) < n) {
		b->full = 1;
		return;
	}
	memcpy(b->p, s, n);
	b->p += n;
}

void
sbuf_put(struct sbuf *b, const char *s)
{
	sbuf_putn(b, s, strlen(s));
}

void
sbuf_uint(struct sbuf *b, unsigned long long v)
{
	char	 tmp[24], *t = tmp + sizeof(tmp);

	do {
		*--t = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	sbuf_putn(b, t, (size_t)(tmp + sizeof(tmp) - t));
}

void
sbuf_int(struct sbuf *b, long long v)
{
	if (v < 0) {
		sbuf_putn(b, "-", 1);
		sbuf_uint(b, 0ULL - (unsigned long long)v);
	} else
		sbuf_uint(b, (unsigned long long)v);
}

long
sbuf_done(struct sbuf *b)
{
	*b->p = '\0';
	return b->full ? -1 : (long)(b->p - b->start);
}

enum sig_err
textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*grown;
	size_t	 want;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p == NULL ? NULL : b->p + b->len,
		    b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return SIG_EINTERNAL;
		if (b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return SIG_OK;
		}
		want = b->cap * 2 + (size_t)n + 4096;
		if ((grown = realloc(b->p, want)) == NULL)
			return SIG_EINTERNAL;
		b->p = grown;
		b->cap = want;
	}
}
