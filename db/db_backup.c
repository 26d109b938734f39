/* Backups of the community database (linlictl backup|restore) and the owner's lock (one linlid
 * per database file).
 *
 * A backup is SQLite's online backup API run in one step: it reads the source inside one read
 * transaction, so the copy is one consistent snapshot, and under WAL a running linlid keeps writing
 * meanwhile (its commits are not in the copy). The copy is written beside the destination, checked
 * (PRAGMA quick_check), made 0600, synced and renamed into place: a crash leaves the old file or the
 * new one, never half a copy. A restore checks the file first (a linli database, not newer than
 * this build, quick_check ok), keeps the current database as DB.pre-restore-TIME, then copies. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <talloc.h>

#include "db/db_priv.h"

static int map_open_rc(sqlite3 *db, int rc)
{
	(void)db;
	switch (rc & 0xff) {
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return -EBADMSG;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

static void set_err(char *err, size_t len, const char *fmt, const char *a, const char *b)
{
	if (err && len)
		snprintf(err, len, fmt, a, b);
}

/* Open path read-only and check it: quick_check ok, a linli version, the core tables. */
static int check_file(const char *path, int *version, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc, v = -1, tables = 0;
	char res[200] = "";

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: cannot open: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		rc = map_open_rc(db, rc);
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(res, sizeof(res), "%s", (const char *)sqlite3_column_text(st, 0));
	else
		snprintf(res, sizeof(res), "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	st = NULL;
	if (strcmp(res, "ok")) {
		set_err(err, errlen, "%s: not a sound SQLite database: %s", path, res);
		rc = -EBADMSG;
		goto out;
	}
	rc = sqlite3_prepare_v2(db,
				"SELECT (SELECT user_version FROM pragma_user_version),"
				" (SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				" AND name IN ('household', 'phone', 'sms_in', 'sms_out'))",
				-1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_int(st, 0);
		tables = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (v < 1 || tables != 4) {
		set_err(err, errlen, "%s: %s", path, "not a linli database (no schema version or no linli tables)");
		rc = -EBADMSG;
		goto out;
	}
	if (v > db_latest_version()) {
		char what[120];

		snprintf(what, sizeof(what), "schema version %d, newer than this build's %d", v, db_latest_version());
		set_err(err, errlen, "%s: %s: made by a newer linli", path, what);
		rc = -EPROTO;
		goto out;
	}
	*version = v;
	rc = 0;
out:
	sqlite3_close(db);
	return rc;
}

/* Copy src (a connection's "main") into the file at path, all in one step. */
static int copy_to(sqlite3 *src, const char *path, char *err, size_t errlen)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int rc;

	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: cannot create: %s", path, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		rc = map_open_rc(dst, rc);
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(dst));
		rc = map_open_rc(dst, sqlite3_errcode(dst));
		goto out;
	}
	/* one step: one read transaction on the source, a consistent snapshot; the source's lock
	 * (another writer's commit in rollback mode) is waited for by its busy timeout */
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "%s: copy failed: %s", path, sqlite3_errstr(rc));
		rc = map_open_rc(dst, rc);
		goto out;
	}
	/* the copy is one file on its own (the source's WAL mode came with its pages): no -wal or
	 * -shm beside it; db_open puts a restored one back into WAL */
	rc = sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(dst));
		rc = map_open_rc(dst, rc);
		goto out;
	}
	rc = 0;
out:
	if (sqlite3_close(dst) != SQLITE_OK && rc == 0)
		rc = -EIO;
	return rc;
}

static int sync_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Write src into dest through dest.tmp, checked, 0600, synced, renamed. */
static int backup_into(sqlite3 *src, const char *dest, int *version, char *err, size_t errlen)
{
	char tmp[4096];
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%d", dest, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	rc = copy_to(src, tmp, err, errlen);
	if (rc == 0)
		rc = check_file(tmp, version, err, errlen);
	if (rc == 0 && chmod(tmp, 0600) < 0)
		rc = -errno;
	if (rc == 0)
		rc = sync_file(tmp);
	if (rc == 0 && rename(tmp, dest) < 0) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot put the copy in place: %s", dest, strerror(-rc));
	}
	if (rc < 0) {
		unlink(tmp);
		if (err && !err[0])
			set_err(err, errlen, "%s: %s", dest, strerror(-rc));
	}
	return rc;
}

int db_backup(struct db_context *dbc, const char *dest, int *version, char *err, size_t errlen)
{
	struct stat st;

	if (err && errlen)
		err[0] = '\0';
	if (dbc->pg) {
		set_err(err, errlen, "%s%s",
			"the database is PostgreSQL's: ", "back it up with pg_dump (see the README)");
		return -ENOTSUP;
	}
	if (stat(dest, &st) == 0) {
		set_err(err, errlen, "%s: %s", dest, "exists already; a backup never overwrites a file");
		return -EEXIST;
	}
	return backup_into(dbc->db, dest, version, err, errlen);
}

int db_backup_check(const char *path, int *version, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	return check_file(path, version, err, errlen);
}

int db_restore(const char *src_path, const char *db_path, char *kept, size_t keptlen, char *err, size_t errlen)
{
	if (db_is_url(db_path)) {
		set_err(err, errlen, "%s%s",
			"the database is PostgreSQL's: ", "restore it with pg_restore (see the README)");
		return -ENOTSUP;
	}
	sqlite3 *src = NULL, *cur = NULL;
	struct stat st;
	int rc, v, vcur;

	if (err && errlen)
		err[0] = '\0';
	if (kept && keptlen)
		kept[0] = '\0';
	rc = check_file(src_path, &v, err, errlen);
	if (rc < 0)
		return rc;
	/* the database being replaced is kept first: a restore of the wrong file loses nothing */
	if (stat(db_path, &st) == 0) {
		char when[32];
		time_t now = time(NULL);
		struct tm tm;

		strftime(when, sizeof(when), "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
		if (snprintf(kept, keptlen, "%s.pre-restore-%s", db_path, when) >= (int)keptlen)
			return -ENAMETOOLONG;
		/* read-write, so that closing the last connection checkpoints and removes its -wal */
		rc = sqlite3_open_v2(db_path, &cur, SQLITE_OPEN_READWRITE, NULL);
		if (rc != SQLITE_OK) {
			set_err(err, errlen, "%s: cannot open: %s", db_path,
				cur ? sqlite3_errmsg(cur) : sqlite3_errstr(rc));
			rc = map_open_rc(cur, rc);
			sqlite3_close(cur);
			return rc;
		}
		sqlite3_busy_timeout(cur, 5000);
		rc = backup_into(cur, kept, &vcur, err, errlen);
		sqlite3_close(cur);
		if (rc < 0) {
			/* a damaged current file is no reason to stop a restore, but say it */
			if (rc != -EBADMSG)
				return rc;
			if (kept && keptlen)
				kept[0] = '\0';
		}
	}
	rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: cannot open: %s", src_path, src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		rc = map_open_rc(src, rc);
		sqlite3_close(src);
		return rc;
	}
	sqlite3_busy_timeout(src, 5000);
	/* into a copy beside the database, renamed over it. The old file's -wal was checkpointed and
	 * removed when its last connection closed (the owner's lock keeps linlid out); one left by a
	 * connection still open elsewhere would be applied to the new file, so it goes. */
	rc = backup_into(src, db_path, &v, err, errlen);
	sqlite3_close(src);
	if (rc == 0) {
		char side[4096];

		snprintf(side, sizeof(side), "%s-wal", db_path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", db_path);
		unlink(side);
		chmod(db_path, 0660);
	}
	return rc;
}

/* ---- the owner's lock ---- */

int db_lock_owner(void *ctx, const char *db_path, int *fd_out)
{
	char *path;
	int fd, rc = 0;

	*fd_out = -1;
	if (db_is_url(db_path))
		return 0;
	path = talloc_asprintf(ctx, "%s.lock", db_path);
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		goto out;
	}
	*fd_out = fd;
out:
	talloc_free(path);
	return rc;
}
