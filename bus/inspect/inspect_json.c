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

int ijson_set(json_t *obj, const char *key, json_t *value)
{
	/* json_object_set_new() steals @value even when it fails. */
	if (!value)
		return -ENOMEM;
	return json_object_set_new(obj, key, value) ? -ENOMEM : 0;
}

/* Length of the valid UTF-8 sequence at @s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int shmbus_name_utf8(const char *name, char **out)
{
	const unsigned char *p = (const unsigned char *)name;
	char *buf, *o;

	if (!name || !out)
		return -EINVAL;
	/* Each byte becomes at most the 3 bytes of U+FFFD. */
	buf = malloc(strlen(name) * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (o = buf; *p;) {
		size_t n = utf8_len(p);

		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	*o = '\0';
	*out = buf;
	return 0;
}

json_t *ijson_text(const char *s)
{
	json_t *j;
	char *fixed;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	/* Names come from file names and blocks: any bytes (or out of memory,
	 * which the repaired copy meets again). */
	if (shmbus_name_utf8(s, &fixed))
		return NULL;
	j = json_string(fixed);
	free(fixed);
	return j;
}

json_t *ijson_u64(uint64_t v)
{
	/* jansson integers are signed 64-bit: larger values (garbage, or a
	 * position after 2^63 bytes) are given as a (rounded) real. */
	return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

json_t *ijson_time(uint64_t ns)
{
	char buf[64];
	struct tm tm;
	time_t secs = (time_t)(ns / 1000000000u);

	if (!gmtime_r(&secs, &tm))
		return json_null();
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % 1000000000u / 1000000u));
	return json_string(buf);
}

json_t *ijson_process(shmbus_ident_t id, bool alive)
{
	if (id == SHMBUS_IDENT_NONE)
		return json_null();
	return json_pack("{s:I, s:I, s:b}", "pid", (json_int_t)shmbus_ident_pid(id),
			 "start_ticks", (json_int_t)shmbus_ident_start(id), "alive", alive);
}

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

		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
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
