/*
 * The HTTP view of one request and its response, independent of FastCGI so
 * that the application can be driven from unit tests.  main.c fills a
 * request from the CGI variables and writes the response back.
 */
#ifndef SIGNET_HTTP_H
#define SIGNET_HTTP_H

#include <stddef.h>

#include "signet/err.h"

#define HTTP_MAX_HEADERS	6
#define HTTP_RID_LEN		28	/* "req_" + 24 hex */

struct http_request {
	const char	*method;	/* REQUEST_METHOD */
	const char	*uri;		/* REQUEST_URI, with its query string */
	const char	*content_type;	/* CONTENT_TYPE or NULL */
	const char	*authorization;	/* HTTP_AUTHORIZATION or NULL */
	const char	*otp;		/* HTTP_X_OTP or NULL */
	const char	*if_none_match;	/* HTTP_IF_NONE_MATCH or NULL */
	const char	*body;		/* the body bytes (not NUL-terminated) */
	size_t		 body_len;
	/*
	 * What the transport found wrong with the body before the app saw it:
	 * SIG_ETOOLARGE over the cap, SIG_EINVAL shorter than CONTENT_LENGTH.
	 */
	enum sig_err	 body_err;
};

struct http_header {
	const char	*name;		/* static string */
	char		 value[160];
};

struct http_response {
	int		 status;
	char		*body;		/* malloc'd, owned; NULL for none */
	size_t		 body_len;
	const char	*content_type;	/* static string, or NULL with no body */
	char		 request_id[HTTP_RID_LEN + 1];
	const char	*route;		/* route template, for logs and metrics */
	int		 route_index;	/* slot in the route table, for metrics */
	int		 sensitive;	/* body holds key material: wipe it */
	struct http_header headers[HTTP_MAX_HEADERS];
	int		 nheaders;
};

/*
 * Split uri at '?' and percent-decode the path once.  A trailing '/' (not the
 * root) is dropped.  *path and *query (NULL without a '?') are malloc'd and
 * owned by the caller.  SIG_EINVAL for a path that is empty, does not start
 * with '/', or decodes to a NUL or a malformed escape.
 */
enum sig_err	http_split_uri(const char *uri, char **path, char **query);

/*
 * Look up name in a query string; its value is percent-decoded (and '+'
 * becomes a space) into out, size outsz.  Returns 1 when found, 0 when absent,
 * -1 when the value is malformed or too long.
 */
int	http_query_get(const char *query, const char *name, char *out,
	    size_t outsz);

/* Whether a Content-Type is application/json (any parameters, any case). */
int	http_is_json_type(const char *ct);

/* Add a header to res; silently dropped past HTTP_MAX_HEADERS. */
void	http_add_header(struct http_response *res, const char *name,
	    const char *value);

/*
 * Whether an If-None-Match value (RFC 9110 section 13.1.2) lists etag, a
 * quoted entity tag such as "\"abc\"", with or without W/, or is "*".
 * Entries are separated by commas and spaces.  Both NUL-terminated, not
 * NULL.  Returns 1 or 0.
 */
int	http_etag_matches(const char *header, const char *etag);

/* The standard reason phrase of a status ("Not Found"). */
const char	*http_reason(int status);

#endif
