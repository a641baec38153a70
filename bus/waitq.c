/*
 * waitq.c - sleep/wake on a shared futex word with a waiter count, so that
 * wakers make a syscall only when someone sleeps (see waitq_internal.h).
 */
#include <errno.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "futex_internal.h"
#include "waitq_internal.h"

/* The 32-bit seq half of the word, as futex(2) wants it. */
static uint32_t *seq_half(struct waitq *wq)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (uint32_t *)(void *)&wq->word + 1;
#else
	return (uint32_t *)(void *)&wq->word;
#endif
}

/* Take ourselves out of the count we joined under @seq, unless a wake
 * already did (seq moved on).  Never below 0. */
static void leave(struct waitq *wq, uint32_t seq)
{
	/* Relaxed: only the count matters here; the caller re-checks its
	 * condition with its own acquire loads. */
	uint64_t w = atomic_load_explicit(&wq->word, memory_order_relaxed);

	while (waitq_word_seq(w) == seq && waitq_word_waiters(w) != 0 &&
	       !atomic_compare_exchange_weak_explicit(&wq->word, &w, w - SHMBUS_WAITQ_ONE_WAITER,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

int waitq_wait_marked(struct waitq *wq, bool (*ready)(void *arg), void *arg,
			     const struct timespec *deadline, _Atomic uint32_t *mark,
			     uint32_t value)
{
	for (;;) {
		/* Relaxed RMW: the fence F1 below orders it before the
		 * condition load.  It returns the seq we are counted under:
		 * a wake after it bumps seq, so the futex wait below cannot
		 * sleep through it. */
		uint32_t seq = waitq_word_seq(atomic_fetch_add_explicit(
			&wq->word, SHMBUS_WAITQ_ONE_WAITER, memory_order_relaxed));
		int rc;

		/* M1: release, so that whoever reads the mark of a dead
		 * waiter also sees the count it joined. */
		if (mark)
			atomic_store_explicit(mark, value, memory_order_release);
		/* F1: pairs with F2 in waitq_wake() (Dekker). */
		atomic_thread_fence(memory_order_seq_cst);
		if (ready(arg)) {
			leave(wq, seq);
			/* M2: relaxed: a reader that finds the mark 0 does
			 * nothing, so nothing needs to be seen with it. */
			if (mark)
				atomic_store_explicit(mark, 0, memory_order_relaxed);
			return 0;
		}
		rc = futex_wait(seq_half(wq), seq, deadline);
		leave(wq, seq);
		if (mark)
			atomic_store_explicit(mark, 0, memory_order_relaxed); /* M2 */
		if (ready(arg))
			return 0;
		if (rc == -ETIMEDOUT || deadline_passed(deadline))
			return -ETIMEDOUT;
	}
}

int waitq_wait(struct waitq *wq, bool (*ready)(void *arg), void *arg,
		      const struct timespec *deadline)
{
	return waitq_wait_marked(wq, ready, arg, deadline, NULL, 0);
}

/* waitq_wake() without the fence, for a wake that makes no condition
 * true and only drops the count (waitq_forget()).  Lock-free. */
static int wake_nofence(struct waitq *wq)
{
	/* seq_cst: after waitq_wake()'s fence that costs nothing more
	 * on x86-64 and arm64, and a caller that needs no fence (forget)
	 * still reads the word in the single total order. */
	uint64_t w = atomic_load_explicit(&wq->word, memory_order_seq_cst);

	if (waitq_word_waiters(w) == 0)
		return 0;
	/* R2: release, though no load pairs with it today: a woken waiter
	 * learns only that seq moved (its futex_wait returns) and re-checks
	 * its condition with acquire loads of its own, which F1/F2 (or, for
	 * forget, nothing: it makes no condition true) order.  Release keeps
	 * a future reader of the word from seeing the drop before the
	 * waker's condition store, at no cost on x86-64 or arm64 (a CAS). */
	while (!atomic_compare_exchange_weak_explicit(&wq->word, &w,
						      (uint64_t)(waitq_word_seq(w) + 1u),
						      memory_order_release, memory_order_relaxed))
		if (waitq_word_waiters(w) == 0)
			return 0; /* they all left on their own */
	futex_wake(seq_half(wq), INT_MAX);
	return 1;
}

void waitq_forget(struct waitq *wq, _Atomic uint32_t *mark)
{
	/* Acquire: pairs with M1 of the dead waiter. */
	if (atomic_load_explicit(mark, memory_order_acquire) == 0)
		return;
	/* Relaxed, as M2: the dead waiter's entry is ours now, and a reader
	 * that finds 0 does nothing. */
	atomic_store_explicit(mark, 0, memory_order_relaxed);
	/* No fence: this wake makes no condition true, it only drops the
	 * count (the live sleepers it wakes re-check and count again). */
	wake_nofence(wq);
}

int waitq_wake(struct waitq *wq)
{
	/* F2: pairs with F1: the caller's condition store is ordered before
	 * the load of the word. */
	atomic_thread_fence(memory_order_seq_cst);
	return wake_nofence(wq);
}

void waitq_rouse(struct waitq *wq)
{
	futex_wake(seq_half(wq), INT_MAX);
}

static int membarrier(int cmd)
{
	return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

bool waitq_asym_register(void)
{
	/* Registration is per process (per mm) and not inherited by a child's
	 * new mm: remember for which pid it was done.  Relaxed: a racing
	 * second registration is harmless (the call is idempotent). */
	static _Atomic pid_t registered;
	pid_t me = getpid();
	int cmds;

	if (atomic_load_explicit(&registered, memory_order_relaxed) == me)
		return true;
	cmds = membarrier(MEMBARRIER_CMD_QUERY);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
	    !(cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED))
		return false;
	if (membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0)
		return false;
	atomic_store_explicit(&registered, me, memory_order_relaxed);
	return true;
}

int waitq_asym_fence(void)
{
	return membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0 ? 0 : -errno;
}
