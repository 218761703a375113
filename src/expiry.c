/*
 * Expired endpoint keys (expiry.h).  An endpoint record remembers its entry
 * in LIST_EXPIRING (member "expiry_ikey"), so a change of its keys' expiries
 * moves the entry and a stale entry is recognised.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "signet/audit.h"
#include "signet/expiry.h"
#include "signet/json.h"
#include "signet/keyring.h"
#include "signet/log.h"

#define ACTOR_ID	"signet"
#define ACTOR_NAME	"key expiry"

enum sig_err
expiry_settle(struct store_txn *t, enum records_list list, json_object *rec,
    int64_t now, int *erased)
{
	struct audit_event e;
	json_object	*gone;
	char		 ikey[RECORDS_KEY_MAX], name[RECORDS_KEY_MAX];
	const char	*old;
	int64_t		 next;
	enum sig_err	 rc = SIG_OK;
	size_t		 i;

	if (erased != NULL)
		*erased = 0;
	if ((gone = keyring_expired(rec, now)) != NULL) {
		if (erased != NULL)
			*erased = (int)json_object_array_length(gone);
		memset(&e, 0, sizeof(e));
		e.account = json_str(rec, "account");
		e.actor_id = ACTOR_ID;
		e.actor_name = ACTOR_NAME;
		e.action = "signing_key.expired";
		e.resource_type = "signing_key";
		for (i = 0; rc == SIG_OK && i < json_object_array_length(gone);
		    i++) {
			e.resource_id = json_object_get_string(
			    json_object_array_get_idx(gone, i));
			rc = audit_record(t, &e);
		}
		json_object_put(gone);
		if (rc != SIG_OK)
			return rc;
	}
	ikey[0] = '\0';
	if ((next = keyring_next_expiry(rec)) != 0) {
		if (snprintf(name, sizeof(name), "%s/%s", records_tag(list),
		    json_str(rec, "id")) >= (int)sizeof(name) ||
		    records_index_key(LIST_EXPIRING, "", next * 1000000, name,
		    ikey) != 0)
			return SIG_EINTERNAL;
	}
	old = json_str(rec, "expiry_ikey");
	if (old != NULL && strcmp(old, ikey) == 0)
		return SIG_OK;
	if (old != NULL && (rc = records_index_del(t, old)) != SIG_OK)
		return rc;
	if (ikey[0] == '\0') {
		json_object_object_del(rec, "expiry_ikey");
		return SIG_OK;
	}
	json_object_object_add(rec, "expiry_ikey", json_object_new_string(ikey));
	rc = records_index_put(t, ikey, name);
	return rc == SIG_EEXISTS ? SIG_OK : rc;
}

struct sweep {
	int64_t		 now;
	char		 key[RECORDS_KEY_MAX];	/* the entry being settled */
	char		 name[RECORDS_KEY_MAX];	/* its "<tag>/<id>" */
	int		 found, erased;
};

/* The first entry of LIST_EXPIRING, if due. */
static enum sig_err
first_due(const char *key, const char *val, void *arg)
{
	struct sweep	*w = arg;
	char		 due[RECORDS_KEY_MAX];

	if (records_index_key(LIST_EXPIRING, "", w->now * 1000000, "", due) != 0)
		return SIG_EINTERNAL;
	/* Entries sort by time: "kx::<16 hex>:..." against now's. */
	if (strncmp(key, due, strlen(due) - 1) > 0)
		return SIG_OK;
	snprintf(w->key, sizeof(w->key), "%s", key);
	snprintf(w->name, sizeof(w->name), "%s", val);
	w->found = 1;
	return SIG_OK;
}

static enum sig_err
find_tx(struct store_txn *t, void *arg)
{
	struct sweep	*w = arg;
	char		 prefix[RECORDS_KEY_MAX];
	int		 more;

	w->found = 0;
	if (records_prefix(LIST_EXPIRING, "", prefix) != 0)
		return SIG_EINTERNAL;
	return store_scan(t, TBL_INDEX, prefix, NULL, 1, first_due, w, &more);
}

static enum sig_err
settle_tx(struct store_txn *t, void *arg)
{
	struct sweep	*w = arg;
	enum records_list list;
	json_object	*rec;
	const char	*slash = strchr(w->name, '/'), *ikey;
	enum sig_err	 rc;

	w->erased = 0;
	if (slash == NULL || records_list_of_tag(w->name,
	    (size_t)(slash - w->name), &list) != 0)
		return records_index_del(t, w->key);
	rc = store_get(t, records_table(list), slash + 1, 1, &rec);
	if (rc == SIG_ENOTFOUND)
		return records_index_del(t, w->key);
	if (rc != SIG_OK)
		return rc;
	if ((rc = expiry_settle(t, list, rec, w->now, &w->erased)) == SIG_OK &&
	    (rc = store_put(t, records_table(list), slash + 1, rec)) ==
	    SIG_OK) {
		/* A stale entry (the record moved on): drop it too. */
		ikey = json_str(rec, "expiry_ikey");
		if (ikey == NULL || strcmp(ikey, w->key) != 0)
			rc = records_index_del(t, w->key);
	}
	json_object_put(rec);
	return rc;
}

int
expiry_sweep(struct store *s, int64_t now, int max, int *more)
{
	struct sweep	 w;
	int		 i, erased = 0;

	memset(&w, 0, sizeof(w));
	w.now = now;
	*more = 0;
	for (i = 0; i < max; i++) {
		if (store_view(s, find_tx, &w) != SIG_OK || !w.found)
			return erased;
		if (store_run(s, settle_tx, &w) != SIG_OK) {
			log_msg(LOG_WARN, "key expiry: could not settle %s",
			    w.name);
			return erased;
		}
		erased += w.erased;
	}
	*more = 1;
	return erased;
}
