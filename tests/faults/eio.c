/*
 * An LD_PRELOAD shim for the tests: write, pwrite, pwrite64, writev, fsync
 * and fdatasync on files under SIGNET_HOME fail, as a failing disk makes
 * them fail.  Built by the tests themselves (harness.fault_shim):
 *
 *   cc -shared -fPIC -o eio.so tests/faults/eio.c -ldl
 *
 * Read from the environment at the first call:
 *   SIGNET_HOME          only files under this directory fail (the fd's path
 *                        is read from /proc/self/fd); unset: the shim is off
 *   SIGNET_FAULT_ERRNO   EIO (default) or ENOSPC
 *   SIGNET_FAULT_CALLS   which calls fail, a comma-separated subset of
 *                        write,pwrite,writev,fsync,fdatasync (default: all;
 *                        pwrite covers pwrite64)
 *   SIGNET_FAULT_FLAG    a path: calls fail while that file exists
 *   SIGNET_FAULT_AFTER   calls fail from the Nth matching call of the
 *                        process on (1 = the first), ...
 *   SIGNET_FAULT_COUNT   ... for this many calls (default: for ever)
 * With neither SIGNET_FAULT_FLAG nor SIGNET_FAULT_AFTER nothing fails.
 * Counting is per process.  A failing call does nothing and sets errno;
 * each one is counted in SIGNET_FAULT_FLAG.hits (one byte appended), so a
 * test can tell the fault was met.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum call { C_WRITE, C_PWRITE, C_WRITEV, C_FSYNC, C_FDATASYNC, C_N };

static const char *const call_names[C_N] = {
	"write", "pwrite", "writev", "fsync", "fdatasync"
};

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static char		 home[PATH_MAX];
static size_t		 home_len;
static char		 flag[PATH_MAX];
static char		 hits[PATH_MAX];
static int		 fail_errno = EIO;
static int		 calls_on[C_N];
static long		 after, count = -1;
static long		 seen;		/* matching calls so far */

static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t	(*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t	(*real_writev)(int, const struct iovec *, int);
static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);

static void
setup(void)
{
	const char	*v, *p;
	char		 real[PATH_MAX];
	int		 i;

	real_write = (ssize_t (*)(int, const void *, size_t))
	    dlsym(RTLD_NEXT, "write");
	real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))
	    dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = (ssize_t (*)(int, const void *, size_t, off64_t))
	    dlsym(RTLD_NEXT, "pwrite64");
	real_writev = (ssize_t (*)(int, const struct iovec *, int))
	    dlsym(RTLD_NEXT, "writev");
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	if ((v = getenv("SIGNET_HOME")) == NULL || *v == '\0')
		return;
	/* The fd's path is the resolved one: compare with the resolved home. */
	if (realpath(v, real) == NULL ||
	    snprintf(home, sizeof(home), "%s/", real) >= (int)sizeof(home)) {
		home[0] = '\0';
		return;
	}
	home_len = strlen(home);
	if ((v = getenv("SIGNET_FAULT_ERRNO")) != NULL && strcmp(v, "ENOSPC") == 0)
		fail_errno = ENOSPC;
	if ((v = getenv("SIGNET_FAULT_CALLS")) == NULL || *v == '\0')
		v = "write,pwrite,writev,fsync,fdatasync";
	for (i = 0; i < C_N; i++) {
		size_t	 n = strlen(call_names[i]);

		for (p = v; (p = strstr(p, call_names[i])) != NULL; p += n)
			if ((p == v || p[-1] == ',') &&
			    (p[n] == ',' || p[n] == '\0'))
				calls_on[i] = 1;
	}
	if ((v = getenv("SIGNET_FAULT_FLAG")) != NULL && *v != '\0' &&
	    snprintf(flag, sizeof(flag), "%s", v) < (int)sizeof(flag))
		(void)snprintf(hits, sizeof(hits), "%s.hits", v);
	else
		flag[0] = '\0';
	if ((v = getenv("SIGNET_FAULT_AFTER")) != NULL)
		after = strtol(v, NULL, 10);
	if ((v = getenv("SIGNET_FAULT_COUNT")) != NULL)
		count = strtol(v, NULL, 10);
}

/* Whether fd is a file under SIGNET_HOME. */
static int
under_home(int fd)
{
	char	 link[64], path[PATH_MAX];
	ssize_t	 n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	/* readlink is a system call, not one of ours: no recursion. */
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	return (size_t)n > home_len && strncmp(path, home, home_len) == 0;
}

/* Whether this call fails; if so errno is set. */
static int
fails(enum call c, int fd)
{
	long	 nth;
	int	 hfd, saved = errno;

	pthread_once(&once, setup);
	if (home_len == 0 || !calls_on[c] || (flag[0] == '\0' && after <= 0))
		return 0;
	if (!under_home(fd))
		return 0;
	if (flag[0] != '\0') {
		if (access(flag, F_OK) != 0) {
			errno = saved;
			return 0;
		}
	} else {
		nth = __atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST);
		if (nth < after || (count >= 0 && nth >= after + count))
			return 0;
	}
	if (hits[0] != '\0' &&
	    (hfd = open(hits, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0666)) >= 0) {
		(void)syscall(SYS_write, hfd, "x", 1);
		close(hfd);
	}
	errno = fail_errno;
	return 1;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	if (fails(C_WRITE, fd))
		return -1;
	return real_write(fd, buf, n);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fails(C_PWRITE, fd))
		return -1;
	return real_pwrite(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	if (fails(C_PWRITE, fd))
		return -1;
	return real_pwrite64(fd, buf, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	if (fails(C_WRITEV, fd))
		return -1;
	return real_writev(fd, iov, n);
}

int
fsync(int fd)
{
	if (fails(C_FSYNC, fd))
		return -1;
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	if (fails(C_FDATASYNC, fd))
		return -1;
	return real_fdatasync(fd);
}
