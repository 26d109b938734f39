/* The staff console's HTTP API (gateway/core/http.c's dispatch and every route linlid registers:
 * login and sessions, the box, people and the CSV import, the send API, requests and their
 * actions, registrations, points, Open311, SOS incidents and bindings, calls, metrics) without a
 * socket: through gw_http_handle_raw (gateway/core/http_priv.h), against a database with the
 * sample community (etc/sample), three tokens, a page session and three requests by SMS.
 *
 * An input is one request, framed like HTTP/1.1 with bare newlines:
 *
 *   METHOD SP TARGET LF          TARGET is path[?query], percent-encoded as on a request line
 *   Name: value LF ...           headers, up to an empty line (or the end: then no body);
 *                                Cookie is split into its cookies at ';'
 *   LF
 *   body                         the rest, any bytes (none when empty)
 *
 * A CR before an LF is dropped. An input may hold up to 8 requests, one after the other on the
 * same database (a close, then a reopen), each ended by a line "~~~" (so no body holds one).
 * Before the split, these names are replaced anywhere in the input
 * by what a fuzzer cannot guess: $STAFF, $OPER, $READER (the tokens of roles staff, operator and
 * readonly: "Authorization: Bearer $STAFF", "?api_key=$READER"), $SID and $CSRF (the staff
 * token's page session: "Cookie: linli_session=$SID", "X-CSRF-Token: $CSRF"), $R1 $R2 $R3 (the
 * refs of the three requests). The path and the query's names and values are percent-decoded as
 * libmicrohttpd does (MHD_http_unescape; '+' is a space in the query).
 *
 * The target aborts on a request left without an answer, on a 500 (the database is healthy
 * here), and on request history stored as text that is not UTF-8. Every input starts from the
 * same database (a fresh copy of the one made at the first input) and the same clock (2026-01-01
 * 10:00 +08, a working day); SMS the handlers send are queued in the database, never sent. With
 * HTTP_FUZZ_TRACE set in the environment, each answer's status and its body go to stderr (to see
 * how deep a seed gets). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer_compat.h>

#include "db/db.h"
#include "db/import.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/core/http_priv.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"
#include "gateway/wire.h"
#include "tests/fuzz/fuzz.h"
#include "util/utf8.h"

#define NOW	     1767232800 /* 2026-01-01 10:00 +08 */
#define STAFF_NUMBER "+8613900139101"
#define MAX_KV	     32
#define MAX_REQUESTS 8
#define SEPARATOR    "\n~~~\n" /* between two requests of one input */
#define TEMPLATE_MAX (16 * 1024 * 1024)
#define INPUT_MAX    (GW_HTTP_BODY_MAX + 4096)

static const char *const tokens[3][2] = {
	{"$STAFF", "fuzzstaff0123456789abcdef0123456789abcdef"},
	{"$OPER", "fuzzoper0123456789abcdef0123456789abcdef0"},
	{"$READER", "fuzzread0123456789abcdef0123456789abcdef0"},
};

static struct {
	void *ctx;
	struct gw *gw;
	char dir[64], tpl[96], work[96];
	char *image; /* the template database's bytes */
	size_t image_len;
	int64_t staff_token;
	char refs[3][8];
	char sid[65], csrf[65];
} F;

static void unlink_db(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char p[128];

	for (unsigned i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

static void teardown(void)
{
	if (F.gw && F.gw->db)
		db_close(F.gw->db);
	F.gw->db = NULL;
	unlink_db(F.work);
	unlink_db(F.tpl);
	rmdir(F.dir);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "http_fuzz: %s: %s (run from the project's root)\n", what, strerror(rc < 0 ? -rc : rc));
	abort();
}

/* The template: the sample community, the tokens, three requests and a registration by SMS. */
static void make_template(void)
{
	static const char *const sms[][2] = {
		{"+8613800138001", "报事 1幢1单元楼道灯坏了"},
		{"+8613800138002", "报事 电梯不动了，13800138002"},
		{"+8613800138003", "报事 垃圾没有清运"},
		{"+8613700000001", "注册 张三 1幢1单元101"},
	};
	struct db_context *dbc;
	struct db_request_filter f = {.now = NOW, .limit = 3};
	struct db_request *rows;
	struct rq_env e;
	char err[256], file[64], note[256];
	unsigned nimp;
	int64_t id;
	int rc, n;

	rc = db_open(F.ctx, F.tpl, &dbc);
	if (rc < 0)
		die("db_open", rc);
	for (int k = 0; k < _NUM_DB_IMPORT; k++) {
		snprintf(file, sizeof(file), "etc/sample/%s.csv", db_import_kind_name(k));
		rc = db_import_file(dbc, k, file, NULL, NULL, &nimp);
		if (rc < 0)
			die(file, rc);
	}
	if ((rc = db_token_add(dbc, tokens[0][1], STAFF_NUMBER, "staff", "fuzz", NOW - 86400, &F.staff_token)) < 0 ||
	    (rc = db_token_add(dbc, tokens[1][1], STAFF_NUMBER, "operator", "fuzz", NOW - 86400, &id)) < 0 ||
	    (rc = db_token_add(dbc, tokens[2][1], STAFF_NUMBER, "readonly", "fuzz", NOW - 86400, &id)) < 0)
		die("db_token_add", rc);
	/* used now, so that checking them at NOW writes nothing (db_token_check records a use once a
	 * minute): an input that only reads leaves the database as it was */
	for (unsigned i = 0; i < ARRAY_SIZE(tokens); i++) {
		struct db_token t;

		if ((rc = db_token_check(dbc, tokens[i][1], NOW, &t)) < 0)
			die("db_token_check", rc);
	}
	F.gw->db = dbc;
	gw_request_env(F.gw, &e, F.ctx, NOW);
	if ((rc = db_begin(dbc)) < 0)
		die("db_begin", rc);
	for (unsigned i = 0; i < ARRAY_SIZE(sms); i++)
		rq_handle(&e, sms[i][0], sms[i][1], strlen(sms[i][1]), 0, note, sizeof(note));
	if ((rc = db_commit(dbc)) < 0)
		die("db_commit", rc);
	n = db_request_query(dbc, F.ctx, &f, &rows, NULL);
	if (n != 3)
		die("three requests by SMS", n < 0 ? n : -ENOENT);
	for (int i = 0; i < 3; i++)
		memcpy(F.refs[i], rows[i].ref, sizeof(F.refs[i]));
	(void)err;
	db_close(dbc);
	F.gw->db = NULL;
}

static void read_template(void)
{
	int fd = open(F.tpl, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > TEMPLATE_MAX)
		die("the template database", errno);
	F.image = talloc_size(F.ctx, st.st_size);
	F.image_len = st.st_size;
	if (!F.image || read(fd, F.image, F.image_len) != (ssize_t)F.image_len)
		die("reading the template database", EIO);
	close(fd);
}

static void setup(void)
{
	struct timespec ts = {.tv_sec = NOW};
	char err[256];
	int rc;

	fuzz_logging();
	F.ctx = talloc_named_const(NULL, 0, "http_fuzz");
	snprintf(F.dir, sizeof(F.dir), "/tmp/linli-fuzz-http-XXXXXX");
	if (!mkdtemp(F.dir))
		die("mkdtemp", errno);
	snprintf(F.tpl, sizeof(F.tpl), "%s/template.db", F.dir);
	snprintf(F.work, sizeof(F.work), "%s/work.db", F.dir);
	osmo_clock_override_enable(CLOCK_REALTIME, true);
	osmo_clock_override_enable(CLOCK_MONOTONIC, true);
	*osmo_clock_override_gettimespec(CLOCK_REALTIME) = ts;
	*osmo_clock_override_gettimespec(CLOCK_MONOTONIC) = ts;

	F.gw = gw_alloc(F.ctx);
	if (!F.gw)
		die("gw_alloc", ENOMEM);
	gw_stats_init(F.gw);
	if (gw_rules_reload(F.gw, err, sizeof(err)) < 0) {
		fprintf(stderr, "http_fuzz: routes/sms.rules: %s\n", err);
		abort();
	}
	rc = gw_wire(F.gw);
	if (rc < 0)
		die("gw_wire", rc);
	rc = gw_http_prepare(F.gw);
	if (rc < 0)
		die("gw_http_prepare", rc);
	make_template();
	read_template();
	atexit(teardown);
}

/* Whether the input before wrote to the database: its write-ahead log has frames (db_open
 * leaves it empty, a read adds none). */
static bool db_written(void)
{
	char wal[128];
	struct stat st;

	snprintf(wal, sizeof(wal), "%s-wal", F.work);
	return stat(wal, &st) < 0 || st.st_size > 0;
}

/* A fresh copy of the template, opened as the gateway's database (reopening costs most of an
 * input's time: only after an input that wrote). */
static void reset_db(void)
{
	int fd;
	int rc;

	if (F.gw->db && !db_written())
		goto session;
	if (F.gw->db)
		db_close(F.gw->db);
	F.gw->db = NULL;
	unlink_db(F.work);
	fd = open(F.work, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, F.image, F.image_len) != (ssize_t)F.image_len || close(fd) < 0)
		die("writing the work database", errno);
	rc = db_open(F.gw, F.work, &F.gw->db);
	if (rc < 0)
		die("db_open of the copy", rc);
session:
	gw_http_sessions_clear();
	if (gw_http_session_open(F.gw, &(struct gw_http_staff){.token_id = F.staff_token}, F.sid, F.csrf) < 0)
		die("gw_http_session_open", EIO);
}

/* data with the $NAMEs replaced, NUL-terminated (the body may hold NULs: *len is its length). */
static char *expand(void *ctx, const uint8_t *data, size_t size, size_t *len)
{
	const char *subst[][2] = {
		{tokens[0][0], tokens[0][1]},
		{tokens[1][0], tokens[1][1]},
		{tokens[2][0], tokens[2][1]},
		{"$SID", F.sid},
		{"$CSRF", F.csrf},
		{"$R1", F.refs[0]},
		{"$R2", F.refs[1]},
		{"$R3", F.refs[2]},
	};
	char *out = talloc_size(ctx, size * 2 + 128), *o = out;
	size_t cap = size * 2 + 128;

	for (size_t i = 0; i < size;) {
		bool done = false;

		if (data[i] == '$') {
			for (unsigned k = 0; k < ARRAY_SIZE(subst) && !done; k++) {
				size_t kn = strlen(subst[k][0]), vn = strlen(subst[k][1]);

				if (size - i < kn || memcmp(data + i, subst[k][0], kn))
					continue;
				if ((size_t)(o - out) + vn + 1 > cap) {
					size_t used = o - out;

					cap = cap * 2 + vn;
					out = talloc_realloc_size(ctx, out, cap);
					o = out + used;
				}
				memcpy(o, subst[k][1], vn);
				o += vn;
				i += kn;
				done = true;
			}
		}
		if (done)
			continue;
		if ((size_t)(o - out) + 2 > cap) {
			size_t used = o - out;

			cap *= 2;
			out = talloc_realloc_size(ctx, out, cap);
			o = out + used;
		}
		*o++ = data[i++];
	}
	*o = '\0';
	*len = o - out;
	return out;
}

/* The next line of [*p, end) without its LF (and a CR before it), NUL-terminated in place;
 * NULL at the end. *nul is set when the line held a NUL (libmicrohttpd answers 400 to that). */
static char *next_line(char **p, char *end, bool *nul)
{
	char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', end - s);
	if (!nl)
		nl = end;
	*p = nl < end ? nl + 1 : end;
	if (nl > s && nl[-1] == '\r')
		nl--;
	*nul = *nul || memchr(s, '\0', nl - s);
	*nl = '\0';
	return s;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* '+' as a space, then %XX: how libmicrohttpd decodes a query's names and values. */
static void query_decode(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '+')
			*p = ' ';
	s[MHD_http_unescape(s)] = '\0';
}

/* One request of [buf, buf + len) (modified in place). */
static void one_request(void *ctx, char *buf, size_t len)
{
	struct gw_http_kv args[MAX_KV], hdrs[MAX_KV], cookies[MAX_KV];
	struct gw_http_raw in = {.args = args, .headers = hdrs, .cookies = cookies};
	struct gw_http_out o = {0};
	char *p = buf, *end = buf + len, *line, *sp, *q;
	bool nul = false;

	/* the request line: libmicrohttpd answers 400 itself to one without a method and a target, or
	 * with a NUL in it */
	line = next_line(&p, end, &nul);
	if (!line || nul)
		goto out;
	sp = strchr(line, ' ');
	if (!sp || sp == line)
		goto out;
	*sp = '\0';
	in.method = line;
	in.path = trim(sp + 1);
	if ((sp = strchr(in.path, ' '))) /* "GET /x HTTP/1.1" */
		*sp = '\0';
	if (!in.path[0])
		goto out;
	q = strchr(in.path, '?');
	if (q) {
		char *save = NULL;

		*q++ = '\0';
		for (char *kv = strtok_r(q, "&", &save); kv && in.nargs < MAX_KV; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');

			if (eq)
				*eq++ = '\0';
			query_decode(kv);
			if (eq)
				query_decode(eq);
			args[in.nargs].key = kv;
			args[in.nargs++].value = eq ? eq : "";
		}
	}
	((char *)in.path)[MHD_http_unescape((char *)in.path)] = '\0';

	/* the headers, up to an empty line */
	while ((line = next_line(&p, end, &nul)) && line[0]) {
		char *colon = strchr(line, ':');

		if (nul)
			goto out;
		if (!colon || colon == line || in.nheaders == MAX_KV)
			continue;
		*colon = '\0';
		hdrs[in.nheaders].key = trim(line);
		hdrs[in.nheaders++].value = trim(colon + 1);
		if (!strcasecmp(hdrs[in.nheaders - 1].key, "Cookie")) {
			char *save = NULL, *c = talloc_strdup(ctx, hdrs[in.nheaders - 1].value);

			for (char *kv = strtok_r(c, ";", &save); kv && in.ncookies < MAX_KV;
			     kv = strtok_r(NULL, ";", &save)) {
				char *eq = strchr(kv, '=');

				if (!eq)
					continue;
				*eq++ = '\0';
				cookies[in.ncookies].key = trim(kv);
				cookies[in.ncookies++].value = trim(eq);
			}
		}
	}
	if (line && p < end) {
		in.body = p;
		in.len = end - p;
	}

	o.ctx = talloc_named_const(ctx, 0, "answer");
	gw_http_handle_raw(F.gw, &in, &o);
	/* every request gets exactly one answer, of a real status, with a body of its length */
	if (!o.set || o.status < 200 || o.status > 599 || (o.len && !o.body))
		abort();
	/* the database is healthy and memory plenty: a 500 is a handler's mistake (a JSON answer that
	 * could not be made, an error it did not expect) */
	if (o.status == 500) {
		fprintf(stderr, "http_fuzz: 500 for %s %s: %s\n", in.method, in.path, o.body ? o.body : "");
		abort();
	}
	if (getenv("HTTP_FUZZ_TRACE"))
		fprintf(stderr, "%u %s %s: %s\n", o.status, in.method, in.path, o.body ? o.body : "");
out:
	talloc_free(o.ctx);
}

static void must_be_utf8(const char *what, const char *s)
{
	if (s && utf8_validate(s, strlen(s), NULL) < 0) {
		fprintf(stderr, "http_fuzz: %s is not UTF-8: %s\n", what, s);
		abort();
	}
}

/* What the handlers stored must be text the console can show again: the history of the three
 * requests (actors, notes) valid UTF-8. */
static void check_stored(void *ctx)
{
	for (int i = 0; i < 3; i++) {
		struct db_request_event *ev;
		struct db_request r;
		int n;

		if (db_request_get(F.gw->db, ctx, F.refs[i], 0, &r) < 0)
			continue;
		must_be_utf8("a request's text", r.text);
		n = db_request_events(F.gw->db, ctx, r.id, &ev);
		for (int k = 0; k < n; k++) {
			must_be_utf8("an event's actor", ev[k].actor);
			must_be_utf8("an event's note", ev[k].note);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *p, *end;
	size_t len;
	void *ctx;

	if (size > INPUT_MAX)
		return 0;
	if (!F.gw)
		setup();
	reset_db();
	ctx = talloc_named_const(F.ctx, 0, "input");
	buf = expand(ctx, data, size, &len);
	end = buf + len;
	/* the requests, one after the other on the same database, split at the SEPARATOR lines */
	p = buf;
	for (unsigned n = 0; p <= end && n < MAX_REQUESTS; n++) {
		char *sep = memmem(p, end - p, SEPARATOR, strlen(SEPARATOR));
		char *stop = sep ? sep : end;

		one_request(ctx, p, stop - p);
		if (!sep)
			break;
		p = sep + strlen(SEPARATOR);
	}
	if (db_written())
		check_stored(ctx);
	talloc_free(ctx);
	return 0;
}
