/*
 * bcast_shmbus.c - our rings as transports of broadcast-throughput, through
 * the public API:
 *   shmbus-bcast         one broadcast ring, reliable: shmbus_bcast_push /
 *                        shmbus_bcast_pop with an infinite timeout (spin,
 *                        then futex sleep), close_stream at the end, and
 *                        every subscriber checks it then gets -SHMBUS_EEOS;
 *   shmbus-bcast-lossy   the same calls on a lossy ring (the producer never
 *                        waits; subscribers count what they missed);
 *   shmbus-bcast-burst   the reliable ring in bursts of 32: push_burst,
 *                        peek_burst + a copy out of each + release_burst;
 *   shmbus-spsc-fanout   the fan-out by hand: one SPSC ring per subscriber,
 *                        the producer pushes each message into every ring
 *                        (shmbus_spsc_push / pop, blocking, as above).
 * The parent creates the blocks before the fork; each child takes its role
 * itself (handles do not survive fork), then all meet at a barrier, so no
 * subscriber joins after the first message.
 */
#include <unistd.h>

#include <shmbus/shmbus.h>

#include "bench_bcast.h"

static void unlink_quiet(const char *name)
{
	int rc = shmbus_block_unlink(name);

	if (rc < 0 && rc != -ENOENT)
		fprintf(stderr, "shmbus-bench: cannot unlink %s: %s\n", name, shmbus_strerror(rc));
}

/* ------------------------------------------------------------ broadcast */

static int bcast_prepare(struct bcast_bench_cfg *c)
{
	struct shmbus_bcast_params prm = {
		.capacity = c->ring_bytes,
		.subscribers = c->subs,
		.policy = c->lossy ? SHMBUS_BCAST_LOSSY : SHMBUS_BCAST_RELIABLE,
	};

	snprintf(c->name[0], sizeof(c->name[0]), "shmbus-bench-%d-bc", (int)getpid());
	unlink_quiet(c->name[0]); /* left by a killed run of ours (same pid) */
	return shmbus_bcast_create(c->name[0], &prm);
}

static void bcast_cleanup(struct bcast_bench_cfg *c)
{
	unlink_quiet(c->name[0]);
}

static int bcast_send(void *link, const void *buf, size_t len)
{
	return shmbus_bcast_push(link, buf, len, -1);
}

static int bcast_end_stream(void *link)
{
	return shmbus_bcast_close_stream(link);
}

static int bcast_recv(void *link, void *buf, size_t len, uint64_t *dropped)
{
	struct shmbus_bcast_msg info;
	int rc = shmbus_bcast_pop(link, buf, len, &info, -1);

	if (rc == -SHMBUS_EEOS)
		return 1;
	if (rc < 0)
		return rc;
	*dropped = info.dropped;
	return (size_t)rc == len ? 0 : -EPROTO;
}

/* After the last message: the end of stream, and nothing else. */
static int bcast_expect_eos(void *link)
{
	unsigned char b[8];
	int rc = shmbus_bcast_pop(link, b, sizeof(b), NULL, -1);

	if (rc == -SHMBUS_EEOS)
		return 0;
	fprintf(stderr, "shmbus-bench: broadcast: after the last message: %s\n",
		rc < 0 ? shmbus_strerror(rc) : "one more message");
	return -EPROTO;
}

static int bcast_role(struct bench_proc *p, void *arg)
{
	const struct bcast_bench_cfg *c = arg;
	struct shmbus_bcast *b;
	int rc = bcast_bench_pin_apart(p, c);

	if (rc < 0)
		return rc;
	if (p->index == 0)
		rc = shmbus_bcast_open_producer(&b, c->name[0]);
	else
		rc = shmbus_bcast_subscribe(&b, c->name[0], SHMBUS_BCAST_FROM_OLDEST);
	if (rc < 0) {
		fprintf(stderr, "shmbus-bench: %s %s: %s\n",
			p->index == 0 ? "open_producer" : "subscribe", c->name[0],
			shmbus_strerror(rc));
		return rc;
	}
	bench_proc_sync(p);
	if (p->index == 0)
		rc = bcast_bench_produce(p, c, b, bcast_send, bcast_end_stream);
	else
		rc = bcast_bench_subscribe(p, c, b, c->lossy, bcast_recv, bcast_expect_eos);
	shmbus_bcast_close(b);
	return rc;
}

const struct bcast_bench_transport bcast_tp_shmbus = {
	.name = "shmbus-bcast",
	.prepare = bcast_prepare,
	.cleanup = bcast_cleanup,
	.role = bcast_role,
};

const struct bcast_bench_transport bcast_tp_shmbus_lossy = {
	.name = "shmbus-bcast-lossy",
	.lossy = true,
	.prepare = bcast_prepare,
	.cleanup = bcast_cleanup,
	.role = bcast_role,
};

/* ---------------------------------------------- broadcast, in bursts */

/* Messages per burst: enough to share one publish, one wake-up check and
 * one cursor store between many messages. */
#define BURST 32

/* The producer gathers BURST messages and pushes them with one
 * push_burst (at the end of the warm-up and of the stream too, so that a
 * subscriber never waits for a message still gathered); a subscriber
 * peeks up to BURST in place, copies them out one by one and releases them
 * all with one release_burst. */
struct burst_link {
	struct shmbus_bcast *b;
	uint64_t sent, warmup, total;
	unsigned n, next;           /* gathered (producer) / peeked, next (subscriber) */
	unsigned char *bytes;       /* producer: BURST messages */
	struct shmbus_bcast_buf out[BURST];
	struct shmbus_bcast_msg in[BURST];
};

static int burst_flush(struct burst_link *l)
{
	unsigned done = 0;
	int rc;

	while (done < l->n) {
		rc = shmbus_bcast_push_burst(l->b, l->out + done, l->n - done, -1);
		if (rc < 0)
			return rc;
		done += (unsigned)rc;
	}
	l->n = 0;
	return 0;
}

static int burst_send(void *link, const void *buf, size_t len)
{
	struct burst_link *l = link;
	unsigned char *m = l->bytes + (size_t)l->n * len;

	memcpy(m, buf, len);
	l->out[l->n++] = (struct shmbus_bcast_buf){ .data = m, .len = len };
	l->sent++;
	if (l->n == BURST || l->sent == l->warmup || l->sent == l->total)
		return burst_flush(l);
	return 0;
}

static int burst_end_stream(void *link)
{
	struct burst_link *l = link;

	return shmbus_bcast_close_stream(l->b);
}

static int burst_recv(void *link, void *buf, size_t len, uint64_t *dropped)
{
	struct burst_link *l = link;
	int rc;

	*dropped = 0;
	if (l->next == l->n) {
		if (l->n) {
			rc = shmbus_bcast_release_burst(l->b, l->n);
			if (rc < 0)
				return rc;
		}
		l->n = l->next = 0;
		rc = shmbus_bcast_peek_burst(l->b, l->in, BURST, -1);
		if (rc == -SHMBUS_EEOS)
			return 1;
		if (rc < 0)
			return rc;
		l->n = (unsigned)rc;
	}
	if (l->in[l->next].len != len)
		return -EPROTO;
	memcpy(buf, l->in[l->next++].data, len);
	return 0;
}

static int burst_expect_eos(void *link)
{
	struct burst_link *l = link;
	int rc = 0;

	if (l->n > l->next)
		return -EPROTO;
	if (l->n)
		rc = shmbus_bcast_release_burst(l->b, l->n);
	l->n = l->next = 0;
	return rc < 0 ? rc : bcast_expect_eos(l->b);
}

static int burst_role(struct bench_proc *p, void *arg)
{
	const struct bcast_bench_cfg *c = arg;
	struct burst_link l = { .warmup = c->warmup, .total = c->warmup + c->msgs };
	int rc;

	if (p->index == 0) {
		l.bytes = malloc(BURST * c->msg_size);
		if (!l.bytes)
			return -ENOMEM;
		rc = shmbus_bcast_open_producer(&l.b, c->name[0]);
	} else {
		rc = shmbus_bcast_subscribe(&l.b, c->name[0], SHMBUS_BCAST_FROM_OLDEST);
	}
	if (rc < 0) {
		fprintf(stderr, "shmbus-bench: broadcast %s: %s\n", c->name[0], shmbus_strerror(rc));
		free(l.bytes);
		return rc;
	}
	bench_proc_sync(p);
	if (p->index == 0)
		rc = bcast_bench_produce(p, c, &l, burst_send, burst_end_stream);
	else
		rc = bcast_bench_subscribe(p, c, &l, false, burst_recv, burst_expect_eos);
	shmbus_bcast_close(l.b);
	free(l.bytes);
	return rc;
}

const struct bcast_bench_transport bcast_tp_shmbus_burst = {
	.name = "shmbus-bcast-burst",
	.prepare = bcast_prepare,
	.cleanup = bcast_cleanup,
	.role = burst_role,
};

/* ------------------------------------------------------ N SPSC rings */

static void fanout_cleanup(struct bcast_bench_cfg *c)
{
	unsigned i;

	for (i = 0; i < c->subs; i++)
		if (c->name[i][0])
			unlink_quiet(c->name[i]);
}

static int fanout_prepare(struct bcast_bench_cfg *c)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < c->subs; i++)
		c->name[i][0] = 0;
	for (i = 0; i < c->subs && rc == 0; i++) {
		snprintf(c->name[i], sizeof(c->name[i]), "shmbus-bench-%d-f%u", (int)getpid(), i);
		unlink_quiet(c->name[i]);
		rc = shmbus_spsc_create(c->name[i], c->ring_bytes, 0);
		if (rc < 0)
			c->name[i][0] = 0;
	}
	if (rc < 0)
		fanout_cleanup(c);
	return rc;
}

struct fanout_link {
	struct shmbus_spsc *q[BCAST_BENCH_MAX_SUBS];
	unsigned n;
};

static int fanout_send(void *link, const void *buf, size_t len)
{
	struct fanout_link *l = link;
	unsigned i;
	int rc;

	for (i = 0; i < l->n; i++) {
		rc = shmbus_spsc_push(l->q[i], buf, len, -1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int fanout_recv(void *link, void *buf, size_t len, uint64_t *dropped)
{
	int rc = shmbus_spsc_pop(link, buf, len, -1);

	*dropped = 0;
	if (rc < 0)
		return rc;
	return (size_t)rc == len ? 0 : -EPROTO;
}

static int fanout_role(struct bench_proc *p, void *arg)
{
	const struct bcast_bench_cfg *c = arg;
	struct fanout_link l = { .n = 0 };
	struct shmbus_spsc *q = NULL;
	unsigned i;
	int rc = 0;

	if (p->index == 0) {
		for (i = 0; i < c->subs && rc == 0; i++) {
			rc = shmbus_spsc_open(&l.q[i], c->name[i], SHMBUS_SPSC_PRODUCER);
			if (rc == 0)
				l.n++;
		}
	} else {
		rc = shmbus_spsc_open(&q, c->name[p->index - 1], SHMBUS_SPSC_CONSUMER);
	}
	if (rc < 0) {
		fprintf(stderr, "shmbus-bench: spsc fan-out: open: %s\n", shmbus_strerror(rc));
		goto out;
	}
	bench_proc_sync(p);
	if (p->index == 0)
		rc = bcast_bench_produce(p, c, &l, fanout_send, NULL);
	else
		rc = bcast_bench_subscribe(p, c, q, false, fanout_recv, NULL);
out:
	for (i = 0; i < l.n; i++)
		shmbus_spsc_close(l.q[i]);
	shmbus_spsc_close(q);
	return rc;
}

const struct bcast_bench_transport bcast_tp_spsc_fanout = {
	.name = "shmbus-spsc-fanout",
	.prepare = fanout_prepare,
	.cleanup = fanout_cleanup,
	.role = fanout_role,
};
