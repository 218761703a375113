/* Shared-memory request metrics in the Prometheus text format. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signet/log.h"
#include "signet/metrics.h"

#define MAGIC		UINT64_C(0x315445504e474953)	/* "SIGNPET1" */
#define NSTATUS		16
#define NBUCKETS	12

static const int statuses[NSTATUS - 1] = { 200, 201, 204, 304, 400, 401, 403,
    404, 405, 409, 413, 415, 500, 503, 0 };
static const double bounds[NBUCKETS - 1] = { 0.0005, 0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0 };

struct shm {
	uint64_t	 magic;
	uint64_t	 requests[METRICS_ROUTES][NSTATUS];
	uint64_t	 buckets[METRICS_ROUTES][NBUCKETS];
	uint64_t	 sum_us[METRICS_ROUTES];
	uint64_t	 counters[METRIC_COUNTERS];
	/* Not metrics, but shared the same way (appended: older files grow). */
	uint64_t	 auth_generation;	/* bumped by every revocation */
	uint64_t	 slots_claimed;		/* processes that asked for a slot */
};

static struct shm *shm;

static enum sig_err
map_file(const char *home, int create)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	void		*p;
	int		 fd;

	if (shm != NULL)
		return SIG_OK;
	if (snprintf(path, sizeof(path), "%s/metrics.shm", home) >=
	    (int)sizeof(path))
		return SIG_EINTERNAL;
	if ((fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0),
	    0600)) == -1) {
		if (!create && errno == ENOENT)
			return SIG_ENOTFOUND;
		log_msg(LOG_WARN, "metrics: cannot open %s: %s", path,
		    strerror(errno));
		return SIG_EINTERNAL;
	}
	/* Growing only: every process agrees on the size of this version. */
	if (fstat(fd, &st) == -1 || (st.st_size < (off_t)sizeof(struct shm) &&
	    ftruncate(fd, sizeof(struct shm)) == -1)) {
		close(fd);
		return SIG_EINTERNAL;
	}
	p = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return SIG_EINTERNAL;
	shm = p;
	if (__atomic_load_n(&shm->magic, __ATOMIC_RELAXED) != MAGIC) {
		/* New (all zero) or of another layout: start afresh. */
		if (shm->magic != 0)
			memset(shm, 0, sizeof(*shm));
		__atomic_store_n(&shm->magic, MAGIC, __ATOMIC_RELAXED);
	}
	return SIG_OK;
}

enum sig_err
metrics_open(const char *home)
{
	return map_file(home, 1);
}

enum sig_err
metrics_attach(const char *home)
{
	return map_file(home, 0);
}

static int
status_slot(int status)
{
	int	 i;

	for (i = 0; i < NSTATUS - 1; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void
metrics_request(int route, int status, uint64_t latency_us)
{
	int	 b;

	if (shm == NULL || route < 0 || route >= METRICS_ROUTES)
		return;
	__atomic_fetch_add(&shm->requests[route][status_slot(status)], 1,
	    __ATOMIC_RELAXED);
	for (b = 0; b < NBUCKETS - 1; b++)
		if ((double)latency_us / 1e6 <= bounds[b])
			break;
	__atomic_fetch_add(&shm->buckets[route][b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&shm->sum_us[route], latency_us, __ATOMIC_RELAXED);
}

void
metrics_count(enum metric_counter c)
{
	if (shm != NULL && c < METRIC_COUNTERS)
		__atomic_fetch_add(&shm->counters[c], 1, __ATOMIC_RELAXED);
}

int
metrics_auth_generation(uint64_t *gen)
{
	if (shm == NULL)
		return 0;
	*gen = __atomic_load_n(&shm->auth_generation, __ATOMIC_ACQUIRE);
	return 1;
}

int
metrics_auth_revoked(void)
{
	if (shm == NULL)
		return 0;
	__atomic_fetch_add(&shm->auth_generation, 1, __ATOMIC_SEQ_CST);
	return 1;
}

unsigned
metrics_slot(void)
{
	if (shm == NULL)
		return (unsigned)getpid();
	return (unsigned)__atomic_fetch_add(&shm->slots_claimed, 1,
	    __ATOMIC_RELAXED);
}

enum sig_err
textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*grown;
	size_t	 want;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p == NULL ? NULL : b->p + b->len,
		    b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return SIG_EINTERNAL;
		if (b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return SIG_OK;
		}
		want = b->cap * 2 + (size_t)n + 4096;
		if ((grown = realloc(b->p, want)) == NULL)
			return SIG_EINTERNAL;
		b->p = grown;
		b->cap = want;
	}
}

/* A route template as a label: "{}" becomes "{id}". */
static void
label(const char *pattern, char *out, size_t outsz)
{
	size_t	 o = 0;

	for (; *pattern != '\0' && o + 5 < outsz; pattern++) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			memcpy(out + o, "{id}", 4);
			o += 4;
			pattern++;
		} else
			out[o++] = *pattern;
	}
	out[o] = '\0';
}

enum sig_err
metrics_render(struct textbuf *b,
    int (*route_name)(int, const char **, const char **))
{
	const char	*method, *pattern;
	char		 lbl[160];
	uint64_t	 n, cum;
	int		 r, s, k;
	enum sig_err	 rc = SIG_OK;

	if (shm == NULL)
		return SIG_OK;
	rc |= textbuf_printf(b, "# HELP signet_requests_total Requests "
	    "answered, by route template and status.\n"
	    "# TYPE signet_requests_total counter\n");
	for (r = 0; r < METRICS_ROUTES; r++) {
		if (!route_name(r, &method, &pattern))
			continue;
		label(pattern, lbl, sizeof(lbl));
		for (s = 0; s < NSTATUS; s++) {
			n = __atomic_load_n(&shm->requests[r][s],
			    __ATOMIC_RELAXED);
			if (n == 0)
				continue;
			if (statuses[s] != 0)
				rc |= textbuf_printf(b, "signet_requests_total"
				    "{method=\"%s\",route=\"%s\",status=\"%d\"} "
				    "%llu\n", method, lbl, statuses[s],
				    (unsigned long long)n);
			else
				rc |= textbuf_printf(b, "signet_requests_total"
				    "{method=\"%s\",route=\"%s\",status=\"other\"} "
				    "%llu\n", method, lbl, (unsigned long long)n);
		}
	}
	rc |= textbuf_printf(b, "# HELP signet_request_duration_seconds Time "
	    "from request to answer inside the worker.\n"
	    "# TYPE signet_request_duration_seconds histogram\n");
	for (r = 0; r < METRICS_ROUTES; r++) {
		if (!route_name(r, &method, &pattern))
			continue;
		label(pattern, lbl, sizeof(lbl));
		for (cum = 0, k = 0; k < NBUCKETS; k++)
			cum += __atomic_load_n(&shm->buckets[r][k],
			    __ATOMIC_RELAXED);
		if (cum == 0)
			continue;
		for (cum = 0, k = 0; k < NBUCKETS; k++) {
			cum += __atomic_load_n(&shm->buckets[r][k],
			    __ATOMIC_RELAXED);
			if (k < NBUCKETS - 1)
				rc |= textbuf_printf(b, "signet_request_duration"
				    "_seconds_bucket{method=\"%s\",route=\"%s\","
				    "le=\"%g\"} %llu\n", method, lbl, bounds[k],
				    (unsigned long long)cum);
			else
				rc |= textbuf_printf(b, "signet_request_duration"
				    "_seconds_bucket{method=\"%s\",route=\"%s\","
				    "le=\"+Inf\"} %llu\n", method, lbl,
				    (unsigned long long)cum);
		}
		rc |= textbuf_printf(b, "signet_request_duration_seconds_sum"
		    "{method=\"%s\",route=\"%s\"} %.6f\n"
		    "signet_request_duration_seconds_count{method=\"%s\","
		    "route=\"%s\"} %llu\n", method, lbl,
		    (double)__atomic_load_n(&shm->sum_us[r], __ATOMIC_RELAXED) /
		    1e6, method, lbl, (unsigned long long)cum);
	}
	rc |= textbuf_printf(b, "# HELP signet_storage_deadlocks_retried_total "
	    "Transactions rerun after losing a deadlock.\n"
	    "# TYPE signet_storage_deadlocks_retried_total counter\n"
	    "signet_storage_deadlocks_retried_total %llu\n"
	    "# HELP signet_watchdog_exits_total Processes ended by the storage "
	    "watchdog.\n"
	    "# TYPE signet_watchdog_exits_total counter\n"
	    "signet_watchdog_exits_total %llu\n",
	    (unsigned long long)__atomic_load_n(
	    &shm->counters[METRIC_DEADLOCKS_RETRIED], __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(
	    &shm->counters[METRIC_WATCHDOG_EXITS], __ATOMIC_RELAXED));
	return rc == SIG_OK ? SIG_OK : SIG_EINTERNAL;
}
