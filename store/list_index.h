/* list_index: the codec of the list index, a Secret Service item whose attributes map our
 * items' object paths to what `list` shows, so that `list` reads one item instead of every
 * item (secret_list.c uses it, secret_index.c reads and writes it, and says why it stays right).
 *
 * The content is the item's attributes, not its secret: reading it needs no session, loads no
 * secret, and it locks with the collection it lives in.
 *   xdg:schema  LIST_INDEX_SCHEMA
 *   version     LIST_INDEX_VERSION (another version is "no index")
 *   generation  a decimal counter every writer changes
 *   <path>      one per indexed item: server|username|origin|expires|username-is-secret, each
 *               text field with '%' written %25 and '|' written %7C; or "" (a placeholder) for
 *               an item too large to index, which list reads itself
 * Other keys that do not start with '/' are ignored (KeePassXC adds its own attributes).
 *
 * Pure functions over strings, no D-Bus: broken or hostile content (a bad escape, a wrong
 * version, a huge value, a duplicate path) makes list_index_parse fail, never crash. */
#ifndef DCK_LIST_INDEX_H
#define DCK_LIST_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define LIST_INDEX_SCHEMA "io.github.docker-credential-keyring.list-index"
#define LIST_INDEX_VERSION "1"
#define LIST_INDEX_MAX_VALUE 16384     /* longer entries become placeholders */
#define LIST_INDEX_MAX_PATH 1024
#define LIST_INDEX_MAX_ENTRIES 1000000

struct list_index_entry {
	char *path;     /* the item's D-Bus object path */
	char *server;   /* NULL in a placeholder (then every field below is empty) */
	char *username; /* as the item's attribute ("" when username-is-secret) */
	char *origin;   /* as the item's attribute ("" when it had none) */
	int64_t expires;
	int username_is_secret;
};

struct list_index {
	uint64_t generation;
	struct list_index_entry *entries; /* sorted by path (strcmp), no two alike */
	size_t len, cap;
};

/* Free every entry; the struct is left empty (a zeroed struct is an empty index). NULL-safe. */
void list_index_clear(struct list_index *ix);

/* Read the n attributes keys[i] = values[i] of an index item into *out (the caller clears it).
 * 0; ERR_INVALID when they are not a valid index of this version; ERR_FAILED when out of
 * memory. *out is written only on success. */
int list_index_parse(struct list_index *out, size_t n, const char *const *keys,
		     const char *const *values);

/* The entry for path, or NULL. */
const struct list_index_entry *list_index_lookup(const struct list_index *ix, const char *path);

/* Add or replace the entry for e->path (fields copied; e->server NULL adds a placeholder, and
 * an entry whose value would exceed LIST_INDEX_MAX_VALUE is stored as one). Appending in path
 * order costs O(1). 0, ERR_INVALID for a path that is not an object path, or ERR_FAILED. */
int list_index_upsert(struct list_index *ix, const struct list_index_entry *e);

/* Remove the entry for path; returns 1 when there was one, else 0. */
int list_index_remove_path(struct list_index *ix, const char *path);

/* Remove every entry for server; returns how many there were. */
size_t list_index_remove_server(struct list_index *ix, const char *server);

/* Call emit(ctx, key, value) for every attribute of the index item: xdg:schema, version,
 * generation, then the entries. Stops at and returns the first non-zero emit result;
 * ERR_FAILED when out of memory; else 0. */
int list_index_format(const struct list_index *ix,
		      int (*emit)(void *ctx, const char *key, const char *value), void *ctx);

#endif
