/* The rate limiter (gateway/core/limit.h). */
#include <stdint.h>
#include <string.h>

#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "gateway/core/limit.h"

#define LIMIT_WAYS 4

struct limit_slot {
	char key[32];
	time_t since; /* start of the key's window */
	time_t used;  /* last event, for the eviction */
	unsigned n;   /* events in the window */
};

struct gw_limit {
	unsigned max, window_s, nsets;
	struct limit_slot *slot; /* nsets * LIMIT_WAYS */
};

struct gw_limit *gw_limit_alloc(void *ctx, unsigned nkeys, unsigned max, unsigned window_s)
{
	struct gw_limit *l = talloc_zero(ctx, struct gw_limit);

	if (!l)
		return NULL;
	l->nsets = nkeys / LIMIT_WAYS ? nkeys / LIMIT_WAYS : 1;
	l->slot = talloc_zero_array(l, struct limit_slot, l->nsets * LIMIT_WAYS);
	if (!l->slot) {
		talloc_free(l);
		return NULL;
	}
	gw_limit_set(l, max, window_s);
	return l;
}

void gw_limit_set(struct gw_limit *l, unsigned max, unsigned window_s)
{
	l->max = max;
	l->window_s = window_s;
}

static uint32_t fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

bool gw_limit_take(struct gw_limit *l, const char *key, time_t now)
{
	struct limit_slot *set = &l->slot[(fnv1a32(key) % l->nsets) * LIMIT_WAYS], *s = NULL;

	for (unsigned i = 0; i < LIMIT_WAYS; i++)
		if (!strcmp(set[i].key, key)) {
			s = &set[i];
			break;
		}
	if (!s) {
		/* a free slot, else the least recently used one */
		s = &set[0];
		for (unsigned i = 1; i < LIMIT_WAYS && s->key[0]; i++)
			if (!set[i].key[0] || set[i].used < s->used)
				s = &set[i];
		OSMO_STRLCPY_ARRAY(s->key, key);
		s->n = 0;
		s->since = now;
	}
	/* a new window once the old one has passed (or the clock went back) */
	if (now - s->since >= (time_t)l->window_s || now < s->since) {
		s->since = now;
		s->n = 0;
	}
	s->used = now;
	if (s->n >= l->max)
		return false;
	s->n++;
	return true;
}

unsigned gw_limit_left(struct gw_limit *l, const char *key, time_t now)
{
	const struct limit_slot *set = &l->slot[(fnv1a32(key) % l->nsets) * LIMIT_WAYS];

	for (unsigned i = 0; i < LIMIT_WAYS; i++)
		if (!strcmp(set[i].key, key)) {
			if (now - set[i].since >= (time_t)l->window_s || now < set[i].since)
				return l->max;
			return set[i].n < l->max ? l->max - set[i].n : 0;
		}
	return l->max;
}
