/*
 * JWK parsing, import and export.  Part of the crypto layer: it is one of
 * the few files that call GnuTLS.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "signet/b64.h"
#include "signet/crypto.h"
#include "signet/jwk.h"

#define MAX_COORD	66	/* P-521 */
#define MAX_RSA_BYTES	2048	/* 16384-bit modulus */

struct curve {
	const char		*crv;
	gnutls_ecc_curve_t	 id;
	size_t			 size;
	const char		*alg;
};

static const struct curve curves[] = {
	{ "P-256", GNUTLS_ECC_CURVE_SECP256R1, 32, "ES256" },
	{ "P-384", GNUTLS_ECC_CURVE_SECP384R1, 48, "ES384" },
	{ "P-521", GNUTLS_ECC_CURVE_SECP521R1, 66, "ES512" },
	{ "Ed25519", GNUTLS_ECC_CURVE_ED25519, 32, "EdDSA" },
};
#define NCURVES (sizeof(curves) / sizeof(curves[0]))

static const struct curve *
curve_by_name(const char *crv)
{
	size_t	 i;

	for (i = 0; i < NCURVES; i++)
		if (strcmp(curves[i].crv, crv) == 0)
			return &curves[i];
	return NULL;
}

static const struct curve *
curve_by_id(gnutls_ecc_curve_t id)
{
	size_t	 i;

	for (i = 0; i < NCURVES; i++)
		if (curves[i].id == id)
			return &curves[i];
	return NULL;
}

/* A string member of o, or NULL (absent); *bad when present but not a string. */
static const char *
member(json_object *o, const char *name, int *bad)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, name, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = 1;
		return NULL;
	}
	return json_object_get_string(v);
}

/*
 * Decode the base64url member name of o into buf (cap bytes).  Returns the
 * length, or -1 with msg set.
 */
static long
b64_member(json_object *o, const char *name, unsigned char *buf, size_t cap,
    char *msg)
{
	const char	*s;
	size_t		 len, n;
	int		 bad = 0;

	s = member(o, name, &bad);
	if (s == NULL) {
		snprintf(msg, SIG_MSG_MAX, "JWK member %s is %s", name,
		    bad ? "not a string" : "missing");
		return -1;
	}
	len = strlen(s);
	if (len == 0 || len / 4 * 3 > cap ||
	    b64url_decode(s, len, buf, &n) != 0) {
		snprintf(msg, SIG_MSG_MAX, "JWK member %s is not valid "
		    "base64url of the right size", name);
		return -1;
	}
	return (long)n;
}

/* RFC 7638: the required members in lexicographic order, no whitespace. */
static void
thumbprint(json_object *o, const char *kty, char *out)
{
	char		 buf[4 * MAX_RSA_BYTES];
	unsigned char	 h[CRYPTO_SHA256_LEN];
	int		 bad = 0, n;

	if (strcmp(kty, "RSA") == 0)
		n = snprintf(buf, sizeof(buf),
		    "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		    member(o, "e", &bad), member(o, "n", &bad));
	else if (strcmp(kty, "EC") == 0)
		n = snprintf(buf, sizeof(buf), "{\"crv\":\"%s\",\"kty\":\"EC\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", member(o, "crv", &bad),
		    member(o, "x", &bad), member(o, "y", &bad));
	else
		n = snprintf(buf, sizeof(buf), "{\"crv\":\"%s\",\"kty\":\"OKP\","
		    "\"x\":\"%s\"}", member(o, "crv", &bad),
		    member(o, "x", &bad));
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	crypto_sha256(buf, (size_t)n, h);
	b64url_encode(h, sizeof(h), out);
}

static void
add_public(json_object *pub, json_object *o, const char *name)
{
	json_object	*v;

	if (json_object_object_get_ex(o, name, &v))
		json_object_object_add(pub, name, json_object_get(v));
}

enum sig_err
jwk_parse(json_object *o, struct jwk *k, char *msg)
{
	static const char *const private_members[] = { "d", "p", "q", "dp",
	    "dq", "qi", "oth", "k" };
	unsigned char	 a[MAX_RSA_BYTES], b[MAX_RSA_BYTES];
	gnutls_datum_t	 da, db;
	const struct curve *cv = NULL;
	const char	*kty, *s;
	long		 na, nb;
	size_t		 i;
	int		 bad = 0, rc;

	memset(k, 0, sizeof(*k));
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(msg, SIG_MSG_MAX, "a JWK must be a JSON object");
		return SIG_EINVAL;
	}
	for (i = 0; i < sizeof(private_members) / sizeof(*private_members);
	    i++)
		if (json_object_object_get_ex(o, private_members[i], NULL)) {
			snprintf(msg, SIG_MSG_MAX, "JWK has private member %s: "
			    "register only the public key",
			    private_members[i]);
			return SIG_EINVAL;
		}
	kty = member(o, "kty", &bad);
	if (kty == NULL || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0 &&
	    strcmp(kty, "OKP") != 0)) {
		snprintf(msg, SIG_MSG_MAX, "JWK kty must be RSA, EC or OKP");
		return SIG_EINVAL;
	}
	if ((s = member(o, "kid", &bad)) != NULL) {
		if (*s == '\0' || strlen(s) > JWK_KID_MAX) {
			snprintf(msg, SIG_MSG_MAX, "JWK kid must be 1 to %d "
			    "characters", JWK_KID_MAX);
			return SIG_EINVAL;
		}
		snprintf(k->kid, sizeof(k->kid), "%s", s);
	}
	if ((s = member(o, "alg", &bad)) != NULL)
		snprintf(k->alg, sizeof(k->alg), "%.15s", s);
	if (bad) {
		snprintf(msg, SIG_MSG_MAX, "JWK kid and alg must be strings");
		return SIG_EINVAL;
	}
	snprintf(k->kty, sizeof(k->kty), "%s", kty);
	if (strcmp(kty, "RSA") == 0) {
		if ((na = b64_member(o, "n", a, sizeof(a), msg)) < 0 ||
		    (nb = b64_member(o, "e", b, 8, msg)) < 0)
			return SIG_EINVAL;
	} else {
		s = member(o, "crv", &bad);
		cv = s != NULL ? curve_by_name(s) : NULL;
		if (cv == NULL || (strcmp(kty, "OKP") == 0) !=
		    (cv->id == GNUTLS_ECC_CURVE_ED25519)) {
			snprintf(msg, SIG_MSG_MAX, strcmp(kty, "EC") == 0 ?
			    "JWK crv must be P-256, P-384 or P-521" :
			    "JWK crv must be Ed25519");
			return SIG_EINVAL;
		}
		snprintf(k->crv, sizeof(k->crv), "%s", cv->crv);
		if ((na = b64_member(o, "x", a, MAX_COORD, msg)) < 0)
			return SIG_EINVAL;
		nb = 0;
		if (cv->id != GNUTLS_ECC_CURVE_ED25519 &&
		    (nb = b64_member(o, "y", b, MAX_COORD, msg)) < 0)
			return SIG_EINVAL;
		if ((size_t)na != cv->size || (cv->id !=
		    GNUTLS_ECC_CURVE_ED25519 && (size_t)nb != cv->size)) {
			snprintf(msg, SIG_MSG_MAX, "JWK coordinates must be "
			    "%zu bytes for %s", cv->size, cv->crv);
			return SIG_EINVAL;
		}
	}
	if (gnutls_pubkey_init(&k->pub) < 0)
		return SIG_EINTERNAL;
	da.data = a;
	da.size = (unsigned)na;
	db.data = b;
	db.size = (unsigned)nb;
	if (cv == NULL) {
		/* Leading zero octets do not count towards the size. */
		for (i = 0; i < da.size && a[i] == 0; i++)
			;
		k->bits = (unsigned)(da.size - i) * 8;
		if (i < da.size)
			for (unsigned char top = a[i]; !(top & 0x80); top <<= 1)
				k->bits--;
		if (k->bits < 2048) {
			snprintf(msg, SIG_MSG_MAX, "RSA modulus must be at "
			    "least 2048 bits (this one has %u)", k->bits);
			goto fail;
		}
		if (db.size == 0 || !(b[db.size - 1] & 1) ||
		    (db.size == 1 && b[0] < 3)) {
			snprintf(msg, SIG_MSG_MAX, "RSA exponent e is invalid");
			goto fail;
		}
		rc = gnutls_pubkey_import_rsa_raw(k->pub, &da, &db);
	} else
		rc = gnutls_pubkey_import_ecc_raw(k->pub, cv->id, &da,
		    cv->id == GNUTLS_ECC_CURVE_ED25519 ? NULL : &db);
	/* For EC keys this checks that the point is on the curve. */
	if (rc < 0 || gnutls_pubkey_verify_params(k->pub) < 0) {
		snprintf(msg, SIG_MSG_MAX, cv != NULL && cv->id !=
		    GNUTLS_ECC_CURVE_ED25519 ? "JWK point is not on the curve %s" :
		    "JWK key does not import%s", cv != NULL &&
		    cv->id != GNUTLS_ECC_CURVE_ED25519 ? cv->crv : "");
		goto fail;
	}
	thumbprint(o, kty, k->thumbprint);
	k->public_jwk = json_object_new_object();
	add_public(k->public_jwk, o, "kty");
	add_public(k->public_jwk, o, "crv");
	add_public(k->public_jwk, o, "n");
	add_public(k->public_jwk, o, "e");
	add_public(k->public_jwk, o, "x");
	add_public(k->public_jwk, o, "y");
	add_public(k->public_jwk, o, "kid");
	add_public(k->public_jwk, o, "alg");
	return SIG_OK;
fail:
	jwk_free(k);
	return SIG_EINVAL;
}

void
jwk_free(struct jwk *k)
{
	if (k->pub != NULL)
		gnutls_pubkey_deinit(k->pub);
	k->pub = NULL;
	json_object_put(k->public_jwk);
	k->public_jwk = NULL;
}

int
jwk_alg_fits(const struct jwk *k, const char *alg)
{
	const struct curve *cv;

	if (strcmp(k->kty, "RSA") == 0)
		return strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0;
	cv = curve_by_name(k->crv);
	return cv != NULL && strcmp(alg, cv->alg) == 0;
}

const char *
jwk_default_alg(const struct jwk *k)
{
	const struct curve *cv;

	if (k->alg[0] != '\0' && jwk_alg_fits(k, k->alg))
		return k->alg;
	if (strcmp(k->kty, "RSA") == 0)
		return "RS256";
	cv = curve_by_name(k->crv);
	return cv != NULL ? cv->alg : "";
}

/* base64url of d, left-padded with zeros to size bytes (0: as it is). */
static json_object *
b64_datum(const gnutls_datum_t *d, size_t size)
{
	unsigned char	 buf[MAX_RSA_BYTES];
	char		 out[4 * MAX_RSA_BYTES / 3 + 4];
	size_t		 n = d->size;
	const unsigned char *p = d->data;

	/* Drop excess leading zeros, then pad to the exact size. */
	while (n > 1 && p[0] == 0 && (size == 0 || n > size)) {
		p++;
		n--;
	}
	if (size == 0)
		size = n;
	if (n > size || size > sizeof(buf))
		return NULL;
	memset(buf, 0, size - n);
	memcpy(buf + size - n, p, n);
	b64url_encode(buf, size, out);
	return json_object_new_string(out);
}

enum sig_err
jwk_from_pubkey(gnutls_pubkey_t pub, const char *kid, const char *alg,
    json_object **out)
{
	gnutls_datum_t		 x = { NULL, 0 }, y = { NULL, 0 };
	gnutls_ecc_curve_t	 cid;
	const struct curve	*cv;
	json_object		*o;
	int			 pk;

	*out = NULL;
	o = json_object_new_object();
	pk = gnutls_pubkey_get_pk_algorithm(pub, NULL);
	if (pk == GNUTLS_PK_RSA) {
		if (gnutls_pubkey_export_rsa_raw2(pub, &x, &y,
		    GNUTLS_EXPORT_FLAG_NO_LZ) < 0)
			goto fail;
		json_object_object_add(o, "kty", json_object_new_string("RSA"));
		json_object_object_add(o, "n", b64_datum(&x, 0));
		json_object_object_add(o, "e", b64_datum(&y, 0));
	} else if (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519) {
		if (gnutls_pubkey_export_ecc_raw2(pub, &cid, &x,
		    pk == GNUTLS_PK_ECDSA ? &y : NULL,
		    GNUTLS_EXPORT_FLAG_NO_LZ) < 0 ||
		    (cv = curve_by_id(cid)) == NULL)
			goto fail;
		json_object_object_add(o, "kty", json_object_new_string(
		    pk == GNUTLS_PK_ECDSA ? "EC" : "OKP"));
		json_object_object_add(o, "crv", json_object_new_string(cv->crv));
		json_object_object_add(o, "x", b64_datum(&x, cv->size));
		if (pk == GNUTLS_PK_ECDSA)
			json_object_object_add(o, "y", b64_datum(&y, cv->size));
	} else
		goto fail;
	json_object_object_add(o, "kid", json_object_new_string(kid));
	json_object_object_add(o, "alg", json_object_new_string(alg));
	json_object_object_add(o, "use", json_object_new_string("sig"));
	gnutls_free(x.data);
	gnutls_free(y.data);
	*out = o;
	return SIG_OK;
fail:
	gnutls_free(x.data);
	gnutls_free(y.data);
	json_object_put(o);
	return SIG_EINTERNAL;
}
