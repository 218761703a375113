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
#include "signet/jwk.h"
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

START_TEST(test_parse_decimal)
{
	int64_t	 v;

#define DEC(s, lo, hi)	parse_decimal(s, strlen(s), lo, hi, &v)
	v = 42;
	ck_assert_int_eq(DEC("", 0, 100), -1);
	ck_assert_int_eq(v, 42);	/* untouched on failure */
	ck_assert_int_eq(parse_decimal(NULL, 0, 0, 100, &v), -1);
	ck_assert_int_eq(DEC("0", 0, 100), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(DEC("0", 1, 100), -1);
	ck_assert_int_eq(DEC("007", 0, 100), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(DEC("0000000000000000000000000001", 1, 1), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(DEC("100", 1, 100), 0);
	ck_assert_int_eq(v, 100);
	ck_assert_int_eq(DEC("101", 1, 100), -1);
	ck_assert_int_eq(DEC("9223372036854775807", 0, INT64_MAX), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(DEC("9223372036854775808", 0, INT64_MAX), -1);
	ck_assert_int_eq(DEC("18446744073709551616", 0, INT64_MAX), -1);
	ck_assert_int_eq(DEC("99999999999999999999", 0, INT64_MAX), -1);
	ck_assert_int_eq(DEC("-1", -10, 10), -1);
	ck_assert_int_eq(DEC("+1", 0, 10), -1);
	ck_assert_int_eq(DEC(" 1", 0, 10), -1);
	ck_assert_int_eq(DEC("1 ", 0, 10), -1);
	ck_assert_int_eq(DEC("\t1", 0, 10), -1);
	ck_assert_int_eq(DEC("1x", 0, 10), -1);
	ck_assert_int_eq(DEC("0x1", 0, 10), -1);
	/* Counted: what follows len is not looked at, a NUL inside is. */
	ck_assert_int_eq(parse_decimal("12abc", 2, 0, 99, &v), 0);
	ck_assert_int_eq(v, 12);
	ck_assert_int_eq(parse_decimal("1\0" "2", 3, 0, 999, &v), -1);
	/* What ctx_page needs: 1..100, digits only, NUL-terminated. */
	ck_assert_int_eq(DEC("1", 1, 100), 0);
	ck_assert_int_eq(DEC("50", 1, 100), 0);
	ck_assert_int_eq(v, 50);
	ck_assert_int_eq(DEC("1e2", 1, 100), -1);
#undef DEC
}
END_TEST

static enum url_err
url_split(const char *s, struct url *u)
{
	return url_parse(s, strlen(s), u);
}

static int
part_eq(const char *p, size_t n, const char *want)
{
	return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

START_TEST(test_url_parse)
{
	struct url	 u;

	ck_assert_int_eq(url_split("https://Example.COM:8443/a/b?q=1#f", &u),
	    URL_OK);
	ck_assert(part_eq(u.scheme, u.scheme_len, "https"));
	ck_assert(part_eq(u.host, u.host_len, "Example.COM"));
	ck_assert(!u.host_bracketed);
	ck_assert_uint_eq(u.port, 8443);
	ck_assert(part_eq(u.target, u.target_len, "/a/b?q=1"));

	ck_assert_int_eq(url_split("https://h", &u), URL_OK);
	ck_assert_uint_eq(u.port, 0);
	ck_assert_uint_eq(u.target_len, 0);
	ck_assert_int_eq(url_split("https://h?x#y", &u), URL_OK);
	ck_assert(part_eq(u.target, u.target_len, "?x"));
	ck_assert_int_eq(url_split("https://h#y/z", &u), URL_OK);
	ck_assert(part_eq(u.host, u.host_len, "h"));
	ck_assert_uint_eq(u.target_len, 0);
	ck_assert_int_eq(url_split("HTTP+x.1://h", &u), URL_OK);
	ck_assert(part_eq(u.scheme, u.scheme_len, "HTTP+x.1"));

	ck_assert_int_eq(url_split("https://[2001:db8::1]:444/x", &u), URL_OK);
	ck_assert(u.host_bracketed);
	ck_assert(part_eq(u.host, u.host_len, "2001:db8::1"));
	ck_assert_uint_eq(u.port, 444);
	ck_assert_int_eq(url_split("https://[]", &u), URL_OK);
	ck_assert(u.host_bracketed);
	ck_assert_uint_eq(u.host_len, 0);

	/* An empty host is the caller's to refuse. */
	ck_assert_int_eq(url_split("https://", &u), URL_OK);
	ck_assert_uint_eq(u.host_len, 0);
	ck_assert_int_eq(url_split("https://:443/", &u), URL_OK);
	ck_assert_uint_eq(u.host_len, 0);
	ck_assert_uint_eq(u.port, 443);

	ck_assert_int_eq(url_split("", &u), URL_ESCHEME);
	ck_assert_int_eq(url_split("example.com", &u), URL_ESCHEME);
	ck_assert_int_eq(url_split("https:/h", &u), URL_ESCHEME);
	ck_assert_int_eq(url_split("://h", &u), URL_ESCHEME);
	ck_assert_int_eq(url_split("1a://h", &u), URL_ESCHEME);
	ck_assert_int_eq(url_split("ht tp://h", &u), URL_ESCHEME);
	ck_assert_int_eq(url_parse("https://h", 7, &u), URL_ESCHEME);

	ck_assert_int_eq(url_split("https://u@h/", &u), URL_EUSERINFO);
	ck_assert(part_eq(u.scheme, u.scheme_len, "https"));
	ck_assert_int_eq(url_split("https://u:p@h/", &u), URL_EUSERINFO);
	ck_assert_int_eq(url_split("https://[::1@]/", &u), URL_EUSERINFO);
	ck_assert_int_eq(url_split("https://h/@", &u), URL_OK);

	ck_assert_int_eq(url_split("https://[::1/]", &u), URL_EBRACKET);
	ck_assert_int_eq(url_split("https://[::1]x", &u), URL_EAFTERV6);
	ck_assert(part_eq(u.host, u.host_len, "::1"));

	ck_assert_int_eq(url_split("https://h:", &u), URL_EPORT);
	ck_assert(part_eq(u.host, u.host_len, "h"));
	ck_assert_int_eq(url_split("https://h:0", &u), URL_EPORT);
	ck_assert_int_eq(url_split("https://h:65536", &u), URL_EPORT);
	ck_assert_int_eq(url_split("https://h:000443", &u), URL_EPORT);
	ck_assert_int_eq(url_split("https://h:+443", &u), URL_EPORT);
	ck_assert_int_eq(url_split("https://h:1:2", &u), URL_EPORT);
	ck_assert_int_eq(url_split("https://[::1]:", &u), URL_EPORT);
	ck_assert(u.host_bracketed);
	ck_assert_int_eq(url_split("https://h:00443", &u), URL_OK);
	ck_assert_uint_eq(u.port, 443);
	ck_assert_int_eq(url_split("https://h:65535", &u), URL_OK);
	ck_assert_uint_eq(u.port, 65535);
}
END_TEST

static const char *
origin(const char *s)
{
	static char	 host[VALID_DOMAIN_MAX + 1];

	return url_origin_host(s, host, sizeof(host)) == 0 ? host : NULL;
}

START_TEST(test_origin_host)
{
	char	 small[4], longo[300];

	ck_assert_str_eq(origin("https://App.Example.COM:8443"),
	    "app.example.com");
	ck_assert_str_eq(origin("https://app.example.com"), "app.example.com");
	ck_assert_str_eq(origin("https://a.b/path?q#f"), "a.b");
	ck_assert_str_eq(origin("http://localhost:3000"), "localhost");
	ck_assert_str_eq(origin("chrome-extension://abcdef"), "abcdef");
	ck_assert_str_eq(origin("https://[2001:DB8::1]:443"), "2001:db8::1");
	/* As before: only the host part is searched for '@'. */
	ck_assert_str_eq(origin("https://user:pw@h"), "user");
	ck_assert_ptr_null(origin("https://user@h"));
	ck_assert_ptr_null(origin("https://[u@::1]"));
	ck_assert_ptr_null(origin("://h"));
	ck_assert_ptr_null(origin("h"));
	ck_assert_ptr_null(origin(""));
	ck_assert_ptr_null(origin("null"));
	ck_assert_ptr_null(origin("https://"));
	ck_assert_ptr_null(origin("https://:8443"));
	ck_assert_ptr_null(origin("https:///x"));
	ck_assert_ptr_null(origin("https://[::1"));
	ck_assert_ptr_null(origin("https://[]"));
	ck_assert_int_eq(url_origin_host("https://abc", small, sizeof(small)),
	    0);
	ck_assert_str_eq(small, "abc");
	ck_assert_int_eq(url_origin_host("https://abcd", small, sizeof(small)),
	    -1);
	memset(longo, 'a', sizeof(longo));
	memcpy(longo, "https://", 8);
	longo[8 + VALID_DOMAIN_MAX] = '\0';
	ck_assert_ptr_nonnull(origin(longo));
	longo[8 + VALID_DOMAIN_MAX] = 'a';
	longo[8 + VALID_DOMAIN_MAX + 1] = '\0';
	ck_assert_ptr_null(origin(longo));
}
END_TEST

START_TEST(test_domain)
{
	char	 name[VALID_DOMAIN_MAX + 2];

#define DOM(s)	valid_domain(s, strlen(s))
	ck_assert(DOM("app.example.com"));
	ck_assert(DOM("App-1.Example.COM"));
	ck_assert(DOM("localhost"));
	ck_assert(DOM("a"));
	ck_assert(DOM("1.2.3.4"));
	ck_assert(DOM("a..b"));		/* as the handler had it */
	ck_assert(DOM("a."));
	ck_assert(!DOM(""));
	ck_assert(!DOM(".a"));
	ck_assert(!DOM("-a"));
	ck_assert(!DOM("a_b"));
	ck_assert(!DOM("a b"));
	ck_assert(!DOM("a:80"));
	ck_assert(!DOM("*.example.com"));
	ck_assert(!DOM("https://a"));
	ck_assert(!DOM("\xc3\xa9.example"));
	ck_assert(!valid_domain("a\0b", 3));
	memset(name, 'a', sizeof(name));
	ck_assert(valid_domain(name, VALID_DOMAIN_MAX));
	ck_assert(!valid_domain(name, VALID_DOMAIN_MAX + 1));
#undef DOM
}
END_TEST

START_TEST(test_id_shapes)
{
	const char	*hex32 = "0123456789abcdef0123456789abcdef";
	char		 b[64];

	snprintf(b, sizeof(b), "ent_%s", hex32);
	ck_assert(valid_enterprise_id(b));
	ck_assert(!valid_endpoint_id(b));
	b[4] = 'A';
	ck_assert(!valid_enterprise_id(b));
	snprintf(b, sizeof(b), "ent_%.31s", hex32);
	ck_assert(!valid_enterprise_id(b));

	snprintf(b, sizeof(b), "ep_%s", hex32);
	ck_assert(valid_endpoint_id(b));
	ck_assert(!valid_sk_id(b));
	snprintf(b, sizeof(b), "ep_%s0", hex32);
	ck_assert(!valid_endpoint_id(b));

	snprintf(b, sizeof(b), "sk_%s", hex32);
	ck_assert(valid_sk_id(b));
	ck_assert(!valid_endpoint_id(b));
	snprintf(b, sizeof(b), "sk_%.31sg", hex32);
	ck_assert(!valid_sk_id(b));
	ck_assert(!valid_sk_id("sk_"));

	snprintf(b, sizeof(b), "signing_key_%.24s", hex32);
	ck_assert(valid_wskey_uid(b));
	snprintf(b, sizeof(b), "signing_key_%.23s", hex32);
	ck_assert(!valid_wskey_uid(b));
	snprintf(b, sizeof(b), "signing_key_%.25s", hex32);
	ck_assert(!valid_wskey_uid(b));
	snprintf(b, sizeof(b), "Signing_key_%.24s", hex32);
	ck_assert(!valid_wskey_uid(b));
	ck_assert(!valid_wskey_uid(""));
}
END_TEST

START_TEST(test_kid)
{
	char	 kid[JWK_KID_MAX + 2];

	ck_assert(valid_kid("k1"));
	ck_assert(valid_kid("key 2024-01 #1"));
	ck_assert(valid_kid("\xc3\xa9"));
	ck_assert(valid_kid("a\\b"));
	ck_assert(!valid_kid(""));
	ck_assert(!valid_kid("a/b"));
	ck_assert(!valid_kid("/"));
	ck_assert(!valid_kid("a\tb"));
	ck_assert(!valid_kid("a\nb"));
	ck_assert(!valid_kid("\x1f"));
	ck_assert(!valid_kid("a\x7f"));
	memset(kid, 'k', sizeof(kid));
	kid[JWK_KID_MAX] = '\0';
	ck_assert(valid_kid(kid));
	kid[JWK_KID_MAX] = 'k';
	kid[JWK_KID_MAX + 1] = '\0';
	ck_assert(!valid_kid(kid));
}
END_TEST

START_TEST(test_etag_matches)
{
	const char	*e = "\"abc\"";

	ck_assert(http_etag_matches("\"abc\"", e));
	ck_assert(http_etag_matches("*", e));
	ck_assert(http_etag_matches(" *", e));
	ck_assert(http_etag_matches("W/\"abc\"", e));
	ck_assert(http_etag_matches("\"x\", \"abc\"", e));
	ck_assert(http_etag_matches("\"x\",\"abc\"", e));
	ck_assert(http_etag_matches("\"abc\" , \"x\"", e));
	ck_assert(http_etag_matches("\"x\", W/\"abc\"", e));
	ck_assert(!http_etag_matches("", e));
	ck_assert(!http_etag_matches("\"abcd\"", e));
	ck_assert(!http_etag_matches("\"ab\"", e));
	ck_assert(!http_etag_matches("abc", e));
	ck_assert(!http_etag_matches("\"ABC\"", e));
	ck_assert(!http_etag_matches("\"x\", \"y\"", e));
	ck_assert(!http_etag_matches("w/\"abc\"", e));
	ck_assert(!http_etag_matches("\"abc\";x", e));
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
	tcase_add_test(tc, test_parse_decimal);
	tcase_add_test(tc, test_url_parse);
	tcase_add_test(tc, test_origin_host);
	tcase_add_test(tc, test_domain);
	tcase_add_test(tc, test_id_shapes);
	tcase_add_test(tc, test_kid);
	tcase_add_test(tc, test_etag_matches);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
