/*
 * bcast_inspect.c - snapshot hooks of the broadcast ring: its config,
 * positions, end of stream and every subscriber's cursor, as the "ring"
 * object of `shmbus inspect --json`.  The decoding is bcast_decode.c's, the
 * same as shmbus_bcast_stats(); this file only copies the block and writes
 * JSON.
 *
 * Invariant: everything comes from one pread() copy of the block's control
 * part (header to ring, never the live mapping); the config must check out
 * or the snapshot reports -SHMBUS_ECORRUPT.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "bcast_internal.h"
#include "inspect/inspect_internal.h"

static const char *bcast_role_name(uint32_t role)
{
	switch (role) {
	case SHMBUS_BCAST_PRODUCER: return "producer";
	case SHMBUS_BCAST_SUBSCRIBER: return "subscriber";
	default: return "unknown";
	}
}

static void bcast_state_free(void *p)
{
	struct bcast_state *s = p;

	if (s)
		free(s->subs);
	free(s);
}

static int bcast_take(const struct snap_src *src, const struct shm_header *hdr,
		      struct shmbus_snapshot *snap)
{
	struct bcast_shared *c = NULL;
	struct bcast_state *s = NULL;
	struct bcast_cfg cfg;
	struct bcast_shared head;
	int rc;

	if (!hdr || hdr->version != SHMBUS_BCAST_VERSION)
		return hdr ? -SHMBUS_EVERSION : -SHMBUS_ECORRUPT;
	if (hdr->total_size < sizeof(head))
		return -SHMBUS_ECORRUPT;
	rc = snap_read(src, 0, &head, sizeof(head));
	if (rc)
		return rc;
	rc = bcast_decode_config(&head, hdr->total_size, &cfg);
	if (rc)
		return rc;
	/* The control part: up to the ring (checked above to lie inside). */
	c = malloc(cfg.data_off);
	s = calloc(1, sizeof(*s));
	if (!c || !s) {
		rc = -ENOMEM;
		goto fail;
	}
	s->subs = calloc(cfg.subs_max, sizeof(*s->subs));
	if (!s->subs) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = snap_read(src, 0, c, cfg.data_off);
	if (rc)
		goto fail;
	/* The copy must say what the first read said. */
	rc = bcast_decode_config(c, hdr->total_size, &cfg);
	if (rc)
		goto fail;
	bcast_decode_state(c, &cfg, s);
	free(c);
	snap->kind_state = s;
	return 0;

fail:
	free(c);
	bcast_state_free(s);
	return rc;
}

static json_t *sub_json(const struct bcast_sub_state *u)
{
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		return NULL;
	rc |= ijson_set(o, "index", ijson_u64(u->index));
	rc |= ijson_set(o, "pid", ijson_u64((uint64_t)shmbus_ident_pid(u->ident)));
	rc |= ijson_set(o, "alive", json_boolean(u->alive));
	rc |= ijson_set(o, "active", json_boolean(u->active));
	rc |= ijson_set(o, "position", ijson_u64(u->pos));
	rc |= ijson_set(o, "next_seq", ijson_u64(u->next_seq));
	rc |= ijson_set(o, "lag_messages", ijson_u64(u->lag_messages));
	rc |= ijson_set(o, "lag_bytes", ijson_u64(u->lag_bytes));
	rc |= ijson_set(o, "msgs_out", ijson_u64(u->msgs_out));
	rc |= ijson_set(o, "bytes_out", ijson_u64(u->bytes_out));
	rc |= ijson_set(o, "dropped", ijson_u64(u->dropped));
	rc |= ijson_set(o, "waits", ijson_u64(u->waits));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int bcast_json(const struct shmbus_snapshot *snap, json_t *doc)
{
	const struct bcast_state *s = snap->kind_state;
	json_t *r = json_object(), *subs = json_array();
	uint32_t i;
	int rc = 0;

	if (!r || !subs) {
		json_decref(r);
		json_decref(subs);
		return -ENOMEM;
	}
	for (i = 0; i < s->nsubs; i++) {
		json_t *u = sub_json(&s->subs[i]);

		if (!u || json_array_append_new(subs, u)) {
			json_decref(r);
			json_decref(subs);
			return -ENOMEM;
		}
	}
	rc |= ijson_set(r, "policy", json_string(s->cfg.policy == SHMBUS_BCAST_LOSSY ?
						  "lossy" : "reliable"));
	rc |= ijson_set(r, "capacity", ijson_u64(s->cfg.capacity));
	rc |= ijson_set(r, "max_message", ijson_u64(s->cfg.capacity - BCAST_HDR));
	rc |= ijson_set(r, "subscribers_max", ijson_u64(s->cfg.subs_max));
	rc |= ijson_set(r, "liveness_ms", ijson_u64(s->cfg.liveness_ms));
	rc |= ijson_set(r, "tail", ijson_u64(s->tail));
	rc |= ijson_set(r, "head", ijson_u64(s->head));
	rc |= ijson_set(r, "seq", ijson_u64(s->seq));
	rc |= ijson_set(r, "eos", json_boolean(s->closed));
	rc |= ijson_set(r, "msgs_in", ijson_u64(s->msgs_in));
	rc |= ijson_set(r, "bytes_in", ijson_u64(s->bytes_in));
	rc |= ijson_set(r, "full_waits", ijson_u64(s->full_waits));
	rc |= ijson_set(r, "wakes", ijson_u64(s->wakes));
	rc |= ijson_set(r, "evicted", ijson_u64(s->evicted));
	rc |= ijson_set(r, "waiting_producer", ijson_u64(s->waiting_producer));
	rc |= ijson_set(r, "waiting_subscribers", ijson_u64(s->waiting_subscribers));
	rc |= ijson_set(r, "corrupt", json_boolean(s->corrupt));
	rc |= ijson_set(r, "producer", ijson_process(s->producer, s->producer_alive));
	rc |= ijson_set(r, "subscribers", subs);
	if (rc) {
		json_decref(r);
		return -ENOMEM;
	}
	rc = ijson_set(doc, "ring", r);
	if (rc == 0 && s->corrupt)
		rc = ijson_set(doc, "error", json_string(shmbus_strerror(-SHMBUS_ECORRUPT)));
	return rc;
}

const struct snap_kind_ops bcast_snap_kind = {
	.role_name = bcast_role_name,
	.take = bcast_take,
	.json = bcast_json,
	.free = bcast_state_free,
};
