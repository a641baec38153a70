/*
 * harness.c - one run of a workload: option lookups, repeats reduced to
 * medians, the list of recorded results and the ratios asked between them.
 *
 * Invariant: a ratio is only ever computed between two results recorded in
 * this same run (same process, same machine state), never against a stored
 * or remembered number.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

bool bench_transport_selected(const struct bench_run *run, const char *name)
{
	const char *list = run->opts->transports;
	size_t len = strlen(name);

	if (!list)
		return true;
	while (*list) {
		const char *end = strchr(list, ',');
		size_t n = end ? (size_t)(end - list) : strlen(list);

		if (n == len && strncmp(list, name, n) == 0)
			return true;
		if (!end)
			break;
		list = end + 1;
	}
	return false;
}

uint64_t bench_param_u64(const struct bench_run *run, const char *key, uint64_t dflt)
{
	unsigned i;

	for (i = 0; i < run->opts->nparams; i++) {
		const char *v = run->opts->param_val[i];
		unsigned long long x;
		char *end;

		if (strcmp(run->opts->param_key[i], key) != 0)
			continue;
		errno = 0;
		x = strtoull(v, &end, 0);
		if (errno || end == v || *end || *v == '-') {
			fprintf(stderr, "shmbus-bench: -D %s=%s: not a number, using %" PRIu64 "\n",
				key, v, dflt);
			return dflt;
		}
		return x;
	}
	return dflt;
}

size_t bench_opt_size(const struct bench_run *run, size_t dflt)
{
	return run->opts->msg_size ? run->opts->msg_size : dflt;
}

uint64_t bench_opt_msgs(const struct bench_run *run, uint64_t dflt)
{
	return run->opts->msgs ? run->opts->msgs : dflt;
}

uint64_t bench_opt_round_trips(const struct bench_run *run, uint64_t dflt)
{
	return run->opts->round_trips ? run->opts->round_trips : dflt;
}

size_t bench_opt_ring(const struct bench_run *run, size_t dflt)
{
	return run->opts->ring_bytes ? run->opts->ring_bytes : dflt;
}

int bench_record(struct bench_run *run, const struct bench_result *r)
{
	struct bench_result *grown;

	grown = realloc(run->results, (run->nresults + 1) * sizeof(*grown));
	if (!grown) {
		json_decref(r->extra);
		return -ENOMEM;
	}
	run->results = grown;
	run->results[run->nresults] = *r;
	bench_print_result(run, &run->results[run->nresults]);
	run->nresults++;
	return 0;
}

int bench_ratio(struct bench_run *run, const char *num, const char *den, size_t msg_size,
		enum bench_metric metric, enum bench_target_op op, double target)
{
	struct bench_ratio *grown;
	bool has_num = false, has_den = false;
	size_t i;

	/* A side this workload does not have (in this build), or that
	 * --transport left out, is no ratio; a side that failed is one
	 * without a value. */
	for (i = 0; run->wl->transports[i]; i++) {
		has_num |= strcmp(run->wl->transports[i], num) == 0;
		has_den |= strcmp(run->wl->transports[i], den) == 0;
	}
	if (!has_num || !has_den || !bench_transport_selected(run, num) ||
	    !bench_transport_selected(run, den))
		return 0;
	grown = realloc(run->ratios, (run->nratios + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	run->ratios = grown;
	run->ratios[run->nratios++] = (struct bench_ratio){
		.workload = run->wl->name, .num = num, .den = den, .msg_size = msg_size,
		.metric = metric, .op = op, .target = target, .value = NAN,
	};
	snprintf(run->ratios[run->nratios - 1].label, sizeof(run->ratios[0].label), "%s",
		 run->ratio_label);
	return 0;
}

/* Reduce the repeats of a throughput measurement to medians. */
static void reduce_throughput(struct bench_result *r, const struct bench_sample *s, unsigned n)
{
	double mps[BENCH_MAX_REPEAT], bps[BENCH_MAX_REPEAT], el[BENCH_MAX_REPEAT];
	unsigned i;

	r->kind = BENCH_THROUGHPUT;
	r->msgs = s[0].msgs;
	r->msgs_per_s_min = INFINITY;
	r->msgs_per_s_max = 0;
	for (i = 0; i < n; i++) {
		double sec = (double)s[i].elapsed_ns / 1e9;

		mps[i] = (double)s[i].msgs / sec;
		bps[i] = (double)s[i].bytes / sec;
		el[i] = (double)s[i].elapsed_ns;
		if (mps[i] < r->msgs_per_s_min)
			r->msgs_per_s_min = mps[i];
		if (mps[i] > r->msgs_per_s_max)
			r->msgs_per_s_max = mps[i];
	}
	r->msgs_per_s = bench_median(mps, n);
	r->bytes_per_s = bench_median(bps, n);
	r->elapsed_ns = (uint64_t)bench_median(el, n);
}

/* Reduce the repeats of a latency measurement: each statistic's median,
 * except max, which is the worst seen. */
static void reduce_latency(struct bench_result *r, const struct bench_sample *s, unsigned n)
{
	double v[5][BENCH_MAX_REPEAT];
	unsigned i;

	r->kind = BENCH_LATENCY;
	r->msgs = s[0].lat.n;
	r->lat.n = s[0].lat.n;
	r->lat.max_ns = 0;
	for (i = 0; i < n; i++) {
		v[0][i] = (double)s[i].lat.min_ns;
		v[1][i] = (double)s[i].lat.p50_ns;
		v[2][i] = (double)s[i].lat.p99_ns;
		v[3][i] = (double)s[i].lat.p999_ns;
		v[4][i] = s[i].lat.mean_ns;
		if (s[i].lat.max_ns > r->lat.max_ns)
			r->lat.max_ns = s[i].lat.max_ns;
	}
	r->lat.min_ns = (uint64_t)bench_median(v[0], n);
	r->lat.p50_ns = (uint64_t)bench_median(v[1], n);
	r->lat.p99_ns = (uint64_t)bench_median(v[2], n);
	r->lat.p999_ns = (uint64_t)bench_median(v[3], n);
	r->lat.mean_ns = bench_median(v[4], n);
	r->elapsed_ns = 0;
}

int bench_measure(struct bench_run *run, const char *transport, size_t msg_size,
		  bench_rep_fn fn, void *arg, json_t *extra)
{
	struct bench_sample s[BENCH_MAX_REPEAT] = { { 0 } };
	struct bench_result r = {
		.workload = run->wl->name, .transport = transport, .msg_size = msg_size,
		.repeats = run->opts->repeat, .extra = extra,
	};
	unsigned i;
	int rc;

	for (i = 0; i < run->opts->repeat; i++) {
		rc = fn(run, arg, &s[i]);
		if (rc == 0 && s[i].has_lat != s[0].has_lat)
			rc = -EPROTO;
		if (rc == 0 && !s[i].has_lat && (s[i].elapsed_ns == 0 || s[i].msgs == 0))
			rc = -EPROTO;
		if (rc < 0) {
			fprintf(stderr, "shmbus-bench: %s: %s, %zu bytes: %s\n", run->wl->name,
				transport, msg_size, strerror(-rc));
			run->failures++;
			json_decref(extra);
			return rc;
		}
	}
	if (s[0].has_lat)
		reduce_latency(&r, s, run->opts->repeat);
	else
		reduce_throughput(&r, s, run->opts->repeat);
	return bench_record(run, &r);
}

struct spawn_arg {
	unsigned nprocs;
	bench_proc_fn fn;
	void *arg;
};

static int spawn_rep(const struct bench_run *run, void *arg, struct bench_sample *out)
{
	struct spawn_arg *sa = arg;

	return bench_spawn(run, sa->nprocs, sa->fn, sa->arg, out);
}

int bench_measure_procs(struct bench_run *run, const char *transport, size_t msg_size,
			unsigned nprocs, bench_proc_fn fn, void *arg, json_t *extra)
{
	struct spawn_arg sa = { .nprocs = nprocs, .fn = fn, .arg = arg };

	return bench_measure(run, transport, msg_size, spawn_rep, &sa, extra);
}
