/*
 * spsc_mpmc.c - our MPMC ring with one producer and one consumer, as a
 * transport of the message workloads (spsc-throughput, spsc-latency):
 *   shmbus-mpmc  push/pop with no timeout (the library's own wait: pause,
 *                yield, futex), a ring of ring_bytes / msg_size slots.
 * In spsc-latency it shows what the MPMC ring's waits cost a ping-pong next
 * to shmbus-spsc-blocking, the SPSC ring's blocking calls.  Rings are made
 * by the parent; each child opens its ends before the warm-up.
 */
#include <shmbus/block.h>

#include "bench_mpmc.h"
#include "bench_spsc.h"

static int mpmc_prepare(struct spsc_cfg *c)
{
	struct shmbus_mpmc_params p = {
		.slots = mpmc_bench_slots(c->ring_bytes / c->msg_size),
		.slot_size = (uint32_t)c->msg_size,
		.participants = 2,
	};
	unsigned i;
	int rc = 0;

	if (c->msg_size > SHMBUS_MPMC_SLOT_SIZE_MAX)
		return -EMSGSIZE;
	for (i = 0; i < (c->pingpong ? 2u : 1u) && rc == 0; i++)
		rc = shmbus_mpmc_create(c->name[i], &p);
	if (rc < 0) {
		fprintf(stderr, "shmbus-bench: %s: %s\n", c->name[i - 1], shmbus_strerror(rc));
		spsc_unlink_rings(c);
	}
	return rc;
}

/* Open @name as @role into *@h, or leave *@h NULL if @name is NULL. */
static int open_end(struct shmbus_mpmc **h, const char *name, enum shmbus_mpmc_role role)
{
	int rc;

	*h = NULL;
	if (!name)
		return 0;
	rc = shmbus_mpmc_open(h, name, role);
	if (rc < 0)
		fprintf(stderr, "shmbus-bench: open %s: %s\n", name, shmbus_strerror(rc));
	return rc;
}

static int mpmc_roles(struct bench_proc *p, void *arg)
{
	const struct spsc_cfg *c = arg;
	struct shmbus_mpmc *tx = NULL, *rx = NULL;
	const char *txname, *rxname;
	int rc;

	spsc_ring_ends(p->index, c, &txname, &rxname);
	rc = open_end(&tx, txname, SHMBUS_MPMC_PRODUCER);
	if (rc == 0)
		rc = open_end(&rx, rxname, SHMBUS_MPMC_CONSUMER);
	if (rc == 0 && c->pingpong)
		rc = spsc_pingpong_roles(p, c, tx, rx, mpmc_bench_push, mpmc_bench_pop);
	else if (rc == 0)
		rc = spsc_stream_roles(p, c, tx, rx, mpmc_bench_push, mpmc_bench_pop);
	shmbus_mpmc_close(tx);
	shmbus_mpmc_close(rx);
	return rc;
}

const struct spsc_transport spsc_tp_mpmc = {
	.name = "shmbus-mpmc",
	.ring = true,
	.prepare = mpmc_prepare,
	.cleanup = spsc_unlink_rings,
	.stream = mpmc_roles,
	.pingpong = mpmc_roles,
};
