/*
 * bcast_zmq.c - the ZeroMQ peer of broadcast-throughput: PUB/SUB over an
 * ipc:// endpoint (a unix socket), one zmq_send per message by the
 * publisher, one zmq_recv per message by each subscriber.  Built only when
 * pkg-config finds libzmq (Debian libzmq3-dev).
 *
 * Two things make PUB/SUB numbers dishonest unless handled:
 *  - Drops at the high-water mark are silent.  Both sides set their HWM to
 *    0 (unlimited), so the publisher queues instead of dropping; each
 *    subscriber checks every message in order anyway, and one that waits
 *    longer than ZMQ_WAIT_MS for the next message reports how many never
 *    came, and the measurement fails.
 *  - Slow joiners: a subscriber connected a moment too late misses the first
 *    messages.  Before the warm-up the publisher sends hello messages until
 *    every subscriber has seen one (a counter in shared memory); hellos are
 *    skipped by the subscribers.
 */
#include "bench_bcast.h"

#ifdef SHMBUS_HAVE_ZMQ
#include <sched.h>
#include <unistd.h>

#include <zmq.h>

const bool bcast_bench_have_zmq = true;

#define ZMQ_WAIT_MS 30000

struct zmq_link {
	void *ctx, *sock;
	bool hello_seen;
	struct bcast_bench_shared *sh;
};

static int zmq_fail(const char *what)
{
	int e = zmq_errno();

	fprintf(stderr, "shmbus-bench: zeromq: %s: %s\n", what, zmq_strerror(e));
	return e > 0 ? -e : -EIO;
}

static int zmq_prepare(struct bcast_bench_cfg *c)
{
	snprintf(c->endpoint, sizeof(c->endpoint), "ipc:///tmp/shmbus-bench-%d.zmq",
		 (int)getpid());
	unlink(c->endpoint + 6);
	return 0;
}

static void zmq_cleanup(struct bcast_bench_cfg *c)
{
	unlink(c->endpoint + 6);
}

static int zmq_send_one(void *link, const void *buf, size_t len)
{
	struct zmq_link *l = link;

	while (zmq_send(l->sock, buf, len, 0) < 0)
		if (zmq_errno() != EINTR)
			return zmq_fail("zmq_send");
	return 0;
}

static int zmq_recv_one(void *link, void *buf, size_t len, uint64_t *dropped)
{
	struct zmq_link *l = link;
	uint64_t stamp;
	int n;

	*dropped = 0;
	for (;;) {
		n = zmq_recv(l->sock, buf, len, 0);
		if (n < 0 && zmq_errno() == EINTR)
			continue;
		if (n < 0 && zmq_errno() == EAGAIN)
			return 1; /* nothing for ZMQ_WAIT_MS: the rest is lost */
		if (n < 0)
			return zmq_fail("zmq_recv");
		if ((size_t)n != len)
			return -EPROTO;
		memcpy(&stamp, buf, 8);
		if (stamp != BCAST_BENCH_HELLO)
			return 0;
		if (!l->hello_seen) {
			l->hello_seen = true;
			/* Relaxed: the publisher only counts. */
			atomic_fetch_add_explicit(&l->sh->ready, 1, memory_order_relaxed);
		}
	}
}

/* Hellos until every subscriber has one (the slow-joiner handshake). */
static int zmq_handshake(struct zmq_link *l, const struct bcast_bench_cfg *c)
{
	unsigned char *hello = calloc(1, c->msg_size);
	uint64_t stamp = BCAST_BENCH_HELLO;
	int rc = 0;

	if (!hello)
		return -ENOMEM;
	memcpy(hello, &stamp, 8);
	while (rc == 0 && atomic_load_explicit(&c->sh->ready, memory_order_relaxed) < c->subs) {
		rc = zmq_send_one(l, hello, c->msg_size);
		usleep(1000);
	}
	free(hello);
	return rc;
}

static int zmq_role(struct bench_proc *p, void *arg)
{
	const struct bcast_bench_cfg *c = arg;
	struct zmq_link l = { .sh = c->sh };
	int hwm = 0, wait = ZMQ_WAIT_MS, rc;

	l.ctx = zmq_ctx_new();
	if (!l.ctx)
		return zmq_fail("zmq_ctx_new");
	l.sock = zmq_socket(l.ctx, p->index == 0 ? ZMQ_PUB : ZMQ_SUB);
	if (!l.sock) {
		rc = zmq_fail("zmq_socket");
		goto out;
	}
	if (p->index == 0) {
		if (zmq_setsockopt(l.sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
		    zmq_bind(l.sock, c->endpoint) < 0) {
			rc = zmq_fail(c->endpoint);
			goto out;
		}
		bench_proc_sync(p); /* bound: subscribers may connect */
		rc = zmq_handshake(&l, c);
		if (rc == 0)
			rc = bcast_bench_produce(p, c, &l, zmq_send_one, NULL);
	} else {
		if (zmq_setsockopt(l.sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
		    zmq_setsockopt(l.sock, ZMQ_RCVTIMEO, &wait, sizeof(wait)) < 0 ||
		    zmq_setsockopt(l.sock, ZMQ_SUBSCRIBE, "", 0) < 0) {
			rc = zmq_fail("zmq_setsockopt");
			goto out;
		}
		bench_proc_sync(p);
		if (zmq_connect(l.sock, c->endpoint) < 0) {
			rc = zmq_fail(c->endpoint);
			goto out;
		}
		rc = bcast_bench_subscribe(p, c, &l, false, zmq_recv_one, NULL);
	}
out:
	if (l.sock)
		zmq_close(l.sock);
	zmq_ctx_term(l.ctx);
	return rc;
}

const struct bcast_bench_transport bcast_tp_zmq = {
	.name = "zmq-pubsub",
	.prepare = zmq_prepare,
	.cleanup = zmq_cleanup,
	.role = zmq_role,
};
#else
const bool bcast_bench_have_zmq = false;
const struct bcast_bench_transport bcast_tp_zmq = { .name = "zmq-pubsub" };
#endif
