/* `linlictl broadcast ...` and `linlictl optout ...` (notice.h): an operator at the box sends a
 * notice without the SMS confirmation code (it is queued by linlid's due work at its time) and
 * looks after the opt-out list. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <talloc.h>

#include "db/db.h"
#include "gateway/notice/notice.h"

static void print_line(void *data, const char *line)
{
	(void)data;
	printf("%s\n", line);
}

static void actor(char *buf, size_t len)
{
	const char *who = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");

	snprintf(buf, len, "staff:%s", who ? who : "linlictl");
}

/* "YYYY-MM-DD HH:MM" local time; -1 when it is not one. */
static time_t parse_at(const char *s)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%d %H:%M", &tm);

	if (!end || *end)
		return -1;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static int broadcast_send(void *ctx, struct db_context *dbc, int argc, char **argv)
{
	struct db_broadcast b = {0};
	char *text = talloc_strdup(ctx, ""), label[100], when[32];
	time_t now = time(NULL), at = now;
	int64_t id;
	int n, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--at") && i + 1 < argc) {
			if ((at = parse_at(argv[++i])) < 0) {
				fprintf(stderr, "linlictl: --at wants a local time \"YYYY-MM-DD HH:MM\", not \"%s\"\n",
					argv[i]);
				return 2;
			}
			continue;
		}
		text = talloc_asprintf_append(text, "%s%s", text[0] ? " " : "", argv[i]);
	}
	if (!text[0]) {
		fprintf(stderr, "linlictl: broadcast %s: no text\n", argv[0]);
		return 2;
	}
	rc = nt_scope_parse(dbc, argv[0], &b.scope);
	if (rc == -ENOENT) {
		fprintf(stderr,
			"linlictl: no scope \"%s\": all, a role (resident, grid_worker, staff, runner), or a "
			"grid or group by code or name\n",
			argv[0]);
		return 1;
	}
	if (rc < 0 || (n = db_broadcast_count(dbc, &b.scope)) < 0) {
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
		return 1;
	}
	nt_scope_label(&b.scope, label, sizeof(label));
	if (n == 0) {
		fprintf(stderr, "linlictl: nobody to send to in %s (or all opted out)\n", label);
		return 1;
	}
	actor(b.sender, sizeof(b.sender));
	b.text = text;
	b.created = now;
	b.send_at = at < now ? now : at;
	rc = db_broadcast_add(dbc, &b, &id);
	if (rc < 0) {
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
		return 1;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&b.send_at));
	printf("notice #%" PRId64 " to %s: %d number(s) now; linlid queues it %s%s\n", id, label, n,
	       b.send_at > now ? "at " : "now", b.send_at > now ? when : "");
	return 0;
}

static int broadcast_show(void *ctx, struct db_context *dbc, const char *arg)
{
	struct db_broadcast b;
	struct db_broadcast_progress p;
	char label[100];
	int64_t id = strtoll(arg, NULL, 10);
	int rc = id > 0 ? db_broadcast_get(dbc, ctx, id, &b) : -ENOENT;

	if (rc == 0)
		rc = db_broadcast_progress(dbc, id, &p);
	if (rc < 0) {
		fprintf(stderr, "linlictl: no notice %s\n", arg);
		return 1;
	}
	printf("notice #%" PRId64 " %s to %s, by %s: %s\n", b.id, b.state,
	       nt_scope_label(&b.scope, label, sizeof(label)), b.sender, b.text);
	printf("  messages %d: queued %d, sending %d, sent %d, failed %d; delivered %d, not delivered %d\n", p.total,
	       p.queued, p.sending, p.sent, p.failed, p.delivered, p.delivery_failed);
	return 0;
}

static int broadcast_cancel(struct db_context *dbc, const char *arg)
{
	int64_t id = strtoll(arg, NULL, 10);
	int rc = db_broadcast_move(dbc, id, "scheduled", "cancelled", time(NULL), 0);

	if (rc == -ENOENT)
		rc = db_broadcast_move(dbc, id, "confirm", "cancelled", time(NULL), 0);
	if (rc < 0) {
		fprintf(stderr, "linlictl: notice %s is not waiting to be sent (see broadcast list)\n", arg);
		return 1;
	}
	printf("notice #%" PRId64 " cancelled\n", id);
	return 0;
}

static int optout_cmd(struct db_context *dbc, int argc, char **argv)
{
	char num[32], who[64];
	int rc;

	if (argc == 1 && !strcmp(argv[0], "list"))
		return db_optout_list(dbc, print_line, NULL) < 0;
	if (argc != 2 || (strcmp(argv[0], "add") && strcmp(argv[0], "remove"))) {
		fprintf(stderr, "usage: linlictl optout list | add NUMBER | remove NUMBER\n");
		return 2;
	}
	if (db_number_norm(argv[1], num, sizeof(num)) < 0) {
		fprintf(stderr, "linlictl: \"%s\" is not a phone number\n", argv[1]);
		return 1;
	}
	actor(who, sizeof(who));
	rc = db_optout_set(dbc, num, !strcmp(argv[0], "add"), who, time(NULL));
	if (rc < 0) {
		fprintf(stderr, "linlictl: %s\n", strerror(-rc));
		return 1;
	}
	printf("%s %s%s\n", num, !strcmp(argv[0], "add") ? "opted out of notices" : "receives notices again",
	       rc ? "" : " (it already was so)");
	return 0;
}

int nt_ctl_cmd(void *ctx, struct db_context *dbc, const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "optout"))
		return optout_cmd(dbc, argc, argv);
	if (argc >= 1 && !strcmp(argv[0], "list"))
		return db_broadcast_list(dbc, argc > 1 ? atoi(argv[1]) : 20, print_line, NULL) < 0;
	if (argc == 2 && !strcmp(argv[0], "show"))
		return broadcast_show(ctx, dbc, argv[1]);
	if (argc == 2 && !strcmp(argv[0], "cancel"))
		return broadcast_cancel(dbc, argv[1]);
	if (argc >= 2)
		return broadcast_send(ctx, dbc, argc, argv);
	fprintf(stderr, "usage: linlictl broadcast SCOPE TEXT... [--at 'YYYY-MM-DD HH:MM'] | list | show ID | "
			"cancel ID\n");
	return 2;
}
