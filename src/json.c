/* Strict request-body parsing, field access and the response envelopes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signet/ids.h"
#include "signet/json.h"
#include "signet/sbuf.h"

/*
 * Whether the JSON text escapes a NUL ("\u0000") anywhere.  json-c keeps
 * object keys as C strings and would silently cut "url\u0000x" to "url", so
 * the raw text is scanned instead of the parsed tree.  An escaped backslash
 * is skipped as a pair, so "\\u0000" (a literal backslash) is not a NUL.
 */
static int
escapes_nul(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
			return 1;
		i++;
	}
	return 0;
}

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no UTF-16 surrogates, nothing
 * above U+10FFFF.  json-c's own check lets those three through.  utf8_seq
 * is the length of the multi-byte sequence at s (len bytes left), 0 when it
 * is not one.
 */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	size_t	 n, k;
	uint32_t cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 1;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 2;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 3;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len <= n)
		return 0;
	for (k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n + 1;
}

static int
valid_utf8(const unsigned char *s, size_t len)
{
	size_t	 i = 0, n;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_seq(s + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

static int
hex4(const char *s, unsigned *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		char c = s[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/*
 * Whether every \uD800-\uDFFF escape in the text is half of a proper
 * surrogate pair: a lone half would decode to invalid UTF-8.
 */
static int
surrogates_paired(const char *s, size_t len)
{
	size_t	 i;
	unsigned v, w;

	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] != 'u') {
			i++;
			continue;
		}
		if (len - i < 6 || hex4(s + i + 2, &v) != 0)
			return 1;	/* malformed: the parser refuses it */
		if (v >= 0xdc00 && v <= 0xdfff)
			return 0;
		if (v >= 0xd800 && v <= 0xdbff) {
			if (len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' ||
			    hex4(s + i + 8, &w) != 0 || w < 0xdc00 || w > 0xdfff)
				return 0;
			i += 6;
		}
		i += 5;
	}
	return 1;
}

/*
 * One pass over the text that answers 1 only when all three checks below
 * (no NUL byte or \u0000, strict UTF-8, paired surrogate escapes) would
 * pass.  It is conservative: any \u escape of a NUL or a surrogate half, or
 * one without four hex digits, answers 0 and the separate checks decide.
 * Escapes are stepped over as escapes_nul and surrogates_paired step over
 * them, so it sees the text the way they do.
 */
#define ONES	UINT64_C(0x0101010101010101)

static int
plainly_valid(const unsigned char *s, size_t len)
{
	size_t	 i = 0, n;
	unsigned v;

	while (i < len) {
		if (len - i >= 8) {
			/* Eight plain bytes at a time: ASCII, >= 0x20, no '\\'. */
			uint64_t w, bs;

			/*
			 * Any byte >= 0x80, any byte < 0x20 (exact once none
			 * is >= 0x80), any byte equal to '\\' (its XOR is zero).
			 */
			memcpy(&w, s + i, 8);
			bs = w ^ ONES * '\\';
			if (((w | ((w - ONES * 0x20) & ~w) | ((bs - ONES) & ~bs)) &
			    ONES * 0x80) == 0) {
				i += 8;
				continue;
			}
		}
		if (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '\\') {
			i++;
			continue;
		}
		if (s[i] == '\0')
			return 0;
		if (s[i] == '\\') {
			if (i + 1 >= len)
				return 0;
			if (s[i + 1] != 'u') {
				if (s[i + 1] < 0x20 || s[i + 1] >= 0x80)
					return 0;
				i += 2;
				continue;
			}
			if (len - i < 6 || hex4((const char *)s + i + 2, &v) != 0 ||
			    v == 0 || (v >= 0xd800 && v <= 0xdfff))
				return 0;
			i += 6;
			continue;
		}
		if (s[i] < 0x80) {	/* other control characters */
			i++;
			continue;
		}
		if ((n = utf8_seq(s + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/*
 * The fast path: one pass over a body, building the tree json-c's strict
 * tokenizer builds, for what clients send: objects and arrays of strings,
 * integers of at most 18 digits, true, false and null, nested at most
 * FAST_DEPTH deep, keys of fewer than FAST_KEY_MAX bytes.  Anything else (a
 * fraction or exponent, a longer integer, "-0", a duplicate key, a control
 * character or a surrogate escape in a string, whitespace other than JSON's
 * four, any syntax error) makes it give up, and the text goes to json-c,
 * which accepts it or words the error exactly as before.  json-c walks
 * strings a byte at a time and sets up a locale on every call; this copies
 * plain runs of a string in one go.
 */
#define FAST_DEPTH	16
#define FAST_KEY_MAX	128

struct scan {
	const char	*p, *end;
	char		*buf;	/* unescaped text, grown once to the input's size */
	size_t		 cap;
};

static int	scan_value(struct scan *, int, json_object **);

static void
scan_ws(struct scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\n' ||
	    *sc->p == '\r' || *sc->p == '\t'))
		sc->p++;
}

/* The end of a run of ASCII string text without '"', '\\' or controls. */
static const char *
plain_run(const char *p, const char *end)
{
	uint64_t	 w, q, bs;

	/* As in plainly_valid: a match sets the high bit of its byte. */
	while (end - p >= 8) {
		memcpy(&w, p, 8);
		q = w ^ ONES * '"';
		bs = w ^ ONES * '\\';
		if ((w | ((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
		    ((bs - ONES) & ~bs)) & ONES * 0x80)
			break;
		p += 8;
	}
	while (p < end && *p != '"' && *p != '\\' &&
	    (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80)
		p++;
	return p;
}

/*
 * The end of a run of string text in strict UTF-8 without '"', '\\' or
 * control bytes: the '"' or '\\' after it, or NULL at anything else (a
 * control byte, a byte that is not UTF-8, the end of the input).
 */
static const char *
text_run(const char *p, const char *end)
{
	size_t	 n;

	for (;;) {
		p = plain_run(p, end);
		if (p == end)
			return NULL;
		if ((unsigned char)*p < 0x80)
			return *p == '"' || *p == '\\' ? p : NULL;
		if ((n = utf8_seq((const unsigned char *)p,
		    (size_t)(end - p))) == 0)
			return NULL;
		p += n;
	}
}

/*
 * The string at sc->p (its opening quote): *s and *n are its text, borrowed
 * from the input when it has no escape, else unescaped into sc->buf (or
 * into kbuf, NUL-terminated, when kbuf is given: a key).  0, or -1 to give
 * up.
 */
static int
scan_string(struct scan *sc, char *kbuf, const char **s, size_t *n)
{
	const char	*q;
	char		*out, *o;
	size_t		 cap;
	unsigned	 v;

	if ((q = text_run(++sc->p, sc->end)) == NULL)
		return -1;
	if (*q == '"' && kbuf == NULL) {
		*s = sc->p;
		*n = (size_t)(q - sc->p);
		sc->p = q + 1;
		return 0;
	}
	if (kbuf != NULL) {
		out = kbuf;
		cap = FAST_KEY_MAX - 1;
	} else {
		/* Unescaped text is never longer than its JSON. */
		cap = (size_t)(sc->end - sc->p);
		if (sc->cap < cap + 1) {
			free(sc->buf);
			sc->cap = 0;
			if ((sc->buf = malloc(cap + 1)) == NULL)
				return -1;
			sc->cap = cap + 1;
		}
		out = sc->buf;
	}
	o = out;
	for (;;) {
		if ((size_t)(q - sc->p) > cap - (size_t)(o - out))
			return -1;
		memcpy(o, sc->p, (size_t)(q - sc->p));
		o += q - sc->p;
		if (*q == '"')
			break;
		/* A backslash. */
		if (sc->end - q < 2 || (size_t)(o - out) + 3 > cap)
			return -1;
		switch (q[1]) {
		case '"': case '\\': case '/':
			*o++ = q[1];
			break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (sc->end - q < 6 || hex4(q + 2, &v) != 0 || v == 0 ||
			    (v >= 0xd800 && v <= 0xdfff))
				return -1;
			if (v < 0x80)
				*o++ = (char)v;
			else if (v < 0x800) {
				*o++ = (char)(0xc0 | v >> 6);
				*o++ = (char)(0x80 | (v & 0x3f));
			} else {
				*o++ = (char)(0xe0 | v >> 12);
				*o++ = (char)(0x80 | (v >> 6 & 0x3f));
				*o++ = (char)(0x80 | (v & 0x3f));
			}
			q += 4;
			break;
		default:
			return -1;
		}
		sc->p = q + 2;
		if ((q = text_run(sc->p, sc->end)) == NULL)
			return -1;
	}
	sc->p = q + 1;
	*s = out;
	*n = (size_t)(o - out);
	if (kbuf != NULL)
		*o = '\0';
	return 0;
}

/* An integer of at most 18 digits: no fraction, exponent, "-0" or "01". */
static int
scan_int(struct scan *sc, json_object **out)
{
	const char	*p = sc->p, *d;
	int64_t		 v = 0;
	int		 neg = 0;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (d = p; p < sc->end && *p >= '0' && *p <= '9'; p++)
		if (p - d < 18)
			v = v * 10 + (*p - '0');
	if (p == d || p - d > 18 || (*d == '0' && (p - d > 1 || neg)) ||
	    (p < sc->end && (*p == '.' || *p == 'e' || *p == 'E')))
		return -1;
	sc->p = p;
	*out = json_object_new_int64(neg ? -v : v);
	return *out != NULL ? 0 : -1;
}

static int
scan_word(struct scan *sc, const char *w, size_t n)
{
	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, w, n) != 0)
		return -1;
	sc->p += n;
	return 0;
}

/*
 * Step over ch and the whitespace after it, if sc->p is at ch.  1 when it
 * was, else 0.
 */
static int
scan_char(struct scan *sc, char ch)
{
	if (sc->p == sc->end || *sc->p != ch)
		return 0;
	sc->p++;
	scan_ws(sc);
	return 1;
}

/*
 * An object or array at sc->p: the members or elements of a container made
 * by new, each handed to add, up to the closer.  0, or -1 to give up.
 */
static int
scan_container(struct scan *sc, int depth, json_object **out, char closer,
    json_object *(*new)(void), int (*add)(struct scan *, int, json_object *))
{
	json_object	*c;

	if ((c = new()) == NULL)
		return -1;
	sc->p++;
	scan_ws(sc);
	if (sc->p < sc->end && *sc->p == closer) {
		sc->p++;
		*out = c;
		return 0;
	}
	do {
		if (add(sc, depth, c) != 0) {
			json_object_put(c);
			return -1;
		}
		scan_ws(sc);
	} while (scan_char(sc, ','));
	if (sc->p == sc->end || *sc->p != closer) {
		json_object_put(c);
		return -1;
	}
	sc->p++;
	*out = c;
	return 0;
}

/* One member "key": value into object o. */
static int
scan_member(struct scan *sc, int depth, json_object *o)
{
	json_object	*v;
	const char	*k;
	char		 kbuf[FAST_KEY_MAX];
	size_t		 klen;

	if (sc->p == sc->end || *sc->p != '"' ||
	    scan_string(sc, kbuf, &k, &klen) != 0 ||
	    json_object_object_get_ex(o, kbuf, NULL))
		return -1;
	scan_ws(sc);
	if (!scan_char(sc, ':') || scan_value(sc, depth + 1, &v) != 0)
		return -1;
	if (json_object_object_add(o, kbuf, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* One element into array a. */
static int
scan_element(struct scan *sc, int depth, json_object *a)
{
	json_object	*v;

	if (scan_value(sc, depth + 1, &v) != 0)
		return -1;
	if (json_object_array_add(a, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* One value at sc->p (no leading whitespace); depth counts from 1. */
static int
scan_value(struct scan *sc, int depth, json_object **out)
{
	const char	*s;
	size_t		 n;

	*out = NULL;
	if (sc->p == sc->end || depth > FAST_DEPTH)
		return -1;
	switch (*sc->p) {
	case '{':
		return scan_container(sc, depth, out, '}', json_object_new_object,
		    scan_member);
	case '[':
		return scan_container(sc, depth, out, ']', json_object_new_array,
		    scan_element);
	case '"':
		if (scan_string(sc, NULL, &s, &n) != 0)
			return -1;
		*out = json_object_new_string_len(s, (int)n);
		return *out != NULL ? 0 : -1;
	case 't':
		if (scan_word(sc, "true", 4) != 0)
			return -1;
		*out = json_object_new_boolean(1);
		return *out != NULL ? 0 : -1;
	case 'f':
		if (scan_word(sc, "false", 5) != 0)
			return -1;
		*out = json_object_new_boolean(0);
		return *out != NULL ? 0 : -1;
	case 'n':
		return scan_word(sc, "null", 4);
	default:
		if (*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9'))
			return scan_int(sc, out);
		return -1;
	}
}

/*
 * The fast path over len bytes of buf: 1 with *out the value (NULL for
 * null), or 0 when it gives up and json-c has to decide.
 */
static int
fast_parse(const char *buf, size_t len, json_object **out)
{
	struct scan	 sc;
	json_object	*o;
	int		 ok;

	if (len > INT32_MAX)
		return 0;
	sc.p = buf;
	sc.end = buf + len;
	sc.buf = NULL;
	sc.cap = 0;
	scan_ws(&sc);
	ok = scan_value(&sc, 1, &o) == 0;
	if (ok) {
		scan_ws(&sc);
		if (sc.p != sc.end) {
			json_object_put(o);
			ok = 0;
		}
	}
	free(sc.buf);
	if (ok && o == NULL)
		ok = 0;		/* a bare null: json-c words that refusal */
	if (ok)
		*out = o;
	return ok;
}

/*
 * The strict tokenizer, made once per process and reset for each body
 * (dropped after a large one, which would leave its buffer grown).  Reuse
 * is safe here only because every body reaching it has its surrogate
 * escapes in pairs: json-c 0.16's reset keeps a pending high surrogate.
 */
#define TOKENER_KEEP_MAX	(64 * 1024)

static struct json_tokener *body_tok;

static struct json_tokener *
body_tokener(void)
{
	/* json-c counts the outermost value as depth 1. */
	if (body_tok == NULL &&
	    (body_tok = json_tokener_new_ex(JSON_MAX_DEPTH)) != NULL)
		/*
		 * No JSON_TOKENER_VALIDATE_UTF8: every body reaching it has
		 * passed valid_utf8, which is stricter (a stray non-ASCII byte
		 * outside a string is now "unexpected character" rather than
		 * "invalid utf-8 string"; both are 400).
		 */
		json_tokener_set_flags(body_tok, JSON_TOKENER_STRICT);
	if (body_tok != NULL)
		json_tokener_reset(body_tok);
	return body_tok;
}

/* json_parse_body, with the fast path (fast) or json-c alone. */
static enum sig_err
parse_body(const char *buf, size_t len, json_object **out, char *msg,
    int fast)
{
	struct json_tokener	*tok;
	enum json_tokener_error	 jerr;
	json_object		*o = NULL;
	char			*copy;
	size_t			 i;

	*out = NULL;
	for (i = 0; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' &&
		    buf[i] != '\n')
			break;
	if (i == len) {
		*out = json_object_new_object();
		return *out ? SIG_OK : SIG_EINTERNAL;
	}
	/*
	 * The fast path checks what it reads (strings in strict UTF-8 with no
	 * NUL or surrogate escape, nothing else outside ASCII), so a body it
	 * takes would pass the checks below.
	 */
	if (fast && fast_parse(buf, len, out))
		return SIG_OK;
	if (!plainly_valid((const unsigned char *)buf, len)) {
		if (memchr(buf, '\0', len) != NULL || escapes_nul(buf, len)) {
			snprintf(msg, SIG_MSG_MAX, "strings must not contain NUL");
			return SIG_EINVAL;
		}
		if (!valid_utf8((const unsigned char *)buf, len) ||
		    !surrogates_paired(buf, len)) {
			snprintf(msg, SIG_MSG_MAX,
			    "request body is not valid UTF-8");
			return SIG_EINVAL;
		}
	}
	/* The tokenizer wants the terminating NUL, or a bare number waits. */
	if ((copy = malloc(len + 1)) == NULL)
		return SIG_EINTERNAL;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	if ((tok = body_tokener()) == NULL) {
		free(copy);
		return SIG_EINTERNAL;
	}
	o = json_tokener_parse_ex(tok, copy, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (o != NULL && jerr == json_tokener_success &&
	    json_tokener_get_parse_end(tok) < len) {
		/* Only whitespace may follow the value. */
		for (i = json_tokener_get_parse_end(tok); i < len; i++)
			if (copy[i] != ' ' && copy[i] != '\t' &&
			    copy[i] != '\r' && copy[i] != '\n')
				break;
		if (i < len)
			jerr = json_tokener_error_parse_unexpected;
	}
	free(copy);
	if (len > TOKENER_KEEP_MAX) {
		json_tokener_free(body_tok);
		body_tok = NULL;
	}
	if (o == NULL || jerr != json_tokener_success) {
		json_object_put(o);
		if (jerr == json_tokener_error_depth)
			snprintf(msg, SIG_MSG_MAX,
			    "request body is nested deeper than %d levels",
			    JSON_MAX_DEPTH);
		else
			snprintf(msg, SIG_MSG_MAX,
			    "request body is not valid JSON: %s",
			    json_tokener_error_desc(jerr));
		return SIG_EINVAL;
	}
	*out = o;
	return SIG_OK;
}

enum sig_err
json_parse_body(const char *buf, size_t len, json_object **out, char *msg)
{
	return parse_body(buf, len, out, msg, 1);
}

enum sig_err
json_parse_body_reference(const char *buf, size_t len, json_object **out,
    char *msg)
{
	return parse_body(buf, len, out, msg, 0);
}

enum sig_err
json_only_fields(json_object *body, const char *const *allowed, char *msg)
{
	const char *const *a;

	if (!json_object_is_type(body, json_type_object)) {
		snprintf(msg, SIG_MSG_MAX, "request body must be a JSON object");
		return SIG_EINVAL;
	}
	json_object_object_foreach(body, key, val) {
		(void)val;
		for (a = allowed; *a != NULL; a++)
			if (strcmp(key, *a) == 0)
				break;
		if (*a == NULL) {
			snprintf(msg, SIG_MSG_MAX, "unknown field: %.64s", key);
			return SIG_EINVAL;
		}
	}
	return SIG_OK;
}

enum sig_err
json_string_field(json_object *obj, const char *name, int required,
    size_t maxlen, const char **out, size_t *outlen, char *msg)
{
	json_object	*v;
	size_t		 len;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (!json_object_object_get_ex(obj, name, &v) || v == NULL) {
		if (!required)
			return SIG_OK;
		snprintf(msg, SIG_MSG_MAX, "%s is required", name);
		return SIG_EINVAL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(msg, SIG_MSG_MAX, "%s must be a string", name);
		return SIG_EINVAL;
	}
	len = (size_t)json_object_get_string_len(v);
	if (len > maxlen) {
		snprintf(msg, SIG_MSG_MAX, "%s must be at most %zu bytes", name,
		    maxlen);
		return SIG_EINVAL;
	}
	*out = json_object_get_string(v);
	if (outlen != NULL)
		*outlen = len;
	return SIG_OK;
}

enum sig_err
json_int_field(json_object *obj, const char *name, int required, int64_t min,
    int64_t max, int64_t *out, int *present, char *msg)
{
	json_object	*v;
	int64_t		 n;

	*present = 0;
	if (!json_object_object_get_ex(obj, name, &v) || v == NULL) {
		if (!required)
			return SIG_OK;
		snprintf(msg, SIG_MSG_MAX, "%s is required", name);
		return SIG_EINVAL;
	}
	/*
	 * json-c saturates big numbers at INT64_MIN/MAX; the bounds below
	 * are always narrower, so a saturated value is refused too.
	 */
	if (!json_object_is_type(v, json_type_int) ||
	    (n = json_object_get_int64(v)) < min || n > max) {
		snprintf(msg, SIG_MSG_MAX,
		    "%s must be an integer from %lld to %lld", name,
		    (long long)min, (long long)max);
		return SIG_EINVAL;
	}
	*out = n;
	*present = 1;
	return SIG_OK;
}

/*
 * Printing: the text json-c prints with JSON_C_TO_STRING_PLAIN (and
 * NOSLASHESCAPE when noslash), byte for byte, written in one growing buffer
 * with plain runs of strings copied in one go.  A double, and any object
 * carrying userdata (the one way Signet attaches a custom serializer, see
 * keyring_list), is printed by json-c itself.
 */
struct pbuf {
	char	*s;
	size_t	 len, cap;
	int	 failed;
};

static int
pb_init(struct pbuf *b, size_t cap)
{
	b->len = 0;
	b->cap = cap;
	b->failed = 0;
	return (b->s = malloc(cap)) == NULL ? -1 : 0;
}

static void
pb_put(struct pbuf *b, const char *s, size_t n)
{
	char	*t;
	size_t	 cap;

	if (b->failed)
		return;
	if (b->cap - b->len <= n) {
		cap = b->cap * 2 > b->len + n + 1 ? b->cap * 2 : b->len + n + 64;
		if ((t = realloc(b->s, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
}

/* The end of a run needing no escape: no '"', '\\', control byte or '/'. */
static const char *
print_run(const char *p, const char *end, int noslash)
{
	uint64_t	 w, q, bs, sl;

	while (end - p >= 8) {
		memcpy(&w, p, 8);
		q = w ^ ONES * '"';
		bs = w ^ ONES * '\\';
		sl = noslash ? ~(uint64_t)0 : w ^ ONES * '/';
		if ((((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
		    ((bs - ONES) & ~bs) | ((sl - ONES) & ~sl)) & ONES * 0x80)
			break;
		p += 8;
	}
	while (p < end && *p != '"' && *p != '\\' &&
	    (unsigned char)*p >= 0x20 && (noslash || *p != '/'))
		p++;
	return p;
}

/* A string in quotes, escaped as json-c's json_escape_str does. */
static void
print_string(struct pbuf *b, const char *s, size_t n, int noslash)
{
	static const char hex[] = "0123456789abcdef";
	const char	*end = s + n, *q;
	char		 esc[6];

	pb_put(b, "\"", 1);
	while (s < end) {
		q = print_run(s, end, noslash);
		pb_put(b, s, (size_t)(q - s));
		if (q == end)
			break;
		esc[0] = '\\';
		switch (*q) {
		case '\b': esc[1] = 'b'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\f': esc[1] = 'f'; break;
		case '"': case '\\': case '/': esc[1] = *q; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[(unsigned char)*q >> 4];
			esc[5] = hex[*q & 0xf];
			pb_put(b, esc, 6);
			s = q + 1;
			continue;
		}
		pb_put(b, esc, 2);
		s = q + 1;
	}
	pb_put(b, "\"", 1);
}

static void
print_value(struct pbuf *b, json_object *o, int noslash)
{
	struct sbuf	 nb;
	const char	*s;
	char		 num[24];
	int64_t		 v;
	size_t		 i, n;
	int		 first = 1;

	if (o == NULL) {
		pb_put(b, "null", 4);
		return;
	}
	if (json_object_get_userdata(o) != NULL)
		goto jsonc;
	switch (json_object_get_type(o)) {
	case json_type_null:
		pb_put(b, "null", 4);
		return;
	case json_type_boolean:
		if (json_object_get_boolean(o))
			pb_put(b, "true", 4);
		else
			pb_put(b, "false", 5);
		return;
	case json_type_int:
		/* INT64_MAX may be a larger unsigned value: json-c knows. */
		if ((v = json_object_get_int64(o)) == INT64_MAX)
			goto jsonc;
		sbuf_init(&nb, num, sizeof(num));
		sbuf_int(&nb, v);
		pb_put(b, num, (size_t)sbuf_done(&nb));
		return;
	case json_type_string:
		print_string(b, json_object_get_string(o),
		    (size_t)json_object_get_string_len(o), noslash);
		return;
	case json_type_object: {
		pb_put(b, "{", 1);
		json_object_object_foreach(o, key, val) {
			if (!first)
				pb_put(b, ",", 1);
			first = 0;
			print_string(b, key, strlen(key), noslash);
			pb_put(b, ":", 1);
			print_value(b, val, noslash);
		}
		pb_put(b, "}", 1);
		return;
	}
	case json_type_array:
		pb_put(b, "[", 1);
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			if (i > 0)
				pb_put(b, ",", 1);
			print_value(b, json_object_array_get_idx(o, i), noslash);
		}
		pb_put(b, "]", 1);
		return;
	default:
		break;
	}
jsonc:
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    (noslash ? JSON_C_TO_STRING_NOSLASHESCAPE : 0));
	if (s == NULL)
		b->failed = 1;
	else
		pb_put(b, s, strlen(s));
}

char *
json_print(json_object *o, int noslash, size_t *len)
{
	struct pbuf	 b;

	if (pb_init(&b, 256) != 0)
		return NULL;
	print_value(&b, o, noslash);
	pb_put(&b, "", 1);	/* the NUL */
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	if (len != NULL)
		*len = b.len - 1;
	return b.s;
}

char *
json_dump(json_object *o)
{
	return json_print(o, 1, NULL);
}

static char *
envelope(const char *key, json_object *payload, const char *rid, int has_more)
{
	json_object	*root, *meta;
	char		*s;

	root = json_object_new_object();
	meta = json_object_new_object();
	if (root == NULL || meta == NULL) {
		json_object_put(root);
		json_object_put(meta);
		json_object_put(payload);
		return NULL;
	}
	json_object_object_add(root, key, payload);
	json_object_object_add(meta, "request_id",
	    json_object_new_string(rid));
	if (has_more >= 0)
		json_object_object_add(meta, "has_more",
		    json_object_new_boolean(has_more));
	json_object_object_add(root, "meta", meta);
	s = json_dump(root);
	json_object_put(root);
	return s;
}

/* Request ids are ours ("req_" + hex): nothing in them needs escaping. */
static int
plain_id(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return 0;
	return 1;
}

char *
json_envelope_ok(json_object *data, const char *rid, int has_more)
{
	static const char meta[] = ",\"meta\":{\"request_id\":\"";
	const char	*more;
	struct pbuf	 b;

	if (!plain_id(rid))
		return envelope("data", data, rid, has_more);
	/*
	 * The bytes envelope() would make, without a second tree: the data
	 * printed once, with the meta object around it.
	 */
	more = has_more < 0 ? "\"}}" : has_more ?
	    "\",\"has_more\":true}}" : "\",\"has_more\":false}}";
	if (pb_init(&b, 512) != 0) {
		json_object_put(data);
		return NULL;
	}
	pb_put(&b, "{\"data\":", 8);
	print_value(&b, data, 1);
	pb_put(&b, meta, sizeof(meta) - 1);
	pb_put(&b, rid, strlen(rid));
	pb_put(&b, more, strlen(more) + 1);	/* with the NUL */
	json_object_put(data);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

char *
json_envelope_err(enum sig_err e, const char *msg, const char *rid)
{
	const struct sig_err_info *info = sig_err_info(e);
	json_object	*err;

	if ((err = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(err, "code",
	    json_object_new_string(info->code));
	json_object_object_add(err, "message", json_object_new_string(
	    msg != NULL && *msg != '\0' ? msg : info->message));
	return envelope("error", err, rid, -1);
}

json_object *
json_str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

const char *
json_str(json_object *o, const char *name)
{
	json_object	*v;

	return json_object_object_get_ex(o, name, &v) &&
	    json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

int64_t
json_i64(json_object *o, const char *name)
{
	json_object	*v;

	return json_object_object_get_ex(o, name, &v) ?
	    json_object_get_int64(v) : 0;
}

json_object *
json_copy(json_object *o, const char *name)
{
	json_object	*v;

	return json_object_object_get_ex(o, name, &v) ? json_object_get(v) :
	    NULL;
}

json_object *
json_time(json_object *o, const char *name, int us)
{
	char	 ts[32];
	int64_t	 t = json_i64(o, name);

	return t != 0 ? json_object_new_string(ids_time(t, us, ts)) : NULL;
}

json_object *
json_parse_trusted(const char *buf, size_t len)
{
	struct json_tokener *tok;
	json_object	*o;

	if (len > INT32_MAX - 1)
		return NULL;
	if (fast_parse(buf, len, &o))
		return o;
	/*
	 * What the fast path leaves (fractions, long numbers) goes to a fresh
	 * tokenizer: json-c 0.16's json_tokener_reset keeps a pending high
	 * surrogate escape, which would join the next text's first \u escape.
	 */
	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		/* A bare number needs the end of input to finish. */
		o = json_tokener_parse_ex(tok, "", 1);
	if (o != NULL && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

const char *
json_string_nocase(json_object *o, const char *name, int *bad)
{
	json_object_object_foreach(o, key, val) {
		if (strcasecmp(key, name) != 0)
			continue;
		if (!json_object_is_type(val, json_type_string)) {
			*bad = 1;
			return NULL;
		}
		return json_object_get_string(val);
	}
	return NULL;
}
