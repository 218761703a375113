/* Shared by the unit test programs: run a suite and turn it into an exit code. */
#ifndef SIGNET_UNIT_H
#define SIGNET_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* A new empty directory /tmp/signet-check-<name>-XXXXXX, its path in home. */
static inline void
unit_mkhome(char *home, size_t size, const char *name)
{
	snprintf(home, size, "/tmp/signet-check-%s-XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(home));
}

/* Remove the directory unit_mkhome made, with everything in it. */
static inline void
unit_rmhome(const char *home)
{
	char	 cmd[128];

	ck_assert_int_lt(snprintf(cmd, sizeof(cmd), "rm -rf %s", home),
	    (int)sizeof(cmd));
	ck_assert_int_eq(system(cmd), 0);
}

/*
 * Run every test of s (in this process when nofork, for fixtures that hold
 * handles) and return 0 when all passed.  Frees s.
 */
static inline int
unit_run(Suite *s, int nofork)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	if (nofork)
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
