/*
 * cmd_create.c - `shmbus create KIND NAME [options]`: make a block of a kind.
 *
 * Each kind parses its own options; this file only dispatches.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

static const struct tool_cmd create_block_cmd = {
	.name = "create block",
	.usage = "usage: shmbus create block NAME --size BYTES [--mode 0600]\n\n"
		 "Create a block of raw zeroed bytes, like Python's SharedMemory.  It has\n"
		 "no shmbus header, so it is always persistent: gc never removes it.\n"
		 "  --size BYTES  its size, with an optional K, M or G suffix\n"
		 "  --mode MODE   permission bits, octal (default 0600)\n",
};

/* `shmbus create block NAME --size BYTES [--mode MODE]`: raw bytes. */
static int create_block(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct shmbus_block *b;
	uint64_t size = 0, mode = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":s:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!tool_parse_size(optarg, &size) || size == 0)
				return tool_usage_error(&create_block_cmd, "bad --size '%s'", optarg);
			break;
		case 'm':
			if (!tool_parse_u64(optarg, 1, 07777, &mode) || optarg[0] != '0')
				return tool_usage_error(&create_block_cmd, "bad --mode '%s' (octal, e.g. 0600)", optarg);
			break;
		case 'h': return tool_help(&create_block_cmd);
		default: return tool_bad_option(&create_block_cmd, c, argv);
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&create_block_cmd, "expected one block name");
	if (tool_check_name(&create_block_cmd, argv[optind]) != TOOL_OK)
		return TOOL_USAGE;
	if (size == 0)
		return tool_usage_error(&create_block_cmd, "--size is required");
	rc = shmbus_block_create(&b, argv[optind], size, (mode_t)mode);
	if (rc)
		return tool_fail(argv[optind], "cannot create", rc);
	shmbus_block_close(b);
	return TOOL_OK;
}

static const struct {
	const char *kind;
	int (*create)(int argc, char **argv);
} kinds[] = {
	{ "block", create_block },
	{ "slots", tool_create_slots },
	{ "spsc", tool_create_spsc },
	{ "mpmc", tool_create_mpmc },
	{ "broadcast", tool_create_bcast },
};

static int run(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return tool_usage_error(&cmd_create, "expected a kind");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return tool_help(&cmd_create);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(argv[1], kinds[i].kind) == 0)
			return kinds[i].create(argc - 1, argv + 1);
	}
	return tool_usage_error(&cmd_create, "unknown kind '%s'", argv[1]);
}

const struct tool_cmd cmd_create = {
	.name = "create",
	.summary = "create a block (block, spsc, mpmc, broadcast, slots)",
	.usage = "usage: shmbus create KIND NAME [options]\n\n"
		 "  shmbus create spsc NAME --capacity BYTES [--mode 0600]\n"
		 "      a single-producer single-consumer ring (shmbus create spsc --help)\n"
		 "  shmbus create mpmc NAME --slots N --slot-size BYTES [--liveness-ms MS]\n"
		 "      a many-producer many-consumer ring (shmbus create mpmc --help)\n"
		 "  shmbus create broadcast NAME --capacity BYTES [--subscribers N]\n"
		 "                [--policy reliable|lossy] [--liveness-ms MS] [--mode 0600]\n"
		 "      one producer, every subscriber reads every message\n"
		 "      (shmbus create broadcast --help)\n"
		 "  shmbus create slots NAME --values JSON [--mode 0600]\n"
		 "      a slot table Python reads as ShareableList (shmbus create slots --help)\n"
		 "  shmbus create block NAME --size BYTES [--mode 0600]\n"
		 "      raw bytes (like Python's SharedMemory); sizes take K, M, G suffixes\n"
		 "      (shmbus create block --help)\n"
		 "The rings take --ephemeral: gc removes an ephemeral ring once its creator\n"
		 "and every participant are dead; other blocks are persistent (shmbus gc\n"
		 "--help).\n",
	.run = run,
};
