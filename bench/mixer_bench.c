/* Mixer benchmark: CPU time of the group call media (gateway/call/media.c) for C concurrent conferences
 * of P parties, every party a real loopback RTP peer sending a 20 ms frame every 20 ms, run for S
 * seconds; reported as a fraction of one core of this process (the peers run in a child process
 * and are not counted). References measured in the same run: one conference of P parties through
 * the same code, and the bare arithmetic of C x P (decode, sum, subtract own, saturate, encode)
 * in a plain loop without sockets.
 *
 *   mixer_bench [SECONDS] [CONFS] [PARTIES]     prints "name value unit" lines for bench/run.sh
 *   mixer_bench serve N                         a mixer host for tests (tests/e2e/test_rtp.py):
 *       N legs on 127.0.0.1, one conference; prints "leg I PORT" and "ready"; reads commands on
 *       stdin: "remote I HOST PORT PT TE_PT" (and join), "leave I", "prompts DIR",
 *       "play I NAME...", "quit"; prints "digit I D" and "done I".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/select.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "gateway/core/gw.h"
#include "gateway/call/media.h"
#include "gateway/call/media_g711.h"

#define FRAME 160

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int udp_loopback(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), big = 1 << 20;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("mixer_bench: peer socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The peers, in a child process: every 20 ms one frame from each socket to its leg; everything
 * received is counted. Writes the count to `out` when `seconds` are over. */
static void peers_run(int *fds, const uint16_t *leg_ports, unsigned n, double seconds, int out)
{
	uint8_t frame[12 + FRAME], buf[2048];
	unsigned long long received = 0;
	double start = now_s(), next = start;
	uint16_t seq = 0;
	uint32_t ts = 0;
	unsigned i;

	while (now_s() - start < seconds) {
		for (i = 0; i < n; i++) {
			struct sockaddr_in to = {.sin_family = AF_INET,
						 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
						 .sin_port = htons(leg_ports[i])};
			unsigned k;

			frame[0] = 0x80;
			frame[1] = 0;
			frame[2] = seq >> 8;
			frame[3] = seq;
			frame[4] = ts >> 24;
			frame[5] = ts >> 16;
			frame[6] = ts >> 8;
			frame[7] = ts;
			frame[8] = frame[9] = frame[10] = 0;
			frame[11] = i;
			for (k = 0; k < FRAME; k++)
				frame[12 + k] = media_lin2ulaw(
					(int16_t)(3000 * sin(2 * M_PI * (300 + 10 * (i % 50)) * (ts + k) / 8000.0)));
			sendto(fds[i], frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to));
		}
		seq++;
		ts += FRAME;
		next += 0.02;
		do {
			for (i = 0; i < n; i++)
				while (recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
					received++;
			if (next - now_s() > 0.002)
				poll(NULL, 0, 1);
		} while (now_s() < next);
	}
	if (write(out, &received, sizeof(received)) != sizeof(received))
		exit(1);
}

struct run_result {
	double cpu_fraction; /* of one core */
	double delivered;    /* packets the peers received / packets expected */
};

/* confs x parties legs in conferences against forked peers; CPU measured over `seconds` after a
 * warm-up of one second. */
static struct run_result run_mixer(void *ctx, unsigned confs, unsigned parties, double seconds)
{
	unsigned n = confs * parties, i;
	struct media_leg **legs = talloc_array(ctx, struct media_leg *, n);
	struct media_conf **cf = talloc_array(ctx, struct media_conf *, confs);
	uint16_t *leg_ports = talloc_array(ctx, uint16_t, n);
	int *fds = talloc_array(ctx, int, n), pfd[2];
	unsigned long long received = 0;
	struct run_result r = {0};
	double t0, c0, t1, c1, end;
	pid_t pid;

	for (i = 0; i < confs; i++)
		cf[i] = media_conf_alloc(ctx);
	for (i = 0; i < n; i++) {
		uint16_t pport;

		legs[i] = media_leg_alloc(ctx, "127.0.0.1", 20000, 59998);
		if (!legs[i]) {
			fprintf(stderr, "mixer_bench: leg %u: %s\n", i, strerror(errno));
			exit(1);
		}
		leg_ports[i] = media_leg_local_port(legs[i]);
		fds[i] = udp_loopback(&pport);
		media_leg_set_remote(legs[i], "127.0.0.1", pport, MEDIA_PT_PCMU, 101);
		media_conf_join(cf[i / parties], legs[i]);
	}
	if (pipe(pfd) < 0) {
		perror("pipe");
		exit(1);
	}
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		peers_run(fds, leg_ports, n, seconds + 1.5, pfd[1]);
		_exit(0);
	}
	close(pfd[1]);
	for (i = 0; i < n; i++)
		close(fds[i]);

	end = now_s() + 1.0; /* warm-up */
	while (now_s() < end)
		osmo_select_main(0);
	t0 = now_s();
	c0 = cpu_s();
	end = t0 + seconds;
	while (now_s() < end)
		osmo_select_main(0);
	t1 = now_s();
	c1 = cpu_s();
	r.cpu_fraction = (c1 - c0) / (t1 - t0);

	/* keep serving until the peers finish, so they can count */
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};

		if (poll(&p, 1, 0) > 0)
			break;
		osmo_select_main(0);
	}
	if (read(pfd[0], &received, sizeof(received)) != sizeof(received))
		received = 0;
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	/* the peers ran seconds + 1.5 s, the legs answer 50 packets per second each */
	r.delivered = received / (n * 50.0 * (seconds + 1.5));
	for (i = 0; i < n; i++)
		media_leg_free(legs[i]);
	for (i = 0; i < confs; i++)
		media_conf_free(cf[i]);
	talloc_free(legs);
	talloc_free(cf);
	talloc_free(leg_ports);
	talloc_free(fds);
	return r;
}

/* The bare arithmetic of one tick for confs x parties, repeated 50 times per simulated second. */
static double run_compute(unsigned confs, unsigned parties, double seconds)
{
	unsigned n = confs * parties, ticks = (unsigned)(seconds * 50), t, c, p, i;
	uint8_t *in = malloc((size_t)n * FRAME), out[FRAME];
	int16_t *lin = malloc((size_t)parties * FRAME * sizeof(int16_t));
	int32_t sum[FRAME];
	volatile unsigned sink = 0;
	double c0, c1;

	for (i = 0; i < n * FRAME; i++)
		in[i] = media_lin2ulaw((int16_t)(3000 * sin(i * 0.37)));
	c0 = cpu_s();
	for (t = 0; t < ticks; t++) {
		for (c = 0; c < confs; c++) {
			memset(sum, 0, sizeof(sum));
			for (p = 0; p < parties; p++) {
				const uint8_t *f = in + ((size_t)c * parties + p) * FRAME;

				for (i = 0; i < FRAME; i++) {
					lin[p * FRAME + i] = media_ulaw2lin(f[i]);
					sum[i] += lin[p * FRAME + i];
				}
			}
			for (p = 0; p < parties; p++) {
				for (i = 0; i < FRAME; i++) {
					int32_t v = sum[i] - lin[p * FRAME + i];

					v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
					out[i] = media_lin2ulaw((int16_t)v);
				}
				sink += out[t % FRAME];
			}
		}
	}
	c1 = cpu_s();
	free(in);
	free(lin);
	(void)sink;
	return (c1 - c0) / seconds;
}

/* ---- serve: a mixer host driven over stdin, for the end-to-end tests of tests/e2e/rtp.py ---- */

static struct media_leg **srv_legs;
static unsigned srv_n;
static struct media_conf *srv_conf;
static bool srv_quit;

static int leg_index(struct media_leg *leg)
{
	unsigned i;

	for (i = 0; i < srv_n; i++)
		if (srv_legs[i] == leg)
			return i;
	return -1;
}

static void srv_digit(struct media_leg *leg, char d, void *data)
{
	(void)data;
	printf("digit %d %c\n", leg_index(leg), d);
	fflush(stdout);
}

static void srv_done(struct media_leg *leg, void *data)
{
	(void)data;
	printf("done %d\n", leg_index(leg));
	fflush(stdout);
}

static void srv_command(char *line)
{
	char *argv[16], *save = NULL, *tok;
	int argc = 0;
	unsigned i;

	for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 16; tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (!argc)
		return;
	if (!strcmp(argv[0], "quit")) {
		srv_quit = true;
		return;
	}
	if (!strcmp(argv[0], "prompts") && argc == 2) {
		printf("prompts %d\n", media_prompts_load(argv[1]));
		fflush(stdout);
		return;
	}
	i = argc > 1 ? (unsigned)atoi(argv[1]) : srv_n;
	if (i >= srv_n) {
		printf("error: no leg in '%s'\n", argv[0]);
	} else if (!strcmp(argv[0], "remote") && argc == 6) {
		int rc = media_leg_set_remote(srv_legs[i], argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));

		if (rc == 0)
			rc = media_conf_join(srv_conf, srv_legs[i]);
		printf("remote %u %d\n", i, rc);
	} else if (!strcmp(argv[0], "leave")) {
		media_conf_leave(srv_conf, srv_legs[i]);
		printf("left %u\n", i);
	} else if (!strcmp(argv[0], "play") && argc > 2) {
		printf("play %u %d\n", i,
		       media_leg_play(srv_legs[i], (const char *const *)argv + 2, argc - 2, srv_done, NULL));
	} else {
		printf("error: unknown command '%s'\n", argv[0]);
	}
	fflush(stdout);
}

static int srv_stdin(struct osmo_fd *ofd, unsigned what)
{
	static char buf[4096];
	static size_t len;
	ssize_t n;
	char *nl;

	(void)what;
	n = read(ofd->fd, buf + len, sizeof(buf) - 1 - len);
	if (n <= 0) {
		srv_quit = true;
		return 0;
	}
	len += n;
	buf[len] = 0;
	while ((nl = strchr(buf, '\n'))) {
		*nl = 0;
		srv_command(buf);
		memmove(buf, nl + 1, len - (nl + 1 - buf) + 1);
		len -= nl + 1 - buf;
	}
	if (len == sizeof(buf) - 1)
		len = 0;
	return 0;
}

static int serve(void *ctx, unsigned n)
{
	struct osmo_fd in_fd;
	unsigned i;

	srv_n = n;
	srv_legs = talloc_array(ctx, struct media_leg *, n);
	srv_conf = media_conf_alloc(ctx);
	for (i = 0; i < n; i++) {
		srv_legs[i] = media_leg_alloc(ctx, "127.0.0.1", 30000, 39998);
		if (!srv_legs[i]) {
			fprintf(stderr, "mixer_bench serve: leg %u: %s\n", i, strerror(errno));
			return 1;
		}
		media_leg_on_dtmf(srv_legs[i], srv_digit, NULL);
		printf("leg %u %u\n", i, media_leg_local_port(srv_legs[i]));
	}
	printf("ready\n");
	fflush(stdout);
	osmo_fd_setup(&in_fd, 0, OSMO_FD_READ, srv_stdin, NULL, 0);
	osmo_fd_register(&in_fd);
	while (!srv_quit)
		osmo_select_main(0);
	osmo_fd_unregister(&in_fd);
	for (i = 0; i < n; i++)
		media_leg_free(srv_legs[i]);
	media_conf_free(srv_conf);
	return 0;
}

int main(int argc, char **argv)
{
	void *ctx = talloc_named_const(NULL, 0, "mixer_bench");
	double seconds = argc > 1 ? atof(argv[1]) : 10;
	unsigned confs = argc > 2 ? (unsigned)atoi(argv[2]) : 50, parties = argc > 3 ? (unsigned)atoi(argv[3]) : 10;
	struct run_result big, one;
	double compute;
	struct rlimit rl;

	osmo_init_logging2(ctx, &gw_log_info);
	log_set_category_filter(osmo_stderr_target, DMEDIA, 1, LOGL_NOTICE);
	media_g711_init();
	signal(SIGPIPE, SIG_IGN);
	if (argc > 2 && !strcmp(argv[1], "serve"))
		return serve(ctx, (unsigned)atoi(argv[2]));
	if (seconds <= 0 || !confs || !parties) {
		fprintf(stderr, "usage: mixer_bench [SECONDS] [CONFS] [PARTIES] | serve N\n");
		return 2;
	}
	/* two sockets per party (leg and peer) */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	one = run_mixer(ctx, 1, parties, seconds);
	big = run_mixer(ctx, confs, parties, seconds);
	compute = run_compute(confs, parties, seconds);

	printf("mixer_1x%u_cpu %.4f fraction of one core (reference: 1 conference of %u through the same code)\n",
	       parties, one.cpu_fraction, parties);
	printf("mixer_%ux%u_cpu %.4f fraction of one core (%u conferences of %u, %.0f s)\n", confs, parties,
	       big.cpu_fraction, confs, parties, seconds);
	printf("mixer_%ux%u_vs_1x%u %.2f ratio of CPU (%u if the cost grows linearly)\n", confs, parties, parties,
	       one.cpu_fraction > 0 ? big.cpu_fraction / one.cpu_fraction : 0, confs);
	printf("mixer_compute_%ux%u_cpu %.4f fraction of one core (reference: decode+sum+encode alone, no sockets)\n",
	       confs, parties, compute);
	printf("mixer_%ux%u_vs_compute %.2f ratio of CPU (the rest is UDP send/receive and the loop)\n", confs, parties,
	       compute > 0 ? big.cpu_fraction / compute : 0);
	printf("mixer_%ux%u_delivered %.4f of the packets expected at the peers\n", confs, parties, big.delivered);
	talloc_free(ctx);
	return 0;
}
