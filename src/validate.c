/* Field validators (STYLE.md habit 6): one named function per field kind. */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <uuid/uuid.h>

#include "signet/jwk.h"
#include "signet/validate.h"

#define URL_MAX		2048
#define MSG_ID_MAX	255

static int
is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '%' || c == '~' || c == '!' || c == '$' || c == '&' ||
	    c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' ||
	    c == ',' || c == ';' || c == '=';
}

int
parse_decimal(const char *s, size_t len, int64_t min, int64_t max,
    int64_t *out)
{
	int64_t	 v = 0, d;
	size_t	 i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
is_scheme_char(unsigned char c)
{
	return isalnum(c) || c == '+' || c == '-' || c == '.';
}

enum url_err
url_parse(const char *s, size_t n, struct url *u)
{
	const char	*end = s + n, *a, *ae, *p, *close;
	int64_t		 port;
	size_t		 i;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < n && is_scheme_char((unsigned char)s[i]); i++)
		;
	if (i == 0 || !isalpha((unsigned char)s[0]) || n - i < 3 ||
	    memcmp(s + i, "://", 3) != 0)
		return URL_ESCHEME;
	u->scheme = s;
	u->scheme_len = i;
	a = s + i + 3;
	for (ae = a; ae < end && *ae != '/' && *ae != '?' && *ae != '#'; ae++)
		;
	for (p = ae; p < end && *p != '#'; p++)
		;
	u->target = ae;
	u->target_len = (size_t)(p - ae);
	/* Userinfo is refused outright, so no '@' may hide in a host. */
	if (memchr(a, '@', (size_t)(ae - a)) != NULL)
		return URL_EUSERINFO;
	if (a < ae && *a == '[') {
		if ((close = memchr(a, ']', (size_t)(ae - a))) == NULL)
			return URL_EBRACKET;
		u->host = a + 1;
		u->host_len = (size_t)(close - a - 1);
		u->host_bracketed = 1;
		p = close + 1;
		if (p < ae && *p != ':')
			return URL_EAFTERV6;
	} else {
		for (p = a; p < ae && *p != ':'; p++)
			;
		u->host = a;
		u->host_len = (size_t)(p - a);
	}
	if (p < ae) {
		/* *p == ':' */
		p++;
		if (ae - p > 5 || parse_decimal(p, (size_t)(ae - p), 1, 65535,
		    &port) == -1)
			return URL_EPORT;
		u->port = (unsigned)port;
	}
	return URL_OK;
}

int
url_origin_host(const char *origin, char *host, size_t hostsz)
{
	const char	*p = strstr(origin, "://"), *end;
	size_t		 n, i;

	if (p == NULL || p == origin)
		return -1;
	p += 3;
	if (*p == '[') {
		/* Not bounded by the authority: as the token check has it. */
		if ((end = strchr(p, ']')) == NULL)
			return -1;
		p++;
	} else
		end = p + strcspn(p, ":/?#");
	n = (size_t)(end - p);
	if (n == 0 || n >= hostsz || memchr(p, '@', n) != NULL)
		return -1;
	for (i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)p[i]);
	host[n] = '\0';
	return 0;
}

int
valid_https_url(const char *s, size_t len)
{
	struct url	 u;
	size_t		 i;

	if (len > URL_MAX || len < 9)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || c == '\\')
			return 0;
	}
	if (url_parse(s, len, &u) != URL_OK || u.scheme_len != 5 ||
	    memcmp(u.scheme, "https", 5) != 0 || u.host_len == 0)
		return 0;
	for (i = 0; i < u.host_len; i++) {
		unsigned char c = (unsigned char)u.host[i];
		if (u.host_bracketed ? !(isxdigit(c) || c == ':' || c == '.') :
		    !is_host_char(c))
			return 0;
	}
	return 1;
}

int
valid_prefixed_hex(const char *s, const char *prefix, size_t nhex)
{
	size_t	 plen = strlen(prefix), i;

	if (strncmp(s, prefix, plen) != 0 || strlen(s + plen) != nhex)
		return 0;
	for (i = plen; i < plen + nhex; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
valid_msg_id(const char *s, size_t len)
{
	size_t	 i;

	if (len < 1 || len > MSG_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
valid_apikey_id(const char *s)
{
	return valid_prefixed_hex(s, "ak_", 24);
}

int
valid_uuid_v7(const char *s)
{
	uuid_t	 u;
	size_t	 i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	if (uuid_parse(s, u) != 0)
		return 0;
	return (u[6] >> 4) == 7 && (u[8] & 0xc0) == 0x80;
}

int
valid_slug(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 1 || n > 63 || !(islower((unsigned char)s[0]) ||
	    isdigit((unsigned char)s[0])))
		return 0;
	for (i = 1; i < n; i++)
		if (!(islower((unsigned char)s[i]) ||
		    isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

int
valid_domain(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > VALID_DOMAIN_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' ||
		    s[i] == '.'))
			return 0;
	return 1;
}

int
valid_enterprise_id(const char *s)
{
	return valid_prefixed_hex(s, "ent_", 32);
}

int
valid_endpoint_id(const char *s)
{
	return valid_prefixed_hex(s, "ep_", 32);
}

int
valid_sk_id(const char *s)
{
	return valid_prefixed_hex(s, "sk_", 32);
}

int
valid_wskey_uid(const char *s)
{
	return valid_prefixed_hex(s, "signing_key_", 24);
}

int
valid_kid(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 1 || n > JWK_KID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/')
			return 0;
	return 1;
}
