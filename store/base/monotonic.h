/* monotonic: milliseconds on a clock that never jumps, for deadlines and durations. */
#ifndef DCK_MONOTONIC_H
#define DCK_MONOTONIC_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds (from an arbitrary start). */
int64_t monotonic_ms(void);

#endif
