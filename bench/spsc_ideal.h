/*
 * spsc_ideal.h - the yardstick ring of transport "ideal" (spsc_ideal.c, which
 * says what it is and why): its layout and its send and receive, shared with
 * bench/icount/spsc_icount.c so that the instructions counted there are the
 * yardstick's own.
 */
#ifndef SHMBUS_BENCH_SPSC_IDEAL_H
#define SHMBUS_BENCH_SPSC_IDEAL_H

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <shmbus/relax.h>

struct ideal_ring {
	/* Producer-written: the next position to fill. */
	alignas(128) _Atomic uint64_t head;
	/* Consumer-written: the next position to read. */
	alignas(128) _Atomic uint64_t tail;
	/* The slots follow, from the next 128-byte boundary. */
	alignas(128) unsigned char slots[];
};

static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "cross-process atomics must be lock-free");
static_assert(offsetof(struct ideal_ring, tail) == 128, "head and tail on separate lines");
static_assert(sizeof(struct ideal_ring) == 256, "slots start at 256");

/* One side's private view: never in shared memory. */
struct ideal_end {
	struct ideal_ring *r;
	uint64_t pos;     /* our index (head for the producer, tail for the consumer) */
	uint64_t cached;  /* last value read of the other side's index */
	uint64_t nslots;  /* power of two */
	size_t slot;      /* bytes per slot */
};

static inline size_t ideal_slot_size(size_t msg_size)
{
	return (msg_size + 7) & ~(size_t)7;
}

static inline int ideal_send(void *link, const void *buf, size_t len)
{
	struct ideal_end *e = link;

	if (e->pos - e->cached == e->nslots) {
		/* A1: acquire, pairs with R2 in ideal_recv(): the consumer is
		 * done reading the slots it has passed before we overwrite. */
		while ((e->cached = atomic_load_explicit(&e->r->tail, memory_order_acquire)) +
			       e->nslots == e->pos)
			shmbus_cpu_relax();
	}
	memcpy(e->r->slots + (e->pos & (e->nslots - 1)) * e->slot, buf, len);
	e->pos++;
	/* R1: release, pairs with A2: the slot's bytes are visible before
	 * the consumer can see the new head. */
	atomic_store_explicit(&e->r->head, e->pos, memory_order_release);
	return 0;
}

static inline int ideal_recv(void *link, void *buf, size_t len)
{
	struct ideal_end *e = link;

	if (e->pos == e->cached) {
		/* A2: acquire, pairs with R1. */
		while ((e->cached = atomic_load_explicit(&e->r->head, memory_order_acquire)) ==
		       e->pos)
			shmbus_cpu_relax();
	}
	memcpy(buf, e->r->slots + (e->pos & (e->nslots - 1)) * e->slot, len);
	e->pos++;
	/* R2: release, pairs with A1: our reads of the slot are done before
	 * the producer may reuse it. */
	atomic_store_explicit(&e->r->tail, e->pos, memory_order_release);
	return 0;
}

#endif
