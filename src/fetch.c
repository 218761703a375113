/*
 * The JWKS URI fetcher (docs/api.md, Enterprise webhook signing keys; the
 * URL is user-supplied): one HTTPS GET on GnuTLS.  The host is resolved once,
 * every address is classified before any connection, the connection goes to
 * an address that was checked, and the host name is kept for SNI and the
 * certificate check.  One monotonic deadline covers resolution, connect,
 * handshake, request, head and body.  HTTP/1.1 framing follows RFC 9112:
 * Content-Length, chunked, or read until close.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "signet/fetch.h"
#include "signet/log.h"
#include "signet/validate.h"

/* Buffer sizes promised by fetch_parse_url's contract. */
#define URL_HOST_MAX	256
#define URL_PORT_MAX	6
#define URL_PATH_MAX	2049
#define URL_MAX		4096		/* longest URL looked at */

#define HEAD_MAX	(16 * 1024)	/* response head cap, also the read buffer */
#define LINE_MAX_LEN	1024		/* chunk-size and trailer lines */
#define TRAILERS_MAX	64		/* trailer lines after the last chunk */
#define INTERIM_MAX	8		/* 1xx heads before the real one */
#define ADDRS_MAX	16		/* resolved addresses looked at */
#define READ_STEP	(16 * 1024)	/* body growth while reading until close */
#define REQ_MAX		(URL_PATH_MAX + URL_HOST_MAX + 256)

/*
 * Used when opts is NULL or holds a non-positive value (docs/operations.md,
 * Configuration).
 */
#define DEFAULT_TIMEOUT_MS	5000
#define DEFAULT_MAX_BYTES	262144

/* RFC 9111 section 1.2.2: larger delta-seconds saturate. */
#define MAX_AGE_CAP	2147483647L

struct conn {
	int				 fd;
	gnutls_session_t		 s;
	gnutls_certificate_credentials_t cred;
	long long			 deadline;	/* monotonic ms */
	long				 timeout_ms;	/* for the message */
	int				 eof;
	size_t				 off, len;	/* unread: buf[off..len) */
	char				 buf[HEAD_MAX];
	struct fetch_result		*res;
};

struct body {
	char	*p;
	size_t	 len, cap;
	size_t	 max;
};

struct net_rule {
	int		 bits;
	unsigned char	 net[16];
	const char	*word;		/* NULL: judge the IPv4 address inside */
	int		 v4at;		/* offset of that IPv4 address */
};

static enum sig_err	 set_reason(struct fetch_result *, enum sig_err,
			    const char *, ...)
			    __attribute__((format(printf, 3, 4)));
static long long	 now_ms(void);
static long		 conn_left(const struct conn *);
static enum sig_err	 timed_out(struct conn *);
static int		 prefix_match(const unsigned char *,
			    const unsigned char *, int);
static const char	*class_v4(const unsigned char *);
static const char	*class_v6(const unsigned char *);
static int		 is_token_char(int);
static int		 is_host_char(int);
static const char	*find_line_end(const char *, size_t, size_t);
static int		 status_line(const char *, size_t, int *);
static int		 parse_te(const char *, size_t, int *);
static void		 parse_cache_control(const char *, size_t, long *);
static void		 addr_str(const struct sockaddr *, socklen_t, char *,
			    size_t);
static enum sig_err	 resolve(struct conn *, const char *, const char *,
			    struct addrinfo **, int *);
static int		 conn_connect(struct conn *, const struct addrinfo *,
			    int *);
static enum sig_err	 conn_tls(struct conn *, const char *, int);
static enum sig_err	 cert_reason(struct conn *, const char *);
static enum sig_err	 conn_send(struct conn *, const char *, size_t);
static enum sig_err	 conn_recv(struct conn *, char *, size_t, size_t *);
static enum sig_err	 conn_fill(struct conn *);
static enum sig_err	 conn_getline(struct conn *, char *, size_t);
static enum sig_err	 conn_read(struct conn *, char *, size_t, size_t *);
static enum sig_err	 body_grow(struct conn *, struct body *, size_t);
static enum sig_err	 too_large(struct conn *, const struct body *);
static enum sig_err	 read_exact(struct conn *, struct body *, size_t);
static enum sig_err	 read_length(struct conn *, struct body *, long);
static enum sig_err	 read_chunked(struct conn *, struct body *);
static enum sig_err	 read_close(struct conn *, struct body *);

/*
 * Addresses a fetch may not go to (PITFALLS.md, plus the IPv4-compatible
 * ::/96, the RFC 8215 local NAT64 prefix, the discard prefix, site-local and
 * 6to4 wrapping a forbidden IPv4 address).  IPv4 rules are written as
 * IPv4-mapped IPv6 so one matcher serves both.
 */
#define V4(a, b, c, d)	{ 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff, a,b,c,d }
static const struct net_rule v4_rules[] = {
	{ 96 + 32, V4(255, 255, 255, 255), "broadcast", 0 },
	{ 96 + 8,  V4(0, 0, 0, 0),	"unspecified", 0 },
	{ 96 + 8,  V4(10, 0, 0, 0),	"private", 0 },
	{ 96 + 10, V4(100, 64, 0, 0),	"private", 0 },	/* shared, RFC 6598 */
	{ 96 + 8,  V4(127, 0, 0, 0),	"loopback", 0 },
	{ 96 + 16, V4(169, 254, 0, 0),	"link-local", 0 },
	{ 96 + 12, V4(172, 16, 0, 0),	"private", 0 },
	{ 96 + 24, V4(192, 0, 0, 0),	"reserved", 0 },
	{ 96 + 24, V4(192, 0, 2, 0),	"documentation", 0 },
	{ 96 + 16, V4(192, 168, 0, 0),	"private", 0 },
	{ 96 + 15, V4(198, 18, 0, 0),	"benchmarking", 0 },
	{ 96 + 24, V4(198, 51, 100, 0),	"documentation", 0 },
	{ 96 + 24, V4(203, 0, 113, 0),	"documentation", 0 },
	{ 96 + 4,  V4(224, 0, 0, 0),	"multicast", 0 },
	{ 96 + 4,  V4(240, 0, 0, 0),	"reserved", 0 },
};
#undef V4

static const struct net_rule v6_rules[] = {
	{ 128, { 0 }, "unspecified", 0 },
	{ 128, { 0,0,0,0, 0,0,0,0, 0,0,0,0, 0,0,0,1 }, "loopback", 0 },
	{ 96, { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff }, NULL, 12 },
	{ 96, { 0,0x64,0xff,0x9b }, NULL, 12 },
	{ 96, { 0 }, "reserved", 0 },		/* IPv4-compatible */
	{ 48, { 0,0x64,0xff,0x9b, 0,1 }, "private", 0 },
	{ 64, { 0x01,0x00 }, "reserved", 0 },	/* discard-only */
	{ 32, { 0x20,0x01,0x0d,0xb8 }, "documentation", 0 },
	{ 16, { 0x20,0x02 }, NULL, 2 },		/* 6to4 */
	{ 7,  { 0xfc }, "private", 0 },
	{ 10, { 0xfe,0x80 }, "link-local", 0 },
	{ 10, { 0xfe,0xc0 }, "private", 0 },	/* site-local */
	{ 8,  { 0xff }, "multicast", 0 },
};

static enum sig_err
set_reason(struct fetch_result *res, enum sig_err rc, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	/* Truncation of a long host name in a message is acceptable. */
	(void)vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return rc;
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds before the deadline, at most INT_MAX; <= 0 once it passed. */
static long
conn_left(const struct conn *c)
{
	long long	 left = c->deadline - now_ms();

	return left > INT_MAX ? INT_MAX : (long)left;
}

static enum sig_err
timed_out(struct conn *c)
{
	return set_reason(c->res, SIG_EFETCH, "timed out after %ld ms",
	    c->timeout_ms);
}

static int
prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
	int	 whole = bits / 8, rest = bits % 8;

	if (memcmp(a, net, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ net[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* a: the 4 bytes of an IPv4 address. */
static const char *
class_v4(const unsigned char *a)
{
	unsigned char	 m[16] = { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff };
	size_t		 i;

	memcpy(m + 12, a, 4);
	for (i = 0; i < sizeof(v4_rules) / sizeof(v4_rules[0]); i++)
		if (prefix_match(m, v4_rules[i].net, v4_rules[i].bits))
			return v4_rules[i].word;
	return NULL;
}

/* a: the 16 bytes of an IPv6 address; the first matching rule decides. */
static const char *
class_v6(const unsigned char *a)
{
	size_t	 i;

	for (i = 0; i < sizeof(v6_rules) / sizeof(v6_rules[0]); i++) {
		if (!prefix_match(a, v6_rules[i].net, v6_rules[i].bits))
			continue;
		if (v6_rules[i].word != NULL)
			return v6_rules[i].word;
		return class_v4(a + v6_rules[i].v4at);
	}
	return NULL;
}

const char *
fetch_address_class(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa == NULL)
		return "invalid";
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		return class_v4((const unsigned char *)&sin->sin_addr);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		return class_v6(sin6->sin6_addr.s6_addr);
	default:
		return "unsupported";
	}
}

static int
is_host_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
}

int
fetch_parse_url(const char *url, char *host, char *port, char *path,
    char *reason)
{
	struct url	 u;
	enum url_err	 err;
	const char	*h;
	char		 v6[INET6_ADDRSTRLEN];
	struct in6_addr	 in6;
	size_t		 ulen, n, i;

	host[0] = port[0] = path[0] = reason[0] = '\0';
	if (url == NULL || *url == '\0') {
		snprintf(reason, SIG_MSG_MAX, "no URL given");
		return -1;
	}
	if ((ulen = strnlen(url, URL_MAX + 1)) > URL_MAX) {
		snprintf(reason, SIG_MSG_MAX, "URL is longer than %d bytes",
		    URL_MAX);
		return -1;
	}
	for (i = 0; i < ulen; i++) {
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f) {
			snprintf(reason, SIG_MSG_MAX, "URL contains a space, "
			    "a control character or a non-ASCII byte");
			return -1;
		}
	}
	/* The messages go in the order the checks always went. */
	err = url_parse(url, ulen, &u);
	if (err == URL_ESCHEME || u.scheme_len != 5 ||
	    strncasecmp(u.scheme, "https", 5) != 0) {
		if (err != URL_ESCHEME && u.scheme_len == 4 &&
		    strncasecmp(u.scheme, "http", 4) == 0)
			snprintf(reason, SIG_MSG_MAX,
			    "only https:// URLs are allowed, not http://");
		else
			snprintf(reason, SIG_MSG_MAX,
			    "URL must start with https://");
		return -1;
	}
	if (err == URL_EUSERINFO) {
		snprintf(reason, SIG_MSG_MAX,
		    "user information (user@) in the URL is not allowed");
		return -1;
	}
	if (err == URL_EBRACKET) {
		snprintf(reason, SIG_MSG_MAX,
		    "IPv6 address in the URL has no closing ]");
		return -1;
	}
	h = u.host;
	n = u.host_len;
	if (u.host_bracketed) {
		if (n == 0 || n >= sizeof(v6)) {
			snprintf(reason, SIG_MSG_MAX,
			    "bad IPv6 address in the URL");
			return -1;
		}
		memcpy(v6, h, n);
		v6[n] = '\0';
		if (inet_pton(AF_INET6, v6, &in6) != 1) {
			snprintf(reason, SIG_MSG_MAX,
			    "bad IPv6 address in the URL");
			return -1;
		}
		if (err == URL_EAFTERV6) {
			snprintf(reason, SIG_MSG_MAX,
			    "unexpected characters after the IPv6 address");
			return -1;
		}
	} else {
		for (i = 0; i < n; i++) {
			if (!is_host_char((unsigned char)h[i])) {
				snprintf(reason, SIG_MSG_MAX, "host name "
				    "contains a character that is not allowed");
				return -1;
			}
		}
	}
	if (n == 0) {
		snprintf(reason, SIG_MSG_MAX, "URL has no host");
		return -1;
	}
	if (n >= URL_HOST_MAX) {
		snprintf(reason, SIG_MSG_MAX, "host name is longer than %d "
		    "bytes", URL_HOST_MAX - 1);
		return -1;
	}
	for (i = 0; i < n; i++)
		host[i] = (h[i] >= 'A' && h[i] <= 'Z') ? h[i] - 'A' + 'a' :
		    h[i];
	host[n] = '\0';

	if (err == URL_EPORT) {
		snprintf(reason, SIG_MSG_MAX, "bad port in the URL");
		host[0] = '\0';
		return -1;
	}
	snprintf(port, URL_PORT_MAX, "%hu",
	    (unsigned short)(u.port != 0 ? u.port : 443));

	/* The fragment stays with the client; a bare query gets a "/". */
	n = u.target_len;
	if (n + (n == 0 || u.target[0] != '/') >= URL_PATH_MAX) {
		snprintf(reason, SIG_MSG_MAX, "URL path is longer than %d bytes",
		    URL_PATH_MAX - 1);
		host[0] = port[0] = '\0';
		return -1;
	}
	i = 0;
	if (n == 0 || u.target[0] != '/')
		path[i++] = '/';
	memcpy(path + i, u.target, n);
	path[i + n] = '\0';
	return 0;
}

static int
is_token_char(int ch)
{
	/* RFC 9110 section 5.6.2 tchar */
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/*
 * The '\n' ending the line that starts at buf[from], or NULL.  A line may
 * end in CRLF or a bare LF.
 */
static const char *
find_line_end(const char *buf, size_t len, size_t from)
{
	return memchr(buf + from, '\n', len - from);
}

/* "HTTP/1.x NNN[ reason]" in line[0..n) without its line end. */
static int
status_line(const char *line, size_t n, int *status)
{
	size_t	 i;

	if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 ||
	    line[7] < '0' || line[7] > '9' || line[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++)
		if (line[i] < '0' || line[i] > '9')
			return -1;
	if (n > 12 && line[12] != ' ')
		return -1;
	if (line[9] == '0')
		return -1;
	*status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	return 0;
}

/*
 * Transfer-Encoding: only "chunked" (last) and "identity" are understood;
 * anything else would hand the caller encoded bytes.
 */
static int
parse_te(const char *v, size_t n, int *chunked)
{
	size_t	 i = 0, s, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		if (i == n)
			break;
		s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		e = i;
		if (e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0)
			*chunked = 1;
		else if (e - s == 8 && strncasecmp(v + s, "identity", 8) == 0)
			;
		else
			return -1;
	}
	return 0;
}

/*
 * The first max-age directive of a Cache-Control value, token or quoted;
 * an unparsable one is ignored.
 */
static void
parse_cache_control(const char *v, size_t n, long *max_age)
{
	size_t	 i = 0, s, e, d;
	int64_t	 val;

	while (i < n && *max_age == -1) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		/* A directive ends at a comma outside quotes. */
		while (i < n && v[i] != ',') {
			if (v[i] == '"') {
				for (i++; i < n && v[i] != '"'; i++)
					if (v[i] == '\\' && i + 1 < n)
						i++;
			}
			if (i < n)
				i++;
		}
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s < 8 || strncasecmp(v + s, "max-age=", 8) != 0)
			continue;
		s += 8;
		if (e - s >= 2 && v[s] == '"' && v[e - 1] == '"') {
			s++;
			e--;
		}
		for (d = s; d < e && v[d] >= '0' && v[d] <= '9'; d++)
			;
		if (d != e || e == s)
			continue;
		/* Saturate very long values (RFC 9111 section 1.2.2). */
		if (e - s > 10)
			*max_age = MAX_AGE_CAP;
		else if (parse_decimal(v + s, e - s, 0, LONG_MAX, &val) == 0)
			*max_age = val > MAX_AGE_CAP ? MAX_AGE_CAP : (long)val;
	}
}

long
fetch_parse_head(const char *buf, size_t len, int *status,
    long *content_length, int *chunked, long *max_age, int *location_seen)
{
	const char	*nl, *name, *colon, *v, *ve;
	size_t		 pos, n, i, k;
	int64_t		 cl;

	*status = 0;
	*content_length = -1;
	*chunked = 0;
	*max_age = -1;
	*location_seen = 0;

	if (len == 0)
		return 0;
	if ((nl = find_line_end(buf, len, 0)) == NULL) {
		/* Only a prefix of a status line so far? */
		n = len < 7 ? len : 7;
		return memcmp(buf, "HTTP/1.", n) == 0 ? 0 : -1;
	}
	n = nl - buf;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (memchr(buf, '\r', n) != NULL || memchr(buf, '\0', n) != NULL ||
	    status_line(buf, n, status) == -1)
		return -1;

	for (pos = nl - buf + 1;; pos = nl - buf + 1) {
		if ((nl = find_line_end(buf, len, pos)) == NULL)
			return 0;
		n = nl - (buf + pos);
		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		if (memchr(buf + pos, '\r', n) != NULL ||
		    memchr(buf + pos, '\0', n) != NULL)
			return -1;	/* bare CR or NUL */
		if (n == 0)
			return (long)(nl - buf + 1);

		name = buf + pos;
		if ((colon = memchr(name, ':', n)) == NULL)
			return -1;
		k = colon - name;
		if (k == 0)
			return -1;	/* also catches obsolete line folding */
		for (i = 0; i < k; i++)
			if (!is_token_char((unsigned char)name[i]))
				return -1;
		v = colon + 1;
		ve = name + n;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;

		if (k == 14 && strncasecmp(name, "content-length", k) == 0) {
			/* At most 18 digits, leading zeros included. */
			if (ve - v > 18 || parse_decimal(v, (size_t)(ve - v), 0,
			    LONG_MAX, &cl) == -1)
				return -1;
			if (*content_length != -1 && *content_length != cl)
				return -1;
			*content_length = (long)cl;
		} else if (k == 17 &&
		    strncasecmp(name, "transfer-encoding", k) == 0) {
			if (parse_te(v, ve - v, chunked) == -1)
				return -1;
		} else if (k == 13 &&
		    strncasecmp(name, "cache-control", k) == 0) {
			parse_cache_control(v, ve - v, max_age);
		} else if (k == 8 && strncasecmp(name, "location", k) == 0)
			*location_seen = 1;
	}
}

static void
addr_str(const struct sockaddr *sa, socklen_t salen, char *out, size_t n)
{
	if (getnameinfo(sa, salen, out, n, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(out, n, "(unprintable)");
}

#ifdef GAI_NOWAIT
/*
 * An asynchronous lookup (glibc getaddrinfo_a) so that the deadline also
 * bounds DNS.  glibc's helper thread blocks every signal, so SIGTERM still
 * reaches the worker's main thread.  A lookup still running at the deadline
 * cannot always be cancelled; it is kept on a list and freed by a later call
 * once done.
 */
struct gai_req {
	struct gaicb	 cb;
	struct addrinfo	 hints;
	char		 host[URL_HOST_MAX];
	char		 port[URL_PORT_MAX];
	struct gai_req	*next;
};

static struct gai_req	*gai_orphans;

static void	gai_reap(void);

static void
gai_reap(void)
{
	struct gai_req	**pp = &gai_orphans, *r;

	while ((r = *pp) != NULL) {
		if (gai_error(&r->cb) == EAI_INPROGRESS) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		if (r->cb.ar_result != NULL)
			freeaddrinfo(r->cb.ar_result);
		free(r);
	}
}
#endif

/*
 * Resolve host once.  *literal tells whether host was an IP address, which
 * gets no SNI and is checked against the certificate's IP addresses.
 */
static enum sig_err
resolve(struct conn *c, const char *host, const char *port,
    struct addrinfo **out, int *literal)
{
	struct addrinfo	 hints;
	int		 e;
#ifdef GAI_NOWAIT
	struct gai_req	*r;
	struct gaicb	*list[1];
	const struct gaicb *pending[1];
	struct timespec	 ts;
	long		 left;
#endif

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	*out = NULL;
	*literal = 0;
	/* glibc takes 127.1 and 0x7f000001 here too: the address decides. */
	if (getaddrinfo(host, port, &hints, out) == 0) {
		*literal = 1;
		return SIG_OK;
	}
	*out = NULL;
	hints.ai_flags = AI_NUMERICSERV;

#ifdef GAI_NOWAIT
	gai_reap();
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return set_reason(c->res, SIG_EINTERNAL, "out of memory");
	r->hints = hints;
	snprintf(r->host, sizeof(r->host), "%s", host);
	snprintf(r->port, sizeof(r->port), "%s", port);
	r->cb.ar_name = r->host;
	r->cb.ar_service = r->port;
	r->cb.ar_request = &r->hints;
	list[0] = &r->cb;
	pending[0] = &r->cb;
	if ((e = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		free(r);
		log_msg(LOG_ERR, "getaddrinfo_a: %s", gai_strerror(e));
		return set_reason(c->res, SIG_EINTERNAL,
		    "could not start resolving host %s", host);
	}
	while ((e = gai_error(&r->cb)) == EAI_INPROGRESS) {
		if ((left = conn_left(c)) <= 0) {
			(void)gai_cancel(&r->cb);
			if (gai_error(&r->cb) == EAI_INPROGRESS) {
				r->next = gai_orphans;
				gai_orphans = r;
			} else {
				if (r->cb.ar_result != NULL)
					freeaddrinfo(r->cb.ar_result);
				free(r);
			}
			return timed_out(c);
		}
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000L;
		(void)gai_suspend(pending, 1, &ts);
	}
	if (e == 0)
		*out = r->cb.ar_result;
	else if (r->cb.ar_result != NULL)
		freeaddrinfo(r->cb.ar_result);
	free(r);
#else
	/* No asynchronous resolver: DNS time is not bounded by the deadline. */
	e = getaddrinfo(host, port, &hints, out);
	if (e != 0)
		*out = NULL;
#endif
	if (e != 0 || *out == NULL)
		return set_reason(c->res, SIG_EFETCH,
		    "could not resolve host %s: %s", host,
		    e != 0 ? gai_strerror(e) : "no address");
	return SIG_OK;
}

/*
 * Non-blocking connect bounded by the deadline, then a blocking socket with
 * send/receive timeouts as a backstop.  Returns 0 connected (c->fd set),
 * 1 failed with *err (try the next address), -1 timed out.
 */
static int
conn_connect(struct conn *c, const struct addrinfo *ai, int *err)
{
	struct pollfd	 pfd;
	struct timeval	 tv;
	socklen_t	 sl;
	long		 left;
	int		 fd, soerr, flags, n, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1) {
		*err = errno;
		return 1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS && errno != EINTR) {
			*err = errno;
			close(fd);
			return 1;
		}
		for (;;) {
			if ((left = conn_left(c)) <= 0) {
				close(fd);
				return -1;
			}
			pfd.fd = fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			n = poll(&pfd, 1, (int)left);
			if (n == -1 && errno != EINTR) {
				*err = errno;
				close(fd);
				return 1;
			}
			if (n == 1)
				break;
		}
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			*err = soerr;
			close(fd);
			return 1;
		}
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
		*err = errno;
		close(fd);
		return 1;
	}
	left = conn_left(c);
	if (left < 1)
		left = 1;
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* The request follows the handshake's last flight: no Nagle wait. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	return 0;
}

/* Why the peer's certificate was refused, for the user. */
static enum sig_err
cert_reason(struct conn *c, const char *vname)
{
	gnutls_datum_t	 out = { NULL, 0 };
	unsigned int	 st;

	st = gnutls_session_get_verify_cert_status(c->s);
	if (st & GNUTLS_CERT_REVOKED)
		return set_reason(c->res, SIG_EFETCH, "certificate revoked");
	if (st & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA |
	    GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE))
		return set_reason(c->res, SIG_EFETCH,
		    "certificate not trusted");
	if (st & GNUTLS_CERT_EXPIRED)
		return set_reason(c->res, SIG_EFETCH, "certificate expired");
	if (st & GNUTLS_CERT_NOT_ACTIVATED)
		return set_reason(c->res, SIG_EFETCH,
		    "certificate not yet valid");
	if (st & GNUTLS_CERT_UNEXPECTED_OWNER)
		return set_reason(c->res, SIG_EFETCH,
		    "certificate does not match host %s", vname);
	if (st & GNUTLS_CERT_INSECURE_ALGORITHM)
		return set_reason(c->res, SIG_EFETCH,
		    "certificate uses an insecure algorithm");
	if (gnutls_certificate_verification_status_print(st,
	    GNUTLS_CRT_X509, &out, 0) == 0 && out.data != NULL) {
		set_reason(c->res, SIG_EFETCH, "certificate refused: %s",
		    (const char *)out.data);
		gnutls_free(out.data);
		return SIG_EFETCH;
	}
	return set_reason(c->res, SIG_EFETCH, "certificate refused");
}

/*
 * TLS client session on c->fd: trust from ca_file or the system, SNI for
 * names, the certificate checked against vname, handshake bounded by the
 * deadline.
 */
static enum sig_err
conn_tls(struct conn *c, const char *vname, int literal)
{
	long	 left;
	int	 ret;

	if ((ret = gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL)) < 0) {
		c->s = NULL;
		log_msg(LOG_ERR, "gnutls_init: %s", gnutls_strerror(ret));
		return set_reason(c->res, SIG_EINTERNAL, "TLS setup failed");
	}
	if ((ret = gnutls_set_default_priority(c->s)) < 0 ||
	    (ret = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE,
	    c->cred)) < 0 ||
	    (!literal && (ret = gnutls_server_name_set(c->s, GNUTLS_NAME_DNS,
	    vname, strlen(vname))) < 0)) {
		log_msg(LOG_ERR, "TLS session setup: %s", gnutls_strerror(ret));
		return set_reason(c->res, SIG_EINTERNAL, "TLS setup failed");
	}
	gnutls_session_set_verify_cert(c->s, vname, 0);
	gnutls_transport_set_int(c->s, c->fd);

	if ((left = conn_left(c)) <= 0)
		return timed_out(c);
	gnutls_handshake_set_timeout(c->s, (unsigned int)left);
	for (;;) {
		ret = gnutls_handshake(c->s);
		if (ret >= 0 || gnutls_error_is_fatal(ret) != 0)
			break;
		if (conn_left(c) <= 0)
			return timed_out(c);
	}
	if (ret == GNUTLS_E_SUCCESS)
		return SIG_OK;
	if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
	    ret == GNUTLS_E_CERTIFICATE_ERROR)
		return cert_reason(c, vname);
	if (ret == GNUTLS_E_TIMEDOUT)
		return timed_out(c);
	return set_reason(c->res, SIG_EFETCH, "TLS handshake failed: %s",
	    gnutls_strerror(ret));
}

static enum sig_err
conn_send(struct conn *c, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if (conn_left(c) <= 0)
			return timed_out(c);
		w = gnutls_record_send(c->s, p, n);
		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0)
			return set_reason(c->res, SIG_EFETCH,
			    "sending the request failed: %s",
			    gnutls_strerror((int)w));
		p += w;
		n -= (size_t)w;
	}
	return SIG_OK;
}

/*
 * One TLS read into dst[0..cap), bounded by the deadline.  *got == 0 at the
 * end of the stream; a close without close_notify counts as an end too:
 * the framing (Content-Length, chunked) says whether the body was whole.
 */
static enum sig_err
conn_recv(struct conn *c, char *dst, size_t cap, size_t *got)
{
	ssize_t	 n;
	long	 left;

	*got = 0;
	for (;;) {
		if ((left = conn_left(c)) <= 0)
			return timed_out(c);
		gnutls_record_set_timeout(c->s, (unsigned int)left);
		n = gnutls_record_recv(c->s, dst, cap);
		if (n >= 0) {
			*got = (size_t)n;
			return SIG_OK;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_PREMATURE_TERMINATION)
			return SIG_OK;
		if (n == GNUTLS_E_TIMEDOUT)
			return timed_out(c);
		if (gnutls_error_is_fatal((int)n) == 0)
			continue;	/* warning alert, rehandshake request */
		return set_reason(c->res, SIG_EFETCH, "reading the response "
		    "failed: %s", gnutls_strerror((int)n));
	}
}

/* More bytes into c->buf, after moving the unread ones to the front. */
static enum sig_err
conn_fill(struct conn *c)
{
	enum sig_err	 rc;
	size_t		 got;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf))
		return set_reason(c->res, SIG_EFETCH,
		    "response line is too long");
	if ((rc = conn_recv(c, c->buf + c->len, sizeof(c->buf) - c->len,
	    &got)) != SIG_OK)
		return rc;
	if (got == 0)
		c->eof = 1;
	c->len += got;
	return SIG_OK;
}

/* One line of at most LINE_MAX_LEN bytes, without its CRLF or LF. */
static enum sig_err
conn_getline(struct conn *c, char *line, size_t cap)
{
	enum sig_err	 rc;
	const char	*nl;
	size_t		 n;

	for (;;) {
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL)
			break;
		if (c->len - c->off >= LINE_MAX_LEN)
			return set_reason(c->res, SIG_EFETCH,
			    "malformed chunked body: line too long");
		if (c->eof)
			return set_reason(c->res, SIG_EFETCH,
			    "connection closed before the end of the body");
		if ((rc = conn_fill(c)) != SIG_OK)
			return rc;
	}
	n = nl - (c->buf + c->off);
	if (n >= cap)
		return set_reason(c->res, SIG_EFETCH,
		    "malformed chunked body: line too long");
	memcpy(line, c->buf + c->off, n);
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	c->off = nl - c->buf + 1;
	return SIG_OK;
}

/* Up to n bytes: first what is buffered, else one TLS read. */
static enum sig_err
conn_read(struct conn *c, char *dst, size_t n, size_t *got)
{
	size_t	 have = c->len - c->off;

	if (have > 0) {
		*got = have < n ? have : n;
		memcpy(dst, c->buf + c->off, *got);
		c->off += *got;
		return SIG_OK;
	}
	if (c->eof) {
		*got = 0;
		return SIG_OK;
	}
	return conn_recv(c, dst, n, got);
}

static enum sig_err
too_large(struct conn *c, const struct body *b)
{
	return set_reason(c->res, SIG_EFETCH,
	    "response is larger than %zu bytes", b->max);
}

/* Room for add more bytes and the NUL; refuses growth past the cap + 1. */
static enum sig_err
body_grow(struct conn *c, struct body *b, size_t add)
{
	size_t	 need, ncap;
	char	*p;

	if (add > b->max + 1 - b->len)
		return too_large(c, b);
	need = b->len + add + 1;
	if (need <= b->cap)
		return SIG_OK;
	ncap = b->cap < 4096 ? 4096 : b->cap;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->max + 2)
		ncap = b->max + 2;
	if (ncap < need)
		ncap = need;
	if ((p = realloc(b->p, ncap)) == NULL)
		return set_reason(c->res, SIG_EINTERNAL, "out of memory");
	b->p = p;
	b->cap = ncap;
	return SIG_OK;
}

/* Exactly n more body bytes (room already made). */
static enum sig_err
read_exact(struct conn *c, struct body *b, size_t n)
{
	enum sig_err	 rc;
	size_t		 got;

	while (n > 0) {
		if ((rc = conn_read(c, b->p + b->len, n, &got)) != SIG_OK)
			return rc;
		if (got == 0)
			return set_reason(c->res, SIG_EFETCH,
			    "connection closed before the end of the body");
		b->len += got;
		n -= got;
	}
	return SIG_OK;
}

static enum sig_err
read_length(struct conn *c, struct body *b, long cl)
{
	enum sig_err	 rc;

	if ((unsigned long)cl > b->max)
		return too_large(c, b);
	if ((rc = body_grow(c, b, (size_t)cl)) != SIG_OK)
		return rc;
	return read_exact(c, b, (size_t)cl);
}

/* RFC 9112 section 7.1; chunk extensions and trailers are skipped. */
static enum sig_err
read_chunked(struct conn *c, struct body *b)
{
	enum sig_err	 rc;
	char		 line[LINE_MAX_LEN];
	size_t		 size, i;
	int		 d, ntrail;

	for (;;) {
		if ((rc = conn_getline(c, line, sizeof(line))) != SIG_OK)
			return rc;
		size = 0;
		for (i = 0; line[i] != '\0'; i++) {
			if (line[i] >= '0' && line[i] <= '9')
				d = line[i] - '0';
			else if (line[i] >= 'a' && line[i] <= 'f')
				d = line[i] - 'a' + 10;
			else if (line[i] >= 'A' && line[i] <= 'F')
				d = line[i] - 'A' + 10;
			else
				break;
			if (size > (SIZE_MAX - 15) / 16)
				return too_large(c, b);
			size = size * 16 + (size_t)d;
		}
		if (i == 0 || (line[i] != '\0' && line[i] != ';' &&
		    line[i] != ' ' && line[i] != '\t'))
			return set_reason(c->res, SIG_EFETCH,
			    "malformed chunked body");
		if (size == 0)
			break;
		if (size > b->max - b->len)
			return too_large(c, b);
		if ((rc = body_grow(c, b, size)) != SIG_OK ||
		    (rc = read_exact(c, b, size)) != SIG_OK)
			return rc;
		if ((rc = conn_getline(c, line, sizeof(line))) != SIG_OK)
			return rc;
		if (line[0] != '\0')
			return set_reason(c->res, SIG_EFETCH,
			    "malformed chunked body");
	}
	for (ntrail = 0; ntrail <= TRAILERS_MAX; ntrail++) {
		if ((rc = conn_getline(c, line, sizeof(line))) != SIG_OK)
			return rc;
		if (line[0] == '\0')
			return SIG_OK;
	}
	return set_reason(c->res, SIG_EFETCH, "malformed chunked body: "
	    "too many trailer lines");
}

/* No framing: the body ends when the server closes. */
static enum sig_err
read_close(struct conn *c, struct body *b)
{
	enum sig_err	 rc;
	size_t		 want, got;

	for (;;) {
		if (b->len > b->max)
			return too_large(c, b);
		want = b->max + 1 - b->len;
		if (want > READ_STEP)
			want = READ_STEP;
		if ((rc = body_grow(c, b, want)) != SIG_OK)
			return rc;
		if ((rc = conn_read(c, b->p + b->len, want, &got)) != SIG_OK)
			return rc;
		if (got == 0)
			return SIG_OK;
		b->len += got;
	}
}

enum sig_err
fetch_https(const char *url, const struct fetch_opts *opts,
    struct fetch_result *res)
{
	struct conn		*c = NULL;
	struct addrinfo		*ai = NULL, *a;
	struct body		 b = { NULL, 0, 0, 0 };
	char			 host[URL_HOST_MAX], port[URL_PORT_MAX];
	char			 path[URL_PATH_MAX], req[REQ_MAX];
	char			 addr[INET6_ADDRSTRLEN + 16];
	char			 vname[URL_HOST_MAX];
	const char		*ca_file, *cls;
	enum sig_err		 rc;
	long			 timeout_ms, hl, cl, ma;
	int			 literal, n, cr, err, status, chunked, loc;
	int			 interim;

	memset(res, 0, sizeof(*res));
	res->max_age = -1;
	host[0] = '\0';
	timeout_ms = opts != NULL && opts->timeout_ms > 0 ?
	    opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	b.max = opts != NULL && opts->max_bytes > 0 ?
	    (size_t)opts->max_bytes : DEFAULT_MAX_BYTES;
	ca_file = opts != NULL && opts->ca_file != NULL &&
	    opts->ca_file[0] != '\0' ? opts->ca_file : NULL;

	if ((c = malloc(sizeof(*c))) == NULL) {
		rc = set_reason(res, SIG_EINTERNAL, "out of memory");
		goto fail;
	}
	c->fd = -1;
	c->s = NULL;
	c->cred = NULL;
	c->deadline = now_ms() + timeout_ms;
	c->timeout_ms = timeout_ms;
	c->eof = 0;
	c->off = c->len = 0;
	c->res = res;

	if (fetch_parse_url(url, host, port, path, res->reason) == -1) {
		rc = SIG_EFETCH;
		goto fail;
	}
	if ((rc = resolve(c, host, port, &ai, &literal)) != SIG_OK)
		goto fail;

	/* Every address is judged before any is used. */
	for (a = ai, n = 0; a != NULL && n < ADDRS_MAX; a = a->ai_next, n++) {
		cls = fetch_address_class(a->ai_addr);
		if (cls != NULL && !(opts != NULL && opts->allow_private)) {
			addr_str(a->ai_addr, a->ai_addrlen, addr, sizeof(addr));
			rc = set_reason(res, SIG_EFETCH, "address %s is %s",
			    addr, cls);
			goto fail;
		}
	}

	if ((n = gnutls_certificate_allocate_credentials(&c->cred)) < 0) {
		c->cred = NULL;
		log_msg(LOG_ERR, "gnutls credentials: %s", gnutls_strerror(n));
		rc = set_reason(res, SIG_EINTERNAL, "TLS setup failed");
		goto fail;
	}
	if (ca_file != NULL) {
		n = gnutls_certificate_set_x509_trust_file(c->cred, ca_file,
		    GNUTLS_X509_FMT_PEM);
		if (n <= 0) {
			log_msg(LOG_ERR, "JWKS CA file %s: %s", ca_file,
			    n < 0 ? gnutls_strerror(n) : "no certificate");
			rc = set_reason(res, SIG_EINTERNAL,
			    "the configured CA file could not be loaded");
			goto fail;
		}
	} else if ((n = gnutls_certificate_set_x509_system_trust(c->cred)) <= 0)
		log_msg(LOG_WARN, "system trust store: %s",
		    n < 0 ? gnutls_strerror(n) : "no certificate");

	/* Addresses in resolver order, each with what is left of the time. */
	err = 0;
	for (a = ai, n = 0; a != NULL && n < ADDRS_MAX; a = a->ai_next, n++) {
		addr_str(a->ai_addr, a->ai_addrlen, addr, sizeof(addr));
		if ((cr = conn_connect(c, a, &err)) == 0)
			break;
		if (cr == -1) {
			rc = timed_out(c);
			goto fail;
		}
	}
	if (c->fd == -1) {
		rc = set_reason(res, SIG_EFETCH, "could not connect to %s "
		    "port %s: %s", addr, port, strerror(err));
		goto fail;
	}

	/* An IP literal is checked in its canonical form (127.1 -> 127.0.0.1). */
	if (literal)
		snprintf(vname, sizeof(vname), "%s", addr);
	else
		snprintf(vname, sizeof(vname), "%s", host);
	if ((rc = conn_tls(c, vname, literal)) != SIG_OK)
		goto fail;

	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
	    "Host: %s%s%s%s%s\r\n"
	    "Accept: application/json\r\n"
	    "Connection: close\r\n"
	    "User-Agent: signet\r\n\r\n", path,
	    strchr(host, ':') != NULL ? "[" : "", host,
	    strchr(host, ':') != NULL ? "]" : "",
	    strcmp(port, "443") != 0 ? ":" : "",
	    strcmp(port, "443") != 0 ? port : "");
	if (n < 0 || (size_t)n >= sizeof(req)) {
		rc = set_reason(res, SIG_EINTERNAL, "request too long");
		goto fail;
	}
	if ((rc = conn_send(c, req, (size_t)n)) != SIG_OK)
		goto fail;

	for (interim = 0;;) {
		hl = fetch_parse_head(c->buf + c->off, c->len - c->off,
		    &status, &cl, &chunked, &ma, &loc);
		if (hl == -1) {
			rc = set_reason(res, SIG_EFETCH,
			    "malformed HTTP response");
			goto fail;
		}
		if (hl == 0) {
			if (c->len - c->off >= sizeof(c->buf)) {
				rc = set_reason(res, SIG_EFETCH, "response "
				    "head is larger than %d bytes", HEAD_MAX);
				goto fail;
			}
			if (c->eof) {
				rc = set_reason(res, SIG_EFETCH, "connection "
				    "closed before the response head");
				goto fail;
			}
			if ((rc = conn_fill(c)) != SIG_OK)
				goto fail;
			continue;
		}
		c->off += (size_t)hl;
		if (status >= 100 && status < 200 && status != 101 &&
		    ++interim <= INTERIM_MAX)
			continue;
		break;
	}
	if (status >= 300 && status < 400) {
		rc = set_reason(res, SIG_EFETCH, "redirects are not followed "
		    "(HTTP status %d)", status);
		goto fail;
	}
	if (status != 200) {
		rc = set_reason(res, SIG_EFETCH, "HTTP status %d", status);
		goto fail;
	}
	res->max_age = ma;

	if (chunked)
		rc = read_chunked(c, &b);
	else if (cl >= 0)
		rc = read_length(c, &b, cl);
	else
		rc = read_close(c, &b);
	if (rc != SIG_OK)
		goto fail;
	if (b.len == 0) {
		rc = set_reason(res, SIG_EFETCH, "response body is empty");
		goto fail;
	}
	b.p[b.len] = '\0';
	res->body = b.p;
	res->len = b.len;
	b.p = NULL;
	rc = SIG_OK;

fail:
	if (c != NULL) {
		if (c->s != NULL)
			gnutls_deinit(c->s);
		if (c->cred != NULL)
			gnutls_certificate_free_credentials(c->cred);
		if (c->fd != -1)
			close(c->fd);
		free(c);
	}
	if (ai != NULL)
		freeaddrinfo(ai);
	free(b.p);
	if (rc != SIG_OK) {
		res->body = NULL;
		res->len = 0;
		if (res->reason[0] == '\0')
			set_reason(res, rc, "fetch failed");
		/* The host only: a path or query may carry a token. */
		log_msg(LOG_WARN, "JWKS fetch from %s failed: %s",
		    host[0] != '\0' ? host : "(bad URL)", res->reason);
	}
	return rc;
}
