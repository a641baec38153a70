/*
 * spsc_inspect.c - snapshot hooks of the SPSC ring: its config, positions,
 * counters, roles and end of stream ("eos", the key the broadcast ring
 * uses too), as the "ring" object of `shmbus inspect --json`.
 * The decoding is spsc_decode.c's, the same as shmbus_spsc_stats(); this
 * file only copies the block and writes JSON.
 *
 * Invariant: everything comes from one pread() copy of the block's control
 * part (never the live mapping); the config must check out or the snapshot
 * reports -SHMBUS_ECORRUPT; inconsistent positions are shown as they are,
 * with "corrupt": true, no occupancy, and the document's "error".
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "inspect/inspect_internal.h"
#include "spsc_internal.h"

static const char *spsc_role_name(uint32_t role)
{
	switch (role) {
	case SHMBUS_SPSC_PRODUCER: return "producer";
	case SHMBUS_SPSC_CONSUMER: return "consumer";
	default: return "unknown";
	}
}

static int spsc_take(const struct snap_src *src, const struct shm_header *hdr,
		     struct shmbus_snapshot *snap)
{
	struct spsc_shared *c;
	struct spsc_state *s;
	uint64_t cap;
	int rc;

	if (!hdr || hdr->total_size < sizeof(*c) || hdr->version != SHMBUS_SPSC_VERSION)
		return hdr && hdr->version != SHMBUS_SPSC_VERSION ? -SHMBUS_EVERSION
								  : -SHMBUS_ECORRUPT;
	c = malloc(sizeof(*c));
	s = malloc(sizeof(*s));
	if (!c || !s) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = snap_read(src, 0, c, sizeof(*c));
	if (rc)
		goto fail;
	rc = spsc_decode_config(c, hdr->total_size, &cap);
	if (rc)
		goto fail;
	spsc_decode_state(c, cap, s);
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
	const struct spsc_state *s = snap->kind_state;
	json_t *r = json_object();
	int rc = 0;

	if (!r)
		return -ENOMEM;
	rc |= ijson_set(r, "capacity", ijson_u64(s->capacity));
	rc |= ijson_set(r, "max_message", ijson_u64(s->capacity - SPSC_HDR));
	rc |= ijson_set(r, "head", ijson_u64(s->head));
	rc |= ijson_set(r, "tail", ijson_u64(s->tail));
	rc |= ijson_set(r, "used", ijson_u64(s->used));
	rc |= ijson_set(r, "free", ijson_u64(s->free));
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
	rc |= ijson_set(r, "eos", json_boolean(s->closed));
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
