/*
 * bcast_decode.c - the one reader of a broadcast ring's state: the config
 * check that every open and every snapshot makes, and the decoding of
 * positions, counters, roles and subscriber cursors that shmbus_bcast_stats()
 * (live mapping, bcast.c) and `shmbus inspect` (a pread() copy,
 * bcast_inspect.c) report.
 *
 * Invariant: no value read here indexes, sizes or bounds anything before it
 * is checked; each config field is read once, into a local.  A decoded state
 * is a report only: it orders nothing and changes nothing.
 */
#include <string.h>

#include "bcast_internal.h"
#include "proc_internal.h"

int bcast_decode_config(const struct bcast_shared *sh, uint64_t total_size,
			struct bcast_cfg *out)
{
	struct bcast_cfg c;
	uint32_t poff, pmax;
	uint64_t part_end, subs_end;

	if (total_size < sizeof(*sh))
		return -SHMBUS_ECORRUPT;
	c.capacity = sh->cfg.capacity;
	c.data_off = sh->cfg.data_off;
	c.subs_off = sh->cfg.subs_off;
	c.subs_max = sh->cfg.subs_max;
	c.policy = sh->cfg.policy;
	c.liveness_ms = sh->cfg.liveness_ms;
	poff = sh->hdr.participants_off;
	pmax = sh->hdr.participants_max;
	/* Compiler barrier: the fields above are never re-loaded. */
	atomic_signal_fence(memory_order_seq_cst);
	if (!bcast_capacity_ok(c.capacity) || c.subs_max == 0 ||
	    c.subs_max > SHMBUS_BCAST_SUBSCRIBERS_MAX ||
	    (c.policy != SHMBUS_BCAST_RELIABLE && c.policy != SHMBUS_BCAST_LOSSY) ||
	    c.liveness_ms == 0 || c.liveness_ms > SHMBUS_BCAST_LIVENESS_MAX_MS)
		return -SHMBUS_ECORRUPT;
	if (poff != BCAST_PART_OFF || pmax != c.subs_max + 1)
		return -SHMBUS_ECORRUPT;
	part_end = BCAST_PART_OFF + (uint64_t)pmax * sizeof(struct participant);
	subs_end = (uint64_t)c.subs_off + (uint64_t)c.subs_max * sizeof(struct bcast_sub);
	/* Exactly where bcast_params_resolve() puts them. */
	if (c.subs_off != ((part_end + BCAST_REGION - 1) & ~(uint64_t)(BCAST_REGION - 1)) ||
	    c.data_off != ((subs_end + BCAST_REGION - 1) & ~(uint64_t)(BCAST_REGION - 1)) ||
	    c.data_off + c.capacity != total_size)
		return -SHMBUS_ECORRUPT;
	*out = c;
	return 0;
}

/*
 * Acquire throughout, though a report orders nothing: so that values loaded
 * later are no older than values loaded earlier, and a live ring (where
 * every position only grows) never looks inconsistent.  Subscriber cursors
 * are loaded before tail (a cursor never passes a tail it was not shown),
 * and ovw and head between two equal loads of tail.  The casts drop const
 * only for C11's atomic_load, which takes a non-const pointer.
 */
#define LOAD(p) atomic_load_explicit((p), memory_order_acquire)

static void decode_sub(struct bcast_sub *sub, struct participant *p, uint32_t i,
		       struct bcast_sub_state *st)
{
	memset(st, 0, sizeof(*st));
	st->index = i;
	st->ident = LOAD(&p->ident);
	st->active = st->ident != SHMBUS_IDENT_NONE && LOAD(&sub->active) == st->ident;
	st->pos = LOAD(&sub->pos);
	st->next_seq = LOAD(&sub->next_seq);
	st->msgs_out = LOAD(&sub->msgs_out);
	st->bytes_out = LOAD(&sub->bytes_out);
	st->dropped = LOAD(&sub->dropped);
	st->waits = LOAD(&sub->waits);
	/* Another pid namespace's process is never called dead. */
	st->alive = proc_judge(st->ident, LOAD(&p->ns)) != PROC_DEAD;
}

/* A decoded entry's lag behind @tail and @seq; false if its cursor is
 * impossible (misaligned or beyond tail). */
static bool sub_lag(struct bcast_sub_state *st, uint64_t tail, uint64_t seq)
{
	if (!st->active)
		return true;
	/* A cursor is 8-aligned and never beyond tail (it may be far behind:
	 * a lapped lossy subscriber). */
	if (st->pos & 7 || !bcast_le(st->pos, tail))
		return false;
	st->lag_bytes = tail - st->pos;
	st->lag_messages = bcast_le(st->next_seq, seq) ? seq - st->next_seq : 0;
	return true;
}

int bcast_decode_sub(const struct bcast_shared *sh, const struct bcast_cfg *cfg, uint32_t index,
		     struct bcast_sub_state *st)
{
	struct bcast_shared *s = (struct bcast_shared *)(uintptr_t)sh;
	struct participant *part = (struct participant *)((char *)s + BCAST_PART_OFF);
	struct bcast_sub *subs = (struct bcast_sub *)((char *)s + cfg->subs_off);
	uint64_t tail, seq;

	if (index >= cfg->subs_max)
		return -EINVAL;
	decode_sub(&subs[index], &part[1 + index], index, st);
	if (st->ident == SHMBUS_IDENT_NONE)
		return -ENOENT;
	/* After the cursor, as in bcast_decode_state(). */
	tail = LOAD(&s->prod.tail);
	seq = LOAD(&s->prod.seq);
	return sub_lag(st, tail, seq) ? 0 : -SHMBUS_ECORRUPT;
}

void bcast_decode_state(const struct bcast_shared *sh, const struct bcast_cfg *cfg,
			struct bcast_state *out)
{
	struct bcast_shared *s = (struct bcast_shared *)(uintptr_t)sh;
	struct participant *part = (struct participant *)((char *)s + BCAST_PART_OFF);
	struct bcast_sub *subs = (struct bcast_sub *)((char *)s + cfg->subs_off);
	struct bcast_sub_state *list = out->subs, one;
	uint64_t t2;
	uint32_t i, n = 0;
	int tries;

	memset(out, 0, sizeof(*out));
	out->subs = list;
	out->cfg = *cfg;
	for (i = 0; i < cfg->subs_max; i++) {
		struct bcast_sub_state *st = list ? &list[n] : &one;

		decode_sub(&subs[i], &part[1 + i], i, st);
		if (st->ident != SHMBUS_IDENT_NONE)
			n++;
	}
	out->nsubs = n;
	for (tries = 0; tries < 64; tries++) {
		out->tail = LOAD(&s->prod.tail);
		out->head = LOAD(&s->prod.head);
		out->ovw = LOAD(&s->prod.ovw);
		t2 = LOAD(&s->prod.tail);
		if (t2 == out->tail)
			break;
	}
	out->newest = LOAD(&s->prod.newest);
	out->seq = LOAD(&s->prod.seq);
	out->msgs_in = LOAD(&s->prod.msgs_in);
	out->bytes_in = LOAD(&s->prod.bytes_in);
	out->full_waits = LOAD(&s->prod.full_waits);
	out->wakes = LOAD(&s->prod.wakes) + LOAD(&s->w.sub_wakes);
	out->evicted = LOAD(&s->w.evicted);
	out->joins = LOAD(&s->w.joins);
	out->closed = LOAD(&s->prod.closed) != 0;
	out->waiting_producer = waitq_word_waiters(LOAD(&s->w.space_wq.word));
	out->waiting_subscribers = waitq_word_waiters(LOAD(&s->w.data_wq.word));
	out->producer = LOAD(&part[0].ident);
	/* Another pid namespace's process is never called dead. */
	out->producer_alive = proc_judge(out->producer, LOAD(&part[0].ns)) != PROC_DEAD;
	out->corrupt = LOAD(&s->w.corrupt) != 0 ||
		       !bcast_positions_ok(out->ovw, out->head, out->tail, cfg->capacity) ||
		       (out->newest != 0 && (out->newest & 6 || out->tail - out->newest > cfg->capacity));
	for (i = 0; list && i < n; i++)
		if (!sub_lag(&list[i], out->tail, out->seq))
			out->corrupt = true;
}
