/*
 * bcast_produce.c - the producer side of the broadcast ring: retiring old
 * records (the overwrite line, reliable gating, joiners, dead subscribers),
 * reserve, commit, push, push_burst, end of stream.
 *
 * Invariant: b->ovw <= b->head <= b->tail are the values last stored in the
 * block; the producer writes ring bytes only at positions in
 * [tail, ovw + capacity), so a record at or after ovw is never touched; and
 * (reliable) ovw never passes a record that an active subscriber seen by the
 * last scan, or a joiner that bumped `joins` before the last check, has not
 * released.  Nothing beyond tail is visible before the release store R1.
 */
#include <string.h>

#include "bcast_internal.h"

/* A position far ahead of every cursor: "nobody holds anything". */
#define BCAST_FAR (UINT64_C(1) << 62)

/*
 * rescan - the lowest cursor of an active subscriber that still holds
 * records (at or after ovw: one below it is a joiner that will move up by
 * itself, see "Joining" in bcast_internal.h), into b->min_cache
 * (tail + BCAST_FAR when none).  Returns 0 or -SHMBUS_ECORRUPT (a cursor
 * beyond tail or misaligned).
 */
static int rescan(struct shmbus_bcast *b)
{
	/* A5: acquire, pairs with the joiner's seq_cst RMW J3 (bcast.c): a
	 * join counted here has its cursor visible to the loads below. */
	uint64_t js = atomic_load_explicit(&b->sh->w.joins, memory_order_acquire);
	uint64_t m = b->tail + BCAST_FAR, c, a;
	uint32_t i;

	for (i = 0; i < b->cfg.subs_max; i++) {
		/* A3: acquire, pairs with J2 (the joiner's active store). */
		a = atomic_load_explicit(&b->subs[i].active, memory_order_acquire);
		if (a == 0 ||
		    a != atomic_load_explicit(&b->part[1 + i].ident, memory_order_acquire))
			continue; /* free, leaving, evicted, or a stale owner's */
		/* A4: acquire, pairs with R3 in the subscriber's release
		 * (bcast_subscribe.c): it is done with the records before. */
		c = atomic_load_explicit(&b->subs[i].pos, memory_order_acquire);
		if (c & 7 || !bcast_le(c, b->tail))
			return bcast_corrupt(b);
		if (c == b->pad_at)
			c = b->pad_end; /* padding only before it (see place()) */
		if (!bcast_le(b->ovw, c))
			continue;
		if (!bcast_le(m, c))
			m = c;
	}
	b->joins_seen = js;
	b->min_cache = m;
	return 0;
}

/* Free the entries of dead subscribers that hold records before @need.
 * Returns how many were freed. */
static unsigned evict_dead(struct shmbus_bcast *b, uint64_t need)
{
	unsigned n = 0;
	uint32_t i;

	for (i = 0; i < b->cfg.subs_max; i++) {
		/* Acquire, as A3/A4. */
		uint64_t a = atomic_load_explicit(&b->subs[i].active, memory_order_acquire);
		uint64_t c = atomic_load_explicit(&b->subs[i].pos, memory_order_acquire);
		shmbus_ident_t id = a;

		if (a == 0 || !bcast_le(b->ovw, c) || bcast_le(need, c) ||
		    a != atomic_load_explicit(&b->part[1 + i].ident, memory_order_acquire) ||
		    part_alive(&b->part[1 + i], a))
			continue;
		/* C3: acq_rel, as part_claim()'s C1: the entry is free again;
		 * a racing joiner's own claim wins or loses cleanly. */
		if (atomic_compare_exchange_strong_explicit(&b->part[1 + i].ident, &id, 0,
							    memory_order_acq_rel,
							    memory_order_relaxed)) {
			atomic_fetch_add_explicit(&b->sh->w.evicted, 1, memory_order_relaxed);
			n++;
		}
	}
	return n;
}

/* Reliable: is the producer allowed to retire records before @hard?  If a
 * live subscriber holds one, -EAGAIN; after the liveness timeout of being
 * held, dead holders are evicted first. */
static int may_retire(struct shmbus_bcast *b, uint64_t hard)
{
	uint64_t now;
	int rc;

	if (bcast_le(hard, b->min_cache))
		return 0;
	rc = rescan(b);
	if (rc)
		return rc;
	if (bcast_le(hard, b->min_cache))
		return 0;
	now = bcast_now_ns();
	if (b->stuck_since_ns == 0) {
		b->stuck_since_ns = now;
		return -EAGAIN;
	}
	if (now - b->stuck_since_ns < (uint64_t)b->cfg.liveness_ms * 1000000u)
		return -EAGAIN;
	b->stuck_since_ns = now;
	if (evict_dead(b, hard) == 0)
		return -EAGAIN;
	rc = rescan(b);
	if (rc)
		return rc;
	return bcast_le(hard, b->min_cache) ? 0 : -EAGAIN;
}

/*
 * ensure_room - make the ring bytes of positions [tail, @e) writable: move
 * the overwrite line to the first record boundary at or after e - capacity,
 * and on, up to capacity >> retire_shift bytes further, to spare later
 * calls (never past the newest message or tail, nor, reliable, past a
 * cursor).  @limit: records exist before it (the published tail).
 * Returns 0, -EAGAIN (reliable: held), -SHMBUS_ECORRUPT.
 */
static int ensure_room(struct shmbus_bcast *b, uint64_t e, uint64_t limit)
{
	uint64_t lim = e - b->cap, want = lim + (b->cap >> b->tune.retire_shift);
	/* Relaxed: our own store. */
	uint64_t newest = atomic_load_explicit(&b->sh->prod.newest, memory_order_relaxed) & ~7ull;
	uint64_t p = b->ovw, hard, w;
	int rc;

	if (bcast_le(lim, b->ovw))
		return 0;
	/* The records we wrote ourselves, but in shared memory: checked. */
	while (!bcast_le(lim, p) && p != limit) {
		/* Relaxed: our own earlier store. */
		w = atomic_load_explicit(bcast_word(b, p), memory_order_relaxed);
		if (!bcast_rec_ok(b, p, w, limit))
			return bcast_corrupt(b);
		p += w >> 32;
	}
	hard = p;
	while (!bcast_le(want, p) && p != limit && p != newest) {
		w = atomic_load_explicit(bcast_word(b, p), memory_order_relaxed);
		if (!bcast_rec_ok(b, p, w, limit))
			return bcast_corrupt(b);
		p += w >> 32;
	}
	if (b->reliable) {
		rc = may_retire(b, hard);
		if (rc)
			return rc;
		if (!bcast_le(p, b->min_cache))
			p = b->min_cache;
	}
	if (!bcast_le(p, b->head)) {
		/* J4: seq_cst, against J3 of a joiner (Dekker, "Joining" in
		 * bcast_internal.h): the joiner sees this head, or J5 sees
		 * its join. */
		atomic_store_explicit(&b->sh->prod.head, p, memory_order_seq_cst);
		b->head = p;
	}
	if (b->reliable &&
	    atomic_load_explicit(&b->sh->w.joins, memory_order_seq_cst) != b->joins_seen) {
		/* J5 found a join: its cursor may be below what we retire. */
		rc = rescan(b);
		if (rc)
			return rc;
		if (!bcast_le(hard, b->min_cache))
			return -EAGAIN; /* head stays; the joiner moves up */
		if (!bcast_le(p, b->min_cache))
			p = b->min_cache;
	}
	b->stuck_since_ns = 0;
	/* O1: release (for the decoder, which loads ovw before head), then
	 * F1: release fence, pairs with F2 of every reader (bcast_subscribe.c):
	 * a reader that sees any byte written after this line sees the new
	 * ovw and discards its read.  The seqlock writer's half. */
	atomic_store_explicit(&b->sh->prod.ovw, p, memory_order_release);
	bcast_fence_release();
	b->ovw = p;
	return 0;
}

/* Publish [old tail, @tail) holding @msgs messages of @bytes payload, the
 * newest of them at @newest (if @msgs), and wake sleeping subscribers. */
static void publish(struct shmbus_bcast *b, uint64_t tail, uint64_t newest, uint64_t msgs,
		    uint64_t bytes)
{
	struct bcast_prod *pr = &b->sh->prod;

	/* Relaxed: published by R1 just below. */
	atomic_store_explicit(&pr->seq, b->seq, memory_order_relaxed);
	/* R1: release, pairs with A1 of subscribers (bcast_subscribe.c, and
	 * the joiner's load in bcast.c): the records before tail are written. */
	atomic_store_explicit(&pr->tail, tail, memory_order_release);
	b->tail = tail;
	if (msgs)
		/* R2: release, pairs with A2 of a joiner from the newest: the
		 * record there and the tail after it are visible. */
		atomic_store_explicit(&pr->newest, newest | 1, memory_order_release);
	if (msgs) {
		bcast_count(&pr->msgs_in, msgs);
		bcast_count(&pr->bytes_in, bytes);
	}
	bcast_wake_fast(b, &b->sh->w.data_armed, &b->sh->w.data_wq, &pr->wakes);
}

/*
 * place - room for a record of @need bytes after position @p (the end of
 * what is reserved so far; == b->tail for the first one): at @p, or at the
 * next start of the ring behind a padding record.  A padding record whose
 * record would overlap the padding's own bytes (need > the offset of @p) is
 * published on its own first (@first only), so that the overwrite line can
 * pass it without passing tail; a cursor still at it holds nothing (the
 * reader finds it gone, resumes after it and loses nothing), so reliable
 * gating takes such a cursor as being after it (pad_at, pad_end).
 * Returns 0 with *@start set, -EAGAIN, -SHMBUS_ECORRUPT.
 */
static int place(struct shmbus_bcast *b, uint64_t p, uint64_t need, bool first, uint64_t *start)
{
	uint64_t off = p & b->mask, s = p;
	int rc;

	if (need > b->cap - off) {
		s = p + (b->cap - off);
		if (need > off) {
			if (!first)
				return -EAGAIN;
			rc = ensure_room(b, s, b->tail);
			if (rc)
				return rc;
			/* Relaxed: published by R1 in publish(). */
			atomic_store_explicit(bcast_word(b, p), (uint64_t)BCAST_PAD | (s - p) << 32,
					      memory_order_relaxed);
			publish(b, s, 0, 0, 0);
			b->pad_at = p;
			b->pad_end = s;
			p = s;
		}
	}
	if (!first && !bcast_le(s + need - b->cap, b->tail))
		return -EAGAIN; /* a burst may not lap itself */
	rc = ensure_room(b, s + need, b->tail);
	if (rc)
		return rc;
	if (s != p)
		/* Relaxed: published by R1 with the record after it. */
		atomic_store_explicit(bcast_word(b, p), (uint64_t)BCAST_PAD | (s - p) << 32,
				      memory_order_relaxed);
	*start = s;
	return 0;
}

static bool closed(const struct shmbus_bcast *b)
{
	/* Relaxed: our own store (the producer alone writes it). */
	return atomic_load_explicit(&b->sh->prod.closed, memory_order_relaxed) != 0;
}

int shmbus_bcast_reserve_try(struct shmbus_bcast *b, size_t len, void **data)
{
	uint64_t start;
	int rc = b ? bcast_check(b, SHMBUS_BCAST_PRODUCER) : -EINVAL;

	if (rc)
		return rc;
	b->res_ok = false;
	if (!data)
		return -EINVAL;
	if (closed(b))
		return -EPIPE;
	if (len > b->max_msg)
		return -EMSGSIZE;
	rc = place(b, b->tail, bcast_rec_size(len), true, &start);
	if (rc)
		return rc;
	b->res_ok = true;
	b->res_len = (uint32_t)len;
	b->res_pos = start;
	*data = b->ring + (start & b->mask) + BCAST_HDR;
	return 0;
}

/* Write the header of the message at @pos. */
static void write_header(struct shmbus_bcast *b, uint64_t pos, size_t len)
{
	/* Relaxed: published by R1. */
	atomic_store_explicit(bcast_word(b, pos),
			      (uint64_t)len | bcast_rec_size(len) << 32, memory_order_relaxed);
	atomic_store_explicit(bcast_word(b, pos + 8), b->seq, memory_order_relaxed);
	b->seq++;
}

int shmbus_bcast_commit(struct shmbus_bcast *b, size_t len)
{
	int rc = b ? bcast_check(b, SHMBUS_BCAST_PRODUCER) : -EINVAL;

	if (rc)
		return rc;
	if (!b->res_ok || len > b->res_len)
		return -EINVAL;
	b->res_ok = false;
	write_header(b, b->res_pos, len);
	publish(b, b->res_pos + bcast_rec_size(len), b->res_pos, 1, len);
	return 0;
}

/*
 * The copy of a message into the ring.  In a lossy ring it may overwrite
 * bytes that a lapped subscriber is reading (its header words, or a copy
 * out): the seqlock's write side; the reader finds out by F2 and discards
 * its read.  In C11 terms a data race on plain bytes, as in every seqlock
 * over memcpy; out of line in a lossy ring so that tests/tsan.supp can name
 * that race alone (the reliable ring's copy is a plain memcpy, which TSan
 * keeps checking against every subscriber read).
 */
static __attribute__((noinline)) void seqlock_write(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

static inline void copy_in(const struct shmbus_bcast *b, void *dst, const void *src, size_t n)
{
	if (b->reliable)
		memcpy(dst, src, n);
	else
		seqlock_write(dst, src, n);
}

int shmbus_bcast_push_try(struct shmbus_bcast *b, const void *data, size_t len)
{
	void *dst;
	int rc;

	if (!data && len)
		return -EINVAL;
	rc = shmbus_bcast_reserve_try(b, len, &dst);
	if (rc)
		return rc;
	if (len)
		copy_in(b, dst, data, len);
	return shmbus_bcast_commit(b, len);
}

int shmbus_bcast_push_burst_try(struct shmbus_bcast *b, const struct shmbus_bcast_buf *msgs,
				unsigned n)
{
	uint64_t p, start, newest = 0, bytes = 0;
	unsigned i;
	int rc = b ? bcast_check(b, SHMBUS_BCAST_PRODUCER) : -EINVAL;

	if (rc)
		return rc;
	b->res_ok = false;
	if (n && !msgs)
		return -EINVAL;
	if (n == 0)
		return 0;
	if (closed(b))
		return -EPIPE;
	p = b->tail;
	for (i = 0; i < n; i++) {
		size_t len = msgs[i].len;

		if (len > b->max_msg || (!msgs[i].data && len)) {
			if (i == 0)
				return len > b->max_msg ? -EMSGSIZE : -EINVAL;
			break;
		}
		rc = place(b, p, bcast_rec_size(len), i == 0, &start);
		if (rc == -EAGAIN && i > 0)
			break;
		if (rc)
			return rc;
		if (len)
			copy_in(b, b->ring + (start & b->mask) + BCAST_HDR, msgs[i].data, len);
		write_header(b, start, len);
		newest = start;
		bytes += len;
		p = start + bcast_rec_size(len);
	}
	publish(b, p, newest, i, bytes);
	return (int)i;
}

int shmbus_bcast_close_stream(struct shmbus_bcast *b)
{
	int rc = b ? bcast_check(b, SHMBUS_BCAST_PRODUCER) : -EINVAL;

	if (rc)
		return rc;
	b->res_ok = false;
	/* R4: release, pairs with A4 of subscribers: every tail stored
	 * before is visible to whoever sees the stream closed. */
	atomic_store_explicit(&b->sh->prod.closed, 1, memory_order_release);
	bcast_wake(&b->sh->w.data_wq, &b->sh->prod.wakes);
	return 0;
}

int shmbus_bcast_reopen_stream(struct shmbus_bcast *b)
{
	int rc = b ? bcast_check(b, SHMBUS_BCAST_PRODUCER) : -EINVAL;

	if (rc)
		return rc;
	/* Relaxed: subscribers learn it from the next tail (R1). */
	atomic_store_explicit(&b->sh->prod.closed, 0, memory_order_relaxed);
	return 0;
}

/* ------------------------------------------------------------ blocking forms */

struct produce_args {
	struct shmbus_bcast *b;
	size_t len;
	void **data;
	const void *src;
	const struct shmbus_bcast_buf *msgs;
	unsigned n;
	int (*attempt)(struct shmbus_bcast *b, void *arg);
};

static int try_reserve(struct shmbus_bcast *b, void *arg)
{
	struct produce_args *a = arg;

	return shmbus_bcast_reserve_try(b, a->len, a->data);
}

static int try_push(struct shmbus_bcast *b, void *arg)
{
	struct produce_args *a = arg;

	return shmbus_bcast_push_try(b, a->src, a->len);
}

static int try_push_burst(struct shmbus_bcast *b, void *arg)
{
	struct produce_args *a = arg;

	return shmbus_bcast_push_burst_try(b, a->msgs, a->n);
}

/*
 * The sleeping producer's condition: a cursor that held it moved (every
 * active cursor at or after ovw is now past the cache), a join or an
 * eviction happened, or garbage appeared.  Acquire loads (the waitq's
 * contract); the attempt re-loads anyway.
 */
static bool room_moved(void *arg)
{
	struct shmbus_bcast *b = ((struct produce_args *)arg)->b;
	uint32_t i;

	if (atomic_load_explicit(&b->sh->w.corrupt, memory_order_relaxed) ||
	    atomic_load_explicit(&b->sh->w.joins, memory_order_acquire) != b->joins_seen)
		return true;
	for (i = 0; i < b->cfg.subs_max; i++) {
		uint64_t a = atomic_load_explicit(&b->subs[i].active, memory_order_acquire);
		uint64_t c = atomic_load_explicit(&b->subs[i].pos, memory_order_acquire);

		if (a == 0 ||
		    a != atomic_load_explicit(&b->part[1 + i].ident, memory_order_acquire) ||
		    !bcast_le(b->ovw, c))
			continue;
		if (c == b->pad_at)
			c = b->pad_end;
		if (c == b->min_cache)
			return false;
	}
	return true;
}

static int produce_wait(struct shmbus_bcast *b, struct produce_args *a, int timeout_ms)
{
	a->b = b;
	if (!b || bcast_check(b, SHMBUS_BCAST_PRODUCER))
		return a->attempt(b, a);
	return bcast_block(b, a->attempt, room_moved, a, timeout_ms);
}

int shmbus_bcast_reserve(struct shmbus_bcast *b, size_t len, void **data, int timeout_ms)
{
	struct produce_args a = { .len = len, .data = data, .attempt = try_reserve };

	return produce_wait(b, &a, timeout_ms);
}

int shmbus_bcast_push(struct shmbus_bcast *b, const void *data, size_t len, int timeout_ms)
{
	struct produce_args a = { .len = len, .src = data, .attempt = try_push };

	return produce_wait(b, &a, timeout_ms);
}

int shmbus_bcast_push_burst(struct shmbus_bcast *b, const struct shmbus_bcast_buf *msgs,
			    unsigned n, int timeout_ms)
{
	struct produce_args a = { .msgs = msgs, .n = n, .attempt = try_push_burst };

	return produce_wait(b, &a, timeout_ms);
}
