/*
 * mpmc.c - the mpmc ring's block: layout, create, open (register as a
 * participant), close, statistics and the recovery sweep.
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

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

int mpmc_layout(uint32_t slots, uint32_t slot_size, uint32_t participants,
		struct mpmc_layout *out)
{
	if (slots < SHMBUS_MPMC_SLOTS_MIN || slots > SHMBUS_MPMC_SLOTS_MAX ||
	    (slots & (slots - 1)) != 0)
		return -EINVAL;
	if (slot_size == 0 || slot_size > SHMBUS_MPMC_SLOT_SIZE_MAX)
		return -EINVAL;
	if (participants == 0 || participants > SHMBUS_MPMC_PARTICIPANTS_MAX)
		return -EINVAL;
	out->slot_stride = (uint32_t)round_up(MPMC_SLOT_HDR + (uint64_t)slot_size,
					      MPMC_SLOT_ALIGN);
	out->participants_off = MPMC_CTL_OFF + sizeof(struct mpmc_ctl);
	out->pstats_off = round_up(out->participants_off +
				   (uint64_t)participants * sizeof(struct participant),
				   MPMC_REGION);
	out->slots_off = round_up(out->pstats_off +
				  (uint64_t)participants * sizeof(struct mpmc_pstats),
				  MPMC_REGION);
	out->total_size = out->slots_off + (uint64_t)slots * out->slot_stride;
	return 0;
}

int mpmc_geom_check(const struct mpmc_geom *g, const struct shm_header *hdr)
{
	struct mpmc_layout l;

	if (g->magic != MPMC_GEOM_MAGIC)
		return -SHMBUS_ECORRUPT;
	if (g->liveness_ms == 0 || g->liveness_ms > SHMBUS_MPMC_LIVENESS_MAX_MS)
		return -SHMBUS_ECORRUPT;
	if (mpmc_layout(g->slots, g->slot_size, g->participants, &l))
		return -SHMBUS_ECORRUPT;
	if (g->slot_stride != l.slot_stride || g->pstats_off != l.pstats_off ||
	    g->slots_off != l.slots_off || g->total_size != l.total_size)
		return -SHMBUS_ECORRUPT;
	if (hdr->total_size != l.total_size || hdr->participants_off != l.participants_off ||
	    hdr->participants_max != g->participants)
		return -SHMBUS_ECORRUPT;
	return 0;
}

/* @params with defaults applied, validated, and the layout they give. */
static int params_resolve(const struct shmbus_mpmc_params *params, uint32_t *liveness,
			  uint32_t *participants, struct mpmc_layout *l)
{
	int rc;

	if (!params)
		return -EINVAL;
	*liveness = params->liveness_ms ? params->liveness_ms : SHMBUS_MPMC_LIVENESS_DEFAULT_MS;
	*participants = params->participants ? params->participants :
					       SHMBUS_MPMC_PARTICIPANTS_DEFAULT;
	if (*liveness > SHMBUS_MPMC_LIVENESS_MAX_MS)
		return -EINVAL;
	rc = mpmc_layout(params->slots, params->slot_size, *participants, l);
	if (rc)
		return rc;
	if (l->total_size > (uint64_t)INT64_MAX || l->total_size > SIZE_MAX)
		return -EINVAL;
	return 0;
}

int mpmc_block_size(const struct shmbus_mpmc_params *params, uint64_t *size)
{
	uint32_t liveness, participants;
	struct mpmc_layout l;
	int rc = params_resolve(params, &liveness, &participants, &l);

	if (rc == 0)
		*size = l.total_size;
	return rc;
}

int mpmc_block_build(void *mem, uint64_t size, const struct shmbus_mpmc_params *params,
		     shmbus_ident_t manager)
{
	struct layout_desc desc = { .kind = SHMBUS_KIND_MPMC, .version = MPMC_VERSION };
	uint32_t liveness, participants;
	struct shm_header *hdr = mem;
	struct mpmc_ctl *ctl;
	struct mpmc_layout l;
	int rc;

	rc = params_resolve(params, &liveness, &participants, &l);
	if (rc)
		return rc;
	if (size != l.total_size)
		return -EINVAL;
	desc.total_size = l.total_size;
	desc.participants_off = (uint32_t)l.participants_off;
	desc.participants_max = participants;
	header_init(hdr, &desc);
	/* The block starts zeroed: every slot word is (lap 0, EMPTY) and
	 * head = tail = 0, which is the empty ring.  Only geometry remains. */
	ctl = (struct mpmc_ctl *)((char *)mem + MPMC_CTL_OFF);
	ctl->geom.magic = MPMC_GEOM_MAGIC;
	ctl->geom.slots = params->slots;
	ctl->geom.slot_size = params->slot_size;
	ctl->geom.slot_stride = l.slot_stride;
	ctl->geom.liveness_ms = liveness;
	ctl->geom.participants = participants;
	ctl->geom.pstats_off = l.pstats_off;
	ctl->geom.slots_off = l.slots_off;
	ctl->geom.total_size = l.total_size;
	/* Relaxed: published by the release store of `ready` just below, so
	 * no reader ever sees a ready ring without its manager. */
	atomic_store_explicit(&hdr->manager, manager, memory_order_relaxed);
	header_publish(hdr);
	return 0;
}

/* block_create_built()'s callback: an unmanaged ring for *@arg. */
static int mpmc_build_plain(void *mem, uint64_t size, const void *arg)
{
	return mpmc_block_build(mem, size, arg, SHMBUS_IDENT_NONE);
}

int shmbus_mpmc_create(const char *name, const struct shmbus_mpmc_params *params)
{
	uint64_t size;
	int rc;

	if (!name || !params)
		return -EINVAL;
	rc = mpmc_block_size(params, &size);
	if (rc)
		return rc;
	return block_create_built(name, size, params->mode, mpmc_build_plain, params);
}

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
	h->spin = SHMBUS_MPMC_SPIN_DEFAULT;
	h->hint_lag = mpmc_hint_lag(h->nslots);
	h->ahead = mpmc_ahead(h->nslots, h->stride, relax_have_prefetch_w());
	/* Relaxed: a starting point; claims re-check (mpmc_ring.c, I3). */
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
	*out = h;
	return 0;

fail:
	free(h);
	shmbus_block_close(b);
	return rc;
}

int shmbus_mpmc_close(struct shmbus_mpmc *h)
{
	bool any = h && h->nclaims;

	if (!h)
		return 0;
	while (h->nclaims) {
		if (h->role == SHMBUS_MPMC_PRODUCER)
			mpmc_cancel_one(h);
		else
			mpmc_release_one(h); /* -ECANCELED: already recovered */
	}
	if (any) {
		mpmc_wake(h, &h->ctl->not_empty);
		mpmc_wake(h, &h->ctl->not_full);
	}
	part_leave(&h->parts[h->idx], h->me);
	shmbus_block_close(h->block);
	free(h);
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

/*
 * The first position at or after @hint that its side has not passed: the
 * hint plus the few positions it lags (I5 in mpmc_ring.c).  At most a lap
 * of steps, however garbled the slots are.
 */
static uint64_t frontier(const struct shmbus_mpmc *h, _Atomic uint64_t *hint, bool consumers)
{
	/* Acquire: as A1/A3 in mpmc_ring.c. */
	uint64_t pos = atomic_load_explicit(hint, memory_order_acquire);
	uint32_t i;

	for (i = 0; i < h->nslots; i++, pos++) {
		/* Acquire: as A2/A4 in mpmc_ring.c. */
		uint64_t w = atomic_load_explicit(&mpmc_slot_at(h, pos)->word,
						  memory_order_acquire);
		int64_t d = mpmc_lap_diff(mpmc_word_lap(w), mpmc_pos_lap(h, pos));

		if (!(consumers ? mpmc_passed_by_consumers(d, w) : mpmc_passed_by_producers(d, w)))
			break;
	}
	return pos;
}

int shmbus_mpmc_stats(const struct shmbus_mpmc *h, struct shmbus_mpmc_stats *out)
{
	const memory_order rlx = memory_order_relaxed; /* statistics: values, no order */
	uint32_t i;
	int64_t occ;

	memset(out, 0, sizeof(*out));
	out->slots = h->nslots;
	out->slot_size = h->slot_size;
	out->liveness_ms = h->liveness_ms;
	out->participants_max = h->nparts;
	for (i = 0; i < h->nparts; i++) {
		struct mpmc_pstats *p = &h->pstats[i];

		if (atomic_load_explicit(&h->parts[i].ident, rlx) != SHMBUS_IDENT_NONE) {
			uint32_t role = atomic_load_explicit(&h->parts[i].role, rlx);

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
		out->lost += mpmc_entry_lost(h, i);
		out->recovered += atomic_load_explicit(&p->reclaims, rlx);
	}
	out->head = frontier(h, &h->ctl->head.value, true);
	out->tail = frontier(h, &h->ctl->tail.value, false);
	occ = (int64_t)(out->tail - out->head);
	out->occupancy = occ < 0 ? 0 : occ > (int64_t)h->nslots ? h->nslots : (uint64_t)occ;
	return 0;
}

/* Move @hint over positions whose slot shows them claimed; at most a lap. */
static void hint_settle(struct shmbus_mpmc *h, _Atomic uint64_t *hint, bool consumers)
{
	uint32_t i;

	for (i = 0; i < h->nslots; i++) {
		/* Acquire: as A1/A3 in mpmc_ring.c. */
		uint64_t pos = atomic_load_explicit(hint, memory_order_acquire);
		uint64_t w = atomic_load_explicit(&mpmc_slot_at(h, pos)->word,
						  memory_order_acquire);
		int64_t d = mpmc_lap_diff(mpmc_word_lap(w), mpmc_pos_lap(h, pos));
		bool past = consumers ? mpmc_passed_by_consumers(d, w) :
					mpmc_passed_by_producers(d, w);
		uint64_t expected = pos;

		if (!past)
			return;
		/* C1 in mpmc_ring.c. */
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
		/* Acquire: as A2 in mpmc_ring.c. */
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
		rc = mpmc_settle_entry(h, i);
		if (rc < 0 && rc != -EBUSY)
			return rc;
	}
	/* Participants that died asleep: they count as waiters no more. */
	rc = mpmc_sweep_sleepers(h);
	if (rc < 0)
		return rc;
	hint_settle(h, &h->ctl->tail.value, false);
	hint_settle(h, &h->ctl->head.value, true);
	return n;
}
