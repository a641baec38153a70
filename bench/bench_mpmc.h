/*
 * bench_mpmc.h - what the mpmc-throughput workload's transports share: the
 * configuration, a transport interface, and the producer/consumer loops
 * every transport runs, so that all of them do the same work per message.
 *
 * The work per message, for every transport:
 *   producer: stamp its sequence number into its private message (after a
 *             flag byte), hand msg_size bytes to the transport (which copies
 *             them into the ring / the kernel);
 *   consumer: get msg_size bytes from the transport into its private buffer,
 *             check the flag byte.
 * Producers split --msgs between them.  The producer that finishes last
 * sends one "stop" message (flag byte 1) per consumer: every transport here
 * is FIFO, so the stops come after every message, and each consumer stops at
 * its first.  The last consumer checks that the consumers together got
 * exactly --msgs messages (so a lost or duplicated message fails the run).
 * Only consumers count messages (harness.h).
 */
#ifndef SHMBUS_BENCH_MPMC_H
#define SHMBUS_BENCH_MPMC_H

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmbus/mpmc.h>

#include "harness.h"

#define MPMC_BENCH_ALWAYS_INLINE inline __attribute__((always_inline))
#define MPMC_BENCH_DATA 0
#define MPMC_BENCH_STOP 1

/* Counters the processes of one measurement share (MAP_SHARED, made by the
 * parent); a transport's own shared area follows at `area`. */
struct mpmc_bench_shared {
	_Atomic uint64_t producers_done;  /* this repeat; the last one sends stops */
	uint8_t pad0[56];
	_Atomic uint64_t consumers_done;
	_Atomic uint64_t received;        /* this repeat, summed by the consumers */
	uint8_t pad1[48];
	uint8_t area[];                   /* 64-byte aligned */
};

struct mpmc_bench_cfg {
	size_t msg_size;
	uint64_t msgs;            /* total, over the producers */
	unsigned producers, consumers;
	uint32_t slots;           /* ring capacity in messages */
	struct mpmc_bench_shared *sh;
	size_t sh_len;
	char name[64];            /* shmbus block / POSIX queue name */
	uint32_t mq_maxmsg;       /* what the POSIX queue was given */
	bool blocking;            /* shmbus: the blocking calls, not _try */
	unsigned spin;            /* shmbus: -D spin=N, shmbus_mpmc_set_yields() */
};

struct mpmc_bench_transport {
	const char *name;
	/* Bytes of shared area the transport needs after the counters. */
	size_t (*area_bytes)(const struct mpmc_bench_cfg *c);
	/* In the parent, before the fork of each repeat (a fresh ring). */
	int (*prepare)(struct mpmc_bench_cfg *c);
	/* In the parent, after the children ended (also after a failure). */
	void (*cleanup)(struct mpmc_bench_cfg *c);
	/* Processes 0..producers-1 produce, the others consume. */
	bench_proc_fn role;
};

/* shmbus: push/pop (the library waits); shmbus_try: push_try/pop_try with
 * mpmc_bench_wait(); ck: Concurrency Kit's ck_ring, with the same. */
extern const struct mpmc_bench_transport mpmc_tp_shmbus;
extern const struct mpmc_bench_transport mpmc_tp_shmbus_try;
extern const struct mpmc_bench_transport mpmc_tp_ck;
extern const struct mpmc_bench_transport mpmc_tp_mq;              /* POSIX message queue */
extern const bool mpmc_bench_have_ck;

/* Spins of mpmc_bench_wait() with a pause before it yields the CPU. */
#define MPMC_BENCH_PAUSES 100u

/*
 * mpmc_bench_wait - what a transport without a wait of its own (ck_ring,
 * our _try calls) does between two failed attempts; @spins counts them.
 * A pause for the first MPMC_BENCH_PAUSES, then sched_yield(): with more
 * processes than CPUs, a pure spin would hold the CPU that the process it
 * waits for needs, for a whole time slice (seen here: 0.25 M msgs/s at 2x1
 * on 2 CPUs, with ck_ring and with us).  The same policy as the first two
 * phases of our blocking calls, without their futex sleep.
 */
static inline void mpmc_bench_wait(unsigned *spins)
{
	if (*spins < MPMC_BENCH_PAUSES) {
		++*spins;
		shmbus_cpu_relax();
	} else {
		sched_yield();
	}
}

/* Send @len bytes of @buf as one message / receive exactly @len bytes into
 * @buf.  0 or -errno. */
typedef int (*mpmc_send_fn)(void *link, const void *buf, size_t len);
typedef int (*mpmc_recv_fn)(void *link, void *buf, size_t len);

/* Our ring's blocking calls (timeout -1: the library's own wait) as send and
 * recv on a handle @link: transport shmbus-mpmc in every workload. */
static inline int mpmc_bench_push(void *link, const void *buf, size_t len)
{
	return shmbus_mpmc_push(link, buf, len, -1);
}

static inline int mpmc_bench_pop(void *link, void *buf, size_t len)
{
	int rc = shmbus_mpmc_pop(link, buf, len, -1);

	if (rc < 0)
		return rc;
	return (size_t)rc == len ? 0 : -EPROTO;
}

/* A slot count for our ring from @want: within the ring's limits, rounded
 * down to a power of two. */
static inline uint32_t mpmc_bench_slots(uint64_t want)
{
	if (want < SHMBUS_MPMC_SLOTS_MIN)
		want = SHMBUS_MPMC_SLOTS_MIN;
	if (want > SHMBUS_MPMC_SLOTS_MAX)
		want = SHMBUS_MPMC_SLOTS_MAX;
	while (want & (want - 1))
		want &= want - 1;
	return (uint32_t)want;
}

static inline int mpmc_bench_proto(const char *what)
{
	fprintf(stderr, "shmbus-bench: mpmc: %s\n", what);
	return -EPROTO;
}

/* The last consumer of a repeat: the consumers' counts must add up. */
static inline int mpmc_bench_tally(const struct mpmc_bench_cfg *c, uint64_t got)
{
	struct mpmc_bench_shared *sh = c->sh;

	/* Relaxed: the acq_rel fetch_add on consumers_done orders it. */
	atomic_fetch_add_explicit(&sh->received, got, memory_order_relaxed);
	if (atomic_fetch_add_explicit(&sh->consumers_done, 1, memory_order_acq_rel) + 1 !=
	    c->consumers)
		return 0;
	if (atomic_exchange_explicit(&sh->received, 0, memory_order_relaxed) != c->msgs)
		return mpmc_bench_proto("messages lost or duplicated");
	return 0;
}

/*
 * mpmc_bench_roles - the loops.  Inlined into each transport with its own
 * send/recv, so that the calls through @send/@recv become direct.
 */
static MPMC_BENCH_ALWAYS_INLINE int mpmc_bench_roles(struct bench_proc *p,
						     const struct mpmc_bench_cfg *c, void *link,
						     mpmc_send_fn send, mpmc_recv_fn recv)
{
	size_t size = c->msg_size, stamp = size - 1 < 8 ? size - 1 : 8;
	unsigned char *buf = malloc(size);
	uint64_t seq, n, got = 0;
	int rc = 0;
	unsigned i;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0xa5, size);
	if (p->index < c->producers) {
		n = c->msgs / c->producers + (p->index < c->msgs % c->producers);
		buf[0] = MPMC_BENCH_DATA;
		bench_proc_start(p);
		for (seq = 0; seq < n && rc == 0; seq++) {
			memcpy(buf + 1, &seq, stamp);
			rc = send(link, buf, size);
		}
		/* The last producer to finish sends the stops. */
		if (rc == 0 && atomic_fetch_add_explicit(&c->sh->producers_done, 1,
							 memory_order_acq_rel) + 1 == c->producers) {
			buf[0] = MPMC_BENCH_STOP;
			for (i = 0; i < c->consumers && rc == 0; i++)
				rc = send(link, buf, size);
		}
		if (rc == 0)
			bench_proc_done(p, 0, 0);
	} else {
		bench_proc_start(p);
		for (;;) {
			rc = recv(link, buf, size);
			if (rc || buf[0] == MPMC_BENCH_STOP)
				break;
			if (buf[0] != MPMC_BENCH_DATA) {
				rc = mpmc_bench_proto("corrupted message");
				break;
			}
			got++;
		}
		if (rc == 0) {
			bench_proc_done(p, got, got * size);
			rc = mpmc_bench_tally(c, got);
		}
	}
	free(buf);
	return rc;
}

#endif
