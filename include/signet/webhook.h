/*
 * The Standard Webhooks signature scheme (standardwebhooks.com): key =
 * base64 of the secret after "whsec_"; signed bytes = msg_id "." timestamp
 * "." payload; signature "v1," + base64(HMAC-SHA256), or for its asymmetric
 * scheme "v1a," + base64 of the 64-byte Ed25519 signature of those bytes.
 */
#ifndef SIGNET_WEBHOOK_H
#define SIGNET_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "signet/err.h"

#define WEBHOOK_SECRET_BYTES	24
#define WEBHOOK_SECRET_LEN	38	/* "whsec_" + 32 base64 chars */
#define WEBHOOK_KEY_MAX		64	/* decoded key bytes we accept */
#define WEBHOOK_SIG_LEN		47	/* "v1," + 44 base64 chars */
#define WEBHOOK_ASIG_LEN	92	/* "v1a," + 88 base64 chars */
#define WEBHOOK_ASIG_BYTES	64	/* an Ed25519 signature */

/*
 * A fresh secret "whsec_" + base64(24 random bytes) into secret
 * (WEBHOOK_SECRET_LEN + 1).  The caller wipes it after use.
 */
enum sig_err	webhook_secret_new(char *secret);

/*
 * Decode a "whsec_..." secret into key (WEBHOOK_KEY_MAX bytes).  Returns
 * 0 and *klen, or -1 when it is not a whsec_ string of base64.
 */
int	webhook_secret_key(const char *secret, unsigned char *key, size_t *klen);

/*
 * Signing (msg_id, timestamp, payload), in two steps so one message can be
 * signed with several keys: the signed bytes (*len bytes, no NUL) in buf
 * when they fit its cap bytes, else in a malloc'd buffer the caller frees
 * (NULL when out of memory); then the signature of those bytes under one
 * key, as "v1,<base64>" into out (WEBHOOK_SIG_LEN + 1).
 */
char	*webhook_content(const char *msg_id, int64_t timestamp,
	    const char *payload, size_t plen, char *buf, size_t cap,
	    size_t *len);
void	webhook_sign_content(const unsigned char *key, size_t klen,
	    const char *content, size_t len, char *out);

/*
 * Whether the webhook-signature header value (space-separated "v1,<sig>"
 * entries; other versions are ignored) holds expected, compared in constant
 * time.  Returns 1 on a match.
 */
int	webhook_header_has(const char *header, const char *expected);

/* The entry "v1a,<base64 of sig>" into out (WEBHOOK_ASIG_LEN + 1). */
void	webhook_v1a_entry(const unsigned char *sig, char *out);

/*
 * The next well-formed "v1a,<base64 of 64 bytes>" entry of a
 * webhook-signature header value from *p on: its signature bytes into sig
 * (WEBHOOK_ASIG_BYTES), *p past it.  Other entries are skipped.  Returns 1,
 * or 0 when no such entry is left.
 */
int	webhook_v1a_next(const char **p, unsigned char *sig);

/*
 * The decimal text of a webhook-timestamp into out (WEBHOOK_TS_MAX bytes,
 * NUL-terminated); returns its length.
 */
#define WEBHOOK_TS_MAX	24
size_t	webhook_timestamp_text(int64_t timestamp, char *out);

/*
 * Parse a webhook-timestamp header value: decimal digits only, at most 12.
 * Returns 0 and *out, or -1.
 */
int	webhook_parse_timestamp(const char *s, int64_t *out);

#endif
