/*
 * bcast_subscribe.c - the subscriber side of the broadcast ring: peek,
 * release, their burst forms, pop; lap detection and the dropped count.
 *
 * Invariant: b->pos is the cursor last stored in the block (mine->pos) and
 * b->tail_seen a tail loaded from the block (pos <= tail_seen, unless
 * lapped: then pos is only behind ovw); nothing read from the ring is handed
 * out before its header passed bcast_rec_ok() and the overwrite check F2
 * (so it was not being overwritten when read), and a message's sequence
 * number is the one expected (or, after a lap, larger: the difference is
 * counted as dropped, exactly once).
 */
#include <string.h>

#include "bcast_internal.h"

static int load_tail(struct shmbus_bcast *b)
{
	/* A1: acquire, pairs with R1 in publish() (bcast_produce.c): the
	 * records before tail are written. */
	uint64_t t = atomic_load_explicit(&b->sh->prod.tail, memory_order_acquire);

	if (t & 7 || !bcast_le(b->tail_seen, t))
		return bcast_corrupt(b);
	b->tail_seen = t;
	return 0;
}

/* Store the cursor (and the seq expected there) and, reliable, wake a
 * producer that may wait for it. */
static void store_pos(struct shmbus_bcast *b, uint64_t pos)
{
	/* Relaxed: a counter-like report, published with the cursor. */
	atomic_store_explicit(&b->mine->next_seq, b->next_seq, memory_order_relaxed);
	/* R3: release, pairs with A4 in rescan() (bcast_produce.c): our reads
	 * of the records before are done before the producer reuses them. */
	atomic_store_explicit(&b->mine->pos, pos, memory_order_release);
	b->pos = pos;
	if (b->reliable)
		bcast_wake_fast(b, &b->sh->w.space_armed, &b->sh->w.space_wq,
				&b->sh->w.sub_wakes);
}

/* Lapped at @pos: go on at the oldest record still there; the gap is counted
 * when the next message is read (its seq tells how many were lost). */
static int resume(struct shmbus_bcast *b, uint64_t *p)
{
	uint64_t o;
	int rc, tries;

	for (tries = 0; tries < 1000; tries++) {
		/* Acquire: pairs with O1; the tail loaded after it covers
		 * ovw. */
		o = atomic_load_explicit(&b->sh->prod.ovw, memory_order_acquire);
		rc = load_tail(b);
		if (rc)
			return rc;
		if (o & 7 || !bcast_le(o, b->tail_seen))
			return bcast_corrupt(b);
		/* More than a ring behind that tail: the producer moved
		 * between the two loads, look again (garbage would do it
		 * every time: bounded). */
		if (b->tail_seen - o <= b->cap) {
			b->lapped = b->seq_known;
			*p = o;
			return 0;
		}
	}
	return bcast_corrupt(b);
}

/* What a message found at @p tells: its gap after a lap, or garbage. */
static int check_seq(struct shmbus_bcast *b, uint64_t s, uint64_t *gap)
{
	/* Relaxed: seq is stored before R1, which A1 acquired. */
	uint64_t top = atomic_load_explicit(&b->sh->prod.seq, memory_order_relaxed);

	*gap = 0;
	if (!bcast_le(s + 1, top))
		return bcast_corrupt(b);
	if (!b->seq_known)
		return 0;
	if (b->lapped) {
		if (!bcast_le(b->next_seq, s))
			return bcast_corrupt(b);
		*gap = s - b->next_seq;
		return 0;
	}
	return s == b->next_seq ? 0 : bcast_corrupt(b);
}

/* The stream is closed and everything before the close is read: the
 * messages lost in a lap just before it are counted now. */
static int at_end(struct shmbus_bcast *b)
{
	/* Relaxed: stored before R1 and R4, which we acquired. */
	uint64_t top = atomic_load_explicit(&b->sh->prod.seq, memory_order_relaxed);

	if (b->lapped && bcast_le(b->next_seq, top)) {
		bcast_count(&b->mine->dropped, top - b->next_seq);
		b->next_seq = top;
		b->lapped = false;
		atomic_store_explicit(&b->mine->next_seq, top, memory_order_relaxed);
	}
	return -SHMBUS_EEOS;
}

/*
 * next_msg - the first message at or after *@p (past padding, and past a lap
 * to the oldest record kept).  Fills @m (data in place) and *@size.  With
 * @strict (the second and later messages of a burst) it stops instead with
 * -EAGAIN at anything but a plain next message.  Returns 0, -EAGAIN,
 * -SHMBUS_EEOS, -SHMBUS_ECORRUPT.  Lock-free: it loops only when the
 * producer lapped it again.
 */
static int next_msg(struct shmbus_bcast *b, uint64_t *p, struct shmbus_bcast_msg *m,
		    uint64_t *size, bool strict)
{
	uint64_t w, s, gap;
	int rc;

	for (;;) {
		if (*p == b->tail_seen) {
			rc = load_tail(b);
			if (rc)
				return rc;
		}
		if (*p == b->tail_seen) {
			if (strict)
				return -EAGAIN;
			/* A4: acquire, pairs with R4 in close_stream(). */
			if (!atomic_load_explicit(&b->sh->prod.closed, memory_order_acquire))
				return -EAGAIN;
			rc = load_tail(b);
			if (rc)
				return rc;
			if (*p == b->tail_seen)
				return at_end(b);
			continue;
		}
		if (!bcast_le(*p, b->tail_seen))
			return bcast_corrupt(b);
		/* Relaxed: A1 ordered them after the record's publication;
		 * gone() tells whether they were overwritten since. */
		w = atomic_load_explicit(bcast_word(b, *p), memory_order_relaxed);
		s = atomic_load_explicit(bcast_word(b, *p + 8), memory_order_relaxed);
		if (bcast_gone(b, *p)) {
			if (strict)
				return -EAGAIN;
			rc = resume(b, p);
			if (rc)
				return rc;
			continue;
		}
		if (!bcast_rec_ok(b, *p, w, b->tail_seen))
			return bcast_corrupt(b);
		if ((uint32_t)w == BCAST_PAD) {
			*p += w >> 32;
			continue;
		}
		if (strict && b->lapped)
			return -EAGAIN;
		rc = check_seq(b, s, &gap);
		if (rc)
			return rc;
		m->data = b->ring + ((*p + BCAST_HDR) & b->mask);
		m->len = (uint32_t)w;
		m->seq = s;
		m->dropped = gap;
		*size = w >> 32;
		return 0;
	}
}

/* Take the first message: remember it for release, count a gap. */
static int peek_first(struct shmbus_bcast *b, struct shmbus_bcast_msg *m)
{
	uint64_t p = b->pos, size = 0;
	int rc = next_msg(b, &p, m, &size, false);

	if (rc == -SHMBUS_ECORRUPT)
		return rc;
	if (p != b->pos)
		store_pos(b, p); /* past padding or a lap: free it at once */
	if (rc)
		return rc;
	if (m->dropped)
		bcast_count(&b->mine->dropped, m->dropped);
	b->lapped = false;
	b->seq_known = true;
	b->next_seq = m->seq;
	b->peek_n = 1;
	b->peek_end = p + size;
	b->peek_seq_end = m->seq + 1;
	b->peek_bytes = m->len;
	b->peek_dropped = m->dropped;
	return 0;
}

int shmbus_bcast_peek_try(struct shmbus_bcast *b, struct shmbus_bcast_msg *msg)
{
	uint64_t w;
	int rc = b ? bcast_check(b, SHMBUS_BCAST_SUBSCRIBER) : -EINVAL;

	if (rc)
		return rc;
	if (!msg)
		return -EINVAL;
	if (b->peek_n) {
		/* Relaxed: checked when first peeked; release validates. */
		w = atomic_load_explicit(bcast_word(b, b->pos), memory_order_relaxed);
		*msg = (struct shmbus_bcast_msg){
			.data = b->ring + ((b->pos + BCAST_HDR) & b->mask),
			.len = b->peek_n == 1 ? b->peek_bytes : (uint32_t)w,
			.seq = b->next_seq,
			.dropped = b->peek_dropped,
		};
		if (msg->len > b->max_msg)
			msg->len = 0; /* torn (lossy): release will say so */
		return 0;
	}
	return peek_first(b, msg);
}

int shmbus_bcast_peek_burst_try(struct shmbus_bcast *b, struct shmbus_bcast_msg *msgs, unsigned n)
{
	uint64_t p, size;
	unsigned i;
	int rc = b ? bcast_check(b, SHMBUS_BCAST_SUBSCRIBER) : -EINVAL;

	if (rc)
		return rc;
	if (n && !msgs)
		return -EINVAL;
	if (n == 0)
		return 0;
	b->peek_n = 0;
	rc = peek_first(b, &msgs[0]);
	if (rc)
		return rc;
	p = b->peek_end;
	for (i = 1; i < n; i++) {
		b->next_seq = b->peek_seq_end;
		rc = next_msg(b, &p, &msgs[i], &size, true);
		b->next_seq = msgs[0].seq;
		if (rc == -SHMBUS_ECORRUPT)
			return rc;
		if (rc)
			break;
		p += size;
		b->peek_end = p;
		b->peek_seq_end++;
		b->peek_bytes += msgs[i].len;
	}
	b->peek_n = i;
	return (int)i;
}

/*
 * release_n - release the first @n peeked messages, which end at @end,
 * hold @bytes of payload and are followed by seq @seq_end.  If what was
 * peeked may have been overwritten while read (F2 in bcast_gone()), all of the
 * last peek counts as dropped instead (its figures in b->peek_*: @end and
 * the rest may come from torn words), -SHMBUS_ELAPPED.
 */
static int release_n(struct shmbus_bcast *b, unsigned n, uint64_t end, uint64_t seq_end,
		     uint64_t bytes)
{
	struct bcast_sub *me = b->mine;

	if (bcast_gone(b, b->pos)) {
		bcast_count(&me->dropped, b->peek_n);
		b->next_seq = b->peek_seq_end;
		b->peek_n = 0;
		store_pos(b, b->peek_end);
		return -SHMBUS_ELAPPED;
	}
	b->peek_n = 0;
	b->next_seq = seq_end;
	bcast_count(&me->msgs_out, n);
	bcast_count(&me->bytes_out, bytes);
	store_pos(b, end);
	return (int)n;
}

/* The end and payload bytes of the first @n peeked messages (a walk over
 * words checked at peek; release_n() discards it if they changed since). */
static uint64_t peeked_end(struct shmbus_bcast *b, unsigned n, uint64_t *bytes)
{
	uint64_t p = b->pos, w;
	unsigned i = 0, steps = 0;

	*bytes = 0;
	if (n == b->peek_n) {
		*bytes = b->peek_bytes;
		return b->peek_end;
	}
	while (i < n && steps++ < 2 * b->peek_n) {
		/* Relaxed: ordered after A1 as at peek; F2 validates. */
		w = atomic_load_explicit(bcast_word(b, p), memory_order_relaxed);
		if (!bcast_rec_ok(b, p, w, b->peek_end))
			return b->peek_end;
		if ((uint32_t)w != BCAST_PAD) {
			*bytes += (uint32_t)w;
			i++;
		}
		p += w >> 32;
	}
	return p;
}

int shmbus_bcast_release(struct shmbus_bcast *b)
{
	uint64_t end, bytes;
	int rc = b ? bcast_check(b, SHMBUS_BCAST_SUBSCRIBER) : -EINVAL;

	if (rc)
		return rc;
	if (!b->peek_n)
		return -EAGAIN;
	end = peeked_end(b, 1, &bytes);
	rc = release_n(b, 1, end, b->next_seq + 1, bytes);
	return rc < 0 ? rc : 0;
}

int shmbus_bcast_release_burst(struct shmbus_bcast *b, unsigned n)
{
	uint64_t end, bytes;
	int rc = b ? bcast_check(b, SHMBUS_BCAST_SUBSCRIBER) : -EINVAL;

	if (rc)
		return rc;
	if (!b->peek_n)
		return -EAGAIN;
	if (n == 0 || n > b->peek_n)
		return -EINVAL;
	end = peeked_end(b, n, &bytes);
	return release_n(b, n, end, b->next_seq + n, bytes);
}

/*
 * The copy out of a lossy read in place (pop): the seqlock's read side.  It
 * may race with the producer overwriting the bytes; the release after it
 * tells whether it did, and a torn copy is dropped.  In C11 terms a data
 * race on plain bytes, as in every seqlock over memcpy; out of line so that
 * tests/tsan.supp can name this race alone (the reliable ring's copy is a
 * plain memcpy, which TSan keeps checking).
 */
static __attribute__((noinline)) void seqlock_copy(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

int shmbus_bcast_pop_try(struct shmbus_bcast *b, void *buf, size_t size,
			 struct shmbus_bcast_msg *info)
{
	struct shmbus_bcast_msg m;
	int rc;

	if (!buf && size)
		return -EINVAL;
	for (;;) {
		rc = shmbus_bcast_peek_try(b, &m);
		if (rc)
			return rc;
		if (m.len > size)
			return -EMSGSIZE;
		/* Lossy: the producer may be overwriting these bytes; the
		 * release below tells (F2), and a torn copy is dropped. */
		if (m.len && b->reliable)
			memcpy(buf, m.data, m.len);
		else if (m.len)
			seqlock_copy(buf, m.data, m.len);
		rc = shmbus_bcast_release(b);
		if (rc == -SHMBUS_ELAPPED) {
			/* Counted with the next message we return, even by a
			 * later call (this one may find no more). */
			b->pop_dropped += m.dropped + 1;
			continue;
		}
		if (rc)
			return rc;
		break;
	}
	if (info) {
		info->data = buf;
		info->len = m.len;
		info->seq = m.seq;
		info->dropped = b->pop_dropped + m.dropped;
	}
	b->pop_dropped = 0;
	return (int)m.len;
}

/* ------------------------------------------------------------ blocking forms */

struct sub_args {
	struct shmbus_bcast *b;
	struct shmbus_bcast_msg *msgs;
	unsigned n;
	void *buf;
	size_t size;
	int (*attempt)(struct shmbus_bcast *b, void *arg);
};

static int try_peek(struct shmbus_bcast *b, void *arg)
{
	struct sub_args *a = arg;

	return shmbus_bcast_peek_try(b, a->msgs);
}

static int try_peek_burst(struct shmbus_bcast *b, void *arg)
{
	struct sub_args *a = arg;

	return shmbus_bcast_peek_burst_try(b, a->msgs, a->n);
}

static int try_pop(struct shmbus_bcast *b, void *arg)
{
	struct sub_args *a = arg;

	return shmbus_bcast_pop_try(b, a->buf, a->size, a->msgs);
}

/* The sleeping subscriber's condition: tail moved, the stream closed, or
 * garbage appeared.  Acquire: pairs with R1 and R4 (the attempt re-loads). */
static bool data_moved(void *arg)
{
	struct shmbus_bcast *b = ((struct sub_args *)arg)->b;

	return atomic_load_explicit(&b->sh->prod.tail, memory_order_acquire) != b->tail_seen ||
	       atomic_load_explicit(&b->sh->prod.closed, memory_order_acquire) != 0 ||
	       atomic_load_explicit(&b->sh->w.corrupt, memory_order_relaxed) != 0;
}

static int sub_wait(struct shmbus_bcast *b, struct sub_args *a, int timeout_ms)
{
	a->b = b;
	if (!b || bcast_check(b, SHMBUS_BCAST_SUBSCRIBER))
		return a->attempt(b, a);
	return bcast_block(b, a->attempt, data_moved, a, timeout_ms);
}

int shmbus_bcast_peek(struct shmbus_bcast *b, struct shmbus_bcast_msg *msg, int timeout_ms)
{
	struct sub_args a = { .msgs = msg, .attempt = try_peek };

	return sub_wait(b, &a, timeout_ms);
}

int shmbus_bcast_peek_burst(struct shmbus_bcast *b, struct shmbus_bcast_msg *msgs, unsigned n,
			    int timeout_ms)
{
	struct sub_args a = { .msgs = msgs, .n = n, .attempt = try_peek_burst };

	return sub_wait(b, &a, timeout_ms);
}

int shmbus_bcast_pop(struct shmbus_bcast *b, void *buf, size_t size,
		     struct shmbus_bcast_msg *info, int timeout_ms)
{
	struct sub_args a = { .msgs = info, .buf = buf, .size = size, .attempt = try_pop };

	return sub_wait(b, &a, timeout_ms);
}
