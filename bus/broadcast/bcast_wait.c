/*
 * bcast_wait.c - how the sides of a broadcast ring wait for each other and
 * wake each other, and the corrupt mark.
 *
 * Subscribers sleep on data_wq until tail moves or the stream closes; a
 * reliable producer sleeps on space_wq until a cursor it waits for moves.
 * Both use the shared eventcount (waitq_internal.h): the sleeper counts
 * itself, re-checks its condition with acquire loads and sleeps on the
 * futex; the waker makes the condition true with a release store and then
 * calls waitq_wake() (its seq_cst fence pairs with the sleeper's, so no
 * wake-up is lost), which makes a system call only when somebody sleeps.
 *
 * Invariant: no sleep outlasts its cap: a subscriber's is
 * b->tune.sleep_cap_ms (a waker killed inside its wake costs no more), the
 * producer's the ring's liveness timeout, so that the try call it repeats
 * can find a dead subscriber that holds it and free its entry.
 */
#include <time.h>

#include "bcast_internal.h"
#include "relax_internal.h"

int bcast_corrupt(struct shmbus_bcast *b)
{
	/* Zeros where the guard replaced truncated pages are not a verdict
	 * on the ring: say what happened, and mark nothing in the block. */
	if (block_lost(b->lost))
		return -SHMBUS_ESHRUNK;
	b->broken = true;
	b->gate = 0;
	b->res_ok = false;
	b->peek_n = 0;
	/* Relaxed: an informational mark for inspection and for the other
	 * sides' slow paths; nothing is published through it. */
	atomic_store_explicit(&b->sh->w.corrupt, 1, memory_order_relaxed);
	return -SHMBUS_ECORRUPT;
}

void bcast_wake(struct waitq *wq, _Atomic uint64_t *wakes)
{
	/* waitq_wake() fences (F2 of waitq.c) after the caller's release
	 * store.  Relaxed RMW: a counter (several subscribers share theirs). */
	if (waitq_wake(wq))
		atomic_fetch_add_explicit(wakes, 1, memory_order_relaxed);
}

#if defined(__SANITIZE_THREAD__)
__attribute__((noinline)) void bcast_fence_acquire(void)
{
	atomic_thread_fence(memory_order_acquire); /* F2, see bcast_gone() */
}

__attribute__((noinline)) void bcast_fence_release(void)
{
	atomic_thread_fence(memory_order_release); /* F1, see ensure_room() */
}
#endif

uint64_t bcast_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bcast_block(struct shmbus_bcast *b, int (*attempt)(struct shmbus_bcast *b, void *arg),
		bool (*moved)(void *arg), void *arg, int timeout_ms)
{
	struct timespec dl_buf, cap_buf;
	const struct timespec *deadline = NULL;
	bool producer = b->role == SHMBUS_BCAST_PRODUCER;
	struct waitq *wq = producer ? &b->sh->w.space_wq : &b->sh->w.data_wq;
	int cap_ms = producer ? (int)b->cfg.liveness_ms : b->tune.sleep_cap_ms;
	unsigned spins = 0;
	int rc;

	rc = attempt(b, arg);
	if (rc != -EAGAIN)
		return rc;
	if (timeout_ms == 0)
		return -ETIMEDOUT;
	bcast_count(producer ? &b->sh->prod.full_waits : &b->mine->waits, 1);
	if (deadline_after(timeout_ms, &dl_buf))
		deadline = &dl_buf;
	for (;;) {
		if (spins < b->tune.spin) {
			spins++;
			relax_cpu();
			if (!moved(arg))
				continue;
		} else {
			/* Relaxed: informational mark; waiting on garbage
			 * would never end. */
			if (atomic_load_explicit(&b->sh->w.corrupt, memory_order_relaxed))
				return bcast_corrupt(b);
			/* A truncation under a sleeper faults nobody: look. */
			rc = shmbus_block_check(b->block);
			if (rc)
				return rc;
			if (deadline_passed(deadline))
				return -ETIMEDOUT;
			/* Its result does not matter: the attempt decides. */
			(void)waitq_wait(wq, moved, arg, waitq_cap(deadline, cap_ms, &cap_buf));
		}
		rc = attempt(b, arg);
		if (rc != -EAGAIN)
			return rc;
	}
}
