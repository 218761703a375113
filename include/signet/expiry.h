/*
 * Expired endpoint keys, taken out of storage.  A key stops being current
 * the second its expires_at passes (keyring.h), whatever is done here; this
 * module then erases its sealed material from the endpoint record, with one
 * audit event signing_key.expired (actor {"id": "signet", "name": "key
 * expiry"}, no request id), and keeps each endpoint with an expiring key in
 * a listing ordered by its next expiry (LIST_EXPIRING), which the sweep
 * walks.
 */
#ifndef SIGNET_EXPIRY_H
#define SIGNET_EXPIRY_H

#include <stdint.h>

#include <json-c/json.h>

#include "signet/err.h"
#include "signet/records.h"
#include "signet/store.h"

/*
 * Inside t, before rec (an endpoint record of listing list, read locked) is
 * written back: remove its keys expired at now, audited, and file the
 * endpoint under its next expiry (or under none).  *erased (NULL: not
 * wanted) receives how many keys went.  The caller puts rec.
 */
enum sig_err	expiry_settle(struct store_txn *t, enum records_list list,
		    json_object *rec, int64_t now, int *erased);

/*
 * Settle, each in a transaction of its own, up to max endpoints whose next
 * expiry is at or before now.  Returns how many keys were erased; sets
 * *more when due endpoints remain.
 */
int	expiry_sweep(struct store *s, int64_t now, int max, int *more);

#endif
