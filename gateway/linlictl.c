/* linlictl: the operator's command line on the community database.
 *
 *   linlictl [-d DB] init                         create or upgrade the database, print its version
 *   linlictl [-d DB] import KIND FILE.csv         KIND: grids, groups, households, phones
 *   linlictl [-d DB] import-all DIR               DIR/grids.csv, groups.csv, households.csv, phones.csv
 *   linlictl [-d DB] send NUMBER TEXT...          queue an SMS (priority "reply"), print its id
 *   linlictl [-d DB] sms in|out [N]               the newest N messages (20)
 *   linlictl [-d DB] stats                        queue counts and counters
 *   linlictl [-d DB] device|bind|incident|watch ... SOS watches, bindings, incidents (usage())
 *   linlictl parse-alert < TEXT                   the alert parser's JSON for one watch text
 *   linlictl [-d DB] request list|show|assign|close|note|extend|reopen ... requests (报事), see usage()
 *   linlictl [-d DB] points|register|holiday ...  points ledger, registrations by SMS, holiday table
 *   linlictl [-d DB] token create|list|revoke ...  the staff console's tokens (gateway/core/http.h)
 *   linlictl [-d DB] backup FILE                  a consistent copy while linlid runs (db/db_backup.c)
 *   linlictl [-d DB] restore FILE                 replace the database by a checked backup (linlid stopped)
 *
 * Exit status: 0 done, 1 failed, 2 wrong usage. */

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>
#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "db/db_call.h"
#include "db/import.h"
#include "gateway/sos/alert.h"
#include "gateway/notice/notice.h"
#include "gateway/request/request.h"
#include "gateway/core/rules.h"
#include "gateway/sip/sip_msg.h"
#include "gateway/sos/sos.h"
#include "util/utf8.h"

static const struct log_info linlictl_log_info = {
	.cat = NULL,
	.num_cat = 0,
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: linlictl [-d DBPATH|URL] [-C COMMUNITY] COMMAND\n"
		"  -C COMMUNITY                  on a district's PostgreSQL database: that community's rows\n"
		"  init                          create or upgrade the database, print its version\n"
		"  backup FILE                   a consistent copy of the database (while linlid runs); FILE must\n"
		"                                not exist; made 0600\n"
		"  restore FILE                  check FILE and replace the database by it (linlid stopped); the\n"
		"                                current one is kept as DB.pre-restore-TIME\n"
		"  import KIND FILE.csv          KIND: grids, groups, households or phones\n"
		"  import-all DIR                DIR/{grids,groups,households,phones}.csv, in that order\n"
		"  send NUMBER TEXT...           queue an SMS, print its id\n"
		"  sms in|out [N]                list the newest N messages (default 20)\n"
		"  stats                         queue counts per state and the counters\n"
		"  device add NUMBER [--household CODE] [--person NAME] [--imei N] [--dialect setracker|tk|generic]\n"
		"  device list                   the SOS watches\n"
		"  bind add WATCH PHONE [--step N]   a pending binding (approve it to send locations)\n"
		"  bind approve|remove WATCH PHONE [--by WHO]\n"
		"  bind list [WATCH]             bindings and their state\n"
		"  incident list [N] | show ID | resolve ID | false-alarm ID\n"
		"  parse-alert                   parse one watch text from stdin, print JSON\n"
		"  watch program WATCH [--number N] [--interval MIN]\n"
		"                                    queue the commands that set the community number (and\n"
		"                                    that make the watch report every MIN minutes)\n"
		"  request list [all] [N]        open (or all) requests, newest first\n"
		"  request show REF              a request and its history\n"
		"  request assign REF NUMBER     dispatch it (again) to that phone, by SMS\n"
		"  request close REF [RESULT...] close it; the resident gets the result and the rating prompt\n"
		"  request note REF TEXT...      a remark in its history; the assignee of an open one gets it by SMS\n"
		"  request extend REF DAYS|YYYY-MM-DD REASON...  延期: DAYS (1-10) working days more, or to that\n"
		"                                day; the resident and the assignee are told (approves a 延期 asked by "
		"SMS)\n"
		"  request reopen REF REASON...  重办 a closed one: dispatched again; the resident is told\n"
		"  points add NUMBER N REASON... add N points (negative: a correction) to the ledger; told by SMS\n"
		"  points list [NUMBER]          balances, or one phone's balance and entries\n"
		"  register list [all]           registrations by SMS waiting for approval (or all)\n"
		"  register approve NUMBER [HOUSEHOLD]  approve (in the household its address matched, or HOUSEHOLD)\n"
		"  register reject NUMBER [REASON...]   reject; the person is told the reason\n"
		"  holiday add DATE holiday|workday [NAME...]  a public holiday, or a 调休 make-up working day\n"
		"  holiday list [FROM-DATE]      the calendar entries\n"
		"  holiday remove DATE\n"
		"  token create NUMBER [--role staff|operator|readonly] [--label TEXT]\n"
		"                                a staff console token for that phone (printed once; role staff)\n"
		"  token list                    the tokens: id, number, role, label, created, last used, revoked\n"
		"  token revoke ID               the token and its page sessions stop working\n"
		"  district token create --scope CODE[,CODE...] [--label TEXT]\n"
		"                                a street office's token: reads those communities' requests\n"
		"                                (GET /api/v1/district/...; PostgreSQL, -C CODE)\n"
		"  district token list|revoke ID the street office's tokens\n"
		"  sender block NUMBER [REASON] | unblock NUMBER | release NUMBER | list\n"
		"                                numbers whose messages are stored, not routed (blocked, or parked\n"
		"                                by flood-limit); release ends a park\n"
		"  call list [N] | show ID       6995 group calls: who called, who was called, answered, "
		"joined\n" SIP_CTL_USAGE NT_CTL_USAGE "DBPATH defaults to var/linli.db.\n");
}

static void report_row(void *data, const char *file, unsigned line, const char *reason)
{
	(void)data;
	if (line)
		fprintf(stderr, "%s:%u: %s\n", file, line, reason);
	else
		fprintf(stderr, "%s: %s\n", file, reason);
}

static void print_line(void *data, const char *line)
{
	(void)data;
	printf("%s\n", line);
}

static void print_stat(void *data, const char *name, int64_t value)
{
	(void)data;
	printf("  %-24s %" PRId64 "\n", name, value);
}

/* sqlite creates the file but not its folder: make the folder (one level) for var/linli.db. */
static void make_parent(void *ctx, const char *path)
{
	char *copy = talloc_strdup(ctx, path);
	char *dir = dirname(copy);
	struct stat st;

	if (strcmp(dir, ".") && strcmp(dir, "/") && stat(dir, &st) < 0 && errno == ENOENT)
		mkdir(dir, 0755);
	talloc_free(copy);
}

/* linlictl backup FILE: SQLite's online backup, consistent while linlid runs. */
static int cmd_backup(struct db_context *dbc, const char *db_path, const char *file)
{
	char err[512];
	int v = 0, rc = db_backup(dbc, file, &v, err, sizeof(err));
	struct stat st;

	if (rc < 0) {
		fprintf(stderr, "linlictl: backup of %s failed: %s\n", db_path_shown(dbc, db_path),
			err[0] ? err : strerror(-rc));
		return 1;
	}
	printf("%s: backup of %s, schema version %d, %lld bytes\n", file, db_path, v,
	       stat(file, &st) == 0 ? (long long)st.st_size : -1LL);
	return 0;
}

/* linlictl restore FILE: checked, the current database kept, only while no linlid owns it. */
static int cmd_restore(void *ctx, const char *db_path, const char *file)
{
	char err[512], kept[4200];
	struct db_context *dbc;
	int fd, v, rc;

	rc = db_backup_check(file, &v, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "linlictl: not restored: %s\n", err[0] ? err : strerror(-rc));
		return 1;
	}
	rc = db_lock_owner(ctx, db_path, &fd);
	if (rc < 0) {
		fprintf(stderr, "linlictl: not restored: %s is in use by a running linlid (%s); stop it first\n",
			db_path, rc == -EBUSY ? "its lock file is held" : strerror(-rc));
		return 1;
	}
	rc = db_restore(file, db_path, kept, sizeof(kept), err, sizeof(err));
	if (rc < 0) {
		close(fd);
		fprintf(stderr, "linlictl: not restored: %s\n", err[0] ? err : strerror(-rc));
		return 1;
	}
	if (kept[0])
		printf("%s: the database it replaced is kept as %s\n", db_path, kept);
	/* an older backup is brought up to this build's schema now, while the lock is held */
	rc = db_open(ctx, db_path, &dbc);
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "linlictl: %s restored from %s (version %d) but cannot be opened: %s\n", db_path, file,
			v, strerror(-rc));
		return 1;
	}
	printf("%s: restored from %s (schema version %d, now %d)\n", db_path, file, v, db_version(dbc));
	db_close(dbc);
	return 0;
}

static int cmd_import(void *ctx, struct db_context *dbc, const char *kind_name, const char *file)
{
	int kind = db_import_kind_parse(kind_name);
	unsigned n;
	int rc;

	(void)ctx;
	if (kind < 0) {
		fprintf(stderr, "linlictl: unknown kind \"%s\" (grids, groups, households, phones)\n", kind_name);
		return 2;
	}
	rc = db_begin(dbc);
	if (rc < 0) {
		fprintf(stderr, "linlictl: cannot start a transaction: %s\n", strerror(-rc));
		return 1;
	}
	rc = db_import_file(dbc, kind, file, report_row, NULL, &n);
	if (rc == 0)
		rc = db_commit(dbc);
	if (rc < 0) {
		db_rollback(dbc);
		fprintf(stderr, "%s: nothing imported\n", file);
		return 1;
	}
	printf("imported %u %s\n", n, db_import_kind_name(kind));
	return 0;
}

static int cmd_import_all(void *ctx, struct db_context *dbc, const char *dir)
{
	unsigned n[_NUM_DB_IMPORT] = {0};
	bool found[_NUM_DB_IMPORT] = {false};
	unsigned nfound = 0;
	int rc;

	rc = db_begin(dbc);
	if (rc < 0) {
		fprintf(stderr, "linlictl: cannot start a transaction: %s\n", strerror(-rc));
		return 1;
	}
	/* in dependency order; each file sees what the ones before it imported */
	for (int k = 0; k < _NUM_DB_IMPORT; k++) {
		char *path = talloc_asprintf(ctx, "%s/%s.csv", dir, db_import_kind_name(k));

		if (access(path, F_OK) < 0) {
			fprintf(stderr, "%s: not found, skipped\n", path);
			talloc_free(path);
			continue;
		}
		found[k] = true;
		nfound++;
		rc = db_import_file(dbc, k, path, report_row, NULL, &n[k]);
		if (rc < 0) {
			fprintf(stderr, "%s: bad rows; nothing imported from %s\n", path, dir);
			talloc_free(path);
			goto fail;
		}
		talloc_free(path);
	}
	if (!nfound) {
		fprintf(stderr, "%s: no grids.csv, groups.csv, households.csv or phones.csv\n", dir);
		rc = -ENOENT;
		goto fail;
	}
	rc = db_commit(dbc);
	if (rc < 0) {
		fprintf(stderr, "linlictl: cannot commit: %s\n", strerror(-rc));
		goto fail;
	}
	for (int k = 0; k < _NUM_DB_IMPORT; k++)
		if (found[k])
			printf("imported %u %s\n", n[k], db_import_kind_name(k));
	return 0;
fail:
	db_rollback(dbc);
	return 1;
}

static int cmd_send(void *ctx, struct db_context *dbc, int argc, char **argv)
{
	char num[32];
	char *text;
	int64_t id;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	/* a sender ID ("ChinaMobile") normalises fine but cannot be sent to */
	if (db_number_norm(argv[0], num, sizeof(num)) < 0 ||
	    strspn(num + (num[0] == '+'), "0123456789") != strlen(num + (num[0] == '+'))) {
		fprintf(stderr, "linlictl: invalid number \"%s\"\n", argv[0]);
		return 1;
	}
	text = talloc_strdup(ctx, argv[1]);
	for (int i = 2; i < argc; i++)
		text = talloc_asprintf_append(text, " %s", argv[i]);
	if (utf8_validate(text, strlen(text), NULL) < 0) {
		fprintf(stderr, "linlictl: the text is not UTF-8\n");
		return 1;
	}
	rc = db_sms_out_add(dbc, num, text, DB_PRIO_REPLY, &id);
	talloc_free(text);
	if (rc < 0) {
		fprintf(stderr, "linlictl: cannot queue the message: %s\n", strerror(-rc));
		return 1;
	}
	printf("%" PRId64 "\n", id);
	return 0;
}

static int cmd_sms(struct db_context *dbc, int argc, char **argv)
{
	int limit = 20, rc;

	if (argc < 1 || argc > 2 || (strcmp(argv[0], "in") && strcmp(argv[0], "out"))) {
		usage(stderr);
		return 2;
	}
	if (argc == 2) {
		char *end;
		long l = strtol(argv[1], &end, 10);

		if (*end || l < 1 || l > 1000000) {
			fprintf(stderr, "linlictl: N must be a positive number\n");
			return 2;
		}
		limit = (int)l;
	}
	if (!strcmp(argv[0], "in"))
		rc = db_sms_in_list(dbc, limit, print_line, NULL);
	else
		rc = db_sms_out_list(dbc, limit, print_line, NULL);
	if (rc < 0) {
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}

static int cmd_stats(struct db_context *dbc)
{
	int64_t out[_NUM_DB_OUT], in_new, in_done, parts;
	int rc;

	rc = db_sms_out_counts(dbc, out);
	if (rc == 0)
		rc = db_sms_in_counts(dbc, &in_new, &in_done, &parts);
	if (rc < 0) {
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
		return 1;
	}
	printf("outbox: queued %" PRId64 ", sending %" PRId64 ", sent %" PRId64 ", failed %" PRId64 "\n",
	       out[DB_OUT_QUEUED], out[DB_OUT_SENDING], out[DB_OUT_SENT], out[DB_OUT_FAILED]);
	printf("inbox: new %" PRId64 ", done %" PRId64 ", parts waiting %" PRId64 "\n", in_new, in_done, parts);
	printf("community:");
	for (int k = 0; k < _NUM_DB_IMPORT; k++)
		printf("%s %s %" PRId64, k ? "," : "", db_import_kind_name(k), db_import_count(dbc, k));
	printf("\ncounters:\n");
	rc = db_stat_foreach(dbc, print_stat, NULL);
	if (rc < 0)
		return 1;
	if (rc == 0)
		printf("  (none)\n");
	return 0;
}

/* ---- SOS: watches, bindings, incidents, alert parsing, watch programming ---- */

/* Take "--name VALUE" options out of argv (in place); the rest stay in order. Returns the new
 * argc, or -1 for an unknown option or one without a value. */
static int take_opts(int argc, char **argv, const char *const *names, const char **values)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2)) {
			argv[n++] = argv[i];
			continue;
		}
		unsigned k;

		for (k = 0; names[k]; k++)
			if (!strcmp(argv[i] + 2, names[k]))
				break;
		if (!names[k] || i + 1 >= argc) {
			fprintf(stderr, "linlictl: unknown option or missing value: %s\n", argv[i]);
			return -1;
		}
		values[k] = argv[++i];
	}
	return n;
}

static bool norm_or_complain(const char *in, char *out, size_t len)
{
	if (db_number_norm(in, out, len) < 0 ||
	    strspn(out + (out[0] == '+'), "0123456789") != strlen(out + (out[0] == '+'))) {
		fprintf(stderr, "linlictl: invalid number \"%s\"\n", in);
		return false;
	}
	return true;
}

static int find_device(struct db_context *dbc, const char *arg, struct db_device *dev)
{
	char num[32];
	int rc;

	if (!norm_or_complain(arg, num, sizeof(num)))
		return -EINVAL;
	rc = db_device_get(dbc, num, 0, dev);
	if (rc == -ENOENT)
		fprintf(stderr, "linlictl: no watch with number %s (linlictl device add)\n", num);
	else if (rc < 0)
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
	return rc;
}

static int cmd_device(struct db_context *dbc, int argc, char **argv)
{
	static const char *const names[] = {"household", "person", "imei", "dialect", NULL};
	const char *v[5] = {NULL};
	char num[32];
	int64_t id;
	int rc;

	if (argc == 1 && !strcmp(argv[0], "list"))
		return db_device_list(dbc, print_line, NULL) < 0;
	if (argc < 2 || strcmp(argv[0], "add")) {
		usage(stderr);
		return 2;
	}
	argc = take_opts(argc - 1, argv + 1, names, v);
	if (argc != 1)
		return 2;
	if (!norm_or_complain(argv[1], num, sizeof(num)))
		return 1;
	if (v[3] && !sos_dialect_valid(v[3])) {
		fprintf(stderr, "linlictl: dialect must be setracker, tk or generic\n");
		return 2;
	}
	rc = db_device_add(dbc, num, v[2], v[0], v[1], v[3] ? v[3] : "generic", &id);
	if (rc == -EEXIST)
		fprintf(stderr, "linlictl: a watch with number %s exists already\n", num);
	else if (rc == -ENOENT)
		fprintf(stderr, "linlictl: no household %s\n", v[0]);
	else if (rc < 0)
		fprintf(stderr, "linlictl: cannot add the watch: %s\n", strerror(-rc));
	else
		printf("%" PRId64 "\n", id);
	return rc < 0;
}

static int cmd_bind(struct db_context *dbc, int argc, char **argv)
{
	static const char *const names[] = {"step", "by", NULL};
	const char *v[3] = {NULL};
	struct db_device dev;
	struct db_binding b;
	char num[32];
	int step = 1, rc;

	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[0], "list")) {
		if (argc > 2)
			return 2;
		if (argc == 2) {
			if (find_device(dbc, argv[1], &dev) < 0)
				return 1;
			return db_binding_list(dbc, dev.number, print_line, NULL) < 0;
		}
		return db_binding_list(dbc, NULL, print_line, NULL) < 0;
	}
	argc = take_opts(argc - 1, argv + 1, names, v);
	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	if (v[0]) {
		step = atoi(v[0]);
		if (step < 1 || step >= DB_SOS_RUNG_GRID) {
			fprintf(stderr, "linlictl: --step must be 1..%d\n", DB_SOS_RUNG_GRID - 1);
			return 2;
		}
	}
	if (find_device(dbc, argv[1], &dev) < 0 || !norm_or_complain(argv[2], num, sizeof(num)))
		return 1;
	if (!strcmp(argv[0], "add")) {
		int64_t id;

		/* staff add a binding pending; `bind approve` (or the household's SMS code) approves it */
		rc = db_binding_put(dbc, dev.id, num, step, false, NULL, NULL, time(NULL), &id);
		if (rc == 0)
			printf("%" PRId64 " pending\n", id);
	} else if (!strcmp(argv[0], "approve") || !strcmp(argv[0], "remove")) {
		rc = db_binding_get(dbc, dev.id, num, &b);
		if (rc == -ENOENT) {
			fprintf(stderr, "linlictl: %s is not bound to watch %s\n", num, dev.number);
			return 1;
		}
		if (rc == 0 && !strcmp(argv[0], "approve"))
			rc = db_binding_approve(dbc, b.id, v[1] ? v[1] : "staff", time(NULL));
		else if (rc == 0)
			rc = db_binding_remove(dbc, b.id, v[1] ? v[1] : "staff", time(NULL));
		if (rc == 0)
			printf("%" PRId64 " %s\n", b.id, !strcmp(argv[0], "approve") ? "approved" : "removed");
	} else {
		usage(stderr);
		return 2;
	}
	if (rc < 0)
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
	return rc < 0;
}

/* call list [N] | show ID: the group calls (db/db_call.c) */
/* ---- the staff console's tokens ---- */

static void fmt_when(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !localtime_r(&tt, &tm))
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* 32 random bytes as 64 hex digits: a console token (only its hash is stored). */
static int new_token(char token[65])
{
	uint8_t raw[32];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
		fprintf(stderr, "linlictl: no random numbers: %s\n", strerror(errno));
		return -EIO;
	}
	for (unsigned i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* --label (UTF-8) checked and a new token made: 0, else linlictl's exit status. */
static int label_token(const char *label, char token[65])
{
	if (label && utf8_validate(label, strlen(label), NULL) < 0) {
		fprintf(stderr, "linlictl: --label is not UTF-8\n");
		return 2;
	}
	return new_token(token) < 0 ? 1 : 0;
}

static int cmd_token(struct db_context *dbc, int argc, char **argv)
{
	static const char *const names[] = {"role", "label", NULL};
	const char *v[3] = {NULL};
	char token[65], num[32];
	int64_t id;
	char *end;
	int rc;

	if (argc == 1 && !strcmp(argv[0], "list")) {
		struct db_token *t;
		char created[20], used[20], revoked[20];
		int n = db_token_list(dbc, dbc, &t);

		if (n < 0) {
			fprintf(stderr, "linlictl: %s\n", strerror(-n));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			fmt_when(t[i].created_at, created, sizeof(created));
			fmt_when(t[i].last_used_at, used, sizeof(used));
			fmt_when(t[i].revoked_at, revoked, sizeof(revoked));
			printf("%" PRId64 " %s %s %-8s created %s used %s%s%s%s%s\n", t[i].id, t[i].number,
			       t[i].name[0] ? t[i].name : "-", t[i].role, created, used,
			       t[i].revoked_at ? " REVOKED " : "", t[i].revoked_at ? revoked : "",
			       t[i].label[0] ? " " : "", t[i].label);
		}
		talloc_free(t);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[0], "revoke")) {
		id = strtoll(argv[1], &end, 10);
		if (*end || id <= 0) {
			fprintf(stderr, "linlictl: token ID must be a number, not \"%s\"\n", argv[1]);
			return 2;
		}
		rc = db_token_revoke(dbc, id, time(NULL));
		if (rc == -ENOENT) {
			fprintf(stderr, "linlictl: no token %" PRId64 " that is not revoked already\n", id);
			return 1;
		}
		if (rc < 0) {
			fprintf(stderr, "linlictl: %s\n", strerror(-rc));
			return 1;
		}
		printf("%" PRId64 " revoked\n", id);
		return 0;
	}
	if (argc < 2 || strcmp(argv[0], "create")) {
		usage(stderr);
		return 2;
	}
	argc = take_opts(argc - 1, argv + 1, names, v);
	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if (!norm_or_complain(argv[1], num, sizeof(num)))
		return 2;
	if (!v[0])
		v[0] = "staff";
	if (strcmp(v[0], "staff") && strcmp(v[0], "operator") && strcmp(v[0], "readonly")) {
		fprintf(stderr, "linlictl: --role must be staff, operator or readonly\n");
		return 2;
	}
	if ((rc = label_token(v[1], token)) != 0)
		return rc;
	rc = db_token_add(dbc, token, num, v[0], v[1], time(NULL), &id);
	if (rc == -ENOENT) {
		fprintf(stderr, "linlictl: %s is not an active phone in the database (import it first)\n", num);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
		return 1;
	}
	/* the only time the token is shown: only its hash is stored */
	fprintf(stderr, "token %" PRId64 " for %s, role %s (shown once: keep it)\n", id, num, v[0]);
	printf("%s\n", token);
	return 0;
}

/* district token create|list|revoke: a street office's tokens (PostgreSQL, db_district.c) */
static int cmd_district(struct db_context *dbc, int argc, char **argv)
{
	static const char *const names[] = {"scope", "label", NULL};
	const char *v[3] = {NULL};
	char token[65];
	int64_t id;
	int rc;

	if (argc == 2 && !strcmp(argv[0], "token") && !strcmp(argv[1], "list")) {
		struct db_district_token *t;
		char created[20], used[20], revoked[20];
		int n = db_district_token_list(dbc, dbc, &t);

		if (n < 0) {
			fprintf(stderr, "linlictl: %s\n",
				n == -ENOTSUP ? "a district needs a community of a PostgreSQL database (-C CODE)"
					      : strerror(-n));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			fmt_when(t[i].created_at, created, sizeof(created));
			fmt_when(t[i].last_used_at, used, sizeof(used));
			fmt_when(t[i].revoked_at, revoked, sizeof(revoked));
			printf("%" PRId64 " scope %s created %s used %s%s%s%s%s\n", t[i].id, t[i].scope, created, used,
			       t[i].revoked_at ? " REVOKED " : "", t[i].revoked_at ? revoked : "",
			       t[i].label[0] ? " " : "", t[i].label);
		}
		talloc_free(t);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[0], "token") && !strcmp(argv[1], "revoke")) {
		char *end;

		id = strtoll(argv[2], &end, 10);
		if (*end || id <= 0) {
			fprintf(stderr, "linlictl: token ID must be a number, not \"%s\"\n", argv[2]);
			return 2;
		}
		rc = db_district_token_revoke(dbc, id, time(NULL));
		if (rc < 0) {
			fprintf(stderr, "linlictl: %s\n",
				rc == -ENOENT ? "no such token that is not revoked already" : strerror(-rc));
			return 1;
		}
		printf("%" PRId64 " revoked\n", id);
		return 0;
	}
	if (argc < 2 || strcmp(argv[0], "token") || strcmp(argv[1], "create")) {
		usage(stderr);
		return 2;
	}
	if (take_opts(argc - 1, argv + 1, names, v) != 1 || !v[0]) {
		fprintf(stderr, "linlictl: district token create --scope CODE[,CODE...] [--label TEXT]\n");
		return 2;
	}
	if ((rc = label_token(v[1], token)) != 0)
		return rc;
	rc = db_district_token_add(dbc, token, v[1], v[0], time(NULL), &id);
	if (rc < 0) {
		fprintf(stderr, "linlictl: %s\n",
			rc == -ENOTSUP	? "a district needs a community of a PostgreSQL database (-C CODE)"
			: rc == -EINVAL ? "--scope is communities' codes separated by commas (a-z, 0-9, _)"
			: rc == -ENOENT ? "--scope names a community the district does not have"
					: strerror(-rc));
		return 1;
	}
	fprintf(stderr, "district token %" PRId64 " for %s (shown once: keep it)\n", id, v[0]);
	printf("%s\n", token);
	return 0;
}

/* sender block|unblock|release|list: numbers whose messages are stored, not routed */
static int cmd_sender(struct db_context *dbc, int argc, char **argv)
{
	const char *who = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
	char num[32], by[64];
	int rc;

	if (argc == 1 && !strcmp(argv[0], "list"))
		return db_sender_list(dbc, time(NULL), print_line, NULL) < 0;
	if (argc < 2 || (strcmp(argv[0], "block") && strcmp(argv[0], "unblock") && strcmp(argv[0], "release"))) {
		usage(stderr);
		return 2;
	}
	if (db_number_norm(argv[1], num, sizeof(num)) < 0) {
		fprintf(stderr, "linlictl: \"%s\" is not a phone number\n", argv[1]);
		return 1;
	}
	snprintf(by, sizeof(by), "staff:%s", who ? who : "linlictl");
	if (strcmp(argv[0], "block")) {
		rc = db_sender_release(dbc, num, by, time(NULL));
		if (rc < 0) {
			fprintf(stderr, "linlictl: %s\n", strerror(-rc));
			return 1;
		}
		printf("%s %s\n", num, rc ? "released: its next messages are routed" : "was not held");
		return 0;
	}
	rc = db_sender_exempt(dbc, num);
	if (rc != 0) {
		fprintf(stderr, "linlictl: %s\n",
			rc < 0 ? strerror(-rc)
			       : "a watch, a staff phone or a grid worker is never blocked (remove or change the phone "
				 "first)");
		return 1;
	}
	rc = db_sender_hold(dbc, num, true, argc > 2 ? argv[2] : "", by, time(NULL), 0);
	if (rc < 0) {
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
		return 1;
	}
	printf("%s blocked: its messages are stored, not routed or answered\n", num);
	return 0;
}

static int cmd_call(struct db_context *dbc, int argc, char **argv)
{
	int64_t id;
	char *end;
	int rc;

	if (argc >= 1 && !strcmp(argv[0], "list") && argc <= 2) {
		int limit = argc == 2 ? atoi(argv[1]) : 20;

		return db_call_list(dbc, limit > 0 ? limit : 20, print_line, NULL) < 0;
	}
	if (argc != 2 || strcmp(argv[0], "show")) {
		usage(stderr);
		return 2;
	}
	id = strtoll(argv[1], &end, 10);
	if (*end || id <= 0) {
		fprintf(stderr, "linlictl: call ID must be a number, not \"%s\"\n", argv[1]);
		return 2;
	}
	rc = db_call_show(dbc, id, print_line, NULL);
	if (rc == -ENOENT)
		fprintf(stderr, "linlictl: no call %" PRId64 "\n", id);
	else if (rc < 0)
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
	return rc < 0;
}

static int cmd_incident(void *ctx, struct db_context *dbc, int argc, char **argv)
{
	struct db_sos_incident inc;
	int64_t id;
	char *end;
	int rc;

	if (argc >= 1 && !strcmp(argv[0], "list") && argc <= 2) {
		int limit = argc == 2 ? atoi(argv[1]) : 20;

		return db_sos_incident_list(dbc, limit > 0 ? limit : 20, print_line, NULL) < 0;
	}
	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	id = strtoll(argv[1], &end, 10);
	if (*end || id <= 0) {
		fprintf(stderr, "linlictl: incident ID must be a number\n");
		return 2;
	}
	if (!strcmp(argv[0], "show")) {
		rc = db_sos_incident_show(dbc, id, print_line, NULL);
	} else if (!strcmp(argv[0], "resolve") || !strcmp(argv[0], "false-alarm")) {
		rc = db_begin(dbc);
		if (rc == 0)
			rc = db_sos_incident_get(dbc, ctx, id, &inc);
		if (rc == 0 && (!strcmp(inc.state, "resolved") || !strcmp(inc.state, "false_alarm"))) {
			fprintf(stderr, "linlictl: incident %" PRId64 " is closed already (%s)\n", id, inc.state);
			db_rollback(dbc);
			return 1;
		}
		if (rc == 0) {
			char from[16];

			OSMO_STRLCPY_ARRAY(from, inc.state);
			OSMO_STRLCPY_ARRAY(inc.state, !strcmp(argv[0], "resolve") ? "resolved" : "false_alarm");
			inc.resolved_at = time(NULL);
			inc.next_at = 0;
			rc = db_sos_incident_update(dbc, &inc);
			if (rc == 0)
				rc = db_sos_event_add(dbc, id, inc.resolved_at, "linlictl", from, inc.state, NULL);
		}
		if (rc == 0)
			rc = db_commit(dbc);
		else
			db_rollback(dbc);
		if (rc == 0)
			printf("incident %" PRId64 " %s\n", id, inc.state);
	} else {
		usage(stderr);
		return 2;
	}
	if (rc == -ENOENT)
		fprintf(stderr, "linlictl: no incident %" PRId64 "\n", id);
	else if (rc < 0)
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
	return rc < 0;
}

/* One alert text on stdin -> one JSON object on stdout (the parser linlid uses). */
static int cmd_parse_alert(void *ctx)
{
	char *buf = talloc_size(ctx, 1);
	size_t len = 0, n;
	struct alert_info a;
	char json[512];

	for (;;) {
		buf = talloc_realloc_size(ctx, buf, len + 4096);
		n = fread(buf + len, 1, 4096, stdin);
		len += n;
		if (n < 4096)
			break;
		if (len > 1 << 20) {
			fprintf(stderr, "linlictl: the text is too long\n");
			return 1;
		}
	}
	/* the shell's trailing newline is not part of the message */
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	alert_parse(buf, len, &a);
	if (alert_to_json(&a, json, sizeof(json)) < 0)
		return 1;
	printf("%s\n", json);
	return 0;
}

static int cmd_watch(struct db_context *dbc, int argc, char **argv)
{
	static const char *const names[] = {"number", "interval", NULL};
	const char *v[3] = {NULL};
	char number[32], cmds[5][64];
	struct db_device dev;
	int n, rc;

	argc = take_opts(argc, argv, names, v);
	if (argc != 2 || strcmp(argv[0], "program")) {
		usage(stderr);
		return 2;
	}
	if (find_device(dbc, argv[1], &dev) < 0)
		return 1;
	if (v[0]) {
		if (!norm_or_complain(v[0], number, sizeof(number)))
			return 1;
	} else if (db_setting_get(dbc, "community-number", number, sizeof(number)) < 0) {
		fprintf(stderr, "linlictl: no community number: give --number or set community-number in linlid's "
				"config (linlid stores it at start)\n");
		return 1;
	}
	n = sos_program_cmds(dev.dialect, number, cmds, 4);
	if (n <= 0) {
		fprintf(stderr, "linlictl: no programming template for dialect %s; program the watch by hand\n",
			dev.dialect);
		return 1;
	}
	if (v[1]) {
		char *end;
		unsigned long min = strtoul(v[1], &end, 10);

		rc = *end || end == v[1] || min > 1440 ? -EINVAL : sos_interval_cmd(dev.dialect, min, cmds[n], 64);
		if (rc == -ENOTSUP) {
			fprintf(stderr, "linlictl: dialect %s has no report-interval command; set it by hand\n",
				dev.dialect);
			return 1;
		}
		if (rc < 0) {
			fprintf(stderr, "linlictl: --interval %s: minutes from 1 to %s\n", v[1],
				!strcmp(dev.dialect, "tk") ? "255 for a tk watch" : "1440");
			return 1;
		}
		n++;
	}
	rc = db_begin(dbc);
	for (int i = 0; i < n && rc == 0; i++) {
		int64_t id;

		rc = db_sms_out_add(dbc, dev.number, cmds[i], DB_PRIO_STAFF, &id);
		if (rc == 0)
			printf("%" PRId64 " %s\n", id, cmds[i]);
	}
	if (rc == 0)
		rc = db_device_programmed(dbc, dev.id, time(NULL), NULL);
	if (rc == 0)
		rc = db_commit(dbc);
	else
		db_rollback(dbc);
	if (rc < 0)
		fprintf(stderr, "linlictl: cannot queue the commands: %s\n", strerror(-rc));
	return rc < 0;
}

/* ---- requests (gateway/request/request.h) ---- */

static int queue_out(void *data, const char *dest, const char *text, int prio)
{
	char num[32];
	int64_t id;
	int rc = db_number_norm(dest, num, sizeof(num));

	return rc < 0 ? rc : db_sms_out_add(data, num, text, prio, &id);
}

static char *join_args(void *ctx, int argc, char **argv)
{
	char *s = talloc_strdup(ctx, "");

	for (int i = 0; i < argc; i++)
		s = talloc_asprintf_append(s, "%s%s", i ? " " : "", argv[i]);
	return s;
}

/* request list|show|assign|close|note|extend|reopen: the texts are the rules file's (routes/sms.rules when it is
 * there) or the built-in ones; the SMS are queued for linlid. */
static int cmd_request(void *ctx, struct db_context *dbc, int argc, char **argv)
{
	struct rt_rules *rules = talloc_zero(ctx, struct rt_rules);
	const char *who = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
	char actor[64], err[256], *result = NULL;
	struct rq_env e = {
		.db = dbc,
		.rules = rules,
		.ctx = ctx,
		.now = time(NULL),
		.deadline_days = 3,
		.queue = queue_out,
		.queue_data = dbc,
	};
	int rc;

	if (rt_rules_load(rules, "routes/sms.rules", err, sizeof(err)) < 0)
		e.rules = NULL;
	snprintf(actor, sizeof(actor), "staff:%s", who ? who : "linlictl");
	if (argc >= 1 && !strcmp(argv[0], "list") && argc <= 3) {
		bool all = argc >= 2 && !strcmp(argv[1], "all");
		int limit = argc > 1 + all ? atoi(argv[1 + all]) : 50;

		rc = db_request_list(dbc, !all, limit, print_line, NULL);
		return rc < 0 ? 1 : 0;
	}
	if (argc == 2 && !strcmp(argv[0], "show")) {
		rc = db_request_show(dbc, argv[1], print_line, NULL);
		if (rc == -ENOENT)
			fprintf(stderr, "linlictl: no request %s\n", argv[1]);
		return rc < 0 ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[0], "assign")) {
		rc = db_begin(dbc);
		if (rc == 0)
			rc = rq_assign(&e, argv[1], argv[2], actor, err, sizeof(err));
	} else if (argc >= 2 && !strcmp(argv[0], "close")) {
		result = talloc_strdup(ctx, "");
		for (int i = 2; i < argc; i++)
			result = talloc_asprintf_append(result, "%s%s", i > 2 ? " " : "", argv[i]);
		rc = db_begin(dbc);
		if (rc == 0)
			rc = rq_close(&e, argv[1], result, actor, err, sizeof(err));
	} else if (argc >= 3 && (!strcmp(argv[0], "note") || !strcmp(argv[0], "reopen"))) {
		result = join_args(ctx, argc - 2, argv + 2);
		rc = db_begin(dbc);
		if (rc == 0)
			rc = !strcmp(argv[0], "note") ? rq_note(&e, argv[1], result, actor, err, sizeof(err))
						      : rq_reopen(&e, argv[1], result, actor, err, sizeof(err));
	} else if (argc >= 3 && !strcmp(argv[0], "extend")) {
		/* DAYS (all digits) or a date; the reason may be missing: rq_extend says it is needed */
		bool days = strspn(argv[2], "0123456789") == strlen(argv[2]);

		result = join_args(ctx, argc - 3, argv + 3);
		rc = db_begin(dbc);
		if (rc == 0)
			rc = rq_extend(&e, argv[1], days ? (unsigned)atoi(argv[2]) : 0, days ? NULL : argv[2], result,
				       actor, err, sizeof(err));
	} else {
		usage(stderr);
		return 2;
	}
	if (rc == 0)
		rc = db_commit(dbc);
	if (rc < 0) {
		db_rollback(dbc);
		fprintf(stderr, "linlictl: %s\n", err[0] ? err : strerror(-rc));
		return 1;
	}
	if (!strcmp(argv[0], "extend") || !strcmp(argv[0], "reopen")) {
		struct db_request r;
		char due[32];

		if (db_request_get(dbc, ctx, argv[1], 0, &r) == 0) {
			rq_date(r.deadline, "en", due, sizeof(due));
			printf("%s %s, due %s\n", argv[1], r.state, due);
			return 0;
		}
	}
	printf("%s %s\n", argv[1],
	       !strcmp(argv[0], "assign")  ? "dispatched"
	       : !strcmp(argv[0], "note")  ? "noted"
	       : !strcmp(argv[0], "close") ? "closed"
					   : "done");
	return 0;
}

/* ---- errands, points, registration, holidays (gateway/request/errand.c) ---- */

/* The request environment of linlictl: the rules file's texts (or the built-in ones), the real
 * clock, SMS queued for linlid. */
static void ctl_env(void *ctx, struct db_context *dbc, struct rq_env *e, char *actor, size_t actorlen)
{
	struct rt_rules *rules = talloc_zero(ctx, struct rt_rules);
	const char *user = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
	char err[256];

	memset(e, 0, sizeof(*e));
	e->db = dbc;
	e->rules = rt_rules_load(rules, "routes/sms.rules", err, sizeof(err)) < 0 ? NULL : rules;
	e->ctx = ctx;
	e->now = time(NULL);
	e->deadline_days = 3;
	e->queue = queue_out;
	e->queue_data = dbc;
	snprintf(actor, actorlen, "staff:%s", user ? user : "linlictl");
}

/* Commit when rc is 0, else roll back and say why (err, or the errno). Exit status. */
static int ctl_finish(struct db_context *dbc, int rc, const char *err)
{
	if (rc == 0)
		rc = db_commit(dbc);
	if (rc < 0) {
		db_rollback(dbc);
		fprintf(stderr, "linlictl: %s\n", err && err[0] ? err : strerror(-rc));
		return 1;
	}
	return 0;
}

static int cmd_points(void *ctx, struct db_context *dbc, int argc, char **argv)
{
	char actor[64], err[256] = "", num[32], *end;
	struct rq_env e;
	int64_t balance;
	long n;
	int rc;

	if (argc >= 1 && argc <= 2 && !strcmp(argv[0], "list")) {
		if (argc == 2 && !norm_or_complain(argv[1], num, sizeof(num)))
			return 1;
		rc = db_points_list(dbc, argc == 2 ? num : NULL, print_line, NULL);
		if (rc == -ENOENT)
			fprintf(stderr, "linlictl: %s is not a phone in the database\n", argv[1]);
		else if (rc == 0 && argc == 1)
			printf("(no points yet)\n");
		return rc < 0;
	}
	if (argc < 4 || strcmp(argv[0], "add")) {
		usage(stderr);
		return 2;
	}
	n = strtol(argv[2], &end, 10);
	if (*end || end == argv[2]) {
		fprintf(stderr, "linlictl: points must be a whole number, not \"%s\"\n", argv[2]);
		return 2;
	}
	ctl_env(ctx, dbc, &e, actor, sizeof(actor));
	rc = db_begin(dbc);
	if (rc == 0)
		rc = rq_points_award(&e, argv[1], n, join_args(ctx, argc - 3, argv + 3), actor, &balance, err,
				     sizeof(err));
	if (ctl_finish(dbc, rc, err))
		return 1;
	printf("%s %+ld, balance %" PRId64 "\n", argv[1], n, balance);
	return 0;
}

static int cmd_register(void *ctx, struct db_context *dbc, int argc, char **argv)
{
	char actor[64], err[256] = "";
	struct rq_env e;
	int rc;

	if (argc >= 1 && argc <= 2 && !strcmp(argv[0], "list")) {
		if (argc == 2 && strcmp(argv[1], "all")) {
			usage(stderr);
			return 2;
		}
		rc = db_registration_list(dbc, argc == 2, print_line, NULL);
		if (rc == 0)
			printf("(no %sregistrations)\n", argc == 2 ? "" : "pending ");
		return rc < 0;
	}
	if (argc < 2 || (strcmp(argv[0], "approve") && strcmp(argv[0], "reject")) ||
	    (!strcmp(argv[0], "approve") && argc > 3)) {
		usage(stderr);
		return 2;
	}
	ctl_env(ctx, dbc, &e, actor, sizeof(actor));
	rc = db_begin(dbc);
	if (rc == 0 && !strcmp(argv[0], "approve"))
		rc = rq_register_approve(&e, argv[1], argc == 3 ? argv[2] : NULL, actor, err, sizeof(err));
	else if (rc == 0)
		rc = rq_register_reject(&e, argv[1], join_args(ctx, argc - 2, argv + 2), actor, err, sizeof(err));
	if (ctl_finish(dbc, rc, err))
		return 1;
	printf("%s %s\n", argv[1], !strcmp(argv[0], "approve") ? "approved" : "rejected");
	return 0;
}

static int cmd_holiday(void *ctx, struct db_context *dbc, int argc, char **argv)
{
	char date[11];
	bool replaced;
	int rc;

	if (argc >= 1 && argc <= 2 && !strcmp(argv[0], "list")) {
		if (argc == 2 && rq_date_parse(argv[1], date) < 0) {
			fprintf(stderr, "linlictl: \"%s\" is not a date (YYYY-MM-DD)\n", argv[1]);
			return 2;
		}
		rc = db_holiday_list(dbc, argc == 2 ? date : NULL, print_line, NULL);
		if (rc == 0)
			printf("(no entries: weekends only)\n");
		return rc < 0;
	}
	if (argc < 2 || (strcmp(argv[0], "add") && strcmp(argv[0], "remove")) ||
	    (!strcmp(argv[0], "add") && argc < 3) || (!strcmp(argv[0], "remove") && argc != 2)) {
		usage(stderr);
		return 2;
	}
	if (rq_date_parse(argv[1], date) < 0) {
		fprintf(stderr, "linlictl: \"%s\" is not a date (YYYY-MM-DD)\n", argv[1]);
		return 2;
	}
	if (!strcmp(argv[0], "remove")) {
		rc = db_holiday_remove(dbc, date);
		if (rc == -ENOENT)
			fprintf(stderr, "linlictl: %s is not in the holiday table\n", date);
		else if (rc < 0)
			fprintf(stderr, "linlictl: %s\n", strerror(-rc));
		else
			printf("%s removed\n", date);
		return rc < 0;
	}
	if (strcmp(argv[2], "holiday") && strcmp(argv[2], "workday")) {
		fprintf(stderr,
			"linlictl: the kind is \"holiday\" (a day off) or \"workday\" (调休, a weekend worked), "
			"not \"%s\"\n",
			argv[2]);
		return 2;
	}
	rc = db_holiday_set(dbc, date, !strcmp(argv[2], "holiday") ? "off" : "workday",
			    join_args(ctx, argc - 3, argv + 3), &replaced);
	if (rc < 0) {
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
		return 1;
	}
	printf("%s %s %s\n", date, argv[2], replaced ? "updated" : "added");
	return 0;
}

int main(int argc, char **argv)
{
	void *root = talloc_named_const(NULL, 0, "linlictl");
	const char *db_path = "var/linli.db", *community = NULL;
	struct db_context *dbc = NULL;
	const char *cmd;
	int opt, rc = 2;

	osmo_init_logging2(root, &linlictl_log_info);
	log_set_print_filename2(osmo_stderr_target, LOG_FILENAME_NONE);
	log_set_print_category_hex(osmo_stderr_target, 0);
	log_set_use_color(osmo_stderr_target, 0);
	log_set_category_filter(osmo_stderr_target, DLGLOBAL, 1, LOGL_NOTICE);

	while ((opt = getopt(argc, argv, "+d:C:h")) != -1) {
		switch (opt) {
		case 'd':
			db_path = optarg;
			break;
		case 'C':
			community = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		goto out;
	}
	cmd = argv[0];
	if (strcmp(cmd, "init") && strcmp(cmd, "import") && strcmp(cmd, "import-all") && strcmp(cmd, "send") &&
	    strcmp(cmd, "sms") && strcmp(cmd, "stats") && strcmp(cmd, "device") && strcmp(cmd, "bind") &&
	    strcmp(cmd, "incident") && strcmp(cmd, "parse-alert") && strcmp(cmd, "watch") && strcmp(cmd, "request") &&
	    strcmp(cmd, "points") && strcmp(cmd, "register") && strcmp(cmd, "holiday") && strcmp(cmd, "call") &&
	    strcmp(cmd, "sip") && strcmp(cmd, "token") && strcmp(cmd, "district") && strcmp(cmd, "broadcast") &&
	    strcmp(cmd, "optout") && strcmp(cmd, "sender") && strcmp(cmd, "backup") && strcmp(cmd, "restore")) {
		fprintf(stderr, "linlictl: unknown command \"%s\"\n", cmd);
		usage(stderr);
		goto out;
	}
	if ((!strcmp(cmd, "import") && argc != 3) || (!strcmp(cmd, "import-all") && argc != 2) ||
	    ((!strcmp(cmd, "init") || !strcmp(cmd, "stats")) && argc != 1)) {
		usage(stderr);
		goto out;
	}

	if (!strcmp(cmd, "parse-alert")) {
		rc = argc == 1 ? cmd_parse_alert(root) : 2;
		goto out;
	}
	if (!strcmp(cmd, "restore")) {
		rc = argc == 2 ? cmd_restore(root, db_path, argv[1]) : 2;
		if (rc == 2)
			usage(stderr);
		goto out;
	}
	if (!strcmp(cmd, "backup") && argc != 2) {
		usage(stderr);
		goto out;
	}
	if (!db_is_url(db_path))
		make_parent(root, db_path);
	rc = db_open_community(root, db_path, community, &dbc);
	if (rc < 0) {
		fprintf(stderr, "linlictl: cannot open the database %s: %s\n", db_path_shown(root, db_path),
			strerror(-rc));
		rc = 1;
		goto out;
	}
	if (!strcmp(cmd, "init")) {
		printf("%s: version %d\n", db_path, db_version(dbc));
		rc = 0;
	} else if (!strcmp(cmd, "backup")) {
		rc = cmd_backup(dbc, db_path, argv[1]);
	} else if (!strcmp(cmd, "import")) {
		rc = cmd_import(root, dbc, argv[1], argv[2]);
	} else if (!strcmp(cmd, "import-all")) {
		rc = cmd_import_all(root, dbc, argv[1]);
	} else if (!strcmp(cmd, "send")) {
		rc = cmd_send(root, dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "sms")) {
		rc = cmd_sms(dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "device")) {
		rc = cmd_device(dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "bind")) {
		rc = cmd_bind(dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "incident")) {
		rc = cmd_incident(root, dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "watch")) {
		rc = cmd_watch(dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "request")) {
		rc = cmd_request(root, dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "points")) {
		rc = cmd_points(root, dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "register")) {
		rc = cmd_register(root, dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "holiday")) {
		rc = cmd_holiday(root, dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "call")) {
		rc = cmd_call(dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "token")) {
		rc = cmd_token(dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "district")) {
		rc = cmd_district(dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "sip")) {
		rc = sip_ctl_cmd(dbc, argc - 1, argv + 1); /* gateway/sip/sip_ctl.c */
	} else if (!strcmp(cmd, "sender")) {
		rc = cmd_sender(dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "broadcast") || !strcmp(cmd, "optout")) {
		rc = nt_ctl_cmd(root, dbc, cmd, argc - 1, argv + 1); /* gateway/notice/notice_ctl.c */
	} else {
		rc = cmd_stats(dbc);
	}
	db_close(dbc);
out:
	log_fini();
	talloc_free(root);
	return rc;
}
