/* The media of the group call: RTP legs on UDP sockets in the osmocom select loop, one 20 ms media
 * clock that mixes every conference (each joined leg gets the sum of the OTHER joined legs) and
 * plays prompts, and key presses from RFC 4733 events or in-band DTMF.
 *
 * Everything runs on the main thread. Callbacks (digits, prompt done) may free legs and
 * conferences: the code never touches a leg after calling back without checking that it still
 * exists (leg_alive()).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <osmocom/core/linuxlist.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/select.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>

#include "gateway/core/gw.h"
#include "gateway/call/media.h"
#include "gateway/call/media_dtmf.h"
#include "gateway/call/media_g711.h"

#define FRAME	    160 /* samples in 20 ms at 8 kHz */
#define FRAME_NS    20000000L
#define JB_MAX	    (3 * FRAME) /* jitter FIFO per leg: at most 60 ms kept, the oldest dropped */
#define RTP_HDR	    12
#define MAX_PKT	    1500
#define MAX_PAYLOAD (4 * FRAME) /* 80 ms of G.711 in one packet at most */
#define DROP_LOG_S  5		/* at most one log line per leg per this many seconds */
#define MAX_DIGITS  8		/* digits collected per receive callback */

struct prompt {
	struct llist_head list;
	char *name;
	uint8_t *ulaw;
	size_t len;
};

struct media_leg {
	struct llist_head list;	     /* all_legs: the media clock serves every leg */
	struct llist_head conf_list; /* conf->legs */
	struct media_conf *conf;
	uint32_t id;
	struct osmo_fd ofd;
	uint16_t lport;
	char lip[INET_ADDRSTRLEN];

	bool has_remote;
	struct sockaddr_in remote;
	int pt, te_pt;

	/* sending */
	uint16_t seq;
	uint32_t ts, ssrc;
	bool marker;
	bool sent; /* served in this tick */

	/* no RTP from the remote for silence_s (media_leg_on_silence): the peer is gone */
	struct osmo_timer_list silence_timer;
	unsigned silence_s;
	time_t rx_last;
	void (*silence_cb)(struct media_leg *leg, void *data);
	void *silence_data;

	/* receiving */
	bool rx_seen;
	uint32_t rx_ssrc;
	uint16_t rx_seq;
	int16_t fifo[JB_MAX];
	unsigned fifo_len;
	int16_t in[FRAME]; /* this tick's frame from the peer */
	struct media_te_rx te;
	struct media_inband *inband;
	char ib_digits[MAX_DIGITS];
	unsigned ib_ndigits;
	void (*dtmf_cb)(struct media_leg *leg, char digit, void *data);
	void *dtmf_data;
	void (*audio_cb)(struct media_leg *leg, const int16_t *s, size_t n, void *data);
	void *audio_data;

	/* prompts */
	const struct prompt **play;
	size_t play_n, play_i, play_pos;
	void (*play_done)(struct media_leg *leg, void *data);
	void *play_data;
	bool done_pending;

	/* packets dropped since the last log line, and why the last one was */
	unsigned drops;
	const char *drop_why;
	time_t drop_logged;
};

struct media_conf {
	struct llist_head list; /* all_confs */
	struct llist_head legs;
	uint32_t id;
	unsigned n;
};

static LLIST_HEAD(all_legs);
static LLIST_HEAD(all_confs);
static LLIST_HEAD(prompts);
static void *prompts_ctx;
static struct osmo_timer_list media_clock;
static struct timespec clock_next;
static uint32_t next_leg_id = 1, next_conf_id = 1;
static unsigned port_hint;

static time_t mono_s(void)
{
	struct timespec ts;

	osmo_clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ---- prompts ---- */

static struct prompt *prompt_find(const char *name)
{
	struct prompt *p;

	llist_for_each_entry (p, &prompts, list)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

static int prompt_read(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	int rc = 0;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (st.st_size <= 0 || st.st_size > 8000 * 120) {
		rc = -EFBIG; /* empty, or longer than two minutes: not a prompt */
		goto out_close;
	}
	*len = st.st_size;
	*data = talloc_size(prompts_ctx, *len);
	if (fread(*data, 1, *len, f) != *len) {
		rc = -EIO;
		TALLOC_FREE(*data);
	}
out_close:
	fclose(f);
	return rc;
}

/* Prompts are never freed while linlid runs: a prompt replaced by a second load keeps its memory,
 * so a leg playing the old one carries on safely. */
int media_prompts_load(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(dir);
	if (!d) {
		int rc = -errno;

		LOGP(DMEDIA, LOGL_ERROR, "prompts: cannot open folder %s: %s\n", dir, strerror(-rc));
		return rc;
	}
	if (!prompts_ctx)
		prompts_ctx = talloc_named_const(NULL, 0, "media_prompts");
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		struct prompt *p;
		char *path, *name;
		uint8_t *data = NULL;
		size_t len = 0;
		int rc;

		if (nl <= 3 || strcmp(de->d_name + nl - 3, ".ul") || de->d_name[0] == '.')
			continue;
		path = talloc_asprintf(prompts_ctx, "%s/%s", dir, de->d_name);
		rc = prompt_read(path, &data, &len);
		if (rc < 0) {
			LOGP(DMEDIA, LOGL_ERROR, "prompts: %s not loaded: %s\n", path, strerror(-rc));
			talloc_free(path);
			continue;
		}
		talloc_free(path);
		name = talloc_strndup(prompts_ctx, de->d_name, nl - 3);
		p = prompt_find(name);
		if (!p) {
			p = talloc_zero(prompts_ctx, struct prompt);
			p->name = name;
			llist_add_tail(&p->list, &prompts);
		} else {
			talloc_free(name);
		}
		p->ulaw = data;
		p->len = len;
		n++;
	}
	closedir(d);
	LOGP(DMEDIA, LOGL_INFO, "prompts: %d loaded from %s\n", n, dir);
	return n;
}

bool media_prompt_exists(const char *name)
{
	return name && prompt_find(name);
}

/* ---- the media clock ---- */

static void clock_cb(void *data);

static void clock_start(void)
{
	if (osmo_timer_pending(&media_clock))
		return;
	osmo_timer_setup(&media_clock, clock_cb, NULL);
	osmo_clock_gettime(CLOCK_MONOTONIC, &clock_next);
	osmo_timer_schedule(&media_clock, 0, FRAME_NS / 1000);
	clock_next.tv_nsec += FRAME_NS;
	if (clock_next.tv_nsec >= 1000000000L) {
		clock_next.tv_sec++;
		clock_next.tv_nsec -= 1000000000L;
	}
}

/* The next tick at an absolute time, so the 20 ms do not drift with the loop's latency. */
static void clock_next_tick(void)
{
	struct timespec now;
	long long delta;

	clock_next.tv_nsec += FRAME_NS;
	if (clock_next.tv_nsec >= 1000000000L) {
		clock_next.tv_sec++;
		clock_next.tv_nsec -= 1000000000L;
	}
	osmo_clock_gettime(CLOCK_MONOTONIC, &now);
	delta = (clock_next.tv_sec - now.tv_sec) * 1000000000LL + (clock_next.tv_nsec - now.tv_nsec);
	if (delta < -5 * FRAME_NS) {
		/* the loop was stalled: restart the clock instead of sending a burst */
		LOGP(DMEDIA, LOGL_NOTICE, "media clock late by %lld ms, restarted\n", -delta / 1000000);
		clock_next = now;
		delta = 0;
	} else if (delta < 0) {
		delta = 0;
	}
	osmo_timer_schedule(&media_clock, 0, delta / 1000);
}

/* ---- legs ---- */

static bool leg_alive(const struct media_leg *leg, uint32_t id)
{
	struct media_leg *l;

	llist_for_each_entry (l, &all_legs, list)
		if (l == leg && l->id == id)
			return true;
	return false;
}

static void leg_drop(struct media_leg *leg, const char *why)
{
	time_t now = mono_s();

	leg->drops++;
	leg->drop_why = why;
	if (now - leg->drop_logged >= DROP_LOG_S || !leg->drop_logged) {
		LOGP(DMEDIA, LOGL_NOTICE, "leg %u (port %u): dropped %u packet(s), last: %s\n", leg->id, leg->lport,
		     leg->drops, why);
		leg->drops = 0;
		leg->drop_logged = now ? now : 1;
	}
}

static void leg_send(struct media_leg *leg, const uint8_t *payload, size_t len)
{
	uint8_t pkt[RTP_HDR + MAX_PAYLOAD];
	ssize_t rc;

	pkt[0] = 0x80;
	pkt[1] = (leg->marker ? 0x80 : 0) | (leg->pt & 0x7f);
	pkt[2] = leg->seq >> 8;
	pkt[3] = leg->seq;
	pkt[4] = leg->ts >> 24;
	pkt[5] = leg->ts >> 16;
	pkt[6] = leg->ts >> 8;
	pkt[7] = leg->ts;
	pkt[8] = leg->ssrc >> 24;
	pkt[9] = leg->ssrc >> 16;
	pkt[10] = leg->ssrc >> 8;
	pkt[11] = leg->ssrc;
	memcpy(pkt + RTP_HDR, payload, len);
	leg->marker = false;
	leg->seq++;
	leg->ts += FRAME;
	rc = sendto(leg->ofd.fd, pkt, RTP_HDR + len, 0, (struct sockaddr *)&leg->remote, sizeof(leg->remote));
	if (rc < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		leg_drop(leg, "send failed");
}

static void inband_digit(void *data, char digit)
{
	struct media_leg *leg = data;

	if (leg->ib_ndigits < MAX_DIGITS)
		leg->ib_digits[leg->ib_ndigits++] = digit;
}

static void fifo_push(struct media_leg *leg, const int16_t *s, unsigned n)
{
	if (n >= JB_MAX) {
		memcpy(leg->fifo, s + n - JB_MAX, JB_MAX * sizeof(*s));
		leg->fifo_len = JB_MAX;
		return;
	}
	if (leg->fifo_len + n > JB_MAX) {
		unsigned drop = leg->fifo_len + n - JB_MAX;

		memmove(leg->fifo, leg->fifo + drop, (leg->fifo_len - drop) * sizeof(*s));
		leg->fifo_len -= drop;
	}
	memcpy(leg->fifo + leg->fifo_len, s, n * sizeof(*s));
	leg->fifo_len += n;
}

/* One received datagram; digits found are appended to digits[]. */
static void leg_rx(struct media_leg *leg, uint8_t *pkt, size_t len, const struct sockaddr_in *from, char *digits,
		   unsigned *ndigits)
{
	size_t hdr = RTP_HDR;
	uint32_t ts, ssrc;
	uint16_t seq;
	int pt;

	if (!leg->has_remote) {
		leg_drop(leg, "packet while the remote address is unknown or on hold");
		return;
	}
	if (from->sin_addr.s_addr != leg->remote.sin_addr.s_addr || from->sin_port != leg->remote.sin_port) {
		leg_drop(leg, "packet from an address that is not the leg's remote");
		return;
	}
	if (len < RTP_HDR || (pkt[0] >> 6) != 2) {
		leg_drop(leg, "not RTP version 2");
		return;
	}
	hdr += 4 * (pkt[0] & 0x0f);
	if (pkt[0] & 0x10) {
		if (len < hdr + 4) {
			leg_drop(leg, "truncated header extension");
			return;
		}
		hdr += 4 + 4 * ((pkt[hdr + 2] << 8) | pkt[hdr + 3]);
	}
	if (pkt[0] & 0x20) {
		uint8_t pad = pkt[len - 1];

		if (!pad || pad > len || len - pad < hdr) {
			leg_drop(leg, "bad padding");
			return;
		}
		len -= pad;
	}
	if (len < hdr) {
		leg_drop(leg, "truncated header");
		return;
	}
	pt = pkt[1] & 0x7f;
	seq = (pkt[2] << 8) | pkt[3];
	ts = ((uint32_t)pkt[4] << 24) | ((uint32_t)pkt[5] << 16) | ((uint32_t)pkt[6] << 8) | pkt[7];
	ssrc = ((uint32_t)pkt[8] << 24) | ((uint32_t)pkt[9] << 16) | ((uint32_t)pkt[10] << 8) | pkt[11];

	/* a little behind the newest is a duplicate or arrived too late; far behind is a sender that
	 * restarted its sequence (a looped recording): follow it */
	if (leg->rx_seen && ssrc == leg->rx_ssrc && (int16_t)(seq - leg->rx_seq) <= 0 &&
	    (int16_t)(seq - leg->rx_seq) > -100) {
		leg_drop(leg, "duplicate or late packet");
		return;
	}
	leg->rx_seen = true;
	leg->rx_ssrc = ssrc;
	leg->rx_seq = seq;
	leg->rx_last = mono_s();

	if (leg->te_pt >= 0 && pt == leg->te_pt) {
		int d = media_te_feed(&leg->te, pkt + hdr, len - hdr, ts);

		if (d < 0)
			leg_drop(leg, "telephone-event shorter than 4 bytes");
		else if (d > 0 && *ndigits < MAX_DIGITS)
			digits[(*ndigits)++] = d;
		return;
	}
	if (pt == MEDIA_PT_PCMU || pt == MEDIA_PT_PCMA) {
		int16_t s[MAX_PAYLOAD];
		size_t n = len - hdr;

		if (n > MAX_PAYLOAD) {
			leg_drop(leg, "audio payload longer than 80 ms");
			return;
		}
		/* the payload type of the packet decides, so a peer that answers PCMA to a PCMU offer is
		 * still heard */
		media_g711_decode(pt, pkt + hdr, s, n);
		fifo_push(leg, s, n);
		if (leg->audio_cb)
			leg->audio_cb(leg, s, n, leg->audio_data);
		if (leg->inband) {
			unsigned i;

			leg->ib_ndigits = 0;
			media_inband_feed(leg->inband, s, n);
			for (i = 0; i < leg->ib_ndigits && *ndigits < MAX_DIGITS; i++)
				digits[(*ndigits)++] = leg->ib_digits[i];
			leg->ib_ndigits = 0;
		}
		return;
	}
	if (pt == 13)
		return; /* comfort noise (RFC 3389): heard as silence */
	leg_drop(leg, "unexpected payload type");
}

static int leg_fd_cb(struct osmo_fd *ofd, unsigned int what)
{
	struct media_leg *leg = ofd->data;
	uint32_t id = leg->id;
	char digits[MAX_DIGITS];
	unsigned ndigits = 0, i, npkts;

	if (!(what & OSMO_FD_READ))
		return 0;
	/* a bounded batch, so one flooding peer cannot starve the loop; the rest on the next round */
	for (npkts = 0; npkts < 32 && ndigits == 0; npkts++) {
		uint8_t pkt[MAX_PKT + 1];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(ofd->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED)
				leg_drop(leg, "receive error");
			break;
		}
		if (from.sin_family != AF_INET || fl < sizeof(from)) {
			leg_drop(leg, "packet from a non-IPv4 address");
			continue;
		}
		if (n > MAX_PKT) {
			leg_drop(leg, "datagram too long");
			continue;
		}
		leg_rx(leg, pkt, n, &from, digits, &ndigits);
	}
	for (i = 0; i < ndigits; i++) {
		if (!leg_alive(leg, id) || !leg->dtmf_cb)
			break;
		LOGP(DMEDIA, LOGL_INFO, "leg %u: digit %c\n", leg->id, digits[i]);
		leg->dtmf_cb(leg, digits[i], leg->dtmf_data);
	}
	return 0;
}

static void leg_stop_play(struct media_leg *leg)
{
	TALLOC_FREE(leg->play);
	leg->play_n = leg->play_i = leg->play_pos = 0;
	leg->play_done = NULL;
	leg->play_data = NULL;
	leg->done_pending = false;
}

static void leg_silence_check(void *data)
{
	struct media_leg *leg = data;

	if (leg->has_remote && leg->silence_s && mono_s() - leg->rx_last >= (time_t)leg->silence_s) {
		LOGP(DMEDIA, LOGL_NOTICE, "leg %u (port %u): no RTP for %u s: the peer is gone\n", leg->id, leg->lport,
		     leg->silence_s);
		if (leg->silence_cb)
			leg->silence_cb(leg, leg->silence_data); /* may free the leg */
		return;
	}
	if (leg->silence_s)
		osmo_timer_schedule(&leg->silence_timer, 1, 0);
}

void media_leg_on_silence(struct media_leg *leg, unsigned seconds, void (*cb)(struct media_leg *leg, void *data),
			  void *data)
{
	leg->silence_s = seconds;
	leg->silence_cb = cb;
	leg->silence_data = data;
	leg->rx_last = mono_s();
	osmo_timer_del(&leg->silence_timer);
	if (seconds)
		osmo_timer_schedule(&leg->silence_timer, 1, 0);
}

static int leg_destructor(struct media_leg *leg)
{
	osmo_timer_del(&leg->silence_timer);
	if (leg->drops)
		LOGP(DMEDIA, LOGL_NOTICE, "leg %u (port %u): closed; dropped %u more packet(s), last: %s\n", leg->id,
		     leg->lport, leg->drops, leg->drop_why);
	if (leg->conf)
		media_conf_leave(leg->conf, leg);
	llist_del(&leg->list);
	if (leg->ofd.fd >= 0)
		osmo_fd_close(&leg->ofd);
	if (llist_empty(&all_legs))
		osmo_timer_del(&media_clock);
	return 0;
}

/* Random SSRC, first sequence number and timestamp (RFC 3550 5.1); a clock mix if getrandom fails. */
static void leg_random(void *buf, size_t len)
{
	struct timespec ts;
	uint8_t *b = buf;
	size_t i;

	if (getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (i = 0; i < len; i++)
		b[i] = (uint8_t)((ts.tv_nsec >> (8 * (i % 4))) ^ (next_leg_id * 131) ^ (i * 29));
}

static int leg_bind(int fd, const struct in_addr *ip, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = *ip, .sin_port = htons(port)};

	return bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
}

struct media_leg *media_leg_alloc(void *ctx, const char *local_ip, uint16_t port_min, uint16_t port_max)
{
	struct media_leg *leg;
	struct in_addr ip;
	unsigned first, span, i;
	int fd, rc = -EADDRINUSE;

	if (!local_ip || inet_pton(AF_INET, local_ip, &ip) != 1) {
		LOGP(DMEDIA, LOGL_ERROR, "leg: local address '%s' is not an IPv4 address\n", local_ip ? local_ip : "");
		errno = EINVAL;
		return NULL;
	}
	if (port_min & 1)
		port_min++;
	if (!port_min || port_min > port_max) {
		LOGP(DMEDIA, LOGL_ERROR, "leg: no even port in the range %u-%u\n", port_min, port_max);
		errno = EINVAL;
		return NULL;
	}
	media_g711_init();
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* start after the port used last, so a port just freed is not reused at once (late packets of
	 * the previous call would land in the new one) */
	span = (port_max - port_min) / 2 + 1;
	first = port_hint % span;
	for (i = 0; i < span; i++) {
		unsigned k = (first + i) % span;

		rc = leg_bind(fd, &ip, port_min + 2 * k);
		if (rc == 0) {
			port_hint = k + 1;
			break;
		}
		if (rc != -EADDRINUSE)
			break;
	}
	if (rc < 0) {
		LOGP(DMEDIA, LOGL_ERROR, "leg: no free port on %s in %u-%u: %s\n", local_ip, port_min, port_max,
		     strerror(-rc));
		close(fd);
		errno = -rc;
		return NULL;
	}

	leg = talloc_zero(ctx, struct media_leg);
	if (!leg) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	INIT_LLIST_HEAD(&leg->conf_list);
	leg->id = next_leg_id++;
	leg->lport = port_min + 2 * ((first + i) % span);
	snprintf(leg->lip, sizeof(leg->lip), "%s", local_ip);
	leg->pt = MEDIA_PT_PCMU;
	leg->te_pt = -1;
	leg_random(&leg->ssrc, sizeof(leg->ssrc));
	leg_random(&leg->seq, sizeof(leg->seq));
	leg_random(&leg->ts, sizeof(leg->ts));
	leg->marker = true;
	osmo_fd_setup(&leg->ofd, fd, OSMO_FD_READ, leg_fd_cb, leg, 0);
	if (osmo_fd_register(&leg->ofd) < 0) {
		close(fd);
		talloc_free(leg);
		errno = EIO;
		return NULL;
	}
	llist_add_tail(&leg->list, &all_legs);
	osmo_timer_setup(&leg->silence_timer, leg_silence_check, leg);
	talloc_set_destructor(leg, leg_destructor);
	clock_start();
	LOGP(DMEDIA, LOGL_DEBUG, "leg %u: bound to %s:%u\n", leg->id, leg->lip, leg->lport);
	return leg;
}

uint16_t media_leg_local_port(const struct media_leg *leg)
{
	return leg->lport;
}

int media_leg_set_remote(struct media_leg *leg, const char *ip, uint16_t port, int pt, int te_pt)
{
	struct in_addr a;

	if (!ip || inet_pton(AF_INET, ip, &a) != 1 || !port) {
		LOGP(DMEDIA, LOGL_ERROR, "leg %u: remote '%s' port %u is not an IPv4 address and port\n", leg->id,
		     ip ? ip : "", port);
		return -EINVAL;
	}
	if (pt != MEDIA_PT_PCMU && pt != MEDIA_PT_PCMA) {
		LOGP(DMEDIA, LOGL_ERROR, "leg %u: payload type %d is neither PCMU (0) nor PCMA (8)\n", leg->id, pt);
		return -EINVAL;
	}
	if (te_pt != -1 && (te_pt < 0 || te_pt > 127 || te_pt == MEDIA_PT_PCMU || te_pt == MEDIA_PT_PCMA)) {
		LOGP(DMEDIA, LOGL_ERROR, "leg %u: telephone-event payload type %d is not usable\n", leg->id, te_pt);
		return -EINVAL;
	}
	leg->remote.sin_family = AF_INET;
	leg->remote.sin_addr = a;
	leg->remote.sin_port = htons(port);
	/* c=IN IP4 0.0.0.0 (RFC 3264 hold): send nothing, hear nothing */
	leg->has_remote = a.s_addr != htonl(INADDR_ANY);
	leg->pt = pt;
	leg->te_pt = te_pt;
	leg->marker = true;
	leg->rx_seen = false;
	leg->rx_last = mono_s(); /* silence counts from when the remote is known */
	memset(&leg->te, 0, sizeof(leg->te));
	if (te_pt < 0 && !leg->inband) {
		leg->inband = media_inband_alloc(leg, inband_digit, leg);
		if (!leg->inband)
			return -ENOMEM;
	} else if (te_pt >= 0 && leg->inband) {
		media_inband_free(leg->inband);
		leg->inband = NULL;
	}
	LOGP(DMEDIA, LOGL_INFO, "leg %u: %s:%u -> %s:%u, %s, %s\n", leg->id, leg->lip, leg->lport, ip, port,
	     pt == MEDIA_PT_PCMA ? "PCMA" : "PCMU", te_pt >= 0 ? "telephone-event" : "in-band DTMF");
	return 0;
}

void media_leg_on_dtmf(struct media_leg *leg, void (*cb)(struct media_leg *leg, char digit, void *data), void *data)
{
	leg->dtmf_cb = cb;
	leg->dtmf_data = data;
}

void media_leg_on_audio(struct media_leg *leg,
			void (*cb)(struct media_leg *leg, const int16_t *s, size_t n, void *data), void *data)
{
	leg->audio_cb = cb;
	leg->audio_data = data;
}

int media_leg_play(struct media_leg *leg, const char *const *names, size_t n,
		   void (*done)(struct media_leg *leg, void *data), void *data)
{
	const struct prompt **list;
	size_t i;

	if (!n) {
		LOGP(DMEDIA, LOGL_ERROR, "leg %u: play of an empty prompt list\n", leg->id);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!names[i] || !prompt_find(names[i])) {
			LOGP(DMEDIA, LOGL_ERROR, "leg %u: prompt '%s' (item %zu of %zu) is not loaded\n", leg->id,
			     names[i] ? names[i] : "(null)", i + 1, n);
			return -ENOENT;
		}
	}
	list = talloc_array(leg, const struct prompt *, n);
	if (!list)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		list[i] = prompt_find(names[i]);
	leg_stop_play(leg);
	leg->play = list;
	leg->play_n = n;
	leg->play_done = done;
	leg->play_data = data;
	return 0;
}

void media_leg_stop(struct media_leg *leg)
{
	leg_stop_play(leg);
}

void media_leg_free(struct media_leg *leg)
{
	talloc_free(leg);
}

/* ---- conferences ---- */

static int conf_destructor(struct media_conf *conf)
{
	struct media_leg *leg, *tmp;

	llist_for_each_entry_safe (leg, tmp, &conf->legs, conf_list)
		media_conf_leave(conf, leg);
	llist_del(&conf->list);
	return 0;
}

struct media_conf *media_conf_alloc(void *ctx)
{
	struct media_conf *conf = talloc_zero(ctx, struct media_conf);

	if (!conf)
		return NULL;
	INIT_LLIST_HEAD(&conf->legs);
	conf->id = next_conf_id++;
	llist_add_tail(&conf->list, &all_confs);
	talloc_set_destructor(conf, conf_destructor);
	return conf;
}

/* A leg in another conference moves to this one. */
int media_conf_join(struct media_conf *conf, struct media_leg *leg)
{
	if (leg->conf == conf)
		return 0;
	if (leg->conf)
		media_conf_leave(leg->conf, leg);
	llist_add_tail(&leg->conf_list, &conf->legs);
	leg->conf = conf;
	conf->n++;
	/* what the leg sent before joining is not part of the conversation */
	leg->fifo_len = 0;
	LOGP(DMEDIA, LOGL_INFO, "conf %u: leg %u joined, %u in the call\n", conf->id, leg->id, conf->n);
	return 0;
}

void media_conf_leave(struct media_conf *conf, struct media_leg *leg)
{
	if (leg->conf != conf)
		return;
	llist_del_init(&leg->conf_list);
	leg->conf = NULL;
	conf->n--;
	LOGP(DMEDIA, LOGL_INFO, "conf %u: leg %u left, %u in the call\n", conf->id, leg->id, conf->n);
}

unsigned media_conf_size(const struct media_conf *conf)
{
	return conf->n;
}

void media_conf_free(struct media_conf *conf)
{
	talloc_free(conf);
}

/* ---- one tick of the media clock ---- */

static void leg_pull(struct media_leg *leg)
{
	unsigned n = leg->fifo_len < FRAME ? leg->fifo_len : FRAME;

	memcpy(leg->in, leg->fifo, n * sizeof(int16_t));
	memset(leg->in + n, 0, (FRAME - n) * sizeof(int16_t));
	memmove(leg->fifo, leg->fifo + n, (leg->fifo_len - n) * sizeof(int16_t));
	leg->fifo_len -= n;
}

/* The next 20 ms of the leg's prompt sequence, in mu-law; the end of the sequence is padded with
 * silence and marks the leg for its done callback. */
static void leg_prompt_frame(struct media_leg *leg, uint8_t *ulaw)
{
	size_t filled = 0;

	while (filled < FRAME && leg->play_i < leg->play_n) {
		const struct prompt *p = leg->play[leg->play_i];
		size_t take = p->len - leg->play_pos;

		if (take > FRAME - filled)
			take = FRAME - filled;
		memcpy(ulaw + filled, p->ulaw + leg->play_pos, take);
		filled += take;
		leg->play_pos += take;
		if (leg->play_pos >= p->len) {
			leg->play_i++;
			leg->play_pos = 0;
		}
	}
	memset(ulaw + filled, 0xff, FRAME - filled);
	if (leg->play_i >= leg->play_n) {
		void (*done)(struct media_leg *, void *) = leg->play_done;
		void *data = leg->play_data;

		leg_stop_play(leg);
		leg->play_done = done;
		leg->play_data = data;
		leg->done_pending = true;
	}
}

static void conf_mix(struct media_conf *conf)
{
	int32_t sum[FRAME];
	struct media_leg *leg;
	unsigned i;

	memset(sum, 0, sizeof(sum));
	llist_for_each_entry (leg, &conf->legs, conf_list)
		for (i = 0; i < FRAME; i++)
			sum[i] += leg->in[i];
	llist_for_each_entry (leg, &conf->legs, conf_list) {
		const uint8_t *tab = leg->pt == MEDIA_PT_PCMA ? media_alaw_enc : media_ulaw_enc;
		uint8_t out[FRAME];

		if (!leg->has_remote || leg->play)
			continue;
		for (i = 0; i < FRAME; i++) {
			int32_t v = sum[i] - leg->in[i];

			v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
			out[i] = tab[(uint16_t)v];
		}
		leg_send(leg, out, FRAME);
		leg->sent = true;
	}
}

static void clock_cb(void *data)
{
	struct media_conf *conf;
	struct media_leg *leg;
	bool again;

	(void)data;
	llist_for_each_entry (leg, &all_legs, list) {
		leg_pull(leg);
		leg->sent = false;
	}
	llist_for_each_entry (conf, &all_confs, list)
		if (conf->n)
			conf_mix(conf);
	llist_for_each_entry (leg, &all_legs, list) {
		uint8_t out[FRAME];
		unsigned i;

		if (leg->sent || !leg->has_remote)
			continue;
		if (leg->play) {
			leg_prompt_frame(leg, out);
			if (leg->pt == MEDIA_PT_PCMA)
				for (i = 0; i < FRAME; i++)
					out[i] = media_lin2alaw(media_ulaw2lin(out[i]));
		} else {
			/* a leg outside any conference hears silence, so its peer keeps getting RTP */
			memset(out, leg->pt == MEDIA_PT_PCMA ? 0xd5 : 0xff, FRAME);
		}
		leg_send(leg, out, FRAME);
	}
	if (llist_empty(&all_legs))
		return;
	clock_next_tick();
	/* done callbacks last: each may free legs or start new prompts, so start over after each */
	do {
		again = false;
		llist_for_each_entry (leg, &all_legs, list) {
			void (*done)(struct media_leg *, void *);

			if (!leg->done_pending)
				continue;
			done = leg->play_done;
			data = leg->play_data;
			leg->done_pending = false;
			leg->play_done = NULL;
			leg->play_data = NULL;
			if (done) {
				done(leg, data);
				again = true;
				break;
			}
		}
	} while (again);
}
