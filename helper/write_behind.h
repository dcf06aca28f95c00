/* write_behind: store a credential source's fresh copy in the keyring after the client has its
 * answer, in a detached child, instead of making the client wait for it.
 *
 * Why. gnome-keyring rewrites its whole keyring file on every change: storing the copy costs
 * several times the fetch itself, growing with the number of entries (docs/performance.md),
 * and the copy is only a cache. So get answers first and a child stores it.
 *
 * How. The child is a fresh exec of this binary ("/proc/self/exe" WRITE_BEHIND_VERB), never a
 * bare fork: the parent may have loaded GLib, whose threads a forked child cannot use. It gets
 *  - the copy on stdin, from a pipe (never argv or the environment: other processes can read
 *    those), as one JSON object (write_behind.c); the parent wipes its buffer;
 *  - /dev/null as stdout and stderr: docker and podman read the helper's output until both
 *    pipes reach end of file, which must happen when the parent exits, not when the child does;
 *  - the parent's single-flight fetch lock as descriptor WRITE_BEHIND_LOCK_FD, so the lock is
 *    held until the copy is stored (a flock belongs to the open file, which both share): a
 *    second get that misses waits and then finds the copy, and `store`/`erase` of that server
 *    (creds.c takes the same lock) wait and then win instead of being overwritten by it;
 *  - a session of its own (setsid), so a terminal's hangup does not stop it halfway;
 *  - the parent's environment, hence the same settings and session bus.
 * The parent never waits for it; the child exits when the copy is stored (status 0) or could
 * not be (1, with the reason in the debug log when that is on). */
#ifndef DCK_WRITE_BEHIND_H
#define DCK_WRITE_BEHIND_H

#include <stddef.h>

#include "secmem.h"
#include "store.h"

/* The internal verb: not listed in --help, not part of the credential helper protocol. */
#define WRITE_BEHIND_VERB "cache-copy"

/* Where the child finds the inherited lock (nothing there when the parent had none). */
#define WRITE_BEHIND_LOCK_FD 3

/* Parent: start the child for c, handing it lock_fd (-1: none). 0 once the child has the
 * whole copy; otherwise an err.h code (no /proc, pipe or spawn failure, a child that died
 * before reading) and the caller stores c itself. */
int write_behind_spawn(const struct cred *c, int lock_fd);

/* The copy's format (tests/unit/test_write_behind.c checks both ways): {"ServerURL",
 * "Username","Secret","Origin","Expires"}. Text fields must be valid UTF-8 (creds.c checks a
 * source's answer), so the copy arrives byte for byte; parse fills every field of *out or
 * returns ERR_INVALID. */
int write_behind_format(const struct cred *c, struct secbuf *out);
int write_behind_parse(const char *in, size_t len, struct cred *out);

#endif
