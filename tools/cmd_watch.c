/*
 * cmd_watch.c - `shmbus watch NAME`: a live view of a block, refreshed in
 * place, with rates computed from successive snapshots.
 *
 * Works on the JSON document of each snapshot, so every kind that reports a
 * "ring" object (msgs_in, msgs_out, bytes_in, bytes_out, capacity, used,
 * lost, recovered where the kind has them) gets rates and an occupancy bar;
 * a slot table is a window of rows with the changed ones marked; other kinds
 * are shown as `shmbus inspect` shows them.  On a terminal each frame is
 * cut to the terminal's size and drawn over the last one on the alternate
 * screen, so nothing scrolls into the scrollback.  A broadcast ring has no ring-wide
 * msgs_out: its "out" is what all its subscribers read, and each subscriber
 * gets a line with its lag, the slowest first, as many as the terminal holds.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <jansson.h>

#include "human.h"
#include "inspect_text.h"
#include "tool.h"

#define BAR_WIDTH 40
/* Cursor home: each frame is drawn over the previous one from here. */
#define WATCH_HOME "\033[H"

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

/* The ring's counter @key; for a broadcast ring, which counts reads per
 * subscriber, the sum over its subscribers. */
static json_int_t ring_total(json_t *doc, const char *key)
{
	json_t *ring = json_object_get(doc, "ring"), *subs, *u;
	json_int_t sum = 0;
	size_t i;

	subs = json_object_get(ring, "subscribers");
	if (json_object_get(ring, key) || !json_is_array(subs))
		return ring_int(doc, key);
	json_array_foreach(subs, i, u)
		sum += json_integer_value(json_object_get(u, key));
	return sum;
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
		json_int_t d = ring_total(cur, rate_keys[i]) - ring_total(prev, rate_keys[i]);

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

static json_int_t int_of(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Slowest first: most messages behind, then most bytes behind. */
static int by_lag(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t dx = int_of(x, "lag_messages"), dy = int_of(y, "lag_messages");

	if (dx == dy) {
		dx = int_of(x, "lag_bytes");
		dy = int_of(y, "lag_bytes");
	}
	return dx < dy ? 1 : dx > dy ? -1 : 0;
}

/* The terminal's size; 0 rows/cols when not a terminal or unknown. */
static void term_size(bool tty, size_t *rows, size_t *cols)
{
	struct winsize ws;

	*rows = *cols = 0;
	if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* How many lines below the @printed ones fit @rows (0: no limit). */
static size_t rows_left(size_t rows, size_t printed)
{
	if (rows == 0)
		return 0;
	return rows > printed + 3 ? rows - printed - 2 : 1;
}

/* A broadcast ring's subscribers, the slowest first, one line each, at most
 * @room lines (0: all) including a last "+K more" line. */
static void print_subscribers(FILE *out, json_t *ring, size_t room)
{
	json_t *subs = json_object_get(ring, "subscribers"), **v;
	size_t n = json_array_size(subs), shown, i;

	if (n == 0) {
		fprintf(out, "  no subscribers\n");
		return;
	}
	v = malloc(n * sizeof(*v));
	if (!v)
		return;
	for (i = 0; i < n; i++)
		v[i] = json_array_get(subs, i);
	qsort(v, n, sizeof(*v), by_lag);
	shown = room == 0 || n <= room ? n : room - 1;
	for (i = 0; i < shown; i++) {
		fprintf(out, "  sub %-4" JSON_INTEGER_FORMAT " pid %-8" JSON_INTEGER_FORMAT
		       " %-5s lag %" JSON_INTEGER_FORMAT " msgs / %" JSON_INTEGER_FORMAT
		       " B  dropped %" JSON_INTEGER_FORMAT "\n", int_of(v[i], "index"),
		       int_of(v[i], "pid"), json_is_true(json_object_get(v[i], "alive")) ? "alive" :
		       "DEAD", int_of(v[i], "lag_messages"), int_of(v[i], "lag_bytes"),
		       int_of(v[i], "dropped"));
	}
	if (shown < n)
		fprintf(out, "  (+%zu more subscribers)\n", n - shown);
	free(v);
}

/* A slot item's value as one line of JSON, or NULL. */
static char *item_text(json_t *item)
{
	json_t *v = json_object_get(item, "value");

	return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
}

/*
 * A slot table as a window of rows: index, type, value, with '*' on the
 * rows whose value changed since the previous frame (@prev), as many as fit
 * @room lines (0: all), then one line that sums up what is not shown.
 */
static void print_slots(FILE *out, json_t *doc, json_t *prev, size_t room)
{
	json_t *items = json_object_get(json_object_get(doc, "slots"), "items");
	json_t *old = json_object_get(json_object_get(prev, "slots"), "items");
	size_t n = json_array_size(items), shown, i, changed_hidden = 0, changed = 0;

	if (!json_is_array(items)) {
		fprintf(out, "no readable items\n");
		return;
	}
	shown = room == 0 || n <= room ? n : room - 1;
	fprintf(out, "%zu items (* changed since the last refresh)\n", n);
	for (i = 0; i < n; i++) {
		json_t *it = json_array_get(items, i);
		char *now = item_text(it), *was = item_text(json_array_get(old, i));
		bool diff = prev && (!now || !was || strcmp(now, was) != 0);

		changed += diff;
		if (i < shown)
			fprintf(out, "%c %5zu  %-6s %s\n", diff ? '*' : ' ', i,
				json_string_value(json_object_get(it, "type")) ?
				json_string_value(json_object_get(it, "type")) : "?",
				now ? now : "-");
		else
			changed_hidden += diff;
		free(now);
		free(was);
	}
	if (shown < n)
		fprintf(out, "  (+%zu more items, %zu of them changed; %zu changed in all)\n",
			n - shown, changed_hidden, changed);
}

static void print_ring(FILE *out, json_t *doc, json_t *r, size_t rows)
{
	json_t *ring = json_object_get(doc, "ring"), *parts, *p;
	/* spsc rings count bytes (capacity, used), mpmc rings slots,
	 * broadcast rings the bytes of messages kept (tail - head) */
	bool slots = json_object_get(ring, "slots") != NULL;
	bool bcast = json_is_array(json_object_get(ring, "subscribers"));
	json_int_t cap = ring_int(doc, slots ? "slots" : "capacity");
	json_int_t used = bcast ? ring_int(doc, "tail") - ring_int(doc, "head") :
			  ring_int(doc, slots ? "occupancy" : "used");
	int fill = cap > 0 ? (int)((double)used * BAR_WIDTH / (double)cap) : 0;
	size_t lines = 1, i;
	char a[32], b[32];

	if (fill > BAR_WIDTH)
		fill = BAR_WIDTH;
	fprintf(out, "occupancy [%.*s%*s] %5.1f%%  (%" JSON_INTEGER_FORMAT " / %" JSON_INTEGER_FORMAT
	       " %s)\n", fill, "########################################", BAR_WIDTH - fill, "",
	       cap > 0 ? 100.0 * (double)used / (double)cap : 0.0, used, cap,
	       slots ? "slots" : "bytes");
	if (json_is_object(r)) {
		human_rate(a, sizeof(a), json_real_value(json_object_get(r, "msgs_in_per_s")), "msg");
		human_rate(b, sizeof(b), json_real_value(json_object_get(r, "msgs_out_per_s")), "msg");
		fprintf(out, "messages  in %-16s out %s\n", a, b);
		human_rate(a, sizeof(a), json_real_value(json_object_get(r, "bytes_in_per_s")), "B");
		human_rate(b, sizeof(b), json_real_value(json_object_get(r, "bytes_out_per_s")), "B");
		fprintf(out, "bytes     in %-16s out %s\n", a, b);
		lines++;
	} else {
		fprintf(out, "messages  (rates after the next refresh)\n");
	}
	lines += 4;
	if (bcast) {
		json_t *prod = json_object_get(ring, "producer");

		fprintf(out, "totals    in %" JSON_INTEGER_FORMAT "  out %" JSON_INTEGER_FORMAT
		       "  %s  evicted %" JSON_INTEGER_FORMAT "%s\n", ring_int(doc, "msgs_in"),
		       ring_total(doc, "msgs_out"),
		       json_string_value(json_object_get(ring, "policy")),
		       ring_int(doc, "evicted"),
		       json_is_true(json_object_get(ring, "eos")) ? "  end of stream" : "");
		if (json_is_object(prod))
			fprintf(out, "  producer pid %-8" JSON_INTEGER_FORMAT " %s\n", int_of(prod, "pid"),
			       json_is_true(json_object_get(prod, "alive")) ? "alive" : "DEAD");
		else
			fprintf(out, "  no producer\n");
		print_subscribers(out, ring, rows_left(rows, lines + 1));
		return;
	}
	fprintf(out, "totals    in %" JSON_INTEGER_FORMAT "  out %" JSON_INTEGER_FORMAT,
		ring_int(doc, "msgs_in"), ring_int(doc, "msgs_out"));
	/* Only the kinds that have them: an spsc ring loses nothing. */
	if (json_object_get(ring, "lost"))
		fprintf(out, "  lost %" JSON_INTEGER_FORMAT, ring_int(doc, "lost"));
	if (json_object_get(ring, "recovered"))
		fprintf(out, "  recovered %" JSON_INTEGER_FORMAT, ring_int(doc, "recovered"));
	fputc('\n', out);
	parts = json_object_get(doc, "participants");
	json_array_foreach(parts, i, p) {
		fprintf(out, "  %-9s pid %-8" JSON_INTEGER_FORMAT " %s\n",
		       json_string_value(json_object_get(p, "role")),
		       json_integer_value(json_object_get(p, "pid")),
		       json_is_true(json_object_get(p, "alive")) ? "alive" : "DEAD");
	}
}

/*
 * Put @frame on the terminal in place: home, each line cut to the width and
 * cleared to its end, at most @rows lines, then the rest of the screen
 * cleared.  Nothing scrolls, so nothing lands in the scrollback.  Not a
 * terminal: the frame as it is, then a blank line.
 */
static void show_frame(const char *frame, bool tty, size_t rows, size_t cols)
{
	const char *line = frame;
	size_t n = 0;

	if (!tty) {
		fputs(frame, stdout);
		putchar('\n');
		fflush(stdout);
		return;
	}
	fputs(WATCH_HOME, stdout);
	while (*line && (rows == 0 || n + 1 < rows)) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		fwrite(line, 1, cols && len > cols ? cols : len, stdout);
		fputs("\033[K\n", stdout);
		n++;
		line = end ? end + 1 : line + len;
	}
	fputs("\033[J", stdout);
	fflush(stdout);
}

static void print_frame(json_t *doc, json_t *prev, json_t *r, int interval_ms, bool tty)
{
	size_t rows, cols, len = 0;
	char *frame = NULL;
	FILE *out = open_memstream(&frame, &len);

	if (!out)
		return;
	term_size(tty, &rows, &cols);
	fprintf(out, "shmbus watch ");
	human_print_name(out, json_string_value(json_object_get(doc, "name")) ?
			 json_string_value(json_object_get(doc, "name")) : "?");
	fprintf(out, "  (kind %s, every %d ms; Ctrl-C stops)\n",
		json_string_value(json_object_get(doc, "kind")), interval_ms);
	if (json_is_string(json_object_get(doc, "error")))
		fprintf(out, "error: %s\n", json_string_value(json_object_get(doc, "error")));
	if (json_object_get(doc, "ring")) {
		print_ring(out, doc, r, rows);
	} else if (json_is_object(json_object_get(doc, "slots"))) {
		print_slots(out, doc, prev, rows_left(rows, 2));
	} else {
		char *text = json_dumps(doc, JSON_SORT_KEYS);

		if (text)
			inspect_print_text(out, text);
		free(text);
	}
	if (fclose(out) == 0 && frame)
		show_frame(frame, tty, rows, cols);
	free(frame);
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

	while ((c = getopt_long(argc, argv, ":i:c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (!tool_parse_u64(optarg, 10, 3600000, &interval))
				return tool_usage_error(&cmd_watch, "bad --interval-ms '%s' (10..3600000)", optarg);
			break;
		case 'c':
			if (!tool_parse_u64(optarg, 1, UINT32_MAX, &count))
				return tool_usage_error(&cmd_watch,
							"bad --count '%s' (1 or more; leave it out "
							"to watch until Ctrl-C)", optarg);
			break;
		case 'j': json = true; break;
		case 'h': return tool_help(&cmd_watch);
		default: return tool_bad_option(&cmd_watch, c, argv);
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&cmd_watch, "expected one block name");
	name = argv[optind];
	if (tool_check_name(&cmd_watch, name) != TOOL_OK)
		return TOOL_USAGE;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* The terminal's alternate screen, as less(1) and top(1) use: the
	 * frames never reach the scrollback, and the screen comes back as it
	 * was when watch ends. */
	if (tty && !json)
		fputs("\033[?1049h\033[?25l", stdout);
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
			print_frame(doc, prev, r, (int)interval, tty);
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
	if (tty && !json) {
		fputs("\033[?25h\033[?1049l", stdout);
		fflush(stdout);
	}
	return status;
}

const struct tool_cmd cmd_watch = {
	.name = "watch",
	.summary = "live view of a block: occupancy, rates, losses, participants, lag",
	.usage = "usage: shmbus watch NAME [--interval-ms MS] [--count N] [--json]\n\n"
		 "Refreshes a view of block NAME in place every MS milliseconds (default\n"
		 "1000), with message and byte rates computed from successive snapshots.\n"
		 "Read-only: never joins or writes the block.  On a broadcast ring, one\n"
		 "line per subscriber with its lag (messages and bytes behind the\n"
		 "producer) and the messages it missed, the slowest first.\n"
		 "On a slot table, one row per item (index, type, value), '*' marking the\n"
		 "ones that changed since the last refresh, as many as the terminal holds.\n"
		 "On a terminal the view is cut to its size and redrawn in place on the\n"
		 "alternate screen; nothing goes to the scrollback.\n"
		 "  --count N   stop after N refreshes, N >= 1 (default: until Ctrl-C)\n"
		 "  --json      one JSON line per refresh: the inspect document plus\n"
		 "              \"rates\" (per-second, null on the first line) and \"interval_ms\"\n",
	.run = run,
};
