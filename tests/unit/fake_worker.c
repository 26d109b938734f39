/* The fake workers (fake_worker.h): the thread body and the two main-thread hooks mdm_pool.c takes
 * from modem/mdm_worker.c, so that a unit test links mdm_pool.o without the real worker. */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <osmocom/core/linuxlist.h>

#include "modem/mdm.h"
#include "modem/mdm_worker.h"
#include "tests/unit/fake_worker.h"

static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;
static enum fake_on_reset fk_how = FAKE_RESET_ANSWERS;
static struct {
	int64_t job; /* the send held */
	bool answer; /* the test asked for an answer */
	enum mdm_err_class cls;
	unsigned resets; /* seen */
} fk[FAKE_WORKERS_MAX];

void fake_worker_on_reset(enum fake_on_reset how)
{
	pthread_mutex_lock(&fk_lock);
	fk_how = how;
	pthread_mutex_unlock(&fk_lock);
}

bool fake_worker_answer(unsigned idx, enum mdm_err_class cls)
{
	bool held;

	pthread_mutex_lock(&fk_lock);
	held = idx < FAKE_WORKERS_MAX && fk[idx].job;
	if (held) {
		fk[idx].answer = true;
		fk[idx].cls = cls;
	}
	pthread_mutex_unlock(&fk_lock);
	return held;
}

int64_t fake_worker_job(unsigned idx)
{
	int64_t job;

	pthread_mutex_lock(&fk_lock);
	job = idx < FAKE_WORKERS_MAX ? fk[idx].job : 0;
	pthread_mutex_unlock(&fk_lock);
	return job;
}

unsigned fake_worker_resets(unsigned idx)
{
	unsigned n;

	pthread_mutex_lock(&fk_lock);
	n = idx < FAKE_WORKERS_MAX ? fk[idx].resets : 0;
	pthread_mutex_unlock(&fk_lock);
	return n;
}

static void emit_state(struct mdm_worker *w, enum mdm_state st, const char *reason)
{
	struct mdm_event *ev = calloc(1, sizeof(*ev));

	if (!ev)
		abort();
	ev->type = MDM_EV_STATE;
	ev->modem = w->idx;
	ev->u.state.state = st;
	snprintf(ev->u.state.reason, sizeof(ev->u.state.reason), "%s", reason);
	mdm_pool_emit(w->pool, ev);
}

static void emit_result(struct mdm_worker *w, int64_t job, enum mdm_err_class cls, const char *reason)
{
	struct mdm_event *ev = calloc(1, sizeof(*ev));

	if (!ev)
		abort();
	ev->type = MDM_EV_SEND_RESULT;
	ev->modem = w->idx;
	ev->u.send.job = job;
	ev->u.send.cls = cls;
	snprintf(ev->u.send.reason, sizeof(ev->u.send.reason), "%s", reason);
	if (cls == MDM_OK)
		snprintf(ev->u.send.refs, sizeof(ev->u.send.refs), "1");
	mdm_pool_emit(w->pool, ev);
}

/* The held send's job when it is to be answered now (then no longer held), else 0. */
static int64_t take_answer(unsigned idx, enum mdm_err_class *cls)
{
	int64_t job = 0;

	pthread_mutex_lock(&fk_lock);
	if (fk[idx].answer) {
		job = fk[idx].job;
		*cls = fk[idx].cls;
		fk[idx].job = 0;
		fk[idx].answer = false;
	}
	pthread_mutex_unlock(&fk_lock);
	return job;
}

void *mdm_worker_main(void *arg)
{
	struct mdm_worker *w = arg;
	unsigned idx = w->idx;
	int64_t job;

	if (idx >= FAKE_WORKERS_MAX)
		abort();
	emit_state(w, MDM_ST_READY, "fake");
	for (;;) {
		struct mdm_cmd *c = NULL;
		enum mdm_err_class cls;
		bool stop, reset;

		pthread_mutex_lock(&w->lock);
		if (!w->stop && !w->reset && llist_empty(&w->cmds)) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 5 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
		stop = w->stop;
		reset = w->reset;
		w->reset = false;
		if (!llist_empty(&w->cmds)) {
			c = llist_first_entry(&w->cmds, struct mdm_cmd, list);
			llist_del(&c->list);
		}
		pthread_mutex_unlock(&w->lock);

		if (c) {
			if (c->type == MDM_CMD_SEND) {
				pthread_mutex_lock(&fk_lock);
				fk[idx].job = c->job;
				pthread_mutex_unlock(&fk_lock);
			}
			free(c->text);
			free(c);
		}
		if (reset) {
			bool answers;

			pthread_mutex_lock(&fk_lock);
			fk[idx].resets++;
			answers = fk_how == FAKE_RESET_ANSWERS;
			job = answers ? fk[idx].job : 0;
			if (answers)
				fk[idx].job = 0;
			pthread_mutex_unlock(&fk_lock);
			if (answers) {
				emit_state(w, MDM_ST_CONNECTING, "reset");
				if (job)
					emit_result(w, job, MDM_ERR_MODEM, "modem reset");
				emit_state(w, MDM_ST_READY, "fake");
			}
		}
		if ((job = take_answer(idx, &cls)))
			emit_result(w, job, cls, cls == MDM_OK ? "" : "fake error");
		if (stop)
			break;
	}
	pthread_mutex_lock(&fk_lock);
	job = fk[idx].job;
	fk[idx].job = 0;
	pthread_mutex_unlock(&fk_lock);
	if (job)
		emit_result(w, job, MDM_ERR_MODEM, "modem pool stopping");
	emit_state(w, MDM_ST_STOPPED, "stopped");
	return NULL;
}

void mdm_worker_abort_locked(struct mdm_worker *w)
{
	(void)w; /* no gammu call to abort */
}

void mdm_pool_watchdog(struct mdm_pool *pool)
{
	(void)pool; /* the fake makes no gammu calls, so none overruns */
}
