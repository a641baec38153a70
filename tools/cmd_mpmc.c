/*
 * cmd_mpmc.c - the MPMC ring in the tool: `shmbus create mpmc` and the loops
 * behind `shmbus pub` / `shmbus sub` for mpmc blocks (see pubsub.h).
 *
 * Any number of pub and sub processes may share one mpmc ring; each message
 * goes to exactly one sub.  The stream ends when the last pub holding it
 * open closes it (a pub that fails, or is killed, leaves without closing);
 * a pub that starts after the end starts it again.  A sub releases a message only after printing and
 * flushing it; if it is killed in between, the ring recovers the slot and
 * counts the message lost (it is not delivered again).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "pubsub.h"
#include "shmbus/mpmc.h"
#include "tool.h"

#define SUB_BURST SHMBUS_MPMC_BURST_MAX
_Static_assert(SUB_BURST <= SUB_BURST_MAX, "sub_lines() takes at most SUB_BURST_MAX at once");

static const struct tool_cmd create_mpmc_cmd = {
	.name = "create mpmc",
	.usage = "usage: shmbus create mpmc NAME --slots N --slot-size BYTES [--liveness-ms MS]\n"
		 "                          [--participants N] [--mode 0600] [--ephemeral]\n\n"
		 "Create an empty many-producer many-consumer ring of fixed-size slots.\n"
		 "  --slots N          number of slots, a power of two from 2 to 16M\n"
		 "  --slot-size BYTES  largest message, 1 to 64M, with an optional K or M suffix\n"
		 "  --liveness-ms MS   how long a waiter waits on a slot held by another\n"
		 "                     process before it checks whether that process died\n"
		 "                     (and if so recovers the slot): 1 to 60000 (default 500)\n"
		 "  --participants N   producers + consumers registered at once, 1 to 4096\n"
		 "                     (default 64)\n"
		 "  --mode MODE        permission bits, octal (default 0600)\n"
		 "  --ephemeral        gc removes it once its creator and every participant\n"
		 "                     are dead (default: persistent, see shmbus gc --help)\n",
};

int tool_create_mpmc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "slots", required_argument, NULL, 's' },
		{ "slot-size", required_argument, NULL, 'z' },
		{ "liveness-ms", required_argument, NULL, 'l' },
		{ "participants", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "ephemeral", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct shmbus_mpmc_params p = { 0 };
	uint64_t mode = 0, size;
	bool ephemeral = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":s:z:l:p:m:he", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!tool_parse_u32(optarg, SHMBUS_MPMC_SLOTS_MIN, SHMBUS_MPMC_SLOTS_MAX, &p.slots) ||
			    (p.slots & (p.slots - 1)))
				return tool_usage_error(&create_mpmc_cmd,
							"bad --slots '%s' (a power of two, 2 to 16M)",
							optarg);
			break;
		case 'z':
			if (!tool_parse_size(optarg, &size) || size == 0 ||
			    size > SHMBUS_MPMC_SLOT_SIZE_MAX)
				return tool_usage_error(&create_mpmc_cmd,
							"bad --slot-size '%s' (1 to 64M)", optarg);
			p.slot_size = (uint32_t)size;
			break;
		case 'l':
			if (!tool_parse_u32(optarg, 1, SHMBUS_MPMC_LIVENESS_MAX_MS, &p.liveness_ms))
				return tool_usage_error(&create_mpmc_cmd,
							"bad --liveness-ms '%s' (1 to 60000)", optarg);
			break;
		case 'p':
			if (!tool_parse_u32(optarg, 1, SHMBUS_MPMC_PARTICIPANTS_MAX, &p.participants))
				return tool_usage_error(&create_mpmc_cmd,
							"bad --participants '%s' (1 to 4096)", optarg);
			break;
		case 'm':
			if (!tool_parse_u64(optarg, 1, 07777, &mode) || optarg[0] != '0')
				return tool_usage_error(&create_mpmc_cmd,
							"bad --mode '%s' (octal, e.g. 0600)", optarg);
			break;
		case 'e':
			ephemeral = true;
			break;
		case 'h':
			return tool_help(&create_mpmc_cmd);
		default:
			return tool_bad_option(&create_mpmc_cmd, c, argv);
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&create_mpmc_cmd, "expected one block name");
	if (tool_check_name(&create_mpmc_cmd, argv[optind]) != TOOL_OK)
		return TOOL_USAGE;
	if (!p.slots || !p.slot_size)
		return tool_usage_error(&create_mpmc_cmd, "--slots and --slot-size are required");
	p.mode = (mode_t)mode | (ephemeral ? SHMBUS_MODE_EPHEMERAL : 0);
	rc = shmbus_mpmc_create(argv[optind], &p);
	if (rc)
		return tool_fail(argv[optind], "cannot create", rc);
	return TOOL_OK;
}

static int mpmc_push(void *h, const void *data, size_t len, int timeout_ms)
{
	return shmbus_mpmc_push(h, data, len, timeout_ms);
}

static int mpmc_reopen_stream(void *h)
{
	return shmbus_mpmc_reopen_stream(h);
}

static int mpmc_close_stream(void *h)
{
	return shmbus_mpmc_close_stream(h);
}

int mpmc_pub(const struct pubsub_opts *o)
{
	static const struct pub_ops ops = {
		.push = mpmc_push,
		.reopen_stream = mpmc_reopen_stream,
		.close_stream = mpmc_close_stream,
	};
	struct shmbus_mpmc *h;
	int rc;

	rc = shmbus_mpmc_open(&h, o->name, SHMBUS_MPMC_PRODUCER);
	if (rc)
		return tool_fail(o->name, "cannot publish", rc);
	rc = pub_lines(o, &ops, h);
	shmbus_mpmc_close(h);
	return rc;
}

/* At most @n messages in place; waits up to *@timeout_ms if there are none
 * (NULL: does not wait).  The ring's message struct has the same fields as
 * struct pubsub_msg; copy them across rather than rely on the two layouts
 * matching. */
static int mpmc_peek(void *h, struct pubsub_msg *msgs, unsigned n, const int *timeout_ms)
{
	struct shmbus_mpmc_msg m[SUB_BURST_MAX];
	int k, i;

	if (n > SUB_BURST_MAX) /* the array above */
		n = SUB_BURST_MAX;
	k = timeout_ms ? shmbus_mpmc_peek_burst(h, m, n, *timeout_ms) :
			 shmbus_mpmc_peek_burst_try(h, m, n);
	for (i = 0; i < k; i++) {
		msgs[i].data = m[i].data;
		msgs[i].len = m[i].len;
	}
	return k;
}

static int mpmc_release(void *h, unsigned n)
{
	return shmbus_mpmc_release_burst(h, n);
}

int mpmc_sub(const struct pubsub_opts *o)
{
	static const struct sub_ops ops = {
		.peek = mpmc_peek,
		.release = mpmc_release,
		.burst = SUB_BURST,
	};
	struct shmbus_mpmc *h;
	int rc;

	rc = shmbus_mpmc_open(&h, o->name, SHMBUS_MPMC_CONSUMER);
	if (rc)
		return tool_fail(o->name, "cannot subscribe", rc);
	rc = sub_lines(o, &ops, h);
	shmbus_mpmc_close(h);
	return rc;
}
