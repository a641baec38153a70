/*
 * harness_validate.c - `shmbus-bench validate`: check JSON lines produced by
 * a run, so the bench_smoke test (and run_all.sh) can tell a healthy output
 * from a rotten one without a JSON tool on the machine.
 *
 * It parses with jansson, independently of the code that printed the lines,
 * and checks shapes and sanity only (required fields and types, keys in
 * sorted order, p50 <= p99 <= p99.9 <= max, positive rates) - never speed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_SEEN 256

struct seen {
	const char *workload[MAX_SEEN];
	const char *transport[MAX_SEEN];
	size_t n;
};

static int bad(unsigned lineno, const char *what, const char *key)
{
	fprintf(stderr, "shmbus-bench: validate: line %u: %s%s%s\n", lineno, what,
		key ? ": " : "", key ? key : "");
	return 1;
}

static int need_string(json_t *o, const char *key, unsigned lineno)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) == 0)
		return bad(lineno, "missing or not a non-empty string", key);
	return 0;
}

/* An integer >= @min. */
static int need_int(json_t *o, const char *key, json_int_t min, unsigned lineno)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return bad(lineno, "missing or not an integer", key);
	if (json_integer_value(v) < min)
		return bad(lineno, "out of range", key);
	return 0;
}

/* A finite number > 0. */
static int need_positive(json_t *o, const char *key, unsigned lineno)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return bad(lineno, "missing or not a number", key);
	if (!(json_number_value(v) > 0) || !isfinite(json_number_value(v)))
		return bad(lineno, "not a positive finite number", key);
	return 0;
}

static int keys_sorted(json_t *o, unsigned lineno)
{
	const char *prev = NULL;
	void *it;

	/* jansson keeps the order of the text (since 2.8), so this checks
	 * what was printed. */
	for (it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
		const char *k = json_object_iter_key(it);

		if (prev && strcmp(prev, k) >= 0)
			return bad(lineno, "keys not sorted at", k);
		prev = k;
	}
	return 0;
}

static int check_measurement(json_t *o, const char *kind, unsigned lineno, struct seen *seen)
{
	int errs = 0;

	errs += need_string(o, "workload", lineno);
	errs += need_string(o, "transport", lineno);
	errs += need_int(o, "msg_size", 1, lineno);
	errs += need_int(o, "repeats", 1, lineno);
	if (strcmp(kind, "throughput") == 0) {
		errs += need_int(o, "msgs", 1, lineno);
		errs += need_positive(o, "msgs_per_s", lineno);
		errs += need_positive(o, "bytes_per_s", lineno);
	} else {
		errs += need_int(o, "round_trips", 1, lineno);
		errs += need_int(o, "p50_ns", 1, lineno);
		errs += need_int(o, "p99_ns", 1, lineno);
		errs += need_int(o, "p999_ns", 1, lineno);
		errs += need_int(o, "max_ns", 1, lineno);
		if (!errs &&
		    !(json_integer_value(json_object_get(o, "p50_ns")) <=
			      json_integer_value(json_object_get(o, "p99_ns")) &&
		      json_integer_value(json_object_get(o, "p99_ns")) <=
			      json_integer_value(json_object_get(o, "p999_ns")) &&
		      json_integer_value(json_object_get(o, "p999_ns")) <=
			      json_integer_value(json_object_get(o, "max_ns"))))
			errs += bad(lineno, "percentiles out of order", NULL);
	}
	if (!errs && seen->n < MAX_SEEN) {
		seen->workload[seen->n] = strdup(json_string_value(json_object_get(o, "workload")));
		seen->transport[seen->n] = strdup(json_string_value(json_object_get(o, "transport")));
		seen->n++;
	}
	return errs;
}

static int check_line(const char *line, unsigned lineno, bool complete, struct seen *seen)
{
	json_error_t jerr;
	json_t *o = json_loads(line, 0, &jerr);
	const char *kind;
	int errs = 0;

	if (!json_is_object(o)) {
		json_decref(o);
		return bad(lineno, o ? "not an object" : jerr.text, NULL);
	}
	errs += keys_sorted(o, lineno);
	if (!json_is_integer(json_object_get(o, "schema_version")) ||
	    json_integer_value(json_object_get(o, "schema_version")) != BENCH_SCHEMA_VERSION)
		errs += bad(lineno, "missing or unknown", "schema_version");
	kind = json_string_value(json_object_get(o, "kind"));
	if (!kind) {
		errs += bad(lineno, "missing", "kind");
	} else if (strcmp(kind, "throughput") == 0 || strcmp(kind, "latency") == 0) {
		errs += check_measurement(o, kind, lineno, seen);
	} else if (strcmp(kind, "ratio") == 0) {
		json_t *v = json_object_get(o, "value");

		errs += need_string(o, "workload", lineno);
		errs += need_string(o, "metric", lineno);
		errs += need_string(o, "num", lineno);
		errs += need_string(o, "den", lineno);
		if (json_is_null(v)) {
			if (complete)
				errs += bad(lineno, "ratio has no value (a side is missing)", NULL);
		} else {
			errs += need_positive(o, "value", lineno);
		}
	} else if (strcmp(kind, "meta") == 0) {
		errs += need_string(o, "phase", lineno);
		errs += need_string(o, "workload", lineno);
		errs += need_int(o, "nproc", 1, lineno);
	} else {
		errs += bad(lineno, "unknown kind", kind);
	}
	json_decref(o);
	return errs;
}

/* Every transport a workload declares must have been seen. */
static int check_complete(const struct seen *seen)
{
	size_t i, j, k;
	int errs = 0;

	for (i = 0; i < bench_nworkloads; i++) {
		const struct bench_workload *wl = bench_workloads[i];
		bool any = false;

		if (!wl)
			continue;
		for (j = 0; j < seen->n; j++)
			any |= strcmp(seen->workload[j], wl->name) == 0;
		if (!any)
			continue;
		for (k = 0; wl->transports[k]; k++) {
			bool found = false;

			for (j = 0; j < seen->n; j++)
				found |= strcmp(seen->workload[j], wl->name) == 0 &&
					 strcmp(seen->transport[j], wl->transports[k]) == 0;
			if (!found) {
				fprintf(stderr, "shmbus-bench: validate: %s: no result for %s\n",
					wl->name, wl->transports[k]);
				errs++;
			}
		}
	}
	return errs;
}

int bench_validate(const char *path, bool complete)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	struct seen seen = { .n = 0 };
	char *line = NULL;
	size_t cap = 0, i;
	unsigned lineno = 0;
	int errs = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		errs += check_line(line, lineno, complete, &seen);
	}
	if (complete)
		errs += check_complete(&seen);
	if (seen.n == 0)
		errs += bad(lineno, "no valid measurement in the input", NULL);
	for (i = 0; i < seen.n; i++) {
		free((void *)seen.workload[i]);
		free((void *)seen.transport[i]);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return errs;
}
