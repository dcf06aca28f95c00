/* plugin: the two heavy libraries, loaded only by the calls that need them.
 *
 * libsecret (with GLib, GObject and GIO) and libcurl (with its TLS and GSSAPI stack) cost
 * milliseconds and megabytes at every start when linked (docs/performance.md), and most calls
 * need neither: a `get` reads
 * the keyring over the bus socket directly, `version` and usage errors need nothing. So each
 * lives in a private shared object of ours, linked normally against its library (the package
 * tools see the dependency), and loaded by one dlopen when first needed. A plugin exports one
 * symbol: a const struct of function pointers (secret_plugin.h, http_plugin.h).
 *
 * Plugins are found relative to the running binary (/proc/self/exe): the build puts them in the
 * same place relative to the binary in the build tree and in an installed tree, so neither an
 * install prefix chosen at configure time nor a package relocated by CPack can point at the
 * wrong file, and no environment variable can make us load another one. */
#ifndef DCK_PLUGIN_H
#define DCK_PLUGIN_H

/* Load the plugin file (a file name, e.g. "secret-service.so") and return its symbol, or NULL
 * with ERR_UNAVAILABLE in err_msg() naming the file and what went wrong. A plugin stays loaded
 * for the life of the process. */
const void *plugin_load(const char *file, const char *symbol);

#endif
