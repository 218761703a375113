/*
 * JWK, JWS, generated key pairs and TOTP: the RFC 7517/7638/7515/8037
 * examples, broken keys, and RFC 6238's SHA-1 vectors.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/crypto.h"
#include "signet/jwk.h"
#include "signet/jws.h"
#include "signet/keypair.h"
#include "signet/totp.h"
#include "unit.h"

/* RFC 7638 section 3.1 (also RFC 7517 appendix A.1). */
#define RSA_N "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtV" \
	"T86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5Js" \
	"GY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaS" \
	"qzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4" \
	"vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awa" \
	"pJzKnqDKgw"
#define RSA_JWK "{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AQAB\"," \
	"\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}"

/* RFC 7517 appendix A.1, first key. */
#define EC_JWK "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11y" \
	"Ss3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8Pxlt" \
	"mWWlbbM4IFyM\",\"use\":\"enc\",\"kid\":\"1\"}"

/* RFC 7515 appendix A.3. */
#define ES256_JWK "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8v" \
	"ub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pC" \
	"yStikYjKIWI5a0\"}"
#define ES256_JWS "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMD" \
	"A4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3l" \
	"jbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJq" \
	"PP3-Kg6NU1Q"

/* RFC 8037 appendix A.4. */
#define ED_JWK "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_" \
	"7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
#define ED_JWS "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgy" \
	"Y0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7" \
	"sVvpAr_MuM0KAg"

static enum sig_err
parse_jwk(const char *text, struct jwk *k, char *msg)
{
	json_object	*o = json_tokener_parse(text);
	enum sig_err	 rc;

	ck_assert_ptr_nonnull(o);
	rc = jwk_parse(o, k, msg);
	json_object_put(o);
	return rc;
}

START_TEST(test_rfc_keys)
{
	struct jwk	 k;
	char		 msg[SIG_MSG_MAX];

	ck_assert_int_eq(parse_jwk(RSA_JWK, &k, msg), SIG_OK);
	ck_assert_str_eq(k.thumbprint,
	    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	ck_assert_str_eq(k.kid, "2011-04-29");
	ck_assert_uint_eq(k.bits, 2048);
	ck_assert(jwk_alg_fits(&k, "RS256"));
	ck_assert(jwk_alg_fits(&k, "PS256"));
	ck_assert(!jwk_alg_fits(&k, "ES256"));
	jwk_free(&k);
	ck_assert_int_eq(parse_jwk(EC_JWK, &k, msg), SIG_OK);
	ck_assert_str_eq(k.crv, "P-256");
	ck_assert_str_eq(jwk_default_alg(&k), "ES256");
	ck_assert(!jwk_alg_fits(&k, "ES384"));
	jwk_free(&k);
	ck_assert_int_eq(parse_jwk(ED_JWK, &k, msg), SIG_OK);
	ck_assert_str_eq(jwk_default_alg(&k), "EdDSA");
	/* RFC 8037 appendix A.3: the thumbprint of this key. */
	ck_assert_str_eq(k.thumbprint,
	    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	jwk_free(&k);
}
END_TEST

START_TEST(test_broken_keys)
{
	struct jwk	 k;
	char		 msg[SIG_MSG_MAX];

	/* A 1024-bit modulus. */
	ck_assert_int_eq(parse_jwk("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\""
	    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zw"
	    "u1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY"
	    "4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQ\"}", &k, msg),
	    SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "2048"));
	/* The point moved off the curve: last byte of y changed. */
	ck_assert_int_eq(parse_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	    "\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2"
	    "YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyA\"}", &k, msg), SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "curve"));
	/* Bad base64url: padding, stray characters. */
	ck_assert_int_eq(parse_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	    "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"}", &k, msg),
	    SIG_EINVAL);
	ck_assert_int_eq(parse_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	    "\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}", &k, msg),
	    SIG_EINVAL);
	/* Private members. */
	ck_assert_int_eq(parse_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	    "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"d\":\"nWGxne_9W"
	    "mC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}", &k, msg), SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "private member d"));
	ck_assert_int_eq(parse_jwk("{\"kty\":\"oct\",\"k\":\"AAAA\"}", &k, msg),
	    SIG_EINVAL);
	/* Wrong sizes and curves. */
	ck_assert_int_eq(parse_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	    "\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\"}", &k, msg),
	    SIG_EINVAL);
	ck_assert_int_eq(parse_jwk("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":"
	    "\"AA\",\"y\":\"AA\"}", &k, msg), SIG_EINVAL);
	ck_assert_int_eq(parse_jwk("{\"kty\":\"OKP\",\"crv\":\"P-256\",\"x\":"
	    "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}", &k, msg),
	    SIG_EINVAL);
	ck_assert_int_eq(parse_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	    "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaa\"}", &k, msg),
	    SIG_EINVAL);
	ck_assert_int_eq(parse_jwk("[]", &k, msg), SIG_EINVAL);
	ck_assert_int_eq(parse_jwk("{\"kty\":5}", &k, msg), SIG_EINVAL);
}
END_TEST

static int
verify(const char *jwk, const char *compact, const char *detached,
    char *reason)
{
	struct jwk	 k;
	struct jws	 j;
	char		 msg[SIG_MSG_MAX];
	int		 ok;

	ck_assert_int_eq(parse_jwk(jwk, &k, msg), SIG_OK);
	if (jws_parse(compact, detached, detached ? strlen(detached) : 0, &j,
	    reason) != 0) {
		jwk_free(&k);
		return -1;
	}
	ok = jws_verify(&j, &k, reason);
	jws_free(&j);
	jwk_free(&k);
	return ok;
}

START_TEST(test_rfc_signatures)
{
	char	 reason[JWS_REASON_MAX], tampered[sizeof(ED_JWS)];

	ck_assert_int_eq(verify(ES256_JWK, ES256_JWS, NULL, reason), 1);
	ck_assert_int_eq(verify(ED_JWK, ED_JWS, NULL, reason), 1);
	/* The right signature under the wrong key type. */
	ck_assert_int_eq(verify(EC_JWK, ED_JWS, NULL, reason), 0);
	ck_assert_ptr_nonnull(strstr(reason, "does not fit"));
	/* Another P-256 key. */
	ck_assert_int_eq(verify(EC_JWK, ES256_JWS, NULL, reason), 0);
	memcpy(tampered, ED_JWS, sizeof(ED_JWS));
	tampered[30] ^= 1;
	ck_assert_int_eq(verify(ED_JWK, tampered, NULL, reason), 0);
	/* Detached: the same signature over the payload given apart. */
	ck_assert_int_eq(verify(ED_JWK, "eyJhbGciOiJFZERTQSJ9..hgyY0il_MGCjP0"
	    "JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_M"
	    "uM0KAg", "Example of Ed25519 signing", reason), 1);
	ck_assert_int_eq(verify(ED_JWK, "eyJhbGciOiJFZERTQSJ9..hgyY0il_MGCjP0"
	    "JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_M"
	    "uM0KAg", "Example of Ed25519 signing!", reason), 0);
}
END_TEST

START_TEST(test_refused_jws)
{
	struct jws	 j;
	char		 reason[JWS_REASON_MAX];

	/* {"alg":"none"} */
	ck_assert_int_eq(jws_parse("eyJhbGciOiJub25lIn0.e30.", NULL, 0, &j,
	    reason), -1);
	ck_assert_ptr_nonnull(strstr(reason, "none"));
	/* {"alg":"HS256"} */
	ck_assert_int_eq(jws_parse("eyJhbGciOiJIUzI1NiJ9.e30.AAAA", NULL, 0,
	    &j, reason), -1);
	ck_assert_ptr_nonnull(strstr(reason, "HMAC"));
	/* {"alg":"EdDSA","crit":["exp"]} */
	ck_assert_int_eq(jws_parse("eyJhbGciOiJFZERTQSIsImNyaXQiOlsiZXhwIl19"
	    ".e30.AAAA", NULL, 0, &j, reason), -1);
	ck_assert_ptr_nonnull(strstr(reason, "crit"));
	ck_assert_int_eq(jws_parse("a.b", NULL, 0, &j, reason), -1);
	ck_assert_int_eq(jws_parse("a.b.c.d", NULL, 0, &j, reason), -1);
	ck_assert_int_eq(jws_parse("!!.e30.AAAA", NULL, 0, &j, reason), -1);
	ck_assert_int_eq(jws_parse("", NULL, 0, &j, reason), -1);
	/* "[]" as a header. */
	ck_assert_int_eq(jws_parse("W10.e30.AAAA", NULL, 0, &j, reason), -1);
}
END_TEST

/* Each generated key signs, and its public JWK verifies the signature. */
START_TEST(test_keypairs)
{
	static const char *const algs[] = { "ES256", "EdDSA", "RS256" };
	struct keypair	 kp;
	json_object	*pub;
	struct jwk	 k;
	struct jws	 j;
	char		*token, msg[SIG_MSG_MAX], reason[JWS_REASON_MAX];
	size_t		 i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(keypair_generate(algs[i], &kp), SIG_OK);
		ck_assert_ptr_nonnull(strstr(kp.private_pem,
		    "-----BEGIN PRIVATE KEY-----"));
		ck_assert_ptr_nonnull(strstr(kp.public_pem,
		    "-----BEGIN PUBLIC KEY-----"));
		ck_assert_int_eq(jwk_from_pubkey(kp.pub, "kid1", algs[i], &pub),
		    SIG_OK);
		ck_assert_int_eq(jwk_parse(pub, &k, msg), SIG_OK);
		ck_assert_str_eq(jwk_default_alg(&k), algs[i]);
		ck_assert_int_eq(jws_sign(kp.priv, algs[i], "kid1", "JWT",
		    "{\"sub\":\"x\"}", 11, &token), SIG_OK);
		ck_assert_int_eq(jws_parse(token, NULL, 0, &j, reason), 0);
		ck_assert_str_eq(j.kid, "kid1");
		ck_assert_int_eq(jws_verify(&j, &k, reason), 1);
		ck_assert_str_eq((char *)j.payload, "{\"sub\":\"x\"}");
		jws_free(&j);
		free(token);
		jwk_free(&k);
		json_object_put(pub);
		keypair_free(&kp);
		ck_assert_ptr_null(kp.private_pem);
	}
	ck_assert_int_eq(keypair_generate("HS256", &kp), SIG_EINVAL);
}
END_TEST

/* RFC 6238 appendix B, SHA-1, 8 digits. */
START_TEST(test_totp_vectors)
{
	const unsigned char *key = (const unsigned char *)"12345678901234567890";

	ck_assert_uint_eq(totp_code(key, 20, 59 / 30, 8), 94287082);
	ck_assert_uint_eq(totp_code(key, 20, 1111111109 / 30, 8), 7081804);
	ck_assert_uint_eq(totp_code(key, 20, 1234567890 / 30, 8), 89005924);
	ck_assert_uint_eq(totp_code(key, 20, 2000000000 / 30, 8), 69279037);
	ck_assert_uint_eq(totp_code(key, 20, 20000000000LL / 30, 8), 65353130);
}
END_TEST

START_TEST(test_totp_check)
{
	const unsigned char *key = (const unsigned char *)"12345678901234567890";
	int64_t		 now = 1111111109;
	uint64_t	 step = (uint64_t)now / 30;
	char		 code[8];

	snprintf(code, sizeof(code), "%06u", totp_code(key, 20, step, 6));
	ck_assert_uint_eq(totp_check(key, 20, code, now, 0), step);
	/* Replay: once accepted, that step is used. */
	ck_assert_uint_eq(totp_check(key, 20, code, now, step), 0);
	/* One step of drift either way. */
	ck_assert_uint_eq(totp_check(key, 20, code, now + 30, 0), step);
	ck_assert_uint_eq(totp_check(key, 20, code, now - 30, 0), step);
	ck_assert_uint_eq(totp_check(key, 20, code, now + 60, 0), 0);
	ck_assert_uint_eq(totp_check(key, 20, "12345", now, 0), 0);
	ck_assert_uint_eq(totp_check(key, 20, "12345a", now, 0), 0);
	ck_assert_uint_eq(totp_check(key, 20, NULL, now, 0), 0);
}
END_TEST

START_TEST(test_base32)
{
	char	 out[64];

	totp_base32((const unsigned char *)"foobar", 6, out);
	ck_assert_str_eq(out, "MZXW6YTBOI");
	totp_base32((const unsigned char *)"12345678901234567890", 20, out);
	ck_assert_str_eq(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}
END_TEST

static void
setup(void)
{
	ck_assert_int_eq(crypto_init(), SIG_OK);
}

int
main(void)
{
	Suite	*s = suite_create("jose");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rfc_keys);
	tcase_add_test(tc, test_broken_keys);
	tcase_add_test(tc, test_rfc_signatures);
	tcase_add_test(tc, test_refused_jws);
	tcase_add_test(tc, test_keypairs);
	tcase_add_test(tc, test_totp_vectors);
	tcase_add_test(tc, test_totp_check);
	tcase_add_test(tc, test_base32);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
