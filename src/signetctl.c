/*
 * signetctl: administration of a Signet data directory (docs/signetctl.8;
 * docs/api.md, signetctl and configuration).
 * Every command prints one JSON document on stdout; failures print
 * {"error": {"code", "message"}} and exit non-zero.
 *
 * Run as root on a data directory owned by another user (the web server's),
 * signetctl first becomes that user, so every file it creates stays usable
 * by the service.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signet/app.h"
#include "signet/audit.h"
#include "signet/auth.h"
#include "signet/config.h"
#include "signet/crypto.h"
#include "signet/json.h"
#include "signet/log.h"
#include "signet/restore.h"
#include "signet/shm.h"
#include "signet/store.h"
#include "signet/validate.h"

#define ROLE_WAIT_MS	15000
#define RELEASE_WAIT_MS	10000	/* for the old workers to let go (restore) */
#define FOREIGN_MSG_MAX	(PATH_MAX + 1024)	/* foreign_file's sentence */

struct cmd {
	const char	*name;
	const char	*sub;
	int		(*fn)(struct config *, int, char **);
	const char	*usage;
};

static void
print_json(json_object *o)
{
	char	*s = json_dump(o);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_object_put(o);
}

static int
fail(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(const char *code, const char *fmt, ...)
{
	json_object	*root, *err;
	char		 msg[2048];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	root = json_object_new_object();
	err = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(msg));
	json_object_object_add(root, "error", err);
	print_json(root);
	return 1;
}

/* The value of --name style options in argv; NULL when absent. */
static const char *
opt(int argc, char **argv, const char *name)
{
	int	 i;

	for (i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* Whether argv holds only known options (each with a value). */
static int
only_opts(int argc, char **argv, const char *const *known)
{
	const char *const *k;
	int	 i;

	for (i = 0; i < argc; i += 2) {
		for (k = known; *k != NULL; k++)
			if (strcmp(argv[i], *k) == 0)
				break;
		if (*k == NULL || i + 1 >= argc)
			return 0;
	}
	return 1;
}

/* "name (uid)" of a user id into out. */
static void
user_name(uid_t uid, char *out, size_t outsz)
{
	struct passwd	*pw = getpwuid(uid);

	snprintf(out, outsz, "%s (%lu)", pw != NULL ? pw->pw_name : "?",
	    (unsigned long)uid);
}

/*
 * Whether home holds a file of another user that this one cannot open with
 * mode (R_OK, W_OK): then a sentence saying which, whose, and who we are,
 * into msg.  That happens when the web server runs Signet as another user
 * than the data directory's owner (docs/operations.md, Shared hosting).
 */
static int
foreign_file(const char *home, const char *only, int mode, char *msg,
    size_t msgsz)
{
	char		 path[PATH_MAX + 256], owner[300], me[300];
	struct stat	 st;
	DIR		*d;
	struct dirent	*e;
	int		 found = 0;

	if ((d = opendir(home)) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || (only != NULL &&
		    strcmp(e->d_name, only) != 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", home, e->d_name);
		if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_uid == geteuid() || access(path, mode) == 0)
			continue;
		user_name(st.st_uid, owner, sizeof(owner));
		user_name(geteuid(), me, sizeof(me));
		snprintf(msg, msgsz, "%s belongs to %s (mode %04o) and %s "
		    "cannot %s it", path, owner, (unsigned)(st.st_mode & 07777),
		    me, mode == R_OK ? "read" : "write");
		found = 1;
	}
	closedir(d);
	return found;
}

/* The master of a replicated site, as last seen by open_store. */
static char	 master_site[300];

/*
 * A replicated site needs a moment after opening to learn its role (or, as
 * the only process of the site, to win an election): wait for it, bounded.
 */
static void
wait_for_role(struct store *s)
{
	struct store_role r;
	int		 i;

	for (i = 0; i < ROLE_WAIT_MS / 100; i++) {
		if (store_role(s, &r) != SIG_OK || !r.replicated)
			return;
		snprintf(master_site, sizeof(master_site), "%s", r.master_site);
		if (r.master || (r.master_site[0] != '\0' &&
		    r.startup_complete))
			return;
		usleep(100 * 1000);
	}
}

static int
open_store(struct config *cfg, struct store **s)
{
	struct stat	 st;

	if (stat(cfg->home, &st) == -1)
		return fail("NOT_INITIALIZED", "%s does not exist: run "
		    "signetctl init", cfg->home);
	if (crypto_init() != SIG_OK || app_store_open(cfg, s) != SIG_OK)
		return fail("STORAGE_UNAVAILABLE", "cannot open storage in %s",
		    cfg->home);
	wait_for_role(*s);
	return 0;
}

/* A failed storage call: replication's reasons are worth naming. */
static int
store_fail(enum sig_err rc, const char *what)
{
	if (rc == SIG_ENOTMASTER)
		return fail("NOT_MASTER", "%s: this site is a replica; run "
		    "signetctl on the master%s%s", what, master_site[0] ?
		    ", replication site " : "", master_site);
	if (rc == SIG_ENOQUORUM)
		return fail("NOT_ACKNOWLEDGED", "%s: committed here but not "
		    "confirmed by a quorum of sites in time", what);
	return fail("STORAGE_ERROR", "%s", what);
}

static int
cmd_init(struct config *cfg, int argc, char **argv)
{
	struct store	*s;
	json_object	*o;
	enum sig_err	 rc;

	(void)argv;
	if (argc != 0)
		return fail("USAGE", "usage: signetctl init");
	if (mkdir(cfg->home, 0700) == -1 && errno != EEXIST)
		return fail("IO_ERROR", "cannot create %s: %s", cfg->home,
		    strerror(errno));
	if (crypto_init() != SIG_OK)
		return fail("INTERNAL_ERROR", "GnuTLS initialisation failed");
	rc = crypto_master_create(cfg->master_key_file);
	if (rc != SIG_OK && rc != SIG_EEXISTS)
		return fail("IO_ERROR", "cannot create the master key %s",
		    cfg->master_key_file);
	if (app_store_open(cfg, &s) != SIG_OK)
		return fail("STORAGE_UNAVAILABLE", "cannot create storage in "
		    "%s", cfg->home);
	store_close(s);
	o = json_object_new_object();
	json_object_object_add(o, "home", json_object_new_string(cfg->home));
	json_object_object_add(o, "initialized", json_object_new_boolean(1));
	json_object_object_add(o, "master_key_created",
	    json_object_new_boolean(rc == SIG_OK));
	print_json(o);
	return 0;
}

static int
cmd_account_create(struct config *cfg, int argc, char **argv)
{
	static const char *const known[] = { "--name", NULL };
	struct store	*s;
	const char	*name = opt(argc, argv, "--name");
	char		 id[IDS_MAX];
	json_object	*o;
	enum sig_err	 rc;

	if (!only_opts(argc, argv, known) || name == NULL)
		return fail("USAGE", "usage: signetctl account create --name N");
	if (*name == '\0' || strlen(name) > AUTH_NAME_MAX)
		return fail("INVALID_REQUEST", "name must be 1 to %d bytes",
		    AUTH_NAME_MAX);
	if (open_store(cfg, &s) != 0)
		return 1;
	rc = auth_account_create(s, name, id);
	store_close(s);
	if (rc != SIG_OK)
		return store_fail(rc, "cannot create the account");
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "name", json_object_new_string(name));
	print_json(o);
	return 0;
}

static int
cmd_apikey_create(struct config *cfg, int argc, char **argv)
{
	static const char *const known[] = { "--account", "--role", "--name",
	    NULL };
	struct store	*s;
	const char	*account = opt(argc, argv, "--account");
	const char	*role = opt(argc, argv, "--role");
	const char	*name = opt(argc, argv, "--name");
	char		 id[IDS_MAX], token[AUTH_TOKEN_LEN + 1];
	json_object	*o;
	enum sig_err	 rc;

	if (!only_opts(argc, argv, known) || account == NULL || role == NULL)
		return fail("USAGE", "usage: signetctl apikey create --account "
		    "ID --role admin|member [--name N]");
	if (!valid_prefixed_hex(account, "acct_", 32))
		return fail("INVALID_REQUEST", "account must be acct_ followed "
		    "by 32 lowercase hex digits");
	if (strcmp(role, "admin") != 0 && strcmp(role, "member") != 0)
		return fail("INVALID_REQUEST", "role must be admin or member");
	if (name != NULL && (*name == '\0' || strlen(name) > AUTH_NAME_MAX))
		return fail("INVALID_REQUEST", "name must be 1 to %d bytes",
		    AUTH_NAME_MAX);
	if (open_store(cfg, &s) != 0)
		return 1;
	rc = auth_apikey_create(s, account, role, name, id, token);
	store_close(s);
	if (rc == SIG_ENOTFOUND)
		return fail("NOT_FOUND", "no account %s", account);
	if (rc != SIG_OK)
		return store_fail(rc, "cannot create the API key");
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "account", json_object_new_string(account));
	json_object_object_add(o, "role", json_object_new_string(role));
	crypto_wipe(token, sizeof(token));
	print_json(o);
	return 0;
}

static int
cmd_apikey_revoke(struct config *cfg, int argc, char **argv)
{
	struct store	*s;
	json_object	*o;
	enum sig_err	 rc;
	int		 reached;

	if (argc != 1)
		return fail("USAGE", "usage: signetctl apikey revoke ID");
	if (!valid_apikey_id(argv[0]))
		return fail("INVALID_REQUEST", "API key id must be ak_ "
		    "followed by 24 lowercase hex digits");
	if (open_store(cfg, &s) != 0)
		return 1;
	/* Workers keep resolved tokens until the shared generation moves. */
	reached = shm_attach(cfg->home) != SIG_EINTERNAL;
	rc = auth_apikey_revoke(s, argv[0]);
	store_close(s);
	if (rc == SIG_ENOTFOUND)
		return fail("NOT_FOUND", "no API key %s", argv[0]);
	if (rc != SIG_OK)
		return store_fail(rc, "cannot revoke the API key");
	if (!reached) {
		char	 why[FOREIGN_MSG_MAX];

		if (!foreign_file(cfg->home, "metrics.shm", R_OK | W_OK, why,
		    sizeof(why)))
			snprintf(why, sizeof(why), "%s/metrics.shm cannot be "
			    "opened", cfg->home);
		log_msg(LOG_WARN, "the key is revoked, but the running "
		    "workers cannot be told at once: %s; they stop accepting "
		    "it within %d seconds (the most they keep a token)", why,
		    AUTH_CACHE_TTL_S);
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(argv[0]));
	json_object_object_add(o, "revoked", json_object_new_boolean(1));
	print_json(o);
	return 0;
}

/* Percent-encode s for an otpauth:// label or parameter. */
static void
uri_escape(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t	 o = 0;

	for (; *s != '\0' && o + 4 < outsz; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static int
cmd_totp_enroll(struct config *cfg, int argc, char **argv)
{
	static const char *const known[] = { "--apikey", NULL };
	struct master_key mk;
	struct store	*s;
	const char	*id = opt(argc, argv, "--apikey");
	char		 secret[64], name[AUTH_NAME_MAX + 1], label[512];
	char		 uri[1024];
	json_object	*o;
	enum sig_err	 rc;

	if (!only_opts(argc, argv, known) || id == NULL)
		return fail("USAGE", "usage: signetctl totp enroll --apikey ID");
	if (!valid_apikey_id(id))
		return fail("INVALID_REQUEST", "API key id must be ak_ "
		    "followed by 24 lowercase hex digits");
	if (open_store(cfg, &s) != 0)
		return 1;
	if (crypto_master_load(cfg->master_key_file, &mk) != SIG_OK) {
		store_close(s);
		return fail("IO_ERROR", "cannot read the master key");
	}
	rc = auth_totp_enroll(s, &mk, id, secret, name, sizeof(name));
	crypto_wipe(&mk, sizeof(mk));
	store_close(s);
	if (rc == SIG_ENOTFOUND)
		return fail("NOT_FOUND", "no API key %s", id);
	if (rc == SIG_EFORBIDDEN)
		return fail("FORBIDDEN", "only admin API keys enrol TOTP");
	if (rc != SIG_OK)
		return store_fail(rc, "cannot enrol the TOTP secret");
	uri_escape(name, label, sizeof(label));
	snprintf(uri, sizeof(uri), "otpauth://totp/Signet:%s?secret=%s&"
	    "issuer=Signet&algorithm=SHA1&digits=6&period=30", label, secret);
	o = json_object_new_object();
	json_object_object_add(o, "apikey", json_object_new_string(id));
	json_object_object_add(o, "secret", json_object_new_string(secret));
	json_object_object_add(o, "otpauth_uri", json_object_new_string(uri));
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(uri, sizeof(uri));
	print_json(o);
	return 0;
}

static int
cmd_backup(struct config *cfg, int argc, char **argv)
{
	struct store	*s;
	char		 src[PATH_MAX + 16], dst[PATH_MAX + 16];
	json_object	*o;
	enum sig_err	 rc;
	int		 master = 1, checksums = 0, converted = 0, i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--no-master-key") == 0)
			master = 0;
		else if (strcmp(argv[i], "--checksums") == 0)
			checksums = 1;
		else
			break;
	if (argc < 1 || i < argc)
		return fail("USAGE", "usage: signetctl backup DIR "
		    "[--no-master-key] [--checksums]");
	if (access(argv[0], F_OK) == 0 && access(argv[0], W_OK | X_OK) != 0) {
		struct passwd	*pw = getpwuid(geteuid());

		return fail("IO_ERROR", "%s is not writable by %s, who owns the "
		    "data directory and makes the backup: give it to that user "
		    "(chown), or name a directory that does not exist yet",
		    argv[0], pw != NULL ? pw->pw_name : "the data directory's "
		    "owner");
	}
	{
		char	 why[FOREIGN_MSG_MAX];

		/* Berkeley DB's copy reads every file of the directory. */
		if (foreign_file(cfg->home, NULL, R_OK, why, sizeof(why)))
			return fail("IO_ERROR", "cannot back up %s: %s: the "
			    "web server runs Signet as another user than the "
			    "data directory's owner; run signetctl as that "
			    "user, or have the host run your FastCGI programs "
			    "as you (suEXEC)", cfg->home, why);
	}
	if (open_store(cfg, &s) != 0)
		return 1;
	rc = store_backup(s, argv[0]);
	store_close(s);
	if (rc == SIG_EINVAL)
		return fail("INVALID_REQUEST", "%s must be empty or absent",
		    argv[0]);
	if (rc != SIG_OK)
		return fail("STORAGE_ERROR", "backup to %s failed", argv[0]);
	/* Tables made before page checksums were on get them in the copy. */
	if (checksums && (rc = store_add_checksums(argv[0], &converted)) !=
	    SIG_OK)
		return fail("STORAGE_ERROR", rc == SIG_EINVAL ? "the backup in "
		    "%s has a table that does not verify: no checksums added" :
		    "adding page checksums to the backup in %s failed",
		    argv[0]);
	/* Without the master key the copy's secrets cannot be read. */
	if (master) {
		snprintf(src, sizeof(src), "%s", cfg->master_key_file);
		snprintf(dst, sizeof(dst), "%s/master.key", argv[0]);
		if (restore_copy_file(src, dst) != 0)
			return fail("IO_ERROR", "cannot copy the master key");
	}
	snprintf(src, sizeof(src), "%s/signet.conf", cfg->home);
	snprintf(dst, sizeof(dst), "%s/signet.conf", argv[0]);
	if (access(src, F_OK) == 0 && restore_copy_file(src, dst) != 0)
		return fail("IO_ERROR", "cannot copy signet.conf");
	o = json_object_new_object();
	json_object_object_add(o, "backup", json_object_new_string(argv[0]));
	json_object_object_add(o, "master_key_included",
	    json_object_new_boolean(master));
	if (checksums)
		json_object_object_add(o, "tables_given_checksums",
		    json_object_new_int(converted));
	print_json(o);
	return 0;
}

/*
 * restore BACKUP: the backup, copied and checked, takes the data
 * directory's place; the workers of the former one are told to exit (the
 * web server starts new ones); the result is opened and read.
 */
static int
cmd_restore(struct config *cfg, int argc, char **argv)
{
	struct store	*s;
	char		 staged[PATH_MAX], old[PATH_MAX], key[PATH_MAX + 16];
	char		 msg[RESTORE_MSG_MAX];
	struct store_verify_result vr;
	json_object	*o;
	enum sig_err	 rc;
	int		 released, inside;

	if (argc != 1)
		return fail("USAGE", "usage: signetctl restore BACKUP_DIR");
	if (cfg->replication_site[0] != '\0')
		return fail("INVALID_REQUEST", "restore replaces a stand-alone "
		    "data directory; a site of a replication group gets its "
		    "data from the group (docs/replication.md)");
	if (access(cfg->home, F_OK) != 0)
		return fail("NOT_INITIALIZED", "%s does not exist: restore "
		    "replaces an existing data directory (signetctl init makes "
		    "one)", cfg->home);
	/* A master key kept inside the home goes with the data. */
	snprintf(key, sizeof(key), "%s/master.key", cfg->home);
	inside = strcmp(key, cfg->master_key_file) == 0;
	if (crypto_init() != SIG_OK)
		return fail("INTERNAL_ERROR", "GnuTLS initialisation failed");
	rc = restore_stage(argv[0], cfg->home, inside ? key : NULL, staged,
	    msg);
	if (rc == SIG_EINVAL)
		return fail("INVALID_REQUEST", "%s", msg);
	if (rc != SIG_OK)
		return fail("IO_ERROR", "%s", msg);
	if (store_verify(staged, &vr) != SIG_OK || vr.nfailed != 0) {
		restore_discard(staged);
		return fail("STORAGE_ERROR", "the backup in %s does not "
		    "verify%s%s: nothing was changed", argv[0], vr.nfailed ?
		    "; first bad table: " : "", vr.nfailed ? vr.failed[0] : "");
	}
	if (restore_swap(cfg->home, staged, old, msg) != SIG_OK) {
		restore_discard(staged);
		return fail("IO_ERROR", "%s: nothing was changed", msg);
	}
	released = restore_release(old, RELEASE_WAIT_MS);
	/* Recovery of the copy and a read: what the next worker will do. */
	if (app_store_open(cfg, &s) != SIG_OK)
		return fail("STORAGE_UNAVAILABLE", "the backup is in place but "
		    "storage in %s does not open; the former data is in %s",
		    cfg->home, old);
	rc = store_ping(s);
	store_close(s);
	if (rc != SIG_OK)
		return fail("STORAGE_ERROR", "the backup is in place but "
		    "storage in %s does not answer; the former data is in %s",
		    cfg->home, old);
	o = json_object_new_object();
	json_object_object_add(o, "restored",
	    json_object_new_string(cfg->home));
	json_object_object_add(o, "from", json_object_new_string(argv[0]));
	json_object_object_add(o, "previous", json_object_new_string(old));
	json_object_object_add(o, "workers_stopped",
	    json_object_new_int(released));
	json_object_object_add(o, "verified", json_object_new_boolean(1));
	print_json(o);
	return 0;
}

/* Whether home holds Signet's tables (a backup without its master key). */
static int
has_tables(const char *home)
{
	char	 path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/accounts.db", home);
	return access(path, F_OK) == 0;
}

/* A JSON array of n table names. */
static json_object *
names(const char *const *v, int n)
{
	json_object	*a = json_object_new_array();
	int		 i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static int
cmd_verify(struct config *cfg, int argc, char **argv)
{
	struct store_verify_result vr;
	json_object	*o;

	(void)argv;
	if (argc != 0)
		return fail("USAGE", "usage: signetctl verify");
	if (access(cfg->home, F_OK) != 0 || (access(cfg->master_key_file,
	    F_OK) != 0 && !has_tables(cfg->home)))
		return fail("NOT_INITIALIZED", "%s is not a Signet data directory: "
		    "run signetctl init", cfg->home);
	if (crypto_init() != SIG_OK || store_verify(cfg->home, &vr) != SIG_OK)
		return fail("STORAGE_ERROR", "cannot verify %s", cfg->home);
	o = json_object_new_object();
	json_object_object_add(o, "ok",
	    json_object_new_boolean(vr.nfailed == 0));
	json_object_object_add(o, "tables_failed",
	    json_object_new_int(vr.nfailed));
	if (vr.nfailed)
		json_object_object_add(o, "first_failed",
		    json_object_new_string(vr.failed[0]));
	json_object_object_add(o, "failed", names(vr.failed, vr.nfailed));
	/* Readable, but a damaged page of theirs would go unnoticed. */
	json_object_object_add(o, "without_checksums",
	    names(vr.plain, vr.nplain));
	print_json(o);
	return vr.nfailed == 0 ? 0 : 1;
}

struct prune_args {
	int64_t		 before_us;
	int		 removed;
};

static enum sig_err
prune_tx(struct store_txn *t, void *arg)
{
	struct prune_args *p = arg;

	return audit_prune(t, p->before_us, 1000, &p->removed);
}

/* Every audit event older than audit_retention_days, in batches. */
static enum sig_err
prune_audit(struct config *cfg, struct store *s, int *total)
{
	struct prune_args p;
	enum sig_err	 rc;

	*total = 0;
	if (cfg->audit_retention_days == 0)
		return SIG_OK;
	p.before_us = ids_now_us() -
	    (int64_t)cfg->audit_retention_days * 86400 * 1000000;
	do {
		p.removed = 0;
		/* On a replica the master prunes, and the deletes arrive. */
		if ((rc = store_run(s, prune_tx, &p)) == SIG_ENOTMASTER)
			return SIG_OK;
		if (rc != SIG_OK)
			return rc;
		*total += p.removed;
	} while (p.removed > 0);
	return SIG_OK;
}

static int
cmd_stats(struct config *cfg, int argc, char **argv)
{
	struct store		*s;
	struct store_stats	 st;
	json_object		*o;
	int			 removed = 0, pruned = 0, maintain;

	maintain = argc == 1 && strcmp(argv[0], "--maintain") == 0;
	if (argc != 0 && !maintain)
		return fail("USAGE", "usage: signetctl stats [--maintain]");
	if (open_store(cfg, &s) != 0)
		return 1;
	if (maintain && (store_maintain(s, &removed) != SIG_OK ||
	    prune_audit(cfg, s, &pruned) != SIG_OK)) {
		store_close(s);
		return fail("STORAGE_ERROR", "maintenance failed");
	}
	if (store_stats(s, &st) != SIG_OK) {
		store_close(s);
		return fail("STORAGE_ERROR", "cannot read storage statistics");
	}
	store_close(s);
	o = json_object_new_object();
	json_object_object_add(o, "cache_hits",
	    json_object_new_int64((int64_t)st.cache_hits));
	json_object_object_add(o, "cache_misses",
	    json_object_new_int64((int64_t)st.cache_misses));
	json_object_object_add(o, "cache_bytes",
	    json_object_new_int64((int64_t)st.cache_bytes));
	json_object_object_add(o, "log_files",
	    json_object_new_int64((int64_t)st.log_files));
	json_object_object_add(o, "log_bytes",
	    json_object_new_int64((int64_t)st.log_bytes));
	json_object_object_add(o, "deadlocks",
	    json_object_new_int64((int64_t)st.lock_deadlocks));
	json_object_object_add(o, "commits",
	    json_object_new_int64((int64_t)st.txn_commits));
	if (maintain) {
		json_object_object_add(o, "log_files_removed",
		    json_object_new_int(removed));
		json_object_object_add(o, "audit_events_pruned",
		    json_object_new_int(pruned));
	}
	print_json(o);
	return 0;
}

static const struct cmd cmds[] = {
	{ "init", NULL, cmd_init, "init" },
	{ "account", "create", cmd_account_create, "account create --name N" },
	{ "apikey", "create", cmd_apikey_create,
	    "apikey create --account ID --role admin|member [--name N]" },
	{ "apikey", "revoke", cmd_apikey_revoke, "apikey revoke ID" },
	{ "totp", "enroll", cmd_totp_enroll, "totp enroll --apikey ID" },
	{ "backup", NULL, cmd_backup,
	    "backup DIR [--no-master-key] [--checksums]" },
	{ "restore", NULL, cmd_restore, "restore BACKUP_DIR" },
	{ "verify", NULL, cmd_verify, "verify" },
	{ "stats", NULL, cmd_stats, "stats [--maintain]" },
};

/*
 * Root backing up a home it does not own (it acts as the owner, below) into
 * a directory that does not exist yet: make it now, while still root, and
 * the missing directories above it, each 0700 and the owner's, since the
 * existing parent (/var/backups, say) is often one only root may write.
 * An existing directory is left as it is.
 */
static int
backup_dir_for(const struct stat *home, const char *dir)
{
	struct stat	 st;
	char		 path[PATH_MAX], *p;

	if (lstat(dir, &st) == 0 || errno != ENOENT)
		return 0;
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return fail("USAGE", "the backup path is too long");
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			char	 c = *p;

			*p = '\0';
			if (lstat(path, &st) == -1 && (mkdir(path, 0700) == -1 ||
			    chown(path, home->st_uid, home->st_gid) == -1))
				return fail("IO_ERROR", "cannot create %s for the "
				    "owner of the data directory: %s", path,
				    strerror(errno));
			*p = c;
		}
		if (*p == '\0')
			return 0;
	}
}

/*
 * Root on a home owned by someone else: become that user, so that files
 * created in the environment (logs, regions, metrics.shm) stay writable by
 * the service.  The supplementary groups go too: root's would otherwise
 * stay with the process.  backup (when not NULL) is the directory a backup
 * goes to.
 */
static int
become_owner(const char *home, const char *backup)
{
	struct stat	 st;

	if (geteuid() != 0 || stat(home, &st) == -1 || st.st_uid == 0)
		return 0;
	if (backup != NULL && backup_dir_for(&st, backup) != 0)
		return 1;
	if (setgroups(1, &st.st_gid) == -1 || setgid(st.st_gid) == -1 ||
	    setuid(st.st_uid) == -1)
		return fail("IO_ERROR", "cannot switch to the owner of %s",
		    home);
	return 0;
}

static int
usage(void)
{
	size_t	 i;

	fprintf(stderr, "usage: signetctl [--home DIR] command\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  %s\n", cmds[i].usage);
	return 2;
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	const char	*home = NULL;
	char		 msg[SIG_MSG_MAX];
	size_t		 i;
	int		 a = 1, nsub;

	if (a + 1 < argc && strcmp(argv[a], "--home") == 0) {
		home = argv[a + 1];
		a += 2;
	}
	if (a >= argc)
		return usage();
	if (config_load(home, &cfg, msg) != SIG_OK)
		return fail("INVALID_CONFIG", "%s", msg);
	/* init may create the home; an existing one decides whom we act as. */
	if (become_owner(cfg.home, a + 1 < argc && strcmp(argv[a], "backup") ==
	    0 ? argv[a + 1] : NULL) != 0)
		return 1;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[a], cmds[i].name) != 0)
			continue;
		nsub = cmds[i].sub != NULL;
		if (nsub && (a + 1 >= argc || strcmp(argv[a + 1],
		    cmds[i].sub) != 0))
			continue;
		return cmds[i].fn(&cfg, argc - a - 1 - nsub,
		    argv + a + 1 + nsub);
	}
	return usage();
}
