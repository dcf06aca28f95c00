/* store_secret: the Secret Service backend (libsecret). See store_secret.c for the layout of
 * the items and the headless rules. */
#ifndef DCK_STORE_SECRET_H
#define DCK_STORE_SECRET_H

#include "store.h"

struct store_secret_opts {
	unsigned timeout_ms;        /* deadline for each operation's D-Bus calls */
	int allow_prompt;           /* may unlock a locked keyring with a prompt when a display is set */
	unsigned prompt_timeout_ms; /* how long a person has to answer that prompt */
};

/* NULL when out of memory. Connecting happens on first use, so creating it is cheap. */
struct store *store_secret_new(const struct store_secret_opts *opts);

#endif
