/*
 * mpmc_decode.c - the one decoder of an mpmc ring's state, for the live
 * shmbus_mpmc_stats() (mpmc.c, over the mapping) and for the snapshot that
 * `shmbus inspect` shows (mpmc_inspect.c, over pread() copies): counter sums,
 * the lost-message journal, the positions each side reached, the occupancy
 * clamp, the waiter counts, the state of the stream and the census of slot
 * states with its corruption test.
 *
 * Invariant: only the validated geometry (view->g) sizes or bounds anything;
 * every value read from the block is checked before it indexes (a journal's
 * slot number), and a corrupt word is counted, never followed: each walk over
 * the slots is at most one lap, however garbled they are.
 */
#include <string.h>

#include "mpmc_internal.h"

/* The state word of slot @k (< slots) when the view holds the words. */
static uint64_t word_at(const struct mpmc_view *v, uint64_t k)
{
	/* Acquire: as A2/A4 in mpmc_claim_internal.h: on the live ring, a
	 * recovery's CAS seen here is counted (its count store comes later),
	 * and a position seen passed stays passed.  On a copy, a private load. */
	return atomic_load_explicit((_Atomic uint64_t *)(void *)(v->words + k * v->words_stride),
				    memory_order_acquire);
}

static int slot_word(const struct mpmc_view *v, uint64_t k, uint64_t *w)
{
	if (v->words) {
		*w = word_at(v, k);
		return 0;
	}
	return v->read_word(v->src, k, w);
}

int mpmc_decode_lost(const struct mpmc_view *v, uint32_t idx, uint64_t *lost)
{
	struct mpmc_pstats *ps = &v->pstats[idx];
	/* A8: acquire, pairs with R5 in mpmc_recover.c: the journal is
	 * visible if `pending` is. */
	uint64_t lw = atomic_load_explicit(&ps->lost, memory_order_acquire);
	uint64_t slot, jword, now;
	int rc;

	if (!(lw & MPMC_LOST_PENDING)) {
		*lost = mpmc_lost_count(lw, 0, 0);
		return 0;
	}
	/* Relaxed: ordered after A8. */
	slot = atomic_load_explicit(&ps->jslot, memory_order_relaxed);
	jword = atomic_load_explicit(&ps->jword, memory_order_relaxed);
	if (slot >= v->g->slots) {
		/* A garbage journal names no slot: nothing pending to count. */
		*lost = mpmc_lost_count(lw & ~MPMC_LOST_PENDING, 0, 0);
		return 0;
	}
	rc = slot_word(v, slot, &now);
	if (rc == 0)
		*lost = mpmc_lost_count(lw, jword, now);
	return rc;
}

/* Sum the counters of every entry, and count the registered roles. */
static int sum_entries(const struct mpmc_view *v, struct shmbus_mpmc_stats *out)
{
	const memory_order rlx = memory_order_relaxed; /* statistics: values, no order */
	uint32_t i;
	int rc;

	for (i = 0; i < v->g->participants; i++) {
		struct mpmc_pstats *p = &v->pstats[i];
		uint64_t lost;

		if (v->parts && atomic_load_explicit(&v->parts[i].ident, rlx) != SHMBUS_IDENT_NONE) {
			uint32_t role = atomic_load_explicit(&v->parts[i].role, rlx);

			out->producers += role == SHMBUS_MPMC_PRODUCER;
			out->consumers += role == SHMBUS_MPMC_CONSUMER;
		}
		out->msgs_in += atomic_load_explicit(&p->msgs_in, rlx);
		out->bytes_in += atomic_load_explicit(&p->bytes_in, rlx);
		out->full_waits += atomic_load_explicit(&p->full_waits, rlx);
		out->msgs_out += atomic_load_explicit(&p->msgs_out, rlx);
		out->bytes_out += atomic_load_explicit(&p->bytes_out, rlx);
		out->empty_waits += atomic_load_explicit(&p->empty_waits, rlx);
		out->wakes += atomic_load_explicit(&p->wakes, rlx);
		rc = mpmc_decode_lost(v, i, &lost);
		if (rc)
			return rc;
		out->lost += lost;
		out->recovered += atomic_load_explicit(&p->reclaims, rlx);
		out->producers_open += atomic_load_explicit(&p->stream, rlx) == MPMC_MARK_OPEN;
	}
	return 0;
}

/*
 * The first position at or after the hint @hint that its side has not
 * passed: the hint plus the few positions it lags (I5 in
 * mpmc_claim_internal.h).  Without slot words, the hint itself.
 */
static uint64_t frontier(const struct mpmc_view *v, _Atomic uint64_t *hint, bool consumers)
{
	uint32_t shift = (uint32_t)__builtin_ctz(v->g->slots), i;
	/* Acquire: as A1/A3 in mpmc_claim_internal.h. */
	uint64_t pos = atomic_load_explicit(hint, memory_order_acquire);

	if (!v->words)
		return pos;
	for (i = 0; i < v->g->slots; i++, pos++) {
		uint64_t w = word_at(v, pos & (v->g->slots - 1));
		int64_t d = mpmc_lap_diff(mpmc_word_lap(w), (pos >> shift) & MPMC_LAP_MASK);

		if (!(consumers ? mpmc_passed_by_consumers(d, w) : mpmc_passed_by_producers(d, w)))
			break;
	}
	return pos;
}

/* Count the slots by state; `invalid`: what the ring would refuse. */
static void census(const struct mpmc_view *v, struct mpmc_decoded *out)
{
	uint64_t k;

	for (k = 0; k < v->g->slots; k++) {
		uint64_t w = word_at(v, k);

		if (!mpmc_word_valid(w, v->g->participants))
			out->invalid++;
		else if (mpmc_word_state(w) == MPMC_WRITING)
			out->writing++;
		else if (mpmc_word_state(w) == MPMC_FULL)
			out->full++;
		else if (mpmc_word_state(w) == MPMC_READING)
			out->reading++;
	}
	out->census = true;
}

int mpmc_decode(const struct mpmc_view *v, bool want_census, struct mpmc_decoded *out)
{
	struct shmbus_mpmc_stats *st = &out->stats;
	int64_t occ;
	uint64_t w;
	int rc;

	memset(out, 0, sizeof(*out));
	st->slots = v->g->slots;
	st->slot_size = v->g->slot_size;
	st->liveness_ms = v->g->liveness_ms;
	st->participants_max = v->g->participants;
	rc = sum_entries(v, st);
	if (rc)
		return rc;
	if (want_census && v->words)
		census(v, out);
	st->head = frontier(v, &v->ctl->head.value, true);
	st->tail = frontier(v, &v->ctl->tail.value, false);
	/* Hints and frontiers are moments apart: clamp to what a ring holds. */
	occ = (int64_t)(st->tail - st->head);
	st->occupancy = occ < 0 ? 0 : occ > (int64_t)v->g->slots ? v->g->slots : (uint64_t)occ;
	/* Relaxed: a state for people, no order needed (consumers decide on
	 * the end with A10, mpmc_stream.c). */
	w = atomic_load_explicit(&v->ctl->stream.value, memory_order_relaxed);
	st->producers_closed = mpmc_stream_closes(w);
	st->ended = (w & MPMC_STREAM_ENDED) != 0;
	st->reopens = mpmc_stream_epoch(w);
	/* Relaxed: a count for people, no order needed. */
	out->waiting_producers = waitq_word_waiters(
		atomic_load_explicit(&v->ctl->not_full.q.word, memory_order_relaxed));
	out->waiting_consumers = waitq_word_waiters(
		atomic_load_explicit(&v->ctl->not_empty.q.word, memory_order_relaxed));
	return 0;
}
