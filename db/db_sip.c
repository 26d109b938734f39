/* The community database as the SIP side sees it: which numbers are reached by SIP MESSAGE, and
 * what Kamailio reads (subscriber accounts, allowed peers). */
#include <errno.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"
#include "db/db_sip.h"

static const struct db_stmt_def stmts[] = {
	DB_SQL(PHONE_CHANNEL, "SELECT channel FROM phone WHERE number = :number"),
	DB_SQL(PHONE_SET_CHANNEL, "UPDATE phone SET channel = :channel WHERE number = :number"),
	DB_SQL(SIP_ACCOUNT_SET, "INSERT INTO subscriber (username, domain, password) VALUES (:user, '', :pw)"
				" ON CONFLICT (username, domain) DO UPDATE SET password = excluded.password"),
	DB_SQL(SIP_ACCOUNT_DEL, "DELETE FROM subscriber WHERE username = :user"),
	DB_SQL(SIP_PEER_FIND, "SELECT 1 FROM address WHERE grp = :grp AND ip_addr = :ip AND port = :port"),
	DB_SQL(SIP_PEER_ADD, "INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (:grp, :ip, 32, :port,"
			     " CASE WHEN :grp = 1 THEN 'trunk' ELSE 'linli' END)"),
	DB_SQL(SIP_PEER_DEL, "DELETE FROM address WHERE grp = :grp AND ip_addr = :ip AND port = :port"),
	DB_SQL(SIP_PEER_LIST, "SELECT CASE grp WHEN 1 THEN 'trunk' WHEN 2 THEN 'ua' ELSE 'group ' || grp"
			      " END || ' ' || ip_addr || ':' || port FROM address ORDER BY grp, id"),
};
DB_STMT_TABLE(db_stmts_sip, stmts);

int db_phone_channel(struct db_context *dbc, const char *number, char *buf, size_t len)
{
	struct db_q *q = db_q(dbc, DB_STMT_PHONE_CHANNEL);

	db_bind_text(q, ":number", number);
	return db_row_text(q, buf, len);
}

int db_phone_set_channel(struct db_context *dbc, const char *number, const char *channel)
{
	struct db_q *q;

	if (strcmp(channel, "gsm") && strcmp(channel, "sip"))
		return -EINVAL;
	q = db_q(dbc, DB_STMT_PHONE_SET_CHANNEL);
	db_bind_text(q, ":channel", channel);
	db_bind_text(q, ":number", number);
	return db_exec_one(q);
}

int db_sip_account_set(struct db_context *dbc, const char *number, const char *password)
{
	struct db_q *q;
	int rc;

	if (!password || !*password)
		return -EINVAL;
	rc = db_phone_get(dbc, number, NULL);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_SIP_ACCOUNT_SET);
	db_bind_text(q, ":user", number);
	db_bind_text(q, ":pw", password);
	return db_exec(q);
}

int db_sip_account_del(struct db_context *dbc, const char *number)
{
	struct db_q *q = db_q(dbc, DB_STMT_SIP_ACCOUNT_DEL);

	db_bind_text(q, ":user", number);
	return db_exec_one(q);
}

static struct db_q *peer_q(struct db_context *dbc, enum db_stmt id, int grp, const char *ip, int port)
{
	struct db_q *q = db_q(dbc, id);

	db_bind_int(q, ":grp", grp);
	db_bind_text(q, ":ip", ip);
	db_bind_int(q, ":port", port);
	return q;
}

int db_sip_peer_add(struct db_context *dbc, int grp, const char *ip, int port)
{
	int rc = db_row(peer_q(dbc, DB_STMT_SIP_PEER_FIND, grp, ip, port), NULL, NULL);

	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	return db_exec(peer_q(dbc, DB_STMT_SIP_PEER_ADD, grp, ip, port));
}

int db_sip_peer_del(struct db_context *dbc, int grp, const char *ip, int port)
{
	return db_exec_one(peer_q(dbc, DB_STMT_SIP_PEER_DEL, grp, ip, port));
}

int db_sip_peer_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data)
{
	return db_lines(db_q(dbc, DB_STMT_SIP_PEER_LIST), db_fmt_col0, cb, data);
}
