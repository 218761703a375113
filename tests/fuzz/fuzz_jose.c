/*
 * libFuzzer: JWK documents and compact JWS strings.  The first byte picks
 * the parser; JWSs are checked against a fixed Ed25519 key (RFC 8037).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signet/crypto.h"
#include "signet/json.h"
#include "signet/jwk.h"
#include "signet/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jwk key;
static int ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwk	 k;
	struct jws	 j;
	json_object	*o;
	char		 msg[SIG_MSG_MAX], reason[JWS_REASON_MAX], *s;

	if (!ready) {
		o = json_tokener_parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
		crypto_init();
		if (jwk_parse(o, &key, msg) != SIG_OK)
			abort();
		json_object_put(o);
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (json_parse_body((const char *)data + 1, size - 1, &o, msg) ==
		    SIG_OK) {
			if (jwk_parse(o, &k, msg) == SIG_OK) {
				(void)jwk_default_alg(&k);
				jwk_free(&k);
			}
			json_object_put(o);
		}
		return 0;
	}
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (jws_parse(s, (data[0] & 2) ? "detached" : NULL, 8, &j, reason) == 0) {
		(void)jws_verify(&j, &key, reason);
		jws_free(&j);
	}
	free(s);
	return 0;
}
