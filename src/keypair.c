/* Workspace key generation and PEM export (crypto layer, GnuTLS). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "signet/crypto.h"
#include "signet/keypair.h"
#include "signet/log.h"

int
keypair_alg_valid(const char *alg)
{
	return strcmp(alg, "ES256") == 0 || strcmp(alg, "EdDSA") == 0 ||
	    strcmp(alg, "RS256") == 0;
}

/* A malloc'd NUL-terminated copy of a GnuTLS datum, which is then wiped. */
static char *
take(gnutls_datum_t *d, size_t *len)
{
	char	*s = malloc(d->size + 1);

	if (s != NULL) {
		memcpy(s, d->data, d->size);
		s[d->size] = '\0';
		if (len != NULL)
			*len = d->size;
	}
	crypto_wipe(d->data, d->size);
	gnutls_free(d->data);
	d->data = NULL;
	return s;
}

enum sig_err
keypair_generate(const char *alg, struct keypair *kp)
{
	gnutls_x509_privkey_t	 xk = NULL;
	gnutls_datum_t		 pem = { NULL, 0 };
	gnutls_pk_algorithm_t	 pk;
	unsigned		 bits;

	memset(kp, 0, sizeof(*kp));
	if (strcmp(alg, "ES256") == 0) {
		pk = GNUTLS_PK_ECDSA;
		bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
	} else if (strcmp(alg, "EdDSA") == 0) {
		pk = GNUTLS_PK_EDDSA_ED25519;
		bits = 0;
	} else if (strcmp(alg, "RS256") == 0) {
		pk = GNUTLS_PK_RSA;
		bits = 2048;
	} else
		return SIG_EINVAL;
	if (gnutls_privkey_init(&kp->priv) < 0 ||
	    gnutls_privkey_generate2(kp->priv, pk, bits, 0, NULL, 0) < 0 ||
	    gnutls_privkey_export_x509(kp->priv, &xk) < 0 ||
	    gnutls_x509_privkey_export2_pkcs8(xk, GNUTLS_X509_FMT_PEM, NULL,
	    GNUTLS_PKCS_PLAIN, &pem) < 0)
		goto fail;
	if ((kp->private_pem = take(&pem, &kp->private_pem_len)) == NULL)
		goto fail;
	if (gnutls_pubkey_init(&kp->pub) < 0 ||
	    gnutls_pubkey_import_privkey(kp->pub, kp->priv, 0, 0) < 0 ||
	    gnutls_pubkey_export2(kp->pub, GNUTLS_X509_FMT_PEM, &pem) < 0 ||
	    (kp->public_pem = take(&pem, NULL)) == NULL)
		goto fail;
	gnutls_x509_privkey_deinit(xk);
	return SIG_OK;
fail:
	log_msg(LOG_ERR, "key generation for %s failed", alg);
	if (pem.data != NULL) {
		crypto_wipe(pem.data, pem.size);
		gnutls_free(pem.data);
	}
	if (xk != NULL)
		gnutls_x509_privkey_deinit(xk);
	keypair_free(kp);
	return SIG_EINTERNAL;
}

void
keypair_free(struct keypair *kp)
{
	if (kp->private_pem != NULL) {
		crypto_wipe(kp->private_pem, kp->private_pem_len);
		free(kp->private_pem);
	}
	free(kp->public_pem);
	if (kp->priv != NULL)
		gnutls_privkey_deinit(kp->priv);
	if (kp->pub != NULL)
		gnutls_pubkey_deinit(kp->pub);
	memset(kp, 0, sizeof(*kp));
}
