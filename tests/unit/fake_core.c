/* The fake core (tests/unit/fake_core.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/due.h"
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/core/outbox.h"
#include "gateway/core/ring.h"
#include "gateway/core/route.h"
#include "tests/unit/fake_core.h"

#define FAKE_MAX_SMS   512
#define FAKE_MAX_HOOKS 16

time_t fake_now = 1767225600; /* 2026-01-01 00:00 UTC, a Thursday */

static struct fake_sms sms[FAKE_MAX_SMS];
static unsigned nsms;
static struct {
	const char *name;
	gw_route_fn fn;
} routes[FAKE_MAX_HOOKS];
static unsigned nroutes;
static struct {
	gw_due_fn fn;
	void *data;
} dues[FAKE_MAX_HOOKS];
static unsigned ndues;

time_t gw_now(void)
{
	return fake_now;
}

time_t gw_mono(void)
{
	return fake_now;
}

struct gw *fake_gw(void *ctx, struct db_context *db)
{
	struct gw *gw = talloc_zero(ctx, struct gw);

	gw->ctx = ctx;
	gw->db = db;
	INIT_LLIST_HEAD(&gw->inbox);
	gw->cfg.help_interval_s = 600;
	gw->cfg.max_attempts = 6;
	return gw;
}

int gw_sms_queue(struct gw *gw, const char *dest, const char *text, int prio, int64_t *id)
{
	struct fake_sms *s;
	char num[32];
	int64_t dummy;
	int rc;

	rc = db_number_norm(dest, num, sizeof(num));
	if (rc < 0)
		return rc;
	OSMO_ASSERT(nsms < FAKE_MAX_SMS);
	s = &sms[nsms];
	rc = db_sms_out_add_channel(gw->db, "gsm", num, text, prio, id ? id : &dummy);
	if (rc < 0)
		return rc;
	OSMO_STRLCPY_ARRAY(s->dest, num);
	OSMO_STRLCPY_ARRAY(s->text, text);
	s->prio = prio;
	s->id = id ? *id : dummy;
	s->seen = false;
	nsms++;
	return 0;
}

void gw_outbox_kick(struct gw *gw)
{
	(void)gw;
}

int gw_route_add(struct gw *gw, const char *name, gw_route_fn fn)
{
	(void)gw;
	for (unsigned i = 0; i < nroutes; i++)
		if (!strcmp(routes[i].name, name)) {
			routes[i].fn = fn;
			return 0;
		}
	OSMO_ASSERT(nroutes < FAKE_MAX_HOOKS);
	routes[nroutes].name = name;
	routes[nroutes++].fn = fn;
	return 0;
}

int gw_due_register(struct gw *gw, const char *name, gw_due_fn fn, void *data)
{
	(void)gw;
	(void)name;
	OSMO_ASSERT(ndues < FAKE_MAX_HOOKS);
	dues[ndues].fn = fn;
	dues[ndues++].data = data;
	return 0;
}

int gw_ring_add(struct gw *gw, const char *name, gw_ring_fn fn)
{
	(void)gw;
	(void)name;
	(void)fn;
	return 0;
}

void gw_vty_add_writer(void (*write)(struct vty *vty))
{
	(void)write;
}

/* Store and route in one transaction, as the real inbox does. */
int gw_inbox_add_route(struct gw *gw, const struct db_sms_in *in)
{
	void *tmp = talloc_new(gw);
	struct db_sms_in m;
	const char *note = "unhandled";
	int64_t id;
	int rc;

	rc = db_begin(gw->db);
	if (rc < 0)
		goto out;
	rc = db_sms_in_add(gw->db, in, &id);
	if (rc == -EEXIST) {
		db_rollback(gw->db);
		rc = 1;
		goto out;
	}
	if (rc == 0)
		rc = db_sms_in_get(gw->db, tmp, id, &m);
	gw->routing = &m;
	for (unsigned i = 0; rc == 0 && i < nroutes; i++) {
		rc = routes[i].fn(gw, &m, &note);
		if (rc > 0) {
			rc = 0;
			break;
		}
	}
	gw->routing = NULL;
	if (rc == 0)
		rc = db_sms_in_done(gw->db, id, note ? note : "handled");
	if (rc == 0)
		rc = db_commit(gw->db);
	if (rc < 0)
		db_rollback(gw->db);
out:
	talloc_free(tmp);
	return rc;
}

int fake_deliver(struct gw *gw, const char *sender, const char *text)
{
	static unsigned seq;
	char num[32], dedup[64];
	struct db_sms_in in = {
		.channel = "gsm",
		.modem = "fake",
		.sender = num,
		.text = text,
		.raw = text,
		.recv_ts = fake_now,
		.dedup = dedup,
	};

	if (db_number_norm(sender, num, sizeof(num)) < 0)
		return -EINVAL;
	snprintf(dedup, sizeof(dedup), "fake|%u", ++seq);
	return gw_inbox_add_route(gw, &in);
}

void fake_due(struct gw *gw)
{
	for (unsigned i = 0; i < ndues; i++)
		dues[i].fn(gw, fake_now, dues[i].data);
}

const struct fake_sms *fake_take(const char *dest, ...)
{
	char num[32];

	if (db_number_norm(dest, num, sizeof(num)) < 0)
		return NULL;
	for (unsigned i = 0; i < nsms; i++) {
		const char *w;
		bool all = true;
		va_list ap;

		if (sms[i].seen || strcmp(sms[i].dest, num))
			continue;
		va_start(ap, dest);
		while ((w = va_arg(ap, const char *)))
			all = all && strstr(sms[i].text, w);
		va_end(ap);
		if (all) {
			sms[i].seen = true;
			return &sms[i];
		}
	}
	return NULL;
}

unsigned fake_count(const char *dest)
{
	char num[32];
	unsigned n = 0;

	if (dest && db_number_norm(dest, num, sizeof(num)) < 0)
		return 0;
	for (unsigned i = 0; i < nsms; i++)
		n += !dest || !strcmp(sms[i].dest, num);
	return n;
}

void fake_clear(void)
{
	nsms = 0;
}
