/* db_csv_next (db/import.h) over a buffer: every record to the end, each field a C string. */
#include <osmocom/core/talloc.h>

#include "db/import.h"
#include "tests/fuzz/fuzz.h"

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx = talloc_named_const(NULL, 0, "csv_fuzz");
	struct db_csv c;
	const char *err;
	char **fields;
	unsigned line, last = 0;
	int n;

	db_csv_init(&c, (const char *)data, size);
	while ((n = db_csv_next(&c, ctx, &fields, &line, &err)) != 0) {
		if (n > 0)
			for (int k = 0; k < n; k++)
				sink += strlen(fields[k]); /* each field is a C string */
		if (line < last)
			abort(); /* the line numbers never go back */
		last = line;
		talloc_free_children(ctx);
	}
	talloc_free(ctx);
	return 0;
}
