/*
 * mpmc.c - an mpmc ring handle: open (attach and register as a participant,
 * recovering what an earlier owner of the entry left), close, closing and
 * reopening the stream (the protocol: mpmc_stream.c), the geometry
 * accessors and the live statistics (read through mpmc_decode.c).
 *
 * Invariant: a handle's geometry is a private copy validated at open
 * (mpmc_geom_check()); nothing read later from the block sizes or bounds
 * anything without being checked against that copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpmc_internal.h"
#include "relax_internal.h"

#ifdef SHMBUS_TEST_HOOKS
_Atomic(mpmc_hook_fn) mpmc_test_hook;
#endif

/* Fill @h's private geometry and pointers from a validated block. */
static int handle_map(struct shmbus_mpmc *h, struct shmbus_block *b)
{
	struct shm_header hdr;
	struct mpmc_geom g;
	char *base;
	void *data;
	int rc;

	rc = shmbus_block_data(b, &data);
	if (rc)
		return rc;
	base = data;
	header_load(block_header(b), &hdr);
	rc = header_check(&hdr, shmbus_block_size(b), NULL);
	if (rc)
		return rc;
	if (hdr.total_size < MPMC_CTL_OFF + sizeof(struct mpmc_ctl))
		return -SHMBUS_ECORRUPT;
	/* Immutable since `ready`, which header_load() acquired. */
	memcpy(&g, base + MPMC_CTL_OFF, sizeof(g));
	rc = mpmc_geom_check(&g, &hdr);
	if (rc)
		return rc;
	h->block = b;
	h->lost = block_lost_word(b);
	h->ctl = (struct mpmc_ctl *)(base + MPMC_CTL_OFF);
	h->parts = (struct participant *)(base + hdr.participants_off);
	h->pstats = (struct mpmc_pstats *)(base + g.pstats_off);
	h->slots = base + g.slots_off;
	h->nslots = g.slots;
	h->mask = g.slots - 1;
	h->shift = (uint32_t)__builtin_ctz(g.slots);
	h->slot_size = g.slot_size;
	h->stride = g.slot_stride;
	h->nparts = g.participants;
	h->liveness_ms = g.liveness_ms;
	h->liveness_ns = (uint64_t)g.liveness_ms * 1000000u;
	return 0;
}

int shmbus_mpmc_open(struct shmbus_mpmc **out, const char *name, enum shmbus_mpmc_role role)
{
	struct shmbus_block *b = NULL;
	struct shmbus_mpmc *h = NULL;
	shmbus_ident_t prev = SHMBUS_IDENT_NONE;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (role != SHMBUS_MPMC_PRODUCER && role != SHMBUS_MPMC_CONSUMER)
		return -EINVAL;
	rc = block_attach_layout(&b, name, 0, SHMBUS_KIND_MPMC, MPMC_VERSION, NULL);
	if (rc)
		return rc;
	h = calloc(1, sizeof(*h));
	if (!h) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = handle_map(h, b);
	if (rc)
		goto fail;
	h->role = role;
	/* The knobs for this handle (struct mpmc_knobs). */
	h->yields = mpmc_knobs.yields;
	h->hint_lag = mpmc_hint_lag(h->nslots);
	h->ahead = mpmc_ahead(h->nslots, h->stride, relax_have_prefetch_w());
	/* Relaxed: a starting point; claims re-check (I3 in
	 * mpmc_claim_internal.h). */
	h->cursor = atomic_load_explicit(role == SHMBUS_MPMC_PRODUCER ? &h->ctl->tail.value :
									&h->ctl->head.value,
					 memory_order_relaxed);
	h->me = shmbus_proc_self();
	if (h->me == SHMBUS_IDENT_NONE) {
		rc = -ESRCH; /* no /proc: liveness cannot work */
		goto fail;
	}
	rc = part_join(h->parts, h->nparts, (uint32_t)role, h->me, &prev);
	if (rc < 0) {
		rc = rc == -ENOSPC ? -EUSERS : rc;
		goto fail;
	}
	h->idx = (uint32_t)rc;
	block_touch(h->block);
	/* A stream of its own per handle (mpmc_wait.c); xorshift needs a
	 * non-zero state. */
	h->rnd = ((uint32_t)h->me * UINT32_C(2654435761)) ^ (uint32_t)(h->me >> 32) ^
		 (h->idx * UINT32_C(40503)) ^ (uint32_t)(uintptr_t)h;
	if (h->rnd == 0)
		h->rnd = 1;
	h->mine = &h->pstats[h->idx];
	/* Runs of messages count from here (the entry's counters carry its
	 * earlier owners'). */
	h->done_at_eagain = mpmc_done(h);
	/* I4: claims still naming this entry belong to a previous owner that
	 * is gone; recover them before we claim anything under its index. */
	rc = mpmc_recover_entry(h, h->idx);
	if (rc < 0) {
		part_leave(&h->parts[h->idx], h->me);
		goto fail;
	}
	if (prev != SHMBUS_IDENT_NONE || rc > 0)
		mpmc_count(&h->mine->reclaims, 1);
	/* Hold the stream open, unless it has ended (then pushes fail with
	 * -EPIPE until shmbus_mpmc_reopen_stream()). */
	if (role == SHMBUS_MPMC_PRODUCER)
		mpmc_stream_join(h, false);
	*out = h;
	return 0;

fail:
	free(h);
	shmbus_block_close(b);
	return rc;
}

void shmbus_mpmc_close(struct shmbus_mpmc *h)
{
	if (!h)
		return;
	/* Give back what the handle holds: a producer's reservations are
	 * cancelled, a consumer's messages released (a -ECANCELED among them
	 * was recovered already: nothing to give back).  Then wake both
	 * sides: those stopped at these slots move on. */
	if (h->nclaims && h->role == SHMBUS_MPMC_PRODUCER) {
		shmbus_mpmc_cancel(h); /* wakes both */
	} else if (h->nclaims) {
		if (shmbus_mpmc_release_burst(h, h->nclaims) < 0) {
			/* -ECANCELED: see above */
		}
		mpmc_wake(h, &h->ctl->not_empty); /* release_burst woke not_full */
	}
	/* A producer leaving stops holding the stream open (it does not close
	 * it: if another producer did, the stream may end here). */
	mpmc_stream_quit(h, false);
	part_leave(&h->parts[h->idx], h->me);
	block_touch(h->block);
	shmbus_block_close(h->block);
	free(h);
}

int shmbus_mpmc_close_stream(struct shmbus_mpmc *h)
{
	if (h->role != SHMBUS_MPMC_PRODUCER)
		return -EPERM;
	/* Reservations are not messages yet: they are dropped, as broadcast
	 * drops its reservation, so that no slot of ours blocks the end. */
	if (h->nclaims)
		shmbus_mpmc_cancel(h);
	mpmc_stream_quit(h, true);
	return 0;
}

int shmbus_mpmc_reopen_stream(struct shmbus_mpmc *h)
{
	if (h->role != SHMBUS_MPMC_PRODUCER)
		return -EPERM;
	if (!h->producing)
		mpmc_stream_join(h, true);
	return 0;
}

uint32_t shmbus_mpmc_slots(const struct shmbus_mpmc *h)
{
	return h->nslots;
}

uint32_t shmbus_mpmc_slot_size(const struct shmbus_mpmc *h)
{
	return h->slot_size;
}

uint32_t shmbus_mpmc_liveness_ms(const struct shmbus_mpmc *h)
{
	return h->liveness_ms;
}

uint32_t shmbus_mpmc_index(const struct shmbus_mpmc *h)
{
	return h->idx;
}

void mpmc_view_of(const struct shmbus_mpmc *h, struct mpmc_geom *g, struct mpmc_view *v)
{
	*g = (struct mpmc_geom){
		.slots = h->nslots,
		.slot_size = h->slot_size,
		.slot_stride = h->stride,
		.liveness_ms = h->liveness_ms,
		.participants = h->nparts,
	};
	*v = (struct mpmc_view){
		.g = g,
		.ctl = h->ctl,
		.parts = h->parts,
		.pstats = h->pstats,
		.words = h->slots,
		.words_stride = h->stride,
	};
}

/* Through the live mapping the decoder reads every word itself, so it
 * cannot fail: the fallbacks below are never taken. */
void shmbus_mpmc_stats(const struct shmbus_mpmc *h, struct shmbus_mpmc_stats *out)
{
	struct mpmc_decoded d;
	struct mpmc_geom g;
	struct mpmc_view v;

	mpmc_view_of(h, &g, &v);
	if (mpmc_decode(&v, false, &d) == 0)
		*out = d.stats;
	else
		memset(out, 0, sizeof(*out));
}

uint64_t mpmc_entry_lost(const struct shmbus_mpmc *h, uint32_t idx)
{
	struct mpmc_geom g;
	struct mpmc_view v;
	uint64_t lost = 0;

	mpmc_view_of(h, &g, &v);
	if (idx >= h->nparts || mpmc_decode_lost(&v, idx, &lost))
		return 0;
	return lost;
}
