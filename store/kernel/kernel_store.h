/* kernel_store: a store in the Linux kernel's keyring (keyrings(7)), for machines with no
 * Secret Service: build servers, CI runners, Kubernetes nodes — and, on any machine, for a
 * credential source's copy that the Secret Service could not keep (creds.c), so that a copy
 * lives until its refresh point instead of being fetched again at every pull.
 *
 * What it is and is not:
 *  - Memory the kernel keeps per user, with no daemon: a read costs a few system calls.
 *  - It survives logout but not a reboot. Non-root users' keys live in their persistent
 *    keyring, which the kernel also drops after 3 days unused (persistent_keyring_expiry);
 *    root's in its user keyring.
 *  - Readable by every process of the same user (as an unlocked Secret Service is), by no
 *    other user except root.
 *  - It counts against the user's kernel key quota (20,000 bytes and 200 keys for ordinary
 *    users by default). This store keeps itself to half of it and leaves a quarter free for
 *    other programs: it drops its oldest source copies to make room, never a login, and says so
 *    when it cannot.
 *  - Where keyctl is refused (no CONFIG_KEYS, a container's seccomp profile) every call is
 *    ERR_UNAVAILABLE with the reason. */
#ifndef DCK_KERNEL_STORE_H
#define DCK_KERNEL_STORE_H

#include "store.h"

#define KERNEL_STORE_DEFAULT_NAME "docker-credential-keyring"

/* A store in the keyring called name (a keyring of ours, made on first write). Creating it
 * does no system call. NULL when out of memory. */
struct store *kernel_store_new(const char *name);

#endif
