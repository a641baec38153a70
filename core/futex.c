/*
 * futex.c - process-shared futex wait/wake and monotonic deadlines.
 *
 * FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC timeout, so a wait that
 * is interrupted and restarted never stretches the caller's deadline.  The
 * non-PRIVATE operations are used on purpose: the word is shared between
 * processes.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "futex_internal.h"
#include "time_internal.h"

int deadline_after(int timeout_ms, struct timespec *out)
{
	if (timeout_ms < 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, out);
	out->tv_sec += timeout_ms / 1000;
	out->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (out->tv_nsec >= 1000000000L) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000L;
	}
	return 1;
}

int deadline_passed(const struct timespec *deadline)
{
	struct timespec now;

	if (!deadline)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return !ts_before(&now, deadline);
}

int futex_wait(uint32_t *word, uint32_t expected, const struct timespec *deadline)
{
	long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, deadline, NULL,
			  FUTEX_BITSET_MATCH_ANY);

	if (rc == 0)
		return 0;
	switch (errno) {
	case EAGAIN: /* the word had already changed */
	case EINTR:
		return 0;
	case ETIMEDOUT:
		return -ETIMEDOUT;
	default:
		return -errno;
	}
}

int futex_wake(uint32_t *word, int n)
{
	long rc = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);

	return rc < 0 ? -errno : (int)rc;
}
