/* modemsim-ctl SOCKPATH word...: send one command to a modemsim control socket and print the
 * reply. Exit 0 on "ok ..." or a list, 1 on "err ...", 2 when the socket cannot be used.
 * Depends on nothing but libc. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *line, *reply = NULL, buf[65536];
	size_t len = 0, cap = 0, linelen = 0, start = 0;
	int fd, i, first = 1, list = 0, rc;

	if (argc < 3) {
		fprintf(stderr, "usage: modemsim-ctl SOCKPATH COMMAND [ARG...]\n");
		return 2;
	}
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "modemsim-ctl: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	for (i = 2; i < argc; i++)
		linelen += 4 * strlen(argv[i]) + 1;
	line = malloc(linelen + 1);
	if (!line)
		return 2;
	/* one command is one line: a line break or another control character inside an argument (a
	 * watch's two-line alarm) is sent as modemsim's escape (\n, \t, \xHH), never as a second
	 * command */
	for (i = 2, len = 0; i < argc; i++) {
		for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++) {
			if (*p == '\n')
				len += (size_t)sprintf(line + len, "\\n");
			else if (*p == '\t')
				len += (size_t)sprintf(line + len, "\\t");
			else if (*p < 0x20 || *p == 0x7f)
				len += (size_t)sprintf(line + len, "\\x%02x", *p);
			else
				line[len++] = (char)*p;
		}
		line[len++] = i + 1 < argc ? ' ' : '\n';
	}
	line[len] = 0;
	len = 0;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "modemsim-ctl: %s: %s\n", argv[1], strerror(errno));
		rc = 2;
		goto out;
	}
	if (write_all(fd, line, strlen(line)) < 0) {
		fprintf(stderr, "modemsim-ctl: write: %s\n", strerror(errno));
		rc = 2;
		goto out;
	}
	/* Read lines: a reply is one "ok"/"err" line, or list lines ended by "." */
	for (;;) {
		char *nl;
		ssize_t n;

		while (reply && (nl = memchr(reply + start, '\n', len - start))) {
			size_t ll = (size_t)(nl - (reply + start));
			char *l = reply + start;

			*nl = 0;
			start += ll + 1;
			if (first && !list) {
				first = 0;
				if (!strncmp(l, "ok", 2) && (l[2] == 0 || l[2] == ' ')) {
					puts(l);
					rc = 0;
					goto out;
				}
				if (!strncmp(l, "err", 3) && (l[3] == 0 || l[3] == ' ')) {
					puts(l);
					rc = 1;
					goto out;
				}
				list = 1;
			}
			if (!strcmp(l, ".")) {
				fflush(stdout);
				rc = 0;
				goto out;
			}
			puts(l);
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "modemsim-ctl: connection closed before the reply ended\n");
			rc = 2;
			goto out;
		}
		if (len + (size_t)n + 1 > cap) {
			cap = (len + (size_t)n + 1) * 2;
			char *more = realloc(reply, cap);

			if (!more) {
				rc = 2;
				goto out;
			}
			reply = more;
		}
		memcpy(reply + len, buf, (size_t)n);
		len += (size_t)n;
	}
out:
	free(reply);
	free(line);
	if (fd >= 0)
		close(fd);
	return rc;
}
