/* Inbound pipeline benchmark: durable messages per second from the hand-over by a modem worker
 * (an MDM_EV_SMS_IN event on the main thread) to the committed row with its reply queued, AT time
 * left out. It runs linlid's own inbox code (gw_inbox_push / gw_inbox_flush: group commit, routing,
 * reply) on a real SQLite file with synchronous=FULL, and measures in the same run the references
 * the issue names: SQLite alone committing one-message transactions, and 100-row transactions.
 *
 *   inbound_bench [N]    prints "name value unit" lines for bench/run.sh
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
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/wire.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct mdm_event *fake_sms(unsigned i)
{
	char sender[32];

	struct mdm_event *ev = calloc(1, sizeof(*ev));
	char text[128];

	ev->type = MDM_EV_SMS_IN;
	ev->modem = 0;
	ev->u.sms.folder = 1;
	ev->u.sms.location = 0; /* nothing to delete: no modem here */
	snprintf(sender, sizeof(sender), "+86137%08u", i);
	snprintf(ev->u.sms.sender, sizeof(ev->u.sms.sender), "%s", sender);
	snprintf(text, sizeof(text), "你好，%u号楼 benchmark message", i);
	ev->u.sms.text = strdup(text);
	ev->u.sms.raw = strdup("0791683108200005F0040D91683108100000F00008");
	ev->u.sms.smsc_ts = 1700000000 + i;
	return ev;
}

/* The pipeline: batches of `batch` events pushed, then one flush (one transaction). */
static double bench_pipeline(void *ctx, const char *path, unsigned n, unsigned batch)
{
	struct gw *gw = talloc_zero(ctx, struct gw);
	double t0, t1;
	int rc;

	bench_fresh_db(path);
	gw->ctx = gw;
	INIT_LLIST_HEAD(&gw->inbox);
	gw->nmodems = 1;
	snprintf(gw->modem[0].cfg.name, sizeof(gw->modem[0].cfg.name), "bench");
	gw->cfg.help_interval_s = 600;
	gw->cfg.reply_unknown = true; /* every message gets its reply queued: each sender is new */
	gw_stats_init(gw);
	{
		char err[256];

		gw_rules_reload(gw, err, sizeof(err)); /* routes/sms.rules */
		gw_wire(gw);			       /* the handlers, as linlid registers them */
	}
	rc = db_open(gw, path, &gw->db);
	if (rc < 0) {
		fprintf(stderr, "db_open: %s\n", strerror(-rc));
		exit(1);
	}
	t0 = now_s();
	for (unsigned i = 0; i < n; i += batch) {
		for (unsigned j = i; j < i + batch && j < n; j++)
			gw_inbox_push(gw, fake_sms(j));
		gw_inbox_flush(gw);
	}
	t1 = now_s();
	{
		int64_t c[_NUM_DB_OUT];

		db_sms_out_counts(gw->db, c);
		fprintf(stderr, "pipeline: %u messages, %" PRId64 " replies queued\n", n, c[DB_OUT_QUEUED]);
	}
	/* Tear down as linlid does before the gw goes: its flush timer (and the scheduler's kick) may
	 * still be pending in libosmocore's timer tree, and its counter group is on libosmocore's
	 * global list; freeing them in place corrupts both, and the next bench_pipeline() hangs. */
	gw_sms_stop(gw);
	rate_ctr_group_free(gw->ctrs);
	gw->ctrs = NULL;
	db_close(gw->db);
	talloc_free(gw);
	return n / (t1 - t0);
}

/* SQLite alone through the same layer: one db_sms_in_add per transaction, or `batch` per transaction. */
static double bench_sqlite(void *ctx, const char *path, unsigned n, unsigned batch)
{
	struct db_context *db;
	double t0, t1;
	char key[64];

	bench_fresh_db(path);
	if (db_open(ctx, path, &db) < 0)
		exit(1);
	t0 = now_s();
	for (unsigned i = 0; i < n; i += batch) {
		db_begin(db);
		for (unsigned j = i; j < i + batch && j < n; j++) {
			struct db_sms_in m = {
				.channel = "gsm",
				.modem = "bench",
				.sender = "+8613700000000",
				.text = "reference row",
				.recv_ts = 1,
				.dedup = key,
			};
			int64_t id;

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
	unsigned n = argc > 1 ? atoi(argv[1]) : 50000;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[256];
	void *ctx = talloc_named_const(NULL, 0, "bench");

	osmo_init_logging2(ctx, &gw_log_info);
	log_set_log_level(osmo_stderr_target, LOGL_ERROR);
	snprintf(path, sizeof(path), "%s/linli-inbound-bench-%d.db", dir, getpid());

	printf("sqlite_one_per_tx %.0f msg/s\n", bench_sqlite(ctx, path, n / 10, 1));
	printf("sqlite_100_per_tx %.0f msg/s\n", bench_sqlite(ctx, path, n, 100));
	printf("pipeline_batch_100 %.0f msg/s\n", bench_pipeline(ctx, path, n, 100));
	printf("pipeline_batch_512 %.0f msg/s\n", bench_pipeline(ctx, path, n, 512));
	bench_fresh_db(path);
	if (bench_pg_path(path, sizeof(path), "bench_inbound")) {
		/* the same on PostgreSQL (issue 14), a loopback server of this run */
		printf("pg_one_per_tx %.0f msg/s (PostgreSQL)\n", bench_sqlite(ctx, path, n / 10, 1));
		printf("pg_100_per_tx %.0f msg/s (PostgreSQL)\n", bench_sqlite(ctx, path, n, 100));
		printf("pg_pipeline_batch_100 %.0f msg/s (PostgreSQL)\n", bench_pipeline(ctx, path, n, 100));
		bench_fresh_db(path);
	}
	talloc_free(ctx);
	return 0;
}
