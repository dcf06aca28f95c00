/* monotonic: milliseconds on a clock that never jumps, for deadlines and durations. */
#ifndef DCK_MONOTONIC_H
#define DCK_MONOTONIC_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds (from an arbitrary start). */
int64_t monotonic_ms(void);

/* Sleep ms milliseconds (nothing for ms <= 0), the whole time even when a signal comes. */
void monotonic_sleep_ms(int64_t ms);

#endif
