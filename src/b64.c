/*
 * Base64 on nettle, GnuTLS's own crypto library.  nettle's decoders accept
 * what RFC 4648 would not (stray padding, trailing bits), so the shape of the
 * input is checked here first.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <nettle/base64.h>

#include "signet/b64.h"

size_t
b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t
b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t	 len = BASE64_ENCODE_RAW_LENGTH(n);

	base64_encode_raw(out, n, in);
	out[len] = '\0';
	return len;
}

/*
 * Written out rather than through nettle: nettle pads its output, which
 * would need two bytes more than b64url_encoded_len promises.
 */
size_t
b64url_encode(const unsigned char *in, size_t n, char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t	 i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int
in_alphabet(char c, int url)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return url ? (c == '-' || c == '_') : (c == '+' || c == '/');
}

/* Value of the last character, to check that unused low bits are zero. */
static int
sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return (c == '+' || c == '-') ? 62 : 63;
}

static int
decode(const char *in, size_t len, unsigned char *out, size_t *outlen, int url)
{
	struct base64_decode_ctx ctx;
	size_t	 i, data, n;

	data = len;
	if (!url) {
		if (len % 4 != 0)
			return -1;
		if (data > 0 && in[data - 1] == '=')
			data--;
		if (data > 0 && in[data - 1] == '=')
			data--;
	}
	if (data % 4 == 1)
		return -1;
	for (i = 0; i < data; i++)
		if (!in_alphabet(in[i], url))
			return -1;
	/* Canonical form only: the bits after the last whole byte are zero. */
	if (data % 4 == 2 && (sextet(in[data - 1]) & 0x0f) != 0)
		return -1;
	if (data % 4 == 3 && (sextet(in[data - 1]) & 0x03) != 0)
		return -1;
	if (url)
		base64url_decode_init(&ctx);
	else
		base64_decode_init(&ctx);
	n = BASE64_DECODE_LENGTH(len);
	/*
	 * The padding and the trailing bits were checked above, so nettle sees
	 * only data characters and its final check (which wants whole groups)
	 * is not needed.
	 */
	if (!base64_decode_update(&ctx, &n, out, data, in))
		return -1;
	*outlen = n;
	return 0;
}

int
b64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	return decode(in, len, out, outlen, 0);
}

int
b64url_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	return decode(in, len, out, outlen, 1);
}
