/*
 * spsc_inspect.c - snapshot hooks of the SPSC ring: its config, positions,
 * counters and roles, as the "ring" object of `shmbus inspect --json`.
 *
 * Invariant: everything comes from one pread() copy of the block's control
 * part (never the live mapping); the config must check out or the snapshot
 * reports -SHMBUS_ECORRUPT; inconsistent positions are shown as they are,
 * with "corrupt": true and the document's "error".
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "inspect/inspect_internal.h"
#include "spsc_internal.h"

struct spsc_snap {
	uint64_t capacity;
	uint64_t head, tail;
	uint64_t msgs_in, bytes_in, full_waits, msgs_out, bytes_out, empty_waits, wakes;
	uint32_t waiting_producers, waiting_consumers;
	shmbus_ident_t producer, consumer;
	bool producer_alive, consumer_alive;
	bool corrupt;
};

static const char *spsc_role_name(uint32_t role)
{
	switch (role) {
	case SHMBUS_SPSC_PRODUCER: return "producer";
	case SHMBUS_SPSC_CONSUMER: return "consumer";
	default: return "unknown";
	}
}

/* Relaxed loads of a private copy: nobody else sees it. */
#define COPY_LOAD(field) atomic_load_explicit(&(field), memory_order_relaxed)

static int spsc_take(const struct snap_src *src, const struct shm_header *hdr,
		     struct shmbus_snapshot *snap)
{
	struct spsc_shared *c;
	struct spsc_snap *s;
	int rc;

	if (!hdr || hdr->total_size < sizeof(*c) || hdr->version != SHMBUS_SPSC_VERSION)
		return hdr && hdr->version != SHMBUS_SPSC_VERSION ? -SHMBUS_EVERSION
								  : -SHMBUS_ECORRUPT;
	c = malloc(sizeof(*c));
	s = calloc(1, sizeof(*s));
	if (!c || !s) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = snap_read(src, 0, c, sizeof(*c));
	if (rc)
		goto fail;
	if (c->capacity < SHMBUS_SPSC_CAPACITY_MIN || c->capacity > SHMBUS_SPSC_CAPACITY_MAX ||
	    (c->capacity & (c->capacity - 1)) || c->data_off != SPSC_DATA_OFF ||
	    c->data_off + c->capacity != hdr->total_size ||
	    hdr->participants_off != offsetof(struct spsc_shared, part) ||
	    hdr->participants_max != 2) {
		rc = -SHMBUS_ECORRUPT;
		goto fail;
	}
	s->capacity = c->capacity;
	s->head = COPY_LOAD(c->prod.head);
	s->tail = COPY_LOAD(c->cons.tail);
	s->msgs_in = COPY_LOAD(c->prod.msgs_in);
	s->bytes_in = COPY_LOAD(c->prod.bytes_in);
	s->full_waits = COPY_LOAD(c->prod.full_waits);
	s->msgs_out = COPY_LOAD(c->cons.msgs_out);
	s->bytes_out = COPY_LOAD(c->cons.bytes_out);
	s->empty_waits = COPY_LOAD(c->cons.empty_waits);
	s->wakes = COPY_LOAD(c->prod.wakes) + COPY_LOAD(c->cons.wakes);
	s->waiting_producers = waitq_word_waiters(COPY_LOAD(c->space_wq.word));
	s->waiting_consumers = waitq_word_waiters(COPY_LOAD(c->data_wq.word));
	s->producer = COPY_LOAD(c->part[0].ident);
	s->consumer = COPY_LOAD(c->part[1].ident);
	s->producer_alive = shmbus_proc_alive(s->producer);
	s->consumer_alive = shmbus_proc_alive(s->consumer);
	s->corrupt = COPY_LOAD(c->corrupt) != 0 || (s->head | s->tail) & 7 ||
		     s->head - s->tail > s->capacity;
	free(c);
	snap->kind_state = s;
	return 0;

fail:
	free(c);
	free(s);
	return rc;
}

static int spsc_json(const struct shmbus_snapshot *snap, json_t *doc)
{
	const struct spsc_snap *s = snap->kind_state;
	uint64_t used = s->head - s->tail;
	json_t *r = json_object();
	int rc = 0;

	if (!r)
		return -ENOMEM;
	rc |= ijson_set(r, "capacity", ijson_u64(s->capacity));
	rc |= ijson_set(r, "max_message", ijson_u64(s->capacity - SPSC_HDR));
	rc |= ijson_set(r, "head", ijson_u64(s->head));
	rc |= ijson_set(r, "tail", ijson_u64(s->tail));
	rc |= ijson_set(r, "used", ijson_u64(s->corrupt ? 0 : used));
	rc |= ijson_set(r, "free", ijson_u64(s->corrupt ? 0 : s->capacity - used));
	rc |= ijson_set(r, "msgs_in", ijson_u64(s->msgs_in));
	rc |= ijson_set(r, "msgs_out", ijson_u64(s->msgs_out));
	rc |= ijson_set(r, "bytes_in", ijson_u64(s->bytes_in));
	rc |= ijson_set(r, "bytes_out", ijson_u64(s->bytes_out));
	rc |= ijson_set(r, "full_waits", ijson_u64(s->full_waits));
	rc |= ijson_set(r, "empty_waits", ijson_u64(s->empty_waits));
	rc |= ijson_set(r, "wakes", ijson_u64(s->wakes));
	rc |= ijson_set(r, "waiting_producers", ijson_u64(s->waiting_producers));
	rc |= ijson_set(r, "waiting_consumers", ijson_u64(s->waiting_consumers));
	rc |= ijson_set(r, "corrupt", json_boolean(s->corrupt));
	rc |= ijson_set(r, "producer", ijson_process(s->producer, s->producer_alive));
	rc |= ijson_set(r, "consumer", ijson_process(s->consumer, s->consumer_alive));
	if (rc) {
		json_decref(r);
		return -ENOMEM;
	}
	rc = ijson_set(doc, "ring", r);
	if (rc == 0 && s->corrupt)
		rc = ijson_set(doc, "error", json_string(shmbus_strerror(-SHMBUS_ECORRUPT)));
	return rc;
}

const struct snap_kind_ops spsc_snap_kind = {
	.role_name = spsc_role_name,
	.take = spsc_take,
	.json = spsc_json,
	.free = free,
};
