/*
 * waitq.c - sleep/wake on a shared futex word with a waiter count, so that
 * wakers make a syscall only when someone sleeps (see waitq_internal.h).
 */
#include <errno.h>
#include <limits.h>

#include "shmbus/wait.h"
#include "waitq_internal.h"

int shmbus_waitq_wait_marked(struct shmbus_waitq *wq, bool (*ready)(void *arg), void *arg,
			     const struct timespec *deadline, _Atomic uint32_t *mark,
			     uint32_t value)
{
	for (;;) {
		/* A2: acquire, pairs with R2 in shmbus_waitq_wake(): a seq
		 * value newer than ours means a wake we must not sleep through. */
		uint32_t seq = atomic_load_explicit(&wq->seq, memory_order_acquire);
		int rc;

		/* Relaxed increment: the fence below orders it before the
		 * condition load. */
		atomic_fetch_add_explicit(&wq->waiters, 1, memory_order_relaxed);
		/* M1: release, after the increment and cleared (M2) before the
		 * decrement, so a caller killed in between leaves the mark set
		 * exactly while it is counted (waitq_internal.h). */
		if (mark)
			atomic_store_explicit(mark, value, memory_order_release);
		/* F1: pairs with F2 in shmbus_waitq_wake() (Dekker). */
		atomic_thread_fence(memory_order_seq_cst);
		if (ready(arg)) {
			/* M2: release, as M1. */
			if (mark)
				atomic_store_explicit(mark, 0, memory_order_release);
			atomic_fetch_sub_explicit(&wq->waiters, 1, memory_order_relaxed);
			return 0;
		}
		rc = shmbus_futex_wait((uint32_t *)&wq->seq, seq, deadline);
		if (mark)
			atomic_store_explicit(mark, 0, memory_order_release); /* M2 */
		atomic_fetch_sub_explicit(&wq->waiters, 1, memory_order_relaxed);
		if (ready(arg))
			return 0;
		if (rc == -ETIMEDOUT || shmbus_deadline_passed(deadline))
			return -ETIMEDOUT;
	}
}

int shmbus_waitq_wait(struct shmbus_waitq *wq, bool (*ready)(void *arg), void *arg,
		      const struct timespec *deadline)
{
	return shmbus_waitq_wait_marked(wq, ready, arg, deadline, NULL, 0);
}

void shmbus_waitq_forget(struct shmbus_waitq *wq, _Atomic uint32_t *mark)
{
	uint32_t n;

	/* Acquire: pairs with M1 of the dead waiter.  Cleared before the
	 * decrement: a caller killed in between leaves the count too high
	 * (a needless wake-up), never too low (a lost one). */
	if (atomic_load_explicit(mark, memory_order_acquire) == 0)
		return;
	atomic_store_explicit(mark, 0, memory_order_relaxed);
	/* Relaxed, saturating at 0: a garbage mark must not wrap the count
	 * to a huge value. */
	n = atomic_load_explicit(&wq->waiters, memory_order_relaxed);
	while (n > 0 && !atomic_compare_exchange_weak_explicit(&wq->waiters, &n, n - 1,
							       memory_order_relaxed,
							       memory_order_relaxed))
		;
}

int shmbus_waitq_wake(struct shmbus_waitq *wq)
{
	/* F2: pairs with F1: the caller's condition store is ordered before
	 * the waiters load. */
	atomic_thread_fence(memory_order_seq_cst);
	/* Relaxed: ordered by F2. */
	if (atomic_load_explicit(&wq->waiters, memory_order_relaxed) == 0)
		return 0;
	/* R2: release, pairs with A2. */
	atomic_fetch_add_explicit(&wq->seq, 1, memory_order_release);
	shmbus_futex_wake((uint32_t *)&wq->seq, INT_MAX);
	return 1;
}
