/*
 * cmd_record.c - `shmbus record NAME FILE` and `shmbus replay FILE NAME`:
 * a ring's messages to a file (recfile.h) and back.
 *
 * record is `sub` (consumer, or broadcast subscriber) writing records with
 * their time instead of lines; replay is `pub` reading them.  replay checks
 * the whole file before it publishes anything, so a corrupt or cut file
 * publishes nothing; record writes the end record whether the stream ended
 * or SIGINT/SIGTERM stopped it, so the file is complete either way.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"
#include "recfile.h"
#include "tool.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static int run_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct pubsub_opts o = { .timeout_ms = -1, .stop = &stop_signal };
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
	struct rec_writer w;
	const char *path;
	FILE *f;
	int c, rc, err;

	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.from = pubsub_parse_from(optarg);
			if (!o.from)
				return tool_usage_error(&cmd_record,
							"bad --from '%s' (newest, oldest or next)",
							optarg);
			break;
		case 'h': return tool_help(&cmd_record);
		default: return tool_usage_error(&cmd_record, "bad option");
		}
	}
	if (optind != argc - 2)
		return tool_usage_error(&cmd_record, "expected a block name and a file");
	o.name = argv[optind];
	path = argv[optind + 1];
	f = fopen(path, "wbx");
	if (!f && errno == EEXIST)
		return tool_fail(path, "cannot record", -EEXIST);
	if (!f)
		return tool_fail(path, "cannot record", -errno);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o.rec_out = &w;
	o.out = f;
	if (rec_write_header(&w, f)) {
		rc = tool_fail(path, "cannot write", -EIO);
	} else {
		rc = pubsub_run(true, &o);
		err = rec_write_end(&w, !stop_signal);
		if (rc == TOOL_OK && err)
			rc = tool_fail(path, "cannot write", err);
	}
	if (fclose(f) != 0 && rc == TOOL_OK)
		rc = tool_fail(path, "cannot write", -EIO);
	if (rc == TOOL_OK)
		fprintf(stderr, "shmbus record: %llu messages to %s (%s)\n",
			(unsigned long long)w.count, path,
			stop_signal ? "interrupted" : "end of stream");
	return rc;
}

/* Read the whole file once: 0, or TOOL_ERR after saying what is wrong. */
static int check_file(const char *path, FILE *f, struct rec_reader *r)
{
	char *buf = NULL;
	size_t size = 0, len;
	const void *data;
	double speed = r->speed;
	int rc;

	r->speed = 0;
	rc = rec_read_header(r, f);
	while (rc == 0 && (rc = rec_read_msg(r, &buf, &size, &data, &len)) > 0)
		rc = 0;
	free(buf);
	if (rc < 0) {
		fprintf(stderr, "shmbus: %s: not a valid record file: %s\n", path, r->why);
		return TOOL_ERR;
	}
	if (fseek(f, 0, SEEK_SET) != 0)
		return tool_fail(path, "cannot rewind (replay needs a regular file)", -errno);
	rc = rec_read_header(r, f);
	r->speed = speed;
	return rc ? TOOL_ERR : 0;
}

static int run_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "speed", required_argument, NULL, 's' },
		{ "keep-open", no_argument, NULL, 'k' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct pubsub_opts o = { .timeout_ms = -1 };
	struct rec_reader r = { 0 };
	const char *path;
	uint64_t v;
	char *end;
	FILE *f;
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:kt:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			errno = 0;
			r.speed = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(r.speed > 0) || r.speed > 1e9)
				return tool_usage_error(&cmd_replay,
							"bad --speed '%s' (a number above 0)", optarg);
			break;
		case 'k': o.keep_open = true; break;
		case 't':
			if (!tool_parse_u64(optarg, 0, 0x7fffffff, &v))
				return tool_usage_error(&cmd_replay, "bad --timeout-ms '%s'", optarg);
			o.timeout_ms = (int)v;
			break;
		case 'h': return tool_help(&cmd_replay);
		default: return tool_usage_error(&cmd_replay, "bad option");
		}
	}
	if (optind != argc - 2)
		return tool_usage_error(&cmd_replay, "expected a file and a block name");
	path = argv[optind];
	o.name = argv[optind + 1];
	f = fopen(path, "rb");
	if (!f)
		return tool_fail(path, "cannot replay", -errno);
	rc = check_file(path, f, &r);
	if (rc == 0) {
		o.rec_in = &r;
		rc = pubsub_run(false, &o);
	}
	fclose(f);
	return rc;
}

const struct tool_cmd cmd_record = {
	.name = "record",
	.summary = "record a ring's messages, with their times, to a file",
	.usage = "usage: shmbus record NAME FILE [--from newest|oldest|next]\n\n"
		 "Take the consumer role of ring NAME (spsc, mpmc), or subscribe to it\n"
		 "(broadcast), and write each message with its length and time to FILE\n"
		 "(created; an existing file is an error).  Stops at the end of the\n"
		 "stream or on SIGINT/SIGTERM; the file is complete either way (it ends\n"
		 "with an end record).  Format: see README.md (\"Record and replay\").\n"
		 "  --from WHERE   broadcast only: where to join (default next)\n",
	.run = run_record,
};

const struct tool_cmd cmd_replay = {
	.name = "replay",
	.summary = "publish the messages of a record file into a ring",
	.usage = "usage: shmbus replay FILE NAME [--speed X] [--keep-open] [--timeout-ms MS]\n\n"
		 "Check the record file FILE (a cut or corrupt file is an error, status 1,\n"
		 "and nothing is published), then take the producer role of ring NAME and\n"
		 "publish its messages, byte for byte, and close the stream (as pub does).\n"
		 "  --speed X        keep the recorded pace, X times faster (0.5: half as\n"
		 "                   fast); default: as fast as the ring takes them\n"
		 "  --keep-open      do not close the stream at the end\n"
		 "  --timeout-ms MS  give up (status 1) if there is no room for MS ms\n",
	.run = run_replay,
};
