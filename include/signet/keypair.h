/*
 * Key pairs that Signet generates for workspaces (docs/api.md, Workspace
 * signing keys), on
 * GnuTLS: ES256 (P-256), EdDSA (Ed25519), RS256 (RSA 2048).  The private key
 * leaves this module once, as PKCS#8 PEM, and is wiped by keypair_free.
 */
#ifndef SIGNET_KEYPAIR_H
#define SIGNET_KEYPAIR_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <json-c/json.h>

#include "signet/err.h"

struct keypair {
	gnutls_privkey_t priv;
	gnutls_pubkey_t	 pub;
	char		*private_pem;	/* PKCS#8 PEM, NUL-terminated */
	size_t		 private_pem_len;
	char		*public_pem;	/* SubjectPublicKeyInfo PEM */
};

/* Whether alg is one of the algorithms keypair_generate takes. */
int	keypair_alg_valid(const char *alg);

/*
 * Generate a key pair for alg ("ES256", "EdDSA", "RS256") and export both
 * halves as PEM.  On SIG_OK kp holds them; release with keypair_free.
 */
enum sig_err	keypair_generate(const char *alg, struct keypair *kp);

/* Wipe the private PEM and release everything.  Safe on a zeroed kp. */
void	keypair_free(struct keypair *kp);

#endif
