/*
 * spsc_latency.c - workload "spsc-latency": round trips between two
 * processes (ping one way, echo back, each through its own ring / pipe /
 * socket direction), each timed with CLOCK_MONOTONIC by the pinging side;
 * percentiles of the round-trip time.
 *
 * Target (issue #3): shmbus-spsc round-trip p50 <= 1.5 x ideal's.
 */
#include "bench_spsc.h"

#define DEFAULT_SIZE 64
#define DEFAULT_ROUND_TRIPS 100000u
#define DEFAULT_RING (64u << 10)
#define WARMUP_ROUND_TRIPS 1000u

static int spsc_latency_run(struct bench_run *run)
{
	size_t size = bench_opt_size(run, DEFAULT_SIZE);
	size_t ring = spsc_default_ring(run, size, DEFAULT_RING);
	struct spsc_cfg c;
	size_t i;

	spsc_cfg_init(&c, size, bench_opt_round_trips(run, DEFAULT_ROUND_TRIPS), ring);
	c.warmup = WARMUP_ROUND_TRIPS;
	c.pingpong = true;
	for (i = 0; spsc_msg_transports[i]; i++)
		if (bench_transport_selected(run, spsc_msg_transports[i]->name))
			spsc_measure(run, spsc_msg_transports[i], &c, NULL);
	bench_ratio(run, "shmbus-spsc", "ideal", size, BENCH_METRIC_P50_NS, BENCH_AT_MOST, 1.5);
	bench_ratio(run, "shmbus-spsc", "ideal", size, BENCH_METRIC_P99_NS, BENCH_NO_TARGET, 0);
	bench_ratio(run, "shmbus-spsc-copy", "ideal", size, BENCH_METRIC_P50_NS, BENCH_NO_TARGET, 0);
	bench_ratio(run, "shmbus-spsc-blocking", "ideal", size, BENCH_METRIC_P50_NS,
		    BENCH_NO_TARGET, 0);
	bench_ratio(run, "shmbus-mpmc", "shmbus-spsc-blocking", size, BENCH_METRIC_P50_NS,
		    BENCH_NO_TARGET, 0);
	bench_ratio(run, "unix-socket", "ideal", size, BENCH_METRIC_P50_NS, BENCH_NO_TARGET, 0);
	return 0;
}

const struct bench_workload bench_wl_spsc_latency = {
	.name = "spsc-latency",
	.summary = "round trips between two processes (p50/p99/p99.9/max ns)",
	.transports = spsc_msg_names,
	.run = spsc_latency_run,
};
