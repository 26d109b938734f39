/* The media of the group call (gateway/call/media.c) on real loopback UDP: four legs, each with a peer
 * socket that sends its own tone (PCMU and PCMA mixed); a Goertzel filter on what each peer
 * receives shows it hears the other tones and not its own. Also: RTP headers, a leg that leaves,
 * packets from a foreign address, nothing sent before the remote is known, RFC 4733 and in-band
 * digits through a leg, prompt sequences (order, done once, stop, the conference muted while
 * playing), callbacks that free legs, and the prompts the build rendered with espeak-ng.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <osmocom/core/application.h>
#include <osmocom/core/utils.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/select.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer.h>

#include "gateway/core/gw.h"
#include "gateway/call/media.h"
#include "gateway/call/media_dtmf.h"
#include "gateway/call/media_g711.h"
#include "tests/unit/testlib.h"

#define RATE	8000
#define AMP	4000.0
#define MAX_REC (RATE * 20)
#define TE_PT	101

static void *ctx;

/* ---- a peer: a plain UDP socket speaking RTP to one leg ---- */

struct peer {
	const char *name;
	struct osmo_fd ofd;
	uint16_t port;
	uint16_t leg_port; /* where it sends */
	int pt;		   /* what it sends */
	double f1, f2;	   /* its tone (f2 for a DTMF pair), 0 = silence */
	bool sending;
	uint32_t t; /* sample clock of the tone */
	uint16_t seq;
	uint32_t ts;
	/* received */
	int16_t *rec;
	size_t nrec;
	unsigned pkts, bad_pt, bad_seq, marker_first, markers;
	int want_pt;
	bool have_last;
	uint16_t last_seq;
	uint32_t last_ts;
};

static struct peer *peers[16];
static unsigned npeers;

static int peer_rx(struct osmo_fd *ofd, unsigned what)
{
	struct peer *p = ofd->data;
	uint8_t pkt[2048];
	ssize_t n;

	(void)what;
	while ((n = recv(ofd->fd, pkt, sizeof(pkt), 0)) > 0) {
		int pt = pkt[1] & 0x7f;
		uint16_t seq = (pkt[2] << 8) | pkt[3];
		uint32_t ts = ((uint32_t)pkt[4] << 24) | (pkt[5] << 16) | (pkt[6] << 8) | pkt[7];
		size_t len = n - 12;

		if (n < 12 || (pkt[0] >> 6) != 2)
			continue;
		if (!p->pkts)
			p->marker_first = pkt[1] >> 7;
		else if (pkt[1] >> 7)
			p->markers++;
		p->pkts++;
		if (pt != p->want_pt)
			p->bad_pt++;
		if (p->have_last && (seq != (uint16_t)(p->last_seq + 1) || ts != p->last_ts + len))
			p->bad_seq++;
		p->have_last = true;
		p->last_seq = seq;
		p->last_ts = ts;
		if (p->nrec + len <= MAX_REC) {
			media_g711_decode(pt, pkt + 12, p->rec + p->nrec, len);
			p->nrec += len;
		}
	}
	return 0;
}

static struct peer *peer_new(const char *name, int pt, double f1, double f2)
{
	struct peer *p = talloc_zero(ctx, struct peer);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	OSMO_ASSERT(fd >= 0);
	OSMO_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	OSMO_ASSERT(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	p->name = name;
	p->port = ntohs(sa.sin_port);
	p->pt = pt;
	p->want_pt = pt;
	p->f1 = f1;
	p->f2 = f2;
	p->seq = 1000;
	p->ts = 50000;
	p->rec = talloc_array(p, int16_t, MAX_REC);
	osmo_fd_setup(&p->ofd, fd, OSMO_FD_READ, peer_rx, p, 0);
	OSMO_ASSERT(osmo_fd_register(&p->ofd) == 0);
	peers[npeers++] = p;
	return p;
}

static void peer_sendto(struct peer *p, uint16_t port, int pt, bool marker, uint32_t ts, const uint8_t *pl, size_t len)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(port)};
	uint8_t pkt[12 + 320];

	pkt[0] = 0x80;
	pkt[1] = (marker ? 0x80 : 0) | pt;
	pkt[2] = p->seq >> 8;
	pkt[3] = p->seq;
	pkt[4] = ts >> 24;
	pkt[5] = ts >> 16;
	pkt[6] = ts >> 8;
	pkt[7] = ts;
	memset(pkt + 8, 0x5a, 4);
	memcpy(pkt + 12, pl, len);
	p->seq++;
	sendto(p->ofd.fd, pkt, 12 + len, 0, (struct sockaddr *)&to, sizeof(to));
}

static void peer_frame(struct peer *p)
{
	int16_t s[160];
	uint8_t u[160];
	unsigned i;

	for (i = 0; i < 160; i++, p->t++) {
		double v = 0;

		if (p->f1)
			v += AMP * sin(2 * M_PI * p->f1 * p->t / RATE);
		if (p->f2)
			v += AMP * sin(2 * M_PI * p->f2 * p->t / RATE);
		s[i] = (int16_t)lrint(v);
	}
	media_g711_encode(p->pt, s, u, 160);
	peer_sendto(p, p->leg_port, p->pt, false, p->ts, u, 160);
	p->ts += 160;
}

/* RFC 4733 key press: 3 packets, then the end packet 3 times, all with the event's timestamp */
static void peer_event(struct peer *p, char digit)
{
	unsigned dur[6] = {160, 320, 480, 800, 800, 800}, i;

	for (i = 0; i < 6; i++) {
		uint8_t pl[4] = {media_te_event(digit), (i >= 3 ? 0x80 : 0) | 10, dur[i] >> 8, dur[i] & 0xff};

		peer_sendto(p, p->leg_port, TE_PT, i == 0, p->ts, pl, 4);
	}
	p->ts += 800;
}

static struct osmo_timer_list send_timer;

static void send_cb(void *data)
{
	unsigned i;

	(void)data;
	for (i = 0; i < npeers; i++)
		if (peers[i]->sending)
			peer_frame(peers[i]);
	osmo_timer_schedule(&send_timer, 0, 20000);
}

static void run_ms(unsigned ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		osmo_select_main(0);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void rec_mark(void)
{
	unsigned i;

	for (i = 0; i < npeers; i++)
		peers[i]->nrec = 0;
}

/* Amplitude of frequency f in s[0..n) (Goertzel). */
static double goertzel(const int16_t *s, size_t n, double f)
{
	double w = 2 * M_PI * f / RATE, c = 2 * cos(w), s1 = 0, s2 = 0, p;
	size_t i;

	for (i = 0; i < n; i++) {
		double s0 = s[i] + c * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	p = s1 * s1 + s2 * s2 - c * s1 * s2;
	return n ? 2 * sqrt(p > 0 ? p : 0) / n : 0;
}

/* The amplitude of f in the last `ms` of what p received. */
static double hears(struct peer *p, double f, unsigned ms)
{
	size_t n = (size_t)ms * 8;

	if (p->nrec < n)
		n = p->nrec;
	return goertzel(p->rec + p->nrec - n, n, f);
}

/* ---- the conference ---- */

static void test_conference(void)
{
	static const double freq[4] = {440, 700, 1100, 1500};
	static const int pt[4] = {MEDIA_PT_PCMU, MEDIA_PT_PCMA, MEDIA_PT_PCMU, MEDIA_PT_PCMA};
	static const char *names[4] = {"A", "B", "C", "D"};
	struct media_conf *conf = media_conf_alloc(ctx);
	struct media_leg *leg[4];
	struct peer *p[4], *stranger;
	unsigned i, j;
	int ok;

	for (i = 0; i < 4; i++) {
		p[i] = peer_new(names[i], pt[i], freq[i], 0);
		leg[i] = media_leg_alloc(ctx, "127.0.0.1", 40000, 40999);
		OSMO_ASSERT(leg[i]);
		p[i]->leg_port = media_leg_local_port(leg[i]);
	}
	CHECK(media_leg_local_port(leg[0]) % 2 == 0 && media_leg_local_port(leg[1]) % 2 == 0 &&
		      media_leg_local_port(leg[0]) != media_leg_local_port(leg[1]),
	      "legs get distinct even ports in the range");

	/* before set_remote: nothing is sent, and what arrives is dropped */
	for (i = 0; i < 4; i++)
		p[i]->sending = true;
	run_ms(200);
	CHECK(p[0]->pkts == 0 && p[3]->pkts == 0, "a leg sends nothing before media_leg_set_remote()");

	CHECK(media_leg_set_remote(leg[0], "127.0.0.1", p[0]->port, 3, -1) == -EINVAL, "payload type 3 is refused");
	CHECK(media_leg_set_remote(leg[0], "localhost", p[0]->port, 0, -1) == -EINVAL, "a host name is refused");
	for (i = 0; i < 4; i++) {
		OSMO_ASSERT(media_leg_set_remote(leg[i], "127.0.0.1", p[i]->port, pt[i], TE_PT) == 0);
		OSMO_ASSERT(media_conf_join(conf, leg[i]) == 0);
	}
	CHECK(media_conf_size(conf) == 4, "four legs joined");
	/* a stranger sends a loud 2 kHz tone to leg B: it must not reach anybody */
	stranger = peer_new("stranger", MEDIA_PT_PCMU, 2000, 0);
	stranger->leg_port = p[1]->leg_port;
	stranger->sending = true;

	run_ms(400);
	/* judged on one 1.1 s window; on a loaded machine a window where the loop ran late (a leg's
	 * frame missed its tick, so the others heard it at half strength) is measured again, at most
	 * five times: what must hold is that the mix is right, not that the machine is idle */
	for (int tries = 0; tries < 5; tries++) {
		bool good = true;

		rec_mark();
		run_ms(1100);
		for (i = 0; i < 4; i++)
			for (j = 0; j < 4; j++)
				if (j != i && hears(p[i], freq[j], 1000) <= 0.7 * AMP)
					good = false;
		if (good)
			break;
		printf("(the mix measured again: a window with a late tick)\n");
	}
	for (i = 0; i < 4; i++) {
		double own = hears(p[i], freq[i], 1000), worst = 1e9, strange = hears(p[i], 2000, 1000);

		for (j = 0; j < 4; j++)
			if (j != i && hears(p[i], freq[j], 1000) < worst)
				worst = hears(p[i], freq[j], 1000);
		CHECK(worst > 0.7 * AMP && own < 0.02 * AMP,
		      "%s (%s) hears each other leg's tone (weakest %.0f of %.0f) and not its own (%.0f)", names[i],
		      pt[i] ? "PCMA" : "PCMU", worst, AMP, own);
		CHECK(strange < 0.02 * AMP, "%s does not hear the stranger's 2 kHz (%.0f)", names[i], strange);
	}
	ok = 1;
	for (i = 0; i < 4; i++)
		ok &= p[i]->bad_pt == 0 && p[i]->bad_seq == 0 && p[i]->marker_first && !p[i]->markers &&
		      p[i]->pkts >= 70;
	CHECK(ok,
	      "RTP out: each leg's payload type, sequence +1 and timestamp +160 per packet, marker on the first only "
	      "(A "
	      "got %u packets)",
	      p[0]->pkts);

	/* malformed packets from A's own address: dropped, and A carries on */
	{
		static const uint8_t bad[][16] = {
			{0x80, 0x00, 0x01},						    /* 3 bytes */
			{0x40, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xff},		    /* version 1 */
			{0x8f, 0x00, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0xff},		    /* 15 CSRCs in 13 bytes */
			{0x90, 0x00, 0, 3, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0xff, 0xff},	    /* extension too long */
			{0xa0, 0x00, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 200},  /* padding 200 */
			{0x80, 0x63, 0, 5, 0, 0, 0, 5, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, /* payload type 99 */
		};
		static const size_t blen[] = {3, 13, 13, 16, 16, 16};
		struct sockaddr_in to = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
					 .sin_port = htons(p[0]->leg_port)};

		for (i = 0; i < ARRAY_SIZE(bad); i++)
			sendto(p[0]->ofd.fd, bad[i], blen[i], 0, (struct sockaddr *)&to, sizeof(to));
	}
	run_ms(100);
	rec_mark();
	run_ms(600);
	CHECK(hears(p[1], freq[0], 500) > 0.7 * AMP, "after malformed packets from A, B still hears A (%.0f)",
	      hears(p[1], freq[0], 500));

	/* D leaves: D hears silence, the others stop hearing D */
	media_conf_leave(conf, leg[3]);
	CHECK(media_conf_size(conf) == 3, "D left, three remain");
	run_ms(200);
	rec_mark();
	run_ms(600);
	CHECK(hears(p[0], freq[1], 500) > 0.7 * AMP && hears(p[0], freq[3], 500) < 0.02 * AMP &&
		      hears(p[3], freq[0], 500) < 0.02 * AMP && hears(p[3], freq[1], 500) < 0.02 * AMP,
	      "after D left: A hears B (%.0f) and not D (%.0f); D hears nobody (%.0f, %.0f)", hears(p[0], freq[1], 500),
	      hears(p[0], freq[3], 500), hears(p[3], freq[0], 500), hears(p[3], freq[1], 500));
	CHECK(p[3]->pkts > 0 && p[3]->nrec >= 4000, "a leg outside the conference still gets RTP (silence)");

	/* B's sender restarts its sequence numbers far back (a looped recording): still heard; C goes on
	 * hold (c=0.0.0.0): it gets nothing more */
	p[1]->seq -= 3000;
	OSMO_ASSERT(media_leg_set_remote(leg[2], "0.0.0.0", p[2]->port, MEDIA_PT_PCMU, TE_PT) == 0);
	run_ms(100);
	rec_mark();
	{
		unsigned held = p[2]->pkts;

		run_ms(600);
		CHECK(hears(p[0], freq[1], 500) > 0.7 * AMP, "B restarted its sequence and A still hears it (%.0f)",
		      hears(p[0], freq[1], 500));
		CHECK(p[2]->pkts == held, "C on hold (0.0.0.0) gets no packets (%u)", p[2]->pkts - held);
	}

	/* legs freed while in the conference, then the conference */
	stranger->sending = false;
	for (i = 0; i < 4; i++)
		p[i]->sending = false;
	media_leg_free(leg[0]);
	CHECK(media_conf_size(conf) == 2, "a freed leg leaves its conference");
	media_conf_free(conf);
	media_leg_stop(leg[1]);
	for (i = 1; i < 4; i++)
		media_leg_free(leg[i]);
	run_ms(60);
}

/* ---- digits through a leg ---- */

static char digits[32];
static struct media_leg *free_me;

static void on_digit(struct media_leg *leg, char d, void *data)
{
	size_t n = strlen(digits);

	(void)data;
	if (n + 1 < sizeof(digits))
		digits[n] = d;
	if (leg == free_me && d == '#') {
		media_leg_free(leg); /* call control hangs up on '#': must be safe inside the callback */
		free_me = NULL;
	}
}

static void test_digits(void)
{
	struct peer *pe = peer_new("te", MEDIA_PT_PCMU, 0, 0), *pi = peer_new("inband", MEDIA_PT_PCMA, 0, 0);
	struct media_leg *le = media_leg_alloc(ctx, "127.0.0.1", 41000, 41999);
	struct media_leg *li = media_leg_alloc(ctx, "127.0.0.1", 41000, 41999);

	OSMO_ASSERT(le && li);
	pe->leg_port = media_leg_local_port(le);
	pi->leg_port = media_leg_local_port(li);
	OSMO_ASSERT(media_leg_set_remote(le, "127.0.0.1", pe->port, MEDIA_PT_PCMU, TE_PT) == 0);
	OSMO_ASSERT(media_leg_set_remote(li, "127.0.0.1", pi->port, MEDIA_PT_PCMA, -1) == 0);
	media_leg_on_dtmf(le, on_digit, NULL);
	media_leg_on_dtmf(li, on_digit, NULL);

	pe->sending = true;
	run_ms(100);
	peer_event(pe, '1');
	run_ms(100);
	peer_event(pe, '1');
	run_ms(100);
	peer_event(pe, '9');
	run_ms(100);
	CHECK(!strcmp(digits, "119"),
	      "RFC 4733: three presses with repeats and end retransmissions give \"119\" (\"%s\")", digits);

	memset(digits, 0, sizeof(digits));
	pe->sending = false;
	pi->sending = true;
	run_ms(100);
	pi->f1 = 770;
	pi->f2 = 1336; /* 5 */
	run_ms(160);
	pi->f1 = pi->f2 = 0;
	run_ms(120);
	free_me = li;
	pi->f1 = 941;
	pi->f2 = 1477; /* # */
	run_ms(160);
	pi->f1 = pi->f2 = 0;
	run_ms(150);
	CHECK(!strcmp(digits, "5#"), "in-band (no telephone-event, PCMA): tone pairs give \"5#\" (\"%s\")", digits);
	CHECK(free_me == NULL, "the digit callback freed its own leg without harm");
	pi->sending = false;
	media_leg_free(le);
	run_ms(40);
}

/* ---- prompts ---- */

static unsigned done_calls;
static struct media_leg *done_leg;

static void on_done(struct media_leg *leg, void *data)
{
	done_calls++;
	done_leg = leg;
	(void)data;
}

static void on_done_free(struct media_leg *leg, void *data)
{
	struct media_leg *other = data;
	static const char *const again[] = {"tone900"};

	done_calls++;
	media_leg_free(leg);
	/* and start another leg's prompt from inside the callback */
	media_leg_play(other, again, 1, on_done, NULL);
}

static void write_tone(const char *dir, const char *name, double f, unsigned ms)
{
	char path[300];
	unsigned i;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.ul", dir, name);
	fp = fopen(path, "wb");
	OSMO_ASSERT(fp);
	for (i = 0; i < ms * 8; i++)
		fputc(media_lin2ulaw((int16_t)lrint(AMP * sin(2 * M_PI * f * i / RATE))), fp);
	fclose(fp);
}

static void test_prompts(void)
{
	char dir[] = "/tmp/media_test.XXXXXX", path[300];
	static const char *const seq[] = {"tone600", "tone900", "tone600"};
	static const char *const bad[] = {"tone600", "nope"};
	struct peer *pa = peer_new("player", MEDIA_PT_PCMA, 0, 0), *pb = peer_new("talker", MEDIA_PT_PCMU, 1300, 0);
	struct media_leg *la = media_leg_alloc(ctx, "127.0.0.1", 42000, 42999);
	struct media_leg *lb = media_leg_alloc(ctx, "127.0.0.1", 42000, 42999);
	struct media_conf *conf = media_conf_alloc(ctx);
	double a600, a900, a600b, a1300_during, a1300_after;
	size_t n0;

	OSMO_ASSERT(mkdtemp(dir));
	write_tone(dir, "tone600", 600, 400);
	write_tone(dir, "tone900", 900, 400);
	CHECK(media_prompts_load(dir) == 2, "two prompt files loaded");
	CHECK(media_prompt_exists("tone600") && !media_prompt_exists("nope"), "media_prompt_exists");
	CHECK(media_prompts_load("/nonexistent/prompts") == -ENOENT, "a missing folder gives -ENOENT");

	OSMO_ASSERT(la && lb);
	pa->leg_port = media_leg_local_port(la);
	pb->leg_port = media_leg_local_port(lb);
	pa->want_pt = MEDIA_PT_PCMA;
	OSMO_ASSERT(media_leg_set_remote(la, "127.0.0.1", pa->port, MEDIA_PT_PCMA, TE_PT) == 0);
	OSMO_ASSERT(media_leg_set_remote(lb, "127.0.0.1", pb->port, MEDIA_PT_PCMU, TE_PT) == 0);
	media_conf_join(conf, la);
	media_conf_join(conf, lb);
	pb->sending = true;
	run_ms(200);

	CHECK(media_leg_play(la, bad, 2, on_done, NULL) == -ENOENT, "playing an unknown prompt gives -ENOENT");
	CHECK(media_leg_play(la, seq, 0, on_done, NULL) == -EINVAL, "playing nothing gives -EINVAL");
	rec_mark();
	OSMO_ASSERT(media_leg_play(la, seq, 3, on_done, NULL) == 0);
	run_ms(1400);
	/* the sequence is 1.2 s: 600, 900, 600 Hz, 400 ms each, from where the recording starts */
	n0 = 0;
	while (n0 < pa->nrec && abs(pa->rec[n0]) < 500)
		n0++;
	a600 = goertzel(pa->rec + n0 + 400, 2400, 600);
	a900 = goertzel(pa->rec + n0 + 3200 + 400, 2400, 900);
	a600b = goertzel(pa->rec + n0 + 6400 + 400, 2400, 600);
	a1300_during = goertzel(pa->rec + n0, 9600, 1300);
	CHECK(n0 < 800 && a600 > 0.8 * AMP && a900 > 0.8 * AMP && a600b > 0.8 * AMP &&
		      goertzel(pa->rec + n0 + 400, 2400, 900) < 0.05 * AMP && a1300_during < 0.05 * AMP,
	      "the prompts play in order through PCMA: 600 Hz (%.0f), 900 Hz (%.0f), 600 Hz (%.0f); the conference is "
	      "muted meanwhile (1300 Hz: %.0f)",
	      a600, a900, a600b, a1300_during);
	CHECK(done_calls == 1 && done_leg == la, "done called once, for that leg");
	rec_mark();
	run_ms(500);
	a1300_after = hears(pa, 1300, 400);
	CHECK(a1300_after > 0.8 * AMP && done_calls == 1,
	      "after the prompt the leg hears the conference again (1300 Hz: %.0f)", a1300_after);

	/* stopped: no done */
	done_calls = 0;
	OSMO_ASSERT(media_leg_play(la, seq, 3, on_done, NULL) == 0);
	run_ms(200);
	media_leg_stop(la);
	run_ms(1300);
	CHECK(done_calls == 0, "a stopped prompt never calls done");
	/* replaced: only the second's done */
	OSMO_ASSERT(media_leg_play(la, seq, 3, on_done, (void *)1) == 0);
	run_ms(100);
	OSMO_ASSERT(media_leg_play(la, seq, 1, on_done, NULL) == 0);
	run_ms(1500);
	CHECK(done_calls == 1, "a replaced prompt's done is not called, the new one's once");

	/* a done callback that frees its leg and starts a prompt on another */
	done_calls = 0;
	OSMO_ASSERT(media_leg_play(lb, seq, 1, on_done_free, la) == 0);
	run_ms(1200);
	CHECK(done_calls == 2, "done may free its leg and start another leg's prompt");
	pb->sending = false;
	media_conf_free(conf);
	media_leg_free(la);
	run_ms(40);

	snprintf(path, sizeof(path), "%s/tone600.ul", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/tone900.ul", dir);
	unlink(path);
	rmdir(dir);
}

/* the prompts the build rendered with espeak-ng ($LINLI_BUILD/prompts, or build/prompts) */
static void test_rendered_prompts(void)
{
	static const char *const need[] = {"calling",  "neighbour_calls",
					   "press1",   "joined",
					   "nobody",   "no_group",
					   "building", "unit",
					   "room",     "0",
					   "1",	       "2",
					   "3",	       "4",
					   "5",	       "6",
					   "7",	       "8",
					   "9"};
	const char *b = getenv("LINLI_BUILD");
	char dir[300];
	unsigned i, missing = 0;
	int n;

	snprintf(dir, sizeof(dir), "%s/prompts", b ? b : "build");
	n = media_prompts_load(dir);
	for (i = 0; i < ARRAY_SIZE(need); i++)
		if (!media_prompt_exists(need[i])) {
			printf("     missing prompt %s\n", need[i]);
			missing++;
		}
	CHECK(n >= (int)ARRAY_SIZE(need) && !missing, "the build rendered every prompt into %s (%d files)", dir, n);
	{
		char path[400];
		struct stat st;

		snprintf(path, sizeof(path), "%s/calling.ul", dir);
		CHECK(stat(path, &st) == 0 && st.st_size > 8000 && st.st_size < 8000 * 10,
		      "\"calling\" lasts between 1 and 10 seconds at 8 kHz");
	}
}

int main(void)
{
	ctx = talloc_named_const(NULL, 0, "media_test");
	osmo_init_logging2(ctx, &gw_log_info);
	log_set_print_category(osmo_stderr_target, 1);
	log_set_category_filter(osmo_stderr_target, DMEDIA, 1, LOGL_INFO);
	media_g711_init();
	osmo_timer_setup(&send_timer, send_cb, NULL);
	osmo_timer_schedule(&send_timer, 0, 20000);

	test_conference();
	test_digits();
	test_prompts();
	test_rendered_prompts();

	osmo_timer_del(&send_timer);
	while (npeers)
		osmo_fd_close(&peers[--npeers]->ofd);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	talloc_free(ctx);
	return failures ? 1 : 0;
}
