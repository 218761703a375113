/*
 * The resource layer on a real Berkeley DB environment in a temporary
 * directory: the listings' key layout and positions (records.c), the
 * reserved first segments against the route table (routes.c), workspace
 * keys' roll, grace, expiry and delete (wskeys.c), and enterprise keys'
 * selection, tombstones and revocation (entkeys.c).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/app.h"
#include "signet/crypto.h"
#include "signet/ctx.h"
#include "signet/entkeys.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/records.h"
#include "signet/routes.h"
#include "signet/store.h"
#include "signet/wskeys.h"
#include "unit.h"

static char		 home[64];
static struct store	*st;

static void
setup(void)
{
	snprintf(home, sizeof(home), "/tmp/signet-check-res-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(home));
	crypto_init();
	ck_assert_int_eq(store_open(home, &st), SIG_OK);
}

static void
teardown(void)
{
	char	 cmd[128];

	store_close(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	ck_assert_int_eq(system(cmd), 0);
}

/* --- records --- */

START_TEST(test_index_keys)
{
	char	 k[RECORDS_KEY_MAX], big[RECORDS_KEY_MAX + 8];

	ck_assert_int_eq(records_index_key(LIST_ENDPOINTS, "acct_1", 0x10,
	    "ep_a", k), 0);
	ck_assert_str_eq(k, "ep:acct_1:0000000000000010:ep_a");
	ck_assert_int_eq(records_index_key(LIST_INBOUND, "acct_1", 0x10,
	    "0190-uuid", k), 0);
	ck_assert_str_eq(k, "in:acct_1::0190-uuid");
	ck_assert_int_eq(records_index_key(LIST_WORKSPACES, "acct_1", 1, "acme",
	    k), 0);
	ck_assert_str_eq(k, "ws:acct_1:0000000000000001:acme");
	ck_assert_int_eq(records_index_key(LIST_WSKEYS_ALL, "acme", 2, "u1", k),
	    0);
	ck_assert_str_eq(k, "wk:acme:all:0000000000000002:u1");
	ck_assert_int_eq(records_index_key(LIST_WSKEYS_LIVE, "acme", 2, "u1",
	    k), 0);
	ck_assert_str_eq(k, "wk:acme:live:0000000000000002:u1");
	ck_assert_int_eq(records_index_key(LIST_ENTERPRISES, "acct_1", 3,
	    "ent_x", k), 0);
	ck_assert_str_eq(k, "en:acct_1:0000000000000003:ent_x");
	ck_assert_int_eq(records_index_key(LIST_ENTKEYS, "ent_x", 4, NULL, k),
	    0);
	ck_assert_str_eq(k, "ek:ent_x:0000000000000004");
	ck_assert_int_eq(records_prefix(LIST_WSKEYS_LIVE, "acme", k), 0);
	ck_assert_str_eq(k, "wk:acme:live:");
	ck_assert_int_eq(records_table(LIST_INBOUND), TBL_INBOUND);
	ck_assert_int_eq(records_table(LIST_ENTKEYS), TBL_ENTKEYS);
	/* A key that does not fit is refused, not cut. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(records_prefix(LIST_ENDPOINTS, big, k), -1);
	ck_assert_int_eq(records_index_key(LIST_ENDPOINTS, "a", 1, big, k), -1);
}
END_TEST

struct owned_args {
	const char	*owner;
	enum sig_err	 rc;
	char		 pos[RECORDS_KEY_MAX];
};

static enum sig_err
put_workspace(struct store_txn *t, void *arg)
{
	json_object	*ws = json_object_new_object();
	char		 ikey[RECORDS_KEY_MAX];
	enum sig_err	 rc;

	(void)arg;
	ck_assert_int_eq(records_index_key(LIST_WORKSPACES, "acct_a", 7, "acme",
	    ikey), 0);
	json_object_object_add(ws, "account", json_object_new_string("acct_a"));
	json_object_object_add(ws, "ikey", json_object_new_string(ikey));
	rc = store_insert(t, TBL_WORKSPACES, "acme", ws);
	json_object_put(ws);
	if (rc == SIG_OK)
		rc = records_index_put(t, ikey, "acme");
	return rc;
}

static enum sig_err
owned_tx(struct store_txn *t, void *arg)
{
	struct owned_args *a = arg;
	json_object	*rec;

	a->rc = records_owned(t, TBL_WORKSPACES, "acme", "account", a->owner,
	    RECORD_COPY, &rec);
	if (a->rc == SIG_OK)
		ck_assert_str_eq(json_str(rec, "account"), "acct_a");
	else
		ck_assert_ptr_null(rec);
	json_object_put(rec);
	return records_position(t, LIST_WORKSPACES, a->owner, "acme", a->pos);
}

START_TEST(test_owned_and_position)
{
	struct owned_args a;

	ck_assert_int_eq(store_run(st, put_workspace, NULL), SIG_OK);
	/* The same key again: the entry exists. */
	ck_assert_int_eq(store_run(st, put_workspace, NULL), SIG_EEXISTS);
	a.owner = "acct_a";
	ck_assert_int_eq(store_view(st, owned_tx, &a), SIG_OK);
	ck_assert_int_eq(a.rc, SIG_OK);
	ck_assert_str_eq(a.pos, "ws:acct_a:0000000000000007:acme");
	/* Another owner's record answers exactly like an absent one. */
	a.owner = "acct_b";
	ck_assert_int_eq(store_view(st, owned_tx, &a), SIG_ENOTFOUND);
	ck_assert_int_eq(a.rc, SIG_ENOTFOUND);
}
END_TEST

static enum sig_err
write_in_view(struct store_txn *t, void *arg)
{
	(void)arg;
	return store_put_str(t, TBL_INDEX, "x", "y", 0);
}

START_TEST(test_view_refuses_writes)
{
	ck_assert_int_eq(store_view(st, write_in_view, NULL), SIG_EINTERNAL);
	ck_assert_int_eq(store_read(st, write_in_view, NULL), SIG_EINTERNAL);
	ck_assert_int_eq(store_run(st, write_in_view, NULL), SIG_OK);
}
END_TEST

/* --- ctx_run: the declared access decides, and routes declare writes --- */

static enum sig_err
count_run(struct ctx *c, struct store_txn *t, void *arg)
{
	(*(int *)arg)++;
	c->data = json_object_new_object();
	return store_put_str(t, TBL_INDEX, "ctx-run", "x", 0);
}

START_TEST(test_ctx_run_access)
{
	static const struct route ro = { "GET", "/r", NULL, 0, NULL };
	static const struct route rw = { "POST", "/w", NULL, ROUTE_WRITE, NULL };
	struct http_request req;
	struct http_response res;
	struct app	 app;
	struct ctx	 c;
	int		 runs = 0;

	memset(&app, 0, sizeof(app));
	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	memset(&c, 0, sizeof(c));
	app.store = st;
	req.method = "GET";
	c.app = &app;
	c.req = &req;
	c.res = &res;
	c.route = &ro;
	/* A write on a read-only route is refused before anything runs. */
	ck_assert_int_eq(ctx_run(&c, count_run, &runs, CTX_WRITE),
	    SIG_EINTERNAL);
	ck_assert_int_eq(runs, 0);
	/* Reads refuse the callback's write, and leave no answer. */
	ck_assert_int_eq(ctx_run(&c, count_run, &runs, CTX_VIEW), SIG_EINTERNAL);
	ck_assert_int_eq(ctx_run(&c, count_run, &runs, CTX_READ), SIG_EINTERNAL);
	ck_assert_int_eq(runs, 2);
	ck_assert_ptr_null(c.data);
	c.route = &rw;
	ck_assert_int_eq(ctx_run(&c, count_run, &runs, CTX_WRITE), SIG_OK);
	ck_assert_int_eq(runs, 3);
	ck_assert_ptr_nonnull(c.data);
	json_object_put(c.data);
}
END_TEST

/* --- routes --- */

START_TEST(test_reserved_segments)
{
	static const char *const taken[] = { "endpoints", "inbound-endpoints",
	    "enterprises", "workspaces", "audit-events", "healthz", "metrics",
	    NULL };
	static const char *const free_[] = { "acme", "v1", "endpoint",
	    "endpoints2", "jwks.json", "ws_signing_key", NULL };
	const char *const *p;
	char		 seg[64];
	size_t		 i;

	for (p = taken; *p != NULL; p++)
		ck_assert_msg(routes_reserved(*p), "%s", *p);
	for (p = free_; *p != NULL; p++)
		ck_assert_msg(!routes_reserved(*p), "%s", *p);
	/* Every literal first segment of the table, and nothing else. */
	for (i = 0; i < app_nroutes; i++) {
		const char *s = app_routes[i].pattern + 1;

		if (strncmp(s, "v1/", 3) == 0)
			s += 3;
		snprintf(seg, sizeof(seg), "%.*s", (int)strcspn(s, "/"), s);
		if (strcmp(seg, "{}") != 0)
			ck_assert_msg(routes_reserved(seg), "%s", seg);
	}
}
END_TEST

/* --- workspace keys --- */

struct wk_args {
	struct wskey_new	*nk;
	json_object		*rec;
	int64_t			 now, grace, expiry;
	enum sig_err		 step;
	int			 domains_set;
	json_object		*domains;
};

static enum sig_err
wk_insert_tx(struct store_txn *t, void *arg)
{
	struct wk_args	*a = arg;

	json_object_put(a->rec);
	return wskey_insert(t, "acme", a->nk, NULL, a->expiry,
	    json_object_new_string("tester"), &a->rec);
}

static enum sig_err
wk_roll_tx(struct store_txn *t, void *arg)
{
	struct wk_args	*a = arg;
	enum sig_err	 rc;

	json_object_put(a->rec);
	if ((rc = wskey_load(t, "acme", a->nk->uid, 1, &a->rec)) != SIG_OK)
		return rc;
	a->step = wskey_roll(t, a->rec, a->grace, a->now,
	    json_object_new_string("tester"));
	return SIG_OK;
}

static enum sig_err
wk_delete_tx(struct store_txn *t, void *arg)
{
	struct wk_args	*a = arg;
	enum sig_err	 rc;

	json_object_put(a->rec);
	if ((rc = wskey_load(t, "acme", a->nk->uid, 1, &a->rec)) != SIG_OK)
		return rc;
	a->step = wskey_delete(t, a->rec, json_object_new_string("tester"));
	return SIG_OK;
}

static enum sig_err
wk_update_tx(struct store_txn *t, void *arg)
{
	struct wk_args	*a = arg;
	enum sig_err	 rc;

	json_object_put(a->rec);
	if ((rc = wskey_load(t, "acme", a->nk->uid, 1, &a->rec)) != SIG_OK)
		return rc;
	a->step = wskey_update(t, a->rec, a->domains_set, a->domains,
	    a->expiry);
	return SIG_OK;
}

struct jwks_args {
	int64_t		 now;
	json_object	*keys;
};

static enum sig_err
wk_jwks_tx(struct store_txn *t, void *arg)
{
	struct jwks_args *a = arg;

	json_object_put(a->keys);
	return wskey_jwks(t, "acme", a->now, &a->keys);
}

static enum sig_err
wk_other_ws_tx(struct store_txn *t, void *arg)
{
	struct wk_args	*a = arg;
	json_object	*rec = NULL;
	enum sig_err	 rc;

	rc = wskey_load(t, "other", a->nk->uid, 0, &rec);
	json_object_put(rec);
	return rc;
}

static size_t
jwks_count(int64_t now)
{
	struct jwks_args j = { now, NULL };
	size_t		 n;

	ck_assert_int_eq(store_view(st, wk_jwks_tx, &j), SIG_OK);
	n = json_object_array_length(j.keys);
	json_object_put(j.keys);
	return n;
}

START_TEST(test_wskey_roll_and_grace)
{
	struct wskey_new nk;
	struct wk_args	 a;
	int64_t		 now;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(wskey_generate("EdDSA", &nk), SIG_OK);
	ck_assert_ptr_nonnull(nk.kp.private_pem);
	a.nk = &nk;
	ck_assert_int_eq(store_run(st, wk_insert_tx, &a), SIG_OK);
	now = json_i64(a.rec, "created_at");
	ck_assert_str_eq(json_str(a.rec, "status"), "active");
	ck_assert_ptr_null(wskey_unusable(a.rec, now));
	ck_assert_uint_eq(jwks_count(now), 1);
	/* A key of another workspace is absent. */
	ck_assert_int_eq(store_view(st, wk_other_ws_tx, &a), SIG_ENOTFOUND);

	/* Rolled with 60 s of grace: usable until exactly then. */
	a.now = now + 1000;
	a.grace = 60;
	ck_assert_int_eq(store_run(st, wk_roll_tx, &a), SIG_OK);
	ck_assert_int_eq(a.step, SIG_OK);
	ck_assert_str_eq(json_str(a.rec, "status"), "rolled");
	ck_assert_int_eq(json_i64(a.rec, "grace_until"),
	    now + 1000 + 60 * 1000000);
	ck_assert_ptr_null(wskey_unusable(a.rec, now + 1000 + 60 * 1000000 -
	    1));
	ck_assert_ptr_nonnull(wskey_unusable(a.rec, now + 1000 +
	    60 * 1000000));
	ck_assert_uint_eq(jwks_count(now + 2000), 1);
	ck_assert_uint_eq(jwks_count(now + 1000 + 60 * 1000000), 0);
	/* Only an active key rolls. */
	ck_assert_int_eq(store_run(st, wk_roll_tx, &a), SIG_OK);
	ck_assert_int_eq(a.step, SIG_ENOTACTIVE);

	/* expiry_at: unusable from that microsecond on. */
	a.expiry = now + 500;
	ck_assert_int_eq(store_run(st, wk_update_tx, &a), SIG_OK);
	ck_assert_int_eq(a.step, SIG_OK);
	ck_assert_ptr_null(wskey_unusable(a.rec, now + 499));
	ck_assert_str_eq(wskey_unusable(a.rec, now + 500),
	    "the signing key has expired");
	a.expiry = -1;		/* null: no expiry again */
	ck_assert_int_eq(store_run(st, wk_update_tx, &a), SIG_OK);
	ck_assert_int_eq(json_i64(a.rec, "expiry_at"), 0);

	/* Deleted: kept, marked, out of the JWKS; not deleted twice. */
	ck_assert_int_eq(store_run(st, wk_delete_tx, &a), SIG_OK);
	ck_assert_int_eq(a.step, SIG_OK);
	ck_assert_str_eq(wskey_unusable(a.rec, now),
	    "the signing key was deleted");
	ck_assert_uint_eq(jwks_count(now + 2000), 0);
	ck_assert_int_eq(store_run(st, wk_delete_tx, &a), SIG_OK);
	ck_assert_int_eq(a.step, SIG_ENOTFOUND);
	ck_assert_int_eq(store_run(st, wk_roll_tx, &a), SIG_OK);
	ck_assert_int_eq(a.step, SIG_ENOTFOUND);
	ck_assert_int_eq(store_run(st, wk_update_tx, &a), SIG_OK);
	ck_assert_int_eq(a.step, SIG_ENOTFOUND);
	json_object_put(a.rec);
	wskey_forget(&nk);
	ck_assert_ptr_null(nk.kp.private_pem);
}
END_TEST

/* --- enterprise keys --- */

static const char jwk_json[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"kid\":\"k1\"}";

static json_object *
set_of(const char *jwk)
{
	char	 buf[512];

	snprintf(buf, sizeof(buf), "{\"keys\":[%s]}", jwk);
	return json_tokener_parse(buf);
}

START_TEST(test_entkey_select)
{
	json_object	*doc = set_of(jwk_json), *empty;
	struct jwk	 k;
	char		 msg[SIG_MSG_MAX];

	ck_assert_int_eq(entkey_select(doc, "k1", SIG_EINVAL, &k, msg), SIG_OK);
	ck_assert_str_eq(k.kty, "OKP");
	jwk_free(&k);
	/* The only key of an inline set, without a keyId. */
	ck_assert_int_eq(entkey_select(doc, NULL, SIG_EINVAL, &k, msg), SIG_OK);
	jwk_free(&k);
	ck_assert_int_eq(entkey_select(doc, "k2", SIG_EINVAL, &k, msg),
	    SIG_EINVAL);
	ck_assert_str_eq(msg, "keyId and the JWK's kid differ");
	/* A fetched set must name the key. */
	ck_assert_int_eq(entkey_select(doc, "k2", SIG_EFETCH, &k, msg),
	    SIG_EFETCH);
	ck_assert_str_eq(msg, "JWKS fetch failed: the JWKS has no key with "
	    "kid k2");
	empty = json_tokener_parse("{\"keys\":[]}");
	ck_assert_int_eq(entkey_select(empty, "k1", SIG_EINVAL, &k, msg),
	    SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "at least one key"));
	json_object_put(empty);
	json_object_put(doc);
}
END_TEST

struct ek_args {
	struct entkey_new	*k;
	json_object		*rec;
	enum sig_err		 step;
};

static enum sig_err
ek_insert_tx(struct store_txn *t, void *arg)
{
	struct ek_args	*a = arg;

	json_object_put(a->rec);
	a->rec = NULL;
	return entkey_insert(t, a->k, json_object_new_string("tester"),
	    &a->rec);
}

static enum sig_err
ek_revoke_tx(struct store_txn *t, void *arg)
{
	struct ek_args	*a = arg;
	enum sig_err	 rc;

	json_object_put(a->rec);
	if ((rc = entkey_load(t, a->k->ent, a->k->key_id, 1, &a->rec)) !=
	    SIG_OK)
		return rc;
	a->step = entkey_revoke(t, a->k->ent, a->rec,
	    json_object_new_string("tester"));
	return SIG_OK;
}

START_TEST(test_entkey_tombstones)
{
	json_object	*doc = set_of(jwk_json);
	struct entkey_new k;
	struct ek_args	 a = { &k, NULL, SIG_OK };
	char		 msg[SIG_MSG_MAX], rid[ENTKEY_RID_MAX];

	memset(&k, 0, sizeof(k));
	k.ent = "ent_0123";
	k.key_id = "k1";
	ck_assert_int_eq(entkey_select(doc, "k1", SIG_EINVAL, &k.jwk, msg),
	    SIG_OK);
	entkey_record_id(k.ent, k.key_id, rid);
	ck_assert_str_eq(rid, "ent_0123/k1");
	ck_assert_int_eq(store_run(st, ek_insert_tx, &a), SIG_OK);
	ck_assert_str_eq(json_str(a.rec, "status"), "active");
	ck_assert_str_eq(json_str(a.rec, "source"), "jwks");
	/* The keyId is taken, and stays taken once revoked. */
	ck_assert_int_eq(store_run(st, ek_insert_tx, &a), SIG_EKEYIDUSED);
	ck_assert_int_eq(store_run(st, ek_revoke_tx, &a), SIG_OK);
	ck_assert_int_eq(a.step, SIG_OK);
	ck_assert_str_eq(json_str(a.rec, "status"), "revoked");
	ck_assert_int_eq(store_run(st, ek_revoke_tx, &a), SIG_OK);
	ck_assert_int_eq(a.step, SIG_EREVOKED);
	ck_assert_int_eq(store_run(st, ek_insert_tx, &a), SIG_EKEYIDUSED);
	json_object_put(a.rec);
	jwk_free(&k.jwk);
	json_object_put(doc);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("resources");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_index_keys);
	tcase_add_test(tc, test_owned_and_position);
	tcase_add_test(tc, test_view_refuses_writes);
	tcase_add_test(tc, test_ctx_run_access);
	tcase_add_test(tc, test_reserved_segments);
	tcase_add_test(tc, test_wskey_roll_and_grace);
	tcase_add_test(tc, test_entkey_select);
	tcase_add_test(tc, test_entkey_tombstones);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
