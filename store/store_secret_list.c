/* store_secret_list: the list operation of the Secret Service store.
 *
 * A constant number of D-Bus calls whatever the number of entries, and no secret loaded:
 *  1. SearchItems for our schema, the legacy schema and the list index, together;
 *  2. the index item's attributes (store_secret_index.c), together with the attributes of
 *     every item the index never answers for: our locked items and legacy items;
 *  3. the attributes of our unlocked items the index does not hold (none once it is up to date).
 * Then, if the index lacked something or held paths that are gone, list writes it back under
 * the store lock (write_back), so the next list makes no call of step 3. */
#include <gio/gio.h>
#include <string.h>

#include "err.h"
#include "lockfile.h"
#include "store.h"
#include "store_secret_internal.h"

/* How long list waits for the store lock before it skips the write-back: a store under way
 * updates the index itself, and the next list tries again. */
#define WRITE_BACK_LOCK_MS 100

/* One look at the keyring. */
struct pass {
	char **ours, **ours_locked, **legacy, **legacy_locked;
	struct store_secret_index idx;
	const struct list_index *ix; /* &idx.ix when it can answer, else NULL */
	GVariant **ours_attrs;       /* per ours[i]: its attributes when read, else NULL */
	int write_back;              /* the index should be written (see decide) */
};

static void pass_clear(struct pass *p)
{
	size_t i;

	for (i = 0; p->ours_attrs && p->ours[i]; i++)
		if (p->ours_attrs[i])
			g_variant_unref(p->ours_attrs[i]);
	g_free(p->ours_attrs);
	g_strfreev(p->ours);
	g_strfreev(p->ours_locked);
	g_strfreev(p->legacy);
	g_strfreev(p->legacy_locked);
	store_secret_index_clear(&p->idx);
	memset(p, 0, sizeof(*p));
}

/* What list answers: one entry per server, the first one found. */
struct answer {
	struct cred_list l;
	GHashTable *servers; /* of l, borrowed from its items (their strings never move) */
};

static void answer_clear(struct answer *a)
{
	cred_list_clear(&a->l);
	if (a->servers)
		g_hash_table_remove_all(a->servers);
}

/* Append c unless it has no server or one for its server came first (ours are added first, so
 * they win over legacy ones). */
static int add(struct answer *a, const struct cred *c)
{
	int rc;

	if (!c->server[0] || g_hash_table_contains(a->servers, c->server))
		return 0;
	rc = cred_list_add(&a->l, c);
	if (!rc)
		g_hash_table_add(a->servers, a->l.items[a->l.len - 1].server);
	return rc;
}

static int add_attrs(struct answer *a, GVariant *attrs)
{
	const char *server = "", *username = "", *origin = "", *expires = "";
	struct cred c = {0};

	if (attrs) {
		g_variant_lookup(attrs, "server", "&s", &server);
		g_variant_lookup(attrs, "username", "&s", &username);
		g_variant_lookup(attrs, "origin", "&s", &origin);
		g_variant_lookup(attrs, "expires", "&s", &expires);
	}
	c.server = (char *)server;
	c.username = (char *)username;
	c.origin = (char *)(origin[0] ? origin : CRED_ORIGIN_LOGIN);
	c.expires = g_ascii_strtoll(expires, NULL, 10);
	return add(a, &c);
}

static int add_entry(struct answer *a, const struct list_index_entry *e)
{
	struct cred c = {0};

	c.server = e->server;
	c.username = e->username;
	c.origin = e->origin[0] ? e->origin : CRED_ORIGIN_LOGIN;
	c.expires = e->expires;
	return add(a, &c);
}

/* The index entry of an item from its attributes (strings borrowed from attrs). */
static struct list_index_entry entry_of(const char *path, GVariant *attrs)
{
	struct list_index_entry e = {(char *)path, "", "", "", 0, 0};
	const char *expires = "", *uis = "";

	g_variant_lookup(attrs, "server", "&s", &e.server);
	g_variant_lookup(attrs, "username", "&s", &e.username);
	g_variant_lookup(attrs, "origin", "&s", &e.origin);
	g_variant_lookup(attrs, "expires", "&s", &expires);
	g_variant_lookup(attrs, "username-is-secret", "&s", &uis);
	e.expires = g_ascii_strtoll(expires, NULL, 10);
	e.username_is_secret = strcmp(uis, "1") == 0;
	return e;
}

/* The index's entry for path, when the index can answer. */
static const struct list_index_entry *indexed(const struct pass *p, const char *path)
{
	return p->ix ? list_index_lookup(p->ix, path) : NULL;
}

/* The answer of one attributes read: *attrs, or NULL with *vanished set when the item was
 * deleted in between (a concurrent replacement), or an error. */
static int read_result(struct secret_store *s, const struct secret_call *c, GVariant **attrs,
		       int *vanished)
{
	*attrs = NULL;
	if (c->error && store_secret_vanished(c->error)) {
		*vanished = 1;
		return 0;
	}
	if (c->error)
		return store_secret_gerror(s, c->error, "cannot read an entry's attributes");
	*attrs = store_secret_attrs_result(c);
	return 0;
}

/* Should the index be written after this pass? Not when any index item is locked (its
 * collection is) or its content could not be read; a new one when there is none but there are
 * items, or several; else when it missed an item of its collection or held a path that is no
 * longer one of our unlocked items. */
static void decide(struct pass *p, size_t fetched, size_t answered)
{
	const char *single = store_secret_index_single(&p->idx);
	size_t n_index = g_strv_length(p->idx.unlocked) + g_strv_length(p->idx.locked);

	if (p->idx.locked[0] || (single && p->idx.read_failed))
		p->write_back = 0;
	else if (n_index == 0)
		p->write_back = p->ours[0] != NULL;
	else if (!single || !p->idx.valid)
		p->write_back = 1;
	else
		p->write_back = fetched > 0 || answered < p->idx.ix.len;
}

static int list_pass(struct secret_store *s, GDBusConnection *bus, struct pass *p,
		     struct answer *a, int *vanished)
{
	struct secret_call search[3] = {{0}}, *reads = NULL;
	g_autofree char *collection = NULL;
	const char *single;
	size_t n_ours, n_other, n, i, j, fetched = 0, answered = 0;
	int rc;

	store_secret_call_search(&search[0], SCHEMA_OURS);
	store_secret_call_search(&search[1], SCHEMA_LEGACY);
	store_secret_call_search(&search[2], LIST_INDEX_SCHEMA);
	rc = store_secret_call_all(s, bus, search, 3);
	for (i = 0; !rc && i < 3; i++)
		if (search[i].error)
			rc = store_secret_gerror(s, search[i].error, "cannot search the keyring");
	if (!rc) {
		store_secret_search_result(&search[0], &p->ours, &p->ours_locked);
		store_secret_search_result(&search[1], &p->legacy, &p->legacy_locked);
		store_secret_index_found(&p->idx, &search[2]);
	}
	store_secret_call_clear(search, 3);
	if (rc)
		return rc;

	/* Step 2: the index, our locked items, legacy items. */
	single = store_secret_index_single(&p->idx);
	n_ours = g_strv_length(p->ours);
	n_other = g_strv_length(p->ours_locked) + g_strv_length(p->legacy) +
		  g_strv_length(p->legacy_locked);
	reads = g_new0(struct secret_call, 1 + n_other + n_ours);
	n = 0;
	if (single)
		store_secret_call_attrs(&reads[n++], single);
	for (i = 0; p->ours_locked[i]; i++)
		store_secret_call_attrs(&reads[n++], p->ours_locked[i]);
	for (i = 0; p->legacy[i]; i++)
		store_secret_call_attrs(&reads[n++], p->legacy[i]);
	for (i = 0; p->legacy_locked[i]; i++)
		store_secret_call_attrs(&reads[n++], p->legacy_locked[i]);
	rc = store_secret_call_all(s, bus, reads, n);
	j = 0;
	if (!rc && single) {
		store_secret_index_content(&p->idx, &reads[j++]);
		if (p->idx.valid)
			p->ix = &p->idx.ix;
	}

	/* Step 3: our unlocked items the index does not answer for. */
	p->ours_attrs = g_new0(GVariant *, n_ours ? n_ours : 1);
	if (!rc) {
		struct secret_call *more = reads + n;
		size_t m = 0;

		for (i = 0; p->ours[i]; i++) {
			const struct list_index_entry *e = indexed(p, p->ours[i]);

			if (e)
				answered++;
			if (!e || !e->server)
				store_secret_call_attrs(&more[m++], p->ours[i]);
		}
		rc = store_secret_call_all(s, bus, more, m);
	}

	/* Ours first, in search order, then legacy: the first entry for a server wins. */
	collection = single ? g_path_get_dirname(single) : NULL;
	for (i = 0; !rc && p->ours[i]; i++) {
		const struct list_index_entry *e = indexed(p, p->ours[i]);

		if (e && e->server) {
			rc = add_entry(a, e);
			continue;
		}
		rc = read_result(s, &reads[n++], &p->ours_attrs[i], vanished);
		if (!rc && !e && (!collection || store_secret_in_collection(collection, p->ours[i])))
			fetched++;
		if (!rc)
			rc = add_attrs(a, p->ours_attrs[i]);
	}
	for (; !rc && j < n_other + (single ? 1 : 0); j++) {
		g_autoptr(GVariant) attrs = NULL;

		rc = read_result(s, &reads[j], &attrs, vanished);
		if (!rc)
			rc = add_attrs(a, attrs);
	}
	store_secret_call_clear(reads, 1 + n_other + n_ours);
	g_free(reads);
	if (!rc)
		decide(p, fetched, answered);
	return rc;
}

static gint by_path(gconstpointer a, gconstpointer b, gpointer paths)
{
	return strcmp(((char **)paths)[*(const size_t *)a], ((char **)paths)[*(const size_t *)b]);
}

/* The positions in paths of the items in collection, in path order (index entries are kept
 * sorted, so adding them in this order costs no moves). g_free the array. */
static size_t *in_collection(char **paths, const char *collection, size_t *n)
{
	size_t *out = g_new(size_t, g_strv_length(paths) + 1), i;

	*n = 0;
	for (i = 0; paths[i]; i++)
		if (store_secret_in_collection(collection, paths[i]))
			out[(*n)++] = i;
	g_qsort_with_data(out, (gint)*n, sizeof(*out), by_path, paths);
	return out;
}

/* Update the single index item from what the pass read: its entries for paths that are still
 * our unlocked items, and the items it lacked. The generation moves on. */
static int update(struct secret_store *s, GDBusConnection *bus, struct pass *p)
{
	const char *single = store_secret_index_single(&p->idx);
	g_autofree char *collection = g_path_get_dirname(single);
	g_autofree size_t *order = NULL;
	struct list_index ix = {0};
	size_t n, i;
	int rc = 0;

	order = in_collection(p->ours, collection, &n);
	for (i = 0; !rc && i < n; i++) {
		const char *path = p->ours[order[i]];
		const struct list_index_entry *e = indexed(p, path);
		GVariant *attrs = p->ours_attrs[order[i]];
		struct list_index_entry fresh;

		if (e && e->server) {
			rc = list_index_upsert(&ix, e);
		} else if (attrs) {
			fresh = entry_of(path, attrs);
			rc = list_index_upsert(&ix, &fresh);
		}
		/* else unreadable: the next list reads it again */
	}
	ix.generation = 1 + (p->idx.valid ? p->idx.ix.generation
					  : g_ascii_strtoull(p->idx.generation ? p->idx.generation : "0",
							     NULL, 10));
	if (!rc)
		rc = store_secret_index_write(s, bus, single, &ix);
	list_index_clear(&ix);
	return rc;
}

/* No index, or several: delete them, read our items again and make one. Again, because a put
 * or del leaves no trace when there is no index, so what the pass read may be older than the
 * lock; under the lock it cannot change. It starts at a random generation (see
 * store_secret_index.c). */
static int rebuild(struct secret_store *s, GDBusConnection *bus,
		   const struct store_secret_index *now)
{
	g_autofree char *collection = NULL;
	g_autofree size_t *order = NULL;
	struct secret_call *reads = NULL, search = {0};
	char **ours = NULL, **locked = NULL;
	struct list_index ix = {0};
	size_t n = 0, i;
	int rc, vanished = 0;

	store_secret_index_delete(s, bus, now);
	collection = store_secret_default_collection(s, bus, &rc);
	if (!rc) {
		store_secret_call_search(&search, SCHEMA_OURS);
		rc = store_secret_call_all(s, bus, &search, 1);
		if (!rc && search.error)
			rc = store_secret_gerror(s, search.error, "cannot search the keyring");
		if (!rc)
			store_secret_search_result(&search, &ours, &locked);
		store_secret_call_clear(&search, 1);
	}
	if (!rc) {
		order = in_collection(ours, collection, &n);
		reads = g_new0(struct secret_call, n + 1);
		for (i = 0; i < n; i++)
			store_secret_call_attrs(&reads[i], ours[order[i]]);
		rc = store_secret_call_all(s, bus, reads, n);
	}
	for (i = 0; !rc && i < n; i++) {
		g_autoptr(GVariant) attrs = NULL;
		struct list_index_entry e;

		rc = read_result(s, &reads[i], &attrs, &vanished);
		if (!rc && attrs) {
			e = entry_of(ours[order[i]], attrs);
			rc = list_index_upsert(&ix, &e);
		}
	}
	ix.generation = (guint64)g_random_int() << 32 | g_random_int();
	if (!rc && n)
		rc = store_secret_index_create(s, bus, collection, &ix);
	store_secret_call_clear(reads, n + 1);
	g_free(reads);
	g_strfreev(ours);
	g_strfreev(locked);
	list_index_clear(&ix);
	return rc;
}

/* Write what the pass learnt, best effort: only under the store lock, and only if nobody wrote
 * the index since the pass read it (then that writer's view is newer than ours). */
static void write_back(struct secret_store *s, GDBusConnection *bus, struct pass *p)
{
	struct store_secret_index now = {0};
	int lock = lockfile_acquire("store", MIN(WRITE_BACK_LOCK_MS, s->opts.timeout_ms));

	if (lock >= 0 && store_secret_index_read(s, bus, &now) == 0 &&
	    store_secret_index_same(&p->idx, &now)) {
		if (store_secret_index_single(&now))
			update(s, bus, p);
		else
			rebuild(s, bus, &now);
	}
	lockfile_release(lock);
	store_secret_index_clear(&now);
	err_clear(); /* the list itself succeeded */
}

int store_secret_list(struct store *base, struct cred_list *out)
{
	struct secret_store *s = (struct secret_store *)base;
	struct answer a = {{0}, g_hash_table_new(g_str_hash, g_str_equal)};
	struct pass p = {0};
	GDBusConnection *bus;
	int attempt, vanished = 1, rc;

	rc = store_secret_op_begin(s);
	bus = rc ? NULL : g_dbus_proxy_get_connection(G_DBUS_PROXY(s->service));
	/* An item deleted between the search and the read (a concurrent replacement): its
	 * replacement exists by then, so searching again finds it. */
	for (attempt = 0; !rc && vanished && attempt < 5; attempt++) {
		vanished = 0;
		answer_clear(&a);
		pass_clear(&p);
		rc = list_pass(s, bus, &p, &a, &vanished);
	}
	if (!rc && vanished)
		rc = err_set(ERR_UNAVAILABLE, "the keyring kept changing while it was listed");
	if (!rc && p.write_back)
		write_back(s, bus, &p);
	pass_clear(&p);
	store_secret_op_end(s);
	g_hash_table_unref(a.servers);
	if (rc) {
		cred_list_clear(&a.l);
		return rc;
	}
	*out = a.l;
	return 0;
}
