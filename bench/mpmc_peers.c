/*
 * mpmc_peers.c - the peers of the mpmc-throughput workload:
 *   ck-ring   Concurrency Kit's ck_ring in its MPMC mode, in a MAP_SHARED
 *             block the children inherit, each slot holding a whole message
 *             (the value-carrying form CK_RING_PROTOTYPE generates for a
 *             struct type, here with the size chosen at run time: ck's own
 *             _ck_ring_enqueue_mp / _ck_ring_dequeue_mc), waiting on full
 *             and empty with mpmc_bench_wait() (pause, then sched_yield:
 *             ck_ring has no wait of its own), like shmbus-mpmc-try.  Built
 *             only when pkg-config finds
 *             ck (Debian libck-dev); it has no crash recovery.
 *   posix-mq  a POSIX message queue (mq_send / mq_receive, blocking), as
 *             large as the limits allow up to the ring's capacity.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_mpmc.h"

#ifdef SHMBUS_HAVE_CK
#include <ck_ring.h>

const bool mpmc_bench_have_ck = true;

/* The ring header, then the slots, in the shared area. */
static struct ck_ring *ck_of(const struct mpmc_bench_cfg *c)
{
	return (struct ck_ring *)c->sh->area;
}

static void *ck_slots(const struct mpmc_bench_cfg *c)
{
	return c->sh->area + ((sizeof(struct ck_ring) + 63) & ~(size_t)63);
}

static size_t ck_area(const struct mpmc_bench_cfg *c)
{
	return ((sizeof(struct ck_ring) + 63) & ~(size_t)63) + (size_t)c->slots * c->msg_size;
}

static int ck_prepare(struct mpmc_bench_cfg *c)
{
	if (c->msg_size > UINT32_MAX)
		return -EMSGSIZE;
	/* Same number of slots as our ring (ck_ring keeps one empty, so it
	 * holds one message less). */
	ck_ring_init(ck_of(c), c->slots);
	return 0;
}

static void ck_cleanup(struct mpmc_bench_cfg *c)
{
	(void)c;
}

struct ck_link {
	struct ck_ring *ring;
	void *slots;
};

static int ck_send(void *link, const void *buf, size_t len)
{
	struct ck_link *l = link;
	unsigned spins = 0;

	while (!_ck_ring_enqueue_mp(l->ring, l->slots, buf, (unsigned)len, NULL))
		mpmc_bench_wait(&spins);
	return 0;
}

static int ck_recv(void *link, void *buf, size_t len)
{
	struct ck_link *l = link;
	unsigned spins = 0;

	while (!_ck_ring_dequeue_mc(l->ring, l->slots, buf, (unsigned)len))
		mpmc_bench_wait(&spins);
	return 0;
}

static int ck_role(struct bench_proc *p, void *arg)
{
	const struct mpmc_bench_cfg *c = arg;
	struct ck_link l = { ck_of(c), ck_slots(c) };

	return mpmc_bench_roles(p, c, &l, ck_send, ck_recv);
}

const struct mpmc_bench_transport mpmc_tp_ck = {
	.name = "ck-ring",
	.area_bytes = ck_area,
	.prepare = ck_prepare,
	.cleanup = ck_cleanup,
	.role = ck_role,
};
#else
const bool mpmc_bench_have_ck = false;
const struct mpmc_bench_transport mpmc_tp_ck = { .name = "ck-ring" };
#endif

static int mq_prepare(struct mpmc_bench_cfg *c)
{
	struct mq_attr a = { .mq_msgsize = (long)c->msg_size };
	long want = c->slots;
	mqd_t q = (mqd_t)-1;

	snprintf(c->name, sizeof(c->name), "/shmbus_bench_mq_%d", (int)getpid());
	mq_unlink(c->name); /* left by a killed run of ours (same pid) */
	/* The limits (fs.mqueue.msg_max, RLIMIT_MSGQUEUE) may refuse the
	 * ring's capacity: halve it until they accept. */
	for (; want >= 1 && q == (mqd_t)-1; want /= 2) {
		a.mq_maxmsg = want;
		q = mq_open(c->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
		if (q == (mqd_t)-1 && errno != EINVAL && errno != EMFILE && errno != ENOMEM &&
		    errno != EPERM)
			break;
	}
	if (q == (mqd_t)-1) {
		int rc = -errno;

		fprintf(stderr, "shmbus-bench: posix-mq of %zu-byte messages: %s\n", c->msg_size,
			strerror(-rc));
		return rc;
	}
	c->mq_maxmsg = (uint32_t)a.mq_maxmsg;
	mq_close(q);
	return 0;
}

static void mq_cleanup(struct mpmc_bench_cfg *c)
{
	mq_unlink(c->name);
}

static int mq_send_one(void *link, const void *buf, size_t len)
{
	mqd_t q = *(mqd_t *)link;

	while (mq_send(q, buf, len, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int mq_recv_one(void *link, void *buf, size_t len)
{
	mqd_t q = *(mqd_t *)link;
	ssize_t n;

	while ((n = mq_receive(q, buf, len, NULL)) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return (size_t)n == len ? 0 : -EPROTO;
}

static int mq_role(struct bench_proc *p, void *arg)
{
	const struct mpmc_bench_cfg *c = arg;
	mqd_t q = mq_open(c->name, O_RDWR);
	int rc;

	if (q == (mqd_t)-1)
		return -errno;
	bench_proc_sync(p);
	rc = mpmc_bench_roles(p, c, &q, mq_send_one, mq_recv_one);
	mq_close(q);
	return rc;
}

const struct mpmc_bench_transport mpmc_tp_mq = {
	.name = "posix-mq",
	.prepare = mq_prepare,
	.cleanup = mq_cleanup,
	.role = mq_role,
};
