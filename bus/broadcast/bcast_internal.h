/*
 * bcast_internal.h - the shared layout of a broadcast ring block, the
 * ordering protocol, the tuning knobs, the private handle, and what the files
 * of the component offer each other.
 *
 * Files, one concern each, each calling only files below it (a DAG; the wait
 * loop takes the try call it repeats as a callback):
 *     bcast.c (create, open, subscribe, close, accessors, stats)
 *     bcast_produce.c             bcast_subscribe.c        bcast_inspect.c
 *     bcast_wait.c (spin, sleep, wake, corrupt mark)            |
 *     bcast_decode.c (config check, the one state reader) <-----+
 *     bcast_layout.c (block size, build)
 *
 * Layout (bytes; every region one side writes is a 128-byte region of its
 * own, as Intel fetches cache lines in pairs):
 *     0      common header (kind broadcast, version 1)
 *     128    config: capacity, data offset, table offsets, subscribers max,
 *            policy, liveness (immutable once `ready`)
 *     256    producer region: tail, head, ovw, newest, seq, counters, closed
 *     384    wait region: data queue (subscribers sleep there), space queue
 *            (the producer sleeps there), joins, corrupt mark, evicted
 *     512    participant table: [0] producer, [1 + i] subscriber i
 *     S      subscriber table: one 128-byte region per subscriber, written by
 *            its owner only: cursor, active ident, next seq, counters
 *     D      the ring: `capacity` bytes (a power of two); D = data_off
 *
 * Positions are free-running 64-bit byte counts masked by capacity - 1 and
 * compared only by difference.  [head, tail) holds the records kept:
 *     tail   end of the last committed record (the producer's append point)
 *     head   start of the oldest record kept (joiners from the oldest start
 *            there; a reliable producer stores it before checking for joiners)
 *     ovw    "overwrite line": the producer may overwrite the bytes of any
 *            record before it; the seqlock word readers validate against
 *            (ovw <= head; equal except while a reliable producer waits for a
 *            joiner it found below a head it had just stored)
 *     newest start of the newest message, | 1 (0: none yet)
 * Invariants checked on every load: all 8-aligned, ovw <= head <= tail,
 * tail - ovw <= capacity, cursors <= tail.
 *
 * Records: an 8-byte word (len | size << 32) and, for a message, its 8-byte
 * sequence number, then the payload; size (header included) is a multiple of
 * 8 and never crosses the end of the ring: a padding record (len ==
 * BCAST_PAD, word only) fills the end when the next record does not fit.
 *
 * Ordering protocol (each atomic names its partner at its site):
 *  - Publish: the producer writes a record, then stores `seq`, `tail` (R1,
 *    release) and `newest` (R2, release); a subscriber loads `tail` (A1) or
 *    `newest` (A2) with acquire before reading the records they cover.
 *  - Overwrite (seqlock, both policies): before writing over old bytes the
 *    producer stores `ovw` past every record they held, then a release
 *    fence F1, then writes.  A reader reads a record (header, payload), then
 *    an acquire fence F2, then loads `ovw`: if the read saw any byte written
 *    after F1, F1 synchronises with F2 and the load sees the new `ovw`, so
 *    the reader knows its record is gone.
 *  - Reliable gating: the producer moves `ovw` only past records that every
 *    active subscriber has released: cursor stores are releases (R3) and the
 *    producer's scans acquire them (A3).  It caches the minimum and rescans
 *    only when the cache does not allow the move, or when `joins` changed.
 *  - Joining (Dekker): a joiner stores its cursor and active ident, bumps
 *    `joins` (seq_cst) and loads `head` (seq_cst), moving up and retrying if
 *    head passed its cursor; a reliable producer stores `head` (seq_cst),
 *    then loads `joins` (seq_cst) before it moves `ovw`.  One of the two sees
 *    the other: the joiner moves up, or the producer rescans and waits for it.
 *  - End of stream: `closed` is stored after the last tail (R4, release);
 *    a subscriber that finds its cursor at tail loads it with acquire (A4)
 *    and then re-loads tail.
 *  - Waiting: subscribers sleep on data_wq until tail moves or the stream
 *    closes; a reliable producer on space_wq until a cursor moves.  On the
 *    busy paths (commit, release) wakers skip waitq_wake()'s fence: they
 *    look at an armed flag (data_armed, space_armed) that sleepers set
 *    before an asymmetric fence (membarrier); see bcast_wait.c.  Rare
 *    wakes (close_stream, leaving, takeover) use waitq_wake() itself.
 */
#ifndef SHMBUS_BCAST_INTERNAL_H
#define SHMBUS_BCAST_INTERNAL_H

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "header_internal.h"
#include "shmbus/broadcast.h"
#include "waitq_internal.h"

#define SHMBUS_BCAST_VERSION 1
#define BCAST_REGION 128
#define BCAST_PART_OFF 512
#define BCAST_PAD UINT32_C(0xffffffff) /* `len` of a padding record */
#define BCAST_HDR SHMBUS_BCAST_RECORD_HEADER

struct bcast_config {
	uint64_t capacity;
	uint64_t data_off;
	uint32_t subs_off;
	uint32_t subs_max;
	uint32_t policy;
	uint32_t liveness_ms;
	uint8_t pad[32];
};

/* Producer-written region. */
struct bcast_prod {
	_Atomic uint64_t tail;
	_Atomic uint64_t head;
	_Atomic uint64_t ovw;
	_Atomic uint64_t newest;
	_Atomic uint64_t seq;          /* next sequence number */
	_Atomic uint64_t msgs_in;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t full_waits;
	_Atomic uint64_t wakes;
	_Atomic uint32_t closed;
	uint32_t pad0;
	uint8_t pad[BCAST_REGION - 10 * 8];
};

/* Rarely written: by sleepers, joiners, and whoever finds garbage. */
struct bcast_waitr {
	struct waitq data_wq;          /* subscribers wait for data here */
	struct waitq space_wq;         /* the producer waits for room here */
	_Atomic uint64_t joins;        /* bumped by every joiner (seq_cst) */
	_Atomic uint64_t evicted;      /* dead subscribers freed by the producer */
	_Atomic uint64_t sub_wakes;    /* wakes of the producer by subscribers */
	_Atomic uint32_t corrupt;
	_Atomic uint32_t data_armed;   /* a subscriber may sleep on data_wq */
	_Atomic uint32_t space_armed;  /* the producer may sleep on space_wq */
	uint8_t pad[BCAST_REGION - 5 * 8 - 3 * 4];
};

/* One subscriber's region, written by its owner only. */
struct bcast_sub {
	_Atomic uint64_t pos;          /* cursor: next record to read */
	_Atomic uint64_t active;       /* owner's ident while joined, else 0 */
	_Atomic uint64_t next_seq;
	_Atomic uint64_t msgs_out;
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t dropped;
	_Atomic uint64_t waits;
	uint8_t pad[BCAST_REGION - 7 * 8];
};

struct bcast_shared {
	struct shm_header hdr;
	struct bcast_config cfg;
	uint8_t pad0[64];
	struct bcast_prod prod;
	struct bcast_waitr w;
	/* participant table at BCAST_PART_OFF, then the subscriber table */
};

static_assert(sizeof(struct bcast_config) == 64, "bcast layout");
static_assert(sizeof(struct bcast_prod) == BCAST_REGION, "bcast layout");
static_assert(sizeof(struct bcast_waitr) == BCAST_REGION, "bcast layout");
static_assert(sizeof(struct bcast_sub) == BCAST_REGION, "bcast layout");
static_assert(sizeof(struct bcast_shared) == BCAST_PART_OFF, "bcast layout");
static_assert(offsetof(struct bcast_shared, cfg) == 128, "bcast layout");
static_assert(offsetof(struct bcast_shared, cfg.subs_off) == 144, "bcast layout");
static_assert(offsetof(struct bcast_shared, cfg.liveness_ms) == 156, "bcast layout");
static_assert(offsetof(struct bcast_shared, prod) == 256, "bcast layout");
static_assert(offsetof(struct bcast_shared, prod.ovw) == 272, "bcast layout");
static_assert(offsetof(struct bcast_shared, prod.closed) == 328, "bcast layout");
static_assert(offsetof(struct bcast_shared, w) == 384, "bcast layout");
static_assert(offsetof(struct bcast_shared, w.joins) == 400, "bcast layout");
static_assert(offsetof(struct bcast_shared, w.corrupt) == 424, "bcast layout");
static_assert(offsetof(struct bcast_shared, w.data_armed) == 428, "bcast layout");
static_assert(offsetof(struct bcast_shared, w.space_armed) == 432, "bcast layout");
static_assert(offsetof(struct bcast_sub, active) == 8, "bcast layout");
static_assert(offsetof(struct bcast_sub, waits) == 48, "bcast layout");
static_assert(sizeof(struct waitq) == 8, "waitq size");
static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
	      "cross-process atomics must be lock-free");

/*
 * Tuning knobs of a broadcast handle, in one place.  None is part of the
 * algorithm (any value is correct); they trade latency against CPU time and
 * retention.  Figures behind them belong in bench/README.md.
 *  - spin: polls (CPU pause + a load) a blocking call makes before it sleeps.
 *  - sleep_cap_ms: the longest sleep of a subscriber: what a waker killed
 *    inside its wake (waitq_internal.h, "Kills") costs it at most.  The
 *    producer's sleeps are capped by the ring's liveness timeout instead.
 *  - retire_shift: when the producer needs room it retires records up to
 *    capacity >> retire_shift bytes beyond the need, so that it stores the
 *    overwrite line (and in reliable mode checks for joiners) once per that
 *    many bytes, not once per message.
 *  - slice_ms: the longest sleep of a handle that cannot rely on
 *    membarrier (bcast_wait.c, "Fallbacks").
 */
struct bcast_tuning {
	unsigned spin;
	int sleep_cap_ms;
	unsigned retire_shift;
	int slice_ms;
};

static const struct bcast_tuning bcast_tuning_default = {
	.spin = 2000,
	.sleep_cap_ms = 200,
	.retire_shift = 3,
	.slice_ms = 5,
};

/* A checked config: what every open and every snapshot works from. */
struct bcast_cfg {
	uint64_t capacity;
	uint64_t data_off;
	uint32_t subs_off;
	uint32_t subs_max;
	uint32_t policy;
	uint32_t liveness_ms;
};

/* The private handle. */
struct shmbus_bcast {
	struct bcast_shared *sh;
	unsigned char *ring;
	struct participant *part;      /* [0] producer, [1 + i] subscriber i */
	struct bcast_sub *subs;
	struct bcast_cfg cfg;
	uint64_t cap, mask, max_msg;
	uint32_t role;
	uint32_t gate;                 /* role while healthy, 0 once broken */
	const _Atomic uint32_t *lost;  /* SIGBUS guard's mark (block_lost()) */
	bool broken;
	bool reliable;
	struct bcast_tuning tune;
	struct shmbus_block *block;
	shmbus_ident_t me;
	/* W3 of bcast_wake_fast() loads this: the armed flag of the side this
	 * handle wakes on its busy path (producer: data_armed; reliable
	 * subscriber: space_armed), or bcast_always_armed when this process
	 * cannot use membarrier. */
	_Atomic uint32_t *wake_hint;
	bool sliced;                   /* our sleeps cannot rely on membarrier */

	/* Producer. */
	uint64_t tail, head, ovw;      /* as last stored */
	uint64_t seq;                  /* next sequence number */
	uint64_t min_cache;            /* reliable: every active cursor >= it */
	uint64_t joins_seen;
	uint64_t stuck_since_ns;       /* reliable: held since, 0: not held */
	uint64_t pad_at, pad_end;      /* the last padding published alone: a
					* cursor at pad_at holds nothing */
	bool res_ok;                   /* a reservation is pending */
	uint32_t res_len;
	uint64_t res_pos;              /* start of the reserved record */

	/* Subscriber. */
	uint32_t idx;
	struct bcast_sub *mine;
	uint64_t pos;                  /* cursor (also stored in mine->pos) */
	uint64_t next_seq;
	bool seq_known;                /* next_seq is the seq of the record at pos */
	bool lapped;                   /* lapped since the last message: count the
					* gap when the next one is read */
	uint64_t tail_seen;
	unsigned peek_n;               /* messages the last peek returned */
	uint64_t peek_end;             /* position after them */
	uint64_t peek_seq_end;         /* next seq after them */
	uint64_t peek_bytes;
	uint64_t peek_dropped;         /* gap counted before the first of them */
	uint64_t pop_dropped;          /* lost in pop_try calls that returned no
					* message yet: told with the next one */
};

static inline _Atomic uint64_t *bcast_word(const struct shmbus_bcast *b, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(b->ring + (pos & b->mask));
}

static inline uint64_t bcast_rec_size(uint64_t len)
{
	return (len + BCAST_HDR + 7) & ~(uint64_t)7;
}

/* Add to a counter this side alone writes.  Relaxed: counters order
 * nothing; readers take what they see. */
static inline void bcast_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* a <= b for free-running positions (within 2^63 of each other). */
static inline bool bcast_le(uint64_t a, uint64_t b)
{
	return (int64_t)(b - a) >= 0;
}

/* The positions invariant, tested by every reader of them. */
static inline bool bcast_positions_ok(uint64_t ovw, uint64_t head, uint64_t tail, uint64_t cap)
{
	return ((ovw | head | tail) & 7) == 0 && tail - ovw <= cap && head - ovw <= tail - ovw;
}

/*
 * Whether @w is a sane header word for a record at @pos that must end by
 * @limit (a position): inside the ring and [pos, limit), a padding record
 * running exactly to the end of the ring (never from offset 0), or a message
 * with room for its header and payload.
 */
static inline bool bcast_rec_ok(const struct shmbus_bcast *b, uint64_t pos, uint64_t w,
				uint64_t limit)
{
	uint64_t off = pos & b->mask, size = w >> 32;
	uint32_t len = (uint32_t)w;

	if (size < 8 || size & 7 || size > b->cap - off || size > limit - pos)
		return false;
	if (len == BCAST_PAD)
		return off != 0 && size == b->cap - off;
	return size >= BCAST_HDR && len <= size - BCAST_HDR;
}

/*
 * The seqlock's fences (F1, F2).  Under ThreadSanitizer they are out of line
 * (bcast_wait.c): GCC refuses a fence it inlines there (-Wtsan), and TSan
 * does not model fences anyway (only the multi-process tests race, which it
 * does not see).
 */
#if defined(__SANITIZE_THREAD__)
void bcast_fence_acquire(void);
void bcast_fence_release(void);
#else
static inline void bcast_fence_acquire(void)
{
	atomic_thread_fence(memory_order_acquire);
}

static inline void bcast_fence_release(void)
{
	atomic_thread_fence(memory_order_release);
}
#endif

/* Whether the record at @pos may have been overwritten since it was read:
 * the seqlock reader's half. */
static inline bool bcast_gone(const struct shmbus_bcast *b, uint64_t pos)
{
	/* F2: acquire fence, pairs with F1 in ensure_room(): if any byte read
	 * before came from a write after F1, the ovw stored before F1 is
	 * visible to the load below.  Relaxed load: ordered by F2. */
	bcast_fence_acquire();
	return !bcast_le(atomic_load_explicit(&b->sh->prod.ovw, memory_order_relaxed), pos);
}

/* ----------------------------------------------------- bcast_layout.c */
bool bcast_capacity_ok(uint64_t cap);
/* Resolve @p's defaults into @c and compute the block size; -EINVAL. */
int bcast_params_resolve(const struct shmbus_bcast_params *p, struct bcast_cfg *c,
			 uint64_t *size);
/* Lay an empty ring out in zeroed @mem of exactly @size bytes and publish. */
int bcast_block_build(void *mem, uint64_t size, const struct bcast_cfg *c);

/* ----------------------------------------------------- bcast_decode.c */
struct bcast_sub_state {
	uint32_t index;
	shmbus_ident_t ident;
	bool alive;
	bool active;
	uint64_t pos, next_seq, msgs_out, bytes_out, dropped, waits;
	uint64_t lag_messages, lag_bytes;
};

struct bcast_state {
	struct bcast_cfg cfg;
	uint64_t tail, head, ovw, newest, seq;
	uint64_t msgs_in, bytes_in, full_waits, wakes, evicted, joins;
	uint32_t waiting_producer, waiting_subscribers;
	shmbus_ident_t producer;
	bool producer_alive;
	bool closed;
	bool corrupt;
	uint32_t nsubs;                /* entries in use, in subs[] */
	struct bcast_sub_state *subs;  /* cfg.subs_max entries (caller's) */
};

/* Check the config of a block whose header checked out (@sh: live or a copy
 * of at least the control part).  Returns 0 or -SHMBUS_ECORRUPT. */
int bcast_decode_config(const struct bcast_shared *sh, uint64_t total_size,
			struct bcast_cfg *out);
/* Decode positions, counters, closed, roles and each subscriber entry of
 * @sh (live mapping or a copy of data_off bytes).  @out->subs must have room
 * for cfg->subs_max entries (or be NULL: no per-subscriber detail). */
void bcast_decode_state(const struct bcast_shared *sh, const struct bcast_cfg *cfg,
			struct bcast_state *out);
/* Decode subscriber entry @index alone (no allocation, no other entry):
 * 0, -EINVAL (index out of range), -ENOENT (nobody holds it),
 * -SHMBUS_ECORRUPT (its cursor is impossible; @st is filled anyway). */
int bcast_decode_sub(const struct bcast_shared *sh, const struct bcast_cfg *cfg, uint32_t index,
		     struct bcast_sub_state *st);

/* ------------------------------------------------------- bcast_wait.c */
/* Mark the handle and block corrupt; returns -SHMBUS_ECORRUPT. */
int bcast_corrupt(struct shmbus_bcast *b);
/* The error every call returns first, or 0: a block truncated under the
 * mapping (shmbus/guard.h), a broken handle, one of the other role. */
static inline int bcast_check(const struct shmbus_bcast *b, uint32_t role)
{
	if (__builtin_expect(block_lost(b->lost) != 0, 0))
		return -SHMBUS_ESHRUNK;
	if (__builtin_expect(b->gate != role, 0))
		return b->broken ? -SHMBUS_ECORRUPT : -EPERM;
	return 0;
}
/* Wake sleepers of @wq after a release store; count a real wake in @wakes.
 * The full protocol (a seq_cst fence): for rare wakes. */
void bcast_wake(struct waitq *wq, _Atomic uint64_t *wakes);
/* A word that always reads 1 (never written): the wake_hint of a handle
 * whose process cannot use membarrier. */
extern _Atomic uint32_t bcast_always_armed;
/* Set b->wake_hint and b->sliced at open (registers the process). */
void bcast_asym_setup(struct shmbus_bcast *b);
/* The slow part of bcast_wake_fast(): W4 and the wake. */
void bcast_wake_slow(_Atomic uint32_t *armed, struct waitq *wq, _Atomic uint64_t *wakes);

/*
 * bcast_wake_fast - after a release store on a busy path (commit, release):
 * wake the sleepers of @wq if @armed says one may sleep, without a fence
 * when nobody is armed: two loads and no call.  The argument is in
 * bcast_wait.c (W2, W3).
 */
static inline void bcast_wake_fast(const struct shmbus_bcast *b, _Atomic uint32_t *armed,
				   struct waitq *wq, _Atomic uint64_t *wakes)
{
	/* W2: compiler barrier only: the sleeper's membarrier orders the CPU
	 * side. */
	atomic_signal_fence(memory_order_seq_cst);
	/* W3: relaxed, ordered against S1 by S2.  Without membarrier the hint
	 * is bcast_always_armed: W4 in bcast_wake_slow() always runs. */
	if (__builtin_expect(atomic_load_explicit(b->wake_hint, memory_order_relaxed) == 0, 1))
		return;
	bcast_wake_slow(armed, wq, wakes);
}
uint64_t bcast_now_ns(void);
/*
 * bcast_block - the loop of every blocking call: try @attempt; while it
 * returns -EAGAIN, spin b->tune.spin polls of @moved, then sleep on the
 * role's queue until @moved says something changed, up to @timeout_ms.
 * Counts one wait if it had to wait.  Returns what @attempt returned, or
 * -ETIMEDOUT.
 */
int bcast_block(struct shmbus_bcast *b, int (*attempt)(struct shmbus_bcast *b, void *arg),
		bool (*moved)(void *arg), void *arg, int timeout_ms);

#endif /* SHMBUS_BCAST_INTERNAL_H */
