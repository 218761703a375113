/* Random identifiers and RFC 3339 timestamps. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <uuid/uuid.h>

#include "signet/crypto.h"
#include "signet/ids.h"
#include "signet/validate.h"

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

/* Write n decimal digits of v, zero-padded, at p. */
static char *
put_digits(char *p, unsigned v, int n)
{
	int	 i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

char *
ids_time(int64_t t, int us, char *out)
{
	int64_t		 secs_in = us ? t / 1000000 : t;
	struct tm	 tm;
	time_t		 secs = us ? (time_t)(t / 1000000) : (time_t)t;
	size_t		 n;

	/*
	 * Years 1970-9999, by the civil-from-days algorithm (H. Hinnant):
	 * gmtime_r and strftime cost more than the rest of a key listing.
	 */
	if (t >= 0 && secs_in <= INT64_C(253402300799)) {
		int64_t	 days = secs_in / 86400, sod = secs_in % 86400;
		int64_t	 z = days + 719468, era = z / 146097;
		unsigned doe = (unsigned)(z - era * 146097);
		unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) /
		    365;
		unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
		unsigned mp = (5 * doy + 2) / 153;
		unsigned d = doy - (153 * mp + 2) / 5 + 1;
		unsigned m = mp < 10 ? mp + 3 : mp - 9;
		unsigned y = (unsigned)(yoe + era * 400) + (m <= 2);
		char	*p = out;

		p = put_digits(p, y, 4);
		*p++ = '-';
		p = put_digits(p, m, 2);
		*p++ = '-';
		p = put_digits(p, d, 2);
		*p++ = 'T';
		p = put_digits(p, (unsigned)(sod / 3600), 2);
		*p++ = ':';
		p = put_digits(p, (unsigned)(sod / 60 % 60), 2);
		*p++ = ':';
		p = put_digits(p, (unsigned)(sod % 60), 2);
		if (us) {
			*p++ = '.';
			p = put_digits(p, (unsigned)(t % 1000000), 6);
		}
		*p++ = 'Z';
		*p = '\0';
		return out;
	}
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

/* A fixed-width field of n (at most 4) digits. */
static int
digits(const char *s, int n, int *out)
{
	int64_t	 v;

	if (parse_decimal(s, (size_t)n, 0, 9999, &v) == -1)
		return -1;
	*out = (int)v;
	return 0;
}

int
ids_parse_time(const char *s, int64_t *us)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int	 y, mo, d, h, mi, sec, oh, om, frac = 0, scale = 100000;
	int64_t	 days, t;
	const char *p;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0)))
		return -1;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale > 0) {
				frac += (*p - '0') * scale;
				scale /= 10;
			}
		}
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		oh = om = 0;
	else if ((*p == '+' || *p == '-') && strlen(p) == 6 &&
	    !digits(p + 1, 2, &oh) && p[3] == ':' && !digits(p + 4, 2, &om) &&
	    oh <= 23 && om <= 59) {
		if (*p == '-') {
			oh = -oh;
			om = -om;
		}
	} else
		return -1;
	/* Days from the civil date (Howard Hinnant's algorithm). */
	{
		int64_t yy = y - (mo <= 2);
		int64_t era = yy / 400;
		int64_t yoe = yy - era * 400;
		int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		days = era * 146097 + doe - 719468;
	}
	t = ((days * 24 + h) * 60 + mi) * 60 + sec - (oh * 3600 + om * 60);
	*us = t * 1000000 + frac;
	return 0;
}
