/*
 * The store's transaction logic on a real Berkeley DB environment in a
 * temporary directory: commit, abort on error, unique inserts, ordered scans
 * with paging, and read-modify-write under concurrent processes.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <db.h>

#include "signet/audit.h"
#include "signet/crypto.h"
#include "signet/ids.h"
#include "signet/store.h"
#include "unit.h"

static char	 home[64];

static void
setup(void)
{
	unit_mkhome(home, sizeof(home), "store");
	crypto_init();
}

static void
teardown(void)
{
	unit_rmhome(home);
}

static enum sig_err
put_then_fail(struct store_txn *t, void *arg)
{
	enum sig_err	 rc;

	(void)arg;
	if ((rc = store_put_str(t, TBL_INDEX, "k1", "v1", 0)) != SIG_OK)
		return rc;
	return SIG_EINVAL;
}

static enum sig_err
put_ok(struct store_txn *t, void *arg)
{
	return store_put_str(t, TBL_INDEX, arg, "v", 0);
}

static enum sig_err
get_k1(struct store_txn *t, void *arg)
{
	return store_get_str(t, TBL_INDEX, "k1", arg, 16);
}

/* Make home's index.db anew without page checksums, holding k1 = v1. */
static void
plain_index(void)
{
	char	 path[128], tmp[136];
	DB	*db;
	DBT	 k, v;

	snprintf(path, sizeof(path), "%s/index.db", home);
	snprintf(tmp, sizeof(tmp), "%s.plain", path);
	ck_assert_int_eq(db_create(&db, NULL, 0), 0);
	ck_assert_int_eq(db->open(db, NULL, tmp, NULL, DB_BTREE, DB_CREATE,
	    0600), 0);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = "k1";
	k.size = 2;
	v.data = "v1";
	v.size = 2;
	ck_assert_int_eq(db->put(db, NULL, &k, &v, 0), 0);
	ck_assert_int_eq(db->close(db, 0), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

START_TEST(test_checksums)
{
	struct store	*s;
	struct store_verify_result vr;
	char		 buf[16], path[128];
	int		 n = -1, i;

	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	store_close(s);
	ck_assert_int_eq(store_verify(home, &vr), SIG_OK);
	ck_assert_int_eq(vr.nfailed, 0);
	ck_assert_int_eq(vr.nplain, 0);
	ck_assert_int_eq(store_add_checksums(home, &n), SIG_OK);
	ck_assert_int_eq(n, 0);
	/* A table as an earlier release made it, as in a fresh backup. */
	plain_index();
	ck_assert_int_eq(store_verify(home, &vr), SIG_OK);
	ck_assert_int_eq(vr.nfailed, 0);
	ck_assert_int_eq(vr.nplain, 1);
	ck_assert_str_eq(vr.plain[0], "index.db");
	ck_assert_int_eq(store_add_checksums(home, &n), SIG_OK);
	ck_assert_int_eq(n, TBL_COUNT);
	ck_assert_int_eq(store_verify(home, &vr), SIG_OK);
	ck_assert_int_eq(vr.nfailed + vr.nplain, 0);
	snprintf(path, sizeof(path), "%s/log.0000000001", home);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* The environment's regions belong to the former files. */
	for (i = 1; i <= 6; i++) {
		snprintf(path, sizeof(path), "%s/__db.%03d", home, i);
		(void)unlink(path);
	}
	snprintf(path, sizeof(path), "%s/__db.register", home);
	(void)unlink(path);
	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_view(s, get_k1, buf), SIG_OK);
	ck_assert_str_eq(buf, "v1");
	ck_assert_int_eq(store_run(s, put_ok, "k2"), SIG_OK);
	store_close(s);
}
END_TEST

START_TEST(test_abort_and_commit)
{
	struct store	*s;
	char		 buf[16];

	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_run(s, put_then_fail, NULL), SIG_EINVAL);
	ck_assert_int_eq(store_run(s, get_k1, buf), SIG_ENOTFOUND);
	ck_assert_int_eq(store_run(s, put_ok, "k1"), SIG_OK);
	store_close(s);
	/* Durable across a close and reopen. */
	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_run(s, get_k1, buf), SIG_OK);
	ck_assert_str_eq(buf, "v");
	ck_assert_int_eq(store_ping(s), SIG_OK);
	store_close(s);
}
END_TEST

static enum sig_err
put_rec(struct store_txn *t, void *arg)
{
	json_object	*o = json_object_new_object();
	enum sig_err	 rc;

	json_object_object_add(o, "v", json_object_new_string(arg));
	rc = store_put(t, TBL_ENDPOINTS, "ep", o);
	json_object_put(o);
	return rc;
}

static enum sig_err
get_shared(struct store_txn *t, void *arg)
{
	return store_get_shared(t, TBL_ENDPOINTS, "ep", arg);
}

static enum sig_err
del_rec(struct store_txn *t, void *arg)
{
	(void)arg;
	return store_del(t, TBL_ENDPOINTS, "ep");
}

/* A shared read reuses the parse only while the stored bytes are the same. */
START_TEST(test_shared_get)
{
	struct store	*s;
	json_object	*a, *b, *c;

	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_run(s, put_rec, "one"), SIG_OK);
	ck_assert_int_eq(store_run(s, get_shared, &a), SIG_OK);
	ck_assert_int_eq(store_run(s, get_shared, &b), SIG_OK);
	ck_assert_ptr_eq(a, b);
	ck_assert_str_eq(json_object_get_string(
	    json_object_object_get(b, "v")), "one");
	/* Changed in the store (by any process): parsed again. */
	ck_assert_int_eq(store_run(s, put_rec, "two"), SIG_OK);
	ck_assert_int_eq(store_run(s, get_shared, &c), SIG_OK);
	ck_assert_ptr_ne(c, a);
	ck_assert_str_eq(json_object_get_string(
	    json_object_object_get(c, "v")), "two");
	/* The earlier references stay valid and unchanged. */
	ck_assert_str_eq(json_object_get_string(
	    json_object_object_get(a, "v")), "one");
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
	ck_assert_int_eq(store_run(s, del_rec, NULL), SIG_OK);
	ck_assert_int_eq(store_run(s, get_shared, &a), SIG_ENOTFOUND);
	ck_assert_ptr_null(a);
	store_cache_clear();
	store_close(s);
}
END_TEST

static enum sig_err
insert_twice(struct store_txn *t, void *arg)
{
	json_object	*o = json_object_new_object();
	enum sig_err	 rc;

	(void)arg;
	rc = store_insert(t, TBL_ACCOUNTS, "a", o);
	if (rc == SIG_OK)
		rc = store_insert(t, TBL_ACCOUNTS, "a", o);
	json_object_put(o);
	return rc;
}

START_TEST(test_unique)
{
	struct store	*s;

	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_run(s, insert_twice, NULL), SIG_EEXISTS);
	store_close(s);
}
END_TEST

struct scan_state {
	const char	*after;
	size_t		 limit;
	int		 more;
	char		 seen[256];
};

static enum sig_err
collect(const char *key, const char *val, void *arg)
{
	struct scan_state *st = arg;

	(void)key;
	strcat(st->seen, val);
	return SIG_OK;
}

static enum sig_err
fill(struct store_txn *t, void *arg)
{
	static const char *keys[] = { "ep:b:3", "ep:a:2", "ep:a:1", "ep:a:3",
	    "ep:aa:1", "eq:a:0" };
	static const char *vals[] = { "X", "2", "1", "3", "Y", "Z" };
	enum sig_err	 rc;
	size_t		 i;

	(void)arg;
	for (i = 0; i < 6; i++)
		if ((rc = store_put_str(t, TBL_INDEX, keys[i], vals[i], 1)) !=
		    SIG_OK)
			return rc;
	return SIG_OK;
}

static enum sig_err
scan(struct store_txn *t, void *arg)
{
	struct scan_state *st = arg;

	st->seen[0] = '\0';
	return store_scan(t, TBL_INDEX, "ep:a:", st->after, st->limit, collect,
	    st, &st->more);
}

START_TEST(test_scan_paging)
{
	struct store	*s;
	struct scan_state st;

	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_run(s, fill, NULL), SIG_OK);
	memset(&st, 0, sizeof(st));
	st.limit = 10;
	ck_assert_int_eq(store_run(s, scan, &st), SIG_OK);
	ck_assert_str_eq(st.seen, "123");
	ck_assert_int_eq(st.more, 0);
	st.limit = 2;
	ck_assert_int_eq(store_run(s, scan, &st), SIG_OK);
	ck_assert_str_eq(st.seen, "12");
	ck_assert_int_eq(st.more, 1);
	st.after = "ep:a:2";
	ck_assert_int_eq(store_run(s, scan, &st), SIG_OK);
	ck_assert_str_eq(st.seen, "3");
	ck_assert_int_eq(st.more, 0);
	st.after = "ep:a:3";
	ck_assert_int_eq(store_run(s, scan, &st), SIG_OK);
	ck_assert_str_eq(st.seen, "");
	store_close(s);
}
END_TEST

static enum sig_err
increment(struct store_txn *t, void *arg)
{
	json_object	*o = NULL;
	enum sig_err	 rc;
	int64_t		 n = 0;

	(void)arg;
	rc = store_get(t, TBL_ACCOUNTS, "counter", 1, &o);
	if (rc == SIG_OK) {
		json_object *v;
		if (json_object_object_get_ex(o, "n", &v))
			n = json_object_get_int64(v);
	} else if (rc != SIG_ENOTFOUND)
		return rc;
	else
		o = json_object_new_object();
	json_object_object_add(o, "n", json_object_new_int64(n + 1));
	rc = store_put(t, TBL_ACCOUNTS, "counter", o);
	json_object_put(o);
	return rc;
}

static enum sig_err
read_counter(struct store_txn *t, void *arg)
{
	json_object	*o, *v;
	enum sig_err	 rc;

	if ((rc = store_get(t, TBL_ACCOUNTS, "counter", 0, &o)) != SIG_OK)
		return rc;
	json_object_object_get_ex(o, "n", &v);
	*(int64_t *)arg = json_object_get_int64(v);
	json_object_put(o);
	return SIG_OK;
}

/* Four processes, each with its own environment handle, 100 increments each. */
START_TEST(test_concurrent_rmw)
{
	struct store	*s;
	pid_t		 pids[4];
	int		 i, j, status;
	int64_t		 n = 0;

	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	store_close(s);
	for (i = 0; i < 4; i++) {
		if ((pids[i] = fork()) == 0) {
			int bad = 0;
			if (store_open(home, &s) != SIG_OK)
				_exit(2);
			for (j = 0; j < 100; j++)
				bad |= store_run(s, increment, NULL) != SIG_OK;
			store_close(s);
			_exit(bad);
		}
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_run(s, read_counter, &n), SIG_OK);
	ck_assert_int_eq(n, 400);
	store_close(s);
}
END_TEST

static enum sig_err
three_events(struct store_txn *t, void *arg)
{
	struct audit_event e = { "acct_a", "ak_1", "key", "thing.created",
	    "thing", "th_1", "req_1" };
	enum sig_err	 rc;
	int		 i;

	(void)arg;
	for (i = 0; i < 3; i++)
		if ((rc = audit_record(t, &e)) != SIG_OK)
			return rc;
	return SIG_OK;
}

struct prune_state {
	int64_t		 before;
	int		 removed, more, count;
};

static enum sig_err
prune(struct store_txn *t, void *arg)
{
	struct prune_state *p = arg;

	return audit_prune(t, p->before, 2, &p->removed);
}

static enum sig_err
count_events(struct store_txn *t, void *arg)
{
	struct prune_state *p = arg;
	json_object	*ev;
	enum sig_err	 rc;

	rc = audit_page(t, "acct_a", NULL, NULL, 100, &ev, &p->more);
	if (rc == SIG_OK) {
		p->count = (int)json_object_array_length(ev);
		json_object_put(ev);
	}
	return rc;
}

/* Retention: the oldest events go first, with their index entries. */
START_TEST(test_audit_prune)
{
	struct store	*s;
	struct prune_state p;

	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_run(s, three_events, NULL), SIG_OK);
	memset(&p, 0, sizeof(p));
	/* Nothing is older than an hour ago. */
	p.before = ids_now_us() - INT64_C(3600000000);
	ck_assert_int_eq(store_run(s, prune, &p), SIG_OK);
	ck_assert_int_eq(p.removed, 0);
	p.before = ids_now_us() + 1000000;
	ck_assert_int_eq(store_run(s, prune, &p), SIG_OK);
	ck_assert_int_eq(p.removed, 2);		/* the batch limit */
	ck_assert_int_eq(store_run(s, count_events, &p), SIG_OK);
	ck_assert_int_eq(p.count, 1);
	ck_assert_int_eq(store_run(s, prune, &p), SIG_OK);
	ck_assert_int_eq(p.removed, 1);
	ck_assert_int_eq(store_run(s, count_events, &p), SIG_OK);
	ck_assert_int_eq(p.count, 0);
	store_close(s);
}
END_TEST

/* An event in the layout written before the shards (au:, ag: keys). */
static enum sig_err
legacy_event(struct store_txn *t, void *arg)
{
	const char	*id = arg;
	int64_t		 at = ids_now_us();
	uint64_t	 inv = UINT64_MAX - (uint64_t)at;
	json_object	*rec = json_object_new_object();
	char		 k[256];
	enum sig_err	 rc;

	json_object_object_add(rec, "id", json_object_new_string(id));
	json_object_object_add(rec, "account", json_object_new_string("acct_a"));
	json_object_object_add(rec, "at_us", json_object_new_int64(at));
	json_object_object_add(rec, "action", json_object_new_string("old.x"));
	json_object_object_add(rec, "resource_type", json_object_new_string("t"));
	json_object_object_add(rec, "resource_id", json_object_new_string("th_1"));
	rc = store_insert(t, TBL_AUDIT, id, rec);
	json_object_put(rec);
	snprintf(k, sizeof(k), "au:acct_a:%016llx:%s", (unsigned long long)inv, id);
	if (rc == SIG_OK)
		rc = store_put_str(t, TBL_INDEX, k, id, 1);
	snprintf(k, sizeof(k), "ar:acct_a:th_1:%016llx:%s",
	    (unsigned long long)inv, id);
	if (rc == SIG_OK)
		rc = store_put_str(t, TBL_INDEX, k, id, 1);
	snprintf(k, sizeof(k), "ag:%016llx:%s", (unsigned long long)at, id);
	if (rc == SIG_OK)
		rc = store_put_str(t, TBL_INDEX, k, id, 1);
	return rc;
}

struct walk {
	const char	*resource;
	char		 after[64];
	int		 limit, n, more;
	char		 ids[16][64];
};

/* One page; checks newest first across pages. */
static enum sig_err
walk_page(struct store_txn *t, void *arg)
{
	struct walk	*w = arg;
	json_object	*ev, *e;
	enum sig_err	 rc;
	size_t		 i;

	rc = audit_page(t, "acct_a", w->resource, w->after[0] ? w->after : NULL,
	    w->limit, &ev, &w->more);
	if (rc != SIG_OK)
		return rc;
	for (i = 0; i < json_object_array_length(ev); i++) {
		e = json_object_array_get_idx(ev, i);
		snprintf(w->ids[w->n++ % 16], 64, "%s",
		    json_object_get_string(json_object_object_get(e, "id")));
		snprintf(w->after, sizeof(w->after), "%s",
		    json_object_get_string(json_object_object_get(e, "id")));
	}
	json_object_put(ev);
	return SIG_OK;
}

static enum sig_err
one_event(struct store_txn *t, void *arg)
{
	struct audit_event e = { "acct_a", "ak_1", "key", "thing.created",
	    "thing", "th_1", "req_1" };

	(void)arg;
	return audit_record(t, &e);
}

/*
 * Events of several writers (processes: shards) and of the old layout are
 * listed as one trail, newest first, page by page, and pruned alike.
 */
START_TEST(test_audit_shards)
{
	struct store	*s;
	struct walk	 w, all;
	struct prune_state p;
	pid_t		 pid;
	int		 status, i, pages = 0;

	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_run(s, legacy_event,
	    "evt_000000000000000000000001"), SIG_OK);
	ck_assert_int_eq(store_run(s, one_event, NULL), SIG_OK);
	store_close(s);
	for (i = 0; i < 3; i++) {
		usleep(2000);
		if ((pid = fork()) == 0) {
			if (store_open(home, &s) != SIG_OK ||
			    store_run(s, one_event, NULL) != SIG_OK)
				_exit(1);
			store_close(s);
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	usleep(2000);
	ck_assert_int_eq(store_run(s, legacy_event,
	    "evt_000000000000000000000002"), SIG_OK);
	/* 6 events, newest first: legacy 2, ..., legacy 1 last. */
	memset(&w, 0, sizeof(w));
	w.limit = 2;
	do {
		ck_assert_int_eq(store_run(s, walk_page, &w), SIG_OK);
		pages++;
	} while (w.more);
	ck_assert_int_eq(w.n, 6);
	ck_assert_int_eq(pages, 3);
	ck_assert_str_eq(w.ids[0], "evt_000000000000000000000002");
	ck_assert_str_eq(w.ids[5], "evt_000000000000000000000001");
	/* Page by page is the same order as one page. */
	memset(&all, 0, sizeof(all));
	all.limit = 10;
	ck_assert_int_eq(store_run(s, walk_page, &all), SIG_OK);
	ck_assert_int_eq(all.n, 6);
	for (i = 0; i < 6; i++)
		ck_assert_str_eq(w.ids[i], all.ids[i]);
	/* The same through the resource index, in one page. */
	memset(&w, 0, sizeof(w));
	w.resource = "th_1";
	w.limit = 10;
	ck_assert_int_eq(store_run(s, walk_page, &w), SIG_OK);
	ck_assert_int_eq(w.n, 6);
	ck_assert_int_eq(w.more, 0);
	ck_assert_str_eq(w.ids[0], "evt_000000000000000000000002");
	ck_assert_str_eq(w.ids[5], "evt_000000000000000000000001");
	/* Retention removes every layout's entries. */
	memset(&p, 0, sizeof(p));
	p.before = ids_now_us() + 1000000;
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(store_run(s, prune, &p), SIG_OK);
	ck_assert_int_eq(store_run(s, count_events, &p), SIG_OK);
	ck_assert_int_eq(p.count, 0);
	memset(&w, 0, sizeof(w));
	w.resource = "th_1";
	w.limit = 10;
	ck_assert_int_eq(store_run(s, walk_page, &w), SIG_OK);
	ck_assert_int_eq(w.n, 0);
	store_close(s);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_abort_and_commit);
	tcase_add_test(tc, test_unique);
	tcase_add_test(tc, test_shared_get);
	tcase_add_test(tc, test_audit_shards);
	tcase_add_test(tc, test_scan_paging);
	tcase_add_test(tc, test_concurrent_rmw);
	tcase_add_test(tc, test_audit_prune);
	tcase_add_test(tc, test_checksums);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
