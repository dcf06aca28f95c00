/* lockfile: a cross-process lock, so concurrent helpers do not undo each other's writes.
 *
 * Replacing an entry in the Secret Service takes two calls (create the new item, then delete
 * the old ones); two helpers storing the same server at once could each delete the other's
 * new item. Writers hold an flock(2) on a file in a private runtime directory for the length
 * of the change. Readers never take it. */
#ifndef DCK_LOCKFILE_H
#define DCK_LOCKFILE_H

/* Take the exclusive lock called name (a file name, no slashes), waiting at most timeout_ms.
 * Returns a descriptor to pass to lockfile_release, or a negative err.h code. */
int lockfile_acquire(const char *name, unsigned timeout_ms);

void lockfile_release(int fd);

/* The private directory for the helper's runtime files: $XDG_RUNTIME_DIR/docker-credential-keyring
 * or /tmp/docker-credential-keyring-<uid>, created mode 0700 and checked to be ours.
 * Writes it into buf; 0 or a negative err.h code. */
int lockfile_runtime_dir(char *buf, unsigned size);

#endif
