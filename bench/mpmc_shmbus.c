/*
 * mpmc_shmbus.c - our MPMC ring, through its public API (<shmbus/mpmc.h>),
 * as two transports:
 *   shmbus-mpmc      push/pop with no timeout: the library's own wait
 *                    (spin, yield, then futex sleep) - what an application
 *                    calls;
 *   shmbus-mpmc-try  push_try/pop_try, waiting with mpmc_bench_wait() on
 *                    -EAGAIN exactly as the ck_ring peer does: the two rings
 *                    compared with the same wait.
 * Both copy each message in and out of a slot exactly as the other
 * transports do.  The parent creates the ring (slots of msg_size bytes)
 * before each repeat; each child opens its own handle (handles do not
 * survive fork) and waits at a barrier until all have, so registering is
 * never timed.
 */
#include <unistd.h>

#include <shmbus/block.h>
#include <shmbus/mpmc.h>

#include "bench_mpmc.h"

static int try_send(void *link, const void *buf, size_t len)
{
	unsigned spins = 0;
	int rc;

	while ((rc = shmbus_mpmc_push_try(link, buf, len)) == -EAGAIN)
		mpmc_bench_wait(&spins);
	return rc;
}

static int try_recv(void *link, void *buf, size_t len)
{
	unsigned spins = 0;
	int rc;

	while ((rc = shmbus_mpmc_pop_try(link, buf, len)) == -EAGAIN)
		mpmc_bench_wait(&spins);
	if (rc < 0)
		return rc;
	return (size_t)rc == len ? 0 : -EPROTO;
}

static int prepare(struct mpmc_bench_cfg *c)
{
	struct shmbus_mpmc_params p = {
		.slots = c->slots,
		.slot_size = (uint32_t)c->msg_size,
		.participants = c->producers + c->consumers,
	};
	int rc;

	if (c->msg_size > SHMBUS_MPMC_SLOT_SIZE_MAX)
		return -EMSGSIZE;
	snprintf(c->name, sizeof(c->name), "shmbus_bench_mpmc_%d", (int)getpid());
	rc = shmbus_mpmc_create(c->name, &p);
	if (rc == -EEXIST) { /* left by a killed run of ours: same pid, so ours */
		if (shmbus_block_unlink(c->name) == 0)
			rc = shmbus_mpmc_create(c->name, &p);
	}
	if (rc)
		fprintf(stderr, "shmbus-bench: %s: %s\n", c->name, shmbus_strerror(rc));
	return rc;
}

static void cleanup(struct mpmc_bench_cfg *c)
{
	if (shmbus_block_unlink(c->name)) { /* nothing to undo */ }
}

static int role(struct bench_proc *p, void *arg)
{
	const struct mpmc_bench_cfg *c = arg;
	bool producer = p->index < c->producers;
	struct shmbus_mpmc *h;
	int rc;

	rc = shmbus_mpmc_open(&h, c->name, producer ? SHMBUS_MPMC_PRODUCER :
							SHMBUS_MPMC_CONSUMER);
	if (rc)
		return rc;
	shmbus_mpmc_set_yields(h, c->spin);
	bench_proc_sync(p);
	if (c->blocking)
		rc = mpmc_bench_roles(p, c, h, mpmc_bench_push, mpmc_bench_pop);
	else
		rc = mpmc_bench_roles(p, c, h, try_send, try_recv);
	shmbus_mpmc_close(h);
	return rc;
}

const struct mpmc_bench_transport mpmc_tp_shmbus = {
	.name = "shmbus-mpmc",
	.prepare = prepare,
	.cleanup = cleanup,
	.role = role,
};

const struct mpmc_bench_transport mpmc_tp_shmbus_try = {
	.name = "shmbus-mpmc-try",
	.prepare = prepare,
	.cleanup = cleanup,
	.role = role,
};
