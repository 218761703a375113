/*
 * The store's administrative tasks, for /metrics, /healthz and signetctl:
 * figures, hot backup, structure check, forced maintenance, a cheap read.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <db.h>

#include "signet/log.h"
#include "signet/store.h"
#include "store_impl.h"

static int	 dir_is_empty(const char *);
static int	 has_checksums(const char *);
static int	 copy_table(const char *, const char *);
static enum sig_err ping(struct store_txn *, void *);

enum sig_err
store_stats(struct store *s, struct store_stats *st)
{
	DB_MPOOL_STAT	*mp = NULL;
	DB_LOCK_STAT	*lk = NULL;
	DB_TXN_STAT	*tx = NULL;
	char		**list = NULL, **p;
	const char	*home = NULL;
	struct stat	 sb;
	struct statvfs	 fs;

	memset(st, 0, sizeof(*st));
	if (s->env->memp_stat(s->env, &mp, NULL, 0) != 0 ||
	    s->env->lock_stat(s->env, &lk, 0) != 0 ||
	    s->env->txn_stat(s->env, &tx, 0) != 0) {
		free(mp);
		free(lk);
		return SIG_EUNAVAIL;
	}
	st->cache_hits = mp->st_cache_hit;
	st->cache_misses = mp->st_cache_miss;
	st->cache_bytes = (uint64_t)mp->st_gbytes * 1073741824 + mp->st_bytes;
	st->lock_deadlocks = lk->st_ndeadlocks;
	st->lock_timeouts = lk->st_nlocktimeouts;
	st->txn_commits = tx->st_ncommits;
	st->txn_aborts = tx->st_naborts;
	st->txn_active = tx->st_nactive;
	free(mp);
	free(lk);
	free(tx);
	/* Every log file, archived or not, counts towards the size on disk. */
	(void)s->env->get_home(s->env, &home);
	if (home != NULL && statvfs(home, &fs) == 0)
		st->free_bytes = (uint64_t)fs.f_bavail * fs.f_frsize;
	if (home != NULL && s->env->log_archive(s->env, &list, DB_ARCH_LOG |
	    DB_ARCH_ABS) == 0 && list != NULL) {
		for (p = list; *p != NULL; p++) {
			st->log_files++;
			if (stat(*p, &sb) == 0)
				st->log_bytes += (uint64_t)sb.st_size;
		}
		free(list);
	}
	return SIG_OK;
}

static int
dir_is_empty(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 empty = 1;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 1 : -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

enum sig_err
store_backup(struct store *s, const char *dir)
{
	DB_ENV		*env;
	int		 rc;

	if (dir_is_empty(dir) != 1)
		return SIG_EINVAL;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return SIG_EINTERNAL;
	if ((rc = s->env->backup(s->env, dir, DB_CREATE)) != 0) {
		log_msg(LOG_ERR, "backup to %s: %s", dir, db_strerror(rc));
		return SIG_EINTERNAL;
	}
	/* Recover the copy now, so it opens like any clean environment. */
	if ((rc = db_env_create(&env, 0)) != 0)
		return SIG_EINTERNAL;
	env->set_errcall(env, store_on_error);
	env->set_msgcall(env, store_on_message);
	rc = env->open(env, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
	    DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER | DB_PRIVATE, 0600);
	env->close(env, 0);
	if (rc != 0) {
		log_msg(LOG_ERR, "recovering the backup in %s: %s", dir,
		    db_strerror(rc));
		return SIG_EINTERNAL;
	}
	return SIG_OK;
}

/*
 * Whether the table file at path has page checksums: 1, 0, or -1 when it
 * does not open (verify then says what is wrong with it).  Berkeley DB
 * reads the answer from the file's meta page, whatever the handle asked.
 */
static int
has_checksums(const char *path)
{
	DB		*db;
	u_int32_t	 flags = 0;
	int		 rc;

	if (db_create(&db, NULL, 0) != 0)
		return -1;
	db->set_errcall(db, store_on_error);
	rc = db->open(db, NULL, path, NULL, DB_UNKNOWN, DB_RDONLY, 0);
	if (rc == 0)
		rc = db->get_flags(db, &flags);
	db->close(db, 0);
	if (rc != 0)
		return -1;
	return (flags & DB_CHKSUM) != 0;
}

enum sig_err
store_verify(const char *home, struct store_verify_result *r)
{
	DB	*db;
	char	 path[PATH_MAX];
	int	 i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < TBL_COUNT; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", home,
		    store_table_files[i]) >= (int)sizeof(path))
			return SIG_EINTERNAL;
		if (access(path, F_OK) != 0)
			continue;
		if (has_checksums(path) == 0)
			r->plain[r->nplain++] = store_table_files[i];
		if (db_create(&db, NULL, 0) != 0)
			return SIG_EINTERNAL;
		db->set_errcall(db, store_on_error);
		/* verify() always destroys the handle. */
		if (db->verify(db, path, NULL, NULL, 0) != 0)
			r->failed[r->nfailed++] = store_table_files[i];
	}
	return SIG_OK;
}

/*
 * Copy the table file src into a new file dst made with page checksums,
 * record by record, as db5.3_dump | db5.3_load -c chksum=1 would.
 * Berkeley DB's return value.
 */
static int
copy_table(const char *src, const char *dst)
{
	DB	*in = NULL, *out = NULL;
	DBC	*c = NULL;
	DBT	 k, v;
	int	 rc, t_rc;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.flags = v.flags = DB_DBT_REALLOC;
	if ((rc = db_create(&in, NULL, 0)) != 0 ||
	    (rc = db_create(&out, NULL, 0)) != 0)
		goto done;
	in->set_errcall(in, store_on_error);
	out->set_errcall(out, store_on_error);
	if ((rc = in->open(in, NULL, src, NULL, DB_BTREE, DB_RDONLY, 0)) != 0 ||
	    (rc = out->set_flags(out, DB_CHKSUM)) != 0 ||
	    (rc = out->open(out, NULL, dst, NULL, DB_BTREE, DB_CREATE |
	    DB_EXCL, 0600)) != 0 ||
	    (rc = in->cursor(in, NULL, &c, 0)) != 0)
		goto done;
	while ((rc = c->get(c, &k, &v, DB_NEXT)) == 0)
		if ((rc = out->put(out, NULL, &k, &v, 0)) != 0)
			break;
	if (rc == DB_NOTFOUND)
		rc = 0;
done:
	if (c != NULL)
		c->close(c);
	free(k.data);
	free(v.data);
	/* Closing out writes its pages: its failure is the copy's. */
	if (out != NULL && (t_rc = out->close(out, 0)) != 0 && rc == 0)
		rc = t_rc;
	if (in != NULL)
		in->close(in, 0);
	return rc;
}

enum sig_err
store_add_checksums(const char *dir, int *converted)
{
	struct store_verify_result vr;
	char		 path[PATH_MAX], tmp[PATH_MAX + 8];
	DIR		*d;
	struct dirent	*e;
	int		 i, rc;

	*converted = 0;
	if (store_verify(dir, &vr) != SIG_OK)
		return SIG_EINTERNAL;
	if (vr.nfailed != 0)
		return SIG_EINVAL;
	if (vr.nplain == 0)
		return SIG_OK;
	/*
	 * Every table, so that none keeps page LSNs of the log that goes:
	 * copies start from none.
	 */
	for (i = 0; i < TBL_COUNT; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir,
		    store_table_files[i]) >= (int)sizeof(path))
			return SIG_EINTERNAL;
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		if (access(path, F_OK) != 0)
			continue;
		(void)unlink(tmp);
		if ((rc = copy_table(path, tmp)) != 0) {
			log_msg(LOG_ERR, "copying %s with checksums: %s", path,
			    db_strerror(rc));
			(void)unlink(tmp);
			return SIG_EINTERNAL;
		}
		if (rename(tmp, path) == -1) {
			log_msg(LOG_ERR, "rename %s: %s", tmp, strerror(errno));
			(void)unlink(tmp);
			return SIG_EINTERNAL;
		}
		(*converted)++;
	}
	/* The log describes the former files: the copies start a new one. */
	if ((d = opendir(dir)) == NULL)
		return SIG_EINTERNAL;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "log.", 4) == 0 &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
		    (int)sizeof(path) && unlink(path) == -1) {
			closedir(d);
			return SIG_EINTERNAL;
		}
	closedir(d);
	return SIG_OK;
}

enum sig_err
store_maintain(struct store *s, int *removed)
{
	char	**list = NULL, **p;
	int	 rc;

	*removed = 0;
	if ((rc = s->env->txn_checkpoint(s->env, 0, 0, DB_FORCE)) != 0)
		return store_map(s, rc, "checkpoint");
	/* Log files that recovery no longer needs (DB_ARCH_REMOVE deletes). */
	if ((rc = s->env->log_archive(s->env, &list, DB_ARCH_ABS)) != 0)
		return store_map(s, rc, "log_archive");
	if (list != NULL) {
		for (p = list; *p != NULL; p++)
			if (unlink(*p) == 0)
				(*removed)++;
		free(list);
	}
	return SIG_OK;
}

static enum sig_err
ping(struct store_txn *t, void *arg)
{
	char	 buf[8];
	enum sig_err rc;

	(void)arg;
	rc = store_get_str(t, TBL_ACCOUNTS, "\x01health", buf, sizeof(buf));
	return rc == SIG_ENOTFOUND ? SIG_OK : rc;
}

enum sig_err
store_ping(struct store *s)
{
	return store_run(s, ping, NULL);
}
