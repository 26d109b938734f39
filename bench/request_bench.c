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
 * With LINLI_BENCH_PG both again on PostgreSQL, and then in a district's database (issue 14):
 * DISTRICT_COMMUNITIES communities as schemas (`community CODE`), each with the sample people and
 * DISTRICT_FILL old requests (closed, with their event, the report received and two SMS sent): the
 * same figures in one of them, against the empty database of the same run.
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

#define BATCH		     100
#define HOUSEHOLDS	     100 /* etc/sample: +8613800138001 .. +8613800138100 */
#define DISTRICT_COMMUNITIES 50
#define DISTRICT_FILL	     10000 /* old requests per community: 500,000 in the district */

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

/* The sample community in path (community: its schema in a district's database), made afresh
 * unless it is a district's, filled beforehand (district_fill). */
static int open_sample(void *ctx, const char *path, const char *community, struct db_context **dbc)
{
	unsigned n;
	int rc;

	if (community)
		return db_open_community(ctx, path, community, dbc);
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
static double bench_requests(void *ctx, const char *path, const char *community, unsigned n)
{
	struct gw *gw = talloc_zero(ctx, struct gw);
	int64_t queued0, routed0;
	int open0;
	double t0, t1;
	int rc;

	gw->ctx = gw;
	INIT_LLIST_HEAD(&gw->inbox);
	gw->nmodems = 1;
	snprintf(gw->modem[0].cfg.name, sizeof(gw->modem[0].cfg.name), "bench");
	gw->cfg.help_interval_s = 600;
	gw->cfg.flood_max = 0; /* 200 requests from each of 100 households: a synthetic load, not a flood */
	gw_stats_init(gw);
	rc = open_sample(gw, path, community, &gw->db);
	if (rc < 0) {
		fprintf(stderr, "cannot prepare the sample community in %s: %s\n", path, strerror(-rc));
		exit(1);
	}
	{
		char err[256], *refs;
		int overdue;

		gw_rules_reload(gw, err, sizeof(err)); /* routes/sms.rules */
		gw_wire(gw);			       /* the handlers, as linlid registers them */
		/* a district's community holds old requests and messages already: count what this adds */
		queued0 = count(gw->db, "queued");
		routed0 = count(gw->db, "done");
		db_request_digest(gw->db, gw, gw_now(), 1, &open0, &overdue, &refs);
	}
	t0 = now_s();
	for (unsigned i = 0; i < n; i += BATCH) {
		/* each batch an hour after the one before, on linlid's clock: a day's reports, not all of
		 * them within the 10 minutes in which the same text from the same number is merged (the
		 * look-up for that then reads one batch, as it would in a real community) */
		gw_clock_set_offset((long)(i / BATCH) * 3600);
		for (unsigned j = i; j < i + BATCH && j < n; j++)
			gw_inbox_push(gw, fake_sms(j));
		gw_inbox_flush(gw);
	}
	t1 = now_s();
	gw_clock_set_offset(0);
	{
		int64_t queued = count(gw->db, "queued") - queued0, routed = count(gw->db, "done") - routed0;
		char *refs;
		int open, overdue;

		db_request_digest(gw->db, gw, gw_now(), 1, &open, &overdue, &refs);
		open -= open0;
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
static double bench_inbox(void *ctx, const char *path, const char *community, unsigned n)
{
	struct db_context *db;
	char key[64], sender[32], text[128];
	double t0, t1;

	if (open_sample(ctx, path, community, &db) < 0)
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
			snprintf(key, sizeof(key), "ref-%s-%u", community ? "district" : "bench", j);
			db_sms_in_add(db, &m, &id);
		}
		db_commit(db);
	}
	t1 = now_s();
	db_close(db);
	return n / (t1 - t0);
}

/* A district's database at path: DISTRICT_COMMUNITIES communities d00.., each with the sample
 * people and DISTRICT_FILL old requests. The old rows go in with INSERT ... SELECT through psql in
 * the community's schema (as fast as the server loads rows), then ANALYZE, as an operator would after
 * a bulk load. Returns the requests in the district (counted over every schema), -1 on a failure. */
static long district_fill(void *ctx, const char *path)
{
	long total = 0;

	bench_fresh_db(path);
	for (int c = 0; c < DISTRICT_COMMUNITIES; c++) {
		char code[16], cmd[4096];
		struct db_context *db;
		unsigned n;
		int rc;

		snprintf(code, sizeof(code), "d%02d", c);
		rc = db_open_community(ctx, path, code, &db);
		rc = rc < 0 ? rc : db_begin(db);
		for (int k = 0; rc == 0 && k < _NUM_DB_IMPORT; k++) {
			char *file = talloc_asprintf(ctx, "etc/sample/%s.csv", db_import_kind_name(k));

			rc = db_import_file(db, k, file, report, NULL, &n);
			talloc_free(file);
		}
		rc = rc < 0 ? rc : db_commit(db);
		if (db)
			db_close(db);
		if (rc < 0) {
			fprintf(stderr, "district: cannot make community %s: %s\n", code, strerror(-rc));
			return -1;
		}
		/* the old requests' references are spread over the whole range, as random ones are */
		snprintf(cmd, sizeof(cmd),
			 "PGOPTIONS='-c search_path=linli_%s' psql '%s' -qX -v ON_ERROR_STOP=1"
			 " -c \"INSERT INTO request (ref, kind, reporter, household_id, text, state, created, updated)"
			 " SELECT (100000 + (g * 89) %% 900000)::text, 'request', '+86' || (13800138000 + g %% %d + 1),"
			 " (SELECT min(id) FROM household), '报事 旧事第' || g || '件', 'closed', 1700000000 + g * 60,"
			 " 1700000000 + g * 60 + 86400 FROM generate_series(1, %d) g\""
			 " -c \"INSERT INTO request_event (request_id, actor, at, from_state, to_state)"
			 " SELECT id, 'system', updated, 'done', 'closed' FROM request\""
			 " -c \"INSERT INTO sms_in (modem, sender, text, recv_ts, dedup, state)"
			 " SELECT 'old', reporter, text, created, 'old-' || id, 'done' FROM request\""
			 " -c \"INSERT INTO sms_out (dest, text, state, created, sent_at)"
			 " SELECT reporter, '已受理 单号' || ref, 'sent', created, created FROM request"
			 " UNION ALL SELECT '+8613900139001', '派单 ' || ref, 'sent', created, created FROM request\""
			 " -c ANALYZE >/dev/null",
			 code, path, HOUSEHOLDS, DISTRICT_FILL);
		if (system(cmd) != 0) {
			fprintf(stderr, "district: cannot fill community %s\n", code);
			return -1;
		}
		total += DISTRICT_FILL;
	}
	return total;
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

	ref = bench_inbox(ctx, path, NULL, n);
	req = bench_requests(ctx, path, NULL, n);
	printf("request_inbox_ref_%u_per_tx %.0f msg/s\n", BATCH, ref);
	printf("request_created %.0f requests/s (report committed, reference and dispatch queued)\n", req);
	printf("request_vs_inbox %.3f of the bare inbox commit\n", req / ref);
	bench_fresh_db(path);
	if (bench_pg_path(path, sizeof(path), "bench_request")) {
		/* the same on PostgreSQL (issue 14), a loopback server of this run */
		double pref = bench_inbox(ctx, path, NULL, n), preq = bench_requests(ctx, path, NULL, n);
		double t0, dref, dreq;
		long filled;

		printf("pg_request_inbox_ref_%u_per_tx %.0f msg/s (PostgreSQL)\n", BATCH, pref);
		printf("pg_request_created %.0f requests/s (PostgreSQL)\n", preq);
		printf("pg_vs_sqlite_request_created %.3f of SQLite's requests/s\n", preq / req);
		bench_fresh_db(path);
		/* a district: the same in community d00 of 50, with 500,000 old requests in the database */
		t0 = now_s();
		filled = district_fill(ctx, path);
		if (filled < 0)
			exit(1);
		fprintf(stderr, "district: %d communities, %ld old requests, filled in %.0f s\n", DISTRICT_COMMUNITIES,
			filled, now_s() - t0);
		dref = bench_inbox(ctx, path, "d00", n);
		dreq = bench_requests(ctx, path, "d00", n);
		printf("pg_district_old_requests %ld requests in %d communities (PostgreSQL)\n", filled,
		       DISTRICT_COMMUNITIES);
		printf("pg_district_request_inbox_ref_%u_per_tx %.0f msg/s (one community of the district)\n", BATCH,
		       dref);
		printf("pg_district_request_created %.0f requests/s (one community of the district)\n", dreq);
		printf("pg_district_vs_empty_inbox %.3f of the empty database's inbox msg/s\n", dref / pref);
		printf("pg_district_vs_empty_request_created %.3f of the empty database's requests/s\n", dreq / preq);
		bench_fresh_db(path);
	}
	talloc_free(ctx);
	return 0;
}
