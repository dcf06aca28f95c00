/* Unit tests of secmem.c: wiped buffers, input caps, and the redaction of remembered secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "secmem.h"

static void redacts_every_occurrence(void **state)
{
	char line[128] = "HTTP 401: token dop_v1_abcdef0123 refused; again dop_v1_abcdef0123.";

	(void)state;
	secmem_remember("dop_v1_abcdef0123", 17);
	secmem_redact(line);
	assert_string_equal(line, "HTTP 401: token [redacted] refused; again [redacted].");
}

static void short_secrets_become_stars(void **state)
{
	char line[64] = "user pa55wd is wrong";

	(void)state;
	secmem_remember("pa55wd", 6);
	secmem_redact(line);
	assert_string_equal(line, "user *** is wrong");
}

static void tiny_secrets_are_not_remembered(void **state)
{
	char line[64] = "the password is p";

	(void)state;
	secmem_remember("p", 1);
	secmem_redact(line);
	assert_string_equal(line, "the password is p"); /* "p" would match every word */
}

static void err_set_redacts(void **state)
{
	(void)state;
	secmem_remember("hunter2-secret", 14);
	err_set(ERR_DENIED, "the server said: bad key hunter2-secret");
	assert_string_equal(err_msg(), "the server said: bad key [redacted]");
	err_wrap(ERR_DENIED, "hunter2-secret");
	assert_string_equal(err_msg(), "[redacted]: the server said: bad key [redacted]");
}

/* Redaction comes before anything that could change or cut the secret: control characters
 * becoming spaces, and the message's length limit. */
static void redaction_comes_first(void **state)
{
	char pad[1100];

	(void)state;
	secmem_remember("pass\tword-123", 13);
	err_set(ERR_DENIED, "the server said: %s", "pass\tword-123");
	assert_string_equal(err_msg(), "the server said: [redacted]");
	secmem_remember("SECRETTOKEN-abcdef", 18);
	memset(pad, 'x', 1015);
	pad[1015] = '\0';
	err_set(ERR_DENIED, "%s%s", pad, "SECRETTOKEN-abcdef");
	assert_null(strstr(err_msg(), "SECRET"));
	assert_int_equal(strlen(err_msg()), 1023);
}

/* A message cut to fit is cut between characters: the line stays UTF-8. */
static void the_cut_keeps_characters_whole(void **state)
{
	char pad[1100];

	(void)state;
	memset(pad, 'x', 1022);
	pad[1022] = '\0';
	err_set(ERR_DENIED, "%s%s", pad, "\xc3\xa9\xc3\xa9"); /* "é" at bytes 1022-1023 of 1023 */
	assert_int_equal(strlen(err_msg()), 1022);
	assert_int_equal(err_msg()[1021], 'x');
	pad[1021] = '\0'; /* the limit falls between two characters: nothing more is dropped */
	err_set(ERR_DENIED, "%s%s", pad, "\xc3\xa9\xc3\xa9");
	assert_int_equal(strlen(err_msg()), 1023);
	assert_memory_equal(err_msg() + 1021, "\xc3\xa9", 2);
}

/* A byte that starts no character (a %.*s cut inside one, a server's garbage) becomes '?'. */
static void a_line_is_always_utf8(void **state)
{
	char pad[1100];

	(void)state;
	err_set(ERR_DENIED, "cut: %.2s; stray: %s; overlong: %s", "a\xc3\xa9", "\xa9x", "\xc0\xaf");
	assert_string_equal(err_msg(), "cut: a?; stray: ?x; overlong: ??");
	err_set(ERR_DENIED, "kept: %s", "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x91");
	assert_string_equal(err_msg(), "kept: caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x91");
	memset(pad, 'x', 1018);
	pad[1018] = '\0';
	err_set(ERR_DENIED, "%s%s", pad, "\xc3\xa9\xc3\xa9"); /* "é" at bytes 1018-1019 */
	err_wrap(ERR_DENIED, "ab"); /* "ab: " + the old message: room for 1019 of its bytes */
	assert_int_equal(strlen(err_msg()), 1022);
	assert_int_equal(err_msg()[1021], 'x');
}

static void a_secret_like_the_placeholder_cannot_hang(void **state)
{
	char line[128] = "a [redacted] and [redacted]xx";

	(void)state;
	secmem_remember("[redacted]", 10); /* replaced by itself: must move on, not loop */
	secmem_remember("cted]x", 6);      /* matches inside an earlier replacement */
	secmem_redact(line);
	assert_string_equal(line, "a [redacted] and [reda***x"); /* terminated, no "cted]x" left */
}

static void read_fd_caps_input(void **state)
{
	struct secbuf b = SECBUF_INIT;
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "0123456789", 10), 10);
	close(fds[1]);
	assert_int_equal(secbuf_read_fd(&b, fds[0], 9), ERR_INVALID);
	assert_string_equal(err_msg(), "input is larger than the limit of 9 bytes");
	assert_null(b.data);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redacts_every_occurrence),
		cmocka_unit_test(short_secrets_become_stars),
		cmocka_unit_test(tiny_secrets_are_not_remembered),
		cmocka_unit_test(err_set_redacts),
		cmocka_unit_test(redaction_comes_first),
		cmocka_unit_test(the_cut_keeps_characters_whole),
		cmocka_unit_test(a_line_is_always_utf8),
		cmocka_unit_test(a_secret_like_the_placeholder_cannot_hang),
		cmocka_unit_test(read_fd_caps_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
