/*
 * time_internal.h - comparing the CLOCK_MONOTONIC deadlines of futex_internal.h.
 */
#ifndef SHMBUS_TIME_INTERNAL_H
#define SHMBUS_TIME_INTERNAL_H

#include <stdbool.h>
#include <time.h>

/* Whether @a comes before @b (normalised times of one clock). */
static inline bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

#endif
