/* store_secret_internal: what the files of the Secret Service store share. Not part of the
 * store interface.
 *   store_secret.c        connecting, the deadline, get, put, del (libsecret)
 *   store_secret_list.c   list (direct D-Bus calls)
 *   store_secret_calls.c  D-Bus calls sent together and awaited together
 *   store_secret_index.c  the list index item: read, compare, write, delete, keep up to date */
#ifndef DCK_STORE_SECRET_INTERNAL_H
#define DCK_STORE_SECRET_INTERNAL_H

#include <libsecret/secret.h>

#include "deadline.h"
#include "list_index.h"
#include "store.h"
#include "store_secret.h"

#define SCHEMA_OURS "io.github.docker-credential-keyring"
#define SCHEMA_LEGACY "io.docker.Credentials"
#define SECRET_BUS "org.freedesktop.secrets"
#define SECRET_PATH "/org/freedesktop/secrets"

struct secret_store {
	struct store base;
	struct store_secret_opts opts;
	SecretService *service;
	GCancellable *cancel;
	struct deadline *deadline;
};

/* Every public operation is wrapped in begin/end: connect, and run under the deadline. */
int store_secret_op_begin(struct secret_store *s);
void store_secret_op_end(struct secret_store *s);

/* Turn a GError into our code and a one-line message starting with what. */
int store_secret_gerror(struct secret_store *s, GError *e, const char *what);

/* Did a call fail because its item was deleted in between (a concurrent replacement)? */
gboolean store_secret_vanished(GError *e);

/* The store interface's list (store_secret_list.c). */
int store_secret_list(struct store *base, struct cred_list *out);

/* ---- store_secret_calls.c -------------------------------------------------------------- */

struct secret_call {
	const char *path, *iface, *method; /* not copied: must outlive the call */
	GVariant *args;                    /* floating; consumed when the call is sent */
	const char *reply_type;            /* e.g. "(v)" */
	GVariant *reply;                   /* the answer, or NULL and error set */
	GError *error;
};

/* Send every call (at most a window at a time) and wait for all answers under the deadline.
 * 0, or ERR_TIMEOUT when the deadline passed before all were sent; each call's own failure is in
 * its error. */
int store_secret_call_all(struct secret_store *s, GDBusConnection *bus, struct secret_call *calls,
			  size_t n);

/* Free the replies, errors and unsent arguments of n calls and zero them. NULL-safe. */
void store_secret_call_clear(struct secret_call *calls, size_t n);

/* Prepare c as SearchItems({xdg:schema: schema}) or as a read of path's Attributes. */
void store_secret_call_search(struct secret_call *c, const char *schema);
void store_secret_call_attrs(struct secret_call *c, const char *path);

/* A successful SearchItems' paths, as NULL-terminated arrays (g_strfreev). */
void store_secret_search_result(const struct secret_call *c, char ***unlocked, char ***locked);

/* A successful attributes read as a new a{ss} reference; NULL when it failed or has another type. */
GVariant *store_secret_attrs_result(const struct secret_call *c);

/* ---- store_secret_index.c --------------------------------------------------------------- */

/* The index items the Secret Service holds, and the content of the only one when there is
 * exactly one and it is unlocked. */
struct store_secret_index {
	char **unlocked, **locked; /* index item paths (g_strfreev) */
	char *generation;          /* the only item's raw "generation" attribute, or NULL */
	int read_failed;           /* the only item's content could not be read */
	int valid;                 /* ix holds the only item's content */
	struct list_index ix;
};

void store_secret_index_clear(struct store_secret_index *st);

/* Take the paths of a SearchItems answer for LIST_INDEX_SCHEMA. */
void store_secret_index_found(struct store_secret_index *st, const struct secret_call *search);

/* The one unlocked index item when there is no other (its content is usable), else NULL. */
const char *store_secret_index_single(const struct store_secret_index *st);

/* Take the answer of reading the single item's Attributes (valid, or read_failed). */
void store_secret_index_content(struct store_secret_index *st, const struct secret_call *get);

/* Search for the index items and read the single one: 0 or an err.h code. */
int store_secret_index_read(struct secret_store *s, GDBusConnection *bus,
			    struct store_secret_index *st);

/* Did nothing change between two reads: same items, same generation? A writer that changes
 * the index changes its generation, and a writer that cannot deletes it. */
gboolean store_secret_index_same(const struct store_secret_index *a,
				 const struct store_secret_index *b);

/* Is the item at path directly in collection (a collection's path)? The index holds only the
 * items of its own collection: it must not show the servers of another, which may be locked
 * while the index's is not. */
gboolean store_secret_in_collection(const char *collection, const char *path);

/* The path of the default collection (g_free), or NULL with an err.h code in *rc. */
char *store_secret_default_collection(struct secret_store *s, GDBusConnection *bus, int *rc);

/* Replace the content of the index item at path with ix. 0 or an err.h code. */
int store_secret_index_write(struct secret_store *s, GDBusConnection *bus, const char *path,
			     const struct list_index *ix);

/* Create an index item holding ix in collection (a path). 0 or an err.h code. */
int store_secret_index_create(struct secret_store *s, GDBusConnection *bus,
			      const char *collection, const struct list_index *ix);

/* Delete every index item in st; best effort. */
void store_secret_index_delete(struct secret_store *s, GDBusConnection *bus,
			       const struct store_secret_index *st);

/* After put or del changed the items of server, under the store lock: drop server's entries and
 * the removed paths, add added (NULL: nothing) and change the generation. When rc is not 0 the
 * change may be half done, and when the index cannot be updated it could later show a wrong
 * server under a reused path: then the index is deleted instead (list makes a new one).
 * Never fails and keeps rc's message: the index only makes list faster. */
void store_secret_index_changed(struct secret_store *s, int rc, const char *server,
				char *const *removed, size_t n_removed,
				const struct list_index_entry *added);

#endif
