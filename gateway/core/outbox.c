/* The outbox and its channels (gateway/core/outbox.h). */
#include <errno.h>
#include <string.h>

#include <osmocom/core/rate_ctr.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/outbox.h"
#include "modem/sms_codec.h"

#define CHANNEL_MAX 4

static struct {
	unsigned n;
	const struct gw_channel *ch[CHANNEL_MAX];
} C;

int gw_channel_add(struct gw *gw, const struct gw_channel *ch)
{
	(void)gw;
	for (unsigned i = 0; i < C.n; i++)
		if (!strcmp(C.ch[i]->name, ch->name)) {
			C.ch[i] = ch;
			return 0;
		}
	if (C.n == CHANNEL_MAX)
		return -ENOSPC;
	C.ch[C.n++] = ch;
	return 0;
}

static const struct gw_channel *channel_named(const char *name)
{
	for (unsigned i = 0; name && i < C.n; i++)
		if (!strcmp(C.ch[i]->name, name))
			return C.ch[i];
	return NULL;
}

/* A reply to the sender of the message being routed goes back the way it came; any other
 * message by the first channel that serves the number; else the default (the first one). */
static const struct gw_channel *channel_for(struct gw *gw, const char *number)
{
	const struct gw_channel *ch;

	if (gw->routing && !strcmp(gw->routing->sender, number) && (ch = channel_named(gw->routing->channel)))
		return ch;
	for (unsigned i = 1; i < C.n; i++)
		if (C.ch[i]->serves && C.ch[i]->serves(gw, number))
			return C.ch[i];
	return C.n ? C.ch[0] : NULL;
}

int gw_sms_queue(struct gw *gw, const char *dest, const char *text, int prio, int64_t *id)
{
	const struct gw_channel *ch;
	char num[32];
	int64_t dummy;
	int rc;

	rc = db_number_norm(dest, num, sizeof(num));
	if (rc < 0)
		return rc;
	rc = utf8_validate(text, strlen(text), NULL);
	if (rc < 0)
		return rc;
	ch = channel_for(gw, num);
	rc = db_sms_out_add_channel(gw->db, ch ? ch->name : "gsm", num, text, prio, id ? id : &dummy);
	if (rc < 0)
		return rc;
	gw_ctr_inc(gw, GW_CTR_OUT_QUEUED);
	if (ch && ch->kick)
		ch->kick(gw);
	return 0;
}

void gw_outbox_kick(struct gw *gw)
{
	for (unsigned i = 0; i < C.n; i++)
		if (C.ch[i]->kick)
			C.ch[i]->kick(gw);
}

time_t gw_outbox_backoff(struct gw *gw, unsigned attempts)
{
	unsigned shift = attempts > 1 ? attempts - 1 : 0;
	unsigned long delay = (unsigned long)gw->cfg.retry_base_s << (shift > 16 ? 16 : shift);

	return (time_t)(delay > gw->cfg.retry_max_s ? gw->cfg.retry_max_s : delay);
}

bool gw_outbox_idle(struct gw *gw)
{
	for (unsigned i = 0; i < C.n; i++)
		if (C.ch[i]->idle && !C.ch[i]->idle(gw))
			return false;
	return true;
}

void gw_outbox_stop(struct gw *gw)
{
	for (unsigned i = C.n; i-- > 0;)
		if (C.ch[i]->stop)
			C.ch[i]->stop(gw);
}
