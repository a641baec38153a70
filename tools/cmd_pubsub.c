/*
 * cmd_pubsub.c - `shmbus pub NAME` and `shmbus sub NAME`: send lines of
 * stdin as messages, print messages as lines, through a ring of any kind.
 *
 * This file parses the options, dispatches on the block's kind (from its
 * header) and has the loops every kind runs (see pubsub.h).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "human.h"
#include "framing.h"
#include "pubsub.h"
#include "tool.h"

/* The kind of block @name, from its header; waits a little for a block
 * still being built. */
static int block_kind(const char *name, enum shmbus_kind *kind)
{
	const struct timespec nap = { 0, 1000000 };
	struct shmbus_block_info info;
	struct shmbus_block *b;
	int rc, tries;

	rc = shmbus_block_attach(&b, name, SHMBUS_ATTACH_RDONLY);
	if (rc)
		return rc;
	for (tries = 0;; tries++) {
		rc = shmbus_block_info(b, &info);
		if (rc != -SHMBUS_ENOTREADY || tries >= 250)
			break;
		nanosleep(&nap, NULL);
	}
	shmbus_block_close(b);
	if (rc == 0)
		*kind = info.kind;
	return rc;
}

int pub_lines(const struct pubsub_opts *o, const struct pub_ops *ops, void *h)
{
	char *buf = NULL;
	size_t size = 0, len;
	uint64_t msgno = 0;
	const void *data;
	const char *why;
	int rc = ops->reopen_stream(h), got;

	if (rc)
		return tool_fail(o->name, "cannot reopen the stream", rc);
	for (;;) {
		if (o->rec_in) {
			got = rec_read_msg(o->rec_in, &buf, &size, &data, &len);
			why = o->rec_in->why;
		} else {
			got = frame_read(o->in, o->framing, &buf, &size, &data, &len, &why);
		}
		if (got <= 0)
			break;
		int err;

		msgno++;
		err = ops->push(h, data, len, o->timeout_ms);
		if (err) {
			char what[128];

			const char *unit = o->framing == FRAMING_LEN32 ? "message" : "line";

			snprintf(what, sizeof(what), "cannot publish %s %llu", unit,
				 (unsigned long long)msgno);
			if (err == -ETIMEDOUT) {
				snprintf(what, sizeof(what), "cannot publish %s %llu: timed out "
					 "after %d ms waiting for room", unit,
					 (unsigned long long)msgno, o->timeout_ms);
				rc = tool_fail_msg(o->name, what);
			} else {
				rc = tool_fail(o->name, what, err);
			}
			break;
		}
	}
	if (rc == TOOL_OK && got < 0) {
		fprintf(stderr, "shmbus: %s: %s, after %llu messages: %s\n", o->name,
			o->rec_in ? "record file" : "standard input", (unsigned long long)msgno, why);
		rc = TOOL_ERR;
	}
	free(buf);
	if (rc == TOOL_OK && !o->keep_open) {
		int err = ops->close_stream(h);

		if (err)
			rc = tool_fail(o->name, "cannot close the stream", err);
	}
	return rc;
}

/* ops->peek waiting up to o->timeout_ms; with o->stop, in slices of
 * STOP_POLL_MS, and -EINTR once *o->stop is set. */
static int peek_wait(const struct pubsub_opts *o, const struct sub_ops *ops, void *h,
		     struct pubsub_msg *msgs, unsigned want)
{
	const int slice = STOP_POLL_MS;
	int k;

	if (!o->stop)
		return ops->peek(h, msgs, want, &o->timeout_ms);
	do {
		if (*o->stop)
			return -EINTR;
		k = ops->peek(h, msgs, want, &slice);
	} while (k == -ETIMEDOUT);
	return k;
}

int sub_lines(const struct pubsub_opts *o, const struct sub_ops *ops, void *h)
{
	struct pubsub_msg msgs[SUB_BURST_MAX];
	uint64_t got = 0;
	int k, i, rc;

	while (o->count == 0 || got < o->count) {
		unsigned want = ops->burst;

		if (o->count && o->count - got < want)
			want = (unsigned)(o->count - got);
		/* Print what is there; flush before waiting for more. */
		k = ops->peek(h, msgs, want, NULL);
		if (k == -EAGAIN) {
			fflush(o->out);
			k = peek_wait(o, ops, h, msgs, want);
		}
		/* The end of the stream ends sub, --count or not (like EOF);
		 * so does a stop signal the kind's peek caught (-EINTR). */
		if (k == -SHMBUS_EEOS || k == -EINTR || (k == -ETIMEDOUT && o->count == 0))
			break;
		if (k == -ETIMEDOUT) {
			char what[96];

			snprintf(what, sizeof(what), "timed out after %llu of %llu messages "
				 "(nothing for %d ms)", (unsigned long long)got,
				 (unsigned long long)o->count, o->timeout_ms);
			return tool_fail_msg(o->name, what);
		}
		if (k < 0)
			return tool_fail(o->name, "cannot receive", k);
		for (i = 0; i < k; i++) {
			if (o->rec_out)
				rec_write_msg(o->rec_out, msgs[i].data, msgs[i].len);
			else
				frame_write(o->out, o->framing, msgs[i].data, msgs[i].len);
		}
		/* Consumed only once written out (see pubsub.h). */
		if (fflush(o->out) != 0)
			return tool_fail(o->name, "cannot write standard output", -EIO);
		rc = ops->release(h, (unsigned)k);
		if (rc < 0)
			return tool_fail(o->name, "cannot receive", rc);
		got += (uint64_t)k;
	}
	fflush(o->out);
	return TOOL_OK;
}

static int pub_dispatch(enum shmbus_kind kind, const struct pubsub_opts *o)
{
	switch (kind) {
	case SHMBUS_KIND_SPSC:
		return spsc_pub(o);
	case SHMBUS_KIND_MPMC:
		return mpmc_pub(o);
	case SHMBUS_KIND_BROADCAST:
		return bcast_pub(o);
	default:
		return human_wrong_kind(o->name, "a ring");
	}
}

static int sub_dispatch(enum shmbus_kind kind, const struct pubsub_opts *o)
{
	if (o->from && kind != SHMBUS_KIND_BROADCAST)
		return tool_usage_error(&cmd_sub, "--from is for broadcast rings; %s is a %s block",
					o->name, shmbus_kind_name(kind));
	switch (kind) {
	case SHMBUS_KIND_SPSC:
		return spsc_sub(o);
	case SHMBUS_KIND_MPMC:
		return mpmc_sub(o);
	case SHMBUS_KIND_BROADCAST:
		return bcast_sub(o);
	default:
		return human_wrong_kind(o->name, "a ring");
	}
}

int pubsub_parse_from(const char *s)
{
	static const struct {
		const char *word;
		enum shmbus_bcast_from from;
	} words[] = {
		{ "newest", SHMBUS_BCAST_FROM_NEWEST },
		{ "oldest", SHMBUS_BCAST_FROM_OLDEST },
		{ "next", SHMBUS_BCAST_FROM_NEXT },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(s, words[i].word) == 0)
			return words[i].from;
	}
	return 0;
}

int pubsub_run(bool sub, const struct pubsub_opts *o)
{
	enum shmbus_kind kind;
	int rc = block_kind(o->name, &kind);

	if (rc)
		return human_fail_kind(o->name, sub ? "cannot subscribe" : "cannot publish", rc,
				       HUMAN_RINGS, "a ring");
	return sub ? sub_dispatch(kind, o) : pub_dispatch(kind, o);
}

static int run(const struct tool_cmd *cmd, int argc, char **argv)
{
	static const struct option pub_opts[] = {
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "keep-open", no_argument, NULL, 'k' },
		{ "framing", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const struct option sub_opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "framing", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct pubsub_opts o = { .timeout_ms = -1, .in = stdin, .out = stdout };
	bool sub = cmd == &cmd_sub;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, sub ? ":n:t:f:F:h" : ":t:kF:h", sub ? sub_opts : pub_opts,
				NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!tool_parse_u64(optarg, 1, UINT64_MAX, &o.count))
				return tool_usage_error(cmd, "bad --count '%s'", optarg);
			break;
		case 't':
			if (!tool_parse_u64(optarg, 0, INT_MAX, &v))
				return tool_usage_error(cmd, "bad --timeout-ms '%s'", optarg);
			o.timeout_ms = (int)v;
			break;
		case 'k':
			o.keep_open = true;
			break;
		case 'f':
			o.from = pubsub_parse_from(optarg);
			if (!o.from)
				return tool_usage_error(cmd, "bad --from '%s' (newest, oldest or next)",
							optarg);
			break;
		case 'F':
			o.framing = framing_parse(optarg);
			if (o.framing < 0)
				return tool_usage_error(cmd, "bad --framing '%s' (lines or len32)",
							optarg);
			break;
		case 'h':
			return tool_help(cmd);
		default:
			return tool_bad_option(cmd, c, argv);
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(cmd, "expected one block name");
	o.name = argv[optind];
	if (tool_check_name(cmd, o.name) != TOOL_OK)
		return TOOL_USAGE;
	return pubsub_run(sub, &o);
}

static int run_pub(int argc, char **argv)
{
	return run(&cmd_pub, argc, argv);
}

static int run_sub(int argc, char **argv)
{
	return run(&cmd_sub, argc, argv);
}

const struct tool_cmd cmd_pub = {
	.name = "pub",
	.summary = "send each line of stdin as one message into a ring",
	.usage = "usage: shmbus pub NAME [--timeout-ms MS] [--keep-open] [--framing lines|len32]\n\n"
		 "Take the producer role of ring NAME (spsc, mpmc or broadcast) and send\n"
		 "each line of standard input as one message, without its newline; at the\n"
		 "end of input, close the stream: subs read what was sent, then stop.\n"
		 "Waits while the ring is full (a lossy broadcast ring is never full).\n"
		 "  --timeout-ms MS   give up (status 1) if there is no room for MS ms\n"
		 "  --keep-open       do not close the stream at the end of input\n"
		 "  --framing len32   read messages as a 4-byte little-endian length and\n"
		 "                    its bytes (binary-safe) instead of lines; a stream\n"
		 "                    cut inside a message is an error (status 1)\n"
		 "A line longer than the ring's largest message is an error (status 1);\n"
		 "after an error the stream stays open.  pub reopens a stream that an\n"
		 "earlier pub closed.  On an mpmc ring the stream ends when the last pub\n"
		 "holding it open closes it.\n",
	.run = run_pub,
};

const struct tool_cmd cmd_sub = {
	.name = "sub",
	.summary = "print messages from a ring, one per line",
	.usage = "usage: shmbus sub NAME [--count N] [--timeout-ms MS]\n"
		 "                       [--from newest|oldest|next] [--framing lines|len32]\n\n"
		 "Take the consumer role of ring NAME (spsc or mpmc: each message goes to\n"
		 "one sub), or subscribe to it (broadcast: every sub gets every message),\n"
		 "and print each message followed by a newline.  A message is consumed\n"
		 "only once it is printed.  Stops (status 0) at the end of the stream,\n"
		 "once every message sent before pub closed it is printed.\n"
		 "  --count N         stop after N messages\n"
		 "  --timeout-ms MS   stop when no message comes for MS ms (an error,\n"
		 "                    status 1, if fewer than --count N arrived)\n"
		 "  --from WHERE      broadcast only: start at the newest message still in\n"
		 "                    the ring, the oldest, or the next one sent (default)\n"
		 "  --framing len32   write each message as a 4-byte little-endian length and\n"
		 "                    its bytes (binary-safe) instead of a line\n"
		 "Otherwise runs until killed.  A closed stream stays closed until the\n"
		 "next pub: a sub that joins it prints what is left for it and stops.\n"
		 "On a lossy broadcast ring, a sub that missed messages (the producer\n"
		 "overwrote them first) says on standard error how many: \"dropped N\",\n"
		 "at the end of the stream and when SIGINT or SIGTERM stops it.\n",
	.run = run_sub,
};
