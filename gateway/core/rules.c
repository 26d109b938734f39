/* SMS keyword rules: normalisation, the rules file, matching and reply templates. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/rules.h"
#include "modem/sms_codec.h"

/* Leading filler a resident may put before a keyword ("我要报事", "请查询"). */
static const char *const fillers[] = {"我要", "我想", "我需要", "请", "麻烦", "要"};

static bool is_space_or_punct(uint32_t cp)
{
	if (cp < 0x80)
		return cp <= ' ' || (cp >= '!' && cp <= '/') || (cp >= ':' && cp <= '@') || (cp >= '[' && cp <= '`') ||
		       (cp >= '{' && cp <= '~');
	switch (cp) {
	case 0x3000: /* ideographic space */
	case 0x3001: /* 、 */
	case 0x3002: /* 。 */
	case 0x300A: /* 《 */
	case 0x300B:
	case 0x3010: /* 【 */
	case 0x3011: /* 】 */
	case 0x2018:
	case 0x2019:
	case 0x201C: /* “ */
	case 0x201D:
	case 0x00A0:
	case 0x2026: /* … */
	case 0xFEFF: /* BOM */
		return true;
	default:
		return false;
	}
}

/* Full-width ASCII forms to ASCII, ASCII letters to upper case. */
static uint32_t fold(uint32_t cp)
{
	if (cp >= 0xFF01 && cp <= 0xFF5E)
		cp -= 0xFEE0;
	else if (cp == 0x3000)
		cp = ' ';
	if (cp >= 'a' && cp <= 'z')
		cp -= 'a' - 'A';
	return cp;
}

/* Fold, then drop what leads: spaces, punctuation, filler words (repeatedly: "#请 我要报事"). */
int rt_normalize(const char *in, size_t len, char *out, size_t outlen)
{
	const uint8_t *u = (const uint8_t *)in;
	size_t i = 0, n = 0, start;
	bool leading = true;
	int rc;

	if (!outlen)
		return -ENOSPC;
	rc = utf8_validate(in, len, NULL);
	if (rc < 0)
		return rc;
	while (i < len) {
		uint32_t cp;

		utf8_next(u, len, &i, &cp);
		cp = fold(cp);
		if (leading && is_space_or_punct(cp))
			continue;
		if (cp == '\r' || cp == '\n' || cp == '\t')
			cp = ' ';
		leading = false;
		rc = utf8_put(cp, out, outlen, &n);
		if (rc < 0)
			return rc;
	}
	out[n] = '\0';

	/* fillers, each followed possibly by spaces/punctuation */
	start = 0;
	for (bool again = true; again;) {
		again = false;
		for (unsigned k = 0; k < sizeof(fillers) / sizeof(fillers[0]); k++) {
			size_t fl = strlen(fillers[k]);

			if (!strncmp(out + start, fillers[k], fl) && out[start + fl]) {
				start += fl;
				while (out[start] == ' ' || out[start] == ',' || out[start] == ':' || out[start] == '#')
					start++;
				again = true;
			}
		}
	}
	if (start) {
		memmove(out, out + start, n - start + 1);
		n -= start;
	}
	/* trailing spaces */
	while (n && out[n - 1] == ' ')
		out[--n] = '\0';
	return (int)n;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* handlers NAME...: the router's order (gateway/core/route.h); names are checked against the
 * registered handlers by the router, which runs any left out after these. */
static int handlers_line(struct rt_rules *r, char *rest, char *err, size_t errlen, unsigned lineno)
{
	char *save = NULL;

	if (r->nhandlers) {
		snprintf(err, errlen, "line %u: a second handlers line", lineno);
		return -EINVAL;
	}
	for (char *w = strtok_r(rest, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (r->nhandlers == RT_MAX_HANDLERS || strlen(w) >= sizeof(r->handlers[0])) {
			snprintf(err, errlen, "line %u: at most %u handler names of up to %zu characters", lineno,
				 RT_MAX_HANDLERS, sizeof(r->handlers[0]) - 1);
			return -EINVAL;
		}
		strcpy(r->handlers[r->nhandlers++], w);
	}
	if (!r->nhandlers) {
		snprintf(err, errlen, "line %u: expected: handlers NAME...", lineno);
		return -EINVAL;
	}
	return 0;
}

static int rule_line(struct rt_rules *r, char *rest, char *err, size_t errlen, unsigned lineno)
{
	struct rt_rule *rule;
	char *kw, *handler, *role, *save = NULL;

	kw = strtok_r(rest, " \t", &save);
	handler = strtok_r(NULL, " \t", &save);
	role = strtok_r(NULL, " \t", &save);
	if (!kw || !handler) {
		snprintf(err, errlen, "line %u: expected: rule KEYWORD[,ALIAS...] HANDLER [ROLE]", lineno);
		return -EINVAL;
	}
	if (r->nrules >= RT_MAX_RULES) {
		snprintf(err, errlen, "line %u: more than %d rules", lineno, RT_MAX_RULES);
		return -EINVAL;
	}
	rule = &r->rule[r->nrules];
	memset(rule, 0, sizeof(*rule));
	if (strlen(handler) >= sizeof(rule->handler) || (role && strlen(role) >= sizeof(rule->role))) {
		snprintf(err, errlen, "line %u: handler or role name too long", lineno);
		return -EINVAL;
	}
	strcpy(rule->handler, handler);
	if (role)
		strcpy(rule->role, role);
	for (char *s2 = NULL, *k = strtok_r(kw, ",", &s2); k; k = strtok_r(NULL, ",", &s2)) {
		char norm[64];
		int n = rt_normalize(k, strlen(k), norm, sizeof(norm));

		if (n <= 0 || (size_t)n >= sizeof(rule->keyword[0])) {
			snprintf(err, errlen, "line %u: keyword %u is empty, too long or not UTF-8", lineno,
				 rule->nkeywords + 1);
			return -EINVAL;
		}
		if (rule->nkeywords >= RT_MAX_KEYWORDS) {
			snprintf(err, errlen, "line %u: more than %d keywords", lineno, RT_MAX_KEYWORDS);
			return -EINVAL;
		}
		strcpy(rule->keyword[rule->nkeywords++], norm);
	}
	r->nrules++;
	return 0;
}

static int reply_line(struct rt_rules *r, char *rest, char *err, size_t errlen, unsigned lineno)
{
	struct rt_template *t;
	char *name, *lang, *text, *save = NULL;

	name = strtok_r(rest, " \t", &save);
	lang = strtok_r(NULL, " \t", &save);
	text = save ? trim(save) : NULL;
	if (!name || !lang || !text || !*text) {
		snprintf(err, errlen, "line %u: expected: reply NAME LANG TEXT", lineno);
		return -EINVAL;
	}
	if (r->ntpl >= RT_MAX_TEMPLATES) {
		snprintf(err, errlen, "line %u: more than %d replies", lineno, RT_MAX_TEMPLATES);
		return -EINVAL;
	}
	t = &r->tpl[r->ntpl];
	if (strlen(name) >= sizeof(t->name) || strlen(lang) >= sizeof(t->lang) || strlen(text) >= sizeof(t->text)) {
		snprintf(err, errlen, "line %u: name, language or text too long", lineno);
		return -EINVAL;
	}
	if (utf8_validate(text, strlen(text), NULL) < 0) {
		snprintf(err, errlen, "line %u: text is not valid UTF-8", lineno);
		return -EINVAL;
	}
	strcpy(t->name, name);
	strcpy(t->lang, lang);
	strcpy(t->text, text);
	r->ntpl++;
	return 0;
}

/* Lines: "# comment", "rule KEYWORDS HANDLER [ROLE]", "reply NAME LANG TEXT". */
int rt_rules_parse(struct rt_rules *r, const char *text, char *err, size_t errlen)
{
	unsigned lineno = 0;
	const char *p = text;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char line[600], *s, *word;

		lineno++;
		if (l >= sizeof(line)) {
			snprintf(err, errlen, "line %u: too long", lineno);
			rc = -EINVAL;
			break;
		}
		memcpy(line, p, l);
		line[l] = '\0';
		p += l + (nl ? 1 : 0);
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		word = s;
		s += strcspn(s, " \t");
		if (*s)
			*s++ = '\0';
		if (!strcmp(word, "rule"))
			rc = rule_line(r, s, err, errlen, lineno);
		else if (!strcmp(word, "reply"))
			rc = reply_line(r, s, err, errlen, lineno);
		else if (!strcmp(word, "handlers"))
			rc = handlers_line(r, s, err, errlen, lineno);
		else {
			/* the line itself is not repeated: errors reach the VTY and the log, and the file
			 * might not be a rules file at all */
			snprintf(err, errlen, "line %u: not a rule, reply or handlers line", lineno);
			rc = -EINVAL;
		}
		if (rc < 0)
			break;
	}
	if (rc < 0)
		memset(r, 0, sizeof(*r));
	return rc;
}

int rt_rules_load(struct rt_rules *r, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	if (!buf || fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		snprintf(err, errlen, "%s: cannot read", path);
		return -EIO;
	}
	buf[n] = '\0';
	fclose(f);
	rc = rt_rules_parse(r, buf, err, errlen);
	free(buf);
	return rc;
}

static bool ascii_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The longest keyword that the normalised text starts with wins. */
int rt_match(const struct rt_rules *r, const char *text, size_t len, struct rt_match *m)
{
	char norm[512];
	size_t best_len = 0;
	const char *rest;
	int n;

	memset(m, 0, sizeof(*m));
	n = rt_normalize(text, len, norm, sizeof(norm));
	if (n == -ENOSPC) {
		/* a long text: the keyword is at its start, normalise a prefix that ends on a character */
		size_t cut = len > 400 ? 400 : len;

		while (cut && ((unsigned char)text[cut] & 0xC0) == 0x80)
			cut--;
		n = rt_normalize(text, cut, norm, sizeof(norm));
	}
	if (n < 0)
		return n;
	for (unsigned i = 0; i < r->nrules; i++) {
		for (unsigned k = 0; k < r->rule[i].nkeywords; k++) {
			const char *kw = r->rule[i].keyword[k];
			size_t kl = strlen(kw);

			if (kl <= best_len || strncmp(norm, kw, kl))
				continue;
			/* an ASCII alias must not run into more letters: "BS" is not "BSX" */
			if (ascii_letter(kw[kl - 1]) && ascii_letter(norm[kl]))
				continue;
			best_len = kl;
			m->rule = &r->rule[i];
			strcpy(m->keyword, kw);
		}
	}
	rest = norm + best_len;
	while (*rest == ' ' || *rest == ',' || *rest == ':' || *rest == '#' || *rest == ';' || *rest == '.')
		rest++;
	snprintf(m->args, sizeof(m->args), "%s", rest);
	return 0;
}

const char *rt_template(const struct rt_rules *r, const char *name, const char *lang)
{
	const char *fallback = NULL;

	for (unsigned i = 0; i < r->ntpl; i++) {
		if (strcmp(r->tpl[i].name, name))
			continue;
		if (lang && !strcmp(r->tpl[i].lang, lang))
			return r->tpl[i].text;
		if (!strcmp(r->tpl[i].lang, "zh-CN"))
			fallback = r->tpl[i].text;
	}
	return fallback;
}

/* Code points in s[0..len) (s valid UTF-8). */
static size_t cp_count(const char *s, size_t len)
{
	size_t i = 0, n = 0;
	uint32_t cp;

	while (i < len && utf8_next((const uint8_t *)s, len, &i, &cp) == 0)
		n++;
	return n;
}

int rt_orig_suffix(const char *text, size_t len, const char *norm_suffix, char *out, size_t outlen)
{
	size_t want = cp_count(norm_suffix, strlen(norm_suffix));
	size_t end = len, start, i, n = 0;
	uint32_t cp;

	if (!outlen)
		return -ENOSPC;
	/* what rt_normalize trims at the end: characters that fold to a space */
	for (;;) {
		if (end &&
		    (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r' || text[end - 1] == '\n'))
			end--;
		else if (end >= 3 && !memcmp(text + end - 3, "\xe3\x80\x80", 3)) /* U+3000 */
			end -= 3;
		else
			break;
	}
	/* the start of each code point, walking forward; keep the last 'want' */
	start = end;
	if (want) {
		size_t total = cp_count(text, end), skip = total > want ? total - want : 0;

		i = 0;
		while (skip && i < end && utf8_next((const uint8_t *)text, end, &i, &cp) == 0)
			skip--;
		start = i;
	}
	n = end - start;
	if (n >= outlen)
		return -ENOSPC;
	memcpy(out, text + start, n);
	out[n] = '\0';
	return (int)n;
}

/* The text of name in exactly lang, in the rules or in tab. */
static const char *text_exact(const struct rt_rules *r, const struct rt_builtin *tab, unsigned n, const char *name,
			      const char *lang)
{
	for (unsigned i = 0; r && i < r->ntpl; i++)
		if (!strcmp(r->tpl[i].name, name) && !strcmp(r->tpl[i].lang, lang))
			return r->tpl[i].text;
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(tab[i].name, name) && !strcmp(tab[i].lang, lang))
			return tab[i].text;
	return NULL;
}

const char *rt_text_of(const struct rt_rules *r, const struct rt_builtin *tab, unsigned n, const char *name,
		       const char *lang)
{
	const char *t = lang ? text_exact(r, tab, n, name, lang) : NULL;

	return t ? t : text_exact(r, tab, n, name, "zh-CN");
}

/* rt_expand without shortening; out NULL: only the length. */
static int expand(const char *tpl, const char *const *keys, const char *const *vals, unsigned n, char *out,
		  size_t outlen)
{
	size_t w = 0;

	if (out && !outlen)
		return -ENOSPC;
	while (*tpl) {
		const char *close;
		const char *add = NULL;
		size_t addlen = 0;

		if (*tpl == '{' && (close = strchr(tpl, '}'))) {
			size_t kl = close - tpl - 1;

			for (unsigned i = 0; i < n; i++) {
				if (strlen(keys[i]) == kl && !strncmp(tpl + 1, keys[i], kl)) {
					add = vals[i];
					addlen = strlen(add);
					break;
				}
			}
			if (add) {
				tpl = close + 1;
			} else {
				add = tpl;
				addlen = 1;
				tpl++;
			}
		} else {
			add = tpl;
			addlen = 1;
			tpl++;
		}
		if (out && w + addlen >= outlen)
			return -ENOSPC;
		if (out)
			memcpy(out + w, add, addlen);
		w += addlen;
	}
	if (out)
		out[w] = '\0';
	return (int)w;
}

/* A value long enough to be free text (a report, a reason, a result), which may be shortened; a
 * reference, a date, a number or a name never is. */
#define RT_SHORTEN_MIN 24

/* vals with every free-text value longer than cap bytes cut to cap (on a character boundary) and
 * ended in "…", in cut[] (malloc'd); false when out of memory. */
static bool cap_values(const char *const *vals, unsigned n, size_t cap, const char **v, char **cut)
{
	static const char ellipsis[] = "…";

	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(vals[i]), keep = cap;

		free(cut[i]);
		cut[i] = NULL;
		v[i] = vals[i];
		if (l < RT_SHORTEN_MIN || l <= cap)
			continue;
		while (keep && ((unsigned char)vals[i][keep] & 0xc0) == 0x80)
			keep--;
		cut[i] = malloc(keep + sizeof(ellipsis));
		if (!cut[i])
			return false;
		memcpy(cut[i], vals[i], keep);
		memcpy(cut[i] + keep, ellipsis, sizeof(ellipsis));
		v[i] = cut[i];
	}
	return true;
}

int rt_expand(const char *tpl, const char *const *keys, const char *const *vals, unsigned n, char *out, size_t outlen)
{
	char *cut[RT_MAX_KEYS] = {0};
	const char *v[RT_MAX_KEYS];
	size_t lo = 0, hi = 0;
	int rc = expand(tpl, keys, vals, n, out, outlen);

	if (rc != -ENOSPC || n > RT_MAX_KEYS)
		return rc;
	/* too long: cut every free-text value to one common length, the largest that fits, each
	 * ending in "…", so that a notice is never dropped for its length */
	for (unsigned i = 0; i < n; i++)
		if (strlen(vals[i]) > hi)
			hi = strlen(vals[i]);
	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;

		if (!cap_values(vals, n, mid, v, cut))
			goto out;
		if (expand(tpl, keys, v, n, NULL, 0) < (int)outlen)
			lo = mid;
		else
			hi = mid - 1;
	}
	if (cap_values(vals, n, lo, v, cut))
		rc = expand(tpl, keys, v, n, out, outlen);
out:
	for (unsigned i = 0; i < n; i++)
		free(cut[i]);
	return rc;
}
