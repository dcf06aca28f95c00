/* doctor: one screen that says whether the helper can work here and what to do when it cannot.
 *
 * Checks, in order: the settings file; the session bus and the store (its own check, store.h:
 * the Secret Service or the kernel keyring), then, when there is one, the copies store (as a
 * note, not a problem: sources work without it); the configured credential sources; and which
 * config files route which registries to this helper (and whether the helper they name is on
 * PATH). Each problem gets a line starting with "fix: ". */
#ifndef DCK_DOCTOR_H
#define DCK_DOCTOR_H

#include "creds.h"
#include "secmem.h"

/* Opens the settings, the stores and each source itself (a broken one is one of the things it
 * reports) and closes them again. Fills out with the report; returns 0 when no problem was
 * found, 1 otherwise. Prints nothing itself. */
int doctor_run(struct app *a, struct secbuf *out);

#endif
