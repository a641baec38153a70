/*
 * mpmc_inspect.c - snapshot hooks of the mpmc ring: geometry, liveness
 * timeout, positions, occupancy, a census of slot states, the counters and
 * the end of stream, as the "ring" object of `shmbus inspect --json`.
 *
 * What the ring's state means is decided in one place, mpmc_decode.c, which
 * the live shmbus_mpmc_stats() uses too; this file only copies the bytes
 * it reads and writes the JSON.
 *
 * Invariant: everything comes from pread() copies (never the live mapping);
 * the geometry must pass mpmc_geom_check() before it sizes any read, and the
 * slot words are read in bounded chunks, not at all for huge rings (then
 * the positions are the raw hints and there is no census).
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
	struct mpmc_decoded d;
};

static const char *mpmc_role_name(uint32_t role)
{
	switch (role) {
	case SHMBUS_MPMC_PRODUCER: return "producer";
	case SHMBUS_MPMC_CONSUMER: return "consumer";
	default: return "unknown";
	}
}

/* Where read_one_word() reads. */
struct word_src {
	const struct snap_src *src;
	const struct mpmc_geom *g; /* checked */
};

/* mpmc_view's read_word for a ring too big to copy whole: one word, of a
 * slot below the checked slot count (mpmc_decode.c checks). */
static int read_one_word(const void *arg, uint64_t slot, uint64_t *w)
{
	const struct word_src *ws = arg;

	return snap_read(ws->src, ws->g->slots_off + slot * ws->g->slot_stride, w, sizeof(*w));
}

/* Copy the state words of every slot into @words, reading the slot area in
 * bounded chunks. */
static int copy_words(const struct snap_src *src, const struct mpmc_geom *g,
		      _Atomic uint64_t *words)
{
	uint32_t per = CENSUS_CHUNK / g->slot_stride, i = 0, k;
	char *buf;
	int rc = 0;

	if (per == 0)
		per = 1;
	buf = malloc((size_t)per * g->slot_stride);
	if (!buf)
		return -ENOMEM;
	while (i < g->slots) {
		uint32_t cnt = g->slots - i < per ? g->slots - i : per;

		rc = snap_read(src, g->slots_off + (uint64_t)i * g->slot_stride, buf,
			       (size_t)cnt * g->slot_stride);
		if (rc)
			break;
		for (k = 0; k < cnt; k++) {
			struct mpmc_slot *sl = (struct mpmc_slot *)(buf + (size_t)k * g->slot_stride);

			/* Relaxed: loads and stores of private copies. */
			atomic_store_explicit(&words[i + k],
					      atomic_load_explicit(&sl->word, memory_order_relaxed),
					      memory_order_relaxed);
		}
		i += cnt;
	}
	free(buf);
	return rc;
}

static int mpmc_take_snap(const struct snap_src *src, const struct shm_header *hdr,
			  struct shmbus_snapshot *snap)
{
	struct mpmc_ctl *c = NULL;
	struct mpmc_pstats *p = NULL;
	_Atomic uint64_t *words = NULL;
	struct mpmc_snap *s = NULL;
	struct mpmc_view v;
	struct word_src ws;
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
	/* From here on the checked copy s->geom sizes everything. */
	s->geom = c->geom;
	p = calloc(s->geom.participants, sizeof(*p));
	if (!p) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = snap_read(src, s->geom.pstats_off, p, (size_t)s->geom.participants * sizeof(*p));
	if (rc)
		goto fail;
	/* The slot words, for positions and the census, unless the ring's
	 * slot area is too big to read for a snapshot. */
	if ((uint64_t)s->geom.slots * s->geom.slot_stride <= CENSUS_MAX_BYTES) {
		words = malloc((size_t)s->geom.slots * sizeof(*words));
		if (!words) {
			rc = -ENOMEM;
			goto fail;
		}
		rc = copy_words(src, &s->geom, words);
		if (rc)
			goto fail;
	}
	ws = (struct word_src){ .src = src, .g = &s->geom };
	v = (struct mpmc_view){
		.g = &s->geom,
		.ctl = c,
		.pstats = p,
		.words = (char *)words,
		.words_stride = sizeof(*words),
		.read_word = read_one_word,
		.src = &ws,
	};
	rc = mpmc_decode(&v, true, &s->d);
	if (rc)
		goto fail;
	free(words);
	free(p);
	free(c);
	snap->kind_state = s;
	return 0;

fail:
	free(words);
	free(p);
	free(c);
	free(s);
	return rc;
}

static int mpmc_json(const struct shmbus_snapshot *snap, json_t *doc)
{
	const struct mpmc_snap *s = snap->kind_state;
	const struct mpmc_decoded *d = &s->d;
	const struct shmbus_mpmc_stats *st = &d->stats;
	json_t *r = json_object();
	int rc = 0;

	if (!r)
		return -ENOMEM;
	rc |= ijson_set(r, "slots", ijson_u64(s->geom.slots));
	rc |= ijson_set(r, "slot_size", ijson_u64(s->geom.slot_size));
	rc |= ijson_set(r, "slot_stride", ijson_u64(s->geom.slot_stride));
	rc |= ijson_set(r, "max_message", ijson_u64(s->geom.slot_size));
	rc |= ijson_set(r, "liveness_ms", ijson_u64(s->geom.liveness_ms));
	rc |= ijson_set(r, "participants_max", ijson_u64(s->geom.participants));
	rc |= ijson_set(r, "head", ijson_u64(st->head));
	rc |= ijson_set(r, "tail", ijson_u64(st->tail));
	rc |= ijson_set(r, "occupancy", ijson_u64(st->occupancy));
	rc |= ijson_set(r, "free", ijson_u64(s->geom.slots - st->occupancy));
	rc |= ijson_set(r, "msgs_in", ijson_u64(st->msgs_in));
	rc |= ijson_set(r, "msgs_out", ijson_u64(st->msgs_out));
	rc |= ijson_set(r, "bytes_in", ijson_u64(st->bytes_in));
	rc |= ijson_set(r, "bytes_out", ijson_u64(st->bytes_out));
	rc |= ijson_set(r, "full_waits", ijson_u64(st->full_waits));
	rc |= ijson_set(r, "empty_waits", ijson_u64(st->empty_waits));
	rc |= ijson_set(r, "wakes", ijson_u64(st->wakes));
	rc |= ijson_set(r, "lost", ijson_u64(st->lost));
	rc |= ijson_set(r, "recovered", ijson_u64(st->recovered));
	rc |= ijson_set(r, "waiting_producers", ijson_u64(d->waiting_producers));
	rc |= ijson_set(r, "waiting_consumers", ijson_u64(d->waiting_consumers));
	rc |= ijson_set(r, "ended", json_boolean(st->ended));
	rc |= ijson_set(r, "producers_open", ijson_u64(st->producers_open));
	rc |= ijson_set(r, "producers_closed", ijson_u64(st->producers_closed));
	rc |= ijson_set(r, "reopens", ijson_u64(st->reopens));
	if (d->census)
		rc |= ijson_set(r, "slot_states",
				json_pack("{s:I, s:I, s:I, s:I}", "writing", (json_int_t)d->writing,
					  "full", (json_int_t)d->full, "reading",
					  (json_int_t)d->reading, "invalid", (json_int_t)d->invalid));
	rc |= ijson_set(r, "corrupt", json_boolean(d->census && d->invalid));
	if (rc) {
		json_decref(r);
		return -ENOMEM;
	}
	rc = ijson_set(doc, "ring", r);
	if (rc == 0 && d->census && d->invalid)
		rc = ijson_set(doc, "error", json_string(shmbus_strerror(-SHMBUS_ECORRUPT)));
	return rc;
}

const struct snap_kind_ops mpmc_snap_kind = {
	.role_name = mpmc_role_name,
	.take = mpmc_take_snap,
	.json = mpmc_json,
	.free = free,
};
