/* Unit tests of verbs.c over the in-memory store: which answer each outcome gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "err.h"
#include "mem_store.h"
#include "proto.h"
#include "verbs.h"

/* A store whose every call fails as a locked or absent keyring does. */
static int broken_get(struct store *s, const char *server, struct cred *out)
{
	(void)s; (void)server; (void)out;
	return err_set(ERR_UNAVAILABLE, "the keyring is locked");
}
static int broken_put(struct store *s, const struct cred *c)
{
	(void)s; (void)c;
	return err_set(ERR_UNAVAILABLE, "cannot store in the keyring: the keyring is locked");
}
static int broken_del(struct store *s, const char *server)
{
	(void)s; (void)server;
	return err_set(ERR_TIMEOUT, "the Secret Service did not answer within 3000 ms");
}
static int broken_list(struct store *s, struct cred_list *out)
{
	(void)s; (void)out;
	return err_set(ERR_UNAVAILABLE, "no D-Bus session bus");
}
static int broken_check(struct store *s, char *what, size_t size)
{
	(void)s; (void)what; (void)size;
	return err_set(ERR_UNAVAILABLE, "the keyring is locked");
}
static void broken_free(struct store *s)
{
	(void)s;
}
static struct store broken = {broken_get, broken_put, broken_del, broken_list, broken_check,
			      broken_free};

static void run(void (*verb)(struct app *, const char *, size_t, struct reply *), struct store *s,
		const char *in, const char *want_out, const char *want_diag, int want_status)
{
	struct app a = {"docker-credential-keyring", s, NULL, NULL, 0, NULL, 0};
	struct reply r = {SECBUF_INIT, "", 0};

	verb(&a, in, strlen(in), &r);
	assert_string_equal(r.out.data ? r.out.data : "", want_out);
	assert_string_equal(r.diag, want_diag);
	assert_int_equal(r.status, want_status);
	reply_clear(&r);
}

static void round_trip(void **state)
{
	struct store *s = mem_store_new();

	(void)state;
	run(verb_list, s, "", "{}\n", "", 0);
	run(verb_store, s, "{\"ServerURL\":\"r.example\",\"Username\":\"u\",\"Secret\":\"p\"}", "", "", 0);
	run(verb_get, s, "r.example", "{\"ServerURL\":\"r.example\",\"Username\":\"u\",\"Secret\":\"p\"}\n", "", 0);
	run(verb_store, s, "{\"ServerURL\":\"r.example\",\"Username\":\"v\",\"Secret\":\"q\"}", "", "", 0);
	run(verb_list, s, "unused", "{\"r.example\":\"v\"}\n", "", 0);
	run(verb_get, s, "r.example/", PROTO_NOT_FOUND "\n", "", 1);
	run(verb_erase, s, "r.example", "", "", 0);
	run(verb_get, s, "r.example", PROTO_NOT_FOUND "\n", "", 1);
	run(verb_erase, s, "r.example", "", "", 0); /* a second logout is not an error */
	store_free(s);
}

static void input_errors(void **state)
{
	struct store *s = mem_store_new();

	(void)state;
	run(verb_get, s, "", PROTO_NO_SERVER "\n", "", 1);
	run(verb_erase, s, "  ", PROTO_NO_SERVER "\n", "", 1);
	run(verb_store, s, "{\"ServerURL\":\"h\"}", PROTO_NO_USERNAME "\n", "", 1);
	run(verb_store, s, "{nope", "invalid credentials JSON: quoted object property name expected\n", "", 1);
	store_free(s);
}

static void broken_keyring(void **state)
{
	(void)state;
	run(verb_get, &broken, "r.example", PROTO_NOT_FOUND "\n", "the keyring is locked", 1);
	run(verb_list, &broken, "", "{}\n", "no D-Bus session bus", 0);
	run(verb_store, &broken, "{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"p\"}",
	    "cannot store in the keyring: the keyring is locked\n", "", 1);
	run(verb_erase, &broken, "h", "the Secret Service did not answer within 3000 ms\n", "", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(input_errors),
		cmocka_unit_test(broken_keyring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
