/*
 * waitq.c - sleep/wake on a shared futex word with a waiter count, so that
 * wakers make a syscall only when someone sleeps (see waitq_internal.h).
 */
#include <errno.h>
#include <limits.h>

#include "shmbus/wait.h"
#include "waitq_internal.h"

int shmbus_waitq_wait(struct shmbus_waitq *wq, bool (*ready)(void *arg), void *arg,
		      const struct timespec *deadline)
{
	for (;;) {
		/* A2: acquire, pairs with R2 in shmbus_waitq_wake(): a seq
		 * value newer than ours means a wake we must not sleep through. */
		uint32_t seq = atomic_load_explicit(&wq->seq, memory_order_acquire);
		int rc;

		/* Relaxed increment: the fence below orders it before the
		 * condition load. */
		atomic_fetch_add_explicit(&wq->waiters, 1, memory_order_relaxed);
		/* F1: pairs with F2 in shmbus_waitq_wake() (Dekker). */
		atomic_thread_fence(memory_order_seq_cst);
		if (ready(arg)) {
			atomic_fetch_sub_explicit(&wq->waiters, 1, memory_order_relaxed);
			return 0;
		}
		rc = shmbus_futex_wait((uint32_t *)&wq->seq, seq, deadline);
		atomic_fetch_sub_explicit(&wq->waiters, 1, memory_order_relaxed);
		if (ready(arg))
			return 0;
		if (rc == -ETIMEDOUT || shmbus_deadline_passed(deadline))
			return -ETIMEDOUT;
	}
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
