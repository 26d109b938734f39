/* linlictl: the operator's command line on the community database.
 *
 *   linlictl [-d DB] init                         create or upgrade the database, print its version
 *   linlictl [-d DB] import KIND FILE.csv         KIND: grids, groups, households, phones
 *   linlictl [-d DB] import-all DIR               DIR/grids.csv, groups.csv, households.csv, phones.csv
 *   linlictl [-d DB] send NUMBER TEXT...          queue an SMS (priority "reply"), print its id
 *   linlictl [-d DB] sms in|out [N]               the newest N messages (20)
 *   linlictl [-d DB] stats                        queue counts and counters
 *
 * Exit status: 0 done, 1 failed, 2 wrong usage. */

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <talloc.h>
#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "db/import.h"

static const struct log_info linlictl_log_info = {
	.cat = NULL,
	.num_cat = 0,
};

static void usage(FILE *out)
{
	fprintf(out, "usage: linlictl [-d DBPATH] COMMAND\n"
		     "  init                          create or upgrade the database, print its version\n"
		     "  import KIND FILE.csv          KIND: grids, groups, households or phones\n"
		     "  import-all DIR                DIR/{grids,groups,households,phones}.csv, in that order\n"
		     "  send NUMBER TEXT...           queue an SMS, print its id\n"
		     "  sms in|out [N]                list the newest N messages (default 20)\n"
		     "  stats                         queue counts per state and the counters\n"
		     "DBPATH defaults to var/linli.db.\n");
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
	if (!db_utf8_valid(text, strlen(text))) {
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

int main(int argc, char **argv)
{
	void *root = talloc_named_const(NULL, 0, "linlictl");
	const char *db_path = "var/linli.db";
	struct db_context *dbc = NULL;
	const char *cmd;
	int opt, rc = 2;

	osmo_init_logging2(root, &linlictl_log_info);
	log_set_print_filename2(osmo_stderr_target, LOG_FILENAME_NONE);
	log_set_print_category_hex(osmo_stderr_target, 0);
	log_set_use_color(osmo_stderr_target, 0);
	log_set_category_filter(osmo_stderr_target, DLGLOBAL, 1, LOGL_NOTICE);

	while ((opt = getopt(argc, argv, "+d:h")) != -1) {
		switch (opt) {
		case 'd':
			db_path = optarg;
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
	    strcmp(cmd, "sms") && strcmp(cmd, "stats")) {
		fprintf(stderr, "linlictl: unknown command \"%s\"\n", cmd);
		usage(stderr);
		goto out;
	}
	if ((!strcmp(cmd, "import") && argc != 3) || (!strcmp(cmd, "import-all") && argc != 2) ||
	    ((!strcmp(cmd, "init") || !strcmp(cmd, "stats")) && argc != 1)) {
		usage(stderr);
		goto out;
	}

	make_parent(root, db_path);
	rc = db_open(root, db_path, &dbc);
	if (rc < 0) {
		fprintf(stderr, "linlictl: cannot open the database %s: %s\n", db_path, strerror(-rc));
		rc = 1;
		goto out;
	}
	if (!strcmp(cmd, "init")) {
		printf("%s: version %d\n", db_path, db_version(dbc));
		rc = 0;
	} else if (!strcmp(cmd, "import")) {
		rc = cmd_import(root, dbc, argv[1], argv[2]);
	} else if (!strcmp(cmd, "import-all")) {
		rc = cmd_import_all(root, dbc, argv[1]);
	} else if (!strcmp(cmd, "send")) {
		rc = cmd_send(root, dbc, argc - 1, argv + 1);
	} else if (!strcmp(cmd, "sms")) {
		rc = cmd_sms(dbc, argc - 1, argv + 1);
	} else {
		rc = cmd_stats(dbc);
	}
	db_close(dbc);
out:
	log_fini();
	talloc_free(root);
	return rc;
}
