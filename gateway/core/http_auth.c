/* Who calls the staff console (gateway/core/http.h): the roles, the tokens (db/db_token.c) given
 * as Bearer or api_key, and the page's sessions, kept in memory (a restart logs the page out):
 * random 32-byte ids, each with its own CSRF token, ending after GW_HTTP_SESSION_S or when the
 * token they were opened with is revoked. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/core/http_priv.h"

#define SESSIONS_MAX 256

struct gw_http_session {
	char id[65], csrf[65];
	int64_t token_id;
	bool district;	/* token_id is a street office's token (db_district_token_valid) */
	time_t expires; /* gw_mono() */
};

static struct gw_http_session sessions[SESSIONS_MAX];

/* ---- roles ---- */

static const char *const role_names[] = {"public", "readonly", "staff", "operator"};

int gw_role_parse(const char *name)
{
	for (int i = GW_ROLE_READONLY; i <= GW_ROLE_OPERATOR; i++)
		if (name && !strcmp(name, role_names[i]))
			return i;
	return -EINVAL;
}

const char *gw_role_name(enum gw_role role)
{
	return role <= GW_ROLE_OPERATOR ? role_names[role] : "?";
}

bool gw_http_allowed(enum gw_role role, enum gw_role min_role)
{
	return role >= min_role;
}

/* ---- sessions ---- */

static int random_hex(char out[65])
{
	uint8_t b[32];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -EIO;
	for (unsigned i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

int gw_http_session_open(struct gw *gw, const struct gw_http_staff *st, char id[65], char csrf[65])
{
	struct gw_http_session *s = NULL;
	time_t now = gw_mono();

	(void)gw;
	/* a free or expired slot, else the one that would end first */
	for (unsigned i = 0; i < SESSIONS_MAX; i++) {
		struct gw_http_session *t = &sessions[i];

		if (!t->id[0] || t->expires <= now) {
			s = t;
			break;
		}
		if (!s || t->expires < s->expires)
			s = t;
	}
	if (random_hex(id) < 0 || random_hex(csrf) < 0)
		return -EIO;
	memcpy(s->id, id, 65);
	memcpy(s->csrf, csrf, 65);
	s->token_id = st->token_id;
	s->district = st->district[0] != 0;
	s->expires = now + GW_HTTP_SESSION_S;
	return 0;
}

static struct gw_http_session *session_find(const char *id)
{
	time_t now = gw_mono();

	if (!id || strlen(id) != 64)
		return NULL;
	for (unsigned i = 0; i < SESSIONS_MAX; i++) {
		struct gw_http_session *s = &sessions[i];

		if (!s->id[0] || strcmp(s->id, id))
			continue;
		if (s->expires <= now) {
			gw_http_session_end(s);
			return NULL;
		}
		return s;
	}
	return NULL;
}

/* ---- authentication ---- */

/* The bytes of s's longest prefix of at most max bytes that ends on a whole UTF-8 character. */
static int utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return (int)n;
	n = max;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

static void staff_from_token(struct gw_http_staff *st, const struct db_token *t)
{
	const char *name = t->name[0] ? t->name : t->number;
	int role = gw_role_parse(t->role);

	memset(st, 0, sizeof(*st));
	st->token_id = t->id;
	OSMO_STRLCPY_ARRAY(st->number, t->number);
	/* cut on a character: a name cut inside one made the actor of every event row they wrote
	 * invalid UTF-8, and the JSON of those rows (and of /api/v1/me) could not be made */
	snprintf(st->name, sizeof(st->name), "%.*s", utf8_prefix(name, sizeof(st->name) - 1), name);
	st->role = role < 0 ? GW_ROLE_PUBLIC : role;
	snprintf(st->actor, sizeof(st->actor), "web:%.*s (%.31s)", utf8_prefix(st->name, 60), st->name, st->number);
}

/* A street office's token is nobody to a community's own routes, even its own communities': they
 * hold households, phones and watches' positions, which a household approved for its community's
 * staff, not for the district. It reads the district's routes (request_district.c) only. */
static void staff_from_district(struct gw_http_staff *st, const struct db_district_token *t)
{
	const char *name = t->label[0] ? t->label : "street office";

	memset(st, 0, sizeof(*st));
	st->token_id = t->id; /* a district token's id: st->district tells them apart */
	snprintf(st->name, sizeof(st->name), "%.*s", utf8_prefix(name, sizeof(st->name) - 1), name);
	OSMO_STRLCPY_ARRAY(st->district, t->scope);
	st->role = GW_ROLE_PUBLIC;
	snprintf(st->actor, sizeof(st->actor), "district:%.*s", utf8_prefix(st->name, 60), st->name);
}

void gw_http_session_end(struct gw_http_session *s)
{
	if (s)
		memset(s, 0, sizeof(*s));
}

void gw_http_sessions_clear(void)
{
	memset(sessions, 0, sizeof(sessions));
}

bool gw_http_csrf_ok(const struct gw_http_session *s, const char *token)
{
	return s && token && strlen(token) == 64 && !strcmp(token, s->csrf);
}

int gw_http_token_staff(struct gw *gw, const char *token, struct gw_http_staff *st)
{
	struct db_district_token dt;
	struct db_token t;
	int rc, drc;

	memset(st, 0, sizeof(*st));
	rc = db_token_check(gw->db, token, gw_now(), &t);
	if (rc == 0) {
		staff_from_token(st, &t);
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	/* not a token of this community: a street office's, on a district's database? */
	drc = db_district_token_check(gw->db, token, gw_now(), &dt);
	if (drc == 0) {
		staff_from_district(st, &dt);
		return 0;
	}
	return drc == -ENOTSUP ? -ENOENT : drc;
}

/* The session's token still valid: 0 with *st, -ENOENT (revoked, phone gone), -errno. */
static int session_staff(struct gw *gw, const struct gw_http_session *s, struct gw_http_staff *st)
{
	int rc;

	if (s->district) {
		struct db_district_token dt;

		rc = db_district_token_valid(gw->db, s->token_id, &dt);
		if (rc == 0)
			staff_from_district(st, &dt);
	} else {
		struct db_token t;

		rc = db_token_valid(gw->db, s->token_id, &t);
		if (rc == 0)
			staff_from_token(st, &t);
	}
	return rc == -ENOTSUP ? -ENOENT : rc;
}

/* Who the caller is: 0 with *st filled (st->role PUBLIC when nobody), or the status to answer
 * (401, 500) with why. A token that was given and is wrong is refused even on a public route;
 * an unknown or expired cookie is nobody. */
unsigned gw_http_authenticate(struct gw *gw, const char *authorization, const char *api_key, const char *cookie,
			      struct gw_http_staff *st, struct gw_http_session **session, const char **why)
{
	const char *token = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	*session = NULL;
	if (authorization) {
		if (strncasecmp(authorization, "Bearer ", 7)) {
			*why = "the Authorization header must be \"Bearer TOKEN\"";
			return 401;
		}
		token = authorization + 7;
		while (*token == ' ')
			token++;
	} else {
		token = api_key;
	}
	if (token) {
		rc = gw_http_token_staff(gw, token, st);
		if (rc < 0) {
			*why = rc == -ENOENT ? "the token is unknown or revoked" : "the token could not be checked";
			if (rc != -ENOENT)
				gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
			return rc == -ENOENT ? 401 : 500;
		}
		return 0;
	}
	*session = session_find(cookie);
	if (!*session)
		return 0;
	/* a revoked token (or a phone no longer active) ends its sessions here */
	rc = session_staff(gw, *session, st);
	if (rc < 0) {
		memset(st, 0, sizeof(*st));
		gw_http_session_end(*session);
		*session = NULL;
		if (rc != -ENOENT) {
			gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
			*why = "the session could not be checked";
			return 500;
		}
		return 0;
	}
	return 0;
}
