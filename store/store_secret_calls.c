/* store_secret_calls: D-Bus calls to the Secret Service, sent together and awaited together.
 *
 * libsecret waits for each call before it makes the next, so reading N items costs N round
 * trips. list and the list index talk to the service directly: calls that do not depend on each
 * other's answers are all in flight at once (at most CALL_WINDOW at a time: dbus-daemon's
 * default limit on pending replies per connection is 128), so their cost barely grows with N.
 * No call here loads a secret. */
#include <gio/gio.h>
#include <string.h>

#include "err.h"
#include "store_secret_internal.h"

#define CALL_WINDOW 96

struct run {
	struct secret_call *calls;
	size_t inflight;
};

struct ctx {
	struct run *run;
	size_t i;
};

static void answered(GObject *src, GAsyncResult *res, gpointer data)
{
	struct ctx *c = data;
	struct secret_call *call = &c->run->calls[c->i];

	call->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &call->error);
	c->run->inflight--;
	g_free(c);
}

int store_secret_call_all(struct secret_store *s, GDBusConnection *bus, struct secret_call *calls,
			  size_t n)
{
	GMainContext *ctx;
	struct run run = {calls, 0};
	size_t next = 0;

	if (n == 0)
		return 0;
	ctx = g_main_context_new();
	g_main_context_push_thread_default(ctx);
	while (next < n || run.inflight) {
		while (next < n && run.inflight < CALL_WINDOW && !g_cancellable_is_cancelled(s->cancel)) {
			struct secret_call *call = &calls[next];
			struct ctx *c = g_new(struct ctx, 1);

			c->run = &run;
			c->i = next++;
			run.inflight++;
			g_dbus_connection_call(bus, SECRET_BUS, call->path, call->iface, call->method,
					       call->args, G_VARIANT_TYPE(call->reply_type),
					       G_DBUS_CALL_FLAGS_NONE, -1, s->cancel, answered, c);
			call->args = NULL; /* the floating reference went to the call */
		}
		if (run.inflight)
			g_main_context_iteration(ctx, TRUE);
		else if (next < n)
			break; /* cancelled before everything was sent */
	}
	g_main_context_pop_thread_default(ctx);
	g_main_context_unref(ctx);
	if (next < n)
		return err_set(ERR_TIMEOUT, "the Secret Service did not answer within %u ms",
			       s->opts.timeout_ms);
	return 0;
}

void store_secret_call_clear(struct secret_call *calls, size_t n)
{
	size_t i;

	for (i = 0; calls && i < n; i++) {
		if (calls[i].args)
			g_variant_unref(g_variant_ref_sink(calls[i].args));
		if (calls[i].reply)
			g_variant_unref(calls[i].reply);
		g_clear_error(&calls[i].error);
		memset(&calls[i], 0, sizeof(calls[i]));
	}
}

void store_secret_call_search(struct secret_call *c, const char *schema)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{ss}"));
	g_variant_builder_add(&b, "{ss}", "xdg:schema", schema);
	c->path = SECRET_PATH;
	c->iface = "org.freedesktop.Secret.Service";
	c->method = "SearchItems";
	c->args = g_variant_new("(a{ss})", &b);
	c->reply_type = "(aoao)";
}

void store_secret_call_attrs(struct secret_call *c, const char *path)
{
	c->path = path;
	c->iface = "org.freedesktop.DBus.Properties";
	c->method = "Get";
	c->args = g_variant_new("(ss)", "org.freedesktop.Secret.Item", "Attributes");
	c->reply_type = "(v)";
}

/* A NULL-terminated copy of a D-Bus array of object paths. */
static char **paths_of(GVariant *ao)
{
	gsize n, i;
	const char **v = g_variant_get_objv(ao, &n);
	char **out = g_new(char *, n + 1);

	for (i = 0; i < n; i++)
		out[i] = g_strdup(v[i]);
	out[n] = NULL;
	g_free(v);
	return out;
}

void store_secret_search_result(const struct secret_call *c, char ***unlocked, char ***locked)
{
	g_autoptr(GVariant) u = g_variant_get_child_value(c->reply, 0);
	g_autoptr(GVariant) l = g_variant_get_child_value(c->reply, 1);

	*unlocked = paths_of(u);
	*locked = paths_of(l);
}

GVariant *store_secret_attrs_result(const struct secret_call *c)
{
	g_autoptr(GVariant) v = NULL;

	if (!c->reply)
		return NULL;
	g_variant_get(c->reply, "(v)", &v);
	if (!g_variant_is_of_type(v, G_VARIANT_TYPE("a{ss}")))
		return NULL;
	return g_variant_ref(v);
}
