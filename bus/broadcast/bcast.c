/*
 * bcast.c - the broadcast handle's life: create a ring block, open the
 * producer role or join as a subscriber (the join protocol), close, the
 * accessors and stats.  The top of the component: nothing in it calls this
 * file.
 *
 * Invariant: a handle exists only for a block whose header and config passed
 * bcast_decode_config() and whose participant entry the handle's process
 * owns; its cached positions passed bcast_positions_ok().
 */
#include <stdlib.h>
#include <string.h>

#include "bcast_internal.h"

static int build_plain(void *mem, uint64_t size, const void *arg)
{
	return bcast_block_build(mem, size, arg);
}

int shmbus_bcast_create(const char *name, const struct shmbus_bcast_params *params)
{
	struct bcast_cfg c;
	uint64_t size;

	if (!name || bcast_params_resolve(params, &c, &size))
		return -EINVAL;
	return block_create_built(name, size, params->mode, build_plain, &c);
}

/* Attach @name and fill the parts of a handle both roles share. */
static int attach(struct shmbus_bcast **out, const char *name, uint32_t role)
{
	struct shmbus_block_info info;
	struct shmbus_bcast *b = NULL;
	struct shmbus_block *blk;
	struct bcast_cfg cfg;
	void *data;
	int rc;

	rc = block_attach_layout(&blk, name, 0, SHMBUS_KIND_BROADCAST, SHMBUS_BCAST_VERSION,
				 &info);
	if (rc)
		return rc;
	rc = shmbus_block_data(blk, &data);
	if (rc)
		goto fail;
	if (shmbus_block_size(blk) < info.total_size) {
		rc = -SHMBUS_ECORRUPT;
		goto fail;
	}
	rc = bcast_decode_config(data, info.total_size, &cfg);
	if (rc)
		goto fail;
	b = calloc(1, sizeof(*b));
	if (!b) {
		rc = -ENOMEM;
		goto fail;
	}
	b->block = blk;
	b->lost = block_lost_word(blk);
	b->sh = data;
	b->cfg = cfg;
	b->ring = (unsigned char *)data + cfg.data_off;
	b->part = (struct participant *)((char *)data + BCAST_PART_OFF);
	b->subs = (struct bcast_sub *)((char *)data + cfg.subs_off);
	b->cap = cfg.capacity;
	b->mask = cfg.capacity - 1;
	b->max_msg = cfg.capacity - BCAST_HDR;
	b->reliable = cfg.policy == SHMBUS_BCAST_RELIABLE;
	b->role = role;
	b->gate = role;
	b->tune = bcast_tuning_default;
	b->me = shmbus_proc_self();
	if (b->me == SHMBUS_IDENT_NONE) {
		rc = -ESRCH;
		goto fail;
	}
	/* Relaxed: informational; a ring marked corrupt stays unusable. */
	if (atomic_load_explicit(&b->sh->w.corrupt, memory_order_relaxed)) {
		rc = -SHMBUS_ECORRUPT;
		goto fail;
	}
	*out = b;
	return 0;

fail:
	free(b);
	shmbus_block_close(blk);
	return rc;
}

/* ovw, head, tail as one consistent view (ovw first: each store of it
 * follows the head and tail it is below; acquire, pairs with O1 and R1),
 * checked.  Returns 0 or -SHMBUS_ECORRUPT. */
static int load_positions(struct shmbus_bcast *b, uint64_t *ovw, uint64_t *head, uint64_t *tail)
{
	struct bcast_prod *p = &b->sh->prod;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		*ovw = atomic_load_explicit(&p->ovw, memory_order_acquire);
		*head = atomic_load_explicit(&p->head, memory_order_acquire);
		*tail = atomic_load_explicit(&p->tail, memory_order_acquire);
		if (bcast_positions_ok(*ovw, *head, *tail, b->cap))
			return 0;
		/* A live producer may move between the loads: look again. */
	}
	return -SHMBUS_ECORRUPT;
}

int shmbus_bcast_open_producer(struct shmbus_bcast **out, const char *name)
{
	struct shmbus_bcast *b;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	rc = attach(&b, name, SHMBUS_BCAST_PRODUCER);
	if (rc)
		return rc;
	rc = part_claim(&b->part[0], SHMBUS_BCAST_PRODUCER, b->me, NULL);
	if (rc)
		goto fail;
	block_touch(b->block);
	rc = load_positions(b, &b->ovw, &b->head, &b->tail);
	if (rc) {
		part_leave(&b->part[0], b->me);
		goto fail;
	}
	/* Relaxed: the claim (C1, acq_rel) ordered the dead owner's stores. */
	b->seq = atomic_load_explicit(&b->sh->prod.seq, memory_order_relaxed);
	b->min_cache = b->ovw; /* forces a scan before the first retirement */
	bcast_asym_setup(b); /* registers before any fence-skipping wake */
	/* Only the producer sleeps on space_wq and we hold the role now: a
	 * count left by a dead owner is stale, a wake drops it; and the dead
	 * owner may have died inside a wake of the subscribers: rouse them. */
	waitq_wake(&b->sh->w.space_wq);
	waitq_rouse(&b->sh->w.data_wq);
	*out = b;
	return 0;

fail:
	shmbus_block_close(b->block);
	free(b);
	return rc;
}

/* Where a joiner starts, before the Dekker check. */
static int start_pos(struct shmbus_bcast *b, enum shmbus_bcast_from from, uint64_t *c)
{
	uint64_t ovw, head, tail, n;
	int rc = load_positions(b, &ovw, &head, &tail);

	if (rc)
		return rc;
	b->tail_seen = tail;
	*c = from == SHMBUS_BCAST_FROM_OLDEST ? head : tail;
	if (from != SHMBUS_BCAST_FROM_NEWEST)
		return 0;
	/* A2: acquire, pairs with R2 in publish(): the record there and the
	 * tail after it are visible. */
	n = atomic_load_explicit(&b->sh->prod.newest, memory_order_acquire);
	if (n == 0)
		return 0;
	n &= ~(uint64_t)7;
	rc = load_positions(b, &ovw, &head, &tail);
	if (rc)
		return rc;
	b->tail_seen = tail;
	if (n & 7 || !bcast_le(n, tail) || tail - n > b->cap)
		return bcast_corrupt(b);
	*c = bcast_le(head, n) ? n : head;
	return 0;
}

/*
 * start_seq - the sequence number of the first message at or after the
 * join point @c (<= b->tail_seen): read from the record there, or, at tail,
 * one more than the newest message's (which ends, with padding at most, at
 * tail).  Returns 0, -EAGAIN (the producer moved meanwhile: pick the join
 * point again), -SHMBUS_ECORRUPT.
 */
static int start_seq(struct shmbus_bcast *b, uint64_t c, uint64_t *seq)
{
	uint64_t p = c, t = b->tail_seen, w, s = 0, n;
	bool msg = false;

	if (p == t) {
		/* A2: acquire, pairs with R2 in publish(). */
		n = atomic_load_explicit(&b->sh->prod.newest, memory_order_acquire);
		if (n == 0) {
			*seq = 0;
			return 0;
		}
		p = n & ~(uint64_t)7;
		if (n & 6 || p == t || !bcast_le(p, t) || t - p > b->cap)
			return -EAGAIN; /* newer than our tail */
	}
	while (p != t) {
		/* Relaxed: ordered after A1/A2; bcast_gone() validates. */
		w = atomic_load_explicit(bcast_word(b, p), memory_order_relaxed);
		s = atomic_load_explicit(bcast_word(b, p + 8), memory_order_relaxed);
		if (bcast_gone(b, p))
			return -EAGAIN;
		if (!bcast_rec_ok(b, p, w, t))
			return bcast_corrupt(b);
		if ((uint32_t)w != BCAST_PAD) {
			if (c != t) {
				*seq = s;
				return 0;
			}
			if (msg)
				return -EAGAIN; /* a message after "the newest" */
			msg = true;
		}
		p += w >> 32;
	}
	if (!msg)
		return bcast_corrupt(b); /* newest was no message */
	*seq = s + 1;
	return 0;
}

int shmbus_bcast_subscribe(struct shmbus_bcast **out, const char *name,
			   enum shmbus_bcast_from from)
{
	struct shmbus_bcast *b;
	struct bcast_sub *me;
	uint64_t c = 0, h;
	int rc, idx, tries = 0;

	if (!out || from < SHMBUS_BCAST_FROM_NEWEST || from > SHMBUS_BCAST_FROM_NEXT)
		return -EINVAL;
	*out = NULL;
	rc = attach(&b, name, SHMBUS_BCAST_SUBSCRIBER);
	if (rc)
		return rc;
	idx = part_join(b->part + 1, b->cfg.subs_max, SHMBUS_BCAST_SUBSCRIBER, b->me, NULL);
	if (idx < 0) {
		rc = idx;
		goto fail;
	}
	block_touch(b->block);
	b->idx = (uint32_t)idx;
	me = b->mine = &b->subs[idx];
	bcast_asym_setup(b); /* registers before any fence-skipping wake */
	/* Relaxed: ours now (the claim acquired the previous owner's), and
	 * published with the cursor by J2. */
	atomic_store_explicit(&me->msgs_out, 0, memory_order_relaxed);
	atomic_store_explicit(&me->bytes_out, 0, memory_order_relaxed);
	atomic_store_explicit(&me->dropped, 0, memory_order_relaxed);
	atomic_store_explicit(&me->waits, 0, memory_order_relaxed);
	atomic_store_explicit(&me->next_seq, 0, memory_order_relaxed);
	rc = start_pos(b, from, &c);
	for (;;) {
		if (rc)
			goto fail_leave;
		/* J1: relaxed, published by J2. */
		atomic_store_explicit(&me->pos, c, memory_order_relaxed);
		/* J2: release, pairs with A3 in rescan(): our cursor is there
		 * for whoever sees us active. */
		atomic_store_explicit(&me->active, b->me, memory_order_release);
		/* J3: seq_cst, against J4/J5 of the producer (Dekker). */
		atomic_fetch_add_explicit(&b->sh->w.joins, 1, memory_order_seq_cst);
		h = atomic_load_explicit(&b->sh->prod.head, memory_order_seq_cst);
		if (bcast_le(h, c)) {
			rc = start_seq(b, c, &b->next_seq);
			if (rc != -EAGAIN || ++tries == 1000)
				break;
			rc = start_pos(b, from, &c);
			continue;
		}
		/* The producer retired our start meanwhile: start at its
		 * head (the oldest kept), with a fresh view. */
		{
			uint64_t o, t;

			rc = load_positions(b, &o, &h, &t);
			b->tail_seen = t;
			c = h;
		}
	}
	if (rc == -EAGAIN) {
		rc = 0; /* a producer too fast to pin: count from the first read */
	} else if (rc) {
		goto fail_leave;
	} else {
		b->seq_known = true;
		/* Relaxed: a report (stats). */
		atomic_store_explicit(&me->next_seq, b->next_seq, memory_order_relaxed);
	}
	b->pos = c;
	*out = b;
	return 0;

fail_leave:
	atomic_store_explicit(&me->active, 0, memory_order_release);
	part_leave(&b->part[1 + idx], b->me);
fail:
	shmbus_block_close(b->block);
	free(b);
	return rc;
}

void shmbus_bcast_close(struct shmbus_bcast *b)
{
	if (!b)
		return;
	if (b->role == SHMBUS_BCAST_PRODUCER) {
		part_leave(&b->part[0], b->me);
	} else {
		/* Release, as R3: we are done with every record. */
		atomic_store_explicit(&b->mine->active, 0, memory_order_release);
		part_leave(&b->part[1 + b->idx], b->me);
		if (b->reliable)
			bcast_wake(&b->sh->w.space_wq, &b->sh->w.sub_wakes);
	}
	block_touch(b->block);
	shmbus_block_close(b->block);
	free(b);
}

size_t shmbus_bcast_capacity(const struct shmbus_bcast *b)
{
	return (size_t)b->cap;
}

size_t shmbus_bcast_max_msg(const struct shmbus_bcast *b)
{
	return (size_t)b->max_msg;
}

enum shmbus_bcast_policy shmbus_bcast_policy(const struct shmbus_bcast *b)
{
	return (enum shmbus_bcast_policy)b->cfg.policy;
}

int shmbus_bcast_index(const struct shmbus_bcast *b)
{
	return b->role == SHMBUS_BCAST_SUBSCRIBER ? (int)b->idx : -EPERM;
}

int shmbus_bcast_stats(const struct shmbus_bcast *b, struct shmbus_bcast_stats *out)
{
	struct bcast_state st = { .subs = NULL };

	if (!b || !out)
		return -EINVAL;
	bcast_decode_state(b->sh, &b->cfg, &st);
	memset(out, 0, sizeof(*out));
	out->capacity = b->cap;
	out->max_msg = b->max_msg;
	out->policy = b->cfg.policy;
	out->subscribers_max = b->cfg.subs_max;
	out->subscribers = st.nsubs;
	out->liveness_ms = b->cfg.liveness_ms;
	out->head = st.head;
	out->tail = st.tail;
	out->seq = st.seq;
	out->msgs_in = st.msgs_in;
	out->bytes_in = st.bytes_in;
	out->full_waits = st.full_waits;
	out->wakes = st.wakes;
	out->evicted = st.evicted;
	out->producer = st.producer;
	out->producer_alive = st.producer_alive;
	out->closed = st.closed;
	out->corrupt = b->broken || st.corrupt;
	return 0;
}

int shmbus_bcast_sub_stats(const struct shmbus_bcast *b, unsigned index,
			   struct shmbus_bcast_sub_stats *out)
{
	struct bcast_sub_state s;
	int rc;

	if (!b || !out || index >= b->cfg.subs_max)
		return -EINVAL;
	rc = bcast_decode_sub(b->sh, &b->cfg, index, &s);
	if (rc == -ENOENT || rc == -EINVAL)
		return rc;
	/* A cursor beyond tail: reported as read (as inspect does), lag 0. */
	*out = (struct shmbus_bcast_sub_stats){
		.index = s.index,
		.ident = s.ident,
		.alive = s.alive,
		.position = s.pos,
		.next_seq = s.next_seq,
		.lag_messages = s.lag_messages,
		.lag_bytes = s.lag_bytes,
		.msgs_out = s.msgs_out,
		.bytes_out = s.bytes_out,
		.dropped = s.dropped,
		.waits = s.waits,
	};
	return 0;
}
