/*
 * The router, and the application pipeline driven without FastCGI: route
 * matching, 404/405 with Allow, authentication, the order of the checks and
 * the envelopes, against a real store in a temporary directory.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signet/app.h"
#include "signet/auth.h"
#include "signet/handlers.h"
#include "signet/router.h"
#include "unit.h"

static enum sig_err
h_dummy(struct ctx *c)
{
	(void)c;
	return SIG_OK;
}

static const struct route routes[] = {
	{ "GET", "/v1/things", h_dummy, 0, NULL },
	{ "POST", "/v1/things", h_dummy, 0, NULL },
	{ "GET", "/v1/things/{}", h_dummy, 0, NULL },
	{ "DELETE", "/v1/things/{}/parts/{}", h_dummy, 0, NULL },
	{ "GET", "/v1/{}/jwks.json", h_dummy, 0, NULL },
};

static enum sig_err
match(const char *method, const char *p, struct route_match *m)
{
	static char	 path[256];

	snprintf(path, sizeof(path), "%s", p);
	return router_match(routes, sizeof(routes) / sizeof(routes[0]),
	    method, path, m);
}

START_TEST(test_match)
{
	struct route_match m;

	ck_assert_int_eq(match("GET", "/v1/things", &m), SIG_OK);
	ck_assert_ptr_eq(m.route, &routes[0]);
	ck_assert_int_eq(match("POST", "/v1/things", &m), SIG_OK);
	ck_assert_ptr_eq(m.route, &routes[1]);
	ck_assert_int_eq(match("GET", "/v1/things/abc", &m), SIG_OK);
	ck_assert_int_eq(m.nparams, 1);
	ck_assert_str_eq(m.params[0], "abc");
	ck_assert_int_eq(match("DELETE", "/v1/things/a/parts/b", &m), SIG_OK);
	ck_assert_int_eq(m.nparams, 2);
	ck_assert_str_eq(m.params[1], "b");
	ck_assert_int_eq(match("GET", "/v1/acme/jwks.json", &m), SIG_OK);
	ck_assert_str_eq(m.params[0], "acme");
}
END_TEST

START_TEST(test_no_match)
{
	struct route_match m;

	ck_assert_int_eq(match("GET", "/v1/thing", &m), SIG_ENOTFOUND);
	ck_assert_int_eq(match("GET", "/v1/things/a/b", &m), SIG_ENOTFOUND);
	ck_assert_int_eq(match("GET", "/v1/things//", &m), SIG_ENOTFOUND);
	ck_assert_int_eq(match("GET", "/v1//jwks.json", &m), SIG_ENOTFOUND);
	ck_assert_int_eq(match("GET", "/", &m), SIG_ENOTFOUND);
	ck_assert_int_eq(match("PUT", "/v1/things", &m), SIG_EMETHOD);
	ck_assert_str_eq(m.allow, "GET, POST");
	ck_assert_int_eq(match("get", "/v1/things/x", &m), SIG_EMETHOD);
	ck_assert_str_eq(m.allow, "GET");
}
END_TEST

/* --- the application pipeline --- */

static char		 home[] = "/tmp/signet-check-router-XXXXXX";
static struct app	 app;
static char		 admin_tok[AUTH_TOKEN_LEN + 1];
static char		 member_tok[AUTH_TOKEN_LEN + 1];
static char		 auth_admin[80], auth_member[80];

static void
app_setup(void)
{
	char	 path[256], acct[IDS_MAX], id[IDS_MAX];

	ck_assert_ptr_nonnull(mkdtemp(home));
	snprintf(path, sizeof(path), "%s/master.key", home);
	ck_assert_int_eq(crypto_init(), SIG_OK);
	ck_assert_int_eq(crypto_master_create(path), SIG_OK);
	ck_assert_int_eq(app_open(&app, home), SIG_OK);
	ck_assert_int_eq(auth_account_create(app.store, "t", acct), SIG_OK);
	ck_assert_int_eq(auth_apikey_create(app.store, acct, "admin", NULL, id,
	    admin_tok), SIG_OK);
	ck_assert_int_eq(auth_apikey_create(app.store, acct, "member", "m", id,
	    member_tok), SIG_OK);
	snprintf(auth_admin, sizeof(auth_admin), "Bearer %s", admin_tok);
	snprintf(auth_member, sizeof(auth_member), "Bearer %s", member_tok);
}

static void
app_teardown(void)
{
	char	 cmd[300];

	app_close(&app);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	ck_assert_int_eq(system(cmd), 0);
}

static json_object *
call(const char *method, const char *uri, const char *auth, const char *body,
    int *status, struct http_response *res)
{
	struct http_request req;
	json_object	*doc;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.uri = uri;
	req.authorization = auth;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.content_type = body ? "application/json" : NULL;
	app_handle(&app, &req, res);
	*status = res->status;
	ck_assert_str_eq(res->request_id + 28, "");
	ck_assert_int_eq(strncmp(res->request_id, "req_", 4), 0);
	doc = res->body ? json_tokener_parse(res->body) : NULL;
	free(res->body);
	res->body = NULL;
	return doc;
}

static const char *
error_code(json_object *doc)
{
	json_object	*e, *c;

	ck_assert(json_object_object_get_ex(doc, "error", &e));
	ck_assert(json_object_object_get_ex(e, "code", &c));
	return json_object_get_string(c);
}

START_TEST(test_app_errors)
{
	struct http_response res;
	json_object	*d;
	int		 st;

	d = call("GET", "/v1/nothing", auth_admin, NULL, &st, &res);
	ck_assert_int_eq(st, 404);
	ck_assert_str_eq(error_code(d), "NOT_FOUND");
	json_object_put(d);
	d = call("PATCH", "/v1/endpoints", auth_admin, NULL, &st, &res);
	ck_assert_int_eq(st, 405);
	ck_assert_str_eq(error_code(d), "METHOD_NOT_ALLOWED");
	ck_assert_str_eq(res.headers[0].name, "Allow");
	ck_assert_str_eq(res.headers[0].value, "POST, GET");
	json_object_put(d);
	d = call("GET", "/v1/endpoints", NULL, NULL, &st, &res);
	ck_assert_int_eq(st, 401);
	ck_assert_str_eq(error_code(d), "UNAUTHORIZED");
	json_object_put(d);
	d = call("GET", "/v1/endpoints", "Bearer sgk_AAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAA", NULL, &st, &res);
	ck_assert_int_eq(st, 401);
	json_object_put(d);
	/* 401 comes before 400: an unauthenticated bad id is still 401. */
	d = call("GET", "/v1/endpoints/bad", NULL, NULL, &st, &res);
	ck_assert_int_eq(st, 401);
	json_object_put(d);
	d = call("GET", "/v1/endpoints/bad", auth_member, NULL, &st, &res);
	ck_assert_int_eq(st, 400);
	json_object_put(d);
	d = call("POST", "/v1/endpoints", auth_member, "{\"url\": 1", &st, &res);
	ck_assert_int_eq(st, 400);
	ck_assert_str_eq(error_code(d), "INVALID_REQUEST");
	json_object_put(d);
}
END_TEST

START_TEST(test_app_endpoint_flow)
{
	struct http_response res;
	json_object	*d, *data, *v;
	char		 uri[256], ep[IDS_MAX];
	int		 st;

	d = call("POST", "/v1/endpoints/", auth_admin,
	    "{\"url\":\"https://example.com/h\"}", &st, &res);
	ck_assert_int_eq(st, 201);
	ck_assert(json_object_object_get_ex(d, "data", &data));
	ck_assert(json_object_object_get_ex(data, "id", &v));
	snprintf(ep, sizeof(ep), "%s", json_object_get_string(v));
	json_object_put(d);
	snprintf(uri, sizeof(uri), "/v1/endpoints/%s/signing-keys", ep);
	d = call("POST", uri, auth_admin, "{}", &st, &res);
	ck_assert_int_eq(st, 201);
	json_object_put(d);
	d = call("POST", uri, auth_admin, NULL, &st, &res);
	ck_assert_int_eq(st, 409);
	ck_assert_str_eq(error_code(d), "MAX_SIGNING_KEYS_REACHED");
	json_object_put(d);
	d = call("POST", uri, auth_admin, "{\"x\":1}", &st, &res);
	ck_assert_int_eq(st, 400);
	json_object_put(d);
	d = call("GET", uri, auth_member, NULL, &st, &res);
	ck_assert_int_eq(st, 200);
	ck_assert(json_object_object_get_ex(d, "data", &data));
	ck_assert_int_eq(json_object_array_length(data), 2);
	ck_assert_ptr_null(strstr(json_object_to_json_string(d), "whsec_"));
	json_object_put(d);
	snprintf(uri, sizeof(uri), "/v1/endpoints/%s", ep);
	d = call("DELETE", uri, auth_admin, NULL, &st, &res);
	ck_assert_int_eq(st, 204);
	ck_assert_ptr_null(d);
	d = call("GET", uri, auth_admin, NULL, &st, &res);
	ck_assert_int_eq(st, 404);
	ck_assert_str_eq(error_code(d), "ENDPOINT_NOT_FOUND");
	json_object_put(d);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("router");
	TCase	*tc = tcase_create("match"), *ta = tcase_create("app");

	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_no_match);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(ta, app_setup, app_teardown);
	tcase_add_test(ta, test_app_errors);
	tcase_add_test(ta, test_app_endpoint_flow);
	suite_add_tcase(s, ta);
	return unit_run(s, 1);
}
