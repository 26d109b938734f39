/* Unit test of the modem pool's send watchdog (modem/mdm_pool.c) on a fake clock
 * (osmo_gettimeofday_override, osmo_clock_override), with fake workers (fake_worker.c) in place of the libgammu ones: a
 * send answered in time sets nothing off; one unanswered for longer than watchdog_s resets its modem, and when the
 * reset brings the answer that is the end of it; when the worker is stuck even so, MDM_EV_SEND_STUCK follows after
 * twice watchdog_s, once, the modem stays busy, and its late answer still comes; mdm_set_watchdog turns it off and on.
 * Exits 0 when every check passed. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <osmocom/core/select.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer.h>

#include "tests/unit/testlib.h"

#include "modem/mdm.h"
#include "tests/unit/fake_worker.h"

#define NMODEMS	   2
#define WATCHDOG_S 10
#define STEP_MS	   100

struct rec {
	enum mdm_ev_type type;
	unsigned modem;
	int64_t job;
	enum mdm_err_class cls;
	enum mdm_state state;
	unsigned waited_s;
};

static struct rec recs[256];
static unsigned nrec;
static struct mdm_pool *pool;

static void on_event(struct mdm_pool *p, struct mdm_event *ev, void *data)
{
	struct rec *r = &recs[nrec < 256 ? nrec++ : 255];

	(void)p;
	(void)data;
	memset(r, 0, sizeof(*r));
	r->type = ev->type;
	r->modem = ev->modem;
	switch (ev->type) {
	case MDM_EV_STATE:
		r->state = ev->u.state.state;
		break;
	case MDM_EV_SEND_RESULT:
		r->job = ev->u.send.job;
		r->cls = ev->u.send.cls;
		break;
	case MDM_EV_SEND_RESET:
	case MDM_EV_SEND_STUCK:
		r->job = ev->u.watchdog.job;
		r->waited_s = ev->u.watchdog.waited_s;
		break;
	default:
		break;
	}
	mdm_event_free(ev);
}

/* The last event of type for job (any job: 0), or NULL. */
static const struct rec *find(enum mdm_ev_type type, int64_t job)
{
	for (unsigned i = nrec; i-- > 0;)
		if (recs[i].type == type && (!job || recs[i].job == job))
			return &recs[i];
	return NULL;
}

static unsigned count(enum mdm_ev_type type, int64_t job)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nrec; i++)
		n += recs[i].type == type && (!job || recs[i].job == job);
	return n;
}

static unsigned ready_count(void)
{
	bool ready[NMODEMS] = {false};
	unsigned n = 0;

	for (unsigned i = 0; i < nrec; i++)
		if (recs[i].type == MDM_EV_STATE && recs[i].modem < NMODEMS)
			ready[recs[i].modem] = recs[i].state == MDM_ST_READY;
	for (unsigned i = 0; i < NMODEMS; i++)
		n += ready[i];
	return n;
}

static unsigned stopped_count(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nrec; i++)
		n += recs[i].type == MDM_EV_STATE && recs[i].state == MDM_ST_STOPPED;
	return n;
}

/* libosmocore 1.7's timers run on osmo_gettimeofday, the pool's clock is osmo_clock_gettime
 * (CLOCK_MONOTONIC): both fake, moved on together. */
static void fake_time_passes(unsigned ms)
{
	osmo_gettimeofday_override_add(0, ms * 1000);
	osmo_clock_override_add(CLOCK_MONOTONIC, 0, ms * 1000000L);
}

static double fake_now(void)
{
	struct timespec ts;

	osmo_clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run the loop (the fake clock standing still) until the workers' events make cond true, for at
 * most 3 s of real time. */
#define PUMP_UNTIL(cond)                                                                                               \
	({                                                                                                             \
		bool pu_ok_ = false;                                                                                   \
		for (int k_ = 0; k_ < 3000 && !(pu_ok_ = (cond)); k_++) {                                              \
			osmo_select_main(1);                                                                           \
			usleep(1000);                                                                                  \
		}                                                                                                      \
		pu_ok_;                                                                                                \
	})

/* Move the fake clock on in steps of STEP_MS for at most max_s, running the loop after each, until
 * cond; returns the fake seconds it took, -1 when cond never came. */
#define ADVANCE_UNTIL(cond, max_s)                                                                                     \
	({                                                                                                             \
		double start_ = fake_now(), took_ = -1;                                                                \
		for (int k_ = 0; k_ < (int)((max_s)*1000 / STEP_MS); k_++) {                                           \
			fake_time_passes(STEP_MS);                                                                     \
			osmo_select_main(1);                                                                           \
			if (cond) {                                                                                    \
				took_ = fake_now() - start_;                                                           \
				break;                                                                                 \
			}                                                                                              \
		}                                                                                                      \
		took_;                                                                                                 \
	})

/* Send job on modem idx and wait until its fake worker holds it; the fake time it was handed over. */
static double send_held(unsigned idx, int64_t job)
{
	double t = fake_now();
	int rc = mdm_send(pool, idx, job, "+8613900000001", "watchdog test");

	CHECK(rc == 0, "job %lld handed to modem %u", (long long)job, idx);
	CHECK(PUMP_UNTIL(fake_worker_job(idx) == job), "modem %u's worker holds job %lld", idx, (long long)job);
	return t;
}

static void answered_in_time(void)
{
	double took;

	printf("-- a send answered in time\n");
	send_held(0, 1);
	took = ADVANCE_UNTIL(count(MDM_EV_SEND_RESET, 0) > 0, 9.5);
	CHECK(took < 0, "no reset within %u s", WATCHDOG_S);
	CHECK(fake_worker_answer(0, MDM_OK), "modem 0 answers");
	CHECK(PUMP_UNTIL(find(MDM_EV_SEND_RESULT, 1) != NULL), "job 1's result came");
	CHECK(!mdm_is_busy(pool, 0), "modem 0 is free again");
	took = ADVANCE_UNTIL(count(MDM_EV_SEND_RESET, 0) + count(MDM_EV_SEND_STUCK, 0) > 0, 3 * WATCHDOG_S);
	CHECK(took < 0, "and the watchdog says nothing afterwards");
}

static void reset_helps(void)
{
	const struct rec *r;
	double t0, took;

	printf("-- a send unanswered: the reset brings the answer\n");
	fake_worker_on_reset(FAKE_RESET_ANSWERS);
	t0 = send_held(0, 2);
	(void)ADVANCE_UNTIL(find(MDM_EV_SEND_RESET, 2) != NULL, 2 * WATCHDOG_S);
	took = fake_now() - t0;
	CHECK(took > WATCHDOG_S && took <= WATCHDOG_S + 0.6,
	      "MDM_EV_SEND_RESET for job 2 after more than %u s, within a tick", WATCHDOG_S);
	r = find(MDM_EV_SEND_RESET, 2);
	CHECK(r && r->modem == 0 && r->waited_s == WATCHDOG_S, "it names modem 0 and %u s waited", WATCHDOG_S);
	CHECK(PUMP_UNTIL(fake_worker_resets(0) == 1), "modem 0 was reset once");
	CHECK(PUMP_UNTIL(find(MDM_EV_SEND_RESULT, 2) != NULL), "job 2's result came");
	r = find(MDM_EV_SEND_RESULT, 2);
	CHECK(r && r->cls == MDM_ERR_MODEM, "as MDM_ERR_MODEM (another modem takes it)");
	CHECK(PUMP_UNTIL(ready_count() == NMODEMS), "modem 0 is ready again");
	took = ADVANCE_UNTIL(find(MDM_EV_SEND_STUCK, 2) != NULL, 3 * WATCHDOG_S);
	CHECK(took < 0 && count(MDM_EV_SEND_RESET, 2) == 1, "no MDM_EV_SEND_STUCK, no second reset");
}

static void stuck(void)
{
	const struct rec *r;
	double t0, took;

	printf("-- a send unanswered, the worker stuck even after the reset\n");
	fake_worker_on_reset(FAKE_RESET_IGNORED);
	t0 = send_held(1, 3);
	(void)ADVANCE_UNTIL(find(MDM_EV_SEND_RESET, 3) != NULL, 2 * WATCHDOG_S);
	took = fake_now() - t0;
	CHECK(took > WATCHDOG_S && took <= WATCHDOG_S + 0.6, "MDM_EV_SEND_RESET for job 3 after more than %u s",
	      WATCHDOG_S);
	CHECK(PUMP_UNTIL(fake_worker_resets(1) == 1), "modem 1 was reset");
	(void)ADVANCE_UNTIL(find(MDM_EV_SEND_STUCK, 3) != NULL, 2 * WATCHDOG_S);
	took = fake_now() - t0;
	CHECK(took > 2 * WATCHDOG_S && took <= 2 * WATCHDOG_S + 0.6,
	      "MDM_EV_SEND_STUCK for job 3 after more than %u s, within a tick", 2 * WATCHDOG_S);
	r = find(MDM_EV_SEND_STUCK, 3);
	CHECK(r && r->modem == 1 && r->waited_s == 2 * WATCHDOG_S, "it names modem 1 and %u s waited", 2 * WATCHDOG_S);
	CHECK(find(MDM_EV_SEND_RESULT, 3) == NULL, "no result for job 3 yet");
	CHECK(mdm_is_busy(pool, 1), "modem 1 stays busy");
	CHECK(mdm_send(pool, 1, 4, "+8613900000001", "x") == -EBUSY, "and takes no other send (-EBUSY)");
	took = ADVANCE_UNTIL(count(MDM_EV_SEND_RESET, 3) + count(MDM_EV_SEND_STUCK, 3) > 2, 6 * WATCHDOG_S);
	CHECK(took < 0, "the watchdog is done with job 3: one reset, one MDM_EV_SEND_STUCK");
	CHECK(fake_worker_answer(1, MDM_OK), "modem 1 answers at last");
	CHECK(PUMP_UNTIL(find(MDM_EV_SEND_RESULT, 3) != NULL), "job 3's late result still comes");
	r = find(MDM_EV_SEND_RESULT, 3);
	CHECK(r && r->cls == MDM_OK, "as MDM_OK (the caller counts a possible duplicate)");
	CHECK(!mdm_is_busy(pool, 1), "modem 1 is free again");
}

static void set_watchdog(void)
{
	const struct rec *r;
	double took;

	printf("-- mdm_set_watchdog\n");
	fake_worker_on_reset(FAKE_RESET_ANSWERS);
	mdm_set_watchdog(pool, 0);
	send_held(0, 5);
	took = ADVANCE_UNTIL(find(MDM_EV_SEND_RESET, 5) != NULL, 6 * WATCHDOG_S);
	CHECK(took < 0, "0: no reset after %u s", 6 * WATCHDOG_S);
	mdm_set_watchdog(pool, 3 * WATCHDOG_S);
	took = ADVANCE_UNTIL(find(MDM_EV_SEND_RESET, 5) != NULL, 1);
	CHECK(took > 0 && took <= 0.6, "%u s: the send under way is reset at the next tick", 3 * WATCHDOG_S);
	r = find(MDM_EV_SEND_RESET, 5);
	CHECK(r && r->waited_s >= 6 * WATCHDOG_S, "it says how long it waited (at least %u s)", 6 * WATCHDOG_S);
	CHECK(PUMP_UNTIL(find(MDM_EV_SEND_RESULT, 5) != NULL), "job 5's result came");
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "mdm_pool_test");
	struct mdm_cfg cfg[NMODEMS];
	struct timespec *fake;

	osmo_gettimeofday_override = true;
	osmo_gettimeofday_override_time = (struct timeval){.tv_sec = 1000};
	osmo_clock_override_enable(CLOCK_MONOTONIC, true);
	fake = osmo_clock_override_gettimespec(CLOCK_MONOTONIC);
	fake->tv_sec = 1000;
	fake->tv_nsec = 0;

	memset(cfg, 0, sizeof(cfg));
	for (unsigned i = 0; i < NMODEMS; i++) {
		snprintf(cfg[i].name, sizeof(cfg[i].name), "m%u", i);
		cfg[i].watchdog_s = WATCHDOG_S;
	}
	pool = mdm_pool_start(ctx, cfg, NMODEMS, on_event, NULL);
	CHECK(pool != NULL, "pool of %u fake modems started, watchdog %u s", NMODEMS, WATCHDOG_S);
	if (!pool)
		return 1;
	CHECK(PUMP_UNTIL(ready_count() == NMODEMS), "both ready");

	answered_in_time();
	reset_helps();
	stuck();
	set_watchdog();

	mdm_pool_stop(pool);
	CHECK(stopped_count() == NMODEMS, "mdm_pool_stop: every worker stopped");
	CHECK(count(MDM_EV_SEND_RESET, 0) == 3 && count(MDM_EV_SEND_STUCK, 0) == 1,
	      "three resets and one MDM_EV_SEND_STUCK in all");
	talloc_free(ctx);
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
