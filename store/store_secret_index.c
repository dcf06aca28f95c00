/* store_secret_index: the list index item in the Secret Service (its content: list_index.h).
 *
 * Why. The Secret Service has no call that returns many items' attributes, so a list that
 * reads every item costs gnome-keyring about 0.2 ms of CPU per item. With one item that maps
 * our items' paths to what list shows, list costs a constant number of calls: three searches
 * and one read (store_secret_list.c).
 *
 * Where. In the default collection, so it locks with the items it describes: a locked
 * collection shows no server names through the index. Only the items of that collection are
 * indexed, for the same reason. Only our schema's items: legacy items are other programs'
 * writes, which nothing would keep the index up to date with.
 *
 * Why it stays right. An entry is only ever trusted for a path that SearchItems just returned
 * as an unlocked item of our schema; entries for other paths are ignored and dropped on the
 * next write. The danger is a reused path: after gnome-keyring loads a collection (a restart, a
 * new login) it numbers the next new item count+1, so once the last item was deleted the next
 * one gets its path (tests/integration/test_list.py shows it). So every writer holds the
 * "store" lock and changes the generation: put and del update the index in the same critical
 * section as their change, or delete it when they cannot. list writes what it read only if,
 * under the lock, the index items and generation are those it saw before it read the items'
 * attributes (store_secret_index_same); with no index to compare, it reads the items again
 * under the lock. A new index starts at a random generation, so an index deleted and made again
 * is never taken for the one seen before.
 *
 * Limits. Programs that write items of our schema without this code (an older version of this
 * helper) do not update the index: if one deletes the last item and stores another, list shows
 * the old server and username under the reused path until this helper's next store or erase of
 * that path. Changes by other programs to legacy items are always seen (they are not indexed). */
#include <gio/gio.h>
#include <string.h>

#include "err.h"
#include "store_secret_internal.h"

#define INDEX_LABEL "docker-credential-keyring list index (no secrets)"

void store_secret_index_clear(struct store_secret_index *st)
{
	if (!st)
		return;
	g_strfreev(st->unlocked);
	g_strfreev(st->locked);
	g_free(st->generation);
	list_index_clear(&st->ix);
	memset(st, 0, sizeof(*st));
}

void store_secret_index_found(struct store_secret_index *st, const struct secret_call *search)
{
	store_secret_search_result(search, &st->unlocked, &st->locked);
}

const char *store_secret_index_single(const struct store_secret_index *st)
{
	if (st->unlocked && st->unlocked[0] && !st->unlocked[1] && st->locked && !st->locked[0])
		return st->unlocked[0];
	return NULL;
}

void store_secret_index_content(struct store_secret_index *st, const struct secret_call *get)
{
	g_autoptr(GVariant) attrs = store_secret_attrs_result(get);
	g_autofree const char **keys = NULL, **values = NULL;
	GVariantIter it;
	const char *k, *v;
	size_t n, i = 0;

	if (!attrs) {
		st->read_failed = 1;
		return;
	}
	n = g_variant_n_children(attrs);
	keys = g_new(const char *, n + 1);
	values = g_new(const char *, n + 1);
	g_variant_iter_init(&it, attrs);
	while (g_variant_iter_next(&it, "{&s&s}", &k, &v)) {
		keys[i] = k;
		values[i++] = v;
		if (strcmp(k, "generation") == 0 && !st->generation)
			st->generation = g_strdup(v);
	}
	st->valid = list_index_parse(&st->ix, i, keys, values) == 0;
	err_clear(); /* a broken index is "no index", not an error */
}

int store_secret_index_read(struct secret_store *s, GDBusConnection *bus,
			    struct store_secret_index *st)
{
	struct secret_call call = {0};
	const char *single;
	int rc;

	store_secret_call_search(&call, LIST_INDEX_SCHEMA);
	rc = store_secret_call_all(s, bus, &call, 1);
	if (!rc && call.error)
		rc = store_secret_gerror(s, call.error, "cannot search the keyring");
	if (!rc)
		store_secret_index_found(st, &call);
	store_secret_call_clear(&call, 1);
	single = rc ? NULL : store_secret_index_single(st);
	if (single) {
		store_secret_call_attrs(&call, single);
		rc = store_secret_call_all(s, bus, &call, 1);
		if (!rc)
			store_secret_index_content(st, &call);
		store_secret_call_clear(&call, 1);
	}
	return rc;
}

static gboolean same_paths(char **a, char **b)
{
	size_t i, j, n = a ? g_strv_length(a) : 0;

	if (n != (b ? g_strv_length(b) : 0))
		return FALSE;
	for (i = 0; i < n; i++) {
		for (j = 0; j < n && strcmp(a[i], b[j]) != 0; j++)
			;
		if (j == n)
			return FALSE;
	}
	return TRUE;
}

gboolean store_secret_index_same(const struct store_secret_index *a,
				 const struct store_secret_index *b)
{
	return same_paths(a->unlocked, b->unlocked) && same_paths(a->locked, b->locked) &&
	       g_strcmp0(a->generation, b->generation) == 0;
}

gboolean store_secret_in_collection(const char *collection, const char *path)
{
	size_t n = strlen(collection);

	return strncmp(path, collection, n) == 0 && path[n] == '/' && path[n + 1] &&
	       !strchr(path + n + 1, '/');
}

char *store_secret_default_collection(struct secret_store *s, GDBusConnection *bus, int *rc)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GVariant) reply = NULL;
	const char *path;

	reply = g_dbus_connection_call_sync(bus, SECRET_BUS, SECRET_PATH,
					    "org.freedesktop.Secret.Service", "ReadAlias",
					    g_variant_new("(s)", "default"), G_VARIANT_TYPE("(o)"),
					    G_DBUS_CALL_FLAGS_NONE, -1, s->cancel, &e);
	if (!reply) {
		*rc = store_secret_gerror(s, e, "cannot find the default collection");
		return NULL;
	}
	g_variant_get(reply, "(&o)", &path);
	if (strcmp(path, "/") == 0) {
		*rc = err_set(ERR_UNAVAILABLE, "the keyring has no default collection");
		return NULL;
	}
	*rc = 0;
	return g_strdup(path);
}

static int add_attr(void *ctx, const char *key, const char *value)
{
	g_variant_builder_add(ctx, "{ss}", key, value);
	return 0;
}

/* ix as the a{ss} of the index item's attributes (floating), or NULL when out of memory. */
static GVariant *attrs_of(const struct list_index *ix)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{ss}"));
	if (list_index_format(ix, add_attr, &b)) {
		g_variant_builder_clear(&b);
		return NULL;
	}
	return g_variant_builder_end(&b);
}

int store_secret_index_write(struct secret_store *s, GDBusConnection *bus, const char *path,
			     const struct list_index *ix)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GVariant) reply = NULL;
	GVariant *attrs = attrs_of(ix);

	if (!attrs)
		return err_set(ERR_FAILED, "out of memory");
	reply = g_dbus_connection_call_sync(bus, SECRET_BUS, path, "org.freedesktop.DBus.Properties",
					    "Set", g_variant_new("(ssv)", "org.freedesktop.Secret.Item",
								 "Attributes", attrs),
					    NULL, G_DBUS_CALL_FLAGS_NONE, -1, s->cancel, &e);
	return reply ? 0 : store_secret_gerror(s, e, "cannot write the list index");
}

int store_secret_index_create(struct secret_store *s, GDBusConnection *bus,
			      const char *collection, const struct list_index *ix)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GVariant) opened = NULL, created = NULL, closed = NULL;
	const char *session, *prompt;
	GVariantBuilder props;
	GVariant *attrs = attrs_of(ix);

	if (!attrs)
		return err_set(ERR_FAILED, "out of memory");
	g_variant_ref_sink(attrs);
	/* CreateItem wants a session for the item's value even when it is empty; a "plain" one
	 * costs one call and no key exchange. */
	opened = g_dbus_connection_call_sync(bus, SECRET_BUS, SECRET_PATH,
					     "org.freedesktop.Secret.Service", "OpenSession",
					     g_variant_new("(sv)", "plain", g_variant_new_string("")),
					     G_VARIANT_TYPE("(vo)"), G_DBUS_CALL_FLAGS_NONE, -1, s->cancel,
					     &e);
	if (!opened) {
		g_variant_unref(attrs);
		return store_secret_gerror(s, e, "cannot create the list index");
	}
	g_variant_get(opened, "(v&o)", NULL, &session);
	g_variant_builder_init(&props, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&props, "{sv}", "org.freedesktop.Secret.Item.Label",
			      g_variant_new_string(INDEX_LABEL));
	g_variant_builder_add(&props, "{sv}", "org.freedesktop.Secret.Item.Attributes", attrs);
	created = g_dbus_connection_call_sync(
		bus, SECRET_BUS, collection, "org.freedesktop.Secret.Collection", "CreateItem",
		g_variant_new("(a{sv}(o@ay@ays)b)", &props, session,
			      g_variant_new_from_data(G_VARIANT_TYPE("ay"), "", 0, TRUE, NULL, NULL),
			      g_variant_new_from_data(G_VARIANT_TYPE("ay"), "", 0, TRUE, NULL, NULL),
			      "text/plain", FALSE),
		G_VARIANT_TYPE("(oo)"), G_DBUS_CALL_FLAGS_NONE, -1, s->cancel, &e);
	g_variant_unref(attrs);
	closed = g_dbus_connection_call_sync(bus, SECRET_BUS, session,
					     "org.freedesktop.Secret.Session", "Close", NULL, NULL,
					     G_DBUS_CALL_FLAGS_NONE, -1, s->cancel, NULL);
	if (!created)
		return store_secret_gerror(s, e, "cannot create the list index");
	/* A prompt means the collection is locked: no index then (nobody is asked anything). */
	g_variant_get(created, "(&o&o)", NULL, &prompt);
	if (strcmp(prompt, "/") != 0)
		return err_set(ERR_UNAVAILABLE, "cannot create the list index: the keyring is locked");
	return 0;
}

static void delete_all(struct secret_store *s, GDBusConnection *bus, char **paths)
{
	size_t i;

	for (i = 0; paths && paths[i]; i++) {
		GVariant *reply = g_dbus_connection_call_sync(
			bus, SECRET_BUS, paths[i], "org.freedesktop.Secret.Item", "Delete", NULL, NULL,
			G_DBUS_CALL_FLAGS_NONE, -1, s->cancel, NULL);

		if (reply)
			g_variant_unref(reply);
	}
}

void store_secret_index_delete(struct secret_store *s, GDBusConnection *bus,
			       const struct store_secret_index *st)
{
	delete_all(s, bus, st->unlocked);
	delete_all(s, bus, st->locked);
}

#define INDEX_RESCUE_MS 1000u

void store_secret_index_changed(struct secret_store *s, int rc, const char *server,
				char *const *removed, size_t n_removed,
				const struct list_index_entry *added)
{
	GDBusConnection *bus = g_dbus_proxy_get_connection(G_DBUS_PROXY(s->service));
	g_autofree char *msg = g_strdup(err_msg()), *collection = NULL;
	struct store_secret_index st = {0};
	const char *single;
	int ok = rc == 0;
	size_t i;

	/* After a timeout the operation's cancellable has fired and every call would fail at once;
	 * the index may now be stale, and deleting it is what keeps list right. One more short
	 * deadline: enough for a slow service, a bounded wait on a frozen one. */
	if (rc == ERR_TIMEOUT && s->deadline)
		deadline_arm(s->deadline, INDEX_RESCUE_MS < s->opts.timeout_ms ? INDEX_RESCUE_MS
										: s->opts.timeout_ms);
	if (store_secret_index_read(s, bus, &st))
		goto out; /* no answer: nothing we could delete either */
	if (!st.unlocked[0] && !st.locked[0])
		goto out; /* no index: list makes one */
	single = store_secret_index_single(&st);
	ok = ok && single && st.valid;
	if (ok) {
		list_index_remove_server(&st.ix, server);
		for (i = 0; i < n_removed; i++)
			list_index_remove_path(&st.ix, removed[i]);
		collection = g_path_get_dirname(single);
		if (added && store_secret_in_collection(collection, added->path))
			ok = list_index_upsert(&st.ix, added) == 0;
		st.ix.generation++;
	}
	if (!ok || store_secret_index_write(s, bus, single, &st.ix))
		store_secret_index_delete(s, bus, &st);
out:
	store_secret_index_clear(&st);
	if (rc)
		err_set(rc, "%s", msg);
	else
		err_clear();
}
