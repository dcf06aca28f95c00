/* secret_plugin: the Secret Service through libsecret, as a plugin (plugin.h says why).
 *
 * The plugin is a complete store: get, put, del and list with libsecret's synchronous calls
 * under a deadline, like git-credential-libsecret. secret_store.c calls it for every write,
 * for prompts, and for whatever the short reads (secret_read.h) leave to it. It carries its own
 * copy of the base code, so its error messages are read back through last_error. */
#ifndef DCK_SECRET_PLUGIN_H
#define DCK_SECRET_PLUGIN_H

#include "store.h"

#define SECRET_PLUGIN_FILE "secret-service.so"
#define SECRET_PLUGIN_SYMBOL "dck_secret_plugin_v1"

struct secret_plugin_opts {
	const char *bus_address;    /* the session bus (session.h), never NULL, which must outlive the store;
				     * the plugin tells GDBus */
	unsigned timeout_ms;        /* deadline for each operation's D-Bus calls */
	int allow_prompt;           /* may unlock with a prompt when a display is set */
	unsigned prompt_timeout_ms; /* how long a person has to answer that prompt */
};

struct secret_plugin {
	/* A store over libsecret; NULL when out of memory. Connecting happens on first use. */
	struct store *(*open)(const struct secret_plugin_opts *o);
	/* The message of the last error any of its calls returned. */
	const char *(*last_error)(void);
};

#endif
