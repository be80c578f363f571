/*
 * json.c: a small, strict JSON reader for echoctl (see json.h).
 *
 * Recursive descent over the text with an explicit depth bound; tokens
 * go into the caller's array in document order, so a value always sits
 * right after its key and a container's members right after it.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

struct jp {
	struct json	*j;
	size_t		 pos;
	char		*msg;
	size_t		 msglen;
};

static int	value(struct jp *, int);

static int
fail(struct jp *p, const char *what)
{
	(void)snprintf(p->msg, p->msglen, "malformed reply at byte %zu: %s",
	    p->pos, what);
	return -1;
}

static void
blanks(struct jp *p)
{
	while (p->pos < p->j->len && strchr(" \t\r\n", p->j->text[p->pos]) &&
	    p->j->text[p->pos] != '\0')
		p->pos++;
}

static long
tok_new(struct jp *p, enum json_type t)
{
	struct json_tok	*k;

	if (p->j->ntok == p->j->cap)
		return fail(p, "too many values");
	k = &p->j->tok[p->j->ntok];
	k->type = t;
	k->start = p->pos;
	k->end = p->pos;
	k->size = 0;
	return (long)p->j->ntok++;
}

static int
string(struct jp *p)
{
	const char	*s = p->j->text;
	long		 t;

	p->pos++;			/* the opening quote */
	if ((t = tok_new(p, JSON_STRING)) == -1)
		return -1;
	while (p->pos < p->j->len && s[p->pos] != '"') {
		if ((unsigned char)s[p->pos] < 0x20)
			return fail(p, "control byte in a string");
		if (s[p->pos] == '\\') {
			if (++p->pos >= p->j->len ||
			    strchr("\"\\/bfnrtu", s[p->pos]) == NULL ||
			    s[p->pos] == '\0')
				return fail(p, "bad escape");
		}
		p->pos++;
	}
	if (p->pos >= p->j->len)
		return fail(p, "unterminated string");
	p->j->tok[t].end = p->pos++;
	return 0;
}

static int
primitive(struct jp *p)
{
	const char	*s = p->j->text;
	long		 t;

	if ((t = tok_new(p, JSON_PRIMITIVE)) == -1)
		return -1;
	while (p->pos < p->j->len && (isalnum((unsigned char)s[p->pos]) ||
	    strchr("+-.", s[p->pos]) != NULL) && s[p->pos] != '\0')
		p->pos++;
	p->j->tok[t].end = p->pos;
	if (p->pos == p->j->tok[t].start)
		return fail(p, "unexpected character");
	return 0;
}

/* Members of an object (keyed) or an array, after the opening bracket. */
static int
members(struct jp *p, int keyed, int depth)
{
	char	 close = keyed ? '}' : ']';
	long	 t = (long)p->j->ntok - 1;

	p->pos++;
	blanks(p);
	if (p->pos < p->j->len && p->j->text[p->pos] == close)
		goto done;
	for (;;) {
		blanks(p);
		if (keyed) {
			if (p->pos >= p->j->len || p->j->text[p->pos] != '"')
				return fail(p, "expected a key");
			if (string(p) == -1)
				return -1;
			blanks(p);
			if (p->pos >= p->j->len || p->j->text[p->pos] != ':')
				return fail(p, "expected ':'");
			p->pos++;
		}
		if (value(p, depth + 1) == -1)
			return -1;
		p->j->tok[t].size++;
		blanks(p);
		if (p->pos < p->j->len && p->j->text[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->j->len && p->j->text[p->pos] == close)
			break;
		return fail(p, keyed ? "expected ',' or '}'" :
		    "expected ',' or ']'");
	}
done:
	p->j->tok[t].end = ++p->pos;
	return 0;
}

static int
value(struct jp *p, int depth)
{
	char	c;

	if (depth > JSON_MAX_DEPTH)
		return fail(p, "nested too deep");
	blanks(p);
	if (p->pos >= p->j->len)
		return fail(p, "unexpected end");
	c = p->j->text[p->pos];
	if (c == '{' || c == '[') {
		if (tok_new(p, c == '{' ? JSON_OBJECT : JSON_ARRAY) == -1)
			return -1;
		return members(p, c == '{', depth);
	}
	if (c == '"')
		return string(p);
	return primitive(p);
}

int
json_parse(struct json *j, const char *text, size_t len,
    struct json_tok *tok, size_t cap, char *msg, size_t msglen)
{
	struct jp	p = { j, 0, msg, msglen };

	j->text = text;
	j->len = len;
	j->tok = tok;
	j->ntok = 0;
	j->cap = cap;
	if (value(&p, 0) == -1)
		return -1;
	blanks(&p);
	if (p.pos != len)
		return fail(&p, "trailing bytes");
	return 0;
}

size_t
json_skip(const struct json *j, size_t i)
{
	size_t	n, k;
	int	keyed = j->tok[i].type == JSON_OBJECT;

	if (!keyed && j->tok[i].type != JSON_ARRAY)
		return i + 1;
	n = j->tok[i].size;
	i++;
	for (k = 0; k < n && i < j->ntok; k++)
		i = keyed && i + 1 >= j->ntok ? j->ntok :
		    json_skip(j, keyed ? i + 1 : i);	/* a key: its value */
	return i;
}

long
json_get(const struct json *j, size_t obj, const char *name)
{
	size_t	i, k;
	char	key[128];

	if (obj >= j->ntok || j->tok[obj].type != JSON_OBJECT)
		return -1;
	i = obj + 1;
	for (k = 0; k < j->tok[obj].size && i + 1 < j->ntok; k++) {
		json_str(j, i, key, sizeof(key));
		if (strcmp(key, name) == 0)
			return (long)(i + 1);
		i = json_skip(j, i + 1);
	}
	return -1;
}

static char
unescape(char c)
{
	switch (c) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return c;
	}
}

void
json_str(const struct json *j, size_t i, char *out, size_t outlen)
{
	const char	*s = j->text;
	size_t		 p, o = 0;
	char		 c;

	if (outlen == 0)
		return;
	for (p = j->tok[i].start; p < j->tok[i].end && o + 1 < outlen; p++) {
		c = s[p];
		if (j->tok[i].type == JSON_STRING && c == '\\') {
			c = s[++p];
			if (c == 'u') {		/* \uXXXX: ASCII or '?' */
				unsigned int	v = 0;

				if (p + 4 < j->tok[i].end &&
				    sscanf(s + p + 1, "%4x", &v) == 1)
					p += 4;
				c = v > 0x1f && v < 0x7f ? (char)v : '?';
			} else
				c = unescape(c);
		}
		out[o++] = isprint((unsigned char)c) ? c : '?';
	}
	out[o] = '\0';
}
