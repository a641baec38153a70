/*
 * futex_internal.h - sleeping on a 32-bit word in shared memory (futex).
 *
 * These wrap the Linux futex(2) call in its process-shared form, so a waiter
 * in one process is woken by a waker in another that maps the same block.
 * The word must be 4-byte aligned, inside a MAP_SHARED mapping, and every
 * other access to it must be atomic.
 *
 * Usage: set a "waiter" flag, re-check the condition, then wait on the word
 * with the value seen; the waker changes the word (or the condition) first,
 * then wakes only if the flag is set.  This is the lost-wakeup-free pattern
 * the rings use (through the wait queue, bus/waitq_internal.h).  Internal:
 * it was public only for the tests, which link the internal library.
 */
#ifndef SHMBUS_FUTEX_INTERNAL_H
#define SHMBUS_FUTEX_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include "shmbus/error.h"

/*
 * deadline_after - the CLOCK_MONOTONIC time @timeout_ms from now, for
 * futex_wait().  A negative @timeout_ms means "no deadline": @out is
 * then left untouched and the function returns 0 (and the caller passes
 * NULL); otherwise returns 1.
 */
int deadline_after(int timeout_ms, struct timespec *out);

/* Whether @deadline (CLOCK_MONOTONIC) has passed; NULL never passes. */
int deadline_passed(const struct timespec *deadline);

/*
 * futex_wait - sleep while *@word == @expected, until woken or until
 * @deadline (absolute CLOCK_MONOTONIC; NULL: no limit).
 * Returns 0 when woken, when the word no longer held @expected, or on a
 * signal (callers re-check their condition anyway); -ETIMEDOUT; -EINVAL or
 * -EFAULT for a bad word.  Blocking.
 */
int futex_wait(uint32_t *word, uint32_t expected,
				 const struct timespec *deadline);

/*
 * futex_wake - wake up to @n waiters sleeping on @word (INT32_MAX for
 * all).  Returns how many were woken, or -errno.  Never blocks.
 */
int futex_wake(uint32_t *word, int n);

#endif /* SHMBUS_FUTEX_INTERNAL_H */
