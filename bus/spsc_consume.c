/*
 * spsc_consume.c - the consumer side of the SPSC ring: peek, release, their
 * burst forms, pop.
 *
 * Invariant: q->pos is the tail this consumer last stored and q->other a
 * head it has seen (never ahead of the real one), 0 <= other - pos <=
 * capacity; every record in [pos, other) was checked by read_rec() before
 * any of its bytes was handed out, and nothing is handed out twice to this
 * handle without an intervening release (peeking again returns the same).
 */
#include <errno.h>
#include <string.h>

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
		/* Relaxed: statistics; we are their only writer, so our
		 * private totals are their values (no shared load). */
		atomic_store_explicit(&c->msgs_out, q->msgs += msgs, memory_order_relaxed);
		atomic_store_explicit(&c->bytes_out, q->bytes += bytes, memory_order_relaxed);
	}
	spsc_wake(q, &q->sh->space_wq, &q->sh->space_armed, &c->wakes);
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

int shmbus_spsc_peek_try(struct shmbus_spsc *q, const void **data, size_t *len)
{
	uint64_t size = 0;
	uint32_t l = 0;
	int rc = spsc_check(q, SHMBUS_SPSC_CONSUMER);

	if (rc)
		return rc;
	if (!data || !len)
		return -EINVAL;
	if (!q->peek_ok) {
		/* Fast path: a message (not padding) where the cached head
		 * says there is one. */
		if (__builtin_expect(q->pos != q->other, 1)) {
			rc = read_rec(q, q->pos, &size, &l);
			if (rc)
				return rc;
		}
		if (q->pos == q->other || l == SPSC_PAD) {
			rc = first_msg(q, &size, &l);
			if (rc)
				return rc;
		} else {
			q->peek_ok = true;
			q->peek_len = l;
			q->peek_end = q->pos + size;
		}
	}
	*data = q->ring + (q->pos & q->mask) + SPSC_HDR;
	*len = q->peek_len;
	return 0;
}

int shmbus_spsc_release(struct shmbus_spsc *q)
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

int shmbus_spsc_peek_burst_try(struct shmbus_spsc *q, struct shmbus_spsc_msg *msgs, unsigned n)
{
	uint64_t size, p, end, bytes = 0;
	uint32_t l;
	unsigned i = 0;
	int rc = spsc_check(q, SHMBUS_SPSC_CONSUMER);

	if (rc)
		return rc;
	if (!msgs && n)
		return -EINVAL;
	if (n == 0)
		return 0;
	rc = first_msg(q, &size, &l);
	if (rc)
		return rc;
	p = q->pos;
	for (;;) {
		msgs[i].data = q->ring + (p & q->mask) + SPSC_HDR;
		msgs[i].len = l;
		bytes += l;
		p += size;
		end = p;
		if (++i == n)
			break;
		rc = next_msg(q, &p, &size, &l);
		if (rc == -EAGAIN)
			break;
		if (rc)
			return rc;
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

int shmbus_spsc_pop_try(struct shmbus_spsc *q, void *buf, size_t size)
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

int shmbus_spsc_peek(struct shmbus_spsc *q, const void **data, size_t *len, int timeout_ms)
{
	struct peek_args a = { .data = data, .len = len };

	return spsc_block(q, try_peek, &a, timeout_ms);
}

int shmbus_spsc_peek_burst(struct shmbus_spsc *q, struct shmbus_spsc_msg *msgs, unsigned n,
			   int timeout_ms)
{
	struct peek_args a = { .msgs = msgs, .n = n };

	return spsc_block(q, try_peek_burst, &a, timeout_ms);
}

int shmbus_spsc_pop(struct shmbus_spsc *q, void *buf, size_t size, int timeout_ms)
{
	struct peek_args a = { .buf = buf, .size = size };

	return spsc_block(q, try_pop, &a, timeout_ms);
}
