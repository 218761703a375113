/* Standard Webhooks signatures: the published vector, headers, keyring. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/b64.h"
#include "signet/crypto.h"
#include "signet/json.h"
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

#define NOW	INT64_C(1800000000)

START_TEST(test_keyring_rules)
{
	struct master_key mk;
	struct new_key	 a, b, c;
	json_object	*rec = json_object_new_object(), *list;
	char		*header, kid[IDS_MAX];

	crypto_init();
	crypto_random(mk.k, sizeof(mk.k), 1);
	ck_assert_int_eq(keyring_new_key(&a, KEY_HMAC, 0), SIG_OK);
	ck_assert_int_eq(keyring_new_key(&b, KEY_HMAC, 0), SIG_OK);
	ck_assert_int_eq(keyring_new_key(&c, KEY_HMAC, 0), SIG_OK);
	ck_assert_uint_eq(strlen(a.secret), WEBHOOK_SECRET_LEN);
	ck_assert_int_eq(keyring_add(&mk, rec, &a, NOW), SIG_OK);
	ck_assert_int_eq(keyring_remove(rec, a.id, NOW), SIG_ELASTKEY);
	ck_assert_int_eq(keyring_add(&mk, rec, &b, NOW), SIG_OK);
	ck_assert_int_eq(keyring_add(&mk, rec, &c, NOW), SIG_EMAXKEYS);
	/* No secret in the record. */
	ck_assert_ptr_null(strstr(json_object_to_json_string(rec), "whsec_"));
	list = keyring_list(rec, NOW);
	ck_assert_uint_eq(json_object_array_length(list), 2);
	{
		/* Kept on the record, printed as it would be built. */
		json_object	*again = keyring_list(rec, NOW), *fresh;
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
	ck_assert_int_eq(keyring_sign(&mk, rec, "m1", 10, "p", 1, NOW, &header),
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
		    NOW, kid), 1);
		ck_assert_str_eq(kid, a.id);
		ck_assert_int_eq(keyring_verify(&mk, rec, "m1", 11, "p", 1, sa,
		    NOW, kid), 0);
	}
	free(header);
	ck_assert_int_eq(keyring_remove(rec, "sk_none", NOW), SIG_ENOTFOUND);
	list = keyring_list(rec, NOW);
	ck_assert_int_eq(keyring_remove(rec, a.id, NOW), SIG_OK);
	json_object_put(list);
	/* A change of keys drops the kept listing. */
	list = keyring_list(rec, NOW);
	ck_assert_uint_eq(json_object_array_length(list), 1);
	ck_assert_ptr_null(strstr(json_object_to_json_string(list), a.id));
	json_object_put(list);
	ck_assert_int_eq(keyring_remove(rec, b.id, NOW), SIG_ELASTKEY);
	keyring_forget(&a);
	ck_assert_int_eq(a.secret[0], 0);
	json_object_put(rec);
}
END_TEST

/* Expiry, rotation, the lasting-key invariant, Ed25519 keys. */
START_TEST(test_keyring_lifecycle)
{
	struct master_key mk;
	struct new_key	 a, b, c, e;
	json_object	*rec = json_object_new_object(), *list, *gone, *jwks, *v;
	char		*header, kid[IDS_MAX], entry[WEBHOOK_ASIG_LEN + 1];
	unsigned char	 pub[32], sig[64], raw[48];
	const char	*p;
	size_t		 n;

	crypto_init();
	crypto_random(mk.k, sizeof(mk.k), 1);
	ck_assert_int_eq(keyring_new_key(&a, KEY_HMAC, 0), SIG_OK);
	ck_assert_int_eq(keyring_add(&mk, rec, &a, NOW), SIG_OK);
	/* The only lasting key can get no expiry and cannot go. */
	ck_assert_int_eq(keyring_set_expiry(rec, a.id, NOW + 10, NOW),
	    SIG_ELASTKEY);
	/* A second key that expires in 10 s. */
	ck_assert_int_eq(keyring_new_key(&b, KEY_HMAC, NOW + 10), SIG_OK);
	ck_assert_int_eq(keyring_add(&mk, rec, &b, NOW), SIG_OK);
	ck_assert_int_eq(keyring_next_expiry(rec), NOW + 10);
	ck_assert_int_eq(keyring_remove(rec, a.id, NOW), SIG_ELASTKEY);
	ck_assert_int_eq(keyring_new_key(&c, KEY_ED25519, 0), SIG_OK);
	ck_assert_int_eq(keyring_add(&mk, rec, &c, NOW + 9), SIG_EMAXKEYS);
	/* Exact to the second: b signs at NOW + 9, not at NOW + 10. */
	ck_assert_int_eq(keyring_sign(&mk, rec, "m", 1, "p", 1, NOW + 9,
	    &header), SIG_OK);
	ck_assert_ptr_nonnull(strchr(header, ' '));
	free(header);
	ck_assert_int_eq(keyring_sign(&mk, rec, "m", 1, "p", 1, NOW + 10,
	    &header), SIG_OK);
	ck_assert_ptr_null(strchr(header, ' '));
	free(header);
	ck_assert_ptr_null(keyring_get(rec, b.id, NOW + 10));
	v = keyring_get(rec, b.id, NOW + 9);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(json_str(v, "type"), "hmac-sha256");
	ck_assert_ptr_nonnull(json_str(v, "expires_at"));
	json_object_put(v);
	list = keyring_list(rec, NOW + 10);
	ck_assert_uint_eq(json_object_array_length(list), 1);
	json_object_put(list);
	/* Expired b no longer counts: c fits; b is erased once. */
	ck_assert_int_eq(keyring_add(&mk, rec, &c, NOW + 10), SIG_OK);
	gone = keyring_expired(rec, NOW + 10);
	ck_assert_uint_eq(json_object_array_length(gone), 1);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(gone,
	    0)), b.id);
	json_object_put(gone);
	ck_assert_ptr_null(keyring_expired(rec, NOW + 10));
	ck_assert_int_eq(keyring_next_expiry(rec), 0);
	/* Two current keys: no rotation. */
	ck_assert_int_eq(keyring_new_key(&e, KEY_ED25519, 0), SIG_OK);
	ck_assert_int_eq(keyring_rotate(&mk, rec, &e, 60, NOW + 10),
	    SIG_EMAXKEYS);
	ck_assert_int_eq(keyring_current_type(rec, NOW + 10), KEY_ED25519);

	/* c's v1a entry verifies with its public key, from whpk_ and JWKS. */
	ck_assert_int_eq(keyring_sign(&mk, rec, "m", 1, "p", 1, NOW + 10,
	    &header), SIG_OK);
	ck_assert_int_eq(strncmp(header, "v1a,", 4), 0);
	ck_assert_ptr_nonnull(strstr(header, " v1,"));
	ck_assert_int_eq(strncmp(c.public_key, "whpk_", 5), 0);
	ck_assert_uint_eq(strlen(c.public_key), KEYRING_PUBLIC_LEN);
	ck_assert_int_eq(b64_decode(c.public_key + 5, 44, raw, &n), 0);
	ck_assert_uint_eq(n, 32);
	memcpy(pub, raw, 32);
	p = header;
	ck_assert(webhook_v1a_next(&p, sig));
	ck_assert(crypto_ed25519_verify(pub, "m.1.p", 5, sig));
	ck_assert(!webhook_v1a_next(&p, sig));
	ck_assert_int_eq(keyring_verify(&mk, rec, "m", 1, "p", 1, header,
	    NOW + 10, kid), 1);
	ck_assert_str_eq(kid, c.id);
	/* A v1a entry of another key, or over other bytes, does not. */
	ck_assert_int_eq(crypto_ed25519_sign(e.seed, pub, "m.1.p", 5, sig),
	    SIG_OK);
	webhook_v1a_entry(sig, entry);
	ck_assert_int_eq(keyring_verify(&mk, rec, "m", 1, "p", 1, entry,
	    NOW + 10, kid), 0);
	/* Other signed bytes: neither entry matches. */
	ck_assert_int_eq(keyring_verify(&mk, rec, "m", 2, "p", 1, header,
	    NOW + 10, kid), 0);
	free(header);
	jwks = keyring_jwks(rec, NOW + 10);
	ck_assert_uint_eq(json_object_array_length(jwks), 1);
	v = json_object_array_get_idx(jwks, 0);
	ck_assert_str_eq(json_str(v, "kty"), "OKP");
	ck_assert_str_eq(json_str(v, "kid"), c.id);
	ck_assert_int_eq(b64url_decode(json_str(v, "x"), 43, raw, &n), 0);
	ck_assert_mem_eq(raw, pub, 32);
	json_object_put(jwks);
	v = keyring_new_key_json(&c);
	ck_assert_ptr_null(json_str(v, "signing_secret"));
	ck_assert_str_eq(json_str(v, "public_key"), c.public_key);
	ck_assert_int_eq(strncmp(json_str(v, "key_hint"), c.public_key + 44, 4),
	    0);
	json_object_put(v);
	/* Nothing private in the record. */
	ck_assert_int_eq(b64_encode(c.seed, 32, (char *)raw) > 0, 1);
	ck_assert_ptr_null(strstr(json_object_to_json_string(rec),
	    (char *)raw));

	/* Rotation: with one current key, grace 0 retires it at once. */
	ck_assert_int_eq(keyring_remove(rec, a.id, NOW + 10), SIG_OK);
	ck_assert_int_eq(keyring_rotate(&mk, rec, &e, 0, NOW + 20), SIG_OK);
	ck_assert_ptr_null(keyring_get(rec, c.id, NOW + 20));
	list = keyring_list(rec, NOW + 20);
	ck_assert_uint_eq(json_object_array_length(list), 1);
	json_object_put(list);
	keyring_forget(&a);
	keyring_forget(&b);
	keyring_forget(&c);
	keyring_forget(&e);
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
	tcase_add_test(tc, test_keyring_lifecycle);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
