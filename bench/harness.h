/*
 * harness.h - what every shmbus-bench workload shares: the command-line
 * options of one run, child processes started together behind a barrier in
 * shared memory, timing, percentiles, repeats with medians, and output (a
 * table for people, JSON lines for programs, same data) including ratios
 * between transports measured in the same run.
 *
 * Adding a workload (bench/<name>*.c; the CMake glob picks the file up):
 *
 *   static int my_run(struct bench_run *run)
 *   {
 *           if (bench_transport_selected(run, "mine"))
 *                   rc = bench_measure_procs(run, "mine", size, 2, my_role, &cfg);
 *           ...
 *           bench_ratio(run, "mine", "theirs", size, BENCH_METRIC_MSGS_PER_S,
 *                       BENCH_AT_LEAST, 0.8);
 *   }
 *   const struct bench_workload bench_wl_mine = { .name = "mine", ... };
 *
 * and one line in the table of bench/main.c (bench_wl_mpmc_throughput and
 * bench_wl_slots are already listed there as weak references).
 *
 * A role function runs in its own child process.  It does its untimed setup,
 * calls bench_proc_start() (the last barrier: every process leaves it at
 * the same moment, and the clock starts), does the timed work, and calls
 * bench_proc_done() with what it delivered.  The harness reports
 *   elapsed = max(end) - min(start) over the processes
 *   msgs    = sum of the msgs the processes passed to bench_proc_done()
 * so only the receiving side should count messages.  A role that measures
 * latencies hands its samples to bench_proc_latency() instead.
 */
#ifndef SHMBUS_BENCH_HARNESS_H
#define SHMBUS_BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <shmbus/relax.h>

#define BENCH_SCHEMA_VERSION 1
#define BENCH_MAX_PROCS 64
#define BENCH_MAX_PARAMS 16
#define BENCH_MAX_REPEAT 99

/* ------------------------------------------------------------------------
 * Time and spinning
 */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Spin loops pause with the library's own hint, shmbus_cpu_relax()
 * (<shmbus/relax.h>), as a user's polling loop around the _try calls would. */

/* Touch every page of [p, p + n) (write if @write), so that the first timed
 * access does not page-fault. */
void bench_prefault(void *p, size_t n, bool write);

/* ------------------------------------------------------------------------
 * Statistics
 */

struct bench_lat {
	uint64_t n;        /* samples */
	uint64_t min_ns, p50_ns, p99_ns, p999_ns, max_ns;
	double mean_ns;
};

/* Sort @samples (in place) and fill @out; nearest-rank percentiles
 * (the smallest sample with at least q·n samples <= it).  @n may be 0. */
void bench_lat_compute(uint64_t *samples, size_t n, struct bench_lat *out);

/* Median of @n values, n <= BENCH_MAX_REPEAT (sorts a copy; the even case
 * averages the middle two).  0 if @n is 0. */
double bench_median(const double *v, size_t n);

/* ------------------------------------------------------------------------
 * One run of the program: options and the results recorded so far
 */

enum bench_kind {
	BENCH_THROUGHPUT,
	BENCH_LATENCY,
};

enum bench_metric {
	BENCH_METRIC_MSGS_PER_S,  /* throughput records */
	BENCH_METRIC_BYTES_PER_S, /* throughput records */
	BENCH_METRIC_P50_NS,      /* latency records */
	BENCH_METRIC_P99_NS,
	/* throughput records whose extra has "producer_msgs_per_s" (a
	 * producer's own rate where the receivers' rate differs from it) */
	BENCH_METRIC_PRODUCER_MSGS_PER_S,
};

enum bench_target_op {
	BENCH_AT_LEAST, /* value >= target is good (throughput) */
	BENCH_AT_MOST,  /* value <= target is good (latency) */
	BENCH_NO_TARGET,
};

struct bench_opts {
	const char *workload;
	size_t msg_size;       /* --size; 0 = the workload's default */
	uint64_t msgs;         /* --msgs; 0 = the workload's default */
	uint64_t round_trips;  /* --round-trips; 0 = the workload's default */
	size_t ring_bytes;     /* --ring; 0 = the workload's default */
	unsigned repeat;       /* --repeat, 1 .. BENCH_MAX_REPEAT */
	const char *transports;/* --transport, comma-separated; NULL = all */
	bool pin;              /* --pin: process i runs on allowed CPU i mod n */
	bool json;             /* --json: JSON lines instead of tables */
	unsigned timeout_s;    /* --timeout: a child running longer is killed */
	unsigned nparams;      /* -D KEY=VALUE, for workload-specific knobs */
	const char *param_key[BENCH_MAX_PARAMS];
	const char *param_val[BENCH_MAX_PARAMS];
};

/* A measurement, reported as one JSON line / table row. */
struct bench_result {
	enum bench_kind kind;
	const char *workload;
	const char *transport;
	size_t msg_size;
	unsigned repeats;
	/* BENCH_THROUGHPUT: medians over the repeats, and their spread. */
	uint64_t msgs;
	uint64_t elapsed_ns;   /* of the median repeat */
	double msgs_per_s, bytes_per_s;
	double msgs_per_s_min, msgs_per_s_max;
	/* BENCH_LATENCY: per-statistic medians over the repeats; max_ns is
	 * the largest seen in any repeat. */
	struct bench_lat lat;
	/* Extra fields (an object, owned by the result; may be NULL). */
	json_t *extra;
};

struct bench_ratio {
	const char *workload;
	const char *num, *den;  /* transports */
	size_t msg_size;
	enum bench_metric metric;
	enum bench_target_op op;
	double target;
	double value;           /* NaN when one side is missing */
	char label[24];         /* run->ratio_label when it was made, or "" */
};

struct bench_run {
	const struct bench_opts *opts;
	const struct bench_workload *wl;
	size_t nresults, nratios;
	struct bench_result *results;
	struct bench_ratio *ratios;
	unsigned failures;      /* measurements that failed (exit status 1) */
	int last_kind;          /* for table headers; -1 before the first */
	uint64_t t0_ns;         /* when the run started (for the end meta) */
	unsigned long long cpu_total0, cpu_steal0; /* /proc/stat at start */
	/* Set by a workload before bench_ratio() to tell ratios of one
	 * configuration from another in a file of many runs (e.g. "2x2",
	 * producers x consumers): "label" in the JSON, [label] in tables. */
	char ratio_label[24];
};

struct bench_workload {
	const char *name;            /* "spsc-throughput" */
	const char *summary;         /* one line for `shmbus-bench list` */
	const char *const *transports; /* NULL-terminated: what it measures */
	int (*run)(struct bench_run *run); /* 0 or -errno */
};

/* Whether transport @name was asked for (--transport, or all by default). */
bool bench_transport_selected(const struct bench_run *run, const char *name);

/* -D KEY=VALUE lookups, with a default when absent; a malformed value is
 * reported and gives the default. */
uint64_t bench_param_u64(const struct bench_run *run, const char *key, uint64_t dflt);

/* The option if given, else @dflt. */
size_t bench_opt_size(const struct bench_run *run, size_t dflt);
uint64_t bench_opt_msgs(const struct bench_run *run, uint64_t dflt);
uint64_t bench_opt_round_trips(const struct bench_run *run, uint64_t dflt);
size_t bench_opt_ring(const struct bench_run *run, size_t dflt);

/*
 * bench_record - add a finished measurement to the run and print it at once
 * (JSON line or table row).  Takes ownership of @r->extra.  The strings must
 * outlive the run (string literals).  Returns 0 or -ENOMEM.
 */
int bench_record(struct bench_run *run, const struct bench_result *r);

/*
 * bench_ratio - ask for the ratio @num / @den of @metric between two
 * transports of this workload at @msg_size, printed at the end of the run
 * (a side whose measurement failed prints as "n/a", and as null in JSON; a
 * transport the workload does not declare, or that --transport left out,
 * makes the call a no-op).  @target is the goal stated in the issue
 * (ignored with BENCH_NO_TARGET).
 */
int bench_ratio(struct bench_run *run, const char *num, const char *den, size_t msg_size,
		enum bench_metric metric, enum bench_target_op op, double target);

/* ------------------------------------------------------------------------
 * Child processes
 */

struct bench_shared;

/* What a role function sees about itself. */
struct bench_proc {
	unsigned index;   /* 0 .. nprocs-1; pinned to CPU index mod n with --pin */
	unsigned nprocs;
	int cpu;          /* the CPU it is pinned to, or -1 */
	const struct bench_run *run;
	struct bench_shared *sh;
};

/* Pin the calling process to the (index mod n)-th CPU it may run on (what
 * --pin does to child @index).  Returns the CPU, or -1 with errno set. */
int bench_pin_self(unsigned index);

/* A role: runs in a child process; returns 0 or -errno (printed). */
typedef int (*bench_proc_fn)(struct bench_proc *p, void *arg);

/* Wait until every process of this spawn arrives here (untimed setup
 * phases, e.g. "ring created" before "ring attached"). */
void bench_proc_sync(struct bench_proc *p);

/* The last barrier: everybody leaves together; records this process's
 * start time. */
void bench_proc_start(struct bench_proc *p);

/* Record this process's end time and what it delivered. */
void bench_proc_done(struct bench_proc *p, uint64_t msgs, uint64_t bytes);

/* Store latency statistics of @samples (sorted in place).  Call after
 * bench_proc_done(). */
void bench_proc_latency(struct bench_proc *p, uint64_t *samples, size_t n);

struct bench_sample {
	uint64_t elapsed_ns;
	uint64_t msgs, bytes;
	bool has_lat;
	struct bench_lat lat;
};

/*
 * bench_spawn - fork @nprocs children running @fn(p, @arg), wait for them,
 * and fill @out.  @arg is shared by copy-on-fork: anything the children must
 * write to each other lives in a MAP_SHARED mapping made before the call.
 * A child that fails, dies or outlives --timeout makes the others be killed.
 * Returns 0, or -ECHILD (a child failed), -ETIMEDOUT, -errno.
 */
int bench_spawn(const struct bench_run *run, unsigned nprocs, bench_proc_fn fn,
		void *arg, struct bench_sample *out);

/* One repeat of a measurement, however it is done. */
typedef int (*bench_rep_fn)(const struct bench_run *run, void *arg,
			    struct bench_sample *out);

/*
 * bench_measure - run @fn --repeat times and record the medians as one
 * result of this workload (throughput, or latency if the samples carry
 * latencies).  @extra (may be NULL) is consumed.  A failure is printed,
 * counted in run->failures, and returned; the caller goes on with the next
 * transport.
 */
int bench_measure(struct bench_run *run, const char *transport, size_t msg_size,
		  bench_rep_fn fn, void *arg, json_t *extra);

/* bench_measure() of bench_spawn(run, nprocs, fn, arg). */
int bench_measure_procs(struct bench_run *run, const char *transport, size_t msg_size,
			unsigned nprocs, bench_proc_fn fn, void *arg, json_t *extra);

/* A MAP_SHARED anonymous mapping of @n bytes, zeroed and pre-faulted, that
 * children made afterwards share; NULL on failure.  Free with
 * bench_shared_free(). */
void *bench_shared_alloc(size_t n);
void bench_shared_free(void *p, size_t n);

/* ------------------------------------------------------------------------
 * Output helpers (harness_output.c)
 */

/* The meta line / table header: machine, kernel, load average; @end
 * selects the closing line (load at the end, steal time, failures). */
void bench_print_meta(struct bench_run *run, bool end);
/* One result as a JSON line or table row (called by bench_record()). */
void bench_print_result(struct bench_run *run, const struct bench_result *r);
/* Print the ratios asked for with bench_ratio(). */
void bench_print_ratios(const struct bench_run *run);
/* Parse JSON lines from @path ("-" = stdin) and check the fields every line
 * of its kind must have; with @complete, also that every transport of each
 * workload seen appears.  Prints problems; returns the count of bad lines
 * (0 = valid), or -errno if the file cannot be read. */
int bench_validate(const char *path, bool complete);

/* Print the tables (machine and load, measurements, ratios) of a file of
 * JSON lines.  0, or -errno if it cannot be read. */
int bench_report(const char *path);

/* Every workload this binary knows (bench/main.c). */
extern const struct bench_workload *const bench_workloads[];
extern const size_t bench_nworkloads;

#endif
