/*
 * mpmc_inspect.c - snapshot hooks of the mpmc ring: geometry, liveness
 * timeout, positions, occupancy, a census of slot states and the counters,
 * as the "ring" object of `shmbus inspect --json`.
 *
 * Invariant: everything comes from pread() copies (never the live mapping);
 * the geometry must pass mpmc_geom_check() before it sizes any read, and the
 * slot census reads the slots in bounded chunks, skipped for huge rings.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/inspect_internal.h"
#include "mpmc_internal.h"

/* Census only rings whose slot area is at most this (bytes read). */
#define CENSUS_MAX_BYTES (16u << 20)
#define CENSUS_CHUNK (64u << 10)

struct mpmc_snap {
	struct mpmc_geom geom;
	uint64_t head, tail;
	uint64_t msgs_in, bytes_in, full_waits, msgs_out, bytes_out, empty_waits, wakes;
	uint64_t lost, recovered;
	uint32_t waiting_producers, waiting_consumers;
	bool census;             /* the counts below are valid */
	uint64_t writing, full, reading, bad_words;
};

static const char *mpmc_role_name(uint32_t role)
{
	switch (role) {
	case SHMBUS_MPMC_PRODUCER: return "producer";
	case SHMBUS_MPMC_CONSUMER: return "consumer";
	default: return "unknown";
	}
}

/* Relaxed loads of a private copy: nobody else sees it. */
#define COPY_LOAD(field) atomic_load_explicit(&(field), memory_order_relaxed)

/* A recovery journalled but not yet counted: count it if its CAS happened. */
static int add_pending(const struct snap_src *src, struct mpmc_snap *s,
		       struct mpmc_pstats *p)
{
	uint64_t slot = COPY_LOAD(p->jslot), word;
	int rc;

	if (slot >= s->geom.slots)
		return 0; /* garbage journal: nothing to count */
	rc = snap_read(src, s->geom.slots_off + slot * s->geom.slot_stride, &word,
			      sizeof(word));
	if (rc == 0)
		s->lost += word != COPY_LOAD(p->jword);
	return rc;
}

static int take_counters(const struct snap_src *src, struct mpmc_snap *s)
{
	uint32_t n = s->geom.participants, i;
	struct mpmc_pstats *p = calloc(n, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	rc = snap_read(src, s->geom.pstats_off, p, (size_t)n * sizeof(*p));
	for (i = 0; rc == 0 && i < n; i++) {
		s->msgs_in += COPY_LOAD(p[i].msgs_in);
		s->bytes_in += COPY_LOAD(p[i].bytes_in);
		s->full_waits += COPY_LOAD(p[i].full_waits);
		s->msgs_out += COPY_LOAD(p[i].msgs_out);
		s->bytes_out += COPY_LOAD(p[i].bytes_out);
		s->empty_waits += COPY_LOAD(p[i].empty_waits);
		s->wakes += COPY_LOAD(p[i].wakes);
		s->lost += mpmc_lost_count(COPY_LOAD(p[i].lost), 0, 0);
		if (COPY_LOAD(p[i].lost) & MPMC_LOST_PENDING)
			rc = add_pending(src, s, &p[i]);
		s->recovered += COPY_LOAD(p[i].reclaims);
	}
	free(p);
	return rc;
}

/*
 * The first position at or after @pos that its side has not passed, from
 * the copied state words (as frontier() in mpmc.c: hints lag by a few
 * positions, I5 in mpmc_ring.c).  At most a lap of steps.
 */
static uint64_t snap_frontier(const struct mpmc_snap *s, const uint64_t *words, uint64_t pos,
			      bool consumers)
{
	uint32_t shift = (uint32_t)__builtin_ctz(s->geom.slots), i;

	for (i = 0; i < s->geom.slots; i++, pos++) {
		uint64_t w = words[pos & (s->geom.slots - 1)];
		int64_t d = mpmc_lap_diff(mpmc_word_lap(w), (pos >> shift) & MPMC_LAP_MASK);

		if (!(consumers ? mpmc_passed_by_consumers(d, w) : mpmc_passed_by_producers(d, w)))
			break;
	}
	return pos;
}

/* Count slots by state, reading only their state words, chunk by chunk;
 * then move head and tail to the positions their sides really reached. */
static int take_census(const struct snap_src *src, struct mpmc_snap *s)
{
	const struct mpmc_geom *g = &s->geom;
	uint64_t bytes = (uint64_t)g->slots * g->slot_stride;
	uint32_t per = CENSUS_CHUNK / g->slot_stride, i = 0, k;
	uint64_t *words;
	char *buf;
	int rc = 0;

	if (bytes > CENSUS_MAX_BYTES)
		return 0;
	if (per == 0)
		per = 1;
	buf = malloc((size_t)per * g->slot_stride);
	words = malloc((size_t)g->slots * sizeof(*words));
	if (!buf || !words) {
		free(buf);
		free(words);
		return -ENOMEM;
	}
	while (i < g->slots) {
		uint32_t cnt = g->slots - i < per ? g->slots - i : per;

		rc = snap_read(src, g->slots_off + (uint64_t)i * g->slot_stride, buf,
				      (size_t)cnt * g->slot_stride);
		if (rc)
			break;
		for (k = 0; k < cnt; k++) {
			struct mpmc_slot *sl = (struct mpmc_slot *)(buf + (size_t)k * g->slot_stride);
			uint64_t w = COPY_LOAD(sl->word);

			words[i + k] = w;
			/* The rule of mpmc_word_ok(): EMPTY names nobody. */
			if (mpmc_word_owner(w) >= g->participants ||
			    mpmc_word_state(w) >= MPMC_STATE_MAX ||
			    (mpmc_word_state(w) == MPMC_EMPTY && mpmc_word_owner(w) != 0))
				s->bad_words++;
			else if (mpmc_word_state(w) == MPMC_WRITING)
				s->writing++;
			else if (mpmc_word_state(w) == MPMC_FULL)
				s->full++;
			else if (mpmc_word_state(w) == MPMC_READING)
				s->reading++;
		}
		i += cnt;
	}
	free(buf);
	s->census = rc == 0;
	if (s->census) {
		s->head = snap_frontier(s, words, s->head, true);
		s->tail = snap_frontier(s, words, s->tail, false);
	}
	free(words);
	return rc;
}

static int mpmc_take_snap(const struct snap_src *src, const struct shm_header *hdr,
			  struct shmbus_snapshot *snap)
{
	struct mpmc_ctl *c;
	struct mpmc_snap *s;
	int rc;

	if (!hdr)
		return -SHMBUS_ECORRUPT;
	if (hdr->version != MPMC_VERSION)
		return -SHMBUS_EVERSION;
	if (hdr->total_size < MPMC_CTL_OFF + sizeof(*c))
		return -SHMBUS_ECORRUPT;
	c = malloc(sizeof(*c));
	s = calloc(1, sizeof(*s));
	if (!c || !s) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = snap_read(src, MPMC_CTL_OFF, c, sizeof(*c));
	if (rc)
		goto fail;
	rc = mpmc_geom_check(&c->geom, hdr);
	if (rc)
		goto fail;
	s->geom = c->geom;
	s->head = COPY_LOAD(c->head.value);
	s->tail = COPY_LOAD(c->tail.value);
	s->waiting_producers = waitq_word_waiters(COPY_LOAD(c->not_full.q.word));
	s->waiting_consumers = waitq_word_waiters(COPY_LOAD(c->not_empty.q.word));
	rc = take_counters(src, s);
	if (rc == 0)
		rc = take_census(src, s);
	if (rc)
		goto fail;
	free(c);
	snap->kind_state = s;
	return 0;

fail:
	free(c);
	free(s);
	return rc;
}

static int mpmc_json(const struct shmbus_snapshot *snap, json_t *doc)
{
	const struct mpmc_snap *s = snap->kind_state;
	int64_t occ = (int64_t)(s->tail - s->head);
	json_t *r = json_object();
	int rc = 0;

	if (!r)
		return -ENOMEM;
	if (occ < 0)
		occ = 0;
	if (occ > (int64_t)s->geom.slots)
		occ = s->geom.slots;
	rc |= ijson_set(r, "slots", ijson_u64(s->geom.slots));
	rc |= ijson_set(r, "slot_size", ijson_u64(s->geom.slot_size));
	rc |= ijson_set(r, "slot_stride", ijson_u64(s->geom.slot_stride));
	rc |= ijson_set(r, "max_message", ijson_u64(s->geom.slot_size));
	rc |= ijson_set(r, "liveness_ms", ijson_u64(s->geom.liveness_ms));
	rc |= ijson_set(r, "participants_max", ijson_u64(s->geom.participants));
	rc |= ijson_set(r, "head", ijson_u64(s->head));
	rc |= ijson_set(r, "tail", ijson_u64(s->tail));
	rc |= ijson_set(r, "occupancy", ijson_u64((uint64_t)occ));
	rc |= ijson_set(r, "free", ijson_u64(s->geom.slots - (uint64_t)occ));
	rc |= ijson_set(r, "msgs_in", ijson_u64(s->msgs_in));
	rc |= ijson_set(r, "msgs_out", ijson_u64(s->msgs_out));
	rc |= ijson_set(r, "bytes_in", ijson_u64(s->bytes_in));
	rc |= ijson_set(r, "bytes_out", ijson_u64(s->bytes_out));
	rc |= ijson_set(r, "full_waits", ijson_u64(s->full_waits));
	rc |= ijson_set(r, "empty_waits", ijson_u64(s->empty_waits));
	rc |= ijson_set(r, "wakes", ijson_u64(s->wakes));
	rc |= ijson_set(r, "lost", ijson_u64(s->lost));
	rc |= ijson_set(r, "recovered", ijson_u64(s->recovered));
	rc |= ijson_set(r, "waiting_producers", ijson_u64(s->waiting_producers));
	rc |= ijson_set(r, "waiting_consumers", ijson_u64(s->waiting_consumers));
	if (s->census)
		rc |= ijson_set(r, "slot_states",
				      json_pack("{s:I, s:I, s:I, s:I}", "writing",
						(json_int_t)s->writing, "full", (json_int_t)s->full,
						"reading", (json_int_t)s->reading, "invalid",
						(json_int_t)s->bad_words));
	rc |= ijson_set(r, "corrupt", json_boolean(s->census && s->bad_words));
	if (rc) {
		json_decref(r);
		return -ENOMEM;
	}
	rc = ijson_set(doc, "ring", r);
	if (rc == 0 && s->census && s->bad_words)
		rc = ijson_set(doc, "error", json_string(shmbus_strerror(-SHMBUS_ECORRUPT)));
	return rc;
}

const struct snap_kind_ops mpmc_snap_kind = {
	.role_name = mpmc_role_name,
	.take = mpmc_take_snap,
	.json = mpmc_json,
	.free = free,
};
