/*
 * mpmc_ring.c - the lock-free core of the mpmc ring: the slot state machine,
 * claim, publish, peek, release, cancel.  (Recovery of a dead owner's slots,
 * the other transitions below, is in mpmc_recover.c.)
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
 * Memory order, once for the whole file:
 *  - Slot claim CASes are acq_rel: acquire so the previous holder's use of
 *    the payload (a consumer's reads, a producer's writes) happens before
 *    ours; release so that a recoverer that reads our claim also sees the
 *    participant entry we joined before it (I4).
 *  - Publish, release and cancel CASes are release: the payload writes
 *    (reads) are done before the next holder's acquire; they are seq_cst
 *    because a wake-up check follows them (A6 in mpmc_wake()).  Their
 *    failure order (and that of recovery's C4) is relaxed: a failure only
 *    says the slot is no longer ours, and the word it read is not used.
 *  - Hint loads are acquire and hint CASes acq_rel: a hint value p carries,
 *    through the release sequence of CASes on it, the claims its movers saw
 *    below p, so a slot read after it shows at least those claims.  With I5
 *    that makes the "impossible" words below really impossible, and worth
 *    -SHMBUS_ECORRUPT.
 */
#include <errno.h>
#include <string.h>

#include "mpmc_internal.h"
#include "relax_internal.h"

_Atomic(mpmc_hook_fn) mpmc_test_hook;

/* The busy path's pieces, inlined into each caller even where the compiler
 * would not (peek_slot() has two): it then keeps the slot, word and length
 * in registers instead of passing them back through memory.  Measured when
 * it came in: 1x1 push/pop in 333 instructions a message instead of 362
 * (callgrind, which runs without fetch-ahead: valgrind's CPU has no
 * PREFETCHW), and +11 % msgs/s at 1x1 (interleaved rounds). */
#define MPMC_HOT static inline __attribute__((always_inline))

/* Where a claimer starts: its cursor, unless the hint @seen is past it. */
static inline uint64_t start_at(const struct shmbus_mpmc *h, uint64_t seen)
{
	return (int64_t)(seen - h->cursor) > 0 ? seen : h->cursor;
}

/*
 * I5: before claiming @pos, bring the hint within K of it.  @seen is the
 * hint as last loaded, and is updated.  Returns false to go on and claim
 * @pos, true if the hint is already past @pos (others claimed it: restart
 * from *@seen).
 */
static inline bool hint_catch_up(const struct shmbus_mpmc *h, _Atomic uint64_t *hint,
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

static void claims_push(struct shmbus_mpmc *h, struct mpmc_slot *slot, uint64_t word,
			size_t len)
{
	struct mpmc_claim *cl = &h->claims[(h->first + h->nclaims) % SHMBUS_MPMC_BURST_MAX];

	cl->slot = slot;
	cl->word = word;
	cl->len = len;
	h->nclaims++;
}

static void claims_pop(struct shmbus_mpmc *h)
{
	h->first = (h->first + 1) % SHMBUS_MPMC_BURST_MAX;
	h->nclaims--;
}

void mpmc_wake(struct shmbus_mpmc *h, struct mpmc_wq *wq)
{
	/*
	 * A6: seq_cst, and so is every CAS that precedes a wake (publish,
	 * release, cancel, drop, recovery: "W" below).  Against the sleeper's
	 * F1 fence in waitq_wait() (waiters++; fence; re-check), C11's
	 * fence rules (29.3p5/p6 of C11, [atomics.order] in C++) give what
	 * the waker's own fence in waitq_wake() would: if this load
	 * follows F1 in the single total order S, it sees the waiter; if it
	 * precedes F1, so does W (sequenced before it), and the sleeper's
	 * re-check after F1 sees W.  So the busy path pays no fence (on x86
	 * the CAS is a locked instruction and this a plain load); the full
	 * wake, fence included, runs only when somebody sleeps.  A wake
	 * takes every sleeper out of the count, so the calls after it pay
	 * nothing until one sleeps again, and one that died asleep is
	 * forgotten (waitq_internal.h).
	 */
	if (waitq_word_waiters(atomic_load_explicit(&wq->q.word, memory_order_seq_cst)) == 0)
		return;
	if (waitq_wake(&wq->q))
		mpmc_count(&h->mine->wakes, 1);
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
 * of larger slots are left to the hardware prefetcher.
 *
 * Only while messages flow: in a ping-pong the slot ahead is where the other
 * side is about to write.  Only for small slots (mpmc_ahead()).  Measured
 * here, as medians of per-round ratios over 8 to 16 interleaved rounds:
 * two positions ahead against none, 64-byte messages, +42 % at 1x1, +29 to
 * +36 % at 1x2, 2x2 and 4x4, 0 to +18 % at 2x1; +12 to +37 % at 8 bytes,
 * 0 to +24 % at 256, neutral at 512, -35 % at 1 KiB (it took lines the
 * other side still used).  Four ahead against two, 64 bytes: +16 % at 1x1,
 * +10 % at 2x2, +6 to +28 % elsewhere; six no better, eight worse.
 */
static inline void fetch_ahead(const struct shmbus_mpmc *h, uint64_t pos)
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

/*
 * Producer: claim the first free slot.  Returns 0 with the slot and the
 * claim word in *@sp and *@wp (not yet in the handle's claim list), or
 * -EAGAIN with @why filled, or -SHMBUS_ECORRUPT.
 */
MPMC_HOT int claim_slot(struct shmbus_mpmc *h, struct mpmc_block_on *why,
			struct mpmc_slot **sp, uint64_t *wp)
{
	_Atomic uint64_t *tail = &h->ctl->tail.value;
	uint64_t seen, pos, w, lap, claim;
	struct mpmc_slot *s;
	int64_t d;

	/* A1: acquire, pairs with C1 (see the file comment). */
	seen = atomic_load_explicit(tail, memory_order_acquire);
	pos = start_at(h, seen);
	for (;;) {
		s = mpmc_slot_at(h, pos);
		lap = mpmc_pos_lap(h, pos);
		if (hint_catch_up(h, tail, pos, &seen)) {
			pos = seen;
			continue;
		}
		/* C2: claim without loading the word first: only the EMPTY
		 * word of lap @lap is free, and a load would fetch the line
		 * shared just before the CAS fetches it again, exclusive.
		 * acq_rel (file comment).  On failure @w gets the current word
		 * (A2: acquire, pairs with the release of R2/R3/C4 - the last
		 * holder is done with the payload - and of C2/C1, I5). */
		w = mpmc_word(lap, 0, MPMC_EMPTY);
		claim = mpmc_word(lap, h->idx, MPMC_WRITING);
		if (atomic_compare_exchange_strong_explicit(&s->word, &w, claim,
							    memory_order_acq_rel,
							    memory_order_acquire)) {
			h->cursor = pos + 1;
			fetch_ahead(h, pos);
			*sp = s;
			*wp = claim;
			mpmc_hook(MPMC_HOOK_CLAIMED, h);
			return 0;
		}
		if (!mpmc_word_ok(h, w))
			goto anomaly;
		d = mpmc_lap_diff(mpmc_word_lap(w), lap);
		if (mpmc_passed_by_producers(d, w)) {
			pos++;
			continue;
		}
		if (d == -1 && mpmc_word_state(w) != MPMC_EMPTY) {
			/* Last lap's message is still there, so nobody can have
			 * claimed @pos, and everything below it is passed (I3):
			 * the ring is full. */
			why->pos = pos;
			why->word = w;
			mpmc_note_eagain(h);
			return -EAGAIN;
		}
anomaly:
		/* A word no consistent ring shows at or past a fresh hint (I5):
		 * unless the hint has moved past us, the block is corrupt. */
		seen = atomic_load_explicit(tail, memory_order_acquire); /* A1 */
		if ((int64_t)(seen - pos) <= 0)
			return -SHMBUS_ECORRUPT;
		pos = seen;
	}
}

/* Free a message just claimed, unread (its length is impossible): lost + 1. */
static void drop_slot(struct shmbus_mpmc *h, struct mpmc_slot *s, uint64_t claim)
{
	/* R2 (see release_slot()). */
	if (atomic_compare_exchange_strong_explicit(&s->word, &claim,
						    mpmc_word(mpmc_word_lap(claim) + 1, 0, MPMC_EMPTY),
						    memory_order_seq_cst, memory_order_relaxed))
		mpmc_count_lost(h, 1);
	mpmc_wake(h, &h->ctl->not_full);
}

/*
 * Consumer: the message of @s (claimed by us with @claim at position @pos)
 * is ours; check its length.  Returns 0 with *@sp, *@wp, *@lenp filled, or
 * -SHMBUS_ECORRUPT (dropped, lost + 1).
 */
MPMC_HOT int peek_taken(struct shmbus_mpmc *h, uint64_t pos, struct mpmc_slot *s,
			uint64_t claim, size_t max_len, struct mpmc_slot **sp,
			uint64_t *wp, size_t *lenp)
{
	uint32_t len;

	h->cursor = pos + 1;
	fetch_ahead(h, pos);
	mpmc_hook(MPMC_HOOK_TAKEN, h);
	/* Read once, and use only this value: the slot is ours now, so an
	 * honest ring shows the length checked before the claim (if it was);
	 * a hostile peer may have changed it since, and the copy in pop()
	 * must never write past the caller's @max_len.  Relaxed: ordered
	 * after the claim CAS (C3, acquire). */
	len = atomic_load_explicit(&s->len, memory_order_relaxed);
	if (len > h->slot_size || len > max_len) {
		drop_slot(h, s, claim);
		return -SHMBUS_ECORRUPT;
	}
	*sp = s;
	*wp = claim;
	*lenp = len;
	return 0;
}

/*
 * Consumer: claim the next message, unless it is longer than @max_len
 * (-EMSGSIZE, nothing taken).  Returns 0 with the slot, the claim word and
 * the message's length (checked: <= slot_size and <= @max_len) in *@sp,
 * *@wp, *@lenp (not yet in the handle's claim list); -EAGAIN with @why
 * filled; -SHMBUS_ECORRUPT (a message with an impossible length is taken and
 * dropped, lost + 1).
 */
MPMC_HOT int peek_slot(struct shmbus_mpmc *h, size_t max_len, struct mpmc_block_on *why,
		       struct mpmc_slot **sp, uint64_t *wp, size_t *lenp)
{
	_Atomic uint64_t *head = &h->ctl->head.value;
	/* Every valid message fits, so the length need not be read before
	 * the claim; and messages flow, so the claim will likely find one:
	 * the claim can go first.  (In a ping-pong it would find none, and
	 * take the line from the producer about to write there.) */
	bool any_fits = max_len >= h->slot_size;
	bool blind = any_fits && mpmc_flowing(h);
	uint64_t seen, pos, w, lap, claim;
	struct mpmc_slot *s;
	unsigned st;
	int64_t d;

	/* A3: acquire, pairs with C1 on head. */
	seen = atomic_load_explicit(head, memory_order_acquire);
	pos = start_at(h, seen);
	for (;;) {
		s = mpmc_slot_at(h, pos);
		lap = mpmc_pos_lap(h, pos);
		claim = mpmc_word(lap, h->idx, MPMC_READING);
		if (blind) {
			if (hint_catch_up(h, head, pos, &seen)) {
				pos = seen;
				continue;
			}
			/* C3 without loading the word first (see C2), guessing
			 * that the message comes from the publisher of our last
			 * one; on failure @w gets the current word, as A4.  The
			 * slot's second line is fetched first, so that its miss
			 * overlaps the CAS's (1x1, 64-byte messages: 19.2 M
			 * msgs/s without, 21.8 M with, medians of 8). */
			if (h->stride > 64)
				relax_prefetch_r((char *)s + 64);
			w = mpmc_word(lap, h->publisher, MPMC_FULL);
			if (atomic_compare_exchange_strong_explicit(&s->word, &w, claim,
								    memory_order_acq_rel,
								    memory_order_acquire))
				return peek_taken(h, pos, s, claim, max_len, sp, wp, lenp);
		} else {
			/* A4: acquire, pairs with R1 (publish): payload and
			 * length are visible once FULL is; and with C3/C1 (I5). */
			w = atomic_load_explicit(&s->word, memory_order_acquire);
		}
retry:
		/* Published this lap (by any valid producer entry). */
		if ((w & ~mpmc_word(0, MPMC_OWNER_MASK, 0)) == mpmc_word(lap, 0, MPMC_FULL) &&
		    mpmc_word_owner(w) < h->nparts) {
			if (!any_fits) {
				/* A7: acquire, pairs with R4 in publish_slot(): if
				 * this is a later lap's length, that producer's
				 * claim happens before the re-load below, which
				 * then differs. */
				uint32_t len = atomic_load_explicit(&s->len, memory_order_acquire);

				if (len <= h->slot_size && len > max_len) {
					/* Too long for the caller: leave it, but
					 * only if the length really is this
					 * message's - the word has not moved since
					 * (seqlock-style re-check). */
					uint64_t again;

					/* Relaxed: ordered after A7. */
					again = atomic_load_explicit(&s->word,
								     memory_order_relaxed);
					if (again == w)
						return -EMSGSIZE;
					w = again;
					goto retry;
				}
			}
			if (hint_catch_up(h, head, pos, &seen)) {
				pos = seen;
				continue;
			}
			h->publisher = mpmc_word_owner(w);
			/* C3: acq_rel (file comment); acquire also pairs with R1. */
			if (!atomic_compare_exchange_strong_explicit(&s->word, &w, claim,
								     memory_order_acq_rel,
								     memory_order_acquire))
				goto retry;
			return peek_taken(h, pos, s, claim, max_len, sp, wp, lenp);
		}
		if (!mpmc_word_ok(h, w))
			goto anomaly;
		st = mpmc_word_state(w);
		d = mpmc_lap_diff(mpmc_word_lap(w), lap);
		if (mpmc_passed_by_consumers(d, w)) {
			pos++;
			continue;
		}
		if ((d == 0 && (st == MPMC_EMPTY || st == MPMC_WRITING)) ||
		    (d == -1 && st == MPMC_READING)) {
			/* Nothing published here yet (or last lap's reader still
			 * holds the slot, so no producer can have claimed it):
			 * nobody can have claimed @pos, and everything below it
			 * is passed (I3): the ring is empty up to here. */
			why->pos = pos;
			why->word = w;
			mpmc_note_eagain(h);
			return -EAGAIN;
		}
anomaly:
		seen = atomic_load_explicit(head, memory_order_acquire); /* A3 */
		if ((int64_t)(seen - pos) <= 0)
			return -SHMBUS_ECORRUPT;
		pos = seen;
	}
}

int mpmc_claim_one(struct shmbus_mpmc *h, size_t len, struct mpmc_block_on *why)
{
	struct mpmc_slot *s;
	uint64_t w;
	int rc;

	if (h->nclaims == SHMBUS_MPMC_BURST_MAX)
		return -ENOBUFS;
	rc = claim_slot(h, why, &s, &w);
	if (rc == 0)
		claims_push(h, s, w, len);
	return rc;
}

int mpmc_peek_one(struct shmbus_mpmc *h, size_t max_len, struct mpmc_block_on *why)
{
	struct mpmc_slot *s;
	uint64_t w;
	size_t len;
	int rc;

	if (h->nclaims == SHMBUS_MPMC_BURST_MAX)
		return -ENOBUFS;
	rc = peek_slot(h, max_len, why, &s, &w, &len);
	if (rc == 0)
		claims_push(h, s, w, len);
	return rc;
}

/* Publish our claim @claim of @s with length @len: 0, or -ECANCELED. */
static inline int publish_slot(struct shmbus_mpmc *h, struct mpmc_slot *s, uint64_t claim,
			       size_t len)
{
	/* R4: release, pairs with A7 in peek_slot(): a consumer that reads
	 * this length also sees our claim.  (The consumer that takes the
	 * message gets it ordered by R1 anyway.) */
	atomic_store_explicit(&s->len, (uint32_t)len, memory_order_release);
	/* R1: seq_cst (for A6; release is what pairs with A4/C3): payload and
	 * len are visible to the consumer that sees FULL.  A CAS, not a
	 * store: if our claim was recovered, the slot is no longer ours to
	 * publish (I2). */
	if (!atomic_compare_exchange_strong_explicit(&s->word, &claim,
						     mpmc_word(mpmc_word_lap(claim), h->idx,
							       MPMC_FULL),
						     memory_order_seq_cst, memory_order_relaxed))
		return -ECANCELED;
	mpmc_count(&h->mine->msgs_in, 1);
	mpmc_count(&h->mine->bytes_in, len);
	return 0;
}

/* Free our claim @claim of @s, a message of @len bytes: 0, or -ECANCELED. */
static inline int release_slot(struct shmbus_mpmc *h, struct mpmc_slot *s, uint64_t claim,
			       size_t len)
{
	/* R2: seq_cst (for A6; release is what pairs with C2 of the next
	 * lap's producer): our reads of the payload happen before it
	 * overwrites them. */
	if (!atomic_compare_exchange_strong_explicit(&s->word, &claim,
						     mpmc_word(mpmc_word_lap(claim) + 1, 0,
							       MPMC_EMPTY),
						     memory_order_seq_cst, memory_order_relaxed))
		return -ECANCELED;
	mpmc_count(&h->mine->msgs_out, 1);
	mpmc_count(&h->mine->bytes_out, len);
	return 0;
}

int mpmc_publish_one(struct shmbus_mpmc *h, size_t len)
{
	struct mpmc_claim *cl;
	int rc;

	if (h->nclaims == 0)
		return -EINVAL;
	if (len > h->slot_size)
		return -EINVAL;
	cl = mpmc_claim_oldest(h);
	mpmc_hook(MPMC_HOOK_WRITTEN, h);
	rc = publish_slot(h, cl->slot, cl->word, len);
	claims_pop(h);
	return rc;
}

int mpmc_release_one(struct shmbus_mpmc *h)
{
	struct mpmc_claim *cl;
	int rc;

	if (h->nclaims == 0)
		return -EAGAIN;
	cl = mpmc_claim_oldest(h);
	mpmc_hook(MPMC_HOOK_READ, h);
	rc = release_slot(h, cl->slot, cl->word, cl->len);
	claims_pop(h);
	return rc;
}

int mpmc_push_one(struct shmbus_mpmc *h, const void *data, size_t len,
		  struct mpmc_block_on *why)
{
	struct mpmc_slot *s;
	uint64_t w;
	int rc;

	rc = claim_slot(h, why, &s, &w);
	if (rc)
		return rc;
	if (len)
		memcpy((char *)s + MPMC_SLOT_HDR, data, len);
	mpmc_hook(MPMC_HOOK_WRITTEN, h);
	return publish_slot(h, s, w, len);
}

int mpmc_pop_one(struct shmbus_mpmc *h, void *buf, size_t size, struct mpmc_block_on *why)
{
	struct mpmc_slot *s;
	uint64_t w;
	size_t len;
	int rc;

	rc = peek_slot(h, size, why, &s, &w, &len);
	if (rc)
		return rc;
	if (len)
		memcpy(buf, (const char *)s + MPMC_SLOT_HDR, len);
	mpmc_hook(MPMC_HOOK_READ, h);
	rc = release_slot(h, s, w, len);
	return rc ? rc : (int)len;
}

void mpmc_cancel_one(struct shmbus_mpmc *h)
{
	struct mpmc_claim *cl = mpmc_claim_oldest(h);
	uint64_t want = cl->word;

	/* R3: seq_cst (for A6; release pairs with C2 of the next producer):
	 * our partial writes to the payload happen before its own. */
	atomic_compare_exchange_strong_explicit(
		&cl->slot->word, &want, mpmc_word(mpmc_word_lap(cl->word) + 1, 0, MPMC_EMPTY),
		memory_order_seq_cst, memory_order_relaxed);
	claims_pop(h);
}
