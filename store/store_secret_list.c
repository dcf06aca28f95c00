/* store_secret_list: the list operation of the Secret Service store, with direct D-Bus calls
 * instead of libsecret's per-item proxies.
 *
 * libsecret's search makes one proxy per item and waits for each item's GetAll in turn, so a
 * list of N entries costs N round trips. Here: one SearchItems per schema, then every item's
 * Attributes property requested with calls that are all in flight together (at most
 * LIST_WINDOW at a time: dbus-daemon's default limit on pending replies per connection is 128)
 * and awaited together, so the time barely grows with N and no secret is loaded. */
#include <gio/gio.h>
#include <string.h>

#include "err.h"
#include "store.h"
#include "store_secret_internal.h"

#define SECRET_BUS "org.freedesktop.secrets"
#define SECRET_PATH "/org/freedesktop/secrets"
#define LIST_WINDOW 96

struct list_call {
	GVariant *attrs; /* a{ss}, NULL until answered or when it failed */
	GError *error;
};

struct list_run {
	struct list_call *calls;
	size_t inflight;
};

struct list_ctx {
	struct list_run *run;
	size_t i;
};

static void list_got_attrs(GObject *src, GAsyncResult *res, gpointer data)
{
	struct list_ctx *c = data;
	struct list_call *call = &c->run->calls[c->i];
	GVariant *reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &call->error);

	if (reply) {
		GVariant *v = NULL;

		g_variant_get(reply, "(v)", &v);
		if (v && g_variant_is_of_type(v, G_VARIANT_TYPE("a{ss}")))
			call->attrs = g_variant_ref(v);
		if (v)
			g_variant_unref(v);
		g_variant_unref(reply);
	}
	c->run->inflight--;
	g_free(c);
}

/* SearchItems for one schema: the unlocked paths, then the locked ones (as libsecret orders
 * them). *out is a NULL-terminated array (g_strfreev). */
static int list_search(struct secret_store *s, GDBusConnection *bus, const char *schema_name,
		       char ***out)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree const char **unlocked = NULL, **locked = NULL;
	GVariantBuilder b;
	GPtrArray *all;
	size_t i;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{ss}"));
	g_variant_builder_add(&b, "{ss}", "xdg:schema", schema_name);
	reply = g_dbus_connection_call_sync(bus, SECRET_BUS, SECRET_PATH,
					    "org.freedesktop.Secret.Service", "SearchItems",
					    g_variant_new("(a{ss})", &b), G_VARIANT_TYPE("(aoao)"),
					    G_DBUS_CALL_FLAGS_NONE, -1, s->cancel, &e);
	if (!reply)
		return store_secret_gerror(s, e, "cannot search the keyring");
	g_variant_get(reply, "(^a&o^a&o)", &unlocked, &locked);
	all = g_ptr_array_new();
	for (i = 0; unlocked && unlocked[i]; i++)
		g_ptr_array_add(all, g_strdup(unlocked[i]));
	for (i = 0; locked && locked[i]; i++)
		g_ptr_array_add(all, g_strdup(locked[i]));
	g_ptr_array_add(all, NULL);
	*out = (char **)g_ptr_array_free(all, FALSE);
	return 0;
}

static int cred_from_attrs(GVariant *attrs, struct cred *out)
{
	const char *server = "", *username = "", *origin = "", *expires = "";
	struct cred c = {0};

	if (attrs) {
		g_variant_lookup(attrs, "server", "&s", &server);
		g_variant_lookup(attrs, "username", "&s", &username);
		g_variant_lookup(attrs, "origin", "&s", &origin);
		g_variant_lookup(attrs, "expires", "&s", &expires);
	}
	c.server = strdup(server);
	c.username = strdup(username);
	c.origin = strdup(origin[0] ? origin : CRED_ORIGIN_LOGIN);
	c.expires = g_ascii_strtoll(expires, NULL, 10);
	if (!c.server || !c.username || !c.origin) {
		cred_clear(&c);
		return err_set(ERR_FAILED, "out of memory");
	}
	*out = c;
	return 0;
}

/* The Attributes of every path, pipelined, added to l (first per server wins). *vanished is set
 * when an item disappeared in between (a concurrent replacement): the caller searches again. */
static int list_fetch(struct secret_store *s, GDBusConnection *bus, char **paths,
		      struct cred_list *l, int *vanished)
{
	GMainContext *ctx = g_main_context_new();
	struct list_run run = {0};
	size_t n = g_strv_length(paths), next = 0, i;
	int rc = 0;

	run.calls = g_new0(struct list_call, n ? n : 1);
	g_main_context_push_thread_default(ctx);
	while (next < n || run.inflight) {
		while (next < n && run.inflight < LIST_WINDOW && !g_cancellable_is_cancelled(s->cancel)) {
			struct list_ctx *c = g_new(struct list_ctx, 1);

			c->run = &run;
			c->i = next;
			run.inflight++;
			g_dbus_connection_call(bus, SECRET_BUS, paths[next], "org.freedesktop.DBus.Properties",
					       "Get", g_variant_new("(ss)", "org.freedesktop.Secret.Item",
								    "Attributes"),
					       G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, s->cancel,
					       list_got_attrs, c);
			next++;
		}
		if (run.inflight)
			g_main_context_iteration(ctx, TRUE);
		else if (next < n)
			break; /* cancelled before everything was sent */
	}
	g_main_context_pop_thread_default(ctx);
	g_main_context_unref(ctx);
	if (next < n)
		rc = err_set(ERR_TIMEOUT, "cannot list the keyring: the Secret Service did not answer "
			     "within %u ms", s->opts.timeout_ms);
	for (i = 0; i < n; i++) {
		struct list_call *call = &run.calls[i];

		if (!rc && call->error) {
			if (store_secret_vanished(call->error))
				*vanished = 1;
			else
				rc = store_secret_gerror(s, call->error, "cannot read an entry's attributes");
		}
		if (!rc && call->attrs) {
			struct cred c = {0};

			rc = cred_from_attrs(call->attrs, &c);
			/* One entry per server: ours were added first and win over legacy ones. */
			if (!rc && c.server[0] && cred_list_find(l, c.server) < 0)
				rc = cred_list_add(l, &c);
			cred_clear(&c);
		}
		if (call->attrs)
			g_variant_unref(call->attrs);
		g_clear_error(&call->error);
	}
	g_free(run.calls);
	return rc;
}

int store_secret_list(struct store *base, struct cred_list *out)
{
	struct secret_store *s = (struct secret_store *)base;
	const char *schemas[] = {SCHEMA_OURS, SCHEMA_LEGACY};
	struct cred_list l = {0};
	GDBusConnection *bus;
	int attempt, vanished = 1, rc;
	size_t i;

	rc = store_secret_op_begin(s);
	bus = rc ? NULL : g_dbus_proxy_get_connection(G_DBUS_PROXY(s->service));
	/* An item deleted between the search and the read (a concurrent replacement): its
	 * replacement exists by then, so searching again finds it. */
	for (attempt = 0; !rc && vanished && attempt < 5; attempt++) {
		vanished = 0;
		cred_list_clear(&l);
		for (i = 0; !rc && i < 2; i++) {
			char **paths = NULL;

			rc = list_search(s, bus, schemas[i], &paths);
			if (!rc)
				rc = list_fetch(s, bus, paths, &l, &vanished);
			g_strfreev(paths);
		}
	}
	if (!rc && vanished)
		rc = err_set(ERR_UNAVAILABLE, "the keyring kept changing while it was listed");
	store_secret_op_end(s);
	if (rc) {
		cred_list_clear(&l);
		return rc;
	}
	*out = l;
	return 0;
}
