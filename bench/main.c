/*
 * main.c - shmbus-bench: the command line and the table of workloads.
 *
 *   shmbus-bench WORKLOAD [options]     measure (see --help)
 *   shmbus-bench list [-q|-t]           the workloads this binary has (-t: with
 *                                       their transports, "workload transport")
 *   shmbus-bench validate [--complete] [FILE]   check JSON lines
 *   shmbus-bench report FILE            tables of a file of JSON lines
 *
 * Exit status: 0 ok, 1 a measurement failed, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

extern const struct bench_workload bench_wl_spsc_throughput;
extern const struct bench_workload bench_wl_spsc_latency;
extern const struct bench_workload bench_wl_spsc_bandwidth;
/* Workloads of modules that may not have landed yet: weak, so the program
 * links without them and the table skips a NULL entry. */
extern const struct bench_workload bench_wl_mpmc_throughput __attribute__((weak));
extern const struct bench_workload bench_wl_slots __attribute__((weak));
extern const struct bench_workload bench_wl_bcast_throughput;

/* One line per workload; keep the order of `list`. */
const struct bench_workload *const bench_workloads[] = {
	&bench_wl_spsc_throughput,
	&bench_wl_spsc_latency,
	&bench_wl_spsc_bandwidth,
	&bench_wl_mpmc_throughput,
	&bench_wl_slots,
	&bench_wl_bcast_throughput,
};
const size_t bench_nworkloads = sizeof(bench_workloads) / sizeof(bench_workloads[0]);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: shmbus-bench WORKLOAD [options]\n"
		"       shmbus-bench list [-q | -t]\n"
		"       shmbus-bench validate [--complete] [FILE]\n"
		"       shmbus-bench report FILE\n"
		"\n"
		"Measures shmbus against baselines measured in the same run, and prints\n"
		"the ratios between them.  `list` shows the workloads.\n"
		"\n"
		"options:\n"
		"  --size BYTES        message size (k/M suffixes: 1024-based)\n"
		"  --msgs N            messages per repeat (throughput workloads)\n"
		"  --round-trips N     round trips per repeat (latency workloads)\n"
		"  --ring BYTES        ring capacity in bytes\n"
		"  --producers P       producer processes (mpmc-throughput; default 1)\n"
		"  --consumers C       consumer processes (mpmc-throughput; default 1)\n"
		"  --subscribers N     subscriber processes (broadcast-throughput; default 4)\n"
		"  --repeat R          repeats per measurement; the median is reported"
		" (default 3)\n"
		"  --transport LIST    only these transports (comma-separated)\n"
		"  --pin               pin process i to CPU i mod ncpus\n"
		"  --json              JSON lines (sorted keys) instead of tables\n"
		"  --timeout SEC       kill a measurement running longer (default 300)\n"
		"  -D KEY=VALUE        a workload-specific knob\n"
		"  -h, --help          this text\n"
		"\n"
		"validate: check that FILE (default stdin) holds well-formed JSON lines\n"
		"with the required fields; --complete also wants every transport of each\n"
		"workload seen, and every ratio to have a value.  Exit 0 if valid.\n"
		"report: print the tables (machine and load, measurements, ratios) of\n"
		"a file of JSON lines, e.g. the one bench/run_all.sh writes.\n");
}

static const struct bench_workload *find_workload(const char *name)
{
	size_t i;

	for (i = 0; i < bench_nworkloads; i++)
		if (bench_workloads[i] && strcmp(bench_workloads[i]->name, name) == 0)
			return bench_workloads[i];
	return NULL;
}

/* A count or size with an optional k/M/G suffix (1024-based). */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10, end++;
		break;
	case 'm': case 'M':
		v <<= 20, end++;
		break;
	case 'g': case 'G':
		v <<= 30, end++;
		break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	bool quiet = argc > 1 && strcmp(argv[1], "-q") == 0;
	bool transports = argc > 1 && strcmp(argv[1], "-t") == 0;
	size_t i, k;

	for (i = 0; i < bench_nworkloads; i++) {
		const struct bench_workload *wl = bench_workloads[i];

		if (!wl)
			continue;
		if (transports) {
			/* "workload transport", a line each: what this build has. */
			for (k = 0; wl->transports[k]; k++)
				printf("%s %s\n", wl->name, wl->transports[k]);
		} else if (quiet) {
			printf("%s\n", wl->name);
		} else {
			printf("%-18s %s\n", wl->name, wl->summary);
		}
	}
	return 0;
}

static int cmd_validate(int argc, char **argv)
{
	bool complete = false;
	const char *path = "-";
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--complete") == 0)
			complete = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage(stderr), 2;
		else
			path = argv[i];
	}
	rc = bench_validate(path, complete);
	if (rc < 0) {
		fprintf(stderr, "shmbus-bench: %s: %s\n", path, strerror(-rc));
		return 1;
	}
	return rc ? 1 : 0;
}

enum { OPT_SIZE = 256, OPT_MSGS, OPT_RT, OPT_RING, OPT_REPEAT, OPT_TRANSPORT, OPT_PIN,
       OPT_JSON, OPT_TIMEOUT, OPT_PRODUCERS, OPT_CONSUMERS, OPT_SUBSCRIBERS };

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "msgs", required_argument, NULL, OPT_MSGS },
		{ "round-trips", required_argument, NULL, OPT_RT },
		{ "ring", required_argument, NULL, OPT_RING },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "transport", required_argument, NULL, OPT_TRANSPORT },
		{ "pin", no_argument, NULL, OPT_PIN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "producers", required_argument, NULL, OPT_PRODUCERS },
		{ "consumers", required_argument, NULL, OPT_CONSUMERS },
		{ "subscribers", required_argument, NULL, OPT_SUBSCRIBERS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "hD:", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case 'D': {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || o->nparams == BENCH_MAX_PARAMS) {
				fprintf(stderr, "shmbus-bench: -D wants KEY=VALUE\n");
				return -EINVAL;
			}
			*eq = 0;
			o->param_key[o->nparams] = optarg;
			o->param_val[o->nparams++] = eq + 1;
			break;
		}
		case OPT_TRANSPORT:
			o->transports = optarg;
			break;
		case OPT_PIN:
			o->pin = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case '?':
			return -EINVAL;
		default:
			if (parse_u64(optarg, &v) < 0 || v == 0) {
				fprintf(stderr, "shmbus-bench: %s: not a positive number\n", optarg);
				return -EINVAL;
			}
			if (c == OPT_SIZE)
				o->msg_size = v;
			else if (c == OPT_MSGS)
				o->msgs = v;
			else if (c == OPT_RT)
				o->round_trips = v;
			else if (c == OPT_RING)
				o->ring_bytes = v;
			else if (c == OPT_REPEAT && v <= BENCH_MAX_REPEAT)
				o->repeat = (unsigned)v;
			else if (c == OPT_TIMEOUT && v <= 86400)
				o->timeout_s = (unsigned)v;
			else if ((c == OPT_PRODUCERS || c == OPT_CONSUMERS ||
				  c == OPT_SUBSCRIBERS) && o->nparams < BENCH_MAX_PARAMS) {
				/* Kept as -D producers=P / consumers=C / subscribers=N. */
				o->param_key[o->nparams] = c == OPT_PRODUCERS ? "producers" :
							   c == OPT_CONSUMERS ? "consumers" :
										"subscribers";
				o->param_val[o->nparams++] = optarg;
			}
			else {
				fprintf(stderr, "shmbus-bench: %s: out of range\n", optarg);
				return -EINVAL;
			}
		}
	}
	if (optind != argc) {
		fprintf(stderr, "shmbus-bench: unexpected argument: %s\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o = { .repeat = 3, .timeout_s = 300 };
	struct bench_run run = { .opts = &o, .last_kind = -1 };
	size_t i;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "validate") == 0)
		return cmd_validate(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0) {
		if (argc != 3) {
			usage(stderr);
			return 2;
		}
		rc = bench_report(argv[2]);
		if (rc < 0)
			fprintf(stderr, "shmbus-bench: %s: %s\n", argv[2], strerror(-rc));
		return rc < 0 ? 1 : 0;
	}
	run.wl = find_workload(argv[1]);
	if (!run.wl) {
		fprintf(stderr, "shmbus-bench: %s: no such workload (see `shmbus-bench list`)\n",
			argv[1]);
		return 2;
	}
	o.workload = run.wl->name;
	if (parse_opts(argc - 1, argv + 1, &o) < 0) {
		usage(stderr);
		return 2;
	}
	if (o.transports) {
		bool any = false;

		for (i = 0; run.wl->transports[i]; i++)
			any |= bench_transport_selected(&run, run.wl->transports[i]);
		if (!any) {
			fprintf(stderr, "shmbus-bench: %s: no such transport in %s\n",
				o.transports, run.wl->name);
			return 2;
		}
	}
	bench_print_meta(&run, false);
	rc = run.wl->run(&run);
	if (rc < 0) {
		fprintf(stderr, "shmbus-bench: %s: %s\n", run.wl->name, strerror(-rc));
		run.failures++;
	}
	bench_print_ratios(&run);
	bench_print_meta(&run, true);
	for (i = 0; i < run.nresults; i++)
		json_decref(run.results[i].extra);
	free(run.results);
	free(run.ratios);
	return run.failures ? 1 : 0;
}
