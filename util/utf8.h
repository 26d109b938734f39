/* UTF-8, the one decoder and encoder every layer uses (text is UTF-8 inside linli:
 * ../shared/DESIGN.md). Well-formed as the Unicode standard defines it (D92): no overlongs, no
 * surrogates, nothing above U+10FFFF. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Check that s[0..len) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
 * Returns 0, or -EILSEQ with *bad_offset (if not NULL) set to the offset of the first byte of the
 * first ill-formed sequence (the lead byte of a truncated or overlong one, a stray continuation). */
int utf8_validate(const char *s, size_t len, size_t *bad_offset);

/* Decode one code point at s[*i] (s has len bytes) and advance *i; on -EILSEQ *i stays at the
 * first byte of the ill-formed sequence. */
int utf8_next(const uint8_t *s, size_t len, size_t *i, uint32_t *cp);

/* Append code point cp as UTF-8 at out[*n], keeping one byte free for a NUL; advances *n.
 * -ENOSPC when it does not fit. */
int utf8_put(uint32_t cp, char *out, size_t outmax, size_t *n);
