/* app: what one run of the helper works with, opened by main.c from the settings and passed
 * down to the verbs, creds.c and the commands for people. */
#ifndef DCK_APP_H
#define DCK_APP_H

#include <stddef.h>

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

#endif
