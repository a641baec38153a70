/*
 * bench_bcast.h - what the broadcast-throughput workload's transports share:
 * the configuration, a transport interface, and the producer and subscriber
 * loops every transport runs, so that all of them do the same work and the
 * same checks per message.
 *
 * Process 0 produces, processes 1..N subscribe; every subscriber is meant to
 * get every message.  The work per message:
 *   producer:   stamp the message number into the first 8 bytes of its
 *               private buffer, hand msg_size bytes to the transport (which
 *               copies them into the ring(s) / the kernel);
 *   subscriber: get msg_size bytes into its private buffer, check the length
 *               and the stamp: in a reliable transport every message in
 *               order (a lost, duplicated or reordered one fails the run); in
 *               a lossy one strictly increasing, the gaps counted as dropped
 *               (and checked against the count the ring itself reports).
 * Before the clock starts, the producer sends `warmup` messages and every
 * subscriber reads up to the last of them (a lossy ring never retires its
 * newest message, so each subscriber gets it).  Each subscriber's clock
 * stops at the last message (number warmup + msgs - 1, again always
 * delivered), so elapsed = until the slowest subscriber has it.  Messages
 * counted per subscriber: received (and dropped, lossy), which the workload
 * averages over the subscribers.
 */
#ifndef SHMBUS_BENCH_BCAST_H
#define SHMBUS_BENCH_BCAST_H

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define BCAST_BENCH_ALWAYS_INLINE inline __attribute__((always_inline))
#define BCAST_BENCH_MAX_SUBS (BENCH_MAX_PROCS - 1)
/* The stamp of a ZeroMQ handshake message, never a message number. */
#define BCAST_BENCH_HELLO UINT64_MAX

/* What the processes of one repeat share (MAP_SHARED, made by the parent and
 * zeroed before each repeat).  Each field is summed with relaxed
 * fetch_adds: the parent reads them after every child has exited. */
struct bcast_bench_shared {
	_Atomic uint64_t ready;          /* zmq: subscribers that got a hello */
	uint8_t pad0[56];
	_Atomic uint64_t producer_ns;    /* producer: wall time of its timed loop */
	_Atomic uint64_t producer_cpu_ns;/* producer: CPU time of the same */
	_Atomic uint64_t received;       /* subscribers: timed messages, summed */
	_Atomic uint64_t dropped;        /* lossy subscribers: summed */
};

struct bcast_bench_cfg {
	size_t msg_size;
	uint64_t msgs;           /* timed messages */
	uint64_t warmup;         /* untimed, before them */
	unsigned subs;           /* subscriber processes */
	size_t ring_bytes;       /* the broadcast ring, and each SPSC ring */
	bool lossy;              /* policy of the broadcast ring */
	/* --pin, lossy transports: the producer alone on the first of
	 * @cpus, the subscribers on the others (bcast_bench_pin_apart()). */
	bool apart;
	cpu_set_t cpus;          /* the parent's allowed CPUs */
	struct bcast_bench_shared *sh;
	char name[BCAST_BENCH_MAX_SUBS][64]; /* blocks (fan-out: one per subscriber) */
	char endpoint[96];       /* zmq ipc:// endpoint */
};

struct bcast_bench_transport {
	const char *name;
	bool lossy;              /* subscribers may miss messages */
	/* In the parent, before the fork of each repeat (fresh rings). */
	int (*prepare)(struct bcast_bench_cfg *c);
	/* In the parent, after the children ended (also after a failure). */
	void (*cleanup)(struct bcast_bench_cfg *c);
	/* Process 0 produces, 1..subs subscribe. */
	bench_proc_fn role;
};

extern const struct bcast_bench_transport bcast_tp_shmbus;        /* reliable */
extern const struct bcast_bench_transport bcast_tp_shmbus_lossy;
extern const struct bcast_bench_transport bcast_tp_shmbus_burst;  /* reliable, bursts */
extern const struct bcast_bench_transport bcast_tp_spsc_fanout;   /* N SPSC rings */
extern const struct bcast_bench_transport bcast_tp_zmq;           /* PUB/SUB, ipc:// */
extern const bool bcast_bench_have_zmq;

/* Send @len bytes of @buf to every subscriber; 0 or -errno. */
typedef int (*bcast_send_fn)(void *link, const void *buf, size_t len);
/* Receive the next message into @buf (@len bytes expected): 0, 1 at end of
 * stream, or -errno; *@dropped gets what the transport itself says was
 * lost just before this message (a lossy transport must know). */
typedef int (*bcast_recv_fn)(void *link, void *buf, size_t len, uint64_t *dropped);
/* After the last message: the producer ends the stream / a subscriber
 * checks that nothing follows.  0 or -errno.  May be NULL. */
typedef int (*bcast_end_fn)(void *link);

/*
 * bcast_bench_pin_apart - with c->apart (--pin on a lossy transport, at
 * least 2 CPUs): pin the producer (process 0) to the first allowed CPU and
 * subscriber i to the (1 + (i - 1) mod (n - 1))-th, instead of --pin's
 * "CPU index mod n".  The lossy target is about the producer's own cost per
 * message as N grows: with the usual layout the producer shares its CPU
 * with N/2 subscribers that never run out of work (a lossy producer is
 * always ahead), so its rate at 1->8 measures its share of that CPU
 * (a fifth), not the ring.  Returns 0, or -errno (printed).
 */
static inline int bcast_bench_pin_apart(struct bench_proc *p, const struct bcast_bench_cfg *c)
{
	int n = CPU_COUNT(&c->cpus), want, seen = 0, cpu;
	cpu_set_t one;

	if (!c->apart || p->cpu < 0 || n < 2)
		return 0;
	want = p->index == 0 ? 0 : 1 + (int)((p->index - 1) % (unsigned)(n - 1));
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &c->cpus) && seen++ == want)
			break;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0) {
		fprintf(stderr, "shmbus-bench: broadcast: cannot pin process %u: %s\n", p->index,
			strerror(errno));
		return -errno;
	}
	p->cpu = cpu;
	return 0;
}

static inline uint64_t bcast_bench_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int bcast_bench_proto(unsigned sub, uint64_t want, uint64_t got, const char *what)
{
	fprintf(stderr, "shmbus-bench: broadcast: subscriber %u: %s (expected message %llu, "
			"got %llu)\n", sub, what, (unsigned long long)want, (unsigned long long)got);
	return -EPROTO;
}

/* The producer's loop (process 0). */
static BCAST_BENCH_ALWAYS_INLINE int bcast_bench_produce(struct bench_proc *p,
							 const struct bcast_bench_cfg *c,
							 void *link, bcast_send_fn send,
							 bcast_end_fn end)
{
	size_t size = c->msg_size;
	unsigned char *buf = malloc(size);
	uint64_t seq, last = c->warmup + c->msgs, t0 = 0, cpu0 = 0;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0xa5, size);
	for (seq = 0; seq < last && rc == 0; seq++) {
		if (seq == c->warmup) {
			bench_proc_start(p);
			t0 = bench_now_ns();
			cpu0 = bcast_bench_cpu_ns();
		}
		memcpy(buf, &seq, 8);
		rc = send(link, buf, size);
	}
	if (rc == 0) {
		/* Relaxed: the parent reads after the children exited. */
		atomic_store_explicit(&c->sh->producer_ns, bench_now_ns() - t0,
				      memory_order_relaxed);
		atomic_store_explicit(&c->sh->producer_cpu_ns, bcast_bench_cpu_ns() - cpu0,
				      memory_order_relaxed);
		bench_proc_done(p, 0, 0);
		if (end)
			rc = end(link);
	}
	free(buf);
	return rc;
}

/* A subscriber's loop (processes 1..subs). */
static BCAST_BENCH_ALWAYS_INLINE int bcast_bench_subscribe(struct bench_proc *p,
							   const struct bcast_bench_cfg *c,
							   void *link, bool lossy,
							   bcast_recv_fn recv, bcast_end_fn end)
{
	size_t size = c->msg_size;
	unsigned char *buf = malloc(size);
	uint64_t want = 0, got, ring_dropped, last = c->warmup + c->msgs - 1;
	uint64_t received = 0, dropped = 0;
	bool timed = false;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	if (c->warmup == 0)
		bench_proc_start(p), timed = true;
	for (;;) {
		rc = recv(link, buf, size, &ring_dropped);
		if (rc)
			break;
		memcpy(&got, buf, 8);
		if (got < want || got > last || (!lossy && got != want)) {
			rc = bcast_bench_proto(p->index, want, got,
					       lossy ? "message out of order or duplicated"
						     : "message lost, duplicated or reordered");
			break;
		}
		/* The ring's own count of what it dropped must match the gap. */
		if (lossy && ring_dropped != got - want) {
			rc = bcast_bench_proto(p->index, want, got, "drop count disagrees");
			break;
		}
		if (timed) {
			received++;
			dropped += got - want;
		}
		want = got + 1;
		if (got == last)
			break;
		if (!timed && got + 1 >= c->warmup) {
			bench_proc_start(p);
			timed = true;
		}
	}
	if (rc == 1 && !lossy) { /* end of stream before the last message */
		fprintf(stderr, "shmbus-bench: broadcast: subscriber %u: %llu messages never "
				"came\n", p->index, (unsigned long long)(last + 1 - want));
		rc = -EPROTO;
	} else if (rc == 1) {
		rc = 0;
	}
	if (rc == 0 && !timed)
		rc = bcast_bench_proto(p->index, c->warmup, want, "warm-up never ended");
	if (rc == 0) {
		dropped += last + 1 - want; /* lossy: lost after the last one read */
		bench_proc_done(p, received, received * size);
		/* Relaxed: the parent reads after the children exited. */
		atomic_fetch_add_explicit(&c->sh->received, received, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->sh->dropped, dropped, memory_order_relaxed);
		if (received + dropped != c->msgs)
			rc = bcast_bench_proto(p->index, c->msgs, received + dropped,
					       "received + dropped is not the count sent");
		else if (end)
			rc = end(link);
	}
	free(buf);
	return rc;
}

#endif
