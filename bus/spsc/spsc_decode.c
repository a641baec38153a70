/*
 * spsc_decode.c - the one reader of an SPSC ring's state: the config check
 * that every open and every snapshot makes, and the decoding of positions,
 * counters, waiters, roles and end of stream that shmbus_spsc_stats() (on
 * the live mapping, spsc.c) and `shmbus inspect` (on a pread() copy,
 * spsc_inspect.c) report.
 *
 * Invariant: no value read here indexes, sizes or bounds anything before it
 * is checked, and what was checked is what is used (each config field is
 * read once, into a local: a peer may rewrite the block at any time).  A
 * decoded state is a report only: it orders nothing and changes nothing.
 */
#include <stdint.h>

#include "proc_internal.h"
#include "spsc_internal.h"

int spsc_decode_config(const struct spsc_shared *sh, uint64_t total_size, uint64_t *cap)
{
	uint64_t c, off;
	uint32_t poff, pmax;

	if (total_size < sizeof(*sh))
		return -SHMBUS_ECORRUPT;
	c = sh->capacity;
	off = sh->data_off;
	poff = sh->hdr.participants_off;
	pmax = sh->hdr.participants_max;
	/* Compiler barrier: the fields above are never re-loaded from the
	 * block. */
	atomic_signal_fence(memory_order_seq_cst);
	if (!spsc_capacity_ok(c) || off != SPSC_DATA_OFF || off + c != total_size)
		return -SHMBUS_ECORRUPT;
	if (poff != offsetof(struct spsc_shared, part) || pmax != 2)
		return -SHMBUS_ECORRUPT;
	*cap = c;
	return 0;
}

/* Relaxed throughout: a report orders nothing, and the sides' own acquire
 * and release pairs do not depend on it.  The cast drops const only for
 * C11's atomic_load, which takes a non-const pointer; nothing is stored. */
#define LOAD(field) atomic_load_explicit(&((struct spsc_shared *)(uintptr_t)sh)->field, \
					 memory_order_relaxed)

void spsc_decode_state(const struct spsc_shared *sh, uint64_t cap, struct spsc_state *out)
{
	*out = (struct spsc_state){ .capacity = cap };
	out->head = LOAD(prod.head);
	out->tail = LOAD(cons.tail);
	out->msgs_in = LOAD(prod.msgs_in);
	out->bytes_in = LOAD(prod.bytes_in);
	out->full_waits = LOAD(prod.full_waits);
	out->msgs_out = LOAD(cons.msgs_out);
	out->bytes_out = LOAD(cons.bytes_out);
	out->empty_waits = LOAD(cons.empty_waits);
	out->wakes = LOAD(prod.wakes) + LOAD(cons.wakes);
	out->waiting_producers = waitq_word_waiters(LOAD(space_wq.word));
	out->waiting_consumers = waitq_word_waiters(LOAD(data_wq.word));
	out->producer = LOAD(part[0].ident);
	out->consumer = LOAD(part[1].ident);
	/* Another pid namespace's process is never called dead. */
	out->producer_alive = proc_judge(out->producer, LOAD(part[0].ns)) != PROC_DEAD;
	out->consumer_alive = proc_judge(out->consumer, LOAD(part[1].ns)) != PROC_DEAD;
	out->closed = LOAD(prod.closed) != 0;
	out->corrupt = LOAD(corrupt) != 0 || !spsc_positions_ok(out->head, out->tail, cap);
	/* Occupancy only from positions that passed: garbage shows as 0. */
	if (!out->corrupt) {
		out->used = out->head - out->tail;
		out->free = cap - out->used;
	}
}
