/* What the unit tests share: CHECK and the failure count, quiet logging, temporary files.
 * Header only: each test program is one .c file that includes it. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>

static int failures;

/* Evaluates cond once; prints "ok" or "FAIL" and the description (printf format). */
#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		bool ok_ = (cond);                                                                                     \
		printf(ok_ ? "ok   " : "FAIL ");                                                                       \
		printf(__VA_ARGS__);                                                                                   \
		printf("%s\n", ok_ ? "" : "   <-- " #cond);                                                            \
		failures += !ok_;                                                                                      \
	} while (0)

static const struct log_info test_log_info __attribute__((unused)) = {.cat = NULL, .num_cat = 0};

/* libosmocore logging to stderr, without colours or file names (stdout is the test's record). */
static inline void test_logging(void *ctx)
{
	osmo_init_logging2(ctx, &test_log_info);
	log_set_print_filename2(osmo_stderr_target, LOG_FILENAME_NONE);
	log_set_use_color(osmo_stderr_target, 0);
}

/* A fresh name /tmp/linli-NAME-XXXXXX for a file that does not exist yet (e.g. a database for
 * db_open to create); 0, or -1 with errno set. */
static inline int test_tmp_path(char *buf, size_t len, const char *name)
{
	int fd;

	if ((size_t)snprintf(buf, len, "/tmp/linli-%s-XXXXXX", name) >= len)
		return -1;
	fd = mkstemp(buf);
	if (fd < 0)
		return -1;
	close(fd);
	return unlink(buf);
}
