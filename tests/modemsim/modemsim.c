/* modemsim main: command line, the poll() loop, timers, the pseudo-terminal. See README.md. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "tests/modemsim/modemsim.h"

#define PTY_OUT_MAX (4u << 20) /* bytes kept for a TE that does not read; beyond that dropped */

struct modemsim ms;

static FILE *log_file;
static volatile sig_atomic_t quit_signal;

/* ---- buffers ---- */

void ms_buf_add(struct ms_buf *b, const void *p, size_t n)
{
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n + 1 > b->cap) {
		if (b->off > b->cap / 2) {
			memmove(b->d, b->d + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		if (b->len + n + 1 > b->cap) {
			size_t cap = b->cap ? b->cap : 256;

			while (cap < b->len + n + 1)
				cap *= 2;
			b->d = realloc(b->d, cap);
			if (!b->d) {
				perror("modemsim: realloc");
				exit(1);
			}
			b->cap = cap;
		}
	}
	memcpy(b->d + b->len, p, n);
	b->len += n;
	b->d[b->len] = 0;
}

void ms_buf_printf(struct ms_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		ms_buf_add(b, tmp, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (!big)
			return;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		ms_buf_add(b, big, (size_t)n);
		free(big);
	}
}

void ms_buf_consume(struct ms_buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void ms_buf_reset(struct ms_buf *b)
{
	b->off = b->len = 0;
}

void ms_buf_free(struct ms_buf *b)
{
	free(b->d);
	memset(b, 0, sizeof(*b));
}

/* ---- clock, timers ---- */

int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timer {
	struct timer *next;
	int64_t due;
	void (*cb)(void *);
	void *data;
};

static struct timer *timers, *timers_tail;

void ms_timer_add(int64_t delay_ms, void (*cb)(void *), void *data)
{
	struct timer *t = calloc(1, sizeof(*t)), **pp;

	if (!t) {
		perror("modemsim: calloc");
		exit(1);
	}
	t->due = ms_now() + (delay_ms > 0 ? delay_ms : 0);
	t->cb = cb;
	t->data = data;
	/* most timers go at the end (equal delays): check the tail first */
	if (!timers || timers_tail->due <= t->due) {
		if (timers)
			timers_tail->next = t;
		else
			timers = t;
		timers_tail = t;
		return;
	}
	for (pp = &timers; *pp && (*pp)->due <= t->due; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
}

/* Run due timers; return the poll timeout in ms until the next one (-1: none). */
static int timers_run(void)
{
	int64_t now = ms_now();

	while (timers && timers->due <= now) {
		struct timer *t = timers;

		timers = t->next;
		if (!timers)
			timers_tail = NULL;
		t->cb(t->data);
		free(t);
		now = ms_now();
	}
	if (!timers)
		return -1;
	return (int)(timers->due - now > 60000 ? 60000 : timers->due - now);
}

/* ---- fd watches ---- */

struct watch {
	int fd;
	short events;
	void (*cb)(int fd, short revents, void *data);
	void *data;
};

static struct watch *watches;
static size_t nwatches, capwatches;

void ms_fd_watch(int fd, short events, void (*cb)(int fd, short revents, void *data), void *data)
{
	size_t i;

	for (i = 0; i < nwatches; i++) {
		if (watches[i].fd == fd) {
			watches[i].events = events;
			watches[i].cb = cb;
			watches[i].data = data;
			return;
		}
	}
	if (nwatches == capwatches) {
		capwatches = capwatches ? capwatches * 2 : 16;
		watches = realloc(watches, capwatches * sizeof(*watches));
		if (!watches) {
			perror("modemsim: realloc");
			exit(1);
		}
	}
	watches[nwatches++] = (struct watch){fd, events, cb, data};
}

void ms_fd_events(int fd, short events)
{
	size_t i;

	for (i = 0; i < nwatches; i++)
		if (watches[i].fd == fd)
			watches[i].events = events;
}

void ms_fd_unwatch(int fd)
{
	size_t i;

	for (i = 0; i < nwatches; i++) {
		if (watches[i].fd == fd) {
			watches[i] = watches[--nwatches];
			return;
		}
	}
}

/* ---- log ---- */

void ms_log(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	if (!log_file)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(log_file, "%lld.%03ld %s: ", (long long)ts.tv_sec, ts.tv_nsec / 1000000, ms.name);
	va_start(ap, fmt);
	vfprintf(log_file, fmt, ap);
	va_end(ap);
	fputc('\n', log_file);
}

/* Log AT traffic with control characters made visible. */
static void log_bytes(const char *dir, const void *p, size_t n)
{
	const unsigned char *s = p;
	struct ms_buf b = {0};
	size_t i;

	if (!log_file)
		return;
	for (i = 0; i < n; i++) {
		if (s[i] == '\r')
			ms_buf_add(&b, "\\r", 2);
		else if (s[i] == '\n')
			ms_buf_add(&b, "\\n", 2);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			ms_buf_printf(&b, "\\x%02x", s[i]);
		else
			ms_buf_add(&b, &s[i], 1);
	}
	ms_log("%s %s", dir, b.d ? b.d : "");
	ms_buf_free(&b);
}

/* ---- the pseudo-terminal ---- */

static int pty_master = -1, pty_slave = -1;
static char pty_name[128];
static struct ms_buf pty_out;

bool ms_pty_present(void)
{
	return pty_master >= 0;
}

static void pty_update_events(void)
{
	if (pty_master >= 0)
		ms_fd_events(pty_master, POLLIN | POLLPRI | (pty_out.len > pty_out.off ? POLLOUT : 0));
}

static void pty_flush_out(void)
{
	while (pty_master >= 0 && pty_out.len > pty_out.off) {
		ssize_t w = write(pty_master, pty_out.d + pty_out.off, pty_out.len - pty_out.off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				ms_buf_reset(&pty_out);
			break;
		}
		ms_buf_consume(&pty_out, (size_t)w);
	}
	pty_update_events();
}

void ms_pty_write(const void *p, size_t n)
{
	if (pty_master < 0 || !n)
		return;
	log_bytes(">", p, n);
	if (pty_out.len - pty_out.off + n > PTY_OUT_MAX) {
		ms_log("terminal not reading: %zu bytes dropped", n);
		return;
	}
	ms_buf_add(&pty_out, p, n);
	pty_flush_out();
}

static void pty_event(int fd, short revents, void *data)
{
	uint8_t buf[4096];
	ssize_t n;

	(void)data;
	if (revents & (POLLIN | POLLPRI | POLLHUP | POLLERR)) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			/* TIOCPKT: the first byte says whether data or a status change follows */
			if (buf[0] == TIOCPKT_DATA) {
				log_bytes("<", buf + 1, (size_t)n - 1);
				/* The TE sets TIOCEXCL on open; clear it so that a later open (a second gammu
				 * run) is not refused while we keep the slave open. */
				if (pty_slave >= 0)
					ioctl(pty_slave, TIOCNXCL);
				ms_at_input(buf + 1, (size_t)n - 1);
			} else if (buf[0] & (TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE)) {
				/* Both queues (TCIOFLUSH, libgammu's open): a new TE, the AT state starts
				 * clean. Its input alone (TCIFLUSH, smstools before every command, the PDU
				 * after the prompt too) drops only what it has not read: a modem never
				 * sees that, so the AT state (a PDU awaited) stays. */
				bool both = buf[0] & TIOCPKT_FLUSHWRITE;

				ms_log("terminal flushed its %s", both ? "queues" : "input");
				if (pty_slave >= 0)
					ioctl(pty_slave, TIOCNXCL);
				ms_buf_reset(&pty_out);
				if (both)
					ms_at_flush();
			}
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			/* cannot happen while we hold the slave open; do not spin on it */
			ms_log("pty read: %s", strerror(errno));
			ms_fd_events(fd, 0);
			return;
		}
	}
	if (pty_master >= 0 && (revents & POLLOUT))
		pty_flush_out();
	pty_update_events();
}

/* Point ms.link at the slave: a new symlink renamed over the old one, so there is never a moment
 * without a link once it has existed. */
static int link_create(void)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", ms.link, (long)getpid());
	unlink(tmp);
	if (symlink(pty_name, tmp) < 0)
		return -errno;
	if (rename(tmp, ms.link) < 0) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

int ms_pty_appear(void)
{
	struct termios t;
	int one = 1, err;

	if (pty_master >= 0)
		return -EALREADY;
	pty_master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (pty_master < 0)
		return -errno;
	if (grantpt(pty_master) < 0 || unlockpt(pty_master) < 0 || !ptsname(pty_master))
		goto err_master;
	snprintf(pty_name, sizeof(pty_name), "%s", ptsname(pty_master));
	/* Keep the slave open ourselves: the line stays up while the TE closes and reopens it. */
	pty_slave = open(pty_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (pty_slave < 0)
		goto err_master;
	if (tcgetattr(pty_slave, &t) == 0) {
		cfmakeraw(&t);
		t.c_cflag |= CLOCAL | CREAD;
		cfsetispeed(&t, B115200);
		cfsetospeed(&t, B115200);
		tcsetattr(pty_slave, TCSANOW, &t);
	}
	if (ioctl(pty_master, TIOCPKT, &one) < 0)
		goto err_slave;
	err = link_create();
	if (err < 0) {
		errno = -err;
		goto err_slave;
	}
	ms_buf_reset(&pty_out);
	ms_fd_watch(pty_master, POLLIN | POLLPRI, pty_event, NULL);
	ms_log("pty %s linked at %s", pty_name, ms.link);
	return 0;

err_slave:
	close(pty_slave);
	pty_slave = -1;
err_master:
	err = -errno;
	close(pty_master);
	pty_master = -1;
	return err;
}

int ms_pty_vanish(void)
{
	if (pty_master < 0)
		return -EALREADY;
	ms_fd_unwatch(pty_master);
	unlink(ms.link);
	close(pty_slave);
	close(pty_master);
	pty_slave = pty_master = -1;
	ms_buf_reset(&pty_out);
	ms_at_flush();
	ms_log("pty vanished");
	return 0;
}

/* ---- main ---- */

static void on_signal(int sig)
{
	quit_signal = sig;
}

static void usage(void)
{
	fprintf(stderr, "usage: modemsim --link PATH --ctl SOCKPATH [--airtime-ms N] [--name NAME] [--imei 15DIGITS]\n"
			"                [--sim-size N] [--log FILE]\n");
	exit(2);
}

/* A default IMEI/IMSI tail that differs between instances: a hash of the link path. */
static unsigned long hash_str(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"link", required_argument, NULL, 'l'},	      {"ctl", required_argument, NULL, 'c'},
		{"airtime-ms", required_argument, NULL, 'a'}, {"name", required_argument, NULL, 'n'},
		{"imei", required_argument, NULL, 'i'},	      {"sim-size", required_argument, NULL, 's'},
		{"log", required_argument, NULL, 'g'},	      {NULL, 0, NULL, 0},
	};
	static char imei[16];
	struct sigaction sa;
	sigset_t block, orig;
	struct pollfd *pfds = NULL;
	size_t cappfds = 0;
	const char *log_path = NULL;
	int c, err, lfd;

	ms.name = "modemsim";
	ms.sim_size = 30;
	ms.reports = true;
	ms.report_delay_ms = 100;
	snprintf(ms.smsc, sizeof(ms.smsc), "+8613800100500");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			ms.link = optarg;
			break;
		case 'c':
			ms.ctl_path = optarg;
			break;
		case 'a':
			ms.airtime_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			ms.name = optarg;
			break;
		case 'i':
			if (strlen(optarg) != 15 || strspn(optarg, "0123456789") != 15) {
				fprintf(stderr, "modemsim: --imei wants 15 digits\n");
				return 2;
			}
			ms.imei = optarg;
			break;
		case 's':
			ms.sim_size = (unsigned)strtoul(optarg, NULL, 10);
			if (ms.sim_size < 1 || ms.sim_size > 10000) {
				fprintf(stderr, "modemsim: --sim-size wants 1..10000\n");
				return 2;
			}
			break;
		case 'g':
			log_path = optarg;
			break;
		default:
			usage();
		}
	}
	if (!ms.link || !ms.ctl_path || optind != argc)
		usage();
	if (!ms.imei) {
		snprintf(imei, sizeof(imei), "35%013lu", hash_str(ms.link) % 10000000000000UL);
		ms.imei = imei;
	}
	if (log_path) {
		log_file = fopen(log_path, "a");
		if (!log_file) {
			fprintf(stderr, "modemsim: %s: %s\n", log_path, strerror(errno));
			return 1;
		}
		setvbuf(log_file, NULL, _IOLBF, 0);
	}
	ms.sim = calloc(ms.sim_size + 1, sizeof(*ms.sim));
	if (!ms.sim) {
		perror("modemsim: calloc");
		return 1;
	}
	ms.pending_tail = &ms.pending;
	srand((unsigned)(getpid() ^ time(NULL)));

	/* SIGTERM/SIGINT are only delivered inside ppoll(), so a signal cannot slip in between the
	 * check of quit_signal and the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigdelset(&orig, SIGTERM);
	sigdelset(&orig, SIGINT);

	ms_at_init();
	err = ms_pty_appear();
	if (err < 0) {
		fprintf(stderr, "modemsim: pty at %s: %s\n", ms.link, strerror(-err));
		return 1;
	}
	lfd = ms_ctl_listen(ms.ctl_path);
	if (lfd < 0) {
		fprintf(stderr, "modemsim: control socket %s: %s\n", ms.ctl_path, strerror(-lfd));
		unlink(ms.link);
		return 1;
	}
	printf("modemsim ready %s\n", pty_name);
	fflush(stdout);
	ms_log("ready: %s -> %s, control %s, air time %u ms", ms.link, pty_name, ms.ctl_path, ms.airtime_ms);

	while (!quit_signal) {
		int timeout = timers_run();
		struct timespec ts, *tsp = NULL;
		size_t i, n = nwatches;
		int r;

		if (n > cappfds) {
			cappfds = n * 2;
			pfds = realloc(pfds, cappfds * sizeof(*pfds));
			if (!pfds) {
				perror("modemsim: realloc");
				return 1;
			}
		}
		for (i = 0; i < n; i++)
			pfds[i] = (struct pollfd){.fd = watches[i].fd, .events = watches[i].events};
		if (timeout >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000;
			tsp = &ts;
		}
		r = ppoll(pfds, n, tsp, &orig);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("modemsim: ppoll");
			break;
		}
		/* callbacks may add or remove watches: look each fd up again before calling */
		for (i = 0; i < n && r > 0; i++) {
			size_t j;

			if (!pfds[i].revents)
				continue;
			r--;
			for (j = 0; j < nwatches; j++) {
				if (watches[j].fd == pfds[i].fd) {
					watches[j].cb(pfds[i].fd, pfds[i].revents, watches[j].data);
					break;
				}
			}
		}
	}
	ms_log("signal %d: exiting", (int)quit_signal);
	if (pty_master >= 0)
		unlink(ms.link);
	unlink(ms.ctl_path);
	free(pfds);
	return 0;
}
