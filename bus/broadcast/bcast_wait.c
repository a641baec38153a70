/*
 * bcast_wait.c - how the sides of a broadcast ring wait for each other and
 * wake each other, and the corrupt mark.
 *
 * Subscribers sleep on data_wq until tail moves or the stream closes; a
 * reliable producer sleeps on space_wq until a cursor it waits for moves.
 * Both use the shared eventcount (waitq_internal.h): the sleeper counts
 * itself, re-checks its condition with acquire loads and sleeps on the
 * futex.  Rare wakers (close_stream, a leaving subscriber, a takeover) make
 * the condition true with a release store and call waitq_wake(), whose
 * seq_cst fence pairs with the sleeper's: no wake-up is lost.
 *
 * The busy wakers (the producer after every publish, a reliable subscriber
 * after every release) skip that fence with the asymmetric scheme of the
 * SPSC ring (the full argument, and the registration race, are at the top
 * of bus/spsc/spsc_wait.c; what differs here is said below):
 *   waker  W1 release store (tail / cursor); W2 compiler barrier;
 *          W3 relaxed load of the armed flag (through b->wake_hint); if 1,
 *          W4 exchange it to 0 (acq_rel) and, if that returned 1,
 *          waitq_wake()                        (bcast_wake_fast/_slow)
 *   sleeper S0 count itself + seq_cst fence (waitq_wait); S1 exchange the
 *          flag to 1 (seq_cst); S2 membarrier(GLOBAL_EXPEDITED); S3 the
 *          condition again                     (armed_ready() below)
 * A W1 before the barrier point P that S2 forces on the waker's CPU is
 * visible to S3; a W1 after P has its W3 after P, which reads S1 or a later
 * value of the flag.  Many subscribers share data_armed, so what "later"
 * can be differs from SPSC: the flag is written only by S1s (1) and W4s (0),
 * all read-modify-writes, so the first W4 after our S1 in the flag's
 * modification order reads a 1 written by our S1 or by RMWs after it (its
 * release sequence): that W4 synchronises with our S1, so our S0 happens
 * before its waitq_wake() reads the count, which wakes us.  Hence two rules
 * that the SPSC ring does not need: a subscriber never clears data_armed
 * on its way out (a plain store of 0 would break the release sequence of
 * another sleeper's S1 - the producer clears it with its next W4 instead),
 * and every sleep of a subscriber runs its own S2 (a 1 found in the flag
 * may be another sleeper's, whose S2 has not run yet).  space_armed has one
 * sleeper (the producer) and follows the SPSC rules exactly.
 *
 * Fallbacks, as in SPSC: a waker whose process could not register reads W3
 * from bcast_always_armed (one read-modify-write per wake: the fence-less
 * Dekker); a sleeper that cannot use membarrier sleeps in slices of
 * b->tune.slice_ms.
 *
 * Invariant: no sleep outlasts its cap: a subscriber's is
 * b->tune.sleep_cap_ms (a waker killed inside its wake costs no more), the
 * producer's the ring's liveness timeout, so that the try call it repeats
 * can find a dead subscriber that holds it and free its entry.
 * (No fences in the wait path: ThreadSanitizer understands read-modify-
 * writes and seq_cst operations, not fences.)
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

/* Never written: loads of it are not racy. */
_Atomic uint32_t bcast_always_armed = 1;

void bcast_asym_setup(struct shmbus_bcast *b)
{
	bool reg = waitq_asym_register();
	_Atomic uint32_t *armed = b->role == SHMBUS_BCAST_PRODUCER ? &b->sh->w.data_armed :
								      &b->sh->w.space_armed;

	/* A lossy subscriber wakes nobody (the producer never waits). */
	b->wake_hint = reg ? armed : &bcast_always_armed;
	b->sliced = !reg;
}

void bcast_wake_slow(_Atomic uint32_t *armed, struct waitq *wq, _Atomic uint64_t *wakes)
{
	/* W4: take the flag.  acq_rel: the acquire pairs with S1 (a release
	 * that S0 precedes); without membarrier this exchange is also W3 (the
	 * fence-less Dekker, see spsc_wake_slow()). */
	if (atomic_exchange_explicit(armed, 0, memory_order_acq_rel) == 0)
		return;
	bcast_wake(wq, wakes);
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

/* What a sleeper waits for: the caller's condition, armed. */
struct sleeper {
	struct shmbus_bcast *b;
	_Atomic uint32_t *armed;
	bool (*moved)(void *arg);
	void *arg;
};

static bool armed_ready(void *arg)
{
	struct sleeper *s = arg;

	if (s->moved(s->arg))
		return true;
	/* S1: seq_cst exchange: a release for W4 (that S0 precedes), and one
	 * side of the fallback Dekker. */
	atomic_exchange_explicit(s->armed, 1, memory_order_seq_cst);
	/* S2, on every sleep (see the top of this file). */
	if (!s->b->sliced && waitq_asym_fence() != 0)
		s->b->sliced = true;
	/* S3: the condition's own acquire loads. */
	return s->moved(s->arg);
}

int bcast_block(struct shmbus_bcast *b, int (*attempt)(struct shmbus_bcast *b, void *arg),
		bool (*moved)(void *arg), void *arg, int timeout_ms)
{
	struct timespec dl_buf, cap_buf;
	const struct timespec *deadline = NULL;
	bool producer = b->role == SHMBUS_BCAST_PRODUCER;
	struct waitq *wq = producer ? &b->sh->w.space_wq : &b->sh->w.data_wq;
	int cap_ms = producer ? (int)b->cfg.liveness_ms : b->tune.sleep_cap_ms;
	struct sleeper s = {
		.b = b,
		.armed = producer ? &b->sh->w.space_armed : &b->sh->w.data_armed,
		.moved = moved,
		.arg = arg,
	};
	bool slept = false;
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
			if (atomic_load_explicit(&b->sh->w.corrupt, memory_order_relaxed)) {
				rc = bcast_corrupt(b);
				break;
			}
			/* A truncation under a sleeper faults nobody: look. */
			rc = shmbus_block_check(b->block);
			if (rc)
				break;
			if (deadline_passed(deadline)) {
				rc = -ETIMEDOUT;
				break;
			}
			slept = true;
			/* Its result does not matter: the attempt decides. */
			(void)waitq_wait(wq, armed_ready, &s,
					 waitq_cap(deadline,
						   b->sliced && b->tune.slice_ms < cap_ms ?
							   b->tune.slice_ms : cap_ms,
						   &cap_buf));
		}
		rc = attempt(b, arg);
		if (rc != -EAGAIN)
			break;
	}
	/* Awake: the producer, the one sleeper on space_wq, spares the
	 * subscribers the exchange of their next wakes (relaxed: racing a W4
	 * is harmless, both store 0).  A subscriber must not (see the top). */
	if (slept && producer)
		atomic_store_explicit(s.armed, 0, memory_order_relaxed);
	return rc;
}
