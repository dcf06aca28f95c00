/* store_secret: the store kept in the Secret Service (gnome-keyring, KeePassXC, KWallet's
 * bridge) through libsecret.
 *
 * Layout. Our items use the schema below: attributes server, username, origin and expires,
 * the secret as the item's value. Items that docker-credential-secretservice wrote (schema
 * io.docker.Credentials, attributes server and username) are read too, so people who switch
 * helpers keep their logins; we never write that schema, and erase removes both. One more item,
 * the list index (schema io.github.docker-credential-keyring.list-index, no secret), lets list
 * read one item instead of all of ours; put and del keep it up to date (store_secret_index.c).
 *
 * Headless rules, because this runs on servers and CI as often as on desktops:
 *  - GDBus would "autolaunch" a bus through X11 when no session bus is known; we check for one
 *    first and fail fast instead.
 *  - Every operation runs under a deadline (deadline.h), so a Secret Service that never
 *    answers costs at most the timeout.
 *  - Locked items are unlocked (which means a prompt) only when a prompt can be shown: a
 *    display is set and prompts are allowed. Otherwise "locked" is the answer.
 *
 * Speed: a get first asks dbus_quick.c, without GLib, whether any item has that server
 * attribute; GLib and libsecret are loaded (glib_lazy.c) only when one might. */
#include <libsecret/secret.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dbus_quick.h"
#include "deadline.h"
#include "err.h"
#include "monotonic.h"
#include "glib_lazy.h"
#include "lockfile.h"
#include "secmem.h"
#include "store.h"
#include "store_secret.h"
#include "store_secret_internal.h"

static const SecretSchema schema_ours = {
	SCHEMA_OURS,
	SECRET_SCHEMA_NONE,
	{
		{"server", SECRET_SCHEMA_ATTRIBUTE_STRING},
		{"username", SECRET_SCHEMA_ATTRIBUTE_STRING},
		{"origin", SECRET_SCHEMA_ATTRIBUTE_STRING},
		{"expires", SECRET_SCHEMA_ATTRIBUTE_STRING},
		{"username-is-secret", SECRET_SCHEMA_ATTRIBUTE_STRING},
		{NULL, 0},
	},
	0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

/* ---- connecting ---------------------------------------------------------------------- */

/* Make sure GDBus finds a session bus without trying X11 autolaunch. */
static int ensure_session_bus_address(void)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	g_autofree char *path = NULL, *escaped = NULL, *value = NULL;
	struct stat st;

	if (addr && addr[0])
		return 0;
	if (rt && rt[0]) {
		path = g_build_filename(rt, "bus", NULL);
		if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			escaped = g_dbus_address_escape_value(path);
			value = g_strconcat("unix:path=", escaped, NULL);
			setenv("DBUS_SESSION_BUS_ADDRESS", value, 1);
			return 0;
		}
	}
	return err_set(ERR_UNAVAILABLE,
		       "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and "
		       "$XDG_RUNTIME_DIR/bus does not exist");
}

/* Turn a GError into our code and message. */
int store_secret_gerror(struct secret_store *s, GError *e, const char *what)
{
	int code = ERR_UNAVAILABLE;

	/* Some libsecret calls fail without a GError (a value they refuse, say): still a failure. */
	if (!e)
		return err_set(ERR_FAILED, "%s: the Secret Service library failed without saying why", what);
	if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return err_set(ERR_TIMEOUT, "%s: the Secret Service did not answer within %u ms",
			       what, s->opts.timeout_ms);
	if (g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
		return err_set(ERR_UNAVAILABLE,
			       "%s: no Secret Service on the session bus "
			       "(start gnome-keyring-daemon or another keyring)", what);
	if (g_error_matches(e, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
		return err_set(ERR_UNAVAILABLE, "%s: the keyring is locked", what);
	return err_set(code, "%s: %s", what, e->message);
}

static int connect_service(struct secret_store *s)
{
	g_autoptr(GError) e = NULL;
	int rc;

	if (s->service)
		return 0;
	rc = ensure_session_bus_address();
	if (rc)
		return rc;
	s->service = secret_service_get_sync(SECRET_SERVICE_NONE, s->cancel, &e);
	if (!s->service)
		return store_secret_gerror(s, e, "cannot reach the Secret Service");
	return 0;
}

static gboolean can_prompt(struct secret_store *s)
{
	const char *x = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");

	return s->opts.allow_prompt && ((x && x[0]) || (w && w[0]));
}

/* The cancellable and the watchdog thread are made by the first operation, not by
 * store_secret_new: a get answered from the kernel cache never needs them (no GObject type
 * system, no thread). */
static int op_prepare(struct secret_store *s)
{
	int rc;

	if (s->deadline)
		return 0;
	rc = glib_lazy_load();
	if (rc)
		return rc;
	if (!s->cancel)
		s->cancel = g_cancellable_new();
	s->deadline = deadline_new(s->cancel);
	return s->deadline ? 0 : err_set(ERR_FAILED, "cannot start the deadline thread");
}

/* op_begin with a deadline of ms instead of the whole timeout. */
static int op_begin_within(struct secret_store *s, unsigned ms)
{
	int rc;

	err_clear();
	rc = op_prepare(s);
	if (rc)
		return rc;
	deadline_arm(s->deadline, ms);
	return connect_service(s);
}

/* Every public operation is wrapped in begin/end: connect, and run under the deadline. */
int store_secret_op_begin(struct secret_store *s)
{
	return op_begin_within(s, s->opts.timeout_ms);
}

void store_secret_op_end(struct secret_store *s)
{
	if (s->deadline)
		deadline_disarm(s->deadline);
}

/* ---- items ----------------------------------------------------------------------------- */

/* In the order get prefers them. */
enum item_kind { ITEM_OURS, ITEM_LEGACY, ITEM_OTHER };

static enum item_kind kind_of(SecretItem *item)
{
	g_autofree char *name = secret_item_get_schema_name(item);

	if (name && strcmp(name, SCHEMA_OURS) == 0)
		return ITEM_OURS;
	if (name && strcmp(name, SCHEMA_LEGACY) == 0)
		return ITEM_LEGACY;
	return ITEM_OTHER;
}

static const char *attr(GHashTable *attrs, const char *name)
{
	const char *v = g_hash_table_lookup(attrs, name);

	return v ? v : "";
}

/* Fill server/username/expires/origin (not the secret) from an item's attributes. */
static int cred_from_item(SecretItem *item, struct cred *out)
{
	g_autoptr(GHashTable) attrs = secret_item_get_attributes(item);
	struct cred c = {0};
	const char *origin = attr(attrs, "origin");

	c.server = strdup(attr(attrs, "server"));
	c.username = strdup(attr(attrs, "username"));
	c.origin = strdup(origin[0] ? origin : CRED_ORIGIN_LOGIN);
	c.expires = g_ascii_strtoll(attr(attrs, "expires"), NULL, 10);
	if (!c.server || !c.username || !c.origin) {
		cred_clear(&c);
		return err_set(ERR_FAILED, "out of memory");
	}
	*out = c;
	return 0;
}

static gboolean username_is_secret(SecretItem *item)
{
	g_autoptr(GHashTable) attrs = secret_item_get_attributes(item);

	return strcmp(attr(attrs, "username-is-secret"), "1") == 0;
}

/* See secret_put: the username was the secret itself. */
static int username_from_secret(struct cred *c)
{
	char *u = secmem_dup(c->secret, c->secret_len);

	if (!u)
		return err_set(ERR_FAILED, "out of memory");
	secmem_free_str(c->username);
	c->username = u;
	return 0;
}

/* gnome-keyring answers a call on a deleted item's path with UnknownMethod ("No such secret
 * item at path"), other services with NoSuchObject or UnknownObject. */
gboolean store_secret_vanished(GError *e)
{
	g_autofree char *remote = g_dbus_error_get_remote_error(e);

	return g_error_matches(e, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT) ||
	       g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
	       g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
	       (remote && strcmp(remote, "org.freedesktop.Secret.Error.NoSuchObject") == 0);
}

/* SearchItems, then one proxy per item. A concurrent writer may delete an item between the
 * two (a replacement deletes the old item); searching again then finds the new one. */
static int search(struct secret_store *s, GHashTable *attrs, SecretSearchFlags flags, GList **out)
{
	GList *found;
	int attempt;

	for (attempt = 0; attempt < 5; attempt++) {
		g_autoptr(GError) e = NULL;

		found = secret_service_search_sync(s->service, NULL, attrs, flags | SECRET_SEARCH_ALL,
						   s->cancel, &e);
		if (!e) {
			*out = found;
			return 0;
		}
		if (!store_secret_vanished(e))
			return store_secret_gerror(s, e, "cannot search the keyring");
	}
	return err_set(ERR_UNAVAILABLE, "the keyring kept changing while it was searched");
}

/* Our items and legacy items whose server attribute is exactly server. */
static int search_server(struct secret_store *s, const char *server, SecretSearchFlags flags,
			 GList **out)
{
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	GList *found = NULL, *l, *keep = NULL;
	int rc;

	/* No schema: one search finds both layouts; other applications' items that happen to
	 * have a "server" attribute are dropped below. */
	g_hash_table_insert(attrs, "server", (char *)server);
	rc = search(s, attrs, flags, &found);
	if (rc)
		return rc;
	for (l = found; l; l = l->next) {
		/* A locked item shows no attributes, so its schema is unknown: keep it, so that get
		 * can say "locked" rather than "not found". */
		if (kind_of(l->data) != ITEM_OTHER || secret_item_get_locked(l->data))
			keep = g_list_prepend(keep, g_object_ref(l->data));
	}
	g_list_free_full(found, g_object_unref);
	*out = keep;
	return 0;
}

/* Has the item's secret been loaded? (secret_item_get_secret returns a new reference.) */
static gboolean has_secret(SecretItem *item)
{
	SecretValue *v = secret_item_get_secret(item);

	if (!v)
		return FALSE;
	secret_value_unref(v);
	return TRUE;
}

/* The item get should answer from: ours before legacy, then the newest. */
static SecretItem *best_item(GList *items)
{
	SecretItem *best = NULL;
	GList *l;

	for (l = items; l; l = l->next) {
		SecretItem *it = l->data;

		if (!best || kind_of(it) < kind_of(best) ||
		    (kind_of(it) == kind_of(best) &&
		     secret_item_get_modified(it) > secret_item_get_modified(best)))
			best = it;
	}
	return best;
}

static int unlock_item(struct secret_store *s, SecretItem *item)
{
	g_autoptr(GError) e = NULL;
	GList one = {item, NULL, NULL};

	if (!can_prompt(s))
		return err_set(ERR_UNAVAILABLE,
			       "the keyring is locked and no unlock prompt can be shown here "
			       "(no display, or prompts disabled)");
	/* A person needs longer than a D-Bus round trip to type a password. */
	if (s->deadline)
		deadline_arm(s->deadline, s->opts.prompt_timeout_ms);
	if (secret_service_unlock_sync(s->service, &one, s->cancel, NULL, &e) < 1)
		return e ? store_secret_gerror(s, e, "cannot unlock the keyring")
			 : err_set(ERR_UNAVAILABLE, "the keyring stayed locked");
	if (!secret_item_load_secret_sync(item, s->cancel, &e))
		return store_secret_gerror(s, e, "cannot read the secret");
	return 0;
}

/* ---- the store interface ----------------------------------------------------------------- */

/* The session bus address as GDBus will find it (ensure_session_bus_address), escaped as a
 * D-Bus address; "" when there is none. */
static void bus_address(char *buf, size_t size)
{
	static const char plain[] = "-_/.\\*";
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char path[4096];
	struct stat st;
	size_t i, n;

	buf[0] = '\0';
	if (addr && addr[0]) {
		snprintf(buf, size, "%s", addr);
		return;
	}
	if (!rt || !rt[0] || (size_t)snprintf(path, sizeof(path), "%s/bus", rt) >= sizeof(path) ||
	    stat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
		return;
	n = (size_t)snprintf(buf, size, "unix:path=");
	for (i = 0; path[i] && n + 4 < size; i++) {
		unsigned char c = (unsigned char)path[i];

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    strchr(plain, c))
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "%%%02x", c);
	}
	buf[path[i] ? 0 : n] = '\0';
}

/* Ask the quick way first (dbus_quick.c): a definite "no item" costs neither GLib nor
 * libsecret. 0: ask libsecret, within *left_ms (what the quick way left of the timeout, so that
 * the keyring's own time in a get stays within one timeout; work a caller overlapped with the
 * wait, store_overlap, comes on top). */
static int quick_answer(struct secret_store *s, const char *server, unsigned *left_ms)
{
	int64_t start = monotonic_ms(), worked = store_overlap_ms(), spent;
	enum dbus_quick_answer q;
	char addr[8192];

	*left_ms = s->opts.timeout_ms;
	bus_address(addr, sizeof(addr));
	if (!addr[0])
		return 0;
	q = dbus_quick_any_item(addr, server, s->opts.timeout_ms, store_overlap_run);
	/* The caller's work while we waited (store_overlap) is not the keyring's time. */
	spent = monotonic_ms() - start - (store_overlap_ms() - worked);
	if (spent >= (int64_t)s->opts.timeout_ms) {
		if (q != DBUS_QUICK_NONE)
			q = DBUS_QUICK_TIMEOUT;
	} else if (spent > 0) {
		*left_ms = s->opts.timeout_ms - (unsigned)spent;
	}
	switch (q) {
	case DBUS_QUICK_NONE:
		return err_set(ERR_NOTFOUND, "no entry for %s in the keyring", server);
	case DBUS_QUICK_TIMEOUT:
		return err_set(ERR_TIMEOUT, "cannot search the keyring: the Secret Service did not "
			       "answer within %u ms", s->opts.timeout_ms);
	default:
		return 0;
	}
}

static int secret_get(struct store *base, const char *server, struct cred *out)
{
	struct secret_store *s = (struct secret_store *)base;
	GList *items = NULL;
	SecretItem *item = NULL;
	SecretValue *value;
	int attempt;
	struct cred c = {0};
	const char *data;
	unsigned left_ms;
	gsize len;
	int rc;

	err_clear();
	rc = quick_answer(s, server, &left_ms);
	/* Loaded before the first GLib call, which may be a free on the way out. */
	if (!rc)
		rc = glib_lazy_load();
	if (rc)
		return rc;
	rc = op_begin_within(s, left_ms);
	/* A concurrent store replaces an item by creating the new one and then deleting the old
	 * one; a search that lands in between may return an item that is gone before its secret
	 * is read. Searching again finds the new one. */
	for (attempt = 0; !rc && attempt < 5; attempt++) {
		g_list_free_full(items, g_object_unref);
		items = NULL;
		rc = search_server(s, server, SECRET_SEARCH_LOAD_SECRETS, &items);
		item = rc ? NULL : best_item(items);
		if (!item || has_secret(item) || secret_item_get_locked(item))
			break;
	}
	if (rc == 0 && attempt == 5)
		rc = err_set(ERR_UNAVAILABLE, "the entry for %s kept changing while it was read", server);
	if (rc)
		goto out;
	if (!item) {
		rc = err_set(ERR_NOTFOUND, "no entry for %s in the keyring", server);
		goto out;
	}
	if (!has_secret(item) && secret_item_get_locked(item)) {
		rc = unlock_item(s, item);
		if (rc)
			goto out;
	}
	value = secret_item_get_secret(item);
	if (!value) {
		rc = err_set(ERR_UNAVAILABLE, "the keyring returned no secret for %s", server);
		goto out;
	}
	rc = cred_from_item(item, &c);
	if (!rc) {
		data = secret_value_get(value, &len);
		c.secret = secmem_dup(data, len);
		c.secret_len = len;
		if (!c.secret)
			rc = err_set(ERR_FAILED, "out of memory");
		else if (username_is_secret(item))
			rc = username_from_secret(&c);
	}
	secret_value_unref(value);
	if (!rc) {
		*out = c;
		memset(&c, 0, sizeof(c));
	}
out:
	cred_clear(&c);
	g_list_free_full(items, g_object_unref);
	store_secret_op_end(s);
	return rc;
}

/* After a put, delete every other entry of ours for the server (another username, origin or
 * expiry), so exactly one remains. Legacy entries are left for the old helper. */
static int remove_replaced(struct secret_store *s, const struct cred *kept, const char *username,
			   const char *expires, SecretItem **kept_item, GPtrArray *removed)
{
	GList *items = NULL, *l;
	g_autoptr(GError) e = NULL;
	int rc = search_server(s, kept->server, SECRET_SEARCH_NONE, &items);

	for (l = items; !rc && l; l = l->next) {
		g_autoptr(GHashTable) attrs = secret_item_get_attributes(l->data);

		if (kind_of(l->data) != ITEM_OURS)
			continue;
		if (strcmp(attr(attrs, "username"), username) == 0 &&
		    strcmp(attr(attrs, "origin"), kept->origin) == 0 &&
		    strcmp(attr(attrs, "expires"), expires) == 0) {
			if (!*kept_item)
				*kept_item = g_object_ref(l->data);
			continue;
		}
		g_ptr_array_add(removed, g_strdup(g_dbus_proxy_get_object_path(l->data)));
		if (!secret_item_delete_sync(l->data, s->cancel, &e))
			rc = store_secret_gerror(s, e, "cannot remove the replaced entry");
	}
	g_list_free_full(items, g_object_unref);
	return rc;
}

/* Keep the list index in step with a put (store_secret_index.c): the server's entries go, the
 * item that now holds it comes in. */
static void index_after_put(struct secret_store *s, int rc, const char *server, SecretItem *kept,
			    GPtrArray *removed)
{
	g_autoptr(GHashTable) attrs = kept ? secret_item_get_attributes(kept) : NULL;
	struct list_index_entry e = {0};

	if (kept) {
		e.path = (char *)g_dbus_proxy_get_object_path(G_DBUS_PROXY(kept));
		e.server = (char *)attr(attrs, "server");
		e.username = (char *)attr(attrs, "username");
		e.origin = (char *)attr(attrs, "origin");
		e.expires = g_ascii_strtoll(attr(attrs, "expires"), NULL, 10);
		e.username_is_secret = strcmp(attr(attrs, "username-is-secret"), "1") == 0;
	}
	store_secret_index_changed(s, rc, server, (char *const *)removed->pdata, removed->len,
				   kept ? &e : NULL);
}

static int secret_put(struct store *base, const struct cred *in)
{
	struct secret_store *s = (struct secret_store *)base;
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GError) e = NULL;
	g_autofree char *label = NULL;
	char expires[24];
	struct cred c = *in;
	const char *username;
	SecretValue *value = NULL;
	SecretItem *kept = NULL;
	GPtrArray *removed = g_ptr_array_new_with_free_func(g_free);
	int lock, rc;

	if (!c.origin)
		c.origin = CRED_ORIGIN_LOGIN;
	username = c.username;
	snprintf(expires, sizeof(expires), "%lld", (long long)c.expires);
	/* Connect before locking, so "no keyring" is the error a user sees on a bare server. */
	rc = store_secret_op_begin(s);
	lock = rc ? -1 : lockfile_acquire("store", s->opts.timeout_ms);
	if (lock < 0) {
		rc = rc ? rc : lock;
		goto out;
	}
	g_hash_table_insert(attrs, "server", c.server);
	/* Attributes are readable without unlocking and show in `list` and seahorse. Some
	 * registries use the token as the username too (DigitalOcean's older "token:token"): then
	 * the username is kept only as the secret, and put back on get. */
	if (c.secret && strlen(c.username) == c.secret_len &&
	    memcmp(c.username, c.secret, c.secret_len) == 0) {
		username = "";
		g_hash_table_insert(attrs, "username-is-secret", "1");
	}
	g_hash_table_insert(attrs, "username", (char *)username);
	g_hash_table_insert(attrs, "origin", c.origin);
	g_hash_table_insert(attrs, "expires", expires);
	label = g_strdup_printf("Registry login for %s", c.server);
	value = secret_value_new(c.secret ? c.secret : "", (gssize)c.secret_len, "text/plain");
	if (!secret_service_store_sync(s->service, &schema_ours, attrs, SECRET_COLLECTION_DEFAULT,
				       label, value, s->cancel, &e))
		rc = store_secret_gerror(s, e, "cannot store in the keyring");
	else
		rc = remove_replaced(s, &c, username, expires, &kept, removed);
	/* Even a failed store may have created the item. */
	index_after_put(s, rc, c.server, kept, removed);
out:
	if (value)
		secret_value_unref(value);
	g_clear_object(&kept);
	g_ptr_array_unref(removed);
	store_secret_op_end(s);
	lockfile_release(lock);
	return rc;
}

static int secret_del(struct store *base, const char *server)
{
	struct secret_store *s = (struct secret_store *)base;
	GList *items = NULL, *l;
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func(g_free);
	int lock, rc;

	rc = store_secret_op_begin(s);
	lock = rc ? -1 : lockfile_acquire("store", s->opts.timeout_ms);
	if (lock < 0)
		rc = rc ? rc : lock;
	if (!rc)
		rc = search_server(s, server, SECRET_SEARCH_NONE, &items);
	if (!rc && !items)
		rc = err_set(ERR_NOTFOUND, "no entry for %s in the keyring", server);
	for (l = items; !rc && l; l = l->next) {
		/* Never delete what we cannot identify: a locked item may be another program's. */
		if (kind_of(l->data) == ITEM_OTHER) {
			rc = err_set(ERR_UNAVAILABLE, "cannot remove the entry: the keyring is locked");
			break;
		}
		g_ptr_array_add(removed, g_strdup(g_dbus_proxy_get_object_path(l->data)));
		if (!secret_item_delete_sync(l->data, s->cancel, &e))
			rc = store_secret_gerror(s, e, "cannot remove the entry");
	}
	/* Keep the list index in step (store_secret_index.c). */
	if (removed->len)
		store_secret_index_changed(s, rc, server, (char *const *)removed->pdata, removed->len,
					   NULL);
	g_list_free_full(items, g_object_unref);
	store_secret_op_end(s);
	lockfile_release(lock);
	return rc;
}

/* put, del and list declare GLib objects in their first lines, so libsecret must be loaded
 * before they are entered: a missing libsecret is then an ordinary error, not an abort in a
 * stub (glib_lazy.c). get needs no wrapper: it loads it only when the quick check says so. */
static int loaded_put(struct store *base, const struct cred *in)
{
	int rc = glib_lazy_load();

	return rc ? rc : secret_put(base, in);
}

static int loaded_del(struct store *base, const char *server)
{
	int rc = glib_lazy_load();

	return rc ? rc : secret_del(base, server);
}

static int loaded_list(struct store *base, struct cred_list *out)
{
	int rc = glib_lazy_load();

	return rc ? rc : store_secret_list(base, out);
}

static void secret_free(struct store *base)
{
	struct secret_store *s = (struct secret_store *)base;

	deadline_free(s->deadline);
	g_clear_object(&s->cancel);
	g_clear_object(&s->service);
	free(s);
}

struct store *store_secret_new(const struct store_secret_opts *opts)
{
	struct secret_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->opts = *opts;
	s->base.get = secret_get;
	s->base.put = loaded_put;
	s->base.del = loaded_del;
	s->base.list = loaded_list;
	s->base.free = secret_free;
	return &s->base;
}
