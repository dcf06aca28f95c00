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
 * usual; the linker resolves those calls to the stubs in this file, one per function in the
 * FUNCTIONS table, each defined with the header's own prototype (so a stub whose signature
 * drifts from GLib's does not compile) and calling through a pointer that glib_lazy_load()
 * fills with dlsym() on the libsecret handle (which searches GLib too). Variadic functions
 * forward to GLib's own va_list variants, as GLib itself implements them. A function missing
 * from the table is a link error naming it: add a line.
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

/* Every function we call, as F(return type, name, (parameters), (arguments)), or
 * V(name, (parameters), (arguments)) when it returns void. */
#define FUNCTIONS(F, V) \
	/* GLib */ \
	F(gint64, g_ascii_strtoll, (const gchar *s, gchar **end, guint base), (s, end, base)) \
	V(g_clear_error, (GError **e), (e)) \
	V(g_error_free, (GError *e), (e)) \
	F(gboolean, g_error_matches, (const GError *e, GQuark domain, gint code), \
	  (e, domain, code)) \
	V(g_free, (gpointer p), (p)) \
	F(gpointer, g_malloc, (gsize n), (n)) \
	F(gpointer, g_malloc0, (gsize n), (n)) \
	F(gpointer, g_malloc_n, (gsize n, gsize size), (n, size)) \
	F(gpointer, g_malloc0_n, (gsize n, gsize size), (n, size)) \
	F(gchar *, g_strdup, (const gchar *s), (s)) \
	F(gchar *, g_strdup_vprintf, (const gchar *fmt, va_list ap), (fmt, ap)) \
	V(g_strfreev, (gchar **v), (v)) \
	F(guint, g_strv_length, (gchar **v), (v)) \
	F(gboolean, g_str_equal, (gconstpointer a, gconstpointer b), (a, b)) \
	F(guint, g_str_hash, (gconstpointer s), (s)) \
	F(gchar *, g_build_filename_valist, (const gchar *first, va_list *ap), (first, ap)) \
	F(GHashTable *, g_hash_table_new, (GHashFunc h, GEqualFunc eq), (h, eq)) \
	F(gboolean, g_hash_table_insert, (GHashTable *t, gpointer k, gpointer v), (t, k, v)) \
	F(gpointer, g_hash_table_lookup, (GHashTable *t, gconstpointer k), (t, k)) \
	V(g_hash_table_unref, (GHashTable *t), (t)) \
	F(GList *, g_list_prepend, (GList *l, gpointer data), (l, data)) \
	V(g_list_free_full, (GList *l, GDestroyNotify free_func), (l, free_func)) \
	F(GPtrArray *, g_ptr_array_new, (void), ()) \
	V(g_ptr_array_add, (GPtrArray *a, gpointer data), (a, data)) \
	F(gpointer *, g_ptr_array_free, (GPtrArray *a, gboolean free_segment), (a, free_segment)) \
	F(GMainContext *, g_main_context_new, (void), ()) \
	V(g_main_context_unref, (GMainContext *c), (c)) \
	F(gboolean, g_main_context_iteration, (GMainContext *c, gboolean may_block), \
	  (c, may_block)) \
	V(g_main_context_push_thread_default, (GMainContext *c), (c)) \
	V(g_main_context_pop_thread_default, (GMainContext *c), (c)) \
	F(GVariant *, g_variant_new_va, (const gchar *fmt, const gchar **endptr, va_list *ap), \
	  (fmt, endptr, ap)) \
	V(g_variant_get_va, (GVariant *v, const gchar *fmt, const gchar **endptr, va_list *ap), \
	  (v, fmt, endptr, ap)) \
	F(GVariant *, g_variant_ref, (GVariant *v), (v)) \
	V(g_variant_unref, (GVariant *v), (v)) \
	F(GVariant *, g_variant_get_child_value, (GVariant *v, gsize i), (v, i)) \
	F(gsize, g_variant_n_children, (GVariant *v), (v)) \
	F(gboolean, g_variant_is_of_type, (GVariant *v, const GVariantType *t), (v, t)) \
	F(const GVariantType *, g_variant_type_checked_, (const gchar *s), (s)) \
	F(gboolean, g_variant_check_format_string, (GVariant *v, const gchar *fmt, \
	  gboolean copy_only), \
	  (v, fmt, copy_only)) \
	F(GVariant *, g_variant_lookup_value, (GVariant *d, const gchar *key, \
	  const GVariantType *t), \
	  (d, key, t)) \
	V(g_variant_builder_init, (GVariantBuilder *b, const GVariantType *t), (b, t)) \
	V(g_variant_builder_add_value, (GVariantBuilder *b, GVariant *v), (b, v)) \
	F(guint64, g_ascii_strtoull, (const gchar *s, gchar **end, guint base), (s, end, base)) \
	F(int, g_strcmp0, (const char *a, const char *b), (a, b)) \
	F(gchar *, g_path_get_dirname, (const gchar *file), (file)) \
	F(guint32, g_random_int, (void), ()) \
	V(g_qsort_with_data, (gconstpointer base, gint n, gsize size, GCompareDataFunc cmp, \
	  gpointer data), (base, n, size, cmp, data)) \
	F(gboolean, g_hash_table_add, (GHashTable *t, gpointer k), (t, k)) \
	F(gboolean, g_hash_table_contains, (GHashTable *t, gconstpointer k), (t, k)) \
	V(g_hash_table_remove_all, (GHashTable *t), (t)) \
	F(GPtrArray *, g_ptr_array_new_with_free_func, (GDestroyNotify f), (f)) \
	V(g_ptr_array_unref, (GPtrArray *a), (a)) \
	V(g_variant_builder_clear, (GVariantBuilder *b), (b)) \
	F(GVariant *, g_variant_builder_end, (GVariantBuilder *b), (b)) \
	F(const gchar **, g_variant_get_objv, (GVariant *v, gsize *n), (v, n)) \
	F(gsize, g_variant_iter_init, (GVariantIter *i, GVariant *v), (i, v)) \
	F(GVariant *, g_variant_iter_next_value, (GVariantIter *i), (i)) \
	F(GVariant *, g_variant_new_from_data, (const GVariantType *t, gconstpointer data, \
	  gsize size, gboolean trusted, GDestroyNotify notify, gpointer user_data), \
	  (t, data, size, trusted, notify, user_data)) \
	F(GVariant *, g_variant_new_string, (const gchar *s), (s)) \
	F(gconstpointer, g_variant_get_data, (GVariant *v), (v)) \
	F(GVariant *, g_variant_ref_sink, (GVariant *v), (v)) \
	/* GObject */ \
	F(gpointer, g_object_ref, (gpointer o), (o)) \
	V(g_object_unref, (gpointer o), (o)) \
	F(GTypeInstance *, g_type_check_instance_cast, (GTypeInstance *i, GType t), (i, t)) \
	/* GIO */ \
	F(GCancellable *, g_cancellable_new, (void), ()) \
	V(g_cancellable_cancel, (GCancellable *c), (c)) \
	V(g_cancellable_reset, (GCancellable *c), (c)) \
	F(gboolean, g_cancellable_is_cancelled, (GCancellable *c), (c)) \
	F(GQuark, g_io_error_quark, (void), ()) \
	F(GDBusConnection *, g_bus_get_sync, (GBusType type, GCancellable *cancel, GError **e), \
	  (type, cancel, e)) \
	F(GQuark, g_dbus_error_quark, (void), ()) \
	F(gchar *, g_dbus_error_get_remote_error, (const GError *e), (e)) \
	F(gchar *, g_dbus_address_escape_value, (const gchar *s), (s)) \
	F(GType, g_dbus_connection_get_type, (void), ()) \
	F(GType, g_dbus_proxy_get_type, (void), ()) \
	F(GDBusConnection *, g_dbus_proxy_get_connection, (GDBusProxy *p), (p)) \
	F(const gchar *, g_dbus_proxy_get_object_path, (GDBusProxy *p), (p)) \
	V(g_dbus_connection_call, (GDBusConnection *c, const gchar *bus, const gchar *path, \
	  const gchar *iface, const gchar *method, GVariant *params, \
	  const GVariantType *reply_type, GDBusCallFlags flags, gint timeout_ms, \
	  GCancellable *cancel, GAsyncReadyCallback cb, gpointer data), \
	  (c, bus, path, iface, method, params, reply_type, flags, timeout_ms, cancel, cb, data)) \
	F(GVariant *, g_dbus_connection_call_finish, (GDBusConnection *c, GAsyncResult *r, \
	  GError **e), \
	  (c, r, e)) \
	F(GVariant *, g_dbus_connection_call_sync, (GDBusConnection *c, const gchar *bus, \
	  const gchar *path, const gchar *iface, const gchar *method, GVariant *params, \
	  const GVariantType *reply_type, GDBusCallFlags flags, gint timeout_ms, \
	  GCancellable *cancel, GError **e), \
	  (c, bus, path, iface, method, params, reply_type, flags, timeout_ms, cancel, e)) \
	/* libsecret */ \
	F(GQuark, secret_error_get_quark, (void), ()) \
	F(SecretService *, secret_service_get_sync, (SecretServiceFlags flags, \
	  GCancellable *cancel, GError **e), \
	  (flags, cancel, e)) \
	F(GList *, secret_service_search_sync, (SecretService *s, const SecretSchema *schema, \
	  GHashTable *attrs, SecretSearchFlags flags, GCancellable *cancel, GError **e), \
	  (s, schema, attrs, flags, cancel, e)) \
	F(gboolean, secret_service_store_sync, (SecretService *s, const SecretSchema *schema, \
	  GHashTable *attrs, const gchar *collection, const gchar *label, SecretValue *value, \
	  GCancellable *cancel, GError **e), \
	  (s, schema, attrs, collection, label, value, cancel, e)) \
	F(gint, secret_service_unlock_sync, (SecretService *s, GList *objects, \
	  GCancellable *cancel, GList **unlocked, GError **e), \
	  (s, objects, cancel, unlocked, e)) \
	F(gboolean, secret_item_delete_sync, (SecretItem *i, GCancellable *cancel, GError **e), \
	  (i, cancel, e)) \
	F(GHashTable *, secret_item_get_attributes, (SecretItem *i), (i)) \
	F(gboolean, secret_item_get_locked, (SecretItem *i), (i)) \
	F(guint64, secret_item_get_modified, (SecretItem *i), (i)) \
	F(gchar *, secret_item_get_schema_name, (SecretItem *i), (i)) \
	F(SecretValue *, secret_item_get_secret, (SecretItem *i), (i)) \
	F(gboolean, secret_item_load_secret_sync, (SecretItem *i, GCancellable *cancel, \
	  GError **e), \
	  (i, cancel, e)) \
	F(SecretValue *, secret_value_new, (const gchar *secret, gssize length, \
	  const gchar *type), \
	  (secret, length, type)) \
	F(const gchar *, secret_value_get, (SecretValue *v, gsize *length), (v, length)) \
	V(secret_value_unref, (gpointer v), (v)) \
	/* end */

/* The real functions. (name) in parentheses wherever a name is followed by "(": GLib also
 * defines some of these as function-like macros. */
#define POINTER_F(ret, name, params, args) __typeof__(name) *name;
#define POINTER_V(name, params, args) __typeof__(name) *name;
static struct {
	FUNCTIONS(POINTER_F, POINTER_V)
} real;

static int loaded;
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* dlopen, then every dlsym at once, so that a missing symbol shows at load time, in one
 * place, rather than at a stub's first call. */
static void load(void)
{
#define ENTRY_F(ret, name, params, args) {#name, (void **)&real.name},
#define ENTRY_V(name, params, args) {#name, (void **)&real.name},
	static const struct {
		const char *name;
		void **slot;
	} symbols[] = {FUNCTIONS(ENTRY_F, ENTRY_V)};
	void *handle = dlopen(LIBSECRET_SONAME, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!handle) {
		const char *why = dlerror();

		snprintf(load_error, sizeof(load_error), "%s", why ? why : "cannot load " LIBSECRET_SONAME);
		return;
	}
	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		*symbols[i].slot = dlsym(handle, symbols[i].name);
		if (!*symbols[i].slot) {
			snprintf(load_error, sizeof(load_error), "%s lacks %s", LIBSECRET_SONAME,
				 symbols[i].name);
			return;
		}
	}
	__atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
}

int glib_lazy_load(void)
{
	pthread_once(&load_once, load);
	if (__atomic_load_n(&loaded, __ATOMIC_ACQUIRE))
		return 0;
	return err_set(ERR_UNAVAILABLE, "cannot use the Secret Service: %s (install libsecret-1-0)",
		       load_error);
}

/* A stub reached before glib_lazy_load() (a GLib call in a declaration, say) loads now; if
 * that fails there is no error to return from g_hash_table_new(): say so and stop. Operations
 * call glib_lazy_load() first so that a missing libsecret is an ordinary error. */
static void load_for(const char *name)
{
	if (glib_lazy_load() == 0)
		return;
	fprintf(stderr, "docker-credential-keyring: %s: %s\n", name, err_msg());
	abort();
}

#define STUB_F(ret, name, params, args)           \
	ret(name) params                          \
	{                                         \
		if (!__atomic_load_n(&loaded, __ATOMIC_ACQUIRE)) \
			load_for(#name);          \
		return (real.name) args;          \
	}
#define STUB_V(name, params, args)                \
	void(name) params                         \
	{                                         \
		if (!__atomic_load_n(&loaded, __ATOMIC_ACQUIRE)) \
			load_for(#name);          \
		(real.name) args;                 \
	}
FUNCTIONS(STUB_F, STUB_V)

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
	GVariant *v;
	va_list ap;

	/* As GLib does: serialised, the children share the dictionary's bytes, so a "&s" pointer
	 * stays valid as long as the dictionary, also for one built in memory. */
	(void)g_variant_get_data(dict);
	v = g_variant_lookup_value(dict, key, NULL);
	if (!v)
		return FALSE;
	if (!g_variant_check_format_string(v, fmt, FALSE)) {
		g_variant_unref(v);
		return FALSE;
	}
	va_start(ap, fmt);
	g_variant_get_va(v, fmt, NULL, &ap);
	va_end(ap);
	g_variant_unref(v);
	return TRUE;
}

gboolean g_variant_iter_next(GVariantIter *iter, const gchar *fmt, ...)
{
	GVariant *v = g_variant_iter_next_value(iter);
	va_list ap;

	if (!v)
		return FALSE;
	va_start(ap, fmt);
	g_variant_get_va(v, fmt, NULL, &ap);
	va_end(ap);
	g_variant_unref(v);
	return TRUE;
}
