/* rq_handle (gateway/request/request.h), the request business of every received SMS, against a
 * database with the sample community (etc/sample) imported once and routes/sms.rules. An input is
 * a conversation: one message per line, the line's first byte picking the sender by its low 3 bits
 * ('0'..'7': a resident, another of the household, a neighbour, the grid worker, staff, a runner,
 * an unknown number, a short code) and, in a byte of 0x80 or more, the flags by bits 3-4
 * (enum db_sms_in_flags); the rest of the line is the text. Each input runs in one transaction, rolled back
 * after, so every input starts from the same database. Replies are counted, not sent. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <osmocom/core/talloc.h>

#include "db/db.h"
#include "db/import.h"
#include "gateway/core/rules.h"
#include "gateway/request/request.h"
#include "tests/fuzz/fuzz.h"

static const char *const senders[8] = {
	"+8613800138001", /* 邹丽, 1幢1单元101 (grid W1) */
	"+8613800138201", /* 邹文斌, same household */
	"+8613800138002", /* 吕永福, 1幢1单元102 */
	"+8613900139001", /* 杜军, grid worker of W1 */
	"+8613900139101", /* staff */
	"+8613900139201", /* runner */
	"+8613700000001", /* unknown */
	"10086",	  /* a short code */
};

static struct db_context *dbc;
static struct rt_rules rules;
static char db_path[64];
static unsigned queued;

static int count_queue(void *data, const char *dest, const char *text, int prio)
{
	(void)data;
	if (!dest || !text || prio < DB_PRIO_SOS || prio > DB_PRIO_BULK)
		abort();
	queued++;
	return 0;
}

static void remove_db(void)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	char p[80];

	db_close(dbc);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", db_path, suffixes[i]);
		unlink(p);
	}
}

/* The database and the rules, once; aborts when they cannot be had (run from the project's root). */
static void setup(void)
{
	char err[256], f[64];
	unsigned nimp;
	int fd, rc;

	fuzz_logging();
	snprintf(db_path, sizeof(db_path), "/tmp/linli-fuzz-request-XXXXXX");
	fd = mkstemp(db_path);
	if (fd < 0 || close(fd) < 0 || unlink(db_path) < 0)
		abort();
	rc = db_open(NULL, db_path, &dbc);
	for (int k = 0; rc == 0 && k < _NUM_DB_IMPORT; k++) {
		snprintf(f, sizeof(f), "etc/sample/%s.csv", db_import_kind_name(k));
		rc = db_import_file(dbc, k, f, NULL, NULL, &nimp);
	}
	if (rc < 0 || rt_rules_load(&rules, "routes/sms.rules", err, sizeof(err)) < 0) {
		fprintf(stderr, "request_fuzz: no sample database or rules (%d); run from the project's root\n", rc);
		abort();
	}
	atexit(remove_db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx;
	struct rq_env e = {
		.rules = &rules,
		.now = 1767232800, /* 2026-01-01 10:00 +08, a working day */
		.deadline_days = 3,
		.queue = count_queue,
		.errand_points = 5,
	};
	const uint8_t *p = data, *end = data + size;
	char note[256];

	if (!dbc)
		setup();
	e.db = dbc;
	e.ctx = ctx = talloc_named_const(NULL, 0, "request_fuzz");
	if (db_begin(dbc) < 0)
		abort();
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', end - p);
		const uint8_t *le = nl ? nl : end;
		char *text;

		if (le > p) {
			unsigned who = p[0] & 7, flags = p[0] & 0x80 ? (p[0] >> 3) & 3 : 0;

			text = fuzz_cstr(p + 1, le - p - 1);
			rq_handle(&e, senders[who], text, strlen(text), flags, note, sizeof(note));
			free(text);
			talloc_free_children(ctx);
		}
		p = le + 1;
	}
	if (db_rollback(dbc) < 0)
		abort();
	talloc_free(ctx);
	return 0;
}
