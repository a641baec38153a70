/*
 * slots_access.c - reading and writing slots: the per-slot seqlock of lists
 * that shmbus created, and get/set/count/index/format on top of it.
 *
 * Protocol (guarded lists; Boehm, MSPC 2012, fence-based seqlock):
 *   writer: claim guard.writer by CAS 0 -> me (C1), or from a dead owner
 *           (C2); seq = seq + 1, odd (R2; after a dead writer an RMW, R2',
 *           that continues the latest value); release fence F1; relaxed
 *           stores of format, code and data; seq = odd + 1 (R1); writer = 0
 *           (R3).
 *   reader: s0 = seq (A1), wait while odd; relaxed loads of format, code,
 *           data; acquire fence F2; s1 = seq; retry unless s1 == s0.
 * If a reader's relaxed load saw any store made after F1, then F1
 * synchronises with F2 and the odd seq (stored before F1) is visible to the
 * s1 load: the reader retries.  If s1 == s0 no store of a write that began
 * after s0 was seen, and A1 read R1 of the last completed write: the copy is
 * exactly that write's value.  All shared data is accessed as relaxed
 * 64-bit (or byte) atomics, so there is no data race in C11's sense, and on
 * x86-64 and arm64 these are plain loads and stores.
 *
 * Invariant: every loop bound and every offset comes from the handle's
 * checked private copy of the offset table, never from the live block.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relax_internal.h"
#include "slots_internal.h"
#include "time_internal.h"

/*
 * ThreadSanitizer cannot model fences, and GCC refuses them under it
 * (-Wtsan).  There the seqlock orders one access at a time instead: every
 * data load is acquire and every data store release, which gives the same
 * two edges as F1/F2 (a store after the odd seq carries it along; a load
 * that sees such a store orders the seq re-read after it).  Elsewhere the
 * data accesses are relaxed and the two fences do the ordering once.
 */
#if defined(__SANITIZE_THREAD__)
#define DATA_LOAD memory_order_acquire
#define DATA_STORE memory_order_release
#define SEQLOCK_FENCE(order) ((void)0)
#else
#define DATA_LOAD memory_order_relaxed
#define DATA_STORE memory_order_relaxed
#define SEQLOCK_FENCE(order) atomic_thread_fence(order)
#endif

/* Yields between liveness checks of a slot's writer (one /proc read each). */
#define CHECK_EVERY 256u
/* Busy spins before yielding the CPU. */
#define SPINS 16u
/* Yields before sleeping between looks: a writer that has not finished by
 * then is stopped or descheduled, and spinning would only burn a CPU. */
#define YIELDS 1024u
/* The sleep between looks after that, in ns. */
#define NAP_NS 100000L
/* Looks between two readings of the clock (a vDSO call each). */
#define CLOCK_EVERY 16u

/*
 * The caller's ident, for writer claims, without the getpid() system call
 * that shmbus_proc_self() makes on every call to notice a fork (it would be
 * most of the cost of a set).  Cached here instead and forgotten in the
 * child by a pthread_atfork() handler, which fork(3) runs.  A process made
 * by a raw clone() that bypasses fork(3) must not share a handle's writes
 * with its parent (it would claim slots under the parent's ident).
 */
#ifdef SHMBUS_TEST_HOOKS
_Atomic(slots_hook_fn) slots_test_hook;
#endif

static _Atomic shmbus_ident_t self_cache;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void self_forget(void)
{
	/* Relaxed: the child has one thread. */
	atomic_store_explicit(&self_cache, SHMBUS_IDENT_NONE, memory_order_relaxed);
}

/* Written once under self_once; pthread_once() orders it for readers. */
static bool self_cacheable;

static void self_register(void)
{
	/* Without the handler (ENOMEM) the ident is never cached. */
	self_cacheable = pthread_atfork(NULL, NULL, self_forget) == 0;
}

static shmbus_ident_t self_ident(void)
{
	/* Relaxed: any thread may compute and store the same value. */
	shmbus_ident_t id = atomic_load_explicit(&self_cache, memory_order_relaxed);

	if (id != SHMBUS_IDENT_NONE)
		return id;
	pthread_once(&self_once, self_register);
	id = shmbus_proc_self();
	if (self_cacheable)
		atomic_store_explicit(&self_cache, id, memory_order_relaxed);
	return id;
}

/*
 * A bounded wait on a slot's guard: every loop that waits for another
 * process (a reader for an even sequence, a writer for the claim) counts its
 * looks here, so none waits longer than the handle's timeout.
 */
struct slot_wait {
	int timeout_ms;           /* the handle's; 0: never wait */
	unsigned spins;           /* looks so far */
	struct timespec deadline; /* CLOCK_MONOTONIC, set on the first look */
};

static void wait_init(struct slot_wait *w, const struct shmbus_slots *sl)
{
	w->timeout_ms = sl->timeout_ms;
	w->spins = 0;
}

/*
 * One more look: back off, then say whether the deadline has passed.
 * Returns 0 (look again) or -ETIMEDOUT.  The clock is read on the first
 * look and then every CLOCK_EVERY looks, so the fast path never reads it.
 */
static int wait_tick(struct slot_wait *w)
{
	const struct timespec nap = { 0, NAP_NS };
	struct timespec now;
	unsigned spins = w->spins++;

	if (w->timeout_ms <= 0)
		return -ETIMEDOUT;
	if (spins % CLOCK_EVERY == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (spins == 0) {
			w->deadline.tv_sec = now.tv_sec + w->timeout_ms / 1000;
			w->deadline.tv_nsec = now.tv_nsec + (long)(w->timeout_ms % 1000) * 1000000L;
			if (w->deadline.tv_nsec >= 1000000000L) {
				w->deadline.tv_sec++;
				w->deadline.tv_nsec -= 1000000000L;
			}
		} else if (!ts_before(&now, &w->deadline)) {
			return -ETIMEDOUT;
		}
	}
	if (spins < SPINS)
		relax_cpu();
	else if (spins < YIELDS)
		sched_yield();
	else
		nanosleep(&nap, NULL);
	return 0;
}

static _Atomic uint64_t *word_at(const struct shmbus_slots *sl, uint64_t off)
{
	/* Every offset used is 8-aligned (checked slots, fmt_off = data_off +
	 * D with D a multiple of 8) and inside the checked python_size. */
	return (_Atomic uint64_t *)(void *)(sl->base + off);
}

static _Atomic int8_t *code_at(const struct shmbus_slots *sl, uint64_t i)
{
	return (_Atomic int8_t *)(void *)(sl->base + sl->lay.code_off + i);
}

int slots_norm_index(const struct shmbus_slots *sl, int64_t index, uint64_t *i)
{
	uint64_t n = sl->lay.n;
	/* Every per-slot call starts here: a block truncated under the
	 * mapping (shmbus/guard.h) fails it before anything is read. */
	int rc = shmbus_block_check(sl->block);

	if (rc)
		return rc;

	if (index < 0) {
		/* -(index + 1) cannot overflow, even for INT64_MIN. */
		uint64_t back = (uint64_t)(-(index + 1));

		if (back >= n)
			return -ERANGE;
		*i = n - 1 - back;
		return 0;
	}
	if ((uint64_t)index >= n)
		return -ERANGE;
	*i = (uint64_t)index;
	return 0;
}

/* Length of the value in slot @i without trailing NULs, scanning back. */
static size_t slot_stripped_len(const struct shmbus_slots *sl, uint64_t slot, uint64_t cap)
{
	uint64_t w;

	for (w = cap / 8; w > 0; w--) {
		/* DATA_LOAD: validated by the caller's seqlock check. */
		uint64_t v = atomic_load_explicit(word_at(sl, slot + 8 * (w - 1)),
						  DATA_LOAD);

		if (v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/* The last non-zero byte is the highest non-zero one. */
			return (size_t)(8 * (w - 1)) + (size_t)((63 - __builtin_clzll(v)) / 8 + 1);
#else
			unsigned char b[8];

			memcpy(b, &v, sizeof(b));
			return (size_t)(8 * (w - 1)) + slot_bytes_stripped_len(b, sizeof(b));
#endif
		}
	}
	return 0;
}

int slots_fill_sfmt(struct shmbus_slots *sl)
{
	uint64_t i;
	int8_t code;
	char fmt[8];

	sl->sfmt = malloc((sl->lay.n ? sl->lay.n : 1) * sizeof(*sl->sfmt));
	if (!sl->sfmt)
		return -ENOMEM;
	for (i = 0; i < sl->lay.n; i++) {
		slot_encode(SHMBUS_SLOT_STR, slots_cap(sl, i), fmt, &code);
		sl->sfmt[i] = slot_fmt_word(fmt);
	}
	return 0;
}

/* slot_decode() with the format as a word and the str format of
 * the slot precomputed: the same rules, without formatting "%ds". */
static int decode_word(const struct shmbus_slots *sl, uint64_t i, uint64_t fw, int8_t code,
		       enum shmbus_slot_type *type)
{
	switch (code) {
	case SHMBUS_SLOT_CODE_PLAIN:
		if (fw == slot_fmt_word("q\0\0\0\0\0\0\0"))
			*type = SHMBUS_SLOT_INT;
		else if (fw == slot_fmt_word("d\0\0\0\0\0\0\0"))
			*type = SHMBUS_SLOT_FLOAT;
		else if (fw == slot_fmt_word("xxxxxxx?"))
			*type = SHMBUS_SLOT_BOOL;
		else
			return -SHMBUS_ECORRUPT;
		return 0;
	case SHMBUS_SLOT_CODE_STR:
	case SHMBUS_SLOT_CODE_BYTES:
		if (fw != sl->sfmt[i])
			return -SHMBUS_ECORRUPT;
		*type = code == SHMBUS_SLOT_CODE_STR ? SHMBUS_SLOT_STR : SHMBUS_SLOT_BYTES;
		return 0;
	case SHMBUS_SLOT_CODE_NONE:
		if (fw != slot_fmt_word("xxxxxx?x"))
			return -SHMBUS_ECORRUPT;
		*type = SHMBUS_SLOT_NONE;
		return 0;
	default:
		return -SHMBUS_ECORRUPT;
	}
}

/* The copy itself: relaxed loads only (checked by the caller's seqlock).
 * Inlined: it is most of a get. */
static inline __attribute__((always_inline)) void
copy_body(const struct shmbus_slots *sl, uint64_t i, struct slot_copy *c, void *buf,
	  size_t bufsize, bool data)
{
	uint64_t slot = sl->lay.data_off + sl->off[i], cap = slots_cap(sl, i);
	uint64_t fw, w, ncopy, high = 0;
	unsigned char *dst = buf;

	/* DATA_LOAD (all three): validated by the seqlock, or, in Python's
	 * lists, as good as Python's own unsynchronised reads. */
	fw = atomic_load_explicit(word_at(sl, sl->lay.fmt_off + 8 * i), DATA_LOAD);
	memcpy(c->fmt, &fw, sizeof(c->fmt));
	c->code = atomic_load_explicit(code_at(sl, i), DATA_LOAD);
	c->word = atomic_load_explicit(word_at(sl, slot), DATA_LOAD);
	c->len = 0;
	c->ascii = false;
	c->decode_rc = decode_word(sl, i, fw, c->code, &c->type);
	if (!data || c->decode_rc || (c->type != SHMBUS_SLOT_STR && c->type != SHMBUS_SLOT_BYTES))
		return;
	c->len = slot_stripped_len(sl, slot, cap);
	ncopy = c->len < bufsize ? c->len : bufsize;
	/* Whole words, then the last part-word once: a copy of a
	 * constant size is one store, a variable one is a call. */
	for (w = 0; 8 * w + 8 <= ncopy; w++) {
		/* DATA_LOAD: as above. */
		uint64_t v = atomic_load_explicit(word_at(sl, slot + 8 * w), DATA_LOAD);

		memcpy(dst + 8 * w, &v, 8);
		high |= v;
	}
	if (ncopy % 8) {
		/* DATA_LOAD: as above. */
		uint64_t v = atomic_load_explicit(word_at(sl, slot + 8 * w), DATA_LOAD);

		memcpy(dst + 8 * w, &v, ncopy % 8);
		high |= v;
	}
	/* Bytes past the value in the last word are NULs: no high bit set
	 * anywhere means ASCII, which is valid UTF-8 without a closer look. */
	c->ascii = !(high & UINT64_C(0x8080808080808080));
}

/*
 * A reader found @s odd for a while: is the writer alive?  Returns 0 (keep
 * waiting), -SHMBUS_EPEERDEAD, or -SHMBUS_ECORRUPT (odd with no writer).
 */
static int guard_stuck(const struct slot_guard *g, uint64_t s)
{
	/* A3: acquire, pairs with R3 in guard_unlock(): if we read the 0 a
	 * finishing writer stored, its R1 (seq even) is visible below.  And
	 * since A1 read the odd @s from R2 (release, after the claim C1), a 0
	 * older than that claim cannot be read here. */
	shmbus_ident_t w = atomic_load_explicit(&g->writer, memory_order_acquire);

	if (w == SHMBUS_IDENT_NONE) {
		/* Relaxed: ordered by A3. */
		if (atomic_load_explicit(&g->seq, memory_order_relaxed) == s)
			return -SHMBUS_ECORRUPT;
		return 0;
	}
	return shmbus_proc_alive(w) ? 0 : -SHMBUS_EPEERDEAD;
}

/*
 * guard_begin()'s wait, out of line: a write is in progress.  Bounded by
 * @w: -ETIMEDOUT once the deadline passes (or at once with a timeout of 0)
 * while a live writer still holds the slot.
 */
static __attribute__((noinline)) int guard_wait_even(const struct slot_guard *g,
						     uint64_t *seq, struct slot_wait *w)
{
	int rc;

	for (;;) {
		/* A1: acquire, pairs with R1 in guard_unlock() (and R2 in
		 * guard_lock()): an even value means the write that stored it
		 * is complete and visible. */
		uint64_t s = atomic_load_explicit(&g->seq, memory_order_acquire);

		if (!(s & 1)) {
			*seq = s;
			return 0;
		}
		/* The first look and then every CHECK_EVERY: a dead writer is
		 * reported at once rather than after the timeout. */
		if (w->spins % CHECK_EVERY == 0) {
			rc = guard_stuck(g, s);
			if (rc)
				return rc;
		}
		rc = wait_tick(w);
		if (rc)
			return rc;
	}
}

/* Wait for an even sequence number; fill @seq with it. */
static inline __attribute__((always_inline)) int guard_begin(const struct slot_guard *g,
							     uint64_t *seq, struct slot_wait *w)
{
	/* A1 (as in guard_wait_even()): the common case, no writer. */
	uint64_t s = atomic_load_explicit(&g->seq, memory_order_acquire);

	if (s & 1)
		return guard_wait_even(g, seq, w);
	*seq = s;
	return 0;
}

/* slots_read(), inlined into get (the hot path). */
static inline __attribute__((always_inline)) int
slot_read(const struct shmbus_slots *sl, uint64_t i, struct slot_copy *c, void *buf,
	  size_t bufsize, bool data)
{
	const struct slot_guard *g;
	struct slot_wait w;
	uint64_t s0, s1;
	int rc;

	if (!sl->guards) {
		copy_body(sl, i, c, buf, bufsize, data);
		return 0;
	}
	g = &sl->guards[i];
	wait_init(&w, sl);
	for (;;) {
		rc = guard_begin(g, &s0, &w);
		if (rc)
			return rc;
		copy_body(sl, i, c, buf, bufsize, data);
		/* F2: acquire fence, pairs with F1 in guard_lock(): if a load in
		 * copy_body() saw a store made after F1, the odd seq stored
		 * before F1 is visible to the load below. */
		SEQLOCK_FENCE(memory_order_acquire);
		/* Relaxed: ordered by F2. */
		s1 = atomic_load_explicit(&g->seq, memory_order_relaxed);
		if (s1 == s0)
			return 0;
		/* A write overlapped the copy: retry, within the same bound
		 * (writers that never pause must not starve us for ever). */
		rc = wait_tick(&w);
		if (rc)
			return rc;
	}
}

int slots_read(const struct shmbus_slots *sl, uint64_t i, struct slot_copy *c,
		      void *buf, size_t bufsize, bool data)
{
	return slot_read(sl, i, c, buf, bufsize, data);
}

/*
 * Claim slot guard @g for writing; fills @odd with the odd sequence of this
 * write.  Returns 0, or -ETIMEDOUT (another live writer kept the slot past
 * the handle's timeout: nothing was written).
 */
static int guard_lock(struct slot_guard *g, shmbus_ident_t me, struct slot_wait *w,
		      uint64_t *odd)
{
	bool took_over = false;
	uint64_t cur, s;
	unsigned spins;
	int rc;

	for (spins = 0;; spins++) {
		cur = SHMBUS_IDENT_NONE;
		/* C1: acquire, pairs with R3 in guard_unlock(): the previous
		 * writer's stores happen before ours. */
		if (atomic_compare_exchange_strong_explicit(&g->writer, &cur, me,
							    memory_order_acquire,
							    memory_order_relaxed))
			break;
		/* A writer that died holding the slot never releases it: take
		 * it over.  Idents never repeat, so the CAS has no ABA; the
		 * owner we saw is the one we checked.  (A live owner with our
		 * own ident is another thread of this process: wait.) */
		if (spins % CHECK_EVERY == CHECK_EVERY - 1 && !shmbus_proc_alive(cur)) {
			/* C2: acquire, as C1. */
			if (atomic_compare_exchange_strong_explicit(&g->writer, &cur, me,
								    memory_order_acquire,
								    memory_order_relaxed)) {
				took_over = true;
				break;
			}
		}
		rc = wait_tick(w);
		if (rc) {
			/* Out of time (or a timeout of 0): a holder that is
			 * dead is taken over all the same, never waited for. */
			if (!shmbus_proc_alive(cur) &&
			    /* C2, as above. */
			    atomic_compare_exchange_strong_explicit(&g->writer, &cur, me,
								    memory_order_acquire,
								    memory_order_relaxed)) {
				took_over = true;
				break;
			}
			return rc;
		}
	}
	/* Relaxed: after C1 the previous writer's R1 happens before this
	 * load, and nobody else stores seq while we hold the claim. */
	s = atomic_load_explicit(&g->seq, memory_order_relaxed);
	if (!took_over && !(s & 1)) {
		/* R2: release, pairs with A1/A3: a reader that sees it odd
		 * also sees our claim (guard_stuck() relies on it). */
		atomic_store_explicit(&g->seq, s + 1, memory_order_release);
		s++;
	} else {
		/* R2': after a dead writer, whose stores nothing orders for
		 * us, an RMW reads the latest seq; it stays odd if that
		 * writer died mid-write.  Release, as R2. */
		s = atomic_fetch_or_explicit(&g->seq, 1, memory_order_release) | 1;
	}
	/* F1: release fence, pairs with F2 in slots_read(): the odd
	 * seq is ordered before every data store that follows. */
	SEQLOCK_FENCE(memory_order_release);
	*odd = s;
	return 0;
}

static void guard_unlock(struct slot_guard *g, uint64_t odd)
{
	/* R1: release, pairs with A1: a reader that sees this even value sees
	 * every store of the write. */
	atomic_store_explicit(&g->seq, odd + 1, memory_order_release);
	/* R3: release, pairs with C1/C2 (next writer) and A3 (readers). */
	atomic_store_explicit(&g->writer, SHMBUS_IDENT_NONE, memory_order_release);
}

int slots_repair(struct shmbus_slots *sl, uint64_t i)
{
	const struct shmbus_slot_value none = { .type = SHMBUS_SLOT_NONE };
	struct slot_guard *g = &sl->guards[i];
	shmbus_ident_t me, dead;
	uint64_t s;

	/* Relaxed: only a candidate, confirmed dead and then CASed below. */
	dead = atomic_load_explicit(&g->writer, memory_order_relaxed);
	if (dead == SHMBUS_IDENT_NONE || shmbus_proc_alive(dead))
		return 0;
	me = self_ident();
	if (me == SHMBUS_IDENT_NONE)
		return -ENOSYS;
	/* C2 (as in guard_lock()): acquire; idents never repeat, so this
	 * takes exactly the dead writer's claim or nothing. */
	if (!atomic_compare_exchange_strong_explicit(&g->writer, &dead, me, memory_order_acquire,
						     memory_order_relaxed))
		return 0;
	/* R2' (as in guard_lock()): an RMW reads the latest seq. */
	s = atomic_fetch_or_explicit(&g->seq, 1, memory_order_release);
	if (s & 1) {
		/* F1, as in guard_lock(). */
		SEQLOCK_FENCE(memory_order_release);
		slots_write_body(sl, i, &none);
	} else {
		/* The dead writer had not begun: the value is intact, and our
		 * odd seq (s + 1) is undone by the even s + 2 below, which
		 * readers that overlapped it see as a completed write. */
		SEQLOCK_FENCE(memory_order_release);
	}
	guard_unlock(g, s | 1);
	return 1;
}

int shmbus_slots_writer(const struct shmbus_slots *sl, int64_t index,
			struct shmbus_slot_writer *out)
{
	const struct slot_guard *g;
	shmbus_ident_t w;
	uint64_t i;
	int rc;

	if (!sl || !out)
		return -EINVAL;
	rc = slots_norm_index(sl, index, &i);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	if (!sl->guards)
		return 0;
	g = &sl->guards[i];
	/* Relaxed (both): a report of a moment, ordered with nothing. */
	w = atomic_load_explicit(&g->writer, memory_order_relaxed);
	out->writing = atomic_load_explicit(&g->seq, memory_order_relaxed) & 1;
	out->pid = shmbus_ident_pid(w);
	out->alive = shmbus_proc_alive(w);
	return 0;
}

void slots_write_body(struct shmbus_slots *sl, uint64_t i,
			     const struct shmbus_slot_value *v)
{
	uint64_t slot = sl->lay.data_off + sl->off[i], cap = slots_cap(sl, i);
	unsigned char b[8];
	int8_t code = SHMBUS_SLOT_CODE_PLAIN;
	uint64_t w, fw, word = 0;

	/* slot_encode()'s formats, as words (this is a hot path). */
	switch (v->type) {
	case SHMBUS_SLOT_INT:
		fw = slot_fmt_word("q\0\0\0\0\0\0\0");
		break;
	case SHMBUS_SLOT_FLOAT:
		fw = slot_fmt_word("d\0\0\0\0\0\0\0");
		break;
	case SHMBUS_SLOT_BOOL:
		fw = slot_fmt_word("xxxxxxx?");
		break;
	case SHMBUS_SLOT_STR:
	case SHMBUS_SLOT_BYTES:
		fw = sl->sfmt[i];
		code = v->type == SHMBUS_SLOT_STR ? SHMBUS_SLOT_CODE_STR : SHMBUS_SLOT_CODE_BYTES;
		break;
	default:
		fw = slot_fmt_word("xxxxxx?x");
		code = SHMBUS_SLOT_CODE_NONE;
		break;
	}
	/* DATA_STORE throughout: ordered by F1/R1 in a guarded list;
	 * Python's lists have no ordering to offer.  Format and code first,
	 * then the bytes, in the order Python's __setitem__ writes them. */
	atomic_store_explicit(word_at(sl, sl->lay.fmt_off + 8 * i), fw, DATA_STORE);
	atomic_store_explicit(code_at(sl, i), code, DATA_STORE);
	memset(b, 0, sizeof(b));
	switch (v->type) {
	case SHMBUS_SLOT_INT:
		memcpy(&word, &v->u.i, sizeof(word));
		break;
	case SHMBUS_SLOT_FLOAT:
		memcpy(&word, &v->u.f, sizeof(word));
		break;
	case SHMBUS_SLOT_BOOL:
		/* "xxxxxxx?": 7 zero pad bytes, then 0 or 1. */
		b[7] = v->u.b ? 1 : 0;
		memcpy(&word, b, sizeof(word));
		break;
	case SHMBUS_SLOT_STR:
	case SHMBUS_SLOT_BYTES:
		/* "<cap>s" writes the whole slot, NUL-padded. */
		/* Whole words of the value, its last part-word, then NULs. */
		for (w = 0; 8 * w + 8 <= v->u.s.len; w++) {
			memcpy(&word, (const unsigned char *)v->u.s.data + 8 * w, 8);
			atomic_store_explicit(word_at(sl, slot + 8 * w), word, DATA_STORE);
		}
		if (v->u.s.len % 8) {
			memcpy(b, (const unsigned char *)v->u.s.data + 8 * w, v->u.s.len % 8);
			memcpy(&word, b, sizeof(word));
			atomic_store_explicit(word_at(sl, slot + 8 * w), word, DATA_STORE);
			w++;
		}
		for (; w < cap / 8; w++)
			atomic_store_explicit(word_at(sl, slot + 8 * w), 0, DATA_STORE);
		return;
	default:
		/* None, "xxxxxx?x": struct packs bool(None), all zero. */
		break;
	}
	atomic_store_explicit(word_at(sl, slot), word, DATA_STORE);
}

int shmbus_slots_set(struct shmbus_slots *sl, int64_t index, const struct shmbus_slot_value *value)
{
	struct slot_wait w;
	shmbus_ident_t me;
	uint64_t i, odd;
	int rc;

	if (!sl || !value)
		return -EINVAL;
	rc = slots_norm_index(sl, index, &i);
	if (rc)
		return rc;
	if (sl->rdonly)
		return -EROFS;
	rc = slot_value_check(value, slots_cap(sl, i));
	if (rc)
		return rc;
	if (!sl->guards) {
		slots_write_body(sl, i, value);
		return 0;
	}
	me = self_ident();
	if (me == SHMBUS_IDENT_NONE)
		return -ENOSYS; /* no /proc: we could not name ourselves as writer */
	wait_init(&w, sl);
	rc = guard_lock(&sl->guards[i], me, &w, &odd);
	if (rc)
		return rc;
	slots_hook(SLOTS_HOOK_LOCKED, sl, i);
	slots_write_body(sl, i, value);
	slots_hook(SLOTS_HOOK_WRITTEN, sl, i);
	guard_unlock(&sl->guards[i], odd);
	return 0;
}

int shmbus_slots_get(const struct shmbus_slots *sl, int64_t index, struct shmbus_slot_value *out,
		     void *buf, size_t bufsize)
{
	struct slot_copy c;
	uint64_t i;
	int rc;

	if (!sl || !out || (!buf && bufsize))
		return -EINVAL;
	rc = slots_norm_index(sl, index, &i);
	if (rc)
		return rc;
	rc = slot_read(sl, i, &c, buf, bufsize, true);
	if (rc == 0)
		rc = shmbus_block_check(sl->block); /* zeros, not the value */
	if (rc)
		return rc;
	if (c.decode_rc)
		return c.decode_rc;
	memset(out, 0, sizeof(*out));
	out->capacity = slots_cap(sl, i);
	if (c.type != SHMBUS_SLOT_STR && c.type != SHMBUS_SLOT_BYTES) {
		slot_decode_word(c.type, c.word, out);
		return 0;
	}
	out->type = c.type;
	out->u.s.len = c.len;
	if (c.len > bufsize)
		return -ENOBUFS;
	out->u.s.data = buf ? buf : (const void *)"";
	if (c.type == SHMBUS_SLOT_STR) {
		if (!c.ascii && !utf8_valid(buf, c.len))
			return -EILSEQ;
		if (bufsize > c.len)
			((char *)buf)[c.len] = '\0';
	}
	return 0;
}

/* Index of the first item equal to @value at or after 0, counting all
 * matches into *@count if it is not NULL (then the whole list is read). */
static int64_t slots_find(const struct shmbus_slots *sl, const struct shmbus_slot_value *value,
			  int64_t *count)
{
	struct shmbus_slot_value got;
	size_t bufsize = 0;
	void *buf = NULL;
	int64_t first = -ENOENT;
	uint64_t i;
	int rc = 0;

	if (!sl || !value)
		return -EINVAL;
	if (value->type == SHMBUS_SLOT_STR || value->type == SHMBUS_SLOT_BYTES) {
		/* A longer item reports -ENOBUFS: not equal. */
		bufsize = value->u.s.len;
		buf = malloc(bufsize ? bufsize : 1);
		if (!buf)
			return -ENOMEM;
	}
	for (i = 0; i < sl->lay.n; i++) {
		rc = shmbus_slots_get(sl, (int64_t)i, &got, buf, bufsize);
		if (rc == -ENOBUFS) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		if (!slot_value_equal(value, &got))
			continue;
		if (first < 0)
			first = (int64_t)i;
		if (!count)
			break;
		(*count)++;
	}
	free(buf);
	return rc ? rc : first;
}

int64_t shmbus_slots_count(const struct shmbus_slots *sl, const struct shmbus_slot_value *value)
{
	int64_t count = 0, rc = slots_find(sl, value, &count);

	return rc < 0 && rc != -ENOENT ? rc : count;
}

int64_t shmbus_slots_index(const struct shmbus_slots *sl, const struct shmbus_slot_value *value)
{
	return slots_find(sl, value, NULL);
}

int shmbus_slots_format_at(const struct shmbus_slots *sl, int64_t index,
			   char fmt[SHMBUS_SLOT_FORMAT_MAX + 1])
{
	struct slot_copy c;
	uint64_t i;
	int rc;

	if (!sl || !fmt)
		return -EINVAL;
	rc = slots_norm_index(sl, index, &i);
	if (rc)
		return rc;
	rc = slots_read(sl, i, &c, NULL, 0, false);
	if (rc)
		return rc;
	if (c.decode_rc)
		return c.decode_rc;
	memcpy(fmt, c.fmt, 8);
	fmt[8] = '\0';
	return 0;
}

int64_t shmbus_slots_format(const struct shmbus_slots *sl, char *buf, size_t size)
{
	char fmt[SHMBUS_SLOT_FORMAT_MAX + 1];
	uint64_t i, len = 0;
	int rc;

	if (!sl || (!buf && size))
		return -EINVAL;
	for (i = 0; i < sl->lay.n; i++) {
		size_t k, flen;

		rc = shmbus_slots_format_at(sl, (int64_t)i, fmt);
		if (rc)
			return rc;
		flen = strlen(fmt);
		for (k = 0; k < flen; k++, len++)
			if (len + 1 < size)
				buf[len] = fmt[k];
	}
	if (size)
		buf[len < size ? len : size - 1] = '\0';
	return (int64_t)len;
}
