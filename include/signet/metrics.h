/*
 * Request and storage metrics shared by every worker process: counters in a
 * small file mapped MAP_SHARED from SIGNET_HOME (metrics.shm), updated with
 * atomic adds, so one scrape of any worker sees the whole pool.  Holds
 * counts only, never anything secret.
 */
#ifndef SIGNET_METRICS_H
#define SIGNET_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "signet/err.h"

#define METRICS_ROUTES	64	/* route table slots; the last is "unmatched" */

enum metric_counter {
	METRIC_DEADLOCKS_RETRIED,	/* transactions rerun after a deadlock */
	METRIC_WATCHDOG_EXITS,		/* processes ended by the watchdog */
	METRIC_COUNTERS
};

/*
 * Map the shared metrics file in home, creating it if needed.  Without it
 * (read-only home, say) metrics are simply not counted.  Returns SIG_OK or
 * SIG_EINTERNAL (logged).
 */
enum sig_err	metrics_open(const char *home);

/*
 * Map the shared file only if it exists (signetctl: a file it created as
 * another user could shut the workers out).  SIG_ENOTFOUND when absent: then
 * no worker shares it either.
 */
enum sig_err	metrics_attach(const char *home);

/* Count one answered request of route slot route with status and latency. */
void	metrics_request(int route, int status, uint64_t latency_us);

/* Add one to a counter. */
void	metrics_count(enum metric_counter);

/*
 * The credential generation, shared by every process of SIGNET_HOME:
 * workers may keep what an API token resolved to only while it is unchanged
 * (auth_check), and every revocation bumps it after its commit.  Returns 1
 * and *gen, or 0 when the shared file is not mapped (then nothing may be
 * kept).
 */
int	metrics_auth_generation(uint64_t *gen);

/*
 * Bump the credential generation (after an API key revocation committed).
 * Returns 1, or 0 when the shared file is not mapped.
 */
int	metrics_auth_revoked(void);

/*
 * A small number, different for each process that asks while fewer than
 * 2^32 have asked (a shared counter; the pid when the file is not mapped),
 * so that concurrent workers can spread their writes apart.
 */
unsigned	metrics_slot(void);

/* A growing text buffer; p is malloc'd and owned by whoever holds it. */
struct textbuf {
	char	*p;
	size_t	 len, cap;
};

/* printf-append to b.  Returns SIG_OK or SIG_EINTERNAL (b stays valid). */
enum sig_err	textbuf_printf(struct textbuf *b, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * Append the Prometheus text exposition of the request metrics and
 * counters to b.  route_name(i, &method, &pattern) names slot i, returning 0
 * for an unused slot.  Returns SIG_OK or SIG_EINTERNAL.
 */
enum sig_err	metrics_render(struct textbuf *b,
		    int (*route_name)(int, const char **, const char **));

#endif
