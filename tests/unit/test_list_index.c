/* Unit tests of list_index.c: what survives a round trip, and that broken or hostile index
 * content is "no index" rather than a crash or a wrong entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list_index.h"

#define P1 "/org/freedesktop/secrets/collection/login/1"
#define P2 "/org/freedesktop/secrets/collection/login/2"
#define P10 "/org/freedesktop/secrets/collection/login/10"

/* The attributes list_index_format emits, kept in arrays for list_index_parse. */
struct attrs {
	char *keys[64], *values[64];
	size_t n;
};

static int collect(void *ctx, const char *key, const char *value)
{
	struct attrs *a = ctx;

	assert_true(a->n < 64);
	a->keys[a->n] = strdup(key);
	a->values[a->n] = strdup(value);
	a->n++;
	return 0;
}

static void attrs_clear(struct attrs *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->keys[i]);
		free(a->values[i]);
	}
	a->n = 0;
}

static const char *value_of(const struct attrs *a, const char *key)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->keys[i], key) == 0)
			return a->values[i];
	return NULL;
}

static int parse(struct attrs *a, struct list_index *out)
{
	return list_index_parse(out, a->n, (const char *const *)a->keys, (const char *const *)a->values);
}

static struct list_index_entry entry(const char *path, const char *server, const char *user)
{
	struct list_index_entry e = {(char *)path, (char *)server, (char *)user, "login", 0, 0};

	return e;
}

/* A valid index's attributes with one extra pair (key, value) for the hostile cases. */
static int parse_with(const char *key, const char *value, struct list_index *out)
{
	const char *keys[] = {"xdg:schema", "version", "generation", P1, key};
	const char *values[] = {LIST_INDEX_SCHEMA, LIST_INDEX_VERSION, "7", "a.example|u|login|0|0",
				value};

	return list_index_parse(out, 5, keys, values);
}

static void round_trip_keeps_every_field(void **state)
{
	struct list_index ix = {0}, back = {0};
	struct list_index_entry e = {P2, "we|ird%7C.example:5000/a%b", "us|er%25", "digitalocean",
				     -1700000000, 1};
	const struct list_index_entry *got;
	struct attrs a = {0};

	(void)state;
	ix.generation = 18446744073709551615ull;
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	e = entry(P1, "plain.example.com", "");
	e.origin = "";
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	assert_int_equal(list_index_format(&ix, collect, &a), 0);
	assert_string_equal(value_of(&a, "xdg:schema"), LIST_INDEX_SCHEMA);
	assert_string_equal(value_of(&a, "version"), LIST_INDEX_VERSION);
	assert_string_equal(value_of(&a, "generation"), "18446744073709551615");
	assert_string_equal(value_of(&a, P2),
			    "we%7Cird%257C.example:5000/a%25b|us%7Cer%2525|digitalocean|-1700000000|1");
	assert_string_equal(value_of(&a, P1), "plain.example.com|||0|0");
	assert_int_equal(parse(&a, &back), 0);
	assert_int_equal(back.len, 2);
	assert_true(back.generation == 18446744073709551615ull);
	got = list_index_lookup(&back, P2);
	assert_non_null(got);
	assert_string_equal(got->server, "we|ird%7C.example:5000/a%b");
	assert_string_equal(got->username, "us|er%25");
	assert_string_equal(got->origin, "digitalocean");
	assert_true(got->expires == -1700000000);
	assert_int_equal(got->username_is_secret, 1);
	got = list_index_lookup(&back, P1);
	assert_non_null(got);
	assert_string_equal(got->origin, "");
	assert_null(list_index_lookup(&back, P10));
	attrs_clear(&a);
	list_index_clear(&ix);
	list_index_clear(&back);
}

static void unicode_and_empty_fields_survive(void **state)
{
	struct list_index ix = {0}, back = {0};
	struct list_index_entry e = entry(P1, "régistre.例え.jp", "ユーザー|名");
	struct attrs a = {0};

	(void)state;
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	e = entry(P2, "", ""); /* an item with no server is indexed too; list skips it */
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	assert_int_equal(list_index_format(&ix, collect, &a), 0);
	assert_int_equal(parse(&a, &back), 0);
	assert_string_equal(list_index_lookup(&back, P1)->username, "ユーザー|名");
	assert_string_equal(list_index_lookup(&back, P2)->server, "");
	attrs_clear(&a);
	list_index_clear(&ix);
	list_index_clear(&back);
}

static void upsert_replaces_and_keeps_order(void **state)
{
	struct list_index ix = {0};
	struct list_index_entry e;

	(void)state;
	e = entry(P2, "b.example", "u");
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	e = entry(P10, "c.example", "u");
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	e = entry(P1, "a.example", "u");
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	e = entry(P2, "b2.example", "v");
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	assert_int_equal(ix.len, 3);
	assert_string_equal(ix.entries[0].path, P1);
	assert_string_equal(ix.entries[1].path, P10); /* strcmp order: "1" < "10" < "2" */
	assert_string_equal(ix.entries[2].path, P2);
	assert_string_equal(list_index_lookup(&ix, P2)->server, "b2.example");
	assert_string_equal(list_index_lookup(&ix, P2)->username, "v");
	e = entry("not a path", "x", "y");
	assert_int_equal(list_index_upsert(&ix, &e), ERR_INVALID);
	assert_int_equal(ix.len, 3);
	list_index_clear(&ix);
}

static void remove_by_server_and_by_path(void **state)
{
	struct list_index ix = {0};
	struct list_index_entry e;

	(void)state;
	e = entry(P1, "dup.example", "a");
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	e = entry(P10, "other.example", "a");
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	e = entry(P2, "dup.example", "b");
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	assert_int_equal(list_index_remove_server(&ix, "dup.example"), 2);
	assert_int_equal(ix.len, 1);
	assert_non_null(list_index_lookup(&ix, P10));
	assert_null(list_index_lookup(&ix, P1));
	assert_int_equal(list_index_remove_server(&ix, "dup.example"), 0);
	assert_int_equal(list_index_remove_path(&ix, P1), 0);
	assert_int_equal(list_index_remove_path(&ix, P10), 1);
	assert_int_equal(ix.len, 0);
	list_index_clear(&ix);
}

static void too_long_becomes_a_placeholder(void **state)
{
	struct list_index ix = {0}, back = {0};
	char *big = malloc(LIST_INDEX_MAX_VALUE + 1);
	struct list_index_entry e;
	struct attrs a = {0};

	(void)state;
	memset(big, 'x', LIST_INDEX_MAX_VALUE);
	big[LIST_INDEX_MAX_VALUE] = '\0';
	e = entry(P1, "big.example", big);
	assert_int_equal(list_index_upsert(&ix, &e), 0);
	assert_non_null(list_index_lookup(&ix, P1));
	assert_null(list_index_lookup(&ix, P1)->server);
	assert_int_equal(list_index_remove_server(&ix, "big.example"), 0); /* nothing to match */
	assert_int_equal(list_index_format(&ix, collect, &a), 0);
	assert_string_equal(value_of(&a, P1), "");
	assert_int_equal(parse(&a, &back), 0);
	assert_non_null(list_index_lookup(&back, P1));
	assert_null(list_index_lookup(&back, P1)->server);
	attrs_clear(&a);
	list_index_clear(&ix);
	list_index_clear(&back);
	free(big);
}

static void hostile_content_is_no_index(void **state)
{
	static const char *const bad_values[] = {
		"a|u|login|0",           /* four fields */
		"a|u|login|0|0|x",       /* six */
		"a|u|login|0|2",         /* flag */
		"a|u|login|0|",          /* empty flag */
		"a|u|login||0",          /* empty expires */
		"a|u|login|12x|0",       /* expires not a number */
		"a|u|login|-|0",
		"a|u|login|99999999999999999999|0", /* overflows int64 */
		"a%|u|login|0|0",        /* escapes */
		"a%2|u|login|0|0",
		"a%41|u|login|0|0",
		"a%7c|u|login|0|0",      /* lower case is not what we write */
		"a|u%|login|0|0",
		"a|u|login%2|0|0",
	};
	struct list_index ix = {0};
	char *huge;
	size_t i;

	(void)state;
	assert_int_equal(parse_with("ignored-by-keepassxc", "x", &ix), 0); /* the valid baseline */
	assert_int_equal(ix.len, 1);
	list_index_clear(&ix);
	for (i = 0; i < sizeof(bad_values) / sizeof(*bad_values); i++) {
		assert_int_equal(parse_with(P2, bad_values[i], &ix), ERR_INVALID);
		assert_int_equal(ix.len, 0);
	}
	assert_int_equal(parse_with(P1, "a|u|login|0|0", &ix), ERR_INVALID); /* duplicate path */
	assert_int_equal(parse_with("/not a path", "a|u|login|0|0", &ix), ERR_INVALID);
	assert_int_equal(parse_with("version", "2", &ix), ERR_INVALID);
	assert_int_equal(parse_with("xdg:schema", "io.github.docker-credential-keyring", &ix),
			 ERR_INVALID);
	assert_int_equal(parse_with("generation", "-1", &ix), ERR_INVALID);
	assert_int_equal(parse_with("generation", "18446744073709551616", &ix), ERR_INVALID);
	assert_int_equal(parse_with("generation", "", &ix), ERR_INVALID);
	huge = malloc(LIST_INDEX_MAX_VALUE + 2);
	memset(huge, 'a', LIST_INDEX_MAX_VALUE + 1);
	memcpy(huge + LIST_INDEX_MAX_VALUE + 1 - 8, "|u|l|0|0", 8);
	huge[LIST_INDEX_MAX_VALUE + 1] = '\0';
	assert_int_equal(parse_with(P2, huge, &ix), ERR_INVALID);
	free(huge);
	huge = malloc(LIST_INDEX_MAX_PATH + 2);
	memset(huge, 'a', LIST_INDEX_MAX_PATH + 1);
	huge[0] = '/';
	huge[LIST_INDEX_MAX_PATH + 1] = '\0';
	assert_int_equal(parse_with(huge, "a|u|login|0|0", &ix), ERR_INVALID);
	free(huge);
}

static void a_header_is_required(void **state)
{
	const char *keys[] = {"xdg:schema", "version", "generation"};
	const char *values[] = {LIST_INDEX_SCHEMA, LIST_INDEX_VERSION, "1"};
	struct list_index ix = {0};
	size_t skip;

	(void)state;
	assert_int_equal(list_index_parse(&ix, 3, keys, values), 0);
	assert_int_equal(ix.len, 0);
	assert_true(ix.generation == 1);
	list_index_clear(&ix);
	for (skip = 0; skip < 3; skip++) {
		const char *k[2], *v[2];
		size_t i, n = 0;

		for (i = 0; i < 3; i++)
			if (i != skip) {
				k[n] = keys[i];
				v[n++] = values[i];
			}
		assert_int_equal(list_index_parse(&ix, 2, k, v), ERR_INVALID);
	}
	assert_int_equal(list_index_parse(&ix, 0, keys, values), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_keeps_every_field),
		cmocka_unit_test(unicode_and_empty_fields_survive),
		cmocka_unit_test(upsert_replaces_and_keeps_order),
		cmocka_unit_test(remove_by_server_and_by_path),
		cmocka_unit_test(too_long_becomes_a_placeholder),
		cmocka_unit_test(hostile_content_is_no_index),
		cmocka_unit_test(a_header_is_required),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
