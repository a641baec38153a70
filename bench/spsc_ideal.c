/*
 * spsc_ideal.c - transport "ideal": the yardstick.  A minimal fixed-slot SPSC
 * ring in a shared mapping, written only to measure against: the upper bound
 * of what a ring between two processes can do on this machine.
 *
 * It is the textbook Lamport ring with the two well-known refinements
 * (as in e.g. Rigtorp's SPSCQueue, DPDK's rte_ring, folly's
 * ProducerConsumerQueue): free-running head/tail, each written by one side
 * only, on their own 128-byte regions, with acquire/release ordering; and
 * each side caches the other side's index privately, so it reads the shared
 * one (a cache miss) only when the cached value says full/empty.  Slots are
 * fixed-size (msg_size rounded up to 8), no headers, no variable lengths, no
 * wrap records, no validation, no roles, no waiting other than spinning:
 * everything shmbus must do and a yardstick need not.  The loops are inlined
 * (bench_spsc.h), so it pays no call either.
 */
#include <unistd.h>

#include "bench_spsc.h"
#include "spsc_ideal.h"

/* Slots per ring: ring_bytes / slot rounded down to a power of two, >= 2. */
static uint64_t ideal_nslots(const struct spsc_cfg *c)
{
	uint64_t want = c->ring_bytes / ideal_slot_size(c->msg_size), n = 2;

	while (n * 2 <= want)
		n *= 2;
	return n;
}

static size_t ideal_ring_bytes(const struct spsc_cfg *c)
{
	return sizeof(struct ideal_ring) + ideal_nslots(c) * ideal_slot_size(c->msg_size);
}

static int ideal_prepare(struct spsc_cfg *c)
{
	c->shared_len = ideal_ring_bytes(c) * (c->pingpong ? 2 : 1);
	/* Zeroed (head = tail = 0) and faulted in by the parent; each child
	 * still faults its own page tables in during the warm-up. */
	c->shared = bench_shared_alloc(c->shared_len);
	return c->shared ? 0 : -ENOMEM;
}

static void ideal_cleanup(struct spsc_cfg *c)
{
	bench_shared_free(c->shared, c->shared_len);
	c->shared = NULL;
}

static void ideal_end_init(struct ideal_end *e, const struct spsc_cfg *c, unsigned which)
{
	e->r = (struct ideal_ring *)((unsigned char *)c->shared + which * ideal_ring_bytes(c));
	e->pos = 0;
	e->cached = 0;
	e->nslots = ideal_nslots(c);
	e->slot = ideal_slot_size(c->msg_size);
}

static int ideal_stream(struct bench_proc *p, void *arg)
{
	const struct spsc_cfg *c = arg;
	struct ideal_end e;

	ideal_end_init(&e, c, 0);
	return spsc_stream_roles(p, c, &e, &e, ideal_send, ideal_recv);
}

static int ideal_pingpong(struct bench_proc *p, void *arg)
{
	const struct spsc_cfg *c = arg;
	struct ideal_end tx, rx;

	/* Ring 0 carries pings (0 -> 1), ring 1 the echoes (1 -> 0). */
	ideal_end_init(&tx, c, p->index == 0 ? 0 : 1);
	ideal_end_init(&rx, c, p->index == 0 ? 1 : 0);
	return spsc_pingpong_roles(p, c, &tx, &rx, ideal_send, ideal_recv);
}

const struct spsc_transport spsc_tp_ideal = {
	.name = "ideal",
	.ring = true,
	.prepare = ideal_prepare,
	.cleanup = ideal_cleanup,
	.stream = ideal_stream,
	.pingpong = ideal_pingpong,
};
