/* deadline: a watchdog thread that cancels a GCancellable at a given time (see deadline.h). */
#include "deadline.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct deadline {
	GCancellable *cancel;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct timespec due; /* CLOCK_MONOTONIC */
	gboolean armed;
	gboolean quit;
};

static int passed(const struct timespec *due)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > due->tv_sec || (now.tv_sec == due->tv_sec && now.tv_nsec >= due->tv_nsec);
}

static void *watchdog(void *arg)
{
	struct deadline *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->quit) {
		if (!d->armed) {
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		/* A timeout of an earlier arming can race with a new one: it counts only if the
		 * deadline armed now has passed. */
		if (pthread_cond_timedwait(&d->cv, &d->mu, &d->due) == ETIMEDOUT && d->armed &&
		    passed(&d->due)) {
			/* Cancel under the lock: once deadline_disarm returns, no cancel is pending. */
			d->armed = FALSE;
			g_cancellable_cancel(d->cancel);
		}
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

struct deadline *deadline_new(GCancellable *c)
{
	struct deadline *d = calloc(1, sizeof(*d));
	pthread_condattr_t attr;

	if (!d)
		return NULL;
	d->cancel = g_object_ref(c);
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&d->thread, NULL, watchdog, d) != 0) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		g_object_unref(d->cancel);
		free(d);
		return NULL;
	}
	return d;
}

void deadline_arm(struct deadline *d, unsigned ms)
{
	pthread_mutex_lock(&d->mu);
	g_cancellable_reset(d->cancel);
	clock_gettime(CLOCK_MONOTONIC, &d->due);
	d->due.tv_sec += ms / 1000;
	d->due.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (d->due.tv_nsec >= 1000000000L) {
		d->due.tv_sec++;
		d->due.tv_nsec -= 1000000000L;
	}
	d->armed = TRUE;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void deadline_disarm(struct deadline *d)
{
	pthread_mutex_lock(&d->mu);
	d->armed = FALSE;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void deadline_free(struct deadline *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->quit = TRUE;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	g_object_unref(d->cancel);
	free(d);
}
