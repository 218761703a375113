/*
 * Request and storage metrics of the whole worker pool: counts kept in the
 * shared file's request cells (shm.h), so one scrape of any worker sees
 * every worker's, and their Prometheus text exposition.  Counts only,
 * never anything secret.
 */
#ifndef SIGNET_METRICS_H
#define SIGNET_METRICS_H

#include <stdint.h>

#include "signet/err.h"
#include "signet/sbuf.h"
#include "signet/shm.h"

#define METRICS_ROUTES	SHM_ROUTES	/* route slots; the last: unmatched */

enum metric_counter {
	METRIC_DEADLOCKS_RETRIED,	/* transactions rerun after a deadlock */
	METRIC_WATCHDOG_EXITS,		/* processes ended by the watchdog */
	METRIC_WRITES_FULL,		/* writes refused: storage full */
	METRIC_COUNTERS
};

/*
 * Count one answered request of route slot route with status and latency.
 * Nothing is counted while the shared file is not mapped.
 */
void	metrics_request(int route, int status, uint64_t latency_us);

/* Add one to a counter (nothing while the shared file is not mapped). */
void	metrics_count(enum metric_counter);

/*
 * Append the Prometheus text exposition of the request metrics and
 * counters to b (nothing while the shared file is not mapped).
 * route_name(i, &method, &pattern) names slot i, returning 0 for an unused
 * slot.  Returns SIG_OK or SIG_EINTERNAL (b stays valid and the caller's).
 */
enum sig_err	metrics_render(struct textbuf *b,
		    int (*route_name)(int, const char **, const char **));

#endif
