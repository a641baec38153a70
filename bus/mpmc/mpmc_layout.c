/*
 * mpmc_layout.c - the geometry of an mpmc ring block: where everything goes
 * for (slots, slot_size, participants), the check an attacher makes of a
 * stored geometry, and creation (lay out an empty ring, then publish it).
 *
 * Invariant: every offset and size in a block is a function of those three
 * numbers (mpmc_layout()); a stored geometry is trusted only once it equals
 * that function's result for its own numbers and matches the header, so a
 * corrupt geometry is refused before it bounds any read or loop.
 */
#include <errno.h>
#include <stdint.h>

#include "mpmc_internal.h"

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
