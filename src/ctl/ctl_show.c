/*
 * ctl_show.c: echoctl's human output (see ctl_show.h).
 *
 * Values are printed as echod sent them, strings unescaped and made
 * printable by json_str(): a peer name in a worker's row is a remote
 * party's text and must not reach the terminal raw.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl_show.h"

#define VAL_MAX	256

static int
shape(char *msg, size_t msglen, const char *what)
{
	(void)snprintf(msg, msglen, "unexpected reply: %s", what);
	return -1;
}

int
show_error(FILE *err, const struct json *j)
{
	long	v;
	char	text[VAL_MAX];

	if ((v = json_get(j, 0, "error")) == -1)
		return 0;
	json_str(j, (size_t)v, text, sizeof(text));
	(void)fprintf(err, "echoctl: echod: %s\n", text);
	return 1;
}

int
show_pairs(FILE *out, const struct json *j, char *msg, size_t msglen)
{
	size_t	i, k, w = 0, len;
	char	key[VAL_MAX], val[VAL_MAX];

	if (j->ntok == 0 || j->tok[0].type != JSON_OBJECT)
		return shape(msg, msglen, "not an object");
	for (i = 1, k = 0; k < j->tok[0].size; k++, i = json_skip(j, i + 1))
		if ((len = j->tok[i].end - j->tok[i].start) > w)
			w = len;
	for (i = 1, k = 0; k < j->tok[0].size; k++, i = json_skip(j, i + 1)) {
		json_str(j, i, key, sizeof(key));
		if (j->tok[i + 1].type == JSON_OBJECT ||
		    j->tok[i + 1].type == JSON_ARRAY)
			(void)strlcpy(val, "(...)", sizeof(val));
		else
			json_str(j, i + 1, val, sizeof(val));
		(void)fprintf(out, "%-*s  %s\n", (int)w, key, val);
	}
	return 0;
}

static char
state_letter(const char *state)
{
	static const struct { const char *name; char c; } tab[] = {
		{ "starting", 'S' }, { "idle", '_' }, { "busy", 'W' },
		{ "exiting", 'G' },
	};
	size_t	i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(state, tab[i].name) == 0)
			return tab[i].c;
	return '.';
}

/*
 * One field of worker object w as text, "-" when absent.  name may list
 * aliases separated by '|': the first present wins.
 */
static void
field(const struct json *j, size_t w, const char *name, char *out,
    size_t outlen)
{
	char	 one[64], *p, *rest = one;
	long	 v = -1;

	(void)strlcpy(one, name, sizeof(one));
	while (v == -1 && (p = strsep(&rest, "|")) != NULL)
		v = json_get(j, w, p);
	if (v == -1 || (j->tok[v].type == JSON_PRIMITIVE &&
	    strncmp(j->text + j->tok[v].start, "null", 4) == 0))
		(void)strlcpy(out, "-", outlen);
	else
		json_str(j, (size_t)v, out, outlen);
}

static long
workers_array(const struct json *j)
{
	if (j->ntok > 0 && j->tok[0].type == JSON_ARRAY)
		return 0;
	return json_get(j, 0, "workers");
}

static void
show_row(FILE *out, const struct json *j, size_t w)
{
	static const char *const cols[] = { "pid", "role", "state",
	    "generation|gen", "served|connections|connections_served",
	    "seconds|seconds_in_state|state_seconds", "peer" };
	static const int width[] = { 8, 7, 9, 4, 8, 8, 0 };
	char	val[VAL_MAX];
	size_t	c;

	for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
		field(j, w, cols[c], val, sizeof(val));
		(void)fprintf(out, width[c] ? "%-*s " : "%*s\n",
		    width[c], val);
	}
}

int
show_workers(FILE *out, const struct json *j, char *msg, size_t msglen)
{
	long	a;
	size_t	i, k;
	char	state[VAL_MAX];

	if ((a = workers_array(j)) == -1 || j->tok[a].type != JSON_ARRAY)
		return shape(msg, msglen, "no workers array");
	(void)fputs("Scoreboard: ", out);
	for (i = (size_t)a + 1, k = 0; k < j->tok[a].size; k++) {
		field(j, i, "state", state, sizeof(state));
		(void)fputc(state_letter(state), out);
		i = json_skip(j, i);
	}
	(void)fprintf(out, "\n%-8s %-7s %-9s %-4s %-8s %-8s %s\n", "PID",
	    "ROLE", "STATE", "GEN", "SERVED", "SECONDS", "PEER");
	for (i = (size_t)a + 1, k = 0; k < j->tok[a].size; k++) {
		if (j->tok[i].type != JSON_OBJECT)
			return shape(msg, msglen, "a worker is not an object");
		show_row(out, j, i);
		i = json_skip(j, i);
	}
	return 0;
}
