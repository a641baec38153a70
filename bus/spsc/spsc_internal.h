/*
 * spsc_internal.h - the shared layout of an SPSC ring block, the tuning
 * knobs, the private handle, and what the files of the component offer each
 * other.
 *
 * Files, one concern each, each calling only files below it (a DAG; the wait
 * loop takes the try call it repeats as a callback, it never names one):
 *     spsc.c (create, open, close, accessors, stats)   spsc_inspect.c
 *     spsc_produce.c        spsc_consume.c                  |
 *     spsc_wait.c (sleep, wake)                             |
 *     spsc_recover.c (corrupt mark, role takeover)          |
 *     spsc_decode.c (config check, the one state reader) <--+
 *     spsc_layout.c (block size, build)
 *     (this header: the layout, inline helpers of all of them)
 *
 * Layout (offsets in bytes; every region that one side writes is a 128-byte
 * region of its own, because Intel prefetches cache lines in pairs):
 *     0     common header (struct shm_header), kind spsc, version 2
 *     128   config: capacity, data offset (immutable once `ready`)
 *     192   participant table: [0] producer, [1] consumer
 *     256   producer region: head position + producer counters, closed
 *     384   consumer region: tail position + consumer counters
 *     512   wait region: data queue + armed flag (the consumer sleeps there),
 *     576                space queue + armed flag (the producer sleeps there),
 *                        corrupt mark
 *     1024  the ring: `capacity` bytes (a power of two)
 *
 * Positions are free-running 64-bit byte counts (head: bytes ever published,
 * tail: bytes ever freed), masked by capacity - 1 to index the ring; they
 * are compared only by difference, so they may wrap around 2^64.
 * Invariants (checked on every load from the block):
 *     head % 8 == 0, tail % 8 == 0, 0 <= head - tail <= capacity.
 *
 * Records: [tail, head) holds records back to back.  A record is an 8-byte
 * header word (len | size << 32) and its payload; `size` is the whole
 * record (header included), a multiple of 8, >= len + 8 (more when a burst
 * commit shrank a message: the slack stays unused).  A record never crosses
 * the end of the ring: when the next one does not fit before the end, a
 * padding record (len == SPSC_PAD) fills the ring to its end, and the record
 * starts at offset 0.  Padding never starts at offset 0, so at most one
 * padding record precedes a message.
 *
 * Counters are written only by the side that owns their region (a plain
 * relaxed load + store, no read-modify-write), next to that side's position,
 * so keeping them costs no extra cache-line transfer.
 *
 * End of stream: `closed` (producer region, written by the producer alone)
 * is 1 from shmbus_spsc_close_stream() to shmbus_spsc_reopen_stream().  It
 * took 4 bytes of the region's padding, which every ring of this version
 * has zeroed since creation, so the version stays 2: a ring made before
 * reads as open, and a process built before the flag simply never closes
 * a stream nor sees one closed.  The close is a release store after the
 * last head store (R3 after R1); a consumer reads the flag only when the
 * ring looks empty, with acquire (A5), and then looks at head again (A2),
 * so a message committed just before the close is never missed.
 */
#ifndef SHMBUS_SPSC_INTERNAL_H
#define SHMBUS_SPSC_INTERNAL_H

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "header_internal.h"
#include "shmbus/spsc.h"
#include "waitq_internal.h"

/* 2: the wait queues are eventcounts (waitq_internal.h); a version 1 process
 * would decrement counts that a version 2 wake already dropped. */
#define SHMBUS_SPSC_VERSION 2
#define SPSC_REGION 128
#define SPSC_DATA_OFF 1024
#define SPSC_PAD UINT32_C(0xffffffff) /* `len` of a padding record */
#define SPSC_HDR SHMBUS_SPSC_RECORD_HEADER

/* Producer-written region. */
struct spsc_prod {
	_Atomic uint64_t head;
	_Atomic uint64_t msgs_in;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t full_waits;
	_Atomic uint64_t wakes;       /* futex wakes of the consumer */
	_Atomic uint32_t closed;      /* 1: end of stream after head */
	uint8_t pad[SPSC_REGION - 5 * 8 - 4];
};

/* Consumer-written region. */
struct spsc_cons {
	_Atomic uint64_t tail;
	_Atomic uint64_t msgs_out;
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t empty_waits;
	_Atomic uint64_t wakes;       /* futex wakes of the producer */
	uint8_t pad[SPSC_REGION - 5 * 8];
};

struct spsc_shared {
	struct shm_header hdr;
	uint64_t capacity;            /* power of two */
	uint64_t data_off;            /* SPSC_DATA_OFF */
	uint8_t pad0[48];
	struct participant part[2];
	uint8_t pad1[32];
	struct spsc_prod prod;
	struct spsc_cons cons;
	/* Written only by a side that goes to sleep or wakes the other: rare. */
	struct waitq data_wq;  /* the consumer waits for data here */
	_Atomic uint32_t data_armed;  /* 1: the consumer may sleep, wake it */
	uint8_t pad2[52];
	struct waitq space_wq; /* the producer waits for room here */
	_Atomic uint32_t space_armed; /* 1: the producer may sleep, wake it */
	_Atomic uint32_t corrupt;     /* non-zero once a side found garbage */
	uint8_t pad3[48];
	uint8_t pad4[SPSC_DATA_OFF - 640];
};

static_assert(sizeof(struct spsc_shared) == SPSC_DATA_OFF, "spsc layout");
static_assert(offsetof(struct spsc_shared, capacity) == 128, "spsc layout");
static_assert(offsetof(struct spsc_shared, data_off) == 136, "spsc layout");
static_assert(offsetof(struct spsc_shared, part) == 192, "spsc layout");
static_assert(offsetof(struct spsc_shared, prod) == 256, "spsc layout");
static_assert(offsetof(struct spsc_shared, prod.msgs_in) == 264, "spsc layout");
static_assert(offsetof(struct spsc_shared, prod.closed) == 296, "spsc layout");
static_assert(sizeof(struct spsc_prod) == SPSC_REGION, "spsc layout");
static_assert(offsetof(struct spsc_shared, cons) == 384, "spsc layout");
static_assert(offsetof(struct spsc_shared, data_wq) == 512, "spsc layout");
static_assert(offsetof(struct spsc_shared, data_armed) == 520, "spsc layout");
static_assert(offsetof(struct spsc_shared, space_wq) == 576, "spsc layout");
static_assert(offsetof(struct spsc_shared, space_armed) == 584, "spsc layout");
static_assert(offsetof(struct spsc_shared, corrupt) == 588, "spsc layout");
static_assert(sizeof(struct waitq) == 8, "waitq size");
static_assert(SPSC_DATA_OFF % SPSC_REGION == 0, "ring starts on a region");
static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
	      "cross-process atomics must be lock-free");

/*
 * Tuning knobs of the SPSC handle, in one place.  None is part of the
 * algorithm: the ring is correct (no lost wake-up, no hang) with any value,
 * the knobs only trade latency against CPU time and system calls, and only
 * on the blocking calls' waiting path (the _try calls and every fast path
 * read none of them).  Each handle starts with spsc_tuning_default; figures
 * behind the defaults belong in bench/README.md, not here.
 *  - spin: polls a blocking call makes before it sleeps, each one CPU pause
 *    (relax_cpu()) and one load of the other side's position
 *    (shmbus_spsc_set_spin(); public default SHMBUS_SPSC_SPIN_DEFAULT).
 *  - slice_ms: the longest sleep of a handle that cannot rely on membarrier
 *    (q->sliced, spsc_wait.c): what a wake-up it misses costs it, at most.
 *    shmbus/spsc.h states this value to users.
 *  - sleep_cap_ms: the longest sleep of any handle: what a waker killed
 *    inside its wake ("Kills" in waitq_internal.h) costs a sleeper, at most.
 */
struct spsc_tuning {
	unsigned spin;
	int slice_ms;
	int sleep_cap_ms;
};

static const struct spsc_tuning spsc_tuning_default = {
	.spin = SHMBUS_SPSC_SPIN_DEFAULT,
	.slice_ms = 5,
	.sleep_cap_ms = 200,
};

/* The private handle: one role of one ring in this process. */
struct shmbus_spsc {
	/* Hot: read on every call. */
	struct spsc_shared *sh;
	unsigned char *ring;
	uint64_t cap;
	uint64_t mask;
	uint32_t gate;       /* role while healthy, 0 once broken (or, on a
			      * producer, while the stream is closed): one
			      * compare checks all on every call */
	uint32_t role;
	/* Set by the SIGBUS guard when the block was truncated under us
	 * (block_lost_word()); tested with the gate on every call. */
	const _Atomic uint32_t *lost;
	uint64_t max_msg;    /* cap - 8 */
	uint64_t pos;        /* own position as last stored (head or tail) */
	uint64_t other;      /* cached position of the other side */
	/* W3 of spsc_wake() loads this: the other side's armed flag in the
	 * block, or spsc_always_armed when this process cannot use
	 * membarrier (see spsc_set_asym()). */
	_Atomic uint32_t *wake_hint;

	/* Producer: the reservation not yet committed.  res_n is 0 on a
	 * consumer handle and on a broken one, so commit tests it alone. */
	uint32_t res_n;      /* records reserved, 0: none */
	uint32_t res_len;    /* payload length reserved for the first one */
	uint64_t res_pos;    /* position of the first reserved record */
	uint64_t res_size;   /* bursts only: record size of the first one */
	uint64_t res_end;    /* bursts only: position after the last one */
	uint64_t res_bytes;  /* bursts only: payload bytes reserved in all */
	uint64_t want;       /* end position a failed reserve needed */

	/* Consumer: what the last peek found, valid while peek_ok (cleared by
	 * every release, and on a producer or broken handle never set). */
	bool peek_ok;
	bool burst_ok;
	uint32_t peek_len;
	uint64_t peek_end;   /* position after the first message */
	unsigned burst_n;    /* messages the last peek_burst returned */
	uint64_t burst_end;  /* position after the last of them */
	uint64_t burst_bytes;

	/* Cold. */
	struct waitq *wake_wq;  /* the queue the other side sleeps on */
	_Atomic uint32_t *wake_armed;  /* and its armed flag */
	_Atomic uint64_t *wakes;       /* our count of wakes we issued */
	bool broken;         /* found corrupt: every call fails */
	bool sliced;         /* sleep in slices: a waker may skip its fence
			      * while we cannot issue membarrier */
	struct spsc_tuning tune;
	struct shmbus_block *block;
	shmbus_ident_t me;
};

/* For the few helpers of the hot paths that must be inlined to keep each
 * call one function deep (the compiler would not, as they have several
 * callers). */
#define SPSC_HOT static inline __attribute__((always_inline))

/* The header word of the record at position @pos. */
static inline _Atomic uint64_t *spsc_rec(const struct shmbus_spsc *q, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(q->ring + (pos & q->mask));
}

static inline uint64_t spsc_rec_word(uint32_t len, uint64_t size)
{
	return (uint64_t)len | size << 32;
}

/* Record size for a payload of @len bytes: header + payload, 8-aligned. */
static inline uint64_t spsc_rec_size(uint64_t len)
{
	return (len + SPSC_HDR + 7) & ~(uint64_t)7;
}

/* Add @n to a counter this side alone writes: no read-modify-write needed
 * (and the counter sits next to our position, in a line we write anyway).
 * Relaxed: counters order nothing; readers take what they see. */
static inline void spsc_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/*
 * The positions invariant: both 8-aligned, and the producer at most one ring
 * ahead of the consumer (never behind it: unsigned, a head behind the tail
 * is a huge difference).  Every reader of both positions from the block
 * tests it: the takeover at open (acquire loads) and the decoder (relaxed).
 */
static inline bool spsc_positions_ok(uint64_t head, uint64_t tail, uint64_t cap)
{
	return ((head | tail) & 7) == 0 && head - tail <= cap;
}

/* ----------------------------------------------------- spsc_layout.c */
/* Whether @cap is a capacity a ring may have (a power of two in range). */
bool spsc_capacity_ok(uint64_t cap);
/*
 * Creation in two steps, so that a ring can be laid out inside a block made
 * by someone else (shmbus_manager_create_spsc() in manager_kinds.c):
 * spsc_block_size - the bytes of a ring block of @capacity.  Returns 0, or
 *   -EINVAL if @capacity is not a power of two in range.
 * spsc_block_build - lay an empty ring of @capacity out in @mem (zeroed,
 *   writable, @size bytes, exactly spsc_block_size()), name @manager (a
 *   guardian ident, or SHMBUS_IDENT_NONE) in its header, and publish it.
 *   Returns 0, or -EINVAL (bad capacity or size; nothing written).
 */
int spsc_block_size(size_t capacity, uint64_t *size);
int spsc_block_build(void *mem, uint64_t size, size_t capacity, shmbus_ident_t manager);

/* ----------------------------------------------------- spsc_decode.c */
/* A ring's state as the block shows it: what stats and inspect report. */
struct spsc_state {
	uint64_t capacity;
	uint64_t head, tail;
	uint64_t used, free;  /* bytes of records and room; 0 and 0 when corrupt */
	uint64_t msgs_in, bytes_in, full_waits;
	uint64_t msgs_out, bytes_out, empty_waits;
	uint64_t wakes;       /* both sides' */
	uint32_t waiting_producers, waiting_consumers;
	shmbus_ident_t producer, consumer;
	bool producer_alive, consumer_alive;
	bool corrupt;         /* marked in the block, or positions inconsistent */
	bool closed;          /* end of stream (the producer's flag) */
};

/*
 * spsc_decode_config - check the config of a ring whose common header
 * checked out, and give its capacity.  @sh: the live mapping or a copy of
 * the control part (sizeof(*sh) bytes readable once @total_size, the size
 * the header states, is at least that).  Returns 0, or -SHMBUS_ECORRUPT.
 */
int spsc_decode_config(const struct spsc_shared *sh, uint64_t total_size, uint64_t *cap);
/*
 * spsc_decode_state - read positions, counters, waiters, roles and the
 * closed flag of the ring @sh (live or a copy) whose config gave @cap, and
 * tell whether they are consistent.  Reads /proc to tell live roles from
 * dead ones.
 */
void spsc_decode_state(const struct spsc_shared *sh, uint64_t cap, struct spsc_state *out);

/* ---------------------------------------------------- spsc_recover.c */
/* Mark the handle and the block corrupt; returns -SHMBUS_ECORRUPT. */
int spsc_corrupt(struct shmbus_spsc *q);
/*
 * spsc_takeover - take q->role in the ring for q->me (its previous owner
 * absent or dead) and continue from the positions it left; a closed stream
 * stays closed (a producer's gate is shut until it reopens the stream).
 * Needs q->sh, q->cap, q->role, q->gate and q->me.  Returns 0,
 * -SHMBUS_ECORRUPT (a ring marked corrupt, or positions that fail
 * spsc_positions_ok(): then the role is given back), or what part_claim()
 * returns (-EBUSY: a live owner).
 * spsc_takeover_rouse - the last step, once the handle can wake the other
 * side (q->wake_wq set): rouse a sleeper the previous owner may have left
 * unwoken.
 */
int spsc_takeover(struct shmbus_spsc *q);
void spsc_takeover_rouse(struct shmbus_spsc *q);

/* The error every call of @role returns before doing anything, or 0: the
 * gate is shut on a broken handle, on a handle of the other role, and on a
 * producer whose stream is closed; a block truncated under the mapping
 * fails every call. */
static inline int spsc_check(const struct shmbus_spsc *q, uint32_t role)
{
	if (__builtin_expect(block_lost(q->lost) != 0, 0))
		return -SHMBUS_ESHRUNK;
	if (__builtin_expect(q->gate != role, 0))
		return q->broken ? -SHMBUS_ECORRUPT : q->role == role ? -EPIPE : -EPERM;
	return 0;
}

/* ------------------------------------------------------- spsc_wait.c */
/* Register this process for asymmetric fences; true if it can use them. */
bool spsc_asym_register(void);
/* A word that always reads 1 (never written): wake_hint of a handle whose
 * process cannot use membarrier, so that each of its wakes takes the flag
 * with a read-modify-write. */
extern _Atomic uint32_t spsc_always_armed;
/* Whether wakes of @q may skip the fence (its process is registered). */
void spsc_set_asym(struct shmbus_spsc *q, bool asym);
/* The slow part of spsc_wake(). */
void spsc_wake_slow(struct shmbus_spsc *q);

/*
 * spsc_wake - after a position store: wake the other side if its armed flag
 * says it may sleep (and count a real wake).  Inline, so that the busy path
 * (nobody armed) costs two loads and no call.  The argument is in
 * spsc_wait.c (W2, W3).
 */
static inline void spsc_wake(struct shmbus_spsc *q)
{
	/* W2: compiler barrier only: the sleeper's membarrier orders the CPU
	 * side. */
	atomic_signal_fence(memory_order_seq_cst);
	/* W3: relaxed, ordered against S1 by S2.  Without membarrier the hint
	 * is spsc_always_armed: W4 in spsc_wake_slow() always runs. */
	if (__builtin_expect(atomic_load_explicit(q->wake_hint, memory_order_relaxed) == 0, 1))
		return;
	spsc_wake_slow(q);
}

/*
 * spsc_block - the loop of every blocking call: try @attempt; while it says
 * -EAGAIN, spin, then sleep until the other side moves, up to @timeout_ms.
 * Spins q->tune.spin polls, sleeps at most q->tune.slice_ms or
 * q->tune.sleep_cap_ms at a time.  Counts one wait (full_waits or
 * empty_waits, by role) if it had to wait.  Returns what @attempt returned,
 * or -ETIMEDOUT.
 */
int spsc_block(struct shmbus_spsc *q, int (*attempt)(struct shmbus_spsc *q, void *arg),
	       void *arg, int timeout_ms);

#endif /* SHMBUS_SPSC_INTERNAL_H */
