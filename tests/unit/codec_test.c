/* Unit test of modem/sms_codec.c: coding choice, septet counts, part boundaries, round trips,
 * septet packing, UTF-8 validation and the concatenation UDH.
 * Prints one line per check group; on a failure also what was expected and what came out.
 * Exits 0 when every check passed. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "modem/sms_codec.h"

static const char *group_name;
static unsigned group_checks, group_fails, total_fails;

static void group_begin(const char *name)
{
	group_name = name;
	group_checks = 0;
	group_fails = 0;
}

static void group_end(void)
{
	if (group_fails)
		printf("%s: FAILED %u of %u checks\n", group_name, group_fails, group_checks);
	else
		printf("%s: ok (%u checks)\n", group_name, group_checks);
	total_fails += group_fails;
}

static bool check(bool ok, int line, const char *what)
{
	group_checks++;
	if (!ok) {
		group_fails++;
		printf("  FAIL %s:%d: %s\n", __FILE__, line, what);
	}
	return ok;
}

static void check_int_(long got, long want, int line, const char *what)
{
	if (!check(got == want, line, what))
		printf("    expected %ld, got %ld\n", want, got);
}

static void print_hex(const char *label, const uint8_t *b, size_t n)
{
	printf("    %s (%zu):", label, n);
	for (size_t i = 0; i < n; i++)
		printf(" %02X", b[i]);
	printf("\n");
}

static void check_bytes_(const void *got, size_t gotlen, const void *want, size_t wantlen, int line, const char *what)
{
	if (!check(gotlen == wantlen && !memcmp(got, want, wantlen), line, what)) {
		print_hex("expected", want, wantlen);
		print_hex("got     ", got, gotlen);
	}
}

#define CHECK(cond)				check((cond), __LINE__, #cond)
#define CHECK_INT(expr, want)			check_int_((long)(expr), (long)(want), __LINE__, #expr)
#define CHECK_BYTES(got, gotlen, want, wantlen) check_bytes_((got), (gotlen), (want), (wantlen), __LINE__, #got)

/* buf = piece repeated n times, then tail; returns the length. */
static size_t build(char *buf, size_t max, const char *piece, unsigned n, const char *tail)
{
	size_t pl = strlen(piece), tl = strlen(tail), len = 0;

	for (unsigned i = 0; i < n; i++) {
		if (len + pl >= max)
			return 0;
		memcpy(buf + len, piece, pl);
		len += pl;
	}
	if (len + tl >= max)
		return 0;
	memcpy(buf + len, tail, tl + 1);
	return len + tl;
}

#define BIG (153 * 256 * 3 + 64)
static char text[BIG];
static struct sms_split sp;

/* Check that the parts are contiguous, cover s, and add up to the expected units. */
static void check_cover(const char *s, size_t len, int line)
{
	size_t off = 0;

	for (unsigned i = 0; i < sp.nparts; i++) {
		check_int_(sp.part[i].off, off, line, "part offset is contiguous");
		off += sp.part[i].len;
	}
	check_int_(off, len, line, "parts cover the text");
	/* every part must itself be valid UTF-8: no character cut */
	for (unsigned i = 0; i < sp.nparts; i++)
		check_int_(utf8_validate(s + sp.part[i].off, sp.part[i].len, NULL), 0, line, "part is valid UTF-8");
}

/* units[0..nunits) are the expected units of the first parts. */
static void expect_split(const char *s, size_t len, enum sms_coding coding, unsigned nparts, const unsigned *units,
			 unsigned nunits, int line)
{
	int rc = sms_split(s, len, &sp);

	check_int_(rc, nparts, line, "sms_split() part count");
	if (rc < 0)
		return;
	check_int_(sp.nparts, nparts, line, "sp.nparts");
	check_int_(sp.coding, coding, line, "sp.coding");
	for (unsigned i = 0; i < nunits && i < sp.nparts; i++)
		check_int_(sp.part[i].units, units[i], line, "part units");
	check_cover(s, len, line);
}

#define EXPECT_SPLIT(s, len, coding, n, ...)                                                                           \
	do {                                                                                                           \
		static const unsigned u_[] = {__VA_ARGS__};                                                            \
		expect_split((s), (len), (coding), (n), u_, sizeof(u_) / sizeof(u_[0]), __LINE__);                     \
	} while (0)

/* Every character of the default table except the escape, then the whole extension table. */
static const char all_gsm7[] = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
			       "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
			       "^{}\\[~]|€\f";

static void test_coding_choice(void)
{
	static const struct {
		const char *s;
		enum sms_coding coding;
		bool fits;
	} t[] = {
		{"hello world", SMS_CODING_GSM7, true},
		{"café é £5 €10 {x}", SMS_CODING_GSM7, true},
		{"ΔΦΓΛΩΠΨΣΘΞ ÆæßÉ ÄÖÑÜ§¿äöñüà", SMS_CODING_GSM7, true},
		{all_gsm7, SMS_CODING_GSM7, true},
		{"你好，世界", SMS_CODING_UCS2, false},
		{"hi 😀", SMS_CODING_UCS2, false},
		{"ça va", SMS_CODING_UCS2, false}, /* small c cedilla: no lossy mapping to Ç */
		{"tab\there", SMS_CODING_UCS2, false},
		{"`", SMS_CODING_UCS2, false},
		{"", SMS_CODING_GSM7, true},
	};

	group_begin("coding choice");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = strlen(t[i].s);

		CHECK_INT(sms_gsm7_fits(t[i].s, len), t[i].fits);
		CHECK_INT(sms_split(t[i].s, len, &sp), 1);
		CHECK_INT(sp.coding, t[i].coding);
	}
	/* an empty text is one part of no units */
	CHECK_INT(sms_split("", 0, &sp), 1);
	CHECK_INT(sp.part[0].units, 0);
	CHECK_INT(sp.part[0].len, 0);
	/* a mixed text counts UTF-16 units for every character */
	CHECK_INT(sms_split("abc中😀", strlen("abc中😀"), &sp), 1);
	CHECK_INT(sp.part[0].units, 6);
	group_end();
}

static void test_septet_counts(void)
{
	group_begin("septet counts");
	CHECK_INT(sms_gsm7_septets("", 0), 0);
	CHECK_INT(sms_gsm7_septets("abc", 3), 3);
	CHECK_INT(sms_gsm7_septets("€", strlen("€")), 2);
	CHECK_INT(sms_gsm7_septets("[x]", 3), 5);
	CHECK_INT(sms_gsm7_septets("^{}\\[~]|€\f", strlen("^{}\\[~]|€\f")), 20);
	CHECK_INT(sms_gsm7_septets("é£Δ", strlen("é£Δ")), 3);
	CHECK_INT(sms_gsm7_septets(all_gsm7, strlen(all_gsm7)), 127 + 2 * 10);
	CHECK_INT(sms_gsm7_septets("a中", strlen("a中")), -EINVAL);
	CHECK_INT(sms_gsm7_septets("a\xff", 2), -EILSEQ);
	CHECK_INT(sms_gsm7_septets("a\0b", 3), -EINVAL); /* U+0000 is not @ */
	group_end();
}

static void test_gsm7_values(void)
{
	uint8_t sep[512];
	char out[1024];
	int n;

	group_begin("gsm7 code values and escapes");
	n = sms_utf8_to_gsm7("@£Δ_àÇ€\f^A", strlen("@£Δ_àÇ€\f^A"), sep, sizeof(sep));
	{
		static const uint8_t want[] = {0x00, 0x01, 0x10, 0x11, 0x7f, 0x09, 0x1b,
					       0x65, 0x1b, 0x0a, 0x1b, 0x14, 0x41};

		CHECK_BYTES(sep, n < 0 ? 0 : (size_t)n, want, sizeof(want));
	}
	/* every septet value decodes and re-encodes to itself (except the escape) */
	for (unsigned v = 0; v < 128; v++) {
		uint8_t one = v, back[4];

		if (v == 0x1b)
			continue;
		n = sms_gsm7_to_utf8(&one, 1, out, sizeof(out));
		CHECK(n > 0);
		n = sms_utf8_to_gsm7(out, n, back, sizeof(back));
		CHECK_INT(n, 1);
		CHECK_INT(back[0], v);
	}
	/* unknown escape: the default-table character; ESC ESC and a lone trailing ESC: a space */
	{
		static const uint8_t in[] = {0x1b, 0x41, 0x1b, 0x00, 0x1b, 0x1b, 'x', 0x1b, 0x65, 0x1b};

		n = sms_gsm7_to_utf8(in, sizeof(in), out, sizeof(out));
		CHECK_BYTES(out, n < 0 ? 0 : (size_t)n, "A@ x€ ", strlen("A@ x€ "));
	}
	/* -ENOSPC: an extension character is never written half */
	CHECK_INT(sms_utf8_to_gsm7("a€", strlen("a€"), sep, 2), -ENOSPC);
	CHECK_INT(sms_utf8_to_gsm7("a€", strlen("a€"), sep, 3), 3);
	CHECK_INT(sms_utf8_to_gsm7("a中", strlen("a中"), sep, sizeof(sep)), -EINVAL);
	CHECK_INT(sms_utf8_to_gsm7("a\xc3", 2, sep, sizeof(sep)), -EILSEQ);
	{
		static const uint8_t in[] = {0x1b, 0x65, 0x61}; /* "€a" */

		CHECK_INT(sms_gsm7_to_utf8(in, 3, out, 5), 4);
		CHECK_INT(sms_gsm7_to_utf8(in, 3, out, 4), -ENOSPC);
		CHECK_INT(strcmp(out, "€"), 0);
		CHECK_INT(sms_gsm7_to_utf8(in, 3, out, 0), -ENOSPC);
		CHECK_INT(sms_gsm7_to_utf8(in, 0, out, 1), 0);
		CHECK_INT(out[0], '\0');
	}
	group_end();
}

static void test_gsm7_boundaries(void)
{
	size_t len;

	group_begin("gsm7 part boundaries");
	len = build(text, BIG, "a", 160, "");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 1, 160);
	len = build(text, BIG, "a", 161, "");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 2, 153, 8);
	len = build(text, BIG, "a", 153 * 2, "");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 2, 153, 153);
	len = build(text, BIG, "a", 153 * 2 + 1, "");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 3, 153, 153, 1);
	/* extension characters count two septets against the single-message limit too */
	len = build(text, BIG, "a", 158, "€");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 1, 160);
	len = build(text, BIG, "a", 159, "€");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 2, 153, 8);
	len = build(text, BIG, "€", 80, "");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 1, 160);
	len = build(text, BIG, "€", 81, "");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 2, 152, 10);
	/* an escape pair straddling 153 moves whole to the next part */
	len = build(text, BIG, "a", 152, "€aaaaaaaaaa");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 2, 152, 12);
	CHECK_INT(sp.part[0].len, 152);
	CHECK_INT(sp.part[1].off, 152);
	CHECK_INT(memcmp(text + sp.part[1].off, "€", strlen("€")), 0);
	/* ...and stays when it ends exactly on 153 */
	len = build(text, BIG, "a", 151, "€aaaaaaaaaaaaaaaaaaaa");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 2, 153, 20);
	CHECK_INT(sp.part[0].len, 151 + strlen("€"));
	/* multi-byte UTF-8 characters of one septet: byte offsets differ from septet counts */
	len = build(text, BIG, "é", 161, "");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 2, 153, 8);
	CHECK_INT(sp.part[1].off, 153 * 2);
	group_end();
}

static void test_ucs2_boundaries(void)
{
	size_t len;

	group_begin("ucs2 part boundaries");
	len = build(text, BIG, "中", 70, "");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 1, 70);
	len = build(text, BIG, "中", 71, "");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 2, 67, 4);
	len = build(text, BIG, "中", 67 * 2, "");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 2, 67, 67);
	len = build(text, BIG, "中", 67 * 2 + 1, "");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 3, 67, 67, 1);
	/* one non-GSM character turns a GSM text into UCS-2, counted in units */
	len = build(text, BIG, "a", 69, "中");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 1, 70);
	len = build(text, BIG, "a", 70, "中");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 2, 67, 4);
	/* emoji are two units */
	len = build(text, BIG, "😀", 35, "");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 1, 70);
	len = build(text, BIG, "😀", 36, "");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 2, 66, 6);
	/* an emoji straddling 67 moves whole to the next part */
	len = build(text, BIG, "中", 66, "😀中中中中中");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 2, 66, 7);
	CHECK_INT(sp.part[1].off, 66 * 3);
	CHECK_INT(memcmp(text + sp.part[1].off, "😀", 4), 0);
	len = build(text, BIG, "中", 65, "😀中中中中中");
	EXPECT_SPLIT(text, len, SMS_CODING_UCS2, 2, 67, 5);
	group_end();
}

static void test_too_many_parts(void)
{
	size_t len;

	group_begin("part limit");
	len = build(text, BIG, "a", 153 * 255, "");
	EXPECT_SPLIT(text, len, SMS_CODING_GSM7, 255, 153, 153); /* only the first two checked */
	len = build(text, BIG, "a", 153 * 255 + 1, "");
	CHECK_INT(sms_split(text, len, &sp), -EMSGSIZE);
	len = build(text, BIG, "a", 153 * 254 + 152, "€");
	CHECK_INT(sms_split(text, len, &sp), -EMSGSIZE); /* the € spills into part 256 */
	len = build(text, BIG, "中", 67 * 255, "");
	CHECK_INT(sms_split(text, len, &sp), 255);
	len = build(text, BIG, "中", 67 * 255, "a");
	CHECK_INT(sms_split(text, len, &sp), -EMSGSIZE);
	len = build(text, BIG, "a", 20, "\xed\xa0\x80");
	CHECK_INT(sms_split(text, len, &sp), -EILSEQ);
	group_end();
}

static const char *const gsm7_texts[] = {
	"",
	"a",
	"hellohello",
	"Hello, World! 1+1=2 (really?) #tag 100% 'q' \"dq\" <a>;:",
	"café £5 €10 ¥ è é ù ì ò Ç Ø ø Å å Æ æ ß É ¤ ¡ Ä Ö Ñ Ü § ¿ ä ö ñ ü à",
	"ΔΦΓΛΩΠΨΣΘΞ _@$",
	"line1\nline2\r\nend",
	"{json: [1, 2]} ~tilde^ back\\slash |pipe| page\fbreak",
	"€€€€€€€",
	"1234567",
	"12345678",
	all_gsm7,
};

static const char *const utf16_texts[] = {
	"",
	"plain ascii",
	"你好，世界",
	"emoji 😀👍🏽🇫🇷 mixed with text",
	"Здравствуйте",
	"مرحبا",
	"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf", /* 2/3-byte edges */
	"\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf",					 /* 4-byte edges */
	"nul\0inside",
	all_gsm7,
};

static void test_round_trips(void)
{
	uint8_t sep[1024], packed[1024], unpacked[1024];
	uint16_t u16[1024];
	char out[4096];
	int n, m;

	group_begin("round trips utf8-gsm7-utf8 (packed, fill 0..6)");
	for (size_t i = 0; i < sizeof(gsm7_texts) / sizeof(gsm7_texts[0]); i++) {
		const char *s = gsm7_texts[i];
		size_t len = strlen(s);

		n = sms_utf8_to_gsm7(s, len, sep, sizeof(sep));
		CHECK_INT(n, sms_gsm7_septets(s, len));
		if (n < 0)
			continue;
		for (unsigned fill = 0; fill <= 6; fill++) {
			size_t oct = sms_gsm7_pack(sep, n, fill, packed);

			CHECK_INT(oct, (n * 7 + fill + 7) / 8);
			CHECK_INT(sms_gsm7_unpack(packed, oct, n, fill, unpacked), n);
			CHECK_BYTES(unpacked, (size_t)n, sep, (size_t)n);
			m = sms_gsm7_to_utf8(unpacked, n, out, sizeof(out));
			CHECK_BYTES(out, m < 0 ? 0 : (size_t)m, s, len);
		}
	}
	group_end();

	group_begin("round trips utf8-utf16-utf8");
	for (size_t i = 0; i < sizeof(utf16_texts) / sizeof(utf16_texts[0]); i++) {
		const char *s = utf16_texts[i];
		size_t len = strlen(s);

		if (i == 8)
			len = sizeof("nul\0inside") - 1;
		n = sms_utf8_to_utf16(s, len, u16, 1024);
		CHECK(n >= 0);
		if (n < 0)
			continue;
		m = sms_utf16_to_utf8(u16, n, out, sizeof(out));
		CHECK_BYTES(out, m < 0 ? 0 : (size_t)m, s, len);
	}
	{
		static const uint16_t want[] = {'a', 0x4e2d, 0xd83d, 0xde00, 0xdbff, 0xdfff};

		n = sms_utf8_to_utf16("a中😀\xf4\x8f\xbf\xbf", strlen("a中😀\xf4\x8f\xbf\xbf"), u16, 1024);
		CHECK_BYTES(u16, n < 0 ? 0 : (size_t)n * 2, want, sizeof(want));
		CHECK_INT(sms_utf8_to_utf16("a😀", 5, u16, 2), -ENOSPC); /* a pair is never written half */
		CHECK_INT(sms_utf8_to_utf16("a😀", 5, u16, 3), 3);
		CHECK_INT(sms_utf8_to_utf16("a\xe0\x80\x80", 4, u16, 8), -EILSEQ);
	}
	{
		/* lone surrogates become U+FFFD */
		static const uint16_t in[] = {'x', 0xd800, 'y', 0xdc00, 0xd83d};

		n = sms_utf16_to_utf8(in, 5, out, sizeof(out));
		CHECK_BYTES(out, n < 0 ? 0 : (size_t)n, "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd",
			    strlen("x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd"));
		CHECK_INT(sms_utf16_to_utf8(in, 2, out, 4), -ENOSPC);
		CHECK_INT(strcmp(out, "x"), 0);
		CHECK_INT(sms_utf16_to_utf8(in, 2, out, 5), 4);
	}
	group_end();
}

static void test_packing(void)
{
	static const uint8_t hello_fill0[] = {0xe8, 0x32, 0x9b, 0xfd, 0x46, 0x97, 0xd9, 0xec, 0x37};
	static const uint8_t hello_fill1[] = {0xd0, 0x65, 0x36, 0xfb, 0x8d, 0x2e, 0xb3, 0xd9, 0x6f};
	uint8_t sep[64], packed[64], ref[64], unpacked[64];
	unsigned seed = 12345;
	size_t oct;
	int n;

	group_begin("septet packing");
	n = sms_utf8_to_gsm7("hellohello", 10, sep, sizeof(sep));
	CHECK_INT(n, 10);
	oct = sms_gsm7_pack(sep, 10, 0, packed);
	CHECK_BYTES(packed, oct, hello_fill0, sizeof(hello_fill0));
	oct = sms_gsm7_pack(sep, 10, 1, packed);
	CHECK_BYTES(packed, oct, hello_fill1, sizeof(hello_fill1));
	CHECK_INT(sms_gsm7_unpack(hello_fill0, sizeof(hello_fill0), 10, 0, unpacked), 10);
	CHECK_BYTES(unpacked, 10, "hellohello", 10);

	/* fill f gives the fill-0 packing shifted left by f bits, with zero fill bits */
	for (unsigned len = 0; len <= 40; len++) {
		for (unsigned i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			sep[i] = (seed >> 16) & 0x7f;
		}
		sms_gsm7_pack(sep, len, 0, ref);
		for (unsigned fill = 0; fill <= 6; fill++) {
			size_t want_oct = (len * 7 + fill + 7) / 8;
			uint8_t shifted[64] = {0};
			unsigned carry = 0;

			for (size_t k = 0; k < want_oct; k++) {
				unsigned v = k < (len * 7 + 7) / 8 ? ref[k] : 0;

				shifted[k] = (uint8_t)((v << fill) | carry);
				carry = fill ? v >> (8 - fill) : 0;
			}
			memset(packed, 0xaa, sizeof(packed));
			oct = sms_gsm7_pack(sep, len, fill, packed);
			CHECK_BYTES(packed, oct, shifted, want_oct);
			CHECK_INT(sms_gsm7_unpack(packed, oct, len, fill, unpacked), len);
			CHECK_BYTES(unpacked, len, sep, len);
		}
	}
	/* septet values above 127 are masked to 7 bits */
	sep[0] = 0xff;
	sep[1] = 0x80;
	oct = sms_gsm7_pack(sep, 2, 0, packed);
	CHECK_INT(oct, 2);
	CHECK_INT(packed[0], 0x7f);
	CHECK_INT(packed[1], 0x00);
	/* running out of octets returns fewer septets */
	CHECK_INT(sms_gsm7_unpack(hello_fill0, 8, 10, 0, unpacked), 9);
	CHECK_INT(sms_gsm7_unpack(hello_fill0, 0, 10, 0, unpacked), 0);
	CHECK_INT(sms_gsm7_unpack(hello_fill1, 9, 10, 1, unpacked), 10);
	CHECK_INT(sms_gsm7_unpack(hello_fill1, 8, 10, 1, unpacked), 9);
	/* a 6-octet UDH needs one fill bit to start the text on a septet boundary */
	CHECK_INT((6 * 8 + 1) % 7, 0);
	CHECK_INT((7 - (6 * 8) % 7) % 7, 1);
	group_end();
}

static void test_utf8_validation(void)
{
	static const struct {
		const char *s;
		size_t len;
		long bad; /* -1: valid */
		const char *what;
	} t[] = {
		{"plain", 5, -1, "ascii"},
		{"a\0b", 3, -1, "embedded NUL"},
		{"\xc2\x80\xdf\xbf", 4, -1, "2-byte edges"},
		{"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf", 12, -1, "3-byte edges"},
		{"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8, -1, "4-byte edges"},
		{"ab\x80", 3, 2, "stray continuation"},
		{"\xbf", 1, 0, "lone continuation"},
		{"é\xa9", 3, 2, "extra continuation"},
		{"\xc0\xaf", 2, 0, "overlong 2-byte (C0)"},
		{"x\xc1\xbf", 3, 1, "overlong 2-byte (C1)"},
		{"\xe0\x80\xaf", 3, 0, "overlong 3-byte"},
		{"ab\xe0\x9f\xbf", 5, 2, "overlong 3-byte (max)"},
		{"\xf0\x80\x80\xaf", 4, 0, "overlong 4-byte"},
		{"\xf0\x8f\xbf\xbf", 4, 0, "overlong 4-byte (max)"},
		{"a\xed\xa0\x80", 4, 1, "surrogate D800"},
		{"\xed\xbf\xbf", 3, 0, "surrogate DFFF"},
		{"😀\xed\xa0\xbd\xed\xb8\x80", 10, 4, "CESU-8 surrogate pair"},
		{"\xf4\x90\x80\x80", 4, 0, "U+110000"},
		{"\xf5\x80\x80\x80", 4, 0, "F5 lead"},
		{"ok\xfe", 3, 2, "FE"},
		{"\xff", 1, 0, "FF"},
		{"abc\xe2\x82", 5, 3, "truncated 3-byte at end"},
		{"\xf0\x9f\x98", 3, 0, "truncated 4-byte at end"},
		{"\xc3", 1, 0, "truncated 2-byte at end"},
		{"\xe2\x82"
		 "A",
		 3, 0, "truncated 3-byte before ASCII"},
		{"xy\xf0\x9f"
		 "zz",
		 6, 2, "truncated 4-byte before ASCII"},
		{"é\xc3\xc3\xa9", 5, 2, "lead byte followed by lead byte"},
	};

	group_begin("utf-8 validation");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t off = 9999;
		int rc = utf8_validate(t[i].s, t[i].len, &off);

		if (t[i].bad < 0) {
			check_int_(rc, 0, __LINE__, t[i].what);
			continue;
		}
		check_int_(rc, -EILSEQ, __LINE__, t[i].what);
		check_int_(off, t[i].bad, __LINE__, t[i].what);
		check_int_(utf8_validate(t[i].s, t[i].len, NULL), -EILSEQ, __LINE__, t[i].what);
		check_int_(sms_split(t[i].s, t[i].len, &sp), -EILSEQ, __LINE__, t[i].what);
		check_int_(sms_gsm7_septets(t[i].s, t[i].len), -EILSEQ, __LINE__, t[i].what);
		check_int_(sms_gsm7_fits(t[i].s, t[i].len), false, __LINE__, t[i].what);
		{
			uint16_t u16[2];
			uint8_t sep[2];

			/* invalid UTF-8 wins over a short buffer or a non-GSM character */
			check_int_(sms_utf8_to_utf16(t[i].s, t[i].len, u16, 2), -EILSEQ, __LINE__, t[i].what);
			check_int_(sms_utf8_to_gsm7(t[i].s, t[i].len, sep, 2), -EILSEQ, __LINE__, t[i].what);
		}
	}
	/* the length bounds the check: a valid prefix of an invalid text is valid */
	CHECK_INT(utf8_validate("abc\xe2\x82", 3, NULL), 0);
	CHECK_INT(utf8_validate("", 0, NULL), 0);
	group_end();
}

static void expect_udh(const uint8_t *udh, size_t len, int rc_want, unsigned ref, unsigned total, unsigned seq,
		       bool ref16, int line)
{
	struct sms_concat c = {0};
	int rc = sms_udh_parse_concat(udh, len, &c);

	check_int_(rc, rc_want, line, "sms_udh_parse_concat()");
	if (rc || rc_want)
		return;
	check_int_(c.ref, ref, line, "c.ref");
	check_int_(c.total, total, line, "c.total");
	check_int_(c.seq, seq, line, "c.seq");
	check_int_(c.ref16, ref16, line, "c.ref16");
}

#define EXPECT_UDH(rc, ref, total, seq, ref16, ...)                                                                    \
	do {                                                                                                           \
		static const uint8_t h_[] = {__VA_ARGS__};                                                             \
		expect_udh(h_, sizeof(h_), (rc), (ref), (total), (seq), (ref16), __LINE__);                            \
	} while (0)

static void test_udh(void)
{
	uint8_t buf[16];
	size_t n;

	group_begin("concat UDH");
	EXPECT_UDH(0, 0xa7, 3, 2, false, 0x05, 0x00, 0x03, 0xa7, 0x03, 0x02);
	EXPECT_UDH(0, 0x1234, 5, 1, true, 0x06, 0x08, 0x04, 0x12, 0x34, 0x05, 0x01);
	EXPECT_UDH(0, 0xffff, 255, 255, true, 0x06, 0x08, 0x04, 0xff, 0xff, 0xff, 0xff);
	/* the UD may follow the UDH */
	EXPECT_UDH(0, 0x01, 2, 2, false, 0x05, 0x00, 0x03, 0x01, 0x02, 0x02, 'h', 'i');
	/* another IE first: national language single shift, then the 8-bit concat */
	EXPECT_UDH(0, 0x42, 2, 1, false, 0x08, 0x24, 0x01, 0x01, 0x00, 0x03, 0x42, 0x02, 0x01);
	/* an unknown IE with data, then the 16-bit concat, then another IE */
	EXPECT_UDH(0, 0xabcd, 2, 2, true, 0x0f, 0x70, 0x04, 0xaa, 0xbb, 0xcc, 0xdd, 0x08, 0x04, 0xab, 0xcd, 0x02, 0x02,
		   0x25, 0x01, 0x01);
	/* an empty IE (IEDL 0) is walked past */
	EXPECT_UDH(0, 0x07, 4, 3, false, 0x07, 0x71, 0x00, 0x00, 0x03, 0x07, 0x04, 0x03);
	/* a repeated concat IE counts by its last occurrence */
	EXPECT_UDH(0, 0x09, 3, 3, false, 0x0a, 0x00, 0x03, 0x08, 0x02, 0x01, 0x00, 0x03, 0x09, 0x03, 0x03);
	/* no concat IE */
	EXPECT_UDH(-ENOENT, 0, 0, 0, false, 0x03, 0x24, 0x01, 0x01);
	EXPECT_UDH(-ENOENT, 0, 0, 0, false, 0x00);
	/* malformed */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x05, 0x00, 0x03, 0x01, 0x02);	       /* UDHL longer than the data */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x04, 0x00, 0x03, 0x01, 0x02, 0x01);       /* IE runs past UDHL */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x06, 0x00, 0x03, 0x01, 0x02, 0x01, 0x24); /* half an IE header */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x07, 0x24, 0x09, 0x00, 0x03, 0x01, 0x02, 0x01); /* unknown IE too long */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x08, 0x00, 0x03, 0x01, 0x02, 0x01, 0x70, 0x05, 0x00); /* bad tail */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x05, 0x00, 0x03, 0x01, 0x02, 0x00);		   /* seq 0 */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x05, 0x00, 0x03, 0x01, 0x02, 0x03);		   /* seq > total */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x05, 0x00, 0x03, 0x01, 0x00, 0x00);		   /* total 0 */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x06, 0x08, 0x04, 0x01, 0x02, 0x03, 0x04); /* 16-bit seq > total */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x04, 0x00, 0x02, 0x01, 0x02);	       /* 8-bit IE of length 2 */
	EXPECT_UDH(-EINVAL, 0, 0, 0, false, 0x05, 0x08, 0x03, 0x01, 0x02, 0x01);       /* 16-bit IE of length 3 */
	{
		struct sms_concat c;

		CHECK_INT(sms_udh_parse_concat(buf, 0, &c), -EINVAL);
	}

	/* build */
	{
		static const uint8_t want8[] = {0x05, 0x00, 0x03, 0xa7, 0x03, 0x02};
		static const uint8_t want16[] = {0x06, 0x08, 0x04, 0x12, 0x34, 0x05, 0x01};
		struct sms_concat c = {.ref = 0xa7, .total = 3, .seq = 2};

		n = sms_udh_build_concat(&c, buf);
		CHECK_BYTES(buf, n, want8, sizeof(want8));
		c = (struct sms_concat){.ref = 0x1234, .total = 5, .seq = 1, .ref16 = true};
		n = sms_udh_build_concat(&c, buf);
		CHECK_BYTES(buf, n, want16, sizeof(want16));
	}
	for (unsigned ref = 0; ref < 70000; ref += 997) {
		for (unsigned total = 1; total <= 255; total += 127) {
			for (unsigned seq = 1; seq <= total; seq += 63) {
				struct sms_concat c = {.ref = ref & 0xff, .total = total, .seq = seq}, d;

				c.ref16 = ref > 0xff;
				if (c.ref16)
					c.ref = ref & 0xffff;
				n = sms_udh_build_concat(&c, buf);
				CHECK_INT(n, c.ref16 ? 7 : 6);
				CHECK_INT(sms_udh_parse_concat(buf, n, &d), 0);
				CHECK(d.ref == c.ref && d.total == c.total && d.seq == c.seq && d.ref16 == c.ref16);
			}
		}
	}
	group_end();
}

int main(void)
{
	test_coding_choice();
	test_septet_counts();
	test_gsm7_values();
	test_gsm7_boundaries();
	test_ucs2_boundaries();
	test_too_many_parts();
	test_round_trips();
	test_packing();
	test_utf8_validation();
	test_udh();
	printf("%s\n", total_fails ? "FAILED" : "all checks passed");
	return total_fails ? 1 : 0;
}
