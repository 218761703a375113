/*
 * What shared hosting relies on, without a web server: restore.c (a
 * backup staged beside the data directory, swapped in, the old directory's
 * processes told to exit), log_open (the log file) and app_why_not (why a
 * worker cannot start).  Each test runs in a process of its own.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signet/app.h"
#include "signet/crypto.h"
#include "signet/log.h"
#include "signet/restore.h"
#include "signet/store.h"
#include "unit.h"

static char	 top[64], home[128], backup[128];

static void
setup(void)
{
	unit_mkhome(top, sizeof(top), "restore");
	snprintf(home, sizeof(home), "%s/data", top);
	snprintf(backup, sizeof(backup), "%s/backup", top);
	ck_assert_int_eq(crypto_init(), SIG_OK);
}

static void
teardown(void)
{
	unit_rmhome(top);
}

/* Write text to dir/name. */
static void
put(const char *dir, const char *name, const char *text)
{
	char	 path[PATH_MAX + 64];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The contents of dir/name ("" when absent), in buf. */
static const char *
get(const char *dir, const char *name, char *buf, size_t size)
{
	char	 path[PATH_MAX + 64];
	FILE	*f;
	size_t	 n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static int
exists(const char *dir, const char *name)
{
	char	 path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* A backup as signetctl makes one: an environment's tables, a key, extras. */
static void
make_backup(int with_key)
{
	struct store	*s;
	char		 key[256];

	ck_assert_int_eq(mkdir(backup, 0700), 0);
	ck_assert_int_eq(store_open(backup, &s), SIG_OK);
	store_close(s);
	if (with_key) {
		snprintf(key, sizeof(key), "%s/master.key", backup);
		ck_assert_int_eq(crypto_master_create(key), SIG_OK);
	}
	put(backup, "signet.conf", "max_body_bytes = 4096\n");
	/* What a data directory makes for itself is never copied. */
	put(backup, "metrics.shm", "counters");
	put(backup, "maintenance.lock", "");
}

START_TEST(test_stage_copies_the_backup)
{
	char		 staged[PATH_MAX], msg[RESTORE_MSG_MAX];
	char		 a[PATH_MAX], b[PATH_MAX];
	struct store_verify_result vr;
	struct stat	 st;

	make_backup(1);
	ck_assert_int_eq(mkdir(home, 0700), 0);
	ck_assert_int_eq(restore_stage(backup, home, NULL, staged, msg),
	    SIG_OK);
	ck_assert_str_eq(staged, strcat(strcpy(a, home), ".restoring"));
	ck_assert_int_eq(stat(staged, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert(exists(staged, "accounts.db"));
	ck_assert(exists(staged, "log.0000000001"));
	ck_assert_str_eq(get(staged, "signet.conf", a, sizeof(a)),
	    "max_body_bytes = 4096\n");
	ck_assert(!exists(staged, "metrics.shm"));
	ck_assert(!exists(staged, "maintenance.lock"));
	ck_assert(!exists(staged, "__db.001"));
	ck_assert(!exists(staged, "__db.register"));
	ck_assert_int_eq(stat(strcat(strcpy(b, staged), "/master.key"), &st),
	    0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, 32);
	ck_assert_int_eq(store_verify(staged, &vr), SIG_OK);
	ck_assert_int_eq(vr.nfailed, 0);
	ck_assert_int_eq(vr.nplain, 0);
}
END_TEST

START_TEST(test_stage_refuses)
{
	char	 staged[PATH_MAX], msg[RESTORE_MSG_MAX], key[256];

	ck_assert_int_eq(mkdir(home, 0700), 0);
	ck_assert_int_eq(restore_stage(backup, home, NULL, staged, msg),
	    SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "is not a directory"));
	ck_assert_int_eq(mkdir(backup, 0700), 0);
	ck_assert_int_eq(restore_stage(backup, home, NULL, staged, msg),
	    SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "not a Signet backup"));
	ck_assert_int_eq(restore_stage(home, home, NULL, staged, msg),
	    SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "the data directory itself"));
	ck_assert_int_eq(rmdir(backup), 0);
	/* No master key in the backup, none in the home to take. */
	make_backup(0);
	snprintf(key, sizeof(key), "%s/master.key", home);
	ck_assert_int_eq(restore_stage(backup, home, key, staged, msg),
	    SIG_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "--no-master-key"));
	ck_assert_int_eq(access(staged, F_OK), -1);
}
END_TEST

START_TEST(test_stage_takes_the_home_key)
{
	char	 staged[PATH_MAX], msg[RESTORE_MSG_MAX], key[256];
	char	 k1[64], k2[64];

	make_backup(0);
	ck_assert_int_eq(mkdir(home, 0700), 0);
	snprintf(key, sizeof(key), "%s/master.key", home);
	ck_assert_int_eq(crypto_master_create(key), SIG_OK);
	ck_assert_int_eq(restore_stage(backup, home, key, staged, msg), SIG_OK);
	get(home, "master.key", k1, sizeof(k1));
	get(staged, "master.key", k2, sizeof(k2));
	ck_assert_mem_eq(k1, k2, 32);
	/* A key kept outside the home (NULL) is not copied in. */
	restore_discard(staged);
	ck_assert_int_eq(restore_stage(backup, home, NULL, staged, msg),
	    SIG_OK);
	ck_assert(!exists(staged, "master.key"));
}
END_TEST

START_TEST(test_swap)
{
	char	 staged[PATH_MAX], old[PATH_MAX], msg[RESTORE_MSG_MAX], buf[16];

	ck_assert_int_eq(mkdir(home, 0700), 0);
	put(home, "which", "old");
	snprintf(staged, sizeof(staged), "%s.restoring", home);
	ck_assert_int_eq(mkdir(staged, 0700), 0);
	put(staged, "which", "new");
	ck_assert_int_eq(restore_swap(home, staged, old, msg), SIG_OK);
	ck_assert_str_eq(get(home, "which", buf, sizeof(buf)), "new");
	ck_assert_str_eq(get(old, "which", buf, sizeof(buf)), "old");
	ck_assert_int_eq(strncmp(old, home, strlen(home)), 0);
	ck_assert_int_eq(strncmp(old + strlen(home), ".before-restore-", 16),
	    0);
	ck_assert_int_eq(access(staged, F_OK), -1);
}
END_TEST

/* A child that holds dir/name open until it is killed (30 s at most). */
static pid_t
holder(const char *dir, const char *name)
{
	char	 path[PATH_MAX + 64], c;
	pid_t	 pid;
	int	 p[2], i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	put(dir, name, "x");
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		/* Check's own handler would end the whole test's group. */
		signal(SIGTERM, SIG_DFL);
		close(p[0]);
		if (open(path, O_RDONLY) == -1 || write(p[1], "k", 1) != 1)
			_exit(3);
		for (i = 0; i < 300; i++)
			usleep(100 * 1000);
		_exit(0);
	}
	close(p[1]);
	/* Until the child has the file open. */
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

START_TEST(test_release_stops_the_holders_only)
{
	pid_t	 in, out;
	int	 status;

	ck_assert_int_eq(mkdir(home, 0700), 0);
	ck_assert_int_eq(mkdir(backup, 0700), 0);
	in = holder(home, "held");
	out = holder(backup, "elsewhere");
	ck_assert_int_eq(restore_release(home, 5000), 1);
	ck_assert_int_eq(waitpid(in, &status, 0), in);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	ck_assert_int_eq(waitpid(out, &status, WNOHANG), 0);
	kill(out, SIGKILL);
	ck_assert_int_eq(waitpid(out, &status, 0), out);
	/* Nobody left: nothing to do. */
	ck_assert_int_eq(restore_release(home, 1000), 0);
}
END_TEST

START_TEST(test_log_file)
{
	char	 path[256], errpath[256], buf[512];
	struct stat st;
	int	 fd;

	snprintf(path, sizeof(path), "%s/signet.log", top);
	snprintf(errpath, sizeof(errpath), "%s/stderr", top);
	ck_assert_int_ge(fd = open(errpath, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	ck_assert_int_eq(log_open(path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	log_msg(LOG_INFO, "request %d", 1);
	log_msg(LOG_ERR, "worker cannot start: %s", "why");
	get(top, "signet.log", buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "] info: request 1\n"));
	ck_assert_ptr_nonnull(strstr(buf,
	    "] error: worker cannot start: why\n"));
	/* Errors reach stderr too (the web server's log); requests do not. */
	get(top, "stderr", buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "request 1"));
	ck_assert_ptr_nonnull(strstr(buf, "worker cannot start: why"));
	/* Back to stderr alone; a file that cannot be opened says so. */
	ck_assert_int_eq(log_open(NULL), 0);
	log_msg(LOG_INFO, "request %d", 2);
	ck_assert_int_eq(log_open("/nonexistent-dir/signet.log"), -1);
	get(top, "stderr", buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "request 2"));
	ck_assert_ptr_nonnull(strstr(buf, "cannot open the log file "
	    "/nonexistent-dir/signet.log"));
	get(top, "signet.log", buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "request 2"));
}
END_TEST

START_TEST(test_why_not)
{
	struct app	 app;
	char		 msg[1024], want[512];

	memset(&app, 0, sizeof(app));
	snprintf(app.cfg.home, sizeof(app.cfg.home), "%s", home);
	app_why_not(&app, msg, sizeof(msg));
	ck_assert_ptr_nonnull(strstr(msg, "cannot be reached"));
	ck_assert_int_eq(mkdir(home, 0700), 0);
	ck_assert_int_eq(app_why_not(&app, msg, sizeof(msg)), 0);
	ck_assert_ptr_nonnull(strstr(msg, "the owner of the data directory"));
	if (geteuid() != 0)
		return;
	/* As a host without suEXEC does: the data belongs to someone else. */
	ck_assert_int_eq(chown(home, 65534, 65534), 0);
	ck_assert_int_eq(app_why_not(&app, msg, sizeof(msg)), 1);
	snprintf(want, sizeof(want), "running as root (0), data directory %s "
	    "owned by nobody (65534): your host must run your FastCGI programs "
	    "as you, e.g. with suEXEC", home);
	ck_assert_str_eq(msg, want);
	memset(&app, 0, sizeof(app));
	app_why_not(&app, msg, sizeof(msg));
	ck_assert_str_eq(msg, "see the lines logged before this one");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("restore");
	TCase	*tc = tcase_create("restore");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stage_copies_the_backup);
	tcase_add_test(tc, test_stage_refuses);
	tcase_add_test(tc, test_stage_takes_the_home_key);
	tcase_add_test(tc, test_swap);
	tcase_add_test(tc, test_release_stops_the_holders_only);
	tcase_add_test(tc, test_log_file);
	tcase_add_test(tc, test_why_not);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
