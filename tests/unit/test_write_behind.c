/* Unit tests of write_behind.c's copy format: every byte of the secret survives (NUL and
 * control characters too), expires and origin too, and anything else is refused without the
 * message quoting it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "write_behind.h"

static void copy_round_trip(void **state)
{
	struct secbuf b = SECBUF_INIT;
	struct cred in = {"registry.example.com", "me@example.com", "p\0\x01\xc3\xa9,:\"9", 9,
			  1767225600, "digitalocean"};
	struct cred out = {0};
	static const char want[] = "{\"ServerURL\":\"registry.example.com\",\"Username\":"
				   "\"me@example.com\",\"Secret\":\"p\\u0000\\u0001\xc3\xa9,:\\\"9\","
				   "\"Origin\":\"digitalocean\",\"Expires\":1767225600}\n";

	(void)state;
	assert_int_equal(write_behind_format(&in, &b), 0);
	assert_string_equal(b.data, want);
	assert_int_equal(write_behind_parse(b.data, b.len, &out), 0);
	assert_string_equal(out.server, in.server);
	assert_string_equal(out.username, in.username);
	assert_string_equal(out.origin, in.origin);
	assert_int_equal(out.secret_len, 9);
	assert_memory_equal(out.secret, in.secret, 9);
	assert_int_equal(out.expires, 1767225600);
	cred_clear(&out);
	secbuf_free(&b);
}

static void copy_empty_and_never(void **state)
{
	struct secbuf b = SECBUF_INIT;
	struct cred in = {"h", "", NULL, 0, 0, NULL}; /* no secret, no origin: a login */
	struct cred out = {0};

	(void)state;
	assert_int_equal(write_behind_format(&in, &b), 0);
	assert_string_equal(b.data, "{\"ServerURL\":\"h\",\"Username\":\"\",\"Secret\":\"\","
				    "\"Origin\":\"login\",\"Expires\":0}\n");
	assert_int_equal(write_behind_parse(b.data, b.len, &out), 0);
	assert_string_equal(out.username, "");
	assert_string_equal(out.origin, CRED_ORIGIN_LOGIN);
	assert_non_null(out.secret);
	assert_int_equal(out.secret_len, 0);
	assert_int_equal(out.expires, 0);
	cred_clear(&out);
	secbuf_free(&b);
}

static int parse_copy(const char *text, size_t len)
{
	struct cred c = {0};
	int rc = write_behind_parse(text, len, &c);

	assert_null(c.server); /* written only on success */
	return rc;
}

#define OK_TAIL ",\"Origin\":\"o\",\"Expires\":1}"

static void copy_errors(void **state)
{
	static const char *bad[] = {
		"",
		"[]",
		"null",
		"{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"s\"}",       /* store input */
		"{\"ServerURL\":\"\",\"Username\":\"u\",\"Secret\":\"s\"" OK_TAIL, /* empty server */
		"{\"ServerURL\":5,\"Username\":\"u\",\"Secret\":\"s\"" OK_TAIL,
		"{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"s\",\"Origin\":\"\",\"Expires\":1}",
		"{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"s\",\"Origin\":\"o\",\"Expires\":-1}",
		"{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"s\",\"Origin\":\"o\",\"Expires\":\"1\"}",
		"{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"s\",\"Origin\":\"o\",\"Expires\":1.5}",
		"{\"ServerURL\":\"h\",\"Username\":\"u\\u0000v\",\"Secret\":\"s\"" OK_TAIL, /* NUL */
		"{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"s\"" OK_TAIL "x",     /* trailing */
		"{\"ServerURL\":\"h\xc1\x81\",\"Username\":\"u\",\"Secret\":\"s\"" OK_TAIL, /* not UTF-8 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_copy(bad[i], strlen(bad[i])), ERR_INVALID);
		assert_null(strstr(err_msg(), "\"s\"")); /* the message never quotes the input */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copy_round_trip),
		cmocka_unit_test(copy_empty_and_never),
		cmocka_unit_test(copy_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
