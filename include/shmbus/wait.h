/*
 * shmbus/wait.h - sleeping on a 32-bit word in shared memory (futex).
 *
 * These wrap the Linux futex(2) call in its process-shared form, so a waiter
 * in one process is woken by a waker in another that maps the same block.
 * The word must be 4-byte aligned, inside a MAP_SHARED mapping, and every
 * other access to it must be atomic.
 *
 * Usage: set a "waiter" flag, re-check the condition, then wait on the word
 * with the value seen; the waker changes the word (or the condition) first,
 * then wakes only if the flag is set.  This is the lost-wakeup-free pattern
 * the rings use.
 */
#ifndef SHMBUS_WAIT_H
#define SHMBUS_WAIT_H

#include <stdint.h>
#include <time.h>

#include "shmbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * shmbus_deadline - the CLOCK_MONOTONIC time @timeout_ms from now, for
 * shmbus_futex_wait().  A negative @timeout_ms means "no deadline": @out is
 * then left untouched and the function returns 0 (and the caller passes
 * NULL); otherwise returns 1.
 */
SHMBUS_API int shmbus_deadline(int timeout_ms, struct timespec *out);

/* Whether @deadline (CLOCK_MONOTONIC) has passed; NULL never passes. */
SHMBUS_API int shmbus_deadline_passed(const struct timespec *deadline);

/*
 * shmbus_futex_wait - sleep while *@word == @expected, until woken or until
 * @deadline (absolute CLOCK_MONOTONIC; NULL: no limit).
 * Returns 0 when woken, when the word no longer held @expected, or on a
 * signal (callers re-check their condition anyway); -ETIMEDOUT; -EINVAL or
 * -EFAULT for a bad word.  Blocking.
 */
SHMBUS_API int shmbus_futex_wait(uint32_t *word, uint32_t expected,
				 const struct timespec *deadline);

/*
 * shmbus_futex_wake - wake up to @n waiters sleeping on @word (INT32_MAX for
 * all).  Returns how many were woken, or -errno.  Never blocks.
 */
SHMBUS_API int shmbus_futex_wake(uint32_t *word, int n);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_WAIT_H */
