/* RFC 6238 TOTP codes and RFC 4648 base32. */
#include "config.h"

#include <string.h>

#include "signet/crypto.h"
#include "signet/totp.h"

uint32_t
totp_code(const unsigned char *key, size_t klen, uint64_t counter, int digits)
{
	unsigned char	 msg[8], mac[CRYPTO_SHA1_LEN];
	uint32_t	 v, mod = 1;
	int		 i, off;

	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	crypto_hmac_sha1(key, klen, msg, sizeof(msg), mac);
	off = mac[CRYPTO_SHA1_LEN - 1] & 0x0f;
	v = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
	    (uint32_t)mac[off + 2] << 8 | mac[off + 3];
	crypto_wipe(mac, sizeof(mac));
	for (i = 0; i < digits; i++)
		mod *= 10;
	return v % mod;
}

uint64_t
totp_check(const unsigned char *key, size_t klen, const char *code,
    int64_t now, uint64_t last_used)
{
	char		 want[TOTP_DIGITS + 1];
	uint64_t	 step, match = 0;
	size_t		 i;
	int		 d;

	if (code == NULL || strlen(code) != TOTP_DIGITS || now < TOTP_STEP)
		return 0;
	for (i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	step = (uint64_t)now / TOTP_STEP;
	for (d = -1; d <= 1; d++) {
		uint64_t s = step + (uint64_t)(int64_t)d;
		uint32_t c = totp_code(key, klen, s, TOTP_DIGITS);

		for (i = TOTP_DIGITS; i-- > 0; c /= 10)
			want[i] = (char)('0' + c % 10);
		want[TOTP_DIGITS] = '\0';
		if (crypto_equal(want, code, TOTP_DIGITS) && s > last_used &&
		    match == 0)
			match = s;
	}
	crypto_wipe(want, sizeof(want));
	return match;
}

void
totp_base32(const unsigned char *in, size_t n, char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint32_t	 buf = 0;
	size_t		 i, o = 0;
	int		 bits = 0;

	for (i = 0; i < n; i++) {
		buf = buf << 8 | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(buf << (5 - bits)) & 31];
	out[o] = '\0';
}
