/* session: where this login keeps its runtime files and its session bus — one rule, used by
 * the locks, the Secret Service store, the kernel-keyring choice and doctor.
 *
 * $XDG_RUNTIME_DIR is trusted only when it is a directory owned by this user that no one else
 * can write to. `sudo -E` hands root the user's directory, and a shared machine may have
 * XDG_RUNTIME_DIR=/tmp: in both cases another user could plant a lock that blocks us, or a
 * socket named "bus" that pretends to be our keyring and receives our secrets. */
#ifndef DCK_SESSION_H
#define DCK_SESSION_H

#include <stddef.h>

/* $XDG_RUNTIME_DIR when it is trusted (see above), else NULL. */
const char *session_runtime_dir(void);

/* The session bus address the helper uses, written into buf: DBUS_SESSION_BUS_ADDRESS when set,
 * else "unix:path=$XDG_RUNTIME_DIR/bus" when that socket exists in a trusted runtime directory
 * and is owned by this user. 0, or -1 (buf "") when there is no session bus. The helper never
 * starts a bus (no X11 autolaunch). */
int session_bus_address(char *buf, size_t size);

/* Where the address came from, for doctor: "DBUS_SESSION_BUS_ADDRESS", "$XDG_RUNTIME_DIR/bus"
 * or NULL when there is none. */
const char *session_bus_origin(void);

/* The private directory for the helper's lock files, created 0700 if needed: in the trusted
 * runtime directory, else in $TMPDIR (or /tmp); always named with the uid. A directory of that name that is
 * not ours and private is never used: the next free name is (…-<uid>.1, .2, …), so another
 * user cannot block us by creating it first. 0 or a negative err.h code. */
int session_lock_dir(char *buf, size_t size);

#endif
