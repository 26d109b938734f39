/* People and places: phones by number, id or role, and the household look-ups the handlers need.
 * (The CSV import that fills these tables is import.c; registrations are db_errand.c.) */

#include <errno.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

#define PHONE_COLS "id, coalesce(household_id, 0), number, name, role, lang"

static const struct db_stmt_def stmts[] = {
	DB_SQL(PHONE_GET, "SELECT " PHONE_COLS " FROM phone WHERE number = :number"),
	DB_SQL(PHONE_GET_ID, "SELECT " PHONE_COLS " FROM phone WHERE id = :id"),
	DB_SQL(ROLE_PHONES, "SELECT " PHONE_COLS " FROM phone WHERE role = :role AND state = 'active'"
			    " ORDER BY id LIMIT 256"),
	DB_SQL(PHONE_PENDING, "SELECT state = 'pending' FROM phone WHERE id = :id"),
	DB_SQL(HOUSEHOLD_BY_ROOM, "SELECT id, building, unit, room FROM household"
				  " WHERE room = :room OR room = :room || '室' ORDER BY id LIMIT 256"),
	DB_SQL(HOUSEHOLD_FIND, "SELECT id, building || unit || room FROM household WHERE code = :code"),
	DB_SQL(HOUSEHOLD_ADDRESS, "SELECT building || unit || room FROM household WHERE id = :id"),
	DB_SQL(HOUSEHOLD_HAS_NAME, "SELECT 1 FROM phone WHERE household_id = :hh AND name = :name"
				   " AND state = 'active' LIMIT 1"),
	/* the console (GET /api/v1/households): q is matched with instr, so its characters (%, _, ')
	 * are only text */
	DB_SQL(HOUSEHOLD_LIST, "SELECT h.id, h.code, h.building, h.unit, h.room, gd.code, g.code FROM household h"
			       " JOIN grp g ON g.id = h.grp_id JOIN grid gd ON gd.id = g.grid_id"
			       " WHERE :q = '' OR instr(h.code, :q) OR instr(h.building || h.unit || h.room, :q)"
			       " OR EXISTS (SELECT 1 FROM phone p WHERE p.household_id = h.id"
			       "  AND (instr(p.number, :q) OR instr(p.name, :q)))"
			       " ORDER BY h.code LIMIT :limit OFFSET :offset"),
	DB_SQL(HOUSEHOLD_COUNT, "SELECT count(*) FROM household h"
				" WHERE :q = '' OR instr(h.code, :q) OR instr(h.building || h.unit || h.room, :q)"
				" OR EXISTS (SELECT 1 FROM phone p WHERE p.household_id = h.id"
				"  AND (instr(p.number, :q) OR instr(p.name, :q)))"),
	DB_SQL(HOUSEHOLD_PHONES, "SELECT number, name, role, lang, state = 'active' FROM phone"
				 " WHERE household_id = :hh ORDER BY id"),
	DB_SQL(GROUP_LIST, "SELECT g.code, g.name, gd.code, (SELECT count(*) FROM household h WHERE h.grp_id = g.id)"
			   " FROM grp g JOIN grid gd ON gd.id = g.grid_id ORDER BY g.code"),
	DB_SQL(PHONE_UPDATE,
	       "UPDATE phone SET name = coalesce(:name, name), role = coalesce(:role, role),"
	       " lang = coalesce(:lang, lang),"
	       " state = CASE WHEN :active = 1 THEN 'active' WHEN :active = 0 THEN 'pending' ELSE state END"
	       " WHERE number = :number RETURNING number, name, role, lang, state = 'active'"),
};
DB_STMT_TABLE(db_stmts_people, stmts);

void db_fill_phone(struct db_row *st, int c, struct db_phone *p)
{
	memset(p, 0, sizeof(*p));
	p->id = db_col_int64(st, c);
	p->household_id = db_col_int64(st, c + 1);
	db_col_copy(st, c + 2, p->number, sizeof(p->number));
	db_col_copy(st, c + 3, p->name, sizeof(p->name));
	db_col_copy(st, c + 4, p->role, sizeof(p->role));
	db_col_copy(st, c + 5, p->lang, sizeof(p->lang));
}

static void phone_row(void *data, struct db_row *st)
{
	if (data)
		db_fill_phone(st, 0, data);
}

int db_phone_get(struct db_context *dbc, const char *number, struct db_phone *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_PHONE_GET);

	db_bind_text(q, ":number", number);
	return db_row(q, phone_row, out);
}

int db_phone_get_id(struct db_context *dbc, int64_t id, struct db_phone *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_PHONE_GET_ID);

	db_bind_int(q, ":id", id);
	return db_row(q, phone_row, out);
}

static void phone_fill(void *elem, void *ctx, struct db_row *st)
{
	(void)ctx;
	db_fill_phone(st, 0, elem);
}

int db_role_foreach(struct db_context *dbc, const char *role, void (*cb)(void *data, const struct db_phone *p),
		    void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_ROLE_PHONES);
	void *tmp = talloc_new(dbc);
	struct db_phone *p;
	int n;

	db_bind_text(q, ":role", role);
	/* collected first, so that cb may use the database */
	n = db_collect(q, tmp, sizeof(*p), phone_fill, (void **)&p);
	for (int i = 0; i < n; i++)
		cb(data, &p[i]);
	talloc_free(tmp);
	return n;
}

int db_staff_foreach(struct db_context *dbc, void (*cb)(void *data, const struct db_phone *p), void *data)
{
	return db_role_foreach(dbc, "staff", cb, data);
}

int db_phone_pending(struct db_context *dbc, int64_t phone_id)
{
	struct db_q *q = db_q(dbc, DB_STMT_PHONE_PENDING);
	int64_t pending;
	int rc;

	db_bind_int(q, ":id", phone_id);
	rc = db_int64(q, &pending);
	return rc < 0 ? rc : pending ? 1 : 0;
}

struct room {
	int64_t id;
	char b[32], u[32], r[32];
};

static void room_fill(void *elem, void *ctx, struct db_row *st)
{
	struct room *h = elem;

	(void)ctx;
	h->id = db_col_int64(st, 0);
	db_col_copy(st, 1, h->b, sizeof(h->b));
	db_col_copy(st, 2, h->u, sizeof(h->u));
	db_col_copy(st, 3, h->r, sizeof(h->r));
}

int db_household_by_room(struct db_context *dbc, const char *room,
			 void (*cb)(void *data, int64_t id, const char *building, const char *unit, const char *room),
			 void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_HOUSEHOLD_BY_ROOM);
	void *tmp = talloc_new(dbc);
	struct room *h;
	int n;

	db_bind_text(q, ":room", room);
	n = db_collect(q, tmp, sizeof(*h), room_fill, (void **)&h);
	for (int i = 0; i < n; i++)
		cb(data, h[i].id, h[i].b, h[i].u, h[i].r);
	talloc_free(tmp);
	return n;
}

struct id_addr {
	int64_t *id;
	char *addr;
	size_t len;
};

static void id_addr_row(void *data, struct db_row *st)
{
	struct id_addr *a = data;

	*a->id = db_col_int64(st, 0);
	db_col_copy(st, 1, a->addr, a->len);
}

int db_household_find(struct db_context *dbc, const char *code, int64_t *id, char *address, size_t addrlen)
{
	struct db_q *q = db_q(dbc, DB_STMT_HOUSEHOLD_FIND);
	struct id_addr a = {id, address, addrlen};

	db_bind_text(q, ":code", code);
	return db_row(q, id_addr_row, &a);
}

static void addr_row(void *data, struct db_row *st)
{
	struct id_addr *a = data;

	db_col_copy(st, 0, a->addr, a->len);
}

int db_household_address(struct db_context *dbc, int64_t id, char *address, size_t addrlen)
{
	struct db_q *q = db_q(dbc, DB_STMT_HOUSEHOLD_ADDRESS);
	struct id_addr a = {NULL, address, addrlen};

	db_bind_int(q, ":id", id);
	return db_row(q, addr_row, &a);
}

int db_household_has_name(struct db_context *dbc, int64_t household_id, const char *name)
{
	struct db_q *q = db_q(dbc, DB_STMT_HOUSEHOLD_HAS_NAME);
	int rc;

	db_bind_int(q, ":hh", household_id);
	db_bind_text(q, ":name", name);
	rc = db_row(q, NULL, NULL);
	return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

static void household_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_household *h = elem;

	(void)ctx;
	h->id = db_col_int64(st, 0);
	db_col_copy(st, 1, h->code, sizeof(h->code));
	db_col_copy(st, 2, h->building, sizeof(h->building));
	db_col_copy(st, 3, h->unit, sizeof(h->unit));
	db_col_copy(st, 4, h->room, sizeof(h->room));
	db_col_copy(st, 5, h->grid, sizeof(h->grid));
	db_col_copy(st, 6, h->group, sizeof(h->group));
}

static void hh_phone_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_hh_phone *p = elem;

	(void)ctx;
	db_col_copy(st, 0, p->number, sizeof(p->number));
	db_col_copy(st, 1, p->name, sizeof(p->name));
	db_col_copy(st, 2, p->role, sizeof(p->role));
	db_col_copy(st, 3, p->lang, sizeof(p->lang));
	p->active = db_col_int(st, 4);
}

int db_household_list(struct db_context *dbc, void *ctx, const char *q, int offset, int per_page,
		      struct db_household **out, int64_t *total)
{
	struct db_q *st = db_q(dbc, DB_STMT_HOUSEHOLD_COUNT);
	int n, rc;

	*out = NULL;
	if (!q)
		q = "";
	db_bind_text(st, ":q", q);
	rc = db_int64(st, total);
	if (rc < 0)
		return rc;
	st = db_q(dbc, DB_STMT_HOUSEHOLD_LIST);
	db_bind_text(st, ":q", q);
	db_bind_int(st, ":limit", per_page);
	db_bind_int(st, ":offset", offset);
	n = db_collect(st, ctx, sizeof(**out), household_fill, (void **)out);
	for (int i = 0; i < n; i++) {
		struct db_household *h = &(*out)[i];

		st = db_q(dbc, DB_STMT_HOUSEHOLD_PHONES);
		db_bind_int(st, ":hh", h->id);
		rc = db_collect(st, *out, sizeof(*h->phones), hh_phone_fill, (void **)&h->phones);
		if (rc < 0)
			return rc;
		h->nphones = rc;
	}
	return n;
}

static void group_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_group *g = elem;

	(void)ctx;
	db_col_copy(st, 0, g->code, sizeof(g->code));
	db_col_copy(st, 1, g->name, sizeof(g->name));
	db_col_copy(st, 2, g->grid, sizeof(g->grid));
	g->households = db_col_int64(st, 3);
}

int db_group_list(struct db_context *dbc, void *ctx, struct db_group **out)
{
	return db_collect(db_q(dbc, DB_STMT_GROUP_LIST), ctx, sizeof(**out), group_fill, (void **)out);
}

static void hh_phone_row(void *data, struct db_row *st)
{
	struct db_hh_phone dummy;

	hh_phone_fill(data ? data : &dummy, NULL, st);
}

int db_phone_update(struct db_context *dbc, const char *number, const char *name, const char *role, const char *lang,
		    int active, struct db_hh_phone *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_PHONE_UPDATE);

	db_bind_text(q, ":number", number);
	db_bind_text(q, ":name", name);
	db_bind_text(q, ":role", role);
	db_bind_text(q, ":lang", lang);
	db_bind_int(q, ":active", active);
	/* RETURNING: complete only once run to its end (db_row) */
	return db_row(q, hh_phone_row, out);
}
