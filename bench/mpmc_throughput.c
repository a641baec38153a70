/*
 * mpmc_throughput.c - workload "mpmc-throughput": --producers processes
 * stream --msgs messages of --size bytes (split between them) to
 * --consumers processes, through each transport; messages and bytes per
 * second (counted when consumed).  Processes, not threads.
 *
 * Transports: shmbus-mpmc (the blocking calls: the library's own wait),
 * shmbus-mpmc-try (the _try calls with the same wait loop as ck-ring),
 * ck-ring (Concurrency Kit, if built with it), posix-mq, and shmbus-spsc as
 * the 1x1 yardstick (the spsc-throughput measurement, one producer and one
 * consumer whatever --producers/--consumers say).
 *
 * Targets (issue #4), as ratios from the same run:
 *   at 1x1, shmbus-mpmc >= 0.5 x shmbus-spsc;
 *   at every PxC, shmbus-mpmc >= ck-ring, and >= 20 x posix-mq.
 * Also shown, with the same target: shmbus-mpmc-try / ck-ring, the two
 * rings with the same wait loop.
 *
 * Knobs: --ring BYTES sets the capacity (in messages: BYTES / size, rounded
 * down to a power of two; default 1024 messages); -D slots=N sets it
 * directly.  -D spin=N: shmbus_mpmc_set_yields() for shmbus-mpmc.  Every
 * repeat gets a fresh ring (untimed).
 */
#include <shmbus/mpmc.h>

#include "bench_mpmc.h"
#include "bench_spsc.h"

#define DEFAULT_SIZE 64
#define DEFAULT_MSGS 1000000u
#define DEFAULT_SLOTS 1024u
#define SPSC_RING (64u << 10)

static const char *const names[] = {
	"shmbus-mpmc", "shmbus-mpmc-try", "shmbus-spsc", "posix-mq",
#ifdef SHMBUS_HAVE_CK
	"ck-ring",
#endif
	NULL,
};

struct rep {
	struct mpmc_bench_cfg c;
	const struct mpmc_bench_transport *tp;
};

/* One repeat: fresh counters and transport, then the processes. */
static int one_repeat(const struct bench_run *run, void *arg, struct bench_sample *out)
{
	struct rep *r = arg;
	int rc;

	atomic_store(&r->c.sh->producers_done, 0);
	atomic_store(&r->c.sh->consumers_done, 0);
	atomic_store(&r->c.sh->received, 0);
	rc = r->tp->prepare(&r->c);
	if (rc)
		return rc;
	rc = bench_spawn(run, r->c.producers + r->c.consumers, r->tp->role, &r->c, out);
	r->tp->cleanup(&r->c);
	return rc;
}

static json_t *geometry(const struct mpmc_bench_cfg *c, unsigned producers, unsigned consumers)
{
	return json_pack("{s:I, s:I, s:I}", "producers", (json_int_t)producers, "consumers",
			 (json_int_t)consumers, "slots", (json_int_t)c->slots);
}

static int measure(struct bench_run *run, const struct mpmc_bench_transport *tp,
		   const struct mpmc_bench_cfg *base)
{
	struct rep r = { .c = *base, .tp = tp };
	size_t area = tp->area_bytes ? tp->area_bytes(base) : 0;
	json_t *extra;
	int rc;

	r.c.sh_len = sizeof(*r.c.sh) + area;
	r.c.sh = bench_shared_alloc(r.c.sh_len);
	if (!r.c.sh)
		return -ENOMEM;
	r.c.blocking = tp == &mpmc_tp_shmbus;
	extra = geometry(&r.c, r.c.producers, r.c.consumers);
	rc = bench_measure(run, tp->name, r.c.msg_size, one_repeat, &r, extra);
	bench_shared_free(r.c.sh, r.c.sh_len);
	return rc;
}

/* The SPSC yardstick: spsc-throughput's own measurement, 1x1. */
static void measure_spsc(struct bench_run *run, const struct mpmc_bench_cfg *base)
{
	size_t ring = spsc_default_ring(run, base->msg_size, SPSC_RING);
	struct spsc_cfg sc;

	spsc_cfg_init(&sc, base->msg_size, base->msgs, ring);
	sc.warmup = spsc_stream_warmup(base->msg_size, ring);
	spsc_measure(run, &spsc_tp_shmbus, &sc, geometry(base, 1, 1));
}

static uint32_t pick_slots(const struct bench_run *run, size_t size)
{
	uint64_t slots = DEFAULT_SLOTS;

	if (run->opts->ring_bytes)
		slots = run->opts->ring_bytes / size;
	return mpmc_bench_slots(bench_param_u64(run, "slots", slots));
}

static int mpmc_throughput_run(struct bench_run *run)
{
	struct mpmc_bench_cfg c = { 0 };
	enum bench_target_op vs_spsc;
	uint64_t p = bench_param_u64(run, "producers", 1);
	uint64_t k = bench_param_u64(run, "consumers", 1);

	if (p < 1 || k < 1 || p + k > BENCH_MAX_PROCS) {
		fprintf(stderr, "shmbus-bench: mpmc-throughput: --producers and --consumers "
				"must be >= 1, together <= %d\n", BENCH_MAX_PROCS);
		return -EINVAL;
	}
	c.msg_size = bench_opt_size(run, DEFAULT_SIZE);
	c.msgs = bench_opt_msgs(run, DEFAULT_MSGS);
	c.producers = (unsigned)p;
	c.consumers = (unsigned)k;
	c.slots = pick_slots(run, c.msg_size);
	c.spin = (unsigned)bench_param_u64(run, "spin", SHMBUS_MPMC_YIELDS_DEFAULT);
	if (bench_transport_selected(run, "shmbus-mpmc"))
		measure(run, &mpmc_tp_shmbus, &c);
	if (bench_transport_selected(run, "shmbus-mpmc-try"))
		measure(run, &mpmc_tp_shmbus_try, &c);
	if (mpmc_bench_have_ck && bench_transport_selected(run, "ck-ring"))
		measure(run, &mpmc_tp_ck, &c);
	if (bench_transport_selected(run, "posix-mq"))
		measure(run, &mpmc_tp_mq, &c);
	if (bench_transport_selected(run, "shmbus-spsc"))
		measure_spsc(run, &c);
	snprintf(run->ratio_label, sizeof(run->ratio_label), "%ux%u", c.producers, c.consumers);
	/* The 0.5 x SPSC target is stated for one producer and one consumer. */
	vs_spsc = p == 1 && k == 1 ? BENCH_AT_LEAST : BENCH_NO_TARGET;
	bench_ratio(run, "shmbus-mpmc", "shmbus-spsc", c.msg_size, BENCH_METRIC_MSGS_PER_S,
		    vs_spsc, 0.5);
	if (mpmc_bench_have_ck) {
		bench_ratio(run, "shmbus-mpmc", "ck-ring", c.msg_size, BENCH_METRIC_MSGS_PER_S,
			    BENCH_AT_LEAST, 1.0);
		bench_ratio(run, "shmbus-mpmc-try", "ck-ring", c.msg_size,
			    BENCH_METRIC_MSGS_PER_S, BENCH_AT_LEAST, 1.0);
	}
	bench_ratio(run, "shmbus-mpmc", "posix-mq", c.msg_size, BENCH_METRIC_MSGS_PER_S,
		    BENCH_AT_LEAST, 20);
	return 0;
}

const struct bench_workload bench_wl_mpmc_throughput = {
	.name = "mpmc-throughput",
	.summary = "P producer to C consumer processes through one ring (msgs/s, bytes/s)",
	.transports = names,
	.run = mpmc_throughput_run,
};
