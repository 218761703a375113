/* Field validators (STYLE.md habit 6): one named function per field kind. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include <uuid/uuid.h>

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
valid_https_url(const char *s, size_t len)
{
	const char	*p, *end, *host, *hostend;
	size_t		 i;

	if (len > URL_MAX || len < 9 || strncmp(s, "https://", 8) != 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || c == '\\')
			return 0;
	}
	end = s + len;
	host = s + 8;
	/* The authority ends at the first '/', '?' or '#'. */
	for (p = host; p < end && *p != '/' && *p != '?' && *p != '#'; p++)
		;
	hostend = p;
	/* Userinfo in a webhook URL is a credential leak waiting to happen. */
	if (memchr(host, '@', hostend - host) != NULL)
		return 0;
	if (host < hostend && *host == '[') {
		const char *close = memchr(host, ']', hostend - host);
		if (close == NULL || close == host + 1)
			return 0;
		for (p = host + 1; p < close; p++)
			if (!((*p >= '0' && *p <= '9') ||
			    (*p >= 'a' && *p <= 'f') ||
			    (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
				return 0;
		p = close + 1;
	} else {
		for (p = host; p < hostend && *p != ':'; p++)
			if (!is_host_char((unsigned char)*p))
				return 0;
		if (p == host)
			return 0;
	}
	if (p < hostend) {
		unsigned long	 port = 0;
		const char	*digits;

		if (*p != ':')
			return 0;
		digits = ++p;
		for (; p < hostend; p++) {
			if (*p < '0' || *p > '9' || p - digits >= 5)
				return 0;
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (p == digits || port == 0 || port > 65535)
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
