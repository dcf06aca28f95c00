/* glib_lazy: GLib and libsecret are loaded on first use (see glib_lazy.c for why).
 * Call glib_lazy_load() before the first GLib or libsecret call of an operation. */
#ifndef DCK_GLIB_LAZY_H
#define DCK_GLIB_LAZY_H

/* Load libsecret (and GLib with it) once per process. 0, or ERR_UNAVAILABLE with err_msg()
 * naming what is missing. Thread-safe; later calls are cheap. */
int glib_lazy_load(void);

#endif
