/*
 * spsc_produce.c - the producer side of the SPSC ring: reserve, commit,
 * their burst forms, push, and closing and reopening the stream.
 *
 * Invariant: the producer alone writes [head, tail + capacity) of the ring
 * and the head position; q->pos is the head it last stored and q->other a
 * tail it has seen (never ahead of the real one), so
 * q->pos - q->other <= capacity, and the room it believes it has is never
 * more than it really has.  Nothing beyond head is visible to the consumer
 * until the release store of head in publish().  While the stream is closed
 * the handle's gate is shut, so every producer call but reopen fails with
 * -EPIPE (spsc_check()) and the fast paths, which test the gate anyway,
 * pay nothing for it.
 */
#include <errno.h>
#include <string.h>

#include "spsc_internal.h"

static int spsc_refresh_tail(struct shmbus_spsc *q)
{
	/* A1: acquire, pairs with R2 in release_to() (spsc_consume.c): the
	 * consumer is done reading the bytes it freed before we reuse them. */
	uint64_t t = atomic_load_explicit(&q->sh->cons.tail, memory_order_acquire);

	/* The consumer moves forward, never past head (unsigned arithmetic:
	 * anything else shows up as a huge difference). */
	if (t & 7 || t - q->other > q->pos - q->other)
		return spsc_corrupt(q);
	q->other = t;
	return 0;
}

/* Store head (publishing every record before it) and wake a sleeping
 * consumer; count @msgs messages of @bytes payload. */
SPSC_HOT void publish(struct shmbus_spsc *q, uint64_t head, uint64_t msgs, uint64_t bytes)
{
	struct spsc_prod *p = &q->sh->prod;

	/* R1: release, pairs with A2 in spsc_refresh_head(): the records'
	 * headers and payloads are written before head covers them. */
	atomic_store_explicit(&p->head, head, memory_order_release);
	q->pos = head;
	if (msgs) {
		spsc_count(&p->msgs_in, msgs);
		spsc_count(&p->bytes_in, bytes);
	}
	spsc_wake(q);
}

/*
 * place - where a record of @need bytes goes when the previous one ends at
 * @pos: at @pos, or at the next start of the ring if it does not fit before
 * the end (then a padding record fills [pos, start)).  Sets *@start.
 * @first: nothing else is reserved before it, so a padding record that fits
 * while the record does not may be published on its own (otherwise a record
 * larger than the room left after the padding could never be placed).
 * Returns 0, -EAGAIN (no room yet; q->want says up to where), or
 * -SHMBUS_ECORRUPT.
 */
static int place(struct shmbus_spsc *q, uint64_t pos, uint64_t need, bool first,
		 uint64_t *start)
{
	uint64_t off = pos & q->mask, s = pos;
	int rc;

	if (need > q->cap - off)
		s = pos + (q->cap - off);
	if (s + need - q->other > q->cap) {
		rc = spsc_refresh_tail(q);
		if (rc)
			return rc;
		if (s + need - q->other > q->cap) {
			if (s == pos || !first || s - q->other > q->cap) {
				q->want = s + need;
				return -EAGAIN;
			}
			/* The padding fits now, the record later: publish the
			 * padding so the consumer frees it, and retry at the
			 * start of the ring (once: there s == pos).  Relaxed:
			 * published by R1 in publish() just below. */
			atomic_store_explicit(spsc_rec(q, pos), spsc_rec_word(SPSC_PAD, s - pos),
					      memory_order_relaxed);
			publish(q, s, 0, 0);
			return place(q, s, need, first, start);
		}
	}
	if (s != pos)
		/* Relaxed: published by R1 with the record after it. */
		atomic_store_explicit(spsc_rec(q, pos), spsc_rec_word(SPSC_PAD, s - pos),
				      memory_order_relaxed);
	*start = s;
	return 0;
}

/* Whether this is a healthy producer handle (q->gate, one compare, as
 * peek_fast() checks its own role) and a record for @len bytes of payload
 * fits at its head, before the end of the ring, in the room it knows of
 * (q->other, a tail it has seen).  Private values only: nothing is read
 * from the block.  On a consumer handle the room test alone could pass
 * (pos is then the tail, other the head), so the role comes first.
 * len <= cap - off - 8 also bounds len (off < cap, both multiples of 8), so
 * rec_size(len) <= cap - off cannot overflow. */
SPSC_HOT bool fits_fast(const struct shmbus_spsc *q, size_t len, uint64_t off)
{
	return q->gate == SHMBUS_SPSC_PRODUCER && !block_lost(q->lost) &&
	       len <= q->max_msg - off &&
	       q->pos + spsc_rec_size(len) - q->other <= q->cap;
}

/* reserve_try when the fast path does not apply: a wrong handle or
 * argument, a padding record at the end of the ring, or a fresh look at
 * the consumer's tail. */
static __attribute__((noinline)) int reserve_slow(struct shmbus_spsc *q, size_t len, void **data)
{
	uint64_t need, start;
	int rc = spsc_check(q, SHMBUS_SPSC_PRODUCER);

	if (rc)
		return rc;
	/* Any reserve replaces the reservation before it, even one that
	 * fails (-EAGAIN may have published padding, moving head). */
	q->res_n = 0;
	if (!data)
		return -EINVAL;
	if (len > q->max_msg)
		return -EMSGSIZE;
	need = spsc_rec_size(len);
	start = q->pos;
	if (need > q->cap - (start & q->mask) || start + need - q->other > q->cap) {
		rc = place(q, start, need, true, &start);
		if (rc)
			return rc;
	}
	q->res_n = 1;
	q->res_len = (uint32_t)len;
	q->res_pos = start;
	*data = q->ring + (start & q->mask) + SPSC_HDR;
	return 0;
}

/* The fast path of reserve_try (and reserve): nothing loaded from the
 * block.  False: take the slow path. */
SPSC_HOT bool reserve_fast(struct shmbus_spsc *q, size_t len, void **data)
{
	uint64_t off = q->pos & q->mask;

	if (__builtin_expect(!(data && fits_fast(q, len, off)), 0))
		return false;
	q->res_n = 1;
	q->res_len = (uint32_t)len;
	q->res_pos = q->pos;
	*data = q->ring + off + SPSC_HDR;
	return true;
}

int shmbus_spsc_reserve_try(struct shmbus_spsc *q, size_t len, void **data)
{
	if (__builtin_expect(reserve_fast(q, len, data), 1))
		return 0;
	return reserve_slow(q, len, data);
}

/* Size and end of the first reserved record: a single reserve keeps only
 * its length (the record is rec_size of it), a burst keeps both. */
static uint64_t res_size(const struct shmbus_spsc *q)
{
	return q->res_n == 1 ? spsc_rec_size(q->res_len) : q->res_size;
}

static uint64_t res_end(const struct shmbus_spsc *q)
{
	return q->res_n == 1 ? q->res_pos + spsc_rec_size(q->res_len) : q->res_end;
}

/* Write the header of the one message at @pos and publish it. */
SPSC_HOT void commit_one(struct shmbus_spsc *q, uint64_t pos, size_t len, uint64_t size)
{
	/* Relaxed: published by R1 in publish(). */
	atomic_store_explicit(spsc_rec(q, pos), spsc_rec_word((uint32_t)len, size),
			      memory_order_relaxed);
	q->res_n = 0;
	publish(q, pos + size, 1, len);
}

static __attribute__((noinline)) int commit_slow(struct shmbus_spsc *q, size_t len)
{
	int rc = spsc_check(q, SHMBUS_SPSC_PRODUCER);

	if (rc)
		return rc;
	if (q->res_n == 0 || len > q->res_len)
		return -EINVAL;
	/* A lone record may shrink to what was written; the first of a burst
	 * keeps its size, the next one starts right after it. */
	commit_one(q, q->res_pos, len, q->res_n == 1 ? spsc_rec_size(len) : q->res_size);
	return 0;
}

int shmbus_spsc_commit(struct shmbus_spsc *q, size_t len)
{
	/* res_n is 0 on a consumer handle and on a broken one. */
	if (__builtin_expect(q->res_n == 1 && len <= q->res_len, 1)) {
		commit_one(q, q->res_pos, len, spsc_rec_size(len));
		return 0;
	}
	return commit_slow(q, len);
}

int shmbus_spsc_reserve_burst_try(struct shmbus_spsc *q, struct shmbus_spsc_buf *bufs,
				  unsigned n)
{
	/* Locals: the stores through bufs could alias the handle. */
	unsigned char *ring = q->ring;
	uint64_t mask = q->mask, cap = q->cap, max = q->max_msg, other = q->other;
	uint64_t p, need, start, bytes = 0;
	unsigned i;
	int rc = spsc_check(q, SHMBUS_SPSC_PRODUCER);

	if (rc)
		return rc;
	q->res_n = 0; /* as in reserve_slow() */
	if (!bufs && n)
		return -EINVAL;
	p = q->pos;
	for (i = 0; i < n; i++) {
		size_t len = bufs[i].len;

		start = p;
		need = spsc_rec_size(len);
		/* As fits_fast(), at p; else place() pads, refreshes tail, or
		 * says there is no room. */
		if (__builtin_expect(!(len <= max - (p & mask) && p + need - other <= cap), 0)) {
			if (len > max) {
				if (i == 0)
					return -EMSGSIZE;
				break;
			}
			rc = place(q, p, need, i == 0, &start);
			other = q->other;
			if (rc == -EAGAIN && i > 0)
				break;
			if (rc)
				return rc;
		}
		if (i == 0) {
			q->res_pos = start;
			q->res_len = (uint32_t)len;
			q->res_size = need;
		}
		/* The header, so that commit_bulk can walk the records.
		 * Relaxed: published by R1 (or never). */
		atomic_store_explicit((_Atomic uint64_t *)(void *)(ring + (start & mask)),
				      spsc_rec_word((uint32_t)len, need), memory_order_relaxed);
		bufs[i].data = ring + (start & mask) + SPSC_HDR;
		bytes += len;
		p = start + need;
	}
	q->res_n = i;
	q->res_end = p;
	q->res_bytes = bytes;
	return (int)i;
}

/*
 * Walk the first @n reserved records: the first is described by the handle
 * (a single reserve writes no header), the others by the headers that
 * reserve_burst wrote, checked against the reservation (they are ours, but
 * they sit in shared memory).  With @write, store the final lengths.
 * Returns the end position of the n-th record, or 0 with *@rc set.
 */
static uint64_t walk_reserved(struct shmbus_spsc *q, const struct shmbus_spsc_buf *bufs,
			      unsigned n, bool write, uint64_t *bytes, int *rc)
{
	uint64_t p = q->res_pos, end = res_end(q), w, size, len, off;
	unsigned i;

	*bytes = 0;
	for (i = 0; i < n; i++) {
		off = p & q->mask;
		if (i == 0) {
			size = res_size(q);
			len = q->res_len;
		} else {
			/* Relaxed: our own earlier store. */
			w = atomic_load_explicit(spsc_rec(q, p), memory_order_relaxed);
			size = w >> 32;
			if ((uint32_t)w == SPSC_PAD) {
				if (size != q->cap - off || off == 0 || size > end - p)
					goto corrupt;
				p += size;
				i--;
				continue;
			}
			len = (uint32_t)w;
			if (size < SPSC_HDR || size & 7 || size > q->cap - off ||
			    size > end - p || len > size - SPSC_HDR)
				goto corrupt;
		}
		if (bufs && (bufs[i].len > len ||
			     bufs[i].data != (void *)(q->ring + off + SPSC_HDR))) {
			*rc = -EINVAL;
			return 0;
		}
		if (bufs)
			len = bufs[i].len;
		if (write) {
			/* The last record of the whole reservation may shrink. */
			if (i == n - 1 && n == q->res_n)
				size = spsc_rec_size(len);
			/* Relaxed: published by R1. */
			atomic_store_explicit(spsc_rec(q, p), spsc_rec_word((uint32_t)len, size),
					      memory_order_relaxed);
		}
		*bytes += len;
		p += size;
	}
	*rc = 0;
	return p;

corrupt:
	*rc = spsc_corrupt(q);
	return 0;
}

int shmbus_spsc_commit_bulk(struct shmbus_spsc *q, const struct shmbus_spsc_buf *bufs,
			     unsigned n)
{
	uint64_t end, bytes;
	int rc = spsc_check(q, SHMBUS_SPSC_PRODUCER);

	if (rc)
		return rc;
	if (n > q->res_n)
		return -EINVAL;
	if (n == 0) {
		q->res_n = 0;
		return 0;
	}
	if (!bufs && n == q->res_n) {
		/* All of it, as reserved: the headers are written already (but
		 * a single reserve's), end and bytes are in the handle. */
		if (n == 1) {
			commit_one(q, q->res_pos, q->res_len, spsc_rec_size(q->res_len));
			return 0;
		}
		q->res_n = 0;
		publish(q, q->res_end, n, q->res_bytes);
		return 0;
	}
	/* Check everything first, so that a bad argument changes nothing. */
	if (bufs) {
		walk_reserved(q, bufs, n, false, &bytes, &rc);
		if (rc)
			return rc;
	}
	end = walk_reserved(q, bufs, n, true, &bytes, &rc);
	if (rc)
		return rc;
	q->res_n = 0;
	publish(q, end, n, bytes);
	return 0;
}

/* The fast path of push_try (and push): reserve_fast's test, the copy and
 * commit_one() in line. */
SPSC_HOT bool push_fast(struct shmbus_spsc *q, const void *data, size_t len)
{
	uint64_t off = q->pos & q->mask;

	if (__builtin_expect(!(data && fits_fast(q, len, off)), 0))
		return false;
	memcpy(q->ring + off + SPSC_HDR, data, len);
	commit_one(q, q->pos, len, spsc_rec_size(len));
	return true;
}

static __attribute__((noinline)) int push_slow(struct shmbus_spsc *q, const void *data, size_t len)
{
	void *dst;
	int rc;

	q->res_n = 0; /* replaces a reservation, as any reserve (0 already
		       * on a handle of the other role or a broken one) */
	if (!data && len)
		return -EINVAL;
	rc = shmbus_spsc_reserve_try(q, len, &dst);
	if (rc)
		return rc;
	if (len)
		memcpy(dst, data, len);
	return shmbus_spsc_commit(q, len);
}

int shmbus_spsc_push_try(struct shmbus_spsc *q, const void *data, size_t len)
{
	if (__builtin_expect(push_fast(q, data, len), 1))
		return 0;
	return push_slow(q, data, len);
}

/* The checks of close_stream and reopen_stream: on the role itself, not the
 * gate, which a closed stream shuts. */
static int stream_check(const struct shmbus_spsc *q)
{
	if (!q)
		return -EINVAL;
	if (q->broken)
		return -SHMBUS_ECORRUPT;
	return q->role == SHMBUS_SPSC_PRODUCER ? 0 : -EPERM;
}

int shmbus_spsc_close_stream(struct shmbus_spsc *q)
{
	int rc = stream_check(q);

	if (rc)
		return rc;
	q->res_n = 0;
	q->gate = 0;
	/* R3: release, pairs with A5 in first_msg_or_end() (spsc_consume.c):
	 * every head stored before (R1) is visible to a consumer that sees
	 * the stream closed, so it drains them all before it reports the end.
	 * Also the W1 of the wake below: a sleeping consumer's S3 loads the
	 * flag as it loads head (spsc_wait.c). */
	atomic_store_explicit(&q->sh->prod.closed, 1, memory_order_release);
	spsc_wake(q);
	return 0;
}

int shmbus_spsc_reopen_stream(struct shmbus_spsc *q)
{
	int rc = stream_check(q);

	if (rc)
		return rc;
	/* Relaxed: it publishes nothing.  A consumer learns of the messages
	 * after it from their head (R1, which this store precedes); one that
	 * still reads the flag set reports an end of stream that did happen,
	 * and gets the new messages on its next call. */
	atomic_store_explicit(&q->sh->prod.closed, 0, memory_order_relaxed);
	q->gate = SHMBUS_SPSC_PRODUCER;
	return 0;
}

/* ------------------------------------------------------------ blocking forms */

struct reserve_args {
	size_t len;
	void **data;
	struct shmbus_spsc_buf *bufs;
	unsigned n;
	const void *src;
};

static int try_reserve(struct shmbus_spsc *q, void *arg)
{
	struct reserve_args *a = arg;

	return shmbus_spsc_reserve_try(q, a->len, a->data);
}

static int try_reserve_burst(struct shmbus_spsc *q, void *arg)
{
	struct reserve_args *a = arg;

	return shmbus_spsc_reserve_burst_try(q, a->bufs, a->n);
}

static int try_push(struct shmbus_spsc *q, void *arg)
{
	struct reserve_args *a = arg;

	return shmbus_spsc_push_try(q, a->src, a->len);
}

/* The waiting part of each blocking form, out of line: the forms take their
 * _try's fast path in line first, so a busy ring never pays for a call to
 * spsc_block(), its indirect calls or the arguments' struct.  Each tries
 * once more (the slow path may succeed) before it waits. */
static __attribute__((noinline)) int reserve_wait(struct shmbus_spsc *q, size_t len, void **data,
						  int timeout_ms)
{
	struct reserve_args a = { .len = len, .data = data };

	return spsc_block(q, try_reserve, &a, timeout_ms);
}

static __attribute__((noinline)) int push_wait(struct shmbus_spsc *q, const void *data, size_t len,
					       int timeout_ms)
{
	struct reserve_args a = { .len = len, .src = data };

	return spsc_block(q, try_push, &a, timeout_ms);
}

int shmbus_spsc_reserve(struct shmbus_spsc *q, size_t len, void **data, int timeout_ms)
{
	if (__builtin_expect(reserve_fast(q, len, data), 1))
		return 0;
	return reserve_wait(q, len, data, timeout_ms);
}

int shmbus_spsc_reserve_burst(struct shmbus_spsc *q, struct shmbus_spsc_buf *bufs, unsigned n,
			      int timeout_ms)
{
	struct reserve_args a = { .bufs = bufs, .n = n };

	return spsc_block(q, try_reserve_burst, &a, timeout_ms);
}

int shmbus_spsc_push(struct shmbus_spsc *q, const void *data, size_t len, int timeout_ms)
{
	if (__builtin_expect(push_fast(q, data, len), 1))
		return 0;
	return push_wait(q, data, len, timeout_ms);
}
