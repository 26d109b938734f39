/* The modem pool, main-thread side: starting and stopping the workers, the command queues into
 * them, the one osmo_it_q that brings their events back into the osmo_select loop, and the send
 * watchdog (a send that is not answered gets its modem reset, then is given back to the caller). */

#include <errno.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <osmocom/core/it_q.h>
#include <osmocom/core/select.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>

#include "modem/mdm.h"
#include "modem/mdm_worker.h"

#define EVQ_MAX (1u << 20)

static void deliver(struct mdm_pool *pool, struct mdm_event *ev)
{
	struct mdm_worker *w;

	OSMO_ASSERT(ev->modem < pool->n);
	w = &pool->w[ev->modem];
	switch (ev->type) {
	case MDM_EV_STATE:
		w->main_state = ev->u.state.state;
		break;
	case MDM_EV_SEND_RESULT:
		w->busy = false;
		break;
	default:
		break;
	}
	pool->cb(pool, ev, pool->data);
}

static void evq_read_cb(struct osmo_it_q *q, struct llist_head *item)
{
	deliver(q->data, llist_entry(item, struct mdm_event, list));
}

void mdm_pool_emit(struct mdm_pool *pool, struct mdm_event *ev)
{
	/* The queue is effectively unbounded; an event is never dropped. */
	while (_osmo_it_q_enqueue(pool->q, &ev->list) == -ENOSPC)
		usleep(10000);
}

/* The main loop's monotonic clock in ms (osmo_clock_override sets it in the unit test). */
static int64_t mono_ms(void)
{
	struct timespec ts;

	osmo_clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Tell the caller about the send watchdog's step for w's send: type with the job and how long it
 * has waited. -ENOMEM: nothing told (the next tick tries again). */
static int watchdog_event(struct mdm_pool *pool, struct mdm_worker *w, enum mdm_ev_type type, int64_t waited_ms)
{
	struct mdm_event *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	ev->type = type;
	ev->modem = w->idx;
	ev->u.watchdog.job = w->send_job;
	ev->u.watchdog.waited_s = (unsigned)(waited_ms / 1000);
	if (type == MDM_EV_SEND_RESET)
		w->send_reset = true;
	else
		w->send_stuck = true;
	pool->cb(pool, ev, pool->data);
	return 0;
}

/* A send unanswered for longer than watchdog_s: reset its modem (the worker then normally answers
 * MDM_ERR_MODEM at once). Still unanswered after twice as long: the worker is stuck even so, and
 * the caller takes the job back (MDM_EV_SEND_STUCK); the modem stays busy until it answers. */
static void send_watchdog(struct mdm_pool *pool)
{
	int64_t t = mono_ms();

	for (unsigned i = 0; i < pool->n; i++) {
		struct mdm_worker *w = &pool->w[i];
		int64_t limit = (int64_t)w->watchdog_s * 1000, waited = t - w->send_since_ms;

		if (!w->busy || w->send_stuck || !limit)
			continue;
		if (!w->send_reset && waited > limit) {
			if (watchdog_event(pool, w, MDM_EV_SEND_RESET, waited) == 0)
				mdm_reset(pool, i);
		} else if (w->send_reset && waited > 2 * limit) {
			watchdog_event(pool, w, MDM_EV_SEND_STUCK, waited);
		}
	}
}

static void watchdog_cb(void *data)
{
	struct mdm_pool *pool = data;

	mdm_pool_watchdog(pool);
	send_watchdog(pool);
	osmo_timer_schedule(pool->watchdog, 0, 500000);
}

static void fill_defaults(struct mdm_cfg *c, unsigned idx)
{
	if (!c->name[0])
		snprintf(c->name, sizeof(c->name), "modem%u", idx);
	if (!c->connection[0])
		snprintf(c->connection, sizeof(c->connection), "at");
	if (!c->poll_s)
		c->poll_s = 30;
	if (!c->health_s)
		c->health_s = 30;
	if (!c->send_timeout_s)
		c->send_timeout_s = 40;
}

static void stop_workers(struct mdm_pool *pool)
{
	for (unsigned i = 0; i < pool->n; i++) {
		struct mdm_worker *w = &pool->w[i];
		if (!w->started)
			continue;
		pthread_mutex_lock(&w->lock);
		w->stop = true;
		mdm_worker_abort_locked(w);
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		mdm_worker_wake(w);
	}
	for (unsigned i = 0; i < pool->n; i++) {
		struct mdm_worker *w = &pool->w[i];
		if (!w->started)
			continue;
		pthread_join(w->thread, NULL);
		w->started = false;
	}
}

static void free_pool(struct mdm_pool *pool)
{
	/* Workers are gone: deliver what they left, then nothing is on the queue when it is freed
	 * (its flush would talloc_free our malloc'd events). libosmocore 1.7's dequeue must not be
	 * called on an empty queue. */
	while (!llist_empty(&pool->q->list))
		deliver(pool, llist_entry(_osmo_it_q_dequeue(pool->q), struct mdm_event, list));
	osmo_it_q_destroy(pool->q);
	for (unsigned i = 0; i < pool->n; i++) {
		struct mdm_worker *w = &pool->w[i];
		struct mdm_cmd *c, *tmp;
		llist_for_each_entry_safe (c, tmp, &w->cmds, list) {
			llist_del(&c->list);
			free(c->text);
			free(c);
		}
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
	}
	talloc_free(pool);
}

void mdm_worker_wake(struct mdm_worker *w)
{
	uint64_t one = 1;

	if (w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the worker will wake anyway */
	}
}

struct mdm_pool *mdm_pool_start(void *ctx, const struct mdm_cfg *cfg, unsigned n, mdm_event_cb cb, void *data)
{
	struct mdm_pool *pool;
	char qname[64];
	sigset_t all, old;
	bool ok = true;

	if (!cb || (n && !cfg))
		return NULL;
	pool = talloc_zero(ctx, struct mdm_pool);
	if (!pool)
		return NULL;
	pool->cb = cb;
	pool->data = data;
	pool->n = n;
	pool->w = talloc_zero_array(pool, struct mdm_worker, n ? n : 1);
	snprintf(qname, sizeof(qname), "mdm_pool_%p", (void *)pool);
	pool->q = osmo_it_q_alloc(pool, qname, EVQ_MAX, evq_read_cb, pool);
	if (!pool->w || !pool->q)
		goto free_talloc;
	if (osmo_fd_register(&pool->q->event_ofd) < 0)
		goto free_q;
	pool->watchdog = talloc_zero(pool, struct osmo_timer_list);
	if (!pool->watchdog)
		goto free_q;
	osmo_timer_setup(pool->watchdog, watchdog_cb, pool);

	for (unsigned i = 0; i < n; i++) {
		struct mdm_worker *w = &pool->w[i];
		w->pool = pool;
		w->idx = i;
		w->cfg = cfg[i];
		fill_defaults(&w->cfg, i);
		w->main_state = MDM_ST_CONNECTING;
		w->watchdog_s = w->cfg.watchdog_s;
		INIT_LLIST_HEAD(&w->cmds);
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); /* -1: the worker polls as before */
	}
	/* Signals stay with the main thread (the osmo_select loop handles them). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < n && ok; i++) {
		struct mdm_worker *w = &pool->w[i];
		if (pthread_create(&w->thread, NULL, mdm_worker_main, w) != 0)
			ok = false;
		else
			w->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ok)
		osmo_timer_schedule(pool->watchdog, 0, 500000);
	if (!ok) {
		pool->stopping = true;
		stop_workers(pool);
		/* events of the started workers are dropped here: the caller never saw the pool */
		while (!llist_empty(&pool->q->list))
			mdm_event_free(llist_entry(_osmo_it_q_dequeue(pool->q), struct mdm_event, list));
		pool->cb = NULL;
		osmo_it_q_destroy(pool->q);
		for (unsigned i = 0; i < n; i++) {
			pthread_cond_destroy(&pool->w[i].cond);
			pthread_mutex_destroy(&pool->w[i].lock);
			if (pool->w[i].wake_fd >= 0)
				close(pool->w[i].wake_fd);
		}
		talloc_free(pool);
		return NULL;
	}
	return pool;

free_q:
	osmo_it_q_destroy(pool->q);
free_talloc:
	talloc_free(pool);
	return NULL;
}

void mdm_pool_stop(struct mdm_pool *pool)
{
	if (!pool)
		return;
	pool->stopping = true;
	osmo_timer_del(pool->watchdog);
	stop_workers(pool);
	free_pool(pool);
}

unsigned mdm_pool_size(const struct mdm_pool *pool)
{
	return pool ? pool->n : 0;
}

const char *mdm_name(const struct mdm_pool *pool, unsigned idx)
{
	if (!pool || idx >= pool->n)
		return "?";
	return pool->w[idx].cfg.name;
}

static void push_cmd(struct mdm_worker *w, struct mdm_cmd *c)
{
	pthread_mutex_lock(&w->lock);
	llist_add_tail(&c->list, &w->cmds);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	mdm_worker_wake(w);
}

static int send_cmd(struct mdm_pool *pool, unsigned idx, int64_t job, const char *dest, const char *text,
		    const struct mdm_copies *copies)
{
	struct mdm_worker *w;
	struct mdm_cmd *c;

	if (!pool || idx >= pool->n || !dest || !text || (!dest[0] && !copies))
		return -EINVAL;
	w = &pool->w[idx];
	if (strlen(dest) >= sizeof(c->dest))
		return -EINVAL;
	if (pool->stopping)
		return -ENODEV;
	if (w->busy)
		return -EBUSY;
	if (w->main_state != MDM_ST_READY)
		return -ENODEV;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->text = strdup(text);
	if (!c->text) {
		free(c);
		return -ENOMEM;
	}
	c->type = MDM_CMD_SEND;
	c->job = job;
	if (copies)
		c->copies = *copies;
	snprintf(c->dest, sizeof(c->dest), "%s", dest);
	w->busy = true;
	w->send_job = job;
	w->send_since_ms = mono_ms();
	w->send_reset = false;
	w->send_stuck = false;
	push_cmd(w, c);
	return 0;
}

int mdm_send(struct mdm_pool *pool, unsigned idx, int64_t job, const char *dest, const char *text)
{
	return send_cmd(pool, idx, job, dest, text, NULL);
}

int mdm_send_stored(struct mdm_pool *pool, unsigned idx, int64_t job, const struct mdm_copies *c)
{
	if (!c || !c->n || c->n > MDM_STORE_PARTS)
		return -EINVAL;
	for (unsigned k = 0; k < c->n; k++)
		if (c->index[k] <= 0)
			return -EINVAL;
	return send_cmd(pool, idx, job, "", "", c);
}

void mdm_stored_committed(struct mdm_pool *pool, unsigned idx, int64_t job, bool ok)
{
	struct mdm_worker *w;

	if (!pool || idx >= pool->n)
		return;
	w = &pool->w[idx];
	pthread_mutex_lock(&w->lock);
	w->stored_job = job;
	w->stored_ok = ok;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	mdm_worker_wake(w);
}

int mdm_hangup(struct mdm_pool *pool, unsigned idx)
{
	struct mdm_cmd *c;

	if (!pool || idx >= pool->n)
		return -EINVAL;
	if (pool->stopping)
		return -ENODEV;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->type = MDM_CMD_HANGUP;
	push_cmd(&pool->w[idx], c);
	return 0;
}

int mdm_withdraw(struct mdm_pool *pool, unsigned idx, int64_t job)
{
	struct mdm_worker *w;
	struct mdm_cmd *c, *found = NULL;

	if (!pool || idx >= pool->n)
		return -EINVAL;
	w = &pool->w[idx];
	pthread_mutex_lock(&w->lock);
	llist_for_each_entry (c, &w->cmds, list) {
		if (c->type == MDM_CMD_SEND && c->job == job) {
			found = c;
			llist_del(&c->list);
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (!found)
		return -EBUSY;
	free(found->text);
	free(found);
	w->busy = false;
	return 0;
}

void mdm_inbox_committed(struct mdm_pool *pool)
{
	for (unsigned i = 0; pool && i < pool->n; i++) {
		struct mdm_worker *w = &pool->w[i];

		pthread_mutex_lock(&w->lock);
		if (w->hold_until) {
			w->hold_until = 0;
			pthread_cond_broadcast(&w->cond);
		}
		pthread_mutex_unlock(&w->lock);
		mdm_worker_wake(w);
	}
}

int mdm_delete(struct mdm_pool *pool, unsigned idx, int folder, int location)
{
	struct mdm_cmd *c;

	if (!pool || idx >= pool->n || location < 0)
		return -EINVAL;
	if (pool->stopping)
		return -ENODEV;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->type = MDM_CMD_DELETE;
	c->folder = folder;
	c->location = location;
	push_cmd(&pool->w[idx], c);
	return 0;
}

int mdm_reset(struct mdm_pool *pool, unsigned idx)
{
	struct mdm_worker *w;

	if (!pool || idx >= pool->n)
		return -EINVAL;
	if (pool->stopping)
		return -ENODEV;
	w = &pool->w[idx];
	pthread_mutex_lock(&w->lock);
	w->reset = true;
	mdm_worker_abort_locked(w);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	mdm_worker_wake(w);
	return 0;
}

void mdm_set_watchdog(struct mdm_pool *pool, unsigned watchdog_s)
{
	for (unsigned i = 0; pool && i < pool->n; i++)
		pool->w[i].watchdog_s = watchdog_s;
}

bool mdm_is_busy(const struct mdm_pool *pool, unsigned idx)
{
	if (!pool || idx >= pool->n)
		return false;
	return pool->w[idx].busy;
}

void mdm_event_free(struct mdm_event *ev)
{
	if (!ev)
		return;
	if (ev->type == MDM_EV_SMS_IN) {
		free(ev->u.sms.text);
		free(ev->u.sms.raw);
	}
	if (ev->type == MDM_EV_SIM_OUT)
		free(ev->u.sim_out.index);
	free(ev);
}

const char *mdm_state_name(enum mdm_state st)
{
	switch (st) {
	case MDM_ST_CONNECTING:
		return "connecting";
	case MDM_ST_READY:
		return "ready";
	case MDM_ST_LOST:
		return "lost";
	case MDM_ST_STOPPED:
		return "stopped";
	}
	return "?";
}
