/* libFuzzer: base64 and base64url decoding, and their round trips. */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signet/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char	*out, *back;
	char		*enc;
	size_t		 n, m;

	if ((out = malloc(size / 4 * 3 + 3)) == NULL)
		return 0;
	if (b64_decode((const char *)data, size, out, &n) == 0) {
		/* Canonical input only: re-encoding gives the same text. */
		enc = malloc(b64_encoded_len(n) + 1);
		assert(enc != NULL);
		assert(b64_encode(out, n, enc) == size);
		assert(memcmp(enc, data, size) == 0);
		free(enc);
	}
	if (b64url_decode((const char *)data, size, out, &n) == 0) {
		enc = malloc(b64url_encoded_len(n) + 1);
		assert(enc != NULL);
		assert(b64url_encode(out, n, enc) == size);
		assert(memcmp(enc, data, size) == 0);
		free(enc);
	}
	/* Any bytes encode and decode back. */
	enc = malloc(b64url_encoded_len(size) + 1);
	back = malloc(size + 3);
	assert(enc != NULL && back != NULL);
	m = b64url_encode(data, size, enc);
	assert(b64url_decode(enc, m, back, &n) == 0 && n == size);
	assert(memcmp(back, data, size) == 0);
	free(enc);
	free(back);
	free(out);
	return 0;
}
