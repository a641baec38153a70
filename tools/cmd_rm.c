/*
 * cmd_rm.c - `shmbus rm NAME...`: unlink blocks by name.
 */
#include <getopt.h>
#include <stdio.h>

#include "tool.h"

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, i, status = TOOL_OK;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return tool_help(&cmd_rm);
		return tool_bad_option(&cmd_rm, c, argv);
	}
	if (optind >= argc)
		return tool_usage_error(&cmd_rm, "expected at least one block name");
	for (i = optind; i < argc; i++) {
		if (tool_check_name(&cmd_rm, argv[i]) != TOOL_OK)
			return TOOL_USAGE;
	}
	for (i = optind; i < argc; i++) {
		int rc = shmbus_block_unlink(argv[i]);

		if (rc)
			status = tool_fail(argv[i], "cannot remove", rc);
	}
	return status;
}

const struct tool_cmd cmd_rm = {
	.name = "rm",
	.summary = "unlink blocks by name",
	.usage = "usage: shmbus rm NAME...\n\n"
		 "Unlink each named block.  Processes that have it attached keep their\n"
		 "mapping until they close it.  Fails (status 1) for any name that does\n"
		 "not exist, after trying all of them.\n",
	.run = run,
};
