/*
 * Identifiers and timestamps: prefixed random hex ids (acct_, ak_, ep_, sk_,
 * req_ ...) and RFC 3339 UTC times.
 */
#ifndef SIGNET_IDS_H
#define SIGNET_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "signet/err.h"

#define IDS_MAX	64	/* room for any id with its NUL */

/*
 * Write prefix followed by 2 * nbytes lowercase hex digits of fresh random
 * bytes into out (size outsz).  Returns SIG_OK, or SIG_EINTERNAL when the
 * random source fails or out is too small.
 */
enum sig_err	ids_new(const char *prefix, size_t nbytes, char *out,
		    size_t outsz);

/*
 * A new UUIDv7 (RFC 9562 section 5.7) in canonical lowercase form into out
 * (at least 37 bytes): 48-bit Unix milliseconds, version 7, variant 10, and
 * 74 bits that are random for the first id of a millisecond and counted up
 * from there (section 6.2, method 2), so ids made by one process are
 * strictly increasing even within one millisecond or if the clock steps
 * back.  Returns SIG_OK or SIG_EINTERNAL.
 */
enum sig_err	ids_uuid7(char *out);

/* Lowercase hex of n bytes into out (room for 2n + 1). */
void	ids_hex(const unsigned char *in, size_t n, char *out);

/* Current time in microseconds since the Unix epoch. */
int64_t	ids_now_us(void);

/*
 * Format t (Unix seconds, or microseconds when us is non-zero) as RFC 3339
 * UTC: "2025-12-06T12:10:00Z" or "2026-04-21T12:35:24.117631Z".  out has at
 * least 32 bytes.  Returns out.
 */
char	*ids_time(int64_t t, int us, char *out);

/*
 * Parse an RFC 3339 date-time with "Z" or a numeric offset, with or without
 * fractional seconds (up to microseconds are kept), into microseconds since
 * the epoch.  Returns 0, or -1 when malformed or out of range.
 */
int	ids_parse_time(const char *s, int64_t *us);

#endif
