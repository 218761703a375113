/*
 * API keys and their tokens (docs/api.md, Authentication and API keys).
 * A token is "sgk_" + 43
 * base64url characters (32 random bytes); the store keeps only its SHA-256.
 */
#ifndef SIGNET_AUTH_H
#define SIGNET_AUTH_H

#include <stdint.h>

#include "signet/crypto.h"
#include "signet/err.h"
#include "signet/ids.h"
#include "signet/store.h"

#define AUTH_NAME_MAX	128
#define AUTH_TOKEN_LEN	47	/* "sgk_" + 43 */
/* The longest a worker keeps a resolved token (a revocation's bound). */
#define AUTH_CACHE_TTL_S	10

struct principal {
	char	 account[IDS_MAX];
	char	 apikey[IDS_MAX];
	char	 name[AUTH_NAME_MAX + 1];
	int	 admin;
};

/*
 * Parse an Authorization header value: "Bearer <token>" (scheme matched
 * case-insensitively), or also "ServiceToken <token>" when service is set.
 * Copies the token into token (AUTH_TOKEN_LEN + 1 bytes).  Returns 1 when the
 * header is well-formed, 0 otherwise.
 */
int	auth_parse_header(const char *header, int service, char *token);

/*
 * The credential generation rule (auth.c says why it is safe): a worker
 * may keep what a token resolved to only while the shared credential
 * generation is unchanged, and every revocation bumps it after its commit.
 * Returns 1 and *gen, read before a lookup, under which a principal that
 * lookup resolves may be kept; 0 when nothing may be kept (the shared file
 * is not mapped, or s is a site of a replication group).
 */
int	auth_generation(const struct store *s, uint64_t *gen);

/*
 * Tell every process of SIGNET_HOME that an API key revocation committed:
 * bump the generation.  Returns 1, or 0 when this process has not mapped
 * the shared file (shm_map / shm_attach), and then could not tell them.
 */
int	auth_revoked(void);

/*
 * Resolve a token to its principal for one request: from this worker's
 * cache when the token resolved before and no API key has been revoked
 * since (auth_generation), else
 * in a transaction of its own.  Only successful lookups are kept, by the
 * token's SHA-256, never the token.  Without the shared file, or on a
 * replicated site, nothing is kept.  Returns SIG_OK, SIG_EUNAUTH for an
 * unknown or revoked key, or a store error.
 */
enum sig_err	auth_check(struct store *, const char *token,
		    struct principal *who);

/* Forget (and wipe) every principal auth_check kept. */
void	auth_forget(void);

/*
 * Create an account named name.  id receives "acct_" + 32 hex.  Runs its
 * own transaction.
 */
enum sig_err	auth_account_create(struct store *, const char *name, char *id);

/*
 * Create an API key for account with role "admin" or "member".  id receives
 * "ak_..." and token the secret "sgk_..." (AUTH_TOKEN_LEN + 1), which exists
 * nowhere else afterwards: the caller prints it once and wipes it.
 * SIG_ENOTFOUND for an unknown account, SIG_EINVAL for a bad role or name.
 */
enum sig_err	auth_apikey_create(struct store *, const char *account,
		    const char *role, const char *name, char *id, char *token);

/*
 * Revoke an API key: its token stops working at once, in every worker (the
 * credential generation is bumped after the commit; the caller should have
 * called shm_map or shm_attach so that it can be).  SIG_ENOTFOUND.
 */
enum sig_err	auth_apikey_revoke(struct store *, const char *id);

/*
 * Enrol a new TOTP secret for the admin API key id, replacing any earlier
 * one.  The secret is sealed under mk (associated data: the key id); its
 * base32 form goes into secret32 (at least 33 bytes) for the caller to show
 * once.  SIG_ENOTFOUND for an unknown key, SIG_EFORBIDDEN for a member key.
 */
enum sig_err	auth_totp_enroll(struct store *, const struct master_key *mk,
		    const char *id, char *secret32, char *name, size_t namesz);

/* After this many wrong codes in a row an API key's OTP routes lock. */
#define AUTH_OTP_TRIES		5

/*
 * How long the lock lasts after the wrong code that made fails wrong codes
 * in a row (AUTH_OTP_TRIES or more): 60 s, doubling with each further one,
 * at most an hour.  Seconds; 0 below AUTH_OTP_TRIES.
 */
long	auth_otp_lock_seconds(long fails);

/*
 * Check an X-OTP code for API key id and, when it is valid, record its time
 * step so that it cannot be used again (RFC 6238 section 5.2), all in one
 * locked read-modify-write of the key, so every worker counts the same
 * tries (RFC 4226 section 7.3).  While the key is locked every check,
 * right or wrong, answers SIG_EOTPLOCKED with *retry_after (seconds) and
 * consumes nothing; a wrong code counts, and the AUTH_OTP_TRIES-th in a row
 * and each after it lock the key (auth_otp_lock_seconds) with an audit
 * event totp.locked (request_id as given); a valid code resets the count.
 * Returns SIG_OK, SIG_EOTPLOCKED, SIG_EOTP with msg (SIG_MSG_MAX) for a
 * missing, malformed, wrong or replayed code or when no secret is enrolled,
 * or a store error.
 */
enum sig_err	auth_totp_check(struct store *, const struct master_key *mk,
		    const char *id, const char *code, const char *request_id,
		    long *retry_after, char *msg);

#endif
