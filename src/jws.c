/*
 * Compact JWS parsing, verification and signing on GnuTLS (crypto layer).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "signet/b64.h"
#include "signet/json.h"
#include "signet/jws.h"

struct alg {
	const char		*name;
	gnutls_sign_algorithm_t	 sign;
	size_t			 coord;	/* ECDSA coordinate size, 0 otherwise */
};

static const struct alg algs[] = {
	{ "RS256", GNUTLS_SIGN_RSA_SHA256, 0 },
	{ "PS256", GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 0 },
	{ "ES256", GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 32 },
	{ "ES384", GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, 48 },
	{ "ES512", GNUTLS_SIGN_ECDSA_SECP521R1_SHA512, 66 },
	{ "EdDSA", GNUTLS_SIGN_EDDSA_ED25519, 0 },
};

static const struct alg *
alg_by_name(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

static void *
b64url_alloc(const char *s, size_t len, size_t *n)
{
	unsigned char	*buf;

	if ((buf = malloc(len / 4 * 3 + 4)) == NULL)
		return NULL;
	if (b64url_decode(s, len, buf, n) != 0) {
		free(buf);
		return NULL;
	}
	buf[*n] = '\0';
	return buf;
}

void
jws_free(struct jws *j)
{
	json_object_put(j->header);
	free(j->input);
	free(j->sig);
	free(j->payload);
	memset(j, 0, sizeof(*j));
}

static int
refuse(struct jws *j, char *reason, const char *why)
{
	snprintf(reason, JWS_REASON_MAX, "%s", why);
	jws_free(j);
	return -1;
}

int
jws_parse(const char *compact, const char *detached, size_t dlen,
    struct jws *j, char *reason)
{
	const char	*d1, *d2, *s;
	json_object	*v;
	char		 msg[SIG_MSG_MAX];
	unsigned char	*hdr;
	size_t		 len, hlen, plen, n;

	memset(j, 0, sizeof(*j));
	len = strlen(compact);
	if (len > JWS_MAX_LEN)
		return refuse(j, reason, "JWS is too large");
	if ((d1 = strchr(compact, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		return refuse(j, reason, "JWS must have three parts separated "
		    "by dots");
	hlen = (size_t)(d1 - compact);
	plen = (size_t)(d2 - d1 - 1);
	if ((hdr = b64url_alloc(compact, hlen, &n)) == NULL)
		return refuse(j, reason, "JWS header is not base64url");
	if (json_parse_body((char *)hdr, n, &j->header, msg) != SIG_OK ||
	    n == 0 || !json_object_is_type(j->header, json_type_object)) {
		free(hdr);
		return refuse(j, reason, "JWS header is not a JSON object");
	}
	free(hdr);
	if (!json_object_object_get_ex(j->header, "alg", &v) ||
	    !json_object_is_type(v, json_type_string))
		return refuse(j, reason, "JWS header has no alg");
	s = json_object_get_string(v);
	if (strcmp(s, "none") == 0)
		return refuse(j, reason, "alg none is not accepted");
	if (strncmp(s, "HS", 2) == 0)
		return refuse(j, reason, "HMAC algorithms are not accepted");
	if (alg_by_name(s) == NULL)
		return refuse(j, reason, "alg is not one of RS256, PS256, "
		    "ES256, ES384, ES512, EdDSA");
	snprintf(j->alg, sizeof(j->alg), "%s", s);
	if (json_object_object_get_ex(j->header, "crit", NULL))
		return refuse(j, reason, "crit header parameters are not "
		    "supported");
	if (json_object_object_get_ex(j->header, "b64", &v) &&
	    !(json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v)))
		return refuse(j, reason, "unencoded payloads (b64) are not "
		    "supported");
	if (json_object_object_get_ex(j->header, "kid", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > JWK_KID_MAX)
			return refuse(j, reason, "JWS kid must be a string");
		snprintf(j->kid, sizeof(j->kid), "%s", json_object_get_string(v));
	}
	if ((j->sig = b64url_alloc(d2 + 1, strlen(d2 + 1), &j->sig_len)) ==
	    NULL || j->sig_len == 0)
		return refuse(j, reason, "JWS signature is not base64url");
	if (plen == 0 && detached != NULL) {
		/* RFC 7515 appendix F: sign over the detached payload. */
		char	*enc;

		if (dlen > JWS_MAX_LEN)
			return refuse(j, reason, "payload is too large");
		if ((enc = malloc(b64url_encoded_len(dlen) + 1)) == NULL ||
		    (j->payload = malloc(dlen + 1)) == NULL) {
			free(enc);
			return refuse(j, reason, "out of memory");
		}
		b64url_encode((const unsigned char *)detached, dlen, enc);
		memcpy(j->payload, detached, dlen);
		j->payload[dlen] = '\0';
		j->payload_len = dlen;
		j->input_len = hlen + 1 + strlen(enc);
		if ((j->input = malloc(j->input_len + 1)) == NULL) {
			free(enc);
			return refuse(j, reason, "out of memory");
		}
		memcpy(j->input, compact, hlen + 1);
		memcpy(j->input + hlen + 1, enc, strlen(enc) + 1);
		free(enc);
		return 0;
	}
	if ((j->payload = b64url_alloc(d1 + 1, plen, &j->payload_len)) == NULL)
		return refuse(j, reason, "JWS payload is not base64url");
	j->input_len = (size_t)(d2 - compact);
	if ((j->input = strndup(compact, j->input_len)) == NULL)
		return refuse(j, reason, "out of memory");
	return 0;
}

int
jws_verify(const struct jws *j, const struct jwk *k, char *reason)
{
	const struct alg *a = alg_by_name(j->alg);
	gnutls_datum_t	 data, sig, der = { NULL, 0 }, r, s;
	int		 rc;

	if (a == NULL || !jwk_alg_fits(k, j->alg)) {
		snprintf(reason, JWS_REASON_MAX, "alg %s does not fit the key",
		    j->alg);
		return 0;
	}
	data.data = (unsigned char *)j->input;
	data.size = (unsigned)j->input_len;
	sig.data = j->sig;
	sig.size = (unsigned)j->sig_len;
	if (a->coord != 0) {
		/* JOSE carries r||s; GnuTLS verifies DER. */
		if (j->sig_len != 2 * a->coord) {
			snprintf(reason, JWS_REASON_MAX, "%s signature must be "
			    "%zu bytes", a->name, 2 * a->coord);
			return 0;
		}
		r.data = j->sig;
		r.size = (unsigned)a->coord;
		s.data = j->sig + a->coord;
		s.size = (unsigned)a->coord;
		if (gnutls_encode_rs_value(&der, &r, &s) < 0) {
			snprintf(reason, JWS_REASON_MAX, "signature is malformed");
			return 0;
		}
		sig = der;
	}
	rc = gnutls_pubkey_verify_data2(k->pub, a->sign, 0, &data, &sig);
	gnutls_free(der.data);
	if (rc < 0) {
		snprintf(reason, JWS_REASON_MAX, "signature does not verify");
		return 0;
	}
	return 1;
}

/* Append the integer d to out as exactly size big-endian bytes. */
static int
fixed(const gnutls_datum_t *d, size_t size, unsigned char *out)
{
	const unsigned char *p = d->data;
	size_t		 n = d->size;

	while (n > size && *p == 0) {
		p++;
		n--;
	}
	if (n > size)
		return -1;
	memset(out, 0, size - n);
	memcpy(out + size - n, p, n);
	return 0;
}

enum sig_err
jws_sign(gnutls_privkey_t key, const char *alg, const char *kid,
    const char *typ, const char *payload, size_t plen, char **out)
{
	const struct alg *a = alg_by_name(alg);
	json_object	*h;
	gnutls_datum_t	 data, sig = { NULL, 0 }, r = { NULL, 0 },
			 s = { NULL, 0 };
	unsigned char	 raw[2 * 66];
	const unsigned char *sigbytes;
	const char	*hs;
	char		*buf = NULL, *grown;
	size_t		 hl, pl, n;
	enum sig_err	 rc = SIG_EINTERNAL;

	*out = NULL;
	if (a == NULL)
		return SIG_EINVAL;
	h = json_object_new_object();
	json_object_object_add(h, "alg", json_object_new_string(alg));
	if (kid != NULL)
		json_object_object_add(h, "kid", json_object_new_string(kid));
	if (typ != NULL)
		json_object_object_add(h, "typ", json_object_new_string(typ));
	hs = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN);
	hl = b64url_encoded_len(strlen(hs));
	pl = b64url_encoded_len(plen);
	if ((buf = malloc(hl + 1 + pl + 1)) == NULL)
		goto fail;
	b64url_encode((const unsigned char *)hs, strlen(hs), buf);
	buf[hl] = '.';
	b64url_encode((const unsigned char *)payload, plen, buf + hl + 1);
	data.data = (unsigned char *)buf;
	data.size = (unsigned)(hl + 1 + pl);
	if (gnutls_privkey_sign_data2(key, a->sign, 0, &data, &sig) < 0)
		goto fail;
	sigbytes = sig.data;
	n = sig.size;
	if (a->coord != 0) {
		/* GnuTLS signs DER; JOSE wants r||s of the curve size. */
		if (gnutls_decode_rs_value(&sig, &r, &s) < 0 ||
		    fixed(&r, a->coord, raw) != 0 ||
		    fixed(&s, a->coord, raw + a->coord) != 0)
			goto fail;
		sigbytes = raw;
		n = 2 * a->coord;
	}
	if ((grown = realloc(buf, hl + 1 + pl + 1 + b64url_encoded_len(n) +
	    1)) == NULL)
		goto fail;
	buf = grown;
	buf[hl + 1 + pl] = '.';
	b64url_encode(sigbytes, n, buf + hl + 1 + pl + 1);
	*out = buf;
	buf = NULL;
	rc = SIG_OK;
fail:
	free(buf);
	gnutls_free(sig.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
	json_object_put(h);
	return rc;
}
