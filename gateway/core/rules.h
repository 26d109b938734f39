/* SMS keyword rules (routes/sms.rules): normalise a received text, find its keyword, and the
 * reply templates per language. Operators edit the file; linlid reloads it from the VTY.
 *
 * Matching follows what RapidSMS/FrontlineSMS users expect (../shared/DOMAIN.md): the first
 * token, case-insensitively, after full-width characters are folded to half-width and leading
 * punctuation and filler ("#", "【", "我要", "请") are dropped; a Chinese keyword may run straight
 * into its argument ("报事10幢墙皮脱落"), an ASCII alias must end at a non-letter ("BS 10幢").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define RT_MAX_RULES	 64
#define RT_MAX_KEYWORDS	 8
#define RT_MAX_TEMPLATES 128

struct rt_rule {
	char handler[24];		   /* "report", "status", "help", ... */
	char role[16];			   /* required role ("" = anyone) */
	char keyword[RT_MAX_KEYWORDS][24]; /* normalised (half-width, upper-case ASCII) */
	unsigned nkeywords;
};

struct rt_template {
	char name[32];
	char lang[8];
	char text[400];
};

#define RT_MAX_HANDLERS 16
#define RT_MAX_KEYS	16

struct rt_rules {
	struct rt_rule rule[RT_MAX_RULES];
	unsigned nrules;
	struct rt_template tpl[RT_MAX_TEMPLATES];
	unsigned ntpl;
	/* `handlers NAME...`: the order the router offers a message to the features' handlers */
	char handlers[RT_MAX_HANDLERS][16];
	unsigned nhandlers;
};

struct rt_match {
	const struct rt_rule *rule; /* NULL when no keyword matched */
	char keyword[24];	    /* the keyword as matched */
	char args[512];		    /* the rest, trimmed of separators */
};

/* Fold full-width forms to half-width (U+FF01..FF5E, U+3000), ASCII letters to upper case,
 * drop leading whitespace, punctuation and filler words. Writes a NUL-terminated UTF-8 string.
 * Returns its length, -EILSEQ for invalid UTF-8, -ENOSPC. */
int rt_normalize(const char *in, size_t len, char *out, size_t outlen);

/* Parse rules text (the format of routes/sms.rules). On an error returns -EINVAL and writes
 * "line N: reason" into err; the rules are then left empty. */
int rt_rules_parse(struct rt_rules *r, const char *text, char *err, size_t errlen);

/* Read and parse a rules file. */
int rt_rules_load(struct rt_rules *r, const char *path, char *err, size_t errlen);

/* Match a received text. Returns 0 and fills m (m->rule NULL when nothing matched; m->args then
 * holds the whole normalised text), or -EILSEQ for invalid UTF-8. */
int rt_match(const struct rt_rules *r, const char *text, size_t len, struct rt_match *m);

/* The template name in lang, falling back to zh-CN, or NULL. */
const char *rt_template(const struct rt_rules *r, const char *name, const char *lang);

/* The original text of a normalised suffix: norm_suffix is the end of rt_normalize(text); the same
 * number of characters from the end of text (trailing white space dropped) are copied to out, with
 * their original case and width (a notice or a note is kept as the person wrote it). Returns the
 * length, -ENOSPC. */
int rt_orig_suffix(const char *text, size_t len, const char *norm_suffix, char *out, size_t outlen);

/* A feature's built-in reply texts, which the rules file's `reply` lines replace. */
struct rt_builtin {
	const char *name, *lang, *text;
};
/* The text of name in lang: the rules' text for exactly that language, else the built-in one of
 * tab (n entries) for that language, else the rules' zh-CN, else the built-in zh-CN; NULL for a
 * name neither knows. r may be NULL. */
const char *rt_text_of(const struct rt_rules *r, const struct rt_builtin *tab, unsigned n, const char *name,
		       const char *lang);

/* Expand {key} placeholders from keys[]/vals[] (n pairs, at most RT_MAX_KEYS) into out. Unknown
 * keys stay as they are. When the text does not fit, the longest free-text values (24 bytes or
 * more: never a reference, date or number) are shortened, on a character boundary and ending in
 * "…", until it does. Returns the length, or -ENOSPC when even that cannot make it fit. */
int rt_expand(const char *tpl, const char *const *keys, const char *const *vals, unsigned n, char *out, size_t outlen);
