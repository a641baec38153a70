/*
 * cmd_ls.c - `shmbus ls [--json]`: every block in /dev/shm, ours and others.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "human.h"
#include "text.h"
#include "tool.h"

static int64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int64_t age_ns(const struct shmbus_snapshot *s, int64_t now)
{
	int64_t born = s->has_header ? (int64_t)s->info.created_ns : s->mtime_ns;

	return now - born;
}

/* Whether the block records processes whose liveness means something:
 * our header kinds, and our slot tables (their creator). */
static bool records_alive(const struct shmbus_snapshot *s)
{
	return s->has_header || s->kind == SHMBUS_KIND_SLOTS;
}

/* "2026-12-05T17:01:02.345Z" */
static json_t *time_json(int64_t ns)
{
	char buf[40], ms[8];
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || !gmtime_r(&sec, &tm))
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ms, sizeof(ms), ".%03dZ", (int)(ns % 1000000000 / 1000000));
	strncat(buf, ms, sizeof(buf) - strlen(buf) - 1);
	return json_string(buf);
}

static json_t *entry_json(const struct shmbus_snapshot *s, int64_t now)
{
	struct shmbus_gc_verdict v;

	if (shmbus_gc_judge(s, -1, now, &v))
		return NULL;
	return json_pack("{s:o, s:s, s:I, s:I, s:f, s:o, s:o, s:{s:s, s:b, s:s, s:o}}", "name",
			 text_name_json(s->name), "kind", shmbus_kind_name(s->kind), "size_bytes",
			 (json_int_t)s->size_bytes, "owner_uid", (json_int_t)s->owner_uid, "age_s",
			 (double)age_ns(s, now) / 1e9, "alive",
			 records_alive(s) ? json_boolean(s->any_alive) : json_null(), "managed",
			 json_boolean(s->manager_alive), "gc", "class", v.class_name, "removable",
			 v.removable, "reason", v.reason, "last_active", time_json(s->active_ns));
}

static void print_name(const char *name)
{
	int cols = human_print_name(stdout, name);

	printf("%*s ", cols < 32 ? 32 - cols : 0, "");
}

/* Alive only through participants whose liveness cannot be told (another
 * pid namespace): "unknown" rather than a guess. */
static bool liveness_unknown(const struct shmbus_snapshot *s)
{
	bool unknown = false;
	uint32_t i;

	if (s->creator_alive || s->manager_alive)
		return false;
	for (i = 0; i < s->nparticipants; i++) {
		if (s->participants[i].alive && !s->participants[i].liveness_unknown)
			return false;
		unknown |= s->participants[i].liveness_unknown;
	}
	return unknown;
}

static void print_row(const struct shmbus_snapshot *s, bool bytes, int64_t now)
{
	struct passwd *pw = getpwuid(s->owner_uid);
	struct shmbus_gc_verdict v;
	const char *alive = "-";
	char size[32], age[32];

	if (records_alive(s))
		alive = liveness_unknown(s) ? "unknown" : s->any_alive ? "yes" : "no";
	if (bytes) {
		snprintf(size, sizeof(size), "%llu", (unsigned long long)s->size_bytes);
		snprintf(age, sizeof(age), "%.0f", (double)age_ns(s, now) / 1e9);
	} else {
		human_size(s->size_bytes, size, sizeof(size));
		human_age(age_ns(s, now), age, sizeof(age));
	}
	print_name(s->name);
	printf("%-20s %8s %-10s %7s %-5s %-10s ", shmbus_kind_name(s->kind), size,
	       pw ? pw->pw_name : "?", age, alive, s->manager_alive ? "managed" : "-");
	if (shmbus_gc_judge(s, -1, now, &v) == 0)
		printf("%s %s: %s", v.removable ? "remove" : "keep", v.class_name, v.reason);
	putchar('\n');
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	json_t *doc = NULL, *arr = NULL;
	bool json = false, bytes = false;
	int64_t now;
	char **names = NULL;
	size_t n = 0, i;
	int c, rc, status = TOOL_OK;

	while ((c = getopt_long(argc, argv, ":jbh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'b': bytes = true; break;
		case 'h': return tool_help(&cmd_ls);
		default: return tool_bad_option(&cmd_ls, c, argv);
		}
	}
	if (optind != argc)
		return tool_usage_error(&cmd_ls, "takes no arguments");
	rc = shmbus_block_list(NULL, &names, &n);
	if (rc)
		return tool_fail(SHMBUS_SHM_DIR, "cannot list", rc);
	now = now_ns();
	if (json) {
		doc = json_object();
		arr = json_array();
		if (!doc || !arr || json_object_set_new(doc, "schema_version",
							json_integer(SHMBUS_SCHEMA_VERSION)))
			status = tool_fail(NULL, "ls", -ENOMEM);
	} else {
		printf("%-32s %-20s %8s %-10s %7s %-5s %-10s %s\n", "NAME", "KIND", "SIZE", "OWNER",
		       bytes ? "AGE_S" : "AGE", "ALIVE", "MANAGER", "GC");
	}
	for (i = 0; i < n && status == TOOL_OK; i++) {
		struct shmbus_snapshot *s;

		rc = shmbus_snapshot_take(names[i], &s);
		if (rc == -ENOENT || rc == -SHMBUS_ENOTREG || rc == -SHMBUS_ESYMLINK)
			continue; /* removed, or replaced by a non-block, while we listed */
		if (rc == -SHMBUS_EEMPTY || rc == -EACCES) {
			/* Still a block: show what the directory knows. */
			if (json) {
				json_array_append_new(arr, json_pack("{s:o, s:s, s:o, s:o}", "name",
					text_name_json(names[i]), "kind", "unknown", "error",
					json_string(shmbus_strerror(rc)), "alive", json_null()));
			} else {
				print_name(names[i]);
				printf("%-20s (%s)\n", "unknown", shmbus_strerror(rc));
			}
			continue;
		}
		if (rc) {
			status = tool_fail(names[i], "cannot inspect", rc);
			break;
		}
		if (json)
			json_array_append_new(arr, entry_json(s, now));
		else
			print_row(s, bytes, now);
		shmbus_snapshot_free(s);
	}
	if (json && status == TOOL_OK) {
		json_object_set_new(doc, "blocks", arr);
		arr = NULL;
		json_dumpf(doc, stdout, JSON_SORT_KEYS | JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(arr);
	json_decref(doc);
	shmbus_block_list_free(names, n);
	return status;
}

const struct tool_cmd cmd_ls = {
	.name = "ls",
	.summary = "list every block in /dev/shm with its kind, size, owner, age and gc class",
	.usage = "usage: shmbus ls [--json] [--bytes]\n\n"
		 "Lists every shared memory block: shmbus blocks with their kind, others\n"
		 "as 'unknown'.  SIZE and AGE are in human units (K, M, G; s, m, h, d).\n"
		 "ALIVE tells whether any process recorded in the block (creator,\n"
		 "participants; a slot table's creator) still runs; '-' for blocks that\n"
		 "record none.  MANAGER says 'managed' when a live manager will unlink it.\n"
		 "GC says what a plain `shmbus gc` would do with it (keep or remove), the\n"
		 "block's class (persistent, ephemeral, managed, manager, building, slots,\n"
		 "foreign) and why; see shmbus gc --help.  Names are shown with control\n"
		 "characters, backslashes and non-ASCII bytes escaped (\\xHH, \\\\).\n"
		 "  --bytes  sizes in bytes and ages in seconds\n"
		 "  --json   {\"schema_version\": N, \"blocks\": [...]}, sorted keys, raw units\n",
	.run = run,
};
