/* One worker thread per modem: owns its GSM_StateMachine, connects with back-off, reads what
 * arrives (+CMTI/+CMT/RING through libgammu's callbacks, plus a safety-net listing), sends one
 * message at a time, polls health, and hands every result to the main loop as an mdm_event.
 *
 * libgammu blocks, so nothing here touches talloc or the main loop's data: events are calloc'd
 * and queued with mdm_pool_emit(). Between gammu calls the worker never waits longer than one
 * GSM_ReadDevice(sm, FALSE) (a 50 ms select on the device) before looking at its commands.
 *
 * This file holds the thread's loop, its command queue and the plumbing the other parts share;
 * the parts, one concern each (mdm_wpriv.h lists what they share):
 *   mdm_connect.c    connecting, identity, failure handling, health polls
 *   mdm_receive.c    reading, +CMTI/+CMT, status reports, deleting
 *   mdm_ring.c       RING and +CLIP, hanging up
 *   mdm_send_job.c   one send: own AT+CMGS (mdm_send.c) or GSM_SendSMS, and its result
 *   mdm_scrape.c     what is taken from libgammu's debug output
 */

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gammu.h>

#include "modem/mdm.h"
#include "modem/mdm_wpriv.h"
#include "modem/mdm_worker.h"
#include "modem/sms_codec.h"

#define READ_ERRORS_LOST 5  /* consecutive failed device reads that mean the device is gone */
#define READ_EOFS_LOST	 20 /* consecutive instant empty reads: the tty was hung up */
#define BACKOFF_MAX_MS	 30000

/* bounded copy that always terminates (and truncates silently, as intended) */
static void scpy(char *d, size_t n, const char *s)
{
	size_t l = strnlen(s, n - 1);
	memcpy(d, s, l);
	d[l] = '\0';
}

int64_t mdm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mdm_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* gammu "Unicode" strings are UTF-16BE code units ending in 00 00 */
size_t mdm_gu_units(const unsigned char *g, size_t maxbytes, uint16_t *out, size_t outmax)
{
	size_t n = 0;
	for (size_t i = 0; i + 1 < maxbytes && n < outmax; i += 2) {
		uint16_t u = (uint16_t)(g[i] << 8 | g[i + 1]);
		if (!u)
			break;
		out[n++] = u;
	}
	return n;
}

void mdm_gu_to_utf8(const unsigned char *g, size_t maxbytes, char *out, size_t outmax)
{
	uint16_t u[GSM_MAX_SMS_LENGTH + 1];
	size_t n = mdm_gu_units(g, maxbytes, u, sizeof(u) / sizeof(u[0]));
	if (sms_utf16_to_utf8(u, n, out, outmax) < 0 && outmax)
		out[0] = '\0';
}

void mdm_hex_encode(const unsigned char *b, size_t n, char *out)
{
	static const char hx[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int mdm_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = toupper(c);
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

struct mdm_event *mdm_ev_new(struct mdm_worker *w, enum mdm_ev_type type)
{
	struct mdm_event *ev;

	while (!(ev = calloc(1, sizeof(*ev))))
		mdm_sleep_ms(10);
	ev->type = type;
	ev->modem = w->idx;
	return ev;
}

static bool flag_stop(struct mdm_worker *w)
{
	bool r;
	pthread_mutex_lock(&w->lock);
	r = w->stop;
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* stop or reset requested */
bool mdm_flag_leave(struct mdm_worker *w)
{
	bool r;
	pthread_mutex_lock(&w->lock);
	r = w->stop || w->reset;
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* Bracket a gammu call that may block: the pool's watchdog aborts it after limit_s. */
void mdm_call_begin(struct mdm_worker *w, unsigned limit_s, const char *what)
{
	pthread_mutex_lock(&w->lock);
	w->call_deadline = mdm_now_ms() + (int64_t)limit_s * 1000;
	snprintf(w->call_what, sizeof(w->call_what), "%s", what);
	pthread_mutex_unlock(&w->lock);
}

void mdm_call_end(struct mdm_worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->call_deadline = 0;
	pthread_mutex_unlock(&w->lock);
}

void mdm_pool_watchdog(struct mdm_pool *pool)
{
	int64_t t = mdm_now_ms();

	for (unsigned i = 0; i < pool->n; i++) {
		struct mdm_worker *w = &pool->w[i];
		pthread_mutex_lock(&w->lock);
		/* over time, or the device node went away (unplugged) while gammu waits on it */
		if (w->call_deadline &&
		    (t > w->call_deadline || (w->cfg.device[0] == '/' && strcmp(w->cfg.connection, "proxyat") &&
					      access(w->cfg.device, F_OK) != 0))) {
			w->call_deadline = 0;
			mdm_worker_abort_locked(w);
		}
		pthread_mutex_unlock(&w->lock);
	}
}

void mdm_worker_abort_locked(struct mdm_worker *w)
{
	/* Sets the state machine's abort flag: the AT driver's wait loops return ERR_ABORTED. The
	 * worker never reuses an aborted state machine (it reconnects with a fresh one). */
	if (w->sm)
		GSM_AbortOperation(w->sm);
}

void mdm_set_state(struct mdm_worker *w, enum mdm_state st, const char *reason)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_event *ev;

	p->state = st;
	ev = mdm_ev_new(w, MDM_EV_STATE);
	ev->u.state.state = st;
	snprintf(ev->u.state.reason, sizeof(ev->u.state.reason), "%s", reason ? reason : "");
	if (st == MDM_ST_READY) {
		scpy(ev->u.state.imei, sizeof(ev->u.state.imei), p->imei);
		scpy(ev->u.state.model, sizeof(ev->u.state.model), p->model);
	}
	mdm_pool_emit(w->pool, ev);
}

/* One GSM_ReadDevice(sm, FALSE): lets unsolicited codes reach the callbacks. A failing read,
 * or a read that returns nothing at once again and again (a hung-up tty reads as EOF), means
 * the device is gone. */
void mdm_service_device(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	int64_t t0;
	int r;

	if (p->fd >= 0 && w->wake_fd >= 0) {
		/* the tty and the command queue at once: a command need not wait out the 50 ms */
		struct pollfd pfd[2] = {{.fd = p->fd, .events = POLLIN}, {.fd = w->wake_fd, .events = POLLIN}};
		uint64_t cnt;

		if (poll(pfd, 2, 50) <= 0 && !pfd[0].revents)
			return;
		if (pfd[1].revents & POLLIN && read(w->wake_fd, &cnt, sizeof(cnt)) < 0)
			cnt = 0;
		if (!pfd[0].revents)
			return;
	}
	t0 = mdm_now_ms();
	r = GSM_ReadDevice(p->sm, FALSE);

	if (r < 0) {
		if (++p->read_errors >= READ_ERRORS_LOST)
			mdm_go_lost(w, "device read", ERR_DEVICEREADERROR);
		else
			mdm_sleep_ms(10);
	} else if (r == 0 && mdm_now_ms() - t0 < 5) {
		if (++p->read_eofs >= READ_EOFS_LOST)
			mdm_go_lost(w, "device hung up", ERR_DEVICEREADERROR);
		else
			mdm_sleep_ms(2);
	} else {
		p->read_errors = 0;
		p->read_eofs = 0;
	}
}

/* The next command; NULL when there is none or while a received message is not committed yet
 * (MDM_INBOX_HOLD_MS at most). */
static struct mdm_cmd *pop_cmd_held(struct mdm_worker *w, bool hold)
{
	struct mdm_cmd *c = NULL;

	pthread_mutex_lock(&w->lock);
	if (w->hold_until && mdm_now_ms() >= w->hold_until)
		w->hold_until = 0;
	if (!(hold && w->hold_until) && !llist_empty(&w->cmds)) {
		c = llist_first_entry(&w->cmds, struct mdm_cmd, list);
		llist_del(&c->list);
	}
	pthread_mutex_unlock(&w->lock);
	return c;
}

static bool holding(struct mdm_worker *w)
{
	bool h;

	pthread_mutex_lock(&w->lock);
	h = w->hold_until && mdm_now_ms() < w->hold_until;
	pthread_mutex_unlock(&w->lock);
	return h;
}

static struct mdm_cmd *pop_cmd(struct mdm_worker *w)
{
	return pop_cmd_held(w, true);
}

static void push_front(struct mdm_worker *w, struct mdm_cmd *c)
{
	pthread_mutex_lock(&w->lock);
	llist_add(&c->list, &w->cmds);
	pthread_mutex_unlock(&w->lock);
}

static void free_cmd(struct mdm_cmd *c)
{
	free(c->text);
	free(c);
}

/* Not connected: sends fail at once (another modem can take them), deletes wait for the
 * connection to come back, unless the pool is stopping. */
static void answer_offline(struct mdm_worker *w, bool stopping, const char *why)
{
	struct llist_head keep;
	struct mdm_cmd *c;

	INIT_LLIST_HEAD(&keep);
	while ((c = pop_cmd_held(w, false))) {
		if (c->type == MDM_CMD_SEND) {
			mdm_answer_send(w, c->job, MDM_ERR_MODEM, 0, why, "", 0);
			free_cmd(c);
		} else if (c->type == MDM_CMD_HANGUP) {
			free_cmd(c); /* no connection, no call */
		} else if (stopping) {
			mdm_answer_delete(w, c->folder, c->location, -ENODEV);
			free_cmd(c);
		} else {
			llist_add_tail(&c->list, &keep);
		}
	}
	if (!llist_empty(&keep)) {
		pthread_mutex_lock(&w->lock);
		llist_splice(&keep, &w->cmds); /* in front of anything that came meanwhile */
		pthread_mutex_unlock(&w->lock);
	}
}

static void run_connected(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	int64_t next_poll = 0, next_health = 0, next_devcheck = 0;
	struct mdm_cmd *c;

	p->read_errors = 0;
	p->read_eofs = 0;
	while (!p->lost && !mdm_flag_leave(w)) {
		int64_t t;

		mdm_flush_full(w);
		mdm_ring_check(w);
		if (p->nloc) {
			mdm_read_notified(w);
			continue;
		}
		if ((c = pop_cmd(w))) {
			if (c->type == MDM_CMD_SEND) {
				mdm_do_send(w, c);
				free_cmd(c);
			} else if (c->type == MDM_CMD_HANGUP) {
				mdm_do_hangup(w);
				free_cmd(c);
			} else if (mdm_do_delete(w, c)) {
				free_cmd(c);
			} else {
				push_front(w, c);
			}
			continue;
		}
		if (holding(w)) {
			/* a message just handed over may be an SOS: no poll or health check now */
			mdm_service_device(w);
			continue;
		}
		t = mdm_now_ms();
		if (t >= next_poll) {
			mdm_poll_storage(w);
			mdm_handed_expire(p);
			next_poll = mdm_now_ms() + (int64_t)w->cfg.poll_s * 1000;
			continue;
		}
		if (t >= next_health) {
			mdm_health(w);
			next_health = mdm_now_ms() + (int64_t)w->cfg.health_s * 1000;
			continue;
		}
		/* a USB modem unplugged: its device node goes away */
		if (t >= next_devcheck) {
			next_devcheck = t + 1000;
			if (w->cfg.device[0] == '/' && strcmp(w->cfg.connection, "proxyat") &&
			    access(w->cfg.device, F_OK) != 0) {
				mdm_go_lost(w, "device node gone", ERR_DEVICENOTEXIST);
				continue;
			}
		}
		/* nothing to do: let unsolicited codes in (at most a 50 ms select on the device) */
		mdm_service_device(w);
	}
}

/* Wait up to ms for stop/reset/commands; answers sends that come meanwhile. */
static void offline_wait(struct mdm_worker *w, unsigned ms, const char *why)
{
	int64_t deadline = mdm_now_ms() + ms;

	for (;;) {
		struct timespec ts;
		int64_t left;
		bool has_send = false;
		struct mdm_cmd *c;

		answer_offline(w, false, why);
		left = deadline - mdm_now_ms();
		if (left <= 0)
			return;
		pthread_mutex_lock(&w->lock);
		if (w->stop || w->reset) {
			pthread_mutex_unlock(&w->lock);
			return;
		}
		llist_for_each_entry (c, &w->cmds, list)
			if (c->type == MDM_CMD_SEND)
				has_send = true;
		if (!has_send) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += left / 1000;
			ts.tv_nsec += (long)(left % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
		pthread_mutex_unlock(&w->lock);
	}
}

void *mdm_worker_main(void *arg)
{
	struct mdm_worker *w = arg;
	struct mdm_wpriv *p;
	unsigned backoff = 1000;
	const char *dbgpath;
	char reason[160];

	while (!(p = calloc(1, sizeof(*p))))
		mdm_sleep_ms(100);
	w->p = p;
	INIT_LLIST_HEAD(&p->full);
	p->last_err = -1;
	p->fd = -1;
	p->concat_ref = (unsigned)time(NULL) * 7u + w->idx * 61u;
	dbgpath = getenv("LINLI_GAMMU_DEBUG");
	if (dbgpath && dbgpath[0]) {
		p->dbg = fopen(dbgpath, "a");
		if (p->dbg)
			setvbuf(p->dbg, NULL, _IOLBF, 0);
	}

	mdm_set_state(w, MDM_ST_CONNECTING, "starting");
	while (!flag_stop(w)) {
		GSM_Error e;

		pthread_mutex_lock(&w->lock);
		w->reset = false;
		pthread_mutex_unlock(&w->lock);
		p->lost = false;
		p->lost_reason[0] = '\0';

		e = mdm_connect_modem(w);
		if (e != ERR_NONE) {
			mdm_teardown(w);
			if (flag_stop(w))
				break;
			snprintf(reason, sizeof(reason), "connect %.100s: %s", w->cfg.device, GSM_ErrorName(e));
			if (p->state != MDM_ST_LOST)
				mdm_set_state(w, MDM_ST_LOST, reason);
			offline_wait(w, backoff, "modem not connected");
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		backoff = 1000;
		mdm_choose_path(w);
		snprintf(reason, sizeof(reason), "connected, sending with %s", p->path);
		mdm_set_state(w, MDM_ST_READY, reason);
		run_connected(w);
		if (flag_stop(w))
			break;
		pthread_mutex_lock(&w->lock);
		bool was_reset = w->reset;
		pthread_mutex_unlock(&w->lock);
		if (p->lost && !was_reset) {
			snprintf(reason, sizeof(reason), "%s", p->lost_reason);
			mdm_teardown(w);
			mdm_set_state(w, MDM_ST_LOST, reason);
			offline_wait(w, backoff, "modem lost");
			backoff *= 2;
		} else {
			mdm_teardown(w);
			mdm_set_state(w, MDM_ST_CONNECTING, "reset");
			answer_offline(w, false, "modem reset");
		}
	}

	mdm_teardown(w);
	answer_offline(w, true, "modem pool stopping");
	mdm_set_state(w, MDM_ST_STOPPED, "stopped");
	for (unsigned i = 0; i < PDU_RING; i++)
		free(p->pdu[i]);
	if (p->dbg)
		fclose(p->dbg);
	w->p = NULL;
	free(p);
	return NULL;
}
