/*
 * The store: one transactional Berkeley DB environment in SIGNET_HOME,
 * shared by every worker process and signetctl (PITFALLS.md).  Handlers never
 * call Berkeley DB; they pass a function to store_run, which runs it inside
 * one transaction, retries it on deadlock, and commits it durably.
 *
 * Records are JSON objects keyed by strings.  Ordered listings use
 * TBL_INDEX, whose keys the callers compose ("ep:<account>:<order>:<id>").
 */
#ifndef SIGNET_STORE_H
#define SIGNET_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "signet/config.h"
#include "signet/err.h"

enum store_table {
	TBL_ACCOUNTS,		/* acct_ id -> account */
	TBL_APIKEYS,		/* ak_ id -> api key (token hash, role) */
	TBL_TOKENS,		/* hex SHA-256 of a token -> ak_ id */
	TBL_ENDPOINTS,		/* ep_ id -> endpoint with its signing keys */
	TBL_INBOUND,		/* UUIDv7 id -> inbound endpoint with its keys */
	TBL_ENTERPRISES,	/* ent_ id -> enterprise */
	TBL_ENTKEYS,		/* "<ent_ id>/<keyId>" -> registered public key */
	TBL_WORKSPACES,		/* slug -> workspace */
	TBL_WSKEYS,		/* signing_key_ uid -> workspace key (public) */
	TBL_AUDIT,		/* evt_ id -> audit event */
	TBL_INDEX,		/* ordered listing keys -> record id */
	TBL_COUNT
};

struct store;
struct store_txn;

/*
 * Open (creating when absent) the environment and every table in home.
 * One handle per process, opened after fork().  The storage watchdog
 * (watchdog.h) guards the open and the close: it is given home here.
 * Returns SIG_OK and *out, or SIG_EUNAVAIL / SIG_EINTERNAL with the reason
 * logged.
 */
enum sig_err	store_open(const char *home, struct store **out);

/*
 * A site of a Berkeley DB replication group (docs/replication.md), in the
 * form config_load parsed it into.  What the pointers point to is borrowed
 * for the duration of the call (store_open_replicated copies it).
 */
struct store_repl {
	const struct config_site *site;	/* this site; NULL or host "": */
					/* stand-alone */
	const struct config_site *peers;	/* the others, npeers of them */
	size_t		 npeers;
	int		 group_creator;	/* starts the group on first run */
	long		 priority;	/* election priority; 0: never master */
	int		 ack_policy;	/* DB_REPMGR_ACKS_* */
	long		 ack_timeout_ms;
	int		 verbose;	/* repmgr's messages to the log */
};

/*
 * Fill r from the replication settings of cfg (stand-alone when cfg names
 * no site).  r's pointers borrow cfg, which must outlive r's use.
 */
void	store_repl_from_config(const struct config *cfg,
	    struct store_repl *r);

/*
 * store_open as a site of a replication group when repl is not NULL and
 * names a site.  Every process of the site opens the environment the same
 * way; the first becomes the replication process.  A site that cannot join
 * its group yet opens anyway: store_run answers SIG_EUNAVAIL until it has
 * joined and the master's tables are here.  On a replica, a transaction that
 * writes gets SIG_ENOTMASTER; a commit that too few sites acknowledged in
 * time (the ack policy) gets SIG_ENOQUORUM.
 */
enum sig_err	store_open_replicated(const char *home,
		    const struct store_repl *repl, struct store **out);

/* Where this site stands in its replication group. */
struct store_role {
	int		 replicated;	/* 0: stand-alone, nothing below is set */
	int		 joined;
	int		 master;
	int		 startup_complete;	/* a replica caught up once */
	char		 master_site[300];	/* "" while no master is known */
	uint64_t	 log_records_queued;	/* received, waiting for a gap */
	uint64_t	 master_changes, elections;
	uint32_t	 sites;			/* in the group, this one included */
	uint32_t	 lsn_file, lsn_offset;	/* log position applied here */
};

enum sig_err	store_role(struct store *, struct store_role *);

/* Whether the store is a site of a replication group. */
int	store_replicated(const struct store *);

/*
 * Checkpoint and remove unneeded log files after every `every` write
 * transactions of this process (default 256); 0 leaves log files to
 * signetctl stats --maintain or the operator's archiving.
 */
void	store_set_maintenance(struct store *, unsigned every);

/*
 * Do the maintenance that store_run found due (a checkpoint and log
 * removal), if any.  Workers call it after sending an answer, so that no
 * request waits for it; store_close calls it too.  NULL is accepted.
 */
void	store_housekeep(struct store *);

/* Close every handle.  NULL is accepted. */
void	store_close(struct store *);

/*
 * Whether the environment has failed in a way only a new process can
 * repair (DB_RUNRECOVERY, a panic): the worker should exit after answering.
 */
int	store_failed(const struct store *);

typedef enum sig_err (*store_fn)(struct store_txn *, void *arg);

/*
 * Run fn(txn, arg) in one transaction.  When fn returns SIG_OK the
 * transaction is committed with a synchronous log flush, so SIG_OK means the
 * writes are durable.  Any other value aborts it, undoing every write.  A
 * deadlock (SIG_ERETRY from a store call) reruns fn from the start, a bounded
 * number of times, then answers SIG_EUNAVAIL: fn must therefore keep no
 * state across runs except through arg fields it resets itself.
 */
enum sig_err	store_run(struct store *, store_fn fn, void *arg);

/*
 * Run fn(t, arg) for a read of a single record, without a transaction: the
 * read sees the last committed version (Berkeley DB locks the page for the
 * call only), which for one get is all a transaction would give, at less
 * cost.  fn must only read, and not lock (rmw): writes fail with
 * SIG_EINTERNAL.  Deadlocks rerun fn as in store_run.
 */
enum sig_err	store_read(struct store *, store_fn fn, void *arg);

/*
 * Run fn(t, arg) in one transaction that only reads: several records seen
 * as one snapshot, with store_run's retries.  Writes fail with
 * SIG_EINTERNAL.
 */
enum sig_err	store_view(struct store *, store_fn fn, void *arg);

/*
 * Read the record at key.  With rmw the record is write-locked until the
 * transaction ends (read-modify-write without deadlocks).  On SIG_OK *out
 * is a new object owned by the caller; SIG_ENOTFOUND when absent.
 */
enum sig_err	store_get(struct store_txn *, enum store_table, const char *key,
		    int rmw, json_object **out);

/*
 * Read the stored bytes of the record at key, unlocked after the read like
 * store_get without rmw.  *data points into a buffer of this process that
 * the next call reuses.  SIG_ENOTFOUND when absent.
 */
enum sig_err	store_get_raw(struct store_txn *, enum store_table,
		    const char *key, const char **data, size_t *len);

/*
 * store_get for a record the caller only reads: parsing is skipped when the
 * stored bytes are those this process parsed last time for key (a small
 * per-process cache; the read itself always happens, in this transaction,
 * so the answer is exactly store_get's).  *out is a reference the caller
 * puts, to an object the cache may share: it must not be modified.
 */
enum sig_err	store_get_shared(struct store_txn *, enum store_table,
		    const char *key, json_object **out);

/* Drop everything store_get_shared keeps. */
void	store_cache_clear(void);

/* Write val at key, replacing any record.  val is not consumed. */
enum sig_err	store_put(struct store_txn *, enum store_table, const char *key,
		    json_object *val);

/* Write val at key only if key is free: SIG_EEXISTS otherwise. */
enum sig_err	store_insert(struct store_txn *, enum store_table,
		    const char *key, json_object *val);

/* Write a plain string value (index entries, token map). */
enum sig_err	store_put_str(struct store_txn *, enum store_table,
		    const char *key, const char *val, int unique);

/* Read a plain string value into out (size outsz); SIG_ENOTFOUND if absent. */
enum sig_err	store_get_str(struct store_txn *, enum store_table,
		    const char *key, char *out, size_t outsz);

/* Delete key; SIG_ENOTFOUND when absent. */
enum sig_err	store_del(struct store_txn *, enum store_table, const char *key);

/*
 * Visit, in key order, the records whose keys start with prefix and sort
 * after `after` (NULL: from the first), at most limit of them.  cb gets the
 * key and the value as a NUL-terminated string (both borrowed for the call).
 * *more is set to 1 when another matching record follows the last visited.
 * cb returning non-SIG_OK stops the scan with that value.
 */
typedef enum sig_err (*store_scan_fn)(const char *key, const char *val,
    void *arg);
enum sig_err	store_scan(struct store_txn *, enum store_table,
		    const char *prefix, const char *after, size_t limit,
		    store_scan_fn cb, void *arg, int *more);

/*
 * One page of a listing: the index entries under prefix after `after`
 * (NULL: from the start), at most limit, each naming a record of table.
 * *records receives a new array of those records (owned by the caller);
 * *more whether more follow.
 */
enum sig_err	store_page(struct store_txn *, enum store_table table,
		    const char *prefix, const char *after, size_t limit,
		    json_object **records, int *more);

struct store_stats {
	uint64_t	 cache_hits, cache_misses, cache_bytes;
	uint64_t	 lock_deadlocks, lock_timeouts;
	uint64_t	 txn_commits, txn_aborts, txn_active;
	uint64_t	 log_files, log_bytes;
	uint64_t	 free_bytes;	/* free to this process on SIGNET_HOME's disk */
};

/* Figures of the environment for /metrics and signetctl stats. */
enum sig_err	store_stats(struct store *, struct store_stats *);

/*
 * A hot backup of the environment into dir (created if absent; must be
 * empty), made consistent by running recovery on the copy, so that
 * store_open(dir) works on it.  Other processes keep serving meanwhile.
 * SIG_EINVAL when dir is not empty.
 */
enum sig_err	store_backup(struct store *, const char *dir);

/* What store_verify found; the names are the tables' file names (static). */
struct store_verify_result {
	int		 nfailed;	/* tables that do not verify */
	const char	*failed[TBL_COUNT];
	int		 nplain;	/* tables without page checksums */
	const char	*plain[TBL_COUNT];
};

/*
 * Check every table (Berkeley DB's verify: structure and, where the file
 * has them, page checksums), reading each file apart from the live
 * environment, and note the tables made without page checksums (files
 * created before Signet set DB_CHKSUM; docs/operations.md has the
 * upgrade).  A missing table is skipped.  Returns SIG_OK when the check
 * ran; r then holds the findings.
 */
enum sig_err	store_verify(const char *home, struct store_verify_result *r);

/*
 * Give the tables of dir, a fresh backup that no process has open (from
 * store_backup), page checksums when one has none: then every table is
 * copied record by record into a new file made with them, which takes its
 * place, and dir's log files go (they describe the former files; the
 * first process to open dir starts a new log).  *converted receives the
 * number of tables copied (0: all had checksums, nothing changed).
 * Returns SIG_OK; SIG_EINVAL, changing nothing, when a table of dir does
 * not verify; or SIG_EINTERNAL (logged) with each of dir's tables the
 * former or the copy.
 */
enum sig_err	store_add_checksums(const char *dir, int *converted);

/* Checkpoint now and remove log files no longer needed for recovery. */
enum sig_err	store_maintain(struct store *, int *removed);

/* A cheap read of the environment, for /healthz. */
enum sig_err	store_ping(struct store *);

#endif
