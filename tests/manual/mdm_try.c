/* Manual driver for the modem pool against tests/modemsim (not part of the build).
 *
 *   gcc -std=gnu11 -D_GNU_SOURCE -g -I. $(pkg-config --cflags libosmocore gammu talloc) \
 *       -o /tmp/mdm_try tests/manual/mdm_try.c modem/*.c util/*.c \
 *       $(pkg-config --libs libosmocore gammu talloc) -lpthread
 *   MODEMSIM=/tmp/modemsim MODEMSIM_CTL=/tmp/modemsim-ctl /tmp/mdm_try [NMODEMS] [NSEND]
 *
 * Starts NMODEMS emulators on ptys, a pool over them, and runs: connect, send NSEND messages
 * (checked against `modemsim-ctl sent`), receive (a short one and a long one out of order, then
 * delete), CMS 500 / CMS 21, ring, status report, hang on/off, vanish/appear, stop.
 * Prints the numbers and exits 0 when every check passed.
 */

#ifndef typeof
#define typeof __typeof__
#endif

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <osmocom/core/select.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer.h>

#include "modem/mdm.h"
#include "modem/mdm_errors.h"

#define MAXM 3
#define DIR  "/tmp/mdmtry"

static const char *sim_bin, *ctl_bin;
static pid_t sim_pid[MAXM];
static struct mdm_pool *pool;
static unsigned nm = 2;
static int failures;

/* what the event callback saw */
static enum mdm_state st[MAXM];
static unsigned n_ready[MAXM], n_lost[MAXM];
static bool result_seen[MAXM];
static struct {
	int64_t job;
	enum mdm_err_class cls;
	int code;
	char reason[128], refs[96];
	unsigned parts_sent;
} last_result[MAXM];
static unsigned n_results, n_sent_ok;
static struct {
	int location;
	char sender[32];
	char *text;
	bool is_part;
	unsigned ref, total, seq;
	char *raw;
	double t;
} rx[64];
static unsigned nrx;
static unsigned n_deleted, n_delete_fail;
static unsigned n_rings;
static char ring_caller[32];
static unsigned n_reports, report_mr, report_status;
static bool mr_reported[256];
static unsigned n_health[MAXM];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		if (cond) {                                                                                            \
			printf("  ok   " __VA_ARGS__);                                                                 \
		} else {                                                                                               \
			printf("  FAIL " __VA_ARGS__);                                                                 \
			failures++;                                                                                    \
		}                                                                                                      \
		printf("\n");                                                                                          \
	} while (0)

static void on_event(struct mdm_pool *p, struct mdm_event *ev, void *data)
{
	unsigned m = ev->modem;
	(void)data;

	switch (ev->type) {
	case MDM_EV_STATE:
		st[m] = ev->u.state.state;
		if (st[m] == MDM_ST_READY)
			n_ready[m]++;
		if (st[m] == MDM_ST_LOST)
			n_lost[m]++;
		printf("[%.3f] %s state %s (%s) imei=%s model=%s\n", now_s(), mdm_name(p, m),
		       mdm_state_name(ev->u.state.state), ev->u.state.reason, ev->u.state.imei, ev->u.state.model);
		break;
	case MDM_EV_SEND_RESULT:
		result_seen[m] = true;
		n_results++;
		last_result[m].job = ev->u.send.job;
		last_result[m].cls = ev->u.send.cls;
		last_result[m].code = ev->u.send.code;
		last_result[m].parts_sent = ev->u.send.parts_sent;
		snprintf(last_result[m].reason, sizeof(last_result[m].reason), "%s", ev->u.send.reason);
		snprintf(last_result[m].refs, sizeof(last_result[m].refs), "%s", ev->u.send.refs);
		if (ev->u.send.cls == MDM_OK)
			n_sent_ok++;
		else
			printf("[%.3f] %s send job %lld: %s code %d \"%s\" parts_sent %u\n", now_s(), mdm_name(p, m),
			       (long long)ev->u.send.job, mdm_err_class_name(ev->u.send.cls), ev->u.send.code,
			       ev->u.send.reason, ev->u.send.parts_sent);
		break;
	case MDM_EV_SMS_IN:
		printf("[%.3f] %s sms in loc %d from %s part=%d %u/%u ref %u bad=%d: %.60s\n", now_s(), mdm_name(p, m),
		       ev->u.sms.location, ev->u.sms.sender, ev->u.sms.is_part, ev->u.sms.seq, ev->u.sms.total,
		       ev->u.sms.ref, ev->u.sms.bad_text, ev->u.sms.text);
		if (nrx < 64) {
			rx[nrx].location = ev->u.sms.location;
			snprintf(rx[nrx].sender, sizeof(rx[nrx].sender), "%s", ev->u.sms.sender);
			rx[nrx].text = strdup(ev->u.sms.text ? ev->u.sms.text : "");
			rx[nrx].raw = ev->u.sms.raw ? strdup(ev->u.sms.raw) : NULL;
			rx[nrx].is_part = ev->u.sms.is_part;
			rx[nrx].ref = ev->u.sms.ref;
			rx[nrx].total = ev->u.sms.total;
			rx[nrx].seq = ev->u.sms.seq;
			rx[nrx].t = now_s();
			nrx++;
		}
		mdm_delete(p, m, ev->u.sms.folder, ev->u.sms.location);
		break;
	case MDM_EV_DELETED:
		if (ev->u.del.rc == 0)
			n_deleted++;
		else
			n_delete_fail++;
		break;
	case MDM_EV_REPORT:
		printf("[%.3f] %s report mr %u status 0x%02x to %s loc %d\n", now_s(), mdm_name(p, m), ev->u.report.mr,
		       ev->u.report.status, ev->u.report.recipient, ev->u.report.location);
		n_reports++;
		report_mr = ev->u.report.mr;
		mr_reported[ev->u.report.mr & 255] = true;
		report_status = ev->u.report.status;
		if (ev->u.report.location)
			mdm_delete(p, m, ev->u.report.folder, ev->u.report.location);
		break;
	case MDM_EV_HEALTH:
		n_health[m]++;
		if (n_health[m] == 1)
			printf("[%.3f] %s health signal %d%% %d dBm reg %d net \"%s\" sim %s %u/%u\n", now_s(),
			       mdm_name(p, m), ev->u.health.signal_pct, ev->u.health.rssi_dbm, ev->u.health.registered,
			       ev->u.health.network, ev->u.health.sim, ev->u.health.sim_used, ev->u.health.sim_size);
		break;
	case MDM_EV_RING:
		n_rings++;
		snprintf(ring_caller, sizeof(ring_caller), "%s", ev->u.ring.caller);
		printf("[%.3f] %s ring from %s\n", now_s(), mdm_name(p, m), ev->u.ring.caller);
		break;
	}
	mdm_event_free(ev);
}

/* ---- helpers ---- */

static struct osmo_timer_list tick;
static void tick_cb(void *d)
{
	(void)d;
	osmo_timer_schedule(&tick, 0, 20000);
}

/* Run the loop until cond() or timeout; returns whether cond() became true. */
static bool run_until(bool (*cond)(void *), void *arg, double timeout_s)
{
	double end = now_s() + timeout_s;
	while (!cond(arg)) {
		if (now_s() > end)
			return false;
		osmo_select_main(0);
	}
	return true;
}

static void run_for(double s)
{
	double end = now_s() + s;
	while (now_s() < end)
		osmo_select_main(0);
}

static char *ctl(unsigned m, const char *fmt, ...)
{
	char cmd[8192], args[6000];
	static char out[1 << 16];
	size_t n = 0;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s/ctl%u %s", ctl_bin, DIR, m, args);
	f = popen(cmd, "r");
	if (!f)
		return strcpy(out, "");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	pclose(f);
	return out;
}

static bool all_ready(void *a)
{
	(void)a;
	for (unsigned i = 0; i < nm; i++)
		if (st[i] != MDM_ST_READY)
			return false;
	return true;
}

static bool is_state(void *a)
{
	uintptr_t v = (uintptr_t)a;
	return st[v >> 8] == (enum mdm_state)(v & 0xff);
}
#define STATE_ARG(m, s) ((void *)(uintptr_t)(((m) << 8) | (s)))

static bool got_result(void *a)
{
	return result_seen[(uintptr_t)a];
}

static bool nrx_at_least(void *a)
{
	return nrx >= (uintptr_t)a;
}

static bool deleted_at_least(void *a)
{
	return n_deleted + n_delete_fail >= (uintptr_t)a;
}

static bool rings_at_least(void *a)
{
	return n_rings >= (uintptr_t)a;
}

static bool mr_seen(void *a)
{
	return mr_reported[(uintptr_t)a & 255];
}

static int send_wait(unsigned m, int64_t job, const char *dest, const char *text, double timeout)
{
	int rc;
	result_seen[m] = false;
	rc = mdm_send(pool, m, job, dest, text);
	if (rc < 0)
		return rc;
	if (!run_until(got_result, (void *)(uintptr_t)m, timeout))
		return -ETIMEDOUT;
	return 0;
}

static void start_sims(void)
{
	mkdir(DIR, 0755);
	for (unsigned i = 0; i < nm; i++) {
		char link[64], sock[64], log[64], name[16], imei[32];
		int pfd[2];
		snprintf(link, sizeof(link), DIR "/modem%u", i);
		snprintf(sock, sizeof(sock), DIR "/ctl%u", i);
		snprintf(log, sizeof(log), DIR "/sim%u.log", i);
		snprintf(name, sizeof(name), "sim%u", i);
		snprintf(imei, sizeof(imei), "35000000000000%u", i);
		unlink(link);
		unlink(sock);
		if (pipe(pfd) < 0)
			exit(2);
		sim_pid[i] = fork();
		if (sim_pid[i] == 0) {
			dup2(pfd[1], 1);
			close(pfd[0]);
			execl(sim_bin, sim_bin, "--link", link, "--ctl", sock, "--airtime-ms", "0", "--name", name,
			      "--imei", imei, "--log", log, (char *)NULL);
			_exit(127);
		}
		close(pfd[1]);
		char buf[256];
		FILE *f = fdopen(pfd[0], "r");
		if (!f || !fgets(buf, sizeof(buf), f) || strncmp(buf, "modemsim ready", 14)) {
			fprintf(stderr, "modemsim %u did not start\n", i);
			exit(2);
		}
		printf("%s", buf);
		fclose(f);
	}
}

static void stop_sims(void)
{
	for (unsigned i = 0; i < nm; i++) {
		if (sim_pid[i] > 0) {
			kill(sim_pid[i], SIGTERM);
			waitpid(sim_pid[i], NULL, 0);
		}
	}
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

int main(int argc, char **argv)
{
	struct mdm_cfg cfg[MAXM];
	void *ctx = talloc_named_const(NULL, 0, "mdm_try");
	unsigned nsend = 100;
	double t0, t1;

	if (argc > 1)
		nm = (unsigned)atoi(argv[1]);
	if (nm < 1 || nm > MAXM)
		nm = 2;
	if (argc > 2)
		nsend = (unsigned)atoi(argv[2]);
	sim_bin = getenv("MODEMSIM") ? getenv("MODEMSIM") : "/tmp/modemsim";
	ctl_bin = getenv("MODEMSIM_CTL") ? getenv("MODEMSIM_CTL") : "/tmp/modemsim-ctl";
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	start_sims();
	memset(cfg, 0, sizeof(cfg));
	for (unsigned i = 0; i < nm; i++) {
		snprintf(cfg[i].name, sizeof(cfg[i].name), "m%u", i);
		snprintf(cfg[i].device, sizeof(cfg[i].device), DIR "/modem%u", i);
		snprintf(cfg[i].connection, sizeof(cfg[i].connection), "at");
		cfg[i].poll_s = 10;
		cfg[i].health_s = 5;
		cfg[i].send_timeout_s = 8;
		cfg[i].reports = i == 1;
	}
	osmo_timer_setup(&tick, tick_cb, NULL);
	osmo_timer_schedule(&tick, 0, 20000);

	printf("== connect\n");
	t0 = now_s();
	pool = mdm_pool_start(ctx, cfg, nm, on_event, NULL);
	CHECK(pool != NULL, "pool started");
	CHECK(run_until(all_ready, NULL, 30), "all %u modems READY in %.2f s", nm, now_s() - t0);

	printf("== send rate, modem 0 alone, single-part messages\n");
	ctl(0, "clear");
	{
		unsigned n = 20, ok = 0;
		t0 = now_s();
		for (unsigned k = 0; k < n; k++) {
			char txt[64];
			snprintf(txt, sizeof(txt), "rate test %u", k);
			if (send_wait(0, 1000 + k, "+8613800000001", txt, 30) == 0 && last_result[0].cls == MDM_OK)
				ok++;
		}
		t1 = now_s();
		CHECK(ok == n, "%u/%u sent, %.2f s, %.2f sends/s/modem", ok, n, t1 - t0, n / (t1 - t0));
		CHECK(count_lines(ctl(0, "sent")) == n, "modemsim lists %u sent", count_lines(ctl(0, "sent")));
	}

	printf("== send %u messages over %u modems (every 7th two parts, every 5th Chinese)\n", nsend, nm);
	for (unsigned i = 0; i < nm; i++)
		ctl(i, "clear");
	{
		unsigned next = 0, done_before = n_results, ok_before = n_sent_ok;
		unsigned per[MAXM] = {0};
		t0 = now_s();
		while (n_results - done_before < nsend && now_s() - t0 < 600) {
			for (unsigned i = 0; i < nm && next < nsend; i++) {
				char txt[400];
				if (mdm_is_busy(pool, i) || st[i] != MDM_ST_READY)
					continue;
				if (next % 7 == 6)
					snprintf(txt, sizeof(txt), "msg %u long: %0200u", next, next);
				else if (next % 5 == 4)
					snprintf(txt, sizeof(txt), "消息 %u 报事回执 10幢", next);
				else
					snprintf(txt, sizeof(txt), "msg %u hello", next);
				if (mdm_send(pool, i, (int64_t)next, "+8613900000002", txt) == 0) {
					per[i]++;
					next++;
				}
			}
			osmo_select_main(0);
		}
		t1 = now_s();
		unsigned listed = 0;
		for (unsigned i = 0; i < nm; i++)
			listed += count_lines(ctl(i, "sent"));
		CHECK(n_sent_ok - ok_before == nsend, "%u/%u send results OK in %.2f s (%.2f msg/s total)",
		      n_sent_ok - ok_before, nsend, t1 - t0, nsend / (t1 - t0));
		CHECK(listed == nsend, "modemsims list %u complete messages sent", listed);
		if (listed != nsend)
			for (unsigned i = 0; i < nm; i++)
				printf("  modem %u sent list:\n%s\n", i, ctl(i, "sent"));
		for (unsigned i = 0; i < nm; i++)
			printf("  modem %u sent %u\n", i, per[i]);
		printf("  sample of modem 0 sent list:\n%.400s\n", ctl(0, "sent"));
	}

	printf("== receive\n");
	{
		unsigned base = nrx, dbase = n_deleted + n_delete_fail;
		const char *longtxt = "这是一条很长的中文短信，用来测试分段短信的接收和重组。"
				      "第二句话继续写一些内容，让它超过七十个字符的限制。"
				      "第三句话再多写一点，确保至少需要三个分段才能装下全部的文字内容。"
				      "第四句话：请网格员尽快到十幢三单元处理墙皮脱落的问题，谢谢！";
		double lat[5];
		for (unsigned k = 0; k < 5; k++) {
			unsigned b = nrx;
			t0 = now_s();
			ctl(0, "deliver +8613700000003 short\\ message\\ %u", k);
			t1 = now_s();
			run_until(nrx_at_least, (void *)(uintptr_t)(b + 1), 10);
			lat[k] = nrx > b ? rx[b].t - t1 : -1;
		}
		CHECK(nrx - base == 5, "5 short messages received");
		printf("  +CMTI->SMS_IN latency (from ctl deliver return): %.0f %.0f %.0f %.0f %.0f ms\n",
		       lat[0] * 1000, lat[1] * 1000, lat[2] * 1000, lat[3] * 1000, lat[4] * 1000);
		CHECK(nrx > base && !strcmp(rx[base].text, "short message 0") &&
			      !strcmp(rx[base].sender, "+8613700000003"),
		      "text \"%s\" sender %s", nrx > base ? rx[base].text : "", nrx > base ? rx[base].sender : "");
		CHECK(nrx > base && rx[base].raw && strlen(rx[base].raw) > 20, "raw PDU %s",
		      nrx > base && rx[base].raw ? rx[base].raw : "(none)");

		unsigned b2 = nrx;
		char *r = ctl(0, "deliver order=3,1,4,2 ref=77 +8613700000004 %s%s", longtxt, longtxt);
		printf("  deliver long: %s", r);
		run_until(nrx_at_least, (void *)(uintptr_t)(b2 + 4), 15);
		CHECK(nrx - b2 == 4, "4 parts received");
		char joined[2048] = "";
		bool meta = nrx - b2 == 4;
		for (unsigned s = 1; s <= 4; s++)
			for (unsigned k = b2; k < nrx; k++)
				if (rx[k].seq == s) {
					strcat(joined, rx[k].text);
					meta = meta && rx[k].is_part && rx[k].ref == 77 && rx[k].total == 4;
				}
		CHECK(meta, "parts carry ref 77, total 4, seq 1..4 (arrival order %u,%u,%u,%u)", rx[b2].seq,
		      rx[b2 + 1].seq, rx[b2 + 2].seq, rx[b2 + 3].seq);
		char want[2048];
		snprintf(want, sizeof(want), "%s%s", longtxt, longtxt);
		CHECK(!strcmp(joined, want), "reassembled text matches");
		run_until(deleted_at_least, (void *)(uintptr_t)(dbase + (nrx - base)), 15);
		CHECK(n_delete_fail == 0 && n_deleted + n_delete_fail - dbase == nrx - base, "%u deleted",
		      n_deleted - dbase);
		run_for(1);
		char *stor = ctl(0, "storage");
		CHECK(!strcmp(stor, ""), "SIM storage empty after deletes (%s)", stor);
		/* nothing handed twice */
		run_for(11); /* one safety-net poll */
		CHECK(nrx - base == 9, "no duplicates after a poll (%u received)", nrx - base);
	}

	printf("== CMS errors\n");
	ctl(0, "fail 500 1");
	send_wait(0, 5000, "+8613800000005", "will fail 500", 30);
	CHECK(last_result[0].cls == MDM_ERR_TRANSIENT && last_result[0].code == 500, "CMS 500 -> %s %d \"%s\"",
	      mdm_err_class_name(last_result[0].cls), last_result[0].code, last_result[0].reason);
	ctl(0, "fail 21 1");
	send_wait(0, 5001, "+8613800000005", "will fail 21", 30);
	CHECK(last_result[0].cls == MDM_ERR_PERMANENT && last_result[0].code == 21, "CMS 21 -> %s %d \"%s\"",
	      mdm_err_class_name(last_result[0].cls), last_result[0].code, last_result[0].reason);
	send_wait(0, 5002, "+8613800000005", "after the failures", 30);
	CHECK(last_result[0].cls == MDM_OK, "next send OK refs %s", last_result[0].refs);

	printf("== ring\n");
	ctl(0, "ring +8613600000006 3");
	run_until(rings_at_least, (void *)1, 15);
	run_for(8);
	CHECK(n_rings == 1 && !strcmp(ring_caller, "+8613600000006"), "%u RING event(s), caller %s", n_rings,
	      ring_caller);

	if (nm > 1) {
		printf("== status report (modem 1 asks for reports)\n");
		ctl(1, "reports on");
		send_wait(1, 6000, "+8613800000007", "with report", 30);
		CHECK(last_result[1].cls == MDM_OK, "sent refs %s", last_result[1].refs);
		unsigned mr = (unsigned)atoi(last_result[1].refs);
		CHECK(run_until(mr_seen, (void *)(uintptr_t)mr, 15), "status report for mr %u arrived (%u reports)", mr,
		      n_reports);
	}

	printf("== hang on\n");
	{
		unsigned lost0 = n_lost[0];
		ctl(0, "hang on");
		t0 = now_s();
		int rc = send_wait(0, 7000, "+8613800000008", "into a hung modem", 90);
		t1 = now_s();
		CHECK(rc == 0 && last_result[0].cls == MDM_ERR_MODEM, "send answered %s after %.1f s: \"%s\"",
		      mdm_err_class_name(last_result[0].cls), t1 - t0, last_result[0].reason);
		CHECK(run_until(is_state, STATE_ARG(0, MDM_ST_LOST), 60) && n_lost[0] > lost0,
		      "LOST %.1f s after hang on", now_s() - t0);
		CHECK(mdm_send(pool, 0, 7001, "+8613800000008", "x") == -ENODEV, "mdm_send on a lost modem: -ENODEV");
		if (nm > 1) {
			send_wait(1, 7002, "+8613800000008", "other modem carries on", 30);
			CHECK(last_result[1].cls == MDM_OK, "modem 1 still sends while modem 0 is lost");
		}
		ctl(0, "hang off");
		t0 = now_s();
		CHECK(run_until(is_state, STATE_ARG(0, MDM_ST_READY), 60), "READY again %.1f s after hang off",
		      now_s() - t0);
		send_wait(0, 7003, "+8613800000008", "after hang", 30);
		CHECK(last_result[0].cls == MDM_OK, "send after reconnect OK");
	}

	printf("== vanish / appear\n");
	{
		ctl(0, "vanish");
		t0 = now_s();
		CHECK(run_until(is_state, STATE_ARG(0, MDM_ST_LOST), 30), "LOST %.1f s after vanish", now_s() - t0);
		run_for(3);
		ctl(0, "appear");
		t0 = now_s();
		CHECK(run_until(is_state, STATE_ARG(0, MDM_ST_READY), 60), "READY %.1f s after appear", now_s() - t0);
		send_wait(0, 8000, "+8613800000009", "after vanish", 30);
		CHECK(last_result[0].cls == MDM_OK, "send after appear OK");
	}

	printf("== reset\n");
	{
		unsigned r0 = n_ready[0];
		mdm_reset(pool, 0);
		t0 = now_s();
		run_until(is_state, STATE_ARG(0, MDM_ST_CONNECTING), 10);
		CHECK(run_until(is_state, STATE_ARG(0, MDM_ST_READY), 30) && n_ready[0] > r0,
		      "READY %.1f s after reset", now_s() - t0);
	}

	for (unsigned i = 0; i < nm; i++)
		CHECK(n_health[i] > 0, "modem %u gave %u health events", i, n_health[i]);

	printf("== stop\n");
	t0 = now_s();
	mdm_pool_stop(pool);
	printf("  stopped in %.2f s\n", now_s() - t0);
	CHECK(st[0] == MDM_ST_STOPPED, "STOPPED delivered before mdm_pool_stop returned");
	osmo_timer_del(&tick);
	stop_sims();
	for (unsigned k = 0; k < nrx; k++) {
		free(rx[k].text);
		free(rx[k].raw);
	}
	talloc_free(ctx);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
