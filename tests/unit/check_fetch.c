/* The JWKS fetcher: placeholder until it lands (asserts the refusal). */
#include "config.h"

#include <check.h>

#include "signet/fetch.h"
#include "unit.h"

START_TEST(test_refuses)
{
	struct fetch_opts	 o = { NULL, 0, 5000, 262144 };
	struct fetch_result	 r;

	ck_assert_int_eq(fetch_https("https://example.com/", &o, &r),
	    SIG_EFETCH);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("fetch");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_refuses);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
