/*
 * waitq_internal.h - a wait queue in shared memory (an "eventcount"): sleep
 * until a condition holds, woken by another process, with no system call
 * on the waker's side unless somebody sleeps that no wake has reached yet.
 *
 * One 64-bit word: | waiters (32) | seq (32) |.  seq is the futex word (its
 * 32-bit half at the lower address on little-endian machines, so the bytes
 * are those of the earlier layout: seq at offset 0, waiters at offset 4).
 *
 * Protocol (Dekker-style, the pattern futex(7) users know):
 *   waiter: waitq_wait(): add one to waiters (an RMW that returns
 *           the seq it counted itself under), seq_cst fence, re-check the
 *           condition; futex-sleep on seq only if still false and seq is
 *           still the one it counted under.
 *   waker:  make the condition true (release store), then
 *           waitq_wake(): seq_cst fence, read the word; only if
 *           waiters is non-zero, replace it by (0, seq + 1) with a CAS, and
 *           futex_wake(seq).
 * The two fences order "condition store -> word load" against "waiters
 * increment -> condition load": at least one side sees the other, so a
 * wake-up is never lost.
 *
 * A wake takes every counted waiter out of the count at once (and bumps
 * seq, so that none of them can go to sleep on the old value).  So a busy
 * waker pays one system call per group of sleepers, not one per call until
 * the woken get to run; and a waiter killed in its sleep is forgotten by
 * the next wake.  A waiter leaving on its own (ready, timed out,
 * interrupted) takes itself out only if seq is still the one it counted
 * under: otherwise a wake already did.
 *
 * Kills.  A waiter killed anywhere leaves at most its own count, which the
 * next wake drops.  A waker killed between its swap and its futex_wake has
 * taken the sleepers out of the count without waking them, and later wakers
 * see nobody to wake: those sleepers sleep on until their deadline.  So
 * every user bounds its sleeps (the mpmc ring by its liveness timeout, the
 * spsc ring by SPSC_SLEEP_CAP_MS), and a process that takes over a dead
 * peer's role rouses the queue (waitq_rouse()).  A "wake in
 * progress" bit would close the window, but every busy waker that saw it
 * would have to wake too, and wakers that overlap keep it set for each
 * other: a storm of system calls with nobody asleep.
 *
 * Marks: a waiter may pass a word of its own (waitq_wait_marked()),
 * set while it is inside the call, so that whoever proves it dead can see
 * that it died there (waitq_forget()).
 */
#ifndef SHMBUS_WAITQ_INTERNAL_H
#define SHMBUS_WAITQ_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "futex_internal.h"
#include "time_internal.h"

struct waitq {
	_Atomic uint64_t word; /* waiters << 32 | seq */
};

#define SHMBUS_WAITQ_ONE_WAITER (UINT64_C(1) << 32)

/* The two fields of a word (e.g. of a snapshot). */
static inline uint32_t waitq_word_waiters(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

static inline uint32_t waitq_word_seq(uint64_t w)
{
	return (uint32_t)w;
}

/*
 * waitq_wait - block until @ready(@arg) returns true or @deadline
 * (CLOCK_MONOTONIC, NULL for none) passes.  @ready must read the shared
 * condition with acquire order.  Returns 0 when ready, -ETIMEDOUT.
 * Blocking.
 */
int waitq_wait(struct waitq *wq, bool (*ready)(void *arg), void *arg,
		      const struct timespec *deadline);

/*
 * waitq_wait_marked - as waitq_wait(), and store @value into
 * @mark (a word of the caller's own, e.g. in its participant entry) while
 * the caller is inside the call: set after it counts itself, cleared when
 * it leaves (a wake may have taken it out of the count before that).
 */
int waitq_wait_marked(struct waitq *wq, bool (*ready)(void *arg), void *arg,
			     const struct timespec *deadline, _Atomic uint32_t *mark,
			     uint32_t value);

/*
 * waitq_forget - a waiter whose @mark this is has died (the caller
 * proved it and owns its mark now): if the mark is set, clear it and wake
 * the queue, which takes the dead waiter out of the count (live sleepers
 * wake, re-check and count themselves again).  Wait-free but for the wake.
 */
void waitq_forget(struct waitq *wq, _Atomic uint32_t *mark);

/*
 * waitq_wake - wake every sleeper, if there is one.  Call after the
 * release store that makes the condition true.  Returns 1 if a futex wake
 * was issued (count it), 0 if nobody was counted.  Lock-free: its CAS
 * fails only when a waiter joined or left, or another wake happened.
 */
int waitq_wake(struct waitq *wq);

/*
 * waitq_rouse - wake every sleeper whether counted or not (a futex
 * wake on seq, nothing else): for a process taking over the role of one
 * that may have died inside a wake (see "Kills" above).  Sleepers re-check
 * and sleep again if they must.
 */
void waitq_rouse(struct waitq *wq);

/*
 * waitq_cap - the sooner of @deadline (CLOCK_MONOTONIC, NULL: none)
 * and now + @ms (negative: no cap): @deadline itself, or @buf filled.  For
 * sleeps that must end at least every @ms (see "Kills" above).
 */
static inline const struct timespec *waitq_cap(const struct timespec *deadline, int ms,
						      struct timespec *buf)
{
	if (deadline_after(ms, buf) == 0 || (deadline && ts_before(deadline, buf)))
		return deadline;
	return buf;
}

/*
 * Asymmetric fences (membarrier(2)), for wakers that skip the seq_cst fence
 * of waitq_wake() on their busy path and sleepers that pay for it instead
 * (the argument is at the top of bus/spsc/spsc_wait.c; the broadcast ring
 * uses it too, bus/broadcast/bcast_wait.c).
 * waitq_asym_register - register this process for
 * MEMBARRIER_CMD_GLOBAL_EXPEDITED (once per process; again after fork).
 * Returns false if the kernel (or a seccomp filter) does not allow it: then
 * this process's wakers must not skip the fence.
 * waitq_asym_fence - a full memory barrier on every CPU running a registered
 * process: 0, or -errno (the sleeper must then not rely on it).
 */
bool waitq_asym_register(void);
int waitq_asym_fence(void);

/* Whether anybody is counted (tests, and checks from outside the wait). */
static inline bool waitq_has_waiters(struct waitq *wq)
{
	/* Relaxed: a hint; waitq_wake() does the ordered check. */
	return waitq_word_waiters(atomic_load_explicit(&wq->word, memory_order_relaxed)) !=
	       0;
}

#endif
