/* The community database as the SIP side sees it: which numbers are reached by SIP MESSAGE. */
#include <errno.h>
#include <string.h>

#include "db/db_priv.h"
#include "db/db_sip.h"

int db_phone_channel(struct db_context *dbc, const char *number, char *buf, size_t len)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT channel FROM phone WHERE number = $number");
	int rc;

	if (st && db_bind_text(st, "$number", number)) {
		db_stmt_release(dbc, st);
		return -EIO;
	}
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		db_col_copy(st, 0, buf, len);
	db_stmt_release(dbc, st);
	return rc;
}

int db_phone_set_channel(struct db_context *dbc, const char *number, const char *channel)
{
	sqlite3_stmt *st;

	if (strcmp(channel, "gsm") && strcmp(channel, "sip"))
		return -EINVAL;
	st = db_stmt_cached(dbc, "UPDATE phone SET channel = $channel WHERE number = $number");
	if (st && (db_bind_text(st, "$channel", channel) || db_bind_text(st, "$number", number))) {
		db_stmt_release(dbc, st);
		return -EIO;
	}
	return db_cached_exec(dbc, st, true);
}

int db_sip_account_set(struct db_context *dbc, const char *number, const char *password)
{
	sqlite3_stmt *st;
	int rc;

	if (!password || !*password)
		return -EINVAL;
	rc = db_phone_get(dbc, number, NULL);
	if (rc < 0)
		return rc;
	st = db_stmt_cached(dbc, "INSERT INTO subscriber (username, domain, password) VALUES ($user, '', $pw)"
				 " ON CONFLICT (username, domain) DO UPDATE SET password = excluded.password");
	if (st && (db_bind_text(st, "$user", number) || db_bind_text(st, "$pw", password))) {
		db_stmt_release(dbc, st);
		return -EIO;
	}
	return db_cached_exec(dbc, st, false);
}

int db_sip_account_del(struct db_context *dbc, const char *number)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "DELETE FROM subscriber WHERE username = $user");

	if (st && db_bind_text(st, "$user", number)) {
		db_stmt_release(dbc, st);
		return -EIO;
	}
	return db_cached_exec(dbc, st, true);
}

int db_sip_peer_add(struct db_context *dbc, int grp, const char *ip, int port)
{
	sqlite3_stmt *st =
		db_stmt_cached(dbc, "SELECT 1 FROM address WHERE grp = $grp AND ip_addr = $ip AND port = $port");
	int rc;

	if (st && (db_bind_int64(st, "$grp", grp) || db_bind_text(st, "$ip", ip) || db_bind_int64(st, "$port", port))) {
		db_stmt_release(dbc, st);
		return -EIO;
	}
	rc = db_cached_row(dbc, st);
	db_stmt_release(dbc, st);
	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	st = db_stmt_cached(dbc, "INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES ($grp, $ip, 32, $port,"
				 " CASE $grp WHEN 1 THEN 'trunk' ELSE 'linli' END)");
	if (st && (db_bind_int64(st, "$grp", grp) || db_bind_text(st, "$ip", ip) || db_bind_int64(st, "$port", port))) {
		db_stmt_release(dbc, st);
		return -EIO;
	}
	return db_cached_exec(dbc, st, false);
}

int db_sip_peer_del(struct db_context *dbc, int grp, const char *ip, int port)
{
	sqlite3_stmt *st =
		db_stmt_cached(dbc, "DELETE FROM address WHERE grp = $grp AND ip_addr = $ip AND port = $port");

	if (st && (db_bind_int64(st, "$grp", grp) || db_bind_text(st, "$ip", ip) || db_bind_int64(st, "$port", port))) {
		db_stmt_release(dbc, st);
		return -EIO;
	}
	return db_cached_exec(dbc, st, true);
}

int db_sip_peer_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data)
{
	sqlite3_stmt *st =
		db_stmt_cached(dbc, "SELECT CASE grp WHEN 1 THEN 'trunk' WHEN 2 THEN 'ua' ELSE 'group ' || grp"
				    " END || ' ' || ip_addr || ':' || port FROM address ORDER BY grp, id");
	int n = 0, rc;

	while ((rc = db_cached_row(dbc, st)) == 0) {
		cb(data, db_col_text(st, 0));
		n++;
	}
	db_stmt_release(dbc, st);
	return rc == -ENOENT ? n : rc;
}
