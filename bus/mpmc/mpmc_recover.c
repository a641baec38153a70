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
 */
#include <errno.h>

#include "mpmc_internal.h"

static bool claimed(uint64_t w)
{
	unsigned st = mpmc_word_state(w);

	return st == MPMC_WRITING || st == MPMC_READING;
}

/* CAS a claimed @word to (lap + 1, EMPTY).  True if ours was the CAS. */
static bool skip_or_free(struct mpmc_slot *s, uint64_t word)
{
	/* C4: seq_cst (a wake follows: A6 in mpmc_ring.c).  Acquire: whatever
	 * the dead owner wrote is ordered before the next holder; release:
	 * pairs with the next claim (C2 in mpmc_ring.c), and orders our
	 * journal (R5) before the new word. */
	return atomic_compare_exchange_strong_explicit(
		&s->word, &word, mpmc_word(mpmc_word_lap(word) + 1, 0, MPMC_EMPTY),
		memory_order_seq_cst, memory_order_relaxed);
}

void mpmc_count_lost(struct shmbus_mpmc *h, uint64_t n)
{
	mpmc_count(&h->mine->lost, 2 * n);
}

uint64_t mpmc_entry_lost(const struct shmbus_mpmc *h, uint32_t idx)
{
	struct mpmc_pstats *ps = &h->pstats[idx];
	/* A8 (acquire): the journal is visible if `pending` is. */
	uint64_t lw = atomic_load_explicit(&ps->lost, memory_order_acquire);
	uint64_t slot, jword, now;

	if (!(lw & MPMC_LOST_PENDING))
		return mpmc_lost_count(lw, 0, 0);
	/* Relaxed: ordered after A8. */
	slot = atomic_load_explicit(&ps->jslot, memory_order_relaxed);
	jword = atomic_load_explicit(&ps->jword, memory_order_relaxed);
	if (slot >= h->nslots)
		return mpmc_lost_count(lw & ~MPMC_LOST_PENDING, 0, 0); /* corrupt: ignore */
	/* Acquire: a CAS seen here is counted; its count store comes later. */
	now = atomic_load_explicit(&mpmc_slot_at(h, slot)->word, memory_order_acquire);
	return mpmc_lost_count(lw, jword, now);
}

/* Settle a recovery that a previous owner of entry @idx left pending. */
static int settle_pending(struct shmbus_mpmc *h, uint32_t idx, uint64_t *lw)
{
	struct mpmc_pstats *ps = &h->pstats[idx];
	uint64_t slot, word;

	/* Relaxed: ordered after the acquire load of `lost` (A8). */
	slot = atomic_load_explicit(&ps->jslot, memory_order_relaxed);
	word = atomic_load_explicit(&ps->jword, memory_order_relaxed);
	if (slot >= h->nslots || !mpmc_word_ok(h, word) || !claimed(word) ||
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
	for (k = 0; k < h->nslots; k++) {
		struct mpmc_slot *s = mpmc_slot_at(h, k);
		/* A9: acquire, as A2 in mpmc_ring.c. */
		uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
		bool ok;

		if (!mpmc_word_ok(h, w) || !claimed(w) || mpmc_word_owner(w) != idx)
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
	return n;
}

int mpmc_settle_entry(struct shmbus_mpmc *h, uint32_t idx)
{
	/* Relaxed: a hint; take_and_recover() decides under ownership. */
	if (idx == h->idx ||
	    !(atomic_load_explicit(&h->pstats[idx].lost, memory_order_relaxed) & MPMC_LOST_PENDING))
		return 0;
	return take_and_recover(h, idx);
}

int mpmc_sweep_sleepers(struct shmbus_mpmc *h)
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
	if (!claimed(word))
		return 0;
	owner = mpmc_word_owner(word);
	if (owner == h->idx)
		return 0; /* our own claim: we are alive */
	n = take_and_recover(h, owner);
	return n == -EBUSY ? 0 : n;
}
