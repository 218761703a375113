/* Strict body parsing, field access and the envelopes. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "signet/json.h"
#include "unit.h"

static enum sig_err
parse(const char *s, json_object **o)
{
	char	 msg[SIG_MSG_MAX];

	return json_parse_body(s, strlen(s), o, msg);
}

static char *
nested(int depth)
{
	char	*s = malloc(2 * depth + 1);
	int	 i;

	for (i = 0; i < depth; i++) {
		s[i] = '[';
		s[2 * depth - 1 - i] = ']';
	}
	s[2 * depth] = '\0';
	return s;
}

START_TEST(test_parse_ok)
{
	json_object	*o;

	ck_assert_int_eq(parse("{\"a\": [1, 2, {\"b\": null}]} \n", &o), SIG_OK);
	json_object_put(o);
	ck_assert_int_eq(parse("", &o), SIG_OK);
	ck_assert(json_object_is_type(o, json_type_object));
	json_object_put(o);
	ck_assert_int_eq(parse("  ", &o), SIG_OK);
	json_object_put(o);
	ck_assert_int_eq(parse("42", &o), SIG_OK);
	json_object_put(o);
	ck_assert_int_eq(parse("{\"s\":\"caf\xc3\xa9 \\\\u0000\"}", &o), SIG_OK);
	json_object_put(o);
	ck_assert_int_eq(parse("{\"s\":\"\\ud834\\udd1e \xf0\x9d\x84\x9e\"}",
	    &o), SIG_OK);
	json_object_put(o);
}
END_TEST

START_TEST(test_parse_bad)
{
	json_object	*o;
	const char	 nul[] = "{\"a\":\"x\0y\"}";
	char		 msg[SIG_MSG_MAX];

	ck_assert_int_eq(parse("{", &o), SIG_EINVAL);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(parse("{\"a\":1} x", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":1}{}", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("[1,]", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":01}", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":\"\xff\"}", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":\"x\\u0000y\"}", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"url\\u0000x\":1}", &o), SIG_EINVAL);
	/* Overlong, encoded surrogate, above U+10FFFF, lone escapes. */
	ck_assert_int_eq(parse("{\"a\":\"\xc0\xaf\"}", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":\"\xed\xa0\x80\"}", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":\"\xf4\x90\x80\x80\"}", &o),
	    SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":\"\\ud800\"}", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":\"\\udfff\"}", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":\"a\\ud800b\"}", &o), SIG_EINVAL);
	ck_assert_int_eq(parse("{\"a\":\"\\ud800\\u0041\"}", &o),
	    SIG_EINVAL);
	ck_assert_int_eq(json_parse_body(nul, sizeof(nul) - 1, &o, msg),
	    SIG_EINVAL);
}
END_TEST

START_TEST(test_depth)
{
	json_object	*o;
	char		*s;

	s = nested(JSON_MAX_DEPTH);
	ck_assert_int_eq(parse(s, &o), SIG_OK);
	json_object_put(o);
	free(s);
	s = nested(JSON_MAX_DEPTH + 1);
	ck_assert_int_eq(parse(s, &o), SIG_EINVAL);
	free(s);
	s = nested(10000);
	ck_assert_int_eq(parse(s, &o), SIG_EINVAL);
	free(s);
}
END_TEST

START_TEST(test_fields)
{
	static const char *const allowed[] = { "url", "n", NULL };
	json_object	*o;
	const char	*s;
	size_t		 len;
	int64_t		 n;
	int		 present;
	char		 msg[SIG_MSG_MAX];

	ck_assert_int_eq(parse("{\"url\":\"abc\",\"n\":5}", &o), SIG_OK);
	ck_assert_int_eq(json_only_fields(o, allowed, msg), SIG_OK);
	ck_assert_int_eq(json_string_field(o, "url", 1, 10, &s, &len, msg),
	    SIG_OK);
	ck_assert_str_eq(s, "abc");
	ck_assert_int_eq(json_string_field(o, "url", 1, 2, &s, &len, msg),
	    SIG_EINVAL);
	ck_assert_int_eq(json_string_field(o, "n", 1, 10, &s, &len, msg),
	    SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "n must be a string"));
	ck_assert_int_eq(json_string_field(o, "x", 1, 10, &s, &len, msg),
	    SIG_EINVAL);
	ck_assert_str_eq(msg, "x is required");
	ck_assert_int_eq(json_string_field(o, "x", 0, 10, &s, &len, msg),
	    SIG_OK);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(json_int_field(o, "n", 1, 0, 10, &n, &present, msg),
	    SIG_OK);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(json_int_field(o, "n", 1, 6, 10, &n, &present, msg),
	    SIG_EINVAL);
	ck_assert_int_eq(json_int_field(o, "url", 1, 0, 10, &n, &present, msg),
	    SIG_EINVAL);
	json_object_put(o);
	ck_assert_int_eq(parse("{\"url\":1,\"other\":2}", &o), SIG_OK);
	ck_assert_int_eq(json_only_fields(o, allowed, msg), SIG_EINVAL);
	ck_assert_str_eq(msg, "unknown field: other");
	json_object_put(o);
	ck_assert_int_eq(parse("{\"n\":1.5}", &o), SIG_OK);
	ck_assert_int_eq(json_int_field(o, "n", 1, 0, 10, &n, &present, msg),
	    SIG_EINVAL);
	json_object_put(o);
	ck_assert_int_eq(parse("{\"n\":99999999999999999999999}", &o), SIG_OK);
	ck_assert_int_eq(json_int_field(o, "n", 1, 0, INT64_C(1) << 40, &n,
	    &present, msg), SIG_EINVAL);
	json_object_put(o);
	ck_assert_int_eq(parse("[]", &o), SIG_OK);
	ck_assert_int_eq(json_only_fields(o, allowed, msg), SIG_EINVAL);
	json_object_put(o);
}
END_TEST

/* json_print prints o as json-c does, with and without slash escapes. */
static void
prints_alike(json_object *o)
{
	char	*s;
	size_t	 n;
	int	 noslash;

	for (noslash = 0; noslash <= 1; noslash++) {
		s = json_print(o, noslash, &n);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s, json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN |
		    (noslash ? JSON_C_TO_STRING_NOSLASHESCAPE : 0)));
		ck_assert_uint_eq(n, strlen(s));
		free(s);
	}
}

/* json_parse_body and json-c alone agree: verdict, message and tree. */
static void
agree(const char *s, size_t len)
{
	json_object	*o = NULL, *ref = NULL;
	enum sig_err	 rc, rrc;
	char		 msg[SIG_MSG_MAX] = "", rmsg[SIG_MSG_MAX] = "";
	const int	 flags = JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE;

	rc = json_parse_body(s, len, &o, msg);
	rrc = json_parse_body_reference(s, len, &ref, rmsg);
	ck_assert_msg(rc == rrc, "%.80s: %d vs %d", s, rc, rrc);
	if (rc != SIG_OK) {
		ck_assert_str_eq(msg, rmsg);
		return;
	}
	ck_assert_str_eq(json_object_to_json_string_ext(o, flags),
	    json_object_to_json_string_ext(ref, flags));
	prints_alike(o);
	/* Types too (NaN, which json-c takes, is unequal to itself). */
	ck_assert_msg(json_object_equal(o, ref) ||
	    strstr(json_object_to_json_string_ext(o, flags), "NaN") != NULL,
	    "%.80s: trees differ", s);
	json_object_put(o);
	json_object_put(ref);
}

START_TEST(test_fast_path_agrees)
{
	static char	 big[100 * 1024 + 16];
	static const char *const bodies[] = {
		"{\"payload\": \"abc\"}",
		"{\"a\":\"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\"}",
		"{\"k\\u00e9y\": \"\\u20ac\\u0041\\u07ff\\u0800\\uffff\\u0080\"}",
		"{\"a\": 12345, \"b\": -7, \"c\": 0, \"d\": 123456789012345678,"
		    " \"e\": -123456789012345678}",
		"{\"a\": 1234567890123456789}", "{\"a\": 99999999999999999999}",
		"{\"a\": -0}", "{\"a\": 01}", "{\"a\": -}", "{\"a\": 1.5}",
		"{\"a\": 1e3}", "{\"a\": 2E-1}", "{\"a\": 5.}",
		"{\"a\": true, \"b\": false, \"c\": null}",
		"[1, \"two\", [3], {}, null, true]", "[]", "{}", "[null]",
		"  {\"a\" : [ ] , \"b\" :{ } }  \r\n\t",
		"{\"a\":1,}", "{\"a\":1 \"b\":2}", "{\"a\" 1}", "{\"a\":1}x",
		"{\"a\":1}{}", "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":{\"a\":2}}",
		"\"just a string\"", "42", "-42", "null", "true", "false",
		"{\"a\":\"tab\there\"}", "{\"a\":\"nl\nhere\"}",
		"{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\\x\"}",
		"{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}", "{\"a\": tru}",
		"{\"a\": nul}", "{\"a\": falsey}", "{\"a\": \"unterminated",
		"{\"", "[", "{\"a\":[1,2,3,]}", "[,]", "{,}", "{\"a\\nb\": 1}",
		"{\"a\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
		"{\"\": \"empty key\"}", "{\"a\":\"\"}", "\v{\"a\":1}",
		"{\f\"a\":1}", "{'a':1}", "{a:1}", "[1 2]", "{\"a\":[}",
		"{\"a\":\"\\\\u0000\"}", "{\"a\": +1}", "{\"a\": .5}",
		"{\"a\": 0x10}", "{\"a\": Infinity}", "{\"a\": NaN}",
		"{\"a\": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}",
		"{\"url\": \"https://example.com/w\", \"description\": \"d\"}",
	};
	char	*s;
	size_t	 i, n;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		agree(bodies[i], strlen(bodies[i]));
	/* Depths around the fast path's limit and around JSON_MAX_DEPTH. */
	for (i = 14; i <= 34; i++) {
		s = nested((int)i);
		agree(s, strlen(s));
		free(s);
	}
	/* A key too long for the fast path, a string longer than 64 KiB. */
	n = sizeof(big) - 16;
	memcpy(big, "{\"", 2);
	memset(big + 2, 'k', 300);
	memcpy(big + 302, "\": 1}", 6);
	agree(big, strlen(big));
	memcpy(big, "[\"", 2);
	memset(big + 2, 'x', n);
	memcpy(big + 2 + n, "\\n\"]", 5);
	agree(big, strlen(big));
	/* Not NUL-terminated: the fast path stops at len. */
	agree("{\"a\":12}99", 8);
	agree("[\"ab\"]\"", 6);
}
END_TEST

static int
print_custom(json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)o;
	(void)level;
	(void)flags;
	return printbuf_strappend(pb, "\"custom\"");
}

START_TEST(test_print)
{
	json_object	*o, *a, *c;
	char		 ctl[40];
	int		 i;

	o = json_object_new_object();
	json_object_object_add(o, "min", json_object_new_int64(INT64_MIN));
	json_object_object_add(o, "max", json_object_new_int64(INT64_MAX));
	json_object_object_add(o, "u", json_object_new_uint64(UINT64_MAX));
	json_object_object_add(o, "zero", json_object_new_int(0));
	json_object_object_add(o, "neg", json_object_new_int(-42));
	json_object_object_add(o, "d", json_object_new_double(0.1));
	json_object_object_add(o, "d2", json_object_new_double(3.0));
	json_object_object_add(o, "nul", NULL);
	json_object_object_add(o, "t", json_object_new_boolean(1));
	json_object_object_add(o, "f", json_object_new_boolean(0));
	json_object_object_add(o, "url/\"k\"", json_object_new_string(
	    "https://example.com/a?b=\"c\"\\d\x7f caf\xc3\xa9"));
	for (i = 1; i < 32; i++)
		ctl[i - 1] = (char)i;
	json_object_object_add(o, "ctl", json_object_new_string_len(ctl, 31));
	json_object_object_add(o, "embedded nul",
	    json_object_new_string_len("a\0b", 3));
	a = json_object_new_array();
	json_object_array_add(a, NULL);
	json_object_array_add(a, json_object_new_object());
	json_object_array_add(a, json_object_new_array());
	json_object_array_add(a, json_object_new_string(""));
	c = json_object_new_array();
	json_object_array_add(c, json_object_new_int(1));
	json_object_set_serializer(c, print_custom, (void *)"x", NULL);
	json_object_array_add(a, c);
	json_object_object_add(o, "arr", a);
	json_object_object_add(o, "", json_object_new_string("empty key"));
	prints_alike(o);
	/* Only the custom serializer's own object is left to json-c. */
	ck_assert_ptr_nonnull(strstr(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "\"custom\""));
	json_object_put(o);
	for (i = 0; i < 3; i++) {
		o = i == 0 ? json_object_new_string("top/level") : i == 1 ?
		    json_object_new_int(7) : json_object_new_array();
		prints_alike(o);
		json_object_put(o);
	}
}
END_TEST

START_TEST(test_envelopes)
{
	char	*s;

	s = json_envelope_ok(json_object_new_object(), "req_1", -1);
	ck_assert_str_eq(s, "{\"data\":{},\"meta\":{\"request_id\":\"req_1\"}}");
	free(s);
	s = json_envelope_ok(json_object_new_array(), "req_1", 1);
	ck_assert_str_eq(s, "{\"data\":[],\"meta\":{\"request_id\":\"req_1\","
	    "\"has_more\":true}}");
	free(s);
	s = json_envelope_err(SIG_EMAXKEYS, NULL, "req_2");
	ck_assert_str_eq(s, "{\"error\":{\"code\":\"MAX_SIGNING_KEYS_REACHED\","
	    "\"message\":\"Endpoint already has the maximum of 2 signing "
	    "keys\"},\"meta\":{\"request_id\":\"req_2\"}}");
	free(s);
	s = json_envelope_err(SIG_EINVAL, "url is required", "req_3");
	ck_assert_ptr_nonnull(strstr(s, "\"message\":\"url is required\""));
	ck_assert_ptr_nonnull(strstr(s, "\"code\":\"INVALID_REQUEST\""));
	free(s);
	/* Slashes are not escaped: URLs read as written. */
	s = json_envelope_ok(json_object_new_string("https://a/b"), "r", -1);
	ck_assert_ptr_nonnull(strstr(s, "https://a/b"));
	free(s);
	s = json_envelope_ok(json_object_new_array(), "req_1", 0);
	ck_assert_str_eq(s, "{\"data\":[],\"meta\":{\"request_id\":\"req_1\","
	    "\"has_more\":false}}");
	free(s);
	/* Written directly for our ids; through json-c for any other. */
	s = json_envelope_ok(json_tokener_parse("{\"a\":[1,\"\\u00e9\\\"\"],"
	    "\"b\":null}"), "req_9f", -1);
	ck_assert_str_eq(s, "{\"data\":{\"a\":[1,\"\xc3\xa9\\\"\"],\"b\":null},"
	    "\"meta\":{\"request_id\":\"req_9f\"}}");
	free(s);
	s = json_envelope_ok(json_object_new_object(), "x\"y", -1);
	ck_assert_str_eq(s, "{\"data\":{},\"meta\":{\"request_id\":\"x\\\"y\"}}");
	free(s);
}
END_TEST

START_TEST(test_string_nocase)
{
	json_object	*o = json_tokener_parse("{\"Content-Type\":\"a/b\","
	    "\"x-num\":5,\"X-Dup\":\"first\",\"x-dup\":\"second\"}");
	int		 bad = 0;

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_nocase(o, "content-type", &bad), "a/b");
	ck_assert_str_eq(json_string_nocase(o, "CONTENT-TYPE", &bad), "a/b");
	ck_assert_str_eq(json_string_nocase(o, "x-dup", &bad), "first");
	ck_assert_int_eq(bad, 0);
	ck_assert_ptr_null(json_string_nocase(o, "content-typ", &bad));
	ck_assert_ptr_null(json_string_nocase(o, "absent", &bad));
	ck_assert_int_eq(bad, 0);
	ck_assert_ptr_null(json_string_nocase(o, "X-Num", &bad));
	ck_assert_int_eq(bad, 1);
	json_object_put(o);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("json");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_parse_ok);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_fast_path_agrees);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_envelopes);
	tcase_add_test(tc, test_string_nocase);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
