/*
 * inspect_text.c - `shmbus inspect NAME` for people: a summary of what the
 * block is, who is recorded in it, what gc would do with it, then the kind's
 * own state.  Built from the same JSON document as --json, so both show the
 * same data; only the order and the wording differ.
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "human.h"
#include "inspect_text.h"
#include "text.h"

/* Keys the summary shows itself; every other top-level key is the kind's. */
static const char *const common_keys[] = {
	"schema_version", "name", "kind", "size_bytes", "owner_uid", "mode", "modified",
	"alive", "participants", "created", "created_ns", "creator", "manager", "header",
	"gc", "error",
};

static bool is_common(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(common_keys) / sizeof(common_keys[0]); i++) {
		if (strcmp(key, common_keys[i]) == 0)
			return true;
	}
	return false;
}

static const char *str(json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));

	return s ? s : "-";
}

/* "pid 123 (alive)" or "none". */
static void print_process(FILE *to, json_t *p)
{
	if (!json_is_object(p)) {
		fputs("none", to);
		return;
	}
	fprintf(to, "pid %" JSON_INTEGER_FORMAT " (%s)", json_integer_value(json_object_get(p, "pid")),
		json_is_true(json_object_get(p, "alive")) ? "alive" : "dead");
}

static void print_head(FILE *to, json_t *doc)
{
	json_int_t size = json_integer_value(json_object_get(doc, "size_bytes"));
	json_int_t uid = json_integer_value(json_object_get(doc, "owner_uid"));
	struct passwd *pw = getpwuid((uid_t)uid);
	json_t *alive = json_object_get(doc, "alive");
	char hsize[32];

	human_print_name(to, json_string_value(json_object_get(doc, "name")) ?
			 json_string_value(json_object_get(doc, "name")) : "?");
	fprintf(to, "  (kind: %s, %s = %" JSON_INTEGER_FORMAT " bytes, mode %s, owner ",
		str(doc, "kind"), human_size((uint64_t)size, hsize, sizeof(hsize)), size,
		str(doc, "mode"));
	if (pw)
		fprintf(to, "%s)\n", pw->pw_name);
	else
		fprintf(to, "uid %" JSON_INTEGER_FORMAT ")\n", uid);
	if (json_is_string(json_object_get(doc, "error")))
		fprintf(to, "  error:        %s\n", str(doc, "error"));
	if (json_is_string(json_object_get(doc, "created"))) {
		struct timespec now;
		json_int_t born = json_integer_value(json_object_get(doc, "created_ns"));
		char age[32];

		clock_gettime(CLOCK_REALTIME, &now);
		fprintf(to, "  created:      %s (%s ago) by ", str(doc, "created"),
			human_age((int64_t)now.tv_sec * 1000000000 + now.tv_nsec - born, age,
				  sizeof(age)));
		print_process(to, json_object_get(doc, "creator"));
		fputc('\n', to);
	} else {
		fprintf(to, "  modified:     %s\n", str(doc, "modified"));
	}
	fprintf(to, "  alive:        %s\n", json_is_null(alive) ? "- (records no process)" :
					     json_is_true(alive) ? "yes" : "no");
	if (json_is_object(json_object_get(doc, "manager"))) {
		fputs("  manager:      ", to);
		print_process(to, json_object_get(doc, "manager"));
		fputc('\n', to);
	}
}

static void print_gc(FILE *to, json_t *gc)
{
	if (!json_is_object(gc))
		return;
	fprintf(to, "  gc:           %s (%s): %s\n",
		json_is_true(json_object_get(gc, "removable")) ? "gc removes it" : "gc keeps it",
		str(gc, "class"), str(gc, "reason"));
	if (json_is_string(json_object_get(gc, "last_active")))
		fprintf(to, "  last active:  %s\n", str(gc, "last_active"));
}

static void print_participants(FILE *to, json_t *parts)
{
	json_t *p;
	size_t i;

	if (!json_is_array(parts))
		return;
	if (json_array_size(parts) == 0) {
		fputs("  participants: none\n", to);
		return;
	}
	fputs("  participants:\n", to);
	json_array_foreach(parts, i, p) {
		fprintf(to, "    #%-4" JSON_INTEGER_FORMAT " %-12s pid %-8" JSON_INTEGER_FORMAT " %s\n",
			json_integer_value(json_object_get(p, "index")), str(p, "role"),
			json_integer_value(json_object_get(p, "pid")),
			json_is_true(json_object_get(p, "alive")) ? "alive" : "dead");
	}
}

int inspect_print_text(FILE *to, const char *text)
{
	json_t *doc = json_loads(text, 0, NULL);
	const char *key;
	json_t *v;

	if (!json_is_object(doc)) {
		json_decref(doc);
		return -EINVAL;
	}
	print_head(to, doc);
	print_gc(to, json_object_get(doc, "gc"));
	print_participants(to, json_object_get(doc, "participants"));
	/* The kind's own state, as --json has it. */
	json_object_foreach(doc, key, v) {
		if (is_common(key))
			continue;
		if (json_is_object(v) || json_is_array(v)) {
			fprintf(to, "%s:\n", key);
			text_print_value(to, v, 1);
		} else {
			json_t *one = json_pack("{s:O}", key, v);

			if (one)
				text_print_value(to, one, 0);
			json_decref(one);
		}
	}
	json_decref(doc);
	return 0;
}
