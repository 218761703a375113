/*
 * signet.fcgi: the FastCGI worker.
 *
 *   signet.fcgi                          serve on the inherited socket (fd 0),
 *                                        as lighttpd bin-path and mod_fcgid
 *                                        spawn it; one request at a time
 *   signet.fcgi --listen ADDR --workers N
 *                                        open ADDR (a path or host:port),
 *                                        pre-fork N workers that accept on it,
 *                                        restart any that dies, stop on SIGTERM
 *
 * A worker sets up once (configuration, master key, storage) and serves many
 * requests.  It reads the CGI variables into a struct http_request, bounds
 * and reads the body, asks app_handle for the answer and writes it back.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "signet/app.h"
#include "signet/crypto.h"
#include "signet/log.h"
#include "signet/metrics.h"
#include "signet/sbuf.h"
#include "signet/validate.h"
#include "signet/watchdog.h"

#define MAX_WORKERS	256
#define DRAIN_MAX	(64L * 1024 * 1024)
#define REQUEST_WATCHDOG_S	15
#define MAINTAIN_EVERY		1000	/* requests between housekeeping */
#define SLOW_HOUSEKEEPING_MS	100	/* logged when it takes longer */
#define UNAVAILABLE_S		30	/* a worker that cannot start answers */

static volatile sig_atomic_t stopping, ticked;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
on_tick(int sig)
{
	(void)sig;
	ticked = 1;
}

/*
 * The idle timer: while a worker waits for a request, SIGUSR2 after
 * housekeeping_seconds ends the wait (accept fails with EINTR) so that clock-driven
 * housekeeping (app_tick) runs in an idle pool too.  Armed only around the
 * wait: no call of a request, nor Berkeley DB, sees the signal.
 */
static timer_t	 idle_timer;
static int	 idle_timer_ok;

static void
idle_timer_set(long seconds)
{
	struct itimerspec its;

	if (!idle_timer_ok)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = seconds;
	(void)timer_settime(idle_timer, 0, &its, NULL);
}

static void
set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked accept must return so the worker stops. */
	sigaction(sig, &sa, NULL);
}

/*
 * Parse CONTENT_LENGTH: digits only, no sign, no overflow.  Returns the
 * value, 0 when absent or empty, or -1 when malformed.
 */
static long
content_length(const char *s)
{
	int64_t	 n;

	if (s == NULL || *s == '\0')
		return 0;
	/*
	 * The largest value the former digit loop's overflow guard let
	 * through (LONG_MAX - 8 with a 64-bit long): above it, still malformed.
	 */
	if (parse_decimal(s, strlen(s), 0, (LONG_MAX - 9) / 10 * 10 + 9,
	    &n) == -1)
		return -1;
	return (long)n;
}

/* Read and discard what is left of a body we refuse, so the server's write
 * of it completes and our answer is not lost to a connection reset. */
static void
drain(FCGX_Stream *in)
{
	char	 buf[8192];
	long	 total = 0;
	int	 n;

	while (total < DRAIN_MAX && (n = FCGX_GetStr(buf, sizeof(buf), in)) > 0)
		total += n;
}

/*
 * The CGI variables the application reads, in one pass over the
 * environment (libfcgi's FCGX_GetParam scans it once per name).  As with
 * FCGX_GetParam, the first occurrence of a name wins.  The pointers live
 * until FCGX_Finish_r.
 */
static void
read_params(char **envp, struct http_request *req, const char **clen)
{
	static const struct {
		const char	*name;
		size_t		 len;
		size_t		 off;	/* in struct http_request; or clen */
	} want[] = {
#define P(n, f)	{ n "=", sizeof(n), offsetof(struct http_request, f) }
		P("REQUEST_METHOD", method),
		P("REQUEST_URI", uri),
		P("CONTENT_TYPE", content_type),
		P("HTTP_AUTHORIZATION", authorization),
		P("HTTP_X_OTP", otp),
		P("HTTP_IF_NONE_MATCH", if_none_match),
#undef P
		{ "CONTENT_LENGTH=", sizeof("CONTENT_LENGTH"), SIZE_MAX },
	};
	const char	**slot;
	size_t		 i;

	*clen = NULL;
	for (; envp != NULL && *envp != NULL; envp++) {
		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			if ((*envp)[0] != want[i].name[0] ||
			    strncmp(*envp, want[i].name, want[i].len) != 0)
				continue;
			slot = want[i].off == SIZE_MAX ? clen :
			    (const char **)(void *)((char *)req + want[i].off);
			if (*slot == NULL)
				*slot = *envp + want[i].len;
			break;
		}
	}
}

/*
 * Read the body: exactly Content-Length bytes, at most the cap, into req.
 * Small bodies go to a buffer kept by the worker (a body of a KiB or more
 * was the one large allocation of a request, and malloc sweeps its free
 * lists before every large one); returns what the caller frees, if any.
 */
#define BODY_KEPT	16384

static char *
read_body(FCGX_Request *r, const char *clen, long cap,
    struct http_request *req)
{
	static char	 kept[BODY_KEPT];
	char		*buf;
	long		 len, got = 0;
	int		 n;

	len = content_length(clen);
	req->body_len = 0;
	req->body_err = SIG_OK;
	if (len < 0) {
		req->body_err = SIG_EINVAL;
		drain(r->in);
		return NULL;
	}
	if (len > cap) {
		req->body_err = SIG_ETOOLARGE;
		drain(r->in);
		return NULL;
	}
	if (len < BODY_KEPT)
		buf = kept;
	else if ((buf = malloc((size_t)len + 1)) == NULL) {
		req->body_err = SIG_ETOOLARGE;
		drain(r->in);
		return NULL;
	}
	while (got < len) {
		n = FCGX_GetStr(buf + got, (int)(len - got), r->in);
		if (n <= 0)
			break;
		got += n;
	}
	if (got < len)
		req->body_err = SIG_EINVAL;
	else
		drain(r->in);	/* more than announced: ignore the rest */
	buf[got] = '\0';
	req->body = buf;
	req->body_len = (size_t)got;
	return buf != kept ? buf : NULL;
}

/* Write the response: the head is built without printf (every request). */
static void
write_response(FCGX_Request *r, const struct http_response *res)
{
	struct sbuf	 b;
	char		 head[2048];
	long		 n;
	int		 i, body;

	body = res->body != NULL && res->status != 204 && res->status != 304;
	sbuf_init(&b, head, sizeof(head));
	sbuf_put(&b, "Status: ");
	sbuf_uint(&b, (unsigned)res->status);
	sbuf_put(&b, " ");
	sbuf_put(&b, http_reason(res->status));
	sbuf_put(&b, "\r\nX-Request-Id: ");
	sbuf_put(&b, res->request_id);
	sbuf_put(&b, "\r\n");
	for (i = 0; i < res->nheaders; i++) {
		sbuf_put(&b, res->headers[i].name);
		sbuf_put(&b, ": ");
		sbuf_put(&b, res->headers[i].value);
		sbuf_put(&b, "\r\n");
	}
	if (body) {
		sbuf_put(&b, "Content-Type: ");
		sbuf_put(&b, res->content_type ? res->content_type :
		    "application/json");
		sbuf_put(&b, "\r\nContent-Length: ");
		sbuf_uint(&b, res->body_len);
		sbuf_put(&b, "\r\n");
	}
	sbuf_put(&b, "\r\n");
	if ((n = sbuf_done(&b)) < 0) {
		/* Cannot happen with our header sizes; fail loudly if it does. */
		FCGX_PutS("Status: 500 Internal Server Error\r\n\r\n", r->out);
		return;
	}
	FCGX_PutStr(head, (int)n, r->out);
	if (body)
		FCGX_PutStr(res->body, (int)res->body_len, r->out);
}

/* The request's log line: method, route, status, time, request id. */
static void
log_request(const struct http_request *req, const struct http_response *res,
    long tenths)
{
	struct sbuf	 b;
	char		 text[512];
	long		 n;

	sbuf_init(&b, text, sizeof(text));
	sbuf_put(&b, req->method);
	sbuf_put(&b, " ");
	sbuf_put(&b, res->route);
	sbuf_put(&b, " ");
	sbuf_uint(&b, (unsigned)res->status);
	sbuf_put(&b, " ");
	sbuf_uint(&b, (unsigned long)(tenths / 10));
	sbuf_put(&b, ".");
	sbuf_uint(&b, (unsigned long)(tenths % 10));
	sbuf_put(&b, "ms ");
	sbuf_put(&b, res->request_id);
	if ((n = sbuf_done(&b)) >= 0)
		log_text(LOG_INFO, text, (size_t)n);
}

/*
 * After a response that carried key material: push it out, then clear
 * libfcgi's output buffer and our copy.  FFlush leaves wrNext at the start of
 * the (now sent) content area, so [wrNext, stop) is the whole buffer.
 */
static void
wipe_sent(FCGX_Request *r, struct http_response *res)
{
	FCGX_FFlush(r->out);
	if (r->out->wrNext != NULL && r->out->stop > r->out->wrNext)
		crypto_wipe(r->out->wrNext, (size_t)(r->out->stop -
		    r->out->wrNext));
	crypto_wipe(res->body, res->body_len);
}

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 +
	    (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * A worker that could not start: for UNAVAILABLE_S seconds, answer every
 * request with 503 and hand why to the web server on the request's own
 * FastCGI error stream, which mod_fcgid writes to the error log of the
 * request's virtual host: the log a shared-hosting user can read, unlike
 * the server's main log, where our stderr goes.  Then exit, so that the web
 * server starts a new worker once the cause is fixed.  Returns 1.
 */
static int
serve_unavailable(int sock, const char *why)
{
	FCGX_Request		 r;
	struct http_request	 req;
	struct http_response	 res;
	const char		*clen;
	int			 n = 0;

	FCGX_InitRequest(&r, sock, FCGI_FAIL_ACCEPT_ON_INTR);
	idle_timer_set(UNAVAILABLE_S);
	while (!stopping && !ticked && FCGX_Accept_r(&r) >= 0) {
		memset(&req, 0, sizeof(req));
		read_params(r.envp, &req, &clen);
		drain(r.in);
		/* Once a worker is enough for the log; each answer is 503. */
		if (n++ == 0)
			FCGX_FPrintF(r.err, "signet: worker cannot start: %s\n",
			    why);
		app_unavailable(&req, &res);
		write_response(&r, &res);
		free(res.body);
		FCGX_Finish_r(&r);
	}
	idle_timer_set(0);
	return 1;
}

/* Serve requests on sock until told to stop.  Returns an exit status. */
static int
worker(int sock)
{
	struct app		 app;
	FCGX_Request		 r;
	struct http_request	 req;
	struct http_response	 res;
	struct timespec		 t0;
	const char		*clen;
	char			*body;
	unsigned		 watchdog_s;
	long			 tenths, ms;
	unsigned long		 served = 0;

	set_handler(SIGTERM, on_term);
	set_handler(SIGINT, on_term);
	set_handler(SIGUSR2, on_tick);
	signal(SIGPIPE, SIG_IGN);
	{
		struct sigevent	 ev;

		memset(&ev, 0, sizeof(ev));
		ev.sigev_notify = SIGEV_SIGNAL;
		ev.sigev_signo = SIGUSR2;
		idle_timer_ok = timer_create(CLOCK_MONOTONIC, &ev,
		    &idle_timer) == 0;
	}
	if (app_open(&app, NULL) != SIG_OK) {
		char	 why[1024];
		int	 other_user;

		other_user = app_why_not(&app, why, sizeof(why));
		log_msg(LOG_ERR, "worker cannot start: %s", why);
		/*
		 * Storage that did not open for its owner may open for the next
		 * worker (recovery, a watchdog marker): exit at once, as ever.
		 */
		if (app.store_failed && !other_user)
			return 1;
		return serve_unavailable(sock, why);
	}
	/* Longer than any honest request: a JWKS fetch has its own deadline. */
	watchdog_s = REQUEST_WATCHDOG_S + (unsigned)(app.cfg.jwks_fetch_timeout_ms
	    / 1000);
	/* Housekeeping at a random phase: workers should not all do it at once. */
	if (crypto_random(&served, sizeof(served), 0) == SIG_OK)
		served %= MAINTAIN_EVERY;
	FCGX_InitRequest(&r, sock, FCGI_FAIL_ACCEPT_ON_INTR);
	while (!stopping && !store_failed(app.store)) {
		/*
		 * Not on a site of a replication group: its repmgr threads and
		 * elections are better left without a signal, and its master
		 * does its clock-driven housekeeping after requests.
		 */
		if (!store_replicated(app.store))
			idle_timer_set(app_tick_wait(&app));
		if (FCGX_Accept_r(&r) < 0) {
			idle_timer_set(0);
			if (ticked && !stopping) {
				ticked = 0;
				(void)app_tick(&app);
				continue;
			}
			break;
		}
		idle_timer_set(0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		watchdog_arm(watchdog_s);
		memset(&req, 0, sizeof(req));
		read_params(r.envp, &req, &clen);
		if (req.method == NULL)
			req.method = "";
		body = read_body(&r, clen, app.cfg.max_body_bytes, &req);
		app_handle(&app, &req, &res);
		write_response(&r, &res);
		if (res.sensitive)
			wipe_sent(&r, &res);
		metrics_request(res.route_index, res.status,
		    (uint64_t)(elapsed_ms(&t0) * 1000));
		/* The path only: it holds no secret, the query string might. */
		tenths = (long)(elapsed_ms(&t0) * 10 + 0.5);
		log_request(&req, &res, tenths);
		free(res.body);
		free(body);
		FCGX_Finish_r(&r);
		/* The answer is out: now the checkpoint, if one is due. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		store_housekeep(app.store);
		if (++served % MAINTAIN_EVERY == 0)
			(void)app_maintain(&app);
		(void)app_tick(&app);
		if ((ms = (long)elapsed_ms(&t0)) >= SLOW_HOUSEKEEPING_MS)
			log_msg(LOG_WARN, "housekeeping took %ld ms: this worker "
			    "took no request meanwhile", ms);
		watchdog_arm(0);
	}
	app_close(&app);
	return 0;
}

static pid_t
spawn(int sock)
{
	pid_t	 pid = fork();

	if (pid == 0)
		_exit(worker(sock));
	if (pid < 0)
		log_msg(LOG_ERR, "fork: %s", strerror(errno));
	return pid;
}

/* The standalone pool: N workers on one socket, restarted when they die. */
static int
pool(const char *listen, int nworkers)
{
	pid_t		 pids[MAX_WORKERS];
	pid_t		 pid;
	int		 sock, i, status, alive;

	if ((sock = FCGX_OpenSocket(listen, 128)) < 0) {
		log_msg(LOG_ERR, "cannot listen on %s", listen);
		return 1;
	}
	set_handler(SIGTERM, on_term);
	set_handler(SIGINT, on_term);
	for (i = 0; i < nworkers; i++)
		pids[i] = spawn(sock);
	log_msg(LOG_INFO, "listening on %s with %d workers", listen, nworkers);
	while (!stopping) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < nworkers; i++) {
			if (pids[i] != pid)
				continue;
			log_msg(LOG_WARN, "worker %ld exited (status %d); "
			    "restarting", (long)pid, status);
			if (!stopping) {
				/* Do not spin if workers die at once. */
				sleep(1);
				pids[i] = spawn(sock);
			}
		}
	}
	for (i = 0; i < nworkers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (alive = nworkers; alive > 0;) {
		if (waitpid(-1, &status, 0) < 0 && errno != EINTR)
			break;
		alive--;
	}
	close(sock);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: signet.fcgi [--listen PATH|HOST:PORT "
	    "[--workers N]]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char	*listen = NULL;
	const char	*arg;
	int64_t		 workers = 4;
	int		 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			/* Leading blanks and a '+' pass, as with strtol. */
			arg = argv[++i];
			arg += strspn(arg, " \t\n\v\f\r");
			arg += *arg == '+';
			if (parse_decimal(arg, strlen(arg), 1, MAX_WORKERS,
			    &workers) == -1)
				usage();
		} else
			usage();
	}
	if (FCGX_Init() != 0) {
		log_msg(LOG_ERR, "FCGX_Init failed");
		return 1;
	}
	if (listen != NULL)
		return pool(listen, (int)workers);
	return worker(0);
}
