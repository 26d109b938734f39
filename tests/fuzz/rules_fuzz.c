/* The keyword rules (gateway/core/rules.h): rt_normalize and rt_match against routes/sms.rules
 * (loaded once) on arbitrary bytes; and the same bytes as a rules file for rt_rules_parse, with
 * the parsed rules matched against a fixed text when they load. */
#include <stdio.h>

#include "gateway/core/rules.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rt_rules sms_rules, parsed;
	static bool loaded;
	char norm[1024], err[256];
	struct rt_match m;
	char *text;

	if (!loaded) {
		fuzz_logging();
		if (rt_rules_load(&sms_rules, "routes/sms.rules", err, sizeof(err)) < 0) {
			fprintf(stderr, "routes/sms.rules: %s (run from the project's root)\n", err);
			abort();
		}
		loaded = true;
	}
	rt_normalize((const char *)data, size, norm, sizeof(norm));
	rt_normalize((const char *)data, size, norm, 16);
	if (rt_match(&sms_rules, (const char *)data, size, &m) == 0 && m.rule &&
	    strnlen(m.args, sizeof(m.args)) == sizeof(m.args))
		abort();

	text = fuzz_cstr(data, size);
	if (rt_rules_parse(&parsed, text, err, sizeof(err)) == 0) {
		rt_match(&parsed, "报事 1幢楼道灯坏了", strlen("报事 1幢楼道灯坏了"), &m);
		rt_template(&parsed, "help", "en");
	}
	free(text);
	return 0;
}
