/* Standard Webhooks signing and signature matching. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/b64.h"
#include "signet/crypto.h"
#include "signet/sbuf.h"
#include "signet/validate.h"
#include "signet/webhook.h"

#define SECRET_PREFIX	"whsec_"

enum sig_err
webhook_secret_new(char *secret)
{
	unsigned char	 raw[WEBHOOK_SECRET_BYTES];
	enum sig_err	 rc;

	if ((rc = crypto_random(raw, sizeof(raw), 1)) != SIG_OK)
		return rc;
	memcpy(secret, SECRET_PREFIX, 6);
	b64_encode(raw, sizeof(raw), secret + 6);
	crypto_wipe(raw, sizeof(raw));
	return SIG_OK;
}

int
webhook_secret_key(const char *secret, unsigned char *key, size_t *klen)
{
	size_t	 len;

	if (strncmp(secret, SECRET_PREFIX, 6) != 0)
		return -1;
	secret += 6;
	len = strlen(secret);
	if (len == 0 || len / 4 * 3 > WEBHOOK_KEY_MAX)
		return -1;
	return b64_decode(secret, len, key, klen);
}

size_t
webhook_timestamp_text(int64_t timestamp, char *out)
{
	struct sbuf	 b;

	sbuf_init(&b, out, WEBHOOK_TS_MAX);
	sbuf_int(&b, timestamp);
	return (size_t)sbuf_done(&b);
}

char *
webhook_content(const char *msg_id, int64_t timestamp, const char *payload,
    size_t plen, char *buf, size_t cap, size_t *len)
{
	char	 ts[WEBHOOK_TS_MAX], *msg = buf;
	size_t	 idlen = strlen(msg_id), tslen, n;

	tslen = webhook_timestamp_text(timestamp, ts);
	n = idlen + 1 + tslen + 1 + plen;
	if (n > cap && (msg = malloc(n)) == NULL)
		return NULL;
	memcpy(msg, msg_id, idlen);
	msg[idlen] = '.';
	memcpy(msg + idlen + 1, ts, tslen);
	msg[idlen + 1 + tslen] = '.';
	memcpy(msg + idlen + tslen + 2, payload, plen);
	*len = n;
	return msg;
}

void
webhook_sign_content(const unsigned char *key, size_t klen,
    const char *content, size_t len, char *out)
{
	unsigned char	 mac[CRYPTO_SHA256_LEN];

	crypto_hmac_sha256(key, klen, content, len, mac);
	memcpy(out, "v1,", 3);
	b64_encode(mac, sizeof(mac), out + 3);
}

int
webhook_header_has(const char *header, const char *expected)
{
	const char	*p = header, *end;
	size_t		 elen = strlen(expected), len;
	int		 found = 0;

	if (elen == 0)
		return 0;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		end = p + strcspn(p, " ");
		len = (size_t)(end - p);
		/* Lengths are public; the bytes are compared in constant time. */
		if (len == elen && crypto_equal(p, expected, elen))
			found = 1;
		p = end;
	}
	return found;
}

void
webhook_v1a_entry(const unsigned char *sig, char *out)
{
	memcpy(out, "v1a,", 4);
	(void)b64_encode(sig, WEBHOOK_ASIG_BYTES, out + 4);
}

int
webhook_v1a_next(const char **p, unsigned char *sig)
{
	const char	*s = *p, *end;
	unsigned char	 buf[WEBHOOK_ASIG_BYTES + 3];
	size_t		 len, n;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		end = s + strcspn(s, " ");
		len = (size_t)(end - s);
		if (len == WEBHOOK_ASIG_LEN && strncmp(s, "v1a,", 4) == 0 &&
		    b64_decode(s + 4, len - 4, buf, &n) == 0 &&
		    n == WEBHOOK_ASIG_BYTES) {
			memcpy(sig, buf, WEBHOOK_ASIG_BYTES);
			*p = end;
			return 1;
		}
		s = end;
	}
	*p = s;
	return 0;
}

int
webhook_parse_timestamp(const char *s, int64_t *out)
{
	size_t	 n = strlen(s);

	/* At most 12 digits, leading zeros included. */
	if (n > 12)
		return -1;
	return parse_decimal(s, n, 0, INT64_MAX, out);
}
