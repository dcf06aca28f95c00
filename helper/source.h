/* source: a place other than the keyring that knows credentials for some registries
 * (DigitalOcean's API, Rancher). The verbs never talk to a source directly: creds.c decides,
 * from the table below, when the keyring answers and when a source is asked.
 *
 * get SERVER, for a server a source serves:
 *
 *   keyring holds                          answer
 *   a login (origin "login")               the login; the source is not asked
 *   the source's copy, fresh               the copy (no request)
 *   the source's copy, due for refresh     a new fetch; if it fails, the copy while unexpired
 *   nothing, or an expired copy            a fetch, cached with its expiry; if it fails, not-found
 *
 * "Fresh" means more than refresh_before seconds left before the copy expires. A fetch runs
 * under a per-server lock across processes (single flight): the second caller waits, then
 * finds the first caller's copy. A fetched copy goes into the keyring after the answer, from a
 * child that holds that lock until it is done (write-behind, write_behind.h; the write-behind
 * setting off: into the keyring before answering).
 *
 * When the keyring cannot keep a copy, or does not answer at all (locked, no Secret Service,
 * too slow: it may hold the user's own login, which a copy must never replace), the copy is
 * kept in the kernel keyring instead (app.h's copies store), and read from there by the next
 * get the same way: one fetch per lifetime, never one per pull.
 *
 * store and erase always change the keyring first; then the source is told (on_store,
 * on_erase) so that it can register or revoke on its side. Its failure is reported, the
 * keyring change stays. For a server a source fetches for, they take the fetch lock around
 * the keyring change: a fetch and its write-behind finish first, and the user's change wins. */
#ifndef DCK_SOURCE_H
#define DCK_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

/* What on_store and on_erase return (> 0, never an err.h code) when they did their part and
 * the user must still hear something: a shared credential left alone, say. err_msg() holds
 * one line for stderr; the verb succeeds (stdout empty, exit 0). Sources never print
 * themselves: creds passes this up, verbs.c puts the line in the reply's diagnostic. */
#define SOURCE_NOTE 1

/* A source's API secret that `login` saved lives in the store under a key with this prefix,
 * with this origin: list hides such keys and the protocol verbs refuse them. */
#define SOURCE_RESERVED_PREFIX "docker-credential-keyring:"
#define SOURCE_ORIGIN_SECRET "saved-secret"

struct source {
	const char *name; /* "digitalocean", "rancher"; also the origin of its cached copies */

	/* Does this source answer for server? Pure (no I/O). */
	int (*serves)(struct source *s, const char *server);

	/* Fetch current credentials for server into *out, with out->expires set (0 when they
	 * do not expire) and out->origin = name. NULL slot: the source cannot be read (a
	 * write-back target only). Errors: ERR_NOTFOUND (the source has none), ERR_DENIED
	 * (our key or token was refused), ERR_UNAVAILABLE / ERR_TIMEOUT (cannot reach it). */
	int (*fetch)(struct source *s, const char *server, struct cred *out);

	/* Seconds before expiry at which a cached copy is fetched again. */
	int64_t (*refresh_before)(struct source *s, const struct cred *cached);

	/* The user stored c (docker login). NULL slot: nothing to do. 0, SOURCE_NOTE or an
	 * err.h code. */
	int (*on_store)(struct source *s, const struct cred *c);

	/* The user erased server; cached is what the keyring held (NULL if nothing), so that a
	 * token can be revoked. NULL slot: nothing to do. 0, SOURCE_NOTE or an err.h code. */
	int (*on_erase)(struct source *s, const char *server, const struct cred *cached);

	/* Append what the source holds that `list` should show (no secrets). NULL slot: nothing. */
	int (*list)(struct source *s, struct cred_list *out);

	/* doctor: prove with one read-only API call (never one that mints or changes anything)
	 * that the configured token or key is accepted. 0 with what (a short description, e.g.
	 * "token accepted (registry r1, token from DIGITALOCEAN_ACCESS_TOKEN)") filled; else
	 * ERR_NOTFOUND (no token or key is configured), ERR_DENIED (refused; the message names
	 * the key and the HTTP status), ERR_UNAVAILABLE / ERR_TIMEOUT (unreachable), ERR_INVALID
	 * (a setting does not fit what the API says) or ERR_FAILED, with err_msg() saying why,
	 * and what either "" or the exact fix (the command to run or the setting to change),
	 * which doctor prints under it. Bounded by the source's own timeouts. NULL slot: nothing
	 * to check. */
	int (*check)(struct source *s, char *what, size_t what_size);

	void (*free)(struct source *s);
};

/* Constructors: each reads its own settings. st is the store (not owned) where a source finds
 * the API token or key saved by `login`. *out is NULL (and 0 returned) when the source is not
 * configured; ERR_INVALID for a setting that is wrong. */
int source_do_new(const struct config *cfg, struct store *st, struct source **out);
int source_rancher_new(const struct config *cfg, struct store *st, struct source **out);

#endif
