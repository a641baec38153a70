/*
 * bench_spsc.h - what the SPSC workloads (throughput, latency, bandwidth) share:
 * a transport interface, and the sender/receiver loops every transport runs,
 * so that all of them do the same work per message.
 *
 * The work per message, for every transport:
 *   sender:   stamp the sequence number into the first 8 bytes of its
 *             private source buffer, then hand msg_size bytes to the
 *             transport (which copies them into the ring / the kernel);
 *   receiver: get msg_size bytes from the transport into its private
 *             destination buffer, check the length and the sequence number.
 * So every transport moves each byte out of the sender's memory and into the
 * receiver's, and a lost, duplicated or reordered message fails the run.
 * With buf_bytes > msg_size the private buffers are that large and the
 * messages walk through them (the bandwidth workload: the same working set as
 * its memcpy baseline).
 */
#ifndef SHMBUS_BENCH_SPSC_H
#define SHMBUS_BENCH_SPSC_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SPSC_BENCH_ALWAYS_INLINE inline __attribute__((always_inline))

/* One measurement's parameters; the parent fills it, prepare() completes it,
 * the children get a copy through fork. */
struct spsc_cfg {
	size_t msg_size;
	uint64_t count;      /* messages (stream) or round trips (pingpong) */
	uint64_t warmup;     /* untimed, before the start barrier */
	size_t ring_bytes;   /* capacity of each ring */
	size_t buf_bytes;    /* private source/destination buffer (>= msg_size) */
	void *shared;        /* MAP_SHARED area made by prepare() */
	size_t shared_len;
	int fd[4];           /* descriptors made by prepare(), or -1 */
	char name[2][64];    /* block names made by prepare() */
	bool blocking;       /* shmbus: blocking calls instead of _try + spin */
	bool pingpong;       /* two directions are needed */
};

struct spsc_transport {
	const char *name;
	bool ring;           /* has a ring of c->ring_bytes (reported) */
	/* In the parent, before the fork: make what both sides share. */
	int (*prepare)(struct spsc_cfg *c);
	/* In the parent, after the children ended (also after a failure). */
	void (*cleanup)(struct spsc_cfg *c);
	/* Process 0 sends c->count messages, process 1 receives them. */
	bench_proc_fn stream;
	/* Process 0 makes c->count round trips and measures each; process 1
	 * echoes. */
	bench_proc_fn pingpong;
};

extern const struct spsc_transport spsc_tp_ideal;
extern const struct spsc_transport spsc_tp_pipe;
extern const struct spsc_transport spsc_tp_unix;
extern const struct spsc_transport spsc_tp_shmbus;          /* reserve/commit, peek/release */
extern const struct spsc_transport spsc_tp_shmbus_copy;     /* push/pop */
extern const struct spsc_transport spsc_tp_shmbus_blocking; /* reserve/peek with waiting */
extern const struct spsc_transport spsc_tp_mpmc;            /* the MPMC ring, 1x1, push/pop */

/* The transports of the message workloads (spsc-throughput, spsc-latency),
 * NULL-terminated, and their names for the workload tables. */
extern const struct spsc_transport *const spsc_msg_transports[];
extern const char *const spsc_msg_names[];

/*
 * spsc_measure - one bench_measure() of @tp in mode stream (@pingpong false)
 * or pingpong with a copy of @c; @extra is consumed.
 */
int spsc_measure(struct bench_run *run, const struct spsc_transport *tp,
		 const struct spsc_cfg *c, json_t *extra);

/* The default spsc_cfg for a workload at @size, with counts from the
 * options. */
void spsc_cfg_init(struct spsc_cfg *c, size_t size, uint64_t count, size_t ring_bytes);

/* The ring for messages of @size: @dflt, or larger so 8 messages fit;
 * --ring (rounded down to a power of two) overrides. */
size_t spsc_default_ring(const struct bench_run *run, size_t size, size_t dflt);

/* Unlink the rings a transport named (c->name[0], and [1] in a ping-pong);
 * one never made is fine. */
void spsc_unlink_rings(struct spsc_cfg *c);

/* The ring process @index produces into (*@tx) and consumes from (*@rx),
 * NULL where it has none: a stream goes 0 -> 1 through name[0]; in a
 * ping-pong name[0] carries the pings, name[1] the echoes. */
void spsc_ring_ends(unsigned index, const struct spsc_cfg *c, const char **tx, const char **rx);

/* Untimed messages sent before the clock starts, for a stream. */
uint64_t spsc_stream_warmup(size_t size, size_t ring);

/* Send @len bytes of @buf as one message / receive exactly @len bytes into
 * @buf.  0 or -errno. */
typedef int (*spsc_send_fn)(void *link, const void *buf, size_t len);
typedef int (*spsc_recv_fn)(void *link, void *buf, size_t len);

/* The sequence number in the first min(8, size) bytes (one store/load in the
 * usual size >= 8 case: the yardstick must not pay a library call). */
static inline void spsc_stamp(unsigned char *p, size_t size, uint64_t seq)
{
	if (size >= 8)
		memcpy(p, &seq, 8);
	else
		memcpy(p, &seq, size);
}

static inline bool spsc_stamp_ok(const unsigned char *p, size_t size, uint64_t seq)
{
	uint64_t v;

	if (size < 8)
		return memcmp(p, &seq, size) == 0;
	memcpy(&v, p, 8);
	return v == seq;
}

/* Offset of message @seq in a private buffer holding @slots messages (no
 * division in the common one-message case). */
static inline size_t spsc_buf_off(size_t msg_size, uint64_t seq, size_t slots)
{
	return slots == 1 ? 0 : (size_t)(seq % slots) * msg_size;
}

/* A private buffer, pre-faulted and filled with a pattern. */
static inline unsigned char *spsc_buf_alloc(size_t n)
{
	unsigned char *b = malloc(n);

	if (b)
		memset(b, 0xa5, n);
	return b;
}

static inline int spsc_bad_seq(uint64_t seq)
{
	fprintf(stderr, "shmbus-bench: message %llu lost, duplicated or corrupted\n",
		(unsigned long long)seq);
	return -EPROTO;
}

/*
 * spsc_stream_roles - the throughput loops.  Inlined into each transport
 * with its own send/recv so that the calls through @send/@recv become
 * direct (and the ideal ring's inline): the yardstick pays no indirection.
 */
static SPSC_BENCH_ALWAYS_INLINE int spsc_stream_roles(struct bench_proc *p,
						      const struct spsc_cfg *c, void *tx,
						      void *rx, spsc_send_fn send,
						      spsc_recv_fn recv)
{
	size_t size = c->msg_size, slots = c->buf_bytes / size;
	unsigned char *buf = spsc_buf_alloc(c->buf_bytes);
	uint64_t seq, end = c->warmup + c->count;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	if (p->index == 0) {
		for (seq = 0; seq < end && rc == 0; seq++) {
			unsigned char *m = buf + spsc_buf_off(size, seq, slots);

			if (seq == c->warmup)
				bench_proc_start(p);
			spsc_stamp(m, size, seq);
			rc = send(tx, m, size);
		}
		if (rc == 0)
			bench_proc_done(p, 0, 0);
	} else {
		for (seq = 0; seq < end && rc == 0; seq++) {
			unsigned char *m = buf + spsc_buf_off(size, seq, slots);

			if (seq == c->warmup)
				bench_proc_start(p);
			rc = recv(rx, m, size);
			if (rc == 0 && !spsc_stamp_ok(m, size, seq))
				rc = spsc_bad_seq(seq);
		}
		if (rc == 0)
			bench_proc_done(p, c->count, c->count * size);
	}
	free(buf);
	return rc;
}

/*
 * spsc_pingpong_roles - the latency loops: process 0 times each round trip
 * (send, then receive the echo) with CLOCK_MONOTONIC; process 1 echoes what
 * it receives.
 */
static SPSC_BENCH_ALWAYS_INLINE int spsc_pingpong_roles(struct bench_proc *p,
							const struct spsc_cfg *c, void *tx,
							void *rx, spsc_send_fn send,
							spsc_recv_fn recv)
{
	size_t size = c->msg_size;
	unsigned char *buf = spsc_buf_alloc(size);
	uint64_t *lat = NULL, seq, end = c->warmup + c->count;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	if (p->index == 0) {
		lat = malloc(c->count * sizeof(*lat));
		if (!lat) {
			free(buf);
			return -ENOMEM;
		}
		bench_prefault(lat, c->count * sizeof(*lat), true);
		for (seq = 0; seq < end && rc == 0; seq++) {
			uint64_t t0;

			if (seq == c->warmup)
				bench_proc_start(p);
			t0 = bench_now_ns();
			spsc_stamp(buf, size, seq);
			rc = send(tx, buf, size);
			if (rc == 0)
				rc = recv(rx, buf, size);
			if (rc == 0 && !spsc_stamp_ok(buf, size, seq))
				rc = spsc_bad_seq(seq);
			if (seq >= c->warmup)
				lat[seq - c->warmup] = bench_now_ns() - t0;
		}
		if (rc == 0) {
			bench_proc_done(p, c->count, 2 * c->count * size);
			bench_proc_latency(p, lat, c->count);
		}
	} else {
		for (seq = 0; seq < end && rc == 0; seq++) {
			if (seq == c->warmup)
				bench_proc_start(p);
			rc = recv(rx, buf, size);
			if (rc == 0 && !spsc_stamp_ok(buf, size, seq))
				rc = spsc_bad_seq(seq);
			if (rc == 0)
				rc = send(tx, buf, size);
		}
		if (rc == 0)
			bench_proc_done(p, 0, 0);
	}
	free(lat);
	free(buf);
	return rc;
}

#endif
