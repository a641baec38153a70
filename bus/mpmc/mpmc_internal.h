/*
 * mpmc_internal.h - the shared layout of an mpmc ring block, the slot state
 * word, and the private handle.  The state machine that moves slot words is
 * described (with its invariants) at the top of mpmc_ring.c.
 *
 * Block layout (offsets from 0; every region starts on a 128-byte boundary,
 * so what producers write and what consumers write never share the pair of
 * cache lines Intel fetches together):
 *
 *   0            struct shm_header (common header, kind mpmc)
 *   128          struct mpmc_ctl: geometry (immutable), tail (producers),
 *                head (consumers), two wait queues
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
	uint8_t reserved[MPMC_REGION];
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
	uint32_t reserved;
	uint8_t pad[MPMC_REGION - 96];
};

#define MPMC_ASLEEP_NOT_EMPTY 1u
#define MPMC_ASLEEP_NOT_FULL 2u

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
static_assert(sizeof(struct mpmc_pstats) == MPMC_REGION, "pstats layout");
static_assert(offsetof(struct mpmc_pstats, lost) == 56, "pstats layout");
static_assert(offsetof(struct mpmc_pstats, jword) == 80, "pstats layout");
static_assert(offsetof(struct mpmc_pstats, asleep) == 88, "pstats layout");
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

/* One claim (producer) or held message (consumer) of a handle. */
struct mpmc_claim {
	uint64_t word;          /* the state word our CAS installed */
	struct mpmc_slot *slot;
	size_t len;             /* reserved length, or the message's length */
};

struct shmbus_mpmc {
	struct shmbus_block *block;
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
	uint32_t idx;                   /* our participant entry */
	shmbus_ident_t me;
	/*
	 * Where this handle's next claim starts looking: one past its last
	 * claim (every position below is claimed, I3), unless the shared hint
	 * is further (mpmc_ring.c).  Private, so the busy path needs no shared
	 * write to find its slot.
	 */
	uint64_t cursor;
	uint32_t hint_lag;              /* K of I5 in mpmc_ring.c */
	/* Claims held, oldest first: claims[first .. first + nclaims). */
	unsigned first, nclaims;
	struct mpmc_claim claims[SHMBUS_MPMC_BURST_MAX];
	/* The claimed slot we were last blocked on, and since when. */
	uint64_t stuck_word;
	uint64_t stuck_pos;
	uint64_t stuck_since_ns;
	bool stuck_valid;
	unsigned spin;                  /* yields before a blocking call sleeps */
	unsigned pauses;                /* pause polls of the current wait */
	uint32_t rnd;                   /* xorshift32 state, never 0 */
	/*
	 * Whether messages flow: we moved MPMC_FLOW_RUN messages or more
	 * since a claim last found the ring empty (full) - our count was
	 * @done_at_eagain then, and @run messages had moved since the time
	 * before.  A consumer whose messages flow claims without loading
	 * first (C3 in mpmc_ring.c); a waiter whose last wait was short
	 * (@short_wait) and whose last @run was long waits for a batch
	 * (@batch_wait, mpmc_wait.c).  A ping-pong moves one message
	 * between two empty findings: neither.
	 */
	uint64_t done_at_eagain;
	uint64_t run;
	bool short_wait;
	bool batch_wait;
	/* Consumer: the producer entry that published our last message, the
	 * guess for the next one's FULL word (mpmc_ring.c, C3).  A wrong
	 * guess only costs a retry. */
	uint32_t publisher;
	/* Positions ahead of a claim whose slot the claimer fetches while
	 * messages flow (mpmc_ring.c, fetch_ahead()); 0: never. */
	uint32_t ahead;
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

#define MPMC_FLOW_RUN 4u

/*
 * Fetch-ahead (fetch_ahead() in mpmc_ring.c), MPMC_AHEAD positions past each
 * claim, where it was measured to pay: a slot stride (16-byte head plus
 * slot_size, rounded up to 64) of at most MPMC_AHEAD_STRIDE_MAX, i.e.
 * slot_size <= 304 (at 1 KiB it cost 35 %); a CPU that prefetches for
 * writing; and a ring of MPMC_AHEAD_SLOTS_MIN slots or more, so that four
 * ahead is at most a quarter of the ring - in a smaller one it would land
 * where the other side works.
 */
#define MPMC_AHEAD 4u
#define MPMC_AHEAD_STRIDE_MAX 320u
#define MPMC_AHEAD_SLOTS_MIN 16u
static_assert(MPMC_AHEAD * 4 <= MPMC_AHEAD_SLOTS_MIN, "fetch-ahead: at most a quarter ring");

static inline uint32_t mpmc_ahead(uint32_t nslots, uint32_t stride, bool have_prefetch_w)
{
	if (!have_prefetch_w || stride > MPMC_AHEAD_STRIDE_MAX || nslots < MPMC_AHEAD_SLOTS_MIN)
		return 0;
	return MPMC_AHEAD;
}

/* Whether messages flow (see struct shmbus_mpmc): not in a ping-pong. */
static inline bool mpmc_flowing(const struct shmbus_mpmc *h)
{
	return mpmc_done(h) - h->done_at_eagain >= MPMC_FLOW_RUN;
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

/* Whether a word read from the block is well-formed for this ring. */
static inline bool mpmc_word_ok(const struct shmbus_mpmc *h, uint64_t w)
{
	unsigned st = mpmc_word_state(w);
	uint32_t owner = mpmc_word_owner(w);

	if (st >= MPMC_STATE_MAX || owner >= h->nparts)
		return false;
	return st != MPMC_EMPTY || owner == 0;
}

/* Why a try call could not proceed: the position and word it stopped at. */
struct mpmc_block_on {
	uint64_t pos;
	uint64_t word;
};

/* mpmc_ring.c: the lock-free core. */
/*
 * mpmc_claim_one - producer: claim the slot at the tail for @len bytes.
 * mpmc_peek_one - consumer: claim the message at the head, unless it is
 *   longer than @max_len (-EMSGSIZE, nothing taken); a message whose length
 *   is impossible is taken and dropped (-SHMBUS_ECORRUPT, lost + 1).
 * Both return 0 (the claim is the newest in h->claims), -EAGAIN with @why
 * filled, -ENOBUFS, -SHMBUS_ECORRUPT.
 */
int mpmc_claim_one(struct shmbus_mpmc *h, size_t len, struct mpmc_block_on *why);
int mpmc_peek_one(struct shmbus_mpmc *h, size_t max_len, struct mpmc_block_on *why);
/*
 * The copying calls' busy path, with no entry in the handle's claim list
 * (the claim lives only inside the call): claim, copy, publish / claim,
 * copy, release.  mpmc_push_one returns 0, mpmc_pop_one the length; both
 * -EAGAIN with @why filled, -ECANCELED, -SHMBUS_ECORRUPT; pop also
 * -EMSGSIZE (longer than @size: not taken).
 */
int mpmc_push_one(struct shmbus_mpmc *h, const void *data, size_t len,
		  struct mpmc_block_on *why);
int mpmc_pop_one(struct shmbus_mpmc *h, void *buf, size_t size, struct mpmc_block_on *why);
/* Finish the oldest claim: 0, or -ECANCELED if it had been recovered. */
int mpmc_publish_one(struct shmbus_mpmc *h, size_t len);
int mpmc_release_one(struct shmbus_mpmc *h);
void mpmc_cancel_one(struct shmbus_mpmc *h);
/*
 * mpmc_take - claim one (mpmc_zc.c): a producer's slot for @len bytes, or a
 * consumer's next message of at most @len bytes; without waiting if
 * @timeout_ms is NULL (but recovering a stuck slot as the blocking path
 * would).  Returns 0 (the claim is the newest), or a negative code.
 */
int mpmc_take(struct shmbus_mpmc *h, size_t len, const int *timeout_ms);

static inline void *mpmc_payload(const struct mpmc_claim *cl)
{
	return (char *)cl->slot + MPMC_SLOT_HDR;
}

/* The newest / oldest claim of a handle that holds one. */
static inline struct mpmc_claim *mpmc_claim_newest(struct shmbus_mpmc *h)
{
	return &h->claims[(h->first + h->nclaims - 1) % SHMBUS_MPMC_BURST_MAX];
}

static inline struct mpmc_claim *mpmc_claim_oldest(struct shmbus_mpmc *h)
{
	return &h->claims[h->first];
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

/* Most a hint may lag behind the first unclaimed position (I5). */
#define MPMC_HINT_LAG_MAX 32u

static inline uint32_t mpmc_hint_lag(uint32_t nslots)
{
	uint32_t k = nslots / 2;

	return k > MPMC_HINT_LAG_MAX ? MPMC_HINT_LAG_MAX : k ? k : 1;
}
/*
 * mpmc_recover.c: recovery of a dead participant's claims.
 * mpmc_recover_claim - the waiter's path: @word is a claim it is stuck on;
 *   if the entry it names holds a dead process (or none), take the entry
 *   over, recover all its claims, and give the entry back.  Returns how many
 *   claims it recovered (0: owner alive, or someone else is at it), or
 *   -SHMBUS_ECORRUPT.
 * mpmc_recover_entry - recover every claim of entry @idx, which the caller
 *   owns and whose earlier owners are all gone; first settles a recovery
 *   its previous owner left pending.  Returns how many claims, or
 *   -SHMBUS_ECORRUPT.
 */
int mpmc_recover_claim(struct shmbus_mpmc *h, uint64_t word);
int mpmc_recover_entry(struct shmbus_mpmc *h, uint32_t idx);
/* Count @n messages lost in our own entry (a dropped corrupt message). */
void mpmc_count_lost(struct shmbus_mpmc *h, uint64_t n);
/* Messages lost with the claims of entry @idx (see mpmc_lost_count()). */
uint64_t mpmc_entry_lost(const struct shmbus_mpmc *h, uint32_t idx);
/* Settle the pending recovery of a dead entry, if any (the sweep). */
int mpmc_settle_entry(struct shmbus_mpmc *h, uint32_t idx);
/*
 * mpmc_sweep_sleepers - recover every entry whose owner died asleep (its
 * entry, and with it the count it left in a wait queue until the next wake
 * of that queue).  Reads /proc once per entry marked asleep.  Returns how
 * many entries it recovered, or -SHMBUS_ECORRUPT.
 */
int mpmc_sweep_sleepers(struct shmbus_mpmc *h);
/* Wake the sleepers of @wq, counting the wake-up. */
void mpmc_wake(struct shmbus_mpmc *h, struct mpmc_wq *wq);

/* mpmc_wait.c: blocking and stuck-slot detection. */
uint64_t mpmc_now_ns(void);
/*
 * mpmc_stalled - a try call stopped at @why.  If the word there is a claim
 * that has not moved for the liveness timeout and its owner is dead, recover
 * it.  Returns 1 if something was recovered (retry now), 0, or a negative
 * code.
 */
int mpmc_stalled(struct shmbus_mpmc *h, const struct mpmc_block_on *why);
/* Wait until @why changes, the deadline passes, or a liveness period ends. */
int mpmc_wait(struct shmbus_mpmc *h, const struct mpmc_block_on *why,
	      const struct timespec *deadline);
/*
 * mpmc_try_stalled - a try call's @attempt stopped at @why (-EAGAIN): let
 * mpmc_stalled() recover the slot if its owner is dead, and if it did, make
 * the attempt once more.  Off the busy path.  Returns what the attempt
 * returns, -EAGAIN, or mpmc_stalled()'s error.
 */
int mpmc_try_stalled(struct shmbus_mpmc *h,
		     int (*attempt)(struct shmbus_mpmc *h, void *arg, struct mpmc_block_on *why),
		     void *arg, struct mpmc_block_on *why);
/*
 * mpmc_blocking - run @attempt (a try call) until it succeeds, fails with
 * something else than -EAGAIN, or @timeout_ms passes (-ETIMEDOUT).
 */
int mpmc_blocking(struct shmbus_mpmc *h, int (*attempt)(struct shmbus_mpmc *h, void *arg,
							 struct mpmc_block_on *why),
		  void *arg, int timeout_ms);

/*
 * Test hooks: when set, called at these points of every claim.  Always
 * compiled in; inert (one relaxed load) unless a test sets the pointer.
 * The torture test uses them to park a process right where a kill hurts.
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
	/* Relaxed: set once by a test before it starts workers. */
	mpmc_hook_fn fn = atomic_load_explicit(&mpmc_test_hook, memory_order_relaxed);

	if (__builtin_expect(fn != NULL, 0))
		fn(point, h);
}

#endif /* SHMBUS_MPMC_INTERNAL_H */
