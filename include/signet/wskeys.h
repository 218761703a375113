/*
 * The key pairs Signet generates for a workspace: the private key is
 * returned once and never stored; a record per key in TBL_WSKEYS (keyed by
 * its uid) holds the public key and its life: active, rolled (usable until
 * the end of its grace period), expired (expiry_at), deleted (kept, marked,
 * out of the live listing).  The public JWKS lists the keys usable now.
 */
#ifndef SIGNET_WSKEYS_H
#define SIGNET_WSKEYS_H

#include <stdint.h>

#include <json-c/json.h>

#include "signet/err.h"
#include "signet/ids.h"
#include "signet/keypair.h"
#include "signet/store.h"

/* The longest token wskey_verify_token takes. */
#define WSKEY_TOKEN_MAX	(1024 * 1024)

/* A key pair just generated, with its ids: the only time it is whole. */
struct wskey_new {
	char		 id[IDS_MAX];	/* "ws_signk_..." */
	char		 uid[IDS_MAX];	/* "signing_key_...", the JWK kid */
	const char	*alg;		/* "ES256", "EdDSA" or "RS256" */
	struct keypair	 kp;
	json_object	*jwk;		/* the public JWK, owned */
};

/*
 * Generate a key pair for alg with fresh ids, outside any transaction (a
 * rerun transaction stores the same key).  The caller releases k with
 * wskey_forget, on failure too.
 */
enum sig_err	wskey_generate(const char *alg, struct wskey_new *k);

/* Wipe and free what k holds (the private key included).  Idempotent. */
void	wskey_forget(struct wskey_new *k);

/*
 * Store k as an active key of workspace slug inside t, with domains
 * (consumed; NULL: any origin) and expiry_us (0: none), created by actor
 * (consumed), in both listings.  On SIG_OK *rec is the new record.
 */
enum sig_err	wskey_insert(struct store_txn *t, const char *slug,
		    const struct wskey_new *k, json_object *domains,
		    int64_t expiry_us, json_object *actor, json_object **rec);

/*
 * Key uid of workspace slug into *rec (write-locked with lock); a key of
 * another workspace answers as absent: SIG_ENOTFOUND.
 */
enum sig_err	wskey_load(struct store_txn *t, const char *slug,
		    const char *uid, int lock, json_object **rec);

/*
 * Roll the key rec (loaded locked) inside t at now_us, by actor (consumed):
 * it stays usable for grace_s seconds more.  SIG_ENOTFOUND when it was
 * deleted, SIG_ENOTACTIVE when it was rolled already.
 */
enum sig_err	wskey_roll(struct store_txn *t, json_object *rec,
		    int64_t grace_s, int64_t now_us, json_object *actor);

/*
 * Change the allowed domains (when domains_set; domains borrowed, NULL for
 * any) and the expiry (expiry_us > 0: that time, -1: none, 0: unchanged)
 * of rec (loaded locked) inside t.  SIG_ENOTFOUND when it was deleted.
 */
enum sig_err	wskey_update(struct store_txn *t, json_object *rec,
		    int domains_set, json_object *domains, int64_t expiry_us);

/*
 * Delete the key rec (loaded locked) inside t, by actor (consumed): marked,
 * kept, and out of the live listing.  SIG_ENOTFOUND when deleted already.
 */
enum sig_err	wskey_delete(struct store_txn *t, json_object *rec,
		    json_object *actor);

/*
 * Why rec no longer verifies at now_us, or NULL when it still does:
 * deleted, rolled past its grace, or past its expiry_at.
 */
const char	*wskey_unusable(json_object *rec, int64_t now_us);

/*
 * The public view of a key record, last_verified_at the later of the
 * record's and the shared table's (usage.h).
 */
json_object	*wskey_view(json_object *rec);

/* Record a verification at at_us in rec: 1 when later than rec's, else 0. */
int	wskey_mark_verified(json_object *rec, int64_t at_us);

/*
 * The public JWKs of workspace slug's keys usable at now_us, oldest first,
 * into *keys (a new array).
 */
enum sig_err	wskey_jwks(struct store_txn *t, const char *slug, int64_t now_us,
		    json_object **keys);

/*
 * The verdict on token (a compact JWS) for workspace slug at now_us:
 * {valid, uid, claims} or {valid: false, reason}.  origin_host (lower-case,
 * NULL: no origin given) must be one of the key's allowed domains when it
 * has any.  Inside t; on SIG_OK *verdict is the caller's.
 */
enum sig_err	wskey_verify_token(struct store_txn *t, const char *slug,
		    const char *token, const char *origin_host, int64_t now_us,
		    json_object **verdict);

#endif
