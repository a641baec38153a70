/*
 * slots_snap.c - snapshot hooks for slot tables: lists shmbus created (kind
 * "slots", recognised by the trailer magic where Python's part ends) and
 * lists CPython created (kind "python-shareablelist", recognised by their
 * structure alone).
 *
 * Neither has the common header, so both are found by `probe`, which
 * inspect.c calls in kind order (slots before python-shareablelist) on every
 * block without a shmbus header.  The probes are strict so that a raw block
 * is not taken for a list: a Python list must have a plausible count,
 * offsets that start at 0 and grow by multiples of 8, a size of exactly
 * 16 + 17 N + D bytes (what ShareableList allocates on Linux), and a known
 * format and code for every item.  The only raw block that passes is one
 * byte-identical to a list, e.g. 16 zero bytes, which *is* ShareableList([]).
 *
 * Every byte comes from a pread() copy (inspect.h); values of a guarded list
 * are read between two reads of the slot's sequence word and re-read if a
 * C writer was busy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inspect/inspect_internal.h"
#include "slots_internal.h"

/* Longest str/bytes value shown in full; longer ones are cut ("truncated"). */
#define SNAP_VALUE_MAX 65536u
/* Reads of one guarded slot before reporting it as "being written". */
#define SNAP_TRIES 3

struct snap_item {
	char fmt[8];
	int8_t code;
	uint64_t cap;
	int error;                    /* why the value is missing, or 0 */
	struct shmbus_slot_value value;
	size_t full_len;              /* str/bytes length, trailing NULs stripped */
	bool truncated;               /* value holds the first SNAP_VALUE_MAX bytes */
	unsigned char *bytes;         /* owned copy of a str/bytes value */
};

struct snap_state {
	struct slots_layout lay;
	int64_t *off;
	int trailer_rc;               /* check_trailer(): 1, 0 or an error */
	struct slots_trailer trailer;
	bool creator_alive;
	struct snap_item *items;
};

static void state_free(void *p)
{
	struct snap_state *st = p;
	uint64_t i;

	if (!st)
		return;
	for (i = 0; st->items && i < st->lay.n; i++)
		free(st->items[i].bytes);
	free(st->items);
	free(st->off);
	free(st);
}

/* Count, offsets and trailer.  Returns 0 or a negative code. */
static int read_structure(const struct snap_src *src, struct snap_state *st)
{
	size_t avail = 0;
	int64_t n;
	int rc;

	if (src->size < 16)
		return -SHMBUS_ECORRUPT;
	rc = snap_read(src, 0, &n, sizeof(n));
	if (rc)
		return rc;
	rc = slots_check_count(n, src->size);
	if (rc)
		return rc;
	st->off = malloc(((size_t)n + 1) * sizeof(*st->off));
	if (!st->off)
		return -ENOMEM;
	rc = snap_read(src, 8, st->off, ((size_t)n + 1) * sizeof(*st->off));
	if (rc)
		return rc;
	rc = slots_check_offsets(st->off, (uint64_t)n, src->size, &st->lay);
	if (rc)
		return rc;
	if (st->lay.trailer_off < src->size) {
		uint64_t left = src->size - st->lay.trailer_off;

		avail = left < sizeof(st->trailer) ? (size_t)left : sizeof(st->trailer);
		rc = snap_read(src, st->lay.trailer_off, &st->trailer, avail);
		if (rc)
			return rc;
	}
	/* Relaxed: a private copy. */
	st->trailer_rc = slots_check_trailer(
		&st->trailer, avail,
		avail == sizeof(st->trailer)
			? atomic_load_explicit(&st->trailer.ready, memory_order_relaxed)
			: 0,
		&st->lay, src->size);
	return 0;
}

static int probe_common(const struct snap_src *src, struct snap_state **out)
{
	struct snap_state *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	rc = read_structure(src, st);
	if (rc == -ENOMEM || (rc < 0 && rc != -SHMBUS_ECORRUPT && rc != -SHMBUS_ETRUNCATED)) {
		state_free(st);
		return rc; /* a read error, not "not a list" */
	}
	if (rc) {
		state_free(st);
		return 0;
	}
	*out = st;
	return 1;
}

/* Ours: Python's structure holds, and our magic sits where it ends. */
static int probe_slots(const struct snap_src *src, struct shmbus_snapshot *snap)
{
	struct snap_state *st = NULL;
	int rc = probe_common(src, &st);

	if (rc <= 0)
		return rc;
	rc = st->trailer_rc != 0;
	state_free(st);
	if (rc)
		snap->kind = SHMBUS_KIND_SLOTS;
	return rc;
}

/* Python's: exact size, and every format and code is one Python writes. */
static int probe_pylist(const struct snap_src *src, struct shmbus_snapshot *snap)
{
	struct snap_state *st = NULL;
	char *fmts = NULL;
	int8_t *codes = NULL;
	uint64_t i, n;
	int rc = probe_common(src, &st);

	if (rc <= 0)
		return rc;
	n = st->lay.n;
	rc = 0;
	if (st->trailer_rc != 0 || src->size != st->lay.python_size)
		goto out;
	fmts = malloc(8 * n + 1);
	codes = malloc(n + 1);
	if (!fmts || !codes) {
		rc = -ENOMEM;
		goto out;
	}
	rc = snap_read(src, st->lay.fmt_off, fmts, 8 * n);
	if (rc == 0)
		rc = snap_read(src, st->lay.code_off, codes, n);
	if (rc)
		goto out;
	/* Each format and code alone (not their pairing): a Python writer
	 * stores the format, then the code; take() reports a mismatch. */
	for (i = 0; i < n; i++) {
		if (!slot_format_known(fmts + 8 * i,
					      (uint64_t)(st->off[i + 1] - st->off[i])) ||
		    codes[i] < SHMBUS_SLOT_CODE_PLAIN || codes[i] > SHMBUS_SLOT_CODE_NONE)
			goto out;
	}
	snap->kind = SHMBUS_KIND_PYLIST;
	rc = 1;
out:
	free(fmts);
	free(codes);
	state_free(st);
	return rc;
}

/* One read of item @i (format, code, value) into @it; @tmp holds a slot. */
static int read_item_once(const struct snap_src *src, const struct snap_state *st,
			  uint64_t i, struct snap_item *it, unsigned char *tmp)
{
	uint64_t slot = st->lay.data_off + (uint64_t)st->off[i];
	size_t keep;
	int rc;

	it->error = 0;
	it->truncated = false;
	rc = snap_read(src, st->lay.fmt_off + 8 * i, it->fmt, 8);
	if (rc == 0)
		rc = snap_read(src, st->lay.code_off + i, &it->code, 1);
	if (rc == 0)
		rc = snap_read(src, slot, tmp, it->cap);
	if (rc)
		return rc;
	it->error = slot_decode(it->fmt, it->code, it->cap, &it->value.type);
	if (it->error)
		return 0;
	if (it->value.type != SHMBUS_SLOT_STR && it->value.type != SHMBUS_SLOT_BYTES) {
		uint64_t word;

		memcpy(&word, tmp, sizeof(word));
		slot_decode_word(it->value.type, word, &it->value);
		return 0;
	}
	it->full_len = slot_bytes_stripped_len(tmp, it->cap);
	if (it->value.type == SHMBUS_SLOT_STR && !utf8_valid(tmp, it->full_len)) {
		it->error = -EILSEQ;
		return 0;
	}
	keep = it->full_len;
	if (keep > SNAP_VALUE_MAX) {
		keep = SNAP_VALUE_MAX;
		/* Cut text at a character boundary, so it stays UTF-8. */
		while (it->value.type == SHMBUS_SLOT_STR && keep > 0 && (tmp[keep] & 0xC0) == 0x80)
			keep--;
		it->truncated = true;
	}
	free(it->bytes);
	it->bytes = malloc(keep + 1);
	if (!it->bytes)
		return -ENOMEM;
	memcpy(it->bytes, tmp, keep);
	it->value.u.s.data = it->bytes;
	it->value.u.s.len = keep;
	return 0;
}

/* Item @i, between two reads of its guard when the list has guards. */
static int read_item(const struct snap_src *src, const struct snap_state *st,
		     uint64_t i, struct snap_item *it, unsigned char *tmp)
{
	uint64_t goff = st->lay.trailer_off + sizeof(struct slots_trailer) +
			i * sizeof(struct slot_guard);
	struct slot_guard g;
	uint64_t s0, s1;
	int rc, tries;

	it->cap = (uint64_t)(st->off[i + 1] - st->off[i]);
	if (st->trailer_rc != 1)
		return read_item_once(src, st, i, it, tmp);
	for (tries = 0; tries < SNAP_TRIES; tries++) {
		/* Each pread is a complete kernel copy made after the previous
		 * one returned: the same order the seqlock reader keeps. */
		rc = snap_read(src, goff, &g, sizeof(g));
		if (rc == 0)
			rc = read_item_once(src, st, i, it, tmp);
		if (rc == 0)
			rc = snap_read(src, goff, &s1, sizeof(s1));
		if (rc)
			return rc;
		/* Relaxed: a private copy. */
		s0 = atomic_load_explicit(&g.seq, memory_order_relaxed);
		if (!(s0 & 1) && s0 == s1)
			return 0;
	}
	/* Relaxed: a private copy. */
	s0 = atomic_load_explicit(&g.writer, memory_order_relaxed);
	it->error = s0 && !shmbus_proc_alive(s0) ? -SHMBUS_EPEERDEAD : -EAGAIN;
	return 0;
}

static int take(const struct snap_src *src, const struct shm_header *hdr,
		struct shmbus_snapshot *snap)
{
	struct snap_state *st = calloc(1, sizeof(*st));
	unsigned char *tmp = NULL;
	uint64_t i, maxcap = 8;
	int rc;

	(void)hdr;
	if (!st)
		return -ENOMEM;
	snap->kind_state = st;
	rc = read_structure(src, st);
	if (rc)
		return rc;
	if (snap->kind == SHMBUS_KIND_SLOTS && st->trailer_rc != 1)
		return st->trailer_rc < 0 ? st->trailer_rc : -SHMBUS_ECORRUPT;
	if (st->trailer_rc == 1) {
		st->creator_alive = shmbus_proc_alive(st->trailer.creator);
		snap->creator_alive = st->creator_alive;
		snap->any_alive = snap->any_alive || st->creator_alive;
	}
	st->items = calloc(st->lay.n ? st->lay.n : 1, sizeof(*st->items));
	if (!st->items)
		return -ENOMEM;
	for (i = 0; i < st->lay.n; i++) {
		uint64_t cap = (uint64_t)(st->off[i + 1] - st->off[i]);

		if (cap > maxcap)
			maxcap = cap;
	}
	tmp = malloc(maxcap);
	if (!tmp)
		return -ENOMEM;
	for (i = 0, rc = 0; rc == 0 && i < st->lay.n; i++)
		rc = read_item(src, st, i, &st->items[i], tmp);
	free(tmp);
	return rc;
}

static json_t *item_json(uint64_t i, const struct snap_item *it)
{
	char fmt[9];
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		return NULL;
	memcpy(fmt, it->fmt, 8);
	fmt[8] = '\0';
	rc |= ijson_set(o, "index", json_integer((json_int_t)i));
	rc |= ijson_set(o, "capacity", json_integer((json_int_t)it->cap));
	/* A format we do not know may be any bytes: not shown as text. */
	rc |= ijson_set(o, "format", slot_format_known(it->fmt, it->cap)
						   ? json_string(fmt)
						   : json_null());
	if (it->error) {
		rc |= ijson_set(o, "type", json_null());
		rc |= ijson_set(o, "value", json_null());
		rc |= ijson_set(o, "error", json_string(shmbus_strerror(it->error)));
	} else {
		rc |= ijson_set(o, "type",
				      json_string(shmbus_slot_type_name(it->value.type)));
		rc |= ijson_set(o, "value", slot_value_json(&it->value));
		if (it->value.type == SHMBUS_SLOT_STR || it->value.type == SHMBUS_SLOT_BYTES) {
			rc |= ijson_set(o, "length", json_integer((json_int_t)it->full_len));
			rc |= ijson_set(o, "truncated", json_boolean(it->truncated));
		}
	}
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int to_json(const struct shmbus_snapshot *snap, json_t *doc)
{
	const struct snap_state *st = snap->kind_state;
	json_t *slots = json_object(), *items = json_array();
	uint64_t i;
	int rc = 0;

	if (!slots || !items || ijson_set(slots, "items", items)) {
		json_decref(slots);
		return -ENOMEM;
	}
	for (i = 0; i < st->lay.n; i++) {
		json_t *o = item_json(i, &st->items[i]);

		if (!o || json_array_append_new(items, o)) {
			json_decref(slots);
			return -ENOMEM;
		}
	}
	rc |= ijson_set(slots, "length", json_integer((json_int_t)st->lay.n));
	rc |= ijson_set(slots, "python_size", json_integer((json_int_t)st->lay.python_size));
	/* C readers never see values torn by C writers (slots.h). */
	rc |= ijson_set(slots, "guarded", json_boolean(st->trailer_rc == 1));
	rc |= ijson_set(slots, "layout_version",
			      st->trailer_rc == 1 ? json_integer(st->trailer.version) : json_null());
	if (rc || ijson_set(doc, "slots", slots))
		return -ENOMEM;
	if (st->trailer_rc == 1) {
		rc |= ijson_set(doc, "creator", ijson_process(st->trailer.creator,
									  st->creator_alive));
		/* The trailer records a process: liveness is known. */
		rc |= ijson_set(doc, "alive", json_boolean(st->creator_alive));
		rc |= ijson_set(doc, "created_ns",
				      json_integer((json_int_t)st->trailer.created_ns));
		rc |= ijson_set(doc, "created", ijson_time(st->trailer.created_ns));
	}
	return rc ? -ENOMEM : 0;
}

const struct snap_kind_ops snap_slots = {
	.probe = probe_slots,
	.take = take,
	.json = to_json,
	.free = state_free,
};

const struct snap_kind_ops snap_pylist = {
	.probe = probe_pylist,
	.take = take,
	.json = to_json,
	.free = state_free,
};
