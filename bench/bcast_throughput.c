/*
 * bcast_throughput.c - workload "broadcast-throughput": one producer
 * process sends --msgs messages of --size bytes, and each of
 * --subscribers N processes reads every one of them (or, lossy, as many as
 * it keeps up with), through each transport.  Processes, not threads.
 *
 * Transports (bench_bcast.h has the loops and checks, bcast_shmbus.c and
 * bcast_zmq.c the transports):
 *   shmbus-bcast          our broadcast ring, reliable, a call per message
 *   shmbus-bcast-burst    the same ring in bursts of 32 messages
 *   shmbus-bcast-lossy    our broadcast ring, lossy
 *   shmbus-bcast-lossy-1  the same with one subscriber whatever N is: the
 *                         yardstick of the lossy target, measured in this run
 *   shmbus-spsc-fanout    the fan-out done with N SPSC rings
 *   zmq-pubsub            ZeroMQ PUB/SUB over ipc:// (if built with libzmq)
 *
 * Reported per transport: msgs_per_s = the messages each subscriber
 * received per second (the mean over the subscribers; elapsed until the
 * slowest has the last one), and in the extra fields the producer's own
 * rate (producer_msgs_per_s, its timed loop alone), the share of a CPU it
 * got meanwhile (producer_cpu), and for lossy transports the messages each
 * subscriber missed (dropped, mean over the subscribers, and dropped_pct);
 * medians over the repeats.
 *
 * Targets (issue #14), as ratios from the same run:
 *   64 B, 1 -> 4: shmbus-bcast >= 20 x zmq-pubsub (subscriber rate);
 *   1 -> 8: shmbus-bcast-lossy's producer rate >= 0.7 x its rate at 1 -> 1.
 *
 * Knobs: --ring BYTES, the broadcast ring and each SPSC ring of the fan-out
 * (rounded down to a power of two; default 1 MiB).  Every repeat gets fresh
 * rings (untimed).  The warm-up is one ring-full of messages.
 */
#include <math.h>

#include "bench_bcast.h"

#define DEFAULT_SIZE 64
#define DEFAULT_MSGS 1000000u
#define DEFAULT_SUBS 4u
#define DEFAULT_RING (1u << 20)
#define TARGET_ZMQ 20.0
#define TARGET_LOSSY 0.7

static const char *const names[] = {
	"shmbus-bcast", "shmbus-bcast-burst", "shmbus-bcast-lossy", "shmbus-bcast-lossy-1",
	"shmbus-spsc-fanout",
#ifdef SHMBUS_HAVE_ZMQ
	"zmq-pubsub",
#endif
	NULL,
};

/* One transport's measurement: the configuration, and the per-repeat
 * figures the harness does not keep, reduced into @extra as they come. */
struct rep {
	struct bcast_bench_cfg c;
	const struct bcast_bench_transport *tp;
	json_t *extra;               /* borrowed: bench_measure() owns it */
	unsigned n;                  /* repeats so far */
	double prod[BENCH_MAX_REPEAT], cpu[BENCH_MAX_REPEAT], drop[BENCH_MAX_REPEAT];
};

static int one_repeat(const struct bench_run *run, void *arg, struct bench_sample *out)
{
	struct rep *r = arg;
	struct bcast_bench_shared *sh = r->c.sh;
	double prod_ns, msgs = (double)r->c.msgs;
	int rc;

	memset(sh, 0, sizeof(*sh));
	rc = r->tp->prepare(&r->c);
	if (rc)
		return rc;
	rc = bench_spawn(run, 1 + r->c.subs, r->tp->role, &r->c, out);
	r->tp->cleanup(&r->c);
	if (rc)
		return rc;
	/* Per subscriber: the harness summed what every subscriber got. */
	out->msgs /= r->c.subs;
	out->bytes /= r->c.subs;
	prod_ns = (double)atomic_load(&sh->producer_ns);
	if (!(prod_ns > 0) || r->n == BENCH_MAX_REPEAT)
		return -EPROTO;
	r->prod[r->n] = msgs / (prod_ns / 1e9);
	r->cpu[r->n] = (double)atomic_load(&sh->producer_cpu_ns) / prod_ns;
	r->drop[r->n] = (double)atomic_load(&sh->dropped) / r->c.subs;
	r->n++;
	/* The medians of the repeats so far: after the last, of them all. */
	json_object_set_new(r->extra, "producer_msgs_per_s",
			    json_real(bench_median(r->prod, r->n)));
	json_object_set_new(r->extra, "producer_cpu",
			    json_real(round(bench_median(r->cpu, r->n) * 1000) / 1000));
	if (r->tp->lossy) {
		double d = bench_median(r->drop, r->n);

		json_object_set_new(r->extra, "dropped", json_integer((json_int_t)llround(d)));
		json_object_set_new(r->extra, "dropped_pct",
				    json_real(round(d / msgs * 1e5) / 1e3));
	}
	return 0;
}

static void measure(struct bench_run *run, const char *name,
		    const struct bcast_bench_transport *tp, const struct bcast_bench_cfg *base,
		    unsigned subs)
{
	struct rep *r = calloc(1, sizeof(*r));
	json_t *extra;

	if (!r || !(r->c.sh = bench_shared_alloc(sizeof(*r->c.sh)))) {
		fprintf(stderr, "shmbus-bench: broadcast: out of memory\n");
		run->failures++;
		free(r);
		return;
	}
	r->c = (struct bcast_bench_cfg){ .sh = r->c.sh };
	r->c.msg_size = base->msg_size;
	r->c.msgs = base->msgs;
	r->c.warmup = base->warmup;
	r->c.ring_bytes = base->ring_bytes;
	r->c.subs = subs;
	r->c.lossy = tp->lossy;
	r->c.apart = tp->lossy && run->opts->pin &&
		     sched_getaffinity(0, sizeof(r->c.cpus), &r->c.cpus) == 0 &&
		     CPU_COUNT(&r->c.cpus) >= 2;
	r->tp = tp;
	extra = json_pack("{s:I, s:I, s:s, s:I}", "subscribers", (json_int_t)subs, "ring_bytes",
			  (json_int_t)base->ring_bytes, "policy", tp->lossy ? "lossy" : "reliable",
			  "warmup", (json_int_t)base->warmup);
	r->extra = extra;
	bench_measure(run, name, base->msg_size, one_repeat, r, extra);
	bench_shared_free(r->c.sh, sizeof(*r->c.sh));
	free(r);
}

static size_t pow2_floor(size_t v)
{
	while (v & (v - 1))
		v &= v - 1;
	return v;
}

static int bcast_throughput_run(struct bench_run *run)
{
	struct bcast_bench_cfg c = { 0 };
	uint64_t n = bench_param_u64(run, "subscribers", DEFAULT_SUBS);
	unsigned subs;

	if (n < 1 || n > BCAST_BENCH_MAX_SUBS) {
		fprintf(stderr, "shmbus-bench: broadcast-throughput: --subscribers must be "
				"1..%d\n", BCAST_BENCH_MAX_SUBS);
		return -EINVAL;
	}
	subs = (unsigned)n;
	c.msg_size = bench_opt_size(run, DEFAULT_SIZE);
	c.msgs = bench_opt_msgs(run, DEFAULT_MSGS);
	c.ring_bytes = pow2_floor(bench_opt_ring(run, DEFAULT_RING));
	if (c.msg_size < 8 || c.msg_size + 16 > c.ring_bytes / 8) {
		fprintf(stderr, "shmbus-bench: broadcast-throughput: --size must be >= 8 and "
				"fit 8 times in the ring with its header\n");
		return -EINVAL;
	}
	/* One ring-full of broadcast records (and a bit less of SPSC ones). */
	c.warmup = c.ring_bytes / (((c.msg_size + 7) & ~(size_t)7) + 16);
	if (bench_transport_selected(run, "shmbus-bcast"))
		measure(run, "shmbus-bcast", &bcast_tp_shmbus, &c, subs);
	if (bench_transport_selected(run, "shmbus-bcast-burst"))
		measure(run, "shmbus-bcast-burst", &bcast_tp_shmbus_burst, &c, subs);
	if (bench_transport_selected(run, "shmbus-bcast-lossy"))
		measure(run, "shmbus-bcast-lossy", &bcast_tp_shmbus_lossy, &c, subs);
	if (bench_transport_selected(run, "shmbus-bcast-lossy-1"))
		measure(run, "shmbus-bcast-lossy-1", &bcast_tp_shmbus_lossy, &c, 1);
	if (bench_transport_selected(run, "shmbus-spsc-fanout"))
		measure(run, "shmbus-spsc-fanout", &bcast_tp_spsc_fanout, &c, subs);
	if (bcast_bench_have_zmq && bench_transport_selected(run, "zmq-pubsub"))
		measure(run, "zmq-pubsub", &bcast_tp_zmq, &c, subs);

	snprintf(run->ratio_label, sizeof(run->ratio_label), "1x%u", subs);
	bench_ratio(run, "shmbus-bcast", "zmq-pubsub", c.msg_size, BENCH_METRIC_MSGS_PER_S,
		    subs == 4 && c.msg_size == 64 ? BENCH_AT_LEAST : BENCH_NO_TARGET, TARGET_ZMQ);
	bench_ratio(run, "shmbus-bcast-burst", "zmq-pubsub", c.msg_size, BENCH_METRIC_MSGS_PER_S,
		    BENCH_NO_TARGET, 0);
	bench_ratio(run, "shmbus-bcast", "shmbus-spsc-fanout", c.msg_size,
		    BENCH_METRIC_MSGS_PER_S, BENCH_NO_TARGET, 0);
	bench_ratio(run, "shmbus-bcast-lossy", "shmbus-bcast-lossy-1", c.msg_size,
		    BENCH_METRIC_PRODUCER_MSGS_PER_S,
		    subs == 8 ? BENCH_AT_LEAST : BENCH_NO_TARGET, TARGET_LOSSY);
	bench_ratio(run, "shmbus-bcast-lossy", "zmq-pubsub", c.msg_size,
		    BENCH_METRIC_PRODUCER_MSGS_PER_S, BENCH_NO_TARGET, 0);
	return 0;
}

const struct bench_workload bench_wl_bcast_throughput = {
	.name = "broadcast-throughput",
	.summary = "1 producer to N subscriber processes, each reading every message (msgs/s)",
	.transports = names,
	.run = bcast_throughput_run,
};
