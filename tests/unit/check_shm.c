/*
 * The shared cells over a temporary SIGNET_HOME: the file and its size, the
 * generation and slot cells mapped and unmapped, and the credential
 * generation rule auth_check follows.  Each test runs in a process of its
 * own (Check's fork mode), so each starts unmapped.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signet/auth.h"
#include "signet/crypto.h"
#include "signet/shm.h"
#include "signet/store.h"
#include "unit.h"

/* magic, the request cells, the generation and the slot counter. */
#define SHM_FILE_BYTES	(8 * (1 + SHM_ROUTES * SHM_STATUSES + \
	SHM_ROUTES * SHM_BUCKETS + SHM_ROUTES + SHM_COUNTERS + 2))

static char	 home[64];

static void
setup(void)
{
	unit_mkhome(home, sizeof(home), "shm");
	crypto_init();
}

static void
teardown(void)
{
	unit_rmhome(home);
}

START_TEST(test_unmapped)
{
	uint64_t	 gen = 7;

	ck_assert_ptr_null(shm_requests());
	ck_assert_int_eq(shm_generation(&gen), 0);
	ck_assert_uint_eq(gen, 7);
	ck_assert_int_eq(shm_generation_bump(), 0);
	ck_assert_uint_eq(shm_process_slot(), (unsigned)getpid());
	/* signetctl never creates the file. */
	ck_assert_int_eq(shm_attach(home), SIG_ENOTFOUND);
	ck_assert_ptr_null(shm_requests());
}
END_TEST

START_TEST(test_cells)
{
	char		 path[128];
	struct stat	 st;
	uint64_t	 gen = 7;
	pid_t		 pid;
	int		 status;

	ck_assert_int_eq(shm_map(home), SIG_OK);
	snprintf(path, sizeof(path), "%s/metrics.shm", home);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, SHM_FILE_BYTES);
	ck_assert_ptr_nonnull(shm_requests());
	ck_assert_int_eq(shm_generation(&gen), 1);
	ck_assert_uint_eq(gen, 0);
	ck_assert_int_eq(shm_generation_bump(), 1);
	ck_assert_int_eq(shm_generation(&gen), 1);
	ck_assert_uint_eq(gen, 1);
	ck_assert_uint_eq(shm_process_slot(), 0);
	ck_assert_uint_eq(shm_process_slot(), 1);
	/* Another process that attaches shares the same cells. */
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* The child shares the mapping, as a worker shares the file. */
		_exit(shm_generation(&gen) == 1 && gen == 1 &&
		    shm_generation_bump() == 1 && shm_process_slot() == 2 ?
		    0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(shm_generation(&gen), 1);
	ck_assert_uint_eq(gen, 2);
	ck_assert_uint_eq(shm_process_slot(), 3);
}
END_TEST

START_TEST(test_attach_existing)
{
	uint64_t	 gen;
	pid_t		 pid;
	int		 status;

	/* A worker made the file and revoked once ... */
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(shm_map(home) == SIG_OK && shm_generation_bump() == 1 ?
		    0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* ... and a later process attaching sees its generation. */
	ck_assert_int_eq(shm_attach(home), SIG_OK);
	ck_assert_int_eq(shm_generation(&gen), 1);
	ck_assert_uint_eq(gen, 1);
}
END_TEST

START_TEST(test_auth_generation)
{
	struct store	*s;
	uint64_t	 gen = 7;

	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	/* Unmapped: nothing may be kept, and a revocation tells nobody. */
	ck_assert_int_eq(auth_generation(s, &gen), 0);
	ck_assert_int_eq(auth_revoked(), 0);
	ck_assert_int_eq(shm_map(home), SIG_OK);
	ck_assert_int_eq(auth_generation(s, &gen), 1);
	ck_assert_uint_eq(gen, 0);
	ck_assert_int_eq(auth_revoked(), 1);
	ck_assert_int_eq(auth_generation(s, &gen), 1);
	ck_assert_uint_eq(gen, 1);
	store_close(s);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("shm");
	TCase	*tc = tcase_create("cells");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unmapped);
	tcase_add_test(tc, test_cells);
	tcase_add_test(tc, test_attach_existing);
	tcase_add_test(tc, test_auth_generation);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
