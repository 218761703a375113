/*
 * Parsed records kept per process (store_get_shared): a read of an endpoint
 * costs one Berkeley DB get and a compare instead of a JSON parse.  The
 * bytes are read in the caller's transaction every time and compared with
 * those the kept object was parsed from, so the cache can never answer
 * anything but what parsing the current record would: it memoises the
 * parse, it does not remember the data.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signet/json.h"
#include "signet/log.h"
#include "signet/store.h"

#define CACHE_SLOTS	32
#define CACHE_MAX_VALUE	(16 * 1024)	/* larger records are parsed each time */

struct slot {
	enum store_table tbl;
	char		*key;
	char		*raw;
	size_t		 len;
	json_object	*obj;
};

static struct slot slots[CACHE_SLOTS];

/* FNV-1a over the table and the key. */
static size_t
slot_of(enum store_table tbl, const char *key)
{
	uint32_t	 h = 2166136261u ^ (uint32_t)tbl;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % CACHE_SLOTS;
}

static void
slot_clear(struct slot *e)
{
	free(e->key);
	free(e->raw);
	json_object_put(e->obj);
	memset(e, 0, sizeof(*e));
}

enum sig_err
store_get_shared(struct store_txn *t, enum store_table tbl, const char *key,
    json_object **out)
{
	struct slot	*e = &slots[slot_of(tbl, key)];
	const char	*raw;
	size_t		 len;
	enum sig_err	 rc;

	*out = NULL;
	if ((rc = store_get_raw(t, tbl, key, &raw, &len)) != SIG_OK)
		return rc;
	if (e->obj != NULL && e->tbl == tbl && e->len == len &&
	    strcmp(e->key, key) == 0 && memcmp(e->raw, raw, len) == 0) {
		*out = json_object_get(e->obj);
		return SIG_OK;
	}
	if ((*out = json_parse_trusted(raw, len)) == NULL) {
		log_msg(LOG_ERR, "record %s does not parse", key);
		return SIG_EINTERNAL;
	}
	if (len > CACHE_MAX_VALUE)
		return SIG_OK;
	slot_clear(e);
	if ((e->key = strdup(key)) == NULL || (e->raw = malloc(len)) == NULL) {
		slot_clear(e);
		return SIG_OK;
	}
	memcpy(e->raw, raw, len);
	e->tbl = tbl;
	e->len = len;
	e->obj = json_object_get(*out);
	return SIG_OK;
}

void
store_cache_clear(void)
{
	size_t	 i;

	for (i = 0; i < CACHE_SLOTS; i++)
		slot_clear(&slots[i]);
}
