/*
 * check_json.c: Check suite for echoctl's JSON reader (src/ctl/json.c).
 *
 * The replies echoctl reads come from a socket: every malformed form
 * must be refused with a message, never read past the input, and the
 * helpers must find keys and skip nested values exactly.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "check_main.h"

static struct json_tok	tok[64];

static int
parse(struct json *j, const char *s)
{
	char	msg[128];

	return json_parse(j, s, strlen(s), tok, 64, msg, sizeof(msg));
}

START_TEST(test_flat_object)
{
	struct json	j;
	char		v[32];
	long		i;

	ck_assert_int_eq(parse(&j, "{\"served\": 12, \"model\": \"fork\"}"), 0);
	ck_assert_int_eq(j.tok[0].type, JSON_OBJECT);
	ck_assert_uint_eq(j.tok[0].size, 2);
	i = json_get(&j, 0, "model");
	ck_assert_int_ne(i, -1);
	json_str(&j, (size_t)i, v, sizeof(v));
	ck_assert_str_eq(v, "fork");
	i = json_get(&j, 0, "served");
	json_str(&j, (size_t)i, v, sizeof(v));
	ck_assert_str_eq(v, "12");
	ck_assert_int_eq(json_get(&j, 0, "absent"), -1);
}
END_TEST

START_TEST(test_nested_skip)
{
	struct json	j;
	char		v[32];
	long		i;

	ck_assert_int_eq(parse(&j, "{\"workers\": [{\"pid\": 1, \"x\": [1,[2]]},"
	    " {\"pid\": 2}], \"after\": true}"), 0);
	i = json_get(&j, 0, "workers");
	ck_assert_int_eq(j.tok[i].type, JSON_ARRAY);
	ck_assert_uint_eq(j.tok[i].size, 2);
	i = json_get(&j, 0, "after");
	ck_assert_int_ne(i, -1);
	json_str(&j, (size_t)i, v, sizeof(v));
	ck_assert_str_eq(v, "true");
	ck_assert_uint_eq(json_skip(&j, 0), j.ntok);
}
END_TEST

START_TEST(test_escapes_made_printable)
{
	struct json	j;
	char		v[32];

	ck_assert_int_eq(parse(&j, "[\"a\\nb\\u0041\\u00e9\\\"\"]"), 0);
	json_str(&j, 1, v, sizeof(v));
	ck_assert_str_eq(v, "a?bA?\"");
	json_str(&j, 1, v, 3);		/* truncated, still terminated */
	ck_assert_str_eq(v, "a?");
}
END_TEST

static const char *const bad[] = {
	"", "{", "[1,", "{\"a\" 1}", "{\"a\":}", "{1:2}", "[1 2]",
	"\"open", "\"bad\\q\"", "\"ctl\x01\"", "{} x", "[1,]x", "]",
	"[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]",
};

START_TEST(test_malformed)
{
	struct json	j;
	char		msg[128];

	msg[0] = '\0';
	ck_assert_int_eq(json_parse(&j, bad[_i], strlen(bad[_i]), tok, 64,
	    msg, sizeof(msg)), -1);
	ck_assert_msg(strstr(msg, "malformed reply") != NULL, "%s", msg);
}
END_TEST

START_TEST(test_too_many_tokens)
{
	struct json	j;
	char		msg[128];
	static char	big[1024];
	size_t		i;

	big[0] = '[';
	for (i = 1; i < 200; i += 2) {
		big[i] = '1';
		big[i + 1] = ',';
	}
	big[i - 1] = ']';
	ck_assert_int_eq(json_parse(&j, big, strlen(big), tok, 64, msg,
	    sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "too many"));
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("json");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_flat_object);
	tcase_add_test(tc, test_nested_skip);
	tcase_add_test(tc, test_escapes_made_printable);
	tcase_add_loop_test(tc, test_malformed, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_too_many_tokens);
	suite_add_tcase(s, tc);
	return s;
}

