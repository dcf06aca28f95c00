/* store: where credentials live, behind one small interface.
 *
 * The protocol layer and the credential sources only ever see `struct store`; the Secret
 * Service backend (store_secret.c) is the real one and an in-memory backend (store_mem.c)
 * serves the unit tests. A backend is a struct of function pointers with a free slot
 * (libgit2's odb backends).
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

	/* Every entry, secrets not loaded, at most one per server (*out is filled, caller clears). */
	int (*list)(struct store *s, struct cred_list *out);

	void (*free)(struct store *s);
};

static inline void store_free(struct store *s)
{
	if (s)
		s->free(s);
}

/* Work to overlap with the keyring daemon's answers. A caller that expects a slow step after the
 * next get (creds.c: a credential source's fetch, which first loads libcurl) arms it here, cut
 * into steps: work does the next one and returns nonzero while more remain. The backend runs a
 * step, on the calling thread, each time it has sent the daemon a question and waits for the
 * answer (dbus_quick: the search, then the search that confirms "none"), and none when it
 * never waits so (a kernel cache hit, no bus). The caller disarms it after the get (work NULL)
 * and does what is left itself: it is an optimisation, never a duty. work must not use the
 * store. */
void store_overlap(int (*work)(void *arg), void *arg);

/* For backends, while an answer is on its way: run the armed work's next step, if any. */
void store_overlap_run(void);

/* Milliseconds spent in armed work so far: a backend's own timeouts must not count them. */
int64_t store_overlap_ms(void);

/* The in-memory backend (tests). */
struct store *store_mem_new(void);

#endif
