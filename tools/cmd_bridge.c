/*
 * cmd_bridge.c - `shmbus bridge out|in`: the command line.  The bridge
 * itself (tools/bridge/) is built only when libnats is found; without it
 * this command says how to get it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"
#ifdef SHMBUS_HAVE_NATS
#include "bridge/bridge.h"
#endif

static const char usage[] =
	"usage: shmbus bridge out RING --nats URL --subject SUBJECT [--quiet]\n"
	"       shmbus bridge in  RING --nats URL --subject SUBJECT [--quiet]\n\n"
	"Bridge a ring to NATS (out: consume RING and publish each message to\n"
	"SUBJECT) or NATS to a ring (in: subscribe to SUBJECT and produce each\n"
	"message into RING).  RING is an spsc or mpmc ring (the bridge takes its\n"
	"consumer or producer role) or a broadcast ring (out: as a subscriber).\n"
	"Core NATS, at most once: every message that could not be delivered is\n"
	"counted as dropped (a message refused by libnats, a gap in the sequence\n"
	"numbers seen by `bridge in`, the subscription's slow-consumer drops).\n"
	"The end of the ring's stream crosses the bridge: `bridge out` forwards it\n"
	"and exits 0, `bridge in` closes RING's stream and exits 0, so a `shmbus\n"
	"sub` on the far side stops as it would locally.  A lost connection is\n"
	"retried for ever (50 ms doubling to 2 s); meanwhile `bridge out` leaves\n"
	"messages in RING.  SIGINT/SIGTERM: hand on what was received, exit 0.\n"
	"  --nats URL        e.g. nats://127.0.0.1:4222, nats://user:pass@host:4222\n"
	"  --subject SUBJECT the NATS subject\n"
	"  --quiet           no counters line on stderr at the end\n"
	"At the end, a line on stderr: forwarded, acknowledged, pending,\n"
	"redelivered, dropped, reconnects.\n";

static const struct tool_cmd bridge_help_cmd = { .name = "bridge", .usage = usage };

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nats", required_argument, NULL, 'n' },
		{ "subject", required_argument, NULL, 's' },
		{ "jetstream", required_argument, NULL, 'j' },
		{ "durable", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *url = NULL, *subject = NULL, *stream = NULL, *durable = NULL;
	bool quiet = false, out;
	int c;

	while ((c = getopt_long(argc, argv, "n:s:j:d:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			url = optarg;
			break;
		case 's':
			subject = optarg;
			break;
		case 'j':
			stream = optarg;
			break;
		case 'd':
			durable = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return tool_help(&bridge_help_cmd);
		default:
			return tool_usage_error(&bridge_help_cmd, "bad option");
		}
	}
	if (optind != argc - 2 || (strcmp(argv[optind], "out") && strcmp(argv[optind], "in")))
		return tool_usage_error(&bridge_help_cmd, "expected 'out RING' or 'in RING'");
	out = strcmp(argv[optind], "out") == 0;
	if (!url || !subject)
		return tool_usage_error(&bridge_help_cmd, "--nats and --subject are required");
	if (!*subject || strpbrk(subject, " \t\r\n"))
		return tool_usage_error(&bridge_help_cmd, "bad --subject '%s' (no blanks)", subject);
	if (durable && (out || !stream))
		return tool_usage_error(&bridge_help_cmd, "--durable is for 'in' with --jetstream");
#ifdef SHMBUS_HAVE_NATS
	{
		struct bridge_opts o = {
			.out = out, .ring = argv[optind + 1], .url = url, .subject = subject,
			.stream = stream, .durable = durable, .quiet = quiet,
		};

		return bridge_run(&o);
	}
#else
	(void)quiet;
	fprintf(stderr, "shmbus: bridge: this shmbus was built without libnats; install it\n"
			"(Debian: apt-get install libnats-dev, or scripts/deps.sh) and rebuild\n");
	return TOOL_ERR;
#endif
}

const struct tool_cmd cmd_bridge = {
	.name = "bridge",
	.summary = "forward a ring to NATS or NATS to a ring",
	.usage = usage,
	.run = run,
};
