/* Shared by the unit test programs: run a suite and turn it into an exit code. */
#ifndef SIGNET_UNIT_H
#define SIGNET_UNIT_H

#include <check.h>

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
