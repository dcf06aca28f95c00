/* secret_read: the Secret Service's reads (get, list) over the bus socket, without GLib
 * (dbus.h says why). Item layout and the choice among several items are secret_item.h's.
 *
 * Only reads, and only the unlocked part of the keyring: whatever the short way cannot settle
 * (a locked item, an error reply it does not know, a bus address it cannot use) it leaves to
 * libsecret, by answering SECRET_READ_FALLBACK with the reason in err_msg().
 *
 * gnome-keyring admits a new client from an idle callback, and a client's first call can run
 * before that: a search then finds nothing, and an OpenSession or a property read can abort the
 * daemon ("assertion 'client' failed", a known upstream race). So the first call on a
 * connection is always a search, a search that finds nothing is asked once more, and sessions
 * and property reads are sent only after a first reply proved the client exists. */
#ifndef DCK_SECRET_READ_H
#define DCK_SECRET_READ_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Not an error: "ask libsecret" (see above). */
#define SECRET_READ_FALLBACK 1

/* The newest of our and the reference helper's items for server, with its secret, into *out.
 * 0, ERR_NOTFOUND, ERR_UNAVAILABLE / ERR_TIMEOUT (with a message), or SECRET_READ_FALLBACK. */
int secret_read_get(const char *address, const char *server, int64_t deadline, struct cred *out);

/* Every server of our and the reference helper's unlocked items, the newest item for each
 * (secrets not loaded). *locked: how many of the keyring's collections are locked: their
 * entries cannot be seen (not even their number). A keyring busy with writers answers a list of
 * thousands slowly: the time out is for silence (idle_ms without any answer), not the total.
 * 0, ERR_UNAVAILABLE / ERR_TIMEOUT, or SECRET_READ_FALLBACK. */
int secret_read_list(const char *address, unsigned idle_ms, struct cred_list *out, size_t *locked);

/* What doctor asks: is there a Secret Service, and its default collection (the one writes go
 * to), unlocked? */
struct secret_health {
	char collection[256]; /* the default collection's path; "" when there is none */
	int locked;
	size_t entries;       /* our and the reference's entries (list's count) */
	size_t locked_collections;
};

/* 0 with *h filled, or ERR_UNAVAILABLE / ERR_TIMEOUT / SECRET_READ_FALLBACK as list. */
int secret_read_health(const char *address, unsigned idle_ms, struct secret_health *h);

#endif
