/*
 * spsc_throughput.c - workload "spsc-throughput": one process streams
 * --msgs messages of --size bytes to another, as fast as both can go, through
 * each transport; messages per second and bytes per second.
 *
 * Targets (issue #3), as ratios from the same run, at 64 bytes:
 *   shmbus-spsc >= 0.8 x ideal, and >= 50 x unix-socket.
 */
#include "bench_spsc.h"

#define DEFAULT_SIZE 64
#define DEFAULT_MSGS 1000000u
#define DEFAULT_RING (64u << 10)

static int spsc_throughput_run(struct bench_run *run)
{
	size_t size = bench_opt_size(run, DEFAULT_SIZE);
	size_t ring = spsc_default_ring(run, size, DEFAULT_RING);
	struct spsc_cfg c;
	size_t i;

	spsc_cfg_init(&c, size, bench_opt_msgs(run, DEFAULT_MSGS), ring);
	c.warmup = spsc_stream_warmup(size, ring);
	for (i = 0; spsc_msg_transports[i]; i++)
		if (bench_transport_selected(run, spsc_msg_transports[i]->name))
			spsc_measure(run, spsc_msg_transports[i], &c, NULL);
	bench_ratio(run, "shmbus-spsc", "ideal", size, BENCH_METRIC_MSGS_PER_S, BENCH_AT_LEAST, 0.8);
	bench_ratio(run, "shmbus-spsc", "unix-socket", size, BENCH_METRIC_MSGS_PER_S,
		    BENCH_AT_LEAST, 50);
	bench_ratio(run, "shmbus-spsc-copy", "ideal", size, BENCH_METRIC_MSGS_PER_S,
		    BENCH_NO_TARGET, 0);
	bench_ratio(run, "shmbus-spsc-blocking", "ideal", size, BENCH_METRIC_MSGS_PER_S,
		    BENCH_NO_TARGET, 0);
	bench_ratio(run, "shmbus-spsc-blocking", "unix-socket", size, BENCH_METRIC_MSGS_PER_S,
		    BENCH_NO_TARGET, 0);
	bench_ratio(run, "ideal", "unix-socket", size, BENCH_METRIC_MSGS_PER_S, BENCH_NO_TARGET, 0);
	bench_ratio(run, "pipe", "unix-socket", size, BENCH_METRIC_MSGS_PER_S, BENCH_NO_TARGET, 0);
	return 0;
}

const struct bench_workload bench_wl_spsc_throughput = {
	.name = "spsc-throughput",
	.summary = "stream messages one way between two processes (msgs/s, bytes/s)",
	.transports = spsc_msg_names,
	.run = spsc_throughput_run,
};
