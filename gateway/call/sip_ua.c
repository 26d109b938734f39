/* sofia-sip inside linlid: its su_root as a glib source in a GMainContext of our own, and that
 * context polled from the osmocom select loop.
 *
 * The usual external-loop recipe for glib: prepare + query give the fds to wait for and a
 * timeout; the fds are registered as osmo_fds and the timeout becomes an osmo_timer; when an fd
 * is ready or the timer fires, a zero-delay osmo_timer ("kick") runs check + dispatch, then
 * prepare + query again. The kick runs from the timer list, never from inside osmo_fd dispatch,
 * so osmo_fds are (un)registered only between polls. */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include <glib.h>
#include <talloc.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/select.h>
#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>

#include <sofia-sip/nua.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_log.h>

#include "gateway/core/gw.h"
#include "gateway/call/sip_ua.h"

#define PUMP_MAX_FDS 64

struct glib_pump {
	GMainContext *ctx;
	gint max_prio;
	bool prepared; /* prepare + query done, check pending */
	GPollFD fds[PUMP_MAX_FDS];
	int nfds;
	struct osmo_fd ofd[PUMP_MAX_FDS];
	bool ofd_used[PUMP_MAX_FDS];
	struct osmo_timer_list timeout; /* glib's own timeout */
	struct osmo_timer_list kick;	/* run check + dispatch on the next loop round */
};

static struct {
	struct glib_pump pump;
	su_home_t home[1];
	su_root_t *root;
	GSource *source;
	nua_t *nua;
	bool running, shutdown_done;
} ua;

static void pump_kick(struct glib_pump *p)
{
	if (!osmo_timer_pending(&p->kick))
		osmo_timer_schedule(&p->kick, 0, 0);
}

static int pump_fd_cb(struct osmo_fd *ofd, unsigned int what)
{
	struct glib_pump *p = ofd->data;

	(void)what;
	/* osmo_fd folds POLLERR/POLLHUP into "read"; glib (and sofia's tport, which clears a socket
	 * error only when told POLLERR) needs the exact bits: ask poll() for them. This also drops a
	 * readiness that an earlier dispatch already consumed. */
	for (int i = 0; i < p->nfds; i++) {
		struct pollfd pfd = {.fd = ofd->fd, .events = p->fds[i].events};

		if (p->fds[i].fd != ofd->fd)
			continue;
		if (poll(&pfd, 1, 0) > 0)
			p->fds[i].revents |= pfd.revents;
	}
	/* glib has not consumed it yet: stop polling this fd until the next query */
	osmo_fd_write_disable(ofd);
	osmo_fd_read_disable(ofd);
	pump_kick(p);
	return 0;
}

static unsigned int gio_to_when(gushort events)
{
	unsigned int when = 0;

	if (events & (G_IO_IN | G_IO_HUP | G_IO_ERR))
		when |= OSMO_FD_READ;
	if (events & G_IO_OUT)
		when |= OSMO_FD_WRITE;
	if (events & G_IO_PRI)
		when |= OSMO_FD_EXCEPT;
	return when;
}

/* Make the registered osmo_fds match p->fds: keep the ones still wanted (with their new
 * interest), drop the others, add the new ones. */
static void pump_sync_fds(struct glib_pump *p)
{
	for (int s = 0; s < PUMP_MAX_FDS; s++) {
		bool wanted = false;

		if (!p->ofd_used[s])
			continue;
		for (int i = 0; i < p->nfds; i++)
			if (p->fds[i].fd == p->ofd[s].fd)
				wanted = true;
		if (!wanted) {
			osmo_fd_unregister(&p->ofd[s]);
			p->ofd_used[s] = false;
		}
	}
	for (int i = 0; i < p->nfds; i++) {
		int s, free_slot = -1;
		unsigned int when = 0;

		/* glib may list one fd twice (several sources): wait for the union */
		for (int j = 0; j < p->nfds; j++)
			if (p->fds[j].fd == p->fds[i].fd)
				when |= gio_to_when(p->fds[j].events);
		for (s = 0; s < PUMP_MAX_FDS; s++) {
			if (p->ofd_used[s] && p->ofd[s].fd == p->fds[i].fd)
				break;
			if (!p->ofd_used[s] && free_slot < 0)
				free_slot = s;
		}
		if (s < PUMP_MAX_FDS) {
			osmo_fd_update_when(&p->ofd[s], 0, when);
			continue;
		}
		if (free_slot < 0) {
			LOGP(DCALL, LOGL_ERROR, "sip: more than %d glib fds, fd %d not polled\n", PUMP_MAX_FDS,
			     p->fds[i].fd);
			continue;
		}
		osmo_fd_setup(&p->ofd[free_slot], p->fds[i].fd, when, pump_fd_cb, p, 0);
		if (osmo_fd_register(&p->ofd[free_slot]) < 0) {
			LOGP(DCALL, LOGL_ERROR, "sip: cannot poll glib fd %d\n", p->fds[i].fd);
			continue;
		}
		p->ofd_used[free_slot] = true;
	}
}

/* check + dispatch what is ready, then prepare + query for the next round. */
static void pump_run(void *data)
{
	struct glib_pump *p = data;
	gint timeout;
	int n;

	if (p->prepared) {
		if (g_main_context_check(p->ctx, p->max_prio, p->fds, p->nfds))
			g_main_context_dispatch(p->ctx);
		p->prepared = false;
	}
	if (!ua.running && !ua.root)
		return;

	if (g_main_context_prepare(p->ctx, &p->max_prio))
		pump_kick(p);
	n = g_main_context_query(p->ctx, p->max_prio, &timeout, p->fds, PUMP_MAX_FDS);
	if (n > PUMP_MAX_FDS) {
		LOGP(DCALL, LOGL_ERROR, "sip: glib wants %d fds, only %d polled\n", n, PUMP_MAX_FDS);
		n = PUMP_MAX_FDS;
	}
	p->nfds = n;
	for (int i = 0; i < n; i++)
		p->fds[i].revents = 0;
	p->prepared = true;
	pump_sync_fds(p);

	osmo_timer_del(&p->timeout);
	if (timeout == 0)
		pump_kick(p);
	else if (timeout > 0)
		osmo_timer_schedule(&p->timeout, timeout / 1000, (timeout % 1000) * 1000);
}

static void pump_timeout_cb(void *data)
{
	pump_kick(data);
}

static int pump_init(struct glib_pump *p)
{
	memset(p, 0, sizeof(*p));
	p->ctx = g_main_context_new();
	if (!g_main_context_acquire(p->ctx)) {
		g_main_context_unref(p->ctx);
		p->ctx = NULL;
		return -EBUSY;
	}
	osmo_timer_setup(&p->kick, pump_run, p);
	osmo_timer_setup(&p->timeout, pump_timeout_cb, p);
	return 0;
}

static void pump_fini(struct glib_pump *p)
{
	osmo_timer_del(&p->kick);
	osmo_timer_del(&p->timeout);
	for (int s = 0; s < PUMP_MAX_FDS; s++)
		if (p->ofd_used[s]) {
			osmo_fd_unregister(&p->ofd[s]);
			p->ofd_used[s] = false;
		}
	if (p->ctx) {
		g_main_context_release(p->ctx);
		g_main_context_unref(p->ctx);
		p->ctx = NULL;
	}
}

/* sofia-sip's log lines (no level is passed: TPORT_LOG/NUA_DEBUG go to debug). */
static void sofia_log(void *stream, char const *fmt, va_list ap)
{
	(void)stream;
	osmo_vlogp(DCALL, LOGL_DEBUG, __FILE__, __LINE__, 1, fmt, ap);
}

int sip_ua_start(const char *bind_ip, uint16_t port, nua_callback_f cb, nua_magic_t *magic, nua_t **nua_out)
{
	char url[96];
	int rc;

	if (ua.running)
		return -EALREADY;
	su_init();
	su_home_init(ua.home);
	su_log_redirect(su_log_default, sofia_log, NULL);
	su_log_redirect(su_log_global, sofia_log, NULL);

	rc = pump_init(&ua.pump);
	if (rc < 0)
		goto out_su;
	ua.root = su_glib_root_create(NULL);
	if (!ua.root) {
		rc = -ENOMEM;
		goto out_pump;
	}
	su_root_threading(ua.root, 0);
	ua.source = su_glib_root_gsource(ua.root);
	g_source_attach(ua.source, ua.pump.ctx);

	snprintf(url, sizeof(url), "sip:%s:%u;transport=udp", bind_ip, port);
	ua.nua = nua_create(ua.root, cb, magic, NUTAG_URL(url), NUTAG_AUTOANSWER(0), NUTAG_AUTOALERT(0),
			    NUTAG_AUTOACK(1), NUTAG_MEDIA_ENABLE(0), NUTAG_ENABLEINVITE(1), NUTAG_USER_AGENT("linlid"),
			    TAG_END());
	if (!ua.nua) {
		LOGP(DCALL, LOGL_ERROR, "sip: cannot bind the user agent to %s (address in use?)\n", url);
		rc = -EADDRINUSE;
		goto out_root;
	}
	ua.running = true;
	ua.shutdown_done = false;
	pump_run(&ua.pump);
	*nua_out = ua.nua;
	LOGP(DCALL, LOGL_NOTICE, "sip: user agent listening on %s\n", url);
	return 0;

out_root:
	su_root_destroy(ua.root);
	g_source_destroy(ua.source);
	ua.root = NULL;
out_pump:
	pump_fini(&ua.pump);
out_su:
	su_home_deinit(ua.home);
	su_deinit();
	return rc;
}

void sip_ua_shutdown_done(void)
{
	ua.shutdown_done = true;
}

static void wake_cb(void *data)
{
	(void)data;
}

bool sip_ua_run_until(bool (*done)(void), unsigned timeout_ms)
{
	struct osmo_timer_list wake = {};
	struct timespec start, now;
	bool ok;

	osmo_timer_setup(&wake, wake_cb, NULL);
	osmo_timer_schedule(&wake, timeout_ms / 1000, (timeout_ms % 1000) * 1000);
	osmo_clock_gettime(CLOCK_MONOTONIC, &start);
	while (!(ok = done())) {
		osmo_clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= (long)timeout_ms)
			break;
		/* the wake timer keeps this from blocking past the deadline */
		osmo_select_main_ctx(0);
	}
	osmo_timer_del(&wake);
	return ok;
}

static bool shutdown_finished(void)
{
	return ua.shutdown_done;
}

void sip_ua_stop(unsigned timeout_ms)
{
	if (!ua.running)
		return;
	nua_shutdown(ua.nua);
	if (!sip_ua_run_until(shutdown_finished, timeout_ms))
		LOGP(DCALL, LOGL_NOTICE, "sip: shutdown did not finish within %u ms\n", timeout_ms);
	ua.running = false;
	nua_destroy(ua.nua);
	ua.nua = NULL;
	/* the root drops the port's reference; the context holds the last one until the source is
	 * destroyed (su_glib_root_gsource() gives no reference of its own) */
	su_root_destroy(ua.root);
	g_source_destroy(ua.source);
	ua.root = NULL;
	ua.source = NULL;
	pump_fini(&ua.pump);
	su_home_deinit(ua.home);
	su_deinit();
}
