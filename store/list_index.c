/* list_index: parse, edit and format the list index's attributes (see list_index.h). */
#include "list_index.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static void entry_clear(struct list_index_entry *e)
{
	free(e->path);
	free(e->server);
	free(e->username);
	free(e->origin);
	memset(e, 0, sizeof(*e));
}

void list_index_clear(struct list_index *ix)
{
	size_t i;

	if (!ix)
		return;
	for (i = 0; i < ix->len; i++)
		entry_clear(&ix->entries[i]);
	free(ix->entries);
	memset(ix, 0, sizeof(*ix));
}

/* D-Bus object path characters; the exact grammar does not matter here, only that a key is a
 * path and not something else. */
static int is_path(const char *p)
{
	size_t n = 0;

	if (p[0] != '/')
		return 0;
	for (; p[n]; n++) {
		char c = p[n];

		if (n >= LIST_INDEX_MAX_PATH)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '/'))
			return 0;
	}
	return 1;
}

/* ---- one entry's value ---------------------------------------------------------------- */

static size_t escaped_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += (*s == '%' || *s == '|') ? 3 : 1;
	return n;
}

static char *escape_into(char *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' || *s == '|') {
			memcpy(out, *s == '%' ? "%25" : "%7C", 3);
			out += 3;
		} else {
			*out++ = *s;
		}
	}
	return out;
}

/* The value for e, or "" (a placeholder) when it would be too long; NULL when out of memory. */
static char *encode(const struct list_index_entry *e)
{
	char num[24], *v, *p;
	size_t n;

	if (!e->server)
		return strdup("");
	snprintf(num, sizeof(num), "%lld", (long long)e->expires);
	n = escaped_len(e->server) + escaped_len(e->username) + escaped_len(e->origin) +
	    strlen(num) + 6; /* four '|', the flag, the NUL */
	if (n - 1 > LIST_INDEX_MAX_VALUE)
		return strdup("");
	v = malloc(n);
	if (!v)
		return NULL;
	p = escape_into(v, e->server);
	*p++ = '|';
	p = escape_into(p, e->username);
	*p++ = '|';
	p = escape_into(p, e->origin);
	*p++ = '|';
	p = stpcpy(p, num);
	*p++ = '|';
	*p++ = e->username_is_secret ? '1' : '0';
	*p = '\0';
	return v;
}

/* Undo escape_into for the n bytes at s; only %25 and %7C are valid escapes, and a raw '|' cannot
 * occur (it separates fields). NULL when invalid (*oom stays 0) or out of memory (*oom = 1). */
static char *unescape(const char *s, size_t n, int *oom)
{
	char *out = malloc(n + 1), *p = out;
	size_t i;

	if (!out) {
		*oom = 1;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			*p++ = s[i];
			continue;
		}
		if (n - i >= 3 && s[i + 1] == '2' && s[i + 2] == '5')
			*p++ = '%';
		else if (n - i >= 3 && s[i + 1] == '7' && s[i + 2] == 'C')
			*p++ = '|';
		else {
			free(out);
			return NULL;
		}
		i += 2;
	}
	*p = '\0';
	return out;
}

/* Decimal int64, optional '-', nothing else. */
static int parse_i64(const char *s, size_t n, int64_t *out)
{
	char buf[24], *end;
	long long v;
	size_t i = (n && s[0] == '-') ? 1 : 0;

	if (n <= i || n >= sizeof(buf))
		return -1;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Fill e's fields (not its path) from value. 0, ERR_INVALID or ERR_FAILED. */
static int decode(const char *value, struct list_index_entry *e)
{
	const char *f[5];
	size_t len[5], n = strlen(value);
	const char *p = value, *bar;
	int i, oom = 0;

	if (n > LIST_INDEX_MAX_VALUE)
		return ERR_INVALID;
	if (n == 0)
		return 0; /* a placeholder */
	for (i = 0; i < 5; i++) {
		bar = strchr(p, '|');
		if ((i < 4) != (bar != NULL))
			return ERR_INVALID;
		f[i] = p;
		len[i] = bar ? (size_t)(bar - p) : strlen(p);
		p = bar ? bar + 1 : p;
	}
	if (len[4] != 1 || (f[4][0] != '0' && f[4][0] != '1'))
		return ERR_INVALID;
	if (parse_i64(f[3], len[3], &e->expires))
		return ERR_INVALID;
	e->username_is_secret = f[4][0] == '1';
	e->server = unescape(f[0], len[0], &oom);
	e->username = e->server ? unescape(f[1], len[1], &oom) : NULL;
	e->origin = e->username ? unescape(f[2], len[2], &oom) : NULL;
	if (!e->origin)
		return oom ? ERR_FAILED : ERR_INVALID;
	return 0;
}

/* ---- the whole index ------------------------------------------------------------------- */

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct list_index_entry *)a)->path,
		      ((const struct list_index_entry *)b)->path);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	size_t i, n = strlen(s);

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int list_index_parse(struct list_index *out, size_t n, const char *const *keys,
		     const char *const *values)
{
	struct list_index ix = {0};
	int have_schema = 0, have_version = 0, have_generation = 0, rc = 0;
	size_t i, paths = 0;

	for (i = 0; i < n; i++)
		paths += keys[i][0] == '/';
	if (paths > LIST_INDEX_MAX_ENTRIES)
		return err_set(ERR_INVALID, "the list index is not valid");
	ix.entries = calloc(paths ? paths : 1, sizeof(*ix.entries));
	if (!ix.entries)
		return err_set(ERR_FAILED, "out of memory");
	ix.cap = paths ? paths : 1;
	for (i = 0; !rc && i < n; i++) {
		const char *k = keys[i], *v = values[i];

		if (strcmp(k, "xdg:schema") == 0) {
			have_schema = strcmp(v, LIST_INDEX_SCHEMA) == 0;
			rc = have_schema ? 0 : ERR_INVALID;
		} else if (strcmp(k, "version") == 0) {
			have_version = strcmp(v, LIST_INDEX_VERSION) == 0;
			rc = have_version ? 0 : ERR_INVALID;
		} else if (strcmp(k, "generation") == 0) {
			have_generation = parse_u64(v, &ix.generation) == 0;
			rc = have_generation ? 0 : ERR_INVALID;
		} else if (k[0] == '/') {
			struct list_index_entry *e = &ix.entries[ix.len++];

			if (!is_path(k))
				rc = ERR_INVALID;
			else if (!(e->path = strdup(k)))
				rc = ERR_FAILED;
			else
				rc = decode(v, e);
		}
	}
	if (!rc && !(have_schema && have_version && have_generation))
		rc = ERR_INVALID;
	if (!rc) {
		qsort(ix.entries, ix.len, sizeof(*ix.entries), by_path);
		for (i = 1; !rc && i < ix.len; i++)
			if (strcmp(ix.entries[i - 1].path, ix.entries[i].path) == 0)
				rc = ERR_INVALID;
	}
	if (rc) {
		list_index_clear(&ix);
		return rc == ERR_FAILED ? err_set(ERR_FAILED, "out of memory")
					: err_set(ERR_INVALID, "the list index is not valid");
	}
	*out = ix;
	return 0;
}

/* Where path is or would go. */
static size_t position(const struct list_index *ix, const char *path, int *found)
{
	size_t lo = 0, hi = ix->len;

	*found = 0;
	/* Appending in path order is the common case (a rebuild walks sorted paths). */
	if (ix->len && strcmp(ix->entries[ix->len - 1].path, path) < 0)
		return ix->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ix->entries[mid].path, path);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct list_index_entry *list_index_lookup(const struct list_index *ix, const char *path)
{
	int found;
	size_t i = position(ix, path, &found);

	return found ? &ix->entries[i] : NULL;
}

int list_index_upsert(struct list_index *ix, const struct list_index_entry *e)
{
	struct list_index_entry n = {0};
	char *v;
	int found;
	size_t i;

	if (!is_path(e->path))
		return err_set(ERR_INVALID, "not an object path");
	/* What parse would read back: a value too long becomes a placeholder. */
	v = encode(e);
	if (!v)
		return err_set(ERR_FAILED, "out of memory");
	n.path = strdup(e->path);
	if (n.path && v[0]) {
		n.server = strdup(e->server);
		n.username = strdup(e->username ? e->username : "");
		n.origin = strdup(e->origin ? e->origin : "");
		n.expires = e->expires;
		n.username_is_secret = e->username_is_secret;
		if (!n.server || !n.username || !n.origin)
			entry_clear(&n);
	}
	free(v);
	if (!n.path)
		return err_set(ERR_FAILED, "out of memory");
	i = position(ix, e->path, &found);
	if (found) {
		entry_clear(&ix->entries[i]);
		ix->entries[i] = n;
		return 0;
	}
	if (ix->len == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 16;
		struct list_index_entry *grown = realloc(ix->entries, cap * sizeof(*grown));

		if (!grown) {
			entry_clear(&n);
			return err_set(ERR_FAILED, "out of memory");
		}
		ix->entries = grown;
		ix->cap = cap;
	}
	memmove(&ix->entries[i + 1], &ix->entries[i], (ix->len - i) * sizeof(*ix->entries));
	ix->entries[i] = n;
	ix->len++;
	return 0;
}

int list_index_remove_path(struct list_index *ix, const char *path)
{
	int found;
	size_t i = position(ix, path, &found);

	if (!found)
		return 0;
	entry_clear(&ix->entries[i]);
	memmove(&ix->entries[i], &ix->entries[i + 1], (ix->len - i - 1) * sizeof(*ix->entries));
	ix->len--;
	return 1;
}

size_t list_index_remove_server(struct list_index *ix, const char *server)
{
	size_t i, kept = 0, removed;

	for (i = 0; i < ix->len; i++) {
		struct list_index_entry *e = &ix->entries[i];

		if (e->server && strcmp(e->server, server) == 0)
			entry_clear(e);
		else
			ix->entries[kept++] = *e;
	}
	removed = ix->len - kept;
	ix->len = kept;
	return removed;
}

int list_index_format(const struct list_index *ix,
		      int (*emit)(void *ctx, const char *key, const char *value), void *ctx)
{
	char gen[24];
	size_t i;
	int rc;

	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)ix->generation);
	rc = emit(ctx, "xdg:schema", LIST_INDEX_SCHEMA);
	if (!rc)
		rc = emit(ctx, "version", LIST_INDEX_VERSION);
	if (!rc)
		rc = emit(ctx, "generation", gen);
	for (i = 0; !rc && i < ix->len; i++) {
		char *v = encode(&ix->entries[i]);

		if (!v)
			return err_set(ERR_FAILED, "out of memory");
		rc = emit(ctx, ix->entries[i].path, v);
		free(v);
	}
	return rc;
}
