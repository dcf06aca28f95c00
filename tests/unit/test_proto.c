/* Unit tests of proto.c: store input parsing, server trimming, get/list output, escaping, and
 * the write-behind copy format. */
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

/* The write-behind copy: every byte of the secret survives, expires and origin too. */
static void copy_round_trip(void **state)
{
	struct secbuf b = SECBUF_INIT;
	struct cred in = {"registry.example.com", "me@example.com", "p\0\x01\xff,:9", 7,
			  1767225600, "digitalocean"};
	struct cred out = {0};

	(void)state;
	assert_int_equal(proto_format_copy(&in, &b), 0);
	assert_int_equal(b.len, strlen("dck-copy 1\n20:registry.example.com,14:me@example.com,"
				       "12:digitalocean,7:") + 7 + strlen(",10:1767225600,\n"));
	assert_memory_equal(b.data, "dck-copy 1\n20:registry.example.com,14:me@example.com,"
				    "12:digitalocean,7:p\0\x01\xff,:9,10:1767225600,\n", b.len);
	assert_int_equal(proto_parse_copy(b.data, b.len, &out), 0);
	assert_string_equal(out.server, in.server);
	assert_string_equal(out.username, in.username);
	assert_string_equal(out.origin, in.origin);
	assert_int_equal(out.secret_len, 7);
	assert_memory_equal(out.secret, in.secret, 7);
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
	assert_int_equal(proto_format_copy(&in, &b), 0);
	assert_string_equal(b.data, "dck-copy 1\n1:h,0:,5:login,0:,1:0,\n");
	assert_int_equal(proto_parse_copy(b.data, b.len, &out), 0);
	assert_string_equal(out.username, "");
	assert_string_equal(out.origin, CRED_ORIGIN_LOGIN);
	assert_non_null(out.secret);
	assert_int_equal(out.secret_len, 0);
	assert_int_equal(out.expires, 0);
	cred_clear(&out);
	secbuf_free(&b);
}

static int parse_copy(const char *text)
{
	struct cred c = {0};
	int rc = proto_parse_copy(text, strlen(text), &c);

	assert_null(c.server); /* written only on success */
	return rc;
}

static void copy_errors(void **state)
{
	static const char *bad[] = {
		"",
		"dck-copy 2\n1:h,1:u,1:o,1:s,1:0,\n",          /* another version */
		"dck-copy 1\n1:h,1:u,1:o,1:s,1:0,",            /* no final newline */
		"dck-copy 1\n1:h,1:u,1:o,1:s,1:0,\nx",         /* trailing data */
		"dck-copy 1\n1:h,1:u,1:o,1:s,\n",              /* a field short */
		"dck-copy 1\n1:h,1:u,1:o,2:s,1:0,\n",          /* a length past its field */
		"dck-copy 1\n1:h,1:u,1:o,1:s;1:0,\n",          /* no comma */
		"dck-copy 1\n01:h,1:u,1:o,1:s,1:0,\n",         /* leading zero */
		"dck-copy 1\n:h,1:u,1:o,1:s,1:0,\n",           /* no length */
		"dck-copy 1\n9999999999:h,1:u,1:o,1:s,1:0,\n", /* absurd length */
		"dck-copy 1\n0:,1:u,1:o,1:s,1:0,\n",           /* empty server */
		"dck-copy 1\n3:h\nx,1:u,1:o,1:s,1:0,\n",       /* a server of two lines */
		"dck-copy 1\n1:h,1:u,0:,1:s,1:0,\n",           /* empty origin */
		"dck-copy 1\n1:h,1:u,1:o,1:s,2:-1,\n",         /* negative expires */
		"dck-copy 1\n1:h,1:u,1:o,1:s,2:01,\n",         /* leading zero */
		"dck-copy 1\n1:h,1:u,1:o,1:s,19:9999999999999999999,\n", /* past int64 */
		"dck-copy 1\n1:h,1:u,1:o,1:s,0:,\n",           /* empty expires */
		"{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"s\"}", /* store input is not a copy */
	};
	static const char nul[] = "dck-copy 1\n1:h,3:u\0v,1:o,1:s,1:0,\n";
	static const char ok[] = "dck-copy 1\n1:h,3:uav,1:o,1:s,1:0,\n";
	struct cred c = {0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_copy(bad[i]), ERR_INVALID);
		assert_null(strstr(err_msg(), ":s,")); /* the message never quotes the input */
	}
	/* A NUL inside the username (it becomes a C string). */
	assert_int_equal(proto_parse_copy(nul, sizeof(nul) - 1, &c), ERR_INVALID);
	assert_string_equal(err_msg(), "invalid copy: a bad server, username or origin");
	assert_null(c.server);
	assert_int_equal(proto_parse_copy(ok, sizeof(ok) - 1, &c), 0);
	cred_clear(&c);
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
		cmocka_unit_test(copy_round_trip),
		cmocka_unit_test(copy_empty_and_never),
		cmocka_unit_test(copy_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
