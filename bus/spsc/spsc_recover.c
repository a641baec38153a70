/*
 * spsc_recover.c - what happens to an SPSC ring when something goes wrong:
 * a side finds garbage in the block (the corrupt mark), or a process takes
 * over the role of one that died, possibly in the middle of any call.
 *
 * Invariants: a ring marked corrupt stays unusable (the mark is never
 * cleared; no handle opens on it, and a handle that finds garbage fails
 * every later call); a new owner continues from the positions in the block
 * only if they pass spsc_positions_ok(), a closed stream stays closed, and
 * the new owner leaves no sleeper of the other side stranded by a wake its
 * predecessor did not finish.
 */
#include "spsc_internal.h"

int spsc_corrupt(struct shmbus_spsc *q)
{
	/* Zeros where the guard replaced truncated pages are not a verdict
	 * on the ring: say what happened, and mark nothing in the block. */
	if (block_lost(q->lost))
		return -SHMBUS_ESHRUNK;
	q->broken = true;
	q->gate = 0;
	/* The fast paths of commit and release test these alone. */
	q->res_n = 0;
	q->peek_ok = false;
	q->burst_ok = false;
	/* Relaxed: an informational mark for inspection and for the other
	 * side's slow paths; nothing is published through it. */
	atomic_store_explicit(&q->sh->corrupt, 1, memory_order_relaxed);
	return -SHMBUS_ECORRUPT;
}

/* Positions loaded at open: own (last stored by this role's previous owner)
 * and the other side's.  Acquire on both: the claim CAS already ordered a
 * clean previous owner's writes; for the other side's position this pairs
 * with its release stores as in the hot paths (R1 in publish(), R2 in
 * release_to()). */
static int load_positions(struct shmbus_spsc *q)
{
	uint64_t head = atomic_load_explicit(&q->sh->prod.head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&q->sh->cons.tail, memory_order_acquire);

	if (!spsc_positions_ok(head, tail, q->cap))
		return -SHMBUS_ECORRUPT;
	q->pos = q->role == SHMBUS_SPSC_PRODUCER ? head : tail;
	q->other = q->role == SHMBUS_SPSC_PRODUCER ? tail : head;
	/* A new producer does not reopen a closed stream behind the consumer's
	 * back: only shmbus_spsc_reopen_stream() does.  Acquire, as the
	 * positions above: pairs with R3 in shmbus_spsc_close_stream() of the
	 * previous producer, as they pair with its R1. */
	if (q->role == SHMBUS_SPSC_PRODUCER &&
	    atomic_load_explicit(&q->sh->prod.closed, memory_order_acquire))
		q->gate = 0;
	return 0;
}

int spsc_takeover(struct shmbus_spsc *q)
{
	struct participant *part = &q->sh->part[q->role - 1];
	int rc;

	/* Relaxed: informational; a ring marked corrupt stays unusable. */
	if (atomic_load_explicit(&q->sh->corrupt, memory_order_relaxed))
		return -SHMBUS_ECORRUPT;
	rc = part_claim(part, q->role, q->me, NULL);
	if (rc)
		return rc;
	block_touch(q->block);
	/*
	 * Only this role ever sleeps on its own queue and we now hold the
	 * role, so nobody sleeps there: a count left behind by an owner killed
	 * in its sleep is stale.  A wake clears it (waitq_internal.h), so the
	 * other side's first wake does not have to.
	 */
	waitq_wake(q->role == SHMBUS_SPSC_PRODUCER ? &q->sh->space_wq : &q->sh->data_wq);
	rc = load_positions(q);
	if (rc) {
		spsc_corrupt(q);
		part_leave(part, q->me);
	}
	return rc;
}

void spsc_takeover_rouse(struct shmbus_spsc *q)
{
	/* The one we replace may have died inside a wake of the other side,
	 * after taking it out of the count and before waking it: rouse it
	 * (it re-checks, and sleeps again if it must). */
	waitq_rouse(q->wake_wq);
}
