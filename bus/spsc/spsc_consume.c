/*
 * spsc_consume.c - the consumer side of the SPSC ring: peek, release, their
 * burst forms, pop, and the end of the stream.
 *
 * Invariant: q->pos is the tail this consumer last stored and q->other a
 * head it has seen (never ahead of the real one), 0 <= other - pos <=
 * capacity; every record was checked (by read_rec(), or by the stricter
 * test of peek_fast()/next_fast()) against [pos, other) and the end of the
 * ring before any of its bytes was handed out, and nothing is handed out
 * twice to this handle without an intervening release (peeking again
 * returns the same).  End of stream is reported only by
 * first_msg_or_end(), after it found the ring empty twice around an
 * acquire load of the producer's flag; the fast paths never read the flag.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "relax_internal.h"
#include "spsc_internal.h"

static int spsc_refresh_head(struct shmbus_spsc *q)
{
	/* A2: acquire, pairs with R1 in publish() (spsc_produce.c): the
	 * records before head are complete. */
	uint64_t h = atomic_load_explicit(&q->sh->prod.head, memory_order_acquire);
	uint64_t d = h - q->pos;

	/* The producer moves forward, at most a ring ahead of our tail. */
	if (h & 7 || d > q->cap || h - q->other > d)
		return spsc_corrupt(q);
	q->other = h;
	return 0;
}

/* Store tail = @tail (freeing everything before it) and wake a sleeping
 * producer; count @msgs messages of @bytes payload. */
SPSC_HOT void release_to(struct shmbus_spsc *q, uint64_t tail, uint64_t msgs, uint64_t bytes)
{
	struct spsc_cons *c = &q->sh->cons;

	/* R2: release, pairs with A1 in spsc_refresh_tail(): our reads of the
	 * freed bytes are complete before the producer overwrites them. */
	atomic_store_explicit(&c->tail, tail, memory_order_release);
	q->pos = tail;
	q->peek_ok = false;
	q->burst_ok = false;
	if (msgs) {
		spsc_count(&c->msgs_out, msgs);
		spsc_count(&c->bytes_out, bytes);
	}
	spsc_wake(q);
}

/* Read and check the record at @p (p < q->other): it lies inside the
 * published part and inside the ring. */
SPSC_HOT int read_rec(struct shmbus_spsc *q, uint64_t p, uint64_t *size, uint32_t *len)
{
	/* Relaxed: ordered after A2, whose head covered this record. */
	uint64_t w = atomic_load_explicit(spsc_rec(q, p), memory_order_relaxed);
	uint64_t off = p & q->mask, sz = w >> 32;
	uint32_t l = (uint32_t)w;

	if (sz < SPSC_HDR || sz & 7 || sz > q->cap - off || sz > q->other - p)
		return spsc_corrupt(q);
	if (l == SPSC_PAD) {
		/* Padding runs exactly to the end and never starts at 0, so
		 * two never follow each other. */
		if (off == 0 || sz != q->cap - off)
			return spsc_corrupt(q);
	} else if (l > sz - SPSC_HDR) {
		return spsc_corrupt(q);
	}
	*size = sz;
	*len = l;
	return 0;
}

/*
 * The first message at or after *@p, past at most one padding record.
 * Returns 0 (*@p is its position), -EAGAIN (none published yet; *@p is
 * where the next one will start), or -SHMBUS_ECORRUPT.  Bounded: at most two
 * records and two loads of head.
 */
static int next_msg(struct shmbus_spsc *q, uint64_t *p, uint64_t *size, uint32_t *len)
{
	int rc;

	for (;;) {
		if (*p == q->other) {
			rc = spsc_refresh_head(q);
			if (rc)
				return rc;
			if (*p == q->other)
				return -EAGAIN;
		}
		rc = read_rec(q, *p, size, len);
		if (rc)
			return rc;
		if (*len != SPSC_PAD)
			return 0;
		*p += *size;
	}
}

/* Find the oldest message, freeing padding in front of it at once (a
 * producer may be waiting for that room), and remember it for release. */
static int first_msg(struct shmbus_spsc *q, uint64_t *size, uint32_t *len)
{
	uint64_t p = q->pos;
	int rc = next_msg(q, &p, size, len);

	if (rc == -SHMBUS_ECORRUPT)
		return rc;
	if (p != q->pos)
		release_to(q, p, 0, 0);
	if (rc)
		return rc;
	q->peek_ok = true;
	q->peek_len = *len;
	q->peek_end = p + *size;
	return 0;
}

/*
 * As first_msg(), and when the ring is empty, whether the stream ended
 * there: -SHMBUS_EEOS instead of -EAGAIN.  A peek's slow path only (release
 * with nothing to release stays -EAGAIN).
 */
static int first_msg_or_end(struct shmbus_spsc *q, uint64_t *size, uint32_t *len)
{
	int rc = first_msg(q, size, len);

	if (rc != -EAGAIN)
		return rc;
	/* A5: acquire, pairs with R3 in shmbus_spsc_close_stream(): every
	 * head the producer stored before it closed (R1) is visible now.  So
	 * look again (q->pos == q->other: first_msg() re-loads head with A2):
	 * a message committed between our first look and the close is
	 * returned, not lost behind the end. */
	if (!atomic_load_explicit(&q->sh->prod.closed, memory_order_acquire))
		return -EAGAIN;
	rc = first_msg(q, size, len);
	return rc == -EAGAIN ? -SHMBUS_EEOS : rc;
}

/*
 * peek_fast - the common case of a peek, in line in peek_try and pop_try:
 * the message the last peek found, or a message (not padding) at our tail,
 * below the head we know of or a fresh one.  Returns 0 (*@p, *@len set)
 * or 1: take the slow path (an empty ring, where the slow path tells
 * -EAGAIN from the end of the stream; padding, a record with slack,
 * garbage, a wrong handle).
 */
SPSC_HOT int peek_fast(struct shmbus_spsc *q, const void **p, size_t *len)
{
	uint64_t pos = q->pos, off = pos & q->mask, h, w, sz;

	if (__builtin_expect(q->gate != SHMBUS_SPSC_CONSUMER || block_lost(q->lost), 0))
		return 1;
	if (q->peek_ok) {
		*p = q->ring + off + SPSC_HDR;
		*len = q->peek_len;
		return 0;
	}
	if (pos == q->other) {
		/* A2: acquire, pairs with R1 in publish(): the records before
		 * head are complete.  As spsc_refresh_head(), with other == pos.
		 * This test and the record's below are spelt out here, not
		 * shared with spsc_refresh_head() and next_fast(): sharing
		 * them costs instructions on every message (bench/README.md,
		 * "SPSC figures moved from source comments"). */
		h = atomic_load_explicit(&q->sh->prod.head, memory_order_acquire);
		if (h == pos)
			return 1;
		if (__builtin_expect(h & 7 || h - pos > q->cap, 0))
			return 1;
		q->other = h;
		/* New data, just written on the producer's core: ask for the
		 * line of the last byte published now, so that its transfer
		 * overlaps the header's (the record of a 64-byte message spans
		 * two lines: this is the second when one message came). */
		relax_prefetch_r(q->ring + ((h - 1) & q->mask));
	}
	/* Relaxed: ordered after A2, whose head covered this record. */
	w = atomic_load_explicit(spsc_rec(q, pos), memory_order_relaxed);
	sz = w >> 32;
	/* A record of exactly rec_size(len) (so 8-aligned, >= 8, holding len;
	 * never padding: rec_size(2^32 - 1) > any size) inside the published
	 * part and the ring.  Others (padding, the slack a burst commit may
	 * leave, garbage) take the slow path, read_rec(). */
	if (__builtin_expect(sz != spsc_rec_size((uint32_t)w) || sz > q->cap - off ||
			     sz > q->other - pos, 0))
		return 1;
	q->peek_ok = true;
	q->peek_len = (uint32_t)w;
	q->peek_end = pos + sz;
	*p = q->ring + off + SPSC_HDR;
	*len = (uint32_t)w;
	return 0;
}

/* peek_try when peek_fast() does not do: empty, errors, padding, garbage. */
static __attribute__((noinline)) int peek_slow(struct shmbus_spsc *q, const void **data,
					       size_t *len)
{
	uint64_t size = 0;
	uint32_t l = 0;
	int rc = spsc_check(q, SHMBUS_SPSC_CONSUMER);

	if (rc)
		return rc;
	if (!data || !len)
		return -EINVAL;
	if (!q->peek_ok) {
		rc = first_msg_or_end(q, &size, &l);
		if (rc)
			return rc;
	}
	*data = q->ring + (q->pos & q->mask) + SPSC_HDR;
	*len = q->peek_len;
	return 0;
}

int shmbus_spsc_peek_try(struct shmbus_spsc *q, const void **data, size_t *len)
{
	int rc;

	if (__builtin_expect(data && len, 1)) {
		rc = peek_fast(q, data, len);
		if (__builtin_expect(rc == 0, 1))
			return 0;
	}
	return peek_slow(q, data, len);
}

static __attribute__((noinline)) int release_slow(struct shmbus_spsc *q)
{
	uint64_t size;
	uint32_t l;
	int rc = spsc_check(q, SHMBUS_SPSC_CONSUMER);

	if (rc)
		return rc;
	if (!q->peek_ok) {
		rc = first_msg(q, &size, &l);
		if (rc)
			return rc;
	}
	release_to(q, q->peek_end, 1, q->peek_len);
	return 0;
}

int shmbus_spsc_release(struct shmbus_spsc *q)
{
	/* peek_ok is never set on a producer handle, and cleared on a broken
	 * one. */
	if (__builtin_expect(q->peek_ok, 1)) {
		release_to(q, q->peek_end, 1, q->peek_len);
		return 0;
	}
	return release_slow(q);
}

/* The record at @p, if it is a message of exactly rec_size(len) inside the
 * part published as far as we know and inside the ring (peek_fast()'s test);
 * else false, and next_msg() decides. */
SPSC_HOT bool next_fast(const struct shmbus_spsc *q, uint64_t p, uint64_t *size, uint32_t *len)
{
	uint64_t w, sz;

	if (__builtin_expect(p == q->other, 0))
		return false;
	/* Relaxed: ordered after A2, whose head covered this record. */
	w = atomic_load_explicit(spsc_rec(q, p), memory_order_relaxed);
	sz = w >> 32;
	if (sz != spsc_rec_size((uint32_t)w) || sz > q->cap - (p & q->mask) || sz > q->other - p)
		return false;
	*size = sz;
	*len = (uint32_t)w;
	return true;
}

int shmbus_spsc_peek_burst_try(struct shmbus_spsc *q, struct shmbus_spsc_msg *msgs, unsigned n)
{
	uint64_t size, p, end, bytes = 0;
	const void *d;
	size_t l0;
	uint32_t l;
	unsigned i = 0;
	int rc;

	if (!msgs || n == 0) {
		rc = spsc_check(q, SHMBUS_SPSC_CONSUMER);
		return rc ? rc : n ? -EINVAL : 0;
	}
	/* The first as peek_try finds it (and remembers it for release). */
	rc = peek_fast(q, &d, &l0);
	if (rc == 0) {
		size = q->peek_end - q->pos;
		l = (uint32_t)l0;
	} else {
		rc = spsc_check(q, SHMBUS_SPSC_CONSUMER);
		if (rc)
			return rc;
		rc = first_msg_or_end(q, &size, &l);
		if (rc)
			return rc;
	}
	p = q->pos;
	for (;;) {
		msgs[i].data = q->ring + (p & q->mask) + SPSC_HDR;
		msgs[i].len = l;
		bytes += l;
		p += size;
		end = p;
		if (++i == n)
			break;
		if (!next_fast(q, p, &size, &l)) {
			/* Through copies: p, size and l stay in registers. */
			uint64_t p2 = p, size2;
			uint32_t l2;

			rc = next_msg(q, &p2, &size2, &l2);
			if (rc == -EAGAIN)
				break;
			if (rc)
				return rc;
			p = p2;
			size = size2;
			l = l2;
		}
	}
	q->burst_ok = true;
	q->burst_n = i;
	q->burst_end = end;
	q->burst_bytes = bytes;
	return (int)i;
}

int shmbus_spsc_release_burst(struct shmbus_spsc *q, unsigned n)
{
	uint64_t size, p, end, bytes = 0;
	uint32_t l;
	unsigned i;
	int rc = spsc_check(q, SHMBUS_SPSC_CONSUMER);

	if (rc)
		return rc;
	if (n == 0)
		return 0;
	if (q->burst_ok && n == q->burst_n) {
		release_to(q, q->burst_end, n, q->burst_bytes);
		return (int)n;
	}
	if (n == 1 && q->peek_ok) {
		release_to(q, q->peek_end, 1, q->peek_len);
		return 1;
	}
	/* Not what the last peek returned: walk the records again, up to @n
	 * or the last one published (bounded: each is at least 8 bytes). */
	p = end = q->pos;
	for (i = 0; i < n; i++) {
		rc = next_msg(q, &p, &size, &l);
		if (rc == -EAGAIN)
			break;
		if (rc)
			return rc;
		bytes += l;
		p += size;
		end = p;
	}
	if (i == 0) {
		/* None, but free the padding in front of the next one, as
		 * release does (a producer may wait for that room). */
		if (p != q->pos)
			release_to(q, p, 0, 0);
		return -EAGAIN;
	}
	release_to(q, end, i, bytes);
	return (int)i;
}

/* pop_fast() says: take the slow path (no length or error code). */
#define POP_SLOW INT_MIN

/* The fast path of pop_try (and pop): peek_fast, the copy and release_to()
 * in line.  Returns the length, or POP_SLOW (an empty ring too: the slow
 * path tells -EAGAIN from the end of the stream). */
SPSC_HOT int pop_fast(struct shmbus_spsc *q, void *buf, size_t size)
{
	const void *data;
	size_t len;
	int rc = peek_fast(q, &data, &len);

	if (__builtin_expect(rc == 0 && len <= size && buf, 1)) {
		memcpy(buf, data, len);
		release_to(q, q->peek_end, 1, len);
		return (int)len;
	}
	return POP_SLOW;
}

static __attribute__((noinline)) int pop_slow(struct shmbus_spsc *q, void *buf, size_t size)
{
	const void *data;
	size_t len;
	int rc;

	rc = shmbus_spsc_peek_try(q, &data, &len);
	if (rc)
		return rc;
	if (len > size)
		return -EMSGSIZE;
	if (len) {
		if (!buf)
			return -EINVAL;
		memcpy(buf, data, len);
	}
	rc = shmbus_spsc_release(q);
	return rc ? rc : (int)len;
}

int shmbus_spsc_pop_try(struct shmbus_spsc *q, void *buf, size_t size)
{
	int rc = pop_fast(q, buf, size);

	if (__builtin_expect(rc != POP_SLOW, 1))
		return rc;
	return pop_slow(q, buf, size);
}

/* ------------------------------------------------------------ blocking forms */

struct peek_args {
	const void **data;
	size_t *len;
	struct shmbus_spsc_msg *msgs;
	unsigned n;
	void *buf;
	size_t size;
};

static int try_peek(struct shmbus_spsc *q, void *arg)
{
	struct peek_args *a = arg;

	return shmbus_spsc_peek_try(q, a->data, a->len);
}

static int try_peek_burst(struct shmbus_spsc *q, void *arg)
{
	struct peek_args *a = arg;

	return shmbus_spsc_peek_burst_try(q, a->msgs, a->n);
}

static int try_pop(struct shmbus_spsc *q, void *arg)
{
	struct peek_args *a = arg;

	return shmbus_spsc_pop_try(q, a->buf, a->size);
}

/* The waiting part of each blocking form, out of line: the forms take their
 * _try's fast path in line first, so a busy ring never pays for a call to
 * spsc_block(), its indirect calls or the arguments' struct.  Each tries
 * once more (the slow path may succeed) before it waits. */
static __attribute__((noinline)) int peek_wait(struct shmbus_spsc *q, const void **data,
					       size_t *len, int timeout_ms)
{
	struct peek_args a = { .data = data, .len = len };

	return spsc_block(q, try_peek, &a, timeout_ms);
}

static __attribute__((noinline)) int pop_wait(struct shmbus_spsc *q, void *buf, size_t size,
					      int timeout_ms)
{
	struct peek_args a = { .buf = buf, .size = size };

	return spsc_block(q, try_pop, &a, timeout_ms);
}

int shmbus_spsc_peek(struct shmbus_spsc *q, const void **data, size_t *len, int timeout_ms)
{
	if (__builtin_expect(data && len && peek_fast(q, data, len) == 0, 1))
		return 0;
	return peek_wait(q, data, len, timeout_ms);
}

int shmbus_spsc_peek_burst(struct shmbus_spsc *q, struct shmbus_spsc_msg *msgs, unsigned n,
			   int timeout_ms)
{
	struct peek_args a = { .msgs = msgs, .n = n };

	return spsc_block(q, try_peek_burst, &a, timeout_ms);
}

int shmbus_spsc_pop(struct shmbus_spsc *q, void *buf, size_t size, int timeout_ms)
{
	int rc = pop_fast(q, buf, size);

	if (__builtin_expect(rc >= 0, 1))
		return rc;
	return pop_wait(q, buf, size, timeout_ms);
}
