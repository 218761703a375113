/*
 * Fetching a JWKS document from an https:// URI on GnuTLS (docs/api.md,
 * Enterprise webhook signing keys): a user-supplied URL, so the host is
 * resolved once, every address is classified, and the connection goes to
 * the address that was checked, with the host name kept for SNI and the
 * certificate check.  One deadline covers the whole fetch; the body is
 * capped; redirects are refused; only a 200 with a body is a success.
 */
#ifndef SIGNET_FETCH_H
#define SIGNET_FETCH_H

#include <stddef.h>
#include <sys/socket.h>

#include "signet/err.h"

struct fetch_opts {
	const char	*ca_file;	/* PEM bundle; NULL or "": system trust */
	int		 allow_private;	/* permit loopback/private addresses */
	long		 timeout_ms;	/* whole-fetch deadline */
	long		 max_bytes;	/* body cap */
};

struct fetch_result {
	char		*body;		/* malloc'd, NUL-terminated; caller frees */
	size_t		 len;
	long		 max_age;	/* Cache-Control max-age seconds, -1 if none */
	char		 reason[SIG_MSG_MAX];	/* why it failed, for the user */
};

/*
 * GET url.  Returns SIG_OK with res->body, or SIG_EFETCH with res->reason
 * saying what a user can act on ("certificate not trusted", "redirects are
 * not followed", "address 10.0.0.5 is private", "response is larger than
 * 262144 bytes", "timed out after 5000 ms", "HTTP status 404", ...).
 * SIG_EINTERNAL only for allocation or library failures.
 */
enum sig_err	fetch_https(const char *url, const struct fetch_opts *opts,
		    struct fetch_result *res);

/*
 * Why an address may not be fetched from: NULL when it is public, else a
 * word for the message ("loopback", "private", "link-local",
 * "unspecified", "multicast", "reserved", "documentation", ...).
 * IPv4-mapped and NAT64 (64:ff9b::/96) IPv6 addresses are judged by the IPv4
 * address inside.
 */
const char	*fetch_address_class(const struct sockaddr *sa);

/*
 * Split an https:// URL into host (without brackets for IPv6 literals), port
 * (default "443") and path-with-query (default "/"), each NUL-terminated in
 * the caller's buffers (host 256, port 6, path 2049).  Returns 0, or -1 with
 * reason when the URL is not https or malformed.
 */
int	fetch_parse_url(const char *url, char *host, char *port, char *path,
	    char *reason);

/*
 * Parse an HTTP/1.x response head (status line and headers, up to the blank
 * line) in buf[0..len).  Sets *status, *content_length (-1 when absent),
 * *chunked, *max_age (-1 when no Cache-Control max-age), and *location_seen.
 * Returns the length of the head including the blank line, 0 when more
 * bytes are needed, or -1 when malformed.
 */
long	fetch_parse_head(const char *buf, size_t len, int *status,
	    long *content_length, int *chunked, long *max_age,
	    int *location_seen);

#endif
