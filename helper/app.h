/* app: what one run of the helper works with, opened by main.c from the settings and passed
 * down to the verbs, creds.c and the commands for people. */
#ifndef DCK_APP_H
#define DCK_APP_H

#include <stddef.h>

#include "config.h"
#include "source.h"
#include "store.h"

struct app {
	const char *prog;          /* program name as invoked, for messages */
	struct store *store;       /* where logins live: the Secret Service, or the kernel keyring */
	struct store *copies;      /* where a source's copy goes when store cannot keep it (the
				    * kernel keyring, creds.c); NULL when store is that already */
	struct source **sources;   /* in routing order: the first that serves a server owns it */
	size_t nsources;
	struct source *pinned;     /* run as docker-credential-<source>: it owns every server */
	int write_behind;          /* a source's copy is stored after answering (write_behind.h);
				    * 0: before, as the client waits */
};

/* The credential sources this binary has, in routing order: the first that serves a server
 * owns it. open: source.h's constructors. */
struct source_kind {
	const char *name;
	int (*open)(const struct config *cfg, struct store *st, struct source **out);
};
extern const struct source_kind app_source_kinds[];
extern const size_t app_source_kinds_len;

/* config_load, then `debug = true` in the config file's top section turns the debug log on
 * (the variable, when set, wins; a bad value is left for doctor: logging never stops a verb).
 * Every verb loads its settings this way. */
int app_load_config(struct config **out);

/* The store for logins and the copies store, from the settings (app.c says which). 0 or
 * ERR_INVALID naming a wrong setting (nothing is opened then). */
int app_open_stores(const struct config *cfg, struct app *a);
void app_close_stores(struct app *a);

/* Every configured source into a->sources; the first constructor's error (the others still
 * open). */
int app_open_sources(const struct config *cfg, struct app *a);
void app_close_sources(struct app *a);

/* The end of a run: the sources, the stores and the settings (NULL-safe) closed. Inline: no
 * call is added to get's way out. */
static inline void app_close(struct app *a, struct config *cfg)
{
	app_close_sources(a);
	app_close_stores(a);
	config_free(cfg);
}

#endif
