/* Unit tests of the rules every part shares: registry hosts (host.h), API tokens (token.h),
 * base64 (base64.h) and the capped regular-file read (fdio.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "err.h"
#include "fdio.h"
#include "host.h"
#include "token.h"

static void host_of_drops_scheme_user_and_path(void **state)
{
	static const char *const cases[][2] = {
		{"https://Registry.Example.com/v2/", "registry.example.com"},
		{"http://u:p@host:5000/x?y#z", "host:5000"},
		{"docker+ssh://HOST", "host"},
		{"registry.digitalocean.com", "registry.digitalocean.com"},
		{"[::1]:5000/v1/", "[::1]:5000"},
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(host_of(cases[i][0], out, sizeof(out)), 0);
		assert_string_equal(out, cases[i][1]);
	}
	assert_int_equal(host_of("https:///v2/", out, sizeof(out)), -1);      /* no host */
	assert_int_equal(host_of("a b.example", out, sizeof(out)), -1);      /* a space */
	assert_int_equal(host_of("evil\"host", out, sizeof(out)), -1);       /* a quote */
	assert_int_equal(host_of("abcdefghij.example", out, 10), -1);         /* too long */
}

static void hub_has_four_names(void **state)
{
	(void)state;
	assert_true(host_is_hub("docker.io"));
	assert_true(host_is_hub("Index.Docker.IO"));
	assert_true(host_is_hub("registry-1.docker.io"));
	assert_true(host_is_hub("registry.hub.docker.com"));
	assert_false(host_is_hub("docker.io:443"));
	assert_false(host_is_hub("hub.example"));
}

static void valid_hosts_follow_docker_grammar(void **state)
{
	static const char *const good[] = {"localhost", "a.b-c.d", "host:5000", "[::1]", "[fe80::1]:443",
					   "1.2.3.4:65535", "Registry.Example"};
	static const char *const bad[] = {"", "-a.b", "a-.b", "a..b", ".a", "a.", "a_b", "host:",
					  "host:0", "host:65536", "host:123456", "host:5x", "[]",
					  "[::g]", "[::1", "a b", "a/b"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(host_is_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(host_is_valid(bad[i], strlen(bad[i])));
	assert_false(host_is_valid("a\0b", 3)); /* every byte counts */
}

static void tokens_are_trimmed_and_checked(void **state)
{
	const char *p = " \tdop_v1_abc\r\n";
	size_t n = strlen(p);

	(void)state;
	assert_int_equal(token_trim(&p, &n, 64), TOKEN_OK);
	assert_int_equal(n, 10);
	assert_memory_equal(p, "dop_v1_abc", 10);
	p = " \n";
	n = 2;
	assert_int_equal(token_trim(&p, &n, 64), TOKEN_EMPTY);
	p = "abcdef";
	n = 6;
	assert_int_equal(token_trim(&p, &n, 5), TOKEN_LONG);
	p = "ab cd";
	n = 5;
	assert_int_equal(token_trim(&p, &n, 64), TOKEN_CHARS);
	p = "ab\0";
	n = 3; /* a NUL is no white space: it is refused, not trimmed */
	assert_int_equal(token_trim(&p, &n, 64), TOKEN_CHARS);
	p = "caf\xc3\xa9";
	n = 5;
	assert_int_equal(token_trim(&p, &n, 64), TOKEN_CHARS);
}

static void base64_round_trips(void **state)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	struct secbuf b = SECBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_int_equal(base64_encode(&b, plain[i], strlen(plain[i])), 0);
		assert_int_equal(b.len, strlen(coded[i]));
		assert_memory_equal(b.len ? b.data : "", coded[i], b.len);
		secbuf_free(&b);
		assert_int_equal(base64_decode(&b, coded[i], strlen(coded[i])), 0);
		assert_int_equal(b.len, strlen(plain[i]));
		assert_memory_equal(b.len ? b.data : "", plain[i], b.len);
		secbuf_free(&b);
	}
	assert_int_equal(base64_decode(&b, "Zm9vYg", 6), 0); /* padding left out */
	assert_memory_equal(b.data, "foob", 4);
	secbuf_free(&b);
	assert_int_equal(base64_decode(&b, "Zm9v\nA==", 8), ERR_INVALID); /* no whitespace */
	assert_int_equal(base64_decode(&b, "Zm=vYg==", 8), ERR_INVALID);  /* '=' only at the end */
	assert_int_equal(base64_decode(&b, "Zm9vY", 5), ERR_INVALID);
	assert_int_equal(base64_decode(&b, "Zm\0v", 4), ERR_INVALID);
	secbuf_free(&b);
}

static void read_regular_refuses_what_could_hang(void **state)
{
	char dir[] = "/tmp/test_rules.XXXXXX", path[64], fifo[64];
	struct secbuf b = SECBUF_INIT;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("0123456789", f);
	fclose(f);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(fdio_read_regular(path, 0, 10, &b), 0);
	assert_int_equal(b.len, 10);
	secbuf_free(&b);
	assert_int_equal(fdio_read_regular(path, 0, 9, &b), EFBIG);
	assert_int_equal(fdio_read_regular(fifo, 0, 10, &b), EINVAL); /* at once, no writer needed */
	assert_int_equal(fdio_read_regular(dir, 0, 10, &b), EINVAL);
	assert_int_equal(fdio_read_regular("/nonexistent/x", 0, 10, &b), ENOENT);
	assert_null(b.data);
	unlink(path);
	unlink(fifo);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_of_drops_scheme_user_and_path),
		cmocka_unit_test(hub_has_four_names),
		cmocka_unit_test(valid_hosts_follow_docker_grammar),
		cmocka_unit_test(tokens_are_trimmed_and_checked),
		cmocka_unit_test(base64_round_trips),
		cmocka_unit_test(read_regular_refuses_what_could_hang),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
