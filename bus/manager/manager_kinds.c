/*
 * manager_kinds.c - rings and slot tables created through a manager:
 * shmbus_manager_create_spsc(), _create_mpmc(), _create_slots().
 *
 * Invariant: the name never exists unlisted.  Each call sizes the structure
 * with the kind's own planning function, takes a zeroed block of exactly that
 * size from shmbus_manager_create_block() (which lists the object before it
 * links the name), and only then lays the structure out and publishes it
 * with the kind's own build function -- the very code the kind's public
 * create runs, so a managed ring is byte for byte an ordinary one.  A
 * SIGKILL at any instruction leaves either nothing (before the link) or a
 * listed block, half-built or complete, that the guardian unlinks.
 *
 * Rings get the guardian's identity in their header's `manager` field before
 * `ready` is stored, so no reader ever sees a published ring that does not
 * name its manager.  That is why these calls do not go through
 * shmbus_manager_track() afterwards: the object is the one create_block just
 * listed, and its header needs no claim (nobody else could have named a
 * manager in it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "manager_internal.h"
#include "mpmc/mpmc_internal.h"
#include "slots/slots_internal.h"
#include "spsc/spsc_internal.h"

/*
 * Undo a create_block whose layout failed: the block is closed and the name
 * unlinked if it still holds our object (if a concurrent shutdown already
 * did, there is nothing left to do).
 */
static void drop(struct shmbus_manager *m, struct shmbus_block *b)
{
	char name[SHMBUS_NAME_MAX + 1];

	snprintf(name, sizeof(name), "%s", shmbus_block_name(b));
	shmbus_block_close(b);
	if (shmbus_manager_unlink(m, name)) { /* gone already (shutdown) */ }
}

/*
 * A listed, zeroed block @name of @size bytes for a ring: 0 with the block
 * in *@bp and its data in *@memp, or a negative code (nothing made).
 */
static int ring_block(struct shmbus_manager *m, const char *name, uint64_t size, mode_t mode,
		      struct shmbus_block **bp, void **memp)
{
	int rc = shmbus_manager_create_block(m, name, (size_t)size, mode, bp);

	if (rc)
		return rc;
	rc = shmbus_block_data(*bp, memp);
	if (rc)
		drop(m, *bp);
	return rc;
}

/* Close the block of a ring whose build returned @rc, or drop it if that
 * failed.  Returns @rc. */
static int ring_done(struct shmbus_manager *m, struct shmbus_block *b, int rc)
{
	if (rc)
		drop(m, b);
	else
		shmbus_block_close(b);
	return rc;
}

int shmbus_manager_create_spsc(struct shmbus_manager *m, const char *name, size_t capacity,
			       mode_t mode)
{
	struct shmbus_block *b;
	uint64_t size;
	void *mem;
	int rc;

	if (!m || !name || spsc_block_size(capacity, &size))
		return -EINVAL;
	rc = ring_block(m, name, size, mode, &b, &mem);
	if (rc)
		return rc;
	return ring_done(m, b,
			 spsc_block_build(mem, shmbus_block_size(b), capacity,
					  shmbus_manager_guardian(m)));
}

int shmbus_manager_create_mpmc(struct shmbus_manager *m, const char *name,
			       const struct shmbus_mpmc_params *params)
{
	struct shmbus_block *b;
	uint64_t size;
	void *mem;
	int rc;

	if (!m || !name || !params)
		return -EINVAL;
	rc = mpmc_block_size(params, &size);
	if (rc)
		return rc;
	rc = ring_block(m, name, size, params->mode, &b, &mem);
	if (rc)
		return rc;
	return ring_done(m, b,
			 mpmc_block_build(mem, shmbus_block_size(b), params,
					  shmbus_manager_guardian(m)));
}

int shmbus_manager_create_slots(struct shmbus_manager *m, struct shmbus_slots **out,
				const char *name, const struct shmbus_slot_value *values,
				size_t n, mode_t mode)
{
	struct shmbus_slots *sl = NULL;
	struct shmbus_block *b;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!m)
		return -EINVAL;
	rc = slots_plan(&sl, values, n);
	if (rc)
		return rc;
	rc = shmbus_manager_create_block(m, name, (size_t)sl->lay.trailer_end, mode, &b);
	if (rc)
		goto fail;
	/* No header to mark: the list in the manager block is the whole of
	 * the association (see "State" in manager.h). */
	rc = slots_build(sl, b, values);
	if (rc) {
		drop(m, b);
		goto fail;
	}
	*out = sl;
	return 0;

fail:
	shmbus_slots_close(sl);
	return rc;
}
