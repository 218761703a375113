/*
 * Configuration: SIGNET_HOME/signet.conf ("key = value" lines, '#'
 * comments), each key overridden by the environment variable SIGNET_<KEY>
 * (docs/operations.md, Configuration).
 */
#ifndef SIGNET_CONFIG_H
#define SIGNET_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "signet/err.h"

#define CONFIG_SITE_MAX		256
#define CONFIG_PEERS_MAX	1024
/* Sites replication_peers can name: each takes 4 bytes ("h:1,") or more. */
#define CONFIG_PEERS_N		(CONFIG_PEERS_MAX / 4)

/* A replication site, parsed: its host (IPv6 without brackets), its port. */
struct config_site {
	char		 host[CONFIG_SITE_MAX];
	unsigned	 port;
};

/* The other sites of a group, parsed from replication_peers. */
struct config_sites {
	struct config_site site[CONFIG_PEERS_N];
	size_t		 n;
};

struct config {
	char	 home[PATH_MAX];
	char	 master_key_file[PATH_MAX];
	char	 jwks_ca_file[PATH_MAX];	/* empty: system trust */
	char	 log_file[PATH_MAX];	/* empty: stderr only (log.h) */
	int	 jwks_allow_private_addresses;
	long	 jwks_fetch_timeout_ms;
	long	 jwks_max_bytes;
	long	 max_body_bytes;
	long	 audit_retention_days;	/* 0: keep audit events for ever */
	long	 log_maintenance_writes;	/* 0: no automatic log removal */
	long	 housekeeping_seconds;	/* clock-driven housekeeping period */
	/*
	 * Replication (docs/replication.md); an empty site: stand-alone.  Each
	 * setting as written, and parsed once here (config_set) for the store.
	 */
	char	 replication_site[CONFIG_SITE_MAX];	/* this site, host:port */
	struct config_site replication_site_addr;	/* host "": alone */
	char	 replication_peers[CONFIG_PEERS_MAX];	/* host:port,... */
	struct config_sites replication_peer_addrs;
	int	 replication_group_creator;
	long	 replication_priority;
	char	 replication_ack_policy[16];
	int	 replication_acks;	/* as DB_REPMGR_ACKS_* */
	long	 replication_ack_timeout_ms;
	int	 replication_verbose;	/* log repmgr's own messages */
};

/*
 * The data directory: home when not NULL, else $SIGNET_HOME, else
 * $localstatedir/lib/signet.  Copied into out (PATH_MAX).  Returns SIG_OK, or
 * SIG_EINVAL when the path is too long.
 */
enum sig_err	config_home(const char *home, char *out);

/*
 * Fill cfg from its defaults, then home/signet.conf, then the environment.
 * An unreadable file is treated as empty; an unknown key or a bad value is
 * SIG_EINVAL with msg (SIG_MSG_MAX bytes) naming it.
 */
enum sig_err	config_load(const char *home, struct config *cfg, char *msg);

/*
 * Apply one "key = value" setting, with its parsed form where it has one
 * (the replication site, peers and ack policy).  Exposed for the unit
 * tests.  Returns SIG_OK, or SIG_EINVAL with msg and cfg unchanged.
 */
enum sig_err	config_set(struct config *cfg, const char *key,
		    const char *value, char *msg);

/*
 * Split a replication site "host:port" (an IPv6 host in brackets) into host
 * (CONFIG_SITE_MAX bytes) and port.  Returns SIG_OK or SIG_EINVAL.
 */
enum sig_err	config_site(const char *site, char *host, unsigned *port);

/*
 * The Berkeley DB acknowledgement policy named by name ("quorum", "all",
 * "all_available", "all_peers", "one", "one_peer", "none"), or -1.
 */
int	config_ack_policy(const char *name);

#endif
