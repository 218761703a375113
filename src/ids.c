/* Random identifiers and RFC 3339 timestamps. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <uuid/uuid.h>

#include "signet/crypto.h"
#include "signet/ids.h"

void
ids_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

enum sig_err
ids_new(const char *prefix, size_t nbytes, char *out, size_t outsz)
{
	unsigned char	 raw[32];
	size_t		 plen = strlen(prefix);

	if (nbytes > sizeof(raw) || outsz < plen + 2 * nbytes + 1)
		return SIG_EINTERNAL;
	if (crypto_random(raw, nbytes, 0) != SIG_OK)
		return SIG_EINTERNAL;
	memcpy(out, prefix, plen);
	ids_hex(raw, nbytes, out + plen);
	return SIG_OK;
}

int64_t
ids_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *
ids_time(int64_t t, int us, char *out)
{
	struct tm	 tm;
	time_t		 secs = us ? (time_t)(t / 1000000) : (time_t)t;
	size_t		 n;

	gmtime_r(&secs, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	if (us)
		snprintf(out + n, 32 - n, ".%06ldZ", (long)(t % 1000000));
	else
		snprintf(out + n, 32 - n, "Z");
	return out;
}

enum sig_err
ids_uuid7(char *out)
{
	/* The last id this process made: its time and its 74 counted bits. */
	static uint64_t		 last_ms;
	static unsigned char	 last[16];
	unsigned char		 u[16];
	uint64_t		 ms = (uint64_t)(ids_now_us() / 1000);
	int			 i;

	if (ms > last_ms) {
		if (crypto_random(u + 6, 10, 0) != SIG_OK)
			return SIG_EINTERNAL;
		/*
		 * Leave headroom in the counter: the top bit of rand_a starts
		 * at zero, so at least 2^73 ids fit in one millisecond.
		 */
		u[6] &= 0x07;
	} else {
		/* Same millisecond, or the clock went back: count up. */
		ms = last_ms;
		memcpy(u, last, sizeof(u));
		u[6] &= 0x0f;
		u[8] &= 0x3f;
		for (i = 15; i >= 6; i--) {
			if (i == 8) {
				/* Six counter bits here; carry past the variant. */
				if (++u[8] <= 0x3f)
					break;
				u[8] = 0;
				continue;
			}
			if (i == 6) {
				if (++u[6] > 0x0f) {
					/* Exhausted: borrow the next millisecond. */
					ms++;
					if (crypto_random(u + 6, 10, 0) != SIG_OK)
						return SIG_EINTERNAL;
					u[6] &= 0x07;
				}
				break;
			}
			if (++u[i] != 0)
				break;
		}
	}
	for (i = 0; i < 6; i++)
		u[i] = (unsigned char)(ms >> (8 * (5 - i)));
	u[6] = (u[6] & 0x0f) | 0x70;
	u[8] = (u[8] & 0x3f) | 0x80;
	last_ms = ms;
	memcpy(last, u, sizeof(u));
	uuid_unparse_lower(u, out);
	return SIG_OK;
}
