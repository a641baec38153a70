/*
 * mpmc_recover.c - recovering the claims of a dead participant: skip a dead
 * producer's unpublished slots, free a dead consumer's unreleased ones, and
 * count each message lost, exactly, even if the recovering process is itself
 * killed half-way.
 *
 * Protocol.  Whoever recovers entry i's claims first owns entry i: it takes
 * the entry over with the same CAS on its ident (from a dead process's ident,
 * or from 0) that a new participant uses (part_claim()).  So at most
 * one process at a time recovers an entry, and only once every earlier owner
 * of it is gone (dead stays dead; a participant that left cleanly held no
 * claim).  While the entry is owned, nobody but its owner moves a claim word
 * naming it: the slot's previous claimer is dead, and other recoverers must
 * own the entry first.
 *
 * That exclusivity makes the count crash-safe with a one-slot journal in the
 * entry (struct mpmc_pstats): before each slot CAS the owner writes (jslot,
 * jword) and sets `pending` in the `lost` word; after the CAS it stores the
 * new count with `pending` clear, in one store.  A later owner that finds
 * `pending` set redoes the CAS (which fails harmlessly if it had happened)
 * and counts the loss: the journalled CAS cannot have failed, since nothing
 * else moves that word (short of a tampered block).
 *
 * A waiter that recovers gives the entry back afterwards (ident 0), free for
 * a new participant; an opener handed a dead or free entry recovers it and
 * keeps it (shmbus_mpmc_open()).  Recovery wakes both wait queues: the
 * recovered slots are where waiters are stuck.
 *
 * The explicit sweep (shmbus_mpmc_recover(), at the end) does at once what
 * waiters do one stuck slot at a time, settles journals left pending, drops
 * the entries of participants that died asleep, and moves the hints.
 */
#include <errno.h>

#include "mpmc_internal.h"

/* CAS a claimed @word to (lap + 1, EMPTY).  True if ours was the CAS. */
static bool skip_or_free(struct mpmc_slot *s, uint64_t word)
{
	/* C4: seq_cst (a wake follows: A6 in mpmc_wake()).  Acquire: whatever
	 * the dead owner wrote is ordered before the next holder; release:
	 * pairs with the next claim (C2 in mpmc_produce.c), and orders our
	 * journal (R5) before the new word. */
	return atomic_compare_exchange_strong_explicit(
		&s->word, &word, mpmc_word(mpmc_word_lap(word) + 1, 0, MPMC_EMPTY),
		memory_order_seq_cst, memory_order_relaxed);
}

/* Settle a recovery that a previous owner of entry @idx left pending. */
static int settle_pending(struct shmbus_mpmc *h, uint32_t idx, uint64_t *lw)
{
	struct mpmc_pstats *ps = &h->pstats[idx];
	uint64_t slot, word;

	/* Relaxed: ordered after the acquire load of `lost` (A8). */
	slot = atomic_load_explicit(&ps->jslot, memory_order_relaxed);
	word = atomic_load_explicit(&ps->jword, memory_order_relaxed);
	if (slot >= h->nslots || !mpmc_word_ok(h, word) || !mpmc_word_claimed(word) ||
	    mpmc_word_owner(word) != idx)
		return -SHMBUS_ECORRUPT;
	skip_or_free(mpmc_slot_at(h, slot), word);
	*lw = (*lw & ~MPMC_LOST_PENDING) + 2;
	/* R6: release, as below. */
	atomic_store_explicit(&ps->lost, *lw, memory_order_release);
	return 1;
}

int mpmc_recover_entry(struct shmbus_mpmc *h, uint32_t idx)
{
	struct mpmc_pstats *ps = &h->pstats[idx];
	uint64_t lw, k;
	int n = 0, rc;

	/* A8: acquire, pairs with R5 of the owner that died: its journal is
	 * visible if its `pending` is. */
	lw = atomic_load_explicit(&ps->lost, memory_order_acquire);
	if (lw & MPMC_LOST_PENDING) {
		rc = settle_pending(h, idx, &lw);
		if (rc < 0)
			return rc;
		n += rc;
	}
	/* A previous owner that died asleep is still counted as a waiter. */
	switch (atomic_load_explicit(&ps->asleep, memory_order_relaxed)) { /* see forget */
	case 0:
		break;
	case MPMC_ASLEEP_NOT_EMPTY:
		waitq_forget(&h->ctl->not_empty.q, &ps->asleep);
		break;
	case MPMC_ASLEEP_NOT_FULL:
		waitq_forget(&h->ctl->not_full.q, &ps->asleep);
		break;
	default: /* garbage: it names no queue, so it counts in none */
		atomic_store_explicit(&ps->asleep, 0, memory_order_relaxed);
		break;
	}
	/* A dead producer holds the stream open no more (mpmc_stream.c, where
	 * its dead ident already made the mark count for nothing).  Relaxed:
	 * we own the entry; nothing is ordered by it. */
	atomic_store_explicit(&ps->stream, MPMC_MARK_NONE, memory_order_relaxed);
	for (k = 0; k < h->nslots; k++) {
		struct mpmc_slot *s = mpmc_slot_at(h, k);
		/* A9: acquire, as A2 in mpmc_produce.c. */
		uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
		bool ok;

		if (!mpmc_word_ok(h, w) || !mpmc_word_claimed(w) || mpmc_word_owner(w) != idx)
			continue;
		/* Relaxed: published by R5. */
		atomic_store_explicit(&ps->jslot, k, memory_order_relaxed);
		atomic_store_explicit(&ps->jword, w, memory_order_relaxed);
		/* R5: release, pairs with A8 of a successor. */
		atomic_store_explicit(&ps->lost, lw | MPMC_LOST_PENDING, memory_order_release);
		ok = skip_or_free(s, w);
		if (ok)
			mpmc_hook(MPMC_HOOK_RECOVERED, h);
		lw += ok ? 2 : 0;
		/* R6: release: count and clear in one store. */
		atomic_store_explicit(&ps->lost, lw, memory_order_release);
		n += ok;
	}
	if (n) {
		mpmc_wake(h, &h->ctl->not_empty);
		mpmc_wake(h, &h->ctl->not_full);
	}
	return n;
}

/* Own entry @idx if its process is dead or gone; then recover it, count
 * the reclaim, and give it back.  Returns claims recovered, -EBUSY. */
static int take_and_recover(struct shmbus_mpmc *h, uint32_t idx)
{
	struct participant *p = &h->parts[idx];
	shmbus_ident_t prev = SHMBUS_IDENT_NONE;
	int n;

	/* -EBUSY if a live process owns it: its owner, another recoverer, or
	 * a new participant that recovers it at open.  The role is loaded
	 * relaxed: it is informational (inspection), kept as it was. */
	if (part_claim(p, atomic_load_explicit(&p->role, memory_order_relaxed), h->me,
			      &prev))
		return -EBUSY;
	n = mpmc_recover_entry(h, idx);
	if (prev != SHMBUS_IDENT_NONE || n > 0)
		mpmc_count(&h->pstats[idx].reclaims, 1);
	part_leave(p, h->me);
	block_touch(h->block);
	return n;
}

/* Settle the pending recovery of a dead entry, if any: 1, 0, -EBUSY
 * (its owner is alive), or -SHMBUS_ECORRUPT. */
static int settle_entry(struct shmbus_mpmc *h, uint32_t idx)
{
	/* Relaxed: a hint; take_and_recover() decides under ownership. */
	if (idx == h->idx ||
	    !(atomic_load_explicit(&h->pstats[idx].lost, memory_order_relaxed) & MPMC_LOST_PENDING))
		return 0;
	return take_and_recover(h, idx);
}

/*
 * Recover every entry whose owner died asleep (its entry, and with it the
 * count it left in a wait queue until the next wake of that queue).  Reads
 * /proc once per entry marked asleep.  Returns how many entries it
 * recovered, or -SHMBUS_ECORRUPT.
 */
static int sweep_sleepers(struct shmbus_mpmc *h)
{
	uint32_t i;
	int n = 0, rc;

	for (i = 0; i < h->nparts; i++) {
		/* Relaxed: a hint; take_and_recover() decides under ownership. */
		if (i == h->idx || !atomic_load_explicit(&h->pstats[i].asleep, memory_order_relaxed))
			continue;
		rc = take_and_recover(h, i);
		if (rc < 0 && rc != -EBUSY)
			return rc;
		n += rc >= 0;
	}
	return n;
}

int mpmc_recover_claim(struct shmbus_mpmc *h, uint64_t word)
{
	uint32_t owner;
	int n;

	if (!mpmc_word_ok(h, word))
		return -SHMBUS_ECORRUPT;
	if (!mpmc_word_claimed(word))
		return 0;
	owner = mpmc_word_owner(word);
	if (owner == h->idx)
		return 0; /* our own claim: we are alive */
	n = take_and_recover(h, owner);
	return n == -EBUSY ? 0 : n;
}

/* --- the explicit sweep ------------------------------------------------ */

/* Move @hint over positions whose slot shows them claimed; at most a lap. */
static void hint_settle(struct shmbus_mpmc *h, _Atomic uint64_t *hint, bool consumers)
{
	uint32_t i;

	for (i = 0; i < h->nslots; i++) {
		/* Acquire: as A1/A3 (mpmc_produce.c, mpmc_consume.c). */
		uint64_t pos = atomic_load_explicit(hint, memory_order_acquire);
		uint64_t w = atomic_load_explicit(&mpmc_slot_at(h, pos)->word,
						  memory_order_acquire);
		int64_t d = mpmc_lap_diff(mpmc_word_lap(w), mpmc_pos_lap(h, pos));
		bool past = consumers ? mpmc_passed_by_consumers(d, w) :
					mpmc_passed_by_producers(d, w);
		uint64_t expected = pos;

		if (!past)
			return;
		/* C1 (mpmc_claim_internal.h); failure relaxed: another mover won,
		 * and the next round reloads the hint. */
		atomic_compare_exchange_strong_explicit(hint, &expected, pos + 1,
							memory_order_acq_rel,
							memory_order_relaxed);
	}
}

int shmbus_mpmc_recover(struct shmbus_mpmc *h)
{
	uint32_t i;
	int n = 0, rc;

	for (i = 0; i < h->nslots; i++) {
		struct mpmc_slot *s = mpmc_slot_at(h, i);
		/* Acquire: as A2 in mpmc_produce.c. */
		uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
		unsigned st = mpmc_word_state(w);

		if (st != MPMC_WRITING && st != MPMC_READING)
			continue;
		if (mpmc_word_owner(w) == h->idx)
			continue; /* our own claim */
		rc = mpmc_recover_claim(h, w);
		if (rc < 0)
			return rc;
		n += rc;
	}
	/* Recoveries whose agent died after its CAS: count them now. */
	for (i = 0; i < h->nparts; i++) {
		rc = settle_entry(h, i);
		if (rc < 0 && rc != -EBUSY)
			return rc;
	}
	/* Participants that died asleep: they count as waiters no more. */
	rc = sweep_sleepers(h);
	if (rc < 0)
		return rc;
	hint_settle(h, &h->ctl->tail.value, false);
	hint_settle(h, &h->ctl->head.value, true);
	return n;
}
