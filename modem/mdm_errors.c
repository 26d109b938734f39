/* +CMS / +CME error classification for the modem pool: which failures to retry, which to fail,
 * and which mean the modem itself (SIM, PIN, ME failure) is the problem. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modem/mdm_errors.h"

#define T MDM_ERR_TRANSIENT
#define P MDM_ERR_PERMANENT
#define M MDM_ERR_MODEM

struct code_info {
	int code;
	enum mdm_err_class cls;
	const char *name;
};

/* 0..127: RP-cause (24.011 E.2); 128..255: TP-FCS (23.040 9.2.3.22); 300..: 27.005 3.2.5. */
static const struct code_info cms_codes[] = {
	{1, P, "unassigned (unallocated) number"},
	{8, P, "operator determined barring"},
	{10, P, "call barred"},
	{17, T, "network failure"},
	{21, P, "short message transfer rejected"},
	{22, T, "memory capacity exceeded"},
	{27, T, "destination out of service"},
	{28, P, "unidentified subscriber"},
	{29, P, "facility rejected"},
	{30, P, "unknown subscriber"},
	{38, T, "network out of order"},
	{41, T, "temporary failure"},
	{42, T, "congestion"},
	{47, T, "resources unavailable, unspecified"},
	{50, P, "requested facility not subscribed"},
	{69, P, "requested facility not implemented"},
	{81, T, "invalid short message transfer reference value"},
	{95, P, "invalid message, unspecified"},
	{96, P, "invalid mandatory information"},
	{97, P, "message type non-existent or not implemented"},
	{98, T, "message not compatible with short message protocol state"},
	{99, P, "information element non-existent or not implemented"},
	{111, T, "protocol error, unspecified"},
	{127, T, "interworking, unspecified"},
	{128, P, "telematic interworking not supported"},
	{129, P, "short message Type 0 not supported"},
	{130, P, "cannot replace short message"},
	{143, P, "unspecified TP-PID error"},
	{144, P, "data coding scheme (alphabet) not supported"},
	{145, P, "message class not supported"},
	{159, P, "unspecified TP-DCS error"},
	{160, P, "command cannot be actioned"},
	{161, P, "command unsupported"},
	{175, P, "unspecified TP-Command error"},
	{176, P, "TPDU not supported"},
	{192, T, "SC busy"},
	{193, M, "no SC subscription"},
	{194, T, "SC system failure"},
	{195, P, "invalid SME address"},
	{196, P, "destination SME barred"},
	{197, P, "SM rejected-duplicate SM"},
	{198, P, "TP-VPF not supported"},
	{199, P, "TP-VP not supported"},
	{208, T, "(U)SIM SMS storage full"},
	{209, M, "no SMS storage capability in (U)SIM"},
	{210, T, "error in MS"},
	{211, T, "memory capacity exceeded"},
	{212, T, "(U)SIM Application Toolkit busy"},
	{213, T, "(U)SIM data download error"},
	{255, T, "unspecified error cause"},
	{300, M, "ME failure"},
	{301, T, "SMS service of ME reserved"},
	{302, T, "operation not allowed"},
	{303, M, "operation not supported"},
	{304, P, "invalid PDU mode parameter"},
	{305, P, "invalid text mode parameter"},
	{310, M, "(U)SIM not inserted"},
	{311, M, "(U)SIM PIN required"},
	{312, M, "PH-(U)SIM PIN required"},
	{313, M, "(U)SIM failure"},
	{314, T, "(U)SIM busy"},
	{315, M, "(U)SIM wrong"},
	{316, M, "(U)SIM PUK required"},
	{317, M, "(U)SIM PIN2 required"},
	{318, M, "(U)SIM PUK2 required"},
	{320, T, "memory failure"},
	{321, P, "invalid memory index"},
	{322, T, "memory full"},
	{330, M, "SMSC address unknown"},
	{331, T, "no network service"},
	{332, T, "network timeout"},
	{340, T, "no +CNMA acknowledgement expected"},
	{500, T, "unknown error"},
	/* manufacturer specific, the common ones */
	{512, T, "manufacturer specific: user abort / SIM not ready"},
	{513, T, "manufacturer specific: unable to store / lower layer failure"},
	{514, T, "manufacturer specific: invalid status / busy"},
	{515, T, "manufacturer specific: device busy, init or command in progress"},
};

static const struct code_info cme_codes[] = {
	{0, M, "phone failure"},
	{1, M, "no connection to phone"},
	{2, M, "phone-adaptor link reserved"},
	{3, T, "operation not allowed"},
	{4, M, "operation not supported"},
	{5, M, "PH-SIM PIN required"},
	{10, M, "SIM not inserted"},
	{11, M, "SIM PIN required"},
	{12, M, "SIM PUK required"},
	{13, M, "SIM failure"},
	{14, T, "SIM busy"},
	{15, M, "SIM wrong"},
	{16, M, "incorrect password"},
	{17, M, "SIM PIN2 required"},
	{18, M, "SIM PUK2 required"},
	{20, T, "memory full"},
	{21, P, "invalid index"},
	{22, P, "not found"},
	{23, T, "memory failure"},
	{24, P, "text string too long"},
	{25, P, "invalid characters in text string"},
	{26, P, "dial string too long"},
	{27, P, "invalid characters in dial string"},
	{30, T, "no network service"},
	{31, T, "network timeout"},
	{32, T, "network not allowed - emergency calls only"},
	{100, T, "unknown"},
};

#undef T
#undef P
#undef M

static const struct code_info *lookup(const struct code_info *tab, size_t n, int code)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i].code == code)
			return &tab[i];
	return NULL;
}

static void put_reason(char *reason, size_t len, const char *s)
{
	if (reason && len)
		snprintf(reason, len, "%s", s);
}

enum mdm_err_class mdm_classify_cms(int code, char *reason, size_t len)
{
	const struct code_info *ci = lookup(cms_codes, sizeof(cms_codes) / sizeof(cms_codes[0]), code);
	enum mdm_err_class cls;

	if (ci) {
		put_reason(reason, len, ci->name);
		return ci->cls;
	}
	/* TP-PID, TP-DCS, TP-Command and TPDU errors say the message is wrong; unlisted RP causes,
	 * SC/MS errors, application and manufacturer codes are taken as a passing condition. */
	cls = (code >= 0x80 && code <= 0xbf) ? MDM_ERR_PERMANENT : MDM_ERR_TRANSIENT;
	if (reason && len)
		snprintf(reason, len, "unknown CMS code %d", code);
	return cls;
}

enum mdm_err_class mdm_classify_cme(int code, char *reason, size_t len)
{
	const struct code_info *ci = lookup(cme_codes, sizeof(cme_codes) / sizeof(cme_codes[0]), code);

	if (ci) {
		put_reason(reason, len, ci->name);
		return ci->cls;
	}
	if (reason && len)
		snprintf(reason, len, "unknown CME code %d", code);
	return MDM_ERR_TRANSIENT;
}

int mdm_parse_cm_error(const char *line, bool *is_cms)
{
	const char *p = line;
	bool cms;
	char *end;
	long v;

	if (!line)
		return -1;
	while (*p == ' ' || *p == '\r' || *p == '\n')
		p++;
	if (strncmp(p, "+CMS ERROR:", 11) == 0)
		cms = true;
	else if (strncmp(p, "+CME ERROR:", 11) == 0)
		cms = false;
	else
		return -1;
	p += 11;
	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	v = strtol(p, &end, 10);
	while (*end == ' ' || *end == '\r' || *end == '\n')
		end++;
	if (*end != '\0' || v > 65535)
		return -1;
	if (is_cms)
		*is_cms = cms;
	return (int)v;
}

const char *mdm_err_class_name(enum mdm_err_class cls)
{
	switch (cls) {
	case MDM_OK:
		return "ok";
	case MDM_ERR_TRANSIENT:
		return "transient";
	case MDM_ERR_PERMANENT:
		return "permanent";
	case MDM_ERR_MODEM:
		return "modem";
	}
	return "?";
}

bool mdm_err_no_service(const char *reason)
{
	bool cms;
	char *end;
	long v;

	if (!reason)
		return false;
	if (!strncmp(reason, "+CMS ERROR:", 11))
		cms = true;
	else if (!strncmp(reason, "+CME ERROR:", 11))
		cms = false;
	else
		return false;
	v = strtol(reason + 11, &end, 10);
	if (end == reason + 11)
		return false;
	return cms ? v == 331 : v == 30 || v == 32;
}
