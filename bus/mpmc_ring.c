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
 * tail and head are hints: the next position producers / consumers try.  A
 * process that finds the slot at the hint already claimed for that lap (or
 * already past it) moves the hint on with a CAS (pos -> pos + 1); so a claimer
 * that dies between its slot CAS and its hint CAS stops nobody.
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
 *  I3 tail moves past position p only once p is claimed at its lap (the word
 *     shows lap L and not EMPTY, or lap L+1); head moves past p only once p
 *     is claimed by a consumer or skipped (lap L READING, or lap L+1).  So
 *     claims happen in position order on each side: a producer's messages
 *     occupy increasing positions and any one consumer takes increasing
 *     positions, hence per-producer order per consumer.
 *  I4 Owner names stay meaningful: the owner field is a participant index,
 *     and whoever takes over a participant entry (a new participant at open,
 *     or a recoverer) first recovers every claim still carrying that index
 *     (mpmc_recover_entry()), before the entry claims anything again.  So a
 *     claim naming entry i was made by its current owner if that one is
 *     alive, or by a dead one whose claims the next owner will recover.
 *
 * Kills at each instruction (P a producer, C a consumer):
 *  - P dies before its claim CAS: nothing happened.
 *  - P dies after it, before moving tail: others see (L, WRITING) at tail and
 *    move tail on; consumers block at that slot for the liveness timeout,
 *    find P dead, skip it (lost + 1).
 *  - P dies while writing or just before the publish CAS: the same.
 *  - P dies after publishing: the message is in the ring; nothing is lost.
 *  - C dies after its claim CAS, before moving head: others move head on.
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
 *    because a wake-up check follows them (A6 in mpmc_wake()).
 *  - Hint loads are acquire and hint CASes acq_rel: a hint value p carries,
 *    through the release sequence of CASes on it, the claims that moved it to
 *    p, so a slot read after it shows at least those claims.  That makes the
 *    "impossible" words below really impossible, and worth -SHMBUS_ECORRUPT.
 */
#include <errno.h>

#include "mpmc_internal.h"

_Atomic(mpmc_hook_fn) shmbus_mpmc_test_hook;

/*
 * Move hint @hint from @pos to @pos + 1 if it is still @pos.  Returns the
 * hint's value afterwards, as far as we know.
 */
static uint64_t hint_advance(_Atomic uint64_t *hint, uint64_t pos)
{
	uint64_t expected = pos;

	/* C1: acq_rel, pairs with the acquire hint loads (A1, A3): the claim
	 * seen at @pos is ordered before the new hint value. */
	if (atomic_compare_exchange_strong_explicit(hint, &expected, pos + 1,
						    memory_order_acq_rel, memory_order_acquire))
		return pos + 1;
	return expected;
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

struct mpmc_claim *mpmc_claim_newest(struct shmbus_mpmc *h)
{
	return &h->claims[(h->first + h->nclaims - 1) % SHMBUS_MPMC_BURST_MAX];
}

struct mpmc_claim *mpmc_claim_oldest(struct shmbus_mpmc *h)
{
	return &h->claims[h->first];
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
	 * F1 fence in shmbus_waitq_wait() (waiters++; fence; re-check), C11's
	 * fence rules (29.3p5/p6 of C11, [atomics.order] in C++) give what
	 * the waker's own fence in shmbus_waitq_wake() would: if this load
	 * follows F1 in the single total order S, it sees the waiter; if it
	 * precedes F1, so does W (sequenced before it), and the sleeper's
	 * re-check after F1 sees W.  So the busy path pays no fence (on x86
	 * the CAS is a locked instruction and this a plain load); the full
	 * wake, fence included, runs only when somebody sleeps.
	 */
	if (atomic_load_explicit(&wq->q.waiters, memory_order_seq_cst) == 0)
		return;
	if (shmbus_waitq_wake(&wq->q))
		mpmc_count(&h->mine->wakes, 1);
}

int mpmc_claim_one(struct shmbus_mpmc *h, size_t len, struct mpmc_block_on *why)
{
	_Atomic uint64_t *tail = &h->ctl->tail.value;
	uint64_t pos, w, cur, lap;
	struct mpmc_slot *s;
	int64_t d;

	if (h->nclaims == SHMBUS_MPMC_BURST_MAX)
		return -ENOBUFS;
	/* A1: acquire, pairs with C1 (see the file comment). */
	pos = atomic_load_explicit(tail, memory_order_acquire);
	for (;;) {
		s = mpmc_slot_at(h, pos);
		lap = mpmc_pos_lap(h, pos);
		/* A2: acquire, pairs with the release of R2/R3/C3 (the last
		 * holder is done with the payload) - the claim CAS re-checks. */
		w = atomic_load_explicit(&s->word, memory_order_acquire);
retry:
		if (!mpmc_word_ok(h, w))
			goto anomaly;
		d = mpmc_lap_diff(mpmc_word_lap(w), lap);
		if (d == 0 && mpmc_word_state(w) == MPMC_EMPTY) {
			uint64_t claim = mpmc_word(lap, h->idx, MPMC_WRITING);

			/* C2: acq_rel (file comment); on failure @w gets the
			 * current word, acquire as A2. */
			if (!atomic_compare_exchange_strong_explicit(&s->word, &w, claim,
								     memory_order_acq_rel,
								     memory_order_acquire))
				goto retry;
			hint_advance(tail, pos);
			claims_push(h, s, claim, len);
			mpmc_hook(MPMC_HOOK_CLAIMED, h);
			return 0;
		}
		if (d == 0 || (d == 1 && mpmc_word_state(w) == MPMC_EMPTY)) {
			/* Position taken this lap (or already done): move on. */
			pos = hint_advance(tail, pos);
			continue;
		}
		if (d == -1 && mpmc_word_state(w) != MPMC_EMPTY) {
			/* Last lap's message is still there: full, unless our
			 * tail was stale. */
			cur = atomic_load_explicit(tail, memory_order_acquire); /* A1 */
			if (cur != pos) {
				pos = cur;
				continue;
			}
			why->pos = pos;
			why->word = w;
			return -EAGAIN;
		}
anomaly:
		/* A word no consistent ring shows at a fresh tail: if tail has
		 * not moved since, the block is corrupt. */
		cur = atomic_load_explicit(tail, memory_order_acquire); /* A1 */
		if (cur == pos)
			return -SHMBUS_ECORRUPT;
		pos = cur;
	}
}

/* Free the newest message held, unread (its length is impossible): lost + 1. */
static void drop_newest(struct shmbus_mpmc *h)
{
	struct mpmc_claim *cl = mpmc_claim_newest(h);
	uint64_t want = cl->word;

	/* R2, out of order: slots are independent, only our claim list is
	 * ordered, and this one leaves it from the newest end. */
	if (atomic_compare_exchange_strong_explicit(
		    &cl->slot->word, &want, mpmc_word(mpmc_word_lap(cl->word) + 1, 0, MPMC_EMPTY),
		    memory_order_seq_cst, memory_order_relaxed))
		mpmc_count_lost(h, 1);
	h->nclaims--;
	mpmc_wake(h, &h->ctl->not_full);
}

int mpmc_peek_one(struct shmbus_mpmc *h, size_t max_len, struct mpmc_block_on *why)
{
	_Atomic uint64_t *head = &h->ctl->head.value;
	uint64_t pos, w, cur, lap;
	struct mpmc_slot *s;
	unsigned st;
	int64_t d;

	if (h->nclaims == SHMBUS_MPMC_BURST_MAX)
		return -ENOBUFS;
	/* A3: acquire, pairs with C1 on head. */
	pos = atomic_load_explicit(head, memory_order_acquire);
	for (;;) {
		s = mpmc_slot_at(h, pos);
		lap = mpmc_pos_lap(h, pos);
		/* A4: acquire, pairs with R1 (publish): payload and length are
		 * visible once FULL is. */
		w = atomic_load_explicit(&s->word, memory_order_acquire);
retry:
		if (!mpmc_word_ok(h, w))
			goto anomaly;
		st = mpmc_word_state(w);
		d = mpmc_lap_diff(mpmc_word_lap(w), lap);
		if (d == 0 && st == MPMC_FULL) {
			uint64_t claim = mpmc_word(lap, h->idx, MPMC_READING);
			/* A7: acquire, pairs with R4 in publish: if this is a
			 * later lap's length, that producer's claim happens
			 * before the re-load below, which then differs. */
			uint32_t len = atomic_load_explicit(&s->len, memory_order_acquire);

			if (len <= h->slot_size && len > max_len) {
				/* Too long for the caller: leave it, but only if
				 * the length really is this message's - the word
				 * has not moved since (seqlock-style re-check). */
				uint64_t again;

				/* Relaxed: ordered after A7. */
				again = atomic_load_explicit(&s->word, memory_order_relaxed);
				if (again == w)
					return -EMSGSIZE;
				w = again;
				goto retry;
			}
			/* C3: acq_rel (file comment); acquire also pairs with R1. */
			if (!atomic_compare_exchange_strong_explicit(&s->word, &w, claim,
								     memory_order_acq_rel,
								     memory_order_acquire))
				goto retry;
			hint_advance(head, pos);
			mpmc_hook(MPMC_HOOK_TAKEN, h);
			/* Re-read once, and use only this value: the slot is ours
			 * now, so an honest ring shows the length checked above;
			 * a hostile peer may have changed it since, and the copy
			 * in pop() must never write past the caller's @max_len. */
			len = atomic_load_explicit(&s->len, memory_order_relaxed);
			claims_push(h, s, claim, len);
			if (len > h->slot_size || len > max_len) {
				drop_newest(h);
				return -SHMBUS_ECORRUPT;
			}
			return 0;
		}
		if ((d == 0 && st == MPMC_READING) || d == 1) {
			pos = hint_advance(head, pos);
			continue;
		}
		if ((d == 0 && (st == MPMC_EMPTY || st == MPMC_WRITING)) ||
		    (d == -1 && st == MPMC_READING)) {
			/* Nothing published here yet (or last lap's reader still
			 * holds the slot): empty, unless our head was stale. */
			cur = atomic_load_explicit(head, memory_order_acquire); /* A3 */
			if (cur != pos) {
				pos = cur;
				continue;
			}
			why->pos = pos;
			why->word = w;
			return -EAGAIN;
		}
anomaly:
		cur = atomic_load_explicit(head, memory_order_acquire); /* A3 */
		if (cur == pos)
			return -SHMBUS_ECORRUPT;
		pos = cur;
	}
}

int mpmc_publish_one(struct shmbus_mpmc *h, size_t len)
{
	struct mpmc_claim *cl;
	uint64_t want;
	bool ok;

	if (h->nclaims == 0)
		return -EINVAL;
	if (len > h->slot_size)
		return -EINVAL;
	cl = mpmc_claim_oldest(h);
	mpmc_hook(MPMC_HOOK_WRITTEN, h);
	/* R4: release, pairs with A7 in mpmc_peek_one(): a consumer that
	 * reads this length also sees our claim.  (The consumer that takes
	 * the message gets it ordered by R1 anyway.) */
	atomic_store_explicit(&cl->slot->len, (uint32_t)len, memory_order_release);
	want = cl->word;
	/* R1: seq_cst (for A6; release is what pairs with A4/C3): payload and
	 * len are visible to the consumer that sees FULL.  A CAS, not a store: if our claim was
	 * recovered, the slot is no longer ours to publish (I2). */
	ok = atomic_compare_exchange_strong_explicit(
		&cl->slot->word, &want, mpmc_word(mpmc_word_lap(cl->word), h->idx, MPMC_FULL),
		memory_order_seq_cst, memory_order_relaxed);
	claims_pop(h);
	if (!ok)
		return -ECANCELED;
	mpmc_count(&h->mine->msgs_in, 1);
	mpmc_count(&h->mine->bytes_in, len);
	return 0;
}

int mpmc_release_one(struct shmbus_mpmc *h)
{
	struct mpmc_claim *cl;
	uint64_t want;
	size_t len;
	bool ok;

	if (h->nclaims == 0)
		return -EAGAIN;
	cl = mpmc_claim_oldest(h);
	len = cl->len;
	mpmc_hook(MPMC_HOOK_READ, h);
	want = cl->word;
	/* R2: seq_cst (for A6; release is what pairs with C2 of the next
	 * lap's producer): our reads of the payload happen before it
	 * overwrites them. */
	ok = atomic_compare_exchange_strong_explicit(
		&cl->slot->word, &want, mpmc_word(mpmc_word_lap(cl->word) + 1, 0, MPMC_EMPTY),
		memory_order_seq_cst, memory_order_relaxed);
	claims_pop(h);
	if (!ok)
		return -ECANCELED;
	mpmc_count(&h->mine->msgs_out, 1);
	mpmc_count(&h->mine->bytes_out, len);
	return 0;
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
