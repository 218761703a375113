/*
 * The JWKS fetcher: address classes over the whole deny list, URL and
 * response-head parsing, and real fetches from GnuTLS servers on loopback
 * that this program starts itself, with a CA and certificates made by
 * certtool in a temporary directory.  Nothing leaves the machine.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "signet/fetch.h"
#include "unit.h"

/* RFC 7517 appendix A.1, first key. */
static const char JWKS[] = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\","
    "\"use\":\"enc\",\"kid\":\"1\"}]}";

#define BIG_LEN		300000	/* over the 262144 default cap */
#define SLACK_MS	500	/* allowed lateness of a timeout */

struct server {
	pid_t	 pid;
	int	 port;		/* on 127.0.0.1 */
	int	 port6;		/* on ::1, 0 when IPv6 is unavailable */
};

static char		 dir[64];
static char		 ca_file[128];
static struct server	 good, wrong, expired;
static int		 silent_fd = -1, silent_port;

/* ------------------------------------------------------------------ */
/* Test PKI and servers                                                 */

static void
write_file(const char *name, const char *text)
{
	char	 path[192];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static void
run(const char *fmt, ...)
{
	char	 cmd[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* A key and a certificate signed by the test CA, from template name.tmpl. */
static void
make_cert(const char *name)
{
	run("certtool --generate-privkey --key-type=ecdsa --outfile %s/%s.key "
	    ">/dev/null 2>&1", dir, name);
	run("certtool --generate-certificate --load-privkey %s/%s.key "
	    "--load-ca-certificate %s/ca.pem --load-ca-privkey %s/ca.key "
	    "--template %s/%s.tmpl --outfile %s/%s.pem >/dev/null 2>&1",
	    dir, name, dir, dir, dir, name, dir, name);
}

static void
make_pki(void)
{
	write_file("ca.tmpl", "cn = \"Signet test CA\"\nca\n"
	    "cert_signing_key\nexpiration_days = 2\n");
	write_file("good.tmpl", "cn = \"localhost\"\ndns_name = \"localhost\"\n"
	    "ip_address = \"127.0.0.1\"\nip_address = \"::1\"\n"
	    "tls_www_server\nsigning_key\nexpiration_days = 2\n");
	write_file("wrong.tmpl", "cn = \"wrong.example\"\n"
	    "dns_name = \"wrong.example\"\ntls_www_server\nsigning_key\n"
	    "expiration_days = 2\n");
	write_file("expired.tmpl", "cn = \"localhost\"\n"
	    "dns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
	    "tls_www_server\nsigning_key\n"
	    "activation_date = \"2020-01-01 00:00:00\"\n"
	    "expiration_date = \"2020-01-02 00:00:00\"\n");
	run("certtool --generate-privkey --key-type=ecdsa --outfile %s/ca.key "
	    ">/dev/null 2>&1", dir);
	run("certtool --generate-self-signed --load-privkey %s/ca.key "
	    "--template %s/ca.tmpl --outfile %s/ca.pem >/dev/null 2>&1",
	    dir, dir, dir);
	make_cert("good");
	make_cert("wrong");
	make_cert("expired");
	snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", dir);
}

/* A loopback listener on an ephemeral port, or -1 (no IPv6 here). */
static int
listen_on(int family, int *port)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr		*sa;
	socklen_t		 sl;
	int			 fd, one = 1;

	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (family == AF_INET) {
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa = (struct sockaddr *)&sin;
		sl = sizeof(sin);
	} else {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_loopback;
		sa = (struct sockaddr *)&sin6;
		sl = sizeof(sin6);
	}
	if (bind(fd, sa, sl) == -1 || listen(fd, 64) == -1 ||
	    getsockname(fd, sa, &sl) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? sin.sin_port : sin6.sin6_port);
	return fd;
}

static void
put(gnutls_session_t s, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		w = gnutls_record_send(s, c, n);
		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0)
			_exit(0);	/* the client went away */
		c += w;
		n -= (size_t)w;
	}
}

static void
putf(gnutls_session_t s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
putf(gnutls_session_t s, const char *fmt, ...)
{
	char	 buf[4096];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		_exit(3);
	put(s, buf, (size_t)n);
}

static void
reply(gnutls_session_t s, const char *status, const char *headers,
    const char *body, size_t blen)
{
	putf(s, "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n\r\n", status,
	    headers, blen);
	put(s, body, blen);
}

static void
put_fill(gnutls_session_t s, size_t n)
{
	char	 x[16384];
	size_t	 k;

	memset(x, 'x', sizeof(x));
	while (n > 0) {
		k = n < sizeof(x) ? n : sizeof(x);
		put(s, x, k);
		n -= k;
	}
}

/* One connection, in its own process: TLS, one request, one answer. */
static void
handle(int fd, gnutls_certificate_credentials_t cred)
{
	gnutls_session_t	 s;
	char			 req[8192], path[512], sni[256], echo[8704];
	size_t			 n = 0, sl = sizeof(sni);
	unsigned int		 type;
	ssize_t			 r;
	int			 ret, i;

	alarm(20);
	if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0 ||
	    gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		_exit(2);
	gnutls_transport_set_int(s, fd);
	do
		ret = gnutls_handshake(s);
	while (ret < 0 && gnutls_error_is_fatal(ret) == 0);
	if (ret < 0)
		_exit(0);
	while (memmem(req, n, "\r\n\r\n", 4) == NULL) {
		if (n == sizeof(req) - 1)
			_exit(0);
		r = gnutls_record_recv(s, req + n, sizeof(req) - 1 - n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r <= 0)
			_exit(0);
		n += (size_t)r;
	}
	req[n] = '\0';
	if (sscanf(req, "GET %511s ", path) != 1)
		_exit(0);
	if (gnutls_server_name_get(s, sni, &sl, &type, 0) < 0)
		snprintf(sni, sizeof(sni), "none");

	if (strcmp(path, "/jwks") == 0) {
		reply(s, "200 OK", "Content-Type: application/json\r\n"
		    "Cache-Control: public, max-age=600, must-revalidate\r\n",
		    JWKS, strlen(JWKS));
	} else if (strcmp(path, "/echo") == 0) {
		n = (size_t)snprintf(echo, sizeof(echo), "%sSNI: %s\n", req,
		    sni);
		reply(s, "200 OK", "", echo, n);
	} else if (strcmp(path, "/chunked") == 0) {
		putf(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		    "cache-control: no-cache=\"a,b\", MAX-AGE=42\r\n\r\n");
		putf(s, "a;name=value\r\n%.10s\r\n", JWKS);
		putf(s, "%zX\r\n%s\r\n", strlen(JWKS) - 10, JWKS + 10);
		putf(s, "0\r\nX-Trailer: 1\r\n\r\n");
	} else if (strcmp(path, "/close") == 0) {
		putf(s, "HTTP/1.0 200 OK\r\nCache-Control: max-age=5\r\n\r\n%s",
		    JWKS);
	} else if (strcmp(path, "/abrupt") == 0) {
		/* No close_notify: GNUTLS_E_PREMATURE_TERMINATION at the end. */
		putf(s, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n%s", JWKS);
		close(fd);
		_exit(0);
	} else if (strcmp(path, "/interim") == 0) {
		putf(s, "HTTP/1.1 103 Early Hints\r\nLink: </k>; rel=preload"
		    "\r\n\r\n");
		reply(s, "200 OK", "", JWKS, strlen(JWKS));
	} else if (strcmp(path, "/redirect") == 0) {
		reply(s, "302 Found", "Location: https://localhost/jwks\r\n",
		    "", 0);
	} else if (strcmp(path, "/empty") == 0) {
		reply(s, "200 OK", "", "", 0);
	} else if (strcmp(path, "/short") == 0) {
		putf(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
		    "0123456789");
	} else if (strcmp(path, "/big") == 0) {
		putf(s, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
		    BIG_LEN);
		put_fill(s, BIG_LEN);
	} else if (strcmp(path, "/stream") == 0) {
		putf(s, "HTTP/1.1 200 OK\r\n\r\n");
		put_fill(s, BIG_LEN);
	} else if (strcmp(path, "/bigchunked") == 0) {
		putf(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		for (i = 0; i < BIG_LEN / 10000; i++) {
			putf(s, "2710\r\n");
			put_fill(s, 10000);
			putf(s, "\r\n");
		}
		putf(s, "0\r\n\r\n");
	} else if (strcmp(path, "/hang") == 0) {
		pause();
	} else if (strcmp(path, "/slow") == 0) {
		putf(s, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n");
		for (i = 0; i < 20; i++) {
			put(s, "x", 1);
			usleep(200 * 1000);
		}
	} else if (strcmp(path, "/garbage") == 0) {
		putf(s, "hello there\r\n\r\n");
	} else if (strcmp(path, "/hugehead") == 0) {
		putf(s, "HTTP/1.1 200 OK\r\nX-Pad: ");
		put_fill(s, 20000);
		putf(s, "\r\nContent-Length: 2\r\n\r\n{}");
	} else
		reply(s, "404 Not Found", "", "not found", 9);
	(void)gnutls_bye(s, GNUTLS_SHUT_WR);
	_exit(0);
}

static void
serve(const int *fds, int nfds, const char *name)
{
	gnutls_certificate_credentials_t cred;
	struct pollfd	 pfd[2];
	char		 cert[192], key[192];
	int		 i, c;

	signal(SIGCHLD, SIG_IGN);	/* connection processes reap themselves */
	signal(SIGPIPE, SIG_IGN);
	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(cred, cert, key,
	    GNUTLS_X509_FMT_PEM) < 0)
		_exit(2);
	for (i = 0; i < nfds; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	for (;;) {
		if (poll(pfd, nfds, -1) == -1)
			continue;
		for (i = 0; i < nfds; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if ((c = accept(fds[i], NULL, NULL)) == -1)
				continue;
			if (fork() == 0) {
				close(fds[0]);
				if (nfds > 1)
					close(fds[1]);
				handle(c, cred);
			}
			close(c);
		}
	}
}

static void
start_server(struct server *sv, const char *name, int v6)
{
	int	 fds[2], n = 0, fd6;

	memset(sv, 0, sizeof(*sv));
	ck_assert_int_ne(fds[n++] = listen_on(AF_INET, &sv->port), -1);
	if (v6 && (fd6 = listen_on(AF_INET6, &sv->port6)) != -1)
		fds[n++] = fd6;
	else
		sv->port6 = 0;
	ck_assert_int_ne(sv->pid = fork(), -1);
	if (sv->pid == 0) {
		setpgid(0, 0);
		serve(fds, n, name);
		_exit(0);
	}
	setpgid(sv->pid, sv->pid);
	while (n > 0)
		close(fds[--n]);
}

static void
stop_server(struct server *sv)
{
	if (sv->pid > 0) {
		kill(-sv->pid, SIGKILL);
		kill(sv->pid, SIGKILL);
		waitpid(sv->pid, NULL, 0);
		sv->pid = 0;
	}
}

static void
tls_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/signet-check-fetch-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	make_pki();
	start_server(&good, "good", 1);
	start_server(&wrong, "wrong", 0);
	start_server(&expired, "expired", 0);
	/* The kernel completes the TCP handshake; nobody ever accepts. */
	ck_assert_int_ne(silent_fd = listen_on(AF_INET, &silent_port), -1);
}

static void
tls_teardown(void)
{
	char	 cmd[128];

	stop_server(&good);
	stop_server(&wrong);
	stop_server(&expired);
	if (silent_fd != -1)
		close(silent_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum sig_err
get_url(const char *url, const char *ca, int allow_private, long timeout_ms,
    long max_bytes, struct fetch_result *r)
{
	struct fetch_opts	 o;

	o.ca_file = ca;
	o.allow_private = allow_private;
	o.timeout_ms = timeout_ms;
	o.max_bytes = max_bytes;
	return fetch_https(url, &o, r);
}

/* https://host:port/path with the test CA, private addresses allowed. */
static enum sig_err
get(const char *host, int port, const char *path, long timeout_ms,
    long max_bytes, struct fetch_result *r)
{
	char	 url[512];

	snprintf(url, sizeof(url), "https://%s:%d%s", host, port, path);
	return get_url(url, ca_file, 1, timeout_ms, max_bytes, r);
}

#define ASSERT_REASON(r, want) \
	ck_assert_msg(strstr((r).reason, (want)) != NULL, \
	    "reason \"%s\" does not mention \"%s\"", (r).reason, (want))

#define ASSERT_FAILED(rc, r, want) do { \
	ck_assert_int_eq((rc), SIG_EFETCH); \
	ck_assert_ptr_null((r).body); \
	ck_assert_int_eq((r).len, 0); \
	ASSERT_REASON((r), (want)); \
} while (0)

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	ck_assert_ptr_nonnull(d = opendir("/proc/self/fd"));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ */
/* fetch_address_class                                                 */

static const char *
class_of(const char *addr)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return fetch_address_class((struct sockaddr *)&sin);
	}
	ck_assert_msg(inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1,
	    "bad test address %s", addr);
	sin6.sin6_family = AF_INET6;
	return fetch_address_class((struct sockaddr *)&sin6);
}

static void
assert_class(const char *addr, const char *want)
{
	const char	*got = class_of(addr);

	if (want == NULL)
		ck_assert_msg(got == NULL, "%s: got \"%s\", want public",
		    addr, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0,
		    "%s: got \"%s\", want \"%s\"", addr,
		    got != NULL ? got : "public", want);
}

/* Both ends of every IPv4 range of PITFALLS.md, and the broadcast. */
START_TEST(test_class_v4_deny)
{
	static const char *cases[][2] = {
		{ "0.0.0.0", "unspecified" }, { "0.255.255.255", "unspecified" },
		{ "10.0.0.0", "private" }, { "10.255.255.255", "private" },
		{ "100.64.0.0", "private" }, { "100.127.255.255", "private" },
		{ "127.0.0.1", "loopback" }, { "127.255.255.254", "loopback" },
		{ "169.254.0.0", "link-local" },
		{ "169.254.169.254", "link-local" },
		{ "172.16.0.0", "private" }, { "172.31.255.255", "private" },
		{ "192.0.0.0", "reserved" }, { "192.0.0.255", "reserved" },
		{ "192.0.2.0", "documentation" },
		{ "192.0.2.255", "documentation" },
		{ "192.168.0.0", "private" }, { "192.168.255.255", "private" },
		{ "198.18.0.0", "benchmarking" },
		{ "198.19.255.255", "benchmarking" },
		{ "198.51.100.0", "documentation" },
		{ "198.51.100.255", "documentation" },
		{ "203.0.113.0", "documentation" },
		{ "203.0.113.255", "documentation" },
		{ "224.0.0.0", "multicast" }, { "239.255.255.255", "multicast" },
		{ "240.0.0.0", "reserved" }, { "255.255.255.254", "reserved" },
		{ "255.255.255.255", "broadcast" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_class(cases[i][0], cases[i][1]);
}
END_TEST

/* Public addresses, including the neighbours of every denied range. */
START_TEST(test_class_v4_public)
{
	static const char *cases[] = {
		"8.8.8.8", "1.1.1.1", "1.0.0.0", "9.255.255.255", "11.0.0.0",
		"100.63.255.255", "100.128.0.0", "126.255.255.255",
		"128.0.0.0", "169.253.255.255", "169.255.0.0",
		"172.15.255.255", "172.32.0.0", "191.255.255.255",
		"192.0.1.0", "192.0.3.0", "192.167.255.255", "192.169.0.0",
		"198.17.255.255", "198.20.0.0", "198.51.99.255",
		"198.51.101.0", "203.0.112.255", "203.0.114.0",
		"223.255.255.255",
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_class(cases[i], NULL);
}
END_TEST

/* The IPv6 deny list, and IPv4 inside mapped, NAT64 and 6to4 forms. */
START_TEST(test_class_v6_deny)
{
	static const char *cases[][2] = {
		{ "::", "unspecified" }, { "::1", "loopback" },
		{ "fc00::", "private" }, { "fdff:ffff::1", "private" },
		{ "fe80::1", "link-local" }, { "febf:ffff::1", "link-local" },
		{ "ff00::", "multicast" }, { "ff02::1", "multicast" },
		{ "2001:db8::", "documentation" },
		{ "2001:db8:ffff:ffff::1", "documentation" },
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:10.0.0.5", "private" },
		{ "::ffff:169.254.169.254", "link-local" },
		{ "::ffff:0.0.0.0", "unspecified" },
		{ "::ffff:255.255.255.255", "broadcast" },
		{ "64:ff9b::127.0.0.1", "loopback" },
		{ "64:ff9b::a00:5", "private" },
		{ "64:ff9b::192.168.1.1", "private" },
		{ "64:ff9b::203.0.113.1", "documentation" },
		/* Beyond the list: IPv4-compatible, local NAT64, discard,
		 * site-local, 6to4 around a forbidden IPv4 address. */
		{ "::127.0.0.1", "reserved" }, { "::8.8.8.8", "reserved" },
		{ "64:ff9b:1::1", "private" }, { "100::1", "reserved" },
		{ "fec0::1", "private" }, { "2002:7f00:1::1", "loopback" },
		{ "2002:a9fe:a9fe::", "link-local" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_class(cases[i][0], cases[i][1]);
}
END_TEST

START_TEST(test_class_v6_public)
{
	static const char *cases[] = {
		"2606:4700::1111", "2001:4860:4860::8888", "::2:0:0:1",
		"::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "64:ff9b::1:0:0:1",
		"2002:808:808::1", "2001:db7:ffff::1", "2001:db9::1",
		"fbff:ffff::1", "fe00::1", "fe7f:ffff::1", "2a00:1450::1",
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_class(cases[i], NULL);
}
END_TEST

START_TEST(test_class_other_family)
{
	struct sockaddr	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ck_assert_ptr_nonnull(fetch_address_class(&sa));
	ck_assert_ptr_nonnull(fetch_address_class(NULL));
}
END_TEST

/* ------------------------------------------------------------------ */
/* fetch_parse_url                                                     */

static void
url_ok(const char *url, const char *host, const char *port,
    const char *path)
{
	char	 h[256], p[6], pa[2049], why[SIG_MSG_MAX];

	ck_assert_msg(fetch_parse_url(url, h, p, pa, why) == 0,
	    "%s refused: %s", url, why);
	ck_assert_str_eq(h, host);
	ck_assert_str_eq(p, port);
	ck_assert_str_eq(pa, path);
}

static void
url_bad(const char *url, const char *want)
{
	char	 h[256], p[6], pa[2049], why[SIG_MSG_MAX];

	ck_assert_msg(fetch_parse_url(url, h, p, pa, why) == -1,
	    "%s accepted", url);
	ck_assert_msg(strstr(why, want) != NULL,
	    "%s: reason \"%s\" does not mention \"%s\"", url, why, want);
}

START_TEST(test_url_good)
{
	url_ok("https://example.com", "example.com", "443", "/");
	url_ok("https://example.com/", "example.com", "443", "/");
	url_ok("HTTPS://Keys.Example.COM:8443/.well-known/jwks.json?v=2#top",
	    "keys.example.com", "8443", "/.well-known/jwks.json?v=2");
	url_ok("https://example.com?x=1", "example.com", "443", "/?x=1");
	url_ok("https://example.com#frag", "example.com", "443", "/");
	url_ok("https://[2001:db8::1]:444/a/b", "2001:db8::1", "444", "/a/b");
	url_ok("https://[::1]", "::1", "443", "/");
	url_ok("https://127.0.0.1:1/", "127.0.0.1", "1", "/");
	url_ok("https://h:65535/", "h", "65535", "/");
	url_ok("https://h:0443/", "h", "443", "/");
	url_ok("https://my_host-1.example/x", "my_host-1.example", "443",
	    "/x");
	url_ok("https://h:00001", "h", "1", "/");
	url_ok("https://h/a#b?c", "h", "443", "/a");
}
END_TEST

START_TEST(test_url_bad)
{
	char	 longhost[400], longpath[2200];

	url_bad("http://example.com/jwks", "https");
	url_bad("ftp://example.com/", "https://");
	url_bad("example.com/jwks", "https://");
	url_bad("", "URL");
	url_bad(NULL, "URL");
	url_bad("https://", "no host");
	url_bad("https:///jwks", "no host");
	url_bad("https://:443/", "no host");
	url_bad("https://user:pw@example.com/", "user");
	url_bad("https://user@example.com/", "user");
	url_bad("https://example.com:0/", "port");
	url_bad("https://example.com:65536/", "port");
	url_bad("https://example.com:123456/", "port");
	url_bad("https://example.com:abc/", "port");
	url_bad("https://example.com:/", "port");
	url_bad("https://example.com:-1/", "port");
	url_bad("https://[::1/", "]");
	url_bad("https://[]/", "IPv6");
	url_bad("https://[not:hex::g]/", "IPv6");
	url_bad("https://[fe80::1%25eth0]/", "IPv6");
	url_bad("https://[::1]x/", "after the IPv6");
	url_bad("https://ex%61mple.com/", "host");
	/* Of two problems, the one checked first is reported. */
	url_bad("http://u@h:0/", "not http://");
	url_bad("https://u@[::1/", "user");
	url_bad("https://[zz]x/", "bad IPv6");
	url_bad("https://[::1]x:99999/", "after the IPv6");
	url_bad("https://h$:0/", "host name contains");
	url_bad("https://[::1]:0/", "port");
	url_bad("https://exa mple.com/", "space");
	url_bad("https://example.com/a\r\nX-Injected: 1", "control");
	url_bad("https://example.com/\xc3\xa9", "non-ASCII");
	memset(longhost, 'a', sizeof(longhost));
	memcpy(longhost, "https://", 8);
	longhost[sizeof(longhost) - 1] = '\0';
	url_bad(longhost, "longer");
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "https://h/", 10);
	longpath[sizeof(longpath) - 1] = '\0';
	url_bad(longpath, "longer");
}
END_TEST

/* ------------------------------------------------------------------ */
/* fetch_parse_head                                                    */

struct head {
	long	 ret;
	int	 status, chunked, location;
	long	 cl, max_age;
};

static struct head
head(const char *s)
{
	struct head	 h;

	h.ret = fetch_parse_head(s, strlen(s), &h.status, &h.cl, &h.chunked,
	    &h.max_age, &h.location);
	return h;
}

START_TEST(test_head_basic)
{
	const char	*s = "HTTP/1.1 200 OK\r\nContent-Type: application/json"
	    "\r\nContent-Length: 12\r\n\r\n{\"keys\":[]}\n";
	struct head	 h = head(s);

	ck_assert_int_eq(h.ret, strstr(s, "\r\n\r\n") + 4 - s);
	ck_assert_int_eq(h.status, 200);
	ck_assert_int_eq(h.cl, 12);
	ck_assert_int_eq(h.chunked, 0);
	ck_assert_int_eq(h.max_age, -1);
	ck_assert_int_eq(h.location, 0);

	/* No reason phrase, bare LF line ends, HTTP/1.0. */
	h = head("HTTP/1.0 404\n\n");
	ck_assert_int_eq(h.ret, 14);
	ck_assert_int_eq(h.status, 404);
	ck_assert_int_eq(h.cl, -1);

	/* Binary body bytes after the head do not matter. */
	ck_assert_int_eq(fetch_parse_head("HTTP/1.1 200 OK\r\n\r\n\0\0", 21,
	    &h.status, &h.cl, &h.chunked, &h.max_age, &h.location), 19);
}
END_TEST

START_TEST(test_head_chunked)
{
	struct head	 h;

	h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	ck_assert_int_gt(h.ret, 0);
	ck_assert_int_eq(h.chunked, 1);
	ck_assert_int_eq(h.cl, -1);
	h = head("HTTP/1.1 200 OK\r\ntransfer-encoding:  Chunked \r\n\r\n");
	ck_assert_int_eq(h.chunked, 1);
	h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n");
	ck_assert_int_gt(h.ret, 0);
	ck_assert_int_eq(h.chunked, 0);
	/* A coding we would hand over undecoded is refused. */
	ck_assert_int_eq(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, "
	    "chunked\r\n\r\n").ret, -1);
}
END_TEST

START_TEST(test_head_cache_control)
{
	struct head	 h;

	h = head("HTTP/1.1 200 OK\r\nCache-Control: public, max-age=600, "
	    "must-revalidate\r\n\r\n");
	ck_assert_int_eq(h.max_age, 600);
	h = head("HTTP/1.1 200 OK\r\nCache-Control: s-maxage=5, no-cache="
	    "\"a,max-age=1\",MAX-AGE=\"30\"\r\n\r\n");
	ck_assert_int_eq(h.max_age, 30);
	h = head("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\n"
	    "cache-control: max-age=7\r\n\r\n");
	ck_assert_int_eq(h.max_age, 7);
	h = head("HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\n\r\n");
	ck_assert_int_eq(h.max_age, 0);
	h = head("HTTP/1.1 200 OK\r\nCache-Control: max-age=abc\r\n\r\n");
	ck_assert_int_gt(h.ret, 0);
	ck_assert_int_eq(h.max_age, -1);
	h = head("HTTP/1.1 200 OK\r\nCache-Control: max-age=-5\r\n\r\n");
	ck_assert_int_eq(h.max_age, -1);
	h = head("HTTP/1.1 200 OK\r\nCache-Control: max-age="
	    "99999999999999999999999\r\n\r\n");
	ck_assert_int_eq(h.max_age, 2147483647L);
	h = head("HTTP/1.1 200 OK\r\nX-Cache-Control: max-age=9\r\n\r\n");
	ck_assert_int_eq(h.max_age, -1);
}
END_TEST

START_TEST(test_head_case_insensitive)
{
	struct head	 h;

	h = head("HTTP/1.1 302 Found\r\nLOCATION: /elsewhere\r\n"
	    "content-LENGTH: 0\r\nCACHE-CONTROL: MAX-AGE=60\r\n\r\n");
	ck_assert_int_gt(h.ret, 0);
	ck_assert_int_eq(h.status, 302);
	ck_assert_int_eq(h.location, 1);
	ck_assert_int_eq(h.cl, 0);
	ck_assert_int_eq(h.max_age, 60);
	/* Repeated but equal Content-Length is fine. */
	h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n");
	ck_assert_int_eq(h.cl, 5);
}
END_TEST

START_TEST(test_head_partial)
{
	ck_assert_int_eq(head("").ret, 0);
	ck_assert_int_eq(head("H").ret, 0);
	ck_assert_int_eq(head("HTTP/1").ret, 0);
	ck_assert_int_eq(head("HTTP/1.1 200 O").ret, 0);
	ck_assert_int_eq(head("HTTP/1.1 200 OK\r\n").ret, 0);
	ck_assert_int_eq(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n")
	    .ret, 0);
	ck_assert_int_eq(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r")
	    .ret, 0);
}
END_TEST

START_TEST(test_head_garbage)
{
	static const char *cases[] = {
		"hello world\r\n\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n",
		"<html>",
		"HTTP/2 200\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 099 Nope\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
	};
	struct head	 h;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(head(cases[i]).ret == -1, "accepted: %s",
		    cases[i]);
	/* A NUL inside the head. */
	ck_assert_int_eq(fetch_parse_head("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
	    26, &h.status, &h.cl, &h.chunked, &h.max_age, &h.location), -1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Real fetches                                                        */

START_TEST(test_fetch_ok)
{
	struct fetch_result	 r;

	ck_assert_int_eq(get("localhost", good.port, "/jwks", 5000, 262144,
	    &r), SIG_OK);
	ck_assert_ptr_nonnull(r.body);
	ck_assert_uint_eq(r.len, strlen(JWKS));
	ck_assert_str_eq(r.body, JWKS);
	ck_assert_int_eq(r.max_age, 600);
	free(r.body);
}
END_TEST

/* The request on the wire; SNI for a name, none for an IP literal. */
START_TEST(test_fetch_request_and_sni)
{
	struct fetch_result	 r;
	char			 want[64];

	ck_assert_int_eq(get("localhost", good.port, "/echo", 5000, 262144,
	    &r), SIG_OK);
	ck_assert_ptr_nonnull(strstr(r.body, "GET /echo HTTP/1.1\r\n"));
	snprintf(want, sizeof(want), "\r\nHost: localhost:%d\r\n", good.port);
	ck_assert_ptr_nonnull(strstr(r.body, want));
	ck_assert_ptr_nonnull(strstr(r.body, "\r\nAccept: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\r\nConnection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\r\nUser-Agent: signet\r\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "SNI: localhost\n"));
	ck_assert_int_eq(r.max_age, -1);
	free(r.body);

	ck_assert_int_eq(get("127.0.0.1", good.port, "/echo", 5000, 262144,
	    &r), SIG_OK);
	snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%d\r\n", good.port);
	ck_assert_ptr_nonnull(strstr(r.body, want));
	ck_assert_ptr_nonnull(strstr(r.body, "SNI: none\n"));
	free(r.body);

	/* 127.1 is checked against the certificate as 127.0.0.1. */
	ck_assert_int_eq(get("127.1", good.port, "/jwks", 5000, 262144, &r),
	    SIG_OK);
	ck_assert_str_eq(r.body, JWKS);
	free(r.body);
}
END_TEST

START_TEST(test_fetch_ipv6)
{
	struct fetch_result	 r;
	char			 want[64];

	if (good.port6 == 0) {
		fprintf(stderr, "test_fetch_ipv6: no IPv6 loopback, "
		    "skipped\n");
		return;
	}
	ck_assert_int_eq(get("[::1]", good.port6, "/echo", 5000, 262144, &r),
	    SIG_OK);
	snprintf(want, sizeof(want), "\r\nHost: [::1]:%d\r\n", good.port6);
	ck_assert_ptr_nonnull(strstr(r.body, want));
	ck_assert_ptr_nonnull(strstr(r.body, "SNI: none\n"));
	free(r.body);
}
END_TEST

/* Chunked with an extension and a trailer; close-delimited; 1xx first. */
START_TEST(test_fetch_framings)
{
	struct fetch_result	 r;
	static const char	*paths[] = { "/chunked", "/close", "/abrupt",
				    "/interim" };
	static const long	 ages[] = { 42, 5, -1, -1 };
	size_t			 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ck_assert_msg(get("localhost", good.port, paths[i], 5000,
		    262144, &r) == SIG_OK, "%s: %s", paths[i], r.reason);
		ck_assert_str_eq(r.body, JWKS);
		ck_assert_uint_eq(r.len, strlen(JWKS));
		ck_assert_int_eq(r.max_age, ages[i]);
		free(r.body);
	}
}
END_TEST

/* A body of exactly max_bytes passes, one byte more does not. */
START_TEST(test_fetch_cap_boundary)
{
	struct fetch_result	 r;
	static const char	*paths[] = { "/jwks", "/chunked", "/close" };
	long			 n = (long)strlen(JWKS);
	size_t			 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ck_assert_int_eq(get("localhost", good.port, paths[i], 5000,
		    n, &r), SIG_OK);
		ck_assert_uint_eq(r.len, (size_t)n);
		free(r.body);
		ASSERT_FAILED(get("localhost", good.port, paths[i], 5000,
		    n - 1, &r), r, "response is larger than");
	}
}
END_TEST

START_TEST(test_fetch_too_large)
{
	struct fetch_result	 r;
	static const char	*paths[] = { "/big", "/stream", "/bigchunked" };
	size_t			 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ASSERT_FAILED(get("localhost", good.port, paths[i], 5000,
		    262144, &r), r, "response is larger than 262144 bytes");
		/* Under a larger cap the same bodies come whole. */
		ck_assert_int_eq(get("localhost", good.port, paths[i], 5000,
		    BIG_LEN, &r), SIG_OK);
		ck_assert_uint_eq(r.len, BIG_LEN);
		ck_assert_uint_eq(strlen(r.body), BIG_LEN);
		free(r.body);
	}
}
END_TEST

START_TEST(test_fetch_untrusted)
{
	struct fetch_result	 r;
	char			 url[128];

	/* System trust does not know the test CA. */
	snprintf(url, sizeof(url), "https://localhost:%d/jwks", good.port);
	ASSERT_FAILED(get_url(url, NULL, 1, 5000, 262144, &r), r,
	    "certificate not trusted");
	ASSERT_FAILED(get_url(url, "", 1, 5000, 262144, &r), r,
	    "certificate not trusted");
}
END_TEST

START_TEST(test_fetch_wrong_host)
{
	struct fetch_result	 r;

	ASSERT_FAILED(get("localhost", wrong.port, "/jwks", 5000, 262144, &r),
	    r, "certificate does not match host localhost");
	ASSERT_FAILED(get("127.0.0.1", wrong.port, "/jwks", 5000, 262144, &r),
	    r, "certificate does not match host 127.0.0.1");
}
END_TEST

START_TEST(test_fetch_expired)
{
	struct fetch_result	 r;

	ASSERT_FAILED(get("localhost", expired.port, "/jwks", 5000, 262144,
	    &r), r, "certificate expired");
}
END_TEST

START_TEST(test_fetch_redirect)
{
	struct fetch_result	 r;

	ASSERT_FAILED(get("localhost", good.port, "/redirect", 5000, 262144,
	    &r), r, "redirects are not followed");
	ASSERT_REASON(r, "302");
}
END_TEST

START_TEST(test_fetch_status)
{
	struct fetch_result	 r;

	ASSERT_FAILED(get("localhost", good.port, "/nothing-here", 5000,
	    262144, &r), r, "HTTP status 404");
}
END_TEST

START_TEST(test_fetch_bad_responses)
{
	struct fetch_result	 r;

	ASSERT_FAILED(get("localhost", good.port, "/empty", 5000, 262144,
	    &r), r, "empty");
	ASSERT_FAILED(get("localhost", good.port, "/short", 5000, 262144,
	    &r), r, "closed before the end of the body");
	ASSERT_FAILED(get("localhost", good.port, "/garbage", 5000, 262144,
	    &r), r, "malformed HTTP response");
	ASSERT_FAILED(get("localhost", good.port, "/hugehead", 5000, 262144,
	    &r), r, "response head is larger than");
}
END_TEST

static void
assert_timeout(const char *host, int port, const char *path, long ms)
{
	struct fetch_result	 r;
	long			 t0, dt;
	char			 want[64];

	t0 = now_ms();
	ck_assert_int_eq(get(host, port, path, ms, 262144, &r), SIG_EFETCH);
	dt = now_ms() - t0;
	fprintf(stderr, "%s%s: timed out after %ld ms (deadline %ld ms)\n",
	    port == silent_port ? "silent listener" : "server", path, dt, ms);
	snprintf(want, sizeof(want), "timed out after %ld ms", ms);
	ASSERT_REASON(r, want);
	ck_assert_int_ge(dt, ms - 20);
	ck_assert_int_le(dt, ms + SLACK_MS);
}

/* TCP accepted by the kernel, no TLS answer: the handshake times out. */
START_TEST(test_fetch_silent_listener)
{
	assert_timeout("127.0.0.1", silent_port, "/", 1000);
}
END_TEST

/* TLS up, no HTTP answer: the head read times out. */
START_TEST(test_fetch_hang)
{
	assert_timeout("localhost", good.port, "/hang", 1000);
}
END_TEST

/* Each byte comes in time, the whole body does not: one deadline. */
START_TEST(test_fetch_slow_body)
{
	assert_timeout("localhost", good.port, "/slow", 1000);
}
END_TEST

/* Forbidden addresses are refused before any connection is made. */
START_TEST(test_fetch_private_refused)
{
	static const char	*hosts[][2] = {
		{ "127.0.0.1", "address 127.0.0.1 is loopback" },
		{ "localhost", "address 127.0.0.1 is loopback" },
		{ "127.1", "address 127.0.0.1 is loopback" },
		{ "2130706433", "address 127.0.0.1 is loopback" },
		{ "0x7f000001", "address 127.0.0.1 is loopback" },
		{ "[::1]", "address ::1 is loopback" },
		{ "[::ffff:127.0.0.1]", "is loopback" },
		{ "0.0.0.0", "address 0.0.0.0 is unspecified" },
		{ "10.0.0.5", "address 10.0.0.5 is private" },
		{ "169.254.169.254", "is link-local" },
	};
	struct fetch_result	 r;
	char			 url[128];
	size_t			 i;
	long			 t0;
	int			 fd, port;

	ck_assert_int_ne(fd = listen_on(AF_INET, &port), -1);
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		snprintf(url, sizeof(url), "https://%s:%d/jwks", hosts[i][0],
		    port);
		t0 = now_ms();
		ASSERT_FAILED(get_url(url, ca_file, 0, 5000, 262144, &r), r,
		    hosts[i][1]);
		ck_assert_int_lt(now_ms() - t0, 1000);
	}
	/* Nothing reached the listener. */
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(accept(fd, NULL, NULL), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	close(fd);

	/* The same server is fine once private addresses are allowed. */
	ck_assert_int_eq(get("127.0.0.1", good.port, "/jwks", 5000, 262144,
	    &r), SIG_OK);
	free(r.body);
}
END_TEST

START_TEST(test_fetch_http_refused)
{
	struct fetch_result	 r;
	char			 url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks", good.port);
	ASSERT_FAILED(get_url(url, ca_file, 1, 5000, 262144, &r), r,
	    "only https:// URLs are allowed");
}
END_TEST

START_TEST(test_fetch_connection_refused)
{
	struct fetch_result	 r;
	int			 fd, port;

	/* A port that was free a moment ago. */
	ck_assert_int_ne(fd = listen_on(AF_INET, &port), -1);
	close(fd);
	ASSERT_FAILED(get("127.0.0.1", port, "/jwks", 5000, 262144, &r), r,
	    "could not connect to 127.0.0.1 port");
}
END_TEST

START_TEST(test_fetch_bad_ca_file)
{
	struct fetch_result	 r;
	char			 url[128];

	snprintf(url, sizeof(url), "https://localhost:%d/jwks", good.port);
	ck_assert_int_eq(get_url(url, "/nonexistent/ca.pem", 1, 5000, 262144,
	    &r), SIG_EINTERNAL);
	ck_assert_ptr_null(r.body);
	ASSERT_REASON(r, "CA file");
}
END_TEST

/* Every path closes what it opened. */
START_TEST(test_fetch_no_fd_leak)
{
	struct fetch_result	 r;
	char			 url[128];
	int			 before, i;

	/* Warm up what GnuTLS and the resolver open once per process. */
	ck_assert_int_eq(get("localhost", good.port, "/jwks", 5000, 262144,
	    &r), SIG_OK);
	free(r.body);
	before = count_fds();
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(get("localhost", good.port, "/jwks", 5000,
		    262144, &r), SIG_OK);
		free(r.body);
		(void)get("localhost", wrong.port, "/jwks", 5000, 262144, &r);
		(void)get("localhost", good.port, "/big", 5000, 262144, &r);
		(void)get("localhost", good.port, "/redirect", 5000, 262144,
		    &r);
		(void)get("localhost", good.port, "/hang", 200, 262144, &r);
		(void)get("127.0.0.1", silent_port, "/", 200, 262144, &r);
		snprintf(url, sizeof(url), "https://localhost:%d/", good.port);
		(void)get_url(url, NULL, 1, 5000, 262144, &r);
		(void)get_url(url, ca_file, 0, 5000, 262144, &r);
		(void)get_url(url, "/nonexistent", 1, 5000, 262144, &r);
	}
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("fetch");
	TCase	*tc;

	tc = tcase_create("address");
	tcase_add_test(tc, test_class_v4_deny);
	tcase_add_test(tc, test_class_v4_public);
	tcase_add_test(tc, test_class_v6_deny);
	tcase_add_test(tc, test_class_v6_public);
	tcase_add_test(tc, test_class_other_family);
	suite_add_tcase(s, tc);

	tc = tcase_create("url");
	tcase_add_test(tc, test_url_good);
	tcase_add_test(tc, test_url_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("head");
	tcase_add_test(tc, test_head_basic);
	tcase_add_test(tc, test_head_chunked);
	tcase_add_test(tc, test_head_cache_control);
	tcase_add_test(tc, test_head_case_insensitive);
	tcase_add_test(tc, test_head_partial);
	tcase_add_test(tc, test_head_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_add_unchecked_fixture(tc, tls_setup, tls_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_fetch_ok);
	tcase_add_test(tc, test_fetch_request_and_sni);
	tcase_add_test(tc, test_fetch_ipv6);
	tcase_add_test(tc, test_fetch_framings);
	tcase_add_test(tc, test_fetch_cap_boundary);
	tcase_add_test(tc, test_fetch_too_large);
	tcase_add_test(tc, test_fetch_untrusted);
	tcase_add_test(tc, test_fetch_wrong_host);
	tcase_add_test(tc, test_fetch_expired);
	tcase_add_test(tc, test_fetch_redirect);
	tcase_add_test(tc, test_fetch_status);
	tcase_add_test(tc, test_fetch_bad_responses);
	tcase_add_test(tc, test_fetch_silent_listener);
	tcase_add_test(tc, test_fetch_hang);
	tcase_add_test(tc, test_fetch_slow_body);
	tcase_add_test(tc, test_fetch_private_refused);
	tcase_add_test(tc, test_fetch_http_refused);
	tcase_add_test(tc, test_fetch_connection_refused);
	tcase_add_test(tc, test_fetch_bad_ca_file);
	tcase_add_test(tc, test_fetch_no_fd_leak);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
