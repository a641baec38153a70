/*
 * cmd_metrics.c - `shmbus metrics [NAME...] [--prefix P]`: blocks' counters
 * and gauges in the Prometheus text format, once (metrics.c renders them).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "metrics.h"
#include "tool.h"

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *prefix = NULL;
	size_t failed;
	int c, rc;

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': prefix = optarg; break;
		case 'h': return tool_help(&cmd_metrics);
		default: return tool_usage_error(&cmd_metrics, "bad option");
		}
	}
	if (prefix && optind < argc)
		return tool_usage_error(&cmd_metrics, "give block names or --prefix, not both");
	rc = metrics_render(stdout, argv + optind, (size_t)(argc - optind), prefix, stderr,
			    &failed);
	if (rc)
		return tool_fail(SHMBUS_SHM_DIR, "cannot list blocks", rc);
	if (fflush(stdout) != 0)
		return tool_fail(NULL, "cannot write standard output", -EIO);
	return failed ? TOOL_ERR : TOOL_OK;
}

const struct tool_cmd cmd_metrics = {
	.name = "metrics",
	.summary = "print blocks' counters and gauges for Prometheus",
	.usage = "usage: shmbus metrics [NAME...] [--prefix P]\n\n"
		 "Print the counters and gauges of every block in /dev/shm (or of the\n"
		 "blocks NAME..., or of those whose name starts with P) in the Prometheus\n"
		 "text exposition format (version 0.0.4; names are OpenMetrics-compatible).\n"
		 "Read-only: a snapshot of each block, never joining a ring.\n"
		 "Every sample has the labels name and kind; broadcast subscribers' samples\n"
		 "also subscriber (its index in the ring's table).  Families:\n"
		 "  shmbus_block_{up,size_bytes,alive,participants_alive}       every block\n"
		 "  shmbus_ring_{in,out}_{messages,bytes}_total                   rings\n"
		 "  shmbus_ring_{full_waits,empty_waits,wakes}_total\n"
		 "  shmbus_ring_lost_messages_total, _recovered_claims_total        mpmc\n"
		 "  shmbus_ring_evicted_subscribers_total                      broadcast\n"
		 "  shmbus_ring_{used,capacity}_bytes                   spsc, broadcast\n"
		 "  shmbus_ring_{used,capacity}_slots                              mpmc\n"
		 "  shmbus_ring_{max_message_bytes,waiting_producers,waiting_consumers,\n"
		 "              end_of_stream,corrupt}\n"
		 "  shmbus_subscriber_{out_messages,out_bytes,dropped_messages,waits}_total\n"
		 "  shmbus_subscriber_{lag_messages,lag_bytes,alive}           broadcast\n"
		 "  shmbus_slots_items                                     slot tables\n"
		 "A named block that cannot be read shows shmbus_block_up 0 and makes\n"
		 "the status 1 (after printing everything else).\n",
	.run = run,
};
