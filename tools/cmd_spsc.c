/*
 * cmd_spsc.c - the SPSC ring in the tool: `shmbus create spsc` and the
 * loops behind `shmbus pub` / `shmbus sub` for spsc blocks (see pubsub.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "pubsub.h"
#include "tool.h"

#define SUB_BURST 64

static const struct tool_cmd create_spsc_cmd = {
	.name = "create spsc",
	.usage = "usage: shmbus create spsc NAME [--capacity BYTES] [--mode 0600]\n\n"
		 "Create an empty single-producer single-consumer ring.\n"
		 "  --capacity BYTES  ring size: a power of two from 64 to 1G, with an\n"
		 "                    optional K, M or G suffix (default 64K); the largest\n"
		 "                    message is BYTES - 8\n"
		 "  --mode MODE       permission bits, octal (default 0600)\n",
};

int tool_create_spsc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "capacity", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t cap = 65536, mode = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:m:h", opts, NULL)) != -1) {
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
		case 'h':
			return tool_help(&create_spsc_cmd);
		default:
			return tool_usage_error(&create_spsc_cmd, "bad option");
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&create_spsc_cmd, "expected one block name");
	rc = shmbus_spsc_create(argv[optind], (size_t)cap, (mode_t)mode);
	if (rc)
		return tool_fail(argv[optind], "cannot create", rc);
	return TOOL_OK;
}

static int spsc_push(void *h, const void *data, size_t len, int timeout_ms)
{
	return shmbus_spsc_push(h, data, len, timeout_ms);
}

int spsc_pub(const struct pubsub_opts *o)
{
	struct shmbus_spsc *q;
	int rc;

	rc = shmbus_spsc_open(&q, o->name, SHMBUS_SPSC_PRODUCER);
	if (rc)
		return tool_fail(o->name, "cannot publish", rc);
	rc = pub_lines(o, spsc_push, q);
	shmbus_spsc_close(q);
	return rc;
}

int spsc_sub(const struct pubsub_opts *o)
{
	struct shmbus_spsc_msg msgs[SUB_BURST];
	struct shmbus_spsc *q;
	uint64_t got = 0;
	int rc, k, i;

	rc = shmbus_spsc_open(&q, o->name, SHMBUS_SPSC_CONSUMER);
	if (rc)
		return tool_fail(o->name, "cannot subscribe", rc);
	while (o->count == 0 || got < o->count) {
		unsigned want = SUB_BURST;

		if (o->count && o->count - got < want)
			want = (unsigned)(o->count - got);
		/* Print what is there; flush before waiting for more. */
		k = shmbus_spsc_peek_burst_try(q, msgs, want);
		if (k == -EAGAIN) {
			fflush(o->out);
			k = shmbus_spsc_peek_burst(q, msgs, want, o->timeout_ms);
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
		for (i = 0; i < k; i++) {
			fwrite(msgs[i].data, 1, msgs[i].len, o->out);
			putc('\n', o->out);
		}
		/* Consumed only once written out: at-least-once if we die. */
		if (fflush(o->out) != 0) {
			rc = tool_fail(o->name, "cannot write standard output", -EIO);
			goto out;
		}
		rc = shmbus_spsc_release_burst(q, (unsigned)k);
		if (rc < 0) {
			rc = tool_fail(o->name, "cannot receive", rc);
			goto out;
		}
		got += (uint64_t)k;
	}
	rc = TOOL_OK;
out:
	fflush(o->out);
	shmbus_spsc_close(q);
	return rc;
}
