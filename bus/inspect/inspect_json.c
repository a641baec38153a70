/*
 * inspect_json.c - a snapshot as a JSON document (schema in tools/schema/).
 *
 * Keys are sorted (JSON_SORT_KEYS) and every document carries
 * "schema_version", so output is deterministic and readers can check it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inspect_internal.h"
#include "shmbus/manager.h"

static json_t *json_participants(const struct shmbus_snapshot *snap)
{
	json_t *arr = json_array();
	uint32_t i;

	for (i = 0; arr && i < snap->nparticipants; i++) {
		const struct shmbus_snapshot_participant *p = &snap->participants[i];
		json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:b}", "index", (json_int_t)p->index,
				      "role", p->role_name, "pid",
				      (json_int_t)shmbus_ident_pid(p->ident), "start_ticks",
				      (json_int_t)shmbus_ident_start(p->ident), "alive", p->alive);

		/* Only when it applies: documents of blocks whose peers all
		 * share our namespace keep their exact form. */
		if (o && p->liveness_unknown &&
		    json_object_set_new(o, "liveness", json_string("unknown"))) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* What gc would do with the block now (plain gc: no idle time). */
static json_t *json_gc(const struct shmbus_snapshot *snap)
{
	struct shmbus_gc_verdict v;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (shmbus_gc_judge(snap, -1, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, &v))
		return NULL;
	return json_pack("{s:s, s:b, s:s, s:o}", "class", v.class_name, "removable", v.removable,
			 "reason", v.reason, "last_active",
			 snap->active_ns > 0 ? ijson_time((uint64_t)snap->active_ns) : json_null());
}

static int json_common(const struct shmbus_snapshot *snap, json_t *doc)
{
	char mode[8];
	int rc = 0;

	snprintf(mode, sizeof(mode), "%04o", (unsigned)snap->mode);
	rc |= ijson_set(doc, "schema_version", json_integer(SHMBUS_SCHEMA_VERSION));
	rc |= ijson_set(doc, "name", ijson_text(snap->name));
	rc |= ijson_set(doc, "kind", json_string(shmbus_kind_name(snap->kind)));
	rc |= ijson_set(doc, "size_bytes", json_integer((json_int_t)snap->size_bytes));
	rc |= ijson_set(doc, "owner_uid", json_integer((json_int_t)snap->owner_uid));
	rc |= ijson_set(doc, "mode", json_string(mode));
	rc |= ijson_set(doc, "modified", ijson_time((uint64_t)snap->mtime_ns));
	/* Liveness is known only for blocks that record their processes. */
	rc |= ijson_set(doc, "alive", snap->has_header ? json_boolean(snap->any_alive) : json_null());
	rc |= ijson_set(doc, "participants", json_participants(snap));
	rc |= ijson_set(doc, "gc", json_gc(snap));
	if (snap->has_header) {
		const struct shmbus_block_info *in = &snap->info;

		rc |= ijson_set(doc, "created", ijson_time(in->created_ns));
		rc |= ijson_set(doc, "created_ns", json_integer((json_int_t)in->created_ns));
		rc |= ijson_set(doc, "creator", ijson_process(in->creator, snap->creator_alive));
		if (json_is_object(json_object_get(doc, "creator")))
			rc |= ijson_set(json_object_get(doc, "creator"), "uid",
					      json_integer((json_int_t)in->creator_uid));
		rc |= ijson_set(doc, "manager", ijson_process(in->manager, snap->manager_alive));
		rc |= ijson_set(doc, "header",
				      json_pack("{s:I, s:I, s:I, s:I, s:I}", "layout_version",
						(json_int_t)in->version, "header_size",
						(json_int_t)in->header_size, "cacheline",
						(json_int_t)in->cacheline, "total_size",
						(json_int_t)in->total_size, "flags",
						(json_int_t)in->flags));
	} else {
		rc |= ijson_set(doc, "created", json_null());
		rc |= ijson_set(doc, "creator", json_null());
		rc |= ijson_set(doc, "manager", json_null());
		rc |= ijson_set(doc, "header", json_null());
	}
	/* Why a block that looks like ours could not be read in full. */
	if (snap->header_error && snap->header_error != -SHMBUS_EMAGIC)
		rc |= ijson_set(doc, "error", json_string(shmbus_strerror(snap->header_error)));
	else if (snap->kind_error)
		rc |= ijson_set(doc, "error", json_string(shmbus_strerror(snap->kind_error)));
	return rc ? -ENOMEM : 0;
}

char *shmbus_snapshot_json(const struct shmbus_snapshot *snap, int indent)
{
	const struct snap_kind_ops *k;
	json_t *doc = json_object();
	size_t flags = JSON_SORT_KEYS | (indent > 0 ? JSON_INDENT(indent) : JSON_COMPACT);
	char *text = NULL;

	if (!doc)
		return NULL;
	if (json_common(snap, doc))
		goto out;
	k = (unsigned)snap->kind < SHMBUS_KIND_MAX ? snap_kinds[snap->kind] : NULL;
	if (k && k->json && snap->kind_state && !snap->kind_error && k->json(snap, doc))
		goto out;
	text = json_dumps(doc, flags);
out:
	json_decref(doc);
	return text;
}
