/*
 * metrics.c - the Prometheus text exposition of blocks' snapshots (see
 * metrics.h).
 *
 * Every value comes from the snapshot's JSON document (shmbus_snapshot_json()),
 * the public and schema-checked view of a block, so the metrics show exactly
 * what `inspect --json` shows.  The exposition is grouped by family: one
 * HELP and one TYPE line, then that family's samples for every block in
 * name order.  A family with no sample is left out.  A value missing from a
 * document (a corrupt ring has no "ring" object) gives no sample: its block
 * shows shmbus_block_up 0 instead.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "metrics.h"
#include "tool.h"

/* Where a family's values are in a snapshot document. */
enum metric_src {
	SRC_BLOCK,      /* the document itself */
	SRC_RING,       /* its "ring" object, by ring kind */
	SRC_SUBSCRIBER, /* each object of "ring"."subscribers" */
	SRC_SLOTS,      /* its "slots" object */
};

/* Ring kinds, as indices of struct metric_family.key. */
enum { RK_SPSC, RK_MPMC, RK_BCAST, RK_N };

/* Keys that are not in the document but computed from it. */
#define KEY_RETAINED "@retained"       /* broadcast: tail - head */
#define KEY_ALIVE_PARTS "@alive_parts" /* participants whose process lives */
#define KEY_UP "@up"                   /* snapshot and kind state read */

struct metric_family {
	const char *name;
	const char *type; /* "counter" (name ends in _total) or "gauge" */
	const char *help;
	enum metric_src src;
	const char *key[RK_N]; /* SRC_RING: per ring kind (NULL: none); else key[0] */
};

static const struct metric_family families[] = {
	{ "shmbus_block_up", "gauge",
	  "1 if the block and its kind-specific state could be read, 0 if not", SRC_BLOCK,
	  { KEY_UP } },
	{ "shmbus_block_size_bytes", "gauge", "Size of the shared memory object", SRC_BLOCK,
	  { "size_bytes" } },
	{ "shmbus_block_alive", "gauge",
	  "1 if the block's creator, manager or a participant is alive (shmbus blocks only)",
	  SRC_BLOCK, { "alive" } },
	{ "shmbus_block_participants_alive", "gauge",
	  "Participants registered in the block whose process is alive", SRC_BLOCK,
	  { KEY_ALIVE_PARTS } },
	{ "shmbus_ring_in_messages_total", "counter", "Messages committed by producers",
	  SRC_RING, { "msgs_in", "msgs_in", "msgs_in" } },
	{ "shmbus_ring_in_bytes_total", "counter", "Payload bytes committed by producers",
	  SRC_RING, { "bytes_in", "bytes_in", "bytes_in" } },
	{ "shmbus_ring_out_messages_total", "counter",
	  "Messages consumed (broadcast: see shmbus_subscriber_out_messages_total)", SRC_RING,
	  { "msgs_out", "msgs_out", NULL } },
	{ "shmbus_ring_out_bytes_total", "counter",
	  "Payload bytes consumed (broadcast: see shmbus_subscriber_out_bytes_total)", SRC_RING,
	  { "bytes_out", "bytes_out", NULL } },
	{ "shmbus_ring_full_waits_total", "counter",
	  "Blocking producer calls that had to wait for room", SRC_RING,
	  { "full_waits", "full_waits", "full_waits" } },
	{ "shmbus_ring_empty_waits_total", "counter",
	  "Blocking consumer calls that had to wait for a message", SRC_RING,
	  { "empty_waits", "empty_waits", NULL } },
	{ "shmbus_ring_wakes_total", "counter", "Futex wakes issued (all sides)", SRC_RING,
	  { "wakes", "wakes", "wakes" } },
	{ "shmbus_ring_lost_messages_total", "counter",
	  "Messages lost with a participant that died holding them", SRC_RING,
	  { NULL, "lost", NULL } },
	{ "shmbus_ring_recovered_claims_total", "counter",
	  "Slots claimed by a dead participant and recovered", SRC_RING,
	  { NULL, "recovered", NULL } },
	{ "shmbus_ring_evicted_subscribers_total", "counter",
	  "Dead subscribers the producer stopped waiting for", SRC_RING,
	  { NULL, NULL, "evicted" } },
	{ "shmbus_ring_used_bytes", "gauge",
	  "Bytes of ring in use (broadcast: retained for subscribers)", SRC_RING,
	  { "used", NULL, KEY_RETAINED } },
	{ "shmbus_ring_capacity_bytes", "gauge", "Bytes of ring", SRC_RING,
	  { "capacity", NULL, "capacity" } },
	{ "shmbus_ring_used_slots", "gauge", "Slots holding a message or being written or read",
	  SRC_RING, { NULL, "occupancy", NULL } },
	{ "shmbus_ring_capacity_slots", "gauge", "Slots of ring", SRC_RING,
	  { NULL, "slots", NULL } },
	{ "shmbus_ring_max_message_bytes", "gauge", "Largest message the ring takes", SRC_RING,
	  { "max_message", "max_message", "max_message" } },
	{ "shmbus_ring_waiting_producers", "gauge", "Producers asleep waiting for room",
	  SRC_RING, { "waiting_producers", "waiting_producers", "waiting_producer" } },
	{ "shmbus_ring_waiting_consumers", "gauge",
	  "Consumers (broadcast: subscribers) asleep waiting for a message", SRC_RING,
	  { "waiting_consumers", "waiting_consumers", "waiting_subscribers" } },
	{ "shmbus_ring_end_of_stream", "gauge", "1 if the stream is closed, else 0", SRC_RING,
	  { "eos", "ended", "eos" } },
	{ "shmbus_ring_corrupt", "gauge", "1 if the ring's state failed validation", SRC_RING,
	  { "corrupt", "corrupt", "corrupt" } },
	{ "shmbus_subscriber_out_messages_total", "counter", "Messages a subscriber read",
	  SRC_SUBSCRIBER, { "msgs_out" } },
	{ "shmbus_subscriber_out_bytes_total", "counter", "Payload bytes a subscriber read",
	  SRC_SUBSCRIBER, { "bytes_out" } },
	{ "shmbus_subscriber_dropped_messages_total", "counter",
	  "Messages a lossy subscriber missed (overwritten before it read them)",
	  SRC_SUBSCRIBER, { "dropped" } },
	{ "shmbus_subscriber_waits_total", "counter",
	  "Blocking subscriber calls that had to wait", SRC_SUBSCRIBER, { "waits" } },
	{ "shmbus_subscriber_lag_messages", "gauge",
	  "Messages committed that the subscriber has not read", SRC_SUBSCRIBER,
	  { "lag_messages" } },
	{ "shmbus_subscriber_lag_bytes", "gauge", "Bytes the subscriber is behind the producer",
	  SRC_SUBSCRIBER, { "lag_bytes" } },
	{ "shmbus_subscriber_alive", "gauge", "1 if the subscriber's process is alive",
	  SRC_SUBSCRIBER, { "alive" } },
	{ "shmbus_slots_items", "gauge", "Slots (items) of a slot table", SRC_SLOTS,
	  { "length" } },
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/* One block of the rendering. */
struct metric_block {
	const char *name; /* as listed or given */
	json_t *doc;      /* its snapshot document; NULL if it could not be read */
};

/* @v as a sample value: integers and booleans; false if it is neither. */
static bool json_number(const json_t *v, long long *out)
{
	if (json_is_integer(v))
		*out = json_integer_value(v);
	else if (json_is_boolean(v))
		*out = json_is_true(v);
	else
		return false;
	return true;
}

static int ring_index(const char *kind)
{
	if (strcmp(kind, "spsc") == 0)
		return RK_SPSC;
	if (strcmp(kind, "mpmc") == 0)
		return RK_MPMC;
	if (strcmp(kind, "broadcast") == 0)
		return RK_BCAST;
	return -1;
}

static const char *doc_kind(const json_t *doc)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));

	return kind ? kind : "unknown";
}

/* Whether the block's kind-specific state is there to read. */
static bool block_up(const json_t *doc)
{
	if (!doc || json_object_get(doc, "error"))
		return false;
	if (ring_index(doc_kind(doc)) >= 0)
		return json_is_object(json_object_get(doc, "ring"));
	return true;
}

/* Computed and plain values of a block-level or ring-level key. */
static bool value_of(const json_t *obj, const json_t *doc, const char *key, long long *out)
{
	const json_t *p;
	size_t i;

	if (strcmp(key, KEY_UP) == 0) {
		*out = block_up(doc);
		return true;
	}
	if (!obj)
		return false;
	if (strcmp(key, KEY_ALIVE_PARTS) == 0) {
		const json_t *parts = json_object_get(obj, "participants");

		if (!json_is_array(parts))
			return false;
		*out = 0;
		json_array_foreach(parts, i, p)
			*out += json_is_true(json_object_get(p, "alive"));
		return true;
	}
	if (strcmp(key, KEY_RETAINED) == 0) {
		long long head, tail;

		if (!json_number(json_object_get(obj, "head"), &head) ||
		    !json_number(json_object_get(obj, "tail"), &tail) || tail < head)
			return false;
		*out = tail - head;
		return true;
	}
	return json_number(json_object_get(obj, key), out);
}

/* @s as a label value: backslash, double quote and newline escaped. */
static void put_label_value(FILE *out, const char *s)
{
	putc('"', out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			putc(*s, out);
	}
	putc('"', out);
}

/* A label value from a name of any bytes, shown as the snapshots show it. */
static void put_name(FILE *out, const char *name)
{
	char *utf8 = NULL;

	if (shmbus_name_utf8(name, &utf8) == 0) {
		put_label_value(out, utf8);
		free(utf8);
	} else {
		put_label_value(out, "?");
	}
}

static void put_sample(FILE *out, const struct metric_family *f, const struct metric_block *b,
		       const char *kind, const long long *subscriber, long long value)
{
	fprintf(out, "%s{name=", f->name);
	put_name(out, b->name);
	fputs(",kind=", out);
	put_label_value(out, kind);
	if (subscriber)
		fprintf(out, ",subscriber=\"%lld\"", *subscriber);
	fprintf(out, "} %lld\n", value);
}

/* The samples of family @f for block @b; returns how many were written
 * (with @out NULL: counted only). */
static size_t family_samples(FILE *out, const struct metric_family *f,
			     const struct metric_block *b)
{
	const char *kind = doc_kind(b->doc);
	const json_t *ring, *sub;
	long long v, index;
	size_t n = 0, i;
	int rk;

	switch (f->src) {
	case SRC_BLOCK:
		if (!value_of(b->doc, b->doc, f->key[0], &v))
			return 0;
		if (out)
			put_sample(out, f, b, kind, NULL, v);
		return 1;
	case SRC_RING:
		rk = ring_index(kind);
		if (rk < 0 || !f->key[rk])
			return 0;
		ring = json_object_get(b->doc, "ring");
		if (!json_is_object(ring) || !value_of(ring, b->doc, f->key[rk], &v))
			return 0;
		if (out)
			put_sample(out, f, b, kind, NULL, v);
		return 1;
	case SRC_SUBSCRIBER:
		ring = json_object_get(b->doc, "ring");
		json_array_foreach(json_object_get(ring, "subscribers"), i, sub) {
			if (!json_number(json_object_get(sub, "index"), &index) ||
			    !json_number(json_object_get(sub, f->key[0]), &v))
				continue;
			if (out)
				put_sample(out, f, b, kind, &index, v);
			n++;
		}
		return n;
	case SRC_SLOTS:
		if (!json_number(json_object_get(json_object_get(b->doc, "slots"), f->key[0]), &v))
			return 0;
		if (out)
			put_sample(out, f, b, kind, NULL, v);
		return 1;
	}
	return 0;
}

static void render(FILE *out, const struct metric_block *blocks, size_t n)
{
	size_t i, k, samples;

	for (i = 0; i < NFAMILIES; i++) {
		const struct metric_family *f = &families[i];

		for (samples = 0, k = 0; k < n && !samples; k++)
			samples = family_samples(NULL, f, &blocks[k]);
		if (!samples)
			continue;
		fprintf(out, "# HELP %s %s.\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
		for (k = 0; k < n; k++)
			family_samples(out, f, &blocks[k]);
	}
}

/* The snapshot document of @name: 0, or why there is none. */
static int take_doc(const char *name, json_t **doc)
{
	struct shmbus_snapshot *snap;
	json_error_t jerr;
	char *text;
	int rc;

	*doc = NULL;
	rc = shmbus_snapshot_take(name, &snap);
	if (rc)
		return rc;
	text = shmbus_snapshot_json(snap, 0);
	shmbus_snapshot_free(snap);
	if (!text)
		return -ENOMEM;
	*doc = json_loads(text, 0, &jerr);
	free(text);
	return *doc ? 0 : -ENOMEM;
}

int metrics_render(FILE *out, char *const *names, size_t count, const char *prefix,
		   FILE *warn, size_t *failed)
{
	struct metric_block *blocks = NULL;
	char **listed = NULL;
	size_t nlisted = 0, n = 0, i;
	bool explicit = count > 0;
	int rc = 0;

	*failed = 0;
	if (!explicit) {
		rc = shmbus_block_list(prefix, &listed, &nlisted);
		if (rc)
			return rc;
		names = listed;
		count = nlisted;
	}
	blocks = calloc(count ? count : 1, sizeof(*blocks));
	if (!blocks) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < count; i++) {
		json_t *doc;
		int err = take_doc(names[i], &doc);

		if (err == -ENOMEM) {
			rc = err;
			goto fail;
		}
		/* Listed a moment ago and unlinked since: not there any more. */
		if (err == -ENOENT && !explicit)
			continue;
		if (err) {
			++*failed;
			if (warn)
				fprintf(warn, "shmbus: %s: cannot read: %s\n", names[i],
					shmbus_strerror(err));
		}
		blocks[n].name = names[i];
		blocks[n].doc = doc;
		n++;
	}
	render(out, blocks, n);
fail:
	for (i = 0; blocks && i < n; i++)
		json_decref(blocks[i].doc);
	free(blocks);
	shmbus_block_list_free(listed, nlisted);
	return rc;
}
