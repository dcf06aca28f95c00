/* fuzz_list_index: libFuzzer harness for the list index's content (list_index.h), which any
 * program on the session bus can write.
 *
 * Input: lines "key<TAB>value" (a NUL ends the input: D-Bus strings hold none). list_index_parse
 * must fail with a one-line message or give an index that formats to attributes it reads back
 * the same, with every value within LIST_INDEX_MAX_VALUE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list_index.h"

#define MAX_ATTRS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct attrs {
	char *keys[MAX_ATTRS + 3], *values[MAX_ATTRS + 3];
	size_t n;
};

static int collect(void *ctx, const char *key, const char *value)
{
	struct attrs *a = ctx;

	if (strlen(value) > LIST_INDEX_MAX_VALUE || a->n >= MAX_ATTRS + 3)
		abort();
	a->keys[a->n] = strdup(key);
	a->values[a->n++] = strdup(value);
	return 0;
}

static int same_entry(const struct list_index_entry *a, const struct list_index_entry *b)
{
	if (strcmp(a->path, b->path) || !a->server != !b->server)
		return 0;
	if (!a->server)
		return 1;
	return !strcmp(a->server, b->server) && !strcmp(a->username, b->username) &&
	       !strcmp(a->origin, b->origin) && a->expires == b->expires &&
	       a->username_is_secret == b->username_is_secret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size), *line, *save = NULL, *tab;
	const char *keys[MAX_ATTRS], *values[MAX_ATTRS];
	struct list_index ix = {0}, back = {0};
	struct attrs out = {0};
	size_t n = 0, i;

	if (!text)
		return 0;
	for (line = strtok_r(text, "\n", &save); line && n < MAX_ATTRS;
	     line = strtok_r(NULL, "\n", &save)) {
		tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		keys[n] = line;
		values[n++] = tab + 1;
	}
	if (list_index_parse(&ix, n, keys, values)) {
		if (!err_msg()[0] || strchr(err_msg(), '\n') || ix.len || ix.entries)
			abort();
		free(text);
		return 0;
	}
	if (list_index_format(&ix, collect, &out) ||
	    list_index_parse(&back, out.n, (const char *const *)out.keys,
			     (const char *const *)out.values) ||
	    back.len != ix.len || back.generation != ix.generation)
		abort();
	for (i = 0; i < ix.len; i++) {
		const struct list_index_entry *e = list_index_lookup(&back, ix.entries[i].path);

		if (!e || !same_entry(e, &ix.entries[i]) || (i && strcmp(ix.entries[i - 1].path,
									  ix.entries[i].path) >= 0))
			abort();
	}
	for (i = 0; i < out.n; i++) {
		free(out.keys[i]);
		free(out.values[i]);
	}
	while (back.len)
		if (list_index_remove_path(&back, back.entries[back.len - 1].path) != 1)
			abort();
	list_index_clear(&ix);
	list_index_clear(&back);
	free(text);
	return 0;
}
