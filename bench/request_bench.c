/* Requests (报事) created per second end to end, with zero modem air time: from the hand-over of a
 * received "报事 ..." by a modem worker (an MDM_EV_SMS_IN event on the main thread) through
 * linlid's own inbox code (gw_inbox_push / gw_inbox_flush: group commit, keyword rules, the request
 * handler) to the committed request with its two SMS queued (the resident's reference and the
 * dispatch to the household's grid worker). The database is the sample community (etc/sample) in
 * a real SQLite file with linlid's settings (WAL, synchronous=FULL).
 *
 * The reference, measured in the same run on the same machine: the bare inbox commit of the same
 * messages (db_sms_in_add, the same batch per transaction) without any routing.
 *
 *   request_bench [N]    prints "name value unit" lines for bench/run.sh
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/rate_ctr.h>
#include <osmocom/core/talloc.h>

#include "bench/bench_db.h"
#include "db/db.h"
#include "db/import.h"
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/wire.h"

#define BATCH	   100
#define HOUSEHOLDS 100 /* etc/sample: +8613800138001 .. +8613800138100 */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Message i: a report from one of the sample households, each text different (no merging). */
static void msg(unsigned i, char *sender, size_t slen, char *text, size_t tlen)
{
	snprintf(sender, slen, "+86%llu", 13800138000ULL + i % HOUSEHOLDS + 1);
	snprintf(text, tlen, "报事 %u号楼道灯坏了，晚上很黑", i);
}

static struct mdm_event *fake_sms(unsigned i)
{
	struct mdm_event *ev = calloc(1, sizeof(*ev));
	char text[128];

	ev->type = MDM_EV_SMS_IN;
	ev->modem = 0;
	ev->u.sms.folder = 1;
	ev->u.sms.location = 0; /* nothing to delete: no modem here */
	msg(i, ev->u.sms.sender, sizeof(ev->u.sms.sender), text, sizeof(text));
	ev->u.sms.text = strdup(text);
	ev->u.sms.raw = strdup("0791683108200005F0040D91683108100000F00008");
	ev->u.sms.smsc_ts = 1700000000 + i;
	return ev;
}

static void report(void *data, const char *file, unsigned line, const char *reason)
{
	(void)data;
	fprintf(stderr, "%s:%u: %s\n", file, line, reason);
}

static int open_sample(void *ctx, const char *path, struct db_context **dbc)
{
	unsigned n;
	int rc;

	bench_fresh_db(path);
	rc = db_open(ctx, path, dbc);
	if (rc < 0)
		return rc;
	rc = db_begin(*dbc);
	for (int k = 0; rc == 0 && k < _NUM_DB_IMPORT; k++) {
		char *file = talloc_asprintf(ctx, "etc/sample/%s.csv", db_import_kind_name(k));

		rc = db_import_file(*dbc, k, file, report, NULL, &n);
		talloc_free(file);
	}
	return rc == 0 ? db_commit(*dbc) : rc;
}

static int64_t count(struct db_context *dbc, const char *what)
{
	int64_t c[_NUM_DB_OUT], n_new, n_done;

	if (!strcmp(what, "queued")) {
		db_sms_out_counts(dbc, c);
		return c[DB_OUT_QUEUED];
	}
	db_sms_in_counts(dbc, &n_new, &n_done, NULL);
	return n_done;
}

/* The whole path: batches of BATCH events pushed, then one flush (one transaction). */
static double bench_requests(void *ctx, const char *path, unsigned n)
{
	struct gw *gw = talloc_zero(ctx, struct gw);
	double t0, t1;
	int rc;

	gw->ctx = gw;
	INIT_LLIST_HEAD(&gw->inbox);
	gw->nmodems = 1;
	snprintf(gw->modem[0].cfg.name, sizeof(gw->modem[0].cfg.name), "bench");
	gw->cfg.help_interval_s = 600;
	gw->cfg.flood_max = 0; /* 200 requests from each of 100 households: a synthetic load, not a flood */
	gw_stats_init(gw);
	rc = open_sample(gw, path, &gw->db);
	if (rc < 0) {
		fprintf(stderr, "cannot prepare the sample community in %s: %s\n", path, strerror(-rc));
		exit(1);
	}
	{
		char err[256];

		gw_rules_reload(gw, err, sizeof(err)); /* routes/sms.rules */
		gw_wire(gw);			       /* the handlers, as linlid registers them */
	}
	t0 = now_s();
	for (unsigned i = 0; i < n; i += BATCH) {
		for (unsigned j = i; j < i + BATCH && j < n; j++)
			gw_inbox_push(gw, fake_sms(j));
		gw_inbox_flush(gw);
	}
	t1 = now_s();
	{
		int64_t queued = count(gw->db, "queued"), routed = count(gw->db, "done");
		char *refs;
		int open, overdue;

		db_request_digest(gw->db, gw, gw_now(), 1, &open, &overdue, &refs);
		fprintf(stderr, "requests: %u messages, %" PRId64 " routed, %d requests open, %" PRId64 " SMS queued\n",
			n, routed, open, queued);
		/* a benchmark of something else is worth nothing: every message must be a request with
		 * its two SMS */
		if (routed != n || open != (int)n || queued != 2 * (int64_t)n) {
			fprintf(stderr, "request_bench: expected %u requests and %u queued SMS\n", n, 2 * n);
			exit(1);
		}
	}
	/* as in inbound_bench: stop the timers and free the counters before the gw goes */
	gw_sms_stop(gw);
	rate_ctr_group_free(gw->ctrs);
	gw->ctrs = NULL;
	db_close(gw->db);
	talloc_free(gw);
	return n / (t1 - t0);
}

/* The reference: the same messages committed to the inbox, BATCH per transaction, no routing. */
static double bench_inbox(void *ctx, const char *path, unsigned n)
{
	struct db_context *db;
	char key[64], sender[32], text[128];
	double t0, t1;

	if (open_sample(ctx, path, &db) < 0)
		exit(1);
	t0 = now_s();
	for (unsigned i = 0; i < n; i += BATCH) {
		db_begin(db);
		for (unsigned j = i; j < i + BATCH && j < n; j++) {
			struct db_sms_in m = {
				.channel = "gsm",
				.modem = "bench",
				.sender = sender,
				.text = text,
				.raw = "0791683108200005F0040D91683108100000F00008",
				.recv_ts = 1,
				.dedup = key,
			};
			int64_t id;

			msg(j, sender, sizeof(sender), text, sizeof(text));
			snprintf(key, sizeof(key), "ref-%u", j);
			db_sms_in_add(db, &m, &id);
		}
		db_commit(db);
	}
	t1 = now_s();
	db_close(db);
	return n / (t1 - t0);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? atoi(argv[1]) : 20000;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[256];
	void *ctx = talloc_named_const(NULL, 0, "bench");
	double ref, req;

	osmo_init_logging2(ctx, &gw_log_info);
	log_set_log_level(osmo_stderr_target, LOGL_ERROR);
	snprintf(path, sizeof(path), "%s/linli-request-bench-%d.db", dir, getpid());

	ref = bench_inbox(ctx, path, n);
	req = bench_requests(ctx, path, n);
	printf("request_inbox_ref_%u_per_tx %.0f msg/s\n", BATCH, ref);
	printf("request_created %.0f requests/s (report committed, reference and dispatch queued)\n", req);
	printf("request_vs_inbox %.3f of the bare inbox commit\n", req / ref);
	bench_fresh_db(path);
	if (bench_pg_path(path, sizeof(path), "bench_request")) {
		/* the same on PostgreSQL (issue 14), a loopback server of this run */
		double pref = bench_inbox(ctx, path, n), preq = bench_requests(ctx, path, n);

		printf("pg_request_inbox_ref_%u_per_tx %.0f msg/s (PostgreSQL)\n", BATCH, pref);
		printf("pg_request_created %.0f requests/s (PostgreSQL)\n", preq);
		printf("pg_vs_sqlite_request_created %.3f of SQLite's requests/s\n", preq / req);
		bench_fresh_db(path);
	}
	talloc_free(ctx);
	return 0;
}
