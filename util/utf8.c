/* UTF-8: the one decoder and encoder of linli (util/utf8.h). */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/utf8.h"

int utf8_validate(const char *s, size_t len, size_t *bad_offset)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		if (utf8_next(u, len, &i, &cp) < 0) {
			if (bad_offset)
				*bad_offset = i;
			return -EILSEQ;
		}
	}
	return 0;
}

/* Decode one code point at s[*i]; on success advance *i. On failure leave *i at the first
 * byte of the ill-formed sequence. Follows the Unicode "well-formed UTF-8" table (D92). */
int utf8_next(const uint8_t *s, size_t len, size_t *i, uint32_t *cp)
{
	size_t p = *i;
	uint8_t b = s[p];
	uint8_t lo = 0x80, hi = 0xbf;
	unsigned need;
	uint32_t c;

	if (b < 0x80) {
		*cp = b;
		*i = p + 1;
		return 0;
	}
	if (b < 0xc2) /* stray continuation, or C0/C1 (always overlong) */
		return -EILSEQ;
	if (b < 0xe0) {
		need = 1;
		c = b & 0x1f;
	} else if (b < 0xf0) {
		need = 2;
		c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (b == 0xed)
			hi = 0x9f; /* U+D800..DFFF surrogates */
	} else if (b < 0xf5) {
		need = 3;
		c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (b == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return -EILSEQ; /* F5..FF: beyond U+10FFFF */
	}

	if (len - p - 1 < need)
		return -EILSEQ; /* truncated */
	for (unsigned k = 1; k <= need; k++) {
		uint8_t t = s[p + k];

		if (t < lo || t > hi)
			return -EILSEQ;
		lo = 0x80;
		hi = 0xbf;
		c = (c << 6) | (t & 0x3f);
	}
	*cp = c;
	*i = p + 1 + need;
	return 0;
}

/* Append cp as UTF-8 to out[*n..), keeping one byte for the NUL. */
int utf8_put(uint32_t cp, char *out, size_t outmax, size_t *n)
{
	uint8_t b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | (cp >> 6);
		b[1] = 0x80 | (cp & 0x3f);
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | (cp >> 12);
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		k = 3;
	} else {
		b[0] = 0xf0 | (cp >> 18);
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		k = 4;
	}
	if (outmax - *n <= k || *n + k > INT_MAX)
		return -ENOSPC;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}
