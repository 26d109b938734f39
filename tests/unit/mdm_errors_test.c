/* Unit test of the +CMS/+CME classification table (modem/mdm_errors.c). Exits 0 when all pass. */

#include <stdio.h>
#include <string.h>

#include "modem/mdm_errors.h"
#include "tests/unit/testlib.h"

struct expect {
	int code;
	enum mdm_err_class cls;
	const char *name_part; /* substring of the reason */
};

static const struct expect cms_expect[] = {
	{500, MDM_ERR_TRANSIENT, "unknown error"},
	{512, MDM_ERR_TRANSIENT, "manufacturer"},
	{513, MDM_ERR_TRANSIENT, "manufacturer"},
	{514, MDM_ERR_TRANSIENT, "manufacturer"},
	{515, MDM_ERR_TRANSIENT, "busy"},
	{331, MDM_ERR_TRANSIENT, "no network service"},
	{332, MDM_ERR_TRANSIENT, "network timeout"},
	{322, MDM_ERR_TRANSIENT, "memory full"},
	{42, MDM_ERR_TRANSIENT, "congestion"},
	{41, MDM_ERR_TRANSIENT, "temporary failure"},
	{38, MDM_ERR_TRANSIENT, "network out of order"},
	{314, MDM_ERR_TRANSIENT, "SIM busy"},
	{192, MDM_ERR_TRANSIENT, "SC busy"},
	{1, MDM_ERR_PERMANENT, "unassigned"},
	{8, MDM_ERR_PERMANENT, "operator determined barring"},
	{10, MDM_ERR_PERMANENT, "call barred"},
	{21, MDM_ERR_PERMANENT, "short message transfer rejected"},
	{28, MDM_ERR_PERMANENT, "unidentified subscriber"},
	{29, MDM_ERR_PERMANENT, "facility rejected"},
	{96, MDM_ERR_PERMANENT, "invalid mandatory information"},
	{304, MDM_ERR_PERMANENT, "invalid PDU mode parameter"},
	{305, MDM_ERR_PERMANENT, "invalid text mode parameter"},
	{195, MDM_ERR_PERMANENT, "invalid SME address"},
	{300, MDM_ERR_MODEM, "ME failure"},
	{310, MDM_ERR_MODEM, "not inserted"},
	{311, MDM_ERR_MODEM, "PIN required"},
	{330, MDM_ERR_MODEM, "SMSC address unknown"},
	/* not in the table: by range */
	{0x8a, MDM_ERR_PERMANENT, "unknown CMS code 138"},
	{0xc8, MDM_ERR_TRANSIENT, "unknown CMS code 200"},
	{600, MDM_ERR_TRANSIENT, "unknown CMS code 600"},
	{2, MDM_ERR_TRANSIENT, "unknown CMS code 2"},
};

static const struct expect cme_expect[] = {
	{14, MDM_ERR_TRANSIENT, "SIM busy"},
	{30, MDM_ERR_TRANSIENT, "no network service"},
	{31, MDM_ERR_TRANSIENT, "network timeout"},
	{100, MDM_ERR_TRANSIENT, "unknown"},
	{10, MDM_ERR_MODEM, "SIM not inserted"},
	{11, MDM_ERR_MODEM, "SIM PIN required"},
	{13, MDM_ERR_MODEM, "SIM failure"},
	{0, MDM_ERR_MODEM, "phone failure"},
	{24, MDM_ERR_PERMANENT, "too long"},
	{27, MDM_ERR_PERMANENT, "dial string"},
	{999, MDM_ERR_TRANSIENT, "unknown CME code 999"},
};

static void check_table(const char *what, const struct expect *e, size_t n,
			enum mdm_err_class (*fn)(int, char *, size_t))
{
	char reason[128];

	for (size_t i = 0; i < n; i++) {
		reason[0] = '\0';
		enum mdm_err_class cls = fn(e[i].code, reason, sizeof(reason));

		CHECK(cls == e[i].cls && strstr(reason, e[i].name_part), "%s %d: %s \"%s\" (want %s \"...%s...\")",
		      what, e[i].code, mdm_err_class_name(cls), reason, mdm_err_class_name(e[i].cls), e[i].name_part);
	}
}

static void test_parse(void)
{
	bool cms = false;

	CHECK(mdm_parse_cm_error("+CMS ERROR: 500", &cms) == 500 && cms, "%s",
	      "mdm_parse_cm_error(\"+CMS ERROR: 500\", &cms) == 500 && cms");
	CHECK(mdm_parse_cm_error("+CME ERROR: 14", &cms) == 14 && !cms, "%s",
	      "mdm_parse_cm_error(\"+CME ERROR: 14\", &cms) == 14 && !cms");
	CHECK(mdm_parse_cm_error("+CMS ERROR:21\r\n", &cms) == 21 && cms, "%s",
	      "mdm_parse_cm_error(\"+CMS ERROR:21\\r\\n\", &cms) == 21 && cms");
	CHECK(mdm_parse_cm_error("  +CMS ERROR: 0", &cms) == 0 && cms, "%s",
	      "mdm_parse_cm_error(\"  +CMS ERROR: 0\", &cms) == 0 && cms");
	CHECK(mdm_parse_cm_error("+CMS ERROR: unknown error", &cms) == -1, "%s",
	      "mdm_parse_cm_error(\"+CMS ERROR: unknown error\", &cms) == -1");
	CHECK(mdm_parse_cm_error("+CMS ERROR: 12x", &cms) == -1, "%s",
	      "mdm_parse_cm_error(\"+CMS ERROR: 12x\", &cms) == -1");
	CHECK(mdm_parse_cm_error("ERROR", &cms) == -1, "%s", "mdm_parse_cm_error(\"ERROR\", &cms) == -1");
	CHECK(mdm_parse_cm_error("OK", &cms) == -1, "%s", "mdm_parse_cm_error(\"OK\", &cms) == -1");
	CHECK(mdm_parse_cm_error("", &cms) == -1, "%s", "mdm_parse_cm_error(\"\", &cms) == -1");
	CHECK(mdm_parse_cm_error(NULL, &cms) == -1, "%s", "mdm_parse_cm_error(NULL, &cms) == -1");
	CHECK(mdm_parse_cm_error("+CMGS: 12", &cms) == -1, "%s", "mdm_parse_cm_error(\"+CMGS: 12\", &cms) == -1");
}

static void test_reason_buffer(void)
{
	char small[8];

	/* truncates, stays terminated, no overflow */
	CHECK(mdm_classify_cms(21, small, sizeof(small)) == MDM_ERR_PERMANENT, "%s",
	      "mdm_classify_cms(21, small, sizeof(small)) == MDM_ERR_PERMANENT");
	CHECK(strlen(small) == sizeof(small) - 1, "%s", "strlen(small) == sizeof(small) - 1");
	/* NULL reason is allowed */
	CHECK(mdm_classify_cms(500, NULL, 0) == MDM_ERR_TRANSIENT, "%s",
	      "mdm_classify_cms(500, NULL, 0) == MDM_ERR_TRANSIENT");
	CHECK(mdm_classify_cme(14, NULL, 0) == MDM_ERR_TRANSIENT, "%s",
	      "mdm_classify_cme(14, NULL, 0) == MDM_ERR_TRANSIENT");
	CHECK(strcmp(mdm_err_class_name(MDM_OK), "ok") == 0, "%s", "strcmp(mdm_err_class_name(MDM_OK), \"ok\") == 0");
}

/* mdm_err_no_service(): a send refused for want of network, as the pool words the reason */
static void test_no_service(void)
{
	static const struct {
		const char *reason;
		bool want;
	} cases[] = {
		{"+CMS ERROR: 331 (no network service)", true},
		{"+CMS ERROR:331", true},
		{"+CME ERROR: 30 (no network service)", true},
		{"+CME ERROR: 32 (network not allowed - emergency calls only)", true},
		{"+CMS ERROR: 30 (unknown subscriber)", false},
		{"+CME ERROR: 331", false},
		{"+CMS ERROR: 332 (network timeout)", false},
		{"+CMS ERROR: 3310", false},
		{"+CMS ERROR: (no code)", false},
		{"m1: +CMS ERROR: 331", false},
		{"no \"> \" prompt for part 1", false},
		{"", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(mdm_err_no_service(cases[i].reason) == cases[i].want, "no service %s: %s", cases[i].reason,
		      cases[i].want ? "yes" : "no");
	CHECK(!mdm_err_no_service(NULL), "%s", "no service NULL: no");
}

int main(void)
{
	check_table("CMS", cms_expect, sizeof(cms_expect) / sizeof(cms_expect[0]), mdm_classify_cms);
	check_table("CME", cme_expect, sizeof(cme_expect) / sizeof(cme_expect[0]), mdm_classify_cme);
	test_parse();
	test_reason_buffer();
	test_no_service();
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
