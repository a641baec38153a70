/*
 * waitq_internal.h - a wait queue in shared memory: sleep until a condition
 * holds, woken by another process, with no syscall on the waker's side unless
 * somebody actually sleeps.
 *
 * Protocol (Dekker-style, the pattern futex(7) users know):
 *   waker:  make the condition true (release store), then
 *           shmbus_waitq_wake(): seq_cst fence, read `waiters`; only if it is
 *           non-zero bump `seq` and futex_wake(seq).
 *   waiter: shmbus_waitq_wait(): read `seq`, increment `waiters`, seq_cst
 *           fence, re-check the condition; sleep on `seq` only if still false.
 * The two fences order "condition store -> waiters load" against
 * "waiters store -> condition load": at least one side sees the other, so a
 * wake-up is never lost.  A waiter that read `seq` before a wake finds it
 * changed and futex_wait returns at once.
 *
 * A waiter killed while asleep leaves `waiters` too high; that costs every
 * later wake-up a fence and a futex_wake system call, never a hang.  A
 * layout whose waiters can be known dead (a participant table) repairs it:
 * each waiter passes a mark word of its own to shmbus_waitq_wait_marked(),
 * set only while it is counted; whoever proves it dead calls
 * shmbus_waitq_forget() on its mark.
 */
#ifndef SHMBUS_WAITQ_INTERNAL_H
#define SHMBUS_WAITQ_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct shmbus_waitq {
	_Atomic uint32_t seq;     /* futex word, bumped by each real wake */
	_Atomic uint32_t waiters; /* processes/threads inside shmbus_waitq_wait() */
};

/*
 * shmbus_waitq_wait - block until @ready(@arg) returns true or @deadline
 * (CLOCK_MONOTONIC, NULL for none) passes.  @ready must read the shared
 * condition with acquire order.  Returns 0 when ready, -ETIMEDOUT.
 * Blocking.
 */
int shmbus_waitq_wait(struct shmbus_waitq *wq, bool (*ready)(void *arg), void *arg,
		      const struct timespec *deadline);

/*
 * shmbus_waitq_wait_marked - as shmbus_waitq_wait(), and store @value into
 * @mark (a word of the caller's own, e.g. in its participant entry) while
 * the caller is counted in `waiters`: set after the increment, cleared
 * before the decrement.  So a caller killed inside this call leaves @mark
 * set exactly when (and only when) it is still counted, bar the window of
 * one instruction on each side, where the count is left too high.
 */
int shmbus_waitq_wait_marked(struct shmbus_waitq *wq, bool (*ready)(void *arg), void *arg,
			     const struct timespec *deadline, _Atomic uint32_t *mark,
			     uint32_t value);

/*
 * shmbus_waitq_forget - a waiter whose @mark this is has died (the caller
 * proved it and owns its mark now): if the mark is set, clear it and take
 * the dead waiter out of `waiters` (never below 0).  Wait-free.
 */
void shmbus_waitq_forget(struct shmbus_waitq *wq, _Atomic uint32_t *mark);

/*
 * shmbus_waitq_wake - wake every sleeper, if there is one.  Call after the
 * release store that makes the condition true.  Returns 1 if a futex wake
 * was issued (count it), 0 if nobody slept.  Wait-free.
 */
int shmbus_waitq_wake(struct shmbus_waitq *wq);

/* Whether anybody sleeps (for callers that batch their wakes). */
static inline bool shmbus_waitq_has_waiters(struct shmbus_waitq *wq)
{
	/* Relaxed: a hint; shmbus_waitq_wake() does the ordered check. */
	return atomic_load_explicit(&wq->waiters, memory_order_relaxed) != 0;
}

#endif
