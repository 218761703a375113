/*
 * Small named validators for every kind of field that comes from outside.
 * Each takes the value and its length (values may come from JSON strings,
 * which the JSON layer has already checked for embedded NULs).
 */
#ifndef SIGNET_VALIDATE_H
#define SIGNET_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

/* Longest host name valid_domain takes (RFC 1035 section 2.3.4). */
#define VALID_DOMAIN_MAX	253

/*
 * Bounded decimal parsing, like OpenBSD's strtonum(3) but for a counted
 * field: s[0..len) must be 1 or more ASCII digits and nothing else (no sign,
 * no blank, no '+', no NUL) whose value fits int64_t and lies in
 * [min, max].  Leading zeros are accepted and do not count against any bound
 * (a caller that limits the number of digits checks len itself).  For a
 * NUL-terminated string pass strlen(s).  Returns 0 with the value in *out,
 * or -1 leaving *out alone.  s may be NULL only when len is 0.
 */
int	parse_decimal(const char *s, size_t len, int64_t min, int64_t max,
	    int64_t *out);

/* What url_parse found wrong, in the order it looks. */
enum url_err {
	URL_OK = 0,
	URL_ESCHEME,	/* no "scheme://" at the start */
	URL_EUSERINFO,	/* an '@' in the authority */
	URL_EBRACKET,	/* a '[' host without its ']' in the authority */
	URL_EAFTERV6,	/* after the ']': neither the end nor ":port" */
	URL_EPORT	/* a port not of 1..5 digits in 1..65535 */
};

/*
 * The parts of a URL, pointing into the string url_parse was given (nothing
 * is copied or NUL-terminated).
 */
struct url {
	const char	*scheme;	/* before "://", as written */
	size_t		 scheme_len;
	const char	*host;		/* without the [ ] of an IP literal */
	size_t		 host_len;	/* may be 0: the caller decides */
	int		 host_bracketed; /* the host was in [ ] */
	unsigned	 port;		/* 1..65535, 0 when none is given */
	const char	*target;	/* path and query, up to any '#' */
	size_t		 target_len;	/* 0 when the URL ends at the host */
};

/*
 * Split s[0..n) (RFC 3986 section 3) as "scheme://authority[target]": the
 * authority ends at the first '/', '?' or '#'; a host in [ ] ends at the
 * first ']' in it, any other at the first ':'.  Structure only: the
 * characters of the scheme and host are the caller's to judge, and so are
 * spaces and control characters.  Returns URL_OK or the first problem;
 * after an error the fields before it are set (scheme from URL_EUSERINFO
 * on, host and host_bracketed for URL_EAFTERV6 and URL_EPORT) so that a
 * caller can report problems in its own order.  u must not be NULL.
 */
enum url_err	url_parse(const char *s, size_t n, struct url *u);

/*
 * The lower-cased host of a browser Origin such as
 * "https://app.example.com:8443" (RFC 6454): the text after the first "://"
 * (which must not start the string) up to ':', '/', '?' or '#', or inside
 * [ ] for an IP literal; it must be non-empty, shorter than hostsz and
 * without '@'.  Writes it NUL-terminated into host and returns 0, or returns
 * -1 (host then unspecified).  origin must be NUL-terminated.
 */
int	url_origin_host(const char *origin, char *host, size_t hostsz);

/*
 * An absolute https:// URL with a non-empty host, at most 2048 bytes, with
 * no whitespace or control characters and a valid port if one is given.
 * Returns 1 when valid.
 */
int	valid_https_url(const char *s, size_t len);

/*
 * prefix followed by exactly nhex lowercase hex digits, e.g.
 * valid_prefixed_hex("ep_...", "ep_", 32).  Returns 1 when valid.
 */
int	valid_prefixed_hex(const char *s, const char *prefix, size_t nhex);

/* "ak_" + 24 lowercase hex: an API key id. */
int	valid_apikey_id(const char *s);

/*
 * A UUIDv7 in canonical form: 36 characters, lowercase hex, dashes at
 * 8-13-18-23, version nibble 7, variant bits 10 (RFC 9562).  Returns 1 when
 * valid.
 */
int	valid_uuid_v7(const char *s);

/* A workspace slug: [a-z0-9][a-z0-9-]{0,62}.  Returns 1 when valid. */
int	valid_slug(const char *s);

/* A string of 1..max bytes, valid as an identifier for signing (msg_id). */
int	valid_msg_id(const char *s, size_t len);

/*
 * A host name for a workspace key's allowed_domains: 1..VALID_DOMAIN_MAX
 * bytes of ASCII letters, digits, '-' and '.', not starting with '.' or
 * '-'.  Returns 1 when valid.
 */
int	valid_domain(const char *s, size_t n);

/* "ent_" + 32 lowercase hex: an enterprise id.  Returns 1 when valid. */
int	valid_enterprise_id(const char *s);

/* "ep_" + 32 lowercase hex: an endpoint id.  Returns 1 when valid. */
int	valid_endpoint_id(const char *s);

/* "sk_" + 32 lowercase hex: an endpoint signing key id.  1 when valid. */
int	valid_sk_id(const char *s);

/*
 * "signing_key_" + 24 lowercase hex: the uid of a workspace key.  Returns 1
 * when valid.
 */
int	valid_wskey_uid(const char *s);

/*
 * An enterprise keyId (the JWK "kid" of RFC 7517 section 4.5, and a part of
 * a request path): 1..JWK_KID_MAX (255) bytes, no control character, no
 * 0x7f, no '/'.  s is NUL-terminated.  Returns 1 when valid.
 */
int	valid_kid(const char *s);

#endif
