/*
 * spsc.c - the SPSC handle's life: create a ring block, open a role in it,
 * close, the accessors and stats.  The top of the component: it puts
 * together the layout, the decoder, the takeover and the wait set-up, and
 * nothing in the component calls it.
 *
 * Invariant: a handle exists only for a block whose header and config passed
 * spsc_decode_config(), and whose role entry the handle's process owns; its
 * cached positions satisfy spsc_positions_ok().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spsc_internal.h"

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

int shmbus_spsc_open(struct shmbus_spsc **out, const char *name, enum shmbus_spsc_role role)
{
	struct shmbus_block_info info;
	struct shmbus_spsc *q = NULL;
	struct shmbus_block *b;
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
	/* The hot paths index the ring up to its capacity: all of it must be
	 * mapped. */
	if (shmbus_block_size(b) < info.total_size) {
		rc = -SHMBUS_ECORRUPT;
		goto fail_block;
	}
	rc = spsc_decode_config(data, info.total_size, &cap);
	if (rc)
		goto fail_block;
	q = calloc(1, sizeof(*q));
	if (!q) {
		rc = -ENOMEM;
		goto fail_block;
	}
	q->block = b;
	q->lost = block_lost_word(b);
	q->sh = data;
	q->ring = (unsigned char *)data + SPSC_DATA_OFF;
	q->cap = cap;
	q->mask = q->cap - 1;
	q->max_msg = q->cap - SPSC_HDR;
	q->role = role;
	q->gate = role;
	q->tune = spsc_tuning_default;
	q->me = shmbus_proc_self();
	if (q->me == SHMBUS_IDENT_NONE) {
		rc = -ESRCH; /* no /proc: roles cannot be recorded */
		goto fail_block;
	}
	rc = spsc_takeover(q);
	if (rc)
		goto fail_block;
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
	spsc_takeover_rouse(q);
	*out = q;
	return 0;

fail_block:
	free(q);
	shmbus_block_close(b);
	return rc;
}

void shmbus_spsc_close(struct shmbus_spsc *q)
{
	if (!q)
		return;
	part_leave(&q->sh->part[q->role - 1], q->me);
	block_touch(q->block);
	shmbus_block_close(q->block);
	free(q);
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
	q->tune.spin = spins;
}

int shmbus_spsc_stats(const struct shmbus_spsc *q, struct shmbus_spsc_stats *out)
{
	struct spsc_state st;

	if (!q || !out)
		return -EINVAL;
	/* The capacity checked at open, not the block's word again. */
	spsc_decode_state(q->sh, q->cap, &st);
	memset(out, 0, sizeof(*out));
	out->capacity = q->cap;
	out->max_msg = q->max_msg;
	out->head = st.head;
	out->tail = st.tail;
	/* head - tail as documented, even when corrupt (inspect shows 0). */
	out->used = st.head - st.tail;
	out->msgs_in = st.msgs_in;
	out->bytes_in = st.bytes_in;
	out->full_waits = st.full_waits;
	out->msgs_out = st.msgs_out;
	out->bytes_out = st.bytes_out;
	out->empty_waits = st.empty_waits;
	out->wakes = st.wakes;
	out->producer = st.producer;
	out->consumer = st.consumer;
	out->producer_alive = st.producer_alive;
	out->consumer_alive = st.consumer_alive;
	out->corrupt = q->broken || st.corrupt;
	out->closed = st.closed;
	return 0;
}
