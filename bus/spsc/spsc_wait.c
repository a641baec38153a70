/*
 * spsc_wait.c - how the two sides of an SPSC ring sleep and wake each other
 * without costing the busy path a fence or a system call.  Invariant: no
 * wake-up is lost (a sleeper never sleeps through a position the other side
 * stored), and no sleep lasts longer than q->tune.sleep_cap_ms; the argument
 * follows.
 *
 * The sleeper (consumer on an empty ring, producer on a full one) uses the
 * shared wait queue (waitq_internal.h): count itself in `waiters`, re-check,
 * sleep on the futex `seq`.  On top of it each queue has an `armed` flag, set
 * by the sleeper before every sleep and taken (exchanged to 0) by the waker
 * that wakes it, so that one sleep costs one futex_wake, not one per message
 * committed while the woken side is still being scheduled.
 *
 * The textbook waker issues a seq_cst fence between its position store and
 * its load of the flag: that store->load order is what makes a lost wake-up
 * impossible (Dekker), and on x86 it is a locked instruction on every commit
 * and every release.  We move that cost to the sleeper with an asymmetric
 * fence, as liburcu's urcu-memb flavour does for its readers and folly's
 * asymmetric_thread_fence does for hazard pointers (see membarrier(2)):
 *
 *   waker  (every commit/release; spsc_wake() in spsc_internal.h):
 *     W1  store position (release), or the producer's closed flag
 *         (shmbus_spsc_close_stream(), release)
 *     W2  compiler barrier (atomic_signal_fence): W3 stays after W1 in
 *         program order
 *     W3  load armed (relaxed, through q->wake_hint); if 1: W4 exchange
 *         armed -> 0 (acq_rel), and if that returned 1, waitq_wake()
 *         (seq_cst fence, load the waiters count; if non-zero, zero it,
 *         bump seq, futex_wake)
 *   sleeper (once per sleep; ready() below, inside waitq_wait()):
 *     S0  waiters++ (reads seq), seq_cst fence F1   (waitq_wait)
 *     S1  exchange armed <- 1 (seq_cst)
 *     S2  membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)
 *     S3  load position (seq_cst; the consumer then the closed flag too);
 *         futex_wait on seq only if still no progress
 *
 * Why no wake-up is lost.  membarrier returns only after every running
 * thread of every process registered with
 * MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED (the waker registered at open,
 * spsc_asym_register()) has executed a full memory barrier B at some point P
 * during the call (a thread not running has passed a context switch, itself
 * a full barrier).  Take the waker's W1..W3 relative to P in its program
 * order:
 *  - W1 before P: B makes W1 visible before membarrier returns, so S3 sees
 *    the new position and the sleeper does not sleep.
 *  - W1 after P: W3 is after P too (W2 keeps the compiler from hoisting it,
 *    B the CPU), and S1 was visible before S2 began (the syscall starts with
 *    a full barrier on the caller), so W3 reads 1.  Only this waker and
 *    the sleeper once awake (spsc_block() disarms on its way out) clear the
 *    flag, so W4 returns 1 while the sleeper may still sleep.  W4 read S1,
 *    a release that S0 precedes:
 *    S1 synchronises with W4, so S0's waiters++ happens before
 *    waitq_wake() loads waiters; it sees the sleeper (or the sleeper
 *    has already left) and bumps seq, and futex_wait on the seq value S0
 *    read then returns at once or is woken.
 * Either way the sleeper does not sleep through the new position.  A sleeper
 * woken too early (the producer needs more room than was freed) re-arms in
 * its next ready() call before sleeping again, so every sleep is covered.
 *
 * Registration.  GLOBAL_EXPEDITED interrupts only the CPUs whose current
 * process is registered, so the argument holds for a waker only once its
 * process is.  A waker skips the fence only on a handle whose open
 * registered first (spsc_set_asym()), so every fence-skipping W1
 * comes after the registration in program order.  The sleeper itself needs
 * no registration to issue the call, so who opened first does not matter.
 * The one race left is a registration running while a sleeper is between
 * S1 and S3 (a role taken over by a new process while the other side
 * sleeps): the kernel ends the registration with a full barrier after
 * marking the process (sync_runqueues_membarrier_state(): "no memory access
 * following registration is reordered before registration"), and the
 * sleeper's membarrier begins with one before it reads those marks.  So
 * either the sleeper's call sees the new waker registered (and the argument
 * above applies), or the mark was not yet visible to it, and then by that
 * pair of barriers (store buffering: S1; mb; read mark  against  set mark;
 * mb; W1; W3) the waker's W3 reads S1 and takes the W4 path.
 * mp_spsc_kill.c tests both takeovers while the other side sleeps.
 * Registration is per process (per mm) and cleared by exec; a forked child
 * registers again on its first open (handles do not survive fork).
 *
 * Fallbacks: a waker in a process that could not register (old kernel,
 * seccomp) reads W3 from spsc_always_armed instead of the flag, so it
 * always does W4, a read-modify-write on the flag (see spsc_wake_slow()):
 * the fence-less Dekker, one locked instruction per commit or release, as
 * the textbook protocol costs.  A sleeper whose membarrier call fails (or
 * whose process could not register: then it does not even try) cannot rely
 * on S2 against a fence-skipping waker, so it sleeps in slices of
 * q->tune.slice_ms and re-checks: such a missed wake-up costs at most one
 * slice of latency, never a hang.  Assumed: a membarrier that returns 0 did its job
 * (a seccomp filter that fakes success for it would break this, as it
 * would break liburcu).
 * (No fences in this file: ThreadSanitizer understands read-modify-writes
 * and seq_cst operations, not fences, and GCC refuses them under it.)
 */
#include <errno.h>
#include <time.h>

#include "relax_internal.h"
#include "futex_internal.h"
#include "spsc_internal.h"

bool spsc_asym_register(void)
{
	return waitq_asym_register();
}

/* Never written: loads of it are not racy. */
_Atomic uint32_t spsc_always_armed = 1;

void spsc_set_asym(struct shmbus_spsc *q, bool asym)
{
	q->wake_hint = asym ? q->wake_armed : &spsc_always_armed;
}

void spsc_wake_slow(struct shmbus_spsc *q)
{
	/*
	 * W4: take the flag.  acq_rel: the acquire pairs with S1 (a release
	 * that S0 precedes).  Without membarrier (wake_hint is
	 * spsc_always_armed) this exchange is also W3: a read-modify-write
	 * reads the latest value in the flag's modification order, so either
	 * it sees S1, or S1 comes after it and then S1 synchronises with it,
	 * W1 happens before S3 and the sleeper sees the position: the
	 * fence-less form of the textbook Dekker.
	 */
	if (atomic_exchange_explicit(q->wake_armed, 0, memory_order_acq_rel) == 0)
		return;
	if (waitq_wake(q->wake_wq))
		spsc_count(q->wakes, 1);
}

/* What a sleeper waits for: the other side moved far enough (or, for the
 * consumer, closed the stream). */
struct sleeper {
	struct shmbus_spsc *q;
	_Atomic uint32_t *armed;
	/* An S2 completed after an S1, and every S1 since found the flag
	 * still 1: no W4 took it in between (see ready()). */
	bool fenced;
};

/* The condition alone.  Garbage positions and a corrupt mark also count as
 * "ready": the caller's next attempt reports them. */
static bool progressed(struct shmbus_spsc *q)
{
	/* Relaxed: informational mark. */
	if (atomic_load_explicit(&q->sh->corrupt, memory_order_relaxed))
		return true;
	if (q->role == SHMBUS_SPSC_PRODUCER) {
		/* S3/A3: seq_cst (the Dekker above; also an acquire pairing
		 * with R2 in release_to(); the attempt re-loads with A1). */
		uint64_t t = atomic_load_explicit(&q->sh->cons.tail, memory_order_seq_cst);

		return q->want - t <= q->cap || t - q->other > q->pos - q->other;
	}
	/* S3/A4: seq_cst (the Dekker above; also an acquire pairing with R1
	 * in publish()).  Then the flag, as part of S3 (the close is a W1 too,
	 * shmbus_spsc_close_stream()): seq_cst as well, and an acquire
	 * pairing with R3; the attempt re-loads both (A2, A5). */
	return atomic_load_explicit(&q->sh->prod.head, memory_order_seq_cst) != q->pos ||
	       atomic_load_explicit(&q->sh->prod.closed, memory_order_seq_cst) != 0;
}

static bool ready(void *arg)
{
	struct sleeper *s = arg;

	if (progressed(s->q))
		return true;
	/* S1: seq_cst exchange: a release for W4, and one side of the
	 * fallback Dekker.  Finding 0, a waker took the flag since our last
	 * S1 (or none was made): the next S2 is due. */
	if (atomic_exchange_explicit(s->armed, 1, memory_order_seq_cst) == 0)
		s->fenced = false;
	/*
	 * S2, once per stretch of the flag staying 1.  A sleep that ends by
	 * its cap (q->tune.sleep_cap_ms) and sleeps again would otherwise
	 * interrupt every CPU running a registered process twice a cap, for
	 * as long as the ring is idle.  Skipping it is safe: this S1 read the
	 * 1 of an earlier S1 that an S2 (barrier point P) followed, with no
	 * 0 in between.  A waker's W1 before P is visible to S3 below (after
	 * P); one after P has its W3 after P too, which reads 1 - that S1's
	 * or a later one - so its W4 comes after this S1 (it would have
	 * stored the 0 this S1 did not find), reads it, and wakes the count
	 * S0 joined: the argument at the top, with the earlier P.
	 */
	if (!s->fenced && !s->q->sliced) {
		if (waitq_asym_fence() != 0)
			s->q->sliced = true;
		else
			s->fenced = true;
	}
	/* S3 */
	return progressed(s->q);
}

int spsc_block(struct shmbus_spsc *q, int (*attempt)(struct shmbus_spsc *q, void *arg),
	       void *arg, int timeout_ms)
{
	struct timespec dl_buf, slice_buf;
	const struct timespec *deadline = NULL;
	struct sleeper s = { .q = q };
	struct waitq *wq;
	unsigned spins = 0;
	bool slept = false;
	int rc;

	rc = attempt(q, arg);
	if (rc != -EAGAIN)
		return rc;
	if (timeout_ms == 0)
		return -ETIMEDOUT;
	if (q->role == SHMBUS_SPSC_PRODUCER) {
		spsc_count(&q->sh->prod.full_waits, 1);
		wq = &q->sh->space_wq;
		s.armed = &q->sh->space_armed;
	} else {
		spsc_count(&q->sh->cons.empty_waits, 1);
		wq = &q->sh->data_wq;
		s.armed = &q->sh->data_armed;
	}
	if (deadline_after(timeout_ms, &dl_buf))
		deadline = &dl_buf;
	for (;;) {
		if (spins < q->tune.spin) {
			spins++;
			relax_cpu();
			if (!progressed(q))
				continue;
		} else {
			/* Relaxed: informational mark.  Waiting on a ring known
			 * to be garbage would never end. */
			if (atomic_load_explicit(&q->sh->corrupt, memory_order_relaxed)) {
				rc = spsc_corrupt(q);
				break;
			}
			/* A block truncated under a sleeper raises no fault until
			 * someone touches the lost pages: look, once a sleep. */
			rc = shmbus_block_check(q->block);
			if (rc)
				break;
			if (deadline_passed(deadline)) {
				rc = -ETIMEDOUT;
				break;
			}
			slept = true;
			/* Its result does not matter: the attempt below decides. */
			waitq_wait(wq, ready, &s,
				   waitq_cap(deadline,
					     q->sliced ? q->tune.slice_ms : q->tune.sleep_cap_ms,
					     &slice_buf));
		}
		rc = attempt(q, arg);
		if (rc != -EAGAIN)
			break;
	}
	/* Awake: spare the other side the exchange on its next wake.
	 * Relaxed: racing the waker's W4 is harmless, both store 0. */
	if (slept)
		atomic_store_explicit(s.armed, 0, memory_order_relaxed);
	return rc;
}
