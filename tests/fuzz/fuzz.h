/* What the fuzz targets share (tests/fuzz/NAME_fuzz.c): the libFuzzer entry point's prototype,
 * quiet logging, and a NUL-terminated copy of the input for the functions that take a C string.
 * Header only. Each target is built twice: with clang -fsanitize=fuzzer into build/fuzz/NAME_fuzz
 * (`make fuzz`), and with tests/fuzz/replay.c's main into BUILD/unit/fuzz_NAME_test, which
 * `make test` runs over tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>

/* One input; 0 always (libFuzzer reserves other values). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct log_info fuzz_log_info __attribute__((unused)) = {.cat = NULL, .num_cat = 0};

/* libosmocore logging set up once, to stderr, fatal messages only (the layers log every refusal). */
static inline void fuzz_logging(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	osmo_init_logging2(NULL, &fuzz_log_info);
	log_set_log_level(osmo_stderr_target, LOGL_FATAL);
	log_set_print_filename2(osmo_stderr_target, LOG_FILENAME_NONE);
	log_set_use_color(osmo_stderr_target, 0);
}

/* data[0..size) and a NUL in a new malloc'd buffer (free()); aborts when out of memory. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
