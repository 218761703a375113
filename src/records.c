/*
 * The layout of the listings in TBL_INDEX (records.h), as data: one row per
 * listing.  Every entry key is "<tag>:<owner><sub>:<order>[:<id>]", where
 * <order> is the creation time in microseconds as 16 hex digits, or empty
 * for a listing whose ids sort by creation themselves (UUIDv7).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "signet/json.h"
#include "signet/records.h"

struct layout {
	const char	*tag;
	const char	*sub;		/* after the owner: "" or ":all" */
	enum store_table table;
	int		 by_id;		/* no time part: the id orders */
	int		 named;		/* the entry key ends with the id */
	/*
	 * Where a record stands: its "ikey" member, or (when derived) the key
	 * computed from its "created_at" (microseconds) and id, the record's
	 * owner being its member `owner`.
	 */
	int		 derived;
	const char	*owner;
	int		 rid_owner;	/* record keys are "<owner>/<id>" */
};

static const struct layout lists[LIST_COUNT] = {
	[LIST_ENDPOINTS] = { "ep", "", TBL_ENDPOINTS, 0, 1, 0, NULL },
	[LIST_INBOUND] = { "in", "", TBL_INBOUND, 1, 1, 0, NULL },
	[LIST_WORKSPACES] = { "ws", "", TBL_WORKSPACES, 0, 1, 0, NULL },
	[LIST_WSKEYS_ALL] = { "wk", ":all", TBL_WSKEYS, 0, 1, 1, "workspace" },
	[LIST_WSKEYS_LIVE] = { "wk", ":live", TBL_WSKEYS, 0, 1, 1,
	    "workspace" },
	[LIST_ENTERPRISES] = { "en", "", TBL_ENTERPRISES, 0, 1, 0, NULL },
	[LIST_ENTKEYS] = { "ek", "", TBL_ENTKEYS, 0, 0, 0, NULL, 1 },
	[LIST_EXPIRING] = { "kx", "", TBL_INDEX, 0, 1, 0, NULL, 0 },
};

enum store_table
records_table(enum records_list list)
{
	return lists[list].table;
}

const char *
records_tag(enum records_list list)
{
	return lists[list].tag;
}

int
records_list_of_tag(const char *tag, size_t n, enum records_list *list)
{
	int	 i;

	for (i = 0; i < LIST_COUNT; i++)
		if (strlen(lists[i].tag) == n && memcmp(lists[i].tag, tag, n) == 0) {
			*list = (enum records_list)i;
			return 0;
		}
	return -1;
}

int
records_prefix(enum records_list list, const char *owner, char *out)
{
	const struct layout *l = &lists[list];
	int	 n;

	n = snprintf(out, RECORDS_KEY_MAX, "%s:%s%s:", l->tag, owner, l->sub);
	return n < 0 || n >= RECORDS_KEY_MAX ? -1 : 0;
}

int
records_index_key(enum records_list list, const char *owner,
    int64_t created_us, const char *id, char *out)
{
	const struct layout *l = &lists[list];
	char	 order[17];
	int	 n;

	order[0] = '\0';
	if (!l->by_id)
		snprintf(order, sizeof(order), "%016" PRIx64,
		    (uint64_t)created_us);
	n = snprintf(out, RECORDS_KEY_MAX, "%s:%s%s:%s%s%s", l->tag, owner,
	    l->sub, order, l->named ? ":" : "", l->named ? id : "");
	return n < 0 || n >= RECORDS_KEY_MAX ? -1 : 0;
}

enum sig_err
records_index_put(struct store_txn *t, const char *key, const char *value)
{
	return store_put_str(t, TBL_INDEX, key, value, 1);
}

enum sig_err
records_index_del(struct store_txn *t, const char *key)
{
	enum sig_err	 rc = store_del(t, TBL_INDEX, key);

	return rc == SIG_ENOTFOUND ? SIG_OK : rc;
}

enum sig_err
records_position(struct store_txn *t, enum records_list list,
    const char *owner, const char *id, char *out)
{
	const struct layout *l = &lists[list];
	json_object	*rec;
	char		 prefix[RECORDS_KEY_MAX];
	char		 rid[512];	/* "<ent id>/<keyId>": 64 + 1 + 255 at most */
	const char	*key;
	enum sig_err	 rc;

	if (records_prefix(list, owner, prefix) != 0)
		return SIG_ENOTFOUND;
	if (l->rid_owner) {
		if (snprintf(rid, sizeof(rid), "%s/%s", owner, id) >=
		    (int)sizeof(rid))
			return SIG_ENOTFOUND;
		id = rid;
	}
	if (l->derived)
		rc = records_owned(t, l->table, id, l->owner, owner,
		    RECORD_COPY, &rec);
	else
		rc = store_get(t, l->table, id, 0, &rec);
	if (rc != SIG_OK)
		return rc;
	if (l->derived) {
		if (records_index_key(list, owner, json_i64(rec, "created_at"),
		    id, out) != 0)
			rc = SIG_ENOTFOUND;
	} else if ((key = json_str(rec, "ikey")) == NULL ||
	    strncmp(key, prefix, strlen(prefix)) != 0 ||
	    strlen(key) >= RECORDS_KEY_MAX)
		rc = SIG_ENOTFOUND;
	else
		memcpy(out, key, strlen(key) + 1);
	json_object_put(rec);
	return rc;
}

enum sig_err
records_owned(struct store_txn *t, enum store_table table, const char *key,
    const char *member, const char *owner, enum records_read how,
    json_object **out)
{
	const char	*v;
	enum sig_err	 rc;

	rc = how == RECORD_SHARED ? store_get_shared(t, table, key, out) :
	    store_get(t, table, key, how == RECORD_LOCK, out);
	if (rc != SIG_OK)
		return rc;
	if ((v = json_str(*out, member)) == NULL || strcmp(v, owner) != 0) {
		json_object_put(*out);
		*out = NULL;
		return SIG_ENOTFOUND;
	}
	return SIG_OK;
}
