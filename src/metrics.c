/*
 * Request metrics counted in the shared file's request cells (shm.h), and
 * their Prometheus text exposition.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "signet/metrics.h"
#include "signet/sbuf.h"
#include "signet/shm.h"

#define NSTATUS		SHM_STATUSES
#define NBUCKETS	SHM_BUCKETS

_Static_assert(METRIC_COUNTERS <= SHM_COUNTERS + SHM_MORE_COUNTERS,
    "every counter has its shared cell");

static const int statuses[NSTATUS - 1] = { 200, 201, 204, 304, 400, 401, 403,
    404, 405, 409, 413, 415, 500, 503, 0 };
static const double bounds[NBUCKETS - 1] = { 0.0005, 0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0 };

static int	 status_slot(int);
static void	 label(const char *, char *, size_t);
static int	 route_label(int (*)(int, const char **, const char **), int,
		    const char **, char *, size_t);

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
	struct shm_requests *m = shm_requests();
	int	 b;

	if (m == NULL || route < 0 || route >= METRICS_ROUTES)
		return;
	__atomic_fetch_add(&m->requests[route][status_slot(status)], 1,
	    __ATOMIC_RELAXED);
	for (b = 0; b < NBUCKETS - 1; b++)
		if ((double)latency_us / 1e6 <= bounds[b])
			break;
	__atomic_fetch_add(&m->buckets[route][b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->sum_us[route], latency_us, __ATOMIC_RELAXED);
}

void
metrics_count(enum metric_counter c)
{
	struct shm_requests *m = shm_requests();
	uint64_t	*more = shm_more_counters();

	if (m != NULL && c < SHM_COUNTERS)
		__atomic_fetch_add(&m->counters[c], 1, __ATOMIC_RELAXED);
	else if (more != NULL && c < METRIC_COUNTERS)
		__atomic_fetch_add(&more[c - SHM_COUNTERS], 1, __ATOMIC_RELAXED);
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

/* Route slot r's method and label (lbl, lblsz); 0 for an unused slot. */
static int
route_label(int (*route_name)(int, const char **, const char **), int r,
    const char **method, char *lbl, size_t lblsz)
{
	const char	*pattern;

	if (!route_name(r, method, &pattern))
		return 0;
	label(pattern, lbl, lblsz);
	return 1;
}

enum sig_err
metrics_render(struct textbuf *b,
    int (*route_name)(int, const char **, const char **))
{
	struct shm_requests *m = shm_requests();
	const char	*method;
	char		 lbl[160], status[16], le[32];
	uint64_t	 n, cum;
	int		 r, s, k;
	enum sig_err	 rc = SIG_OK;

	if (m == NULL)
		return SIG_OK;
	rc |= textbuf_printf(b, "# HELP signet_requests_total Requests "
	    "answered, by route template and status.\n"
	    "# TYPE signet_requests_total counter\n");
	for (r = 0; r < METRICS_ROUTES; r++) {
		if (!route_label(route_name, r, &method, lbl, sizeof(lbl)))
			continue;
		for (s = 0; s < NSTATUS; s++) {
			n = __atomic_load_n(&m->requests[r][s],
			    __ATOMIC_RELAXED);
			if (n == 0)
				continue;
			if (statuses[s] != 0)
				snprintf(status, sizeof(status), "%d",
				    statuses[s]);
			else
				snprintf(status, sizeof(status), "other");
			rc |= textbuf_printf(b, "signet_requests_total"
			    "{method=\"%s\",route=\"%s\",status=\"%s\"} "
			    "%llu\n", method, lbl, status,
			    (unsigned long long)n);
		}
	}
	rc |= textbuf_printf(b, "# HELP signet_request_duration_seconds Time "
	    "from request to answer inside the worker.\n"
	    "# TYPE signet_request_duration_seconds histogram\n");
	for (r = 0; r < METRICS_ROUTES; r++) {
		if (!route_label(route_name, r, &method, lbl, sizeof(lbl)))
			continue;
		for (cum = 0, k = 0; k < NBUCKETS; k++)
			cum += __atomic_load_n(&m->buckets[r][k],
			    __ATOMIC_RELAXED);
		if (cum == 0)
			continue;
		for (cum = 0, k = 0; k < NBUCKETS; k++) {
			cum += __atomic_load_n(&m->buckets[r][k],
			    __ATOMIC_RELAXED);
			if (k < NBUCKETS - 1)
				snprintf(le, sizeof(le), "%g", bounds[k]);
			else
				snprintf(le, sizeof(le), "+Inf");
			rc |= textbuf_printf(b, "signet_request_duration"
			    "_seconds_bucket{method=\"%s\",route=\"%s\","
			    "le=\"%s\"} %llu\n", method, lbl, le,
			    (unsigned long long)cum);
		}
		rc |= textbuf_printf(b, "signet_request_duration_seconds_sum"
		    "{method=\"%s\",route=\"%s\"} %.6f\n"
		    "signet_request_duration_seconds_count{method=\"%s\","
		    "route=\"%s\"} %llu\n", method, lbl,
		    (double)__atomic_load_n(&m->sum_us[r], __ATOMIC_RELAXED) /
		    1e6, method, lbl, (unsigned long long)cum);
	}
	rc |= textbuf_printf(b, "# HELP signet_storage_deadlocks_retried_total "
	    "Transactions rerun after losing a deadlock.\n"
	    "# TYPE signet_storage_deadlocks_retried_total counter\n"
	    "signet_storage_deadlocks_retried_total %llu\n"
	    "# HELP signet_watchdog_exits_total Processes ended by the storage "
	    "watchdog.\n"
	    "# TYPE signet_watchdog_exits_total counter\n"
	    "signet_watchdog_exits_total %llu\n"
	    "# HELP signet_storage_writes_refused_full_total Writes refused "
	    "because SIGNET_HOME's disk is full (answered 503).\n"
	    "# TYPE signet_storage_writes_refused_full_total counter\n"
	    "signet_storage_writes_refused_full_total %llu\n",
	    (unsigned long long)__atomic_load_n(
	    &m->counters[METRIC_DEADLOCKS_RETRIED], __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(
	    &m->counters[METRIC_WATCHDOG_EXITS], __ATOMIC_RELAXED),
	    (unsigned long long)(shm_more_counters() == NULL ? 0 :
	    __atomic_load_n(&shm_more_counters()[METRIC_WRITES_FULL -
	    SHM_COUNTERS], __ATOMIC_RELAXED)));
	return rc == SIG_OK ? SIG_OK : SIG_EINTERNAL;
}
