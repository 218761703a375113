/* The shared file of SIGNET_HOME and its cells (shm.h). */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signet/log.h"
#include "signet/shm.h"

#define SHM_FILE	"metrics.shm"
#define MAGIC		UINT64_C(0x315445504e474953)	/* "SIGNPET1" */

struct shm {
	uint64_t		 magic;
	struct shm_requests	 req;
	/* Not metrics, but shared the same way (appended: older files grow). */
	uint64_t		 auth_generation;	/* bumped by revocations */
	uint64_t		 slots_claimed;	/* processes that asked for one */
	int64_t			 usage_claim;	/* the last usage flush */
	struct shm_usage	 usage[SHM_USAGE_SLOTS];
	struct shm_usage_name	 usage_names[SHM_USAGE_SLOTS];
	uint64_t		 more_counters[SHM_MORE_COUNTERS];
};

/* The file as the first version laid it out: 8-byte cells, no padding. */
_Static_assert(offsetof(struct shm, usage_claim) == 8 * (1 + SHM_ROUTES *
    SHM_STATUSES + SHM_ROUTES * SHM_BUCKETS + SHM_ROUTES + SHM_COUNTERS + 2),
    "metrics.shm layout changed");

static enum sig_err	map_file(const char *, int);

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
	if (snprintf(path, sizeof(path), "%s/%s", home, SHM_FILE) >=
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
shm_map(const char *home)
{
	return map_file(home, 1);
}

enum sig_err
shm_attach(const char *home)
{
	return map_file(home, 0);
}

struct shm_requests *
shm_requests(void)
{
	return shm == NULL ? NULL : &shm->req;
}

int
shm_generation(uint64_t *gen)
{
	if (shm == NULL)
		return 0;
	*gen = __atomic_load_n(&shm->auth_generation, __ATOMIC_ACQUIRE);
	return 1;
}

int
shm_generation_bump(void)
{
	if (shm == NULL)
		return 0;
	__atomic_fetch_add(&shm->auth_generation, 1, __ATOMIC_SEQ_CST);
	return 1;
}

uint64_t *
shm_more_counters(void)
{
	return shm == NULL ? NULL : shm->more_counters;
}

struct shm_usage *
shm_usage(size_t *n, struct shm_usage_name **names)
{
	*n = SHM_USAGE_SLOTS;
	*names = shm == NULL ? NULL : shm->usage_names;
	return shm == NULL ? NULL : shm->usage;
}

int
shm_usage_claim(int64_t now_us, int64_t period_us)
{
	int64_t	 last;

	if (shm == NULL)
		return 0;
	last = __atomic_load_n(&shm->usage_claim, __ATOMIC_ACQUIRE);
	if (now_us - last < period_us && now_us >= last)
		return 0;
	return __atomic_compare_exchange_n(&shm->usage_claim, &last, now_us, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

unsigned
shm_process_slot(void)
{
	if (shm == NULL)
		return (unsigned)getpid();
	return (unsigned)__atomic_fetch_add(&shm->slots_claimed, 1,
	    __ATOMIC_RELAXED);
}
