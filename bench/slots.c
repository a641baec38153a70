/*
 * slots.c - workload "slots": get and set operations per second on one slot
 * of a slot table, from C (libshmbus) and from Python's own
 * multiprocessing.shared_memory.ShareableList on the same list, measured in
 * the same run.
 *
 * Transports (one result line each; "op" and "ops_per_s" are extra fields,
 * ops_per_s = msgs_per_s):
 *   shmbus-get   shmbus_slots_get() into a private buffer
 *   shmbus-set   shmbus_slots_set(), alternating two values
 *   python-get   v = sl[i]            in a python3 loop (timeit-style: the
 *   python-set   sl[i] = a; sl[i] = b  loop's own cost is part of Python's)
 * The list is created by C (so C's accesses go through the per-slot
 * seqlock); Python attaches the same block.  Value: a str of --size bytes
 * (default 16), or with -D value=int an int (msg_size 8).
 * Ops per repeat: --msgs (default 1000000) for C; -D py_ops=N (default
 * msgs / 10) for Python, which is some hundred times slower.
 *
 * With --pin both sides run on one CPU (the first this process may use).
 *
 * Target (issue #5), as ratios from the same run: shmbus >= 100 x python,
 * for get and for set.
 *
 * Python: `python3` on PATH, or SHMBUS_BENCH_PYTHON.  It attaches the list,
 * so it unregisters it from its resource tracker (CPython gh-82300).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmbus/slots.h>

#include "harness.h"

#define DEFAULT_SIZE 16
#define DEFAULT_OPS 1000000u

/* Written by the timed loops so that the compiler keeps them (a sink for
 * results, not a means of synchronisation). */
static volatile int64_t bench_sink;

static const char *const names[] = {
	"shmbus-get", "shmbus-set", "python-get", "python-set", NULL,
};

/* Python's side: per repeat, the ns that @n gets and @n sets took (run with
 * one repeat per process: repeats alternate with C's). */
static const char py_script[] =
	"import json, sys, time\n"
	"from multiprocessing import resource_tracker\n"
	"from multiprocessing.shared_memory import ShareableList\n"
	"name, n, reps, kind, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), "
	"sys.argv[4], int(sys.argv[5])\n"
	"sl = ShareableList(name=name)\n"
	"resource_tracker.unregister(sl.shm._name, 'shared_memory')\n"
	"a, b = (12345, 67890) if kind == 'int' else ('a' * size, 'b' * size)\n"
	"out = {'get': [], 'set': []}\n"
	"for r in range(reps):\n"
	"    sl[0] = a\n"
	"    t = time.perf_counter_ns()\n"
	"    for _ in range(n):\n"
	"        v = sl[0]\n"
	"    out['get'].append(time.perf_counter_ns() - t)\n"
	"    assert v == a\n"
	"    t = time.perf_counter_ns()\n"
	"    for _ in range(n // 2):\n"
	"        sl[0] = a\n"
	"        sl[0] = b\n"
	"    out['set'].append(time.perf_counter_ns() - t)\n"
	"    assert sl[0] == b\n"
	"sl.shm.close()\n"
	"print(json.dumps(out))\n";

struct slots_cfg {
	const char *name;
	bool as_int;
	size_t size;         /* value bytes (8 for int) */
	uint64_t ops;        /* C ops per repeat (even) */
	uint64_t py_ops;     /* Python ops per repeat (even) */
	struct shmbus_slot_value a, b;
};

/* Record one (transport, op) from per-repeat elapsed times. */
static int record(struct bench_run *run, const char *transport, const char *impl,
		  const char *op, const struct slots_cfg *c, uint64_t ops,
		  const uint64_t *elapsed, unsigned n)
{
	double rate[BENCH_MAX_REPEAT], el[BENCH_MAX_REPEAT];
	struct bench_result r = {
		.kind = BENCH_THROUGHPUT, .workload = run->wl->name, .transport = transport,
		.msg_size = c->size, .repeats = n, .msgs = ops,
		.msgs_per_s_min = 1e300, .msgs_per_s_max = 0,
	};
	unsigned i;

	for (i = 0; i < n; i++) {
		if (elapsed[i] == 0)
			return -EPROTO;
		rate[i] = (double)ops / ((double)elapsed[i] / 1e9);
		el[i] = (double)elapsed[i];
		if (rate[i] < r.msgs_per_s_min)
			r.msgs_per_s_min = rate[i];
		if (rate[i] > r.msgs_per_s_max)
			r.msgs_per_s_max = rate[i];
	}
	r.msgs_per_s = bench_median(rate, n);
	r.bytes_per_s = r.msgs_per_s * (double)c->size;
	r.elapsed_ns = (uint64_t)bench_median(el, n);
	r.extra = json_pack("{s:s, s:s, s:I, s:s}", "op", op, "impl", impl, "ops_per_s",
			    (json_int_t)(r.msgs_per_s + 0.5), "value_type",
			    c->as_int ? "int" : "str");
	return bench_record(run, &r);
}

static void fail(struct bench_run *run, const char *transport, const char *what, int rc)
{
	fprintf(stderr, "shmbus-bench: %s: %s: %s: %s\n", run->wl->name, transport, what,
		rc < 0 ? strerror(-rc) : "failed");
	run->failures++;
}

/* C, one repeat: @ops gets, then @ops sets; checks what it reads. */
static int measure_c(struct slots_cfg *c, uint64_t *get_ns, uint64_t *set_ns)
{
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	char buf[4096];
	uint64_t t, k;
	int rc;

	rc = shmbus_slots_attach(&sl, c->name, 0);
	if (rc)
		return rc;
	rc = shmbus_slots_set(sl, 0, &c->a);
	t = bench_now_ns();
	for (k = 0; rc == 0 && k < c->ops; k++) {
		rc = shmbus_slots_get(sl, 0, &v, buf, sizeof(buf));
		bench_sink = v.u.i; /* the reads cannot be optimised away */
	}
	*get_ns = bench_now_ns() - t;
	if (rc == 0 &&
	    !(v.type == c->a.type && (c->as_int ? v.u.i == c->a.u.i : v.u.s.len == c->size)))
		rc = -EPROTO;
	t = bench_now_ns();
	for (k = 0; rc == 0 && k < c->ops; k += 2) {
		rc = shmbus_slots_set(sl, 0, &c->a);
		if (rc == 0)
			rc = shmbus_slots_set(sl, 0, &c->b);
	}
	*set_ns = bench_now_ns() - t;
	if (rc == 0)
		rc = shmbus_slots_get(sl, 0, &v, buf, sizeof(buf));
	if (rc == 0 && !(c->as_int ? v.u.i == c->b.u.i : buf[0] == 'b'))
		rc = -EPROTO;
	shmbus_slots_close(sl);
	return rc;
}

/* Python, one repeat: python3 on the same list; parse its times. */
static int measure_python(struct slots_cfg *c, uint64_t *get_ns, uint64_t *set_ns)
{
	const char *py = getenv("SHMBUS_BENCH_PYTHON");
	char n[32], size[32], out[4096];
	size_t got = 0;
	json_t *doc;
	int pfd[2], st, rc = 0;
	ssize_t k;
	pid_t pid;

	if (!py || !*py)
		py = "python3";
	snprintf(n, sizeof(n), "%llu", (unsigned long long)c->py_ops);
	snprintf(size, sizeof(size), "%zu", c->size);
	if (pipe(pfd) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execlp(py, py, "-c", py_script, c->name, n, "1", c->as_int ? "int" : "str", size,
		       (char *)NULL);
		fprintf(stderr, "shmbus-bench: exec %s: %s\n", py, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while (got < sizeof(out) - 1 && (k = read(pfd[0], out + got, sizeof(out) - 1 - got)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		got += (size_t)k;
	}
	out[got] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -ECHILD;
	doc = json_loads(out, 0, NULL);
	*get_ns = (uint64_t)json_integer_value(json_array_get(json_object_get(doc, "get"), 0));
	*set_ns = (uint64_t)json_integer_value(json_array_get(json_object_get(doc, "set"), 0));
	json_decref(doc);
	return *get_ns && *set_ns ? 0 : -EPROTO;
}

static int slots_run(struct bench_run *run)
{
	uint64_t c_get[BENCH_MAX_REPEAT], c_set[BENCH_MAX_REPEAT];
	uint64_t py_get[BENCH_MAX_REPEAT], py_set[BENCH_MAX_REPEAT];
	bool want_c, want_py, c_failed = false, py_failed = false;
	unsigned reps = run->opts->repeat, r;
	char name[64], va[4096], vb[4096];
	struct slots_cfg c = { 0 };
	struct shmbus_slots *sl;
	int rc;

	for (unsigned i = 0; i < run->opts->nparams; i++)
		if (strcmp(run->opts->param_key[i], "value") == 0)
			c.as_int = strcmp(run->opts->param_val[i], "int") == 0;
	c.size = c.as_int ? 8 : bench_opt_size(run, DEFAULT_SIZE);
	if (c.size >= sizeof(va)) {
		fprintf(stderr, "shmbus-bench: slots: --size at most %zu\n", sizeof(va) - 1);
		return -EINVAL;
	}
	c.ops = (bench_opt_msgs(run, DEFAULT_OPS) + 1) & ~(uint64_t)1;
	c.py_ops = (bench_param_u64(run, "py_ops", c.ops / 10 > 2 ? c.ops / 10 : 2) + 1) &
		   ~(uint64_t)1;
	memset(va, 'a', c.size);
	memset(vb, 'b', c.size);
	va[c.size] = vb[c.size] = '\0';
	c.a = c.as_int ? shmbus_slot_int(12345) : shmbus_slot_str(va);
	c.b = c.as_int ? shmbus_slot_int(67890) : shmbus_slot_str(vb);
	/* --pin: C and Python on one CPU (Python inherits it).  Unpinned,
	 * each side may run on either vCPU of a VM, and their rates move by
	 * up to 1.8x with where they land (seen here), which the ratio of
	 * the two then carries.  (The process runs one workload, then only
	 * prints: no need to unpin.) */
	if (run->opts->pin && bench_pin_self(0) < 0)
		fprintf(stderr, "shmbus-bench: slots: cannot pin: %s\n", strerror(errno));
	snprintf(name, sizeof(name), "shmbus_bench_slots_%d", (int)getpid());
	c.name = name;
	rc = shmbus_slots_create(&sl, name, &c.a, 1, 0);
	if (rc)
		return rc;
	want_c = bench_transport_selected(run, "shmbus-get") ||
		 bench_transport_selected(run, "shmbus-set");
	want_py = bench_transport_selected(run, "python-get") ||
		  bench_transport_selected(run, "python-set");
	/* Repeats alternate C and Python, so that a change of load on this
	 * machine during the run falls on both sides. */
	for (r = 0; r < reps && (want_c || want_py); r++) {
		if (want_c) {
			rc = measure_c(&c, &c_get[r], &c_set[r]);
			if (rc) {
				fail(run, "shmbus", "measurement", rc);
				want_c = false;
				c_failed = true;
			}
		}
		if (want_py) {
			rc = measure_python(&c, &py_get[r], &py_set[r]);
			if (rc) {
				fail(run, "python", "measurement (python3 with ShareableList needed)",
				     rc);
				want_py = false;
				py_failed = true;
			}
		}
	}
	rc = 0;
	if (!c_failed && bench_transport_selected(run, "shmbus-get"))
		rc = record(run, "shmbus-get", "shmbus", "get", &c, c.ops, c_get, reps);
	if (!c_failed && rc == 0 && bench_transport_selected(run, "shmbus-set"))
		rc = record(run, "shmbus-set", "shmbus", "set", &c, c.ops, c_set, reps);
	if (!py_failed && rc == 0 && bench_transport_selected(run, "python-get"))
		rc = record(run, "python-get", "python", "get", &c, c.py_ops, py_get, reps);
	if (!py_failed && rc == 0 && bench_transport_selected(run, "python-set"))
		rc = record(run, "python-set", "python", "set", &c, c.py_ops, py_set, reps);
	shmbus_slots_close(sl);
	if (shmbus_block_unlink(name)) { /* already gone: nothing to clean */ }
	bench_ratio(run, "shmbus-get", "python-get", c.size, BENCH_METRIC_MSGS_PER_S,
		    BENCH_AT_LEAST, 100);
	bench_ratio(run, "shmbus-set", "python-set", c.size, BENCH_METRIC_MSGS_PER_S,
		    BENCH_AT_LEAST, 100);
	return rc;
}

const struct bench_workload bench_wl_slots = {
	.name = "slots",
	.summary = "slot table get/set ops per second, C vs Python's ShareableList",
	.transports = names,
	.run = slots_run,
};
