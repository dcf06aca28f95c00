/* Unit tests of creds.c: one test per row of the policy table in source.h, against two
 * in-memory stores (the keyring and the copies store, app.h) and a scripted source, so every
 * store call and every fetch is observable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "creds.h"
#include "err.h"
#include "mem_store.h"
#include "secmem.h"

#define HOST "registry.example.com"
#define LIFE 3600

/* ---- a scripted source --------------------------------------------------------------------- */

struct fake {
	struct source base;
	int fetches, fetch_rc, erases, stores;
	int64_t refresh_before;
	char password[32];
};

static int fake_serves(struct source *s, const char *server)
{
	(void)s;
	return strcmp(server, HOST) == 0;
}

static int fake_fetch(struct source *s, const char *server, struct cred *out)
{
	struct fake *f = (struct fake *)s;
	struct cred c = {0};

	f->fetches++;
	if (f->fetch_rc)
		return err_set(f->fetch_rc, "the source failed");
	snprintf(f->password, sizeof(f->password), "minted-%d", f->fetches);
	c.server = strdup(server);
	c.username = strdup("robot");
	c.secret = secmem_dup(f->password, strlen(f->password));
	c.secret_len = strlen(f->password);
	c.origin = strdup("fake");
	c.expires = (int64_t)time(NULL) + LIFE;
	*out = c;
	return 0;
}

static int64_t fake_refresh_before(struct source *s, const struct cred *c)
{
	(void)c;
	return ((struct fake *)s)->refresh_before;
}

static int fake_on_store(struct source *s, const struct cred *c)
{
	(void)c;
	((struct fake *)s)->stores++;
	return 0;
}

static int fake_on_erase(struct source *s, const char *server, const struct cred *cached)
{
	(void)server;
	(void)cached;
	((struct fake *)s)->erases++;
	return 0;
}

/* ---- a keyring that does not answer --------------------------------------------------------- */

static int silent_get(struct store *s, const char *server, struct cred *out)
{
	(void)s, (void)server, (void)out;
	return err_set(ERR_TIMEOUT, "the Secret Service did not answer");
}

static int silent_put(struct store *s, const struct cred *c)
{
	(void)s, (void)c;
	return err_set(ERR_TIMEOUT, "the Secret Service did not answer");
}

static int silent_del(struct store *s, const char *server)
{
	(void)s, (void)server;
	return err_set(ERR_TIMEOUT, "the Secret Service did not answer");
}

static int silent_list(struct store *s, struct cred_list *out)
{
	(void)s, (void)out;
	return err_set(ERR_TIMEOUT, "the Secret Service did not answer");
}

static int silent_check(struct store *s, char *what, size_t n)
{
	(void)s, (void)what, (void)n;
	return ERR_TIMEOUT;
}

static void silent_free(struct store *s)
{
	(void)s;
}

static struct store silent = {silent_get, silent_put, silent_del, silent_list, silent_check,
			      silent_free};

/* ---- the world of one test -------------------------------------------------------------------- */

struct world {
	struct fake src;
	struct source *sources[1];
	struct app a;
};

static struct world *world_new(int keyring_answers)
{
	struct world *w = calloc(1, sizeof(*w));

	w->src.base.name = "fake";
	w->src.base.serves = fake_serves;
	w->src.base.fetch = fake_fetch;
	w->src.base.refresh_before = fake_refresh_before;
	w->src.base.on_store = fake_on_store;
	w->src.base.on_erase = fake_on_erase;
	w->src.refresh_before = LIFE / 2;
	w->sources[0] = &w->src.base;
	w->a.prog = "docker-credential-keyring";
	w->a.store = keyring_answers ? mem_store_new() : &silent;
	w->a.copies = mem_store_new();
	w->a.sources = w->sources;
	w->a.nsources = 1;
	w->a.write_behind = 0; /* a child process has no place in a unit test */
	return w;
}

static void world_free(struct world *w)
{
	store_free(w->a.store);
	store_free(w->a.copies);
	free(w);
}

static void put(struct store *st, const char *origin, const char *user, const char *secret,
		int64_t expires)
{
	struct cred c = {(char *)HOST, (char *)user, (char *)secret, strlen(secret), expires,
			 (char *)origin};

	assert_int_equal(st->put(st, &c), 0);
}

/* get HOST: its rc, and on success that the answer is user/secret. */
static void want_get(struct world *w, int rc, const char *user, const char *secret)
{
	struct cred c = {0};

	assert_int_equal(creds_get(&w->a, HOST, &c), rc);
	if (!rc) {
		assert_string_equal(c.username, user);
		assert_int_equal(c.secret_len, strlen(secret));
		assert_memory_equal(c.secret, secret, c.secret_len);
	} else {
		assert_null(c.server);
	}
	cred_clear(&c);
}

/* What st holds for HOST: its secret, or NULL. */
static char *held(struct store *st)
{
	struct cred c = {0};
	char *s = NULL;

	if (st->get(st, HOST, &c) == 0)
		s = strdup(c.secret);
	cred_clear(&c);
	return s;
}

/* ---- the rows of source.h's table ------------------------------------------------------------- */

static void a_login_wins_and_the_source_is_not_asked(void **state)
{
	struct world *w = world_new(1);

	(void)state;
	put(w->a.store, CRED_ORIGIN_LOGIN, "me", "mine", 0);
	put(w->a.copies, "fake", "robot", "a-copy", (int64_t)time(NULL) + LIFE);
	want_get(w, 0, "me", "mine");
	assert_int_equal(w->src.fetches, 0);
	world_free(w);
}

static void a_fresh_copy_answers_without_a_request(void **state)
{
	struct world *w = world_new(1);

	(void)state;
	put(w->a.store, "fake", "robot", "fresh", (int64_t)time(NULL) + LIFE);
	want_get(w, 0, "robot", "fresh");
	assert_int_equal(w->src.fetches, 0);
	world_free(w);
}

static void a_copy_due_for_refresh_is_fetched_again(void **state)
{
	struct world *w = world_new(1);
	char *kept;

	(void)state;
	put(w->a.store, "fake", "robot", "old", (int64_t)time(NULL) + LIFE / 4); /* past half */
	want_get(w, 0, "robot", "minted-1");
	assert_int_equal(w->src.fetches, 1);
	kept = held(w->a.store); /* the new copy replaced the old one in the keyring */
	assert_string_equal(kept, "minted-1");
	free(kept);
	world_free(w);
}

static void a_due_copy_is_served_while_the_source_fails(void **state)
{
	struct world *w = world_new(1);

	(void)state;
	put(w->a.store, "fake", "robot", "still-valid", (int64_t)time(NULL) + LIFE / 4);
	w->src.fetch_rc = ERR_UNAVAILABLE;
	want_get(w, 0, "robot", "still-valid");
	assert_int_equal(w->src.fetches, 1);
	world_free(w);
}

static void nothing_cached_fetches_and_keeps_the_copy(void **state)
{
	struct world *w = world_new(1);
	char *kept;

	(void)state;
	want_get(w, 0, "robot", "minted-1");
	want_get(w, 0, "robot", "minted-1"); /* the copy answers the second */
	assert_int_equal(w->src.fetches, 1);
	kept = held(w->a.store);
	assert_string_equal(kept, "minted-1");
	free(kept);
	assert_null(held(w->a.copies)); /* the keyring kept it: nothing in the copies store */
	world_free(w);
}

static void nothing_cached_and_the_source_fails_is_not_found(void **state)
{
	struct world *w = world_new(1);

	(void)state;
	w->src.fetch_rc = ERR_DENIED;
	want_get(w, ERR_DENIED, NULL, NULL);
	w->src.fetch_rc = 0;
	put(w->a.store, "fake", "robot", "expired", (int64_t)time(NULL) - 1);
	w->src.fetch_rc = ERR_UNAVAILABLE;
	want_get(w, ERR_UNAVAILABLE, NULL, NULL); /* an expired copy is never served */
	world_free(w);
}

static void a_keyring_that_does_not_answer_keeps_the_copy_apart(void **state)
{
	struct world *w = world_new(0);
	char *kept;

	(void)state;
	want_get(w, 0, "robot", "minted-1");
	kept = held(w->a.copies); /* never in a keyring that may hold the user's login */
	assert_string_equal(kept, "minted-1");
	free(kept);
	want_get(w, 0, "robot", "minted-1"); /* one fetch per lifetime, not per get */
	assert_int_equal(w->src.fetches, 1);
	world_free(w);
}

static void store_and_erase_change_the_keyring_then_tell_the_source(void **state)
{
	struct world *w = world_new(1);
	struct cred c = {(char *)HOST, "me", "pw", 2, 0, (char *)CRED_ORIGIN_LOGIN};
	char *kept;

	(void)state;
	assert_int_equal(creds_store(&w->a, &c), 0);
	assert_int_equal(w->src.stores, 1);
	kept = held(w->a.store);
	assert_string_equal(kept, "pw");
	free(kept);
	put(w->a.copies, "fake", "robot", "a-copy", (int64_t)time(NULL) + LIFE);
	assert_int_equal(creds_erase(&w->a, HOST), 0);
	assert_int_equal(w->src.erases, 1);
	assert_null(held(w->a.store));
	assert_null(held(w->a.copies)); /* the user logged out: the copy goes too */
	world_free(w);
}

static void a_server_no_source_serves_is_the_keyrings_alone(void **state)
{
	struct world *w = world_new(1);
	struct cred c = {0};

	(void)state;
	assert_int_equal(creds_get(&w->a, "other.example", &c), ERR_NOTFOUND);
	assert_int_equal(w->src.fetches, 0);
	assert_int_equal(creds_get(&w->a, SOURCE_RESERVED_PREFIX "x", &c), ERR_INVALID);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_login_wins_and_the_source_is_not_asked),
		cmocka_unit_test(a_fresh_copy_answers_without_a_request),
		cmocka_unit_test(a_copy_due_for_refresh_is_fetched_again),
		cmocka_unit_test(a_due_copy_is_served_while_the_source_fails),
		cmocka_unit_test(nothing_cached_fetches_and_keeps_the_copy),
		cmocka_unit_test(nothing_cached_and_the_source_fails_is_not_found),
		cmocka_unit_test(a_keyring_that_does_not_answer_keeps_the_copy_apart),
		cmocka_unit_test(store_and_erase_change_the_keyring_then_tell_the_source),
		cmocka_unit_test(a_server_no_source_serves_is_the_keyrings_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
