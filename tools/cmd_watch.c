/*
 * cmd_watch.c - `shmbus watch NAME`: a live view of a block, refreshed in
 * place, with rates computed from successive snapshots.
 *
 * Works on the JSON document of each snapshot, so every kind that reports a
 * "ring" object (msgs_in, msgs_out, bytes_in, bytes_out, capacity, used,
 * lost, recovered) gets rates and an occupancy bar; other kinds are shown as
 * `shmbus inspect` shows them, refreshed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "text.h"
#include "tool.h"

#define BAR_WIDTH 40

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static json_int_t ring_int(json_t *doc, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(doc, "ring"), key));
}

static const char *const rate_keys[] = { "msgs_in", "msgs_out", "bytes_in", "bytes_out" };
#define NRATES (sizeof(rate_keys) / sizeof(rate_keys[0]))

/* Per-second rates of the ring counters between @prev and @cur; NULL if
 * there is no previous snapshot or no ring. */
static json_t *rates(json_t *prev, json_t *cur, double secs)
{
	json_t *r;
	size_t i;

	if (!prev || !json_object_get(cur, "ring") || secs <= 0)
		return json_null();
	r = json_object();
	for (i = 0; r && i < NRATES; i++) {
		char key[32];
		json_int_t d = ring_int(cur, rate_keys[i]) - ring_int(prev, rate_keys[i]);

		snprintf(key, sizeof(key), "%s_per_s", rate_keys[i]);
		json_object_set_new(r, key, json_real(d < 0 ? 0.0 : (double)d / secs));
	}
	return r;
}

static void human_rate(char *buf, size_t n, double v, const char *unit)
{
	static const char *const pre[] = { "", "K", "M", "G" };
	int i = 0;

	while (v >= 1000.0 && i < 3) {
		v /= 1000.0;
		i++;
	}
	snprintf(buf, n, "%.1f %s%s/s", v, pre[i], unit);
}

static void print_frame(json_t *doc, json_t *r, int interval_ms, bool tty)
{
	json_t *ring = json_object_get(doc, "ring"), *parts, *p;
	size_t i;

	if (tty)
		fputs("\033[H\033[J", stdout);
	printf("shmbus watch %s  (kind %s, every %d ms; Ctrl-C stops)\n",
	       json_string_value(json_object_get(doc, "name")),
	       json_string_value(json_object_get(doc, "kind")), interval_ms);
	if (json_is_string(json_object_get(doc, "error")))
		printf("error: %s\n", json_string_value(json_object_get(doc, "error")));
	if (ring) {
		/* spsc rings count bytes (capacity, used), mpmc rings slots */
		bool slots = json_object_get(ring, "slots") != NULL;
		json_int_t cap = ring_int(doc, slots ? "slots" : "capacity");
		json_int_t used = ring_int(doc, slots ? "occupancy" : "used");
		int fill = cap > 0 ? (int)((double)used * BAR_WIDTH / (double)cap) : 0;
		char a[32], b[32];

		if (fill > BAR_WIDTH)
			fill = BAR_WIDTH;
		printf("occupancy [%.*s%*s] %5.1f%%  (%" JSON_INTEGER_FORMAT " / %" JSON_INTEGER_FORMAT
		       " %s)\n", fill, "########################################", BAR_WIDTH - fill, "",
		       cap > 0 ? 100.0 * (double)used / (double)cap : 0.0, used, cap,
		       slots ? "slots" : "bytes");
		if (json_is_object(r)) {
			human_rate(a, sizeof(a), json_real_value(json_object_get(r, "msgs_in_per_s")), "msg");
			human_rate(b, sizeof(b), json_real_value(json_object_get(r, "msgs_out_per_s")), "msg");
			printf("messages  in %-16s out %s\n", a, b);
			human_rate(a, sizeof(a), json_real_value(json_object_get(r, "bytes_in_per_s")), "B");
			human_rate(b, sizeof(b), json_real_value(json_object_get(r, "bytes_out_per_s")), "B");
			printf("bytes     in %-16s out %s\n", a, b);
		} else {
			printf("messages  (rates after the next refresh)\n");
		}
		printf("totals    in %" JSON_INTEGER_FORMAT "  out %" JSON_INTEGER_FORMAT
		       "  lost %" JSON_INTEGER_FORMAT "  recovered %" JSON_INTEGER_FORMAT "\n",
		       ring_int(doc, "msgs_in"), ring_int(doc, "msgs_out"), ring_int(doc, "lost"),
		       ring_int(doc, "recovered"));
		parts = json_object_get(doc, "participants");
		json_array_foreach(parts, i, p) {
			printf("  %-9s pid %-8" JSON_INTEGER_FORMAT " %s\n",
			       json_string_value(json_object_get(p, "role")),
			       json_integer_value(json_object_get(p, "pid")),
			       json_is_true(json_object_get(p, "alive")) ? "alive" : "DEAD");
		}
	} else {
		char *text = json_dumps(doc, JSON_SORT_KEYS);

		if (text)
			text_print_json(stdout, text);
		free(text);
	}
	if (!tty)
		putchar('\n');
	fflush(stdout);
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t interval = 1000, count = 0, done = 0;
	json_t *prev = NULL;
	int64_t prev_t = 0;
	bool json = false, tty = isatty(STDOUT_FILENO);
	const char *name;
	int c, status = TOOL_OK;

	while ((c = getopt_long(argc, argv, "i:c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (!tool_parse_u64(optarg, 10, 3600000, &interval))
				return tool_usage_error(&cmd_watch, "bad --interval-ms '%s' (10..3600000)", optarg);
			break;
		case 'c':
			if (!tool_parse_u64(optarg, 0, UINT32_MAX, &count))
				return tool_usage_error(&cmd_watch, "bad --count '%s'", optarg);
			break;
		case 'j': json = true; break;
		case 'h': return tool_help(&cmd_watch);
		default: return tool_usage_error(&cmd_watch, "bad option");
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&cmd_watch, "expected one block name");
	name = argv[optind];
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop && (count == 0 || done < count)) {
		struct shmbus_snapshot *snap;
		struct timespec nap;
		json_t *doc, *r;
		int64_t t;
		char *text;
		int rc;

		rc = shmbus_snapshot_take(name, &snap);
		if (rc) {
			status = tool_fail(name, "cannot inspect", rc);
			break;
		}
		t = now_ns();
		text = shmbus_snapshot_json(snap, 0);
		shmbus_snapshot_free(snap);
		doc = text ? json_loads(text, 0, NULL) : NULL;
		free(text);
		if (!doc) {
			status = tool_fail(name, "cannot render", -ENOMEM);
			break;
		}
		r = rates(prev, doc, (double)(t - prev_t) / 1e9);
		if (json) {
			json_object_set(doc, "rates", r);
			json_object_set_new(doc, "interval_ms", json_integer((json_int_t)interval));
			json_dumpf(doc, stdout, JSON_SORT_KEYS | JSON_COMPACT);
			putchar('\n');
			fflush(stdout);
		} else {
			print_frame(doc, r, (int)interval, tty);
		}
		json_decref(r);
		json_decref(prev);
		prev = doc;
		prev_t = t;
		if (++done == count)
			break;
		nap.tv_sec = (time_t)(interval / 1000);
		nap.tv_nsec = (long)(interval % 1000) * 1000000L;
		nanosleep(&nap, NULL); /* a signal cuts it short; the loop sees stop */
	}
	json_decref(prev);
	return status;
}

const struct tool_cmd cmd_watch = {
	.name = "watch",
	.summary = "live view of a block: occupancy, rates, lost/recovered, participants",
	.usage = "usage: shmbus watch NAME [--interval-ms MS] [--count N] [--json]\n\n"
		 "Refreshes a view of block NAME in place every MS milliseconds (default\n"
		 "1000), with message and byte rates computed from successive snapshots.\n"
		 "Read-only: never joins or writes the block.\n"
		 "  --count N   stop after N refreshes (default: until Ctrl-C)\n"
		 "  --json      one JSON line per refresh: the inspect document plus\n"
		 "              \"rates\" (per-second, null on the first line) and \"interval_ms\"\n",
	.run = run,
};
