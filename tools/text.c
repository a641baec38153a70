/*
 * text.c - JSON to indented "key: value" text (keys in sorted order), and
 * block names as JSON strings.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shmbus/inspect.h"
#include "text.h"


/*
 * The order people read a block's state in: what it is, how full, what went
 * through, how it ended, who holds it, then the positions and the waits.
 * Keys not listed follow in alphabetical order (the JSON itself stays
 * sorted).
 */
static const char *const key_order[] = {
	"policy", "capacity", "slots", "slot_size", "max_message", "length",
	"used", "occupancy", "free", "msgs_in", "msgs_out", "bytes_in", "bytes_out",
	"lost", "recovered", "dropped", "eos", "ended", "producers_open",
	"producers_closed", "reopens", "corrupt", "producer", "consumer",
	"subscribers_max", "subscribers", "head", "tail", "seq", "full_waits",
	"empty_waits", "waiting_producer", "waiting_producers", "waiting_consumers",
	"waiting_subscribers", "wakes", "evicted", "liveness_ms",
};

static size_t key_rank(const char *key)
{
	size_t i, n = sizeof(key_order) / sizeof(key_order[0]);

	for (i = 0; i < n; i++) {
		if (strcmp(key, key_order[i]) == 0)
			return i;
	}
	return n;
}

static int key_cmp(const void *a, const void *b)
{
	const char *ka = *(const char *const *)a, *kb = *(const char *const *)b;
	size_t ra = key_rank(ka), rb = key_rank(kb);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(ka, kb);
}

static void print_scalar(FILE *to, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: fputs(json_string_value(v), to); break;
	case JSON_INTEGER: fprintf(to, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: fprintf(to, "%g", json_real_value(v)); break;
	case JSON_TRUE: fputs("yes", to); break;
	case JSON_FALSE: fputs("no", to); break;
	default: fputs("-", to); break;
	}
}

static bool is_scalar(json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

void text_print_value(FILE *to, json_t *v, int depth)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_object(v)) {
		void *iter;
		const char **keys;
		size_t n = json_object_size(v), k = 0;

		keys = calloc(n ? n : 1, sizeof(*keys));
		if (!keys)
			return;
		for (iter = json_object_iter(v); iter; iter = json_object_iter_next(v, iter))
			keys[k++] = json_object_iter_key(iter);
		qsort(keys, n, sizeof(*keys), key_cmp);
		for (k = 0; k < n; k++) {
			key = keys[k];
			item = json_object_get(v, key);
			fprintf(to, "%*s%s:", depth * 2, "", key);
			if (is_scalar(item)) {
				fputc(' ', to);
				print_scalar(to, item);
				fputc('\n', to);
			} else if (json_is_array(item) && json_array_size(item) == 0) {
				fputs(" (none)\n", to);
			} else {
				fputc('\n', to);
				text_print_value(to, item, depth + 1);
			}
		}
		free(keys);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			fprintf(to, "%*s- [%zu]", depth * 2, "", i);
			if (is_scalar(item)) {
				fputc(' ', to);
				print_scalar(to, item);
				fputc('\n', to);
			} else {
				fputc('\n', to);
				text_print_value(to, item, depth + 1);
			}
		}
	} else {
		fprintf(to, "%*s", depth * 2, "");
		print_scalar(to, v);
		fputc('\n', to);
	}
}

int text_print_json(FILE *to, const char *text)
{
	json_t *doc = json_loads(text, 0, NULL);

	if (!doc)
		return -EINVAL;
	text_print_value(to, doc, 0);
	json_decref(doc);
	return 0;
}

json_t *text_name_json(const char *name)
{
	char *utf8;
	json_t *j;

	if (shmbus_name_utf8(name, &utf8))
		return NULL;
	j = json_string(utf8);
	free(utf8);
	return j;
}
