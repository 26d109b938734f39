/* Staff tokens of the console (table staff_token): stored as the hex SHA-256 of the token, so a
 * copy of the database gives nobody a login; the token itself is shown once, by linlictl. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

#define TOKEN_COLS                                                                                                     \
	"t.id, p.number, p.name, t.role, t.label, t.created_at, coalesce(t.revoked_at, 0),"                            \
	" coalesce(t.last_used_at, 0)"

static const struct db_stmt_def stmts[] = {
	DB_SQL(TOKEN_ADD, "INSERT INTO staff_token (token_hash, phone_id, role, label, created_at)"
			  " VALUES (:hash, :phone_id, :role, coalesce(:label, ''), :now)"),
	DB_SQL(TOKEN_BY_HASH, "SELECT " TOKEN_COLS " FROM staff_token t JOIN phone p ON p.id = t.phone_id"
			      " WHERE t.token_hash = :hash AND t.revoked_at IS NULL AND p.state = 'active'"),
	DB_SQL(TOKEN_BY_ID, "SELECT " TOKEN_COLS " FROM staff_token t JOIN phone p ON p.id = t.phone_id"
			    " WHERE t.id = :id AND t.revoked_at IS NULL AND p.state = 'active'"),
	/* at most once a minute: a page polling every 2 s should not mean a disk write each time */
	DB_SQL(TOKEN_USED, "UPDATE staff_token SET last_used_at = :now WHERE id = :id"
			   " AND coalesce(last_used_at, 0) <= :now - 60"),
	DB_SQL(TOKEN_REVOKE, "UPDATE staff_token SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL"),
	DB_SQL(TOKEN_LIST, "SELECT " TOKEN_COLS " FROM staff_token t JOIN phone p ON p.id = t.phone_id ORDER BY t.id"),
	DB_SQL(TOKEN_PHONE, "SELECT id FROM phone WHERE number = :number AND state = 'active'"),
};
DB_STMT_TABLE(db_stmts_token, stmts);

int db_token_hash(const char *token, char hex[65])
{
	uint8_t md[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), md) < 0)
		return -EIO;
	for (unsigned i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int db_token_add(struct db_context *dbc, const char *token, const char *number, const char *role, const char *label,
		 int64_t now, int64_t *id_out)
{
	struct db_q *q;
	char hex[65];
	int64_t phone_id;
	int rc;

	if (!token || strlen(token) < 16 || !role ||
	    (strcmp(role, "readonly") && strcmp(role, "staff") && strcmp(role, "operator")))
		return -EINVAL;
	rc = db_token_hash(token, hex);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_TOKEN_PHONE);
	db_bind_text(q, ":number", number);
	rc = db_int64(q, &phone_id);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_TOKEN_ADD);
	db_bind_text(q, ":hash", hex);
	db_bind_int(q, ":phone_id", phone_id);
	db_bind_text(q, ":role", role);
	db_bind_text(q, ":label", label);
	db_bind_int(q, ":now", now);
	rc = db_exec(q);
	if (rc == 0 && id_out)
		*id_out = db_last_id(dbc);
	return rc;
}

static void token_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_token *t = elem;

	(void)ctx;
	memset(t, 0, sizeof(*t));
	t->id = db_col_int64(st, 0);
	db_col_copy(st, 1, t->number, sizeof(t->number));
	db_col_copy(st, 2, t->name, sizeof(t->name));
	db_col_copy(st, 3, t->role, sizeof(t->role));
	db_col_copy(st, 4, t->label, sizeof(t->label));
	t->created_at = db_col_int64(st, 5);
	t->revoked_at = db_col_int64(st, 6);
	t->last_used_at = db_col_int64(st, 7);
}

static void token_row(void *data, struct db_row *st)
{
	struct db_token dummy;

	token_fill(data ? data : &dummy, NULL, st);
}

int db_token_check(struct db_context *dbc, const char *token, int64_t now, struct db_token *out)
{
	struct db_token t;
	struct db_q *q;
	char hex[65];
	int rc;

	rc = db_token_hash(token, hex);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_TOKEN_BY_HASH);
	db_bind_text(q, ":hash", hex);
	rc = db_row(q, token_row, &t);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_TOKEN_USED);
	db_bind_int(q, ":id", t.id);
	db_bind_int(q, ":now", now);
	rc = db_exec(q);
	if (rc == 0 && out)
		*out = t;
	return rc;
}

int db_token_valid(struct db_context *dbc, int64_t id, struct db_token *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_TOKEN_BY_ID);

	db_bind_int(q, ":id", id);
	return db_row(q, token_row, out);
}

int db_token_revoke(struct db_context *dbc, int64_t id, int64_t now)
{
	struct db_q *q = db_q(dbc, DB_STMT_TOKEN_REVOKE);

	db_bind_int(q, ":id", id);
	db_bind_int(q, ":now", now);
	return db_exec_one(q);
}

int db_token_list(struct db_context *dbc, void *ctx, struct db_token **out)
{
	return db_collect(db_q(dbc, DB_STMT_TOKEN_LIST), ctx, sizeof(**out), token_fill, (void **)out);
}
