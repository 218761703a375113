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
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/keyring.h"
#include "signet/shm.h"
#include "signet/store.h"
#include "signet/usage.h"
#include "unit.h"

/*
 * magic, the request cells, the generation and the slot counter (the
 * first layout, which later ones only append to), then the usage claim
 * and table, then the counters added later.
 */
#define SHM_V1_BYTES	(8 * (1 + SHM_ROUTES * SHM_STATUSES + \
	SHM_ROUTES * SHM_BUCKETS + SHM_ROUTES + SHM_COUNTERS + 2))
#define SHM_FILE_BYTES	(SHM_V1_BYTES + 8 + SHM_USAGE_SLOTS * \
	(sizeof(struct shm_usage) + sizeof(struct shm_usage_name)) + \
	8 * SHM_MORE_COUNTERS)

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

struct put_rec {
	json_object	*rec;
	enum sig_err	 rc;
	json_object	*got;
};

static enum sig_err
put_endpoint(struct store_txn *t, void *arg)
{
	struct put_rec	*p = arg;

	return store_put(t, TBL_ENDPOINTS, "ep_u", p->rec);
}

static enum sig_err
get_endpoint(struct store_txn *t, void *arg)
{
	struct put_rec	*p = arg;

	json_object_put(p->got);
	return store_get(t, TBL_ENDPOINTS, "ep_u", 0, &p->got);
}

/*
 * last_verified_at: noted in the shared table (the latest time wins, seen
 * at once by every process), and written into the record by one flush per
 * period; a later listing shows the later of the two.
 */
START_TEST(test_usage)
{
	struct master_key mk;
	struct new_key	 k;
	struct put_rec	 p = { NULL, SIG_OK, NULL };
	struct store	*s;
	json_object	*list;
	const int64_t	 t0 = INT64_C(1800000000) * 1000000;
	pid_t		 pid;
	int		 status;

	/* Unmapped: nothing noted, nothing flushed. */
	usage_note(USAGE_ENDPOINT, "ep_u", "sk_x", t0);
	ck_assert_int_eq(usage_seen("sk_x"), 0);
	ck_assert_int_eq(shm_map(home), SIG_OK);
	ck_assert_int_eq(usage_seen("sk_x"), 0);

	crypto_random(mk.k, sizeof(mk.k), 1);
	ck_assert_int_eq(keyring_new_key(&k, KEY_HMAC, 0), SIG_OK);
	p.rec = json_object_new_object();
	json_object_object_add(p.rec, "id", json_object_new_string("ep_u"));
	ck_assert_int_eq(keyring_add(&mk, p.rec, &k, t0 / 1000000), SIG_OK);
	ck_assert_int_eq(store_open(home, &s), SIG_OK);
	ck_assert_int_eq(store_run(s, put_endpoint, &p), SIG_OK);

	usage_note(USAGE_ENDPOINT, "ep_u", k.id, t0 + 5000000);
	usage_note(USAGE_ENDPOINT, "ep_u", k.id, t0 + 2000000);	/* older */
	ck_assert_int_eq(usage_seen(k.id), t0 + 5000000);
	/* Another process sees it and adds a later one. */
	if ((pid = fork()) == 0) {
		usage_note(USAGE_ENDPOINT, "ep_u", k.id, t0 + 9000000);
		_exit(usage_seen(k.id) == t0 + 9000000 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(usage_seen(k.id), t0 + 9000000);
	list = keyring_list(p.rec, t0 / 1000000);
	ck_assert_str_eq(json_str(json_object_array_get_idx(list, 0),
	    "last_verified_at"), "2027-01-15T08:00:09Z");
	json_object_put(list);

	/* One flush a period: the time goes into the stored record. */
	ck_assert_int_eq(usage_flush(s, t0 + 10000000, 60), 1);
	ck_assert_int_eq(usage_flush(s, t0 + 11000000, 60), 0);
	ck_assert_int_eq(store_read(s, get_endpoint, &p), SIG_OK);
	ck_assert_int_eq(json_i64(json_object_array_get_idx(json_object_object_get(
	    p.got, "keys"), 0), "last_verified_at"), t0 / 1000000 + 9);
	/* Nothing newer: the next period's flush writes nothing. */
	ck_assert_int_eq(usage_flush(s, t0 + 80000000, 60), 0);
	usage_note(USAGE_ENDPOINT, "ep_u", k.id, t0 + 81000000);
	ck_assert_int_eq(usage_flush(s, t0 + 150000000, 60), 1);
	/* A key that is no more is dropped, not written. */
	usage_note(USAGE_ENDPOINT, "ep_u", "sk_gone", t0);
	ck_assert_int_eq(usage_flush(s, t0 + 220000000, 60), 1);
	ck_assert_int_eq(usage_seen("sk_gone"), 0);
	json_object_put(p.got);
	json_object_put(p.rec);
	keyring_forget(&k);
	store_close(s);
}
END_TEST

/* The OTP lock: 60 s at the fifth wrong code, doubling, at most an hour. */
START_TEST(test_otp_lock_seconds)
{
	ck_assert_int_eq(auth_otp_lock_seconds(0), 0);
	ck_assert_int_eq(auth_otp_lock_seconds(AUTH_OTP_TRIES - 1), 0);
	ck_assert_int_eq(auth_otp_lock_seconds(AUTH_OTP_TRIES), 60);
	ck_assert_int_eq(auth_otp_lock_seconds(AUTH_OTP_TRIES + 1), 120);
	ck_assert_int_eq(auth_otp_lock_seconds(AUTH_OTP_TRIES + 5), 1920);
	ck_assert_int_eq(auth_otp_lock_seconds(AUTH_OTP_TRIES + 6), 3600);
	ck_assert_int_eq(auth_otp_lock_seconds(1000000), 3600);
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
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_otp_lock_seconds);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
