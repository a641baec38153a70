/*
 * bcast_layout.c - how big a broadcast ring block is and how an empty one
 * is laid out and published (the layout itself: bcast_internal.h).
 *
 * Invariant: a block reads as ready only once every config field is in
 * place (header_publish() stores `ready` last, with release order);
 * positions, counters, cursors and wait queues of a new ring are 0, as the
 * zeroed block gives them.
 */
#include <errno.h>

#include "bcast_internal.h"

bool bcast_capacity_ok(uint64_t cap)
{
	return cap >= SHMBUS_BCAST_CAPACITY_MIN && cap <= SHMBUS_BCAST_CAPACITY_MAX &&
	       (cap & (cap - 1)) == 0;
}

static uint64_t round_region(uint64_t x)
{
	return (x + BCAST_REGION - 1) & ~(uint64_t)(BCAST_REGION - 1);
}

int bcast_params_resolve(const struct shmbus_bcast_params *p, struct bcast_cfg *c,
			 uint64_t *size)
{
	uint64_t part_end;

	if (!p || !bcast_capacity_ok(p->capacity))
		return -EINVAL;
	c->capacity = p->capacity;
	c->subs_max = p->subscribers ? p->subscribers : SHMBUS_BCAST_SUBSCRIBERS_DEFAULT;
	c->policy = p->policy ? p->policy : SHMBUS_BCAST_RELIABLE;
	c->liveness_ms = p->liveness_ms ? p->liveness_ms : SHMBUS_BCAST_LIVENESS_DEFAULT_MS;
	if (c->subs_max > SHMBUS_BCAST_SUBSCRIBERS_MAX ||
	    (c->policy != SHMBUS_BCAST_RELIABLE && c->policy != SHMBUS_BCAST_LOSSY) ||
	    c->liveness_ms > SHMBUS_BCAST_LIVENESS_MAX_MS)
		return -EINVAL;
	part_end = BCAST_PART_OFF + (uint64_t)(c->subs_max + 1) * sizeof(struct participant);
	c->subs_off = (uint32_t)round_region(part_end);
	c->data_off = round_region(c->subs_off + (uint64_t)c->subs_max * sizeof(struct bcast_sub));
	*size = c->data_off + c->capacity;
	return 0;
}

int bcast_block_build(void *mem, uint64_t size, const struct bcast_cfg *c)
{
	struct layout_desc desc = {
		.kind = SHMBUS_KIND_BROADCAST,
		.version = SHMBUS_BCAST_VERSION,
		.total_size = size,
		.participants_off = BCAST_PART_OFF,
		.participants_max = c->subs_max + 1,
	};
	struct bcast_shared *sh = mem;

	if (size != c->data_off + c->capacity)
		return -EINVAL;
	header_init(&sh->hdr, &desc);
	sh->cfg.capacity = c->capacity;
	sh->cfg.data_off = c->data_off;
	sh->cfg.subs_off = c->subs_off;
	sh->cfg.subs_max = c->subs_max;
	sh->cfg.policy = c->policy;
	sh->cfg.liveness_ms = c->liveness_ms;
	header_publish(&sh->hdr);
	return 0;
}
