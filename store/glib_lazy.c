/* glib_lazy: GLib, GIO and libsecret loaded on first use, not at process start.
 *
 * Why. Linking libsecret pulls in GLib, GObject and GIO, and the dynamic loader maps and
 * relocates them, and runs GObject's type-system constructor, before main: 1.8 ms and 3.5 MB
 * of resident memory on every start (measured: an empty main() linked with libsecret takes
 * 2.5 ms and 4.6 MB, unlinked 0.7 ms and 1.1 MB). Most calls never need them: a get answered
 * from the kernel-keyring cache (store_kernel.c), `version`, usage errors. So the binary does
 * not link them; the first Secret Service operation calls glib_lazy_load(), which dlopen()s
 * libsecret (and with it GLib), and from then on the functions below forward to the real ones.
 *
 * How. store_secret.c and deadline.c are compiled against the real headers and call GLib as
 * usual; the linker resolves those calls to the stubs in this file, one per function we use,
 * each defined with the header's own prototype, so a stub whose signature drifts from GLib's
 * does not compile. A stub finds its function with dlsym() on the libsecret handle (which
 * searches GLib too) once and keeps the pointer. Variadic functions forward to GLib's own
 * va_list variants, as GLib itself implements them. A function missing here is a link error
 * naming it: add a line.
 *
 * The executable exports none of these names (nothing it links references them), so the
 * libraries we load keep using their own functions. */
#include <dlfcn.h>
#include <libsecret/secret.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "glib_lazy.h"

#define LIBSECRET_SONAME "libsecret-1.so.0"

static void *handle;
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	handle = dlopen(LIBSECRET_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
}

int glib_lazy_load(void)
{
	pthread_once(&load_once, load);
	if (handle)
		return 0;
	return err_set(ERR_UNAVAILABLE, "cannot use the Secret Service: %s (install libsecret-1-0)",
		       load_error);
}

/* The address of a GLib or libsecret function. Reaching a stub before glib_lazy_load()
 * succeeded is a bug in the caller: there is no error to return from g_free(). */
static void *lazy_sym(const char *name)
{
	void *p = NULL;

	pthread_once(&load_once, load);
	if (handle)
		p = dlsym(handle, name);
	if (!p) {
		fprintf(stderr, "docker-credential-keyring: internal error: %s unavailable (%s)\n",
			name, handle ? "not in " LIBSECRET_SONAME : load_error);
		abort();
	}
	return p;
}

/* The real function, looked up once; the atomics make concurrent first calls (the deadline
 * thread and the main thread) well defined. */
#define REAL(name)                                                                         \
	({                                                                                 \
		static __typeof__(name) *real_;                                            \
		__typeof__(name) *f_ = __atomic_load_n(&real_, __ATOMIC_ACQUIRE);          \
		if (!f_) {                                                                 \
			f_ = (__typeof__(name) *)lazy_sym(#name);                          \
			__atomic_store_n(&real_, f_, __ATOMIC_RELEASE);                    \
		}                                                                          \
		f_;                                                                        \
	})

/* (name) in parentheses: GLib defines some functions as function-like macros too. */
#define STUB(ret, name, params, args) \
	ret(name) params { return REAL(name) args; }
#define STUB_VOID(name, params, args) \
	void(name) params { REAL(name) args; }

/* ---- GLib ------------------------------------------------------------------------------- */
STUB(gint64, g_ascii_strtoll, (const gchar *s, gchar **end, guint base), (s, end, base))
STUB_VOID(g_clear_error, (GError **e), (e))
STUB_VOID(g_error_free, (GError *e), (e))
STUB(gboolean, g_error_matches, (const GError *e, GQuark domain, gint code), (e, domain, code))
STUB_VOID(g_free, (gpointer p), (p))
STUB(gpointer, g_malloc, (gsize n), (n))
STUB(gpointer, g_malloc0, (gsize n), (n))
STUB(gpointer, g_malloc_n, (gsize n, gsize size), (n, size))
STUB(gpointer, g_malloc0_n, (gsize n, gsize size), (n, size))
STUB(gchar *, g_strdup, (const gchar *s), (s))
STUB(gchar *, g_strdup_vprintf, (const gchar *fmt, va_list ap), (fmt, ap))
STUB_VOID(g_strfreev, (gchar **v), (v))
STUB(guint, g_strv_length, (gchar **v), (v))
STUB(gboolean, g_str_equal, (gconstpointer a, gconstpointer b), (a, b))
STUB(guint, g_str_hash, (gconstpointer s), (s))
STUB(gchar *, g_build_filename_valist, (const gchar *first, va_list *ap), (first, ap))
STUB(GHashTable *, g_hash_table_new, (GHashFunc h, GEqualFunc eq), (h, eq))
STUB(gboolean, g_hash_table_insert, (GHashTable *t, gpointer k, gpointer v), (t, k, v))
STUB(gpointer, g_hash_table_lookup, (GHashTable *t, gconstpointer k), (t, k))
STUB_VOID(g_hash_table_unref, (GHashTable *t), (t))
STUB(GList *, g_list_prepend, (GList *l, gpointer data), (l, data))
STUB_VOID(g_list_free_full, (GList *l, GDestroyNotify free_func), (l, free_func))
STUB(GPtrArray *, g_ptr_array_new, (void), ())
STUB_VOID(g_ptr_array_add, (GPtrArray *a, gpointer data), (a, data))
STUB(gpointer *, g_ptr_array_free, (GPtrArray *a, gboolean free_segment), (a, free_segment))
STUB(GMainContext *, g_main_context_new, (void), ())
STUB_VOID(g_main_context_unref, (GMainContext *c), (c))
STUB(gboolean, g_main_context_iteration, (GMainContext *c, gboolean may_block), (c, may_block))
STUB_VOID(g_main_context_push_thread_default, (GMainContext *c), (c))
STUB_VOID(g_main_context_pop_thread_default, (GMainContext *c), (c))
STUB(GVariant *, g_variant_new_va, (const gchar *fmt, const gchar **endptr, va_list *ap),
     (fmt, endptr, ap))
STUB_VOID(g_variant_get_va, (GVariant *v, const gchar *fmt, const gchar **endptr, va_list *ap),
	  (v, fmt, endptr, ap))
STUB(GVariant *, g_variant_ref, (GVariant *v), (v))
STUB_VOID(g_variant_unref, (GVariant *v), (v))
STUB(GVariant *, g_variant_get_child_value, (GVariant *v, gsize i), (v, i))
STUB(gsize, g_variant_n_children, (GVariant *v), (v))
STUB(gboolean, g_variant_is_of_type, (GVariant *v, const GVariantType *t), (v, t))
STUB(const GVariantType *, g_variant_type_checked_, (const gchar *s), (s))
STUB(GVariantType *, g_variant_format_string_scan_type,
     (const gchar *s, const gchar *limit, const gchar **endptr), (s, limit, endptr))
STUB_VOID(g_variant_type_free, (GVariantType *t), (t))
STUB(GVariant *, g_variant_lookup_value, (GVariant *d, const gchar *key, const GVariantType *t),
     (d, key, t))
STUB_VOID(g_variant_builder_init, (GVariantBuilder *b, const GVariantType *t), (b, t))
STUB_VOID(g_variant_builder_add_value, (GVariantBuilder *b, GVariant *v), (b, v))

/* Variadic ones, through the va_list variants (as GLib implements them). */
gchar *g_strdup_printf(const gchar *fmt, ...)
{
	va_list ap;
	gchar *s;

	va_start(ap, fmt);
	s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return s;
}

gchar *g_strconcat(const gchar *first, ...)
{
	va_list ap;
	const gchar *p;
	gsize n = 0;
	gchar *s, *at;

	if (!first)
		return NULL;
	va_start(ap, first);
	for (p = first; p; p = va_arg(ap, const gchar *))
		n += strlen(p);
	va_end(ap);
	at = s = g_malloc(n + 1);
	va_start(ap, first);
	for (p = first; p; p = va_arg(ap, const gchar *)) {
		memcpy(at, p, strlen(p));
		at += strlen(p);
	}
	va_end(ap);
	*at = '\0';
	return s;
}

gchar *g_build_filename(const gchar *first, ...)
{
	va_list ap;
	gchar *s;

	va_start(ap, first);
	s = g_build_filename_valist(first, &ap);
	va_end(ap);
	return s;
}

GVariant *g_variant_new(const gchar *fmt, ...)
{
	va_list ap;
	GVariant *v;

	va_start(ap, fmt);
	v = g_variant_new_va(fmt, NULL, &ap);
	va_end(ap);
	return v;
}

void g_variant_get(GVariant *v, const gchar *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_variant_get_va(v, fmt, NULL, &ap);
	va_end(ap);
}

void g_variant_builder_add(GVariantBuilder *b, const gchar *fmt, ...)
{
	va_list ap;
	GVariant *v;

	va_start(ap, fmt);
	v = g_variant_new_va(fmt, NULL, &ap);
	va_end(ap);
	g_variant_builder_add_value(b, v);
}

gboolean g_variant_lookup(GVariant *dict, const gchar *key, const gchar *fmt, ...)
{
	GVariantType *t = g_variant_format_string_scan_type(fmt, NULL, NULL);
	GVariant *v;
	va_list ap;

	if (!t)
		return FALSE;
	v = g_variant_lookup_value(dict, key, t);
	g_variant_type_free(t);
	if (!v)
		return FALSE;
	va_start(ap, fmt);
	g_variant_get_va(v, fmt, NULL, &ap);
	va_end(ap);
	g_variant_unref(v);
	return TRUE;
}

/* ---- GObject ------------------------------------------------------------------------------ */
STUB(gpointer, g_object_ref, (gpointer o), (o))
STUB_VOID(g_object_unref, (gpointer o), (o))
STUB(GTypeInstance *, g_type_check_instance_cast, (GTypeInstance *i, GType t), (i, t))

/* ---- GIO ---------------------------------------------------------------------------------- */
STUB(GCancellable *, g_cancellable_new, (void), ())
STUB_VOID(g_cancellable_cancel, (GCancellable *c), (c))
STUB_VOID(g_cancellable_reset, (GCancellable *c), (c))
STUB(gboolean, g_cancellable_is_cancelled, (GCancellable *c), (c))
STUB(GQuark, g_io_error_quark, (void), ())
STUB(GDBusConnection *, g_bus_get_sync, (GBusType type, GCancellable *cancel, GError **e),
     (type, cancel, e))
STUB(GQuark, g_dbus_error_quark, (void), ())
STUB(gchar *, g_dbus_error_get_remote_error, (const GError *e), (e))
STUB(gchar *, g_dbus_address_escape_value, (const gchar *s), (s))
STUB(GType, g_dbus_connection_get_type, (void), ())
STUB(GType, g_dbus_proxy_get_type, (void), ())
STUB(GDBusConnection *, g_dbus_proxy_get_connection, (GDBusProxy *p), (p))
STUB_VOID(g_dbus_connection_call,
	  (GDBusConnection *c, const gchar *bus, const gchar *path, const gchar *iface,
	   const gchar *method, GVariant *params, const GVariantType *reply_type,
	   GDBusCallFlags flags, gint timeout_ms, GCancellable *cancel, GAsyncReadyCallback cb,
	   gpointer data),
	  (c, bus, path, iface, method, params, reply_type, flags, timeout_ms, cancel, cb, data))
STUB(GVariant *, g_dbus_connection_call_finish, (GDBusConnection *c, GAsyncResult *r, GError **e),
     (c, r, e))
STUB(GVariant *, g_dbus_connection_call_sync,
     (GDBusConnection *c, const gchar *bus, const gchar *path, const gchar *iface,
      const gchar *method, GVariant *params, const GVariantType *reply_type, GDBusCallFlags flags,
      gint timeout_ms, GCancellable *cancel, GError **e),
     (c, bus, path, iface, method, params, reply_type, flags, timeout_ms, cancel, e))

/* ---- libsecret ---------------------------------------------------------------------------- */
STUB(GQuark, secret_error_get_quark, (void), ())
STUB(SecretService *, secret_service_get_sync,
     (SecretServiceFlags flags, GCancellable *cancel, GError **e), (flags, cancel, e))
STUB(GList *, secret_service_search_sync,
     (SecretService *s, const SecretSchema *schema, GHashTable *attrs, SecretSearchFlags flags,
      GCancellable *cancel, GError **e),
     (s, schema, attrs, flags, cancel, e))
STUB(gboolean, secret_service_store_sync,
     (SecretService *s, const SecretSchema *schema, GHashTable *attrs, const gchar *collection,
      const gchar *label, SecretValue *value, GCancellable *cancel, GError **e),
     (s, schema, attrs, collection, label, value, cancel, e))
STUB(gint, secret_service_unlock_sync,
     (SecretService *s, GList *objects, GCancellable *cancel, GList **unlocked, GError **e),
     (s, objects, cancel, unlocked, e))
STUB(gboolean, secret_item_delete_sync, (SecretItem *i, GCancellable *cancel, GError **e),
     (i, cancel, e))
STUB(GHashTable *, secret_item_get_attributes, (SecretItem *i), (i))
STUB(gboolean, secret_item_get_locked, (SecretItem *i), (i))
STUB(guint64, secret_item_get_modified, (SecretItem *i), (i))
STUB(gchar *, secret_item_get_schema_name, (SecretItem *i), (i))
STUB(SecretValue *, secret_item_get_secret, (SecretItem *i), (i))
STUB(gboolean, secret_item_load_secret_sync, (SecretItem *i, GCancellable *cancel, GError **e),
     (i, cancel, e))
STUB(SecretValue *, secret_value_new, (const gchar *secret, gssize length, const gchar *type),
     (secret, length, type))
STUB(const gchar *, secret_value_get, (SecretValue *v, gsize *length), (v, length))
STUB_VOID(secret_value_unref, (gpointer v), (v))
