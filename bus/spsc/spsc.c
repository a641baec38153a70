/*
 * spsc.c - SPSC ring blocks: create, open a role, close, stats.
 *
 * Invariant: a handle exists only for a block whose header and config passed
 * the checks below, and whose role entry the handle's process owns; its
 * cached positions satisfy 0 <= head - tail <= capacity.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spsc_internal.h"

int spsc_corrupt(struct shmbus_spsc *q)
{
	q->broken = true;
	q->gate = 0;
	/* The fast paths of commit and release test these alone. */
	q->res_n = 0;
	q->peek_ok = false;
	q->burst_ok = false;
	/* Relaxed: an informational mark for inspection and for the other
	 * side's slow paths; nothing is published through it. */
	atomic_store_explicit(&q->sh->corrupt, 1, memory_order_relaxed);
	return -SHMBUS_ECORRUPT;
}

static bool capacity_ok(uint64_t cap)
{
	return cap >= SHMBUS_SPSC_CAPACITY_MIN && cap <= SHMBUS_SPSC_CAPACITY_MAX &&
	       (cap & (cap - 1)) == 0;
}

int spsc_block_size(size_t capacity, uint64_t *size)
{
	if (!capacity_ok(capacity))
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

/* block_create_built()'s callback: an unmanaged ring of *@arg bytes. */
static int spsc_build_plain(void *mem, uint64_t size, const void *arg)
{
	return spsc_block_build(mem, size, *(const size_t *)arg, SHMBUS_IDENT_NONE);
}

int shmbus_spsc_create(const char *name, size_t capacity, mode_t mode)
{
	uint64_t size;

	if (!name || spsc_block_size(capacity, &size))
		return -EINVAL;
	return block_create_built(name, size, mode, spsc_build_plain, &capacity);
}

/*
 * Check the config of a block whose common header checked out, and give the
 * capacity.  The block is shared and a peer may rewrite it at any time, so
 * each field is read once, into a local, and what was checked is what the
 * handle uses (a second read could see a larger capacity than the block).
 */
static int config_check(const struct spsc_shared *sh, const struct shmbus_block_info *info,
			size_t mapped, uint64_t *cap)
{
	const struct shm_header *h = &sh->hdr;
	uint64_t c = sh->capacity, off = sh->data_off;

	/* Compiler barrier: c and off are never re-loaded from the block. */
	atomic_signal_fence(memory_order_seq_cst);
	if (info->total_size < sizeof(*sh) || mapped < info->total_size)
		return -SHMBUS_ECORRUPT;
	if (!capacity_ok(c) || off != SPSC_DATA_OFF || off + c != info->total_size)
		return -SHMBUS_ECORRUPT;
	if (h->participants_off != offsetof(struct spsc_shared, part) ||
	    h->participants_max != 2)
		return -SHMBUS_ECORRUPT;
	*cap = c;
	return 0;
}

/* Positions loaded at open: own (last stored by this role's previous owner)
 * and the other side's.  Acquire on both: the claim CAS already ordered a
 * clean previous owner's writes; for the other side's position this pairs
 * with its release stores as in the hot paths. */
static int load_positions(struct shmbus_spsc *q)
{
	uint64_t head = atomic_load_explicit(&q->sh->prod.head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&q->sh->cons.tail, memory_order_acquire);

	if ((head | tail) & 7 || head - tail > q->cap)
		return -SHMBUS_ECORRUPT;
	q->pos = q->role == SHMBUS_SPSC_PRODUCER ? head : tail;
	q->other = q->role == SHMBUS_SPSC_PRODUCER ? tail : head;
	return 0;
}

int shmbus_spsc_open(struct shmbus_spsc **out, const char *name, enum shmbus_spsc_role role)
{
	struct shmbus_block_info info;
	struct shmbus_spsc *q = NULL;
	struct shmbus_block *b;
	struct waitq *own_wq;
	uint64_t cap;
	void *data;
	int rc;

	if (!out || (role != SHMBUS_SPSC_PRODUCER && role != SHMBUS_SPSC_CONSUMER))
		return -EINVAL;
	*out = NULL;
	rc = block_attach_layout(&b, name, 0, SHMBUS_KIND_SPSC, SHMBUS_SPSC_VERSION, &info);
	if (rc)
		return rc;
	rc = shmbus_block_data(b, &data);
	if (rc)
		goto fail_block;
	rc = config_check(data, &info, shmbus_block_size(b), &cap);
	if (rc)
		goto fail_block;
	q = calloc(1, sizeof(*q));
	if (!q) {
		rc = -ENOMEM;
		goto fail_block;
	}
	q->block = b;
	q->sh = data;
	q->ring = (unsigned char *)data + SPSC_DATA_OFF;
	q->cap = cap;
	q->mask = q->cap - 1;
	q->max_msg = q->cap - SPSC_HDR;
	q->role = role;
	q->gate = role;
	q->spin = SHMBUS_SPSC_SPIN_DEFAULT;
	q->me = shmbus_proc_self();
	if (q->me == SHMBUS_IDENT_NONE) {
		rc = -ESRCH; /* no /proc: roles cannot be recorded */
		goto fail_block;
	}
	/* Relaxed: informational; a ring marked corrupt stays unusable. */
	if (atomic_load_explicit(&q->sh->corrupt, memory_order_relaxed)) {
		rc = -SHMBUS_ECORRUPT;
		goto fail_block;
	}
	rc = part_claim(&q->sh->part[role - 1], role, q->me, NULL);
	if (rc)
		goto fail_block;
	/*
	 * Only this role ever sleeps on its own queue and we now hold the
	 * role, so nobody sleeps there: a count left behind by an owner killed
	 * in its sleep is stale.  A wake clears it (waitq_internal.h), so the
	 * other side's first wake does not have to.
	 */
	own_wq = role == SHMBUS_SPSC_PRODUCER ? &q->sh->space_wq : &q->sh->data_wq;
	waitq_wake(own_wq);
	rc = load_positions(q);
	if (rc) {
		spsc_corrupt(q);
		part_leave(&q->sh->part[role - 1], q->me);
		goto fail_block;
	}
	/* The other side's queue and flag: the ones our commits (releases)
	 * wake it through. */
	if (role == SHMBUS_SPSC_PRODUCER) {
		q->wake_wq = &q->sh->data_wq;
		q->wake_armed = &q->sh->data_armed;
		q->wakes = &q->sh->prod.wakes;
	} else {
		q->wake_wq = &q->sh->space_wq;
		q->wake_armed = &q->sh->space_armed;
		q->wakes = &q->sh->cons.wakes;
	}
	q->sliced = !spsc_asym_register();
	spsc_set_asym(q, !q->sliced);
	/* The one we replace may have died inside a wake of the other side,
	 * after taking it out of the count and before waking it: rouse it
	 * (it re-checks, and sleeps again if it must). */
	waitq_rouse(q->wake_wq);
	*out = q;
	return 0;

fail_block:
	free(q);
	shmbus_block_close(b);
	return rc;
}

int shmbus_spsc_close(struct shmbus_spsc *q)
{
	if (!q)
		return 0;
	part_leave(&q->sh->part[q->role - 1], q->me);
	shmbus_block_close(q->block);
	free(q);
	return 0;
}

size_t shmbus_spsc_capacity(const struct shmbus_spsc *q)
{
	return (size_t)q->cap;
}

size_t shmbus_spsc_max_msg(const struct shmbus_spsc *q)
{
	return (size_t)q->max_msg;
}

void shmbus_spsc_set_spin(struct shmbus_spsc *q, unsigned spins)
{
	q->spin = spins;
}

int shmbus_spsc_stats(const struct shmbus_spsc *q, struct shmbus_spsc_stats *out)
{
	const struct spsc_shared *sh;
	struct spsc_shared *w;

	if (!q || !out)
		return -EINVAL;
	sh = q->sh;
	w = (struct spsc_shared *)(uintptr_t)sh;
	memset(out, 0, sizeof(*out));
	out->capacity = q->cap;
	out->max_msg = q->max_msg;
	/* Relaxed throughout: a statistics snapshot orders nothing. */
	out->head = atomic_load_explicit(&w->prod.head, memory_order_relaxed);
	out->tail = atomic_load_explicit(&w->cons.tail, memory_order_relaxed);
	out->used = out->head - out->tail;
	out->msgs_in = atomic_load_explicit(&w->prod.msgs_in, memory_order_relaxed);
	out->bytes_in = atomic_load_explicit(&w->prod.bytes_in, memory_order_relaxed);
	out->full_waits = atomic_load_explicit(&w->prod.full_waits, memory_order_relaxed);
	out->msgs_out = atomic_load_explicit(&w->cons.msgs_out, memory_order_relaxed);
	out->bytes_out = atomic_load_explicit(&w->cons.bytes_out, memory_order_relaxed);
	out->empty_waits = atomic_load_explicit(&w->cons.empty_waits, memory_order_relaxed);
	out->wakes = atomic_load_explicit(&w->prod.wakes, memory_order_relaxed) +
		     atomic_load_explicit(&w->cons.wakes, memory_order_relaxed);
	out->producer = atomic_load_explicit(&w->part[0].ident, memory_order_relaxed);
	out->consumer = atomic_load_explicit(&w->part[1].ident, memory_order_relaxed);
	out->producer_alive = shmbus_proc_alive(out->producer);
	out->consumer_alive = shmbus_proc_alive(out->consumer);
	out->corrupt = q->broken || atomic_load_explicit(&w->corrupt, memory_order_relaxed) ||
		       (out->head | out->tail) & 7 || out->used > q->cap;
	return 0;
}
