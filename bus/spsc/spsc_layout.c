/*
 * spsc_layout.c - how big an SPSC ring block is and how an empty one is
 * laid out and published (the layout itself: spsc_internal.h).
 *
 * Invariant: a block reads as ready only once every config field and the
 * manager ident are in place (header_publish() stores `ready` last, with
 * release order); positions, counters and wait queues of a new ring are 0,
 * as the zeroed block gives them.
 */
#include <errno.h>

#include "spsc_internal.h"

bool spsc_capacity_ok(uint64_t cap)
{
	return cap >= SHMBUS_SPSC_CAPACITY_MIN && cap <= SHMBUS_SPSC_CAPACITY_MAX &&
	       (cap & (cap - 1)) == 0;
}

int spsc_block_size(size_t capacity, uint64_t *size)
{
	if (!spsc_capacity_ok(capacity))
		return -EINVAL;
	*size = SPSC_DATA_OFF + (uint64_t)capacity;
	return 0;
}

int spsc_block_build(void *mem, uint64_t size, size_t capacity, shmbus_ident_t manager)
{
	struct layout_desc desc = {
		.kind = SHMBUS_KIND_SPSC,
		.version = SHMBUS_SPSC_VERSION,
		.participants_off = offsetof(struct spsc_shared, part),
		.participants_max = 2,
	};
	struct spsc_shared *sh = mem;

	if (spsc_block_size(capacity, &desc.total_size) || size != desc.total_size)
		return -EINVAL;
	/* The block starts zeroed: positions, counters and wait queues are 0. */
	header_init(&sh->hdr, &desc);
	sh->capacity = capacity;
	sh->data_off = SPSC_DATA_OFF;
	/* Relaxed: published by the release store of `ready` just below, so
	 * no reader ever sees a ready ring without its manager. */
	atomic_store_explicit(&sh->hdr.manager, manager, memory_order_relaxed);
	header_publish(&sh->hdr);
	return 0;
}
