/*
 * The crypto module: randomness, hashes, HMAC, AES-256-GCM sealing of
 * secrets at rest, constant-time compares and clearing, all on GnuTLS.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "signet/b64.h"
#include "signet/crypto.h"
#include "signet/log.h"

#define SEAL_VERSION	1
#define SEAL_IV_LEN	12
#define SEAL_TAG_LEN	16
#define SEAL_MAX_PT	(64 * 1024)

enum sig_err
crypto_init(void)
{
	static int done;

	if (done)
		return SIG_OK;
	if (gnutls_global_init() < 0)
		return SIG_EINTERNAL;
	done = 1;
	return SIG_OK;
}

enum sig_err
crypto_random(void *buf, size_t n, int key)
{
	if (gnutls_rnd(key ? GNUTLS_RND_KEY : GNUTLS_RND_NONCE, buf, n) < 0) {
		log_msg(LOG_ERR, "random number generator failed");
		return SIG_EINTERNAL;
	}
	return SIG_OK;
}

void
crypto_sha256(const void *data, size_t len, unsigned char *out)
{
	(void)gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out);
}

void
crypto_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
    unsigned char *out)
{
	(void)gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, klen, msg, mlen, out);
}

void
crypto_hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen,
    unsigned char *out)
{
	(void)gnutls_hmac_fast(GNUTLS_MAC_SHA1, key, klen, msg, mlen, out);
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	return gnutls_memcmp(a, b, n) == 0;
}

void
crypto_wipe(void *p, size_t n)
{
	if (p != NULL)
		gnutls_memset(p, 0, n);
}

/* A datum, wiped and freed. */
static void
free_datum(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		gnutls_memset(d->data, 0, d->size);
		gnutls_free(d->data);
		d->data = NULL;
	}
}

enum sig_err
crypto_ed25519_new(unsigned char *seed, unsigned char *pub)
{
	gnutls_privkey_t	 k = NULL;
	gnutls_ecc_curve_t	 curve;
	gnutls_datum_t		 x = { NULL, 0 }, d = { NULL, 0 };
	enum sig_err		 rc = SIG_EINTERNAL;

	if (gnutls_privkey_init(&k) < 0)
		return SIG_EINTERNAL;
	if (gnutls_privkey_generate2(k, GNUTLS_PK_EDDSA_ED25519, 0, 0, NULL,
	    0) == 0 && gnutls_privkey_export_ecc_raw2(k, &curve, &x, NULL, &d,
	    0) == 0 && curve == GNUTLS_ECC_CURVE_ED25519 &&
	    x.size == CRYPTO_ED25519_LEN && d.size == CRYPTO_ED25519_LEN) {
		memcpy(pub, x.data, CRYPTO_ED25519_LEN);
		memcpy(seed, d.data, CRYPTO_ED25519_LEN);
		rc = SIG_OK;
	}
	free_datum(&x);
	free_datum(&d);
	gnutls_privkey_deinit(k);
	return rc;
}

enum sig_err
crypto_ed25519_sign(const unsigned char *seed, const unsigned char *pub,
    const void *msg, size_t len, unsigned char *sig)
{
	gnutls_privkey_t	 k = NULL;
	gnutls_datum_t		 x = { (unsigned char *)pub, CRYPTO_ED25519_LEN };
	gnutls_datum_t		 d = { (unsigned char *)seed, CRYPTO_ED25519_LEN };
	gnutls_datum_t		 m = { (unsigned char *)msg, (unsigned)len };
	gnutls_datum_t		 s = { NULL, 0 };
	enum sig_err		 rc = SIG_EINTERNAL;

	if (gnutls_privkey_init(&k) < 0)
		return SIG_EINTERNAL;
	if (gnutls_privkey_import_ecc_raw(k, GNUTLS_ECC_CURVE_ED25519, &x,
	    NULL, &d) == 0 && gnutls_privkey_sign_data2(k,
	    GNUTLS_SIGN_EDDSA_ED25519, 0, &m, &s) == 0 &&
	    s.size == CRYPTO_ED25519_SIG_LEN) {
		memcpy(sig, s.data, CRYPTO_ED25519_SIG_LEN);
		rc = SIG_OK;
	}
	free_datum(&s);
	gnutls_privkey_deinit(k);
	return rc;
}

int
crypto_ed25519_verify(const unsigned char *pub, const void *msg, size_t len,
    const unsigned char *sig)
{
	gnutls_pubkey_t	 k = NULL;
	gnutls_datum_t	 x = { (unsigned char *)pub, CRYPTO_ED25519_LEN };
	gnutls_datum_t	 m = { (unsigned char *)msg, (unsigned)len };
	gnutls_datum_t	 s = { (unsigned char *)sig, CRYPTO_ED25519_SIG_LEN };
	int		 ok;

	if (gnutls_pubkey_init(&k) < 0)
		return 0;
	ok = gnutls_pubkey_import_ecc_raw(k, GNUTLS_ECC_CURVE_ED25519, &x,
	    NULL) == 0 && gnutls_pubkey_verify_data2(k,
	    GNUTLS_SIGN_EDDSA_ED25519, 0, &m, &s) >= 0;
	gnutls_pubkey_deinit(k);
	return ok;
}

enum sig_err
crypto_master_create(const char *path)
{
	struct master_key mk;
	enum sig_err	 rc = SIG_EINTERNAL;
	int		 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return errno == EEXIST ? SIG_EEXISTS : SIG_EINTERNAL;
	if (crypto_random(mk.k, sizeof(mk.k), 1) != SIG_OK)
		goto fail;
	if (write(fd, mk.k, sizeof(mk.k)) != (ssize_t)sizeof(mk.k) ||
	    fsync(fd) == -1)
		goto fail;
	rc = SIG_OK;
fail:
	crypto_wipe(&mk, sizeof(mk));
	if (close(fd) == -1)
		rc = SIG_EINTERNAL;
	if (rc != SIG_OK)
		(void)unlink(path);
	return rc;
}

enum sig_err
crypto_master_load(const char *path, struct master_key *mk)
{
	unsigned char	 extra;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_msg(LOG_ERR, "cannot open master key %s: %s", path,
		    strerror(errno));
		return SIG_EINTERNAL;
	}
	n = read(fd, mk->k, sizeof(mk->k));
	if (n != (ssize_t)sizeof(mk->k) || read(fd, &extra, 1) != 0) {
		close(fd);
		crypto_wipe(mk, sizeof(*mk));
		log_msg(LOG_ERR, "master key %s is not %d bytes", path,
		    CRYPTO_MASTER_KEY_LEN);
		return SIG_EINTERNAL;
	}
	close(fd);
	return SIG_OK;
}

/*
 * The AES-256-GCM handle for the master key, set up once per process and
 * kept while the key is the same bytes (a process uses one master key; the
 * unit tests use several).  A worker unseals two secrets per sign request,
 * and setting a handle up (key schedule, GHASH table) cost more than the
 * decryption.  The copy of the key lives as long as the process's own.
 */
static struct {
	int			 set;
	unsigned char		 k[CRYPTO_MASTER_KEY_LEN];
	gnutls_aead_cipher_hd_t	 h;
} aead;

static enum sig_err
aead_get(const struct master_key *mk, gnutls_aead_cipher_hd_t *h)
{
	gnutls_datum_t	 key;

	if (aead.set && crypto_equal(aead.k, mk->k, sizeof(aead.k))) {
		*h = aead.h;
		return SIG_OK;
	}
	if (aead.set) {
		gnutls_aead_cipher_deinit(aead.h);
		crypto_wipe(&aead, sizeof(aead));
	}
	key.data = (unsigned char *)mk->k;
	key.size = sizeof(mk->k);
	if (gnutls_aead_cipher_init(&aead.h, GNUTLS_CIPHER_AES_256_GCM,
	    &key) < 0)
		return SIG_EINTERNAL;
	memcpy(aead.k, mk->k, sizeof(aead.k));
	aead.set = 1;
	*h = aead.h;
	return SIG_OK;
}

enum sig_err
crypto_seal(const struct master_key *mk, const char *aad, const void *pt,
    size_t n, char **out)
{
	gnutls_aead_cipher_hd_t h;
	unsigned char	*raw = NULL;
	size_t		 rawlen, ctlen;
	enum sig_err	 rc;

	*out = NULL;
	if (n > SEAL_MAX_PT)
		return SIG_EINTERNAL;
	rawlen = 1 + SEAL_IV_LEN + n + SEAL_TAG_LEN;
	if ((raw = malloc(rawlen)) == NULL)
		return SIG_EINTERNAL;
	raw[0] = SEAL_VERSION;
	if ((rc = crypto_random(raw + 1, SEAL_IV_LEN, 0)) != SIG_OK)
		goto fail;
	if ((rc = aead_get(mk, &h)) != SIG_OK)
		goto fail;
	ctlen = n + SEAL_TAG_LEN;
	if (gnutls_aead_cipher_encrypt(h, raw + 1, SEAL_IV_LEN, aad,
	    strlen(aad), SEAL_TAG_LEN, pt, n, raw + 1 + SEAL_IV_LEN,
	    &ctlen) < 0 || ctlen != n + SEAL_TAG_LEN)
		rc = SIG_EINTERNAL;
	if (rc != SIG_OK)
		goto fail;
	if ((*out = malloc(b64_encoded_len(rawlen) + 1)) == NULL) {
		rc = SIG_EINTERNAL;
		goto fail;
	}
	b64_encode(raw, rawlen, *out);
fail:
	free(raw);
	return rc;
}

/* Sealed values up to this size are decoded on the stack. */
#define SEAL_SMALL	512

enum sig_err
crypto_open_buf(const struct master_key *mk, const char *aad,
    const char *sealed, unsigned char *pt, size_t cap, size_t *n)
{
	gnutls_aead_cipher_hd_t h;
	unsigned char	 small[SEAL_SMALL / 4 * 3 + 3], *raw = small;
	size_t		 slen, rawlen = 0, ptlen;
	enum sig_err	 rc = SIG_EINTERNAL;

	*n = 0;
	slen = strlen(sealed);
	if (slen > b64_encoded_len(1 + SEAL_IV_LEN + SEAL_MAX_PT + SEAL_TAG_LEN))
		return SIG_EINTERNAL;
	if (slen > SEAL_SMALL && (raw = malloc(slen / 4 * 3 + 3)) == NULL)
		return SIG_EINTERNAL;
	if (b64_decode(sealed, slen, raw, &rawlen) != 0 ||
	    rawlen < 1 + SEAL_IV_LEN + SEAL_TAG_LEN || raw[0] != SEAL_VERSION)
		goto done;
	/* GnuTLS wants room for the tag as well. */
	ptlen = rawlen - 1 - SEAL_IV_LEN;
	if (ptlen > cap || aead_get(mk, &h) != SIG_OK)
		goto done;
	if (gnutls_aead_cipher_decrypt(h, raw + 1, SEAL_IV_LEN, aad,
	    strlen(aad), SEAL_TAG_LEN, raw + 1 + SEAL_IV_LEN,
	    rawlen - 1 - SEAL_IV_LEN, pt, &ptlen) >= 0) {
		*n = ptlen;
		rc = SIG_OK;
	}
done:
	if (raw != small)
		free(raw);
	return rc;
}

enum sig_err
crypto_open(const struct master_key *mk, const char *aad, const char *sealed,
    unsigned char **pt, size_t *n)
{
	unsigned char	*plain;
	size_t		 cap;
	enum sig_err	 rc;

	*pt = NULL;
	*n = 0;
	/* The plaintext is shorter than the decoded bytes; one spare byte. */
	cap = strlen(sealed) / 4 * 3 + 3;
	if ((plain = malloc(cap)) == NULL)
		return SIG_EINTERNAL;
	if ((rc = crypto_open_buf(mk, aad, sealed, plain, cap, n)) != SIG_OK) {
		crypto_wipe(plain, cap);
		free(plain);
		return rc;
	}
	*pt = plain;
	return SIG_OK;
}
