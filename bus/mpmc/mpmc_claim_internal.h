/*
 * mpmc_claim_internal.h - the slot state machine of the mpmc ring, and the
 * inline pieces of the claim paths that producers (mpmc_produce.c) and
 * consumers (mpmc_consume.c) share: where a claim starts, the hint's catch-up
 * (I5), fetch-ahead and the handle's list of claims.  Recovery of a dead
 * owner's slots, the other transitions below, is in mpmc_recover.c.
 *
 * Algorithm: Vyukov's bounded MPMC queue (per-slot sequence numbers, 1024cores
 * "Bounded MPMC queue", 2010), changed so that a claim is a CAS on the slot's
 * own state word, and that word names the claimer.  In Vyukov's queue (and in
 * DPDK's and Concurrency Kit's rings) a producer claims a position with a CAS
 * on the shared tail, then writes the slot: if it dies in between, nobody can
 * tell who held the position and every consumer waits forever.  Here the
 * claim and the owner are one atomic write, so a waiter can always tell whom
 * it waits for.
 *
 * Slot state word (mpmc_internal.h): (lap, owner, state).  Position p lives in
 * slot p % N at lap p / N.  The only transitions, each one CAS on the word
 * with the full old value as expected value:
 *
 *   (L, EMPTY)            --claim by producer P-->       (L, WRITING, P)
 *   (L, WRITING, P)       --publish by P-->              (L, FULL, P)
 *   (L, FULL, P)          --claim by consumer C-->       (L, READING, C)
 *   (L, READING, C)       --release by C-->              (L+1, EMPTY)
 *   (L, WRITING, P)       --cancel by P,
 *                           or recover (P dead)-->       (L+1, EMPTY)   "skip"
 *   (L, READING, C)       --recover (C dead)-->          (L+1, EMPTY)   "free"
 *
 * tail and head are hints: positions below them are passed (claimed, or
 * done), the hint itself at most K = mpmc_hint_lag() behind the first
 * position not passed (I5).  A claimer starts at its handle's private cursor
 * (one past its own last claim) or at the hint, whichever is further, and
 * steps over passed positions locally, without writing anything shared.  So
 * the busy path of a lone producer (consumer) claims with the slot CAS alone;
 * the hint costs a CAS once every K claims, and nothing ever waits for it.
 *
 * Invariants:
 *  I1 A word changes only by the CASes above; lap never decreases.  Hence a
 *     slot at lap L is claimed by at most one producer and then by at most one
 *     consumer: no message is delivered twice.
 *  I2 Only the owner moves WRITING/READING forward (publish, release,
 *     cancel), except recovery, which first proves the owner dead: it takes
 *     over the participant entry named by `owner` with a CAS on its ident,
 *     which succeeds only from a process that shmbus_proc_alive() says is
 *     gone (pid + start time; dead stays dead) or from no process.  The
 *     owner's own publish/release is a CAS expecting its exact claim word,
 *     so if a recovery won the race, the owner's CAS fails (-ECANCELED) and
 *     it can never publish into a skipped slot.  The lap in the word rules
 *     out ABA short of 2^49 laps.
 *  I3 A position is claimed only by a claimer that saw every position
 *     below it passed (mpmc_passed_by_producers() / _by_consumers()): it
 *     started where everything below was passed (a hint, or its cursor: one
 *     past its own last claim) and stepped over passed positions only.  A
 *     hint moves (CAS, never backwards) only to a position whose every
 *     predecessor is passed.  So claims happen in position order on each
 *     side: a producer's messages occupy increasing positions and any one
 *     consumer takes increasing positions, hence per-producer order per
 *     consumer.
 *  I4 Owner names stay meaningful: the owner field is a participant index,
 *     and whoever takes over a participant entry (a new participant at open,
 *     or a recoverer) first recovers every claim still carrying that index
 *     (mpmc_recover_entry()), before the entry claims anything again.  So a
 *     claim naming entry i was made by its current owner if that one is
 *     alive, or by a dead one whose claims the next owner will recover.
 *  I5 Before a claimer claims position p while the hint it saw is K or more
 *     behind p, it moves the hint up to p (CAS, C1), then claims (the claim
 *     CAS is a release, after C1).  So whoever sees a claim of p (acquire)
 *     and then loads the hint finds it above p - K.  Hence at or past a
 *     freshly loaded hint h, a consistent ring never shows a slot a lap
 *     ahead of its position (that would be a claim of a position >= h + N,
 *     with K <= N/2) nor any of the other impossible words below: those mean
 *     a corrupt block, -SHMBUS_ECORRUPT.  A cursor, being private, can be
 *     any number of laps stale; an impossible word there just sends the
 *     claimer to the hint.
 *
 * Kills at each instruction (P a producer, C a consumer):
 *  - P dies before its claim CAS (also between its I5 hint CAS and the
 *    claim: the hint then names an unclaimed position, as hints may):
 *    nothing happened.
 *  - P dies after it: others see (L, WRITING) and step over it; consumers
 *    block at that slot for the liveness timeout, find P dead, skip it
 *    (lost + 1).
 *  - P dies while writing or just before the publish CAS: the same.
 *  - P dies after publishing: the message is in the ring; nothing is lost.
 *  - C dies after its claim CAS: other consumers step over (L, READING).
 *  - C dies while reading or before the release CAS: producers reach the slot
 *    one lap later, wait the liveness timeout, find C dead, free it
 *    (lost + 1).  C dies after releasing: nothing is lost.
 *  - A recoverer dies anywhere: it owned the dead entry, so the entry is
 *    now dead again and the next waiter takes it over; a recovery it had
 *    journalled but not counted is settled then (mpmc_recover.c), so `lost`
 *    stays exact.
 *
 * Memory order, once for every claim path:
 *  - Slot claim CASes are acq_rel: acquire so the previous holder's use of
 *    the payload (a consumer's reads, a producer's writes) happens before
 *    ours; release so that a recoverer that reads our claim also sees the
 *    participant entry we joined before it (I4).
 *  - Publish, release and cancel CASes are release: the payload writes
 *    (reads) are done before the next holder's acquire; they are seq_cst
 *    because a wake-up check follows them (A6 in mpmc_wake(),
 *    mpmc_internal.h).  Their failure order (and that of recovery's C4) is relaxed: a failure only
 *    says the slot is no longer ours, and the word it read is not used.
 *  - Hint loads are acquire and hint CASes acq_rel: a hint value p carries,
 *    through the release sequence of CASes on it, the claims its movers saw
 *    below p, so a slot read after it shows at least those claims.  With I5
 *    that makes the "impossible" words of the claim paths really
 *    impossible, and worth -SHMBUS_ECORRUPT.
 */
#ifndef SHMBUS_MPMC_CLAIM_INTERNAL_H
#define SHMBUS_MPMC_CLAIM_INTERNAL_H

#include "mpmc_internal.h"
#include "relax_internal.h"

/* The busy path's pieces, inlined into each caller even where the compiler
 * would not (the consumer's claim has two call sites of its taking step):
 * it then keeps the slot, word and length in registers instead of passing
 * them back through memory (bench/README.md has what it saved). */
#define MPMC_HOT static inline __attribute__((always_inline))

/* Where a claimer starts: its cursor, unless the hint @seen is past it. */
static inline uint64_t mpmc_start_at(const struct shmbus_mpmc *h, uint64_t seen)
{
	return (int64_t)(seen - h->cursor) > 0 ? seen : h->cursor;
}

/*
 * I5: before claiming @pos, bring the hint within K of it.  @seen is the
 * hint as last loaded, and is updated.  Returns false to go on and claim
 * @pos, true if the hint is already past @pos (others claimed it: restart
 * from *@seen).
 */
static inline bool mpmc_hint_catch_up(const struct shmbus_mpmc *h, _Atomic uint64_t *hint,
				      uint64_t pos, uint64_t *seen)
{
	for (;;) {
		int64_t lag = (int64_t)(pos - *seen);

		if (lag < 0)
			return true;
		if ((uint64_t)lag < h->hint_lag)
			return false;
		/* C1: acq_rel.  Release: what we saw below @pos (acquire loads
		 * of slot words) is visible to whoever acquires this hint value
		 * (A1, A3); acquire: the same for the value we replace.  On
		 * failure @seen gets the newer hint, acquire likewise. */
		if (atomic_compare_exchange_strong_explicit(hint, seen, pos, memory_order_acq_rel,
							    memory_order_acquire))
			return false;
	}
}

/*
 * While messages flow, start fetching the slot h->ahead positions past the
 * one just claimed at @pos, so that its cache misses overlap our work on
 * this one.  A claim is a CAS, a locked instruction, and a CPU does not run
 * past one until it is done: without this, every message costs each side a
 * whole trip of the slot's line from the other side's core, one message
 * after the other.  Of that slot, the producer fetches its first line (the
 * word, for its claim CAS; the payload's first 48 bytes) and its second
 * line if it has one (the next 64) for writing; the consumer the first line
 * for writing (its claim CAS) and the second for reading.  Further lines
 * of larger slots are left to the hardware prefetcher.  Only while
 * messages flow (in a ping-pong the slot ahead is where the other side is
 * about to write), and only where it pays (mpmc_ahead(), struct mpmc_knobs).
 */
static inline void mpmc_fetch_ahead(const struct shmbus_mpmc *h, uint64_t pos)
{
	const char *s;

	if (h->ahead == 0 || !mpmc_flowing(h))
		return;
	s = (const char *)mpmc_slot_at(h, pos + h->ahead);
	relax_prefetch_w(s);
	if (h->stride > 64) {
		if (h->role == SHMBUS_MPMC_PRODUCER)
			relax_prefetch_w(s + 64);
		else
			relax_prefetch_r(s + 64);
	}
}

/* Append a claim to the handle's list (the caller checked there is room). */
static inline void mpmc_claims_push(struct shmbus_mpmc *h, struct mpmc_slot *slot,
				    uint64_t word, size_t len)
{
	struct mpmc_claim *cl = &h->claims[(h->first + h->nclaims) % SHMBUS_MPMC_BURST_MAX];

	cl->slot = slot;
	cl->word = word;
	cl->len = len;
	h->nclaims++;
}

/* Drop the oldest claim from the list (the caller finished it). */
static inline void mpmc_claims_pop(struct shmbus_mpmc *h)
{
	h->first = (h->first + 1) % SHMBUS_MPMC_BURST_MAX;
	h->nclaims--;
}

static inline void *mpmc_payload(const struct mpmc_claim *cl)
{
	return (char *)cl->slot + MPMC_SLOT_HDR;
}

/* The newest / oldest claim of a handle that holds one. */
static inline struct mpmc_claim *mpmc_claim_newest(struct shmbus_mpmc *h)
{
	return &h->claims[(h->first + h->nclaims - 1) % SHMBUS_MPMC_BURST_MAX];
}

static inline struct mpmc_claim *mpmc_claim_oldest(struct shmbus_mpmc *h)
{
	return &h->claims[h->first];
}

#endif /* SHMBUS_MPMC_CLAIM_INTERNAL_H */
