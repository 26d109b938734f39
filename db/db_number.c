/* Phone numbers and text as they enter the database: E.164 normalisation (db_number_norm) and
 * the UTF-8 check every stored text passes. No SQL here. */

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "db/db.h"
#include "util/utf8.h"

static int put(char *out, size_t outlen, const char *prefix, const char *s, size_t n)
{
	size_t pl = strlen(prefix);

	if (pl + n + 1 > outlen)
		return -EINVAL;
	memcpy(out, prefix, pl);
	memcpy(out + pl, s, n);
	out[pl + n] = '\0';
	return 0;
}

/* Chinese mobile numbers: 11 digits, 13x..19x. */
static bool cn_mobile(const char *d)
{
	return d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

int db_number_norm(const char *in, char *out, size_t outlen)
{
	char d[24];
	size_t len, n = 0;
	bool alpha = false, plus = false;
	const char *s, *e;

	if (!in || !out || !outlen)
		return -EINVAL;
	out[0] = '\0';
	for (s = in; *s && isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	len = e - s;
	if (!len)
		return -EINVAL;
	for (const char *p = s; p < e; p++) {
		unsigned char c = *p;

		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (c >= 0x80 || isalpha(c))
			alpha = true;
	}
	/* an alphanumeric sender ID ("ChinaMobile", "sip:..."): as given, trimmed */
	if (alpha) {
		if (utf8_validate(s, len, NULL) < 0)
			return -EINVAL;
		return put(out, outlen, "", s, len);
	}
	for (const char *p = s; p < e; p++) {
		if (*p == '+' && p == s)
			plus = true;
		else if (*p >= '0' && *p <= '9') {
			if (n >= 20)
				return -EINVAL;
			d[n++] = *p;
		} else if (!strchr(" -.()/", *p))
			return -EINVAL;
	}
	d[n] = '\0';
	if (!n)
		return -EINVAL;
	/* 00 is the international prefix dialled from China */
	if (!plus && n > 2 && d[0] == '0' && d[1] == '0') {
		memmove(d, d + 2, n - 1);
		n -= 2;
		plus = true;
	}
	if (plus) {
		/* "+86 (0)571 ...": the trunk 0 does not belong in E.164 */
		if (n > 3 && !strncmp(d, "860", 3)) {
			memmove(d + 2, d + 3, n - 2);
			n--;
		}
		if (n < 7 || n > 15 || d[0] == '0')
			return -EINVAL;
		return put(out, outlen, "+", d, n);
	}
	if (n == 11 && cn_mobile(d))
		return put(out, outlen, "+86", d, n);
	if (n == 13 && !strncmp(d, "86", 2) && cn_mobile(d + 2))
		return put(out, outlen, "+", d, n);
	/* a landline with its trunk prefix: 0571 88001234 */
	if (d[0] == '0' && n >= 10 && n <= 12)
		return put(out, outlen, "+86", d + 1, n - 1);
	/* short codes and service numbers (10086, 12345, 1065...): digits as given */
	return put(out, outlen, "", d, n);
}
