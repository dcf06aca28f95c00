/* Unit tests of proto.c: store input parsing, server trimming, get/list output, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto.h"

static int parse(const char *json, struct cred *c)
{
	memset(c, 0, sizeof(*c));
	return proto_parse_store(json, strlen(json), c);
}

static void store_plain(void **state)
{
	struct cred c;

	(void)state;
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"s\"}", &c), 0);
	assert_string_equal(c.server, "h");
	assert_string_equal(c.username, "u");
	assert_string_equal(c.secret, "s");
	assert_int_equal(c.secret_len, 1);
	assert_string_equal(c.origin, CRED_ORIGIN_LOGIN);
	cred_clear(&c);
}

static void store_any_case_unknown_keys_pretty(void **state)
{
	struct cred c;

	(void)state;
	assert_int_equal(parse("{\n  \"serverurl\": \"h\",\n  \"USERNAME\": \"u\",\n"
			       "  \"sEcReT\": \"s\",\n  \"Extra\": {\"a\": [1, 2]}\n}\n", &c), 0);
	assert_string_equal(c.server, "h");
	assert_string_equal(c.username, "u");
	assert_string_equal(c.secret, "s");
	cred_clear(&c);
}

static void store_escapes_and_nul(void **state)
{
	struct cred c;

	(void)state;
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":\"<token>\","
			       "\"Secret\":\"a\\u0000b\\\"\\\\\\n\\u00e9\\ud83d\\ude00\"}", &c), 0);
	assert_string_equal(c.username, "<token>");
	assert_int_equal(c.secret_len, 12);
	assert_memory_equal(c.secret, "a\0b\"\\\n\xc3\xa9\xf0\x9f\x98\x80", 12);
	cred_clear(&c);
}

static void store_empty_secret_ok(void **state)
{
	struct cred c;

	(void)state;
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"\"}", &c), 0);
	assert_int_equal(c.secret_len, 0);
	cred_clear(&c);
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":\"u\"}", &c), 0);
	assert_int_equal(c.secret_len, 0);
	cred_clear(&c);
}

static void store_errors(void **state)
{
	struct cred c;

	(void)state;
	assert_int_equal(parse("{\"ServerURL\":\"\",\"Username\":\"u\",\"Secret\":\"s\"}", &c), ERR_INVALID);
	assert_string_equal(err_msg(), PROTO_NO_SERVER);
	assert_int_equal(parse("{\"Username\":\"u\",\"Secret\":\"s\"}", &c), ERR_INVALID);
	assert_string_equal(err_msg(), PROTO_NO_SERVER);
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":\"\",\"Secret\":\"s\"}", &c), ERR_INVALID);
	assert_string_equal(err_msg(), PROTO_NO_USERNAME);
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":null,\"Secret\":\"s\"}", &c), ERR_INVALID);
	assert_string_equal(err_msg(), PROTO_NO_USERNAME);
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":5}", &c), ERR_INVALID);
	assert_string_equal(err_msg(), "invalid credentials JSON: Username must be a string");
	assert_int_equal(parse("{bad", &c), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "invalid credentials JSON"));
	assert_int_equal(parse("{\"ServerURL\":\"h\"", &c), ERR_INVALID);
	assert_string_equal(err_msg(), "invalid credentials JSON: unexpected end of input");
	assert_int_equal(parse("", &c), ERR_INVALID);
	assert_int_equal(parse("[1]", &c), ERR_INVALID);
	assert_string_equal(err_msg(), "invalid credentials JSON: expected an object, got array");
	assert_int_equal(parse("null", &c), ERR_INVALID);
	assert_string_equal(err_msg(), "invalid credentials JSON: expected an object, got null");
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":\"u\"} x", &c), ERR_INVALID);
	assert_string_equal(err_msg(), "invalid credentials JSON: unexpected character");
	assert_int_equal(parse("{\"ServerURL\":\"h\\nx\",\"Username\":\"u\"}", &c), ERR_INVALID);
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":\"\\xff\"}", &c), ERR_INVALID);
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":\"u\\u0000v\"}", &c), ERR_INVALID);
	/* Invalid UTF-8 bytes are refused, not stored half-decoded. */
	assert_int_equal(parse("{\"ServerURL\":\"h\",\"Username\":\"\xff\"}", &c), ERR_INVALID);
	assert_null(c.server);
}

static void server_trim(void **state)
{
	char *s = NULL;

	(void)state;
	assert_int_equal(proto_parse_server(" \t reg.example.com:5000 \r\n", 25, &s), 0);
	assert_string_equal(s, "reg.example.com:5000");
	free(s);
	assert_int_equal(proto_parse_server("https://index.docker.io/v1/", 27, &s), 0);
	assert_string_equal(s, "https://index.docker.io/v1/");
	free(s);
	assert_int_equal(proto_parse_server(" \n", 2, &s), ERR_INVALID);
	assert_string_equal(err_msg(), PROTO_NO_SERVER);
	assert_int_equal(proto_parse_server("", 0, &s), ERR_INVALID);
	assert_int_equal(proto_parse_server("a\0b", 3, &s), ERR_INVALID);
	assert_int_equal(proto_parse_server("a\nb", 3, &s), ERR_INVALID);
}

static void get_format(void **state)
{
	struct secbuf b = SECBUF_INIT;
	struct cred c = {"h", "u\"", "p\0\x01\xc3\xa9\xff", 6, 0, NULL};

	(void)state;
	assert_int_equal(proto_format_get(&c, &b), 0);
	assert_string_equal(b.data, "{\"ServerURL\":\"h\",\"Username\":\"u\\\"\","
				    "\"Secret\":\"p\\u0000\\u0001\xc3\xa9\\ufffd\"}\n");
	secbuf_free(&b);
}

static void list_format(void **state)
{
	struct secbuf b = SECBUF_INIT;
	struct cred items[3] = {
		{"z.example", "zed", NULL, 0, 0, NULL},
		{"https://index.docker.io/v1/", "<token>", NULL, 0, 0, NULL},
		{"a.example:5000", "al\\", NULL, 0, 0, NULL},
	};
	struct cred_list l = {items, 3}, empty = {NULL, 0};

	(void)state;
	assert_int_equal(proto_format_list(&empty, &b), 0);
	assert_string_equal(b.data, "{}\n");
	secbuf_free(&b);
	assert_int_equal(proto_format_list(&l, &b), 0);
	assert_string_equal(b.data, "{\"a.example:5000\":\"al\\\\\",\"https://index.docker.io/v1/\":"
				    "\"<token>\",\"z.example\":\"zed\"}\n");
	secbuf_free(&b);
}

static void big_secret(void **state)
{
	size_t n = 1024 * 1024;
	struct secbuf in = SECBUF_INIT, out = SECBUF_INIT;
	struct cred c = {0};
	char *secret = malloc(n);
	size_t i;

	(void)state;
	for (i = 0; i < n; i++)
		secret[i] = (char)('a' + i % 26);
	secbuf_append_str(&in, "{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"");
	secbuf_append(&in, secret, n);
	secbuf_append_str(&in, "\"}");
	assert_int_equal(proto_parse_store(in.data, in.len, &c), 0);
	assert_int_equal(c.secret_len, n);
	assert_memory_equal(c.secret, secret, n);
	assert_int_equal(proto_format_get(&c, &out), 0);
	assert_int_equal(out.len, n + strlen("{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"\"}\n"));
	cred_clear(&c);
	secbuf_free(&in);
	secbuf_free(&out);
	free(secret);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(store_plain),
		cmocka_unit_test(store_any_case_unknown_keys_pretty),
		cmocka_unit_test(store_escapes_and_nul),
		cmocka_unit_test(store_empty_secret_ok),
		cmocka_unit_test(store_errors),
		cmocka_unit_test(server_trim),
		cmocka_unit_test(get_format),
		cmocka_unit_test(list_format),
		cmocka_unit_test(big_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
