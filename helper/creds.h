/* creds: the credentials the verbs work with — the keyring plus the credential sources —
 * combined in the order of the table in source.h. verbs.c calls only these. */
#ifndef DCK_CREDS_H
#define DCK_CREDS_H

#include <stddef.h>

#include "source.h"
#include "store.h"

struct app {
	const char *prog;          /* program name as invoked, for messages */
	struct store *store;       /* where credentials live */
	struct source **sources;   /* in routing order: the first that serves a server owns it */
	size_t nsources;
	struct source *pinned;     /* run as docker-credential-<source>: it owns every server */
	int write_behind;          /* a source's copy is stored in the keyring after answering
				    * (write_behind.h); 0: before, as the client waits */
};

/* Server keys under this prefix are the helper's own (saved API tokens): list hides them and
 * the protocol verbs refuse them. */
#define CREDS_RESERVED_PREFIX "docker-credential-keyring:"

int creds_is_reserved(const char *server);

/* Origin of a saved API secret (`login`), stored under a reserved key. */
#define CREDS_ORIGIN_SECRET "saved-secret"

/* `login NAME`: keep a source's API secret (what, e.g. "DigitalOcean API token", names it in
 * messages) in the store under the reserved key. Surrounding white space is dropped; the rest
 * must be printable ASCII without spaces, as every API token and key is, which also keeps it
 * from smuggling a line into an HTTP header. */
int creds_save_secret(struct store *st, const char *key, const char *what, const char *secret,
		      size_t len);

/* `logout NAME`: forget it. 0 also when none was saved. */
int creds_forget_secret(struct store *st, const char *key);

/* The source that owns server, or NULL. */
struct source *creds_route(struct app *a, const char *server);

int creds_get(struct app *a, const char *server, struct cred *out);
/* store and erase return SOURCE_NOTE (source.h) when a source adds a line for stderr. */
int creds_store(struct app *a, const struct cred *c);
int creds_erase(struct app *a, const char *server);
int creds_list(struct app *a, struct cred_list *out);

#endif
