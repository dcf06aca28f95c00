/* overlap: work a caller hands to the keyring's waits (see store.h, store_overlap). */
#include "store.h"

#include <stddef.h>

#include "monotonic.h"

static int (*armed_work)(void *arg);
static void *armed_arg;
static int64_t worked_ms; /* in all steps so far */

void store_overlap(int (*work)(void *arg), void *arg)
{
	armed_work = work;
	armed_arg = work ? arg : NULL;
}

void store_overlap_run(void)
{
	int (*work)(void *arg) = armed_work;
	void *arg = armed_arg;

	/* Disarmed while a step runs, so that nothing it calls can run it again; armed again
	 * only when it says more steps remain. */
	armed_work = NULL;
	armed_arg = NULL;
	if (work) {
		int64_t start = monotonic_ms();
		int more = work(arg);

		worked_ms += monotonic_ms() - start;
		if (more) {
			armed_work = work;
			armed_arg = arg;
		}
	}
}

int64_t store_overlap_ms(void)
{
	return worked_ms;
}
