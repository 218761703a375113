/*
 * When each key last verified something (last_verified_at), without a
 * storage write per verify: every worker notes the time of a match in a
 * table of the shared file (shm.h), which all processes read at once, and
 * a worker's housekeeping (at most one process per period) writes the
 * times into the key records, so they outlive the shared file.  A key's
 * time is then the later of the two: exact to the microsecond while the
 * shared file lives, at most one housekeeping period (default 60 s) behind
 * after a crash of the machine loses it.
 *
 * Keys are named by their id where it is unique (endpoint keys "sk_...",
 * workspace keys' uid) and by their record key for enterprise keys
 * ("<ent id>/<keyId>"); where says how to find the record to write:
 * USAGE_ENDPOINT, USAGE_INBOUND (with the endpoint id), USAGE_ENTKEY,
 * USAGE_WSKEY.
 */
#ifndef SIGNET_USAGE_H
#define SIGNET_USAGE_H

#include <stdint.h>

#include "signet/store.h"

enum usage_where {
	USAGE_ENDPOINT = 1,	/* an outbound endpoint's key */
	USAGE_INBOUND,		/* an inbound endpoint's key */
	USAGE_ENTKEY,		/* an enterprise key (record "<ent>/<keyId>") */
	USAGE_WSKEY,		/* a workspace key (record: its uid) */
};

/*
 * Note that key (of the endpoint record for the endpoint kinds, NULL
 * otherwise) verified something at at_us.  Costs no storage access; does
 * nothing when the shared file is not mapped or its table is full.
 */
void	usage_note(enum usage_where where, const char *record, const char *key,
	    int64_t at_us);

/* The latest time noted for key in the shared table, or 0. */
int64_t	usage_seen(const char *key);

/*
 * Write the noted times newer than those stored into the key records, if
 * this process wins the period's claim (one process per `period` seconds).
 * Returns how many records were written.
 */
int	usage_flush(struct store *s, int64_t now_us, long period);

#endif
