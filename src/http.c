/* URI splitting, percent-decoding, query strings, headers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signet/http.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode n bytes of in into out (room for n + 1).  plus: '+' means
 * a space (query strings).  Returns the length, or -1 on a malformed escape
 * or a decoded NUL.
 */
static long
pct_decode(const char *in, size_t n, char *out, int plus)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (in[i] == '%') {
			if (n - i < 3)
				return -1;
			if ((hi = hexval(in[i + 1])) < 0 ||
			    (lo = hexval(in[i + 2])) < 0)
				return -1;
			if (hi == 0 && lo == 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && in[i] == '+')
			out[o++] = ' ';
		else
			out[o++] = in[i];
	}
	out[o] = '\0';
	return (long)o;
}

enum sig_err
http_split_uri(const char *uri, char **path, char **query)
{
	const char	*q;
	size_t		 plen;
	long		 n;

	*path = NULL;
	*query = NULL;
	if (uri == NULL || uri[0] != '/')
		return SIG_EINVAL;
	q = strchr(uri, '?');
	plen = q != NULL ? (size_t)(q - uri) : strlen(uri);
	/* A fragment never reaches a server, but cut one off all the same. */
	if ((*path = malloc(plen + 1)) == NULL)
		return SIG_EINTERNAL;
	if ((n = pct_decode(uri, plen, *path, 0)) < 0) {
		free(*path);
		*path = NULL;
		return SIG_EINVAL;
	}
	if (n > 1 && (*path)[n - 1] == '/')
		(*path)[n - 1] = '\0';
	if (q != NULL && (*query = strdup(q + 1)) == NULL) {
		free(*path);
		*path = NULL;
		return SIG_EINTERNAL;
	}
	return SIG_OK;
}

int
http_query_get(const char *query, const char *name, char *out, size_t outsz)
{
	const char	*p, *amp, *eq;
	size_t		 nlen = strlen(name), vlen;

	for (p = query; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		eq = strchr(p, '=');
		if (eq == NULL || (amp != NULL && eq > amp))
			eq = amp != NULL ? amp : p + strlen(p);
		if ((size_t)(eq - p) != nlen || strncmp(p, name, nlen) != 0)
			continue;
		if (*eq != '=')
			vlen = 0;
		else
			vlen = (amp != NULL ? (size_t)(amp - eq - 1) :
			    strlen(eq + 1));
		if (vlen >= outsz)
			return -1;
		if (vlen == 0) {
			out[0] = '\0';
			return 1;
		}
		return pct_decode(eq + 1, vlen, out, 1) < 0 ? -1 : 1;
	}
	return 0;
}

int
http_is_json_type(const char *ct)
{
	static const char json[] = "application/json";
	size_t	 n = sizeof(json) - 1;

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, json, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

void
http_add_header(struct http_response *res, const char *name, const char *value)
{
	if (res->nheaders >= HTTP_MAX_HEADERS)
		return;
	res->headers[res->nheaders].name = name;
	snprintf(res->headers[res->nheaders].value,
	    sizeof(res->headers[0].value), "%s", value);
	res->nheaders++;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

int
http_etag_matches(const char *header, const char *etag)
{
	const char	*p = header;
	size_t		 n = strlen(etag);

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' ||
		    p[n] == ' '))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}
