/*
 * How the resources lie in the store: the listings kept in TBL_INDEX, the
 * keys of their entries, and the loader of a record that belongs to
 * someone.  Resource modules and handlers name a listing and an owner;
 * only this module spells index keys.
 */
#ifndef SIGNET_RECORDS_H
#define SIGNET_RECORDS_H

#include <stdint.h>

#include <json-c/json.h>

#include "signet/err.h"
#include "signet/store.h"

/* Room for any index key or listing prefix, NUL included. */
#define RECORDS_KEY_MAX	160

/*
 * The ordered listings.  Each entry of TBL_INDEX is
 * "<tag>:<owner><sub>:<order>[:<id>]" and its value is the record's key in
 * the listing's table; ascending key order is creation order.
 */
enum records_list {
	LIST_ENDPOINTS,		/* "ep:<account>:<created>:<ep id>" */
	LIST_INBOUND,		/* "in:<account>::<UUIDv7>" (ids sort by time) */
	LIST_WORKSPACES,	/* "ws:<account>:<created>:<slug>" */
	LIST_WSKEYS_ALL,	/* "wk:<slug>:all:<created>:<uid>" */
	LIST_WSKEYS_LIVE,	/* "wk:<slug>:live:<created>:<uid>", not deleted */
	LIST_ENTERPRISES,	/* "en:<account>:<created>:<ent id>" */
	LIST_ENTKEYS,		/* "ek:<ent id>:<created>" -> "<ent id>/<keyId>" */
	LIST_EXPIRING,		/* "kx::<expiry>:<tag>/<endpoint id>": endpoints
				   by their next key expiry (owner "") */
	LIST_COUNT
};

/* The table whose records list names. */
enum store_table	records_table(enum records_list list);

/* The tag of list's entries ("ep", ...). */
const char	*records_tag(enum records_list list);

/* The listing whose tag is the n bytes at tag into *list: 0, or -1. */
int	records_list_of_tag(const char *tag, size_t n, enum records_list *list);

/*
 * The prefix of list's entries of owner, into out (RECORDS_KEY_MAX).
 * Returns 0, or -1 when it does not fit (nothing usable in out).
 */
int	records_prefix(enum records_list list, const char *owner, char *out);

/*
 * The entry key of record id (NULL for a listing keyed by time alone)
 * created at created_us, into out (RECORDS_KEY_MAX).  Returns 0, or -1 when
 * it does not fit.
 */
int	records_index_key(enum records_list list, const char *owner,
	    int64_t created_us, const char *id, char *out);

/*
 * Add the entry key (from records_index_key) naming record key `value`,
 * inside t.  SIG_EEXISTS when the entry exists (same listing, owner and
 * microsecond).
 */
enum sig_err	records_index_put(struct store_txn *t, const char *key,
		    const char *value);

/* Remove the entry at key; an absent entry is not an error. */
enum sig_err	records_index_del(struct store_txn *t, const char *key);

/*
 * Where record id stands in list of owner, as the entry key to start a
 * page after (into out, RECORDS_KEY_MAX).  id is the record's key, or for
 * LIST_ENTKEYS the keyId (the record key being "<owner>/<id>").
 * SIG_ENOTFOUND when there is no such record or it is not in that listing.
 */
enum sig_err	records_position(struct store_txn *t, enum records_list list,
		    const char *owner, const char *id, char *out);

/* How records_owned reads. */
enum records_read {
	RECORD_SHARED,	/* may be the cache's object: read only (store_get_shared) */
	RECORD_COPY,	/* a copy of the caller's own */
	RECORD_LOCK,	/* a copy, write-locked until the transaction ends */
};

/*
 * The record at key of table whose member `member` is owner: another
 * owner's record answers SIG_ENOTFOUND exactly like an absent one.  On
 * SIG_OK *out is a reference the caller puts; otherwise *out is NULL.
 */
enum sig_err	records_owned(struct store_txn *t, enum store_table table,
		    const char *key, const char *member, const char *owner,
		    enum records_read how, json_object **out);

#endif
