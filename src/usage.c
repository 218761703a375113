/*
 * Last verification times (usage.h).  The table in the shared file is open
 * addressing over a window of PROBE slots from the key's hash; two
 * processes noting a new key at once may take two slots, which readers and
 * the flush treat alike (the later time wins).  A slot whose time is stored
 * and that saw no verify for REUSE_AFTER_US is freed by the flush.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "signet/entkeys.h"
#include "signet/json.h"
#include "signet/keyring.h"
#include "signet/log.h"
#include "signet/shm.h"
#include "signet/usage.h"
#include "signet/wskeys.h"

#define PROBE		32
#define FLUSH_MAX	512		/* records written per flush */
#define REUSE_AFTER_US	(INT64_C(600) * 1000000)

enum { FREE, FILLING, IN_USE };

static uint64_t
hash(const char *s)
{
	uint64_t	 h = UINT64_C(14695981039346656037);

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= UINT64_C(1099511628211);
	}
	return h | 1;
}

static int
holds(const struct shm_usage *u, const struct shm_usage_name *nm, uint64_t h,
    const char *key)
{
	return __atomic_load_n(&u->state, __ATOMIC_ACQUIRE) == IN_USE &&
	    u->hash == h && strcmp(nm->key, key) == 0;
}

static void
raise_to(int64_t *cell, int64_t v)
{
	int64_t	 old = __atomic_load_n(cell, __ATOMIC_RELAXED);

	while (old < v && !__atomic_compare_exchange_n(cell, &old, v, 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void
usage_note(enum usage_where where, const char *record, const char *key,
    int64_t at_us)
{
	struct shm_usage *t, *u;
	struct shm_usage_name *names, *nm;
	uint64_t	 h = hash(key), expected;
	size_t		 n, i;

	if ((t = shm_usage(&n, &names)) == NULL ||
	    strlen(key) >= SHM_USAGE_KEY ||
	    (record != NULL && strlen(record) >= SHM_USAGE_RECORD))
		return;
	for (i = 0; i < PROBE; i++) {
		u = &t[(h + i) % n];
		if (holds(u, &names[(h + i) % n], h, key)) {
			raise_to(&u->at_us, at_us);
			return;
		}
	}
	for (i = 0; i < PROBE; i++) {
		u = &t[(h + i) % n];
		nm = &names[(h + i) % n];
		expected = FREE;
		if (!__atomic_compare_exchange_n(&u->state, &expected, FILLING,
		    0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		u->hash = h;
		nm->where = (uint32_t)where;
		snprintf(nm->record, sizeof(nm->record), "%s", record ? record :
		    "");
		snprintf(nm->key, sizeof(nm->key), "%s", key);
		__atomic_store_n(&u->flushed_us, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&u->at_us, at_us, __ATOMIC_RELAXED);
		__atomic_store_n(&u->state, IN_USE, __ATOMIC_RELEASE);
		return;
	}
	/* Full around this key: its time shows once the flush frees slots. */
}

int64_t
usage_seen(const char *key)
{
	struct shm_usage *t, *u;
	struct shm_usage_name *names;
	uint64_t	 h = hash(key);
	int64_t		 at, best = 0;
	size_t		 n, i;

	if ((t = shm_usage(&n, &names)) == NULL)
		return 0;
	for (i = 0; i < PROBE; i++) {
		u = &t[(h + i) % n];
		if (holds(u, &names[(h + i) % n], h, key) &&
		    (at = __atomic_load_n(&u->at_us,
		    __ATOMIC_RELAXED)) > best)
			best = at;
	}
	return best;
}

/* The slot being written to storage, for its transaction. */
struct flush {
	struct shm_usage *u;
	struct shm_usage_name *nm;
	int64_t		 at_us;
	int		 gone;		/* the key or its record is no more */
};

static enum sig_err
flush_tx(struct store_txn *t, void *arg)
{
	struct flush	*f = arg;
	struct shm_usage_name *u = f->nm;
	enum store_table table;
	json_object	*rec;
	enum sig_err	 rc;
	int		 changed;

	f->gone = 0;
	switch (u->where) {
	case USAGE_ENDPOINT:
	case USAGE_INBOUND:
		table = u->where == USAGE_ENDPOINT ? TBL_ENDPOINTS : TBL_INBOUND;
		rc = store_get(t, table, u->record, 1, &rec);
		break;
	case USAGE_ENTKEY:
		table = TBL_ENTKEYS;
		rc = store_get(t, table, u->key, 1, &rec);
		break;
	case USAGE_WSKEY:
		table = TBL_WSKEYS;
		rc = store_get(t, table, u->key, 1, &rec);
		break;
	default:
		f->gone = 1;
		return SIG_OK;
	}
	if (rc == SIG_ENOTFOUND) {
		f->gone = 1;
		return SIG_OK;
	}
	if (rc != SIG_OK)
		return rc;
	if (u->where == USAGE_ENTKEY)
		changed = entkey_mark_verified(rec, f->at_us);
	else if (u->where == USAGE_WSKEY)
		changed = wskey_mark_verified(rec, f->at_us);
	else if ((changed = keyring_mark_verified(rec, u->key, f->at_us)) < 0)
		f->gone = 1;
	rc = changed > 0 ? store_put(t, table, u->where == USAGE_ENDPOINT ||
	    u->where == USAGE_INBOUND ? u->record : u->key, rec) : SIG_OK;
	json_object_put(rec);
	return rc;
}

/* Free u if its time is stored and it saw no verify for a while. */
static void
reuse(struct shm_usage *u, struct shm_usage_name *nm, int64_t now_us)
{
	uint64_t	 expected = IN_USE;
	int64_t		 at = __atomic_load_n(&u->at_us, __ATOMIC_RELAXED);

	if (at != __atomic_load_n(&u->flushed_us, __ATOMIC_RELAXED) ||
	    now_us - at < REUSE_AFTER_US ||
	    !__atomic_compare_exchange_n(&u->state, &expected, FILLING, 0,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	/* A verify that came in meanwhile keeps it. */
	if (__atomic_load_n(&u->at_us, __ATOMIC_RELAXED) != at) {
		__atomic_store_n(&u->state, IN_USE, __ATOMIC_RELEASE);
		return;
	}
	nm->key[0] = '\0';
	u->hash = 0;
	__atomic_store_n(&u->state, FREE, __ATOMIC_RELEASE);
}

int
usage_flush(struct store *s, int64_t now_us, long period)
{
	struct shm_usage *t, *u;
	struct shm_usage_name *names;
	struct flush	 f;
	size_t		 n, i;
	int		 written = 0;

	if ((t = shm_usage(&n, &names)) == NULL ||
	    !shm_usage_claim(now_us, (int64_t)period * 1000000))
		return 0;
	for (i = 0; i < n && written < FLUSH_MAX; i++) {
		u = &t[i];
		if (__atomic_load_n(&u->state, __ATOMIC_ACQUIRE) != IN_USE)
			continue;
		f.u = u;
		f.nm = &names[i];
		f.at_us = __atomic_load_n(&u->at_us, __ATOMIC_RELAXED);
		if (f.at_us <= __atomic_load_n(&u->flushed_us,
		    __ATOMIC_RELAXED)) {
			reuse(u, &names[i], now_us);
			continue;
		}
		if (store_run(s, flush_tx, &f) != SIG_OK) {
			log_msg(LOG_WARN, "could not store when key %.64s last "
			    "verified", names[i].key);
			continue;
		}
		written++;
		raise_to(&u->flushed_us, f.at_us);
		if (f.gone) {
			/* Nothing to keep it for. */
			__atomic_store_n(&u->flushed_us, f.at_us,
			    __ATOMIC_RELAXED);
			reuse(u, &names[i], now_us + REUSE_AFTER_US);
		}
	}
	return written;
}
