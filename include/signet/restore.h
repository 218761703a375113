/*
 * Restoring a backup in place of a live data directory, without root and
 * without stopping the web server (signetctl restore): the backup is copied
 * beside the data directory, checked, swapped in with one rename, and the
 * processes still holding the old directory are asked to exit so that the
 * web server starts new ones on the restored data.
 *
 * The caller is the owner of the data directory and may write the
 * directory that holds it (the copy and the swap are renames there).
 */
#ifndef SIGNET_RESTORE_H
#define SIGNET_RESTORE_H

#include <limits.h>
#include <stddef.h>

#include "signet/err.h"

#define RESTORE_MSG_MAX	(2 * PATH_MAX + 256)

/*
 * Copy the backup in dir `backup` (as signetctl backup makes it: tables, log
 * files, master.key unless left out, signet.conf) into a new directory
 * `staged` (PATH_MAX bytes) beside home, mode 0700, its files 0600.  The
 * environment's regions, metrics.shm and Signet's lock files are not
 * copied: they are made afresh.  When the backup has no master.key and
 * home_key (the master key inside home, or NULL when it is kept elsewhere)
 * exists, that key is copied instead: the master key never changes.
 * Returns SIG_OK; SIG_EINVAL with msg when backup is not a backup, is home,
 * or has no master key to go with it; SIG_EINTERNAL with msg on an I/O
 * error.  On failure nothing is left behind.
 */
enum sig_err	restore_stage(const char *backup, const char *home,
		    const char *home_key, char *staged, char *msg);

/*
 * Put staged in home's place and the former home at `old` (PATH_MAX bytes:
 * home + ".before-restore-<UTC time>"), with one atomic exchange where the
 * file system has it (two renames otherwise).  Returns SIG_OK, or
 * SIG_EINTERNAL with msg and nothing moved.
 */
enum sig_err	restore_swap(const char *home, const char *staged, char *old,
		    char *msg);

/*
 * Ask every other process of this user that has a file open under old (the
 * workers of the former data directory) to exit with SIGTERM, wait for them
 * at most wait_ms, then SIGKILL those that still hold a file there.  The web
 * server starts new workers, which open the restored directory.  Returns
 * how many processes were asked to exit.
 */
int	restore_release(const char *old, int wait_ms);

/*
 * Copy the file src to dst, which is created with mode 0600 and never
 * overwritten, and sync it; the buffer is wiped (a master key passes
 * through it).  Returns 0, or -1 with errno.
 */
int	restore_copy_file(const char *src, const char *dst);

/* Remove staged and what is in it (after a failed check). */
void	restore_discard(const char *staged);

#endif
