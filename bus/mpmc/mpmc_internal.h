/*
 * mpmc_internal.h - the shared layout of an mpmc ring block, the slot state
 * word, the tuning knobs, the private handle, and what the files of the
 * component offer each other.  The state machine that moves slot words is
 * described (with its invariants) in mpmc_claim_internal.h.
 *
 * Files, each calling only files below it (a DAG; the wait loop takes the
 * try call it repeats as a callback):
 *   mpmc.c (open, close, accessors, stats)     mpmc_inspect.c (snapshot)
 *   mpmc_produce.c   mpmc_consume.c            |
 *   mpmc_wait.c                                |
 *   mpmc_stream.c  mpmc_recover.c              |
 *   mpmc_decode.c  mpmc_layout.c  <------------+
 *   (this header and mpmc_claim_internal.h: inline helpers of all of them)
 *
 * Block layout (offsets from 0; every region starts on a 128-byte boundary,
 * so what producers write and what consumers write never share the pair of
 * cache lines Intel fetches together):
 *
 *   0            struct shm_header (common header, kind mpmc)
 *   128          struct mpmc_ctl: geometry (immutable), tail (producers),
 *                head (consumers), two wait queues, the stream word
 *   ctl end      participant table (header's format, 16 bytes an entry)
 *   ...          per-participant counters and recovery journal, 128 bytes
 *                an entry, same index
 *   slots_off    slots[slots], slot_stride bytes each: state word, length,
 *                payload (slot_size bytes, 16-byte aligned)
 *
 * Everything is computed from (slots, slot_size, participants) by
 * mpmc_layout(); an attacher recomputes it and requires every stored offset
 * to match, so a corrupt geometry is refused at open and never bounds a loop.
 */
#ifndef SHMBUS_MPMC_INTERNAL_H
#define SHMBUS_MPMC_INTERNAL_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "header_internal.h"
#include "shmbus/mpmc.h"
#include "waitq_internal.h"

/* 2: the wait queues are eventcounts (waitq_internal.h); a version 1 process
 * would decrement counts that a version 2 wake already dropped. */
#define MPMC_VERSION 2
#define MPMC_REGION 128
#define MPMC_SLOT_ALIGN 64
#define MPMC_GEOM_MAGIC UINT32_C(0x434d504d) /* "MPMC" */

/*
 * The slot state word: | lap (49 bits) | owner (12 bits) | state (3 bits) |.
 * lap = position / slots, kept modulo 2^49 and compared by difference; owner
 * is the participant index of the claimer (0 when EMPTY).  One 64-bit word,
 * so a single CAS both decides a transition and names who made it.
 */
#define MPMC_STATE_BITS 3
#define MPMC_OWNER_BITS 12
#define MPMC_LAP_SHIFT (MPMC_STATE_BITS + MPMC_OWNER_BITS)
#define MPMC_LAP_BITS (64 - MPMC_LAP_SHIFT)
#define MPMC_LAP_MASK ((UINT64_C(1) << MPMC_LAP_BITS) - 1)
#define MPMC_OWNER_MASK ((1u << MPMC_OWNER_BITS) - 1)

enum mpmc_state {
	MPMC_EMPTY = 0,   /* free for a producer of this lap */
	MPMC_WRITING = 1, /* claimed by producer `owner`, being written */
	MPMC_FULL = 2,    /* published (owner: the producer, informational) */
	MPMC_READING = 3, /* claimed by consumer `owner`, being read */
	MPMC_STATE_MAX
};

static_assert(SHMBUS_MPMC_PARTICIPANTS_MAX <= (1u << MPMC_OWNER_BITS), "owner field width");
static_assert(SHMBUS_MPMC_PARTICIPANTS_MAX <= SHMBUS_PARTICIPANTS_MAX, "participant table");

static inline uint64_t mpmc_word(uint64_t lap, uint32_t owner, enum mpmc_state st)
{
	return (lap & MPMC_LAP_MASK) << MPMC_LAP_SHIFT | (uint64_t)owner << MPMC_STATE_BITS |
	       (uint64_t)st;
}

static inline uint64_t mpmc_word_lap(uint64_t w)
{
	return w >> MPMC_LAP_SHIFT;
}

static inline uint32_t mpmc_word_owner(uint64_t w)
{
	return (uint32_t)(w >> MPMC_STATE_BITS) & ((1u << MPMC_OWNER_BITS) - 1);
}

static inline unsigned mpmc_word_state(uint64_t w)
{
	return (unsigned)(w & ((1u << MPMC_STATE_BITS) - 1));
}

/* Signed distance a - b between two laps modulo 2^49. */
static inline int64_t mpmc_lap_diff(uint64_t a, uint64_t b)
{
	return (int64_t)((a - b) << MPMC_LAP_SHIFT) >> MPMC_LAP_SHIFT;
}

/* Immutable after `ready`; an attacher validates a private copy. */
struct mpmc_geom {
	uint32_t magic;         /* MPMC_GEOM_MAGIC */
	uint32_t slots;         /* power of two */
	uint32_t slot_size;     /* payload bytes per slot */
	uint32_t slot_stride;   /* bytes from one slot to the next */
	uint32_t liveness_ms;
	uint32_t participants;  /* == header participants_max */
	uint64_t pstats_off;    /* per-participant counters */
	uint64_t slots_off;
	uint64_t total_size;    /* == header total_size */
	uint8_t reserved[MPMC_REGION - 48];
};

/* One 128-byte region holding a single hot word. */
struct mpmc_pos {
	_Atomic uint64_t value;
	uint8_t pad[MPMC_REGION - 8];
};

struct mpmc_wq {
	struct waitq q;
	uint8_t pad[MPMC_REGION - sizeof(struct waitq)];
};

struct mpmc_ctl {
	struct mpmc_geom geom;
	struct mpmc_pos tail;       /* next position producers claim; CAS by producers */
	struct mpmc_pos head;       /* next position consumers claim; CAS by consumers */
	struct mpmc_wq not_empty;   /* consumers sleep, producers wake */
	struct mpmc_wq not_full;    /* producers sleep, consumers wake */
	struct mpmc_pos stream;     /* end of stream (mpmc_stream.c); RMW by producers,
				     * ENDED set by whoever proves the end; zero (open) in
				     * a new block and in blocks made before it existed */
};

/*
 * Counters of one participant entry, and its recovery journal.  Every field
 * is written only by whoever owns the entry (single writer: relaxed load +
 * store, no RMW): the live participant, or - once it is dead - the process
 * that took the entry over to recover its claims (mpmc_recover.c).  Counters
 * accumulate over successive owners of the entry.
 *
 * `lost` is (claims of this entry recovered) << 1 | pending: pending means a
 * recovery of slot `jslot`, whose claim word was `jword`, may have happened
 * without being counted (its agent died); the next owner settles it.
 */
struct mpmc_pstats {
	_Atomic uint64_t msgs_in;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t full_waits;
	_Atomic uint64_t msgs_out;
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t empty_waits;
	_Atomic uint64_t wakes;
	_Atomic uint64_t lost;       /* see above */
	_Atomic uint64_t reclaims;   /* times this entry was recovered from a dead owner */
	_Atomic uint64_t jslot;
	_Atomic uint64_t jword;
	/* MPMC_ASLEEP_*: set while the owner is inside a wait on that queue
	 * (waitq_wait_marked()); a dead sleeper's count is dropped by
	 * whoever takes the entry over (mpmc_recover_entry()), if no wake
	 * dropped it first.  Zero in blocks made before it existed: the
	 * field was padding. */
	_Atomic uint32_t asleep;
	/* MPMC_MARK_*: whether the producer owning the entry holds the stream
	 * open (mpmc_stream.c).  Written by the entry's owner; cleared by
	 * whoever takes the entry over (mpmc_recover_entry()).  Zero in blocks
	 * made before it existed: the field was reserved. */
	_Atomic uint32_t stream;
	uint8_t pad[MPMC_REGION - 96];
};

#define MPMC_ASLEEP_NOT_EMPTY 1u
#define MPMC_ASLEEP_NOT_FULL 2u

#define MPMC_MARK_NONE 0u   /* a consumer, or a producer that left the stream */
#define MPMC_MARK_OPEN 1u   /* a producer holding the stream open */
#define MPMC_MARK_CLOSED 2u /* a producer that closed it, or joined after its end */

#define MPMC_LOST_PENDING UINT64_C(1)

/*
 * Messages lost with an entry's claims, from its `lost` word and, if a
 * recovery is pending, the current word of the journalled slot: the
 * journalled CAS has happened iff that word moved.  Exact at any instant:
 * the agent's CAS comes before the store that counts it and clears pending.
 */
static inline uint64_t mpmc_lost_count(uint64_t lost_word, uint64_t jword, uint64_t word_now)
{
	return (lost_word >> 1) + ((lost_word & MPMC_LOST_PENDING) && word_now != jword);
}

/* The head of each slot; the payload follows at MPMC_SLOT_HDR. */
struct mpmc_slot {
	_Atomic uint64_t word; /* state word, see above */
	_Atomic uint32_t len;  /* payload length; relaxed, ordered by the word */
	uint32_t reserved;
};
#define MPMC_SLOT_HDR 16

static_assert(sizeof(struct mpmc_geom) == MPMC_REGION, "geom layout");
static_assert(offsetof(struct mpmc_geom, pstats_off) == 24, "geom layout");
static_assert(offsetof(struct mpmc_geom, total_size) == 40, "geom layout");
static_assert(sizeof(struct mpmc_pos) == MPMC_REGION, "pos layout");
static_assert(sizeof(struct mpmc_wq) == MPMC_REGION, "waitq layout");
static_assert(sizeof(struct mpmc_ctl) == 6 * MPMC_REGION, "ctl layout");
static_assert(offsetof(struct mpmc_ctl, tail) == 1 * MPMC_REGION, "ctl layout");
static_assert(offsetof(struct mpmc_ctl, head) == 2 * MPMC_REGION, "ctl layout");
static_assert(offsetof(struct mpmc_ctl, not_empty) == 3 * MPMC_REGION, "ctl layout");
static_assert(offsetof(struct mpmc_ctl, not_full) == 4 * MPMC_REGION, "ctl layout");
static_assert(offsetof(struct mpmc_ctl, stream) == 5 * MPMC_REGION, "ctl layout");
static_assert(sizeof(struct mpmc_pstats) == MPMC_REGION, "pstats layout");
static_assert(offsetof(struct mpmc_pstats, lost) == 56, "pstats layout");
static_assert(offsetof(struct mpmc_pstats, jword) == 80, "pstats layout");
static_assert(offsetof(struct mpmc_pstats, asleep) == 88, "pstats layout");
static_assert(offsetof(struct mpmc_pstats, stream) == 92, "pstats layout");
static_assert(sizeof(struct mpmc_slot) == MPMC_SLOT_HDR, "slot layout");
static_assert(offsetof(struct mpmc_slot, len) == 8, "slot layout");
static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
	      "cross-process atomics must be lock-free");

#define MPMC_CTL_OFF SHMBUS_HEADER_SIZE

/* Where everything goes for a geometry. */
struct mpmc_layout {
	uint32_t slot_stride;
	uint64_t participants_off;
	uint64_t pstats_off;
	uint64_t slots_off;
	uint64_t total_size;
};

/* mpmc_layout.c: geometry and creation. */
/*
 * mpmc_layout - compute the layout of (@slots, @slot_size, @participants).
 * Returns 0 or -EINVAL if a value is out of range.  Used by create and, on a
 * copy of the stored geometry, by every attacher.
 */
int mpmc_layout(uint32_t slots, uint32_t slot_size, uint32_t participants,
		struct mpmc_layout *out);

/*
 * mpmc_geom_check - validate a private copy of the stored geometry against
 * a checked header copy.  Returns 0 or -SHMBUS_ECORRUPT.
 */
int mpmc_geom_check(const struct mpmc_geom *g, const struct shm_header *hdr);

/*
 * Creation in two steps, so that a ring can be laid out inside a block made
 * by someone else (shmbus_manager_create_mpmc() in manager_kinds.c):
 * mpmc_block_size - the bytes of a ring block for @params (defaults
 *   applied; params->mode is not looked at).  Returns 0 or -EINVAL.
 * mpmc_block_build - lay an empty ring for @params out in @mem (zeroed,
 *   writable, @size bytes, exactly mpmc_block_size()), name @manager (a
 *   guardian ident, or SHMBUS_IDENT_NONE) in its header, and publish it.
 *   Returns 0, or -EINVAL (bad params or size; nothing written).
 */
int mpmc_block_size(const struct shmbus_mpmc_params *params, uint64_t *size);
int mpmc_block_build(void *mem, uint64_t size, const struct shmbus_mpmc_params *params,
		     shmbus_ident_t manager);

/*
 * Tuning knobs of the ring, in one place.  None is part of the algorithm:
 * the ring is correct with any value in range, the knobs only decide how
 * fast it goes, and each default was chosen by measurement (the figures and
 * their history: bench/README.md, "MPMC figures moved from source
 * comments").  Whether messages flow gates the first three heuristics:
 *  - flow_run: a handle's messages "flow" once it moved that many since a
 *    claim last found the ring empty (full) (mpmc_flowing()).  A ping-pong
 *    moves one message between two such findings: it never flows, so none
 *    of the heuristics below takes the line the other side is about to use.
 *  - Fetch-ahead (mpmc_fetch_ahead() in mpmc_claim_internal.h): while messages
 *    flow, start fetching the slot `ahead` positions past each claim, so
 *    that its cache misses overlap this message's work.  Only where it
 *    pays (mpmc_ahead()): slot strides of at most ahead_stride_max bytes
 *    (slot_size <= 304), rings of ahead_slots_min slots or more (so that
 *    `ahead` is at most a quarter of the ring: in a smaller one it lands
 *    where the other side works), CPUs that prefetch for writing.
 *  - Blind claims (C3 in mpmc_consume.c): a consumer whose messages flow
 *    and whose buffer fits any message CASes the slot without loading its
 *    word first, guessing the publisher of its last message.
 *  - Batch waits (mpmc_wait.c): a waiter whose last wait was short (ended
 *    within stream_polls polls) and whose last run was flow_run or longer
 *    first polls the slot batch_max positions ahead (at most a quarter
 *    ring) for up to batch_window pause polls, so that the two sides stop
 *    trading a cache line on every message.
 *  - Polling before a futex sleep (mpmc_wait.c): pauses_min + random below
 *    pauses_spread polls with a CPU pause (random, so that processes sharing
 *    CPUs do not switch roles in lockstep), then `yields` polls with
 *    sched_yield() (a handle's own count: shmbus_mpmc_set_yields()).
 * And the hint lag (I5 in mpmc_claim_internal.h): a claimer moves the
 * shared hint once it lags hint_lag_max positions (at most half the ring,
 * mpmc_hint_lag()): the busy path pays a hint CAS once per that many claims.
 */
struct mpmc_knobs {
	uint32_t flow_run;
	uint32_t ahead;
	uint32_t ahead_stride_max;
	uint32_t ahead_slots_min;
	bool blind_claims;
	uint32_t batch_max;
	uint32_t batch_window;
	uint32_t stream_polls;
	uint32_t pauses_min;
	uint32_t pauses_spread;
	uint32_t yields;
	uint32_t hint_lag_max;
};

/* The defaults.  A static const: every use folds to a constant. */
static const struct mpmc_knobs mpmc_knobs = {
	.flow_run = 4,
	.ahead = 4,
	.ahead_stride_max = 320,
	.ahead_slots_min = 16,
	.blind_claims = true,
	.batch_max = 16,
	.batch_window = 64,
	.stream_polls = 8,
	.pauses_min = 20,
	.pauses_spread = 300,
	.yields = SHMBUS_MPMC_YIELDS_DEFAULT,
	.hint_lag_max = 32,
};

/* Fetch-ahead distance for a ring (see mpmc_knobs); 0: never. */
static inline uint32_t mpmc_ahead(uint32_t nslots, uint32_t stride, bool have_prefetch_w)
{
	const struct mpmc_knobs *k = &mpmc_knobs;

	if (!have_prefetch_w || stride > k->ahead_stride_max || nslots < k->ahead_slots_min ||
	    k->ahead > nslots / 4)
		return 0;
	return k->ahead;
}

/* Most a hint may lag behind the first unclaimed position (K of I5). */
static inline uint32_t mpmc_hint_lag(uint32_t nslots)
{
	uint32_t k = nslots / 2;

	return k > mpmc_knobs.hint_lag_max ? mpmc_knobs.hint_lag_max : k ? k : 1;
}

/* One claim (producer) or held message (consumer) of a handle. */
struct mpmc_claim {
	uint64_t word;          /* the state word our CAS installed */
	struct mpmc_slot *slot;
	size_t len;             /* reserved length, or the message's length */
};

struct shmbus_mpmc {
	struct shmbus_block *block;
	const _Atomic uint32_t *lost;   /* SIGBUS guard's mark (block_lost()) */
	struct mpmc_ctl *ctl;
	struct participant *parts;
	struct mpmc_pstats *pstats;     /* all entries */
	struct mpmc_pstats *mine;       /* our entry */
	char *slots;
	/* Private copy of the geometry: never re-read from the block. */
	uint64_t mask;
	uint32_t nslots;
	uint32_t slot_size;
	uint32_t stride;
	uint32_t shift;                 /* log2(nslots) */
	uint32_t nparts;
	uint32_t liveness_ms;
	uint64_t liveness_ns;
	enum shmbus_mpmc_role role;
	/* A producer handle holding the stream open: the one test of the
	 * calls that claim (-EPERM or -EPIPE when false), so that end of
	 * stream costs the busy path nothing over the role test it replaces. */
	bool producing;
	uint32_t idx;                   /* our participant entry */
	shmbus_ident_t me;
	/* The knobs resolved for this handle at open (see struct mpmc_knobs):
	 * the hint lag K, the fetch-ahead distance (0: never), and the yield
	 * polls (shmbus_mpmc_set_yields()). */
	uint32_t hint_lag;
	uint32_t ahead;
	unsigned yields;
	/*
	 * Where this handle's next claim starts looking: one past its last
	 * claim (every position below is claimed, I3), unless the shared hint
	 * is further (mpmc_claim_internal.h).  Private, so the busy path needs
	 * no shared write to find its slot.
	 */
	uint64_t cursor;
	/* Claims held, oldest first: claims[first .. first + nclaims). */
	unsigned first, nclaims;
	struct mpmc_claim claims[SHMBUS_MPMC_BURST_MAX];
	/* The claimed slot we were last blocked on, and since when. */
	uint64_t stuck_word;
	uint64_t stuck_pos;
	uint64_t stuck_since_ns;
	bool stuck_valid;
	unsigned pauses;                /* pause polls of the current wait */
	uint32_t rnd;                   /* xorshift32 state, never 0 */
	/*
	 * Whether messages flow: we moved flow_run messages or more since a
	 * claim last found the ring empty (full) - our count was
	 * @done_at_eagain then, and @run messages had moved since the time
	 * before.  A waiter whose last wait was short (@short_wait) and whose
	 * last @run was long waits for a batch (@batch_wait, mpmc_wait.c).
	 */
	uint64_t done_at_eagain;
	uint64_t run;
	bool short_wait;
	bool batch_wait;
	/* Consumer: the producer entry that published our last message, the
	 * guess for the next one's FULL word (C3 in mpmc_consume.c).  A wrong
	 * guess only costs a retry. */
	uint32_t publisher;
	/* Consumer: the stream word its last look at the end read (a wait
	 * ends when it changes), and when it last looked for dead producers
	 * holding the stream open (mpmc_stream.c: once per liveness timeout). */
	uint64_t stream_seen;
	uint64_t stream_scan_ns;
	bool stream_scanned;
};

/* The slot for position @pos. */
static inline struct mpmc_slot *mpmc_slot_at(const struct shmbus_mpmc *h, uint64_t pos)
{
	return (struct mpmc_slot *)(h->slots + (size_t)(pos & h->mask) * h->stride);
}

static inline uint64_t mpmc_pos_lap(const struct shmbus_mpmc *h, uint64_t pos)
{
	return (pos >> h->shift) & MPMC_LAP_MASK;
}

/* Messages we published (producer) or took (consumer), in our entry. */
static inline uint64_t mpmc_done(const struct shmbus_mpmc *h)
{
	/* Relaxed: our own counter (single writer: us). */
	return atomic_load_explicit(h->role == SHMBUS_MPMC_PRODUCER ? &h->mine->msgs_in :
								     &h->mine->msgs_out,
				    memory_order_relaxed);
}

/* Whether messages flow (see struct mpmc_knobs): not in a ping-pong. */
static inline bool mpmc_flowing(const struct shmbus_mpmc *h)
{
	return mpmc_done(h) - h->done_at_eagain >= mpmc_knobs.flow_run;
}

/* A claim found the ring empty (full): a run of messages ends, unless
 * none moved since the last such finding (a wait retrying). */
static inline void mpmc_note_eagain(struct shmbus_mpmc *h)
{
	uint64_t done = mpmc_done(h);

	if (done != h->done_at_eagain) {
		h->run = done - h->done_at_eagain;
		h->done_at_eagain = done;
	}
}

/* Single-writer counter bump (see struct mpmc_pstats). */
static inline void mpmc_count(_Atomic uint64_t *c, uint64_t n)
{
	/* Relaxed: only the entry's owner writes it; readers want a value,
	 * not an ordering. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* @rc, or -SHMBUS_ESHRUNK if the SIGBUS guard caught the block truncated
 * (shmbus/guard.h): what the call read or claimed then was zeros, and an
 * error it found (e.g. a corrupt word) is the truncation's doing. */
static inline int mpmc_unless_shrunk(const struct shmbus_mpmc *h, int rc)
{
	return block_lost(h->lost) ? -SHMBUS_ESHRUNK : rc;
}

/* Count @n messages lost in our own entry (a dropped corrupt message). */
static inline void mpmc_count_lost(struct shmbus_mpmc *h, uint64_t n)
{
	mpmc_count(&h->mine->lost, 2 * n);
}

/*
 * Whether a word read from the block is well-formed for a ring of @nparts
 * participant entries: a known state, an owner inside the table, and no
 * owner named by EMPTY (no transition makes that).  The one corruption test
 * of a slot word, for the ring and for inspection (mpmc_decode.c) alike.
 */
static inline bool mpmc_word_valid(uint64_t w, uint32_t nparts)
{
	unsigned st = mpmc_word_state(w);
	uint32_t owner = mpmc_word_owner(w);

	if (st >= MPMC_STATE_MAX || owner >= nparts)
		return false;
	return st != MPMC_EMPTY || owner == 0;
}

static inline bool mpmc_word_ok(const struct shmbus_mpmc *h, uint64_t w)
{
	return mpmc_word_valid(w, h->nparts);
}

/* A claim word: WRITING or READING (the states a dead owner leaves). */
static inline bool mpmc_word_claimed(uint64_t w)
{
	unsigned st = mpmc_word_state(w);

	return st == MPMC_WRITING || st == MPMC_READING;
}

/*
 * Whether the word @w at a position of lap distance @d (word lap minus the
 * position's lap) shows that position passed by producers (claimed this lap,
 * or already consumed) or by consumers (being read, or already released or
 * skipped).  A hint may move past a position only once this holds (I3).
 */
static inline bool mpmc_passed_by_producers(int64_t d, uint64_t w)
{
	return (d == 0 && mpmc_word_state(w) != MPMC_EMPTY) ||
	       (d == 1 && mpmc_word_state(w) == MPMC_EMPTY);
}

static inline bool mpmc_passed_by_consumers(int64_t d, uint64_t w)
{
	return (d == 0 && mpmc_word_state(w) == MPMC_READING) || d == 1;
}

/* Wake the sleepers of @wq, counting the wake-up in our entry. */
static inline void mpmc_wake(struct shmbus_mpmc *h, struct mpmc_wq *wq)
{
	/*
	 * A6: seq_cst, and so is every CAS that precedes a wake (publish,
	 * release, cancel, drop, recovery: "W" below).  Against the sleeper's
	 * F1 fence in waitq_wait() (waiters++; fence; re-check), C11's
	 * fence rules (29.3p5/p6 of C11, [atomics.order] in C++) give what
	 * the waker's own fence in waitq_wake() would: if this load
	 * follows F1 in the single total order S, it sees the waiter; if it
	 * precedes F1, so does W (sequenced before it), and the sleeper's
	 * re-check after F1 sees W.  So the busy path pays no fence (on x86
	 * the CAS is a locked instruction and this a plain load); the full
	 * wake, fence included, runs only when somebody sleeps.  A wake
	 * takes every sleeper out of the count, so the calls after it pay
	 * nothing until one sleeps again, and one that died asleep is
	 * forgotten (waitq_internal.h).
	 */
	if (waitq_word_waiters(atomic_load_explicit(&wq->q.word, memory_order_seq_cst)) == 0)
		return;
	if (waitq_wake(&wq->q))
		mpmc_count(&h->mine->wakes, 1);
}

/* Why a try call could not proceed: the position and word it stopped at. */
struct mpmc_block_on {
	uint64_t pos;
	uint64_t word;
};

/*
 * An attempt of a try call: 0 or a count on success, -EAGAIN with @why
 * filled when it must wait, or another negative code.
 */
typedef int (*mpmc_attempt_fn)(struct shmbus_mpmc *h, void *arg, struct mpmc_block_on *why);

/* --- mpmc_decode.c: the one reader of the ring's state ------------------ */

/*
 * Where the decoder reads a ring's state: the live mapping (stats) or
 * private copies (inspect).  Every pointer is to a region of the block
 * that the geometry @g (already validated: mpmc_geom_check()) sizes.
 * Loads of a copy are atomic loads of private memory: nobody else sees it.
 */
struct mpmc_view {
	const struct mpmc_geom *g;
	struct mpmc_ctl *ctl;               /* hints and wait queues */
	struct participant *parts;          /* g->participants entries, or NULL */
	struct mpmc_pstats *pstats;         /* g->participants entries */
	/* Slot k's state word is at words + k * words_stride: the live slots
	 * (stride g->slot_stride), or a copy of the words alone (stride 8).
	 * NULL: no slot area at hand (a huge ring's snapshot); read_word()
	 * then fetches a single word, and positions stay the raw hints. */
	char *words;
	uint64_t words_stride;
	int (*read_word)(const void *src, uint64_t slot, uint64_t *w);
	const void *src;
};

/* What the decoder makes of a view. */
struct mpmc_decoded {
	struct shmbus_mpmc_stats stats;   /* positions, occupancy, counters */
	uint32_t waiting_producers;       /* counted in the not_full queue */
	uint32_t waiting_consumers;       /* counted in the not_empty queue */
	bool census;                      /* the slot counts below are valid */
	uint64_t writing, full, reading, invalid;
};

/*
 * mpmc_decode - decode @v into @out: counters summed over every entry
 * (lost exact, each entry's journal settled against the slot word it names,
 * mpmc_lost_count()), registered roles (if v->parts), positions (the first
 * position each side has not passed, from its hint; without slot words the
 * raw hints), occupancy clamped to 0..slots, waiters, the stream's state
 * (its word, and the entries marked open), and if @want_census
 * (and slot words are at hand) the slot states, in which `invalid` counts
 * the words mpmc_word_valid() refuses.  Bounded: one pass over the entries,
 * at most a lap of steps from each hint, one pass for the census.  Never
 * writes to the block.  Returns 0, or read_word()'s error.
 */
int mpmc_decode(const struct mpmc_view *v, bool want_census, struct mpmc_decoded *out);
/* Messages lost with the claims of entry @idx (< participants) into @lost
 * (see mpmc_lost_count()).  Returns 0, or read_word()'s error. */
int mpmc_decode_lost(const struct mpmc_view *v, uint32_t idx, uint64_t *lost);

/* mpmc.c: the live view of a handle's ring, for the decoder; @g receives
 * the handle's private geometry (the view points to it).  And the lost
 * count of one entry, read through it (tests follow single entries). */
void mpmc_view_of(const struct shmbus_mpmc *h, struct mpmc_geom *g, struct mpmc_view *v);
uint64_t mpmc_entry_lost(const struct shmbus_mpmc *h, uint32_t idx);

/* --- mpmc_stream.c: end of stream -------------------------------------- */
/*
 * The stream word: | gen (32) | epoch (16) | closes (15) | ENDED (1) |.
 * closes: shmbus_mpmc_close_stream() calls in this epoch (saturating);
 * epoch: restarts of an ended stream (mod 2^16); gen: bumped by every
 * change a producer makes, so that a CAS from a value read before a scan
 * of the table fails if any producer joined or quit since.
 */
#define MPMC_STREAM_ENDED UINT64_C(1)
#define MPMC_STREAM_CLOSE_ONE (UINT64_C(1) << 1)
#define MPMC_STREAM_CLOSES_MAX UINT32_C(0x7fff)
#define MPMC_STREAM_EPOCH_SHIFT 16
#define MPMC_STREAM_GEN_ONE (UINT64_C(1) << 32)

static inline uint32_t mpmc_stream_closes(uint64_t w)
{
	return (uint32_t)(w >> 1) & MPMC_STREAM_CLOSES_MAX;
}

static inline uint32_t mpmc_stream_epoch(uint64_t w)
{
	return (uint32_t)(w >> MPMC_STREAM_EPOCH_SHIFT) & 0xffffu;
}

/*
 * mpmc_stream_join - producer @h holds the stream open (at open, and for
 *   reopen): unless it has ended, then the handle starts closed, or with
 *   @restart a new epoch of the stream starts.  Sets h->producing.
 * mpmc_stream_quit - producer @h stops holding it open, having closed it
 *   (@close) or leaving it (close of the handle); if no live producer holds
 *   it open any more and one closed it, ends it and wakes the consumers.
 * mpmc_stream_at_empty - consumer @h found the ring empty at @why (its
 *   @attempt returned -EAGAIN): if the stream has ended (proving it, once
 *   per liveness timeout, when the producers still holding it open may all
 *   be dead), make the attempt once more and return its result, or
 *   -SHMBUS_EEOS if it still finds nothing; else -EAGAIN.
 */
void mpmc_stream_join(struct shmbus_mpmc *h, bool restart);
void mpmc_stream_quit(struct shmbus_mpmc *h, bool close);
int mpmc_stream_at_empty(struct shmbus_mpmc *h, mpmc_attempt_fn attempt, void *arg,
			 struct mpmc_block_on *why);

/* --- mpmc_recover.c: recovery of a dead participant's claims ------------ */
/*
 * mpmc_recover_claim - the waiter's path: @word is a claim it is stuck on;
 *   if the entry it names holds a dead process (or none), take the entry
 *   over, recover all its claims, and give the entry back.  Returns how many
 *   claims it recovered (0: owner alive, or someone else is at it), or
 *   -SHMBUS_ECORRUPT.
 * mpmc_recover_entry - recover every claim of entry @idx, which the caller
 *   owns and whose earlier owners are all gone; first settles a recovery
 *   its previous owner left pending.  Returns how many claims, or
 *   -SHMBUS_ECORRUPT.
 * (shmbus_mpmc_recover(), the explicit sweep, is there too.)
 */
int mpmc_recover_claim(struct shmbus_mpmc *h, uint64_t word);
int mpmc_recover_entry(struct shmbus_mpmc *h, uint32_t idx);

/* --- mpmc_wait.c: blocking and stuck-slot detection --------------------- */
/*
 * mpmc_try_stalled - a try call's @attempt stopped at @why (-EAGAIN): let
 * a stuck slot whose owner is dead be recovered (as the blocking path
 * would), and if one was, make the attempt once more; a consumer still
 * stopped then looks at the end of stream (mpmc_stream_at_empty()).  Off
 * the busy path.  Returns what the attempt returns, -EAGAIN, -SHMBUS_EEOS,
 * -EDEADLK (we hold the very slot we wait for) or a recovery error.
 */
int mpmc_try_stalled(struct shmbus_mpmc *h, mpmc_attempt_fn attempt, void *arg,
		     struct mpmc_block_on *why);
/*
 * mpmc_blocking - run @attempt (a try call) until it succeeds, fails with
 * something else than -EAGAIN, or @timeout_ms passes (-ETIMEDOUT); a
 * consumer's ends with -SHMBUS_EEOS once the stream has ended and the ring
 * is drained (mpmc_stream_at_empty(), asked each time the attempt stops).
 */
int mpmc_blocking(struct shmbus_mpmc *h, mpmc_attempt_fn attempt, void *arg, int timeout_ms);

/*
 * Test hooks, compiled into the test flavour of the library only
 * (SHMBUS_TEST_HOOKS, see the top CMakeLists.txt): called at these points
 * of every claim.  In release objects mpmc_hook() is empty and
 * mpmc_test_hook is not defined (a release object that named it would not
 * link).  The torture test uses them to park a process right where a kill
 * hurts.
 */
enum mpmc_hook_point {
	MPMC_HOOK_CLAIMED,      /* producer: slot claimed, nothing written */
	MPMC_HOOK_WRITTEN,      /* producer: payload written, not published */
	MPMC_HOOK_TAKEN,        /* consumer: message claimed, not read */
	MPMC_HOOK_READ,         /* consumer: message read, not released */
	MPMC_HOOK_RECOVERED,    /* recoverer: slot CAS done, loss not counted */
};
typedef void (*mpmc_hook_fn)(enum mpmc_hook_point point, struct shmbus_mpmc *h);
extern _Atomic(mpmc_hook_fn) mpmc_test_hook;

static inline void mpmc_hook(enum mpmc_hook_point point, struct shmbus_mpmc *h)
{
#ifdef SHMBUS_TEST_HOOKS
	/* Relaxed: set once by a test before it starts workers. */
	mpmc_hook_fn fn = atomic_load_explicit(&mpmc_test_hook, memory_order_relaxed);

	if (__builtin_expect(fn != NULL, 0))
		fn(point, h);
#else
	(void)point;
	(void)h;
#endif
}

#endif /* SHMBUS_MPMC_INTERNAL_H */
