/*
 * harness_report.c - `shmbus-bench report FILE`: the tables of a file of
 * JSON lines written by earlier runs (bench/run_all.sh collects every
 * workload's lines in one file): the machine and its load, every
 * measurement, and every ratio with its target and verdict.
 *
 * It only prints what the lines say: ratios come from the runs that
 * measured both sides, never recomputed across runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void print_meta(json_t *o)
{
	json_t *la = json_object_get(o, "loadavg");

	if (strcmp(str(o, "phase"), "start") == 0)
		printf("%-20s start: %lld CPUs, %s, kernel %s, load %.2f %.2f %.2f, %s\n",
		       str(o, "workload"), (long long)json_integer_value(json_object_get(o, "nproc")),
		       str(o, "cpu_model"), str(o, "kernel"), json_number_value(json_array_get(la, 0)),
		       json_number_value(json_array_get(la, 1)),
		       json_number_value(json_array_get(la, 2)),
		       json_is_true(json_object_get(o, "pinned")) ? "pinned" : "not pinned");
	else
		printf("%-20s end:   load %.2f %.2f %.2f, steal %.1f%%, %lld failure(s), %.1f s\n",
		       str(o, "workload"), json_number_value(json_array_get(la, 0)),
		       json_number_value(json_array_get(la, 1)),
		       json_number_value(json_array_get(la, 2)), num(o, "steal_pct"),
		       (long long)json_integer_value(json_object_get(o, "failures")), num(o, "wall_s"));
}

static void print_measurement(json_t *o, const char *kind, char *last, size_t lastsz)
{
	if (strcmp(last, kind) != 0) {
		if (strcmp(kind, "throughput") == 0)
			printf("\n%-18s %-22s %8s %10s %12s %14s %5s\n", "THROUGHPUT", "transport",
			       "size", "msgs", "msgs/s", "MB/s", "reps");
		else
			printf("\n%-18s %-22s %8s %10s %9s %9s %9s %9s %5s\n", "LATENCY (ns)",
			       "transport", "size", "rtrips", "p50", "p99", "p99.9", "max", "reps");
		snprintf(last, lastsz, "%s", kind);
	}
	if (strcmp(kind, "throughput") == 0)
		printf("%-18s %-22s %8.0f %10.0f %12.0f %14.1f %5.0f\n", str(o, "workload"),
		       str(o, "transport"), num(o, "msg_size"), num(o, "msgs"), num(o, "msgs_per_s"),
		       num(o, "bytes_per_s") / 1e6, num(o, "repeats"));
	else
		printf("%-18s %-22s %8.0f %10.0f %9.0f %9.0f %9.0f %9.0f %5.0f\n", str(o, "workload"),
		       str(o, "transport"), num(o, "msg_size"), num(o, "round_trips"),
		       num(o, "p50_ns"), num(o, "p99_ns"), num(o, "p999_ns"), num(o, "max_ns"),
		       num(o, "repeats"));
}

static void print_ratio(json_t *o, bool *header)
{
	char name[160], val[32], tgt[48];
	json_t *v = json_object_get(o, "value");

	if (!*header) {
		printf("\n%-18s %-12s %-44s %8s %8s  %s\n", "RATIOS", "metric", "num / den", "size",
		       "value", "target");
		*header = true;
	}
	if (json_string_value(json_object_get(o, "label")))
		snprintf(name, sizeof(name), "%s / %s [%s]", str(o, "num"), str(o, "den"),
			 str(o, "label"));
	else
		snprintf(name, sizeof(name), "%s / %s", str(o, "num"), str(o, "den"));
	if (json_is_number(v))
		snprintf(val, sizeof(val), "%.3f", json_number_value(v));
	else
		snprintf(val, sizeof(val), "n/a");
	if (json_object_get(o, "target"))
		snprintf(tgt, sizeof(tgt), "%s %g %s", str(o, "target_op"), num(o, "target"),
			 str(o, "verdict"));
	else
		snprintf(tgt, sizeof(tgt), "-");
	printf("%-18s %-12s %-44s %8.0f %8s  %s\n", str(o, "workload"), str(o, "metric"), name,
	       num(o, "msg_size"), val, tgt);
}

/* One pass per section, so the tables come out grouped. */
static int report_pass(FILE *f, int pass)
{
	char last[16] = "";
	bool header = false;
	char *line = NULL;
	size_t cap = 0;
	int bad = 0;

	rewind(f);
	while (getline(&line, &cap, f) >= 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *kind = json_string_value(json_object_get(o, "kind"));

		if (!kind) {
			bad++;
		} else if (pass == 0 && strcmp(kind, "meta") == 0) {
			print_meta(o);
		} else if (pass == 1 && (strcmp(kind, "throughput") == 0 ||
					 strcmp(kind, "latency") == 0)) {
			print_measurement(o, kind, last, sizeof(last));
		} else if (pass == 2 && strcmp(kind, "ratio") == 0) {
			print_ratio(o, &header);
		}
		json_decref(o);
	}
	free(line);
	return bad;
}

int bench_report(const char *path)
{
	FILE *f = fopen(path, "r");
	int pass, bad = 0;

	if (!f)
		return -errno;
	for (pass = 0; pass < 3; pass++)
		bad = report_pass(f, pass);
	fclose(f);
	if (bad)
		fprintf(stderr, "shmbus-bench: %s: %d line(s) that are not shmbus-bench JSON\n",
			path, bad);
	return 0;
}
