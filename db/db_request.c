/* The requests part of the community database: 报事 requests, their events, and the look-ups the
 * request handler needs (where a household is, who its grid worker is, the duty staff, holidays).
 *
 * Each statement is prepared on its first use and kept (db_stmt_cached) rather than taking a slot
 * in db.c's table of statements prepared at open. Named parameters, SQLite codes mapped once. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

static sqlite3_stmt *rq_prep(struct db_context *dbc, const char *sql)
{
	return db_stmt_cached(dbc, sql);
}

static const char *const closed_states[] = {"closed", "visited", "merged"};

bool db_request_state_open(const char *state)
{
	for (unsigned i = 0; i < ARRAY_SIZE(closed_states); i++)
		if (!strcmp(state, closed_states[i]))
			return false;
	return true;
}

#define RQ_OPEN_SQL "r.state NOT IN ('closed', 'visited', 'merged')"

/* The columns fill_request() reads, in order. */
#define RQ_COLS                                                                                                        \
	"r.id, r.ref, r.kind, coalesce(r.reporter_phone_id, 0), r.reporter, coalesce(rp.name, ''), "                   \
	"coalesce(rp.lang, 'zh-CN'), coalesce(r.household_id, 0), "                                                    \
	"coalesce(h.building || h.unit || h.room, ''), r.text, r.state, r.flags, coalesce(r.deadline, 0), "            \
	"coalesce(r.assignee_phone_id, 0), coalesce(ap.number, ''), coalesce(r.rating, ''), "                          \
	"coalesce(r.merged_into, 0), r.created, r.updated "                                                            \
	"FROM request r LEFT JOIN phone rp ON rp.id = r.reporter_phone_id "                                            \
	"LEFT JOIN household h ON h.id = r.household_id LEFT JOIN phone ap ON ap.id = r.assignee_phone_id "

static void fill_request(void *ctx, sqlite3_stmt *st, struct db_request *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, r->ref, sizeof(r->ref));
	db_col_copy(st, 2, r->kind, sizeof(r->kind));
	r->reporter_phone_id = sqlite3_column_int64(st, 3);
	db_col_copy(st, 4, r->reporter, sizeof(r->reporter));
	db_col_copy(st, 5, r->reporter_name, sizeof(r->reporter_name));
	db_col_copy(st, 6, r->reporter_lang, sizeof(r->reporter_lang));
	r->household_id = sqlite3_column_int64(st, 7);
	db_col_copy(st, 8, r->address, sizeof(r->address));
	r->text = talloc_strdup(ctx, db_col_text(st, 9));
	db_col_copy(st, 10, r->state, sizeof(r->state));
	r->flags = (unsigned)sqlite3_column_int64(st, 11);
	r->deadline = sqlite3_column_int64(st, 12);
	r->assignee_phone_id = sqlite3_column_int64(st, 13);
	db_col_copy(st, 14, r->assignee, sizeof(r->assignee));
	db_col_copy(st, 15, r->rating, sizeof(r->rating));
	r->merged_into = sqlite3_column_int64(st, 16);
	r->created = sqlite3_column_int64(st, 17);
	r->updated = sqlite3_column_int64(st, 18);
}

/* Bind an id, NULL when 0. */
static void bind_id(sqlite3_stmt *st, const char *p, int64_t v)
{
	if (v)
		db_bind_int64(st, p, v);
	else
		db_bind_text(st, p, NULL);
}

int db_request_add(struct db_context *dbc, struct db_request *r)
{
	sqlite3_stmt *st =
		rq_prep(dbc, "INSERT INTO request (ref, kind, reporter_phone_id, reporter, household_id, "
			     "text, state, flags, deadline, assignee_phone_id, merged_into, created, updated) "
			     "VALUES ($ref, $kind, $rp, $reporter, $hh, $text, $state, $flags, $deadline, "
			     "$assignee, $merged, $created, $created)");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$ref", r->ref);
	db_bind_text(st, "$kind", r->kind[0] ? r->kind : "request");
	bind_id(st, "$rp", r->reporter_phone_id);
	db_bind_text(st, "$reporter", r->reporter);
	bind_id(st, "$hh", r->household_id);
	db_bind_text(st, "$text", r->text ? r->text : "");
	db_bind_text(st, "$state", r->state);
	db_bind_int64(st, "$flags", r->flags);
	bind_id(st, "$deadline", r->deadline);
	bind_id(st, "$assignee", r->assignee_phone_id);
	bind_id(st, "$merged", r->merged_into);
	db_bind_int64(st, "$created", r->created);
	rc = db_cached_exec(dbc, st, false);
	if (rc == 0) {
		r->id = sqlite3_last_insert_rowid(dbc->db);
		r->updated = r->created;
	}
	return rc;
}

int db_request_get(struct db_context *dbc, void *ctx, const char *ref, int64_t id, struct db_request *out)
{
	sqlite3_stmt *st =
		rq_prep(dbc, ref ? "SELECT " RQ_COLS "WHERE r.ref = $ref" : "SELECT " RQ_COLS "WHERE r.id = $id");
	int rc;

	if (!st)
		return -EIO;
	if (ref)
		db_bind_text(st, "$ref", ref);
	else
		db_bind_int64(st, "$id", id);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		fill_request(ctx, st, out);
	db_stmt_release(dbc, st);
	return rc;
}

int db_request_update(struct db_context *dbc, const struct db_request *r)
{
	sqlite3_stmt *st = rq_prep(dbc, "UPDATE request SET state = $state, flags = $flags, deadline = $deadline, "
					"assignee_phone_id = $assignee, rating = $rating, merged_into = $merged, "
					"updated = $updated WHERE id = $id");

	if (!st)
		return -EIO;
	db_bind_text(st, "$state", r->state);
	db_bind_int64(st, "$flags", r->flags);
	bind_id(st, "$deadline", r->deadline);
	bind_id(st, "$assignee", r->assignee_phone_id);
	db_bind_text(st, "$rating", r->rating[0] ? r->rating : NULL);
	bind_id(st, "$merged", r->merged_into);
	db_bind_int64(st, "$updated", r->updated);
	db_bind_int64(st, "$id", r->id);
	return db_cached_exec(dbc, st, true);
}

int db_request_event_add(struct db_context *dbc, int64_t request_id, const char *actor, int64_t at,
			 const char *from_state, const char *to_state, const char *note)
{
	sqlite3_stmt *st = rq_prep(dbc, "INSERT INTO request_event (request_id, actor, at, from_state, to_state, note) "
					"VALUES ($rid, $actor, $at, $from, $to, $note)");

	if (!st)
		return -EIO;
	db_bind_int64(st, "$rid", request_id);
	db_bind_text(st, "$actor", actor);
	db_bind_int64(st, "$at", at);
	db_bind_text(st, "$from", from_state);
	db_bind_text(st, "$to", to_state);
	db_bind_text(st, "$note", note && note[0] ? note : NULL);
	return db_cached_exec(dbc, st, false);
}

int db_request_last_note(struct db_context *dbc, int64_t request_id, char *buf, size_t len)
{
	sqlite3_stmt *st = rq_prep(dbc, "SELECT note FROM request_event WHERE request_id = $rid AND note <> '' "
					"ORDER BY at DESC, id DESC LIMIT 1");
	int rc;

	if (len)
		buf[0] = '\0';
	if (!st)
		return -EIO;
	db_bind_int64(st, "$rid", request_id);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		db_col_copy(st, 0, buf, len);
	db_stmt_release(dbc, st);
	return rc == -ENOENT ? 0 : rc;
}

int db_request_find_dup(struct db_context *dbc, void *ctx, const char *reporter, const char *text, int64_t since,
			struct db_request *out)
{
	sqlite3_stmt *st = rq_prep(dbc, "SELECT " RQ_COLS "WHERE r.reporter = $reporter AND r.text = $text "
					"AND r.created >= $since AND " RQ_OPEN_SQL " ORDER BY r.id DESC LIMIT 1");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$reporter", reporter);
	db_bind_text(st, "$text", text);
	db_bind_int64(st, "$since", since);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		fill_request(ctx, st, out);
	db_stmt_release(dbc, st);
	return rc;
}

int db_request_latest(struct db_context *dbc, void *ctx, const char *number, int64_t household_id, const char *state,
		      struct db_request *out)
{
	sqlite3_stmt *st = rq_prep(dbc, "SELECT " RQ_COLS "WHERE (r.reporter = $number OR r.household_id = $hh) "
					"AND r.state <> 'merged' AND ($state IS NULL OR r.state = $state) "
					"ORDER BY r.id DESC LIMIT 1");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$number", number);
	db_bind_int64(st, "$hh", household_id > 0 ? household_id : -1);
	db_bind_text(st, "$state", state);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		fill_request(ctx, st, out);
	db_stmt_release(dbc, st);
	return rc;
}

int db_request_due(struct db_context *dbc, void *ctx, int64_t now, int64_t escalate_before, int64_t **ids)
{
	sqlite3_stmt *st = rq_prep(dbc, "SELECT r.id FROM request r WHERE " RQ_OPEN_SQL " AND r.deadline IS NOT NULL "
					"AND r.deadline < $now AND ((r.flags & 1) = 0 OR ((r.flags & 4) = 0 "
					"AND r.deadline < $esc)) ORDER BY r.deadline, r.id");
	size_t n = 0;
	int rc;

	*ids = talloc_array(ctx, int64_t, 0);
	if (!st)
		return -EIO;
	db_bind_int64(st, "$now", now);
	db_bind_int64(st, "$esc", escalate_before);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = talloc_realloc(ctx, *ids, int64_t, n + 1);
		(*ids)[n++] = sqlite3_column_int64(st, 0);
	}
	rc = rc == SQLITE_DONE ? (int)n : db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	return rc;
}

int db_request_open_refs(struct db_context *dbc, void *ctx, int64_t phone_id, char **refs)
{
	sqlite3_stmt *st = rq_prep(dbc, "SELECT r.ref FROM request r WHERE r.assignee_phone_id = $p AND " RQ_OPEN_SQL
					" ORDER BY r.id");
	int n = 0, rc;

	*refs = talloc_strdup(ctx, "");
	if (!st)
		return -EIO;
	db_bind_int64(st, "$p", phone_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*refs = talloc_asprintf_append(*refs, "%s%s", n++ ? " " : "", db_col_text(st, 0));
	rc = rc == SQLITE_DONE ? n : db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	return rc;
}

void db_fill_phone(sqlite3_stmt *st, int c, struct db_phone *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, c);
	p->household_id = sqlite3_column_int64(st, c + 1);
	db_col_copy(st, c + 2, p->number, sizeof(p->number));
	db_col_copy(st, c + 3, p->name, sizeof(p->name));
	db_col_copy(st, c + 4, p->role, sizeof(p->role));
	db_col_copy(st, c + 5, p->lang, sizeof(p->lang));
}

int db_request_place(struct db_context *dbc, int64_t household_id, struct db_place *out)
{
	sqlite3_stmt *st =
		rq_prep(dbc, "SELECT h.building || h.unit || h.room, coalesce(w.id, 0), "
			     "coalesce(w.household_id, 0), w.number, w.name, w.role, w.lang "
			     "FROM household h JOIN grp ON grp.id = h.grp_id JOIN grid g ON g.id = grp.grid_id "
			     "LEFT JOIN phone w ON w.id = g.worker_phone_id AND w.state = 'active' "
			     "WHERE h.id = $hh");
	int rc;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$hh", household_id);
	rc = db_cached_row(dbc, st);
	if (rc == 0) {
		db_col_copy(st, 0, out->address, sizeof(out->address));
		db_fill_phone(st, 1, &out->worker);
	}
	db_stmt_release(dbc, st);
	return rc;
}

int db_staff_foreach(struct db_context *dbc, void (*cb)(void *data, const struct db_phone *p), void *data)
{
	return db_role_foreach(dbc, "staff", cb, data);
}

int db_phone_get_id(struct db_context *dbc, int64_t id, struct db_phone *out)
{
	sqlite3_stmt *st = rq_prep(dbc, "SELECT id, coalesce(household_id, 0), number, name, role, lang FROM phone "
					"WHERE id = $id");
	int rc;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$id", id);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		db_fill_phone(st, 0, out);
	db_stmt_release(dbc, st);
	return rc;
}

int db_holiday_kind(struct db_context *dbc, const char *date)
{
	sqlite3_stmt *st = rq_prep(dbc, "SELECT kind FROM holiday WHERE date = $date");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$date", date);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		rc = !strcmp(db_col_text(st, 0), "off") ? 1 : 2;
	else if (rc == -ENOENT)
		rc = 0;
	db_stmt_release(dbc, st);
	return rc;
}

void db_fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !localtime_r(&tt, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

static char *flags_str(void *ctx, unsigned flags)
{
	static const char *const names[] = {"overdue", "reminded", "escalated", "urgent", "unverified"};
	char *s = talloc_strdup(ctx, "");

	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		if (flags & (1u << i))
			s = talloc_asprintf_append(s, "%s%s", s[0] ? "," : "", names[i]);
	return s;
}

int db_request_list(struct db_context *dbc, bool open_only, int limit, void (*cb)(void *data, const char *line),
		    void *data)
{
	sqlite3_stmt *st =
		rq_prep(dbc, open_only ? "SELECT " RQ_COLS "WHERE " RQ_OPEN_SQL " ORDER BY r.id DESC LIMIT $n"
				       : "SELECT " RQ_COLS "ORDER BY r.id DESC LIMIT $n");
	void *tmp = talloc_new(NULL);
	char **lines = talloc_array(tmp, char *, 0);
	int n = 0, rc;

	if (!st) {
		talloc_free(tmp);
		return -EIO;
	}
	db_bind_int64(st, "$n", limit > 0 ? limit : 50);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_request r;
		char dl[32];

		fill_request(tmp, st, &r);
		db_fmt_time(r.deadline, dl, sizeof(dl));
		lines = talloc_realloc(tmp, lines, char *, n + 1);
		lines[n++] = talloc_asprintf(lines, "%s %-11s %-16s due %.10s %s %s -> %s [%s] %s", r.ref, r.state,
					     r.address[0] ? r.address : "-", dl, r.reporter,
					     r.reporter_name[0] ? r.reporter_name : "-",
					     r.assignee[0] ? r.assignee : "staff", flags_str(lines, r.flags), r.text);
	}
	rc = rc == SQLITE_DONE ? n : db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	for (int i = 0; rc >= 0 && i < n; i++)
		cb(data, lines[i]);
	talloc_free(tmp);
	return rc;
}

int db_request_show(struct db_context *dbc, const char *ref, void (*cb)(void *data, const char *line), void *data)
{
	void *tmp = talloc_new(NULL);
	struct db_request r;
	sqlite3_stmt *st;
	char t1[32], t2[32];
	char **lines;
	int n = 0, rc;

	rc = db_request_get(dbc, tmp, ref, 0, &r);
	if (rc < 0)
		goto out;
	db_fmt_time(r.created, t1, sizeof(t1));
	db_fmt_time(r.deadline, t2, sizeof(t2));
	lines = talloc_array(tmp, char *, 0);
	lines = talloc_realloc(tmp, lines, char *, 4);
	lines[n++] = talloc_asprintf(lines, "request %s: %s%s%s [%s]", r.ref, r.state, r.rating[0] ? " " : "", r.rating,
				     flags_str(lines, r.flags));
	lines[n++] =
		talloc_asprintf(lines, "  reporter %s %s, %s", r.reporter, r.reporter_name[0] ? r.reporter_name : "-",
				r.address[0] ? r.address : "no household");
	lines[n++] = talloc_asprintf(
		lines, "  created %s, deadline %s, assignee %s%s", t1, t2, r.assignee[0] ? r.assignee : "staff",
		r.merged_into ? talloc_asprintf(lines, ", merged into #%" PRId64, r.merged_into) : "");
	lines[n++] = talloc_asprintf(lines, "  text: %s", r.text);
	st = rq_prep(dbc,
		     "SELECT at, actor, coalesce(from_state, '-'), to_state, coalesce(note, '') FROM request_event "
		     "WHERE request_id = $rid ORDER BY at, id");
	if (!st) {
		rc = -EIO;
		goto out;
	}
	db_bind_int64(st, "$rid", r.id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_fmt_time(sqlite3_column_int64(st, 0), t1, sizeof(t1));
		lines = talloc_realloc(tmp, lines, char *, n + 1);
		lines[n++] = talloc_asprintf(lines, "  %s %s %s -> %s%s%s", t1, db_col_text(st, 1), db_col_text(st, 2),
					     db_col_text(st, 3), sqlite3_column_bytes(st, 4) ? ": " : "", db_col_text(st, 4));
	}
	rc = rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	for (int i = 0; rc == 0 && i < n; i++)
		cb(data, lines[i]);
out:
	talloc_free(tmp);
	return rc;
}
