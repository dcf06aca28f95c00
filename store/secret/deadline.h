/* deadline: cancel a GCancellable when an operation runs out of time.
 *
 * libsecret has no timeout of its own and its synchronous calls wait for D-Bus as long as
 * D-Bus waits (25 s by default, forever for a prompt). Every store operation arms a deadline
 * before its first call and disarms it after its last one; a watchdog thread cancels the
 * operation's GCancellable if the deadline passes first, and the pending call returns
 * G_IO_ERROR_CANCELLED at once. Disarming guarantees no late cancel can hit the next
 * operation. */
#ifndef DCK_DEADLINE_H
#define DCK_DEADLINE_H

#include <gio/gio.h>

struct deadline;

/* A deadline that will cancel c. NULL when the thread cannot be started. */
struct deadline *deadline_new(GCancellable *c);

/* Reset the cancellable and cancel it ms milliseconds from now. */
void deadline_arm(struct deadline *d, unsigned ms);

/* Stop the clock. */
void deadline_disarm(struct deadline *d);

void deadline_free(struct deadline *d);

#endif
