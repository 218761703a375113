/* A backup swapped in for a live data directory (restore.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "signet/crypto.h"
#include "signet/restore.h"

#define RELEASE_MAX	256	/* processes one restore asks to exit */

static int	made_afresh(const char *);
static int	holds_file_under(pid_t, const char *);
static int	find_holders(const char *, pid_t *, int);

int
restore_copy_file(const char *src, const char *dst)
{
	char	 buf[65536];
	ssize_t	 n;
	int	 in, out, rc = -1;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) ==
	    -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto done;
	if (n == 0 && fsync(out) == 0)
		rc = 0;
done:
	/* The master key passes through this buffer. */
	crypto_wipe(buf, sizeof(buf));
	close(in);
	if (close(out) != 0)
		rc = -1;
	return rc;
}

/* Files a data directory makes for itself, never taken from a backup. */
static int
made_afresh(const char *name)
{
	return strncmp(name, "__db.", 5) == 0 ||
	    strcmp(name, "metrics.shm") == 0 ||
	    strcmp(name, "maintenance.lock") == 0 ||
	    strcmp(name, "recover.needed") == 0;
}

void
restore_discard(const char *staged)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*e;

	if ((d = opendir(staged)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' && snprintf(path, sizeof(path),
			    "%s/%s", staged, e->d_name) < (int)sizeof(path))
				(void)unlink(path);
		closedir(d);
	}
	(void)rmdir(staged);
}

enum sig_err
restore_stage(const char *backup, const char *home, const char *home_key,
    char *staged, char *msg)
{
	char		 src[PATH_MAX], dst[PATH_MAX];
	struct stat	 bst, hst, st;
	DIR		*d;
	struct dirent	*e;
	int		 have_key = 0;

	if (stat(backup, &bst) == -1 || !S_ISDIR(bst.st_mode)) {
		snprintf(msg, RESTORE_MSG_MAX, "%s is not a directory", backup);
		return SIG_EINVAL;
	}
	if (stat(home, &hst) == 0 && hst.st_dev == bst.st_dev &&
	    hst.st_ino == bst.st_ino) {
		snprintf(msg, RESTORE_MSG_MAX, "%s is the data directory "
		    "itself, not a backup of it", backup);
		return SIG_EINVAL;
	}
	if (snprintf(src, sizeof(src), "%s/accounts.db", backup) >=
	    (int)sizeof(src) || stat(src, &st) == -1) {
		snprintf(msg, RESTORE_MSG_MAX, "%s is not a Signet backup (no "
		    "accounts.db): make one with signetctl backup", backup);
		return SIG_EINVAL;
	}
	if (snprintf(staged, PATH_MAX, "%s.restoring", home) >= PATH_MAX) {
		snprintf(msg, RESTORE_MSG_MAX, "the data directory's path is "
		    "too long");
		return SIG_EINVAL;
	}
	/* A copy left by a restore that was interrupted: start again. */
	if (lstat(staged, &st) == 0 && S_ISDIR(st.st_mode))
		restore_discard(staged);
	if (mkdir(staged, 0700) == -1) {
		snprintf(msg, RESTORE_MSG_MAX, "cannot create %s: %s (the "
		    "directory holding the data directory must be writable by "
		    "its owner)", staged, strerror(errno));
		return SIG_EINTERNAL;
	}
	if ((d = opendir(backup)) == NULL) {
		snprintf(msg, RESTORE_MSG_MAX, "cannot read %s: %s", backup,
		    strerror(errno));
		goto fail;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || made_afresh(e->d_name))
			continue;
		if (snprintf(src, sizeof(src), "%s/%s", backup, e->d_name) >=
		    (int)sizeof(src) || snprintf(dst, sizeof(dst), "%s/%s",
		    staged, e->d_name) >= (int)sizeof(dst) ||
		    lstat(src, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (restore_copy_file(src, dst) != 0) {
			snprintf(msg, RESTORE_MSG_MAX, "cannot copy %s: %s",
			    src, strerror(errno));
			closedir(d);
			goto fail;
		}
		have_key |= strcmp(e->d_name, "master.key") == 0;
	}
	closedir(d);
	if (!have_key && home_key != NULL) {
		snprintf(dst, sizeof(dst), "%s/master.key", staged);
		if (access(home_key, F_OK) != 0 ||
		    restore_copy_file(home_key, dst) != 0) {
			snprintf(msg, RESTORE_MSG_MAX, "%s has no master.key "
			    "(a backup made with --no-master-key) and %s "
			    "cannot be copied: put the master key into the "
			    "backup first", backup, home_key);
			restore_discard(staged);
			return SIG_EINVAL;
		}
	}
	return SIG_OK;
fail:
	restore_discard(staged);
	return SIG_EINTERNAL;
}

enum sig_err
restore_swap(const char *home, const char *staged, char *old, char *msg)
{
	char		 stamp[32];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 n;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	n = snprintf(old, PATH_MAX, "%s.before-restore-%s", home, stamp);
	if (n >= PATH_MAX || access(old, F_OK) == 0)
		n = snprintf(old, PATH_MAX, "%s.before-restore-%s-%ld", home,
		    stamp, (long)getpid());
	if (n >= PATH_MAX) {
		snprintf(msg, RESTORE_MSG_MAX, "the data directory's path is "
		    "too long");
		return SIG_EINTERNAL;
	}
	/* Atomic: a worker starting meanwhile finds one or the other. */
	if (renameat2(AT_FDCWD, staged, AT_FDCWD, home, RENAME_EXCHANGE) ==
	    0) {
		if (rename(staged, old) == 0)
			return SIG_OK;
		/* Swapped but not renamed: the former data is at staged. */
		snprintf(old, PATH_MAX, "%s", staged);
		return SIG_OK;
	}
	if (errno != EINVAL && errno != ENOSYS) {
		snprintf(msg, RESTORE_MSG_MAX, "cannot swap %s and %s: %s",
		    staged, home, strerror(errno));
		return SIG_EINTERNAL;
	}
	if (rename(home, old) == -1) {
		snprintf(msg, RESTORE_MSG_MAX, "cannot move %s aside: %s", home,
		    strerror(errno));
		return SIG_EINTERNAL;
	}
	if (rename(staged, home) == -1) {
		snprintf(msg, RESTORE_MSG_MAX, "cannot move %s to %s: %s",
		    staged, home, strerror(errno));
		(void)rename(old, home);
		return SIG_EINTERNAL;
	}
	return SIG_OK;
}

/* Whether process pid has a file open under dir (its /proc fd links). */
static int
holds_file_under(pid_t pid, const char *dir)
{
	char		 fddir[64], link[PATH_MAX + 64], target[PATH_MAX];
	size_t		 dlen = strlen(dir);
	DIR		*d;
	struct dirent	*e;
	ssize_t		 n;
	int		 found = 0;

	snprintf(fddir, sizeof(fddir), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(fddir)) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", fddir, e->d_name);
		if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		found = strncmp(target, dir, dlen) == 0 && (target[dlen] ==
		    '/' || target[dlen] == '\0');
	}
	closedir(d);
	return found;
}

/* This user's other processes holding a file under dir, at most max. */
static int
find_holders(const char *dir, pid_t *pids, int max)
{
	char		 path[64];
	struct stat	 st;
	DIR		*d;
	struct dirent	*e;
	long		 pid;
	char		*end;
	int		 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while (n < max && (e = readdir(d)) != NULL) {
		errno = 0;
		pid = strtol(e->d_name, &end, 10);
		if (*end != '\0' || errno != 0 || pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld", pid);
		if (stat(path, &st) == -1 || st.st_uid != geteuid())
			continue;
		if (holds_file_under((pid_t)pid, dir))
			pids[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

int
restore_release(const char *old, int wait_ms)
{
	pid_t	 pids[RELEASE_MAX];
	int	 n, i, waited, alive;
	char	 real[PATH_MAX];

	/* /proc names the files by their resolved paths. */
	if (realpath(old, real) == NULL)
		return 0;
	n = find_holders(real, pids, RELEASE_MAX);
	for (i = 0; i < n; i++)
		(void)kill(pids[i], SIGTERM);
	for (waited = 0; waited < wait_ms; waited += 100) {
		for (alive = 0, i = 0; i < n; i++)
			alive += kill(pids[i], 0) == 0 &&
			    holds_file_under(pids[i], real);
		if (alive == 0)
			break;
		usleep(100 * 1000);
	}
	for (i = 0; i < n; i++)
		if (kill(pids[i], 0) == 0 && holds_file_under(pids[i], real))
			(void)kill(pids[i], SIGKILL);
	return n;
}
