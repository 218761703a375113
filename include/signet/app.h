/*
 * The application: everything a worker process sets up once (configuration,
 * master key, store) and the function that turns one request into one
 * response.
 */
#ifndef SIGNET_APP_H
#define SIGNET_APP_H

#include "signet/config.h"
#include "signet/crypto.h"
#include "signet/err.h"
#include "signet/http.h"
#include "signet/store.h"

struct app {
	struct config		 cfg;
	struct master_key	 mk;
	struct store		*store;
	int64_t			 tick_last;	/* app_tick's last run, seconds */
	int			 store_failed;	/* app_open: only the store */
};

/*
 * Load the configuration for home (NULL: SIGNET_HOME), the master key, and
 * open the store.  Returns SIG_OK, or an error with the reason logged.
 */
enum sig_err	app_open(struct app *, const char *home);

/*
 * Why app_open failed, for a person, into msg (msgsz bytes, always
 * written): when this process runs as another user than the one owning the
 * data directory (or the nearest directory above it that it can see), the
 * two users and what the host must change; otherwise a pointer to the
 * lines logged before.  Never names a secret.  Returns 1 when the users
 * differ (no restart of the worker can help), else 0.
 */
int	app_why_not(const struct app *, char *msg, size_t msgsz);

/*
 * The answer of a worker that could not start (app_open failed): 503, with
 * Retry-After; /healthz its bare {"status":"unavailable"}, every other path
 * the SERVICE_UNAVAILABLE envelope.  res as for app_handle.
 */
void	app_unavailable(const struct http_request *, struct http_response *);

/*
 * Open the store in cfg->home as configured: stand-alone, or as a site of a
 * replication group.  Used by the workers and by signetctl.
 */
enum sig_err	app_store_open(const struct config *, struct store **);

/*
 * Housekeeping between requests: delete a bounded batch of audit events
 * older than audit_retention_days.  Returns how many were deleted.
 */
int	app_maintain(struct app *);

/*
 * Housekeeping that runs on a clock: at most once every housekeeping_seconds
 * (default 60) per process, store the keys' last verification times (one
 * process per period; usage.h) and erase the endpoint keys that expired (a
 * batch bounded in time; expiry.h).  Returns how many keys were erased.
 */
int	app_tick(struct app *);

/* Seconds until app_tick has work again (at least 1). */
long	app_tick_wait(const struct app *);

/* Close the store and wipe the master key. */
void	app_close(struct app *);

/*
 * Answer one request.  res is filled (status, body, headers, request id);
 * the caller frees res->body.  Never fails: errors become error envelopes.
 */
void	app_handle(struct app *, const struct http_request *,
	    struct http_response *);

#endif
