/* Unit tests of config.c: the file format, precedence of the environment, durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"

static struct config *parse(const char *text)
{
	struct config *c = NULL;

	assert_int_equal(config_parse(text, strlen(text), "test.conf", &c), 0);
	return c;
}

static void sections_and_comments(void **state)
{
	struct config *c = parse("# top\ntimeout = 5s\n\n[digitalocean]\n  expiry-seconds=3600 \n"
				 "; other comment\n[rancher]\nurl = https://r.example/v2-beta\n");

	(void)state;
	assert_string_equal(config_file_value(c, "", "timeout"), "5s");
	assert_string_equal(config_file_value(c, "digitalocean", "expiry-seconds"), "3600");
	assert_string_equal(config_file_value(c, "rancher", "url"), "https://r.example/v2-beta");
	assert_null(config_file_value(c, "", "url"));
	config_free(c);
}

static void errors_name_the_line(void **state)
{
	struct config *c = NULL;

	(void)state;
	assert_int_equal(config_parse("a = 1\nnot a setting\n", 20, "f.conf", &c), ERR_INVALID);
	assert_string_equal(err_msg(), "f.conf:2: expected `key = value`");
	assert_int_equal(config_parse("[open\n", 6, "f.conf", &c), ERR_INVALID);
	assert_string_equal(err_msg(), "f.conf:1: a section is written [name]");
	assert_int_equal(config_parse(" = x\n", 5, "f.conf", &c), ERR_INVALID);
	assert_int_equal(config_parse("a\0b", 3, "f.conf", &c), ERR_INVALID);
	assert_null(c);
}

static void environment_wins(void **state)
{
	struct config *c = parse("timeout = 5s\n");
	int64_t ms;

	(void)state;
	unsetenv("DCK_TEST_TIMEOUT");
	assert_int_equal(config_ms_range(c, "", "timeout", "DCK_TEST_TIMEOUT", 1, INT64_MIN, INT64_MAX, &ms), 0);
	assert_int_equal(ms, 5000);
	setenv("DCK_TEST_TIMEOUT", "250ms", 1);
	assert_int_equal(config_ms_range(c, "", "timeout", "DCK_TEST_TIMEOUT", 1, INT64_MIN, INT64_MAX, &ms), 0);
	assert_int_equal(ms, 250);
	setenv("DCK_TEST_TIMEOUT", "soon", 1);
	assert_int_equal(config_ms_range(c, "", "timeout", "DCK_TEST_TIMEOUT", 1, INT64_MIN, INT64_MAX, &ms), ERR_INVALID);
	assert_string_equal(err_msg(), "DCK_TEST_TIMEOUT: \"soon\" is not a duration (examples: 3, 2.5s, 500ms, 5m)");
	unsetenv("DCK_TEST_TIMEOUT");
	assert_int_equal(config_ms_range(c, "", "missing", NULL, 42, INT64_MIN, INT64_MAX, &ms), 0);
	assert_int_equal(ms, 42);
	config_free(c);
}

static void durations(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(config_parse_ms("3", &ms), 0);
	assert_int_equal(ms, 3000);
	assert_int_equal(config_parse_ms("2.5s", &ms), 0);
	assert_int_equal(ms, 2500);
	assert_int_equal(config_parse_ms("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(config_parse_ms("1h", &ms), 0);
	assert_int_equal(ms, 3600000);
	assert_int_equal(config_parse_ms("-1", &ms), ERR_INVALID);
	assert_int_equal(config_parse_ms("1d", &ms), ERR_INVALID);
	assert_int_equal(config_parse_ms("", &ms), ERR_INVALID);
	assert_int_equal(config_parse_ms("nan", &ms), ERR_INVALID);
}

static void booleans(void **state)
{
	struct config *c = parse("a = yes\nb = Off\nc = maybe\n");
	int v;

	(void)state;
	assert_int_equal(config_bool(c, "", "a", NULL, 0, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(config_bool(c, "", "b", NULL, 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(config_bool(c, "", "c", NULL, 1, &v), ERR_INVALID);
	assert_string_equal(err_msg(), "c: \"maybe\" is not true or false");
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sections_and_comments),
		cmocka_unit_test(errors_name_the_line),
		cmocka_unit_test(environment_wins),
		cmocka_unit_test(durations),
		cmocka_unit_test(booleans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
