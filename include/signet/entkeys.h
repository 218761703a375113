/*
 * The public keys an enterprise registers for the webhooks it signs: from
 * an inline JWK Set or a JWKS URI fetched over HTTPS, one record per key at
 * "<ent id>/<keyId>" in TBL_ENTKEYS.  A record is never deleted (revoking
 * marks it), so a keyId once used stays taken for ever: the tombstone rule.
 * A key from a URI is refetched when its cache lifetime has passed, by one
 * worker at a time (the refresh claim).
 */
#ifndef SIGNET_ENTKEYS_H
#define SIGNET_ENTKEYS_H

#include <json-c/json.h>

#include "signet/config.h"
#include "signet/err.h"
#include "signet/ids.h"
#include "signet/jwk.h"
#include "signet/store.h"

/* Room for a record key "<ent id>/<keyId>", NUL included. */
#define ENTKEY_RID_MAX	(IDS_MAX + JWK_KID_MAX + 2)

/* The longest compact JWS (or detached payload) verified. */
#define ENTKEY_JWS_MAX	(1024 * 1024)

/* The record key of key_id of enterprise ent, into out (ENTKEY_RID_MAX). */
void	entkey_record_id(const char *ent, const char *key_id, char *out);

/*
 * Fetch the JWK Set at uri as cfg says (CA, private addresses, timeout,
 * size).  On SIG_OK *doc owns the parsed set and *max_age is its cache
 * lifetime, bounded to 300..86400 s.  SIG_EFETCH with the reason in msg
 * (SIG_MSG_MAX) for a URI that is not https://, a failed fetch, or a
 * document that is not a JWK Set.
 */
enum sig_err	entkey_fetch(const struct config *cfg, const char *uri,
		    json_object **doc, long *max_age, char *msg);

/*
 * Pick the key of the set doc: the one whose kid is key_id (NULL: none
 * given), or, for an inline set (e == SIG_EINVAL), its only key.  On SIG_OK
 * *k holds it parsed (jwk_free); otherwise e with the reason in msg, which
 * starts "JWKS fetch failed: " for a fetched set (e == SIG_EFETCH).
 */
enum sig_err	entkey_select(json_object *doc, const char *key_id,
		    enum sig_err e, struct jwk *k, char *msg);

/* A key about to be registered. */
struct entkey_new {
	const char	*ent, *key_id;
	const char	*name;		/* NULL: none */
	const char	*uri;		/* NULL: from an inline set */
	long		 max_age;	/* the fetched set's, with uri */
	struct jwk	 jwk;
};

/*
 * Store k as a new active key inside t, created by actor (consumed).
 * SIG_EKEYIDUSED when its keyId was ever used in the enterprise; on SIG_OK
 * *rec is the new record (the caller puts it).
 */
enum sig_err	entkey_insert(struct store_txn *t, const struct entkey_new *k,
		    json_object *actor, json_object **rec);

/*
 * The key key_id of enterprise ent into *rec (locked with lock); the caller
 * puts it.  SIG_ENOTFOUND when absent.
 */
enum sig_err	entkey_load(struct store_txn *t, const char *ent,
		    const char *key_id, int lock, json_object **rec);

/*
 * Revoke the key rec (loaded locked) inside t, by actor (consumed).
 * SIG_EREVOKED when it is revoked already.
 */
enum sig_err	entkey_revoke(struct store_txn *t, const char *ent,
		    json_object *rec, json_object *actor);

/*
 * The public view of a key record of enterprise ent, lastVerifiedAt the
 * later of the record's and the shared table's (usage.h).
 */
json_object	*entkey_view(const char *ent, json_object *rec);

/* Record a verification at at_us in rec: 1 when later than rec's, else 0. */
int	entkey_mark_verified(json_object *rec, int64_t at_us);

/*
 * The verdict on the compact JWS compact (with the detached payload when
 * not NULL) for enterprise ent, which the caller checked is the caller's:
 * {valid, keyId, alg, reason}.  A stale JWKS-URI key is refetched first (at
 * most one worker a minute, the cached key staying in use on failure, with
 * a log line).  Runs its own transactions on s.  On SIG_OK *verdict is
 * owned by the caller.
 */
enum sig_err	entkey_verify(struct store *s, const struct config *cfg,
		    const char *ent, const char *compact, const char *payload,
		    size_t plen, json_object **verdict);

#endif
