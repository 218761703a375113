/*
 * null-responder: the ceiling for scripts/bench.
 *
 * A FastCGI responder that does no work: it answers every request with the
 * same status line, headers and JSON body that Signet sends for
 * GET /v1/endpoints/{id}/signing-keys (captured by scripts/bench from the
 * real instance), so the bytes through lighttpd and the socket are the same
 * on both sides of the comparison.  lighttpd spawns it exactly as it spawns
 * signet.fcgi (bin-path, the listening socket on fd 0, max-procs copies).
 *
 * It reads the response once at start from the file named by
 * BENCH_NULL_RESPONSE: the CGI header block (lines "Name: value", e.g.
 * "Status: 200 OK", "X-Request-Id: req_...", "Content-Type: ...") followed by
 * an empty line and the body.  Content-Length is computed here.  When
 * BENCH_NULL_POST_RESPONSE names a second such file, POST requests are
 * answered with it instead (scripts/bench captures Signet's answer to the
 * sign request there, so the POST ceiling carries the same bytes both ways).
 *
 *   cc -O2 -o null-responder null-responder.c $(pkg-config --cflags --libs fcgi)
 *
 * (Debian's libfcgi-dev has no .pc file: -lfcgi works too.)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Read a response file and build the whole answer: headers, length, body. */
static char *
load_response(const char *path, size_t *rlen)
{
	char	*file, *sep, *resp;
	size_t	 flen, hlen, blen;

	if ((file = slurp(path, &flen)) == NULL) {
		fprintf(stderr, "null-responder: cannot read %s\n", path);
		return NULL;
	}
	/* Split "headers\r\n\r\nbody" (or with bare \n). */
	if ((sep = strstr(file, "\r\n\r\n")) != NULL) {
		hlen = (size_t)(sep - file) + 2;
		blen = flen - hlen - 2;
		sep += 4;
	} else if ((sep = strstr(file, "\n\n")) != NULL) {
		hlen = (size_t)(sep - file) + 1;
		blen = flen - hlen - 1;
		sep += 2;
	} else {
		fprintf(stderr, "null-responder: no empty line in %s\n", path);
		free(file);
		return NULL;
	}
	if ((resp = malloc(hlen + 64 + blen)) == NULL) {
		free(file);
		return NULL;
	}
	memcpy(resp, file, hlen);
	*rlen = hlen + (size_t)snprintf(resp + hlen, 64,
	    "Content-Length: %zu\r\n\r\n", blen);
	memcpy(resp + *rlen, sep, blen);
	*rlen += blen;
	free(file);
	return resp;
}

int
main(void)
{
	struct sigaction sa;
	FCGX_Request	 r;
	const char	*path, *method;
	char		*resp, *post, drain[8192];
	size_t		 rlen, plen = 0;
	int		 n;

	if ((path = getenv("BENCH_NULL_RESPONSE")) == NULL) {
		fprintf(stderr, "null-responder: set BENCH_NULL_RESPONSE to a "
		    "readable response file\n");
		return 1;
	}
	if ((resp = load_response(path, &rlen)) == NULL)
		return 1;
	post = NULL;
	if ((path = getenv("BENCH_NULL_POST_RESPONSE")) != NULL && *path != '\0' &&
	    (post = load_response(path, &plen)) == NULL)
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: accept returns */
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (FCGX_Init() != 0)
		return 1;
	FCGX_InitRequest(&r, 0, FCGI_FAIL_ACCEPT_ON_INTR);
	while (!stopping && FCGX_Accept_r(&r) >= 0) {
		/* A POST body is read, as the app reads it. */
		while ((n = FCGX_GetStr(drain, sizeof(drain), r.in)) > 0)
			;
		method = FCGX_GetParam("REQUEST_METHOD", r.envp);
		if (post != NULL && method != NULL && strcmp(method, "POST") == 0)
			FCGX_PutStr(post, (int)plen, r.out);
		else
			FCGX_PutStr(resp, (int)rlen, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
