/*
 * mpmc_produce.c - the producer side of the mpmc ring: claim a slot (the
 * EMPTY -> WRITING transition), publish it (WRITING -> FULL) or cancel it
 * (WRITING -> next lap's EMPTY); and the calls built on those: reserve /
 * commit / cancel (zero-copy), push (copying), single and burst, try and
 * blocking.  The state machine and its invariants: mpmc_claim_internal.h.
 *
 * Invariant: a handle's reservations are kept oldest first and finished in
 * that order, so its positions are published in the order it claimed them
 * (I3: per-producer order); a publish or cancel is a CAS expecting our exact
 * claim word, so a claim that was recovered is never published (I2); one
 * wake-up per call covers every slot it finished.
 */
#include <errno.h>
#include <string.h>

#include "mpmc_claim_internal.h"

/*
 * Claim the first free slot.  Returns 0 with the slot and the claim word in
 * *@sp and *@wp (not yet in the handle's claim list), or -EAGAIN with @why
 * filled, or -SHMBUS_ECORRUPT.
 */
MPMC_HOT int claim_slot(struct shmbus_mpmc *h, struct mpmc_block_on *why,
			struct mpmc_slot **sp, uint64_t *wp)
{
	_Atomic uint64_t *tail = &h->ctl->tail.value;
	uint64_t seen, pos, w, lap, claim;
	struct mpmc_slot *s;
	int64_t d;

	/* A1: acquire, pairs with C1 (mpmc_claim_internal.h). */
	seen = atomic_load_explicit(tail, memory_order_acquire);
	pos = mpmc_start_at(h, seen);
	for (;;) {
		s = mpmc_slot_at(h, pos);
		lap = mpmc_pos_lap(h, pos);
		if (mpmc_hint_catch_up(h, tail, pos, &seen)) {
			pos = seen;
			continue;
		}
		/* C2: claim without loading the word first: only the EMPTY
		 * word of lap @lap is free, and a load would fetch the line
		 * shared just before the CAS fetches it again, exclusive.
		 * acq_rel (mpmc_claim_internal.h).  On failure @w gets the
		 * current word (A2: acquire, pairs with the release of R2/R3/C4
		 * - the last holder is done with the payload - and of C2/C1,
		 * I5). */
		w = mpmc_word(lap, 0, MPMC_EMPTY);
		claim = mpmc_word(lap, h->idx, MPMC_WRITING);
		if (atomic_compare_exchange_strong_explicit(&s->word, &w, claim,
							    memory_order_acq_rel,
							    memory_order_acquire)) {
			h->cursor = pos + 1;
			mpmc_fetch_ahead(h, pos);
			*sp = s;
			*wp = claim;
			mpmc_hook(MPMC_HOOK_CLAIMED, h);
			return 0;
		}
		if (mpmc_word_ok(h, w)) {
			d = mpmc_lap_diff(mpmc_word_lap(w), lap);
			if (mpmc_passed_by_producers(d, w)) {
				pos++;
				continue;
			}
			if (d == -1 && mpmc_word_state(w) != MPMC_EMPTY) {
				/* Last lap's message is still there, so nobody can
				 * have claimed @pos, and everything below it is
				 * passed (I3): the ring is full. */
				why->pos = pos;
				why->word = w;
				mpmc_note_eagain(h);
				return -EAGAIN;
			}
		}
		/* A word no consistent ring shows at or past a fresh hint (I5):
		 * unless the hint has moved past us, the block is corrupt. */
		seen = atomic_load_explicit(tail, memory_order_acquire); /* A1 */
		if ((int64_t)(seen - pos) <= 0)
			return -SHMBUS_ECORRUPT;
		pos = seen;
	}
}

/* Publish our claim @claim of @s with length @len: 0, or -ECANCELED. */
static inline int publish_slot(struct shmbus_mpmc *h, struct mpmc_slot *s, uint64_t claim,
			       size_t len)
{
	/* R4: release, pairs with A7 in mpmc_consume.c: a consumer that
	 * reads this length also sees our claim.  (The consumer that takes
	 * the message gets it ordered by R1 anyway.) */
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

/* Publish the oldest reservation: 0, or -ECANCELED if it had been
 * recovered.  The caller checked that there is one and @len fits. */
static int publish_oldest(struct shmbus_mpmc *h, size_t len)
{
	struct mpmc_claim *cl = mpmc_claim_oldest(h);
	int rc;

	mpmc_hook(MPMC_HOOK_WRITTEN, h);
	rc = publish_slot(h, cl->slot, cl->word, len);
	mpmc_claims_pop(h);
	return rc;
}

/* Give the oldest reservation back: its slot goes to the next lap, unread. */
static void cancel_oldest(struct shmbus_mpmc *h)
{
	struct mpmc_claim *cl = mpmc_claim_oldest(h);
	uint64_t want = cl->word;

	/* R3: seq_cst (for A6; release pairs with C2 of the next producer):
	 * our partial writes to the payload happen before its own.  Failure
	 * (relaxed): the claim had been recovered, the slot is not ours. */
	atomic_compare_exchange_strong_explicit(
		&cl->slot->word, &want, mpmc_word(mpmc_word_lap(cl->word) + 1, 0, MPMC_EMPTY),
		memory_order_seq_cst, memory_order_relaxed);
	mpmc_claims_pop(h);
}

/* mpmc_attempt_fn: claim one slot into the list; @arg: its size_t length. */
static int attempt_claim(struct shmbus_mpmc *h, void *arg, struct mpmc_block_on *why)
{
	struct mpmc_slot *s;
	uint64_t w;
	int rc;

	if (h->nclaims == SHMBUS_MPMC_BURST_MAX)
		return -ENOBUFS;
	rc = claim_slot(h, why, &s, &w);
	if (rc == 0)
		mpmc_claims_push(h, s, w, *(const size_t *)arg);
	return rc;
}

/* Claim one slot for @len bytes into the list: without waiting if
 * @timeout_ms is NULL (but recovering a stuck slot as the blocking path
 * would).  Returns 0 (the claim is the newest), or a negative code. */
static int take(struct shmbus_mpmc *h, size_t len, const int *timeout_ms)
{
	struct mpmc_block_on why;
	int rc;

	if (timeout_ms)
		return mpmc_blocking(h, attempt_claim, &len, *timeout_ms);
	rc = attempt_claim(h, &len, &why);
	if (__builtin_expect(rc != -EAGAIN, 1))
		return rc;
	return mpmc_try_stalled(h, attempt_claim, &len, &why);
}

/* A producer handle whose block is whole (see shmbus/guard.h). */
static bool is_producer(const struct shmbus_mpmc *h)
{
	return h->role == SHMBUS_MPMC_PRODUCER && !block_lost(h->lost);
}

/* Why a handle may not produce: the block was truncated under us, the
 * handle is a consumer's, or h->producing is false (mpmc_stream.c). */
static int not_producing(const struct shmbus_mpmc *h)
{
	if (block_lost(h->lost))
		return -SHMBUS_ESHRUNK;
	return h->role == SHMBUS_MPMC_PRODUCER ? -EPIPE : -EPERM;
}

/* --- zero-copy ---------------------------------------------------------- */

static int reserve(struct shmbus_mpmc *h, size_t len, void **data, const int *timeout_ms)
{
	int rc;

	if (!h->producing || block_lost(h->lost))
		return not_producing(h);
	if (!data)
		return -EINVAL;
	if (len > h->slot_size)
		return -EMSGSIZE;
	rc = take(h, len, timeout_ms);
	if (rc)
		return rc;
	*data = mpmc_payload(mpmc_claim_newest(h));
	return 0;
}

int shmbus_mpmc_reserve_try(struct shmbus_mpmc *h, size_t len, void **data)
{
	return mpmc_unless_shrunk(h, reserve(h, len, data, NULL));
}

int shmbus_mpmc_reserve(struct shmbus_mpmc *h, size_t len, void **data, int timeout_ms)
{
	return mpmc_unless_shrunk(h, reserve(h, len, data, &timeout_ms));
}

static int reserve_burst(struct shmbus_mpmc *h, struct shmbus_mpmc_buf *bufs, unsigned n,
			 const int *timeout_ms)
{
	unsigned k;
	int rc;

	if (!h->producing || block_lost(h->lost))
		return not_producing(h);
	if (n == 0)
		return 0;
	if (!bufs)
		return -EINVAL;
	for (k = 0; k < n; k++) {
		if (bufs[k].len > h->slot_size) {
			rc = -EMSGSIZE;
		} else if (h->nclaims == SHMBUS_MPMC_BURST_MAX) {
			rc = -ENOBUFS;
		} else {
			/* Only the first may wait: a burst takes what fits. */
			rc = take(h, bufs[k].len, k == 0 ? timeout_ms : NULL);
		}
		if (rc)
			return k ? (int)k : rc;
		bufs[k].data = mpmc_payload(mpmc_claim_newest(h));
	}
	return (int)k;
}

int shmbus_mpmc_reserve_burst_try(struct shmbus_mpmc *h, struct shmbus_mpmc_buf *bufs,
				  unsigned n)
{
	return mpmc_unless_shrunk(h, reserve_burst(h, bufs, n, NULL));
}

int shmbus_mpmc_reserve_burst(struct shmbus_mpmc *h, struct shmbus_mpmc_buf *bufs, unsigned n,
			      int timeout_ms)
{
	return mpmc_unless_shrunk(h, reserve_burst(h, bufs, n, &timeout_ms));
}

int shmbus_mpmc_commit(struct shmbus_mpmc *h, size_t len)
{
	int rc;

	if (!is_producer(h))
		return not_producing(h);
	if (h->nclaims == 0 || len > h->slot_size)
		return -EINVAL;
	rc = publish_oldest(h, len);
	if (rc == 0)
		mpmc_wake(h, &h->ctl->not_empty);
	return rc;
}

int shmbus_mpmc_commit_bulk(struct shmbus_mpmc *h, const struct shmbus_mpmc_buf *bufs,
			     unsigned n)
{
	unsigned k;
	int rc = 0;

	if (!is_producer(h))
		return not_producing(h);
	if (n > h->nclaims)
		return -EINVAL;
	for (k = 0; bufs && k < n; k++) {
		if (bufs[k].len > h->slot_size)
			return -EINVAL; /* checked first: all or nothing */
	}
	for (k = 0; k < n; k++) {
		size_t len = bufs ? bufs[k].len : mpmc_claim_oldest(h)->len;
		int one = publish_oldest(h, len);

		if (one)
			rc = one; /* -ECANCELED: that claim is gone, go on */
	}
	if (n)
		mpmc_wake(h, &h->ctl->not_empty);
	return rc;
}

int shmbus_mpmc_cancel(struct shmbus_mpmc *h)
{
	int n = 0;

	if (!is_producer(h))
		return not_producing(h);
	while (h->nclaims) {
		cancel_oldest(h);
		n++;
	}
	if (n) {
		/* Consumers stopped at a cancelled slot move past it now. */
		mpmc_wake(h, &h->ctl->not_empty);
		mpmc_wake(h, &h->ctl->not_full);
	}
	return n;
}

/* --- copying ------------------------------------------------------------ */

/* The copying busy path, with no entry in the handle's claim list (the
 * claim lives only inside the call): claim, copy, publish.  Returns 0,
 * -EAGAIN with @why filled, -ECANCELED, -SHMBUS_ECORRUPT. */
static int push_one(struct shmbus_mpmc *h, const void *data, size_t len,
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

struct push_arg {
	const void *data;
	size_t len;
};

/* mpmc_attempt_fn of push. */
static int attempt_push(struct shmbus_mpmc *h, void *arg, struct mpmc_block_on *why)
{
	const struct push_arg *a = arg;

	return push_one(h, a->data, a->len, why);
}

/* A copying call starts and ends with no claim held, so it never mixes its
 * slot with the caller's reservations. */
static int push(struct shmbus_mpmc *h, const void *data, size_t len, const int *timeout_ms)
{
	struct mpmc_block_on why;
	int rc;

	if (!h->producing || block_lost(h->lost))
		return not_producing(h);
	if (h->nclaims)
		return -EBUSY;
	if (!data && len)
		return -EINVAL;
	if (len > h->slot_size)
		return -EMSGSIZE;
	rc = push_one(h, data, len, &why);
	if (rc == -EAGAIN) {
		struct push_arg a = { data, len };

		rc = timeout_ms ? mpmc_blocking(h, attempt_push, &a, *timeout_ms) :
				  mpmc_try_stalled(h, attempt_push, &a, &why);
	}
	if (rc == 0)
		mpmc_wake(h, &h->ctl->not_empty);
	return rc;
}

int shmbus_mpmc_push_try(struct shmbus_mpmc *h, const void *data, size_t len)
{
	return mpmc_unless_shrunk(h, push(h, data, len, NULL));
}

int shmbus_mpmc_push(struct shmbus_mpmc *h, const void *data, size_t len, int timeout_ms)
{
	return mpmc_unless_shrunk(h, push(h, data, len, &timeout_ms));
}

static int push_burst(struct shmbus_mpmc *h, const struct shmbus_mpmc_msg *msgs, unsigned n,
		      const int *timeout_ms)
{
	struct shmbus_mpmc_buf bufs[SHMBUS_MPMC_BURST_MAX];
	unsigned i;
	int k, rc;

	if (h->nclaims)
		return -EBUSY;
	if (n == 0)
		return 0;
	if (!msgs)
		return -EINVAL;
	if (n > SHMBUS_MPMC_BURST_MAX)
		n = SHMBUS_MPMC_BURST_MAX;
	for (i = 0; i < n; i++)
		bufs[i].len = msgs[i].len;
	k = reserve_burst(h, bufs, n, timeout_ms);
	if (k <= 0)
		return k;
	for (i = 0; i < (unsigned)k; i++) {
		if (msgs[i].len)
			memcpy(bufs[i].data, msgs[i].data, msgs[i].len);
	}
	rc = shmbus_mpmc_commit_bulk(h, bufs, (unsigned)k);
	return rc ? rc : k;
}

int shmbus_mpmc_push_burst_try(struct shmbus_mpmc *h, const struct shmbus_mpmc_msg *msgs,
			       unsigned n)
{
	return mpmc_unless_shrunk(h, push_burst(h, msgs, n, NULL));
}

int shmbus_mpmc_push_burst(struct shmbus_mpmc *h, const struct shmbus_mpmc_msg *msgs,
			   unsigned n, int timeout_ms)
{
	return mpmc_unless_shrunk(h, push_burst(h, msgs, n, &timeout_ms));
}
