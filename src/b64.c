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

/*
 * The value of each character in the standard (url = 0) or URL-safe
 * alphabet, -1 for any other character.
 */
static const signed char *
table(int url)
{
	static signed char	 tabs[2][256];
	static int		 ready;
	static const char	 std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	int			 i;

	if (!ready) {
		memset(tabs, -1, sizeof(tabs));
		for (i = 0; i < 64; i++) {
			tabs[0][(unsigned char)std[i]] = (signed char)i;
			tabs[1][(unsigned char)(i == 62 ? '-' : i == 63 ? '_' :
			    std[i])] = (signed char)i;
		}
		ready = 1;
	}
	return tabs[url != 0];
}

/*
 * Decoded here rather than by nettle, whose decoder goes a character at a
 * time through a context: secrets are unsealed on every sign request.
 */
static int
decode(const char *in, size_t len, unsigned char *out, size_t *outlen, int url)
{
	const signed char *tab = table(url);
	const unsigned char *p = (const unsigned char *)in;
	size_t	 i, data, o = 0;
	int	 a, b, c, d;

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
	/* Checked whole before anything is written, as nettle's was. */
	for (i = 0; i < data; i++)
		if (tab[p[i]] < 0)
			return -1;
	/* Canonical form only: the bits after the last whole byte are zero. */
	if (data % 4 == 2 && (tab[p[data - 1]] & 0x0f) != 0)
		return -1;
	if (data % 4 == 3 && (tab[p[data - 1]] & 0x03) != 0)
		return -1;
	for (i = 0; i + 4 <= data; i += 4) {
		a = tab[p[i]];
		b = tab[p[i + 1]];
		c = tab[p[i + 2]];
		d = tab[p[i + 3]];
		out[o++] = (unsigned char)(a << 2 | b >> 4);
		out[o++] = (unsigned char)((b & 0x0f) << 4 | c >> 2);
		out[o++] = (unsigned char)((c & 0x03) << 6 | d);
	}
	if (data - i >= 2) {
		a = tab[p[i]];
		b = tab[p[i + 1]];
		out[o++] = (unsigned char)(a << 2 | b >> 4);
		if (data - i == 3) {
			c = tab[p[i + 2]];
			out[o++] = (unsigned char)((b & 0x0f) << 4 | c >> 2);
		}
	}
	*outlen = o;
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
