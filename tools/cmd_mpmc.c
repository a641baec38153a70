/*
 * cmd_mpmc.c - the MPMC ring in the tool: `shmbus create mpmc` and the loops
 * behind `shmbus pub` / `shmbus sub` for mpmc blocks (see pubsub.h).
 *
 * Any number of pub and sub processes may share one mpmc ring; each message
 * goes to exactly one sub.  A sub releases a message only after printing and
 * flushing it; if it is killed in between, the ring recovers the slot and
 * counts the message lost (it is not delivered again).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "pubsub.h"
#include "shmbus/mpmc.h"
#include "tool.h"

#define SUB_BURST SHMBUS_MPMC_BURST_MAX

static const struct tool_cmd create_mpmc_cmd = {
	.name = "create mpmc",
	.usage = "usage: shmbus create mpmc NAME --slots N --slot-size BYTES [--liveness-ms MS]\n"
		 "                          [--participants N] [--mode 0600]\n\n"
		 "Create an empty many-producer many-consumer ring of fixed-size slots.\n"
		 "  --slots N          number of slots, a power of two from 2 to 16M\n"
		 "  --slot-size BYTES  largest message, 1 to 64M, with an optional K or M suffix\n"
		 "  --liveness-ms MS   how long a waiter waits on a slot held by another\n"
		 "                     process before it checks whether that process died\n"
		 "                     (and if so recovers the slot): 1 to 60000 (default 500)\n"
		 "  --participants N   producers + consumers registered at once, 1 to 4096\n"
		 "                     (default 64)\n"
		 "  --mode MODE        permission bits, octal (default 0600)\n",
};

static bool parse_u32(const char *s, uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t v;

	if (!tool_parse_u64(s, min, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

int tool_create_mpmc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "slots", required_argument, NULL, 's' },
		{ "slot-size", required_argument, NULL, 'z' },
		{ "liveness-ms", required_argument, NULL, 'l' },
		{ "participants", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct shmbus_mpmc_params p = { 0 };
	uint64_t mode = 0, size;
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:z:l:p:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!parse_u32(optarg, SHMBUS_MPMC_SLOTS_MIN, SHMBUS_MPMC_SLOTS_MAX, &p.slots) ||
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
			if (!parse_u32(optarg, 1, SHMBUS_MPMC_LIVENESS_MAX_MS, &p.liveness_ms))
				return tool_usage_error(&create_mpmc_cmd,
							"bad --liveness-ms '%s' (1 to 60000)", optarg);
			break;
		case 'p':
			if (!parse_u32(optarg, 1, SHMBUS_MPMC_PARTICIPANTS_MAX, &p.participants))
				return tool_usage_error(&create_mpmc_cmd,
							"bad --participants '%s' (1 to 4096)", optarg);
			break;
		case 'm':
			if (!tool_parse_u64(optarg, 1, 07777, &mode) || optarg[0] != '0')
				return tool_usage_error(&create_mpmc_cmd,
							"bad --mode '%s' (octal, e.g. 0600)", optarg);
			break;
		case 'h':
			return tool_help(&create_mpmc_cmd);
		default:
			return tool_usage_error(&create_mpmc_cmd, "bad option");
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&create_mpmc_cmd, "expected one block name");
	if (!p.slots || !p.slot_size)
		return tool_usage_error(&create_mpmc_cmd, "--slots and --slot-size are required");
	p.mode = (mode_t)mode;
	rc = shmbus_mpmc_create(argv[optind], &p);
	if (rc)
		return tool_fail(argv[optind], "cannot create", rc);
	return TOOL_OK;
}

static int mpmc_push(void *h, const void *data, size_t len, int timeout_ms)
{
	return shmbus_mpmc_push(h, data, len, timeout_ms);
}

int mpmc_pub(const struct pubsub_opts *o)
{
	struct shmbus_mpmc *h;
	int rc;

	rc = shmbus_mpmc_open(&h, o->name, SHMBUS_MPMC_PRODUCER);
	if (rc)
		return tool_fail(o->name, "cannot publish", rc);
	rc = pub_lines(o, mpmc_push, h);
	shmbus_mpmc_close(h);
	return rc;
}

/* Print @k messages held by @h and release them once flushed. */
static int print_and_release(const struct pubsub_opts *o, struct shmbus_mpmc *h,
			     const struct shmbus_mpmc_msg *msgs, int k)
{
	int i, rc;

	for (i = 0; i < k; i++) {
		fwrite(msgs[i].data, 1, msgs[i].len, o->out);
		putc('\n', o->out);
	}
	if (fflush(o->out) != 0)
		return tool_fail(o->name, "cannot write standard output", -EIO);
	rc = shmbus_mpmc_release_burst(h, (unsigned)k);
	return rc < 0 ? tool_fail(o->name, "cannot receive", rc) : TOOL_OK;
}

int mpmc_sub(const struct pubsub_opts *o)
{
	struct shmbus_mpmc_msg msgs[SUB_BURST];
	struct shmbus_mpmc *h;
	uint64_t got = 0;
	int rc, k;

	rc = shmbus_mpmc_open(&h, o->name, SHMBUS_MPMC_CONSUMER);
	if (rc)
		return tool_fail(o->name, "cannot subscribe", rc);
	while (o->count == 0 || got < o->count) {
		unsigned want = SUB_BURST;

		if (o->count && o->count - got < want)
			want = (unsigned)(o->count - got);
		/* Take what is there; flush before waiting for more. */
		k = shmbus_mpmc_peek_burst_try(h, msgs, want);
		if (k == -EAGAIN) {
			fflush(o->out);
			k = shmbus_mpmc_peek_burst(h, msgs, want, o->timeout_ms);
		}
		if (k == -ETIMEDOUT && o->count == 0) {
			rc = TOOL_OK;
			goto out;
		}
		if (k == -ETIMEDOUT) {
			char what[96];

			snprintf(what, sizeof(what), "timed out after %llu of %llu messages",
				 (unsigned long long)got, (unsigned long long)o->count);
			rc = tool_fail(o->name, what, -ETIMEDOUT);
			goto out;
		}
		if (k < 0) {
			rc = tool_fail(o->name, "cannot receive", k);
			goto out;
		}
		rc = print_and_release(o, h, msgs, k);
		if (rc)
			goto out;
		got += (uint64_t)k;
	}
	rc = TOOL_OK;
out:
	fflush(o->out);
	shmbus_mpmc_close(h);
	return rc;
}
