/*
 * Audit events in the store: records in TBL_AUDIT keyed by event id, and
 * two index entries each in TBL_INDEX:
 *
 *   "as:<account>:<shard>:<inverted time>:<id>"	the account's trail
 *   "ar:<account>:<resource>:<inverted time>:<id>"	one resource's
 *
 * so that ascending key order is newest first.  <shard> is one hex digit
 * fixed per process (shm_process_slot).  A B-tree insert holds its leaf page
 * until the commit: with one insertion point per account, every write of
 * an account waited for the previous one's log flush, so commits could not
 * be grouped.  With a shard per worker, concurrent writers insert on
 * different pages; a listing merges the shards.
 *
 * Event ids are "evt_" + the shard (1 hex digit) + the time in milliseconds
 * (11) + random (12): the records too are appended at one point per worker
 * rather than all over audit.db (which outgrows the cache), and retention
 * walks them oldest first per shard, with no index of its own.
 *
 * Events written before this layout (random ids, "au:<account>:<inverted
 * time>:<id>" and "ag:<time>:<id>" entries, no "shard" member) are listed
 * as one more source and pruned through their "ag:" entries.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/audit.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/shm.h"

#define INDEX_MAX	512
#define PREFIX_MAX	256	/* "as:<account>:<shard>:" */
#define SHARDS		16
#define LEGACY		SHARDS		/* the source of unsharded entries */
#define SUFFIX_MAX	(16 + 1 + IDS_MAX)	/* "<16 hex>:<id>" */
#define ID_TIME_AT	5	/* "evt_" + shard: where the time starts */
#define ID_TIME_HEX	11

static int	 my_shard = -1;

static int
shard(void)
{
	if (my_shard < 0)
		my_shard = (int)(shm_process_slot() % SHARDS);
	return my_shard;
}

/* The prefix of the account's trail in source src (a shard or LEGACY). */
static void
trail_prefix(const char *account, int src, char *out)
{
	if (src == LEGACY)
		snprintf(out, PREFIX_MAX, "au:%s:", account);
	else
		snprintf(out, PREFIX_MAX, "as:%s:%x:", account, src);
}

static void
index_keys(const char *account, int src, const char *resource_id,
    int64_t at_us, const char *id, char *all, char *one)
{
	uint64_t inv = UINT64_MAX - (uint64_t)at_us;
	char	 prefix[PREFIX_MAX];

	trail_prefix(account, src, prefix);
	snprintf(all, INDEX_MAX, "%s%016" PRIx64 ":%s", prefix, inv, id);
	snprintf(one, INDEX_MAX, "ar:%s:%s:%016" PRIx64 ":%s", account,
	    resource_id, inv, id);
}

/* The retention index of events written before the shards. */
static void
legacy_age_key(int64_t at_us, const char *id, char *out)
{
	snprintf(out, INDEX_MAX, "ag:%016" PRIx64 ":%s", (uint64_t)at_us, id);
}

/* "evt_" + shard + milliseconds + random: 24 hex digits in all. */
static enum sig_err
event_id(int64_t at_us, char *id)
{
	char		 rnd[2 * 6 + 1];
	enum sig_err	 rc;

	if ((rc = ids_new("", 6, rnd, sizeof(rnd))) != SIG_OK)
		return rc;
	snprintf(id, IDS_MAX, "evt_%x%011" PRIx64 "%s", shard(),
	    (uint64_t)(at_us / 1000) & UINT64_C(0xfffffffffff), rnd);
	return SIG_OK;
}

enum sig_err
audit_record(struct store_txn *t, const struct audit_event *e)
{
	json_object	*rec, *actor;
	char		 id[IDS_MAX], all[INDEX_MAX], one[INDEX_MAX];
	int64_t		 now = ids_now_us();
	enum sig_err	 rc;

	if ((rc = event_id(now, id)) != SIG_OK)
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
	json_object_object_add(rec, "shard", json_object_new_int(shard()));
	index_keys(e->account, shard(), e->resource_id, now, id, all, one);
	if ((rc = store_insert(t, TBL_AUDIT, id, rec)) == SIG_OK &&
	    (rc = store_put_str(t, TBL_INDEX, all, id, 1)) == SIG_OK)
		rc = store_put_str(t, TBL_INDEX, one, id, 1);
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

/* Index entries gathered from several sources, to be merged. */
struct gathered {
	char	 suffix[SUFFIX_MAX];	/* "<16 hex>:<id>": the sort order */
	char	 id[IDS_MAX];
};

struct gather {
	struct gathered	*e;
	size_t		 n, cap, plen;
	/* Retention: stop at the first entry whose time is not before this. */
	int64_t		 before_us;
	int		 time_in_id;	/* TBL_AUDIT keys: the time is in the id */
};

/* The time an entry's key says, in microseconds (a lower bound). */
static int
entry_time(const struct gather *g, const char *key, int64_t *us)
{
	char		 hex[17], *end;
	size_t		 n = g->time_in_id ? ID_TIME_HEX : 16;
	const char	*p = key + (g->time_in_id ? ID_TIME_AT : g->plen);
	unsigned long long v;

	if (strlen(p) < n)
		return -1;
	memcpy(hex, p, n);
	hex[n] = '\0';
	v = strtoull(hex, &end, 16);
	if (*end != '\0')
		return -1;
	*us = g->time_in_id ? (int64_t)v * 1000 : (int64_t)v;
	return 0;
}

static enum sig_err
gather_one(const char *key, const char *val, void *arg)
{
	struct gather	*g = arg;
	struct gathered	*grown;
	int64_t		 at;

	if (g->before_us >= 0 && (entry_time(g, key, &at) != 0 ||
	    at >= g->before_us))
		return SIG_ENOTFOUND;	/* this source is done */
	if (g->time_in_id)
		val = key;		/* a record: its key is the id */
	if (strlen(key + g->plen) >= SUFFIX_MAX || strlen(val) >= IDS_MAX)
		return SIG_OK;		/* not one of ours */
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		if ((grown = realloc(g->e, g->cap * sizeof(*g->e))) == NULL)
			return SIG_EINTERNAL;
		g->e = grown;
	}
	snprintf(g->e[g->n].suffix, SUFFIX_MAX, "%s", key + g->plen);
	snprintf(g->e[g->n].id, IDS_MAX, "%s", val);
	g->n++;
	return SIG_OK;
}

static int
by_suffix(const void *a, const void *b)
{
	return strcmp(((const struct gathered *)a)->suffix,
	    ((const struct gathered *)b)->suffix);
}

/*
 * Up to limit entries of table under prefix, after the one whose suffix is
 * after (NULL: from the first), appended to g.
 */
static enum sig_err
gather(struct store_txn *t, struct gather *g, enum store_table table,
    const char *prefix, const char *after, size_t limit)
{
	char		 from[INDEX_MAX];
	enum sig_err	 rc;
	int		 more;

	g->plen = strlen(prefix);
	g->time_in_id = table == TBL_AUDIT;
	if (after != NULL)
		snprintf(from, sizeof(from), "%s%s", prefix, after);
	rc = store_scan(t, table, prefix, after != NULL ? from : NULL,
	    limit, gather_one, g, &more);
	return rc == SIG_ENOTFOUND ? SIG_OK : rc;
}

enum sig_err
audit_page(struct store_txn *t, const char *account, const char *resource_id,
    const char *after_id, int limit, json_object **events, int *more)
{
	struct gather	 g;
	json_object	*after_rec = NULL, *rec;
	char		 prefix[INDEX_MAX], after[SUFFIX_MAX];
	const char	*acct, *res;
	enum sig_err	 rc = SIG_OK;
	size_t		 i, want = (size_t)limit + 1;
	int		 src;

	*events = NULL;
	*more = 0;
	memset(&g, 0, sizeof(g));
	g.before_us = -1;
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
		/* Every index orders by this suffix, whatever the source. */
		snprintf(after, sizeof(after), "%016" PRIx64 ":%s",
		    UINT64_MAX - (uint64_t)json_i64(after_rec, "at_us"),
		    after_id);
		json_object_put(after_rec);
	}
	/* limit + 1 from every source, merged: the first limit are the page. */
	if (resource_id != NULL) {
		snprintf(prefix, sizeof(prefix), "ar:%s:%s:", account,
		    resource_id);
		rc = gather(t, &g, TBL_INDEX, prefix, after_id ? after : NULL,
		    want);
	} else
		for (src = 0; rc == SIG_OK && src <= LEGACY; src++) {
			trail_prefix(account, src, prefix);
			rc = gather(t, &g, TBL_INDEX, prefix,
			    after_id ? after : NULL, want);
		}
	if (rc == SIG_OK) {
		if (g.n > 0)
			qsort(g.e, g.n, sizeof(*g.e), by_suffix);
		*more = g.n > (size_t)limit;
		*events = json_object_new_array();
	}
	for (i = 0; rc == SIG_OK && i < g.n && i < (size_t)limit; i++) {
		if ((rc = store_get(t, TBL_AUDIT, g.e[i].id, 0, &rec)) != SIG_OK)
			break;
		json_object_array_add(*events, event_view(rec));
		json_object_put(rec);
	}
	free(g.e);
	if (rc != SIG_OK) {
		json_object_put(*events);
		*events = NULL;
	}
	return rc;
}

/* Delete event id, with its index entries, if it is before before_us. */
static enum sig_err
prune_one(struct store_txn *t, const char *id, int64_t before_us, int *removed)
{
	json_object	*rec, *v;
	char		 all[INDEX_MAX], one[INDEX_MAX], age[INDEX_MAX];
	int64_t		 at;
	int		 src = LEGACY;
	enum sig_err	 rc;

	if ((rc = store_get(t, TBL_AUDIT, id, 1, &rec)) != SIG_OK)
		/* An old event reached both ways, already gone: fine. */
		return rc == SIG_ENOTFOUND ? SIG_OK : rc;
	if ((at = json_i64(rec, "at_us")) >= before_us) {
		json_object_put(rec);
		return SIG_OK;
	}
	if (json_object_object_get_ex(rec, "shard", &v))
		src = json_object_get_int(v) & (SHARDS - 1);
	index_keys(json_str(rec, "account"), src, json_str(rec, "resource_id"),
	    at, id, all, one);
	json_object_put(rec);
	if ((rc = store_del(t, TBL_INDEX, all)) != SIG_OK ||
	    (rc = store_del(t, TBL_INDEX, one)) != SIG_OK)
		return rc;
	if (src == LEGACY) {
		legacy_age_key(at, id, age);
		if ((rc = store_del(t, TBL_INDEX, age)) != SIG_OK)
			return rc;
	}
	if ((rc = store_del(t, TBL_AUDIT, id)) != SIG_OK)
		return rc;
	(*removed)++;
	return SIG_OK;
}

enum sig_err
audit_prune(struct store_txn *t, int64_t before_us, int max, int *removed)
{
	struct gather	 g;
	char		 prefix[PREFIX_MAX];
	enum sig_err	 rc = SIG_OK;
	size_t		 i, from, want;
	int		 src, batch;

	*removed = 0;
	memset(&g, 0, sizeof(g));
	g.before_us = before_us;
	/*
	 * Each shard's records oldest first, then the old layout's index.  A
	 * batch can hold old-layout records that are not due (their random
	 * ids sort anywhere): the next batch starts after it, a few times.
	 */
	for (src = 0; rc == SIG_OK && src <= LEGACY && *removed < max; src++) {
		if (src < LEGACY)
			snprintf(prefix, sizeof(prefix), "evt_%x", src);
		for (batch = 0; rc == SIG_OK && batch < 4 && *removed < max;
		    batch++) {
			from = g.n;
			want = (size_t)(max - *removed);
			rc = gather(t, &g, src == LEGACY ? TBL_INDEX : TBL_AUDIT,
			    src == LEGACY ? "ag:" : prefix, from > 0 && batch > 0 ?
			    g.e[from - 1].suffix : NULL, want);
			for (i = from; rc == SIG_OK && i < g.n &&
			    *removed < max; i++)
				rc = prune_one(t, g.e[i].id, before_us,
				    removed);
			if (g.n - from < want)
				break;		/* the source is done */
		}
	}
	free(g.e);
	return rc;
}
