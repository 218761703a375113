/*
 * One request through the application: route, authenticate, check the role,
 * take the body, run the handler, and write the envelope.  The order of the
 * checks is docs/api.md's (Conventions, Order of checks): 401, 403, then 400
 * from the handler, 404, 409.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "signet/app.h"
#include "signet/audit.h"
#include "signet/ctx.h"
#include "signet/expiry.h"
#include "signet/usage.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/log.h"
#include "signet/metrics.h"
#include "signet/routes.h"
#include "signet/shm.h"

#define AUDIT_PRUNE_BATCH	500
#define EXPIRY_BATCH		50
#define EXPIRY_BUDGET_US	200000	/* of one tick's erasing */

/*
 * Splice c->secret into the body right after `{"data":{`, wiping every
 * intermediate copy.  Returns the new body, or NULL.
 */
static char *
splice_secret(struct ctx *c, char *body)
{
	static const char open[] = "{\"data\":{";
	size_t	 blen = strlen(body), n;
	char	*out;
	int	 empty;

	if (strncmp(body, open, sizeof(open) - 1) != 0)
		return NULL;
	empty = body[sizeof(open) - 1] == '}';
	n = blen + c->secret_len + 2;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s%.*s%s%s", open, (int)c->secret_len,
		    c->secret, empty ? "" : ",", body + sizeof(open) - 1);
	return out;
}

enum sig_err
app_open(struct app *app, const char *home)
{
	char		 msg[SIG_MSG_MAX];
	enum sig_err	 rc;

	memset(app, 0, sizeof(*app));
	if ((rc = crypto_init()) != SIG_OK)
		return rc;
	if ((rc = config_load(home, &app->cfg, msg)) != SIG_OK) {
		log_msg(LOG_ERR, "configuration: %s", msg);
		return rc;
	}
	/* A failure is logged to stderr, and the worker runs on without it. */
	(void)log_open(app->cfg.log_file);
	if ((rc = crypto_master_load(app->cfg.master_key_file, &app->mk)) !=
	    SIG_OK)
		return rc;
	(void)shm_map(app->cfg.home);
	if ((rc = app_store_open(&app->cfg, &app->store)) != SIG_OK) {
		app->store_failed = 1;
		return rc;
	}
	store_set_maintenance(app->store,
	    (unsigned)app->cfg.log_maintenance_writes);
	/* The first tick a period after start, not at the first request. */
	app->tick_last = ids_now_us() / 1000000;
	return SIG_OK;
}

/* An empty answer to a route not known yet, with a fresh request id. */
static void
response_init(struct http_response *res)
{
	memset(res, 0, sizeof(*res));
	res->route = "unmatched";
	res->route_index = METRICS_ROUTES - 1;
	if (ids_new("req_", 12, res->request_id, sizeof(res->request_id)) !=
	    SIG_OK)
		snprintf(res->request_id, sizeof(res->request_id),
		    "req_000000000000000000000000");
}

/* "name (uid)" of a user id into out. */
static void
user_name(uid_t uid, char *out, size_t outsz)
{
	struct passwd	*pw = getpwuid(uid);

	snprintf(out, outsz, "%s (%lu)", pw != NULL ? pw->pw_name : "?",
	    (unsigned long)uid);
}

int
app_why_not(const struct app *app, char *msg, size_t msgsz)
{
	char		 path[PATH_MAX], me[300], owner[300], *slash;
	struct stat	 st;
	int		 err = 0;

	if (app->cfg.home[0] == '\0') {
		snprintf(msg, msgsz, "see the lines logged before this one");
		return 0;
	}
	snprintf(path, sizeof(path), "%s", app->cfg.home);
	/* The home, or the nearest directory above it this user can see. */
	while (stat(path, &st) == -1) {
		if (err == 0)
			err = errno;
		if ((slash = strrchr(path, '/')) == NULL || slash == path) {
			snprintf(msg, msgsz, "the data directory %s cannot be "
			    "reached: %s", app->cfg.home, strerror(err));
			return 0;
		}
		*slash = '\0';
	}
	user_name(geteuid(), me, sizeof(me));
	user_name(st.st_uid, owner, sizeof(owner));
	if (st.st_uid == geteuid()) {
		if (err != 0)
			snprintf(msg, msgsz, "the data directory %s cannot be "
			    "reached: %s (run signetctl init)", app->cfg.home,
			    strerror(err));
		else
			snprintf(msg, msgsz, "running as %s, the owner of the "
			    "data directory %s: see the lines logged before "
			    "this one", me, app->cfg.home);
		return 0;
	}
	if (err == 0)
		snprintf(msg, msgsz, "running as %s, data directory %s owned "
		    "by %s: your host must run your FastCGI programs as you, "
		    "e.g. with suEXEC", me, app->cfg.home, owner);
	else
		snprintf(msg, msgsz, "running as %s, data directory %s not "
		    "reachable (%s), %s owned by %s: your host must run your "
		    "FastCGI programs as you, e.g. with suEXEC", me,
		    app->cfg.home, strerror(err), path, owner);
	return 1;
}

void
app_unavailable(const struct http_request *req, struct http_response *res)
{
	char	*path = NULL, *query = NULL;

	response_init(res);
	res->status = 503;
	http_add_header(res, "Retry-After", "10");
	res->content_type = "application/json";
	/* /healthz answers its bare document, as when storage is down. */
	if (req->uri != NULL && http_split_uri(req->uri, &path, &query) ==
	    SIG_OK && strcmp(path, "/healthz") == 0)
		res->body = strdup("{\"status\":\"unavailable\"}");
	else
		res->body = json_envelope_err(SIG_EUNAVAIL, "Signet cannot "
		    "start: the reason is in this site's error log",
		    res->request_id);
	free(path);
	free(query);
	if (res->body == NULL) {
		res->status = 500;
		res->content_type = NULL;
		return;
	}
	res->body_len = strlen(res->body);
}

enum sig_err
app_store_open(const struct config *cfg, struct store **out)
{
	struct store_repl r;

	store_repl_from_config(cfg, &r);
	return store_open_replicated(cfg->home, &r, out);
}

struct prune_args {
	int64_t		 before_us;
	int		 removed;
};

static enum sig_err
prune_tx(struct store_txn *t, void *arg)
{
	struct prune_args *p = arg;

	return audit_prune(t, p->before_us, AUDIT_PRUNE_BATCH, &p->removed);
}

int
app_maintain(struct app *app)
{
	struct prune_args p;

	if (app->cfg.audit_retention_days == 0)
		return 0;
	p.before_us = ids_now_us() -
	    (int64_t)app->cfg.audit_retention_days * 86400 * 1000000;
	p.removed = 0;
	if (store_run(app->store, prune_tx, &p) != SIG_OK)
		return 0;
	return p.removed;
}

int
app_tick(struct app *app)
{
	struct store_role r;
	int64_t		 start = ids_now_us(), now = start / 1000000;
	int		 more, erased = 0;

	if (now - app->tick_last < app->cfg.housekeeping_seconds &&
	    now >= app->tick_last)
		return 0;
	app->tick_last = now;
	/* A replica erases nothing itself: the master's erasures arrive. */
	if (store_replicated(app->store) && (store_role(app->store, &r) !=
	    SIG_OK || !r.master))
		return 0;
	(void)usage_flush(app->store, now * 1000000, app->cfg.housekeeping_seconds);
	/* A backlog goes on while the budget lasts, and at the next tick. */
	do
		erased += expiry_sweep(app->store, now, EXPIRY_BATCH, &more);
	while (more && ids_now_us() - start < EXPIRY_BUDGET_US);
	return erased;
}

long
app_tick_wait(const struct app *app)
{
	int64_t	 wait = app->tick_last + app->cfg.housekeeping_seconds -
	    ids_now_us() / 1000000;

	return wait < 1 ? 1 : wait > app->cfg.housekeeping_seconds ?
	    app->cfg.housekeeping_seconds : (long)wait;
}

void
app_close(struct app *app)
{
	store_close(app->store);
	app->store = NULL;
	auth_forget();
	store_cache_clear();
	crypto_wipe(&app->mk, sizeof(app->mk));
}

/* Steps before the handler; SIG_OK lets it run. */
static enum sig_err
prepare(struct app *app, const struct http_request *req, struct ctx *c,
    struct route_match *m, char *path)
{
	char		 token[AUTH_TOKEN_LEN + 1];
	long		 retry = 0;
	unsigned	 flags;
	enum sig_err	 rc;

	if ((rc = router_match(app_routes, app_nroutes, req->method, path, m))
	    != SIG_OK) {
		if (rc == SIG_EMETHOD) {
			http_add_header(c->res, "Allow", m->allow);
			return ctx_fail(c, rc, "Method %.16s is not allowed "
			    "here; allowed: %s", req->method, m->allow);
		}
		return ctx_fail(c, SIG_ENOTFOUND, "No such route");
	}
	c->route = m->route;
	c->res->route = m->route->pattern;
	c->res->route_index = (int)(m->route - app_routes);
	c->params = m->params;
	c->route_arg = m->route->arg;
	flags = m->route->flags;
	if (!(flags & ROUTE_PUBLIC)) {
		if (!auth_parse_header(req->authorization,
		    (flags & ROUTE_SERVICE) != 0, token))
			return SIG_EUNAUTH;
		rc = auth_check(app->store, token, &c->who);
		crypto_wipe(token, sizeof(token));
		if (rc != SIG_OK)
			return rc;
		if ((flags & (ROUTE_ADMIN | ROUTE_OTP)) && !c->who.admin)
			return SIG_EFORBIDDEN;
		if ((flags & ROUTE_OTP) && (rc = auth_totp_check(app->store,
		    &app->mk, c->who.apikey, req->otp, c->res->request_id,
		    &retry, c->msg)) != SIG_OK) {
			if (rc == SIG_EOTPLOCKED) {
				char	 secs[24];

				snprintf(secs, sizeof(secs), "%ld", retry);
				http_add_header(c->res, "Retry-After", secs);
			}
			return rc;
		}
	}
	if (req->body_err != SIG_OK)
		return ctx_fail(c, req->body_err, req->body_err ==
		    SIG_ETOOLARGE ? "Request body is larger than %ld bytes" :
		    "Request body is shorter than its Content-Length",
		    app->cfg.max_body_bytes);
	if (req->body_len > 0 && !http_is_json_type(req->content_type))
		return SIG_EMEDIA;
	if (!(flags & ROUTE_BODY) && req->body_len > 0) {
		/* A route without a body takes an empty body or {}. */
		rc = json_parse_body(req->body, req->body_len, &c->body, c->msg);
		if (rc != SIG_OK)
			return rc;
		if (!json_object_is_type(c->body, json_type_object) ||
		    json_object_object_length(c->body) != 0)
			return ctx_fail(c, SIG_EINVAL,
			    "this route takes no request body");
		return SIG_OK;
	}
	if ((rc = json_parse_body(req->body, req->body_len, &c->body, c->msg))
	    != SIG_OK)
		return rc;
	return SIG_OK;
}

/* Name the master a replica's writes should go to, when one is known. */
static void
not_master_message(struct ctx *c)
{
	struct store_role r;

	if (store_role(c->app->store, &r) == SIG_OK &&
	    r.master_site[0] != '\0')
		snprintf(c->msg, sizeof(c->msg), "This site is a replica: "
		    "send writes to the master, replication site %.128s",
		    r.master_site);
	else
		snprintf(c->msg, sizeof(c->msg), "This site is a replica and "
		    "no master is elected at the moment");
}

static void
finish(struct ctx *c, enum sig_err rc)
{
	struct http_response *res = c->res;

	if (rc != SIG_OK) {
		const struct sig_err_info *info;

		/* Internal details go to the log, never to the client. */
		if (rc == SIG_EINTERNAL || rc == SIG_EEXISTS)
			rc = SIG_EINTERNAL;
		info = sig_err_info(rc);
		res->status = info->status;
		if (rc == SIG_ENOTMASTER && c->msg[0] == '\0')
			not_master_message(c);
		/* Storage or replication will be back: say when to retry. */
		if (res->status == 503)
			http_add_header(res, "Retry-After", rc == SIG_EFULL ? "10" :
			    "1");
		res->body = json_envelope_err(rc, rc == SIG_EINTERNAL ? NULL :
		    c->msg, res->request_id);
		res->content_type = "application/json";
	} else if (c->raw != NULL) {
		res->status = c->status;
		res->body = c->raw;
		res->body_len = c->raw_len;
		c->raw = NULL;
		res->content_type = c->raw_type ? c->raw_type : "application/json";
		return;
	} else if (c->status == 204 || c->status == 304) {
		res->status = c->status;
		json_object_put(c->data);
		c->data = NULL;
		return;
	} else {
		res->status = c->status;
		res->body = json_envelope_ok(c->data, res->request_id,
		    c->has_more);
		c->data = NULL;
		if (c->secret != NULL && res->body != NULL) {
			char *spliced = splice_secret(c, res->body);

			free(res->body);
			res->body = spliced;
		}
		res->content_type = "application/json";
	}
	if (res->body == NULL) {
		res->status = 500;
		res->body_len = 0;
		return;
	}
	res->body_len = strlen(res->body);
}

void
app_handle(struct app *app, const struct http_request *req,
    struct http_response *res)
{
	struct ctx		 c;
	struct route_match	 m;
	char			*path = NULL, *query = NULL;
	enum sig_err		 rc;

	response_init(res);
	memset(&c, 0, sizeof(c));
	c.app = app;
	c.req = req;
	c.res = res;
	c.status = 200;
	c.has_more = -1;
	rc = http_split_uri(req->uri, &path, &query);
	if (rc == SIG_EINVAL)
		rc = ctx_fail(&c, SIG_EINVAL, "the request path is malformed");
	if (rc == SIG_OK) {
		c.query = query;
		rc = prepare(app, req, &c, &m, path);
	}
	if (rc == SIG_OK)
		rc = m.route->handler(&c);
	finish(&c, rc);
	json_object_put(c.body);
	json_object_put(c.data);
	free(c.raw);
	if (c.secret != NULL) {
		crypto_wipe(c.secret, c.secret_cap);
		free(c.secret);
	}
	free(path);
	free(query);
}
