/*
 * The audit trail (docs/api.md, Audit events): every change, written in
 * the same transaction as the change itself, newest first per account.
 * Events hold ids and names, never a secret, private key, token or OTP.
 */
#ifndef SIGNET_AUDIT_H
#define SIGNET_AUDIT_H

#include <stdint.h>

#include <json-c/json.h>

#include "signet/err.h"
#include "signet/store.h"

struct audit_event {
	const char	*account;	/* the account the resource belongs to */
	const char	*actor_id;	/* API key id, or "signetctl" */
	const char	*actor_name;
	const char	*action;	/* e.g. "signing_key.created" */
	const char	*resource_type;	/* e.g. "signing_key" */
	const char	*resource_id;
	const char	*request_id;	/* NULL outside HTTP requests */
};

/* Write e inside transaction t.  Returns a store error or SIG_OK. */
enum sig_err	audit_record(struct store_txn *t, const struct audit_event *e);

/*
 * One page of account's events, newest first: after the event after_id
 * (NULL: from the newest), at most limit, only those about resource_id when
 * it is not NULL.  *events receives a new array owned by the caller; *more
 * whether older events follow.  SIG_EINVAL when after_id is not an event of
 * this listing.
 */
enum sig_err	audit_page(struct store_txn *t, const char *account,
		    const char *resource_id, const char *after_id, int limit,
		    json_object **events, int *more);

/*
 * Delete, inside transaction t, at most max of the oldest events recorded
 * before before_us (with their index entries).  *removed receives how many.
 * Retention is a policy of the operator (audit_retention_days).
 */
enum sig_err	audit_prune(struct store_txn *t, int64_t before_us, int max,
		    int *removed);

#endif
