/* lockfile: cross-process locks, so concurrent helpers do not undo each other's work.
 *
 * Writers of the keyring hold one lock while they change it (create the new item, then remove
 * the old ones), and a credential source's fetch holds a lock per server (single flight). A
 * lock is an flock(2) on a file in the private lock directory (session.h): the kernel drops it
 * when its holder exits, however it exits. Readers never take one.
 *
 * Waiting for a lock has its own budget, apart from the keyring's deadline: a hundred parallel
 * `store`s queue here, one after the other, and each still gets the whole keyring timeout for
 * its own calls once it holds the lock. */
#ifndef DCK_LOCKFILE_H
#define DCK_LOCKFILE_H

/* Take the exclusive lock called name (a file name, no slashes), waiting at most wait_ms.
 * Returns a descriptor for lockfile_release, or a negative err.h code: ERR_TIMEOUT saying how
 * long it waited for which lock (and, when bound is not NULL, in parentheses what bounds the
 * wait: the setting a user can raise), or ERR_FAILED when there is no lock directory. */
int lockfile_acquire(const char *name, unsigned wait_ms, const char *bound);

/* Drop the lock (closing the descriptor). -1 is a no-op. */
void lockfile_release(int fd);

/* The lock name for a key (a server, a Rancher host): prefix + "-" + 16 hex digits of its hash,
 * so any key gives a safe file name. */
void lockfile_name(char *buf, unsigned size, const char *prefix, const char *key);

#endif
