/* Field validators, the URI splitter, query strings and configuration. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>
#include <uuid/uuid.h>

#include "signet/auth.h"
#include "signet/config.h"
#include "signet/http.h"
#include "signet/ids.h"
#include "signet/validate.h"
#include "unit.h"

#define URL(s)	valid_https_url(s, strlen(s))

START_TEST(test_https_url)
{
	char	 longurl[2100];

	ck_assert(URL("https://example.com"));
	ck_assert(URL("https://example.com/hooks?x=1#f"));
	ck_assert(URL("https://example.com:8443/a"));
	ck_assert(URL("https://[2001:db8::1]/a"));
	ck_assert(URL("https://a.b-c.example/"));
	ck_assert(!URL("http://example.com"));
	ck_assert(!URL("https://"));
	ck_assert(!URL("https:///path"));
	ck_assert(!URL("https://:443/"));
	ck_assert(!URL("ftp://example.com"));
	ck_assert(!URL("HTTPS//example.com"));
	ck_assert(!URL("https://exa mple.com"));
	ck_assert(!URL("https://example.com:0/"));
	ck_assert(!URL("https://example.com:65536/"));
	ck_assert(!URL("https://example.com:12x/"));
	ck_assert(!URL("https://user:pw@example.com/"));
	ck_assert(!URL("https://example.com/\n"));
	ck_assert(!URL("https://[zz]/"));
	memset(longurl, 'a', sizeof(longurl));
	memcpy(longurl, "https://x.com/", 14);
	ck_assert(valid_https_url(longurl, 2048));
	ck_assert(!valid_https_url(longurl, 2049));
}
END_TEST

START_TEST(test_prefixed_hex)
{
	ck_assert(valid_prefixed_hex("ep_0123456789abcdef0123456789abcdef",
	    "ep_", 32));
	ck_assert(!valid_prefixed_hex("ep_0123456789ABCDEF0123456789abcdef",
	    "ep_", 32));
	ck_assert(!valid_prefixed_hex("ep_0123456789abcdef0123456789abcde",
	    "ep_", 32));
	ck_assert(!valid_prefixed_hex("sk_0123456789abcdef0123456789abcdef",
	    "ep_", 32));
	ck_assert(!valid_prefixed_hex("ep_0123456789abcdef0123456789abcdefa",
	    "ep_", 32));
	ck_assert(valid_apikey_id("ak_0123456789abcdef01234567"));
	ck_assert(!valid_apikey_id("ak_0123456789abcdef0123456"));
}
END_TEST

START_TEST(test_msg_id)
{
	char	 big[300];

	ck_assert(valid_msg_id("msg_1", 5));
	ck_assert(!valid_msg_id("", 0));
	ck_assert(!valid_msg_id("a\tb", 3));
	memset(big, 'a', sizeof(big));
	ck_assert(valid_msg_id(big, 255));
	ck_assert(!valid_msg_id(big, 256));
}
END_TEST

START_TEST(test_split_uri)
{
	char	*path, *query;

	ck_assert_int_eq(http_split_uri("/v1/endpoints/?limit=2", &path,
	    &query), SIG_OK);
	ck_assert_str_eq(path, "/v1/endpoints");
	ck_assert_str_eq(query, "limit=2");
	free(path);
	free(query);
	ck_assert_int_eq(http_split_uri("/v1/a%2Fb%20c", &path, &query),
	    SIG_OK);
	ck_assert_str_eq(path, "/v1/a/b c");
	ck_assert_ptr_null(query);
	free(path);
	/* Decoded once only. */
	ck_assert_int_eq(http_split_uri("/v1/%2541", &path, &query), SIG_OK);
	ck_assert_str_eq(path, "/v1/%41");
	free(path);
	ck_assert_int_eq(http_split_uri("/", &path, &query), SIG_OK);
	ck_assert_str_eq(path, "/");
	free(path);
	ck_assert_int_eq(http_split_uri("/v1/%00x", &path, &query), SIG_EINVAL);
	ck_assert_int_eq(http_split_uri("/v1/%4", &path, &query), SIG_EINVAL);
	ck_assert_int_eq(http_split_uri("/v1/%zz", &path, &query), SIG_EINVAL);
	ck_assert_int_eq(http_split_uri("v1", &path, &query), SIG_EINVAL);
	ck_assert_int_eq(http_split_uri(NULL, &path, &query), SIG_EINVAL);
}
END_TEST

START_TEST(test_query)
{
	char	 v[16];

	ck_assert_int_eq(http_query_get("a=1&limit=20", "limit", v, sizeof(v)),
	    1);
	ck_assert_str_eq(v, "20");
	ck_assert_int_eq(http_query_get("xlimit=3", "limit", v, sizeof(v)), 0);
	ck_assert_int_eq(http_query_get("limit", "limit", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(http_query_get("q=a+b%21", "q", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "a b!");
	ck_assert_int_eq(http_query_get("q=%zz", "q", v, sizeof(v)), -1);
	ck_assert_int_eq(http_query_get("q=0123456789abcdefg", "q", v,
	    sizeof(v)), -1);
	ck_assert_int_eq(http_query_get(NULL, "q", v, sizeof(v)), 0);
}
END_TEST

START_TEST(test_content_type)
{
	ck_assert(http_is_json_type("application/json"));
	ck_assert(http_is_json_type("Application/JSON; charset=utf-8"));
	ck_assert(!http_is_json_type("application/jsonx"));
	ck_assert(!http_is_json_type("text/plain"));
	ck_assert(!http_is_json_type(NULL));
}
END_TEST

START_TEST(test_auth_header)
{
	char	 tok[AUTH_TOKEN_LEN + 1];
	const char *t = "sgk_0123456789012345678901234567890123456789012";

	ck_assert(auth_parse_header("Bearer sgk_0123456789012345678901234567"
	    "890123456789012", 0, tok));
	ck_assert_str_eq(tok, t);
	ck_assert(auth_parse_header("bearer  sgk_012345678901234567890123456"
	    "7890123456789012 ", 0, tok));
	ck_assert(!auth_parse_header("ServiceToken sgk_01234567890123456789"
	    "01234567890123456789012", 0, tok));
	ck_assert(auth_parse_header("ServiceToken sgk_01234567890123456789"
	    "01234567890123456789012", 1, tok));
	ck_assert(!auth_parse_header("Bearer sgk_short", 0, tok));
	ck_assert(!auth_parse_header("Basic abc", 0, tok));
	ck_assert(!auth_parse_header(NULL, 0, tok));
}
END_TEST

START_TEST(test_config)
{
	struct config	 cfg;
	char		 msg[SIG_MSG_MAX];

	setenv("SIGNET_HOME", "/nonexistent/signet-test", 1);
	setenv("SIGNET_JWKS_MAX_BYTES", "4096", 1);
	ck_assert_int_eq(config_load(NULL, &cfg, msg), SIG_OK);
	ck_assert_str_eq(cfg.home, "/nonexistent/signet-test");
	ck_assert_str_eq(cfg.master_key_file,
	    "/nonexistent/signet-test/master.key");
	ck_assert_int_eq(cfg.jwks_max_bytes, 4096);
	ck_assert_int_eq(cfg.max_body_bytes, 65536);
	ck_assert_int_eq(cfg.jwks_fetch_timeout_ms, 5000);
	ck_assert_int_eq(config_set(&cfg, "jwks_allow_private_addresses",
	    "true", msg), SIG_OK);
	ck_assert_int_eq(cfg.jwks_allow_private_addresses, 1);
	ck_assert_int_eq(config_set(&cfg, "jwks_allow_private_addresses",
	    "maybe", msg), SIG_EINVAL);
	ck_assert_int_eq(config_set(&cfg, "max_body_bytes", "-5", msg),
	    SIG_EINVAL);
	ck_assert_int_eq(config_set(&cfg, "max_body_bytes", "99999999999999999"
	    "999", msg), SIG_EINVAL);
	ck_assert_int_eq(config_set(&cfg, "nope", "1", msg), SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "nope"));
	setenv("SIGNET_JWKS_MAX_BYTES", "12", 1);
	ck_assert_int_eq(config_load(NULL, &cfg, msg), SIG_EINVAL);
	unsetenv("SIGNET_JWKS_MAX_BYTES");
}
END_TEST

START_TEST(test_config_replication)
{
	struct config	 cfg;
	char		 msg[SIG_MSG_MAX], host[CONFIG_SITE_MAX];
	unsigned	 port;

	unsetenv("SIGNET_JWKS_MAX_BYTES");
	ck_assert_int_eq(config_load(NULL, &cfg, msg), SIG_OK);
	/* Stand-alone unless a site is named; quorum acknowledgements. */
	ck_assert_str_eq(cfg.replication_site, "");
	ck_assert_str_eq(cfg.replication_ack_policy, "quorum");
	ck_assert_int_eq(cfg.replication_priority, 100);
	ck_assert_int_eq(cfg.replication_ack_timeout_ms, 2000);
	ck_assert_int_eq(config_site("db1.example:7001", host, &port), SIG_OK);
	ck_assert_str_eq(host, "db1.example");
	ck_assert_uint_eq(port, 7001);
	ck_assert_int_eq(config_site("[::1]:65535", host, &port), SIG_OK);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 65535);
	ck_assert_int_eq(config_site("::1:7001", host, &port), SIG_EINVAL);
	ck_assert_int_eq(config_site("host", host, &port), SIG_EINVAL);
	ck_assert_int_eq(config_site(":7001", host, &port), SIG_EINVAL);
	ck_assert_int_eq(config_site("h:0", host, &port), SIG_EINVAL);
	ck_assert_int_eq(config_site("h:65536", host, &port), SIG_EINVAL);
	ck_assert_int_eq(config_site("h:+80", host, &port), SIG_EINVAL);
	ck_assert_int_eq(config_site("h:80x", host, &port), SIG_EINVAL);
	ck_assert_int_eq(config_site("a b:80", host, &port), SIG_EINVAL);
	ck_assert_int_eq(config_set(&cfg, "replication_site",
	    "127.0.0.1:7001", msg), SIG_OK);
	ck_assert_int_eq(config_set(&cfg, "replication_site", "nope", msg),
	    SIG_EINVAL);
	ck_assert_str_eq(cfg.replication_site, "127.0.0.1:7001");
	ck_assert_int_eq(config_set(&cfg, "replication_peers",
	    "127.0.0.1:7002, [::1]:7003", msg), SIG_OK);
	ck_assert_int_eq(config_set(&cfg, "replication_peers",
	    "127.0.0.1:7002,", msg), SIG_OK);
	ck_assert_int_eq(config_set(&cfg, "replication_peers",
	    "127.0.0.1:7002,bad", msg), SIG_EINVAL);
	ck_assert_int_eq(config_set(&cfg, "replication_ack_policy", "all",
	    msg), SIG_OK);
	ck_assert_int_eq(config_set(&cfg, "replication_ack_policy", "most",
	    msg), SIG_EINVAL);
	ck_assert_int_eq(config_ack_policy("quorum"), DB_REPMGR_ACKS_QUORUM);
	ck_assert_int_eq(config_ack_policy("QUORUM"), -1);
	ck_assert_int_eq(config_set(&cfg, "replication_ack_timeout_ms", "5",
	    msg), SIG_EINVAL);
	ck_assert_int_eq(config_set(&cfg, "replication_priority", "0", msg),
	    SIG_OK);
}
END_TEST

START_TEST(test_uuid_v7_valid)
{
	ck_assert(valid_uuid_v7("018f3c1e-7b2a-7c3d-8e4f-0123456789ab"));
	ck_assert(valid_uuid_v7("018f3c1e-7b2a-7c3d-bfff-0123456789ab"));
	/* v4, upper case, braces, missing dashes, wrong variant. */
	ck_assert(!valid_uuid_v7("018f3c1e-7b2a-4c3d-8e4f-0123456789ab"));
	ck_assert(!valid_uuid_v7("018F3C1E-7B2A-7C3D-8E4F-0123456789AB"));
	ck_assert(!valid_uuid_v7("{018f3c1e-7b2a-7c3d-8e4f-0123456789ab}"));
	ck_assert(!valid_uuid_v7("018f3c1e7b2a7c3d8e4f0123456789ab"));
	ck_assert(!valid_uuid_v7("018f3c1e-7b2a-7c3d-ce4f-0123456789ab"));
	ck_assert(!valid_uuid_v7("018f3c1e-7b2a-7c3d-8e4f-0123456789a"));
	ck_assert(!valid_uuid_v7("018f3c1e-7b2a-7c3d-8e4f-0123456789abc"));
	ck_assert(!valid_uuid_v7("018f3c1e_7b2a-7c3d-8e4f-0123456789ab"));
	ck_assert(!valid_uuid_v7(""));
}
END_TEST

/* 100,000 ids in a tight loop: version, variant, strictly increasing. */
START_TEST(test_uuid_v7_generator)
{
	enum { N = 100000 };
	char		 prev[37], cur[37];
	uuid_t		 u;
	int64_t		 before, ms;
	int		 i;

	before = ids_now_us() / 1000;
	ck_assert_int_eq(ids_uuid7(prev), SIG_OK);
	for (i = 1; i < N; i++) {
		ck_assert_int_eq(ids_uuid7(cur), SIG_OK);
		ck_assert_msg(valid_uuid_v7(cur), "not a v7: %s", cur);
		/* Canonical lowercase text sorts like the bytes. */
		ck_assert_msg(strcmp(prev, cur) < 0, "%s !< %s", prev, cur);
		memcpy(prev, cur, sizeof(cur));
	}
	/* The timestamp is the Unix time in milliseconds. */
	ck_assert_int_eq(uuid_parse(cur, u), 0);
	ms = 0;
	for (i = 0; i < 6; i++)
		ms = ms << 8 | u[i];
	ck_assert_int_ge(ms, before);
	ck_assert_int_le(ms, ids_now_us() / 1000 + 1000);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("validate");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_https_url);
	tcase_add_test(tc, test_prefixed_hex);
	tcase_add_test(tc, test_msg_id);
	tcase_add_test(tc, test_split_uri);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_content_type);
	tcase_add_test(tc, test_auth_header);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_config_replication);
	tcase_add_test(tc, test_uuid_v7_valid);
	tcase_add_test(tc, test_uuid_v7_generator);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
