/* Standard Webhooks signatures: the published vector, headers, keyring. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/b64.h"
#include "signet/crypto.h"
#include "signet/keyring.h"
#include "signet/webhook.h"
#include "unit.h"

#define VEC_SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID		"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS		1614265330
#define VEC_BODY	"{\"test\": 2432232314}"
#define VEC_SIG		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* The signature of (msg_id, timestamp, payload) under key. */
static void
webhook_sign(const unsigned char *key, size_t klen, const char *msg_id,
    int64_t timestamp, const char *payload, size_t plen, char *out)
{
	char	 buf[256], *c;
	size_t	 n;

	c = webhook_content(msg_id, timestamp, payload, plen, buf, sizeof(buf),
	    &n);
	ck_assert_ptr_eq(c, buf);
	webhook_sign_content(key, klen, c, n, out);
}

START_TEST(test_vector)
{
	unsigned char	 key[WEBHOOK_KEY_MAX];
	size_t		 klen;
	char		 sig[WEBHOOK_SIG_LEN + 1];

	ck_assert_int_eq(webhook_secret_key(VEC_SECRET, key, &klen), 0);
	ck_assert_uint_eq(klen, 24);
	webhook_sign(key, klen, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig);
	ck_assert_str_eq(sig, VEC_SIG);
	ck_assert_int_eq(webhook_secret_key("sk_nope", key, &klen), -1);
	ck_assert_int_eq(webhook_secret_key("whsec_!!!!", key, &klen), -1);
}
END_TEST

/* The vector's signature computed by hand: HMAC-SHA256 over the bytes. */
START_TEST(test_vector_by_hand)
{
	unsigned char	 key[WEBHOOK_KEY_MAX], mac[CRYPTO_SHA256_LEN];
	size_t		 klen;
	const char	*msg = VEC_ID "." "1614265330" "." VEC_BODY;
	char		 b64[64];

	ck_assert_int_eq(webhook_secret_key(VEC_SECRET, key, &klen), 0);
	crypto_hmac_sha256(key, klen, msg, strlen(msg), mac);
	b64_encode(mac, sizeof(mac), b64);
	ck_assert_str_eq(b64, VEC_SIG + 3);
}
END_TEST

START_TEST(test_header_match)
{
	ck_assert(webhook_header_has(VEC_SIG, VEC_SIG));
	ck_assert(webhook_header_has("v1,AAAA " VEC_SIG, VEC_SIG));
	ck_assert(webhook_header_has(VEC_SIG " v1a,xyz", VEC_SIG));
	ck_assert(!webhook_header_has("v1,AAAA", VEC_SIG));
	ck_assert(!webhook_header_has("", VEC_SIG));
	ck_assert(!webhook_header_has(VEC_SIG "x", VEC_SIG));
}
END_TEST

START_TEST(test_timestamp)
{
	int64_t	 t;

	ck_assert_int_eq(webhook_parse_timestamp("1614265330", &t), 0);
	ck_assert_int_eq(t, 1614265330);
	ck_assert_int_eq(webhook_parse_timestamp("-1", &t), -1);
	ck_assert_int_eq(webhook_parse_timestamp("12a", &t), -1);
	ck_assert_int_eq(webhook_parse_timestamp("", &t), -1);
	ck_assert_int_eq(webhook_parse_timestamp("9999999999999", &t), -1);
}
END_TEST

START_TEST(test_content)
{
	static const int64_t tss[] = { 0, 7, VEC_TS, INT64_MAX, -5, INT64_MIN };
	char		 ts[WEBHOOK_TS_MAX], want[64], buf[64], *c, *big;
	unsigned char	 key[WEBHOOK_KEY_MAX];
	size_t		 i, n, klen;
	char		 sig[WEBHOOK_SIG_LEN + 1];

	for (i = 0; i < sizeof(tss) / sizeof(tss[0]); i++) {
		snprintf(want, sizeof(want), "%lld", (long long)tss[i]);
		ck_assert_uint_eq(webhook_timestamp_text(tss[i], ts),
		    strlen(want));
		ck_assert_str_eq(ts, want);
	}
	/* In the caller's buffer when it fits, else allocated. */
	c = webhook_content("m1", 10, "body", 4, buf, sizeof(buf), &n);
	ck_assert_ptr_eq(c, buf);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(memcmp(c, "m1.10.body", 10), 0);
	c = webhook_content("m1", 10, "body", 4, buf, 9, &n);
	ck_assert_ptr_ne(c, buf);
	ck_assert_int_eq(memcmp(c, "m1.10.body", n), 0);
	free(c);
	/* Either way, the published vector's signature. */
	ck_assert_int_eq(webhook_secret_key(VEC_SECRET, key, &klen), 0);
	big = webhook_content(VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), NULL,
	    0, &n);
	webhook_sign_content(key, klen, big, n, sig);
	ck_assert_str_eq(sig, VEC_SIG);
	free(big);
}
END_TEST

START_TEST(test_keyring_rules)
{
	struct master_key mk;
	struct new_key	 a, b, c;
	json_object	*rec = json_object_new_object(), *list;
	char		*header, kid[IDS_MAX];

	crypto_init();
	crypto_random(mk.k, sizeof(mk.k), 1);
	ck_assert_int_eq(keyring_new_key(&a), SIG_OK);
	ck_assert_int_eq(keyring_new_key(&b), SIG_OK);
	ck_assert_int_eq(keyring_new_key(&c), SIG_OK);
	ck_assert_uint_eq(strlen(a.secret), WEBHOOK_SECRET_LEN);
	ck_assert_int_eq(keyring_add(&mk, rec, &a), SIG_OK);
	ck_assert_int_eq(keyring_remove(rec, a.id), SIG_ELASTKEY);
	ck_assert_int_eq(keyring_add(&mk, rec, &b), SIG_OK);
	ck_assert_int_eq(keyring_add(&mk, rec, &c), SIG_EMAXKEYS);
	/* No secret in the record. */
	ck_assert_ptr_null(strstr(json_object_to_json_string(rec), "whsec_"));
	list = keyring_list(rec);
	ck_assert_uint_eq(json_object_array_length(list), 2);
	{
		/* Kept on the record, printed as it would be built. */
		json_object	*again = keyring_list(rec), *fresh;
		char		*kept;

		ck_assert_ptr_eq(again, list);
		kept = strdup(json_object_to_json_string_ext(again,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		fresh = json_tokener_parse(kept);
		ck_assert_uint_eq(json_object_array_length(fresh), 2);
		ck_assert_str_eq(json_object_to_json_string_ext(fresh,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
		    kept);
		ck_assert_ptr_nonnull(strstr(kept, a.id));
		ck_assert_ptr_nonnull(strstr(kept, b.id));
		free(kept);
		json_object_put(fresh);
		json_object_put(again);
	}
	json_object_put(list);
	/* Newest first: b's signature, then a's. */
	ck_assert_int_eq(keyring_sign(&mk, rec, "m1", 10, "p", 1, &header),
	    SIG_OK);
	{
		unsigned char	 k[WEBHOOK_KEY_MAX];
		size_t		 kl;
		char		 sa[WEBHOOK_SIG_LEN + 1], sb[WEBHOOK_SIG_LEN + 1];
		char		 want[2 * WEBHOOK_SIG_LEN + 2];

		webhook_secret_key(a.secret, k, &kl);
		webhook_sign(k, kl, "m1", 10, "p", 1, sa);
		webhook_secret_key(b.secret, k, &kl);
		webhook_sign(k, kl, "m1", 10, "p", 1, sb);
		snprintf(want, sizeof(want), "%s %s", sb, sa);
		ck_assert_str_eq(header, want);
		ck_assert_int_eq(keyring_verify(&mk, rec, "m1", 10, "p", 1, sa,
		    kid), 1);
		ck_assert_str_eq(kid, a.id);
		ck_assert_int_eq(keyring_verify(&mk, rec, "m1", 11, "p", 1, sa,
		    kid), 0);
	}
	free(header);
	ck_assert_int_eq(keyring_remove(rec, "sk_none"), SIG_ENOTFOUND);
	list = keyring_list(rec);
	ck_assert_int_eq(keyring_remove(rec, a.id), SIG_OK);
	json_object_put(list);
	/* A change of keys drops the kept listing. */
	list = keyring_list(rec);
	ck_assert_uint_eq(json_object_array_length(list), 1);
	ck_assert_ptr_null(strstr(json_object_to_json_string(list), a.id));
	json_object_put(list);
	ck_assert_int_eq(keyring_remove(rec, b.id), SIG_ELASTKEY);
	keyring_forget(&a);
	ck_assert_int_eq(a.secret[0], 0);
	json_object_put(rec);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("webhook");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_vector);
	tcase_add_test(tc, test_vector_by_hand);
	tcase_add_test(tc, test_header_match);
	tcase_add_test(tc, test_timestamp);
	tcase_add_test(tc, test_content);
	tcase_add_test(tc, test_keyring_rules);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
