/*
 * Audit events in the store: records in TBL_AUDIT keyed by event id, and two
 * index entries each, "au:<account>:<inverted time>:<id>" for the account's
 * trail and "ar:<account>:<resource>:<inverted time>:<id>" for one resource,
 * so that ascending key order is newest first.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "signet/audit.h"
#include "signet/ids.h"
#include "signet/json.h"

#define INDEX_MAX	512

static void
index_keys(const char *account, const char *resource_id, int64_t at_us,
    const char *id, char *all, char *one)
{
	uint64_t inv = UINT64_MAX - (uint64_t)at_us;

	snprintf(all, INDEX_MAX, "au:%s:%016" PRIx64 ":%s", account, inv, id);
	snprintf(one, INDEX_MAX, "ar:%s:%s:%016" PRIx64 ":%s", account,
	    resource_id, inv, id);
}

/* The oldest-first index over every account, for retention. */
static void
age_key(int64_t at_us, const char *id, char *out)
{
	snprintf(out, INDEX_MAX, "ag:%016" PRIx64 ":%s", (uint64_t)at_us, id);
}

enum sig_err
audit_record(struct store_txn *t, const struct audit_event *e)
{
	json_object	*rec, *actor;
	char		 id[IDS_MAX], all[INDEX_MAX], one[INDEX_MAX];
	char		 age[INDEX_MAX];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	if ((rc = ids_new("evt_", 12, id, sizeof(id))) != SIG_OK)
		return rc;
	rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(id));
	json_object_object_add(rec, "account", json_object_new_string(e->account));
	json_object_object_add(rec, "at_us", json_object_new_int64(now));
	actor = json_object_new_object();
	json_object_object_add(actor, "id", json_object_new_string(e->actor_id));
	json_object_object_add(actor, "name",
	    json_object_new_string(e->actor_name));
	json_object_object_add(rec, "actor", actor);
	json_object_object_add(rec, "action", json_object_new_string(e->action));
	json_object_object_add(rec, "resource_type",
	    json_object_new_string(e->resource_type));
	json_object_object_add(rec, "resource_id",
	    json_object_new_string(e->resource_id));
	json_object_object_add(rec, "request_id",
	    json_str_or_null(e->request_id));
	index_keys(e->account, e->resource_id, now, id, all, one);
	age_key(now, id, age);
	if ((rc = store_insert(t, TBL_AUDIT, id, rec)) == SIG_OK &&
	    (rc = store_put_str(t, TBL_INDEX, all, id, 1)) == SIG_OK &&
	    (rc = store_put_str(t, TBL_INDEX, one, id, 1)) == SIG_OK)
		rc = store_put_str(t, TBL_INDEX, age, id, 1);
	json_object_put(rec);
	/* A random id colliding is as good as impossible; rerun if it does. */
	return rc == SIG_EEXISTS ? SIG_ERETRY : rc;
}

static json_object *
event_view(json_object *rec)
{
	json_object	*o = json_object_new_object(), *v;
	char		 ts[32];

	json_object_object_add(o, "id", json_object_new_string(
	    json_str(rec, "id")));
	json_object_object_add(o, "at", json_object_new_string(
	    ids_time(json_i64(rec, "at_us") / 1000000, 0, ts)));
	if (json_object_object_get_ex(rec, "actor", &v))
		json_object_object_add(o, "actor", json_object_get(v));
	json_object_object_add(o, "action", json_object_new_string(
	    json_str(rec, "action")));
	json_object_object_add(o, "resource_type", json_object_new_string(
	    json_str(rec, "resource_type")));
	json_object_object_add(o, "resource_id", json_object_new_string(
	    json_str(rec, "resource_id")));
	json_object_object_add(o, "request_id",
	    json_str_or_null(json_str(rec, "request_id")));
	return o;
}

enum sig_err
audit_page(struct store_txn *t, const char *account, const char *resource_id,
    const char *after_id, int limit, json_object **events, int *more)
{
	json_object	*recs, *after_rec = NULL;
	char		 prefix[INDEX_MAX], all[INDEX_MAX], one[INDEX_MAX];
	const char	*acct, *res;
	enum sig_err	 rc;
	size_t		 i;

	*events = NULL;
	if (resource_id != NULL)
		snprintf(prefix, sizeof(prefix), "ar:%s:%s:", account,
		    resource_id);
	else
		snprintf(prefix, sizeof(prefix), "au:%s:", account);
	if (after_id != NULL) {
		rc = store_get(t, TBL_AUDIT, after_id, 0, &after_rec);
		if (rc == SIG_ENOTFOUND || (rc == SIG_OK &&
		    (((acct = json_str(after_rec, "account")) == NULL ||
		    strcmp(acct, account) != 0) || (resource_id != NULL &&
		    ((res = json_str(after_rec, "resource_id")) == NULL ||
		    strcmp(res, resource_id) != 0))))) {
			json_object_put(after_rec);
			return SIG_EINVAL;
		}
		if (rc != SIG_OK)
			return rc;
		index_keys(account, json_str(after_rec, "resource_id"),
		    json_i64(after_rec, "at_us"), after_id, all, one);
		json_object_put(after_rec);
	}
	rc = store_page(t, TBL_AUDIT, prefix, after_id == NULL ? NULL :
	    resource_id != NULL ? one : all, (size_t)limit, &recs, more);
	if (rc != SIG_OK)
		return rc;
	*events = json_object_new_array();
	for (i = 0; i < json_object_array_length(recs); i++)
		json_object_array_add(*events,
		    event_view(json_object_array_get_idx(recs, i)));
	json_object_put(recs);
	return SIG_OK;
}

struct prune_scan {
	int64_t		 before_us;
	json_object	*ids;
};

static enum sig_err
older(const char *key, const char *val, void *arg)
{
	struct prune_scan *p = arg;
	unsigned long long at;

	/* "ag:<16 hex>:<id>": the scan runs oldest first; stop at the cutoff. */
	if (sscanf(key, "ag:%16llx:", &at) != 1 || (int64_t)at >= p->before_us)
		return SIG_ENOTFOUND;
	json_object_array_add(p->ids, json_object_new_string(val));
	return SIG_OK;
}

enum sig_err
audit_prune(struct store_txn *t, int64_t before_us, int max, int *removed)
{
	struct prune_scan p = { before_us, NULL };
	json_object	*rec;
	const char	*id;
	char		 all[INDEX_MAX], one[INDEX_MAX], age[INDEX_MAX];
	enum sig_err	 rc;
	size_t		 i;
	int		 more;

	*removed = 0;
	p.ids = json_object_new_array();
	rc = store_scan(t, TBL_INDEX, "ag:", NULL, (size_t)max, older, &p,
	    &more);
	if (rc == SIG_ENOTFOUND)
		rc = SIG_OK;
	for (i = 0; rc == SIG_OK && i < json_object_array_length(p.ids); i++) {
		id = json_object_get_string(json_object_array_get_idx(p.ids, i));
		if ((rc = store_get(t, TBL_AUDIT, id, 1, &rec)) != SIG_OK)
			break;
		index_keys(json_str(rec, "account"), json_str(rec,
		    "resource_id"), json_i64(rec, "at_us"), id, all, one);
		age_key(json_i64(rec, "at_us"), id, age);
		json_object_put(rec);
		if ((rc = store_del(t, TBL_INDEX, all)) != SIG_OK ||
		    (rc = store_del(t, TBL_INDEX, one)) != SIG_OK ||
		    (rc = store_del(t, TBL_INDEX, age)) != SIG_OK ||
		    (rc = store_del(t, TBL_AUDIT, id)) != SIG_OK)
			break;
		(*removed)++;
	}
	json_object_put(p.ids);
	return rc;
}
