/*
 * cmd_gc.c - `shmbus gc [--dry-run] [--json] [--prefix P]`: unlink shmbus
 * blocks that nobody lives for (shmbus_gc_run() decides; this prints).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "human.h"
#include "text.h"
#include "tool.h"

struct gc_out {
	bool json;
	bool dry_run;
	json_t *removed;   /* --json: removed (or would be) */
	json_t *errors;    /* --json: could not remove */
	int failures;
	int nomem;
};

static void on_item(const struct shmbus_gc_item *it, void *arg)
{
	struct gc_out *o = arg;

	if (o->json) {
		json_t *e;

		if (it->error)
			e = json_pack("{s:o, s:s}", "name", text_name_json(it->name), "error",
				      shmbus_strerror(it->error));
		else
			e = json_pack("{s:o, s:s, s:s, s:o}", "name", text_name_json(it->name), "kind",
				      shmbus_kind_name(it->kind), "reason", it->reason, "manager",
				      it->manager ? json_string(it->manager) : json_null());
		if (!e || json_array_append_new(it->error ? o->errors : o->removed, e))
			o->nomem = 1;
	} else if (!it->error) {
		/* Names escaped as ls shows them: they cannot fake lines. */
		printf("%s ", o->dry_run ? "would remove" : "removed");
		human_print_name(stdout, it->name);
		printf(" (%s: %s", shmbus_kind_name(it->kind), it->reason);
		if (it->manager) {
			putchar(' ');
			human_print_name(stdout, it->manager);
		}
		printf(")\n");
	}
	if (it->error) {
		tool_fail(it->name, "cannot remove", it->error);
		o->failures++;
	}
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "idle-for", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct gc_out o = { 0 };
	const char *prefix = NULL;
	int64_t idle_for = -1;
	json_t *doc = NULL;
	int c, rc, status = TOOL_OK;

	while ((c = getopt_long(argc, argv, ":njp:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': o.dry_run = true; break;
		case 'j': o.json = true; break;
		case 'p': prefix = optarg; break;
		case 'i':
			if (!human_parse_duration(optarg, &idle_for))
				return tool_usage_error(&cmd_gc, "bad --idle-for '%s' (e.g. 90s, 15m, 2h, 7d)",
							optarg);
			break;
		case 'h': return tool_help(&cmd_gc);
		default: return tool_bad_option(&cmd_gc, c, argv);
		}
	}
	if (optind != argc)
		return tool_usage_error(&cmd_gc, "takes no arguments");
	if (o.json) {
		o.removed = json_array();
		o.errors = json_array();
		if (!o.removed || !o.errors) {
			status = tool_fail(NULL, "gc", -ENOMEM);
			goto out;
		}
	}
	rc = shmbus_gc_run_idle(prefix, o.dry_run ? SHMBUS_GC_DRY_RUN : 0, idle_for, on_item, &o);
	if (rc < 0) {
		status = tool_fail("/dev/shm", "cannot collect", rc);
		goto out;
	}
	if (o.json) {
		doc = json_pack("{s:i, s:b, s:O, s:O}", "schema_version", SHMBUS_SCHEMA_VERSION,
				"dry_run", o.dry_run, "removed", o.removed, "errors", o.errors);
		if (!doc || o.nomem) {
			status = tool_fail(NULL, "gc", -ENOMEM);
			goto out;
		}
		json_dumpf(doc, stdout, JSON_SORT_KEYS | JSON_INDENT(2));
		putchar('\n');
	}
	if (o.failures)
		status = TOOL_ERR;
out:
	json_decref(doc);
	json_decref(o.removed);
	json_decref(o.errors);
	return status;
}

const struct tool_cmd cmd_gc = {
	.name = "gc",
	.summary = "unlink abandoned shmbus blocks (and, if asked, idle ones)",
	.usage = "usage: shmbus gc [--dry-run] [--json] [--prefix PREFIX] [--idle-for DURATION]\n\n"
		 "Unlinks the abandoned shmbus blocks in /dev/shm.  Blocks are persistent\n"
		 "unless created ephemeral (create --ephemeral): like Python's, they outlive\n"
		 "their creator, and a plain gc never removes them.  A plain gc removes:\n"
		 "  - ephemeral blocks whose creator and every participant are dead;\n"
		 "  - blocks made through a manager whose guardian, creator and every\n"
		 "    participant are dead, and the blocks listed by a dead manager (its\n"
		 "    process and guardian both dead); the manager's own block goes once\n"
		 "    everything it lists is gone;\n"
		 "  - blocks whose creator died before they were ready.\n"
		 "With --idle-for DURATION it also removes persistent blocks that nobody\n"
		 "recorded in is alive for and that had no activity for DURATION.  Activity\n"
		 "is the creation and every join, takeover or leave of a participant\n"
		 "(open/close of a producer, consumer or subscriber); a participant killed\n"
		 "without closing counts as last active when it joined.  Slot tables record\n"
		 "no activity and are never removed by gc (shmbus rm removes them).\n"
		 "`shmbus ls` and `shmbus inspect` show each block's class and what gc\n"
		 "would do with it.\n"
		 "Never touches anything else: other programs' and Python's blocks, empty\n"
		 "objects, blocks of live processes, blocks owned by another user (unless\n"
		 "run as root).  Each block is examined again just before it is unlinked,\n"
		 "and only the very object examined is unlinked.  Prints what it removed.\n"
		 "  --dry-run           print what would be removed; remove nothing\n"
		 "  --json              {\"schema_version\", \"dry_run\", \"removed\": [{\"name\",\n"
		 "                      \"kind\", \"reason\", \"manager\"}], \"errors\": [...]}\n"
		 "  --prefix PREFIX     only consider (and remove) names starting with PREFIX,\n"
		 "                      e.g. one application's blocks, or one test run's\n"
		 "  --idle-for DURATION also remove idle persistent blocks; DURATION is a\n"
		 "                      number with a unit: ms, s, m, h, d (e.g. 90s, 2h, 7d)\n"
		 "Exit status 1 if any block could not be removed.\n",
	.run = run,
};
