/* Random identifiers and RFC 3339 timestamps. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

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
