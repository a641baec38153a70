/*
 * cmd_inspect.c - `shmbus inspect NAME [--json]`: one snapshot of a block.
 *
 * The text form is rendered from the same JSON document as --json, so the
 * two never disagree.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inspect_text.h"
#include "tool.h"

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct shmbus_snapshot *snap;
	bool json = false;
	char *text;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': return tool_help(&cmd_inspect);
		default: return tool_bad_option(&cmd_inspect, c, argv);
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&cmd_inspect, "expected one block name");
	if (tool_check_name(&cmd_inspect, argv[optind]) != TOOL_OK)
		return TOOL_USAGE;
	rc = shmbus_snapshot_take(argv[optind], &snap);
	if (rc)
		return tool_fail(argv[optind], "cannot inspect", rc);
	text = shmbus_snapshot_json(snap, json ? 2 : 0);
	shmbus_snapshot_free(snap);
	if (!text)
		return tool_fail(argv[optind], "cannot render", -ENOMEM);
	if (json)
		puts(text);
	else
		rc = inspect_print_text(stdout, text);
	free(text);
	return rc ? tool_fail(argv[optind], "cannot render", rc) : TOOL_OK;
}

const struct tool_cmd cmd_inspect = {
	.name = "inspect",
	.summary = "show a block's state (header, participants, ring or slots)",
	.usage = "usage: shmbus inspect NAME [--json]\n\n"
		 "Snapshot of block NAME, read without joining it (read-only, never writes):\n"
		 "what it is, who is recorded in it, what gc would do with it and why\n"
		 "(shmbus gc --help), then the kind's own state.\n"
		 "  --json   one JSON document, sorted keys, with schema_version\n"
		 "           (schema: share/shmbus/schema/inspect.schema.json)\n",
	.run = run,
};
