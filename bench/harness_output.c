/*
 * harness_output.c - what a run prints: a table for people or JSON lines
 * for programs (--json), with the same data.
 *
 * JSON lines: one object per line, keys sorted, each with schema_version and
 * a kind:
 *   meta        phase "start"/"end": machine, kernel, load average (and at
 *               the end: CPU steal time during the run, failures)
 *   throughput  workload, transport, msg_size, msgs, msgs_per_s, bytes_per_s
 *   latency     workload, transport, msg_size, round_trips, p50_ns, p99_ns,
 *               p999_ns, max_ns
 *   ratio       workload, metric, num / den transports, value, target
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "harness.h"

#define JSON_FLAGS (JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(6))

static void emit_json(json_t *o)
{
	char *s = json_dumps(o, JSON_FLAGS);

	if (s) {
		puts(s);
		free(s);
	}
	json_decref(o);
	fflush(stdout);
}

static void cpu_model(char *buf, size_t n)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, n, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		colon++;
		colon += strspn(colon, " \t");
		colon[strcspn(colon, "\n")] = 0;
		snprintf(buf, n, "%s", colon);
		break;
	}
	fclose(f);
}

/* The three load averages and the count of runnable tasks. */
static void loadavg(double la[3], long *running)
{
	FILE *f = fopen("/proc/loadavg", "r");

	la[0] = la[1] = la[2] = -1;
	*running = -1;
	if (!f)
		return;
	if (fscanf(f, "%lf %lf %lf %ld", &la[0], &la[1], &la[2], running) != 4)
		*running = -1;
	fclose(f);
}

/* Total and steal jiffies of all CPUs, from the first line of /proc/stat. */
static void cpu_times(unsigned long long *total, unsigned long long *steal)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int i;

	*total = *steal = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (i = 0; i < 8; i++)
			*total += v[i];
		*steal = v[7];
	}
	fclose(f);
}

void bench_print_meta(struct bench_run *run, bool end)
{
	const struct bench_opts *o = run->opts;
	char model[256];
	struct utsname un;
	double la[3];
	long running;
	unsigned long long total, steal;
	double steal_pct = 0;

	cpu_model(model, sizeof(model));
	if (uname(&un) < 0)
		snprintf(un.release, sizeof(un.release), "unknown");
	loadavg(la, &running);
	cpu_times(&total, &steal);
	if (!end) {
		run->t0_ns = bench_now_ns();
		run->cpu_total0 = total;
		run->cpu_steal0 = steal;
	} else if (total > run->cpu_total0) {
		steal_pct = 100.0 * (double)(steal - run->cpu_steal0) /
			    (double)(total - run->cpu_total0);
	}
	if (o->json) {
		json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:[f,f,f], s:i, s:b, s:i}",
				      "schema_version", BENCH_SCHEMA_VERSION, "kind", "meta",
				      "phase", end ? "end" : "start", "workload", run->wl->name,
				      "nproc", (int)sysconf(_SC_NPROCESSORS_ONLN),
				      "cpu_model", model, "kernel", un.release,
				      "loadavg", la[0], la[1], la[2], "procs_running", (int)running,
				      "pinned", o->pin, "repeats", (int)o->repeat);

		if (m && end) {
			json_object_set_new(m, "steal_pct", json_real(steal_pct));
			json_object_set_new(m, "failures", json_integer(run->failures));
			json_object_set_new(m, "wall_s",
					    json_real((double)(bench_now_ns() - run->t0_ns) / 1e9));
		}
		if (m)
			emit_json(m);
		return;
	}
	if (!end) {
		printf("# %s: %ld CPUs, %s, kernel %s\n", run->wl->name,
		       sysconf(_SC_NPROCESSORS_ONLN), model, un.release);
		printf("# load average %.2f %.2f %.2f, %ld runnable; %u repeat(s), median shown;"
		       " %s\n", la[0], la[1], la[2], running, o->repeat,
		       o->pin ? "pinned to CPUs" : "not pinned");
	} else {
		printf("# end: load average %.2f %.2f %.2f, steal %.1f%%, %u failure(s), %.1f s\n",
		       la[0], la[1], la[2], steal_pct, run->failures,
		       (double)(bench_now_ns() - run->t0_ns) / 1e9);
	}
	fflush(stdout);
}

static json_t *result_json(const struct bench_run *run, const struct bench_result *r)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "schema_version", json_integer(BENCH_SCHEMA_VERSION));
	json_object_set_new(o, "workload", json_string(r->workload));
	json_object_set_new(o, "transport", json_string(r->transport));
	json_object_set_new(o, "msg_size", json_integer((json_int_t)r->msg_size));
	json_object_set_new(o, "repeats", json_integer(r->repeats));
	json_object_set_new(o, "pinned", json_boolean(run->opts->pin));
	if (r->kind == BENCH_THROUGHPUT) {
		json_object_set_new(o, "kind", json_string("throughput"));
		json_object_set_new(o, "msgs", json_integer((json_int_t)r->msgs));
		json_object_set_new(o, "elapsed_ns", json_integer((json_int_t)r->elapsed_ns));
		json_object_set_new(o, "msgs_per_s", json_integer((json_int_t)llround(r->msgs_per_s)));
		json_object_set_new(o, "bytes_per_s", json_integer((json_int_t)llround(r->bytes_per_s)));
		json_object_set_new(o, "msgs_per_s_min", json_integer((json_int_t)llround(r->msgs_per_s_min)));
		json_object_set_new(o, "msgs_per_s_max", json_integer((json_int_t)llround(r->msgs_per_s_max)));
	} else {
		json_object_set_new(o, "kind", json_string("latency"));
		json_object_set_new(o, "round_trips", json_integer((json_int_t)r->lat.n));
		json_object_set_new(o, "min_ns", json_integer((json_int_t)r->lat.min_ns));
		json_object_set_new(o, "p50_ns", json_integer((json_int_t)r->lat.p50_ns));
		json_object_set_new(o, "p99_ns", json_integer((json_int_t)r->lat.p99_ns));
		json_object_set_new(o, "p999_ns", json_integer((json_int_t)r->lat.p999_ns));
		json_object_set_new(o, "max_ns", json_integer((json_int_t)r->lat.max_ns));
		json_object_set_new(o, "mean_ns", json_real(r->lat.mean_ns));
	}
	if (r->extra)
		json_object_update(o, r->extra);
	return o;
}

/* "12.3 M" style: value with an SI prefix, for the tables. */
static const char *si(char *buf, size_t n, double v)
{
	static const char *const pfx[] = { "", "k", "M", "G", "T" };
	unsigned i = 0;

	while (fabs(v) >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(buf, n, "%.3g%s", v, pfx[i]);
	return buf;
}

void bench_print_result(struct bench_run *run, const struct bench_result *r)
{
	char a[32], b[32], c[32], d[32];

	if (run->opts->json) {
		json_t *o = result_json(run, r);

		if (o)
			emit_json(o);
		return;
	}
	if (run->last_kind != (int)r->kind) {
		if (r->kind == BENCH_THROUGHPUT)
			printf("\n%-18s %-22s %8s %10s %9s %9s %19s\n", "THROUGHPUT", "transport",
			       "size", "msgs", "msgs/s", "bytes/s", "msgs/s min..max");
		else
			printf("\n%-18s %-22s %8s %10s %9s %9s %9s %9s\n", "LATENCY (ns)",
			       "transport", "size", "rtrips", "p50", "p99", "p99.9", "max");
		run->last_kind = (int)r->kind;
	}
	if (r->kind == BENCH_THROUGHPUT)
		printf("%-18s %-22s %8zu %10" PRIu64 " %9s %9s %9s..%-9s\n", r->workload,
		       r->transport, r->msg_size, r->msgs, si(a, sizeof(a), r->msgs_per_s),
		       si(b, sizeof(b), r->bytes_per_s), si(c, sizeof(c), r->msgs_per_s_min),
		       si(d, sizeof(d), r->msgs_per_s_max));
	else
		printf("%-18s %-22s %8zu %10" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
		       " %9" PRIu64 "\n", r->workload, r->transport, r->msg_size, r->lat.n,
		       r->lat.p50_ns, r->lat.p99_ns, r->lat.p999_ns, r->lat.max_ns);
	fflush(stdout);
}

static const char *metric_name(enum bench_metric m)
{
	switch (m) {
	case BENCH_METRIC_MSGS_PER_S:
		return "msgs_per_s";
	case BENCH_METRIC_BYTES_PER_S:
		return "bytes_per_s";
	case BENCH_METRIC_P50_NS:
		return "p50_ns";
	case BENCH_METRIC_P99_NS:
		return "p99_ns";
	case BENCH_METRIC_PRODUCER_MSGS_PER_S:
		return "producer_msgs_per_s";
	}
	return "?";
}

/* The value of @m in the result of @transport at @size, or NaN. */
static double metric_of(const struct bench_run *run, const char *transport, size_t size,
			enum bench_metric m)
{
	size_t i;

	for (i = 0; i < run->nresults; i++) {
		const struct bench_result *r = &run->results[i];

		if (strcmp(r->transport, transport) != 0 || r->msg_size != size)
			continue;
		if (r->kind == BENCH_THROUGHPUT && m == BENCH_METRIC_MSGS_PER_S)
			return r->msgs_per_s;
		if (r->kind == BENCH_THROUGHPUT && m == BENCH_METRIC_BYTES_PER_S)
			return r->bytes_per_s;
		if (r->kind == BENCH_LATENCY && m == BENCH_METRIC_P50_NS)
			return (double)r->lat.p50_ns;
		if (r->kind == BENCH_LATENCY && m == BENCH_METRIC_P99_NS)
			return (double)r->lat.p99_ns;
		if (r->kind == BENCH_THROUGHPUT && m == BENCH_METRIC_PRODUCER_MSGS_PER_S) {
			json_t *v = json_object_get(r->extra, "producer_msgs_per_s");

			return json_is_number(v) ? json_number_value(v) : NAN;
		}
	}
	return NAN;
}

static const char *verdict(const struct bench_ratio *q)
{
	if (q->op == BENCH_NO_TARGET)
		return "-";
	if (isnan(q->value))
		return "n/a";
	if (q->op == BENCH_AT_LEAST)
		return q->value >= q->target ? "met" : "MISSED";
	return q->value <= q->target ? "met" : "MISSED";
}

void bench_print_ratios(const struct bench_run *run)
{
	size_t i;

	for (i = 0; i < run->nratios; i++) {
		struct bench_ratio *q = &run->ratios[i];
		double n = metric_of(run, q->num, q->msg_size, q->metric);
		double d = metric_of(run, q->den, q->msg_size, q->metric);

		q->value = (isnan(n) || isnan(d) || d == 0) ? NAN : n / d;
	}
	if (run->opts->json) {
		for (i = 0; i < run->nratios; i++) {
			const struct bench_ratio *q = &run->ratios[i];
			json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:s}",
					      "schema_version", BENCH_SCHEMA_VERSION, "kind", "ratio",
					      "workload", q->workload, "metric", metric_name(q->metric),
					      "num", q->num, "den", q->den,
					      "msg_size", (json_int_t)q->msg_size,
					      "value", isnan(q->value) ? json_null() : json_real(q->value),
					      "verdict", verdict(q));

			if (!o)
				continue;
			json_object_set_new(o, "name", json_sprintf("%s/%s", q->num, q->den));
			if (q->label[0])
				json_object_set_new(o, "label", json_string(q->label));
			if (q->op != BENCH_NO_TARGET) {
				json_object_set_new(o, "target", json_real(q->target));
				json_object_set_new(o, "target_op",
						    json_string(q->op == BENCH_AT_LEAST ? ">=" : "<="));
			}
			emit_json(o);
		}
		return;
	}
	if (!run->nratios)
		return;
	printf("\n%-18s %-12s %-42s %8s %8s  %s\n", "RATIOS", "metric", "num / den", "size",
	       "value", "target");
	for (i = 0; i < run->nratios; i++) {
		const struct bench_ratio *q = &run->ratios[i];
		char name[128], val[32], tgt[32];

		snprintf(name, sizeof(name), "%s / %s%s%s%s", q->num, q->den,
			 q->label[0] ? " [" : "", q->label, q->label[0] ? "]" : "");
		if (isnan(q->value))
			snprintf(val, sizeof(val), "n/a");
		else
			snprintf(val, sizeof(val), "%.3f", q->value);
		if (q->op == BENCH_NO_TARGET)
			snprintf(tgt, sizeof(tgt), "-");
		else
			snprintf(tgt, sizeof(tgt), "%s %g %s", q->op == BENCH_AT_LEAST ? ">=" : "<=",
				 q->target, verdict(q));
		printf("%-18s %-12s %-42s %8zu %8s  %s\n", q->workload, metric_name(q->metric),
		       name, q->msg_size, val, tgt);
	}
	fflush(stdout);
}
