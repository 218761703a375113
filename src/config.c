/* signet.conf and SIGNET_* environment overrides. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

#include "signet/config.h"
#include "signet/validate.h"

#ifndef SIGNET_LOCALSTATEDIR
#define SIGNET_LOCALSTATEDIR "/var"
#endif

enum kind { K_PATH, K_BOOL, K_LONG, K_SITE, K_SITES, K_ACKS };

struct setting {
	const char	*key;
	enum kind	 kind;
	size_t		 off;
	long		 min, max;
	size_t		 parsed;	/* K_SITE, K_SITES, K_ACKS: parsed */
};

static enum sig_err	parse_sites(const char *, struct config_sites *);
static char		*trim(char *);

static const struct setting settings[] = {
	{ "jwks_ca_file", K_PATH, offsetof(struct config, jwks_ca_file), 0, 0,
	    0 },
	{ "log_file", K_PATH, offsetof(struct config, log_file), 0, 0, 0 },
	{ "master_key_file", K_PATH,
	    offsetof(struct config, master_key_file), 0, 0, 0 },
	{ "jwks_allow_private_addresses", K_BOOL,
	    offsetof(struct config, jwks_allow_private_addresses), 0, 1, 0 },
	{ "jwks_fetch_timeout_ms", K_LONG,
	    offsetof(struct config, jwks_fetch_timeout_ms), 100, 60000, 0 },
	{ "jwks_max_bytes", K_LONG, offsetof(struct config, jwks_max_bytes),
	    1024, 16 * 1024 * 1024, 0 },
	{ "max_body_bytes", K_LONG, offsetof(struct config, max_body_bytes),
	    1024, 16 * 1024 * 1024, 0 },
	{ "audit_retention_days", K_LONG,
	    offsetof(struct config, audit_retention_days), 0, 36500, 0 },
	{ "log_maintenance_writes", K_LONG,
	    offsetof(struct config, log_maintenance_writes), 0, 1000000, 0 },
	{ "housekeeping_seconds", K_LONG,
	    offsetof(struct config, housekeeping_seconds), 1, 600, 0 },
	{ "replication_site", K_SITE,
	    offsetof(struct config, replication_site), 0, CONFIG_SITE_MAX,
	    offsetof(struct config, replication_site_addr) },
	{ "replication_peers", K_SITES,
	    offsetof(struct config, replication_peers), 0, CONFIG_PEERS_MAX,
	    offsetof(struct config, replication_peer_addrs) },
	{ "replication_group_creator", K_BOOL,
	    offsetof(struct config, replication_group_creator), 0, 1, 0 },
	{ "replication_priority", K_LONG,
	    offsetof(struct config, replication_priority), 0, 1000000, 0 },
	{ "replication_ack_policy", K_ACKS,
	    offsetof(struct config, replication_ack_policy), 0, 16,
	    offsetof(struct config, replication_acks) },
	{ "replication_ack_timeout_ms", K_LONG,
	    offsetof(struct config, replication_ack_timeout_ms), 10, 60000, 0 },
	{ "replication_verbose", K_BOOL,
	    offsetof(struct config, replication_verbose), 0, 1, 0 },
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

enum sig_err
config_home(const char *home, char *out)
{
	const char	*env = getenv("SIGNET_HOME");
	int		 n;

	if (home != NULL && *home != '\0')
		n = snprintf(out, PATH_MAX, "%s", home);
	else if (env != NULL && *env != '\0')
		n = snprintf(out, PATH_MAX, "%s", env);
	else
		n = snprintf(out, PATH_MAX, "%s/lib/signet",
		    SIGNET_LOCALSTATEDIR);
	return (n < 0 || n >= PATH_MAX) ? SIG_EINVAL : SIG_OK;
}

enum sig_err
config_site(const char *site, char *host, unsigned *port)
{
	const char	*colon, *h = site, *hend;
	char		*end;
	int64_t		 n;

	if (*site == '[') {
		h = site + 1;
		if ((hend = strchr(h, ']')) == NULL || hend[1] != ':')
			return SIG_EINVAL;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(site, ':')) == NULL ||
		    memchr(site, ':', (size_t)(colon - site)) != NULL)
			return SIG_EINVAL;
		hend = colon;
	}
	if (hend == h || (size_t)(hend - h) >= CONFIG_SITE_MAX)
		return SIG_EINVAL;
	for (end = (char *)h; end < hend; end++)
		if (isspace((unsigned char)*end) || *end == ',')
			return SIG_EINVAL;
	if (parse_decimal(colon + 1, strlen(colon + 1), 1, 65535, &n) == -1)
		return SIG_EINVAL;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = (unsigned)n;
	return SIG_OK;
}

int
config_ack_policy(const char *name)
{
	static const struct {
		const char	*name;
		int		 policy;
	} acks[] = {
		{ "quorum", DB_REPMGR_ACKS_QUORUM },
		{ "all", DB_REPMGR_ACKS_ALL },
		{ "all_available", DB_REPMGR_ACKS_ALL_AVAILABLE },
		{ "all_peers", DB_REPMGR_ACKS_ALL_PEERS },
		{ "one", DB_REPMGR_ACKS_ONE },
		{ "one_peer", DB_REPMGR_ACKS_ONE_PEER },
		{ "none", DB_REPMGR_ACKS_NONE },
	};
	size_t	 i;

	for (i = 0; i < sizeof(acks) / sizeof(acks[0]); i++)
		if (strcmp(acks[i].name, name) == 0)
			return acks[i].policy;
	return -1;
}

/*
 * A comma-separated list of sites, each valid, parsed into out; empty is
 * allowed.  SIG_EINVAL (out then undefined) otherwise.
 */
static enum sig_err
parse_sites(const char *list, struct config_sites *out)
{
	char	 one[CONFIG_PEERS_MAX];
	char	*p, *save = NULL;

	if (strlen(list) >= sizeof(one))
		return SIG_EINVAL;
	strcpy(one, list);
	out->n = 0;
	for (p = strtok_r(one, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*p))
			p++;
		if (out->n == CONFIG_PEERS_N || config_site(p,
		    out->site[out->n].host, &out->site[out->n].port) != SIG_OK)
			return SIG_EINVAL;
		out->n++;
	}
	return SIG_OK;
}

enum sig_err
config_set(struct config *cfg, const char *key, const char *value, char *msg)
{
	const struct setting *s = NULL;
	/* The parsed form, kept apart until the whole value is valid. */
	union {
		struct config_site	 site;
		struct config_sites	 sites;
		int			 acks;
	} p;
	char	*field;
	int64_t	 n;
	size_t	 i, psize;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			s = &settings[i];
	if (s == NULL) {
		snprintf(msg, SIG_MSG_MAX, "unknown setting %.64s", key);
		return SIG_EINVAL;
	}
	field = (char *)cfg + s->off;
	switch (s->kind) {
	case K_PATH:
		if (strlen(value) >= PATH_MAX)
			goto bad;
		strcpy(field, value);
		return SIG_OK;
	case K_SITE:
	case K_SITES:
	case K_ACKS:
		memset(&p, 0, sizeof(p));
		if (strlen(value) >= (size_t)s->max)
			goto bad;
		if (s->kind == K_SITE) {
			/* Empty: stand-alone, the parsed host "" too. */
			if (*value != '\0' && config_site(value, p.site.host,
			    &p.site.port) != SIG_OK)
				goto bad;
			psize = sizeof(p.site);
		} else if (s->kind == K_SITES) {
			if (parse_sites(value, &p.sites) != SIG_OK)
				goto bad;
			psize = sizeof(p.sites);
		} else {
			if ((p.acks = config_ack_policy(value)) < 0)
				goto bad;
			psize = sizeof(p.acks);
		}
		strcpy(field, value);
		memcpy((char *)cfg + s->parsed, &p, psize);
		return SIG_OK;
	case K_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0 ||
		    strcmp(value, "yes") == 0)
			*(int *)field = 1;
		else if (strcmp(value, "false") == 0 ||
		    strcmp(value, "0") == 0 || strcmp(value, "no") == 0)
			*(int *)field = 0;
		else
			goto bad;
		return SIG_OK;
	case K_LONG:
		if (parse_decimal(value, strlen(value), s->min, s->max,
		    &n) == -1)
			goto bad;
		*(long *)field = (long)n;
		return SIG_OK;
	}
bad:
	snprintf(msg, SIG_MSG_MAX, "invalid value for %s", key);
	return SIG_EINVAL;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

enum sig_err
config_load(const char *home, struct config *cfg, char *msg)
{
	char		 path[PATH_MAX], line[PATH_MAX + 128], env[96];
	char		*eq, *key, *val;
	const char	*ev;
	FILE		*f;
	enum sig_err	 rc = SIG_OK;
	size_t		 i, j;
	int		 lineno = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (config_home(home, cfg->home) != SIG_OK) {
		snprintf(msg, SIG_MSG_MAX, "SIGNET_HOME is too long");
		return SIG_EINVAL;
	}
	cfg->jwks_fetch_timeout_ms = 5000;
	cfg->jwks_max_bytes = 262144;
	cfg->max_body_bytes = 65536;
	cfg->audit_retention_days = 365;
	cfg->log_maintenance_writes = 256;
	cfg->housekeeping_seconds = 60;
	cfg->replication_priority = 100;
	strcpy(cfg->replication_ack_policy, "quorum");
	cfg->replication_acks = DB_REPMGR_ACKS_QUORUM;
	cfg->replication_ack_timeout_ms = 2000;
	if (snprintf(cfg->master_key_file, PATH_MAX, "%s/master.key",
	    cfg->home) >= PATH_MAX || snprintf(path, sizeof(path),
	    "%s/signet.conf", cfg->home) >= (int)sizeof(path)) {
		snprintf(msg, SIG_MSG_MAX, "SIGNET_HOME is too long");
		return SIG_EINVAL;
	}
	if ((f = fopen(path, "r")) != NULL) {
		while (rc == SIG_OK && fgets(line, sizeof(line), f) != NULL) {
			lineno++;
			key = trim(line);
			if (*key == '#' || *key == '\0')
				continue;
			if ((eq = strchr(key, '=')) == NULL) {
				snprintf(msg, SIG_MSG_MAX,
				    "signet.conf line %d: expected key = value",
				    lineno);
				rc = SIG_EINVAL;
				break;
			}
			*eq = '\0';
			val = trim(eq + 1);
			rc = config_set(cfg, trim(key), val, msg);
		}
		fclose(f);
		if (rc != SIG_OK)
			return rc;
	}
	/* SIGNET_<KEY> in the environment wins over the file. */
	for (i = 0; i < NSETTINGS; i++) {
		snprintf(env, sizeof(env), "SIGNET_%s", settings[i].key);
		for (j = 7; env[j] != '\0'; j++)
			env[j] = (char)toupper((unsigned char)env[j]);
		if ((ev = getenv(env)) != NULL &&
		    (rc = config_set(cfg, settings[i].key, ev, msg)) != SIG_OK)
			return rc;
	}
	return SIG_OK;
}
