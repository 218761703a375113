/* Crypto module and base64: RFC 4231 HMAC vectors, AES-GCM sealing, wiping. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/b64.h"
#include "signet/crypto.h"
#include "signet/ids.h"
#include "unit.h"

static void
unhex(const char *hex, unsigned char *out, size_t *n)
{
	size_t	 i;

	*n = strlen(hex) / 2;
	for (i = 0; i < *n; i++) {
		unsigned int b;
		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (unsigned char)b;
	}
}

static void
hmac_case(const char *keyhex, const char *data, size_t dlen, const char *want)
{
	unsigned char	 key[256], mac[CRYPTO_SHA256_LEN];
	char		 hex[2 * CRYPTO_SHA256_LEN + 1];
	size_t		 klen;

	unhex(keyhex, key, &klen);
	crypto_hmac_sha256(key, klen, data, dlen, mac);
	ids_hex(mac, sizeof(mac), hex);
	ck_assert_str_eq(hex, want);
}

/* RFC 4231 test cases 1, 2 and 6. */
START_TEST(test_hmac_rfc4231)
{
	char	 big[200];
	unsigned char key6[131];

	hmac_case("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There", 8,
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_case("4a656665", "what do ya want for nothing?", 28,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(key6, 0xaa, sizeof(key6));
	{
		unsigned char	 mac[CRYPTO_SHA256_LEN];
		char		 hex[65];
		const char	*msg = "Test Using Larger Than Block-Size Key - "
		    "Hash Key First";

		crypto_hmac_sha256(key6, sizeof(key6), msg, strlen(msg), mac);
		ids_hex(mac, sizeof(mac), hex);
		ck_assert_str_eq(hex, "60e431591ee0b67f0d8a26aacbf5b77f"
		    "8e0bc6213728c5140546040f0ee37f54");
	}
	(void)big;
}
END_TEST

/* RFC 8032 section 7.1, test 2 (one byte message), and fresh pairs. */
START_TEST(test_ed25519)
{
	unsigned char	 seed[32], pub[32], sig[64], want[64], msg[1], p2[32];
	size_t		 n;

	unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	    seed, &n);
	unhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	    pub, &n);
	unhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
	    want, &n);
	msg[0] = 0x72;
	ck_assert_int_eq(crypto_ed25519_sign(seed, pub, msg, 1, sig), SIG_OK);
	ck_assert_mem_eq(sig, want, 64);
	ck_assert(crypto_ed25519_verify(pub, msg, 1, sig));
	msg[0] ^= 1;
	ck_assert(!crypto_ed25519_verify(pub, msg, 1, sig));
	msg[0] ^= 1;
	sig[10] ^= 0x40;
	ck_assert(!crypto_ed25519_verify(pub, msg, 1, sig));

	/* Fresh pairs differ; a signature verifies under its own key only. */
	ck_assert_int_eq(crypto_ed25519_new(seed, pub), SIG_OK);
	ck_assert_int_eq(crypto_ed25519_new(seed, p2), SIG_OK);
	ck_assert(memcmp(pub, p2, 32) != 0);
	ck_assert_int_eq(crypto_ed25519_sign(seed, p2, "abc", 3, sig), SIG_OK);
	ck_assert(crypto_ed25519_verify(p2, "abc", 3, sig));
	ck_assert(!crypto_ed25519_verify(pub, "abc", 3, sig));
	crypto_wipe(seed, sizeof(seed));
}
END_TEST

START_TEST(test_sha256)
{
	unsigned char	 h[CRYPTO_SHA256_LEN];
	char		 hex[65];

	crypto_sha256("abc", 3, h);
	ids_hex(h, sizeof(h), hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
}
END_TEST

static struct master_key mk;

static void
setup(void)
{
	ck_assert_int_eq(crypto_init(), SIG_OK);
	ck_assert_int_eq(crypto_random(mk.k, sizeof(mk.k), 1), SIG_OK);
}

START_TEST(test_seal_round_trip)
{
	char		*sealed;
	unsigned char	*pt;
	size_t		 n;

	ck_assert_int_eq(crypto_seal(&mk, "sk_1", "whsec_secret", 12, &sealed),
	    SIG_OK);
	ck_assert_ptr_null(strstr(sealed, "whsec"));
	ck_assert_int_eq(crypto_open(&mk, "sk_1", sealed, &pt, &n), SIG_OK);
	ck_assert_uint_eq(n, 12);
	ck_assert_int_eq(memcmp(pt, "whsec_secret", 12), 0);
	free(pt);
	free(sealed);
}
END_TEST

START_TEST(test_seal_fresh_nonce)
{
	char	*a, *b;

	ck_assert_int_eq(crypto_seal(&mk, "id", "same", 4, &a), SIG_OK);
	ck_assert_int_eq(crypto_seal(&mk, "id", "same", 4, &b), SIG_OK);
	ck_assert_str_ne(a, b);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_seal_tamper)
{
	struct master_key other;
	char		*sealed;
	unsigned char	*pt, raw[128];
	size_t		 n, rawlen;
	char		 b64[256];

	ck_assert_int_eq(crypto_seal(&mk, "sk_1", "secret", 6, &sealed),
	    SIG_OK);
	/* Wrong associated data: the record id is bound to the ciphertext. */
	ck_assert_int_eq(crypto_open(&mk, "sk_2", sealed, &pt, &n),
	    SIG_EINTERNAL);
	ck_assert_ptr_null(pt);
	/* Wrong key. */
	memcpy(&other, &mk, sizeof(mk));
	other.k[0] ^= 1;
	ck_assert_int_eq(crypto_open(&other, "sk_1", sealed, &pt, &n),
	    SIG_EINTERNAL);
	/* Every flipped bit of the ciphertext or tag is caught. */
	ck_assert_int_eq(b64_decode(sealed, strlen(sealed), raw, &rawlen), 0);
	for (size_t i = 13; i < rawlen; i++) {
		raw[i] ^= 0x10;
		b64_encode(raw, rawlen, b64);
		ck_assert_int_eq(crypto_open(&mk, "sk_1", b64, &pt, &n),
		    SIG_EINTERNAL);
		raw[i] ^= 0x10;
	}
	ck_assert_int_eq(crypto_open(&mk, "sk_1", "not base64!", &pt, &n),
	    SIG_EINTERNAL);
	free(sealed);
}
END_TEST

START_TEST(test_equal_and_wipe)
{
	char	 buf[8] = "secret!";

	ck_assert(crypto_equal("abcd", "abcd", 4));
	ck_assert(!crypto_equal("abcd", "abce", 4));
	crypto_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 0);
	crypto_wipe(NULL, 4);
}
END_TEST

START_TEST(test_base64)
{
	unsigned char	 out[64];
	char		 enc[64];
	size_t		 n;

	ck_assert_uint_eq(b64_encode((const unsigned char *)"foob", 4, enc), 8);
	ck_assert_str_eq(enc, "Zm9vYg==");
	ck_assert_int_eq(b64_decode("Zm9vYg==", 8, out, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(memcmp(out, "foob", 4), 0);
	ck_assert_int_eq(b64_decode("Zm9vYg=", 7, out, &n), -1);
	ck_assert_int_eq(b64_decode("Zm9vYh==", 8, out, &n), -1);
	ck_assert_int_eq(b64_decode("Zm9v Yg=", 8, out, &n), -1);
	ck_assert_int_eq(b64_decode("Zm=vYg==", 8, out, &n), -1);
	/* base64url: no padding, '-' and '_'. */
	ck_assert_uint_eq(b64url_encode((const unsigned char *)"\xfb\xff", 2,
	    enc), 3);
	ck_assert_str_eq(enc, "-_8");
	ck_assert_int_eq(b64url_decode("-_8", 3, out, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(b64url_decode("-_8=", 4, out, &n), -1);
	ck_assert_int_eq(b64url_decode("+/8", 3, out, &n), -1);
	ck_assert_int_eq(b64url_decode("A", 1, out, &n), -1);
	ck_assert_int_eq(b64url_decode("", 0, out, &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_ids)
{
	char	 id[IDS_MAX], ts[32];

	ck_assert_int_eq(ids_new("ep_", 16, id, sizeof(id)), SIG_OK);
	ck_assert_uint_eq(strlen(id), 35);
	ck_assert_int_eq(strncmp(id, "ep_", 3), 0);
	ck_assert_int_eq(ids_new("ep_", 16, id, 10), SIG_EINTERNAL);
	ck_assert_str_eq(ids_time(1765023000, 0, ts), "2025-12-06T12:10:00Z");
	ck_assert_str_eq(ids_time(INT64_C(1776774924117631), 1, ts),
	    "2026-04-21T12:35:24.117631Z");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("crypto");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_hmac_rfc4231);
	tcase_add_test(tc, test_sha256);
	tcase_add_test(tc, test_ed25519);
	tcase_add_test(tc, test_seal_round_trip);
	tcase_add_test(tc, test_seal_fresh_nonce);
	tcase_add_test(tc, test_seal_tamper);
	tcase_add_test(tc, test_equal_and_wipe);
	tcase_add_test(tc, test_base64);
	tcase_add_test(tc, test_ids);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
