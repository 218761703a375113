/*
 * Cells shared by every process of SIGNET_HOME: a small file mapped
 * MAP_SHARED (SIGNET_HOME/metrics.shm, its name from when it held only
 * counters), updated with atomic operations.  It holds the request
 * counters (metrics.c gives them their meaning), the credential generation
 * (auth.c states its rule) and the process slot counter.  Nothing secret.
 * Every cell works unmapped too, as each function says: a read-only home
 * costs the sharing, never a request.
 *
 * The layout is fixed: running installations keep their file across
 * upgrades, so cells are only ever appended.
 */
#ifndef SIGNET_SHM_H
#define SIGNET_SHM_H

#include <stdint.h>

#include "signet/err.h"

#define SHM_ROUTES	64	/* route slots; the last is "unmatched" */
#define SHM_STATUSES	16	/* status slots; the last is "other" */
#define SHM_BUCKETS	12	/* latency buckets; the last is +Inf */
#define SHM_COUNTERS	2	/* the first counters (the first layout's) */
#define SHM_MORE_COUNTERS 8	/* counters added later, appended */

#define SHM_USAGE_SLOTS		2048	/* keys noted between two flushes */
#define SHM_USAGE_RECORD	64
#define SHM_USAGE_KEY		320

/*
 * One key's last verification (usage.h), as it lies in the file: the
 * cells every lookup and the flush scan, and apart from them the names,
 * read only for a slot whose hash matches (so that a worker's resident
 * share of the table stays small).
 */
struct shm_usage {
	uint64_t	 state;		/* 0 free, 1 being filled, 2 in use */
	uint64_t	 hash;		/* of key */
	int64_t		 at_us;		/* the latest verify (atomic max) */
	int64_t		 flushed_us;	/* at_us when last written to storage */
};

struct shm_usage_name {
	uint32_t	 where;		/* enum usage_where */
	uint32_t	 unused;
	char		 record[SHM_USAGE_RECORD];
	char		 key[SHM_USAGE_KEY];
};

/* The request counters, as they lie in the file. */
struct shm_requests {
	uint64_t	 requests[SHM_ROUTES][SHM_STATUSES];
	uint64_t	 buckets[SHM_ROUTES][SHM_BUCKETS];
	uint64_t	 sum_us[SHM_ROUTES];
	uint64_t	 counters[SHM_COUNTERS];
};

/*
 * Map the shared file in home, creating it if needed (a file of another
 * layout starts afresh).  Once mapped, later calls do nothing.  Without it
 * (read-only home, say) the cells work unmapped.  Returns SIG_OK or
 * SIG_EINTERNAL (logged).
 */
enum sig_err	shm_map(const char *home);

/*
 * Map the shared file only if it exists (signetctl: a file it created as
 * another user could shut the workers out).  SIG_ENOTFOUND when absent: then
 * no worker shares it either.
 */
enum sig_err	shm_attach(const char *home);

/*
 * The request counters for atomic updates and loads, or NULL when the
 * file is not mapped (then nothing is counted).
 */
struct shm_requests	*shm_requests(void);

/*
 * Load the generation cell into *gen (acquire) and return 1, or return 0
 * when the file is not mapped.
 */
int	shm_generation(uint64_t *gen);

/* Add one to the generation cell (sequentially consistent); 0: unmapped. */
int	shm_generation_bump(void);

/* The appended counters (SHM_MORE_COUNTERS), or NULL when unmapped. */
uint64_t	*shm_more_counters(void);

/*
 * The usage table: *n slots for atomic updates (and *names, their names,
 * slot for slot), or NULL when the file is not mapped.
 */
struct shm_usage	*shm_usage(size_t *n, struct shm_usage_name **names);

/*
 * Claim the usage flush of this period: 1 when no process claimed one in
 * the last period_us before now_us (then this one has), else 0; 0 unmapped.
 */
int	shm_usage_claim(int64_t now_us, int64_t period_us);

/*
 * A small number, different for each process that asks while fewer than
 * 2^32 have asked (a shared counter; the pid when the file is not mapped),
 * so that concurrent workers can spread their writes apart.
 */
unsigned	shm_process_slot(void);

#endif
