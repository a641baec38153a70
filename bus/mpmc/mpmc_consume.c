/*
 * mpmc_consume.c - the consumer side of the mpmc ring: claim a message (the
 * FULL -> READING transition, C3) and release it (READING -> next lap's
 * EMPTY); and the calls built on those: peek / release (zero-copy), pop
 * (copying), single and burst, try and blocking.  The state machine and its
 * invariants: mpmc_claim_internal.h.
 *
 * Invariant: a message is taken by one CAS from its exact FULL word, so by
 * one consumer only (I1); its length is read once after that CAS and
 * checked against slot_size and the caller's room before anything is
 * copied; a handle's messages are released oldest first, with one wake-up
 * per call.
 */
#include <errno.h>
#include <string.h>

#include "mpmc_claim_internal.h"

/* Release our claim @claim of @s, a message of @len bytes: 0, or -ECANCELED. */
static inline int release_slot(struct shmbus_mpmc *h, struct mpmc_slot *s, uint64_t claim,
			       size_t len)
{
	/* R2: seq_cst (for A6; release is what pairs with C2 of the next
	 * lap's producer): our reads of the payload happen before it
	 * overwrites them.  Failure (relaxed): the claim had been recovered. */
	if (!atomic_compare_exchange_strong_explicit(&s->word, &claim,
						     mpmc_word(mpmc_word_lap(claim) + 1, 0,
							       MPMC_EMPTY),
						     memory_order_seq_cst, memory_order_relaxed))
		return -ECANCELED;
	mpmc_count(&h->mine->msgs_out, 1);
	mpmc_count(&h->mine->bytes_out, len);
	return 0;
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
 * The message of @s (claimed by us with @claim at position @pos) is ours;
 * check its length.  Returns 0 with *@sp, *@wp, *@lenp filled, or
 * -SHMBUS_ECORRUPT (dropped, lost + 1).
 */
MPMC_HOT int peek_taken(struct shmbus_mpmc *h, uint64_t pos, struct mpmc_slot *s,
			uint64_t claim, size_t max_len, struct mpmc_slot **sp,
			uint64_t *wp, size_t *lenp)
{
	uint32_t len;

	h->cursor = pos + 1;
	mpmc_fetch_ahead(h, pos);
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

/* What peek_at() asks peek_slot() to do next, besides its results (0 and
 * negative codes): step over the position, restart from the hint it saw
 * past it, or reload the hint because the word is impossible there. */
enum { PEEK_NEXT = 1, PEEK_FROM_HINT, PEEK_ANOMALY };

/*
 * Decide on the word @w read (or left by a failed CAS) at position @pos,
 * slot @s, lap @lap, which we would claim with @claim.  A message of this
 * lap is taken (C3), deciding again each time its word changed under us;
 * else the word says whether the position is passed, the ring empty up to
 * here (-EAGAIN, @why filled), or the word impossible.  Returns 0 (taken:
 * as peek_taken()), -EAGAIN, -EMSGSIZE, -SHMBUS_ECORRUPT, or a PEEK_* step.
 */
MPMC_HOT int peek_at(struct shmbus_mpmc *h, uint64_t pos, struct mpmc_slot *s, uint64_t lap,
		     uint64_t claim, uint64_t w, uint64_t *seen, size_t max_len,
		     struct mpmc_block_on *why, struct mpmc_slot **sp, uint64_t *wp, size_t *lenp)
{
	_Atomic uint64_t *head = &h->ctl->head.value;
	unsigned st;
	int64_t d;

	/* Published this lap (by any valid producer entry). */
	while ((w & ~mpmc_word(0, MPMC_OWNER_MASK, 0)) == mpmc_word(lap, 0, MPMC_FULL) &&
	       mpmc_word_owner(w) < h->nparts) {
		if (max_len < h->slot_size) {
			/* A7: acquire, pairs with R4 in mpmc_produce.c: if this
			 * is a later lap's length, that producer's claim
			 * happens before the re-load below, which then
			 * differs. */
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
				continue;
			}
		}
		if (mpmc_hint_catch_up(h, head, pos, seen))
			return PEEK_FROM_HINT;
		h->publisher = mpmc_word_owner(w);
		/* C3: acq_rel (mpmc_claim_internal.h); acquire also pairs with
		 * R1.  On failure @w gets the current word, as A4. */
		if (atomic_compare_exchange_strong_explicit(&s->word, &w, claim,
							    memory_order_acq_rel,
							    memory_order_acquire))
			return peek_taken(h, pos, s, claim, max_len, sp, wp, lenp);
	}
	if (!mpmc_word_ok(h, w))
		return PEEK_ANOMALY;
	st = mpmc_word_state(w);
	d = mpmc_lap_diff(mpmc_word_lap(w), lap);
	if (mpmc_passed_by_consumers(d, w))
		return PEEK_NEXT;
	if ((d == 0 && (st == MPMC_EMPTY || st == MPMC_WRITING)) ||
	    (d == -1 && st == MPMC_READING)) {
		/* Nothing published here yet (or last lap's reader still holds
		 * the slot, so no producer can have claimed it): nobody can
		 * have claimed @pos, and everything below it is passed (I3):
		 * the ring is empty up to here. */
		why->pos = pos;
		why->word = w;
		mpmc_note_eagain(h);
		return -EAGAIN;
	}
	return PEEK_ANOMALY;
}

/*
 * Claim the next message, unless it is longer than @max_len (-EMSGSIZE,
 * nothing taken).  Returns 0 with the slot, the claim word and the message's
 * length (checked: <= slot_size and <= @max_len) in *@sp, *@wp, *@lenp (not
 * yet in the handle's claim list); -EAGAIN with @why filled;
 * -SHMBUS_ECORRUPT (a message with an impossible length is taken and
 * dropped, lost + 1).
 */
MPMC_HOT int peek_slot(struct shmbus_mpmc *h, size_t max_len, struct mpmc_block_on *why,
		       struct mpmc_slot **sp, uint64_t *wp, size_t *lenp)
{
	_Atomic uint64_t *head = &h->ctl->head.value;
	/* Blind claims (struct mpmc_knobs): every valid message fits, so the
	 * length need not be read before the claim; and messages flow, so
	 * the claim will likely find one: the claim can go first.  (In a
	 * ping-pong it would find none, and take the line from the producer
	 * about to write there.) */
	bool blind = mpmc_knobs.blind_claims && max_len >= h->slot_size && mpmc_flowing(h);
	uint64_t seen, pos, w, lap, claim;
	struct mpmc_slot *s;
	int rc;

	/* A3: acquire, pairs with C1 on head. */
	seen = atomic_load_explicit(head, memory_order_acquire);
	pos = mpmc_start_at(h, seen);
	for (;;) {
		s = mpmc_slot_at(h, pos);
		lap = mpmc_pos_lap(h, pos);
		claim = mpmc_word(lap, h->idx, MPMC_READING);
		if (blind) {
			if (mpmc_hint_catch_up(h, head, pos, &seen)) {
				pos = seen;
				continue;
			}
			/* C3 without loading the word first (see C2), guessing
			 * that the message comes from the publisher of our last
			 * one; on failure @w gets the current word, as A4.  The
			 * slot's second line is fetched first, so that its miss
			 * overlaps the CAS's. */
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
		rc = peek_at(h, pos, s, lap, claim, w, &seen, max_len, why, sp, wp, lenp);
		if (rc <= 0)
			return rc;
		if (rc == PEEK_NEXT) {
			pos++;
			continue;
		}
		if (rc == PEEK_ANOMALY) {
			/* A word no consistent ring shows at or past a fresh
			 * hint (I5): unless the hint has moved past us, the
			 * block is corrupt. */
			seen = atomic_load_explicit(head, memory_order_acquire); /* A3 */
			if ((int64_t)(seen - pos) <= 0)
				return -SHMBUS_ECORRUPT;
		}
		pos = seen;
	}
}

/* Release the oldest message held: 0, or -ECANCELED if it had been
 * recovered.  The caller checked that there is one. */
static int release_oldest(struct shmbus_mpmc *h)
{
	struct mpmc_claim *cl = mpmc_claim_oldest(h);
	int rc;

	mpmc_hook(MPMC_HOOK_READ, h);
	rc = release_slot(h, cl->slot, cl->word, cl->len);
	mpmc_claims_pop(h);
	return rc;
}

/* mpmc_attempt_fn: take one message into the list; @arg: the size_t most
 * bytes it may have. */
static int attempt_peek(struct shmbus_mpmc *h, void *arg, struct mpmc_block_on *why)
{
	struct mpmc_slot *s;
	uint64_t w;
	size_t len;
	int rc;

	if (h->nclaims == SHMBUS_MPMC_BURST_MAX)
		return -ENOBUFS;
	rc = peek_slot(h, *(const size_t *)arg, why, &s, &w, &len);
	if (rc == 0)
		mpmc_claims_push(h, s, w, len);
	return rc;
}

/* Take one message of at most @max_len bytes into the list: without
 * waiting if @timeout_ms is NULL (but recovering a stuck slot as the
 * blocking path would).  Returns 0 (the claim is the newest), or a
 * negative code. */
static int take(struct shmbus_mpmc *h, size_t max_len, const int *timeout_ms)
{
	struct mpmc_block_on why;
	int rc;

	if (timeout_ms)
		return mpmc_blocking(h, attempt_peek, &max_len, *timeout_ms);
	rc = attempt_peek(h, &max_len, &why);
	if (__builtin_expect(rc != -EAGAIN, 1))
		return rc;
	return mpmc_try_stalled(h, attempt_peek, &max_len, &why);
}

/* A consumer handle whose block is whole (see shmbus/guard.h). */
static bool is_consumer(const struct shmbus_mpmc *h)
{
	return h->role == SHMBUS_MPMC_CONSUMER && !block_lost(h->lost);
}

/* Why is_consumer() said no. */
static int not_consuming(const struct shmbus_mpmc *h)
{
	return block_lost(h->lost) ? -SHMBUS_ESHRUNK : -EPERM;
}

/* --- zero-copy ---------------------------------------------------------- */

static int peek(struct shmbus_mpmc *h, const void **data, size_t *len, const int *timeout_ms)
{
	struct mpmc_claim *cl;
	int rc;

	if (!is_consumer(h))
		return not_consuming(h);
	if (!data || !len)
		return -EINVAL;
	rc = take(h, SIZE_MAX, timeout_ms);
	if (rc)
		return rc;
	cl = mpmc_claim_newest(h);
	*data = mpmc_payload(cl);
	*len = cl->len;
	return 0;
}

int shmbus_mpmc_peek_try(struct shmbus_mpmc *h, const void **data, size_t *len)
{
	return mpmc_unless_shrunk(h, peek(h, data, len, NULL));
}

int shmbus_mpmc_peek(struct shmbus_mpmc *h, const void **data, size_t *len, int timeout_ms)
{
	return mpmc_unless_shrunk(h, peek(h, data, len, &timeout_ms));
}

static int peek_burst(struct shmbus_mpmc *h, struct shmbus_mpmc_msg *msgs, unsigned n,
		      const int *timeout_ms)
{
	unsigned k;
	int rc;

	if (!is_consumer(h))
		return not_consuming(h);
	if (n == 0)
		return 0;
	if (!msgs)
		return -EINVAL;
	for (k = 0; k < n; k++) {
		if (h->nclaims == SHMBUS_MPMC_BURST_MAX)
			rc = -ENOBUFS;
		else
			rc = take(h, SIZE_MAX, k == 0 ? timeout_ms : NULL);
		if (rc)
			return k ? (int)k : rc;
		msgs[k].data = mpmc_payload(mpmc_claim_newest(h));
		msgs[k].len = mpmc_claim_newest(h)->len;
	}
	return (int)k;
}

int shmbus_mpmc_peek_burst_try(struct shmbus_mpmc *h, struct shmbus_mpmc_msg *msgs, unsigned n)
{
	return mpmc_unless_shrunk(h, peek_burst(h, msgs, n, NULL));
}

int shmbus_mpmc_peek_burst(struct shmbus_mpmc *h, struct shmbus_mpmc_msg *msgs, unsigned n,
			   int timeout_ms)
{
	return mpmc_unless_shrunk(h, peek_burst(h, msgs, n, &timeout_ms));
}

int shmbus_mpmc_release(struct shmbus_mpmc *h)
{
	int rc;

	if (!is_consumer(h))
		return not_consuming(h);
	if (h->nclaims == 0)
		return -EAGAIN;
	rc = release_oldest(h);
	if (rc == 0)
		mpmc_wake(h, &h->ctl->not_full);
	return rc;
}

int shmbus_mpmc_release_burst(struct shmbus_mpmc *h, unsigned n)
{
	unsigned k;
	int rc = 0;

	if (!is_consumer(h))
		return not_consuming(h);
	if (n == 0)
		return 0;
	if (h->nclaims == 0)
		return -EAGAIN;
	if (n > h->nclaims)
		n = h->nclaims; /* a _burst takes what there is */
	for (k = 0; k < n; k++) {
		int one = release_oldest(h);

		if (one)
			rc = one; /* -ECANCELED: that one is gone, go on */
	}
	mpmc_wake(h, &h->ctl->not_full);
	return rc ? rc : (int)n;
}

/* --- copying ------------------------------------------------------------ */

/* The copying busy path, with no entry in the handle's claim list (the
 * claim lives only inside the call): claim, copy, release.  Returns the
 * length, -EAGAIN with @why filled, -ECANCELED, -SHMBUS_ECORRUPT, -EMSGSIZE
 * (longer than @size: not taken). */
static int pop_one(struct shmbus_mpmc *h, void *buf, size_t size, struct mpmc_block_on *why)
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

struct pop_arg {
	void *buf;
	size_t size;
};

/* mpmc_attempt_fn of pop. */
static int attempt_pop(struct shmbus_mpmc *h, void *arg, struct mpmc_block_on *why)
{
	const struct pop_arg *a = arg;

	return pop_one(h, a->buf, a->size, why);
}

/* A copying call starts and ends with no claim held, so it never mixes its
 * message with those the caller peeked. */
static int pop(struct shmbus_mpmc *h, void *buf, size_t size, const int *timeout_ms)
{
	struct mpmc_block_on why;
	int rc;

	if (!is_consumer(h))
		return not_consuming(h);
	if (h->nclaims)
		return -EBUSY;
	if (!buf && size)
		return -EINVAL;
	rc = pop_one(h, buf, size, &why);
	if (rc == -EAGAIN) {
		struct pop_arg a = { buf, size };

		rc = timeout_ms ? mpmc_blocking(h, attempt_pop, &a, *timeout_ms) :
				  mpmc_try_stalled(h, attempt_pop, &a, &why);
	}
	if (rc >= 0)
		mpmc_wake(h, &h->ctl->not_full);
	return rc;
}

int shmbus_mpmc_pop_try(struct shmbus_mpmc *h, void *buf, size_t size)
{
	return mpmc_unless_shrunk(h, pop(h, buf, size, NULL));
}

int shmbus_mpmc_pop(struct shmbus_mpmc *h, void *buf, size_t size, int timeout_ms)
{
	return mpmc_unless_shrunk(h, pop(h, buf, size, &timeout_ms));
}

static int pop_burst(struct shmbus_mpmc *h, void *const *bufs, size_t size, size_t *lens,
		     unsigned n, const int *timeout_ms)
{
	unsigned k, i;
	int rc = 0;

	if (!is_consumer(h))
		return not_consuming(h);
	if (h->nclaims)
		return -EBUSY;
	if (n == 0)
		return 0;
	if (!bufs || !lens)
		return -EINVAL;
	if (n > SHMBUS_MPMC_BURST_MAX)
		n = SHMBUS_MPMC_BURST_MAX;
	/* Only the first may wait; stop before a message that does not fit. */
	for (k = 0; k < n; k++) {
		rc = take(h, size, k == 0 ? timeout_ms : NULL);
		if (rc)
			break;
	}
	if (k == 0)
		return rc;
	for (i = 0; i < k; i++) {
		const struct mpmc_claim *cl = &h->claims[(h->first + i) % SHMBUS_MPMC_BURST_MAX];

		lens[i] = cl->len;
		if (cl->len)
			memcpy(bufs[i], mpmc_payload(cl), cl->len);
	}
	rc = shmbus_mpmc_release_burst(h, k);
	return rc < 0 ? rc : (int)k;
}

int shmbus_mpmc_pop_burst_try(struct shmbus_mpmc *h, void *const *bufs, size_t size,
			      size_t *lens, unsigned n)
{
	return mpmc_unless_shrunk(h, pop_burst(h, bufs, size, lens, n, NULL));
}

int shmbus_mpmc_pop_burst(struct shmbus_mpmc *h, void *const *bufs, size_t size, size_t *lens,
			  unsigned n, int timeout_ms)
{
	return mpmc_unless_shrunk(h, pop_burst(h, bufs, size, lens, n, &timeout_ms));
}
