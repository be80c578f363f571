/*
 * json.h: a small, strict JSON reader for echoctl (jsmn's shape).
 *
 * json_parse() splits a reply into tokens in a caller-sized array, never
 * allocating: each token is an object, array, string or primitive
 * (number, true, false, null), with its byte range in the input and,
 * for objects and arrays, how many direct children it has (an object's
 * children are its keys; a key's value follows it).  The reply comes
 * from echod's control socket, but echoctl still treats it as untrusted:
 * depth and token count are bounded and any malformed input is an error.
 *
 *	json_parse()	0, or -1 with a message (malformed, too many tokens)
 *	json_skip()	index of the token after i and all it contains
 *	json_get()	the value token of key name in object i, or -1
 *	json_str()	a token's text, strings unescaped (\uXXXX above
 *			0x7f becomes '?'), control bytes made visible
 */
#ifndef ECHOD_JSON_H
#define ECHOD_JSON_H

#include <stddef.h>

enum json_type { JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_PRIMITIVE };

struct json_tok {
	enum json_type	type;
	size_t		start;	/* strings: after the opening quote */
	size_t		end;	/* one past the last byte */
	size_t		size;	/* children (objects: keys) */
};

struct json {
	const char	*text;
	size_t		 len;
	struct json_tok	*tok;
	size_t		 ntok;
	size_t		 cap;
};

#define JSON_MAX_DEPTH	16

int	json_parse(struct json *, const char *, size_t, struct json_tok *,
	    size_t, char *, size_t);
size_t	json_skip(const struct json *, size_t);
long	json_get(const struct json *, size_t, const char *);
void	json_str(const struct json *, size_t, char *, size_t);

#endif
