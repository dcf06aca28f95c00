/* secret_store: the store kept in the Secret Service (gnome-keyring, KeePassXC, KWallet's
 * bridge). Reads take the short way over the bus socket (secret_read.h); writes, prompts and
 * whatever the short way cannot settle go through libsecret, loaded on first need
 * (secret_plugin.h). Item layout: secret_item.h. */
#ifndef DCK_SECRET_STORE_H
#define DCK_SECRET_STORE_H

#include "store.h"

struct secret_store_opts {
	unsigned timeout_ms;        /* deadline for each operation's calls to the keyring */
	unsigned lock_timeout_ms;   /* how long a writer waits for another writer (lockfile.h) */
	int allow_prompt;           /* may unlock a locked keyring with a prompt (display set) */
	unsigned prompt_timeout_ms; /* how long a person has to answer that prompt */
};

/* NULL when out of memory. Nothing is connected or loaded until the first call. */
struct store *secret_store_new(const struct secret_store_opts *o);

#endif
