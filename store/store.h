/* store: where credentials live, behind one small interface.
 *
 * The protocol layer and the credential sources only ever see `struct store`. The backends:
 * the Secret Service (secret/secret_store.h), the kernel keyring for machines without one
 * (kernel/kernel_store.h); the unit tests add one in memory (tests/unit/mem_store.h). A backend is a
 * struct of function pointers with a free slot (libgit2's odb backends); the shared base code
 * (errors, wiped memory, locks) is in base/.
 *
 * Rules every backend keeps:
 *  - One entry per server key. Keys are exact strings: no prefix, case or URL matching.
 *  - Out-parameters are written only on success.
 *  - Errors are the codes of err.h with the explanation in err_msg(); a miss is ERR_NOTFOUND.
 *  - Nothing blocks longer than the backend's deadline. */
#ifndef DCK_STORE_H
#define DCK_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Not an error: list's answer is incomplete (see list below). */
#define STORE_PARTIAL 1

/* Who put an entry in the store. A login is what the user stored (`docker login`); the others
 * are copies a credential source cached, which the source may refresh or drop. */
#define CRED_ORIGIN_LOGIN "login"

struct cred {
	char *server;
	char *username;
	char *secret;      /* may contain NUL bytes: secret_len is its length; NULL in lists */
	size_t secret_len;
	int64_t expires;   /* Unix time when a cached copy goes stale; 0: it does not */
	char *origin;      /* CRED_ORIGIN_LOGIN or a source's name */
};

/* Wipe and free every field; the struct itself is left zeroed. NULL-safe. */
void cred_clear(struct cred *c);

/* Is the username the secret itself (DigitalOcean's older "token:token")? Stores then keep it
 * only as the secret, never in the readable attributes (secret_item.h). */
int cred_username_is_secret(const struct cred *c);

/* A list of entries without their secrets. */
struct cred_list {
	struct cred *items;
	size_t len;
};

void cred_list_clear(struct cred_list *l);

/* Append a copy of server/username/expires/origin (never the secret). 0 or ERR_FAILED. */
int cred_list_add(struct cred_list *l, const struct cred *c);

/* Index of the entry for server, or -1. */
long cred_list_find(const struct cred_list *l, const char *server);

struct store {
	/* Copy the entry for server into *out (the caller clears it). ERR_NOTFOUND on a miss. */
	int (*get)(struct store *s, const char *server, struct cred *out);

	/* Store c, replacing whatever entry server had (whatever its username). Readers never see
	 * the server without an entry while a replacement is under way. */
	int (*put)(struct store *s, const struct cred *c);

	/* Remove the entry for server. ERR_NOTFOUND when there was none. */
	int (*del)(struct store *s, const char *server);

	/* Every entry, secrets not loaded, at most one per server (*out is filled, caller clears).
	 * STORE_PARTIAL, with *out filled too, when some entries could not be read (a locked
	 * keyring): err_msg() says which. */
	int (*list)(struct store *s, struct cred_list *out);

	/* For doctor: can this store be used here? 0 with what filled with a one-line description
	 * ("the kernel keyring …: 3 entries"); else an err.h code, err_msg() saying what is wrong
	 * and what filled with the exact fix (a command or a setting), or "" when there is none.
	 * NULL in a store nothing shows to doctor (the libsecret plugin, behind secret_store). */
	int (*check)(struct store *s, char *what, size_t what_size);

	void (*free)(struct store *s);
};

static inline void store_free(struct store *s)
{
	if (s)
		s->free(s);
}

#endif
