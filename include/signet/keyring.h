/*
 * The signing keys of one endpoint, outbound or inbound alike (docs/api.md,
 * Endpoint signing keys): at most two, never fewer than one once created, each
 * secret sealed at rest under the master key with the key id as associated
 * data.  The keys live in the endpoint's own record (a "keys" array, oldest
 * first), so the max-2 and last-key rules are one locked read-modify-write
 * of one record and hold under any concurrency.
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

/* A key just made: the only moment its secret exists in the clear. */
struct new_key {
	char	 id[IDS_MAX];
	char	 secret[WEBHOOK_SECRET_LEN + 1];
	int64_t	 created_at;
};

/*
 * Make a new key (id and secret) outside any transaction, so that a rerun
 * transaction stores the same key.  The caller wipes k after use
 * (keyring_forget).
 */
enum sig_err	keyring_new_key(struct new_key *k);

/* Wipe the secret of k. */
void	keyring_forget(struct new_key *k);

/*
 * Append k, sealed under mk, to the keys of the endpoint record rec.
 * SIG_EMAXKEYS when it already has KEYRING_MAX_KEYS.
 */
enum sig_err	keyring_add(const struct master_key *mk, json_object *rec,
		    const struct new_key *k);

/*
 * Remove the key key_id from rec.  SIG_ENOTFOUND when rec has no such key,
 * SIG_ELASTKEY when it is the only one.
 */
enum sig_err	keyring_remove(json_object *rec, const char *key_id);

/*
 * keyring_list, keyring_sign and keyring_verify only read rec, which may be
 * a shared record (store_get_shared).
 */

/*
 * The public view of rec's keys, oldest first: [{id, key_hint, created_at}].
 * A new reference to an array kept on rec (until keyring_add or
 * keyring_remove changes it): read-only, and printed always as compact
 * JSON without escaped slashes, whatever the flags.
 */
json_object	*keyring_list(json_object *rec);

/* The create response for k: {id, signing_secret, key_hint, created_at}. */
json_object	*keyring_new_key_json(const struct new_key *k);

/*
 * The webhook-signature header value for (msg_id, timestamp, payload): one
 * "v1,<sig>" per key, newest first, separated by one space.  malloc'd;
 * SIG_EINTERNAL when a secret does not unseal.
 */
enum sig_err	keyring_sign(const struct master_key *mk, json_object *rec,
		    const char *msg_id, int64_t timestamp, const char *payload,
		    size_t plen, char **header);

/*
 * Which current key, if any, signed (msg_id, timestamp, payload) according
 * to the signature header value.  On a match key_id (IDS_MAX) gets its id and
 * 1 is returned; 0 when none matches; -1 when a secret does not unseal.
 */
int	keyring_verify(const struct master_key *mk, json_object *rec,
	    const char *msg_id, int64_t timestamp, const char *payload,
	    size_t plen, const char *sigheader, char *key_id);

#endif
