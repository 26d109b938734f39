/* Due work on one timer (gateway/core/due.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>

#include "gateway/core/clock.h"
#include "gateway/core/due.h"
#include "gateway/core/gw.h"

#define DUE_MAX_HOOKS 16

static struct {
	struct gw *gw;
	struct osmo_timer_list timer;
	bool running;
	unsigned n;
	struct {
		const char *name;
		gw_due_fn fn;
		void *data;
		time_t next;
	} hook[DUE_MAX_HOOKS];
} D;

int gw_due_register(struct gw *gw, const char *name, gw_due_fn fn, void *data)
{
	(void)gw;
	for (unsigned i = 0; i < D.n; i++)
		if (!strcmp(D.hook[i].name, name)) {
			D.hook[i].fn = fn; /* registered again (a test's second gateway): the new one */
			D.hook[i].data = data;
			return 0;
		}
	if (D.n == DUE_MAX_HOOKS)
		return -ENOSPC;
	D.hook[D.n].name = name;
	D.hook[D.n].fn = fn;
	D.hook[D.n].data = data;
	D.hook[D.n].next = 0;
	D.n++;
	return 0;
}

static void schedule(time_t now)
{
	time_t wait = GW_DUE_MAX_WAIT_S;

	for (unsigned i = 0; i < D.n; i++)
		if (D.hook[i].next && D.hook[i].next - now < wait)
			wait = D.hook[i].next > now ? D.hook[i].next - now : 0;
	osmo_timer_schedule(&D.timer, wait, 0);
}

static void due_cb(void *data)
{
	time_t now = gw_now();

	(void)data;
	/* the database cannot commit: the hooks' writes would fail (and wait for a lock); its recovery
	 * kicks them all (gw_due_kick) */
	if (D.gw->db_degraded) {
		osmo_timer_schedule(&D.timer, GW_DUE_MAX_WAIT_S, 0);
		return;
	}
	for (unsigned i = 0; i < D.n; i++) {
		if (D.hook[i].next > now)
			continue;
		D.hook[i].next = D.hook[i].fn(D.gw, now, D.hook[i].data);
		if (D.hook[i].next && D.hook[i].next < now)
			D.hook[i].next = now;
	}
	schedule(gw_now());
}

void gw_due_kick(void)
{
	for (unsigned i = 0; i < D.n; i++)
		D.hook[i].next = 0;
	if (D.running)
		osmo_timer_schedule(&D.timer, 0, 0);
}

void gw_due_start(struct gw *gw)
{
	D.gw = gw;
	D.running = true;
	osmo_timer_setup(&D.timer, due_cb, NULL);
	osmo_timer_schedule(&D.timer, 0, 0);
}

void gw_due_stop(void)
{
	D.running = false;
	osmo_timer_del(&D.timer);
}

int gw_due_get(unsigned i, const char **name, time_t *next)
{
	if (i >= D.n)
		return -ENOENT;
	*name = D.hook[i].name;
	*next = D.hook[i].next;
	return 0;
}
