/* Calls ringing a GSM modem (gateway/core/ring.h). */
#include <errno.h>
#include <string.h>

#include <osmocom/core/logging.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/ring.h"

#define RING_MAX 8

static struct {
	unsigned n;
	struct {
		const char *name;
		gw_ring_fn fn;
	} h[RING_MAX];
} H;

int gw_ring_add(struct gw *gw, const char *name, gw_ring_fn fn)
{
	(void)gw;
	for (unsigned i = 0; i < H.n; i++)
		if (!strcmp(H.h[i].name, name)) {
			H.h[i].fn = fn;
			return 0;
		}
	if (H.n == RING_MAX)
		return -ENOSPC;
	H.h[H.n].name = name;
	H.h[H.n].fn = fn;
	H.n++;
	return 0;
}

void gw_ring(struct gw *gw, unsigned idx, const char *caller)
{
	struct gw_modem *m = &gw->modem[idx];
	struct db_phone ph;
	char number[32];
	int rc = 0;

	if (!caller[0] || db_number_norm(caller, number, sizeof(number)) < 0) {
		LOGP(DMDM, LOGL_NOTICE, "modem %s: a call without caller id (%s): rejected\n", m->cfg.name,
		     caller[0] ? caller : "withheld");
		goto reject;
	}
	for (unsigned i = 0; i < H.n; i++) {
		rc = H.h[i].fn(gw, m->cfg.name, number, gw_now());
		if (rc < 0)
			LOGP(DRT, LOGL_ERROR, "modem %s: call from %s: %s failed: %s\n", m->cfg.name, number,
			     H.h[i].name, strerror(-rc));
		if (rc != 0)
			goto reject;
	}
	LOGP(DMDM, LOGL_NOTICE, "modem %s: call from %s (%s): rejected, the modems take no calls\n", m->cfg.name,
	     number, db_phone_get(gw->db, number, &ph) == 0 ? "known number" : "unknown number");
reject:
	if (gw->pool && (rc = mdm_hangup(gw->pool, idx)) < 0)
		LOGP(DMDM, LOGL_ERROR, "modem %s: cannot reject the call: %s\n", m->cfg.name, strerror(-rc));
}
