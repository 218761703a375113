/*
 * The replication settings parsed once by config_set into the form the
 * store configures Berkeley DB with, and store_repl_from_config.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

#include "signet/config.h"
#include "signet/store.h"
#include "unit.h"

static struct config	 cfg;
static char		 msg[SIG_MSG_MAX];

static void
setup(void)
{
	unsetenv("SIGNET_REPLICATION_PEERS");
	ck_assert_int_eq(config_load("/nonexistent-signet-home", &cfg, msg),
	    SIG_OK);
}

START_TEST(test_defaults)
{
	ck_assert_str_eq(cfg.replication_site_addr.host, "");
	ck_assert_uint_eq(cfg.replication_site_addr.port, 0);
	ck_assert_uint_eq(cfg.replication_peer_addrs.n, 0);
	ck_assert_int_eq(cfg.replication_acks, DB_REPMGR_ACKS_QUORUM);
}
END_TEST

START_TEST(test_site)
{
	ck_assert_int_eq(config_set(&cfg, "replication_site", "[::1]:7001",
	    msg), SIG_OK);
	ck_assert_str_eq(cfg.replication_site_addr.host, "::1");
	ck_assert_uint_eq(cfg.replication_site_addr.port, 7001);
	/* A bad value changes neither form. */
	ck_assert_int_eq(config_set(&cfg, "replication_site", "db2:0", msg),
	    SIG_EINVAL);
	ck_assert_str_eq(cfg.replication_site, "[::1]:7001");
	ck_assert_str_eq(cfg.replication_site_addr.host, "::1");
	ck_assert_uint_eq(cfg.replication_site_addr.port, 7001);
	/* Empty again: stand-alone, in both forms. */
	ck_assert_int_eq(config_set(&cfg, "replication_site", "", msg),
	    SIG_OK);
	ck_assert_str_eq(cfg.replication_site_addr.host, "");
}
END_TEST

START_TEST(test_peers)
{
	const struct config_sites *p = &cfg.replication_peer_addrs;
	char	 many[CONFIG_PEERS_MAX];
	size_t	 i;

	ck_assert_int_eq(config_set(&cfg, "replication_peers",
	    "127.0.0.1:7002, [::1]:7003,,db4.example:7004,", msg), SIG_OK);
	ck_assert_uint_eq(p->n, 3);
	ck_assert_str_eq(p->site[0].host, "127.0.0.1");
	ck_assert_uint_eq(p->site[0].port, 7002);
	ck_assert_str_eq(p->site[1].host, "::1");
	ck_assert_uint_eq(p->site[1].port, 7003);
	ck_assert_str_eq(p->site[2].host, "db4.example");
	ck_assert_uint_eq(p->site[2].port, 7004);
	ck_assert_int_eq(config_set(&cfg, "replication_peers",
	    "127.0.0.1:7002,bad", msg), SIG_EINVAL);
	ck_assert_uint_eq(p->n, 3);
	ck_assert_str_eq(p->site[2].host, "db4.example");
	/* The longest list the setting holds: CONFIG_PEERS_N sites. */
	for (i = 0; i < CONFIG_PEERS_N; i++)
		memcpy(many + 4 * i, "h:1,", 4);
	many[4 * CONFIG_PEERS_N - 1] = '\0';
	ck_assert_int_eq(config_set(&cfg, "replication_peers", many, msg),
	    SIG_OK);
	ck_assert_uint_eq(p->n, CONFIG_PEERS_N);
	ck_assert_str_eq(p->site[CONFIG_PEERS_N - 1].host, "h");
	ck_assert_int_eq(config_set(&cfg, "replication_peers", "", msg),
	    SIG_OK);
	ck_assert_uint_eq(p->n, 0);
}
END_TEST

START_TEST(test_ack_policy)
{
	ck_assert_int_eq(config_set(&cfg, "replication_ack_policy", "all",
	    msg), SIG_OK);
	ck_assert_int_eq(cfg.replication_acks, DB_REPMGR_ACKS_ALL);
	ck_assert_int_eq(config_set(&cfg, "replication_ack_policy", "most",
	    msg), SIG_EINVAL);
	ck_assert_str_eq(cfg.replication_ack_policy, "all");
	ck_assert_int_eq(cfg.replication_acks, DB_REPMGR_ACKS_ALL);
}
END_TEST

START_TEST(test_environment)
{
	setenv("SIGNET_REPLICATION_PEERS", "db2:7002,db3:7003", 1);
	ck_assert_int_eq(config_load("/nonexistent-signet-home", &cfg, msg),
	    SIG_OK);
	unsetenv("SIGNET_REPLICATION_PEERS");
	ck_assert_uint_eq(cfg.replication_peer_addrs.n, 2);
	ck_assert_str_eq(cfg.replication_peer_addrs.site[1].host, "db3");
	ck_assert_uint_eq(cfg.replication_peer_addrs.site[1].port, 7003);
}
END_TEST

START_TEST(test_store_repl_from_config)
{
	struct store_repl r;

	ck_assert_int_eq(config_set(&cfg, "replication_site", "db1:7001",
	    msg), SIG_OK);
	ck_assert_int_eq(config_set(&cfg, "replication_peers",
	    "db2:7002,db3:7003", msg), SIG_OK);
	ck_assert_int_eq(config_set(&cfg, "replication_ack_policy", "one",
	    msg), SIG_OK);
	ck_assert_int_eq(config_set(&cfg, "replication_priority", "7", msg),
	    SIG_OK);
	ck_assert_int_eq(config_set(&cfg, "replication_group_creator", "yes",
	    msg), SIG_OK);
	store_repl_from_config(&cfg, &r);
	ck_assert_ptr_eq(r.site, &cfg.replication_site_addr);
	ck_assert_str_eq(r.site->host, "db1");
	ck_assert_uint_eq(r.site->port, 7001);
	ck_assert_uint_eq(r.npeers, 2);
	ck_assert_str_eq(r.peers[0].host, "db2");
	ck_assert_int_eq(r.ack_policy, DB_REPMGR_ACKS_ONE);
	ck_assert_int_eq(r.priority, 7);
	ck_assert_int_eq(r.group_creator, 1);
	ck_assert_int_eq(r.ack_timeout_ms, 2000);
	ck_assert_int_eq(r.verbose, 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("replication");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_site);
	tcase_add_test(tc, test_peers);
	tcase_add_test(tc, test_ack_policy);
	tcase_add_test(tc, test_environment);
	tcase_add_test(tc, test_store_repl_from_config);
	suite_add_tcase(s, tc);
	return unit_run(s, 0);
}
