/*
 * What the files of the store share and nothing else may see: the handle,
 * the transaction, and the helpers each file lends the others.  Berkeley DB
 * stays behind include/signet/store.h; only src/store*.c include this.
 *
 *   store.c		environment, transactions, records, the error map
 *   store_repl.c	the replication group (repmgr)
 *   store_maint.c	checkpoints, log removal, Berkeley DB's pauses
 *   store_admin.c	stats, backup, verify, maintain, ping
 *   store_cache.c	store_get_shared's per-process cache
 */
#ifndef SIGNET_STORE_IMPL_H
#define SIGNET_STORE_IMPL_H

#include <limits.h>
#include <time.h>

#include <db.h>

#include "signet/config.h"
#include "signet/store.h"

#define REP_RETRY_S		1	/* between tries to join or open tables */
#define OPEN_WATCHDOG_S		10	/* watchdog around env open and close */

struct store {
	DB_ENV		*env;
	DB		*db[TBL_COUNT];
	int		 failed;
	unsigned	 writes;
	unsigned	 maintain_every;	/* 0: no automatic log removal */
	int		 maintain_due;		/* for store_housekeep */
	unsigned	 reads;			/* a replica's transactions */
	char		 home[PATH_MAX];
	int		 replicated;
	struct store_repl repl;			/* site, peers point below */
	struct config_site site;
	struct config_site peers[CONFIG_PEERS_N];
	int		 rep_started;		/* repmgr_start succeeded */
	int		 subordinate;		/* not the replication process */
	u_int32_t	 nsites;		/* group size when it started */
	time_t		 group_checked;		/* at most one check a second */
	int		 stale;			/* reopen before the next txn */
	int		 connected;		/* await_connections done */
	int		 tables_open;
	int		 reopen;		/* handles died in a rollback */
	int		 locked_out;		/* the last call met a lockout */
	time_t		 next_try;
};

struct store_txn {
	struct store	*s;
	DB_TXN		*txn;
	int		 wrote;
	int		 checked_master;
	int		 readonly;	/* store_read, store_view: no writes */
};

/* store.c */

/* The file of each table in the environment's home. */
extern const char *const store_table_files[TBL_COUNT];

/*
 * Map a Berkeley DB return value onto the program's error type, logging
 * what is not an ordinary outcome (what names the call).  Marks s failed
 * on DB_RUNRECOVERY, and for a reopen on DB_REP_HANDLE_DEAD.
 */
enum sig_err	store_map(struct store *s, int rc, const char *what);

/* Berkeley DB's error and message callbacks: both go to the log. */
void	store_on_error(const DB_ENV *, const char *prefix, const char *msg);
void	store_on_message(const DB_ENV *, const char *msg);

/*
 * Create s->env and open it with the settings, replication (when
 * configured) and the tables.  Used at open, and again when a subordinate
 * process's view of the group is out of date (store_repl_refresh).
 */
enum sig_err	store_env_open(struct store *s);

/* Open every table (SIG_EUNAVAIL: a replica has not got them yet); close. */
enum sig_err	store_open_tables(struct store *s);
void	store_close_tables(struct store *s);

/* store_repl.c */

/*
 * Configure s->env for s->repl before the environment opens.  Returns 0
 * or a Berkeley DB error.
 */
int	store_repl_configure(struct store *s);

/* Start replication in this process (retried by store_repl_reopen). */
void	store_repl_start(struct store *s);

/*
 * A subordinate process whose view of the group is out of date reopens its
 * handle here.  Returns SIG_OK, or the reopen's error (s is then failed).
 */
enum sig_err	store_repl_refresh(struct store *s);

/*
 * A replicated store whose tables are not open (not here yet, or dead
 * after a rollback): join the group and open them, at most once per
 * REP_RETRY_S.  SIG_EUNAVAIL meanwhile.
 */
enum sig_err	store_repl_reopen(struct store *s);

/* Whether this site is the master (a stand-alone store always is). */
int	store_repl_is_master(struct store *s);

/* Whether t may write: only on the master (checked once per txn). */
int	store_repl_writable(struct store_txn *t);

/* store_maint.c */

/*
 * Berkeley DB's yield function for a store of this kind: the shortened
 * pauses for a stand-alone one, Berkeley DB's own for a replicated one.
 * Process-wide: set before any handle exists.
 */
void	store_maint_yield(const struct store *s);

/* Start the checkpoint cadence of a new handle at a random point. */
void	store_maint_start(struct store *s);

/* Count one transaction on counter; mark maintenance due every so many. */
void	store_maint_tick(struct store *s, unsigned *counter);

#endif
