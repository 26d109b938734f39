/* The send API's delivery callbacks (POST /api/v1/sms with callback_url): the sender is told by
 * a POST of JSON {"id", "to", "state", "error", "at"} when its message is sent, then delivered
 * or failed. A try that gets no 2xx is repeated after 2, 4, 8 ... s (at most an hour), up to
 * CB_TRIES_MAX times per event; each try is a row of sms_callback. One try at a time, on the
 * main loop with a non-blocking socket: a slow or dead receiver never holds anything up.
 *
 * Only to hosts the operator allowed (`http-callback-allow HOST` in the gateway node), and HOST
 * is an IPv4 address or "localhost": names are not resolved, because a resolver that hangs
 * would hang the loop (and the SOS alerts with it). Plain http:// only. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/select.h>
#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>
#include <osmocom/vty/command.h>
#include <osmocom/vty/vty.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/core/http_priv.h"

#define CB_HOSTS_MAX   16
#define CB_TRIES_MAX   8  /* per event */
#define CB_TIMEOUT_S   10 /* one try, connect to answer */
#define CB_SCAN_S      2  /* how often the database is asked for due callbacks */
#define CB_BACKOFF_MAX 3600

struct cb_url {
	char host[64];
	struct sockaddr_in sa;
	char path[448];
};

static struct {
	struct gw *gw;
	char host[CB_HOSTS_MAX][64];
	unsigned nhost;
	bool running;
	struct osmo_timer_list scan, timeout;
	struct osmo_fd ofd;
	bool busy;
	struct db_callback cur;
	char *req; /* talloc'd: the request being written */
	size_t req_len, req_off;
	char resp[256];
	size_t resp_len;
} CB;

static bool host_allowed(const char *host)
{
	for (unsigned i = 0; i < CB.nhost; i++)
		if (!strcasecmp(CB.host[i], host))
			return true;
	return false;
}

static bool host_literal(const char *host, struct in_addr *a)
{
	if (!strcasecmp(host, "localhost"))
		host = "127.0.0.1";
	return inet_pton(AF_INET, host, a) == 1;
}

/* http://HOST[:PORT][/PATH]: 0, or -EINVAL / -EPERM (host not allowed) with why. */
static int parse_url(const char *url, struct cb_url *u, char *why, size_t len)
{
	const char *p, *h;
	size_t hl;
	long port = 80;

	memset(u, 0, sizeof(*u));
	u->sa.sin_family = AF_INET;
	for (p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(why, len, "callback_url has a space or a control character");
			return -EINVAL;
		}
	if (strncasecmp(url, "http://", 7) || strlen(url) >= 500) {
		snprintf(why, len, "callback_url must be http://HOST[:PORT]/PATH (under 500 bytes)");
		return -EINVAL;
	}
	h = url + 7;
	hl = strcspn(h, ":/?#");
	if (!hl || hl >= sizeof(u->host) || memchr(h, '@', strcspn(h, "/?#"))) {
		snprintf(why, len, "callback_url: no host, or a user name in it");
		return -EINVAL;
	}
	memcpy(u->host, h, hl);
	p = h + hl;
	if (*p == ':') {
		char *end;

		port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/' && *end != '?')) {
			snprintf(why, len, "callback_url: a bad port");
			return -EINVAL;
		}
		p = end;
	}
	if (*p == '#') {
		snprintf(why, len, "callback_url: no fragment please");
		return -EINVAL;
	}
	snprintf(u->path, sizeof(u->path), "%s%s", *p == '/' ? "" : "/", p);
	if (!host_literal(u->host, &u->sa.sin_addr)) {
		snprintf(why, len,
			 "callback_url: the host must be an IPv4 address or localhost (names are not resolved)");
		return -EINVAL;
	}
	if (!host_allowed(u->host)) {
		snprintf(why, len, "callback_url: host %s is not allowed (http-callback-allow)", u->host);
		return -EPERM;
	}
	u->sa.sin_port = htons(port);
	return 0;
}

int gw_http_callback_check(const char *url, char *why, size_t len)
{
	struct cb_url u;

	return parse_url(url, &u, why, len);
}

static void scan_soon(unsigned s)
{
	if (CB.running && !CB.busy)
		osmo_timer_schedule(&CB.scan, s, 0);
}

/* The try is over: answer status (0: none) or why it failed. */
static void finish(int status, const char *error)
{
	struct db_callback *c = &CB.cur;
	bool ok = status >= 200 && status < 300;
	bool told = ok || c->tries + 1 >= CB_TRIES_MAX;
	int64_t now = gw_now();
	unsigned shift = c->tries > 10 ? 10 : c->tries;
	int64_t delay = (int64_t)2 << shift;
	char err[96];
	int rc;

	if (CB.ofd.fd >= 0) {
		osmo_fd_unregister(&CB.ofd);
		close(CB.ofd.fd);
		CB.ofd.fd = -1;
	}
	osmo_timer_del(&CB.timeout);
	TALLOC_FREE(CB.req);
	CB.busy = false;
	if (!ok && !error) {
		snprintf(err, sizeof(err), "answered %d", status);
		error = err;
	}
	rc = db_callback_result(CB.gw->db, c->id, c->event, status, ok ? NULL : error, told, now,
				now + (delay > CB_BACKOFF_MAX ? CB_BACKOFF_MAX : delay));
	if (rc < 0) {
		gw_ctr_inc(CB.gw, GW_CTR_DB_ERRORS);
		LOGP(DGW, LOGL_ERROR, "callback of message %" PRId64 ": cannot record the try: %s\n", c->id,
		     strerror(-rc));
	}
	if (ok)
		LOGP(DGW, LOGL_INFO, "callback of message %" PRId64 " (%s) told, %d\n", c->id, c->event, status);
	else
		LOGP(DGW, told ? LOGL_ERROR : LOGL_NOTICE, "callback of message %" PRId64 " (%s) failed (%s)%s\n",
		     c->id, c->event, error, told ? ": given up" : ", will try again");
	scan_soon(0);
}

static void timeout_cb(void *data)
{
	(void)data;
	finish(0, "no answer in time");
}

static int fd_cb(struct osmo_fd *ofd, unsigned int what)
{
	ssize_t n;

	if (what & OSMO_FD_WRITE) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (!CB.req_off && (getsockopt(ofd->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err)) {
			finish(0, strerror(err ? err : errno));
			return 0;
		}
		n = write(ofd->fd, CB.req + CB.req_off, CB.req_len - CB.req_off);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				finish(0, strerror(errno));
			return 0;
		}
		CB.req_off += n;
		if (CB.req_off == CB.req_len) {
			osmo_fd_write_disable(ofd);
			osmo_fd_read_enable(ofd);
		}
		return 0;
	}
	if (what & OSMO_FD_READ) {
		char *eol;
		int status = 0;

		n = read(ofd->fd, CB.resp + CB.resp_len, sizeof(CB.resp) - 1 - CB.resp_len);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				finish(0, strerror(errno));
			return 0;
		}
		CB.resp_len += n;
		CB.resp[CB.resp_len] = '\0';
		eol = strstr(CB.resp, "\r\n");
		/* the status line is all that is needed */
		if (!eol && n > 0 && CB.resp_len < sizeof(CB.resp) - 1)
			return 0;
		if (sscanf(CB.resp, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 100 || status > 599)
			finish(0, "not an HTTP answer");
		else
			finish(status, NULL);
	}
	return 0;
}

static int start_try(const struct db_callback *c)
{
	struct cb_url u;
	char why[160];
	json_t *j;
	char *body;
	int fd, rc;

	CB.cur = *c;
	CB.busy = true;
	CB.resp_len = 0;
	CB.ofd.fd = -1;
	rc = parse_url(c->url, &u, why, sizeof(why));
	if (rc < 0) {
		/* e.g. the operator took the host off the list since: nothing more to try */
		CB.cur.tries = CB_TRIES_MAX;
		finish(0, why);
		return 0;
	}
	j = json_pack("{s:I,s:s,s:s,s:s*,s:o}", "id", (json_int_t)c->id, "to", c->dest, "state", c->event, "error",
		      c->error[0] ? c->error : NULL, "at", gw_http_time(gw_now()));
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!body) {
		finish(0, "out of memory");
		return -ENOMEM;
	}
	CB.req = talloc_asprintf(CB.gw->ctx,
				 "POST %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: linlid\r\n"
				 "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
				 u.path, u.host, ntohs(u.sa.sin_port), strlen(body), body);
	free(body);
	if (!CB.req) {
		finish(0, "out of memory");
		return -ENOMEM;
	}
	CB.req_len = strlen(CB.req);
	CB.req_off = 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		finish(0, strerror(errno));
		return 0;
	}
	if (connect(fd, (struct sockaddr *)&u.sa, sizeof(u.sa)) < 0 && errno != EINPROGRESS) {
		rc = errno;
		close(fd);
		finish(0, strerror(rc));
		return 0;
	}
	osmo_fd_setup(&CB.ofd, fd, OSMO_FD_WRITE, fd_cb, NULL, 0);
	if (osmo_fd_register(&CB.ofd) < 0) {
		close(fd);
		CB.ofd.fd = -1;
		finish(0, "cannot watch the socket");
		return 0;
	}
	osmo_timer_schedule(&CB.timeout, CB_TIMEOUT_S, 0);
	return 0;
}

static void scan_cb(void *data)
{
	void *tmp = talloc_new(CB.gw->ctx);
	struct db_callback *c;
	int n;

	(void)data;
	if (CB.busy || !CB.running) {
		talloc_free(tmp);
		return;
	}
	n = db_callback_due(CB.gw->db, tmp, gw_now(), 1, &c);
	if (n < 0)
		gw_ctr_inc(CB.gw, GW_CTR_DB_ERRORS);
	if (n > 0)
		start_try(&c[0]);
	talloc_free(tmp);
	if (!CB.busy)
		scan_soon(CB_SCAN_S);
}

void gw_http_callback_start(struct gw *gw)
{
	CB.gw = gw;
	CB.ofd.fd = -1;
	osmo_timer_setup(&CB.scan, scan_cb, NULL);
	osmo_timer_setup(&CB.timeout, timeout_cb, NULL);
	CB.running = true;
	scan_soon(0);
}

void gw_http_callback_stop(void)
{
	if (!CB.running)
		return;
	CB.running = false;
	osmo_timer_del(&CB.scan);
	osmo_timer_del(&CB.timeout);
	if (CB.busy && CB.ofd.fd >= 0) {
		/* not recorded: the event is still due after a restart */
		osmo_fd_unregister(&CB.ofd);
		close(CB.ofd.fd);
		CB.ofd.fd = -1;
	}
	TALLOC_FREE(CB.req);
	CB.busy = false;
}

/* ---- http-callback-allow HOST ---- */

DEFUN(cfg_cb_allow, cfg_cb_allow_cmd, "http-callback-allow HOST",
      "Let the send API's delivery callbacks go to this host\nAn IPv4 address or localhost\n")
{
	struct in_addr a;

	if (!host_literal(argv[0], &a) || strlen(argv[0]) >= sizeof(CB.host[0])) {
		vty_out(vty, "%% %s: an IPv4 address or localhost (names are not resolved)%s", argv[0], VTY_NEWLINE);
		return CMD_WARNING;
	}
	if (host_allowed(argv[0]))
		return CMD_SUCCESS;
	if (CB.nhost == CB_HOSTS_MAX) {
		vty_out(vty, "%% at most %u callback hosts%s", CB_HOSTS_MAX, VTY_NEWLINE);
		return CMD_WARNING;
	}
	OSMO_STRLCPY_ARRAY(CB.host[CB.nhost], argv[0]);
	CB.nhost++;
	return CMD_SUCCESS;
}

DEFUN(cfg_no_cb_allow, cfg_no_cb_allow_cmd, "no http-callback-allow HOST",
      NO_STR "Let the send API's delivery callbacks go to this host\nThe host\n")
{
	for (unsigned i = 0; i < CB.nhost; i++) {
		if (strcasecmp(CB.host[i], argv[0]))
			continue;
		memmove(CB.host[i], CB.host[i + 1], (CB.nhost - i - 1) * sizeof(CB.host[0]));
		CB.nhost--;
		return CMD_SUCCESS;
	}
	vty_out(vty, "%% %s is not on the list%s", argv[0], VTY_NEWLINE);
	return CMD_WARNING;
}

void gw_http_callback_write(struct vty *vty)
{
	for (unsigned i = 0; i < CB.nhost; i++)
		vty_out(vty, " http-callback-allow %s%s", CB.host[i], VTY_NEWLINE);
}

void gw_http_callback_vty_init(int node)
{
	install_element(node, &cfg_cb_allow_cmd);
	install_element(node, &cfg_no_cb_allow_cmd);
}
