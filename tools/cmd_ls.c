/*
 * cmd_ls.c - `shmbus ls [--json]`: every block in /dev/shm, ours and others.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "text.h"
#include "tool.h"

static double age_seconds(const struct shmbus_snapshot *s)
{
	struct timespec now;
	int64_t born = s->has_header ? (int64_t)s->info.created_ns : s->mtime_ns;

	clock_gettime(CLOCK_REALTIME, &now);
	return (double)((int64_t)now.tv_sec * 1000000000 + now.tv_nsec - born) / 1e9;
}

static json_t *entry_json(const struct shmbus_snapshot *s)
{
	bool ours = s->kind != SHMBUS_KIND_UNKNOWN && s->kind != SHMBUS_KIND_PYLIST;

	return json_pack("{s:o, s:s, s:I, s:I, s:f, s:o, s:o}", "name", text_name_json(s->name),
			 "kind", shmbus_kind_name(s->kind), "size_bytes", (json_int_t)s->size_bytes,
			 "owner_uid", (json_int_t)s->owner_uid, "age_s", age_seconds(s),
			 "alive", ours && s->has_header ? json_boolean(s->any_alive) : json_null(),
			 "managed", json_boolean(s->manager_alive));
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

static void print_row(const struct shmbus_snapshot *s)
{
	struct passwd *pw = getpwuid(s->owner_uid);
	const char *alive = "-";

	if (s->has_header)
		alive = liveness_unknown(s) ? "unknown" : s->any_alive ? "yes" : "no";
	printf("%-32s %-20s %12llu %-10s %10.0f %-5s%s\n", s->name, shmbus_kind_name(s->kind),
	       (unsigned long long)s->size_bytes, pw ? pw->pw_name : "?", age_seconds(s), alive,
	       s->manager_alive ? " managed" : "");
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	json_t *doc = NULL, *arr = NULL;
	bool json = false;
	char **names = NULL;
	size_t n = 0, i;
	int c, rc, status = TOOL_OK;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': return tool_help(&cmd_ls);
		default: return tool_usage_error(&cmd_ls, "bad option");
		}
	}
	if (optind != argc)
		return tool_usage_error(&cmd_ls, "takes no arguments");
	rc = shmbus_block_list(NULL, &names, &n);
	if (rc)
		return tool_fail(SHMBUS_SHM_DIR, "cannot list", rc);
	if (json) {
		doc = json_object();
		arr = json_array();
		if (!doc || !arr || json_object_set_new(doc, "schema_version",
							json_integer(SHMBUS_SCHEMA_VERSION)))
			status = tool_fail(NULL, "ls", -ENOMEM);
	} else {
		printf("%-32s %-20s %12s %-10s %10s %s\n", "NAME", "KIND", "SIZE", "OWNER",
		       "AGE_S", "ALIVE");
	}
	for (i = 0; i < n && status == TOOL_OK; i++) {
		struct shmbus_snapshot *s;

		rc = shmbus_snapshot_take(names[i], &s);
		if (rc == -ENOENT)
			continue; /* removed while we listed */
		if (rc == -SHMBUS_EEMPTY || rc == -EACCES) {
			/* Still a block: show what the directory knows. */
			if (json) {
				json_array_append_new(arr, json_pack("{s:o, s:s, s:o, s:o}", "name",
					text_name_json(names[i]), "kind", "unknown", "error",
					json_string(shmbus_strerror(rc)), "alive", json_null()));
			} else {
				printf("%-32s %-20s (%s)\n", names[i], "unknown", shmbus_strerror(rc));
			}
			continue;
		}
		if (rc) {
			status = tool_fail(names[i], "cannot inspect", rc);
			break;
		}
		if (json)
			json_array_append_new(arr, entry_json(s));
		else
			print_row(s);
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
	.summary = "list every block in /dev/shm with its kind, size, owner and age",
	.usage = "usage: shmbus ls [--json]\n\n"
		 "Lists every shared memory block: shmbus blocks with their kind, others\n"
		 "as 'unknown'.  ALIVE tells whether any recorded participant (creator\n"
		 "included) still runs; '-' for blocks that are not shmbus's.\n"
		 "  --json   {\"schema_version\": N, \"blocks\": [...]}, sorted keys\n",
	.run = run,
};
