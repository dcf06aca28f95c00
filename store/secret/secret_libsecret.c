/* secret_libsecret: the Secret Service store through libsecret, built as the plugin
 * secret-service.so (secret_plugin.h). Item layout: secret_item.h.
 *
 * Headless rules, because this runs on servers and CI as often as on desktops:
 *  - GDBus would "autolaunch" a bus through X11 when no session bus is known; the caller
 *    passes the bus (session.h), so GDBus never looks for one itself.
 *  - Every operation runs under a deadline (deadline.h), so a Secret Service that never answers
 *    costs at most the timeout.
 *  - Locked items are unlocked (which means a prompt) only when a prompt can be shown: a display
 *    is set and prompts are allowed. Otherwise "locked" is the answer. */
/* The D-Bus path functions (secret-paths.h), which libsecret marks "subject to change": they
 * have not changed since libsecret 0.7, and writing by path skips reading properties that
 * nothing here uses. */
#define SECRET_API_SUBJECT_TO_CHANGE 1
#include <libsecret/secret.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "err.h"
#include "secmem.h"
#include "secret_item.h"
#include "secret_plugin.h"
#include "utf8.h"

struct lib_store {
	struct store base;
	struct secret_plugin_opts opts;
	SecretService *service;
	GCancellable *cancel;
	struct deadline *deadline;
};

/* ---- errors and connecting ------------------------------------------------------------ */

static int gerror(struct lib_store *s, GError *e, const char *what)
{
	/* Some libsecret calls fail without a GError (a value they refuse): still a failure. */
	if (!e)
		return err_set(ERR_FAILED, "%s: the Secret Service library failed without saying why", what);
	if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return err_set(ERR_TIMEOUT, "%s: the Secret Service did not answer within %u ms", what,
			       s->opts.timeout_ms);
	if (g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
		return err_set(ERR_UNAVAILABLE, "%s: no Secret Service on the session bus "
			       "(start gnome-keyring-daemon or another keyring)", what);
	if (g_error_matches(e, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
		return err_set(ERR_UNAVAILABLE, "%s: the keyring is locked (see `docker-credential-keyring "
			       "doctor`)", what);
	return err_set(ERR_UNAVAILABLE, "%s: %s", what, e->message);
}

/* gnome-keyring answers a call on a deleted item's path with UnknownMethod ("No such secret
 * item at path"), other services with NoSuchObject or UnknownObject. */
static gboolean vanished(GError *e)
{
	g_autofree char *remote = e ? g_dbus_error_get_remote_error(e) : NULL;

	return g_error_matches(e, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT) ||
	       g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
	       g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
	       (remote && strcmp(remote, "org.freedesktop.Secret.Error.NoSuchObject") == 0);
}

/* Every operation: a fresh deadline, then the service (connecting on first use). */
static int begin(struct lib_store *s, unsigned ms)
{
	g_autoptr(GError) e = NULL;

	err_clear(); /* secret_store.c opens this store only when there is a bus */
	if (!s->cancel)
		s->cancel = g_cancellable_new();
	if (!s->deadline && !(s->deadline = deadline_new(s->cancel)))
		return err_set(ERR_FAILED, "cannot start the deadline thread");
	deadline_arm(s->deadline, ms);
	if (s->service)
		return 0;
	/* GDBus reads the address from here; it then never autolaunches a bus. */
	setenv("DBUS_SESSION_BUS_ADDRESS", s->opts.bus_address, 1);
	s->service = secret_service_get_sync(SECRET_SERVICE_NONE, s->cancel, &e);
	return s->service ? 0 : gerror(s, e, "cannot reach the Secret Service");
}

static void end(struct lib_store *s)
{
	if (s->deadline)
		deadline_disarm(s->deadline);
}

/* ---- items ------------------------------------------------------------------------------ */

/* A SecretItem as a secret_item (attributes, age, lock state). */
static int describe(SecretItem *item, struct secret_item *out)
{
	g_autoptr(GHashTable) attrs = secret_item_get_attributes(item);
	GHashTableIter i;
	gpointer k, v;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->path = strdup(g_dbus_proxy_get_object_path(G_DBUS_PROXY(item)));
	out->locked = secret_item_get_locked(item);
	out->created = secret_item_get_created(item);
	out->modified = secret_item_get_modified(item);
	if (!out->path)
		return err_set(ERR_FAILED, "out of memory");
	g_hash_table_iter_init(&i, attrs);
	while (!rc && g_hash_table_iter_next(&i, &k, &v))
		rc = secret_item_attr(out, k, v);
	return rc ? rc : secret_item_finish(out);
}

/* Items whose server attribute is exactly server, found by one search without a schema (ours
 * and the reference's at once), secrets not loaded. A concurrent store may delete an item
 * between the search and the proxies' set-up: searching again finds its replacement. */
static int search_server(struct lib_store *s, const char *server, GList **out)
{
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	int attempt;

	g_hash_table_insert(attrs, "server", (char *)server);
	for (attempt = 0; attempt < 5; attempt++) {
		g_autoptr(GError) e = NULL;

		*out = secret_service_search_sync(s->service, NULL, attrs, SECRET_SEARCH_ALL,
						  s->cancel, &e);
		if (!e)
			return 0;
		if (!vanished(e))
			return gerror(s, e, "cannot search the keyring");
	}
	return err_set(ERR_UNAVAILABLE, "the keyring kept changing while it was searched");
}

/* ---- get ----------------------------------------------------------------------------------- */

static int unlock(struct lib_store *s, SecretItem *item)
{
	g_autoptr(GError) e = NULL;
	GList one = {item, NULL, NULL};
	const char *x = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");

	if (!s->opts.allow_prompt || !((x && x[0]) || (w && w[0])))
		return err_set(ERR_UNAVAILABLE, "the keyring is locked and no unlock prompt can be shown "
			       "here (no display, or prompts disabled)");
	/* A person needs longer than a D-Bus round trip to type a password. */
	deadline_arm(s->deadline, s->opts.prompt_timeout_ms);
	if (secret_service_unlock_sync(s->service, &one, s->cancel, NULL, &e) < 1)
		return e ? gerror(s, e, "cannot unlock the keyring")
			 : err_set(ERR_UNAVAILABLE, "the keyring stayed locked");
	if (!secret_item_load_secret_sync(item, s->cancel, &e))
		return gerror(s, e, "cannot read the secret");
	return 0;
}

static int lib_get(struct store *base, const char *server, struct cred *out)
{
	struct lib_store *s = (struct lib_store *)base;
	struct secret_item best = {0}, cur;
	g_autoptr(GError) e = NULL;
	GList *items = NULL, *l;
	SecretItem *pick = NULL;
	SecretValue *value = NULL;
	const char *data;
	gsize len;
	int rc = begin(s, s->opts.timeout_ms);

	if (!rc)
		rc = search_server(s, server, &items);
	for (l = items; !rc && l; l = l->next) {
		rc = describe(l->data, &cur);
		if (!rc && (!pick || secret_item_better(&cur, &best))) {
			secret_item_clear(&best);
			best = cur;
			pick = l->data;
		} else {
			secret_item_clear(&cur);
		}
	}
	/* A locked item shows no attributes: it may be ours, so it means "locked", not "none". */
	if (!rc && (!pick || (best.kind == ITEM_OTHER && !best.locked)))
		rc = err_set(ERR_NOTFOUND, "no entry for %s in the keyring", server);
	/* Only the chosen item's secret is loaded: not those of other programs' items. */
	if (!rc && best.locked)
		rc = unlock(s, pick); /* which loads it */
	else if (!rc && !secret_item_load_secret_sync(pick, s->cancel, &e))
		rc = gerror(s, e, "cannot read the secret");
	if (!rc && !(value = secret_item_get_secret(pick)))
		rc = err_set(ERR_UNAVAILABLE, "the keyring returned no secret for %s", server);
	if (!rc && best.kind == ITEM_OTHER) { /* unlocked now: read what it is */
		secret_item_clear(&best);
		rc = describe(pick, &best);
		if (!rc && best.kind == ITEM_OTHER)
			rc = err_set(ERR_NOTFOUND, "no entry for %s in the keyring", server);
	}
	if (!rc) {
		data = secret_value_get(value, &len);
		rc = secret_item_take(&best, data, len, out);
	}
	if (value)
		secret_value_unref(value);
	secret_item_clear(&best);
	g_list_free_full(items, g_object_unref);
	end(s);
	return rc;
}

/* ---- put, del ------------------------------------------------------------------------------ */

/* The paths of the items with attribute server, of schema (NULL: any). */
static int search_paths(struct lib_store *s, const char *server, const char *schema,
			GStrv *unlocked, GStrv *locked)
{
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GError) e = NULL;

	g_hash_table_insert(attrs, "server", (char *)server);
	if (schema)
		g_hash_table_insert(attrs, "xdg:schema", (char *)schema);
	if (!secret_service_search_for_dbus_paths_sync(s->service, NULL, attrs, s->cancel, unlocked,
						       locked, &e))
		return gerror(s, e, "cannot search the keyring");
	return 0;
}

/* Delete every item of server that get would read, ours (and, unless ours_only, the
 * reference's), except keep (a path, or NULL). The searches name the schema, so no item needs
 * reading. *left: the server's locked items (a locked item shows no schema: it may be ours,
 * and it cannot be deleted without unlocking); counted only when !ours_only. */
static int remove_others(struct lib_store *s, const char *server, const char *keep, int ours_only,
			 int *removed, int *left)
{
	static const char *const schemas[] = {SCHEMA_OURS, SCHEMA_LEGACY};
	int k, rc = 0;

	if (!ours_only) {
		g_auto(GStrv) unlocked = NULL, locked = NULL;

		rc = search_paths(s, server, NULL, &unlocked, &locked);
		*left = locked ? (int)g_strv_length(locked) : 0;
	}
	for (k = 0; !rc && k < (ours_only ? 1 : 2); k++) {
		g_auto(GStrv) unlocked = NULL, locked = NULL;
		size_t i;

		rc = search_paths(s, server, schemas[k], &unlocked, &locked);
		for (i = 0; !rc && unlocked && unlocked[i]; i++) {
			g_autoptr(GError) e = NULL;

			if (keep && strcmp(unlocked[i], keep) == 0)
				continue;
			if (secret_service_delete_item_dbus_path_sync(s->service, unlocked[i], s->cancel, &e))
				(*removed)++;
			else if (!vanished(e)) /* a concurrent writer removed it first: as good */
				rc = gerror(s, e, "cannot remove an entry");
		}
	}
	return rc;
}

/* CreateItem's properties: the label and the attributes (xdg:schema among them, as libsecret
 * adds it for a schema, so that searches by schema find the item). */
static GHashTable *item_properties(GHashTable *attrs, const char *label)
{
	GHashTable *props = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						  (GDestroyNotify)g_variant_unref);
	GVariantBuilder b;
	GHashTableIter i;
	gpointer k, v;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{ss}"));
	g_hash_table_iter_init(&i, attrs);
	while (g_hash_table_iter_next(&i, &k, &v))
		g_variant_builder_add(&b, "{ss}", k, v);
	g_hash_table_insert(props, "org.freedesktop.Secret.Item.Label",
			    g_variant_ref_sink(g_variant_new_string(label)));
	g_hash_table_insert(props, "org.freedesktop.Secret.Item.Attributes",
			    g_variant_ref_sink(g_variant_builder_end(&b)));
	return props;
}

static int lib_put(struct store *base, const struct cred *c)
{
	struct lib_store *s = (struct lib_store *)base;
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) props = NULL;
	g_autoptr(GError) e = NULL;
	g_autofree char *label = NULL, *coll = NULL, *item = NULL;
	const char *origin = c->origin ? c->origin : CRED_ORIGIN_LOGIN, *username = c->username;
	SecretValue *value = NULL;
	char expires[24];
	int rc, removed = 0, left = 0;

	/* Attributes must be UTF-8: checked where text comes in, and once more here. */
	if (!utf8_valid(c->server, strlen(c->server)) || !utf8_valid(c->username, strlen(c->username)) ||
	    !utf8_valid(origin, strlen(origin)))
		return err_set(ERR_INVALID, "cannot store %s: a field is not valid UTF-8", c->server);
	rc = begin(s, s->opts.timeout_ms);
	if (rc)
		goto out;
	/* The collection writes go to. */
	coll = secret_service_read_alias_dbus_path_sync(s->service, "default", s->cancel, &e);
	if (!coll) {
		rc = e ? gerror(s, e, "cannot find the keyring's default collection")
		       : err_set(ERR_UNAVAILABLE, "cannot store in the keyring: the Secret Service has "
				 "no default keyring (a keyring daemon started without a login keyring): "
				 "see `docker-credential-keyring doctor`");
		goto out;
	}
	snprintf(expires, sizeof(expires), "%lld", (long long)c->expires);
	g_hash_table_insert(attrs, "xdg:schema", SCHEMA_OURS);
	g_hash_table_insert(attrs, "server", c->server);
	/* Attributes are readable without unlocking and show in `list` and seahorse. Some
	 * registries use the token as the username too (DigitalOcean's older "token:token"): then
	 * the username is kept only as the secret (secret_item.h). */
	if (cred_username_is_secret(c)) {
		username = "";
		g_hash_table_insert(attrs, "username-is-secret", "1");
	}
	g_hash_table_insert(attrs, "username", (char *)username);
	g_hash_table_insert(attrs, "origin", (char *)origin);
	g_hash_table_insert(attrs, "expires", expires);
	label = g_strdup_printf("Registry login for %s", c->server);
	props = item_properties(attrs, label);
	value = secret_value_new(c->secret ? c->secret : "", (gssize)c->secret_len, "text/plain");
	/* By path, not through SecretCollection and SecretItem objects: those read every property
	 * of the collection (all its item paths) and of the new item, which nothing here needs. */
	item = secret_service_create_item_dbus_path_sync(s->service, coll, props, value,
							 SECRET_ITEM_CREATE_REPLACE, s->cancel, &e);
	if (!item) {
		rc = gerror(s, e, "cannot store in the keyring");
		/* Sent, but not answered: the keyring may still do it later. Say so exactly. */
		if (rc == ERR_TIMEOUT)
			rc = err_set(ERR_TIMEOUT, "the Secret Service did not answer within %u ms: the "
				     "login for %s may or may not be stored (check with `get`); the "
				     "previous one is kept", s->opts.timeout_ms, c->server);
		goto out;
	}
	/* The new item exists: readers take it (it is the newest). The old ones go now; one left
	 * behind (a timeout, a kill) is never read, and the next store or erase removes it. */
	if (remove_others(s, c->server, item, 1, &removed, &left) != 0)
		err_clear();
out:
	if (value)
		secret_value_unref(value);
	end(s);
	return rc;
}

static int lib_del(struct store *base, const char *server)
{
	struct lib_store *s = (struct lib_store *)base;
	int removed = 0, left = 0, rc = begin(s, s->opts.timeout_ms);

	if (!rc)
		rc = remove_others(s, server, NULL, 0, &removed, &left);
	/* Never delete what we cannot identify: a locked item may be another program's. */
	if (!rc && left)
		rc = err_set(ERR_UNAVAILABLE, "cannot remove the entry for %s: the keyring is locked "
			     "(see `docker-credential-keyring doctor`)", server);
	else if (!rc && !removed)
		rc = err_set(ERR_NOTFOUND, "no entry for %s in the keyring", server);
	end(s);
	return rc;
}

/* ---- list (only when the short read cannot: secret_read.h) ---------------------------- */

static int lib_list(struct store *base, struct cred_list *out)
{
	static const char *const schemas[] = {SCHEMA_OURS, SCHEMA_LEGACY};
	struct lib_store *s = (struct lib_store *)base;
	GArray *found = g_array_new(FALSE, TRUE, sizeof(struct secret_item));
	struct cred_list l = {0};
	size_t i, locked = 0;
	int k, rc = begin(s, s->opts.timeout_ms);

	for (k = 0; !rc && k < 2; k++) {
		g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
		g_autoptr(GError) e = NULL;
		GList *items, *it;

		g_hash_table_insert(attrs, "xdg:schema", (char *)schemas[k]);
		items = secret_service_search_sync(s->service, NULL, attrs, SECRET_SEARCH_ALL,
						   s->cancel, &e);
		if (e)
			rc = gerror(s, e, "cannot list the keyring");
		for (it = items; !rc && it; it = it->next) {
			struct secret_item one;

			rc = describe(it->data, &one);
			if (!rc)
				g_array_append_val(found, one);
			else
				secret_item_clear(&one);
		}
		g_list_free_full(items, g_object_unref);
	}
	if (!rc)
		rc = secret_item_list((struct secret_item *)(void *)found->data, found->len, &l, &locked);
	for (i = 0; i < found->len; i++)
		secret_item_clear(&g_array_index(found, struct secret_item, i));
	g_array_free(found, TRUE);
	end(s);
	if (rc)
		return rc;
	*out = l;
	if (locked)
		return err_set(STORE_PARTIAL, "%zu locked entr%s not listed: unlock the keyring (see "
			       "`docker-credential-keyring doctor`)", locked, locked == 1 ? "y" : "ies");
	return 0;
}

/* ---- the plugin ------------------------------------------------------------------------------ */

static void lib_free(struct store *base)
{
	struct lib_store *s = (struct lib_store *)base;

	deadline_free(s->deadline);
	g_clear_object(&s->cancel);
	g_clear_object(&s->service);
	free(s);
}

static struct store *lib_open(const struct secret_plugin_opts *o)
{
	struct lib_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->opts = *o;
	s->base = (struct store){lib_get, lib_put, lib_del, lib_list, NULL, lib_free};
	return &s->base;
}

__attribute__((visibility("default"))) const struct secret_plugin dck_secret_plugin_v1 = {
	lib_open,
	err_msg,
};
