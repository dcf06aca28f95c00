/* store_kernel: a first-level cache for another store, kept in the Linux kernel's per-user
 * keyring, so that a cached `get` costs a few system calls instead of D-Bus round trips.
 * See store_kernel.c for what is cached, for how long, and why that is safe. */
#ifndef DCK_STORE_KERNEL_H
#define DCK_STORE_KERNEL_H

#include "store.h"

/* Default lifetime of a cached entry (the cache-ttl setting). */
#define STORE_KERNEL_DEFAULT_TTL 60

/* Lifetime of a cached "not found" (at most the cache-ttl): short, because a `docker login`
 * made through another program is only seen once it has gone. */
#define STORE_KERNEL_MISS_TTL 10

/* Wrap inner (ownership is taken: freeing the result frees inner, also when NULL is returned).
 * ttl_seconds 0 disables reading and filling the cache; store and erase still remove entries a
 * previous run cached. Where the kernel refuses keyctl (no CONFIG_KEYS, a seccomp filter) every
 * call goes to inner as if there were no cache. NULL when out of memory. */
struct store *store_kernel_new(struct store *inner, unsigned ttl_seconds);

/* Cache c in the kernel keyring only, inner untouched: a credential source's fresh copy, so
 * that the next get finds it while a write-behind child (creds.c) is still storing it in inner,
 * or, when the keyring did not answer the get, instead of storing it there (so that the next
 * gets do not all fetch). Kept for the TTL, never past c->expires, under the same generation
 * check as a get's fill; when it cannot be cached, whatever was cached for the server (a "not
 * found") is removed instead. note: also write the note that inner holds an entry for the
 * server (below), when inner does or is about to. A no-op when s is not a store_kernel or the
 * cache is off (ttl 0, keyctl refused). */
void store_kernel_prime(struct store *s, const struct cred *c, int note);

/* How long a note that inner holds an entry lasts (never past the entry's expires). */
#define STORE_KERNEL_NOTE_TTL (24 * 3600)

/* Notes, for speed only (see store_kernel.c): remember, without the secret, that inner holds
 * an entry for c->server (store_kernel_prime notes the copies it is asked to; put and del
 * through s forget). store_kernel_expects_entry: 1 when such a note exists, 0 when none does, -1 when
 * there can be no notes (not a store_kernel, cache off, keyctl refused). A note is a guess,
 * never an answer: what inner says still decides. */
void store_kernel_note_entry(struct store *s, const struct cred *c);
int store_kernel_expects_entry(struct store *s, const char *server);

#endif
