/*
 * The signing keys of one endpoint, outbound or inbound alike: HMAC-SHA256
 * secrets ("whsec_", Standard Webhooks "v1") and Ed25519 key pairs ("v1a",
 * public keys "whpk_"), each secret or private key sealed at rest under the
 * master key with the key id as associated data.  The keys live in the
 * endpoint's own record (a "keys" array, oldest first), so every rule is one
 * locked read-modify-write of one record and holds under any concurrency.
 *
 * A key is current until its expires_at (seconds; 0: never) has passed:
 * from that second on it signs, verifies and shows nothing, whether or not
 * keyring_expired has removed it yet.  Rules over the current keys: at most
 * KEYRING_MAX_KEYS, and always at least one without an expiry (the last
 * such key can neither be deleted nor be given an expiry).
 */
#ifndef SIGNET_KEYRING_H
#define SIGNET_KEYRING_H

#include <stdint.h>

#include <json-c/json.h>

#include "signet/crypto.h"
#include "signet/err.h"
#include "signet/ids.h"
#include "signet/webhook.h"

#define KEYRING_MAX_KEYS	2
#define KEYRING_PUBLIC_LEN	49	/* "whpk_" + 44 base64 chars */

enum keyring_type {
	KEY_HMAC,		/* "hmac-sha256" */
	KEY_ED25519,		/* "ed25519" */
};

/* A key just made: the only moment its secret exists in the clear. */
struct new_key {
	char			 id[IDS_MAX];
	enum keyring_type	 type;
	char			 secret[WEBHOOK_SECRET_LEN + 1];	/* HMAC */
	unsigned char		 seed[CRYPTO_ED25519_LEN];	/* Ed25519 */
	char			 public_key[KEYRING_PUBLIC_LEN + 1];
	int64_t			 created_at;
	int64_t			 expires_at;	/* 0: never */
};

/* The type named s ("hmac-sha256", "ed25519") into *t: 0, or -1. */
int	keyring_type_parse(const char *s, enum keyring_type *t);

/*
 * Make a new key of type (id and secret or key pair) expiring at
 * expires_at (0: never), outside any transaction, so that a rerun
 * transaction stores the same key.  The caller wipes k after use
 * (keyring_forget).
 */
enum sig_err	keyring_new_key(struct new_key *k, enum keyring_type type,
		    int64_t expires_at);

/* Wipe the secret and private key of k. */
void	keyring_forget(struct new_key *k);

/*
 * Append k, sealed under mk, to the keys of the endpoint record rec.
 * SIG_EMAXKEYS when it already has KEYRING_MAX_KEYS current keys at now.
 */
enum sig_err	keyring_add(const struct master_key *mk, json_object *rec,
		    const struct new_key *k, int64_t now);

/*
 * Rotate: append k (which has no expiry) and let the one current key
 * expire at now + grace.  SIG_EMAXKEYS when rec has more than one current
 * key.
 */
enum sig_err	keyring_rotate(const struct master_key *mk, json_object *rec,
		    const struct new_key *k, int64_t grace, int64_t now);

/* The type of the newest current key of rec (the one rotate replaces). */
enum keyring_type	keyring_current_type(json_object *rec, int64_t now);

/*
 * Remove the current key key_id from rec.  SIG_ENOTFOUND when rec has no
 * such key, SIG_ELASTKEY when it is the last current key without expiry.
 */
enum sig_err	keyring_remove(json_object *rec, const char *key_id,
		    int64_t now);

/*
 * Let the current key key_id expire at expires_at (0: never).
 * SIG_ENOTFOUND when rec has no such key, SIG_ELASTKEY when it is the last
 * current key without expiry and expires_at is not 0.
 */
enum sig_err	keyring_set_expiry(json_object *rec, const char *key_id,
		    int64_t expires_at, int64_t now);

/*
 * Remove the keys of rec that are no longer current at now.  Returns an
 * array of their ids (the caller puts it), or NULL when there were none.
 */
json_object	*keyring_expired(json_object *rec, int64_t now);

/*
 * Record that key_id verified something at at_us (kept to the second):
 * 1 when that is later than what rec held, 0 when not, -1 when rec has no
 * such key.
 */
int	keyring_mark_verified(json_object *rec, const char *key_id,
	    int64_t at_us);

/* The earliest expires_at of rec's keys, or 0 when none expires. */
int64_t	keyring_next_expiry(json_object *rec);

/*
 * keyring_list, keyring_get, keyring_jwks, keyring_sign and keyring_verify
 * only read rec, which may be a shared record (store_get_shared).
 */

/*
 * The public view of rec's current keys, oldest first: [{id, type,
 * key_hint, created_at, expires_at, last_verified_at, public_key?}], with
 * last_verified_at the later of rec's and the shared table's (usage.h).  A
 * new reference to an array kept on rec (until a change of the keys, the
 * next expiry, or a newer verification): read-only, and printed always as
 * compact JSON without escaped slashes, whatever the flags.
 */
json_object	*keyring_list(json_object *rec, int64_t now);

/* The view of the current key key_id, or NULL when there is none. */
json_object	*keyring_get(json_object *rec, const char *key_id, int64_t now);

/* The create response for k: its view plus signing_secret for HMAC. */
json_object	*keyring_new_key_json(const struct new_key *k);

/*
 * The current Ed25519 keys of rec, newest first, as RFC 8037 public JWKs
 * {kty, crv, x, kid, alg, use}: a new array.
 */
json_object	*keyring_jwks(json_object *rec, int64_t now);

/*
 * The webhook-signature header value for (msg_id, timestamp, payload): one
 * entry per current key, newest first, separated by one space ("v1,<sig>"
 * for HMAC keys, "v1a,<sig>" for Ed25519 keys).  malloc'd; SIG_EINTERNAL
 * when a secret does not unseal.
 */
enum sig_err	keyring_sign(const struct master_key *mk, json_object *rec,
		    const char *msg_id, int64_t timestamp, const char *payload,
		    size_t plen, int64_t now, char **header);

/*
 * Which current key, if any, signed (msg_id, timestamp, payload) according
 * to the signature header value: "v1" entries against the HMAC keys, "v1a"
 * entries against the Ed25519 keys.  On a match key_id (IDS_MAX) gets its id
 * and 1 is returned; 0 when none matches; -1 when a secret does not unseal.
 */
int	keyring_verify(const struct master_key *mk, json_object *rec,
	    const char *msg_id, int64_t timestamp, const char *payload,
	    size_t plen, const char *sigheader, int64_t now, char *key_id);

#endif
