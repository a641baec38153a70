/*
 * mpmc_stream.c - end of stream of the mpmc ring: which producers hold the
 * stream open, when it has ended, and what a consumer that finds the ring
 * empty makes of it.
 *
 * How the end is counted.  Each producer entry carries a mark (struct
 * mpmc_pstats `stream`): OPEN while its producer holds the stream open
 * (from its open, or its reopen), CLOSED once it closed it.  The stream word
 * in the control block (mpmc_internal.h) counts the closes of this epoch
 * and holds ENDED.  The stream has ended once
 *   - a producer closed it in this epoch (closes > 0), and
 *   - no entry is marked OPEN by a live producer:
 * every producer that opened it has closed it, left (closed its handle
 * without closing the stream: it can never push again), or died.  A dead
 * producer's OPEN mark counts for nothing: it can never produce again (its
 * claimed, unpublished slot is skipped and counted lost, as ever).  The end
 * is declared, never inferred from crashes alone: if every producer dies or
 * leaves and none closed the stream, it stays open for the next producer
 * (as broadcast's stream goes on with a producer that takes the role over).
 *
 * ENDED is sticky for the epoch: a producer that opens after it starts
 * closed (its pushes fail with -EPIPE) until shmbus_mpmc_reopen_stream()
 * starts a new epoch.  So once a consumer was told -SHMBUS_EEOS, no message
 * of the same epoch can appear.
 *
 * Protocol.  A producer changes its mark, then makes one RMW on the stream
 * word that bumps its gen (C5: join, quit).  Whoever proves the end - the
 * producer that quits last, or a consumer once the rest are dead - reads the
 * word (its own C5's result, or A10), scans the marks, and CASes that very
 * value to ENDED (C6).  The RMWs on the word are totally ordered: a producer
 * whose C5 comes before the value the prover read has its mark seen by the
 * scan (C5 release, acquire of the read); one whose C5 comes after makes C6
 * fail (gen moved), and the scan of its own quit, or its join, decides.  A
 * producer that joins after C6 reads ENDED in its C5 loop and starts closed.
 * Deaths change no word: consumers that find the ring empty while closes > 0
 * prove them, reading /proc at most once per liveness timeout each.
 *
 * Consumers look at the word only when the ring looks empty (the busy path
 * never reads it), and never return -SHMBUS_EEOS before a message published
 * before the end: ENDED is read with acquire (A10) and then the ring is
 * searched once more.  Every publish of a producer happens before its quit
 * (C5, release), which happens before C6, which A10 reads.  A claim left
 * by a dead producer in the way (a WRITING slot) is not the end: messages
 * may follow it; the waiter recovers it after the liveness timeout, as
 * always, and goes on.
 *
 * Kills.  A producer killed anywhere leaves its mark OPEN and a dead ident:
 * it no longer counts.  A prover killed before C6 leaves the word as it was
 * (the next consumer to look proves it again); after C6, consumers asleep
 * may miss its wake-up, but their sleeps end within a liveness timeout (and
 * a sleeper also wakes when the word changes, see mpmc_wait.c).
 */
#include <errno.h>
#include <time.h>

#include "mpmc_internal.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void set_mark(struct shmbus_mpmc *h, uint32_t mark)
{
	/* Relaxed: single writer (the entry's owner), published by the
	 * release of the C5 that follows. */
	atomic_store_explicit(&h->mine->stream, mark, memory_order_relaxed);
}

/* Whether entry @i is held open by a live producer.  Its loads are ordered
 * after the caller's acquire of the stream word (C5 or A10). */
static bool holds_open(const struct shmbus_mpmc *h, uint32_t i)
{
	const memory_order rlx = memory_order_relaxed; /* see above */
	shmbus_ident_t id;

	if (atomic_load_explicit(&h->pstats[i].stream, rlx) != MPMC_MARK_OPEN)
		return false;
	id = atomic_load_explicit(&h->parts[i].ident, rlx);
	if (id == SHMBUS_IDENT_NONE ||
	    atomic_load_explicit(&h->parts[i].role, rlx) != SHMBUS_MPMC_PRODUCER)
		return false;
	/* A new owner between its takeover and clearing the mark looks open
	 * for that moment: that only delays the end. */
	return id == h->me || part_alive(&h->parts[i], id);
}

/*
 * Prove the end from the stream word @w, read (acquire) before the scan: if
 * a producer closed the stream and no live one holds it open, set ENDED and
 * wake the consumers.  Returns whether the stream has ended.
 */
static bool settle(struct shmbus_mpmc *h, uint64_t w)
{
	uint32_t i;

	if (w & MPMC_STREAM_ENDED)
		return true;
	if (mpmc_stream_closes(w) == 0)
		return false;
	for (i = 0; i < h->nparts; i++) {
		if (holds_open(h, i))
			return false;
	}
	/* C6: seq_cst, from the very value the scan was made under: fails if
	 * any producer joined or quit since (its C5 moved gen).  Release pairs
	 * with A10 of consumers and the acquire of a joiner's C5; seq_cst for
	 * the wake that follows (A6 in mpmc_wake()).  On failure (acquire, as
	 * A10) @w gets the newer word: whoever changed it decides in its own
	 * quit, or it was a join (not ended), or another prover (ended). */
	if (!atomic_compare_exchange_strong_explicit(&h->ctl->stream.value, &w,
						     (w | MPMC_STREAM_ENDED) + MPMC_STREAM_GEN_ONE,
						     memory_order_seq_cst, memory_order_acquire))
		return (w & MPMC_STREAM_ENDED) != 0;
	mpmc_wake(h, &h->ctl->not_empty);
	return true;
}

void mpmc_stream_join(struct shmbus_mpmc *h, bool restart)
{
	_Atomic uint64_t *word = &h->ctl->stream.value;
	/* A11: acquire, as the failure order of C5 below. */
	uint64_t w = atomic_load_explicit(word, memory_order_acquire), nw;

	for (;;) {
		if ((w & MPMC_STREAM_ENDED) && !restart) {
			set_mark(h, MPMC_MARK_CLOSED);
			h->producing = false;
			return;
		}
		set_mark(h, MPMC_MARK_OPEN);
		nw = w + MPMC_STREAM_GEN_ONE;
		if (w & MPMC_STREAM_ENDED) {
			/* A new epoch: no closes, not ended; gen goes on. */
			nw = (nw & ~((UINT64_C(1) << 32) - 1)) |
			     (uint64_t)((mpmc_stream_epoch(w) + 1) & 0xffffu)
				     << MPMC_STREAM_EPOCH_SHIFT;
		}
		/* C5: acq_rel.  Release: our OPEN mark is seen by whoever reads
		 * this value or a later one before scanning (C6's provers);
		 * acquire: pairs with C6 (and other C5s), so a failed CAS tells
		 * us the stream ended.  Failure: acquire, @w gets the word. */
		if (atomic_compare_exchange_weak_explicit(word, &w, nw, memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	h->producing = true;
}

void mpmc_stream_quit(struct shmbus_mpmc *h, bool close)
{
	_Atomic uint64_t *word = &h->ctl->stream.value;
	uint64_t w, nw;

	if (!h->producing)
		return;
	h->producing = false;
	set_mark(h, close ? MPMC_MARK_CLOSED : MPMC_MARK_NONE);
	/* A11 (see join). */
	w = atomic_load_explicit(word, memory_order_acquire);
	do {
		nw = w + MPMC_STREAM_GEN_ONE;
		if (close && mpmc_stream_closes(w) < MPMC_STREAM_CLOSES_MAX)
			nw += MPMC_STREAM_CLOSE_ONE;
		/* C5 (see join): release, our mark and every publish before it
		 * happen before whoever reads this value; acquire, we see the
		 * marks of every producer whose C5 came before. */
	} while (!atomic_compare_exchange_weak_explicit(word, &w, nw, memory_order_acq_rel,
							memory_order_acquire));
	settle(h, nw);
}

int mpmc_stream_at_empty(struct shmbus_mpmc *h, mpmc_attempt_fn attempt, void *arg,
			 struct mpmc_block_on *why)
{
	/* A10: acquire, pairs with C6 (ENDED) and through the C5 chain before
	 * it with every producer's quit, so with every publish before the end:
	 * the attempt below sees those messages, or that they were taken. */
	uint64_t w = atomic_load_explicit(&h->ctl->stream.value, memory_order_acquire);
	uint64_t now;
	int rc;

	h->stream_seen = w;
	if (!(w & MPMC_STREAM_ENDED)) {
		if (mpmc_stream_closes(w) == 0)
			return -EAGAIN;
		/* Closed, but held open by a producer: is it still alive?  Once
		 * per liveness timeout: the scan reads /proc. */
		now = now_ns();
		if (h->stream_scanned && now - h->stream_scan_ns < h->liveness_ns)
			return -EAGAIN;
		h->stream_scanned = true;
		h->stream_scan_ns = now;
		if (!settle(h, w))
			return -EAGAIN;
		/* A10 again: the value that ended it, for the wait's test. */
		h->stream_seen = atomic_load_explicit(&h->ctl->stream.value, memory_order_acquire);
	}
	rc = attempt(h, arg, why);
	if (rc != -EAGAIN)
		return rc;
	/* A dead producer's claim in the way is not the end: messages
	 * published after it are still to come, once it is recovered. */
	if (mpmc_word_state(why->word) == MPMC_WRITING)
		return -EAGAIN;
	return -SHMBUS_EEOS;
}
