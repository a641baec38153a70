/*
 * spsc_shmbus.c - our ring, through its public API (<shmbus/spsc.h>), as
 * three transports:
 *   shmbus-spsc           reserve_try/commit and peek_try/release, spinning
 *                         on -EAGAIN: the zero-copy path, copying the message
 *                         in and out exactly as the other transports do;
 *   shmbus-spsc-copy      push_try/pop_try (the copying conveniences);
 *   shmbus-spsc-blocking  reserve/peek with an infinite timeout (spin, then
 *                         futex sleep) and commit/release.
 * The parent creates the rings (named, power-of-two capacity of ring_bytes)
 * before the fork; each child opens its role itself (handles do not survive
 * fork) before the warm-up, so opening is never timed.
 */
#include <shmbus/block.h>
#include <shmbus/spsc.h>

#include "bench_spsc.h"

static int zc_send(void *link, const void *buf, size_t len)
{
	struct shmbus_spsc *q = link;
	void *d;
	int rc;

	while ((rc = shmbus_spsc_reserve_try(q, len, &d)) == -EAGAIN)
		shmbus_cpu_relax();
	if (rc < 0)
		return rc;
	memcpy(d, buf, len);
	return shmbus_spsc_commit(q, len);
}

static int zc_recv(void *link, void *buf, size_t len)
{
	struct shmbus_spsc *q = link;
	const void *d;
	size_t n;
	int rc;

	while ((rc = shmbus_spsc_peek_try(q, &d, &n)) == -EAGAIN)
		shmbus_cpu_relax();
	if (rc < 0)
		return rc;
	if (n != len)
		return -EPROTO;
	memcpy(buf, d, len);
	return shmbus_spsc_release(q);
}

static int copy_send(void *link, const void *buf, size_t len)
{
	struct shmbus_spsc *q = link;
	int rc;

	while ((rc = shmbus_spsc_push_try(q, buf, len)) == -EAGAIN)
		shmbus_cpu_relax();
	return rc;
}

static int copy_recv(void *link, void *buf, size_t len)
{
	struct shmbus_spsc *q = link;
	int rc;

	while ((rc = shmbus_spsc_pop_try(q, buf, len)) == -EAGAIN)
		shmbus_cpu_relax();
	if (rc < 0)
		return rc;
	return (size_t)rc == len ? 0 : -EPROTO;
}

static int blocking_send(void *link, const void *buf, size_t len)
{
	struct shmbus_spsc *q = link;
	void *d;
	int rc;

	rc = shmbus_spsc_reserve(q, len, &d, -1);
	if (rc < 0)
		return rc;
	memcpy(d, buf, len);
	return shmbus_spsc_commit(q, len);
}

static int blocking_recv(void *link, void *buf, size_t len)
{
	struct shmbus_spsc *q = link;
	const void *d;
	size_t n;
	int rc;

	rc = shmbus_spsc_peek(q, &d, &n, -1);
	if (rc < 0)
		return rc;
	if (n != len)
		return -EPROTO;
	memcpy(buf, d, len);
	return shmbus_spsc_release(q);
}

static int shmbus_prepare(struct spsc_cfg *c)
{
	int rc = shmbus_spsc_create(c->name[0], c->ring_bytes, 0);

	if (rc < 0)
		return rc;
	if (c->pingpong) {
		rc = shmbus_spsc_create(c->name[1], c->ring_bytes, 0);
		if (rc < 0) {
			if (shmbus_block_unlink(c->name[0]) < 0)
				fprintf(stderr, "shmbus-bench: cannot unlink %s\n", c->name[0]);
			return rc;
		}
	}
	return 0;
}

/* Open the handles of process p->index: tx on the ring it produces into,
 * rx on the ring it consumes from (NULL when it has none). */
static int shmbus_open_ends(struct bench_proc *p, const struct spsc_cfg *c,
			    struct shmbus_spsc **tx, struct shmbus_spsc **rx)
{
	const char *txname, *rxname;
	int rc;

	*tx = *rx = NULL;
	spsc_ring_ends(p->index, c, &txname, &rxname);
	if (txname) {
		rc = shmbus_spsc_open(tx, txname, SHMBUS_SPSC_PRODUCER);
		if (rc < 0)
			goto fail;
	}
	if (rxname) {
		rc = shmbus_spsc_open(rx, rxname, SHMBUS_SPSC_CONSUMER);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "shmbus-bench: open %s: %s\n", txname && !*tx ? txname : rxname,
		shmbus_strerror(rc));
	shmbus_spsc_close(*tx);
	*tx = NULL;
	return rc;
}

/*
 * Open the ends, run the stream or ping-pong loops with @send/@recv, close.
 * Always inlined, like the loops: each transport below gets its own copy
 * with the send/recv calls direct, not through a pointer.
 */
static SPSC_BENCH_ALWAYS_INLINE int shmbus_roles(struct bench_proc *p, const struct spsc_cfg *c,
						 spsc_send_fn send, spsc_recv_fn recv)
{
	struct shmbus_spsc *tx, *rx;
	int rc = shmbus_open_ends(p, c, &tx, &rx);

	if (rc < 0)
		return rc;
	if (c->pingpong)
		rc = spsc_pingpong_roles(p, c, tx, rx, send, recv);
	else
		rc = spsc_stream_roles(p, c, tx, rx, send, recv);
	shmbus_spsc_close(tx);
	shmbus_spsc_close(rx);
	return rc;
}

static int zc_roles(struct bench_proc *p, void *arg)
{
	return shmbus_roles(p, arg, zc_send, zc_recv);
}

static int copy_roles(struct bench_proc *p, void *arg)
{
	return shmbus_roles(p, arg, copy_send, copy_recv);
}

static int blocking_roles(struct bench_proc *p, void *arg)
{
	return shmbus_roles(p, arg, blocking_send, blocking_recv);
}

const struct spsc_transport spsc_tp_shmbus = {
	.name = "shmbus-spsc",
	.ring = true,
	.prepare = shmbus_prepare,
	.cleanup = spsc_unlink_rings,
	.stream = zc_roles,
	.pingpong = zc_roles,
};

const struct spsc_transport spsc_tp_shmbus_copy = {
	.name = "shmbus-spsc-copy",
	.ring = true,
	.prepare = shmbus_prepare,
	.cleanup = spsc_unlink_rings,
	.stream = copy_roles,
	.pingpong = copy_roles,
};

const struct spsc_transport spsc_tp_shmbus_blocking = {
	.name = "shmbus-spsc-blocking",
	.ring = true,
	.prepare = shmbus_prepare,
	.cleanup = spsc_unlink_rings,
	.stream = blocking_roles,
	.pingpong = blocking_roles,
};
