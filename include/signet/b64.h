/*
 * Base64 (RFC 4648 section 4) and base64url without padding (section 5, as
 * JOSE uses it).  Decoders are strict: a character outside the alphabet,
 * padding where none belongs, or non-zero trailing bits is an error.
 */
#ifndef SIGNET_B64_H
#define SIGNET_B64_H

#include <stddef.h>

/* Encoded length of n bytes, without the NUL. */
size_t	b64_encoded_len(size_t n);
size_t	b64url_encoded_len(size_t n);

/*
 * Encode n bytes of in into out, which has room for the encoded length plus
 * a NUL (see above).  Returns the encoded length.
 */
size_t	b64_encode(const unsigned char *in, size_t n, char *out);
size_t	b64url_encode(const unsigned char *in, size_t n, char *out);

/*
 * Decode len characters of in into out (room for len * 3 / 4 + 3 bytes).
 * Standard base64 requires padding to a multiple of 4; base64url refuses
 * padding.  Returns 0 and sets *outlen, or -1 on malformed input.
 */
int	b64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen);
int	b64url_decode(const char *in, size_t len, unsigned char *out,
	    size_t *outlen);

#endif
