/*
 * Every cryptographic primitive Signet uses, on GnuTLS.  Nothing else in the
 * program calls GnuTLS's primitives directly.
 */
#ifndef SIGNET_CRYPTO_H
#define SIGNET_CRYPTO_H

#include <stddef.h>

#include "signet/err.h"

#define CRYPTO_MASTER_KEY_LEN	32
#define CRYPTO_SHA256_LEN	32
#define CRYPTO_SHA1_LEN		20
#define CRYPTO_ED25519_LEN	32	/* a public key, and a private seed */
#define CRYPTO_ED25519_SIG_LEN	64

struct master_key {
	unsigned char	 k[CRYPTO_MASTER_KEY_LEN];
};

/* Initialise GnuTLS once per process.  Returns SIG_OK or SIG_EINTERNAL. */
enum sig_err	crypto_init(void);

/*
 * Fill buf with n random bytes: key-grade when key is non-zero (secrets,
 * tokens), nonce-grade otherwise (ids, IVs).  Returns SIG_OK or SIG_EINTERNAL.
 */
enum sig_err	crypto_random(void *buf, size_t n, int key);

/* SHA-256 and HMAC; out has CRYPTO_SHA256_LEN (CRYPTO_SHA1_LEN) bytes. */
void	crypto_sha256(const void *data, size_t len, unsigned char *out);
void	crypto_hmac_sha256(const void *key, size_t klen, const void *msg,
	    size_t mlen, unsigned char *out);
void	crypto_hmac_sha1(const void *key, size_t klen, const void *msg,
	    size_t mlen, unsigned char *out);

/* Constant-time equality of two n-byte buffers: 1 when equal. */
int	crypto_equal(const void *a, const void *b, size_t n);

/* Clear key material in a way the compiler cannot drop.  NULL is accepted. */
void	crypto_wipe(void *p, size_t n);

/*
 * Create the master key file at path (mode 0600, exclusive) with fresh
 * random bytes.  Returns SIG_OK, SIG_EEXISTS when it is already there, or
 * SIG_EINTERNAL.
 */
enum sig_err	crypto_master_create(const char *path);

/* Read the master key from path into mk.  SIG_OK or SIG_EINTERNAL. */
enum sig_err	crypto_master_load(const char *path, struct master_key *mk);

/*
 * A new Ed25519 key pair (RFC 8032): the 32-byte private seed into seed
 * (the caller wipes it) and the 32-byte public key into pub.  Returns
 * SIG_OK or SIG_EINTERNAL.
 */
enum sig_err	crypto_ed25519_new(unsigned char *seed, unsigned char *pub);

/*
 * Sign msg with the key pair (seed, pub): the 64-byte signature into sig.
 * Returns SIG_OK, or SIG_EINTERNAL when the pair does not import.
 */
enum sig_err	crypto_ed25519_sign(const unsigned char *seed,
		    const unsigned char *pub, const void *msg, size_t len,
		    unsigned char *sig);

/* Whether sig (64 bytes) is pub's Ed25519 signature of msg: 1 or 0. */
int	crypto_ed25519_verify(const unsigned char *pub, const void *msg,
	    size_t len, const unsigned char *sig);

/*
 * Encrypt n bytes of pt with AES-256-GCM under mk, with aad (the record id)
 * as associated data.  *out receives a NUL-terminated base64 string of
 * version byte || 12-byte nonce || ciphertext || 16-byte tag, owned by the
 * caller (free()).  Returns SIG_OK or SIG_EINTERNAL.
 */
enum sig_err	crypto_seal(const struct master_key *mk, const char *aad,
		    const void *pt, size_t n, char **out);

/*
 * Reverse crypto_seal.  *pt receives a buffer of *n bytes owned by the
 * caller, who wipes and frees it.  SIG_EINTERNAL when the data or tag do not
 * authenticate (wrong key, wrong record id, tampering).
 */
enum sig_err	crypto_open(const struct master_key *mk, const char *aad,
		    const char *sealed, unsigned char **pt, size_t *n);

/*
 * crypto_open into pt, a buffer of cap bytes the caller wipes: no
 * allocation for small values.  SIG_EINTERNAL also when cap is too small
 * (cap must leave room for the 16-byte tag: plaintext + 16 suffices).
 */
enum sig_err	crypto_open_buf(const struct master_key *mk, const char *aad,
		    const char *sealed, unsigned char *pt, size_t cap,
		    size_t *n);

#endif
