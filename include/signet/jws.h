/*
 * JSON Web Signatures in compact serialization (RFC 7515), with a detached
 * payload too (appendix F), for the algorithms RS256, PS256, ES256, ES384,
 * ES512 (raw r||s, RFC 7518 section 3.4) and EdDSA (RFC 8037).  "none", the
 * HMAC algorithms, "crit" headers and unencoded payloads (RFC 7797) are
 * refused.
 */
#ifndef SIGNET_JWS_H
#define SIGNET_JWS_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <json-c/json.h>

#include "signet/err.h"
#include "signet/jwk.h"

#define JWS_REASON_MAX	160
#define JWS_MAX_LEN	(1024 * 1024)

struct jws {
	json_object	*header;	/* the protected header, owned */
	char		 alg[16];
	char		 kid[JWK_KID_MAX + 1];	/* "" when absent */
	char		*input;		/* signing input, owned */
	size_t		 input_len;
	unsigned char	*sig;		/* decoded signature, owned */
	size_t		 sig_len;
	unsigned char	*payload;	/* decoded payload, owned, NUL-terminated */
	size_t		 payload_len;
};

/*
 * Parse compact (NUL-terminated).  When its payload part is empty and
 * detached is not NULL, detached[0..dlen) is the payload (RFC 7515 appendix
 * F).  Returns 0, or -1 with reason (JWS_REASON_MAX) telling the user what is
 * wrong; j is then already released.
 */
int	jws_parse(const char *compact, const char *detached, size_t dlen,
	    struct jws *j, char *reason);

/* Release j.  Safe on a zeroed or released jws. */
void	jws_free(struct jws *j);

/*
 * Verify j's signature with key k.  The alg must fit the key.  Returns 1
 * when valid, 0 with reason otherwise.
 */
int	jws_verify(const struct jws *j, const struct jwk *k, char *reason);

/*
 * Sign payload with key under alg (one of the accepted algorithms) and
 * header kid, producing a compact JWS with a "typ": typ header when typ is
 * not NULL.  *out is malloc'd.  Used for tests and self-checks.
 */
enum sig_err	jws_sign(gnutls_privkey_t key, const char *alg, const char *kid,
		    const char *typ, const char *payload, size_t plen,
		    char **out);

#endif
