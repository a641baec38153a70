/*
 * cmd_spsc.c - the SPSC ring in the tool: `shmbus create spsc` and the
 * loops behind `shmbus pub` / `shmbus sub` for spsc blocks (see pubsub.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "pubsub.h"
#include "tool.h"

#define SUB_BURST 64
_Static_assert(SUB_BURST <= SUB_BURST_MAX, "sub_lines() takes at most SUB_BURST_MAX at once");

static const struct tool_cmd create_spsc_cmd = {
	.name = "create spsc",
	.usage = "usage: shmbus create spsc NAME [--capacity BYTES] [--mode 0600] [--ephemeral]\n\n"
		 "Create an empty single-producer single-consumer ring.\n"
		 "  --capacity BYTES  ring size: a power of two from 64 to 1G, with an\n"
		 "                    optional K, M or G suffix (default 64K); the largest\n"
		 "                    message is BYTES - 8\n"
		 "  --mode MODE       permission bits, octal (default 0600)\n"
		 "  --ephemeral       gc removes it once its creator and every participant\n"
		 "                    are dead (default: persistent, see shmbus gc --help)\n",
};

int tool_create_spsc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "capacity", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "ephemeral", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t cap = 65536, mode = 0;
	bool ephemeral = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":c:m:he", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!tool_parse_size(optarg, &cap) || cap < SHMBUS_SPSC_CAPACITY_MIN ||
			    cap > SHMBUS_SPSC_CAPACITY_MAX || (cap & (cap - 1)))
				return tool_usage_error(&create_spsc_cmd,
							"bad --capacity '%s' (a power of two, 64 to 1G)",
							optarg);
			break;
		case 'm':
			if (!tool_parse_u64(optarg, 1, 07777, &mode) || optarg[0] != '0')
				return tool_usage_error(&create_spsc_cmd,
							"bad --mode '%s' (octal, e.g. 0600)", optarg);
			break;
		case 'e':
			ephemeral = true;
			break;
		case 'h':
			return tool_help(&create_spsc_cmd);
		default:
			return tool_bad_option(&create_spsc_cmd, c, argv);
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&create_spsc_cmd, "expected one block name");
	if (tool_check_name(&create_spsc_cmd, argv[optind]) != TOOL_OK)
		return TOOL_USAGE;
	rc = shmbus_spsc_create(argv[optind], (size_t)cap,
				(mode_t)mode | (ephemeral ? SHMBUS_MODE_EPHEMERAL : 0));
	if (rc)
		return tool_fail(argv[optind], "cannot create", rc);
	return TOOL_OK;
}

static int spsc_push(void *h, const void *data, size_t len, int timeout_ms)
{
	return shmbus_spsc_push(h, data, len, timeout_ms);
}

static int spsc_reopen_stream(void *h)
{
	return shmbus_spsc_reopen_stream(h);
}

static int spsc_close_stream(void *h)
{
	return shmbus_spsc_close_stream(h);
}

int spsc_pub(const struct pubsub_opts *o)
{
	static const struct pub_ops ops = {
		.push = spsc_push,
		.reopen_stream = spsc_reopen_stream,
		.close_stream = spsc_close_stream,
	};
	struct shmbus_spsc *q;
	int rc;

	rc = shmbus_spsc_open(&q, o->name, SHMBUS_SPSC_PRODUCER);
	if (rc)
		return tool_fail(o->name, "cannot publish", rc);
	rc = pub_lines(o, &ops, q);
	shmbus_spsc_close(q);
	return rc;
}

/* At most @n messages in place; waits up to *@timeout_ms if there are none
 * (NULL: does not wait).  The ring's message struct has the same fields as
 * struct pubsub_msg; copy them across rather than rely on the two layouts
 * matching. */
static int spsc_peek(void *h, struct pubsub_msg *msgs, unsigned n, const int *timeout_ms)
{
	struct shmbus_spsc_msg m[SUB_BURST_MAX];
	int k, i;

	if (n > SUB_BURST_MAX) /* the array above */
		n = SUB_BURST_MAX;
	k = timeout_ms ? shmbus_spsc_peek_burst(h, m, n, *timeout_ms) :
			 shmbus_spsc_peek_burst_try(h, m, n);
	for (i = 0; i < k; i++) {
		msgs[i].data = m[i].data;
		msgs[i].len = m[i].len;
	}
	return k;
}

static int spsc_release(void *h, unsigned n)
{
	return shmbus_spsc_release_burst(h, n);
}

int spsc_sub(const struct pubsub_opts *o)
{
	static const struct sub_ops ops = {
		.peek = spsc_peek,
		.release = spsc_release,
		.burst = SUB_BURST,
	};
	struct shmbus_spsc *q;
	int rc;

	rc = shmbus_spsc_open(&q, o->name, SHMBUS_SPSC_CONSUMER);
	if (rc)
		return tool_fail(o->name, "cannot subscribe", rc);
	rc = sub_lines(o, &ops, q);
	shmbus_spsc_close(q);
	return rc;
}
