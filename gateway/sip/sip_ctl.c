/* `linlictl sip ...`: what Kamailio (routes/kamailio.cfg) and the SIP channel read from the
 * community database: SIP accounts of household phones, peers allowed by address, and which
 * numbers linlid texts by SIP MESSAGE. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/db_sip.h"
#include "gateway/sip/sip_msg.h"

static void print_line(void *data, const char *line)
{
	(void)data;
	printf("%s\n", line);
}

/* "IP" or "IP:PORT" (IPv4) into ip/port; -EINVAL otherwise. */
static int parse_peer(const char *s, char *ip, size_t iplen, int *port)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	struct in_addr a;
	char *end;

	if (n == 0 || n >= iplen)
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1)
		return -EINVAL;
	*port = 0;
	if (colon) {
		long p = strtol(colon + 1, &end, 10);

		if (!colon[1] || *end || p < 1 || p > 65535)
			return -EINVAL;
		*port = (int)p;
	}
	return 0;
}

static int number_arg(const char *in, char *out, size_t len)
{
	if (db_number_norm(in, out, len) < 0) {
		fprintf(stderr, "linlictl: \"%s\" is not a phone number\n", in);
		return -EINVAL;
	}
	return 0;
}

int sip_ctl_cmd(struct db_context *dbc, int argc, char **argv)
{
	char num[32], ip[32];
	int rc, port, grp;

	if (argc == 3 && !strcmp(argv[0], "account")) {
		if (number_arg(argv[1], num, sizeof(num)) < 0)
			return 1;
		rc = db_sip_account_set(dbc, num, argv[2]);
		if (rc == -ENOENT) {
			fprintf(stderr, "linlictl: %s is not a phone of the community database\n", num);
			return 1;
		}
		if (rc < 0) {
			fprintf(stderr, "linlictl: cannot set the SIP account of %s: %s\n", num, strerror(-rc));
			return 1;
		}
		printf("%s may register and send SIP MESSAGE (user name %s)\n", num, num);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[0], "account-del")) {
		if (number_arg(argv[1], num, sizeof(num)) < 0)
			return 1;
		rc = db_sip_account_del(dbc, num);
		if (rc < 0) {
			fprintf(stderr, "linlictl: %s has no SIP account\n", num);
			return 1;
		}
		printf("%s: SIP account removed\n", num);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[0], "channel") && (!strcmp(argv[2], "gsm") || !strcmp(argv[2], "sip"))) {
		if (number_arg(argv[1], num, sizeof(num)) < 0)
			return 1;
		rc = db_phone_set_channel(dbc, num, argv[2]);
		if (rc == -ENOENT) {
			fprintf(stderr, "linlictl: %s is not a phone of the community database\n", num);
			return 1;
		}
		if (rc < 0) {
			fprintf(stderr, "linlictl: cannot set the channel of %s: %s\n", num, strerror(-rc));
			return 1;
		}
		printf("%s is texted by %s\n", num, !strcmp(argv[2], "sip") ? "SIP MESSAGE" : "SMS");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[0], "peer") && !strcmp(argv[1], "list")) {
		rc = db_sip_peer_list(dbc, print_line, NULL);
		return rc < 0 ? 1 : 0;
	}
	if (argc == 4 && !strcmp(argv[0], "peer") && (!strcmp(argv[1], "add") || !strcmp(argv[1], "del")) &&
	    (!strcmp(argv[3], "trunk") || !strcmp(argv[3], "ua"))) {
		if (parse_peer(argv[2], ip, sizeof(ip), &port) < 0) {
			fprintf(stderr, "linlictl: \"%s\" is not IPv4-ADDRESS[:PORT]\n", argv[2]);
			return 1;
		}
		grp = !strcmp(argv[3], "trunk") ? 1 : 2;
		if (!strcmp(argv[1], "add"))
			rc = db_sip_peer_add(dbc, grp, ip, port);
		else
			rc = db_sip_peer_del(dbc, grp, ip, port);
		if (rc == -EEXIST || rc == -ENOENT) {
			fprintf(stderr, "linlictl: %s %s:%d is %s\n", argv[3], ip, port,
				rc == -EEXIST ? "allowed already" : "not in the list");
			return 1;
		}
		if (rc < 0) {
			fprintf(stderr, "linlictl: cannot change the peers: %s\n", strerror(-rc));
			return 1;
		}
		printf("%s %s:%d %s; restart Kamailio to apply\n", argv[3], ip, port,
		       !strcmp(argv[1], "add") ? "allowed" : "removed");
		return 0;
	}
	fprintf(stderr, "usage: linlictl sip ...\n" SIP_CTL_USAGE);
	return 2;
}
