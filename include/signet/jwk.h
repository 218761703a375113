/*
 * JSON Web Keys (RFC 7517, 7518 section 6, RFC 8037) on GnuTLS: parse a
 * public JWK into a gnutls_pubkey_t, its RFC 7638 thumbprint, and the
 * reverse (a public JWK from a key Signet generated).
 *
 * Accepted: kty RSA (n, e; modulus of at least 2048 bits), EC (P-256,
 * P-384, P-521, coordinates of exactly the curve size, the point on the
 * curve), OKP (Ed25519).  Private members are refused.
 */
#ifndef SIGNET_JWK_H
#define SIGNET_JWK_H

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <json-c/json.h>

#include "signet/err.h"

#define JWK_KID_MAX		255
#define JWK_THUMBPRINT_LEN	43	/* base64url of SHA-256 */

struct jwk {
	gnutls_pubkey_t	 pub;
	char		 kty[4];	/* "RSA", "EC", "OKP" */
	char		 crv[8];	/* "P-256", ..., "Ed25519"; "" for RSA */
	unsigned	 bits;		/* RSA modulus size */
	char		 kid[JWK_KID_MAX + 1];	/* "" when absent */
	char		 alg[16];	/* the JWK's "alg", "" when absent */
	char		 thumbprint[JWK_THUMBPRINT_LEN + 1];
	json_object	*public_jwk;	/* just the public members, owned */
};

/*
 * Parse and import the public JWK o.  On SIG_OK k holds an imported key
 * (release with jwk_free).  On SIG_EINVAL msg (SIG_MSG_MAX) says what is
 * wrong, naming the member.
 */
enum sig_err	jwk_parse(json_object *o, struct jwk *k, char *msg);

/* Release what jwk_parse acquired.  Safe on a zeroed or freed jwk. */
void	jwk_free(struct jwk *k);

/*
 * Whether JWS algorithm alg (RFC 7518 names) fits key k: RS256/PS256 for
 * RSA, ES256/ES384/ES512 for P-256/P-384/P-521, EdDSA for Ed25519.
 */
int	jwk_alg_fits(const struct jwk *k, const char *alg);

/* The algorithm a key is used with when its JWK names none. */
const char	*jwk_default_alg(const struct jwk *k);

/*
 * The public JWK of pub (an RSA, EC P-256/384/521 or Ed25519 key), with
 * "kid", "alg" and "use": "sig" added.  On SIG_OK *out is owned by the caller.
 */
enum sig_err	jwk_from_pubkey(gnutls_pubkey_t pub, const char *kid,
		    const char *alg, json_object **out);

#endif
